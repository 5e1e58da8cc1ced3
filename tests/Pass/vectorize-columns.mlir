// strata-vectorize on a reduction over rows (column sums: the rows loop
// outside, the columns inside, as the reduction comes): blocks of 4
// vectors of columns, the accumulators carried through the rows loop, the
// blocks in an scf.parallel; the columns left keep the scalar nest. The
// target is named (znver3: 8 f32 lanes), whatever the host.
// RUN: strata-opt %s --strata-target=znver3 --strata-lower-to-affine --strata-vectorize | FileCheck %s
// RUN: strata-opt %s --strata-target=znver3 --strata-lower-to-affine --strata-vectorize --strata-remarks 2>&1 >/dev/null | FileCheck %s --check-prefix=REMARK

// CHECK-LABEL: func.func @colsum(
// CHECK-SAME: %[[X:[a-z0-9_]+]]: memref<37x70xf32>, %[[OUT:[a-z0-9_]+]]: memref<70xf32>
// CHECK: scf.parallel (%[[JB:.*]]) = (%{{.*}}) to (%c64{{.*}}) step (%c32
// CHECK: %[[R:.*]]:4 = scf.for %[[I:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args({{.*}}) -> (vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>)
// CHECK: vector.load %[[X]][%[[I]], %[[JB]]] : memref<37x70xf32>, vector<8xf32>
// CHECK: arith.addf {{.*}} : vector<8xf32>
// CHECK: scf.yield
// CHECK: vector.store %[[R]]#0, %[[OUT]][%[[JB]]]
// The six columns left, in the original nest.
// CHECK: affine.parallel (%{{.*}}) = (64) to (70)
// REMARK: remark: strata-vectorize: reduction over rows of 70 columns as 2 blocks of 4 x 8 lanes, the accumulators in registers; 6 leftover column(s) stay scalar
func.func @colsum(%x: tensor<37x70xf32>) -> tensor<70xf32> {
  %r = strata.reduce "add" %x dims = [0] : tensor<37x70xf32> -> tensor<70xf32>
  return %r : tensor<70xf32>
}
