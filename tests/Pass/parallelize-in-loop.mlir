// strata-parallelize on a parallel loop inside a sequential one: the
// context struct the pool reads is allocated once, in the function's entry
// block, not once per trip of the outer loop (which grew the stack until a
// 70,001-trip loop overflowed it); a loop of one trip is not sent to the
// pool at all.
// RUN: strata-opt %s --strata-parallelize | FileCheck %s

// CHECK-LABEL: func.func @in_loop(
// CHECK-NEXT: llvm.mlir.constant(1 : i64)
// CHECK-NEXT: %[[C:.*]] = llvm.alloca
// CHECK: scf.for
// CHECK-NOT: llvm.alloca
// CHECK: llvm.call @strata_parallel_for(%{{.*}}, %[[C]],
func.func @in_loop(%buf: memref<1000x4xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c1000 = arith.constant 1000 : index
  scf.for %i = %c0 to %c1000 step %c1 {
    strata.parallel_for %j = %c0 to %c4 step %c1 {
      %v = memref.load %buf[%i, %j] : memref<1000x4xf32>
      %w = arith.addf %v, %v : f32
      memref.store %w, %buf[%i, %j] : memref<1000x4xf32>
    }
  }
  return
}

// A loop of one trip is its body: no dispatch per outer trip.
// CHECK-LABEL: func.func @one_trip(
// CHECK: scf.for %[[I:.*]] =
// CHECK-NOT: llvm.call
// CHECK: %[[V:.*]] = memref.load %{{.*}}[%[[I]], %c0{{.*}}]
// CHECK-NOT: llvm.call
// CHECK: return
func.func @one_trip(%buf: memref<1000x1xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c1000 = arith.constant 1000 : index
  scf.for %i = %c0 to %c1000 step %c1 {
    strata.parallel_for %j = %c0 to %c1 step %c1 {
      %v = memref.load %buf[%i, %j] : memref<1000x1xf32>
      %w = arith.addf %v, %v : f32
      memref.store %w, %buf[%i, %j] : memref<1000x1xf32>
    }
  }
  return
}
