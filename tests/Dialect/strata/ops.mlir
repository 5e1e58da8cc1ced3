// Every op in its custom form: parses, verifies, prints the same, and
// prints the same again after a second trip.
// RUN: strata-opt %s | FileCheck %s
// RUN: strata-opt %s | strata-opt | FileCheck %s

// CHECK-LABEL: func.func @matmul
func.func @matmul(%a: tensor<5x3xf32>, %b: tensor<3x7xf32>, %p: tensor<2x5x3xi32>, %q: tensor<2x3x4xi32>)
    -> (tensor<5x7xf32>, tensor<2x5x4xi32>) {
  // CHECK: strata.matmul %{{.*}}, %{{.*}} : tensor<5x3xf32>, tensor<3x7xf32> -> tensor<5x7xf32>
  %0 = strata.matmul %a, %b : tensor<5x3xf32>, tensor<3x7xf32> -> tensor<5x7xf32>
  // CHECK: strata.matmul %{{.*}}, %{{.*}} : tensor<2x5x3xi32>, tensor<2x3x4xi32> -> tensor<2x5x4xi32>
  %1 = strata.matmul %p, %q : tensor<2x5x3xi32>, tensor<2x3x4xi32> -> tensor<2x5x4xi32>
  return %0, %1 : tensor<5x7xf32>, tensor<2x5x4xi32>
}

// CHECK-LABEL: func.func @elementwise
func.func @elementwise(%x: tensor<3x4xf64>, %y: tensor<3x4xf64>, %i: tensor<2x3x4x5xi64>, %s: tensor<i32>) -> tensor<3x4xf64> {
  // CHECK: strata.add %{{.*}}, %{{.*}} : tensor<3x4xf64>
  %0 = strata.add %x, %y : tensor<3x4xf64>
  // CHECK: strata.sub %{{.*}}, %{{.*}} : tensor<3x4xf64>
  %1 = strata.sub %0, %y : tensor<3x4xf64>
  // CHECK: strata.mul %{{.*}}, %{{.*}} : tensor<3x4xf64>
  %2 = strata.mul %1, %y : tensor<3x4xf64>
  // CHECK: strata.div %{{.*}}, %{{.*}} : tensor<3x4xf64>
  %3 = strata.div %2, %y : tensor<3x4xf64>
  // CHECK: strata.max %{{.*}}, %{{.*}} : tensor<3x4xf64>
  %4 = strata.max %3, %y : tensor<3x4xf64>
  // CHECK: strata.min %{{.*}}, %{{.*}} : tensor<3x4xf64>
  %5 = strata.min %4, %y : tensor<3x4xf64>
  // CHECK: strata.neg %{{.*}} : tensor<3x4xf64>
  %6 = strata.neg %5 : tensor<3x4xf64>
  // CHECK: strata.exp %{{.*}} : tensor<3x4xf64>
  %7 = strata.exp %6 : tensor<3x4xf64>
  // CHECK: strata.log %{{.*}} : tensor<3x4xf64>
  %8 = strata.log %7 : tensor<3x4xf64>
  // CHECK: strata.sqrt %{{.*}} : tensor<3x4xf64>
  %9 = strata.sqrt %8 : tensor<3x4xf64>
  // CHECK: strata.tanh %{{.*}} : tensor<3x4xf64>
  %10 = strata.tanh %9 : tensor<3x4xf64>
  // Integer and rank-0 / rank-4 tensors.
  // CHECK: strata.div %{{.*}}, %{{.*}} : tensor<2x3x4x5xi64>
  %11 = strata.div %i, %i : tensor<2x3x4x5xi64>
  // CHECK: strata.neg %{{.*}} : tensor<i32>
  %12 = strata.neg %s : tensor<i32>
  return %10 : tensor<3x4xf64>
}

// CHECK-LABEL: func.func @fill_map_index
func.func @fill_map_index(%v: i64, %x: tensor<4x6xf32>) -> (tensor<4x6xi64>, tensor<4x6xf32>, tensor<8xf64>) {
  // CHECK: strata.fill %{{.*}} : i64 -> tensor<4x6xi64>
  %0 = strata.fill %v : i64 -> tensor<4x6xi64>
  // CHECK: strata.map(%{{.*}}, %{{.*}}) : (tensor<4x6xi64>, tensor<4x6xf32>) -> tensor<4x6xf32> {
  // CHECK-NEXT: ^bb0(%{{.*}}: i64, %{{.*}}: f32):
  // CHECK: strata.index 1
  // CHECK: strata.yield %{{.*}} : f32
  %1 = strata.map(%0, %x) : (tensor<4x6xi64>, tensor<4x6xf32>) -> tensor<4x6xf32> {
  ^bb0(%a: i64, %b: f32):
    %j = strata.index 1
    %ji = arith.index_cast %j : index to i64
    %s = arith.addi %a, %ji : i64
    %f = arith.sitofp %s : i64 to f32
    %r = arith.mulf %f, %b : f32
    strata.yield %r : f32
  }
  // A generator: no operands, an scf.for with a loop-carried value inside.
  // CHECK: strata.map() : () -> tensor<8xf64> {
  // CHECK: scf.for
  %2 = strata.map() : () -> tensor<8xf64> {
    %i = strata.index 0
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %zero = arith.constant 0.0 : f64
    %one = arith.constant 1.0 : f64
    %sum = scf.for %k = %c0 to %i step %c1 iter_args(%acc = %zero) -> (f64) {
      %n = arith.addf %acc, %one : f64
      scf.yield %n : f64
    }
    strata.yield %sum : f64
  }
  return %0, %1, %2 : tensor<4x6xi64>, tensor<4x6xf32>, tensor<8xf64>
}

// CHECK-LABEL: func.func @shape_ops
func.func @shape_ops(%b: tensor<48xf32>, %t: tensor<2x3x4xi32>, %r: tensor<37x129xf64>) -> (tensor<64x48xf32>, tensor<4x2x3xi32>, tensor<37xf64>, tensor<f64>) {
  // CHECK: strata.broadcast %{{.*}} dims = [0] : tensor<48xf32> -> tensor<64x48xf32>
  %0 = strata.broadcast %b dims = [0] : tensor<48xf32> -> tensor<64x48xf32>
  // CHECK: strata.transpose %{{.*}} permutation = [2, 0, 1] : tensor<2x3x4xi32> -> tensor<4x2x3xi32>
  %1 = strata.transpose %t permutation = [2, 0, 1] : tensor<2x3x4xi32> -> tensor<4x2x3xi32>
  // CHECK: strata.reduce "add" %{{.*}} dims = [1] : tensor<37x129xf64> -> tensor<37xf64>
  %2 = strata.reduce "add" %r dims = [1] : tensor<37x129xf64> -> tensor<37xf64>
  // CHECK: strata.reduce "max" %{{.*}} dims = [0, 1] : tensor<37x129xf64> -> tensor<f64>
  %3 = strata.reduce "max" %r dims = [0, 1] : tensor<37x129xf64> -> tensor<f64>
  return %0, %1, %2, %3 : tensor<64x48xf32>, tensor<4x2x3xi32>, tensor<37xf64>, tensor<f64>
}

// CHECK-LABEL: func.func @parallel
func.func @parallel(%buf: memref<10x20xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c10 = arith.constant 10 : index
  %c20 = arith.constant 20 : index
  // CHECK: strata.parallel_for %[[I:.*]] = %{{.*}} to %{{.*}} step %{{.*}} grain 4 {
  // CHECK: strata.parallel_for %[[J:.*]] = %{{.*}} to %{{.*}} step %{{.*}} {
  // CHECK: memref.store %{{.*}}, %{{.*}}[%[[I]], %[[J]]]
  // CHECK-NOT: strata.yield
  // CHECK: return
  strata.parallel_for %i = %c0 to %c10 step %c1 grain 4 {
    strata.parallel_for %j = %c0 to %c20 step %c2 {
      %v = memref.load %buf[%i, %j] : memref<10x20xf32>
      %w = arith.addf %v, %v : f32
      memref.store %w, %buf[%i, %j] : memref<10x20xf32>
    }
  }
  return
}
