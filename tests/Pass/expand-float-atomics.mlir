// strata-expand-float-atomics (a step of strata-lower-to-llvm): a float
// memref.generic_atomic_rmw becomes a compare-and-swap loop on the value's
// bits, which LLVM can lower; integer ones are left to upstream.
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
// LLVM-LABEL: llvm.func @fmax(
// LLVM: llvm.cmpxchg {{.*}} : !llvm.ptr, i64
// LLVM-LABEL: llvm.func @imin(
// LLVM: llvm.cmpxchg {{.*}} : !llvm.ptr, i32
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
