// strata-vectorize on contractions however they are spelled: the kernel
// follows the structure (indexing maps, batch dimensions) of the
// linalg.generic that strata-lower-to-affine{keep-contractions} kept. The
// target is named (skylake-avx512: 16 f32 lanes), whatever the host, and
// the register tile's columns are given (32, two f32 vectors; strata-tile
// would choose four on a 32-register target, see tile.mlir).
// RUN: strata-opt %s --strata-target=skylake-avx512 --pass-pipeline='builtin.module(canonicalize,cse,strata-fuse,strata-lower-to-affine{keep-contractions=true},canonicalize,cse,strata-tile{tile-sizes=6,32},strata-vectorize)' | FileCheck %s
// RUN: strata-opt %s --strata-target=skylake-avx512 --pass-pipeline='builtin.module(canonicalize,cse,strata-fuse,strata-lower-to-affine{keep-contractions=true},canonicalize,cse,strata-tile{tile-sizes=6,32},strata-vectorize)' --strata-remarks 2>&1 >/dev/null | FileCheck %s --check-prefix=REMARK
// Down to LLVM under AVX2 too.
// RUN: strata-opt %s --strata-target=znver3 --strata-pipeline=O3 | FileCheck %s --check-prefix=LLVM

// A.B^T: the transpose is B's indexing map; packing reads B's columns
// (rows of %b) along K in 16x16 tiles, transposes each in registers (64
// shuffles: 16 x log2 16) and stores 16 rows of the panel, with no
// transposed copy of B; the 8 steps past the whole tiles (K = 24) are
// copied element by element.
// CHECK-LABEL: func.func @abt(
// CHECK-SAME: %[[A:[a-z0-9_]+]]: memref<40x24xf32>, %[[B:[a-z0-9_]+]]: memref<64x24xf32>
// CHECK-NOT: memref<24x64xf32>
// CHECK: scf.parallel
// CHECK: %[[P:.*]] = memref.alloc() {alignment = 64 : i64} : memref<1x24x32xf32>
// CHECK: scf.for %[[C0:.*]] = %c0{{.*}} to %c32{{.*}} step %c16
// CHECK: scf.for %[[K0:.*]] = %{{.*}} to %{{.*}} step %c16
// CHECK-COUNT-16: vector.load %[[B]][%{{.*}}, %[[K0]]] : memref<64x24xf32>, vector<16xf32>
// CHECK-COUNT-64: vector.shuffle
// CHECK-NOT: vector.shuffle
// CHECK-COUNT-16: vector.store %{{.*}}, %[[P]][%{{.*}}, %{{.*}}, %[[C0]]] : memref<1x24x32xf32>, vector<16xf32>
// CHECK: scf.for %[[COL:.*]] = %c0{{.*}} to %c32{{.*}} step %c1
// CHECK: scf.for %[[K:.*]] =
// CHECK: %[[X:.*]] = memref.load %[[B]][%{{.*}}, %[[K]]] : memref<64x24xf32>
// CHECK: memref.store %[[X]], %[[P]][%{{.*}}, %{{.*}}, %[[COL]]] : memref<1x24x32xf32>
// CHECK: vector.fma
// REMARK: remark: strata-vectorize: contraction 40x24x64 f32 as a 6x32 register-blocked micro-kernel on vector<16xf32>, B packed in 24x32 panels; 2 column block(s) of 32, each split into 6 row chunks for the workers; the zero fill of C folded into the accumulators
// The kernels are outlined to the pool; their FMAs are AVX2-wide.
// LLVM: llvm.intr.fmuladd({{.*}}) : (vector<8xf32>, vector<8xf32>, vector<8xf32>) -> vector<8xf32>
func.func @abt(%a: tensor<40x24xf32>, %b: tensor<64x24xf32>) -> tensor<40x64xf32> {
  %t = strata.transpose %b permutation = [1, 0] : tensor<64x24xf32> -> tensor<24x64xf32>
  %r = strata.matmul %a, %t : tensor<40x24xf32>, tensor<24x64xf32> -> tensor<40x64xf32>
  return %r : tensor<40x64xf32>
}

// Batched: batch x column blocks x row chunks are one parallel loop (here
// 4 x 1 x 2), split by remui and divui; every access carries the batch
// index. One column block reads A once, so A is not packed.
// CHECK-LABEL: func.func @batched(
// CHECK-SAME: %[[A:[a-z0-9_]+]]: memref<4x12x8xf64>, %[[B:[a-z0-9_]+]]: memref<4x8x16xf64>
// CHECK-NOT: memref<4x2x8x6xf64>
// CHECK: scf.parallel (%[[T:.*]]) = (%{{.*}}) to (%c8{{.*}}) step
// CHECK: %[[P:.*]] = arith.divui %[[T]], %c2
// CHECK: %[[BLOCK:.*]] = arith.remui %[[P]], %c1
// CHECK: %[[FLAT:.*]] = arith.divui %[[P]], %c1
// CHECK: %[[BATCH:.*]] = arith.remui %[[FLAT]], %c4
// CHECK: vector.load %[[B]][%[[BATCH]], %{{.*}}, %{{.*}}] : memref<4x8x16xf64>, vector<8xf64>
// CHECK: iter_args({{.*}}) -> (vector<8xf64>, vector<8xf64>
// CHECK: memref.load %[[A]][%[[BATCH]], %{{.*}}, %{{.*}}] : memref<4x12x8xf64>
// REMARK: remark: strata-vectorize: contraction 4 batch of 12x8x16 f64 as a 6x32 register-blocked micro-kernel
func.func @batched(%a: tensor<4x12x8xf64>, %b: tensor<4x8x16xf64>) -> tensor<4x12x16xf64> {
  %r = strata.matmul %a, %b : tensor<4x12x8xf64>, tensor<4x8x16xf64> -> tensor<4x12x16xf64>
  return %r : tensor<4x12x16xf64>
}

// At.B: A runs along M (the transpose), so it is packed into panels of 6
// rows, read as neighbours in the kernel, even with two column blocks.
// A panel's 6 rows of one reduction step are neighbours in A: one vector
// moves them (4 in the last panel, 40 = 6 x 6 + 4).
// CHECK-LABEL: func.func @atb(
// CHECK-SAME: %[[A:[a-z0-9_]+]]: memref<24x40xf32>
// CHECK: %[[PA:.*]] = memref.alloc() {alignment = 64 : i64} : memref<1x7x24x6xf32>
// CHECK: %[[P6:.*]] = vector.load %[[A]][%{{.*}}, %{{.*}}] : memref<24x40xf32>, vector<6xf32>
// CHECK: vector.store %[[P6]], %[[PA]][%{{.*}}, %{{.*}}, %{{.*}}, %c0{{.*}}] : memref<1x7x24x6xf32>, vector<6xf32>
// CHECK: %[[P4:.*]] = vector.load %[[A]][%{{.*}}, %{{.*}}] : memref<24x40xf32>, vector<4xf32>
// CHECK: vector.store %[[P4]], %[[PA]][%{{.*}}, %{{.*}}, %{{.*}}, %c0{{.*}}] : memref<1x7x24x6xf32>, vector<4xf32>
// CHECK: memref.load %[[PA]]
// CHECK: vector.fma
// REMARK: remark: strata-vectorize: contraction 40x24x64 f32 as a 6x32 register-blocked micro-kernel on vector<16xf32>, A packed in 6-row panels, B in 24x32 panels
func.func @atb(%a: tensor<24x40xf32>, %b: tensor<24x64xf32>) -> tensor<40x64xf32> {
  %t = strata.transpose %a permutation = [1, 0] : tensor<24x40xf32> -> tensor<40x24xf32>
  %r = strata.matmul %t, %b : tensor<40x24xf32>, tensor<24x64xf32> -> tensor<40x64xf32>
  return %r : tensor<40x64xf32>
}

// relu(B) folded into the payload by linalg's fusion: applied to each
// vector of B as it is packed, not once per use in the kernel.
// CHECK-LABEL: func.func @relu_b(
// CHECK-SAME: %[[A:[a-z0-9_]+]]: memref<12x8xf32>, %[[B:[a-z0-9_]+]]: memref<8x64xf32>
// CHECK: %[[P:.*]] = memref.alloc() {alignment = 64 : i64} : memref<1x8x32xf32>
// CHECK: %[[X:.*]] = vector.load %[[B]]
// CHECK: %[[R:.*]] = arith.maximumf %[[X]], %{{.*}} : vector<16xf32>
// CHECK: vector.store %[[R]], %[[P]]
// CHECK: scf.for
// CHECK-NOT: arith.maximumf
// CHECK: vector.fma
// REMARK: remark: strata-vectorize: contraction 12x8x64 f32 {{.*}}; elementwise producers of the operands applied where they are loaded or packed
func.func @relu_b(%a: tensor<12x8xf32>, %b: tensor<8x64xf32>) -> tensor<12x64xf32> {
  %r = strata.map(%b) : (tensor<8x64xf32>) -> tensor<8x64xf32> {
  ^bb0(%v: f32):
    %z = arith.constant 0.0 : f32
    %m = arith.maximumf %v, %z : f32
    strata.yield %m : f32
  }
  %0 = strata.matmul %a, %r : tensor<12x8xf32>, tensor<8x64xf32> -> tensor<12x64xf32>
  return %0 : tensor<12x64xf32>
}

// Matvec: dot products, 8 rows at a time sharing each vector of x, the
// last 4 of K's 100 steps masked; one horizontal sum per output.
// CHECK-LABEL: func.func @matvec(
// CHECK-SAME: %[[A:[a-z0-9_]+]]: memref<9x100xf32>, %[[X:[a-z0-9_]+]]: memref<100x1xf32>
// CHECK: scf.parallel
// CHECK: scf.for {{.*}} step %c16{{.*}} iter_args({{.*}}) -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>)
// CHECK: vector.load %[[X]]
// CHECK-COUNT-8: vector.load %[[A]]
// CHECK: vector.create_mask %c4{{.*}} : vector<16xi1>
// CHECK: vector.maskedload %[[X]]
// CHECK: vector.reduction <add>
// CHECK-NOT: memref.load
// The ninth row, in a group of its own.
// CHECK: scf.parallel
// CHECK: iter_args({{.*}}) -> (vector<16xf32>)
// REMARK: remark: strata-vectorize: contraction 1x100x9 f32 as dot products on vector<16xf32>, 8 outputs at a time, the matrix streamed once
func.func @matvec(%a: tensor<9x100xf32>, %x: tensor<100x1xf32>) -> tensor<9x1xf32> {
  %r = strata.matmul %a, %x : tensor<9x100xf32>, tensor<100x1xf32> -> tensor<9x1xf32>
  return %r : tensor<9x1xf32>
}

// Vecmat on i64: one row, so nothing is packed; B is read in place.
// CHECK-LABEL: func.func @vecmat(
// CHECK-SAME: %[[X:[a-z0-9_]+]]: memref<1x30xi64>, %[[B:[a-z0-9_]+]]: memref<30x20xi64>
// CHECK-NOT: memref.alloc()
// CHECK: vector.load %[[B]]
// CHECK: vector.maskedload %[[B]]
// CHECK: arith.muli {{.*}} : vector<8xi64>
// REMARK: remark: strata-vectorize: contraction 1x30x20 i64 as a 1x32 register-blocked micro-kernel on vector<8xi64>, A and B read in place; 1 column block(s) of 32, the last 20 column(s) masked
func.func @vecmat(%x: tensor<1x30xi64>, %b: tensor<30x20xi64>) -> tensor<1x20xi64> {
  %r = strata.matmul %x, %b : tensor<1x30xi64>, tensor<30x20xi64> -> tensor<1x20xi64>
  return %r : tensor<1x20xi64>
}

// On buffers a caller passes in, C may be A or B: the kernel would read
// them after writing C, so the contraction is left to loops.
// RUN: strata-opt %s --strata-target=skylake-avx512 --pass-pipeline='builtin.module(strata-vectorize)' --strata-remarks 2>&1 | FileCheck %s --check-prefix=ALIAS
// ALIAS-LABEL: func.func @maybe_aliased(
// ALIAS: linalg.generic
// ALIAS-NOT: remark: strata-vectorize: contraction 8x8x32
func.func @maybe_aliased(%a: memref<8x8xf32>, %b: memref<8x32xf32>, %c: memref<8x32xf32>) {
  linalg.generic {indexing_maps = [affine_map<(i, k, j) -> (i, k)>, affine_map<(i, k, j) -> (k, j)>, affine_map<(i, k, j) -> (i, j)>], iterator_types = ["parallel", "reduction", "parallel"]} ins(%a, %b : memref<8x8xf32>, memref<8x32xf32>) outs(%c : memref<8x32xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}
