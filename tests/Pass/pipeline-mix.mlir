// strata-* and upstream passes mix in one pipeline, with options, nested
// under op anchors; every pass shows up in the IR dumps and the timing.
// RUN: strata-opt %s --pass-pipeline='builtin.module(strata-fuse,canonicalize{max-iterations=3},func.func(cse,strata-tile{tile-sizes=64,64,32}),strata-vectorize{vector-width=512},strata-parallelize{runtime=omp})' \
// RUN:   --mlir-print-ir-after-all 2>&1 >/dev/null | FileCheck %s --check-prefix=AFTER
// RUN: strata-opt %s --strata-fuse --canonicalize=max-iterations=3 --cse --strata-tile=tile-sizes=8 \
// RUN:   --mlir-print-ir-before-all 2>&1 >/dev/null | FileCheck %s --check-prefix=BEFORE
// RUN: strata-opt %s --pass-pipeline='builtin.module(strata-fuse,cse)' --mlir-timing 2>&1 >/dev/null | FileCheck %s --check-prefix=TIMING
// RUN: strata-opt %s --pass-pipeline='builtin.module(canonicalize,cse)' | FileCheck %s --check-prefix=OUT

// AFTER: IR Dump After strata-fuse (strata-fuse)
// AFTER: IR Dump After Canonicalizer (canonicalize)
// AFTER: IR Dump After CSE (cse)
// AFTER-NEXT: func.func @f
// AFTER: IR Dump After strata-tile (strata-tile)
// AFTER-NEXT: func.func @f
// AFTER: IR Dump After strata-vectorize (strata-vectorize)
// AFTER: IR Dump After strata-parallel-for-to-scf (strata-parallel-for-to-scf)
// AFTER: IR Dump After {{.*}}(convert-scf-to-openmp)

// BEFORE: IR Dump Before strata-fuse (strata-fuse)
// BEFORE: IR Dump Before Canonicalizer (canonicalize)
// BEFORE: IR Dump Before CSE (cse)
// BEFORE: IR Dump Before strata-tile (strata-tile)

// TIMING: Execution time report
// TIMING: strata-fuse
// TIMING: CSE

// canonicalize and cse work on strata ops: the duplicate add is merged and
// the unused exp is erased (both are Pure).
// OUT-LABEL: func.func @f
// OUT-NEXT: %[[S:.*]] = strata.add %arg0, %arg0 : tensor<4xf32>
// OUT-NEXT: %[[M:.*]] = strata.mul %[[S]], %[[S]] : tensor<4xf32>
// OUT-NEXT: return %[[M]]
func.func @f(%a: tensor<4xf32>) -> tensor<4xf32> {
  %0 = strata.add %a, %a : tensor<4xf32>
  %1 = strata.add %a, %a : tensor<4xf32>
  %2 = strata.mul %0, %1 : tensor<4xf32>
  %3 = strata.exp %2 : tensor<4xf32>
  return %2 : tensor<4xf32>
}
