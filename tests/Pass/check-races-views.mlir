// strata-check-races reads an access through a memref.subview (rank kept,
// static strides) as an access of the viewed buffer at offset + stride x
// index, and proves loops over blocks race-free from the inner loops'
// ranges: a block of 128 columns from a step of 128 never meets the next
// block. Blocks that overlap (a step of 64) are a race, and so are two
// writes of one element through a transpose; a view whose strides are not
// static keeps its indices opaque (a warning).
// RUN: strata-opt %s --split-input-file --verify-diagnostics=only-expected --strata-check-races
// RUN: not strata-opt %s --split-input-file --strata-check-races --strata-remarks 2>&1 >/dev/null | FileCheck %s
// CHECK: remark: strata-check-races: scf.parallel is free of data races (1 accesses checked)
// CHECK: remark: strata-check-races: affine.parallel is free of data races (2 accesses checked)
// CHECK: remark: strata-check-races: affine.parallel is free of data races (2 accesses checked)
// CHECK-NOT: free of data races

func.func @blocks(%x: memref<64x1024xf32>) {
  %c0 = arith.constant 0 : index
  %c1024 = arith.constant 1024 : index
  %c128 = arith.constant 128 : index
  %v = arith.constant 1.0 : f32
  scf.parallel (%jb) = (%c0) to (%c1024) step (%c128) {
    %b = memref.subview %x[0, %jb] [64, 128] [1, 1] : memref<64x1024xf32> to memref<64x128xf32, strided<[1024, 1], offset: ?>>
    affine.for %i = 0 to 64 {
      affine.for %j = 0 to 128 {
        affine.store %v, %b[%i, %j] : memref<64x128xf32, strided<[1024, 1], offset: ?>>
      }
    }
    scf.reduce
  }
  return
}

// -----

// Rows of a 2-D buffer through views of one row each, read and written.
func.func @rows(%x: memref<16x40xf32>) {
  affine.parallel (%i) = (0) to (16) {
    %r = memref.subview %x[%i, 0] [1, 40] [1, 1] : memref<16x40xf32> to memref<1x40xf32, strided<[40, 1], offset: ?>>
    affine.for %j = 0 to 40 {
      %a = affine.load %r[0, %j] : memref<1x40xf32, strided<[40, 1], offset: ?>>
      %s = arith.addf %a, %a : f32
      affine.store %s, %r[0, %j] : memref<1x40xf32, strided<[40, 1], offset: ?>>
    }
  }
  return
}

// -----

func.func @overlapping_blocks(%x: memref<64x1024xf32>) {
  %c0 = arith.constant 0 : index
  %c896 = arith.constant 896 : index
  %c64 = arith.constant 64 : index
  %v = arith.constant 1.0 : f32
  // expected-error@+1 {{data race: iterations 0 and 64 of this scf.parallel both write %x[0, 64]}}
  scf.parallel (%jb) = (%c0) to (%c896) step (%c64) {
    %b = memref.subview %x[0, %jb] [64, 128] [1, 1] : memref<64x1024xf32> to memref<64x128xf32, strided<[1024, 1], offset: ?>>
    affine.for %i = 0 to 64 {
      affine.for %j = 0 to 128 {
        affine.store %v, %b[%i, %j] : memref<64x128xf32, strided<[1024, 1], offset: ?>>
      }
    }
    scf.reduce
  }
  return
}

// -----

func.func @dynamic_strides(%x: memref<64x1024xf32>, %s: index) {
  %c0 = arith.constant 0 : index
  %c1024 = arith.constant 1024 : index
  %c128 = arith.constant 128 : index
  %v = arith.constant 1.0 : f32
  // expected-warning@+1 {{an access through a view of the buffer}}
  scf.parallel (%jb) = (%c0) to (%c1024) step (%c128) {
    %b = memref.subview %x[0, %jb] [64, 128] [1, %s] : memref<64x1024xf32> to memref<64x128xf32, strided<[1024, ?], offset: ?>>
    affine.for %i = 0 to 64 {
      affine.for %j = 0 to 128 {
        affine.store %v, %b[%i, %j] : memref<64x128xf32, strided<[1024, ?], offset: ?>>
      }
    }
    scf.reduce
  }
  return
}

// -----

// Through a transpose, %t[i, 1] is %a[1, i]: iterations 0 and 1 both
// write %a[1, 0].
func.func @through_a_transpose(%a: memref<4x4xf32>) {
  %c = arith.constant 1.0 : f32
  %t = memref.transpose %a (i, j) -> (j, i) : memref<4x4xf32> to memref<4x4xf32, strided<[1, 4]>>
  // expected-error@+1 {{data race: iterations 0 and 1 of this affine.parallel both write %a[1, 0]}}
  affine.parallel (%i) = (0) to (4) {
    affine.store %c, %a[%i, 0] : memref<4x4xf32>
    affine.store %c, %t[%i, 1] : memref<4x4xf32, strided<[1, 4]>>
  }
  return
}

// -----

// Through the transpose, %t[1, i] is %a[i, 1]: each iteration its own row.
func.func @transpose_own_rows(%a: memref<4x4xf32>) {
  %c = arith.constant 1.0 : f32
  %t = memref.transpose %a (i, j) -> (j, i) : memref<4x4xf32> to memref<4x4xf32, strided<[1, 4]>>
  affine.parallel (%i) = (0) to (4) {
    affine.store %c, %a[%i, 0] : memref<4x4xf32>
    affine.store %c, %t[1, %i] : memref<4x4xf32, strided<[1, 4]>>
  }
  return
}
