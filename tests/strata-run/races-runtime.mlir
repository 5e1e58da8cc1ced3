// --strata-races=runtime: what the static check can only warn about (an
// indirect index) is decided while the kernel runs. A histogram whose bins
// collide races; a scatter through a permutation does not.
// RUN: not strata-run %s -e hist --input=8xi32=0 --input=100xindex=3 --strata-races=runtime 2>&1 | FileCheck %s --check-prefix=RACE
// RUN: strata-run %s -e permute --input=6xf32=1,2,3,4,5,6 --input=6xindex=5,4,3,2,1,0 --input=6xf32=0 --strata-races=runtime 2>&1 | FileCheck %s --check-prefix=FREE
// RUN: strata-run %s -e permute --input=6xf32=1,2,3,4,5,6 --input=6xindex=5,4,3,2,1,0 --input=6xf32=0 --strata-races=runtime --threads=1 2>&1 | FileCheck %s --check-prefix=FREE
// RUN: strata-opt %s --strata-pipeline=O0 --strata-races=runtime | FileCheck %s --check-prefix=IR
// The static proofs assume distinct memrefs do not share memory; the same
// buffer passed as both is still found, at 1 and 2 threads; two buffers
// are not a race.
// RUN: not strata-run %s -e same --strata-races=runtime 2>&1 | FileCheck %s --check-prefix=ALIAS
// RUN: not strata-run %s -e same --strata-races=runtime --threads=1 2>&1 | FileCheck %s --check-prefix=ALIAS
// RUN: strata-run %s -e apart --strata-races=runtime 2>&1 | FileCheck %s --check-prefix=APART
// ALIAS: error: data race at run time: iterations 0 and 1 of the strata.parallel_for at line [[# @LINE + 44]], column 3 write and read element 1
// APART-NOT: error
// APART: f32=0
// RACE: races-runtime.mlir:[[# @LINE + 18]]:3: warning: possible data race: cannot prove
// RACE: error: data race at run time: iterations {{[0-9]+}} and {{[0-9]+}} of the strata.parallel_for at line [[# @LINE + 17]], column 3 {{(both write|write and read)}} element 3 (linear index) of one buffer
// RACE: strata-run: error: the kernel raced (--strata-races=runtime, above); its results are not printed
// RACE-NOT: 8xi32=
// FREE: warning: possible data race
// FREE-NOT: error
// FREE: 6xf32=[6,5,4,3,2,1]
// The outlined body appends to the thread's log inline; the kernel brackets
// the loop with begin and end.
// IR: llvm.call @strata_race_log() : () -> !llvm.ptr
// IR: llvm.store {{.*}} {alignment = 32 : i64} : vector<4xi64>, !llvm.ptr
// IR: llvm.call @strata_race_begin
// IR: llvm.call @strata_race_end
func.func @hist(%h: memref<8xi32>, %x: memref<100xindex>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %n = arith.constant 100 : index
  %one = arith.constant 1 : i32
  strata.parallel_for %i = %c0 to %n step %c1 {
    %b = memref.load %x[%i] : memref<100xindex>
    %old = memref.load %h[%b] : memref<8xi32>
    %new = arith.addi %old, %one : i32
    memref.store %new, %h[%b] : memref<8xi32>
  }
  return
}
func.func @permute(%src: memref<6xf32>, %p: memref<6xindex>, %dst: memref<6xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %n = arith.constant 6 : index
  strata.parallel_for %i = %c0 to %n step %c1 {
    %k = memref.load %p[%i] : memref<6xindex>
    %v = memref.load %src[%i] : memref<6xf32>
    memref.store %v, %dst[%k] : memref<6xf32>
  }
  return
}
func.func @shift(%a: memref<64xf32>, %b: memref<64xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %n = arith.constant 63 : index
  strata.parallel_for %i = %c0 to %n step %c1 {
    %r = arith.addi %i, %c1 : index
    %y = memref.load %b[%r] : memref<64xf32>
    memref.store %y, %a[%i] : memref<64xf32>
  }
  return
}
func.func @same() -> f32 {
  %m = memref.alloc() : memref<64xf32>
  %z = arith.constant 0.0 : f32
  linalg.fill ins(%z : f32) outs(%m : memref<64xf32>)
  call @shift(%m, %m) : (memref<64xf32>, memref<64xf32>) -> ()
  %c0 = arith.constant 0 : index
  %v = memref.load %m[%c0] : memref<64xf32>
  memref.dealloc %m : memref<64xf32>
  return %v : f32
}
func.func @apart() -> f32 {
  %m = memref.alloc() : memref<64xf32>
  %k = memref.alloc() : memref<64xf32>
  %z = arith.constant 0.0 : f32
  linalg.fill ins(%z : f32) outs(%m : memref<64xf32>)
  linalg.fill ins(%z : f32) outs(%k : memref<64xf32>)
  call @shift(%m, %k) : (memref<64xf32>, memref<64xf32>) -> ()
  %c0 = arith.constant 0 : index
  %v = memref.load %m[%c0] : memref<64xf32>
  memref.dealloc %m : memref<64xf32>
  memref.dealloc %k : memref<64xf32>
  return %v : f32
}

// Nested parallel_for: iterations of the inner loop that share an element
// within one outer iteration race (each row of %x has its own bins, so the
// outer iterations do not), reported on the inner loop; two inner loops
// one after the other in an outer iteration are ordered.
// RUN: not strata-run %s -e nested --input=8xi32=0 --input=4x10xindex=0,1,0,1,0,1,0,1,0,1,2,3,2,3,2,3,2,3,2,3,4,5,4,5,4,5,4,5,4,5,6,7,6,7,6,7,6,7,6,7 --strata-races=runtime 2>&1 | FileCheck %s --check-prefix=NESTED
// RUN: not strata-run %s -e nested --input=8xi32=0 --input=4x10xindex=0,1,0,1,0,1,0,1,0,1,2,3,2,3,2,3,2,3,2,3,4,5,4,5,4,5,4,5,4,5,6,7,6,7,6,7,6,7,6,7 --strata-races=runtime --threads=1 2>&1 | FileCheck %s --check-prefix=NESTED
// RUN: strata-run %s -e twice --input=40xi32=0 --input=4x10xindex=0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,32,33,34,35,36,37,38,39 --strata-races=runtime 2>&1 | FileCheck %s --check-prefix=TWICE
// RUN: strata-opt %s --strata-pipeline=O0 --strata-races=runtime | FileCheck %s --check-prefix=NESTED-IR
// NESTED: error: data race at run time: iterations {{[0-9]+}} and {{[0-9]+}} of the strata.parallel_for at line [[# @LINE + 18]], column 5 (in iteration {{[0-3]}} of the one at line [[# @LINE + 17]], column 3) {{(both write|write and read)}} element {{[0-7]}} (linear index) of one buffer
// TWICE-NOT: error
// TWICE: 40xi32=[2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2]
// NESTED-IR-LABEL: llvm.func @nested(
// NESTED-IR: llvm.call @strata_race_begin
// NESTED-IR: llvm.call @strata_race_inner_loop
// NESTED-IR: llvm.call @strata_race_end
// NESTED-IR: llvm.func internal @__strata_parallel_body
// NESTED-IR: llvm.call @strata_race_inner
// NESTED-IR: llvm.call @strata_race_log
// NESTED-IR: llvm.store {{.*}} {alignment = 32 : i64} : vector<4xi64>, !llvm.ptr
func.func @nested(%h: memref<8xi32>, %x: memref<4x10xindex>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c10 = arith.constant 10 : index
  %one = arith.constant 1 : i32
  strata.parallel_for %i = %c0 to %c4 step %c1 {
    strata.parallel_for %j = %c0 to %c10 step %c1 {
      %b = memref.load %x[%i, %j] : memref<4x10xindex>
      %old = memref.load %h[%b] : memref<8xi32>
      %new = arith.addi %old, %one : i32
      memref.store %new, %h[%b] : memref<8xi32>
    }
  }
  return
}
func.func @twice(%h: memref<40xi32>, %x: memref<4x10xindex>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c10 = arith.constant 10 : index
  %one = arith.constant 1 : i32
  strata.parallel_for %i = %c0 to %c4 step %c1 {
    strata.parallel_for %j = %c0 to %c10 step %c1 {
      %b = memref.load %x[%i, %j] : memref<4x10xindex>
      %old = memref.load %h[%b] : memref<40xi32>
      %new = arith.addi %old, %one : i32
      memref.store %new, %h[%b] : memref<40xi32>
    }
    strata.parallel_for %j = %c0 to %c10 step %c1 {
      %b = memref.load %x[%i, %j] : memref<4x10xindex>
      %old = memref.load %h[%b] : memref<40xi32>
      %new = arith.addi %old, %one : i32
      memref.store %new, %h[%b] : memref<40xi32>
    }
  }
  return
}

// Three levels: each access is checked at every level of the nest, so a
// race between iterations of the middle loop (h[2i + k], the same for every
// j) is found, and reported on it, as is one between iterations of the
// innermost loop (h[6i + 2j], the same for both k); distinct elements
// (h[6i + 2j + k]) are not a race. At 1 and 2 threads.
// RUN: not strata-run %s -e three --input=12xi32=0 --input=2x3x2xindex=0,1,0,1,0,1,2,3,2,3,2,3 --strata-races=runtime 2>&1 | FileCheck %s --check-prefix=MIDDLE
// RUN: not strata-run %s -e three --input=12xi32=0 --input=2x3x2xindex=0,1,0,1,0,1,2,3,2,3,2,3 --strata-races=runtime --threads=1 2>&1 | FileCheck %s --check-prefix=MIDDLE
// RUN: not strata-run %s -e three --input=12xi32=0 --input=2x3x2xindex=0,0,2,2,4,4,6,6,8,8,10,10 --strata-races=runtime 2>&1 | FileCheck %s --check-prefix=INNERMOST
// RUN: strata-run %s -e three --input=12xi32=0 --input=2x3x2xindex=0,1,2,3,4,5,6,7,8,9,10,11 --strata-races=runtime 2>&1 | FileCheck %s --check-prefix=THREE-FREE
// RUN: strata-run %s -e three --input=12xi32=0 --input=2x3x2xindex=0,1,2,3,4,5,6,7,8,9,10,11 --strata-races=runtime --threads=1 2>&1 | FileCheck %s --check-prefix=THREE-FREE
// MIDDLE: error: data race at run time: iterations {{[0-2]}} and {{[0-2]}} of the strata.parallel_for at line [[# @LINE + 11]], column 5 (in iteration {{[01]}} of the one at line [[# @LINE + 10]], column 3) {{(both write|write and read)}} element {{[0-3]}} (linear index)
// INNERMOST: error: data race at run time: iterations 0 and 1 of the strata.parallel_for at line [[# @LINE + 11]], column 7 (in iteration {{[01]}} of the one at line [[# @LINE + 9]], column 3) {{(both write|write and read)}} element {{[0-9]+}} (linear index)
// THREE-FREE-NOT: error
// THREE-FREE: 12xi32=[1,1,1,1,1,1,1,1,1,1,1,1]
func.func @three(%h: memref<12xi32>, %x: memref<2x3x2xindex>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %one = arith.constant 1 : i32
  strata.parallel_for %i = %c0 to %c2 step %c1 {
    strata.parallel_for %j = %c0 to %c3 step %c1 {
      strata.parallel_for %k = %c0 to %c2 step %c1 {
        %b = memref.load %x[%i, %j, %k] : memref<2x3x2xindex>
        %old = memref.load %h[%b] : memref<12xi32>
        %new = arith.addi %old, %one : i32
        memref.store %new, %h[%b] : memref<12xi32>
      }
    }
  }
  return
}
