// A racy kernel for races.mlir: every iteration writes element 3.
func.func @racy(%buf: memref<8xf32>, %v: f32) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c3 = arith.constant 3 : index
  %c8 = arith.constant 8 : index
  strata.parallel_for %i = %c0 to %c8 step %c1 {
    memref.store %v, %buf[%c3] : memref<8xf32>
  }
  return
}
