// strata-vectorize rewrites f32 exp and tanh into arithmetic that
// vectorizes: the edges (overflow to inf, underflow through denormals to 0,
// NaN, infinities, tiny tanh arguments) are selects, never branches or
// libm calls, so the vector loop keeps them. The target is named (znver3:
// AVX2, 8 f32 lanes), so the output does not depend on the host.
// RUN: strata-opt %s --strata-target=znver3 --pass-pipeline='builtin.module(strata-lower-to-affine,strata-vectorize)' | FileCheck %s
// RUN: strata-opt %s --strata-target=znver3 --strata-pipeline=O3 | FileCheck %s --check-prefix=LLVM

// Each use is a call of one private, always-inlined function per type, so
// that a long chain does not carry the ~40-op expansion at every use.
// CHECK-LABEL: func.func @ex(
// CHECK-NOT: math.exp
// CHECK: scf.for
// CHECK: %[[X:[0-9]+]] = vector.load
// CHECK: %[[R:[0-9]+]] = func.call @__strata_exp_f32x8(%[[X]]) : (vector<8xf32>) -> vector<8xf32>
// CHECK: vector.store %[[R]]
// The leftover elements get the scalar expansion.
// CHECK: affine.parallel (%{{.*}}) = (32) to (37)
// CHECK: func.call @__strata_exp_f32(%{{.*}}) : (f32) -> f32
func.func @ex(%x: tensor<37xf32>) -> tensor<37xf32> {
  %e = strata.exp %x : tensor<37xf32>
  return %e : tensor<37xf32>
}

// CHECK-LABEL: func.func @th(
// CHECK-NOT: math.tanh
// CHECK: func.call @__strata_tanh_f32x8(%{{.*}}) : (vector<8xf32>) -> vector<8xf32>
// CHECK: func.call @__strata_tanh_f32(%{{.*}}) : (f32) -> f32
func.func @th(%x: tensor<37xf32>) -> tensor<37xf32> {
  %t = strata.tanh %x : tensor<37xf32>
  return %t : tensor<37xf32>
}

// A second use of the same type calls the same function.
// CHECK-LABEL: func.func @ex_twice(
// CHECK: func.call @__strata_exp_f32x8(
// CHECK: func.call @__strata_exp_f32x8(
// CHECK-NOT: func.func private @__strata_exp_f32x8_1
func.func @ex_twice(%x: tensor<37xf32>) -> tensor<37xf32> {
  %e = strata.exp %x : tensor<37xf32>
  %f = strata.exp %e : tensor<37xf32>
  return %f : tensor<37xf32>
}

// The vector expansion of exp:
// CHECK-LABEL: func.func private @__strata_exp_f32x8(
// CHECK-SAME: %[[X:[a-z0-9]+]]: vector<8xf32>) -> vector<8xf32>
// CHECK-SAME: llvm.linkage = #llvm.linkage<internal>, passthrough = ["alwaysinline"]
// Clamped to [-104, 89] by selects that keep NaN; n = round(x / ln 2) by
// adding 1.5 * 2^23 (12582912), read back from the sum's bits by an integer
// subtraction (no floor, no fptosi, which would be poison on NaN).
// CHECK: %[[LO:[a-z0-9_]+]] = arith.constant dense<-1.040000e+02> : vector<8xf32>
// CHECK: %[[LT:[0-9]+]] = arith.cmpf olt, %[[X]], %[[LO]] : vector<8xf32>
// CHECK: %[[C:[0-9]+]] = arith.select %[[LT]], %[[LO]], %[[X]] : vector<8xi1>, vector<8xf32>
// CHECK: %[[GT:[0-9]+]] = arith.cmpf ogt, %[[C]], %{{[a-z0-9_]+}} : vector<8xf32>
// CHECK: arith.select %[[GT]], %{{[a-z0-9_]+}}, %[[C]] : vector<8xi1>, vector<8xf32>
// CHECK: arith.constant dense<0x4B400000> : vector<8xf32>
// CHECK-NOT: math.floor
// CHECK-NOT: arith.fptosi
// CHECK: %[[T:[0-9]+]] = arith.bitcast %{{[0-9]+}} : vector<8xf32> to vector<8xi32>
// CHECK: arith.subi %[[T]], %{{[a-z0-9_]+}} : vector<8xi32>
// Two powers of two, so that denormal and infinite results round once; the
// last product is the result (a NaN lane's polynomial is NaN already).
// CHECK: arith.shrsi {{.*}} : vector<8xi32>
// CHECK: arith.bitcast {{.*}} : vector<8xi32> to vector<8xf32>
// CHECK: arith.bitcast {{.*}} : vector<8xi32> to vector<8xf32>
// CHECK: %[[R:[0-9]+]] = arith.mulf %{{[0-9]+}}, %{{[0-9]+}} fastmath<contract> : vector<8xf32>
// CHECK-NEXT: return %[[R]] : vector<8xf32>

// The scalar one, for the leftover elements:
// CHECK-LABEL: func.func private @__strata_exp_f32(
// CHECK-NOT: math.floor
// CHECK: arith.bitcast {{.*}} : f32 to i32
// CHECK-NOT: arith.cmpf uno
// CHECK: return {{.*}} : f32

// The vector expansion of tanh: both paths on |x|, the polynomial for
// |x| < 0.55, 1 - 2 / (e^(2|x|) + 1) beyond, and x's sign copied back.
// CHECK-LABEL: func.func private @__strata_tanh_f32x8(
// CHECK-SAME: %[[X:[a-z0-9]+]]: vector<8xf32>) -> vector<8xf32>
// CHECK: %[[AX:[0-9]+]] = math.absf %[[X]] : vector<8xf32>
// CHECK: arith.bitcast {{.*}} : vector<8xf32> to vector<8xi32>
// CHECK: arith.divf {{.*}} : vector<8xf32>
// CHECK: %[[BIG:[0-9]+]] = arith.cmpf oge, %[[AX]]
// CHECK: %[[T:[0-9]+]] = arith.select %[[BIG]], %{{[0-9]+}}, %{{[0-9]+}} : vector<8xi1>, vector<8xf32>
// CHECK: %[[R:[0-9]+]] = math.copysign %[[T]], %[[X]] {{.*}}: vector<8xf32>
// CHECK: return %[[R]]
// CHECK-LABEL: func.func private @__strata_tanh_f32(

// No libm call or intrinsic for them is left.
// LLVM-NOT: {{llvm.intr.(exp|tanh)|@expf|@tanhf}}
// The expansions reach LLVM internal and always inlined, so the machine
// code is the inline expansion's.
// LLVM: llvm.func internal @__strata_exp_f32x8(%{{.*}}: vector<8xf32>) -> vector<8xf32> attributes {passthrough = ["alwaysinline"]
// LLVM: llvm.bitcast
// LLVM-NOT: {{llvm.intr.(exp|tanh)|@expf|@tanhf}}
