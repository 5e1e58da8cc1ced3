// Every runner error of tools.md: one line, FILE:LINE:COL where a location
// is known, non-zero exit, no panic.
// RUN: not strata-run %t.missing.mlir 2>&1 | FileCheck %s --check-prefix=MISSING
// RUN: not strata-run %S/Inputs/parse-error.mlir 2>&1 | FileCheck %s --check-prefix=PARSE
// RUN: not strata-run %S/Inputs/verify-error.mlir 2>&1 | FileCheck %s --check-prefix=VERIFY
// RUN: not strata-run %s --input=3xf32=1 2>&1 | FileCheck %s --check-prefix=COUNT
// RUN: not strata-run %s --input=4xf32=1 --input=2xi32=1 2>&1 | FileCheck %s --check-prefix=SHAPE
// RUN: not strata-run %s --input=3xf64=1 --input=2xi32=1 2>&1 | FileCheck %s --check-prefix=TYPE
// RUN: not strata-run %s --input=3xf32=1,2 --input=2xi32=1 2>&1 | FileCheck %s --check-prefix=VALUES
// RUN: not strata-run %s --input=3xf32=1,x,3 --input=2xi32=1 2>&1 | FileCheck %s --check-prefix=VALUE
// RUN: echo not-a-numpy-file > %t.bad.npy
// RUN: not strata-run %s --input=@%t.bad.npy --input=2xi32=1 2>&1 | FileCheck %s --check-prefix=BADNPY
// RUN: not strata-run %s --input=@%t.absent.npy --input=2xi32=1 2>&1 | FileCheck %s --check-prefix=NONPY
// RUN: strata-run %s --input=3xf32=1 --input=2xi32=1 --output=@%t.a.npy --output=@%t.b.npy
// RUN: not strata-run %s --input=@%t.b.npy --input=2xi32=1 2>&1 | FileCheck %s --check-prefix=NPYTYPE
// RUN: not strata-run %s -e nope 2>&1 | FileCheck %s --check-prefix=NOFUNC
// RUN: not strata-run %s -e relu --input=3xf32=1 --pass-pipeline='builtin.module(strata-lower-to-llvm)' 2>&1 | FileCheck %s --check-prefix=PIPELINE
// RUN: not strata-run %s --input=3xf32=1 --input=2xi32=1 --pass-pipeline='builtin.module(canonicalize)' 2>&1 | FileCheck %s --check-prefix=JIT
// RUN: not strata-run %s --input=3xf32=1 --input=2xi32=1 --output=@%t.a.npy 2>&1 | FileCheck %s --check-prefix=OUTPUTS
// RUN: not strata-run %s --input=3xf32=1 --input=2xi32=1 --threads=0 2>&1 | FileCheck %s --check-prefix=THREADS
// RUN: not strata-run %s --input=3xf32=1 --input=2xi32=1 --strata-pipeline=O5 2>&1 | FileCheck %s --check-prefix=LEVEL
// RUN: not strata-run %s 2>&1 | FileCheck %s --check-prefix=NOPANIC

// JIT: errors.mlir:[[@LINE+1]]:1: error: JIT compilation failed: cannot be converted to LLVM IR
func.func @main(%a: tensor<3xf32>, %b: tensor<2xi32>) -> (tensor<3xf32>, tensor<2xi32>) {
  %0 = strata.exp %a : tensor<3xf32>
  %1 = strata.neg %b : tensor<2xi32>
  return %0, %1 : tensor<3xf32>, tensor<2xi32>
}

// A pass that fails is named, at the op it failed on.
func.func @relu(%a: tensor<3xf32>) -> tensor<3xf32> {
  %r = strata.map(%a) : (tensor<3xf32>) -> tensor<3xf32> {
  ^bb0(%x: f32):
    %z = arith.constant 0.0 : f32
    // PIPELINE: errors.mlir:[[@LINE+1]]:10: error: pass 'convert-to-llvm' failed: 'llvm.intr.maximum' op is not allowed in a 'strata.map' body
    %m = arith.maximumf %x, %z : f32
    strata.yield %m : f32
  }
  return %r : tensor<3xf32>
}

// MISSING: strata-run: error: cannot read input file '{{.*}}missing.mlir': No such file or directory
// PARSE: parse-error.mlir:3:10: error: use of undeclared SSA value name
// VERIFY: verify-error.mlir:3:8: error: 'strata.matmul' op contracting dimensions differ: lhs has K=4, rhs has K=5
// COUNT: strata-run: error: 'main' takes 2 argument(s) but 1 --input given
// SHAPE: strata-run: error: --input #1 ('4xf32=1'): the value is 4xf32, but the parameter is tensor<3xf32>
// TYPE: strata-run: error: --input #1 ('3xf64=1'): the value is 3xf64, but the parameter is tensor<3xf32>
// VALUES: strata-run: error: --input #1 ('3xf32=1,2'): 2 values given for 3 elements
// VALUE: strata-run: error: --input #1 ('3xf32=1,x,3'): 'x' is not a valid f32 value
// BADNPY: strata-run: error: --input #1 ('@{{.*}}bad.npy'): '{{.*}}bad.npy' is not a valid .npy file
// NONPY: strata-run: error: --input #1 ('@{{.*}}absent.npy'): cannot read '{{.*}}absent.npy'
// NPYTYPE: strata-run: error: --input #1 ('@{{.*}}b.npy'): '{{.*}}b.npy' holds {{.*}}, but the parameter's element type is f32
// NOFUNC: strata-run: error: no function named 'nope' in the module
// OUTPUTS: strata-run: error: 1 --output given but 'main' has 2 result(s) to write
// THREADS: strata-run: error: --threads must be at least 1
// LEVEL: strata-run: error: unknown pipeline level 'O5': expected O0, O1, O2 or O3
// NOPANIC-NOT: panicked
// NOPANIC: error:
