// strata-opt and strata-run take the command lines of mlir-opt and
// mlir-runner: one dash or two, `-flag=value` and `-flag value`, the
// program piped from one into the other, `-e`, `-O0`..`-O3`.
// The pipeline as upstream's integration tests spell it:
// RUN: strata-opt %s -pass-pipeline="builtin.module(func.func(convert-vector-to-scf,lower-affine,convert-scf-to-cf),convert-vector-to-llvm,finalize-memref-to-llvm,convert-func-to-llvm,convert-arith-to-llvm,convert-cf-to-llvm,reconcile-unrealized-casts)" \
// RUN: | strata-run -e entry -entry-point-result=void -shared-libs=%mlir_c_runner_utils | FileCheck %s
// Passes as single-dash flags, and each option spelling:
// RUN: strata-opt %s -convert-vector-to-scf -lower-affine -convert-scf-to-cf -convert-vector-to-llvm -finalize-memref-to-llvm -convert-func-to-llvm -convert-arith-to-llvm -convert-cf-to-llvm -reconcile-unrealized-casts -o %t.ll.mlir
// RUN: strata-run %t.ll.mlir -e entry -entry-point-result=void -shared-libs=%mlir_c_runner_utils | FileCheck %s
// RUN: strata-run %t.ll.mlir --e=entry --entry-point-result void --shared-libs %mlir_c_runner_utils -O0 | FileCheck %s
// RUN: strata-run -e entry -entry-point-result=void --O2 -shared-libs=%mlir_c_runner_utils - < %t.ll.mlir | FileCheck %s
// RUN: strata-run -e entry -entry-point-result=void -O1 -shared-libs=%mlir_c_runner_utils < %t.ll.mlir | FileCheck %s
// The same output as mlir-runner's own:
// RUN: mlir-runner %t.ll.mlir -e entry -entry-point-result=void -shared-libs=%mlir_c_runner_utils > %t.expected
// RUN: strata-run %t.ll.mlir -e entry -entry-point-result=void -shared-libs=%mlir_c_runner_utils > %t.got
// RUN: diff %t.expected %t.got
// strata-opt reads standard input without a file name, and `-` too; an
// upstream-only pipeline leaves the module as mlir-opt does (no target).
// RUN: strata-opt -lower-affine < %s | FileCheck %s --check-prefix=IR
// RUN: cat %s | strata-opt - -lower-affine -mlir-print-op-generic | FileCheck %s --check-prefix=GENERIC
// A mistyped option is still an error, in either spelling.
// RUN: not strata-run %t.ll.mlir -e entry -entry-point-reslt=void 2>&1 | FileCheck %s --check-prefix=BAD
// RUN: not strata-opt %s -no-such-pass 2>&1 | FileCheck %s --check-prefix=BADPASS

// CHECK: ( 1, 2.5, -3 )
// CHECK-NEXT: 42
// CHECK-NOT: {{.}}

// IR: module {
// IR-NOT: strata.target
// IR: func.func @entry()
// GENERIC: "func.func"()

// BAD: error: unknown option '--entry-point-reslt=void': neither strata-run nor LLVM has it
// BADPASS: error: {{.*}}no-such-pass

func.func @entry() {
  %v = arith.constant dense<[1.0, 2.5, -3.0]> : vector<3xf32>
  vector.print %v : vector<3xf32>
  %c = arith.constant 42 : i64
  vector.print %c : i64
  return
}
