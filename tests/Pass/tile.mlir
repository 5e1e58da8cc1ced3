// strata-tile: the matmul nest gets per-CPU tiles (register tile rows and
// vectors, cache tile of reduction steps) for strata-vectorize; the
// tile-sizes option overrides them (rows, columns, reduction), and the
// micro-kernel follows.
// RUN: strata-opt %s --strata-lower-to-affine --strata-tile | FileCheck %s
// RUN: strata-opt %s --pass-pipeline='builtin.module(strata-lower-to-affine,strata-tile{tile-sizes=4,16,8},strata-vectorize{vector-width=512})' | FileCheck %s --check-prefix=GIVEN
// RUN: not strata-opt %s --strata-lower-to-affine --strata-tile=tile-sizes=1,2,3,4 2>&1 | FileCheck %s --check-prefix=BAD

// CHECK: affine.parallel
// CHECK: } {strata.tile_sizes = array<i64: {{[0-9]+}}, {{[0-9]+}}, 20>}
// GIVEN: %[[P:.*]] = memref.alloc() {alignment = 64 : i64} : memref<8x16xf32>
// GIVEN: scf.for %[[KB:.*]] = %{{.*}} to %{{.*}} step %c8
// GIVEN: arith.minsi
// GIVEN: scf.for %{{.*}} = %{{.*}} to %{{.*}} step %c4
// GIVEN: iter_args({{.*}}) -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>)
// BAD: error: 'strata-tile' option tile-sizes expects up to three positive sizes: M,N,K
func.func @mm(%a: tensor<13x20xf32>, %b: tensor<20x37xf32>) -> tensor<13x37xf32> {
  %0 = strata.matmul %a, %b : tensor<13x20xf32>, tensor<20x37xf32> -> tensor<13x37xf32>
  return %0 : tensor<13x37xf32>
}
