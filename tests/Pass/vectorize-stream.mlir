// strata-vectorize's streaming stores on elementwise loops: a store to a
// buffer larger than the target's last-level cache (8 MiB in this module)
// that the loop does not read gets two vector loops in an scf.if on the
// buffer's base alignment, the aligned one with nontemporal stores at the
// vector's alignment (32 bytes at 256 bits); strata-parallelize then ends
// the outlined body in a fence. Small outputs, in-place updates and rows
// that are not whole vectors keep ordinary stores.
// RUN: strata-opt %s --strata-lower-to-affine --strata-vectorize | FileCheck %s
// RUN: strata-opt %s --strata-lower-to-affine --strata-vectorize --strata-remarks 2>&1 >/dev/null | FileCheck %s --check-prefix=REMARK
// RUN: strata-opt %s --strata-lower-to-affine --strata-vectorize --strata-parallelize | FileCheck %s --check-prefix=OUTLINE

module attributes {strata.target = {cpu = "x86-64-v3", features = "", vector_bits = 256 : i64, vector_registers = 16 : i64, l1d_bytes = 32768 : i64, l2_bytes = 1048576 : i64, l3_bytes = 8388608 : i64, cores = 2 : i64}} {

// 1100 x 2048 f32: 9 MB.
// CHECK-LABEL: func.func @streams(
// CHECK-SAME: %[[X:[a-z0-9_]+]]: memref<1100x2048xf32>, %[[Y:[a-z0-9_]+]]: memref<1100x2048xf32>, %[[OUT:[a-z0-9_]+]]: memref<1100x2048xf32>
// CHECK: affine.parallel (%[[I:.*]]) = (0) to (1100)
// CHECK: %[[P:.*]] = memref.extract_aligned_pointer_as_index %[[OUT]]
// CHECK: %[[LOW:.*]] = arith.andi %[[P]], %c31
// CHECK: %[[OK:.*]] = arith.cmpi eq, %[[LOW]], %c0
// CHECK: scf.if %[[OK]] {
// CHECK: scf.for %[[J:.*]] = %c0 to %c2048 step %c8
// CHECK: %[[S:.*]] = arith.addf
// CHECK: vector.store %[[S]], %[[OUT]][%[[I]], %[[J]]] {alignment = 32 : i64, nontemporal = true} : memref<1100x2048xf32>, vector<8xf32>
// CHECK: } else {
// CHECK: scf.for %[[J2:.*]] = %c0 to %c2048 step %c8
// CHECK: vector.store %{{.*}}, %[[OUT]][%[[I]], %[[J2]]] : memref<1100x2048xf32>, vector<8xf32>
// CHECK: return
// REMARK: remark: strata-vectorize: loop of 2048 iterations vectorized, 8 lanes; 0 leftover iteration(s) stay scalar; streaming stores where the output is aligned
// OUTLINE-LABEL: llvm.func internal @__strata_parallel_body_0(
// OUTLINE: nontemporal = true
// OUTLINE: llvm.fence seq_cst
// OUTLINE-NEXT: llvm.return
func.func @streams(%x: tensor<1100x2048xf32>, %y: tensor<1100x2048xf32>) -> tensor<1100x2048xf32> {
  %r = strata.add %x, %y : tensor<1100x2048xf32>
  return %r : tensor<1100x2048xf32>
}

// 2050 columns are not whole 32-byte vectors: ordinary stores.
// CHECK-LABEL: func.func @odd_rows(
// CHECK-NOT: extract_aligned_pointer
// CHECK-NOT: nontemporal
// CHECK: vector.store %{{.*}} : memref<1100x2050xf32>, vector<8xf32>
// CHECK-NOT: nontemporal
// CHECK: return
// REMARK: remark: strata-vectorize: loop of 2050 iterations vectorized, 8 lanes; 2 leftover iteration(s) stay scalar{{$}}
func.func @odd_rows(%x: tensor<1100x2050xf32>) -> tensor<1100x2050xf32> {
  %r = strata.neg %x : tensor<1100x2050xf32>
  return %r : tensor<1100x2050xf32>
}

// 1 MB fits the cache: ordinary stores, no fence in the body.
// CHECK-LABEL: func.func @fits(
// CHECK-NOT: nontemporal
// CHECK: vector.store %{{.*}} : memref<128x2048xf32>, vector<8xf32>
// CHECK-NOT: nontemporal
// CHECK: return
// REMARK: remark: strata-vectorize: loop of 2048 iterations vectorized, 8 lanes; 0 leftover iteration(s) stay scalar{{$}}
// OUTLINE-LABEL: llvm.func internal @__strata_parallel_body_2(
// OUTLINE-NOT: llvm.fence
// OUTLINE: llvm.return
func.func @fits(%x: tensor<128x2048xf32>) -> tensor<128x2048xf32> {
  %r = strata.neg %x : tensor<128x2048xf32>
  return %r : tensor<128x2048xf32>
}

// In place (the loop reads the buffer it writes): its lines are in cache.
// CHECK-LABEL: func.func @in_place(
// CHECK-NOT: nontemporal
// CHECK: vector.store %{{.*}} : memref<1100x2048xf32>, vector<8xf32>
// CHECK-NOT: nontemporal
// CHECK: return
func.func @in_place(%m: memref<1100x2048xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %rows = arith.constant 1100 : index
  %cols = arith.constant 2048 : index
  %two = arith.constant 2.0 : f32
  affine.parallel (%i) = (0) to (1100) {
    affine.parallel (%j) = (0) to (2048) {
      %v = affine.load %m[%i, %j] : memref<1100x2048xf32>
      %d = arith.mulf %v, %two : f32
      affine.store %d, %m[%i, %j] : memref<1100x2048xf32>
    }
  }
  return
}


// strata.stream_stores (strata-fuse-columns' hint) streams a block of a
// larger output whatever its size, but not when the same loop also stores
// a block temporary, which is read again soon and must stay in cache.
// CHECK-LABEL: func.func @hinted(
// CHECK: vector.store {{.*}}nontemporal = true{{.*}}vector<8xf32>
// CHECK: return
// CHECK-LABEL: func.func @hinted_with_temporary(
// CHECK-NOT: nontemporal
// CHECK: return
// REMARK: vectorize-stream.mlir:[[@LINE+5]]:5: remark: strata-vectorize: loop of 128 iterations vectorized, 8 lanes; 0 leftover iteration(s) stay scalar; streaming stores where the output is aligned
// REMARK: vectorize-stream.mlir:[[@LINE+16]]:5: remark: strata-vectorize: loop of 128 iterations vectorized, 8 lanes; 0 leftover iteration(s) stay scalar{{$}}
func.func @hinted(%x: memref<64x128xf32>, %out: memref<64x1024xf32>, %c: index) {
  %v = memref.subview %out[0, %c] [64, 128] [1, 1] : memref<64x1024xf32> to memref<64x128xf32, strided<[1024, 1], offset: ?>>
  affine.parallel (%i) = (0) to (64) {
    affine.parallel (%j) = (0) to (128) {
      %a = affine.load %x[%i, %j] : memref<64x128xf32>
      %b = arith.addf %a, %a : f32
      affine.store %b, %v[%i, %j] : memref<64x128xf32, strided<[1024, 1], offset: ?>>
    } {strata.stream_stores}
  }
  return
}
func.func @hinted_with_temporary(%x: memref<64x128xf32>, %out: memref<64x1024xf32>, %c: index) {
  %v = memref.subview %out[0, %c] [64, 128] [1, 1] : memref<64x1024xf32> to memref<64x128xf32, strided<[1024, 1], offset: ?>>
  %t = memref.alloc() : memref<64x128xf32>
  affine.parallel (%i) = (0) to (64) {
    affine.parallel (%j) = (0) to (128) {
      %a = affine.load %x[%i, %j] : memref<64x128xf32>
      %b = arith.addf %a, %a : f32
      affine.store %b, %v[%i, %j] : memref<64x128xf32, strided<[1024, 1], offset: ?>>
      affine.store %b, %t[%i, %j] : memref<64x128xf32>
    } {strata.stream_stores}
  }
  memref.dealloc %t : memref<64x128xf32>
  return
}
}
