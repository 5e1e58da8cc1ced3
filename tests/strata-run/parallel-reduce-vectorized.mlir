// A reducing strata.parallel_for becomes per-chunk partial results with
// no atomic in its loop, and each chunk's loop is vectorized (the float
// add carries `reassoc`, which the op's semantics allow): on an AVX2
// target (every CI host has it), 256-bit adds and no locked instruction.
// RUN: strata-run %s -e fsum --input=1000xf32=0.5 --strata-target=x86-64-v3 --dump-object-file --object-filename=%t.f.o | FileCheck %s --check-prefix=FSUM
// RUN: llvm-objdump -d %t.f.o | FileCheck %s --check-prefix=FCODE
// RUN: strata-run %s -e isum --input=1000xi32=3 --strata-target=x86-64-v3 --dump-object-file --object-filename=%t.i.o | FileCheck %s --check-prefix=ISUM
// RUN: llvm-objdump -d %t.i.o | FileCheck %s --check-prefix=ICODE
// FSUM: f32=500
// FCODE: vaddps {{.*}}%ymm{{[0-9]+}}, %ymm
// FCODE-NOT: lock
// ISUM: i32=3000
// ICODE: vpaddd {{.*}}%ymm{{[0-9]+}}, %ymm
// ICODE-NOT: lock
func.func @fsum(%x: memref<1000xf32>) -> f32 {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %n = arith.constant 1000 : index
  %z = arith.constant 0.0 : f32
  %r = strata.parallel_for %i = %c0 to %n step %c1 reduce("add" %z : f32) {
    %v = memref.load %x[%i] : memref<1000xf32>
    strata.yield %v : f32
  }
  return %r : f32
}
func.func @isum(%x: memref<1000xi32>) -> i32 {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %n = arith.constant 1000 : index
  %z = arith.constant 0 : i32
  %r = strata.parallel_for %i = %c0 to %n step %c1 reduce("add" %z : i32) {
    %v = memref.load %x[%i] : memref<1000xi32>
    strata.yield %v : i32
  }
  return %r : i32
}
