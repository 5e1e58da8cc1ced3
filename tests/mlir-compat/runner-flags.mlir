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

// LLVM's own options reach LLVM: the matrix intrinsic lowers with
// -enable-matrix; without it LLVM's code generation gives up, which is an
// error and exit 1, never an abort.
// RUN: strata-opt %S/Inputs/flat-transpose.mlir -test-lower-to-llvm -o %t.matrix.mlir
// RUN: strata-run %t.matrix.mlir -e entry -entry-point-result=void -enable-matrix -shared-libs=%mlir_c_runner_utils | FileCheck %s --check-prefix=MATRIX
// RUN: not strata-run %t.matrix.mlir -e entry -entry-point-result=void -shared-libs=%mlir_c_runner_utils 2>&1 | FileCheck %s --check-prefix=NOMATRIX
// MATRIX: ( 1, 3, 5, 2, 4, 6 )
// NOMATRIX: error: LLVM cannot compile this: Do not know how to widen
