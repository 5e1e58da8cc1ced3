// strata-split-prologues (a step of strata-lower-to-affine{keep-contractions}):
// a contraction whose operand is an elementwise function of two inputs
// (softmax's e / sum in front of P . V) becomes that function into a buffer
// of the operand's shape, then a plain contraction reading the buffer; one
// whose side input is indexed by a dimension the main input lacks stays.
// RUN: strata-opt %s --strata-split-prologues | FileCheck %s

// CHECK-DAG: #[[ID:.*]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG: #[[ROW:.*]] = affine_map<(d0, d1) -> (d0)>
// CHECK-LABEL: func.func @pv(
// CHECK-SAME: %[[E:.*]]: memref<13x17xf32>, %[[S:.*]]: memref<13xf32>, %[[V:.*]]: memref<17x9xf32>, %{{.*}}: memref<13x9xf32>)
// CHECK: %[[OUT:.*]] = memref.alloc() : memref<13x9xf32>
// CHECK: %[[P:.*]] = memref.alloc() {alignment = 64 : i64} : memref<13x17xf32>
// CHECK: linalg.generic {indexing_maps = [#[[ID]], #[[ROW]], #[[ID]]], iterator_types = ["parallel", "parallel"]} ins(%[[E]], %[[S]] : memref<13x17xf32>, memref<13xf32>) outs(%[[P]] : memref<13x17xf32>)
// CHECK:   arith.divf
// CHECK:   linalg.yield
// CHECK: linalg.fill {{.*}} outs(%[[OUT]]
// CHECK: linalg.generic {{.*}} ins(%[[P]], %[[V]] : memref<13x17xf32>, memref<17x9xf32>) outs(%[[OUT]] : memref<13x9xf32>)
// CHECK-NOT: arith.divf
// CHECK:   arith.mulf
// CHECK:   arith.addf
// CHECK-LABEL: func.func @kept(
// CHECK: memref.alloc() : memref<13x9xf32>
// CHECK-NOT: memref.alloc
// CHECK: linalg.generic {{.*}} ins(%{{.*}}, %{{.*}}, %{{.*}} : memref<13x17xf32>, memref<9xf32>, memref<17x9xf32>)
// CHECK: arith.divf
func.func @pv(%e: memref<13x17xf32>, %s: memref<13xf32>, %v: memref<17x9xf32>, %r: memref<13x9xf32>) {
  %out = memref.alloc() : memref<13x9xf32>
  %z = arith.constant 0.0 : f32
  linalg.fill ins(%z : f32) outs(%out : memref<13x9xf32>)
  linalg.generic {
      indexing_maps = [affine_map<(i, j, k) -> (i, k)>, affine_map<(i, j, k) -> (i)>,
                       affine_map<(i, j, k) -> (k, j)>, affine_map<(i, j, k) -> (i, j)>],
      iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%e, %s, %v : memref<13x17xf32>, memref<13xf32>, memref<17x9xf32>) outs(%out : memref<13x9xf32>) {
  ^bb0(%x: f32, %sum: f32, %y: f32, %acc: f32):
    %p = arith.divf %x, %sum : f32
    %m = arith.mulf %p, %y : f32
    %a = arith.addf %acc, %m : f32
    linalg.yield %a : f32
  }
  memref.copy %out, %r : memref<13x9xf32> to memref<13x9xf32>
  return
}
func.func @kept(%e: memref<13x17xf32>, %s: memref<9xf32>, %v: memref<17x9xf32>, %r: memref<13x9xf32>) {
  %out = memref.alloc() : memref<13x9xf32>
  linalg.generic {
      indexing_maps = [affine_map<(i, j, k) -> (i, k)>, affine_map<(i, j, k) -> (j)>,
                       affine_map<(i, j, k) -> (k, j)>, affine_map<(i, j, k) -> (i, j)>],
      iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%e, %s, %v : memref<13x17xf32>, memref<9xf32>, memref<17x9xf32>) outs(%out : memref<13x9xf32>) {
  ^bb0(%x: f32, %col: f32, %y: f32, %acc: f32):
    %p = arith.divf %x, %col : f32
    %m = arith.mulf %p, %y : f32
    %a = arith.addf %acc, %m : f32
    linalg.yield %a : f32
  }
  memref.copy %out, %r : memref<13x9xf32> to memref<13x9xf32>
  return
}
