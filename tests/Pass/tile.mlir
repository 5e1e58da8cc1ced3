// strata-tile: the matmul nest gets per-CPU tiles (register tile rows and
// vectors, cache tile of reduction steps) for strata-vectorize; the
// tile-sizes option overrides them (rows, columns, reduction), and the
// micro-kernel follows.
// The tiles are the named target's (its registers and L2), whatever the host.
// RUN: strata-opt %s --strata-target=skylake-avx512 --strata-lower-to-affine --strata-tile | FileCheck %s
// RUN: strata-opt %s --strata-target=skylake-avx512 --strata-lower-to-affine --strata-tile --strata-remarks 2>&1 >/dev/null | FileCheck %s --check-prefix=AVX512
// RUN: strata-opt %s --strata-target=haswell --strata-lower-to-affine --strata-tile --strata-remarks 2>&1 >/dev/null | FileCheck %s --check-prefix=AVX2
// RUN: strata-opt %s --strata-target=x86-64 --strata-lower-to-affine --strata-tile --strata-remarks 2>&1 >/dev/null | FileCheck %s --check-prefix=SSE
// RUN: strata-opt %s --pass-pipeline='builtin.module(strata-lower-to-affine,strata-tile{tile-sizes=4,16,8},strata-vectorize{vector-width=512})' | FileCheck %s --check-prefix=GIVEN
// RUN: not strata-opt %s --strata-lower-to-affine --strata-tile=tile-sizes=1,2,3,4 2>&1 | FileCheck %s --check-prefix=BAD

// CHECK: affine.parallel
// CHECK: } {strata.tile_sizes = array<i64: {{[0-9]+}}, {{[0-9]+}}, 20>}
// GIVEN: %[[P:.*]] = memref.alloc() {alignment = 64 : i64} : memref<8x16xf32>
// GIVEN: scf.for %[[KB:.*]] = %{{.*}} to %{{.*}} step %c8
// GIVEN: arith.minsi
// GIVEN: scf.for %{{.*}} = %{{.*}} to %{{.*}} step %c4
// GIVEN: iter_args({{.*}}) -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>)
// The reduction of @long is blocked so that the KC x NV*W panel of B fills
// half of L2: skylake-avx512's 1 MiB / 2 / (2 x 64 B) = 4096 steps,
// haswell's 256 KiB / 2 / (2 x 32 B) = 2048, x86-64's 256 KiB / 2 / (2 x 16 B) = 4096.
// AVX512: matmul 4x9000x40: register tile 6 rows x 2 vectors, cache tile 4096 reduction steps
// AVX2: matmul 4x9000x40: register tile 6 rows x 2 vectors, cache tile 2048 reduction steps
// SSE: matmul 4x9000x40: register tile 6 rows x 2 vectors, cache tile 4096 reduction steps
// BAD: error: 'strata-tile' option tile-sizes expects up to three positive sizes: M,N,K
func.func @mm(%a: tensor<13x20xf32>, %b: tensor<20x37xf32>) -> tensor<13x37xf32> {
  %0 = strata.matmul %a, %b : tensor<13x20xf32>, tensor<20x37xf32> -> tensor<13x37xf32>
  return %0 : tensor<13x37xf32>
}

func.func @long(%a: tensor<4x9000xf32>, %b: tensor<9000x40xf32>) -> tensor<4x40xf32> {
  %0 = strata.matmul %a, %b : tensor<4x9000xf32>, tensor<9000x40xf32> -> tensor<4x40xf32>
  return %0 : tensor<4x40xf32>
}
