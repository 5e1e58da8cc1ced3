// strata-instrument-races watches only the accesses strata-check-races
// cannot prove independent of every other access of the loop: a pair proven
// independent cannot race, and each watched access costs (an entry appended
// to the thread's log, inline: one 32-byte store of the entry, one of the
// log's new end) and keeps the loop from vectorizing.
// RUN: strata-opt %s --pass-pipeline='builtin.module(strata-instrument-races)' | FileCheck %s

// Every access is indexed by the iteration itself: nothing to watch while
// the three buffers are apart. The proofs assume distinct memrefs do not
// share memory, which the caller decides, so the loop comes in two
// versions, picked by whether the buffers' byte ranges are disjoint; the
// other watches every access.
// CHECK-LABEL: func.func @fma_exp(
// CHECK: call @strata_race_begin
// CHECK-COUNT-3: call @strata_race_range(
// CHECK: %[[APART:.*]] = call @strata_race_disjoint() : () -> i1
// CHECK: scf.if %[[APART]] {
// CHECK-NEXT: strata.parallel_for
// CHECK-NOT: strata_race_log
// CHECK: } else {
// CHECK-NEXT: strata.parallel_for
// CHECK-NEXT: llvm.call @strata_race_log() : () -> !llvm.ptr
// CHECK-COUNT-3: {alignment = 32 : i64} : vector<4xi64>, !llvm.ptr
// CHECK: call @strata_race_end
func.func @fma_exp(%x: memref<1000xf32>, %a: memref<1000xf32>, %y: memref<1000xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %n = arith.constant 1000 : index
  strata.parallel_for %i = %c0 to %n step %c1 {
    %v = memref.load %x[%i] : memref<1000xf32>
    %e = math.exp %v : f32
    %w = memref.load %a[%i] : memref<1000xf32>
    %r = arith.mulf %e, %w : f32
    memref.store %r, %y[%i] : memref<1000xf32>
  }
  return
}

// A histogram: the bins (an indirect index) are watched, both the load and
// the store; the values it reads (read-only, by the iteration) are not.
// An entry is the buffer's address, the element << 16 | flags (bit 0: a
// store), the iteration and the strand (0 outside nested loops); a full
// log is flushed first.
// CHECK-LABEL: func.func @hist(
// CHECK: strata.parallel_for %[[I:.*]] = %c0 to
// CHECK-NEXT: %[[LOG:.*]] = llvm.call @strata_race_log() : () -> !llvm.ptr
// CHECK-NEXT: %[[B:.*]] = memref.load %arg1[
// CHECK-NOT: memref.load
// CHECK: %[[ADDR:.*]] = arith.index_cast %intptr{{.*}} : index to i64
// CHECK-NEXT: %[[ELEM:.*]] = arith.index_cast %{{.*}} : index to i64
// CHECK-NEXT: %[[IT:.*]] = arith.index_cast %[[I]] : index to i64
// CHECK: %[[SHIFTED:.*]] = arith.shli %[[ELEM]], %{{.*}} : i64
// CHECK-NEXT: %[[STRAND:.*]] = arith.constant 0 : i64
// CHECK-NEXT: %[[READ:.*]] = arith.constant 0 : i64
// CHECK-NEXT: %[[EF:.*]] = arith.ori %[[SHIFTED]], %[[READ]] : i64
// CHECK-NEXT: %[[NEXT:.*]] = llvm.load %[[LOG]] : !llvm.ptr -> !llvm.ptr
// CHECK-NEXT: %[[ENDP:.*]] = llvm.getelementptr %[[LOG]][1]
// CHECK-NEXT: %[[END:.*]] = llvm.load %[[ENDP]]
// CHECK-NEXT: %[[FULL:.*]] = llvm.icmp "eq" %[[NEXT]], %[[END]]
// CHECK-NEXT: %[[SLOT:.*]] = scf.if %[[FULL]] -> (!llvm.ptr) {
// CHECK-NEXT: func.call @strata_race_flush(%[[LOG]]) : (!llvm.ptr) -> !llvm.ptr
// CHECK: } else {
// CHECK-NEXT: scf.yield %[[NEXT]] : !llvm.ptr
// CHECK: %[[ENTRY:.*]] = vector.from_elements %[[ADDR]], %[[EF]], %[[IT]], %[[STRAND]] : vector<4xi64>
// CHECK-NEXT: llvm.store %[[ENTRY]], %[[SLOT]] {alignment = 32 : i64} : vector<4xi64>, !llvm.ptr
// CHECK-NEXT: %[[AFTER:.*]] = llvm.getelementptr %[[SLOT]][1] : (!llvm.ptr) -> !llvm.ptr, vector<4xi64>
// CHECK-NEXT: llvm.store %[[AFTER]], %[[LOG]] {alignment = 8 : i64} : !llvm.ptr, !llvm.ptr
// CHECK-NEXT: memref.load %arg0[%[[B]]]
// CHECK: %[[WRITE:.*]] = arith.constant 1 : i64
// CHECK-NEXT: arith.ori %{{.*}}, %[[WRITE]] : i64
// CHECK: {alignment = 32 : i64} : vector<4xi64>, !llvm.ptr
// CHECK-NEXT: llvm.getelementptr
// CHECK-NEXT: llvm.store
// CHECK-NEXT: memref.store {{.*}}, %arg0[%[[B]]]
// CHECK-NEXT: }
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

// A stencil reading its neighbours of the array it writes: a proven race
// (the static check's error, a warning here), so all three accesses of %a
// are watched, and %b, which only the iteration itself writes, is not.
// CHECK-LABEL: func.func @stencil(
// CHECK: strata.parallel_for
// CHECK-COUNT-3: {alignment = 32 : i64} : vector<4xi64>, !llvm.ptr
// CHECK-NOT: vector<4xi64>, !llvm.ptr
// CHECK: memref.store {{.*}}, %arg1[
// CHECK-NEXT: }
func.func @stencil(%a: memref<64xf32>, %b: memref<64xf32>) {
  %c1 = arith.constant 1 : index
  %n = arith.constant 63 : index
  strata.parallel_for %i = %c1 to %n step %c1 {
    %l = arith.subi %i, %c1 : index
    %r = arith.addi %i, %c1 : index
    %x = memref.load %a[%l] : memref<64xf32>
    %y = memref.load %a[%r] : memref<64xf32>
    %s = arith.addf %x, %y : f32
    memref.store %s, %a[%i] : memref<64xf32>
    memref.store %s, %b[%i] : memref<64xf32>
  }
  return
}

// An unknown call receives %a: every access to %a is watched.
// CHECK-LABEL: func.func @opaque(
// CHECK: strata.parallel_for
// CHECK: {alignment = 32 : i64} : vector<4xi64>, !llvm.ptr
// CHECK-NEXT: llvm.getelementptr
// CHECK-NEXT: llvm.store
// CHECK-NEXT: memref.store
// CHECK: call @touch
func.func private @touch(memref<16xf32>)
func.func @opaque(%a: memref<16xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %n = arith.constant 16 : index
  %z = arith.constant 0.0 : f32
  strata.parallel_for %i = %c0 to %n step %c1 {
    memref.store %z, %a[%i] : memref<16xf32>
    func.call @touch(%a) : (memref<16xf32>) -> ()
  }
  return
}

// Nested loops: an access in the inner loop goes to the log of the thread
// that runs the inner iteration (fetched in the inner body, which may run
// on another worker than the outer one), with the strand of the run's
// instance and the inner iteration, and the inner loop's number (1) in
// bits 8-15 of the flags.
// CHECK-LABEL: func.func @nested(
// CHECK: strata.parallel_for %[[I:.*]] = %c0
// CHECK: %[[INSTANCE:.*]] = func.call @strata_race_inner() : () -> i64
// CHECK-NEXT: strata.parallel_for %[[J:.*]] = %c0
// CHECK-NEXT: %[[LOG:.*]] = llvm.call @strata_race_log() : () -> !llvm.ptr
// CHECK: %[[JI:.*]] = arith.index_cast %[[J]] : index to i64
// CHECK: %[[LOW:.*]] = arith.andi %[[JI]], %{{.*}} : i64
// CHECK-NEXT: %[[STRAND:.*]] = arith.ori %[[INSTANCE]], %[[LOW]] : i64
// CHECK: %[[FLAGS:.*]] = arith.constant 257 : i64
// CHECK-NEXT: %[[EF:.*]] = arith.ori %{{.*}}, %[[FLAGS]] : i64
// CHECK-NEXT: llvm.load %[[LOG]]
// CHECK: vector.from_elements %{{.*}}, %[[EF]], %{{.*}}, %[[STRAND]] : vector<4xi64>
// CHECK: memref.store
func.func @nested(%h: memref<8xf32>, %x: memref<16xindex>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %z = arith.constant 0.0 : f32
  strata.parallel_for %i = %c0 to %c4 step %c1 {
    strata.parallel_for %j = %c0 to %c4 step %c1 {
      %k = arith.addi %i, %j : index
      %b = memref.load %x[%k] : memref<16xindex>
      memref.store %z, %h[%b] : memref<8xf32>
    }
  }
  return
}

// Three levels: each watched access gets an entry per level, the second
// with the innermost loop's strand, loop number 2 (flags 512 | store) and
// the level (1) in the key's top byte.
// CHECK-LABEL: func.func @three(
// CHECK: %[[JI:.*]] = func.call @strata_race_inner() : () -> i64
// CHECK-NEXT: strata.parallel_for %[[J:.*]] = %c0
// CHECK-NEXT: %[[KI:.*]] = func.call @strata_race_inner() : () -> i64
// CHECK-NEXT: strata.parallel_for %[[K:.*]] = %c0
// CHECK-NEXT: %[[LOG:.*]] = llvm.call @strata_race_log()
// CHECK: %[[ADDR:.*]] = arith.index_cast %intptr{{.*}} : index to i64
// CHECK: %[[JC:.*]] = arith.index_cast %[[J]] : index to i64
// CHECK-NEXT: arith.constant 4294967295
// CHECK-NEXT: %[[JL:.*]] = arith.andi %[[JC]],
// CHECK-NEXT: %[[S1:.*]] = arith.ori %[[JI]], %[[JL]] : i64
// CHECK-NEXT: %[[F1:.*]] = arith.constant 257 : i64
// CHECK-NEXT: %[[EF1:.*]] = arith.ori %{{.*}}, %[[F1]] : i64
// CHECK: vector.from_elements %[[ADDR]], %[[EF1]], %{{.*}}, %[[S1]] : vector<4xi64>
// CHECK: %[[KC:.*]] = arith.index_cast %[[K]] : index to i64
// CHECK-NEXT: arith.constant 4294967295
// CHECK-NEXT: %[[KL:.*]] = arith.andi %[[KC]],
// CHECK-NEXT: %[[S2:.*]] = arith.ori %[[KI]], %[[KL]] : i64
// CHECK-NEXT: %[[TAG:.*]] = arith.constant 72057594037927936 : i64
// CHECK-NEXT: %[[KEY2:.*]] = arith.ori %[[ADDR]], %[[TAG]] : i64
// CHECK-NEXT: %[[F2:.*]] = arith.constant 513 : i64
// CHECK-NEXT: %[[EF2:.*]] = arith.ori %{{.*}}, %[[F2]] : i64
// CHECK: vector.from_elements %[[KEY2]], %[[EF2]], %{{.*}}, %[[S2]] : vector<4xi64>
// CHECK-NOT: vector.from_elements
// CHECK: memref.store
func.func @three(%h: memref<8xf32>, %x: memref<64xindex>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %z = arith.constant 0.0 : f32
  strata.parallel_for %i = %c0 to %c4 step %c1 {
    strata.parallel_for %j = %c0 to %c4 step %c1 {
      strata.parallel_for %k = %c0 to %c4 step %c1 {
        %ij = arith.addi %i, %j : index
        %q = arith.addi %ij, %k : index
        %b = memref.load %x[%q] : memref<64xindex>
        memref.store %z, %h[%b] : memref<8xf32>
      }
    }
  }
  return
}

// The log's hook says it touches no memory (it returns the same pointer on
// every call of a thread), so LLVM hoists it out of a chunk's iterations.
// CHECK: llvm.func @strata_race_log() -> !llvm.ptr attributes {memory_effects = #llvm.memory_effects<other = none, argMem = none, inaccessibleMem = none{{.*}}>, no_unwind, will_return}
