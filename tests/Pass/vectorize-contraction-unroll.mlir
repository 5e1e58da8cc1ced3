// strata-vectorize{unroll=U}: the outer-product micro-kernel's reduction
// loop runs U steps an iteration (U copies of its loads, broadcasts and
// FMAs, the accumulators chained through them), and the steps past a
// multiple of U in a loop of their own that carries the accumulators on.
// Named target (skylake-avx512: 16 f32 lanes), register tile 6 x 32.
// RUN: strata-opt %s --strata-target=skylake-avx512 --pass-pipeline='builtin.module(canonicalize,cse,strata-fuse,strata-lower-to-affine{keep-contractions=true},canonicalize,cse,strata-tile{tile-sizes=6,32},strata-vectorize{unroll=4})' | FileCheck %s
// RUN: strata-opt %s --strata-target=skylake-avx512 --pass-pipeline='builtin.module(canonicalize,cse,strata-fuse,strata-lower-to-affine{keep-contractions=true},canonicalize,cse,strata-tile{tile-sizes=6,32},strata-vectorize)' | FileCheck %s --check-prefix=ROLLED
// RUN: strata-opt %s --strata-target=skylake-avx512 --pass-pipeline='builtin.module(canonicalize,cse,strata-fuse,strata-lower-to-affine{keep-contractions=true},canonicalize,cse,strata-tile{tile-sizes=6,32},strata-vectorize{unroll=4})' --strata-remarks 2>&1 >/dev/null | FileCheck %s --check-prefix=REMARK
// RUN: not strata-opt %s --pass-pipeline='builtin.module(strata-vectorize{unroll=9})' 2>&1 | FileCheck %s --check-prefix=BAD

// K = 10: steps 0..8 four at a time (48 FMAs), then 8..10 one at a time.
// CHECK-LABEL: func.func @ten_steps(
// CHECK: %[[MAIN:.*]]:12 = scf.for %{{.*}} step %c4{{.*}} iter_args(
// CHECK-COUNT-48: vector.fma
// CHECK-NOT: vector.fma
// CHECK: scf.yield
// CHECK: %[[REST:.*]]:12 = scf.for %{{.*}} step %c1{{.*}} iter_args(%{{[a-z0-9_]+}} = %[[MAIN]]#0,
// CHECK-COUNT-12: vector.fma
// CHECK-NOT: vector.fma
// CHECK: scf.yield
// CHECK: vector.store %[[REST]]#0,
// Without the option: one loop, one step an iteration.
// ROLLED-LABEL: func.func @ten_steps(
// ROLLED: scf.for %{{.*}} step %c1{{.*}} iter_args(
// ROLLED-COUNT-12: vector.fma
// ROLLED-NOT: vector.fma
// ROLLED: scf.yield
// ROLLED-NOT: scf.for %{{.*}} iter_args(
// ROLLED-LABEL: func.func @eight_steps(
// REMARK: contraction 12x10x32 f32 as a 6x32 register-blocked micro-kernel {{.*}}, the reduction loop unrolled 4 times
// BAD: 'strata-vectorize' option unroll must be 1 to 8 (or 0 for the default), not 9
func.func @ten_steps(%a: tensor<12x10xf32>, %b: tensor<10x32xf32>) -> tensor<12x32xf32> {
  %r = strata.matmul %a, %b : tensor<12x10xf32>, tensor<10x32xf32> -> tensor<12x32xf32>
  return %r : tensor<12x32xf32>
}

// K = 8, a multiple: no loop for the rest.
// CHECK-LABEL: func.func @eight_steps(
// CHECK: %[[ONLY:.*]]:12 = scf.for %{{.*}} step %c4{{.*}} iter_args(
// CHECK-COUNT-48: vector.fma
// CHECK: scf.yield
// CHECK-NOT: scf.for %{{.*}} iter_args(
// CHECK: vector.store %[[ONLY]]#0,
func.func @eight_steps(%a: tensor<12x8xf32>, %b: tensor<8x32xf32>) -> tensor<12x32xf32> {
  %r = strata.matmul %a, %b : tensor<12x8xf32>, tensor<8x32xf32> -> tensor<12x32xf32>
  return %r : tensor<12x32xf32>
}
