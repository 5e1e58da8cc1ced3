// strata-hoist-broadcast-computations: what a linalg.generic computes from
// broadcast operands alone moves to a generic over the broadcast's shape,
// and a division by a broadcast value becomes a multiply by its
// reciprocal, computed there.
// RUN: strata-opt %s --split-input-file --pass-pipeline='builtin.module(strata-hoist-broadcast-computations)' | FileCheck %s

// A layernorm's last step after elementwise fusion: the variance, its
// square root and a division for every element of every row. After: one
// row-sized generic computes 1 / sqrt(ss / n + eps) per row; the big one
// reads it through the row map and multiplies. The inputs only the moved
// ops read (ss, n) are gone from it.
// CHECK-DAG: #[[ID1:.*]] = affine_map<(d0) -> (d0)>
// CHECK-DAG: #[[ROW:.*]] = affine_map<(d0, d1) -> (d0)>
// CHECK-DAG: #[[ID2:.*]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-LABEL: func.func @layernorm_tail(
// CHECK-SAME: %[[X:.*]]: tensor<6x10xf32>, %[[SS:.*]]: tensor<6xf32>, %[[N:.*]]: tensor<6xf32>)
// CHECK: %[[E:.*]] = tensor.empty() : tensor<6xf32>
// CHECK: %[[R:.*]] = linalg.generic {indexing_maps = [#[[ID1]], #[[ID1]], #[[ID1]]], iterator_types = ["parallel"]} ins(%[[SS]], %[[N]] : tensor<6xf32>, tensor<6xf32>) outs(%[[E]] : tensor<6xf32>)
// CHECK-NEXT: ^bb0(%[[S:.*]]: f32, %[[NN:.*]]: f32, %{{.*}}: f32):
// CHECK-NEXT: %[[V:.*]] = arith.divf %[[S]], %[[NN]] : f32
// CHECK-NEXT: %[[VE:.*]] = arith.addf %[[V]], %{{.*}} : f32
// CHECK-NEXT: %[[SD:.*]] = math.sqrt %[[VE]] : f32
// CHECK-NEXT: %[[ONE:.*]] = arith.constant 1.000000e+00 : f32
// CHECK-NEXT: %[[INV:.*]] = arith.divf %[[ONE]], %[[SD]] : f32
// CHECK-NEXT: linalg.yield %[[INV]] : f32
// CHECK: linalg.generic {indexing_maps = [#[[ID2]], #[[ROW]], #[[ID2]]], iterator_types = ["parallel", "parallel"]} ins(%[[X]], %[[R]] : tensor<6x10xf32>, tensor<6xf32>)
// CHECK-NEXT: ^bb0(%[[XE:.*]]: f32, %[[RE:.*]]: f32, %{{.*}}: f32):
// CHECK-NEXT: %[[P:.*]] = arith.mulf %[[XE]], %[[RE]] : f32
// CHECK-NEXT: linalg.yield %[[P]] : f32
#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
func.func @layernorm_tail(%x: tensor<6x10xf32>, %ss: tensor<6xf32>, %n: tensor<6xf32>) -> tensor<6x10xf32> {
  %eps = arith.constant 1.0e-5 : f32
  %e = tensor.empty() : tensor<6x10xf32>
  %r = linalg.generic {indexing_maps = [#id, #row, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %ss, %n : tensor<6x10xf32>, tensor<6xf32>, tensor<6xf32>) outs(%e : tensor<6x10xf32>) {
  ^bb0(%a: f32, %s: f32, %nn: f32, %o: f32):
    %v = arith.divf %s, %nn : f32
    %ve = arith.addf %v, %eps : f32
    %sd = math.sqrt %ve : f32
    %q = arith.divf %a, %sd : f32
    linalg.yield %q : f32
  } -> tensor<6x10xf32>
  return %r : tensor<6x10xf32>
}

// -----

// A softmax along dim 0 divides by its column sums: the reciprocal is
// computed per column; the sum stays an input where the body still reads
// it, and a moved value used both ways (here, `c + 1`) is yielded too.
// CHECK-DAG: #[[COL:.*]] = affine_map<(d0, d1) -> (d1)>
// CHECK-LABEL: func.func @columns(
// CHECK-SAME: %[[X:.*]]: tensor<7x5xf64>, %[[C:.*]]: tensor<5xf64>)
// CHECK: %[[H:.*]]:2 = linalg.generic {{.*}} ins(%[[C]] : tensor<5xf64>) outs(%{{.*}}, %{{.*}} : tensor<5xf64>, tensor<5xf64>)
// CHECK: %[[C1:.*]] = arith.addf
// CHECK: arith.divf %{{.*}}, %[[C1]] : f64
// CHECK: linalg.yield %[[C1]], %{{.*}} : f64, f64
// CHECK: linalg.generic {{.*}} ins(%[[X]], %[[C]], %[[H]]#0, %[[H]]#1 : tensor<7x5xf64>, tensor<5xf64>, tensor<5xf64>, tensor<5xf64>)
// CHECK-NEXT: ^bb0(%[[XE:.*]]: f64, %[[CE:.*]]: f64, %[[C1E:.*]]: f64, %[[RE:.*]]: f64, %{{.*}}: f64):
// CHECK-NEXT: %[[P:.*]] = arith.mulf %[[XE]], %[[RE]] : f64
// CHECK-NEXT: %[[Q:.*]] = arith.subf %[[P]], %[[C1E]] : f64
// CHECK-NEXT: %[[T:.*]] = arith.addf %[[Q]], %[[CE]] : f64
// CHECK-NEXT: linalg.yield %[[T]] : f64
#id = affine_map<(d0, d1) -> (d0, d1)>
#col = affine_map<(d0, d1) -> (d1)>
func.func @columns(%x: tensor<7x5xf64>, %c: tensor<5xf64>) -> tensor<7x5xf64> {
  %one = arith.constant 1.0 : f64
  %e = tensor.empty() : tensor<7x5xf64>
  %r = linalg.generic {indexing_maps = [#id, #col, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %c : tensor<7x5xf64>, tensor<5xf64>) outs(%e : tensor<7x5xf64>) {
  ^bb0(%a: f64, %s: f64, %o: f64):
    %s1 = arith.addf %s, %one : f64
    %p = arith.divf %a, %s1 : f64
    %q = arith.subf %p, %s1 : f64
    %t = arith.addf %q, %s : f64
    linalg.yield %t : f64
  } -> tensor<7x5xf64>
  return %r : tensor<7x5xf64>
}

// -----

// Left alone: a value of two broadcasts (rows times columns), an integer
// division (no reciprocal), and a generic without a broadcast.
// CHECK-LABEL: func.func @untouched(
// CHECK: linalg.generic
// CHECK-NEXT: ^bb0
// CHECK-NEXT: arith.mulf
// CHECK: linalg.generic
// CHECK-NEXT: ^bb0
// CHECK-NEXT: arith.divsi
// CHECK-NOT: linalg.generic
#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
#col = affine_map<(d0, d1) -> (d1)>
func.func @untouched(%x: tensor<4x3xf32>, %r: tensor<4xf32>, %c: tensor<3xf32>, %xi: tensor<4x3xi32>, %ri: tensor<4xi32>) -> (tensor<4x3xf32>, tensor<4x3xi32>) {
  %e = tensor.empty() : tensor<4x3xf32>
  %a = linalg.generic {indexing_maps = [#id, #row, #col, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %r, %c : tensor<4x3xf32>, tensor<4xf32>, tensor<3xf32>) outs(%e : tensor<4x3xf32>) {
  ^bb0(%v: f32, %p: f32, %q: f32, %o: f32):
    %m = arith.mulf %p, %q : f32
    %s = arith.subf %v, %m : f32
    linalg.yield %s : f32
  } -> tensor<4x3xf32>
  %ei = tensor.empty() : tensor<4x3xi32>
  %b = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%xi, %ri : tensor<4x3xi32>, tensor<4xi32>) outs(%ei : tensor<4x3xi32>) {
  ^bb0(%v: i32, %p: i32, %o: i32):
    %d = arith.divsi %v, %p : i32
    linalg.yield %d : i32
  } -> tensor<4x3xi32>
  return %a, %b : tensor<4x3xf32>, tensor<4x3xi32>
}
