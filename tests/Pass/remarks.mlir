// --strata-remarks: each strata-* pass says what it did, at the op.
// The vector width is the named target's, whatever the host.
// RUN: strata-opt %s --strata-pipeline=O3 --strata-target=skylake-avx512 --strata-remarks 2>&1 >/dev/null | FileCheck %s --check-prefixes=CHECK,AVX512
// RUN: strata-opt %s --strata-pipeline=O3 --strata-target=znver3 --strata-remarks 2>&1 >/dev/null | FileCheck %s --check-prefixes=CHECK,AVX2
// x86-64-v3 (AVX2) runs on every host CI has.
// RUN: strata-run %s --input=40x20xf32=1 --input=20x70xf32=1 --strata-target=x86-64-v3 --strata-remarks 2>&1 >/dev/null | FileCheck %s --check-prefixes=CHECK,AVX2
// Without the flag, nothing is said.
// RUN: strata-opt %s --strata-pipeline=O3 2>&1 >/dev/null | FileCheck %s --check-prefix=QUIET --allow-empty

// AVX512-DAG: remarks.mlir:[[@LINE+9]]:8: remark: strata-tile: contraction 40x20x70 f32: register tile 6 rows x 4 vectors, cache tile 20 reduction steps
// AVX2-DAG: remarks.mlir:[[@LINE+8]]:8: remark: strata-tile: contraction 40x20x70 f32: register tile 6 rows x 2 vectors, cache tile 20 reduction steps
// AVX512-DAG: remarks.mlir:[[@LINE+7]]:8: remark: strata-vectorize: contraction 40x20x70 f32 as a 6x64 register-blocked micro-kernel on vector<16xf32>, B packed in 20x64 panels; 2 column block(s) of 64, the last 6 column(s) masked, each split into 6 row chunks for the workers; the zero fill of C folded into the accumulators
// AVX2-DAG: remarks.mlir:[[@LINE+6]]:8: remark: strata-vectorize: contraction 40x20x70 f32 as a 6x16 register-blocked micro-kernel on vector<8xf32>, A packed in 6-row panels, B in 20x16 panels; 5 column block(s) of 16, the last 6 column(s) masked, each split into 3 row chunks for the workers; the zero fill of C folded into the accumulators
// CHECK-DAG: remarks.mlir:[[@LINE+6]]:8: remark: strata-vectorize: f32 math.tanh expanded into arithmetic so that it vectorizes
// CHECK-DAG: remarks.mlir:[[@LINE+5]]:8: remark: strata-vectorize: elementwise epilogue fused into the contraction kernel (applied to its accumulators)
// CHECK-DAG: remark: strata-parallelize: parallel loop outlined into @__strata_parallel_body_0
// QUIET-NOT: remark
func.func @main(%a: tensor<40x20xf32>, %b: tensor<20x70xf32>) -> tensor<40x70xf32> {
  %0 = strata.matmul %a, %b : tensor<40x20xf32>, tensor<20x70xf32> -> tensor<40x70xf32>
  %1 = strata.tanh %0 : tensor<40x70xf32>
  return %1 : tensor<40x70xf32>
}
