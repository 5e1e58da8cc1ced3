// Verifier rules of strata.parallel_for's reductions (parallel-reduce.mlir).
func.func @bad_kind(%n: index) -> f32 {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %z = arith.constant 0.0 : f32
  // expected-error@+1 {{'strata.parallel_for' op reduction #0 has kind 'avg': expected add, mul, max or min}}
  %r = strata.parallel_for %i = %c0 to %n step %c1 reduce("avg" %z : f32) {
    strata.yield %z : f32
  }
  return %r : f32
}

// -----

func.func @bad_type(%n: index, %z: f16) -> f16 {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  // expected-error@+1 {{'strata.parallel_for' op reduction #0 is of type 'f16': expected f32, f64, i32, i64 or index}}
  %r = strata.parallel_for %i = %c0 to %n step %c1 reduce("add" %z : f16) {
    strata.yield %z : f16
  }
  return %r : f16
}

// -----

func.func @missing_value(%n: index) -> f32 {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %z = arith.constant 0.0 : f32
  %r = strata.parallel_for %i = %c0 to %n step %c1 reduce("add" %z : f32) {
    // expected-error@+1 {{'strata.yield' op in 'strata.parallel_for' must yield one value per reduction (1), found 0}}
    strata.yield
  }
  return %r : f32
}

// -----

func.func @wrong_value_type(%n: index, %v: f64) -> f32 {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %z = arith.constant 0.0 : f32
  %r = strata.parallel_for %i = %c0 to %n step %c1 reduce("add" %z : f32) {
    // expected-error@+1 {{'strata.yield' op value #0 is of type 'f64', but reduction #0 is of type 'f32'}}
    strata.yield %v : f64
  }
  return %r : f32
}

// -----

func.func @kinds_without_inits(%n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  // expected-error@+1 {{'strata.parallel_for' op has 0 reduction init value(s) but 1 reduction kind(s)}}
  "strata.parallel_for"(%c0, %n, %c1) ({
  ^bb0(%i: index):
    "strata.yield"() : () -> ()
  }) {kinds = ["add"]} : (index, index, index) -> ()
  return
}

// -----

func.func @result_type(%n: index) -> i32 {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %z = arith.constant 0.0 : f32
  // expected-error@+1 {{'strata.parallel_for' op result #0 is of type 'i32', but its init value is of type 'f32'}}
  %r = "strata.parallel_for"(%c0, %n, %c1, %z) ({
  ^bb0(%i: index):
    "strata.yield"(%z) : (f32) -> ()
  }) {kinds = ["add"]} : (index, index, index, f32) -> i32
  return %r : i32
}
