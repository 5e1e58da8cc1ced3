// The expansion of a math op is defined in the module nearest it, where its
// call resolves, also in a nested module.
// RUN: strata-opt %s --strata-target=x86-64 --strata-vectorize | FileCheck %s
// CHECK: module @inner {
// CHECK: func.func @f(
// CHECK: call @__strata_exp_f32(
// CHECK: func.func private @__strata_exp_f32(
// CHECK: }
// CHECK: func.func @g(
// CHECK: call @__strata_exp_f32(
// CHECK: func.func private @__strata_exp_f32(
module @outer {
  module @inner {
    func.func @f(%x: f32) -> f32 {
      %e = math.exp %x : f32
      return %e : f32
    }
  }
  func.func @g(%x: f32) -> f32 {
    %e = math.exp %x : f32
    return %e : f32
  }
}
