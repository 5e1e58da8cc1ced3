// The printing flags: generic form, debug info, -o, standard input.
// RUN: strata-opt %s --mlir-print-op-generic | FileCheck %s --check-prefix=GENERIC
// RUN: strata-opt %s --mlir-print-debuginfo | FileCheck %s --check-prefix=DEBUG
// RUN: strata-opt %s -o %t && FileCheck %s --check-prefix=CUSTOM < %t
// RUN: strata-opt < %s | FileCheck %s --check-prefix=CUSTOM
// RUN: strata-opt - < %s | FileCheck %s --check-prefix=CUSTOM
// RUN: strata-opt %s --mlir-print-local-scope | FileCheck %s --check-prefix=CUSTOM

// GENERIC: "strata.transpose"(%{{.*}}) <{permutation = array<i64: 1, 0>}> : (tensor<2x3xf32>) -> tensor<3x2xf32>
// DEBUG: strata.transpose {{.*}} loc([[LOC:.*]])
// DEBUG: [[LOC]] = loc("{{.*}}print-flags.mlir":[[@LINE+3]]:8)
// CUSTOM: strata.transpose %{{.*}} permutation = [1, 0] : tensor<2x3xf32> -> tensor<3x2xf32>
func.func @t(%a: tensor<2x3xf32>) -> tensor<3x2xf32> {
  %0 = "strata.transpose"(%a) {permutation = array<i64: 1, 0>} : (tensor<2x3xf32>) -> tensor<3x2xf32>
  return %0 : tensor<3x2xf32>
}
