// Not a test: input for verify-diagnostics.mlir.
func.func @f(%a: tensor<4xf32>) {
  // expected-error@below {{result type 'tensor<5xf32>' differs}}
  %0 = "strata.neg"(%a) : (tensor<4xf32>) -> tensor<5xf32>
  return
}

// -----

func.func @g() {
  %0 = "strata.map"() ({
    // expected-error@+1 {{'strata.index' op dim 1 is out of range}}
    %i = "strata.index"() {dim = 1 : i64} : () -> index
    %c = arith.constant 1 : i32
    "strata.yield"(%c) : (i32) -> ()
  }) : () -> tensor<3xi32>
  return
}

// -----

// A chunk without errors is fine too.
func.func @h() {
  return
}
