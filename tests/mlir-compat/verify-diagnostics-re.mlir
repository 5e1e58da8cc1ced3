// -verify-diagnostics as mlir-opt reads it: `expected-*-re` with regular
// expressions in `{{...}}` blocks (the rest literal), every designator, and
// `=only-expected`. Both tools agree on this file.
// RUN: strata-opt %s -split-input-file -verify-diagnostics
// RUN: mlir-opt %s -split-input-file -verify-diagnostics
// A regular expression that does not match fails, as in mlir-opt:
// RUN: not strata-opt %S/Inputs/re-mismatch.mlir -verify-diagnostics 2>&1 | FileCheck %s --check-prefix=MISMATCH
// RUN: not mlir-opt %S/Inputs/re-mismatch.mlir -verify-diagnostics 2>&1 | FileCheck %s --check-prefix=MISMATCH
// only-expected: a diagnostic no comment names (here a note) is no failure.
// RUN: not strata-opt %S/Inputs/only-expected.mlir -verify-diagnostics 2>&1 | FileCheck %s --check-prefix=ALL
// RUN: strata-opt %S/Inputs/only-expected.mlir -verify-diagnostics=only-expected
// RUN: mlir-opt %S/Inputs/only-expected.mlir -verify-diagnostics=only-expected
// MISMATCH: expected error "{{.*}}" was not produced
// ALL: error: unexpected note: prior use here

func.func @f() -> i32 {
  // expected-error-re@+1 {{'func.return' op has 0 operands, but enclosing function (@{{[a-z]+}}) returns {{[0-9]+}}}}
  return
}

// -----

// expected-note-re@below {{prior use here}}
func.func @g(%a: i32) {
  // expected-error-re@+1 {{use of value '%a' expects different type than prior uses: 'i{{(64|16)}}' vs 'i32'}}
  %b = arith.addi %a, %a : i64
  return
}

// -----

func.func @h() {
  %c = arith.constant 1 : i32
  // expected-error-re@below {{'arith.addi' op requires the {{[a-z]+}} type for all operands and results}}
  %d = "arith.addi"(%c, %c) : (i32, i32) -> i64
  return
}
