// The LLVM-dialect output of strata-opt runs under strata-run, as every
// level does: strata-lower-to-affine records each function's signature as
// `strata.signature`, which survives lowering, and the JIT calls the
// llvm.func by it. Without it, pointers hide the shapes: a clear error.
// RUN: strata-opt %s --strata-pipeline=O3 -o %t.ll.mlir
// RUN: FileCheck %s --check-prefix=RECORDED < %t.ll.mlir
// RUN: strata-run %t.ll.mlir -e fill | FileCheck %s --check-prefix=FILL
// RUN: strata-run %t.ll.mlir -e inplace --input=5xi64=9 | FileCheck %s --check-prefix=MEMREF
// RUN: not strata-run %t.ll.mlir -e inplace 2>&1 | FileCheck %s --check-prefix=NOINPUT
// RUN: strata-run %t.ll.mlir -e scale --input=2x2xf64=1,2,3,4 --input=f64=0.5 | FileCheck %s --check-prefix=SCALE
// RUN: strata-opt %s --strata-pipeline=O0 -o %t.ll0.mlir
// RUN: strata-run %t.ll0.mlir -e fill | FileCheck %s --check-prefix=FILL
// So does every level between: the affine form takes the source's inputs.
// RUN: strata-opt %s --strata-lower-to-affine -o %t.affine.mlir
// RUN: strata-run %t.affine.mlir -e fill | FileCheck %s --check-prefix=FILL
// RUN: strata-run %t.affine.mlir -e scale --input=2x2xf64=1,2,3,4 --input=f64=0.5 | FileCheck %s --check-prefix=SCALE
// RUN: sed -e 's/ attributes {strata.signature = [^}]*}//' %t.ll.mlir > %t.stripped.mlir
// RUN: not strata-run %t.stripped.mlir -e inplace --input=5xi64=9 2>&1 | FileCheck %s --check-prefix=UNKNOWN
// RUN: not strata-run %t.stripped.mlir -e fill 2>&1 | FileCheck %s --check-prefix=UNKNOWN-FILL
// Scalars alone say everything: callable without a recorded signature.
// RUN: strata-run %t.stripped.mlir -e add --input=i32=40 --input=i32=2 | FileCheck %s --check-prefix=ADD

// RECORDED: llvm.func @fill({{.*}}) attributes {strata.signature = () -> tensor<4xf32>}
// FILL: 4xf32=[2.5,2.5,2.5,2.5]
// FILL-NOT: {{.}}
func.func @fill() -> tensor<4xf32> {
  %c = arith.constant 2.5 : f32
  %r = strata.fill %c : f32 -> tensor<4xf32>
  return %r : tensor<4xf32>
}

// MEMREF: 5xi64=[9,10,11,12,13]
// NOINPUT: strata-run: error: 'inplace' takes 1 argument(s) but 0 --input given
// UNKNOWN: strata-run: error: 'inplace' is an LLVM-dialect function without a recorded signature (strata.signature), and its parameters (!llvm.ptr, !llvm.ptr, i64, i64, i64) do not say its buffers' shapes
// UNKNOWN-FILL: strata-run: error: 'fill' is an LLVM-dialect function without a recorded signature
func.func @inplace(%m: memref<5xi64>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c5 = arith.constant 5 : index
  strata.parallel_for %i = %c0 to %c5 step %c1 {
    %v = arith.index_cast %i : index to i64
    %old = memref.load %m[%i] : memref<5xi64>
    %w = arith.addi %v, %old : i64
    memref.store %w, %m[%i] : memref<5xi64>
  }
  return
}

// SCALE: 2x2xf64={{\[\[}}0.5,1],[1.5,2]]
func.func @scale(%a: tensor<2x2xf64>, %s: f64) -> tensor<2x2xf64> {
  %f = strata.fill %s : f64 -> tensor<2x2xf64>
  %r = strata.mul %a, %f : tensor<2x2xf64>
  return %r : tensor<2x2xf64>
}

// ADD: i32=42
func.func @add(%a: i32, %b: i32) -> i32 {
  %r = arith.addi %a, %b : i32
  return %r : i32
}
