// strata-hoist-temporaries (a step of strata-parallelize): a buffer that
// an iteration of a parallel loop allocates, uses and frees is allocated
// once per chunk of the outlined body instead; one that escapes, one whose
// size depends on the iteration, and one of a nested loop stay where they
// are.
// RUN: strata-opt %s --strata-parallelize | FileCheck %s
// RUN: strata-opt %s --pass-pipeline='builtin.module(strata-parallel-for-to-scf,strata-outline-parallel-loops)' | FileCheck %s --check-prefix=BEFORE

// Without the step, the allocation is in the chunk loop.
// BEFORE-LABEL: llvm.func internal @__strata_parallel_body_0(
// BEFORE: scf.for
// BEFORE: memref.alloc()
// BEFORE: memref.dealloc

// CHECK-LABEL: llvm.func internal @__strata_parallel_body_0(
// CHECK: %[[T:.*]] = memref.alloc() {alignment = 64 : i64} : memref<1x64xf32>
// CHECK-NEXT: %[[S:.*]] = memref.alloc() : memref<1xf32>
// CHECK-NEXT: scf.for
// CHECK-NOT: memref.alloc
// CHECK: memref.subview %[[T]]
// CHECK-NOT: memref.dealloc
// CHECK: memref.dealloc %[[S]] : memref<1xf32>
// CHECK-NEXT: memref.dealloc %[[T]] : memref<1x64xf32>
// CHECK-NEXT: llvm.return
func.func @rows(%x: memref<100x64xf32>, %y: memref<100x64xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c64 = arith.constant 64 : index
  %c100 = arith.constant 100 : index
  %zero = arith.constant 0.0 : f32
  strata.parallel_for %i = %c0 to %c100 step %c1 {
    %t = memref.alloc() {alignment = 64 : i64} : memref<1x64xf32>
    %s = memref.alloc() : memref<1xf32>
    memref.store %zero, %s[%c0] : memref<1xf32>
    scf.for %j = %c0 to %c64 step %c1 {
      %v = memref.load %x[%i, %j] : memref<100x64xf32>
      %e = math.exp %v : f32
      memref.store %e, %t[%c0, %j] : memref<1x64xf32>
      %a = memref.load %s[%c0] : memref<1xf32>
      %b = arith.addf %a, %e : f32
      memref.store %b, %s[%c0] : memref<1xf32>
    }
    %row = memref.subview %t[0, 0] [1, 64] [1, 1] : memref<1x64xf32> to memref<64xf32, strided<[1]>>
    scf.for %j = %c0 to %c64 step %c1 {
      %e = memref.load %row[%j] : memref<64xf32, strided<[1]>>
      %sum = memref.load %s[%c0] : memref<1xf32>
      %q = arith.divf %e, %sum : f32
      memref.store %q, %y[%i, %j] : memref<100x64xf32>
    }
    memref.dealloc %s : memref<1xf32>
    memref.dealloc %t : memref<1x64xf32>
  }
  return
}

func.func private @keep(memref<4xf32>)

// Passed to a call (which may keep it), sized by the iteration, or
// allocated in a loop inside the iteration: not moved.
// CHECK-LABEL: llvm.func internal @__strata_parallel_body_1(
// CHECK: scf.for %[[K:[a-z0-9]+]] =
// CHECK: %[[E:.*]] = memref.alloc() : memref<4xf32>
// CHECK: func.call @keep(%[[E]])
// CHECK: memref.alloc(%{{.*}}) : memref<?xf32>
// CHECK: scf.for
// CHECK: memref.alloc() : memref<2xf32>
// CHECK: memref.dealloc
// CHECK: }
// CHECK: memref.dealloc
// CHECK: memref.dealloc %[[E]]
// CHECK: }
// CHECK-NEXT: llvm.return
func.func @stay(%y: memref<100xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c100 = arith.constant 100 : index
  %one = arith.constant 1.0 : f32
  strata.parallel_for %i = %c0 to %c100 step %c1 {
    %e = memref.alloc() : memref<4xf32>
    func.call @keep(%e) : (memref<4xf32>) -> ()
    %n = arith.addi %i, %c1 : index
    %d = memref.alloc(%n) : memref<?xf32>
    memref.store %one, %d[%c0] : memref<?xf32>
    scf.for %j = %c0 to %c4 step %c1 {
      %inner = memref.alloc() : memref<2xf32>
      memref.store %one, %inner[%c0] : memref<2xf32>
      memref.dealloc %inner : memref<2xf32>
    }
    %v = memref.load %d[%c0] : memref<?xf32>
    memref.store %v, %y[%i] : memref<100xf32>
    memref.dealloc %d : memref<?xf32>
    memref.dealloc %e : memref<4xf32>
  }
  return
}
