// Passes whose rewrite has not landed yet say so at the op they cannot
// rewrite, and fail; they never pass strata ops through silently.
// RUN: not strata-opt %s --split-input-file --strata-lower-to-affine 2>&1 | FileCheck %s --check-prefix=AFFINE
// RUN: not strata-opt %s --split-input-file --strata-parallelize 2>&1 | FileCheck %s --check-prefix=PAR
// RUN: not strata-opt %s --split-input-file --strata-pipeline=O3 2>&1 | FileCheck %s --check-prefix=O3
// The optimizations are correct as the identity meanwhile.
// RUN: strata-opt %s --split-input-file --strata-fuse --strata-tile --strata-vectorize | FileCheck %s --check-prefix=SAME

func.func @mm(%a: tensor<4x4xf32>) -> tensor<4x4xf32> {
  // AFFINE: planned.mlir:[[@LINE+3]]:8: error: 'strata-lower-to-affine' cannot rewrite 'strata.matmul' yet: this lowering is not implemented
  // O3: planned.mlir:[[@LINE+2]]:8: error: 'strata-lower-to-affine' cannot rewrite 'strata.matmul' yet
  // SAME: strata.matmul
  %0 = strata.matmul %a, %a : tensor<4x4xf32>, tensor<4x4xf32> -> tensor<4x4xf32>
  return %0 : tensor<4x4xf32>
}

// -----

func.func @pf(%buf: memref<8xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  // PAR: planned.mlir:[[@LINE+2]]:3: error: 'strata-parallelize' cannot rewrite 'strata.parallel_for' yet
  // SAME: strata.parallel_for
  strata.parallel_for %i = %c0 to %c8 step %c1 {
    %v = memref.load %buf[%i] : memref<8xf32>
    memref.store %v, %buf[%i] : memref<8xf32>
  }
  return
}
