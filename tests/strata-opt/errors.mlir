// Errors are `FILE:LINE:COL: error: MESSAGE`, with a non-zero exit, and
// never a panic or a backtrace.
// RUN: not strata-opt %s 2>&1 | FileCheck %s --check-prefix=VERIFY
// RUN: not strata-opt %S/Inputs/parse-error.mlir 2>&1 | FileCheck %s --check-prefix=PARSE
// RUN: not strata-opt %t.does-not-exist 2>&1 | FileCheck %s --check-prefix=MISSING
// RUN: not strata-opt %s --pass-pipeline='builtin.module(no-such-pass)' 2>&1 | FileCheck %s --check-prefix=UNKNOWN
// RUN: not strata-opt %s --strata-tile='tile-size=4' 2>&1 | FileCheck %s --check-prefix=OPTION
// RUN: not strata-opt %s --pass-pipeline='builtin.module(cse' 2>&1 | FileCheck %s --check-prefix=SYNTAX
// RUN: not strata-opt %s --pass-pipeline='func.func(cse)' 2>&1 | FileCheck %s --check-prefix=ANCHOR
// RUN: not strata-opt %s --strata-pipeline=O9 2>&1 | FileCheck %s --check-prefix=LEVEL
// RUN: not strata-opt %s --cse --pass-pipeline='builtin.module(cse)' 2>&1 | FileCheck %s --check-prefix=TWICE
// RUN: not strata-opt %s -o %t.missing-dir/out.mlir --allow-unregistered-dialect 2>&1 | FileCheck %s --check-prefix=VERIFY
// RUN: not strata-opt %s 2>&1 | FileCheck %s --check-prefix=NOPANIC

func.func @f(%a: tensor<64x32xf32>, %b: tensor<31x48xf32>) -> tensor<64x48xf32> {
  // VERIFY: errors.mlir:[[@LINE+3]]:9: error: 'strata.matmul' op contracting dimensions differ: lhs has K=32, rhs has K=31
  // VERIFY-NEXT: %mm = "strata.matmul"
  // VERIFY-NEXT: {{^        \^$}}
  %mm = "strata.matmul"(%a, %b) : (tensor<64x32xf32>, tensor<31x48xf32>) -> tensor<64x48xf32>
  return %mm : tensor<64x48xf32>
}

// PARSE: parse-error.mlir:3:10: error: use of undeclared SSA value name
// MISSING: strata-opt: error: cannot read input file '{{.*}}does-not-exist': No such file or directory
// UNKNOWN: strata-opt: error: invalid pass pipeline 'no-such-pass': 'no-such-pass' does not refer to a registered pass or pass pipeline
// OPTION: strata-opt: error: pass 'strata-tile' has no option 'tile-size' (options: tile-sizes)
// SYNTAX: strata-opt: error: expected ',' or ')'
// ANCHOR: strata-opt: error: the pipeline is anchored on 'func.func' but runs on 'builtin.module'
// LEVEL: strata-opt: error: unknown pipeline level 'O9': expected O0, O1, O2 or O3
// TWICE: strata-opt: error: give the pipeline one way only
// NOPANIC-NOT: panicked
// NOPANIC-NOT: RUST_BACKTRACE
