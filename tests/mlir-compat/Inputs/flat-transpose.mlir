// A 2x3 matrix transposed through LLVM's matrix intrinsic, which LLVM lowers
// only with -enable-matrix (without it, its code generation gives up).
func.func @entry() {
  %a = arith.constant dense<[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]> : vector<6xf32>
  %t = llvm.intr.matrix.transpose %a {rows = 2 : i32, columns = 3 : i32} : vector<6xf32> into vector<6xf32>
  vector.print %t : vector<6xf32>
  return
}
