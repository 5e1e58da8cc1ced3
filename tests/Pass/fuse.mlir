// strata-fuse: a chain of elementwise ops (named ops and strata.map) becomes
// one strata.map whose body computes each step in order; a producer with
// another use is never merged (no work is duplicated), and non-elementwise
// ops (matmul, broadcast, reduce) stay as they are.
// RUN: strata-opt %s --split-input-file --strata-fuse | FileCheck %s
// RUN: strata-opt %s --split-input-file --strata-fuse --strata-remarks 2>&1 >/dev/null | FileCheck %s --check-prefix=REMARK

// CHECK-LABEL: func.func @chain(
// CHECK-NEXT: %[[M:.*]] = strata.map(%arg0, %arg1, %arg2) : (tensor<4x5xf32>, tensor<4x5xf32>, tensor<4x5xf32>) -> tensor<4x5xf32> {
// CHECK-NEXT: ^bb0(%[[A:.*]]: f32, %[[B:.*]]: f32, %[[C:.*]]: f32):
// CHECK-NEXT: %[[P:.*]] = arith.mulf %[[A]], %[[B]] : f32
// CHECK-NEXT: %[[S:.*]] = arith.addf %[[P]], %[[C]] : f32
// CHECK-NEXT: %[[T:.*]] = math.tanh %[[S]] : f32
// CHECK-NEXT: %[[I:.*]] = strata.index 1
// CHECK: %[[R:.*]] = arith.maximumf %{{.*}}, %[[A]] : f32
// CHECK-NEXT: strata.yield %[[R]] : f32
// CHECK: return %[[M]]
// REMARK: fuse.mlir:[[@LINE+5]]:8: remark: strata-fuse: fused strata.mul into strata.add as one strata.map
// REMARK: fuse.mlir:[[@LINE+5]]:8: remark: strata-fuse: fused strata.map into strata.tanh as one strata.map
// REMARK: fuse.mlir:[[@LINE+5]]:8: remark: strata-fuse: fused strata.map into strata.map as one strata.map
func.func @chain(%a: tensor<4x5xf32>, %b: tensor<4x5xf32>, %c: tensor<4x5xf32>) -> tensor<4x5xf32> {
  %m = strata.mul %a, %b : tensor<4x5xf32>
  %s = strata.add %m, %c : tensor<4x5xf32>
  %t = strata.tanh %s : tensor<4x5xf32>
  %r = strata.map(%t, %a) : (tensor<4x5xf32>, tensor<4x5xf32>) -> tensor<4x5xf32> {
  ^bb0(%x: f32, %y: f32):
    %i = strata.index 1
    %ii = arith.index_cast %i : index to i32
    %f = arith.sitofp %ii : i32 to f32
    %z = arith.addf %x, %f : f32
    %w = arith.maximumf %z, %y : f32
    strata.yield %w : f32
  }
  return %r : tensor<4x5xf32>
}

// -----

// %e has two users: neither consumer absorbs it. Integer neg is 0 - x.
// CHECK-LABEL: func.func @shared(
// CHECK-NEXT: %[[E:.*]] = strata.neg %arg0 : tensor<3xi64>
// CHECK-NEXT: %[[X:.*]] = strata.mul %[[E]], %[[E]] : tensor<3xi64>
// CHECK-NEXT: return %[[X]], %[[E]]
func.func @shared(%a: tensor<3xi64>) -> (tensor<3xi64>, tensor<3xi64>) {
  %e = strata.neg %a : tensor<3xi64>
  %x = strata.mul %e, %e : tensor<3xi64>
  return %x, %e : tensor<3xi64>, tensor<3xi64>
}

// -----

// A matmul and a broadcast are not elementwise: the add stays (fused later,
// on the linalg form); the relu map absorbs the add.
// CHECK-LABEL: func.func @mlp(
// CHECK: strata.matmul
// CHECK: strata.broadcast
// CHECK: strata.map(%{{.*}}, %{{.*}}) : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
// CHECK: arith.addf
// CHECK: arith.maximumf
// CHECK-NOT: strata.add
func.func @mlp(%x: tensor<2x4xf32>, %w: tensor<4x3xf32>, %bias: tensor<3xf32>) -> tensor<2x3xf32> {
  %mm = strata.matmul %x, %w : tensor<2x4xf32>, tensor<4x3xf32> -> tensor<2x3xf32>
  %bb = strata.broadcast %bias dims = [0] : tensor<3xf32> -> tensor<2x3xf32>
  %s = strata.add %mm, %bb : tensor<2x3xf32>
  %r = strata.map(%s) : (tensor<2x3xf32>) -> tensor<2x3xf32> {
  ^bb0(%v: f32):
    %z = arith.constant 0.0 : f32
    %m = arith.maximumf %v, %z : f32
    strata.yield %m : f32
  }
  return %r : tensor<2x3xf32>
}
