// strata-vectorize: a row reduction keeps several vectors of partial
// results (LLVM gives each its own register, so consecutive combines do
// not wait on each other), as many as the target's interleave factor that
// fit the trip count: 4 on AVX-512 (32 registers), 2 on AVX2 (16). What the
// wide loop leaves runs one vector at a time, then scalar. Float add and
// mul reduce horizontally with reassoc (a tree), max without it (it is
// exact in any order).
// RUN: strata-opt %s --split-input-file --strata-target=skylake-avx512 --strata-vectorize | FileCheck %s
// RUN: strata-opt %s --split-input-file --strata-target=x86-64-v3 --strata-vectorize | FileCheck %s --check-prefix=AVX2
// RUN: strata-opt %s --split-input-file --strata-target=skylake-avx512 --strata-vectorize --strata-remarks 2>&1 >/dev/null | FileCheck %s --check-prefix=REMARK

// 100 f32 steps, AVX-512: 64 lanes over [0, 64), 16 over [64, 96), 4
// scalar; on AVX2 16 lanes over [0, 96), 4 scalar (fewer than a vector).
// CHECK-LABEL: func.func @row_sum(
// CHECK: scf.for %{{.*}} = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%{{.*}} = %{{.*}}) -> (vector<64xf32>)
// CHECK: arith.addf %{{.*}} : vector<64xf32>
// CHECK: vector.reduction <add>, %{{.*}} fastmath<reassoc> : vector<64xf32> into f32
// CHECK: scf.for %{{.*}} iter_args(%{{.*}} = %{{.*}}) -> (vector<16xf32>)
// CHECK: vector.reduction <add>, %{{.*}} fastmath<reassoc> : vector<16xf32> into f32
// CHECK: affine.for %{{.*}} = 96 to 100
// AVX2-LABEL: func.func @row_sum(
// AVX2: -> (vector<16xf32>)
// AVX2: vector.reduction <add>, %{{.*}} fastmath<reassoc> : vector<16xf32> into f32
// AVX2-NOT: vector<8xf32>
// AVX2: affine.for %{{.*}} = 96 to 100
// REMARK: remark: strata-vectorize: add reduction of 100 steps vectorized, 4 x 16 lanes; 36 leftover step(s) stay for one vector at a time, then scalar
// REMARK: remark: strata-vectorize: add reduction of 36 steps vectorized, 16 lanes; 4 leftover step(s) stay scalar
func.func @row_sum(%x: memref<3x100xf32>, %out: memref<3xf32> {bufferize.result}) {
  %z = arith.constant 0.0 : f32
  affine.for %i = 0 to 3 {
    affine.store %z, %out[%i] : memref<3xf32>
    affine.for %j = 0 to 100 {
      %v = affine.load %x[%i, %j] : memref<3x100xf32>
      %a = affine.load %out[%i] : memref<3xf32>
      %s = arith.addf %a, %v : f32
      affine.store %s, %out[%i] : memref<3xf32>
    }
  }
  return
}

// -----

// f64 max of squares, 37 steps: AVX-512 has 8 lanes, 4 x 8 = 32 fit, then
// 5 scalar (fewer than a vector). No reassoc on max.
// CHECK-LABEL: func.func @row_max(
// CHECK: -> (vector<32xf64>)
// CHECK: arith.mulf %{{.*}} : vector<32xf64>
// CHECK: arith.maximumf %{{.*}} : vector<32xf64>
// CHECK: vector.reduction <maximumf>, %{{.*}} : vector<32xf64> into f64
// CHECK-NOT: vector<8xf64>
// CHECK: affine.for %{{.*}} = 32 to 37
// AVX2-LABEL: func.func @row_max(
// AVX2: -> (vector<8xf64>)
// AVX2: -> (vector<4xf64>)
// AVX2: affine.for %{{.*}} = 36 to 37
// REMARK: remark: strata-vectorize: maximumf reduction of 37 steps vectorized, 4 x 8 lanes; 5 leftover step(s) stay scalar
func.func @row_max(%x: memref<2x37xf64>, %out: memref<2xf64> {bufferize.result}) {
  %z = arith.constant 0xFFF0000000000000 : f64
  affine.for %i = 0 to 2 {
    affine.store %z, %out[%i] : memref<2xf64>
    affine.for %j = 0 to 37 {
      %v = affine.load %x[%i, %j] : memref<2x37xf64>
      %sq = arith.mulf %v, %v : f64
      %a = affine.load %out[%i] : memref<2xf64>
      %s = arith.maximumf %a, %sq : f64
      affine.store %s, %out[%i] : memref<2xf64>
    }
  }
  return
}

// -----

// Fewer steps than two vectors: one accumulator, as before.
// CHECK-LABEL: func.func @short_row(
// CHECK: -> (vector<16xf32>)
// CHECK-NOT: vector<32xf32>
// REMARK: remark: strata-vectorize: add reduction of 20 steps vectorized, 16 lanes; 4 leftover step(s) stay scalar
func.func @short_row(%x: memref<4x20xf32>, %out: memref<4xf32> {bufferize.result}) {
  %z = arith.constant 0.0 : f32
  affine.for %i = 0 to 4 {
    affine.store %z, %out[%i] : memref<4xf32>
    affine.for %j = 0 to 20 {
      %v = affine.load %x[%i, %j] : memref<4x20xf32>
      %a = affine.load %out[%i] : memref<4xf32>
      %s = arith.addf %a, %v : f32
      affine.store %s, %out[%i] : memref<4xf32>
    }
  }
  return
}
