// strata-vectorize on float max and min reductions: a loop of plain
// compares and selects (one max or min instruction per vector) with a sum
// of the values beside it, and the exact `maximumf` / `minimumf` loop only
// where that sum is not finite (NaN, infinities, overflow) or the result
// is a zero (whose sign the selects may get wrong). The target is named
// (znver3: 8 f32 lanes, 2 vectors at once), so the output does not depend
// on the host.
// RUN: strata-opt %s --strata-target=znver3 --pass-pipeline='builtin.module(strata-lower-to-affine,strata-vectorize)' | FileCheck %s

// CHECK-LABEL: func.func @rowmax(
// CHECK: %[[FAST:[0-9]+]]:2 = scf.for %{{.*}} = %{{.*}} to %c192 step %c16 iter_args(%[[M:[a-z0-9]+]] = %{{.*}}, %[[S:[a-z0-9]+]] = %{{.*}}) -> (vector<16xf32>, vector<16xf32>)
// CHECK: %[[V:[0-9]+]] = vector.load
// CHECK-NEXT: %[[GT:[0-9]+]] = arith.cmpf ogt, %[[V]], %[[M]] : vector<16xf32>
// CHECK-NEXT: %[[K:[0-9]+]] = arith.select %[[GT]], %[[V]], %[[M]]
// CHECK-NEXT: %[[SUM:[0-9]+]] = arith.addf %[[S]], %[[V]]
// CHECK-NEXT: scf.yield %[[K]], %[[SUM]]
// CHECK: %[[MX:[0-9]+]] = vector.reduction <maximumf>, %[[FAST]]#0
// CHECK: %[[TOTAL:[0-9]+]] = vector.reduction <add>, %[[FAST]]#1
// CHECK: %[[NZ:[0-9]+]] = arith.cmpf one, %[[MX]]
// CHECK: %[[ABS:[0-9]+]] = math.absf %[[TOTAL]]
// CHECK: %[[FIN:[0-9]+]] = arith.cmpf olt, %[[ABS]]
// CHECK: %[[OK:[0-9]+]] = arith.andi %[[NZ]], %[[FIN]]
// CHECK: scf.if %[[OK]] -> (f32) {
// CHECK-NEXT: scf.yield %[[MX]]
// CHECK-NEXT: } else {
// CHECK: scf.for
// CHECK: arith.maximumf %{{.*}} : vector<16xf32>
// CHECK: vector.reduction <maximumf>
// The leftover vector and scalars keep maximumf.
// CHECK: arith.maximumf %{{.*}} : vector<8xf32>
// CHECK: affine.for %{{.*}} = 200 to 203
func.func @rowmax(%x: tensor<4x203xf32>) -> tensor<4xf32> {
  %m = strata.reduce "max" %x dims = [1] : tensor<4x203xf32> -> tensor<4xf32>
  return %m : tensor<4xf32>
}

// CHECK-LABEL: func.func @rowmin(
// CHECK: scf.for {{.*}} -> (vector<8xf64>, vector<8xf64>)
// CHECK: arith.cmpf olt, %{{.*}} : vector<8xf64>
// CHECK: arith.select
// CHECK: arith.addf
// CHECK: vector.reduction <minimumf>
// CHECK: scf.if
// CHECK: arith.minimumf %{{.*}} : vector<8xf64>
func.func @rowmin(%x: tensor<4x203xf64>) -> tensor<4xf64> {
  %m = strata.reduce "min" %x dims = [1] : tensor<4x203xf64> -> tensor<4xf64>
  return %m : tensor<4xf64>
}

// Fewer than four vectors: the exact loop alone.
// CHECK-LABEL: func.func @short(
// CHECK-NOT: scf.if
// CHECK: arith.maximumf %{{.*}} : vector<16xf32>
// CHECK-NOT: scf.if
// CHECK: return
func.func @short(%x: tensor<4x40xf32>) -> tensor<4xf32> {
  %m = strata.reduce "max" %x dims = [1] : tensor<4x40xf32> -> tensor<4xf32>
  return %m : tensor<4xf32>
}

// Sums keep their loop.
// CHECK-LABEL: func.func @rowsum(
// CHECK-NOT: scf.if
// CHECK: return
func.func @rowsum(%x: tensor<4x203xf32>) -> tensor<4xf32> {
  %m = strata.reduce "add" %x dims = [1] : tensor<4x203xf32> -> tensor<4xf32>
  return %m : tensor<4xf32>
}
