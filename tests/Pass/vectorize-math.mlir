// strata-vectorize rewrites f32 exp and tanh into arithmetic that
// vectorizes: the edges (overflow to inf, underflow through denormals to 0,
// NaN, infinities, tiny tanh arguments) are selects, never branches or
// libm calls, so the vector loop keeps them. The target is named (znver3:
// AVX2, 8 f32 lanes), so the output does not depend on the host.
// RUN: strata-opt %s --strata-target=znver3 --pass-pipeline='builtin.module(strata-lower-to-affine,strata-vectorize)' | FileCheck %s
// RUN: strata-opt %s --strata-target=znver3 --strata-pipeline=O3 | FileCheck %s --check-prefix=LLVM

// CHECK-LABEL: func.func @ex(
// CHECK-NOT: math.exp
// CHECK: scf.for
// CHECK: %[[X:[0-9]+]] = vector.load
// Clamped to [-104, 89], NaN to the lower bound.
// CHECK: %[[GT:[0-9]+]] = arith.cmpf ogt, %[[X]], %[[LO:[a-z0-9_]+]] : vector<8xf32>
// CHECK: arith.select %[[GT]], %[[X]], %[[LO]] : vector<8xi1>, vector<8xf32>
// CHECK: arith.cmpf olt
// CHECK: math.floor {{.*}} : vector<8xf32>
// CHECK: arith.fptosi {{.*}} : vector<8xf32> to vector<8xi32>
// Two powers of two, so that denormal and infinite results round once.
// CHECK: arith.shrsi {{.*}} : vector<8xi32>
// CHECK: arith.bitcast {{.*}} : vector<8xi32> to vector<8xf32>
// CHECK: arith.bitcast {{.*}} : vector<8xi32> to vector<8xf32>
// CHECK: %[[NAN:[0-9]+]] = arith.cmpf uno, %[[X]], %[[X]] : vector<8xf32>
// CHECK: %[[R:[0-9]+]] = arith.select %[[NAN]], %[[X]], %{{[0-9]+}} : vector<8xi1>, vector<8xf32>
// CHECK: vector.store %[[R]]
// The leftover elements get the same expansion.
// CHECK: affine.parallel (%{{.*}}) = (32) to (37)
// CHECK: arith.cmpf uno
func.func @ex(%x: tensor<37xf32>) -> tensor<37xf32> {
  %e = strata.exp %x : tensor<37xf32>
  return %e : tensor<37xf32>
}

// CHECK-LABEL: func.func @th(
// CHECK-NOT: math.tanh
// CHECK: scf.for
// CHECK: %[[X:[0-9]+]] = vector.load
// Both paths on |x|: the polynomial for |x| < 0.55, 1 - 2 / (e^(2|x|) + 1)
// beyond, and x's sign copied back.
// CHECK: %[[AX:[0-9]+]] = math.absf %[[X]] : vector<8xf32>
// CHECK: math.floor
// CHECK: arith.divf {{.*}} : vector<8xf32>
// CHECK: %[[BIG:[0-9]+]] = arith.cmpf oge, %[[AX]]
// CHECK: %[[T:[0-9]+]] = arith.select %[[BIG]], %{{[0-9]+}}, %{{[0-9]+}} : vector<8xi1>, vector<8xf32>
// CHECK: %[[R:[0-9]+]] = math.copysign %[[T]], %[[X]] {{.*}}: vector<8xf32>
// CHECK: vector.store %[[R]]
func.func @th(%x: tensor<37xf32>) -> tensor<37xf32> {
  %t = strata.tanh %x : tensor<37xf32>
  return %t : tensor<37xf32>
}

// No libm call or intrinsic for them is left.
// LLVM-NOT: {{llvm.intr.(exp|tanh)|@expf|@tanhf}}
// LLVM: llvm.intr.floor
// LLVM-NOT: {{llvm.intr.(exp|tanh)|@expf|@tanhf}}
