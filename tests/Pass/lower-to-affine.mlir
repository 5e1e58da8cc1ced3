// strata-lower-to-affine: linalg, bufferization across the function
// boundary (results become caller-allocated out-parameters written in
// place), affine loop nests with the parallel loops as affine.parallel, and
// each temporary freed right after its last use.
// RUN: strata-opt %s --split-input-file --strata-lower-to-affine | FileCheck %s
// RUN: strata-opt %s --split-input-file --strata-lower-to-affine=fuse-elementwise=false | FileCheck %s --check-prefix=NOFUSE
// RUN: strata-opt %s --split-input-file --strata-lower-to-affine --mlir-print-ir-after-all 2>&1 >/dev/null | FileCheck %s --check-prefix=STEPS
// keep-contractions (the O2/O3 pipelines): the matmul and its zero fill stay
// linalg.generic ops on buffers, for strata-tile and strata-vectorize;
// everything else is loops as before. Without strata-vectorize, what is
// kept still reaches the LLVM dialect (strata-lower-to-llvm lowers it).
// RUN: strata-opt %s --split-input-file --strata-lower-to-affine=keep-contractions=true | FileCheck %s --check-prefix=KEEP
// RUN: strata-opt %s --split-input-file --pass-pipeline='builtin.module(strata-lower-to-affine{keep-contractions=true},strata-parallelize,strata-lower-to-llvm)' | FileCheck %s --check-prefix=KEPT-LLVM

// KEEP-LABEL: func.func @mlp(
// KEEP-SAME: %[[A:.*]]: memref<5x3xf32>, %[[B:.*]]: memref<3x7xf32>, %[[BIAS:.*]]: memref<7xf32>, %[[OUT:.*]]: memref<5x7xf32> {bufferize.result})
// KEEP: %[[MM:.*]] = memref.alloc() {{.*}}: memref<5x7xf32>
// KEEP-NEXT: linalg.generic {{.*}} outs(%[[MM]] : memref<5x7xf32>)
// KEEP: linalg.yield %{{.*}} : f32
// KEEP: linalg.generic {{.*}} iterator_types = ["parallel", "reduction", "parallel"]} ins(%[[A]], %[[B]] : memref<5x3xf32>, memref<3x7xf32>) outs(%[[MM]] : memref<5x7xf32>)
// KEEP: affine.parallel
// KEEP: affine.load %[[BIAS]]
// KEEP-NOT: linalg.generic
// KEPT-LLVM-NOT: linalg.
// KEPT-LLVM: llvm.func @mlp(

// STEPS: IR Dump After strata-convert-to-linalg (strata-convert-to-linalg)
// STEPS: linalg.generic
// STEPS: IR Dump After {{.*}}(linalg-fuse-elementwise-ops)
// STEPS: IR Dump After strata-hoist-broadcast-computations (strata-hoist-broadcast-computations)
// STEPS: IR Dump After strata-distinct-results (strata-distinct-results)
// STEPS: IR Dump After {{.*}}(one-shot-bufferize)
// STEPS: IR Dump After {{.*}}(buffer-results-to-out-params)
// STEPS: IR Dump After strata-lower-linalg-to-affine (strata-lower-linalg-to-affine)
// STEPS: IR Dump After {{.*}}(affine-parallelize)
// STEPS: IR Dump After strata-free-temporaries (strata-free-temporaries)

// CHECK-LABEL: func.func @mlp(
// CHECK-SAME: %[[A:.*]]: memref<5x3xf32>, %[[B:.*]]: memref<3x7xf32>, %[[BIAS:.*]]: memref<7xf32>, %[[OUT:.*]]: memref<5x7xf32> {bufferize.result})
// CHECK: %[[MM:.*]] = memref.alloc() {{.*}}: memref<5x7xf32>
// The matmul's accumulator starts at zero; then rows in parallel, the
// reduction over k, and the contiguous (vectorizable) loop over columns.
// CHECK: affine.store %{{.*}}, %[[MM]]
// CHECK: affine.parallel (%[[I:.*]]) = (0) to (5)
// CHECK-NEXT: affine.for %[[K:.*]] = 0 to 3
// CHECK-NEXT: affine.parallel (%[[J:.*]]) = (0) to (7)
// CHECK-NEXT: affine.load %[[A]][%[[I]], %[[K]]]
// CHECK-NEXT: affine.load %[[B]][%[[K]], %[[J]]]
// CHECK: arith.mulf
// CHECK: arith.addf
// Bias and relu fused into one nest, writing the caller's buffer; the
// broadcast is only an index map (%bias[j]).
// CHECK: affine.parallel
// CHECK: affine.load %[[BIAS]][%{{.*}}] : memref<7xf32>
// CHECK: arith.maximumf
// CHECK: affine.store %{{.*}}, %[[OUT]]
// CHECK-NEXT: }
// CHECK-NEXT: }
// CHECK-NEXT: memref.dealloc %[[MM]]
// CHECK-NEXT: return
// NOFUSE-LABEL: func.func @mlp(
// NOFUSE-COUNT-3: memref.alloc
// NOFUSE-NOT: memref.alloc
// NOFUSE-COUNT-3: memref.dealloc
func.func @mlp(%a: tensor<5x3xf32>, %b: tensor<3x7xf32>, %bias: tensor<7xf32>) -> tensor<5x7xf32> {
  %mm = strata.matmul %a, %b : tensor<5x3xf32>, tensor<3x7xf32> -> tensor<5x7xf32>
  %bb = strata.broadcast %bias dims = [0] : tensor<7xf32> -> tensor<5x7xf32>
  %s = strata.add %mm, %bb : tensor<5x7xf32>
  %r = strata.map(%s) : (tensor<5x7xf32>) -> tensor<5x7xf32> {
  ^bb0(%x: f32):
    %z = arith.constant 0.0 : f32
    %m = arith.maximumf %x, %z : f32
    strata.yield %m : f32
  }
  return %r : tensor<5x7xf32>
}

// -----

// Integer ops are signed; transpose is an index map; reduce starts from the
// kind's identity; rank 0 needs no loop.
// CHECK-LABEL: func.func @ints(
// CHECK-DAG: arith.constant -2147483648 : i32
// CHECK-DAG: arith.divsi
// CHECK-DAG: arith.maxsi
// CHECK: affine.load %{{.*}}[%[[R:.*]], %[[C:.*]]] : memref<4x3xi32>
// CHECK-NEXT: affine.store %{{.*}}, %{{.*}}[%[[C]], %[[R]]] : memref<3x4xi32>
func.func @ints(%a: tensor<4x3xi32>, %s: tensor<i64>) -> (tensor<4x3xi32>, tensor<3xi32>, tensor<i64>, tensor<3x4xi32>) {
  %0 = strata.div %a, %a : tensor<4x3xi32>
  %1 = strata.reduce "max" %a dims = [0] : tensor<4x3xi32> -> tensor<3xi32>
  %2 = strata.neg %s : tensor<i64>
  %3 = strata.transpose %a permutation = [1, 0] : tensor<4x3xi32> -> tensor<3x4xi32>
  return %0, %1, %2, %3 : tensor<4x3xi32>, tensor<3xi32>, tensor<i64>, tensor<3x4xi32>
}

// -----

// A generator: strata.index becomes the loop index, the scf.for stays.
// CHECK-LABEL: func.func @gen(
// CHECK: affine.parallel (%[[I:.*]]) = (0) to (9)
// CHECK: scf.for
// CHECK-NOT: strata.
func.func @gen() -> tensor<9xf64> {
  %0 = strata.map() : () -> tensor<9xf64> {
    %i = strata.index 0
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %one = arith.constant 1.0 : f64
    %zero = arith.constant 0.0 : f64
    %s = scf.for %k = %c0 to %i step %c1 iter_args(%acc = %zero) -> (f64) {
      %n = arith.addf %acc, %one : f64
      scf.yield %n : f64
    }
    strata.yield %s : f64
  }
  return %0 : tensor<9xf64>
}
