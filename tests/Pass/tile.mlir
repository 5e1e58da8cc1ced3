// strata-tile: each contraction that gets the outer-product kernel (kept
// structured by strata-lower-to-affine{keep-contractions}) gets per-CPU
// tiles (register tile rows and vectors, cache tile of reduction steps)
// for strata-vectorize; the tile-sizes option overrides them (rows,
// columns, reduction), and the micro-kernel follows. A matvec gets the dot
// kernel, which has no tiles.
// The tiles are the named target's (its registers and L2), whatever the host.
// RUN: strata-opt %s --strata-target=skylake-avx512 --strata-lower-to-affine=keep-contractions=true --strata-tile | FileCheck %s
// RUN: strata-opt %s --strata-target=skylake-avx512 --strata-lower-to-affine=keep-contractions=true --strata-tile --strata-remarks 2>&1 >/dev/null | FileCheck %s --check-prefix=AVX512
// RUN: strata-opt %s --strata-target=haswell --strata-lower-to-affine=keep-contractions=true --strata-tile --strata-remarks 2>&1 >/dev/null | FileCheck %s --check-prefix=AVX2
// RUN: strata-opt %s --strata-target=x86-64 --strata-lower-to-affine=keep-contractions=true --strata-tile --strata-remarks 2>&1 >/dev/null | FileCheck %s --check-prefix=SSE
// RUN: strata-opt %s --strata-target=skylake-avx512 --pass-pipeline='builtin.module(strata-lower-to-affine{keep-contractions=true},strata-tile{tile-sizes=4,16,8},strata-vectorize{vector-width=512})' | FileCheck %s --check-prefix=GIVEN
// RUN: not strata-opt %s --strata-lower-to-affine=keep-contractions=true --strata-tile=tile-sizes=1,2,3,4,5 2>&1 | FileCheck %s --check-prefix=BAD
// Without keep-contractions the contraction is loops, which strata-tile
// leaves alone.
// RUN: strata-opt %s --strata-target=skylake-avx512 --strata-lower-to-affine --strata-tile | FileCheck %s --check-prefix=LOOPS

// CHECK-LABEL: func.func @mm(
// CHECK: linalg.generic {{.*}} ins(
// CHECK-SAME: attrs = {strata.tile_sizes = array<i64: 6, 4, 20, 102>}
// GIVEN-LABEL: func.func @mm(
// 13 rows in panels of 4 (the last of one row), K = 20 in blocks of 8
// (the first, from zero, and the last peeled), one vector of columns.
// GIVEN: memref.alloc() {alignment = 64 : i64} : memref<1x4x20x4xf32>
// GIVEN: %[[P:.*]] = memref.alloc() {alignment = 64 : i64} : memref<1x8x16xf32>
// GIVEN: iter_args({{.*}}) -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>)
// GIVEN: scf.for %[[KB:.*]] = %c8{{.*}} to %c16{{.*}} step %c8
// GIVEN: iter_args({{.*}}) -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>)
// The reduction of @long is blocked so that eight KC x NV*W panels of B
// fill half of L2: skylake-avx512's (32 registers: 4 vectors a row) 1 MiB /
// 2 / (4 x 64 B) / 8 = 256 steps, haswell's (16 registers: 2 vectors)
// 256 KiB / 2 / (2 x 32 B) / 8 = 256, x86-64's 256 KiB / 2 / (2 x 16 B) /
// 8 = 512. A short K leaves room for more panels per task: 1 MiB / 2 /
// (20 x 4 x 64 B) = 102.
// AVX512: contraction 13x20x37 f32: register tile 6 rows x 4 vectors, cache tile 20 reduction steps, up to 102 column block(s) per task
// AVX512: contraction 4x9000x40 f32: register tile 4 rows x 4 vectors, cache tile 256 reduction steps, up to 8 column block(s) per task
// AVX512: contraction 3 batch of 5x7x9 i32: register tile 5 rows x 4 vectors, cache tile 7 reduction steps
// AVX512-NOT: strata-tile: contraction {{.*}}64x4096x1
// AVX2: contraction 4x9000x40 f32: register tile 4 rows x 2 vectors, cache tile 256 reduction steps, up to 8 column block(s) per task
// SSE: contraction 4x9000x40 f32: register tile 4 rows x 2 vectors, cache tile 512 reduction steps, up to 8 column block(s) per task
// BAD: error: 'strata-tile' option tile-sizes expects up to four positive sizes: M,N,K,NC
// LOOPS-NOT: strata.tile_sizes
func.func @mm(%a: tensor<13x20xf32>, %b: tensor<20x37xf32>) -> tensor<13x37xf32> {
  %0 = strata.matmul %a, %b : tensor<13x20xf32>, tensor<20x37xf32> -> tensor<13x37xf32>
  return %0 : tensor<13x37xf32>
}

func.func @long(%a: tensor<4x9000xf32>, %b: tensor<9000x40xf32>) -> tensor<4x40xf32> {
  %0 = strata.matmul %a, %b : tensor<4x9000xf32>, tensor<9000x40xf32> -> tensor<4x40xf32>
  return %0 : tensor<4x40xf32>
}

func.func @batched(%a: tensor<3x5x7xi32>, %b: tensor<3x7x9xi32>) -> tensor<3x5x9xi32> {
  %0 = strata.matmul %a, %b : tensor<3x5x7xi32>, tensor<3x7x9xi32> -> tensor<3x5x9xi32>
  return %0 : tensor<3x5x9xi32>
}

func.func @matvec(%a: tensor<64x4096xf32>, %x: tensor<4096x1xf32>) -> tensor<64x1xf32> {
  %0 = strata.matmul %a, %x : tensor<64x4096xf32>, tensor<4096x1xf32> -> tensor<64x1xf32>
  return %0 : tensor<64x1xf32>
}
