// --verify-each (mlir-opt's flag, default true): with false the IR is
// verified once, after the whole pipeline, instead of after every pass.
// RUN: strata-opt %s --strata-pipeline=O3 --verify-each=false | FileCheck %s
// RUN: strata-opt %s --strata-pipeline=O3 --verify-each=true | FileCheck %s
// RUN: not strata-opt %s --verify-each=maybe 2>&1 | FileCheck %s --check-prefix=BAD
// CHECK: llvm.func @main(
// BAD: error: invalid value 'maybe' for '--verify-each <BOOL>'
func.func @main(%x: tensor<37xf32>) -> tensor<37xf32> {
  %0 = strata.exp %x : tensor<37xf32>
  %1 = strata.add %0, %x : tensor<37xf32>
  return %1 : tensor<37xf32>
}
