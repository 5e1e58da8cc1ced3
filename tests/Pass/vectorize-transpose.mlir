// strata-vectorize on a materialised transpose: W x W register tiles (8 x 8
// f32 at this module's 256 bits), W vector loads along the input's
// contiguous dimension, log2(W) = 3 rounds of two-source vector.shuffle
// (24 in all), W vector stores along the output's; blocks of 4 x 4 tiles,
// an scf.parallel over blocks of rows. The strips past the last whole
// tile (37 x 45: 32 x 40 in tiles) keep the scalar nest, in two clones.
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
// CHECK: scf.parallel
// CHECK: scf.for %[[IA:.*]] = %{{.*}} step %c8
// CHECK: scf.for %[[IB:.*]] = %{{.*}} step %c8
// CHECK: %[[R0:.*]] = vector.load %[[X]][%[[IB]], %[[IA]]] : memref<45x37xf32>, vector<8xf32>
// CHECK: %[[K1:.*]] = arith.addi %[[IB]], %c1
// CHECK: %[[R1:.*]] = vector.load %[[X]][%[[K1]], %[[IA]]]
// CHECK: vector.load
// CHECK: vector.load
// CHECK: vector.load
// CHECK: vector.load
// CHECK: vector.load
// CHECK: vector.load
// CHECK-NOT: vector.load
// First round: rows 0 and 4 swap their column halves.
// CHECK: vector.shuffle %[[R0]], %{{.*}} [0, 1, 2, 3, 8, 9, 10, 11] : vector<8xf32>, vector<8xf32>
// CHECK: vector.shuffle %[[R0]], %{{.*}} [4, 5, 6, 7, 12, 13, 14, 15] : vector<8xf32>, vector<8xf32>
// CHECK-COUNT-22: vector.shuffle
// CHECK-NOT: vector.shuffle
// CHECK: vector.store %{{.*}}, %[[OUT]][%[[IA]], %[[IB]]] : memref<37x45xf32>, vector<8xf32>
// CHECK: %[[A1:.*]] = arith.addi %[[IA]], %c1
// CHECK: vector.store %{{.*}}, %[[OUT]][%[[A1]], %[[IB]]]
// CHECK-COUNT-6: vector.store
// CHECK-NOT: vector.store
// CHECK: return
// REMARK: remark: strata-vectorize: transposed copy of [37, 45] in 8x8 register tiles (24 shuffles each), blocks of 32x32, 1 parallel task(s); 385 leftover element(s) stay scalar
func.func @t2(%x: tensor<45x37xf32>) -> tensor<37x45xf32> {
  %r = strata.transpose %x permutation = [1, 0] : tensor<45x37xf32> -> tensor<37x45xf32>
  return %r : tensor<37x45xf32>
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
