// Not a test: input for errors.mlir.
func.func @f() -> f32 {
  return %undefined : f32
}
