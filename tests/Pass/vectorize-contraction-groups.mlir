// strata-tile's fourth tile size (column blocks per task, BLIS's NC) and
// the kernel strata-vectorize builds from it: each task packs its blocks'
// panels of B side by side (memref<NB x KC x NR>), then runs every row
// panel of A against each of them in turn, so A's panel comes from memory
// once per task instead of once per block. The masked last block is a
// task of its own; a partial last group runs fewer blocks (arith.minsi).
// The targets are named, whatever the host.
// RUN: strata-opt %s --strata-target=skylake-avx512 --pass-pipeline='builtin.module(canonicalize,cse,strata-fuse,strata-lower-to-affine{keep-contractions=true},canonicalize,cse,strata-tile{tile-sizes=6,32,8,96},strata-vectorize{min-tasks=1},canonicalize,cse)' | FileCheck %s
// RUN: strata-opt %s --strata-target=skylake-avx512 --pass-pipeline='builtin.module(canonicalize,cse,strata-fuse,strata-lower-to-affine{keep-contractions=true},canonicalize,cse,strata-tile{tile-sizes=6,32},strata-vectorize)' --strata-remarks 2>&1 >/dev/null | FileCheck %s --check-prefixes=AVX512,SQUARE512
// RUN: strata-opt %s --strata-target=skylake-avx512 --pass-pipeline='builtin.module(canonicalize,cse,strata-fuse,strata-lower-to-affine{keep-contractions=true},canonicalize,cse,strata-tile{tile-sizes=6,32},strata-vectorize)' --strata-remarks 2>&1 >/dev/null | FileCheck %s --check-prefix=EPI512
// RUN: strata-opt %s --strata-target=haswell --pass-pipeline='builtin.module(canonicalize,cse,strata-fuse,strata-lower-to-affine{keep-contractions=true},canonicalize,cse,strata-tile,strata-vectorize)' --strata-remarks 2>&1 >/dev/null | FileCheck %s --check-prefix=EPI2
// RUN: strata-opt %s --strata-target=haswell --pass-pipeline='builtin.module(canonicalize,cse,strata-fuse,strata-lower-to-affine{keep-contractions=true},canonicalize,cse,strata-tile,strata-vectorize)' --strata-remarks 2>&1 >/dev/null | FileCheck %s --check-prefixes=AVX2,SQUARE2

// 229 columns: 7 full blocks of 32 in groups of 3 (3, 3 and 1) and 5
// masked columns: four tasks, the first three of them groups.
// CHECK-LABEL: func.func @groups(
// CHECK: scf.parallel (%{{.*}}) = (%{{.*}}) to (%c4) step
// CHECK: %[[T:.*]] = arith.remui
// CHECK: %[[FULL:.*]] = arith.cmpi ult, %[[T]], %c3
// CHECK: scf.if %[[FULL]] {
// CHECK: %[[FIRST:.*]] = arith.muli %[[T]], %c3
// CHECK: %[[LEFT:.*]] = arith.subi %c7, %[[FIRST]]
// CHECK: %[[COUNT:.*]] = arith.minsi %[[LEFT]], %c3
// CHECK: %[[P:.*]] = memref.alloc() {alignment = 64 : i64} : memref<3x8x32xf32>
// Pack this reduction block's panel of every block of the group.
// CHECK: scf.for %[[S:.*]] = %c0 to %[[COUNT]] step %c1 {
// CHECK: vector.store %{{.*}}, %[[P]][%[[S]], %{{.*}}, %c0]
// CHECK: vector.store %{{.*}}, %[[P]][%[[S]], %{{.*}}, %c16]
// Then each row panel against every packed panel.
// CHECK: scf.for %{{.*}} = %c0 to %c2 step %c1 {
// CHECK: scf.for %[[S2:.*]] = %c0 to %[[COUNT]] step %c1 {
// CHECK: iter_args({{.*}}) -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>)
// CHECK: vector.load %[[P]][%[[S2]], %{{.*}}, %c0]
// CHECK: vector.load %[[P]][%[[S2]], %{{.*}}, %c16]
// CHECK: vector.fma
// CHECK: memref.dealloc %[[P]] : memref<3x8x32xf32>
// CHECK: } else {
// CHECK: memref.alloc() {alignment = 64 : i64} : memref<1x8x16xf32>
// CHECK: vector.maskedload
func.func @groups(%a: tensor<13x20xf32>, %b: tensor<20x229xf32>) -> tensor<13x229xf32> {
  %r = strata.matmul %a, %b : tensor<13x20xf32>, tensor<20x229xf32> -> tensor<13x229xf32>
  return %r : tensor<13x229xf32>
}

// The target's choice: eight panels of KC steps fill half of L2 (1 MiB on
// skylake-avx512: KC = 512; 256 KiB on haswell: KC = 256); with 128
// blocks (haswell) there are tasks enough for eight blocks each, with 64
// (skylake-avx512) strata-vectorize takes four, for 16 tasks.
// AVX512: strata-tile: contraction 64x2048x2048 f32: register tile 6 rows x 2 vectors, cache tile 512 reduction steps, up to 8 column block(s) per task
// AVX512: strata-vectorize: contraction 64x2048x2048 f32 as a 6x32 register-blocked micro-kernel on vector<16xf32>, A packed in 6-row panels, B in 512x32 panels; 64 column block(s) of 32, 4 per task sharing each row panel of A
// AVX2: strata-tile: contraction 64x2048x2048 f32: register tile 6 rows x 2 vectors, cache tile 256 reduction steps, up to 8 column block(s) per task
// AVX2: strata-vectorize: contraction 64x2048x2048 f32 as a 6x16 register-blocked micro-kernel on vector<8xf32>, A packed in 6-row panels, B in 256x16 panels; 128 column block(s) of 16, 8 per task sharing each row panel of A
func.func @big(%a: tensor<64x2048xf32>, %b: tensor<2048x2048xf32>) -> tensor<64x2048xf32> {
  %r = strata.matmul %a, %b : tensor<64x2048xf32>, tensor<2048x2048xf32> -> tensor<64x2048xf32>
  return %r : tensor<64x2048xf32>
}

// With a fused epilogue (bias + relu) K stays one cache block where one
// panel that long fits half of L2 (the partial sums would otherwise need a
// temporary the size of the output): KC = 2048, two 2048 x 32 panels per
// task (haswell's 256 KiB L2 holds one).
// EPI512: strata-tile: contraction 64x2048x256 f32: register tile 6 rows x 2 vectors, cache tile 2048 reduction steps, up to 2 column block(s) per task
// EPI2: strata-tile: contraction 64x2048x256 f32: register tile 6 rows x 2 vectors, cache tile 2048 reduction steps, up to 1 column block(s) per task
func.func @mlp(%x: tensor<64x2048xf32>, %w: tensor<2048x256xf32>, %bias: tensor<256xf32>) -> tensor<64x256xf32> {
  %mm = strata.matmul %x, %w : tensor<64x2048xf32>, tensor<2048x256xf32> -> tensor<64x256xf32>
  %bb = strata.broadcast %bias dims = [0] : tensor<256xf32> -> tensor<64x256xf32>
  %s = strata.add %mm, %bb : tensor<64x256xf32>
  %r = strata.map(%s) : (tensor<64x256xf32>) -> tensor<64x256xf32> {
  ^bb0(%v: f32):
    %z = arith.constant 0.0 : f32
    %m = arith.maximumf %v, %z : f32
    strata.yield %m : f32
  }
  return %r : tensor<64x256xf32>
}

// Tasks enough for the workers come from splitting the rows before
// narrowing the groups: a group reads all of A, a row chunk reads B and
// packs a copy of it. At 1024^3 (skylake-avx512: 32 blocks of 32, up to 8
// per task) eight groups of four in two row chunks move 8|A| + 4|B|;
// narrowing to sixteen groups of two, one chunk, would move 16|A| + 2|B|.
// SQUARE512: strata-vectorize: contraction 1024x1024x1024 f32 as a 6x32 register-blocked micro-kernel on vector<16xf32>, A packed in 6-row panels, B in 512x32 panels; 32 column block(s) of 32, 4 per task sharing each row panel of A, each split into 2 row chunks for the workers
// SQUARE2: strata-vectorize: contraction 1024x1024x1024 f32 as a 6x16 register-blocked micro-kernel on vector<8xf32>, A packed in 6-row panels, B in 256x16 panels; 64 column block(s) of 16, 8 per task sharing each row panel of A, each split into 2 row chunks for the workers
// With a short A (64 rows) A costs little to read again: the groups narrow
// (the @big case above).
func.func @square(%a: tensor<1024x1024xf32>, %b: tensor<1024x1024xf32>) -> tensor<1024x1024xf32> {
  %r = strata.matmul %a, %b : tensor<1024x1024xf32>, tensor<1024x1024xf32> -> tensor<1024x1024xf32>
  return %r : tensor<1024x1024xf32>
}
