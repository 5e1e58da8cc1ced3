// strata-lower-to-affine{fuse-loops}: upstream's affine-loop-fusion fuses a
// row-wise softmax (max, exponentials, sum, division) into one loop over
// rows whose temporaries hold one row, and strata-privatize-buffers moves
// each into the loop body, so the row loop is parallel and each row is
// read from memory once.
// RUN: strata-opt %s --split-input-file --strata-lower-to-affine=fuse-loops=true | FileCheck %s
// RUN: strata-opt %s --split-input-file --strata-lower-to-affine=fuse-loops=true --strata-remarks 2>&1 >/dev/null | FileCheck %s --check-prefix=REMARK
// The fused row loop's inner loops index their one-row temporaries as
// %t[0, %j]; strata-vectorize still vectorizes all four (AVX-512: 16 f32
// lanes, 40 = 2 x 16 + 8 left).
// RUN: strata-opt %s --split-input-file --strata-target=skylake-avx512 --pass-pipeline='builtin.module(strata-lower-to-affine{fuse-loops=true},canonicalize,strata-vectorize)' --strata-remarks 2>&1 >/dev/null | FileCheck %s --check-prefix=VEC
// VEC-DAG: remark: strata-vectorize: maximumf reduction of 40 steps vectorized, 16 lanes
// VEC-DAG: remark: strata-vectorize: add reduction of 40 steps vectorized, 16 lanes
// VEC-DAG: remark: strata-vectorize: loop of 40 iterations vectorized, 16 lanes
// VEC-DAG: remark: strata-vectorize: loop of 40 iterations vectorized, 16 lanes
// Without the option, four nests over the rows.
// RUN: strata-opt %s --split-input-file --strata-lower-to-affine | FileCheck %s --check-prefix=UNFUSED
// The privatization on its own, on loops written by hand.
// RUN: strata-opt %s --split-input-file --pass-pipeline='builtin.module(strata-privatize-buffers)' | FileCheck %s --check-prefix=PRIV

// CHECK-LABEL: func.func @softmax(
// CHECK-SAME: %[[X:[a-z0-9_]+]]: memref<8x40xf32>, %[[OUT:[a-z0-9_]+]]: memref<8x40xf32> {bufferize.result}
// CHECK-NEXT: arith.constant
// CHECK-NEXT: arith.constant
// CHECK-NEXT: affine.parallel (%[[I:.*]]) = (0) to (8) {
// CHECK-DAG: memref.alloc() : memref<1xf32>
// CHECK-DAG: memref.alloc() : memref<1x40xf32>
// CHECK: affine.load %[[X]][%[[I]], %{{.*}}]
// CHECK: math.exp
// CHECK: affine.store %{{.*}}, %[[OUT]][%[[I]], %{{.*}}]
// CHECK: memref.dealloc
// CHECK-NOT: affine.parallel (%{{.*}}) = (0) to (8)
// CHECK: return
// REMARK-COUNT-3: remark: strata-privatize-buffers: temporary made private to each iteration of its loop
// UNFUSED-LABEL: func.func @softmax(
// UNFUSED-COUNT-4: affine.parallel (%{{.*}}) = (0) to (8)
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

// Filled whole (a loop over the row, then a scalar) before any read in
// each iteration: moved into the body.
// PRIV-LABEL: func.func @filled_first(
// PRIV-NOT: memref.alloc
// PRIV: affine.for
// PRIV-DAG: memref.alloc() : memref<1x40xf32>
// PRIV-DAG: memref.alloc() : memref<1xf32>
// PRIV: affine.for
func.func @filled_first(%x: memref<8x40xf32>, %y: memref<8xf32>) {
  %t = memref.alloc() : memref<1x40xf32>
  %s = memref.alloc() : memref<1xf32>
  %z = arith.constant 0.0 : f32
  affine.for %i = 0 to 8 {
    affine.for %j = 0 to 40 {
      %v = affine.load %x[%i, %j] : memref<8x40xf32>
      affine.store %v, %t[0, %j] : memref<1x40xf32>
    }
    affine.store %z, %s[0] : memref<1xf32>
    affine.for %j = 0 to 40 {
      %v = affine.load %t[0, %j] : memref<1x40xf32>
      %a = affine.load %s[0] : memref<1xf32>
      %n = arith.addf %a, %v : f32
      affine.store %n, %s[0] : memref<1xf32>
    }
    %r = affine.load %s[0] : memref<1xf32>
    affine.store %r, %y[%i] : memref<8xf32>
  }
  return
}

// -----

// A running sum carried from one row to the next (read before written in
// an iteration), and a row only half filled: both stay shared.
// PRIV-LABEL: func.func @carried(
// PRIV-NEXT: memref.alloc() : memref<1xf32>
// PRIV-NEXT: memref.alloc() : memref<1x40xf32>
// PRIV: affine.for
func.func @carried(%x: memref<8x40xf32>, %y: memref<8xf32>) {
  %s = memref.alloc() : memref<1xf32>
  %t = memref.alloc() : memref<1x40xf32>
  affine.for %i = 0 to 8 {
    %a = affine.load %s[0] : memref<1xf32>
    %v = affine.load %x[%i, 0] : memref<8x40xf32>
    %n = arith.addf %a, %v : f32
    affine.store %n, %s[0] : memref<1xf32>
    affine.store %n, %y[%i] : memref<8xf32>
    affine.for %j = 0 to 20 {
      affine.store %v, %t[0, %j] : memref<1x40xf32>
    }
    %w = affine.load %t[0, 30] : memref<1x40xf32>
    affine.store %w, %y[%i] : memref<8xf32>
  }
  return
}
