// strata-vectorize fuses an elementwise nest that alone reads a matmul's
// result into the matmul kernel, which then runs where that nest was: the
// nest may read buffers defined and filled after the matmul (here the
// subtraction's output, a transpose's, the bias broadcast into its own
// temporary when linalg's elementwise fusion is off). Once the kernel sat
// at the matmul's place and the verifier said "operand #1 does not
// dominate this use". The target is named (znver3: AVX2, 8 f32 lanes), so
// the output does not depend on the host.
// RUN: strata-opt %s --strata-target=znver3 --pass-pipeline='builtin.module(canonicalize,cse,strata-fuse,strata-lower-to-affine{fuse-elementwise=false keep-contractions=true},canonicalize,cse,strata-tile,strata-vectorize)' | FileCheck %s
// RUN: strata-opt %s --strata-target=znver3 --pass-pipeline='builtin.module(canonicalize,cse,strata-fuse,strata-lower-to-affine{keep-contractions=true},canonicalize,cse,strata-tile,strata-vectorize)' | FileCheck %s --check-prefix=FUSED
// O2 and O3 down to the LLVM dialect, under AVX2 and AVX-512.
// RUN: strata-opt %s --strata-target=znver3 --strata-pipeline=O2 | FileCheck %s --check-prefix=LLVM
// RUN: strata-opt %s --strata-target=skylake-avx512 --strata-pipeline=O3 | FileCheck %s --check-prefix=LLVM

// CHECK-LABEL: func.func @chain(
// CHECK-SAME: %[[A:[a-z0-9_]+]]: memref<16x16xf32>, %[[B:[a-z0-9_]+]]: memref<16x16xf32>, %[[OUT:[a-z0-9_]+]]: memref<16x16xf32> {bufferize.result}
// CHECK: %[[C:[a-z0-9_]+]] = memref.alloc()
// CHECK: %[[D:[a-z0-9_]+]] = memref.alloc()
// CHECK: scf.parallel
// CHECK: vector.fma {{.*}} : vector<8xf32>
// The subtraction, on the accumulators, stored into %d.
// CHECK: %[[S:[0-9]+]] = arith.subf %{{[0-9]+}}#0, %{{[0-9]+}} : vector<8xf32>
// CHECK: vector.store %[[S]], %[[D]]
// CHECK: memref.dealloc %[[C]]
// The second matmul reads %d.
// CHECK: scf.parallel
// CHECK: memref.load %[[D]]
// CHECK: vector.fma {{.*}} : vector<8xf32>
// CHECK: vector.store %{{.*}}, %[[OUT]]
// CHECK: memref.dealloc %[[D]]
// LLVM-LABEL: llvm.func @chain(
func.func @chain(%a: tensor<16x16xf32>, %b: tensor<16x16xf32>) -> tensor<16x16xf32> {
  %c = strata.matmul %a, %b : tensor<16x16xf32>, tensor<16x16xf32> -> tensor<16x16xf32>
  %d = strata.sub %c, %a : tensor<16x16xf32>
  %r = strata.matmul %d, %d : tensor<16x16xf32>, tensor<16x16xf32> -> tensor<16x16xf32>
  return %r : tensor<16x16xf32>
}

// CHECK-LABEL: func.func @tmm(
// CHECK-SAME: %[[A:[a-z0-9_]+]]: memref<8x8xf64>, %[[D:[a-z0-9_]+]]: memref<8x8xf64>
// CHECK: %[[T:[a-z0-9_]+]] = memref.alloc()
// CHECK: affine.load %[[D]]
// CHECK: scf.parallel
// CHECK: memref.load %[[T]]
// CHECK: vector.fma {{.*}} : vector<4xf64>
// With linalg's fusion the transpose becomes A's indexing map (A is read
// as %d[k, i]): the same micro-kernel, no transposed copy; the packing
// moves a panel's rows of %d[k, ..] as one vector.
// FUSED-LABEL: func.func @tmm(
// FUSED-SAME: %[[A:[a-z0-9_]+]]: memref<8x8xf64>, %[[D:[a-z0-9_]+]]: memref<8x8xf64>
// FUSED-NOT: memref.alloc() : memref<8x8xf64>
// FUSED: scf.parallel
// FUSED: vector.load %[[D]][%{{.*}}, %{{.*}}] : memref<8x8xf64>, vector<6xf64>
// FUSED: vector.fma {{.*}} : vector<4xf64>
// LLVM-LABEL: llvm.func @tmm(
func.func @tmm(%a: tensor<8x8xf64>, %d: tensor<8x8xf64>) -> tensor<8x8xf64> {
  %t = strata.transpose %d permutation = [1, 0] : tensor<8x8xf64> -> tensor<8x8xf64>
  %r = strata.matmul %t, %a : tensor<8x8xf64>, tensor<8x8xf64> -> tensor<8x8xf64>
  return %r : tensor<8x8xf64>
}

// CHECK-LABEL: func.func @mlp(
// CHECK-SAME: %[[BIAS:[a-z0-9_]+]]: memref<37xf32>, %[[OUT:[a-z0-9_]+]]: memref<13x37xf32> {bufferize.result}
// The bias broadcast into its temporary comes first, then the kernel.
// CHECK: %[[BB:[a-z0-9_]+]] = memref.alloc()
// CHECK: vector.load %[[BIAS]]
// CHECK: vector.store %{{.*}}, %[[BB]]
// CHECK: scf.parallel
// CHECK: vector.fma {{.*}} : vector<8xf32>
// CHECK: %[[X:[0-9]+]] = vector.load %[[BB]]
// CHECK: %[[S:[0-9]+]] = arith.addf %{{[0-9]+}}#0, %[[X]] : vector<8xf32>
// CHECK: %[[R:[0-9]+]] = arith.maximumf %[[S]], %{{.*}} : vector<8xf32>
// CHECK: vector.store %[[R]], %[[OUT]]
// The leftover columns 32..36 stay scalar.
// CHECK: affine.parallel (%{{.*}}) = (32) to (37)
// CHECK: memref.dealloc %[[BB]]
// FUSED-LABEL: func.func @mlp(
// FUSED: scf.parallel
// FUSED: vector.fma {{.*}} : vector<8xf32>
// FUSED: arith.maximumf {{.*}} : vector<8xf32>
// LLVM-LABEL: llvm.func @mlp(
func.func @mlp(%x: tensor<13x20xf32>, %w: tensor<20x37xf32>, %bias: tensor<37xf32>) -> tensor<13x37xf32> {
  %mm = strata.matmul %x, %w : tensor<13x20xf32>, tensor<20x37xf32> -> tensor<13x37xf32>
  %bb = strata.broadcast %bias dims = [0] : tensor<37xf32> -> tensor<13x37xf32>
  %s = strata.add %mm, %bb : tensor<13x37xf32>
  %r = strata.map(%s) : (tensor<13x37xf32>) -> tensor<13x37xf32> {
  ^bb0(%v: f32):
    %z = arith.constant 0.0 : f32
    %q = arith.maximumf %v, %z : f32
    strata.yield %q : f32
  }
  return %r : tensor<13x37xf32>
}
