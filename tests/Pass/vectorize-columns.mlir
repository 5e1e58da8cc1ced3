// strata-vectorize on a reduction over rows (column sums: the rows loop
// outside, the columns inside, as the reduction comes): chunks of columns
// in an scf.parallel, each walking the rows in order and combining each
// row's chunk into the output a vector at a time; the columns left keep
// the scalar nest. The
// target is named (znver3: 8 f32 lanes), whatever the host.
// RUN: strata-opt %s --strata-target=znver3 --strata-lower-to-affine --strata-vectorize | FileCheck %s
// RUN: strata-opt %s --strata-target=znver3 --strata-lower-to-affine --strata-vectorize --strata-remarks 2>&1 >/dev/null | FileCheck %s --check-prefix=REMARK

// CHECK-LABEL: func.func @colsum(
// CHECK-SAME: %[[X:[a-z0-9_]+]]: memref<37x70xf32>, %[[OUT:[a-z0-9_]+]]: memref<70xf32>
// 64 columns in whole vectors, in one chunk: each row read as it lies.
// CHECK: scf.parallel (%[[JC:.*]]) = (%{{.*}}) to (%c64{{.*}}) step (%c64
// CHECK: %[[END:.*]] = arith.minsi
// CHECK: scf.for %[[I:.*]] = %{{.*}} to %{{.*}} step
// CHECK: scf.for %[[J:.*]] = %[[JC]] to %[[END]] step %c8
// CHECK: %[[ACC:.*]] = vector.load %[[OUT]][%[[J]]] : memref<70xf32>, vector<8xf32>
// CHECK: %[[V:.*]] = vector.load %[[X]][%[[I]], %[[J]]] : memref<37x70xf32>, vector<8xf32>
// CHECK: %[[S:.*]] = arith.addf %[[ACC]], %[[V]] : vector<8xf32>
// CHECK: vector.store %[[S]], %[[OUT]][%[[J]]]
// The six columns left, in the original nest.
// CHECK: affine.parallel (%{{.*}}) = (64) to (70)
// REMARK: remark: strata-vectorize: reduction over rows of 70 columns in 1 parallel chunk(s) of 64, each row's chunk combined 8 lanes at a time; 6 leftover column(s) stay scalar
func.func @colsum(%x: tensor<37x70xf32>) -> tensor<70xf32> {
  %r = strata.reduce "add" %x dims = [0] : tensor<37x70xf32> -> tensor<70xf32>
  return %r : tensor<70xf32>
}
