// strata-expand-float-atomics (a step of strata-lower-to-llvm): a float
// memref.generic_atomic_rmw, and a memref.atomic_rmw that multiplies (LLVM's
// atomicrmw has no multiply), become compare-and-swap loops on the value's
// bits, which LLVM can lower; integer generic ones and the other
// atomic_rmw kinds are left to upstream.
// RUN: strata-opt %s --strata-expand-float-atomics | FileCheck %s
// RUN: strata-opt %s --strata-lower-to-llvm | FileCheck %s --check-prefix=LLVM

// CHECK-LABEL: func.func @fmax(
// CHECK: memref.extract_strided_metadata
// CHECK: memref.extract_aligned_pointer_as_index
// CHECK: %[[P:.*]] = llvm.inttoptr
// CHECK: %[[FIRST:.*]] = memref.load
// CHECK: %[[R:.*]]:2 = scf.while (%[[OLD:.*]] = %[[FIRST]]) : (f64) -> (f64, f64)
// CHECK: %[[NEW:.*]] = arith.maximumf %[[OLD]], %{{.*}} : f64
// CHECK: arith.bitcast %[[OLD]] : f64 to i64
// CHECK: llvm.cmpxchg %[[P]], %{{.*}}, %{{.*}} acq_rel monotonic : !llvm.ptr, i64
// CHECK: scf.condition(%{{.*}}) %{{.*}}, %[[NEW]] : f64, f64
// CHECK: return %[[R]]#1 : f64
// CHECK-NOT: memref.generic_atomic_rmw
// CHECK-LABEL: func.func @imin(
// CHECK: memref.generic_atomic_rmw
// The multiply's result is the value it replaced: the loop's first result.
// CHECK-LABEL: func.func @fmul(
// CHECK: %[[FIRST:.*]] = memref.load
// CHECK: %[[R:.*]]:2 = scf.while (%[[OLD:.*]] = %[[FIRST]]) : (f32) -> (f32, f32)
// CHECK: %[[NEW:.*]] = arith.mulf %[[OLD]], %{{.*}} : f32
// CHECK: llvm.cmpxchg {{.*}} : !llvm.ptr, i32
// CHECK: scf.condition(%{{.*}}) %{{.*}}, %[[NEW]] : f32, f32
// CHECK: return %[[R]]#0 : f32
// CHECK-LABEL: func.func @imul(
// CHECK: scf.while
// CHECK: %[[NEW:.*]] = arith.muli %{{.*}}, %{{.*}} : i64
// CHECK-NOT: arith.bitcast
// CHECK: llvm.cmpxchg %{{.*}}, %{{.*}}, %[[NEW]] acq_rel monotonic : !llvm.ptr, i64
// CHECK-LABEL: func.func @iadd(
// CHECK: memref.atomic_rmw addi
// LLVM-LABEL: llvm.func @fmax(
// LLVM: llvm.cmpxchg {{.*}} : !llvm.ptr, i64
// LLVM-LABEL: llvm.func @imin(
// LLVM: llvm.cmpxchg {{.*}} : !llvm.ptr, i32
// LLVM-LABEL: llvm.func @fmul(
// LLVM: llvm.cmpxchg {{.*}} : !llvm.ptr, i32
// LLVM-LABEL: llvm.func @imul(
// LLVM: llvm.cmpxchg {{.*}} : !llvm.ptr, i64
// LLVM-LABEL: llvm.func @iadd(
// LLVM: llvm.atomicrmw add
func.func @fmax(%m: memref<3x5xf64>, %i: index, %j: index, %v: f64) -> f64 {
  %r = memref.generic_atomic_rmw %m[%i, %j] : memref<3x5xf64> {
  ^bb0(%cur: f64):
    %x = arith.maximumf %cur, %v : f64
    memref.atomic_yield %x : f64
  }
  return %r : f64
}
func.func @imin(%m: memref<7xi32>, %i: index, %v: i32) -> i32 {
  %r = memref.generic_atomic_rmw %m[%i] : memref<7xi32> {
  ^bb0(%cur: i32):
    %x = arith.minsi %cur, %v : i32
    memref.atomic_yield %x : i32
  }
  return %r : i32
}
func.func @fmul(%m: memref<7xf32>, %i: index, %v: f32) -> f32 {
  %r = memref.atomic_rmw mulf %v, %m[%i] : (f32, memref<7xf32>) -> f32
  return %r : f32
}
func.func @imul(%m: memref<2x3xi64>, %i: index, %v: i64) -> i64 {
  %r = memref.atomic_rmw muli %v, %m[%i, %i] : (i64, memref<2x3xi64>) -> i64
  return %r : i64
}
func.func @iadd(%m: memref<7xi32>, %i: index, %v: i32) -> i32 {
  %r = memref.atomic_rmw addi %v, %m[%i] : (i32, memref<7xi32>) -> i32
  return %r : i32
}
