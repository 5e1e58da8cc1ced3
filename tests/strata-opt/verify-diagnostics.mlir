// --verify-diagnostics fails, naming both sides, when expectations and
// diagnostics disagree; and passes when they agree.
// RUN: not strata-opt %s --verify-diagnostics 2>&1 | FileCheck %s
// RUN: strata-opt %S/Inputs/expected-ok.mlir --split-input-file --verify-diagnostics

func.func @f(%a: tensor<4xf32>) {
  // expected-error@+1 {{this text is not in the message}}
  %0 = "strata.neg"(%a) : (tensor<4xf32>) -> tensor<5xf32>
  return
}

// CHECK-DAG: verify-diagnostics.mlir:[[@LINE-4]]:8: error: unexpected error: 'strata.neg' op result type 'tensor<5xf32>' differs from x type 'tensor<4xf32>'
// CHECK-DAG: verify-diagnostics.mlir:[[@LINE-6]]:6: error: expected error "this text is not in the message" was not produced
