// strata-vectorize on reductions long enough to split across the pool: a
// sum of everything becomes an scf.parallel over 4 x cores tasks (8 for
// this module's 2 cores), each reducing its share of the rows with U
// vector accumulators (4 x 8 lanes at 256 bits), then 8 lanes, then one,
// storing one partial result in its own slot; the nest becomes a fold of
// the output with the partial results. A few long rows are split in
// segments, rows x tasks in one loop. Short reductions, and rows many
// enough for the workers, are vectorized in place.
// RUN: strata-opt %s --strata-lower-to-affine --strata-vectorize | FileCheck %s
// RUN: strata-opt %s --strata-lower-to-affine=fuse-loops=true --strata-vectorize | FileCheck %s --check-prefix=FUSED
// RUN: strata-opt %s --strata-lower-to-affine --strata-vectorize --strata-remarks 2>&1 >/dev/null | FileCheck %s --check-prefix=REMARK

module attributes {strata.target = {cpu = "x86-64-v3", features = "", vector_bits = 256 : i64, vector_registers = 16 : i64, l1d_bytes = 32768 : i64, l2_bytes = 1048576 : i64, l3_bytes = 33554432 : i64, cores = 2 : i64}} {

// CHECK-LABEL: func.func @sum_all(
// CHECK-SAME: %[[X:[a-z0-9_]+]]: memref<37x2011xf32>, %[[OUT:[a-z0-9_]+]]: memref<f32>
// CHECK: %[[PARTS:.*]] = memref.alloc() : memref<8xf32>
// CHECK: scf.parallel (%[[T:.*]]) = (%{{.*}}) to (%c8{{.*}}) step (%{{.*}}) {
// 37 rows in 8 tasks: 5 rows each.
// CHECK: %[[RLO:.*]] = arith.muli %[[T]], %c5
// CHECK: %[[R:.*]]:3 = scf.for %[[ROW:.*]] = %[[RLO]] to %{{.*}} iter_args(%{{.*}} = %{{.*}}, %{{.*}} = %{{.*}}, %{{.*}} = %{{.*}}) -> (vector<32xf32>, vector<8xf32>, vector<1xf32>)
// CHECK: scf.for %[[J:.*]] = %{{.*}} step %c32{{.*}} iter_args(%[[A:.*]] = %{{.*}}) -> (vector<32xf32>)
// CHECK: %[[V:.*]] = vector.load %[[X]][%[[ROW]], %[[J]]] : memref<37x2011xf32>, vector<32xf32>
// CHECK: arith.addf %[[A]], %[[V]] : vector<32xf32>
// CHECK: vector<8xf32>
// CHECK: vector<1xf32>
// CHECK: vector.reduction <add>, %[[R]]#0 : vector<32xf32> into f32
// CHECK: memref.store %{{.*}}, %[[PARTS]][%[[T]]] : memref<8xf32>
// CHECK: } {strata.grain = 1 : i64}
// The fold, in task order, from what out holds (the identity).
// CHECK: %[[CUR:.*]] = affine.load %[[OUT]][]
// CHECK: %[[F:.*]] = scf.for %[[K:.*]] = %{{.*}} to %c8{{.*}} step %{{.*}} iter_args(%[[ACC:.*]] = %[[CUR]]) -> (f32)
// CHECK: %[[P:.*]] = memref.load %[[PARTS]][%{{.*}}] : memref<8xf32>
// CHECK: arith.addf %[[ACC]], %[[P]] : f32
// CHECK: affine.store %[[F]], %[[OUT]][]
// CHECK: memref.dealloc %[[PARTS]]
// REMARK: remark: strata-vectorize: add reduction of 74407 element(s) per result split into 8 parallel task(s) (5 row(s) of 2011 each), 4 x 8 lanes, partial results folded once
func.func @sum_all(%x: tensor<37x2011xf32>) -> tensor<f32> {
  %r = strata.reduce "add" %x dims = [0, 1] : tensor<37x2011xf32> -> tensor<f32>
  return %r : tensor<f32>
}

// Three rows of 100001 (i32 max): 8 segments of each row, 24 tasks.
// CHECK-LABEL: func.func @rows_max(
// CHECK-SAME: %[[X:[a-z0-9_]+]]: memref<3x100001xi32>, %[[OUT:[a-z0-9_]+]]: memref<3xi32>
// CHECK: %[[PARTS:.*]] = memref.alloc() : memref<24xi32>
// CHECK: scf.parallel (%[[G:.*]]) = (%{{.*}}) to (%c24{{.*}})
// CHECK: %[[ROW:.*]] = arith.divui %[[G]], %c8
// CHECK: %[[T:.*]] = arith.remui %[[G]], %c8
// CHECK: %[[SEG:.*]] = arith.remui %{{.*}}, %c8
// CHECK: %[[JLO:.*]] = arith.muli %[[SEG]], %c12504
// CHECK: scf.for %[[J:.*]] = %[[JLO]] to %{{.*}} step %c32
// CHECK: vector.load %[[X]][%[[ROW]], %[[J]]] : memref<3x100001xi32>, vector<32xi32>
// CHECK: arith.maxsi
// CHECK: memref.store %{{.*}}, %[[PARTS]][%[[G]]]
// The rows' loop folds its 8 partial results into what the loop before
// stored (with fuse-loops, the identity store stays in it: FUSED).
// CHECK: affine.parallel (%[[I:.*]]) = (0) to (3)
// CHECK: %[[BASE:.*]] = arith.muli %[[I]], %c8
// CHECK: scf.for
// CHECK: arith.addi %[[BASE]]
// CHECK: arith.maxsi
// CHECK: memref.dealloc %[[PARTS]]
// FUSED-LABEL: func.func @rows_max(
// FUSED: scf.parallel
// FUSED: affine.parallel (%[[I:.*]]) = (0) to (3)
// FUSED-NEXT: affine.store %{{.*}}, %{{.*}}[%[[I]]] : memref<3xi32>
// FUSED-NEXT: affine.load %{{.*}}[%[[I]]] : memref<3xi32>
// REMARK: remark: strata-vectorize: maxsi reduction of 100001 element(s) per result split into 8 parallel task(s) (segments of 12504 of a row of 100001), 4 x 8 lanes, partial results folded once
func.func @rows_max(%x: tensor<3x100001xi32>) -> tensor<3xi32> {
  %r = strata.reduce "max" %x dims = [1] : tensor<3x100001xi32> -> tensor<3xi32>
  return %r : tensor<3xi32>
}

// Short: vectorized in place, not split.
// CHECK-LABEL: func.func @short(
// CHECK-NOT: scf.parallel
// CHECK: vector.reduction <add>
// CHECK: return
// REMARK-NOT: split into
func.func @short(%x: tensor<4097xf64>) -> tensor<f64> {
  %r = strata.reduce "add" %x dims = [0] : tensor<4097xf64> -> tensor<f64>
  return %r : tensor<f64>
}

}
