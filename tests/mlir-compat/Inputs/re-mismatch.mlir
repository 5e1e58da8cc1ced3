// An expectation whose regular expression does not match the message.
func.func @f() -> i32 {
  // expected-error-re@+1 {{has {{[0-9]+}} results}}
  return
}

// -----

// Expected, and produced: fine under only-expected as under all.
func.func @g() -> i32 {
  // expected-error-re@+1 {{has {{[0-9]+}} operands}}
  return
}
