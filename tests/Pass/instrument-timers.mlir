// strata-instrument-timers times each op of a public function's body that
// does work (a loop, a call) between calls to the runtime, by the op's
// source position: id = line << 20 | column, so a timer names the user's
// op whatever the pipeline made of it.
// RUN: strata-opt %s --pass-pipeline='builtin.module(strata-instrument-timers)' | FileCheck %s
// The calls lower with the rest (nothing left of func.call).
// RUN: strata-opt %s --pass-pipeline='builtin.module(strata-instrument-timers,strata-lower-to-llvm)' | FileCheck %s --check-prefix=LLVM

// CHECK-LABEL: func.func @kernel(
// CHECK-NEXT: arith.constant 0.0
// CHECK-NEXT: arith.constant 0 : index
// CHECK-NEXT: arith.constant 1 : index
// CHECK-NEXT: arith.constant 64 : index
// CHECK-NEXT: %[[LOOP:.*]] = arith.constant [[#add(mul(@LINE+17,1048576),3)]] : i64
// CHECK-NEXT: call @strata_timer_begin(%[[LOOP]]) : (i64) -> ()
// CHECK-NEXT: scf.for
// CHECK: }
// CHECK-NEXT: call @strata_timer_end(%[[LOOP]]) : (i64) -> ()
// CHECK-NEXT: %[[CALL:.*]] = arith.constant [[#add(mul(@LINE+15,1048576),3)]] : i64
// CHECK-NEXT: call @strata_timer_begin(%[[CALL]])
// CHECK-NEXT: call @helper(
// CHECK-NEXT: call @strata_timer_end(%[[CALL]])
// The plain ops between are not timed.
// CHECK-NEXT: memref.load
// CHECK-NEXT: return
func.func @kernel(%m: memref<64xf32>) -> f32 {
  %z = arith.constant 0.0 : f32
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %n = arith.constant 64 : index
  scf.for %i = %c0 to %n step %c1 {
    memref.store %z, %m[%i] : memref<64xf32>
  }
  func.call @helper(%m) : (memref<64xf32>) -> ()
  %v = memref.load %m[%c0] : memref<64xf32>
  return %v : f32
}

// Private functions and the pipeline's own (`__strata_*`, outlined loop
// bodies) are not timed: they run inside a timed op.
// CHECK-LABEL: func.func private @helper(
// CHECK-NOT: strata_timer
// CHECK: return
func.func private @helper(%m: memref<64xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %n = arith.constant 64 : index
  scf.for %i = %c0 to %n step %c1 {
    %v = memref.load %m[%i] : memref<64xf32>
    memref.store %v, %m[%i] : memref<64xf32>
  }
  return
}

// CHECK-LABEL: func.func @__strata_body(
// CHECK-NOT: strata_timer
// CHECK: return
func.func @__strata_body(%m: memref<64xf32>) {
  func.call @helper(%m) : (memref<64xf32>) -> ()
  return
}

// The runtime's two entry points, declared once.
// CHECK: func.func private @strata_timer_begin(i64)
// CHECK: func.func private @strata_timer_end(i64)
// CHECK-NOT: func.func private @strata_timer

// LLVM-LABEL: llvm.func @kernel(
// LLVM: llvm.call @strata_timer_begin(
// LLVM: llvm.call @strata_timer_end(
// LLVM: llvm.call @strata_timer_begin(
// LLVM: llvm.call @helper(
// LLVM-NEXT: llvm.call @strata_timer_end(
// LLVM: llvm.func @strata_timer_begin(i64)
