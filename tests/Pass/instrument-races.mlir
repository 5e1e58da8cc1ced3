// strata-instrument-races watches only the accesses strata-check-races
// cannot prove independent of every other access of the loop: a pair proven
// independent cannot race, and each watched access is a call that keeps the
// loop from vectorizing.
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
// CHECK-NOT: strata_race_access
// CHECK: } else {
// CHECK-NEXT: strata.parallel_for
// CHECK-COUNT-3: call @strata_race_access(
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
// CHECK-LABEL: func.func @hist(
// CHECK: strata.parallel_for
// CHECK-NEXT: %[[B:.*]] = memref.load %arg1[
// CHECK-NOT: memref.load
// CHECK: call @strata_race_access(
// CHECK-NEXT: memref.load %arg0[%[[B]]]
// CHECK: call @strata_race_access(
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
// CHECK-COUNT-3: call @strata_race_access(
// CHECK-NOT: call @strata_race_access(
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
// CHECK: call @strata_race_access(
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
