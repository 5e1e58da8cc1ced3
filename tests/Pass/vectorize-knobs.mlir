// The contraction kernels' tunable decisions (passes/src/knobs.rs):
// strata-vectorize{min-tasks, mc, pack-a, dot-group} override the
// heuristics' row splitting, rows per task, A packing and matvec group
// size. The target is named
// (skylake-avx512: 16 f32 lanes), whatever the host, and the register
// tile's columns are given (2 vectors per block; strata-tile would choose
// 4 on a 32-register target, see tile.mlir).
// RUN: strata-opt %s --strata-target=skylake-avx512 --pass-pipeline='builtin.module(canonicalize,cse,strata-fuse,strata-lower-to-affine{keep-contractions=true},canonicalize,cse,strata-tile{tile-sizes=6,32},strata-vectorize)' | FileCheck %s --check-prefix=DEFAULT
// RUN: strata-opt %s --strata-target=skylake-avx512 --pass-pipeline='builtin.module(canonicalize,cse,strata-fuse,strata-lower-to-affine{keep-contractions=true},canonicalize,cse,strata-tile{tile-sizes=6,32},strata-vectorize{min-tasks=1 pack-a=always dot-group=3})' | FileCheck %s --check-prefix=TUNED
// RUN: strata-opt %s --strata-target=skylake-avx512 --pass-pipeline='builtin.module(canonicalize,cse,strata-fuse,strata-lower-to-affine{keep-contractions=true},canonicalize,cse,strata-tile{tile-sizes=6,32},strata-vectorize{pack-a=never})' --strata-remarks 2>&1 >/dev/null | FileCheck %s --check-prefix=NEVER
// mc=12: A's rows in chunks of 12 (two panels of 6) for every contraction,
// whatever the partition would choose (6 chunks of 7 rows by default):
// 6 full panels and 4 rows left are 3 chunks.
// RUN: strata-opt %s --strata-target=skylake-avx512 --pass-pipeline='builtin.module(canonicalize,cse,strata-fuse,strata-lower-to-affine{keep-contractions=true},canonicalize,cse,strata-tile{tile-sizes=6,32},strata-vectorize{mc=12})' --strata-remarks 2>&1 >/dev/null | FileCheck %s --check-prefix=MC
// MC: remark: strata-vectorize: contraction 40x24x64 f32 as a 6x32 register-blocked micro-kernel on vector<16xf32>, B packed in 24x32 panels; 2 column block(s) of 32, each split into 3 row chunks for the workers;
// MC: remark: strata-vectorize: contraction 40x24x128 f32 {{.*}}; 4 column block(s) of 32, each split into 3 row chunks for the workers;
// Out-of-range values are errors naming the option.
// RUN: not strata-opt %s --strata-lower-to-affine=keep-contractions=true --strata-vectorize=mc=-3 2>&1 | FileCheck %s --check-prefix=BADM
// BADM: error: 'strata-vectorize' option mc must be 1 to 1048576 (or 0 for the default), not -3
// RUN: not strata-opt %s --strata-lower-to-affine=keep-contractions=true --strata-vectorize=min-tasks=65 2>&1 | FileCheck %s --check-prefix=BADT
// RUN: not strata-opt %s --strata-lower-to-affine=keep-contractions=true --strata-vectorize=dot-group=9 2>&1 | FileCheck %s --check-prefix=BADG
// RUN: not strata-opt %s --strata-lower-to-affine=keep-contractions=true --strata-vectorize=pack-a=sometimes 2>&1 | FileCheck %s --check-prefix=BADP
// BADT: error: 'strata-vectorize' option min-tasks must be 1 to 64 (or 0 for the default), not 65
// BADG: error: 'strata-vectorize' option dot-group must be 1 to 8 (or 0 for the default), not 9
// BADP: error: pass 'strata-vectorize' option 'pack-a' expects one of auto, never, always, found 'sometimes'

// Two column blocks of 32: by default the rows are split so that the
// kernel is 16 tasks or more (2 blocks x 6 chunks of 7 row panels), A read
// in place; min-tasks=1 leaves one task for both column blocks (each row
// panel of A feeds both packed panels of B), pack-a=always copies A into
// 6-row panels first.
// DEFAULT-LABEL: func.func @small_n(
// DEFAULT-NOT: memref<1x7x24x6xf32>
// DEFAULT: scf.parallel (%{{.*}}) = (%{{.*}}) to (%c12)
// DEFAULT: memref.alloc() {alignment = 64 : i64} : memref<1x24x32xf32>
// TUNED-LABEL: func.func @small_n(
// TUNED: memref.alloc() {alignment = 64 : i64} : memref<1x7x24x6xf32>
// TUNED: scf.parallel (%{{.*}}) = (%{{.*}}) to (%c1
// TUNED: memref.alloc() {alignment = 64 : i64} : memref<2x24x32xf32>
func.func @small_n(%a: tensor<40x24xf32>, %b: tensor<24x64xf32>) -> tensor<40x64xf32> {
  %r = strata.matmul %a, %b : tensor<40x24xf32>, tensor<24x64xf32> -> tensor<40x64xf32>
  return %r : tensor<40x64xf32>
}

// Four column blocks: A is packed by default; pack-a=never reads it in place.
// DEFAULT-LABEL: func.func @wide(
// DEFAULT: memref<1x7x24x6xf32>
// NEVER: remark: strata-vectorize: contraction 40x24x64 f32 as a 6x32 register-blocked micro-kernel on vector<16xf32>, B packed in 24x32 panels;
// NEVER: remark: strata-vectorize: contraction 40x24x128 f32 as a 6x32 register-blocked micro-kernel on vector<16xf32>, B packed in 24x32 panels; 4 column block(s) of 32
func.func @wide(%a: tensor<40x24xf32>, %b: tensor<24x128xf32>) -> tensor<40x128xf32> {
  %r = strata.matmul %a, %b : tensor<40x24xf32>, tensor<24x128xf32> -> tensor<40x128xf32>
  return %r : tensor<40x128xf32>
}

// Matvec of 20 outputs: two groups of 8 and one of 4 by default; with
// dot-group=3 six groups of 3 (three reductions each) and one of 2.
// DEFAULT-LABEL: func.func @matvec(
// DEFAULT: scf.parallel (%{{.*}}) = (%{{.*}}) to (%c2)
// DEFAULT-COUNT-8: vector.reduction <add>
// DEFAULT-NOT: vector.reduction
// DEFAULT: scf.parallel
// DEFAULT-COUNT-4: vector.reduction <add>
// DEFAULT-NOT: vector.reduction
// TUNED-LABEL: func.func @matvec(
// TUNED: scf.parallel (%{{.*}}) = (%{{.*}}) to (%c6)
// TUNED-COUNT-3: vector.reduction <add>
// TUNED-NOT: vector.reduction
// TUNED: scf.parallel
// TUNED-COUNT-2: vector.reduction <add>
// TUNED-NOT: vector.reduction
func.func @matvec(%a: tensor<20x24xf32>, %x: tensor<24x1xf32>) -> tensor<20x1xf32> {
  %r = strata.matmul %a, %x : tensor<20x24xf32>, tensor<24x1xf32> -> tensor<20x1xf32>
  return %r : tensor<20x1xf32>
}
