// strata-fuse-columns alone, on loops written by hand (each module's target
// has a 128 KiB L2: x, read by the column maximum and by the division, is
// 256 bytes a column, so blocks of 256 columns take half of it; 1000 = 3 x
// 256 + 232). A use of the column variable as a value (not an index) gets
// the column in the whole buffer, block start + %j. Not tiled: an input
// with a strided layout or an output in another memory space (the views
// are built for identity layouts in the default space), and a written
// buffer also read at another column (%m[0]: blocks would race).
// RUN: strata-opt %s --split-input-file --pass-pipeline='builtin.module(strata-fuse-columns)' | FileCheck %s
// RUN: strata-opt %s --split-input-file --pass-pipeline='builtin.module(strata-fuse-columns,strata-check-races)' --strata-remarks 2>&1 >/dev/null | FileCheck %s --check-prefix=RACES
// The tuner's knob: block=1 never tiles, block=N tiles in blocks of N
// columns whatever the cost rule says; a negative count is an error.
// RUN: strata-opt %s --split-input-file --pass-pipeline='builtin.module(strata-fuse-columns{block=1})' | FileCheck %s --check-prefix=NEVER
// RUN: strata-opt %s --split-input-file --pass-pipeline='builtin.module(strata-fuse-columns{block=48})' | FileCheck %s --check-prefix=FORTYEIGHT
// RUN: not strata-opt %s --split-input-file --pass-pipeline='builtin.module(strata-fuse-columns{block=-2})' 2>&1 | FileCheck %s --check-prefix=BAD
// NEVER-NOT: scf.parallel
// FORTYEIGHT-LABEL: func.func @tiled(
// FORTYEIGHT: scf.parallel (%{{.*}}) = (%{{.*}}) to (%c1008) step (%c48) {
// FORTYEIGHT: memref.subview %{{.*}}[0, %{{.*}}] [64, 48] [1, 1]
// FORTYEIGHT: memref.subview %{{.*}}[0, %{{.*}}] [64, 40] [1, 1]
// BAD: error: 'strata-fuse-columns' option block must be 0 (the cost rule), 1 (never tile) or a column count, not -2

// CHECK-LABEL: func.func @tiled(
// CHECK: scf.parallel (%[[JB:.*]]) = (%{{.*}}) to (%c1024) step (%c256) {
// CHECK: scf.if
// CHECK: memref.subview %{{.*}}[0, %[[JB]]] [64, 256] [1, 1] : memref<64x1000xf32> to memref<64x256xf32, strided<[1000, 1], offset: ?>>
// CHECK: memref.alloc() {{.*}} : memref<256xf32>
// CHECK: memref.dealloc
// CHECK: } else {
// CHECK: memref.subview %{{.*}}[0, %[[JB]]] [64, 232] [1, 1]
// RACES: remark: strata-check-races: scf.parallel is free of data races
module attributes {strata.target = {cpu = "x86-64-v3", features = "", vector_bits = 256 : i64, vector_registers = 16 : i64, l1d_bytes = 32768 : i64, l2_bytes = 131072 : i64, l3_bytes = 1048576 : i64, cores = 2 : i64}} {
  func.func @tiled(%x: memref<64x1000xf32>, %out: memref<64x1000xf32> {bufferize.result}) {
    %ninf = arith.constant 0xFF800000 : f32
    %m = memref.alloc() {alignment = 64 : i64} : memref<1000xf32>
    affine.for %j = 0 to 1000 {
      affine.store %ninf, %m[%j] : memref<1000xf32>
    }
    affine.for %i = 0 to 64 {
      affine.for %j = 0 to 1000 {
        %0 = affine.load %x[%i, %j] : memref<64x1000xf32>
        %1 = affine.load %m[%j] : memref<1000xf32>
        %2 = arith.maximumf %1, %0 : f32
        affine.store %2, %m[%j] : memref<1000xf32>
      }
    }
    affine.for %i = 0 to 64 {
      affine.for %j = 0 to 1000 {
        %0 = affine.load %x[%i, %j] : memref<64x1000xf32>
        %1 = affine.load %m[%j] : memref<1000xf32>
        %2 = arith.divf %0, %1 : f32
        affine.store %2, %out[%i, %j] : memref<64x1000xf32>
      }
    }
    return
  }
}

// -----

// CHECK-LABEL: func.func @column_value(
// CHECK: scf.parallel (%[[JB:.*]]) = (%{{.*}}) to (%c1024) step (%c256) {
// CHECK: arith.maximumf
// CHECK: affine.for %[[J:.*]] = 0 to 256 {
// CHECK-NEXT: %[[ABS:.*]] = arith.addi %[[JB]], %[[J]] : index
// CHECK: arith.index_cast %[[ABS]] : index to i32
module attributes {strata.target = {cpu = "x86-64-v3", features = "", vector_bits = 256 : i64, vector_registers = 16 : i64, l1d_bytes = 32768 : i64, l2_bytes = 131072 : i64, l3_bytes = 1048576 : i64, cores = 2 : i64}} {
  func.func @column_value(%x: memref<64x1000xf32>, %out: memref<64x1000xf32> {bufferize.result}) {
    %ninf = arith.constant 0xFF800000 : f32
    %m = memref.alloc() {alignment = 64 : i64} : memref<1000xf32>
    affine.for %j = 0 to 1000 {
      affine.store %ninf, %m[%j] : memref<1000xf32>
    }
    affine.for %i = 0 to 64 {
      affine.for %j = 0 to 1000 {
        %0 = affine.load %x[%i, %j] : memref<64x1000xf32>
        %1 = affine.load %m[%j] : memref<1000xf32>
        %2 = arith.maximumf %1, %0 : f32
        affine.store %2, %m[%j] : memref<1000xf32>
      }
    }
    affine.for %i = 0 to 64 {
      affine.for %j = 0 to 1000 {
        %0 = affine.load %x[%i, %j] : memref<64x1000xf32>
        %1 = affine.load %m[%j] : memref<1000xf32>
        %2 = arith.divf %0, %1 : f32
        %k = arith.index_cast %j : index to i32
        %kf = arith.sitofp %k : i32 to f32
        %3 = arith.addf %2, %kf : f32
        affine.store %3, %out[%i, %j] : memref<64x1000xf32>
      }
    }
    return
  }
}

// -----

// CHECK-LABEL: func.func @strided_input(
// CHECK-NOT: scf.parallel
// CHECK: return
module attributes {strata.target = {cpu = "x86-64-v3", features = "", vector_bits = 256 : i64, vector_registers = 16 : i64, l1d_bytes = 32768 : i64, l2_bytes = 131072 : i64, l3_bytes = 1048576 : i64, cores = 2 : i64}} {
  func.func @strided_input(%x: memref<64x1000xf32, strided<[2000, 1]>>, %out: memref<64x1000xf32> {bufferize.result}) {
    %ninf = arith.constant 0xFF800000 : f32
    %m = memref.alloc() {alignment = 64 : i64} : memref<1000xf32>
    affine.for %j = 0 to 1000 {
      affine.store %ninf, %m[%j] : memref<1000xf32>
    }
    affine.for %i = 0 to 64 {
      affine.for %j = 0 to 1000 {
        %0 = affine.load %x[%i, %j] : memref<64x1000xf32, strided<[2000, 1]>>
        %1 = affine.load %m[%j] : memref<1000xf32>
        %2 = arith.maximumf %1, %0 : f32
        affine.store %2, %m[%j] : memref<1000xf32>
      }
    }
    affine.for %i = 0 to 64 {
      affine.for %j = 0 to 1000 {
        %0 = affine.load %x[%i, %j] : memref<64x1000xf32, strided<[2000, 1]>>
        %1 = affine.load %m[%j] : memref<1000xf32>
        %2 = arith.divf %0, %1 : f32
        affine.store %2, %out[%i, %j] : memref<64x1000xf32>
      }
    }
    return
  }
}

// -----

// CHECK-LABEL: func.func @memory_space(
// CHECK-NOT: scf.parallel
// CHECK: return
module attributes {strata.target = {cpu = "x86-64-v3", features = "", vector_bits = 256 : i64, vector_registers = 16 : i64, l1d_bytes = 32768 : i64, l2_bytes = 131072 : i64, l3_bytes = 1048576 : i64, cores = 2 : i64}} {
  func.func @memory_space(%x: memref<64x1000xf32>, %out: memref<64x1000xf32, 1> {bufferize.result}) {
    %ninf = arith.constant 0xFF800000 : f32
    %m = memref.alloc() {alignment = 64 : i64} : memref<1000xf32>
    affine.for %j = 0 to 1000 {
      affine.store %ninf, %m[%j] : memref<1000xf32>
    }
    affine.for %i = 0 to 64 {
      affine.for %j = 0 to 1000 {
        %0 = affine.load %x[%i, %j] : memref<64x1000xf32>
        %1 = affine.load %m[%j] : memref<1000xf32>
        %2 = arith.maximumf %1, %0 : f32
        affine.store %2, %m[%j] : memref<1000xf32>
      }
    }
    affine.for %i = 0 to 64 {
      affine.for %j = 0 to 1000 {
        %0 = affine.load %x[%i, %j] : memref<64x1000xf32>
        %1 = affine.load %m[%j] : memref<1000xf32>
        %2 = arith.divf %0, %1 : f32
        affine.store %2, %out[%i, %j] : memref<64x1000xf32, 1>
      }
    }
    return
  }
}

// -----

// CHECK-LABEL: func.func @other_column(
// CHECK-NOT: scf.parallel
// CHECK: return
module attributes {strata.target = {cpu = "x86-64-v3", features = "", vector_bits = 256 : i64, vector_registers = 16 : i64, l1d_bytes = 32768 : i64, l2_bytes = 131072 : i64, l3_bytes = 1048576 : i64, cores = 2 : i64}} {
  func.func @other_column(%x: memref<64x1000xf32>, %out: memref<64x1000xf32> {bufferize.result}) {
    %ninf = arith.constant 0xFF800000 : f32
    %m = memref.alloc() {alignment = 64 : i64} : memref<1000xf32>
    affine.for %j = 0 to 1000 {
      affine.store %ninf, %m[%j] : memref<1000xf32>
    }
    affine.for %i = 0 to 64 {
      affine.for %j = 0 to 1000 {
        %0 = affine.load %x[%i, %j] : memref<64x1000xf32>
        %1 = affine.load %m[%j] : memref<1000xf32>
        %2 = arith.maximumf %1, %0 : f32
        affine.store %2, %m[%j] : memref<1000xf32>
      }
    }
    affine.for %i = 0 to 64 {
      affine.for %j = 0 to 1000 {
        %z = affine.load %m[0] : memref<1000xf32>
        %0 = affine.load %x[%i, %j] : memref<64x1000xf32>
        %1 = affine.load %m[%j] : memref<1000xf32>
        %2 = arith.divf %0, %1 : f32
        affine.store %2, %out[%i, %j] : memref<64x1000xf32>
      }
    }
    return
  }
}
