// strata-vectorize: a vectorized elementwise loop inside a loop over rows
// prefetches the next row of each input it reads from outside the kernel
// (a function argument), clamped to the last row; a temporary the kernel
// allocated, a short row and a loop outside any row loop get none.
// RUN: strata-opt %s --split-input-file --strata-target=skylake-avx512 --strata-vectorize | FileCheck %s
// RUN: strata-opt %s --split-input-file --strata-target=x86-64-v3 --strata-vectorize | FileCheck %s --check-prefix=AVX2
// RUN: strata-opt %s --split-input-file --strata-target=skylake-avx512 --strata-vectorize --strata-remarks 2>&1 >/dev/null | FileCheck %s --check-prefix=REMARK

// CHECK-LABEL: func.func @exp_rows(
// CHECK-SAME: %[[X:[a-z0-9_]+]]: memref<6x1001xf32>
// CHECK: affine.parallel (%[[I:.*]]) = (0) to (6) {
// CHECK-DAG: %[[ONE:.*]] = arith.constant 1 : index
// CHECK-DAG: %[[LAST:.*]] = arith.constant 5 : index
// CHECK: %[[I1:.*]] = arith.addi %[[I]], %[[ONE]] : index
// CHECK: %[[N:.*]] = arith.minui %[[I1]], %[[LAST]] : index
// CHECK: scf.for %[[J:.*]] = %{{.*}} to %{{.*}} step %{{.*}} {
// CHECK: memref.prefetch %[[X]][%[[N]], %[[J]]], read, locality<2>, data : memref<6x1001xf32>
// CHECK-NEXT: vector.load %[[X]][%[[I]], %[[J]]] : memref<6x1001xf32>, vector<16xf32>
// CHECK-NOT: memref.prefetch
// CHECK: vector.load %{{.*}} : memref<1x1001xf32>, vector<16xf32>
// CHECK-NOT: memref.prefetch
// CHECK: return
// AVX2-LABEL: func.func @exp_rows(
// AVX2: memref.prefetch %{{.*}}, read, locality<2>, data : memref<6x1001xf32>
// AVX2-NEXT: vector.load %{{.*}} : memref<6x1001xf32>, vector<8xf32>
// REMARK: remark: strata-vectorize: the next row's input is prefetched while this row is computed
func.func @exp_rows(%x: memref<6x1001xf32>, %out: memref<6x1001xf32> {bufferize.result}) {
  affine.parallel (%i) = (0) to (6) {
    %t = memref.alloc() : memref<1x1001xf32>
    affine.parallel (%j) = (0) to (1001) {
      %v = affine.load %x[%i, %j] : memref<6x1001xf32>
      %e = math.exp %v : f32
      affine.store %e, %t[0, %j] : memref<1x1001xf32>
    }
    affine.parallel (%j) = (0) to (1001) {
      %v = affine.load %t[0, %j] : memref<1x1001xf32>
      %w = arith.addf %v, %v : f32
      affine.store %w, %out[%i, %j] : memref<6x1001xf32>
    }
    memref.dealloc %t : memref<1x1001xf32>
  }
  return
}

// -----

// Rows of 100 f32 (400 bytes): fetched by the hardware already.
// CHECK-LABEL: func.func @short_rows(
// CHECK-NOT: memref.prefetch
// CHECK: return
func.func @short_rows(%x: memref<6x100xf32>, %out: memref<6x100xf32> {bufferize.result}) {
  affine.parallel (%i) = (0) to (6) {
    affine.parallel (%j) = (0) to (100) {
      %v = affine.load %x[%i, %j] : memref<6x100xf32>
      %w = arith.mulf %v, %v : f32
      affine.store %w, %out[%i, %j] : memref<6x100xf32>
    }
  }
  return
}

// -----

// One long row, no row loop around it.
// CHECK-LABEL: func.func @one_row(
// CHECK-NOT: memref.prefetch
// CHECK: return
func.func @one_row(%x: memref<5000xf64>, %out: memref<5000xf64> {bufferize.result}) {
  affine.parallel (%j) = (0) to (5000) {
    %v = affine.load %x[%j] : memref<5000xf64>
    %w = arith.mulf %v, %v : f64
    affine.store %w, %out[%j] : memref<5000xf64>
  }
  return
}
