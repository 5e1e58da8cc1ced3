// strata-vectorize: the f32 matmul nest becomes a register-blocked vector
// micro-kernel (6 rows x 2 vectors of 16 accumulators held across k), over
// a packed copy of each block of B's columns; leftover rows use one-row
// blocks, leftover columns keep the scalar nest, narrowed to them.
// RUN: strata-opt %s --strata-lower-to-affine --strata-vectorize | FileCheck %s
// Integer matmul and other loops are left alone.
// RUN: strata-opt %s --strata-lower-to-affine --strata-vectorize | FileCheck %s --check-prefix=INT

// CHECK-LABEL: func.func @mm(
// CHECK-SAME: %[[A:.*]]: memref<13x5xf32>, %[[B:.*]]: memref<5x37xf32>, %[[C:.*]]: memref<13x37xf32>
// CHECK: scf.parallel (%[[JB:.*]]) = (%{{.*}}) to (%c32{{.*}}) step (%c32
// CHECK: %[[P:.*]] = memref.alloc() {alignment = 64 : i64} : memref<5x32xf32>
// CHECK: vector.load %[[B]]
// CHECK: vector.store %{{.*}}, %[[P]]
// CHECK: scf.for %{{.*}} = %c0{{.*}} to %c12{{.*}} step %c6
// CHECK-COUNT-12: vector.load %[[C]]
// CHECK: scf.for {{.*}} iter_args({{.*}}) -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>)
// CHECK-COUNT-2: vector.load %[[P]]
// CHECK: memref.load %[[A]]
// CHECK: vector.broadcast
// CHECK-COUNT-2: vector.fma
// CHECK: vector.store
// The leftover row (12) in a one-row block.
// CHECK: scf.for %{{.*}} = %c12{{.*}} to %c13{{.*}} step %c1
// CHECK: memref.dealloc %[[P]]
// The leftover columns 32..36 in the original nest.
// CHECK: affine.parallel (%{{.*}}) = (32) to (37)
func.func @mm(%a: tensor<13x5xf32>, %b: tensor<5x37xf32>) -> tensor<13x37xf32> {
  %0 = strata.matmul %a, %b : tensor<13x5xf32>, tensor<5x37xf32> -> tensor<13x37xf32>
  return %0 : tensor<13x37xf32>
}

// INT-LABEL: func.func @ints(
// INT-NOT: vector.
// INT: return
func.func @ints(%a: tensor<13x5xi32>, %b: tensor<5x37xi32>) -> tensor<13x37xi32> {
  %0 = strata.matmul %a, %b : tensor<13x5xi32>, tensor<5x37xi32> -> tensor<13x37xi32>
  return %0 : tensor<13x37xi32>
}
