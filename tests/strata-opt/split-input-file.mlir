// Chunks are processed on their own, printed with `// -----` between them,
// and report lines of the whole file. One bad chunk fails the run but the
// others still print.
// RUN: not strata-opt %s --split-input-file 2>%t.err | FileCheck %s
// RUN: FileCheck %s --check-prefix=ERR < %t.err
// RUN: not strata-opt %s 2>&1 | FileCheck %s --check-prefix=WHOLE

// CHECK-LABEL: func.func @first
// CHECK: strata.neg
// CHECK: // -----
// CHECK-LABEL: func.func @third
// CHECK-NOT: @second
func.func @first(%a: tensor<3xf32>) -> tensor<3xf32> {
  %0 = strata.neg %a : tensor<3xf32>
  return %0 : tensor<3xf32>
}

// -----

func.func @second(%a: tensor<3xf32>) -> tensor<3xf32> {
  // ERR: split-input-file.mlir:[[@LINE+1]]:8: error: 'strata.exp' op result type
  %0 = "strata.exp"(%a) : (tensor<3xf32>) -> tensor<4xf32>
  return %a : tensor<3xf32>
}

// -----

func.func @third(%a: tensor<2xi64>) -> tensor<2xi64> {
  %0 = strata.add %a, %a : tensor<2xi64>
  return %0 : tensor<2xi64>
}

// Without the flag the whole file is one module, and it fails at the same line.
// WHOLE: split-input-file.mlir:22:8: error: 'strata.exp' op result type
