// The optimization passes whose rewrites have not landed yet are the
// identity meanwhile (correct, not yet fast), and say so in --list-passes.
// RUN: strata-opt %s --strata-tile=tile-sizes=8,8 | FileCheck %s
// RUN: strata-opt --list-passes | FileCheck %s --check-prefix=LIST

// CHECK: strata.matmul
// CHECK-NEXT: strata.exp
func.func @mm(%a: tensor<4x4xf32>) -> tensor<4x4xf32> {
  %0 = strata.matmul %a, %a : tensor<4x4xf32>, tensor<4x4xf32> -> tensor<4x4xf32>
  %1 = strata.exp %0 : tensor<4x4xf32>
  return %1 : tensor<4x4xf32>
}

// LIST: --strata-tile {{.*}}[planned: not implemented yet]
