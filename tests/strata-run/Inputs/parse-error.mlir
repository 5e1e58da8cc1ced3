// Not a test: input for errors.mlir (strata-opt and strata-run).
func.func @f() -> f32 {
  return %undefined : f32
}
