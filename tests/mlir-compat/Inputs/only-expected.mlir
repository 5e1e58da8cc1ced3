// The error is expected; the note that comes with it is not.
func.func @g(%a: i32) {
  // expected-error-re@+1 {{use of value '%a' expects different type than prior uses: 'i{{[0-9]+}}' vs 'i32'}}
  %b = arith.addi %a, %a : i64
  return
}
