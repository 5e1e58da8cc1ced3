// An MLP layer (matmul + bias + relu), a row sum, and an in-place parallel
// scale: the examples of shared/spec/dialect.md, in MLIR's generic form.
//   strata-opt examples/mlp.mlir            prints them in custom form
//   strata-opt examples/mlp.mlir --mlir-print-op-generic

func.func @main(%a: tensor<64x32xf32>, %b: tensor<32x48xf32>, %bias: tensor<48xf32>) -> tensor<64x48xf32> {
  %mm = "strata.matmul"(%a, %b) : (tensor<64x32xf32>, tensor<32x48xf32>) -> tensor<64x48xf32>
  %bb = "strata.broadcast"(%bias) {dims = array<i64: 0>} : (tensor<48xf32>) -> tensor<64x48xf32>
  %s = "strata.add"(%mm, %bb) : (tensor<64x48xf32>, tensor<64x48xf32>) -> tensor<64x48xf32>
  %r = "strata.map"(%s) ({
  ^bb0(%x: f32):
    %z = arith.constant 0.0 : f32
    %m = arith.maximumf %x, %z : f32
    "strata.yield"(%m) : (f32) -> ()
  }) : (tensor<64x48xf32>) -> tensor<64x48xf32>
  return %r : tensor<64x48xf32>
}

func.func @rowsum(%x: tensor<37x129xf32>) -> tensor<37xf32> {
  %r = "strata.reduce"(%x) {dims = array<i64: 1>, kind = "add"} : (tensor<37x129xf32>) -> tensor<37xf32>
  return %r : tensor<37xf32>
}

func.func @scale(%buf: memref<1000xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %n = arith.constant 1000 : index
  "strata.parallel_for"(%c0, %n, %c1) ({
  ^bb0(%i: index):
    %v = memref.load %buf[%i] : memref<1000xf32>
    %two = arith.constant 2.0 : f32
    %w = arith.mulf %v, %two : f32
    memref.store %w, %buf[%i] : memref<1000xf32>
    "strata.yield"() : () -> ()
  }) {grain = 64 : i64} : (index, index, index) -> ()
  return
}
