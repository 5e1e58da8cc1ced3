// Kernels written from dialect.md alone, in MLIR's generic form: they parse,
// verify, print in custom form, and survive a trip through the generic form
// unchanged.
// RUN: strata-opt %s | FileCheck %s --check-prefix=CUSTOM
// RUN: strata-opt %s > %t.custom
// RUN: strata-opt %s --mlir-print-op-generic | strata-opt > %t.round
// RUN: diff %t.custom %t.round
// RUN: strata-opt %s --mlir-print-op-generic > %t.g1
// RUN: strata-opt %t.g1 --mlir-print-op-generic > %t.g2
// RUN: diff %t.g1 %t.g2
// RUN: FileCheck %s --check-prefix=GENERIC < %t.g1
// The spec's own examples, too.
// RUN: strata-opt %examples/mlp.mlir > %t.mlp
// RUN: strata-opt %examples/mlp.mlir --mlir-print-op-generic | strata-opt | diff %t.mlp -

func.func @all(%a: tensor<4x3xf32>, %b: tensor<3x5xf32>, %ba: tensor<2x4x3xi64>, %bb: tensor<2x3x6xi64>,
               %s: f64, %v: tensor<2x3x4x5xi32>, %z: tensor<f32>) {
  // CUSTOM: strata.matmul %{{.*}}, %{{.*}} : tensor<4x3xf32>, tensor<3x5xf32> -> tensor<4x5xf32>
  // GENERIC: "strata.matmul"(%{{.*}}, %{{.*}}) : (tensor<4x3xf32>, tensor<3x5xf32>) -> tensor<4x5xf32>
  %0 = "strata.matmul"(%a, %b) : (tensor<4x3xf32>, tensor<3x5xf32>) -> tensor<4x5xf32>
  // CUSTOM: strata.matmul {{.*}} -> tensor<2x4x6xi64>
  %1 = "strata.matmul"(%ba, %bb) : (tensor<2x4x3xi64>, tensor<2x3x6xi64>) -> tensor<2x4x6xi64>
  // CUSTOM: strata.add %{{.*}} : tensor<4x5xf32>
  // GENERIC: "strata.add"
  %2 = "strata.add"(%0, %0) : (tensor<4x5xf32>, tensor<4x5xf32>) -> tensor<4x5xf32>
  // CUSTOM: strata.sub
  %3 = "strata.sub"(%v, %v) : (tensor<2x3x4x5xi32>, tensor<2x3x4x5xi32>) -> tensor<2x3x4x5xi32>
  // CUSTOM: strata.mul
  %4 = "strata.mul"(%z, %z) : (tensor<f32>, tensor<f32>) -> tensor<f32>
  // CUSTOM: strata.div
  %5 = "strata.div"(%v, %v) : (tensor<2x3x4x5xi32>, tensor<2x3x4x5xi32>) -> tensor<2x3x4x5xi32>
  // CUSTOM: strata.max
  %6 = "strata.max"(%2, %2) : (tensor<4x5xf32>, tensor<4x5xf32>) -> tensor<4x5xf32>
  // CUSTOM: strata.min
  %7 = "strata.min"(%1, %1) : (tensor<2x4x6xi64>, tensor<2x4x6xi64>) -> tensor<2x4x6xi64>
  // CUSTOM: strata.neg %{{.*}} : tensor<2x3x4x5xi32>
  %8 = "strata.neg"(%v) : (tensor<2x3x4x5xi32>) -> tensor<2x3x4x5xi32>
  // CUSTOM: strata.exp
  %9 = "strata.exp"(%z) : (tensor<f32>) -> tensor<f32>
  // CUSTOM: strata.log
  %10 = "strata.log"(%2) : (tensor<4x5xf32>) -> tensor<4x5xf32>
  // CUSTOM: strata.sqrt
  %11 = "strata.sqrt"(%2) : (tensor<4x5xf32>) -> tensor<4x5xf32>
  // CUSTOM: strata.tanh
  %12 = "strata.tanh"(%2) : (tensor<4x5xf32>) -> tensor<4x5xf32>
  // CUSTOM: strata.fill %{{.*}} : f64 -> tensor<3x3xf64>
  %13 = "strata.fill"(%s) : (f64) -> tensor<3x3xf64>
  // CUSTOM: strata.map(%{{.*}}) : (tensor<3x3xf64>) -> tensor<3x3xf64>
  // CUSTOM: strata.index 0
  // GENERIC: "strata.index"() <{dim = 0 : i64}> : () -> index
  %14 = "strata.map"(%13) ({
  ^bb0(%e: f64):
    %i = "strata.index"() {dim = 0 : i64} : () -> index
    %ii = arith.index_cast %i : index to i64
    %f = arith.sitofp %ii : i64 to f64
    %r = arith.addf %e, %f : f64
    "strata.yield"(%r) : (f64) -> ()
  }) : (tensor<3x3xf64>) -> tensor<3x3xf64>
  // CUSTOM: strata.broadcast %{{.*}} dims = [0, 2] : tensor<3x5xf32> -> tensor<7x3x2x5xf32>
  %15 = "strata.broadcast"(%b) {dims = array<i64: 0, 2>} : (tensor<3x5xf32>) -> tensor<7x3x2x5xf32>
  // CUSTOM: strata.transpose %{{.*}} permutation = [3, 1, 0, 2] : tensor<2x3x4x5xi32> -> tensor<5x3x2x4xi32>
  %16 = "strata.transpose"(%v) {permutation = array<i64: 3, 1, 0, 2>} : (tensor<2x3x4x5xi32>) -> tensor<5x3x2x4xi32>
  // CUSTOM: strata.reduce "min" %{{.*}} dims = [0, 2] : tensor<2x3x4x5xi32> -> tensor<3x5xi32>
  // GENERIC: "strata.reduce"(%{{.*}}) <{dims = array<i64: 0, 2>, kind = "min"}>
  %17 = "strata.reduce"(%v) {dims = array<i64: 0, 2>, kind = "min"} : (tensor<2x3x4x5xi32>) -> tensor<3x5xi32>
  // CUSTOM: strata.reduce "mul" %{{.*}} dims = [0] : tensor<4x5xf32> -> tensor<5xf32>
  %18 = "strata.reduce"(%2) {dims = array<i64: 0>, kind = "mul"} : (tensor<4x5xf32>) -> tensor<5xf32>
  return
}

func.func @scale(%buf: memref<1000xf64>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %n = arith.constant 1000 : index
  // CUSTOM: strata.parallel_for %{{.*}} = %{{.*}} to %{{.*}} step %{{.*}} grain 64 {
  // GENERIC: "strata.parallel_for"(%{{.*}}, %{{.*}}, %{{.*}}) <{grain = 64 : i64}> ({
  // GENERIC: "strata.yield"() : () -> ()
  "strata.parallel_for"(%c0, %n, %c1) ({
  ^bb0(%i: index):
    %v = memref.load %buf[%i] : memref<1000xf64>
    %w = arith.addf %v, %v : f64
    memref.store %w, %buf[%i] : memref<1000xf64>
    "strata.yield"() : () -> ()
  }) {grain = 64 : i64} : (index, index, index) -> ()
  // Without grain.
  // CUSTOM: strata.parallel_for %{{.*}} = %{{.*}} to %{{.*}} step %{{.*}} {
  "strata.parallel_for"(%c0, %n, %c1) ({
  ^bb0(%i: index):
    "strata.yield"() : () -> ()
  }) : (index, index, index) -> ()
  return
}
