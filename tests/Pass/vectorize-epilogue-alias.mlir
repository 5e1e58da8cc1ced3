// strata-vectorize fuses a contraction's elementwise epilogue into the kernel
// (which then runs where the epilogue was) only when nothing changes: not
// when a nest in between overwrites an input of the matmul, nor when the
// epilogue writes over one the kernel still reads. Then the kernel stays at
// the matmul's place, and the epilogue is vectorized on its own. The target
// is named (znver3: AVX2, 8 f32 lanes), so the output does not depend on
// the host.
// RUN: strata-opt %s --strata-target=znver3 --pass-pipeline='builtin.module(strata-vectorize)' | FileCheck %s
// RUN: strata-opt %s --strata-target=znver3 --pass-pipeline='builtin.module(strata-vectorize)' --strata-remarks 2>&1 >/dev/null | FileCheck %s --check-prefix=REMARK

// REMARK-NOT: epilogue fused
// REMARK: vectorize-epilogue-alias.mlir:{{.*}} remark: strata-vectorize: elementwise epilogue fused into the contraction kernel
// REMARK-NOT: epilogue fused

// CHECK-LABEL: func.func @zero_a(
// CHECK-SAME: %[[A:[a-z0-9_]+]]: memref<16x16xf32>, %[[B:[a-z0-9_]+]]: memref<16x16xf32>, %[[OUT:[a-z0-9_]+]]: memref<16x16xf32>
// CHECK: %[[C:[a-z0-9_]+]] = memref.alloc()
// CHECK: scf.parallel
// CHECK: vector.fma
// CHECK: vector.store %{{.*}}, %[[C]]
// CHECK: scf.reduce
// A is zeroed after the matmul read it...
// CHECK: vector.store %{{.*}}, %[[A]]
// ... and read again by the epilogue, on its own.
// CHECK: vector.load %[[C]]
// CHECK: vector.load %[[A]]
// CHECK: arith.addf
// CHECK: vector.store %{{.*}}, %[[OUT]]
func.func @zero_a(%a: memref<16x16xf32>, %b: memref<16x16xf32>, %out: memref<16x16xf32>) {
  %z = arith.constant 0.0 : f32
  %c = memref.alloc() {alignment = 64 : i64} : memref<16x16xf32>
  affine.parallel (%i) = (0) to (16) {
    affine.parallel (%j) = (0) to (16) {
      affine.store %z, %c[%i, %j] : memref<16x16xf32>
    }
  }
  linalg.generic {indexing_maps = [affine_map<(i, k, j) -> (i, k)>, affine_map<(i, k, j) -> (k, j)>, affine_map<(i, k, j) -> (i, j)>], iterator_types = ["parallel", "reduction", "parallel"]} ins(%a, %b : memref<16x16xf32>, memref<16x16xf32>) outs(%c : memref<16x16xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  affine.parallel (%i) = (0) to (16) {
    affine.parallel (%j) = (0) to (16) {
      affine.store %z, %a[%i, %j] : memref<16x16xf32>
    }
  }
  affine.parallel (%i) = (0) to (16) {
    affine.parallel (%j) = (0) to (16) {
      %0 = affine.load %c[%i, %j] : memref<16x16xf32>
      %1 = affine.load %a[%i, %j] : memref<16x16xf32>
      %2 = arith.addf %0, %1 : f32
      affine.store %2, %out[%i, %j] : memref<16x16xf32>
    }
  }
  memref.dealloc %c : memref<16x16xf32>
  return
}

// CHECK-LABEL: func.func @in_place(
// CHECK-SAME: %[[A:[a-z0-9_]+]]: memref<16x16xf32>
// CHECK: %[[C:[a-z0-9_]+]] = memref.alloc()
// CHECK: scf.parallel
// CHECK: vector.store %{{.*}}, %[[C]]
// CHECK: scf.reduce
// CHECK: vector.load %[[C]]
// CHECK: vector.store %{{.*}}, %[[A]]
func.func @in_place(%a: memref<16x16xf32>, %b: memref<16x16xf32>) {
  %z = arith.constant 0.0 : f32
  %one = arith.constant 1.0 : f32
  %c = memref.alloc() {alignment = 64 : i64} : memref<16x16xf32>
  affine.parallel (%i) = (0) to (16) {
    affine.parallel (%j) = (0) to (16) {
      affine.store %z, %c[%i, %j] : memref<16x16xf32>
    }
  }
  linalg.generic {indexing_maps = [affine_map<(i, k, j) -> (i, k)>, affine_map<(i, k, j) -> (k, j)>, affine_map<(i, k, j) -> (i, j)>], iterator_types = ["parallel", "reduction", "parallel"]} ins(%a, %b : memref<16x16xf32>, memref<16x16xf32>) outs(%c : memref<16x16xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  affine.parallel (%i) = (0) to (16) {
    affine.parallel (%j) = (0) to (16) {
      %0 = affine.load %c[%i, %j] : memref<16x16xf32>
      %1 = arith.addf %0, %one : f32
      affine.store %1, %a[%i, %j] : memref<16x16xf32>
    }
  }
  memref.dealloc %c : memref<16x16xf32>
  return
}

// The same epilogue into a buffer of its own is fused.
// CHECK-LABEL: func.func @fresh(
// CHECK: scf.parallel
// CHECK: vector.fma
// CHECK: arith.addf {{.*}} : vector<8xf32>
// CHECK: vector.store
// CHECK: scf.reduce
// CHECK-NEXT: }
// CHECK-NEXT: memref.dealloc
// CHECK-NEXT: return
func.func @fresh(%a: memref<16x16xf32>, %b: memref<16x16xf32>, %out: memref<16x16xf32> {bufferize.result}) {
  %z = arith.constant 0.0 : f32
  %one = arith.constant 1.0 : f32
  %c = memref.alloc() {alignment = 64 : i64} : memref<16x16xf32>
  affine.parallel (%i) = (0) to (16) {
    affine.parallel (%j) = (0) to (16) {
      affine.store %z, %c[%i, %j] : memref<16x16xf32>
    }
  }
  linalg.generic {indexing_maps = [affine_map<(i, k, j) -> (i, k)>, affine_map<(i, k, j) -> (k, j)>, affine_map<(i, k, j) -> (i, j)>], iterator_types = ["parallel", "reduction", "parallel"]} ins(%a, %b : memref<16x16xf32>, memref<16x16xf32>) outs(%c : memref<16x16xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  affine.parallel (%i) = (0) to (16) {
    affine.parallel (%j) = (0) to (16) {
      %0 = affine.load %c[%i, %j] : memref<16x16xf32>
      %1 = arith.addf %0, %one : f32
      affine.store %1, %out[%i, %j] : memref<16x16xf32>
    }
  }
  memref.dealloc %c : memref<16x16xf32>
  return
}
