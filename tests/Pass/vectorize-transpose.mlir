// strata-vectorize on a materialised transpose: W x W register tiles (8 x 8
// f32 at this module's 256 bits), W vector loads along the input's
// contiguous dimension, log2(W) = 3 rounds of two-source vector.shuffle
// (24 in all), W vector stores along the output's. An scf.parallel over
// strips of the input's columns times chunks of its rows; in each task the
// rows outside, the columns inside. The strips past the last whole tile
// (37 x 45: 32 x 40 in tiles) keep the scalar nest, in two clones. An
// output larger than half the L2 (1 MiB here) gets streaming stores,
// aligned, when its base sits on a vector boundary (checked at run time),
// two tiles side by side so each step writes whole 64-byte lines, and a
// fence at the end of each task.
// RUN: strata-opt %s --strata-lower-to-affine --strata-vectorize | FileCheck %s
// RUN: strata-opt %s --strata-lower-to-affine --strata-vectorize --strata-remarks 2>&1 >/dev/null | FileCheck %s --check-prefix=REMARK

module attributes {strata.target = {cpu = "x86-64-v3", features = "", vector_bits = 256 : i64, vector_registers = 16 : i64, l1d_bytes = 32768 : i64, l2_bytes = 1048576 : i64, l3_bytes = 33554432 : i64, cores = 2 : i64}} {

// CHECK-LABEL: func.func @t2(
// CHECK-SAME: %[[X:[a-z0-9_]+]]: memref<45x37xf32>, %[[OUT:[a-z0-9_]+]]: memref<37x45xf32>
// The leftover rows of the output, then the leftover columns.
// CHECK: affine.parallel (%[[I:.*]]) = (32) to (37)
// CHECK: affine.parallel (%[[J:.*]]) = (0) to (45)
// CHECK: affine.load %[[X]][%[[J]], %[[I]]]
// CHECK: affine.parallel (%{{.*}}) = (0) to (32)
// CHECK: affine.parallel (%{{.*}}) = (40) to (45)
// A small output: cached stores, no alignment check.
// CHECK-NOT: extract_aligned_pointer
// CHECK: scf.parallel (%{{.*}}) = (%{{.*}}) to (%c5) step
// CHECK: scf.for %[[IB:.*]] = %{{.*}} step %c8
// CHECK: scf.for %[[IA:.*]] = %{{.*}} step %c8
// CHECK: %[[R0:.*]] = vector.load %[[X]][%[[IB]], %[[IA]]] : memref<45x37xf32>, vector<8xf32>
// CHECK: %[[K1:.*]] = arith.addi %[[IB]], %c1
// CHECK: %[[R1:.*]] = vector.load %[[X]][%[[K1]], %[[IA]]]
// CHECK-COUNT-6: vector.load
// CHECK-NOT: vector.load
// First round, for 32-bit elements: rows 0 and 1 interleaved within each
// 128-bit lane (x86's unpcklps and unpckhps, no index vector); then rows 0
// and 4 swap their column halves.
// CHECK: vector.shuffle %[[R0]], %[[R1]] [0, 8, 1, 9, 4, 12, 5, 13] : vector<8xf32>, vector<8xf32>
// CHECK: vector.shuffle %[[R0]], %[[R1]] [2, 10, 3, 11, 6, 14, 7, 15] : vector<8xf32>, vector<8xf32>
// CHECK-COUNT-6: vector.shuffle
// CHECK: vector.shuffle %{{.*}}, %{{.*}} [0, 1, 2, 3, 8, 9, 10, 11] : vector<8xf32>, vector<8xf32>
// CHECK: vector.shuffle %{{.*}}, %{{.*}} [4, 5, 6, 7, 12, 13, 14, 15] : vector<8xf32>, vector<8xf32>
// CHECK-COUNT-14: vector.shuffle
// CHECK-NOT: vector.shuffle
// CHECK: vector.store %{{.*}}, %[[OUT]][%[[IA]], %[[IB]]] : memref<37x45xf32>, vector<8xf32>
// CHECK: %[[A1:.*]] = arith.addi %[[IA]], %c1
// CHECK: vector.store %{{.*}}, %[[OUT]][%[[A1]], %[[IB]]] : memref<37x45xf32>, vector<8xf32>
// CHECK-COUNT-6: vector.store %{{.*}} : memref<37x45xf32>, vector<8xf32>
// CHECK-NOT: vector.store
// CHECK-NOT: llvm.fence
// CHECK: return
// REMARK: remark: strata-vectorize: transposed copy of [37, 45] in 8x8 register tiles (24 shuffles each), strips of 32 x 8, 5 parallel task(s), cached stores; 385 leftover element(s) stay scalar
func.func @t2(%x: tensor<45x37xf32>) -> tensor<37x45xf32> {
  %r = strata.transpose %x permutation = [1, 0] : tensor<45x37xf32> -> tensor<37x45xf32>
  return %r : tensor<37x45xf32>
}

// 1000 x 520 f32 (2 MB) streams: 520 columns are whole 32-byte vectors.
// Steps of 16 input rows (two tiles), 8 columns left to the scalar nest.
// CHECK-LABEL: func.func @streams(
// CHECK-SAME: %[[X:[a-z0-9_]+]]: memref<520x1000xf32>, %[[OUT:[a-z0-9_]+]]: memref<1000x520xf32>
// CHECK: affine.parallel (%{{.*}}) = (512) to (520)
// CHECK: %[[P:.*]] = memref.extract_aligned_pointer_as_index %[[OUT]]
// CHECK: %[[LOW:.*]] = arith.andi %[[P]], %c31
// CHECK: %[[ALIGNED:.*]] = arith.cmpi eq, %[[LOW]], %c0
// CHECK: scf.parallel (%{{.*}}) = (%{{.*}}) to (%c16) step
// CHECK: scf.for %[[IB:.*]] = %{{.*}} step %c16
// CHECK-NEXT: scf.if %[[ALIGNED]] {
// CHECK: scf.for %[[IA:.*]] = %{{.*}} step %c8
// CHECK: %[[IB8:.*]] = arith.addi %[[IB]], %c8
// CHECK-COUNT-16: vector.load %[[X]]
// Column 0 of both tiles, then column 1: whole lines one after another.
// CHECK: vector.store %{{.*}}, %[[OUT]][%[[IA]], %[[IB]]] {alignment = 32 : i64, nontemporal = true}
// CHECK-NEXT: vector.store %{{.*}}, %[[OUT]][%[[IA]], %[[IB8]]] {alignment = 32 : i64, nontemporal = true}
// CHECK: %[[A1:.*]] = arith.addi %[[IA]], %c1
// CHECK-NEXT: vector.store %{{.*}}, %[[OUT]][%[[A1]], %[[IB]]] {alignment = 32 : i64, nontemporal = true}
// CHECK-COUNT-13: vector.store {{.*}} {alignment = 32 : i64, nontemporal = true}
// CHECK: } else {
// CHECK: scf.for %{{.*}} step %c8
// CHECK-NOT: nontemporal
// CHECK: llvm.fence seq_cst
// CHECK-NEXT: scf.reduce
// CHECK: return
// REMARK: remark: strata-vectorize: transposed copy of [1000, 520] in 8x8 register tiles (24 shuffles each), strips of 1000 x 32, 16 parallel task(s), streaming stores where the output is aligned; 8000 leftover element(s) stay scalar
func.func @streams(%x: tensor<520x1000xf32>) -> tensor<1000x520xf32> {
  %r = strata.transpose %x permutation = [1, 0] : tensor<520x1000xf32> -> tensor<1000x520xf32>
  return %r : tensor<1000x520xf32>
}

// The last dimension stays: contiguous on both sides, the elementwise
// vectorizer's.
// CHECK-LABEL: func.func @keeps_last(
// CHECK-NOT: vector.shuffle
// CHECK: return
// REMARK-NOT: transposed copy of [37, 3, 45]
func.func @keeps_last(%x: tensor<3x37x45xf32>) -> tensor<37x3x45xf32> {
  %r = strata.transpose %x permutation = [1, 0, 2] : tensor<3x37x45xf32> -> tensor<37x3x45xf32>
  return %r : tensor<37x3x45xf32>
}

}
