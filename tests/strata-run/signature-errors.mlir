// Mistakes about what a function takes or returns are one-line errors with
// exit code 1, never a crash: unsupported parameter types (with or without
// --input), --entry-point-result on a function that takes arguments or
// returns another type (mlir-runner's messages), libraries that are not
// ELF, scalars of type index, and too many threads.
// RUN: not strata-run %s -e f16 2>&1 | FileCheck %s --check-prefix=F16
// RUN: not strata-run %s -e f16 --input=2xf16=1 2>&1 | FileCheck %s --check-prefix=F16
// RUN: not strata-run %s -e i8 2>&1 | FileCheck %s --check-prefix=I8
// RUN: not strata-run %s -e i1 2>&1 | FileCheck %s --check-prefix=I1
// RUN: not strata-run %s -e vec 2>&1 | FileCheck %s --check-prefix=VEC
// RUN: not strata-run %s -e cplx 2>&1 | FileCheck %s --check-prefix=CPLX
// RUN: not strata-run %s -e dyn 2>&1 | FileCheck %s --check-prefix=DYN
// RUN: not strata-run %s -e second 2>&1 | FileCheck %s --check-prefix=SECOND
// RUN: not strata-run %s -e vecresult --input=f32=1 2>&1 | FileCheck %s --check-prefix=VECRESULT
// RUN: not strata-run %s -e takes --entry-point-result=i32 2>&1 | FileCheck %s --check-prefix=ARGS
// RUN: not strata-run %s -e wide --entry-point-result=i32 2>&1 | FileCheck %s --check-prefix=WIDE
// RUN: strata-run %s -e wide --entry-point-result=i64 | FileCheck %s --check-prefix=WIDE64
// RUN: not strata-run %s -e wide --entry-point-result=void 2>&1 | FileCheck %s --check-prefix=VOID
// RUN: not strata-run %s -e nothing --entry-point-result=f32 2>&1 | FileCheck %s --check-prefix=NOTHING
// RUN: strata-run %s -e three | FileCheck %s --check-prefix=THREE
// RUN: strata-run %s -e idx --input=index=3 | FileCheck %s --check-prefix=INDEX
// RUN: not strata-run %s -e idx --input=i64=3 2>&1 | FileCheck %s --check-prefix=INDEX-TYPE
// RUN: not strata-run %s -e wide --input=index= 2>&1 | FileCheck %s --check-prefix=INDEX-COUNT
// RUN: echo 'not a library' > %t.so
// RUN: not strata-run %s -e wide --entry-point-result=i64 --shared-libs=%t.so 2>&1 | FileCheck %s --check-prefix=NOTELF
// RUN: not strata-run %s -e wide --entry-point-result=i64 --shared-libs=%S 2>&1 | FileCheck %s --check-prefix=DIR
// RUN: not strata-run %s -e idx --input=index=3 --threads=10000 2>&1 | FileCheck %s --check-prefix=THREADS
// RUN: env STRATA_NUM_THREADS=257 not strata-run %s -e idx --input=index=3 2>&1 | FileCheck %s --check-prefix=THREADS-ENV
// RUN: strata-run %s -e idx --input=index=3 --threads=256 | FileCheck %s --check-prefix=INDEX
// RUN: not strata-run %s -e lies --input=3xf32=1 2>&1 | FileCheck %s --check-prefix=CONVENTION

// F16: strata-run: error: parameter #0 of 'f16' has unsupported type tensor<2xf16>: element type f16 is not supported (element types are f32, f64, i32, i64 and index)
func.func @f16(%a: tensor<2xf16>) -> tensor<2xf16> {
  return %a : tensor<2xf16>
}
// I8: strata-run: error: parameter #0 of 'i8' has unsupported type memref<3xi8>: element type i8 is not supported
func.func @i8(%a: memref<3xi8>) {
  return
}
// I1: strata-run: error: parameter #0 of 'i1' has unsupported type i1: scalars are f32, f64, i32, i64 and index
func.func @i1(%a: i1) -> i1 {
  return %a : i1
}
// VEC: strata-run: error: parameter #0 of 'vec' has unsupported type vector<4xf32>: vectors cannot be passed
func.func @vec(%a: vector<4xf32>) -> vector<4xf32> {
  return %a : vector<4xf32>
}
// CPLX: strata-run: error: parameter #0 of 'cplx' has unsupported type complex<f32>
func.func @cplx(%a: complex<f32>) -> complex<f32> {
  return %a : complex<f32>
}
// DYN: strata-run: error: parameter #0 of 'dyn' has unsupported type tensor<?xf32>: its shape is not static
func.func @dyn(%a: tensor<?xf32>) -> tensor<?xf32> {
  return %a : tensor<?xf32>
}
// SECOND: strata-run: error: parameter #1 of 'second' has unsupported type memref<*xf32>: it is unranked
func.func @second(%a: f32, %b: memref<*xf32>) {
  return
}
// VECRESULT: strata-run: error: result #0 of 'vecresult' has unsupported type vector<2xf32>
func.func @vecresult(%a: f32) -> vector<2xf32> {
  %v = vector.broadcast %a : f32 to vector<2xf32>
  return %v : vector<2xf32>
}

// ARGS: Error: JIT can't invoke a main function expecting arguments ('takes' takes 1)
func.func @takes(%a: tensor<4xf32>) -> i32 {
  %c = arith.constant 1 : i32
  return %c : i32
}
// WIDE: Error: only single i32 function result supported ('wide' returns i64)
// WIDE64: {{^}}5000000000{{$}}
// VOID: Error: expected void function ('wide' returns i64)
// INDEX-COUNT: strata-run: error: 'wide' takes 0 argument(s) but 1 --input given
// NOTELF: strata-run: error: shared library '{{.*}}.so' is not an ELF shared library
// DIR: strata-run: error: shared library '{{.*}}' is a directory
func.func @wide() -> i64 {
  %c = arith.constant 5000000000 : i64
  return %c : i64
}
// NOTHING: Error: only single f32 function result supported ('nothing' returns nothing)
func.func @nothing() {
  return
}

// Several scalar results come back as one struct: each is read from it.
// THREE: i64=5000000000
// THREE-NEXT: i32=-7
// THREE-NEXT: f64=2.5
func.func @three() -> (i64, i32, f64) {
  %a = arith.constant 5000000000 : i64
  %b = arith.constant -7 : i32
  %c = arith.constant 2.5 : f64
  return %a, %b, %c : i64, i32, f64
}

// INDEX: index=4
// INDEX-TYPE: strata-run: error: --input #1 ('i64=3'): the value is i64, but the parameter is index
// THREADS: strata-run: error: --threads=10000 is more than 256, the most worker threads strata-run starts
// THREADS-ENV: strata-run: error: STRATA_NUM_THREADS=257 is more than 256
func.func @idx(%i: index) -> index {
  %c1 = arith.constant 1 : index
  %r = arith.addi %i, %c1 : index
  return %r : index
}

// A signature the lowered function does not match is refused before the
// call: here the recorded one says a buffer, the function takes an i64.
// CONVENTION: strata-run: error: 'lies' cannot be called as (tensor<3xf32>) -> (): it was lowered to (i64, -> i64) but the calling convention passes (!llvm.ptr, !llvm.ptr, i64, i64, i64, -> !llvm.void)
llvm.func @lies(%a: i64) -> i64 attributes {strata.signature = (tensor<3xf32>) -> ()} {
  llvm.return %a : i64
}
