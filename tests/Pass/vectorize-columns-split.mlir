// strata-vectorize on a reduction over many rows (column sums of a tall
// matrix): the rows are split into 4 x cores blocks (8 for this module's 2
// cores), one task each in an scf.parallel, each combining its rows in
// order into its own row of partial results started at the identity, 8
// lanes at a time (256 bits, f32); then each vector of columns is the
// output's value combined with the 8 partial results in block order. The
// leftover columns keep the scalar nest.
// RUN: strata-opt %s --strata-lower-to-affine --strata-vectorize | FileCheck %s
// RUN: strata-opt %s --strata-lower-to-affine --strata-vectorize --strata-remarks 2>&1 >/dev/null | FileCheck %s --check-prefix=REMARK

module attributes {strata.target = {cpu = "x86-64-v3", features = "", vector_bits = 256 : i64, vector_registers = 16 : i64, l1d_bytes = 32768 : i64, l2_bytes = 1048576 : i64, l3_bytes = 33554432 : i64, cores = 2 : i64}} {

// CHECK-LABEL: func.func @colsum(
// CHECK-SAME: %[[X:[a-z0-9_]+]]: memref<1001x70xf32>, %[[OUT:[a-z0-9_]+]]: memref<70xf32>
// CHECK: %[[PARTS:.*]] = memref.alloc() {alignment = 64 : i64} : memref<8x64xf32>
// CHECK: %[[ID:.*]] = arith.constant dense<0.000000e+00> : vector<8xf32>
// CHECK: scf.parallel (%[[B:.*]]) = (%{{.*}}) to (%c8{{.*}}) step
// CHECK: vector.store %[[ID]], %[[PARTS]][%[[B]], %{{.*}}]
// 1001 rows in blocks of 126.
// Four rows at a time into each vector of partials (in order: the same
// sums), then the rows left one at a time.
// CHECK: %[[FIRST:.*]] = arith.muli %[[B]], %c126
// CHECK: scf.for %[[I:.*]] = %{{.*}} to %[[SPLIT:.*]] step %c4
// CHECK: scf.for %[[J:.*]] = %{{.*}} to %c64{{.*}} step %c8
// CHECK: %[[ACC:.*]] = vector.load %[[PARTS]][%[[B]], %[[J]]] : memref<8x64xf32>, vector<8xf32>
// CHECK: %[[V:.*]] = vector.load %[[X]][%[[I]], %[[J]]] : memref<1001x70xf32>, vector<8xf32>
// CHECK: %[[S:.*]] = arith.addf %[[ACC]], %[[V]] : vector<8xf32>
// CHECK: %[[I1:.*]] = arith.addi %[[I]], %c1
// CHECK: %[[V1:.*]] = vector.load %[[X]][%[[I1]], %[[J]]]
// CHECK: %[[S1:.*]] = arith.addf %[[S]], %[[V1]] : vector<8xf32>
// CHECK: arith.addi %[[I]], %c3
// CHECK: %[[S3:.*]] = arith.addf %{{.*}}, %{{.*}} : vector<8xf32>
// CHECK-NEXT: vector.store %[[S3]], %[[PARTS]][%[[B]], %[[J]]]
// CHECK: scf.for %[[I:.*]] = %[[SPLIT]] to %{{.*}} step %c1
// CHECK: vector.load %[[PARTS]][%[[B]], %{{.*}}]
// CHECK: vector.store %{{.*}}, %[[PARTS]][%[[B]], %{{.*}}]
// CHECK: } {strata.grain = 1 : i64}
// The fold: what out holds, then each block's partials in order.
// CHECK: scf.for %[[J:.*]] = %{{.*}} to %c64{{.*}} step %c8
// CHECK: %[[START:.*]] = vector.load %[[OUT]][%[[J]]]
// CHECK: scf.for %[[K:.*]] = %{{.*}} to %c8{{.*}} step %{{.*}} iter_args(%[[A:.*]] = %[[START]])
// CHECK: %[[P:.*]] = vector.load %[[PARTS]][%[[K]], %[[J]]]
// CHECK: arith.addf %[[A]], %[[P]] : vector<8xf32>
// CHECK: vector.store %{{.*}}, %[[OUT]][%[[J]]]
// CHECK: memref.dealloc %[[PARTS]]
// The six columns left, in the original nest.
// CHECK: affine.parallel (%{{.*}}) = (64) to (70)
// REMARK: remark: strata-vectorize: add reduction over 1001 rows of 70 columns split into 8 parallel blocks of 126 rows, each into its own partial results 8 lanes at a time, then folded in block order; 6 leftover column(s) stay scalar
func.func @colsum(%x: tensor<1001x70xf32>) -> tensor<70xf32> {
  %r = strata.reduce "add" %x dims = [0] : tensor<1001x70xf32> -> tensor<70xf32>
  return %r : tensor<70xf32>
}

// Too few elements (37 x 70): one pass over the rows, as before.
// CHECK-LABEL: func.func @small(
// CHECK-NOT: memref.alloc
// CHECK: scf.parallel
// CHECK: vector.load %{{.*}} : memref<70xf32>, vector<8xf32>
// REMARK: remark: strata-vectorize: reduction over rows of 70 columns in 1 parallel chunk(s)
func.func @small(%x: tensor<37x70xf32>) -> tensor<70xf32> {
  %r = strata.reduce "add" %x dims = [0] : tensor<37x70xf32> -> tensor<70xf32>
  return %r : tensor<70xf32>
}

}
