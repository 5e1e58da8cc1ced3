// mlir-runner's own flags and conventions, as its tests use them: the
// object file, --no-implicit-module, LLVM's options (mlir-runner is an
// LLVM tool: any option of LLVM's is taken), `%e` floats, and its error
// wording for entry points.
// RUN: cp %s %t.mlir
// RUN: rm -f %t.mlir.o %t.obj
// RUN: strata-run %t.mlir -e entry -entry-point-result=f32 -dump-object-file | FileCheck %s
// RUN: ls %t.mlir.o
// RUN: strata-run %s -e entry -entry-point-result=f32 -dump-object-file -object-filename=%t.obj | FileCheck %s
// RUN: ls %t.obj
// RUN: strata-run %s -e entry -entry-point-result=f32 -enable-matrix -matrix-default-layout=column-major | FileCheck %s
// RUN: mlir-runner %s -e entry -entry-point-result=f32 -enable-matrix -matrix-default-layout=column-major | FileCheck %s
// RUN: not strata-run %s -e entry -entry-point-result=f32 -matrix-default-layout=diagonal 2>&1 | FileCheck %s --check-prefix=BADVALUE
// RUN: not strata-run %S/Inputs/no-module.mlir -e main -entry-point-result=void --no-implicit-module 2>&1 | FileCheck %s --check-prefix=NOMODULE
// RUN: not mlir-runner %S/Inputs/no-module.mlir -e main -entry-point-result=void --no-implicit-module 2>&1 | FileCheck %s --check-prefix=NOMODULE
// RUN: strata-run %s -e entry -entry-point-result=f32 --no-implicit-module | FileCheck %s
// RUN: not strata-run %s -e declared -entry-point-result=void 2>&1 | FileCheck %s --check-prefix=DECLARED
// RUN: not mlir-runner %s -e declared -entry-point-result=void 2>&1 | FileCheck %s --check-prefix=DECLARED
// RUN: not strata-run %s -e entry -entry-point-result=void 2>&1 | FileCheck %s --check-prefix=NOTVOID
// RUN: not mlir-runner %s -e entry -entry-point-result=void 2>&1 | FileCheck %s --check-prefix=NOTVOID

// CHECK: -4.250000e+02
// BADVALUE: Cannot find option named 'diagonal'
// BADVALUE: error: LLVM refused an option
// NOMODULE: Error: top-level op must be a symbol table.
// DECLARED: Error: entry point not found
// NOTVOID: Error: expected void function

module {
  llvm.func @declared()
  llvm.func @entry() -> f32 {
    %0 = llvm.mlir.constant(-4.250000e+02 : f32) : f32
    llvm.return %0 : f32
  }
}
