// strata-parallelize on a two-dimensional scf.parallel (as upstream's
// lower-affine makes of a multi-dimensional affine.parallel): one call to
// the pool over the product of the trip counts; the body takes each index
// back from the iteration number (the last dimension fastest), from the
// trip counts it captures. Run at 1 and 3 threads, every element written
// once with its own indices (bounds and steps other than 0 and 1).
// RUN: strata-opt %s --strata-parallelize | FileCheck %s
// RUN: strata-run %s -e grid --input=7x5xi64=0 --threads=1 | FileCheck %s --check-prefix=OUT
// RUN: strata-run %s -e grid --input=7x5xi64=0 --threads=3 | FileCheck %s --check-prefix=OUT

// CHECK-LABEL: llvm.func internal @__strata_parallel_body_0(
// CHECK: scf.for %[[K:.*]] =
// CHECK: %[[POS1:.*]] = arith.remsi %[[K]], %[[T1:.*]] : index
// CHECK: %[[REST:.*]] = arith.divsi %[[K]], %[[T1]] : index
// CHECK: arith.muli %[[POS1]],
// CHECK: arith.muli %[[REST]],
// CHECK: memref.store
// CHECK-NOT: scf.parallel
// CHECK-LABEL: func.func @grid(
// CHECK: %[[A:.*]] = arith.maxsi
// CHECK: %[[B:.*]] = arith.maxsi
// CHECK: %[[N:.*]] = arith.muli %[[A]], %[[B]] : index
// CHECK: %[[N64:.*]] = arith.index_cast %[[N]] : index to i64
// CHECK: llvm.call @strata_parallel_for(%{{.*}}, %{{.*}}, %[[N64]],
// CHECK-NOT: scf.parallel
// Rows 1, 3, 5 and columns 0, 2, 4: 10 * i + j; the rest stays 0.
// OUT: 7x5xi64={{\[\[}}0,0,0,0,0],[10,0,12,0,14],[0,0,0,0,0],[30,0,32,0,34],[0,0,0,0,0],[50,0,52,0,54],[0,0,0,0,0]]
func.func @grid(%out: memref<7x5xi64>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c5 = arith.constant 5 : index
  %c6 = arith.constant 6 : index
  %c10 = arith.constant 10 : index
  scf.parallel (%i, %j) = (%c1, %c0) to (%c6, %c5) step (%c2, %c2) {
    %ii = arith.muli %i, %c10 : index
    %v = arith.addi %ii, %j : index
    %w = arith.index_cast %v : index to i64
    memref.store %w, %out[%i, %j] : memref<7x5xi64>
    scf.reduce
  }
  return
}
