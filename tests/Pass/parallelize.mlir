// strata-parallelize: the outermost parallel loop is outlined into a body
// function that the thread pool runs over chunks of iterations; captured
// values travel in a context struct; the nested loop stays a loop inside the
// body (it runs inside the outer one's workers). With runtime=omp every
// parallel loop becomes OpenMP instead.
// RUN: strata-opt %s --strata-parallelize | FileCheck %s
// RUN: strata-opt %s --strata-parallelize=runtime=omp | FileCheck %s --check-prefix=OMP
// RUN: strata-opt %s --strata-parallelize --strata-lower-to-llvm | FileCheck %s --check-prefix=LLVM

// CHECK: llvm.func @strata_parallel_for(!llvm.ptr, !llvm.ptr, i64, i64)
// CHECK-LABEL: llvm.func internal @__strata_parallel_body_0(
// CHECK-SAME: %[[CTX:.*]]: !llvm.ptr, %[[BEGIN:.*]]: i64, %[[END:.*]]: i64)
// CHECK: llvm.load {{.*}} -> i64
// CHECK: llvm.load {{.*}} -> i64
// CHECK: %[[DESC:.*]] = llvm.load {{.*}} -> !llvm.struct<(ptr, ptr, i64, array<2 x i64>, array<2 x i64>)>
// CHECK: %[[BUF:.*]] = builtin.unrealized_conversion_cast %[[DESC]] {{.*}} to memref<10x20xf32>
// CHECK: scf.for %[[K:.*]] =
// CHECK: %[[I:.*]] = arith.addi
// CHECK: scf.parallel (%[[J:.*]]) =
// CHECK: memref.store %{{.*}}, %[[BUF]][%[[I]], %[[J]]]
// CHECK: llvm.return
// CHECK-LABEL: func.func @scale
// CHECK: %[[C:.*]] = llvm.alloca
// CHECK: llvm.store
// CHECK: %[[N:.*]] = arith.ceildivsi
// CHECK: %[[G:.*]] = llvm.mlir.constant(4 : i64)
// CHECK: %[[F:.*]] = llvm.mlir.addressof @__strata_parallel_body_0
// CHECK: llvm.call @strata_parallel_for(%[[F]], %[[C]], %{{.*}}, %[[G]])
// CHECK-NOT: strata.
// LLVM-NOT: unrealized_conversion_cast
// LLVM: llvm.call @strata_parallel_for
// OMP-LABEL: func.func @scale
// OMP: omp.parallel
// OMP: omp.wsloop
// OMP-NOT: strata.
func.func @scale(%buf: memref<10x20xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c10 = arith.constant 10 : index
  %c20 = arith.constant 20 : index
  strata.parallel_for %i = %c0 to %c10 step %c1 grain 4 {
    strata.parallel_for %j = %c0 to %c20 step %c2 {
      %v = memref.load %buf[%i, %j] : memref<10x20xf32>
      %w = arith.addf %v, %v : f32
      memref.store %w, %buf[%i, %j] : memref<10x20xf32>
    }
  }
  return
}
