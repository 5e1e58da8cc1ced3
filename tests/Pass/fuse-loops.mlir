// strata-lower-to-affine{fuse-loops}: strata-fuse-rows fuses a row-wise
// softmax (fill and reduce the max, the exponentials, fill and reduce the
// sum, its reciprocal, the multiply: seven nests over the rows) into one
// loop over rows,
// each temporary shrunk to one row allocated per iteration, so the row
// loop is parallel and each row is read from memory once.
// RUN: strata-opt %s --split-input-file --strata-lower-to-affine=fuse-loops=true | FileCheck %s
// RUN: strata-opt %s --split-input-file --strata-lower-to-affine=fuse-loops=true --strata-remarks 2>&1 >/dev/null | FileCheck %s --check-prefix=REMARK
// Without the option, the nests stay apart.
// RUN: strata-opt %s --split-input-file --strata-lower-to-affine | FileCheck %s --check-prefix=UNFUSED
// The fused loop's inner loops index their one-row temporaries as
// %t[0, %j]; strata-vectorize still vectorizes all four (AVX-512: 16 f32
// lanes, 40 = 2 x 16 + 8 left; the reductions keep both vectors of 16 as partial results).
// RUN: strata-opt %s --split-input-file --strata-target=skylake-avx512 --pass-pipeline='builtin.module(strata-lower-to-affine{fuse-loops=true},canonicalize,strata-vectorize)' --strata-remarks 2>&1 >/dev/null | FileCheck %s --check-prefix=VEC
// The pass alone, on loops written by hand.
// RUN: strata-opt %s --split-input-file --pass-pipeline='builtin.module(strata-fuse-rows)' | FileCheck %s --check-prefix=ROWS

// CHECK-LABEL: func.func @softmax(
// CHECK-SAME: %[[X:[a-z0-9_]+]]: memref<8x40xf32>, %[[OUT:[a-z0-9_]+]]: memref<8x40xf32> {bufferize.result}
// CHECK: affine.parallel (%[[I:.*]]) = (0) to (8) {
// CHECK-DAG: memref.alloc() {{.*}}: memref<1xf32>
// CHECK-DAG: memref.alloc() {{.*}}: memref<1x40xf32>
// CHECK: affine.load %[[X]][%[[I]], %{{.*}}]
// CHECK: math.exp
// CHECK: affine.store %{{.*}}, %[[OUT]][%[[I]], %{{.*}}]
// CHECK: memref.dealloc
// CHECK-NOT: affine.parallel (%{{.*}}) = (0) to (8)
// CHECK: return
// REMARK: remark: strata-fuse-rows: 7 loop nests over 8 rows fused into one; 4 temporar(ies) shrunk to one row, allocated per row
// UNFUSED-LABEL: func.func @softmax(
// UNFUSED-COUNT-4: affine.parallel (%{{.*}}) = (0) to (8)
// VEC-DAG: remark: strata-vectorize: maximumf reduction of 40 steps vectorized, 2 x 16 lanes; 8 leftover step(s) stay scalar
// VEC-DAG: remark: strata-vectorize: add reduction of 40 steps vectorized, 2 x 16 lanes; 8 leftover step(s) stay scalar
// VEC-DAG: remark: strata-vectorize: loop of 40 iterations vectorized, 16 lanes
// VEC-DAG: remark: strata-vectorize: loop of 40 iterations vectorized, 16 lanes
func.func @softmax(%x: tensor<8x40xf32>) -> tensor<8x40xf32> {
  %m = strata.reduce "max" %x dims = [1] : tensor<8x40xf32> -> tensor<8xf32>
  %mb = strata.broadcast %m dims = [1] : tensor<8xf32> -> tensor<8x40xf32>
  %d = strata.sub %x, %mb : tensor<8x40xf32>
  %e = strata.exp %d : tensor<8x40xf32>
  %s = strata.reduce "add" %e dims = [1] : tensor<8x40xf32> -> tensor<8xf32>
  %sb = strata.broadcast %s dims = [1] : tensor<8xf32> -> tensor<8x40xf32>
  %r = strata.div %e, %sb : tensor<8x40xf32>
  return %r : tensor<8x40xf32>
}

// -----

// A product over a size-1 dimension, broadcast along the other: its rows
// are not the consumer's rows (the data flow leaves the row), so its nests
// stay apart from the consumer's and nothing is recomputed. (Upstream's
// affine-loop-fusion recomputed it into the same accumulator once per
// consumer row here.)
// REMARK: remark: strata-fuse-rows: 2 loop nests over 3 rows fused into one; 0 temporar(ies)
// REMARK-NOT: over 4 rows
func.func @broadcast_product(%x: tensor<3x1xf64>, %y: tensor<1x4xf64>) -> tensor<3x4xf64> {
  %v1 = "strata.reduce"(%x) {dims = array<i64: 1>, kind = "mul"} : (tensor<3x1xf64>) -> tensor<3xf64>
  %v2 = "strata.broadcast"(%v1) {dims = array<i64: 1>} : (tensor<3xf64>) -> tensor<3x4xf64>
  %v3 = "strata.reduce"(%y) {dims = array<i64: 0>, kind = "mul"} : (tensor<1x4xf64>) -> tensor<4xf64>
  %v4 = "strata.broadcast"(%v3) {dims = array<i64: 0>} : (tensor<4xf64>) -> tensor<3x4xf64>
  %v5 = "strata.mul"(%v4, %v2) : (tensor<3x4xf64>, tensor<3x4xf64>) -> tensor<3x4xf64>
  return %v5 : tensor<3x4xf64>
}

// -----

// Row i of the second loop reads row i + 1 of what the first writes: not
// row-local, not fused.
// ROWS-LABEL: func.func @shifted(
// ROWS-COUNT-2: affine.for %{{.*}} = 0 to 7
func.func @shifted(%x: memref<8x4xf32>, %y: memref<7x4xf32>) {
  %t = memref.alloc() : memref<8x4xf32>
  affine.for %i = 0 to 7 {
    affine.for %j = 0 to 4 {
      %v = affine.load %x[%i, %j] : memref<8x4xf32>
      affine.store %v, %t[%i, %j] : memref<8x4xf32>
    }
  }
  affine.for %i = 0 to 7 {
    affine.for %j = 0 to 4 {
      %v = affine.load %t[%i + 1, %j] : memref<8x4xf32>
      affine.store %v, %y[%i, %j] : memref<7x4xf32>
    }
  }
  return
}

// -----

// Two arguments may be one buffer (the caller's): the first loop writes
// %a, the second reads %b, so they stay apart.
// ROWS-LABEL: func.func @may_alias(
// ROWS-COUNT-2: affine.for %{{.*}} = 0 to 8
func.func @may_alias(%a: memref<8xf32>, %b: memref<8xf32>, %c: memref<8xf32>) {
  %z = arith.constant 0.0 : f32
  affine.for %i = 0 to 8 {
    affine.store %z, %a[%i] : memref<8xf32>
  }
  affine.for %i = 0 to 8 {
    %v = affine.load %b[%i] : memref<8xf32>
    affine.store %v, %c[%i] : memref<8xf32>
  }
  return
}
