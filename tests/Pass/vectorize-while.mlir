// strata-vectorize runs a divergent scf.while (an escape-time loop: each
// lane leaves after its own number of trips) on vectors with a lane mask:
// the loop goes on while any lane runs, and lanes that are done keep their
// values. Latency-bound bodies run several vectors at once (znver3: 16
// registers, 2 vectors of 4 f64; x86-64-v4: 32 registers, 4 vectors of 8).
// RUN: strata-opt %s --strata-target=znver3 --strata-lower-to-affine --strata-vectorize | FileCheck %s
// RUN: strata-opt %s --strata-target=x86-64-v4 --strata-lower-to-affine --strata-vectorize | FileCheck %s --check-prefix=V4
// RUN: strata-opt %s --strata-target=x86-64 --strata-lower-to-affine --strata-vectorize | FileCheck %s --check-prefix=SSE

// CHECK-LABEL: func.func @escape(
// CHECK: scf.for %{{.*}} = %c0{{.*}} to %c32{{.*}} step %c8
// CHECK: %[[R:.*]]:5 = scf.while (%[[X:.*]] = %{{.*}}, %[[N:.*]] = %{{.*}}) : (vector<8xf64>, vector<8xi32>) -> (vector<8xf64>, vector<8xi32>, vector<8xf64>, vector<8xi32>, vector<8xi1>)
// CHECK: %[[GO:.*]] = arith.andi %{{.*}}, %{{.*}} : vector<8xi1>
// CHECK: %[[ANY:.*]] = vector.reduction <or>, %[[GO]] : vector<8xi1> into i1
// CHECK: scf.condition(%[[ANY]]) %[[X]], %[[N]], %[[X]], %[[N]], %[[GO]]
// CHECK: ^bb0(%[[X2:[^:]*]]: vector<8xf64>, %[[N2:[^:]*]]: vector<8xi32>, %[[XE:[^:]*]]: vector<8xf64>, %[[NE:[^:]*]]: vector<8xi32>, %[[M:[^:]*]]: vector<8xi1>):
// CHECK: %[[XN:.*]] = arith.addf {{.*}} : vector<8xf64>
// CHECK: %[[NN:.*]] = arith.addi %[[N2]], {{.*}} : vector<8xi32>
// CHECK: %[[XS:.*]] = arith.select %[[M]], %[[XN]], %[[XE]] : vector<8xi1>, vector<8xf64>
// CHECK: %[[NS:.*]] = arith.select %[[M]], %[[NN]], %[[NE]] : vector<8xi1>, vector<8xi32>
// CHECK: scf.yield %[[XS]], %[[NS]]
// CHECK: vector.store %[[R]]#1, {{.*}} : memref<5x37xi32>, vector<8xi32>
// What the 2-vector loop leaves (5 of 37) gets one vector of 4, then scalars.
// CHECK: scf.for %{{.*}} = %c32{{.*}} to %c36{{.*}} step %c4
// CHECK: scf.while {{.*}} : (vector<4xf64>, vector<4xi32>)
// CHECK: affine.parallel (%{{.*}}) = (36) to (37)
// CHECK: scf.while {{.*}} : (f64, i32)

// V4-LABEL: func.func @escape(
// V4: scf.for %{{.*}} = %c0{{.*}} to %c32{{.*}} step %c32
// V4: scf.while {{.*}} : (vector<32xf64>, vector<32xi32>)
// V4: affine.parallel (%{{.*}}) = (32) to (37)

// With SSE, 2 f64 lanes per register and 16 registers: 2 vectors of 2.
// SSE-LABEL: func.func @escape(
// SSE: scf.while {{.*}} : (vector<4xf64>, vector<4xi32>)

// A while loop that divides is left scalar: a lane that is done still runs
// the body, on values the scalar loop never divided by.
// CHECK-LABEL: func.func @divides(
// CHECK-NOT: vector<
// CHECK: scf.while {{.*}} : (i32) -> i32
// CHECK: arith.divsi
func.func @escape(%c: tensor<5x37xf64>) -> tensor<5x37xi32> {
  %r = strata.map(%c) : (tensor<5x37xf64>) -> tensor<5x37xi32> {
  ^bb0(%cv: f64):
    %zero = arith.constant 0.0 : f64
    %lim = arith.constant 4.0 : f64
    %n0 = arith.constant 0 : i32
    %one = arith.constant 1 : i32
    %max = arith.constant 40 : i32
    %res:2 = scf.while (%x = %zero, %n = %n0) : (f64, i32) -> (f64, i32) {
      %in = arith.cmpf olt, %x, %lim : f64
      %more = arith.cmpi slt, %n, %max : i32
      %go = arith.andi %in, %more : i1
      scf.condition(%go) %x, %n : f64, i32
    } do {
    ^bb0(%x: f64, %n: i32):
      %xx = arith.mulf %x, %x : f64
      %xn = arith.addf %xx, %cv : f64
      %n1 = arith.addi %n, %one : i32
      scf.yield %xn, %n1 : f64, i32
    }
    strata.yield %res#1 : i32
  }
  return %r : tensor<5x37xi32>
}

func.func @divides(%a: tensor<37xi32>) -> tensor<37xi32> {
  %r = strata.map(%a) : (tensor<37xi32>) -> tensor<37xi32> {
  ^bb0(%v: i32):
    %one = arith.constant 1 : i32
    %two = arith.constant 2 : i32
    %res = scf.while (%x = %v) : (i32) -> i32 {
      %big = arith.cmpi sgt, %x, %one : i32
      scf.condition(%big) %x : i32
    } do {
    ^bb0(%x: i32):
      %h = arith.divsi %x, %two : i32
      scf.yield %h : i32
    }
    strata.yield %res : i32
  }
  return %r : tensor<37xi32>
}

// A bisection per element (the bracket as two carried values, halved by
// selects) is the same problem: the bracket runs on vectors, masked.
// CHECK-LABEL: func.func @bisect(
// CHECK: scf.while {{.*}} : (vector<8xf64>, vector<8xf64>, vector<8xi32>) ->
// CHECK: vector.reduction <or>
// CHECK: arith.select {{.*}} : vector<8xi1>, vector<8xf64>
func.func @bisect(%a: tensor<101xf64>) -> tensor<101xi32> {
  %r = strata.map(%a) : (tensor<101xf64>) -> tensor<101xi32> {
  ^bb0(%v: f64):
    %zero = arith.constant 0.0 : f64
    %one = arith.constant 1.0 : f64
    %half = arith.constant 0.5 : f64
    %tol = arith.constant 1.0e-3 : f64
    %n0 = arith.constant 0 : i32
    %inc = arith.constant 1 : i32
    %cap = arith.constant 80 : i32
    %hi0 = arith.addf %v, %one : f64
    %res:3 = scf.while (%lo = %zero, %hi = %hi0, %n = %n0) : (f64, f64, i32) -> (f64, f64, i32) {
      %width = arith.subf %hi, %lo : f64
      %wide = arith.cmpf ogt, %width, %tol : f64
      %more = arith.cmpi slt, %n, %cap : i32
      %go = arith.andi %wide, %more : i1
      scf.condition(%go) %lo, %hi, %n : f64, f64, i32
    } do {
    ^bb0(%lo: f64, %hi: f64, %n: i32):
      %s = arith.addf %lo, %hi : f64
      %mid = arith.mulf %s, %half : f64
      %m2 = arith.mulf %mid, %mid : f64
      %m3 = arith.mulf %m2, %mid : f64
      %above = arith.cmpf ogt, %m3, %v : f64
      %nlo = arith.select %above, %lo, %mid : f64
      %nhi = arith.select %above, %mid, %hi : f64
      %n1 = arith.addi %n, %inc : i32
      scf.yield %nlo, %nhi, %n1 : f64, f64, i32
    }
    strata.yield %res#2 : i32
  }
  return %r : tensor<101xi32>
}
