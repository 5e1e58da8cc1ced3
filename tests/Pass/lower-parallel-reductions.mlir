// strata-lower-parallel-reductions (first step of strata-parallelize): a
// reducing strata.parallel_for becomes a parallel_for over 4 x cores
// chunks (12 for the 3 cores of this module's target), each carrying its
// partial result from the kind's identity and storing it in its own slot,
// then a fold of init with the partial results.
// RUN: strata-opt %s --strata-lower-parallel-reductions | FileCheck %s
// RUN: strata-opt %s --strata-parallelize | FileCheck %s --check-prefix=POOL

// CHECK-LABEL: func.func @sum(
// CHECK: %[[TRIP:.*]] = arith.maxsi
// CHECK: %[[CHUNKS:.*]] = arith.minsi %[[TRIP]], %c12
// CHECK: %[[PARTS:.*]] = memref.alloc() : memref<12xf32>
// CHECK: strata.parallel_for %[[C:.*]] = %{{.*}} to %[[CHUNKS]] step %{{.*}} grain 1 {
// CHECK: %[[ID:.*]] = arith.constant 0.000000e+00 : f32
// CHECK: %[[ACC:.*]] = scf.for %{{.*}} iter_args(%[[A:.*]] = %[[ID]]) -> (f32) {
// CHECK: %[[V:.*]] = memref.load
// CHECK: %[[S:.*]] = arith.addf %[[A]], %[[V]] fastmath<reassoc> : f32
// CHECK: scf.yield %[[S]] : f32
// CHECK: memref.store %[[ACC]], %[[PARTS]][%[[C]]]
// CHECK: %[[R:.*]] = scf.for %{{.*}} = %{{.*}} to %[[CHUNKS]] step %{{.*}} iter_args(%{{.*}} = %arg2) -> (f32) {
// CHECK: memref.dealloc %[[PARTS]]
// CHECK: return %[[R]]
// CHECK-NOT: reduce(
// CHECK-LABEL: func.func @imax(
// CHECK: arith.constant -2147483648 : i32
// CHECK: arith.maxsi
// POOL: llvm.call @strata_parallel_for
// POOL-NOT: reduce(
module attributes {strata.target = {cpu = "x86-64", features = "", vector_bits = 128 : i64, vector_registers = 16 : i64, l1d_bytes = 32768 : i64, l2_bytes = 262144 : i64, l3_bytes = 8388608 : i64, cores = 3 : i64}} {
  func.func @sum(%x: memref<100xf32>, %n: index, %init: f32) -> f32 {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %r = strata.parallel_for %i = %c0 to %n step %c1 reduce("add" %init : f32) {
      %v = memref.load %x[%i] : memref<100xf32>
      strata.yield %v : f32
    }
    return %r : f32
  }
  func.func @imax(%x: memref<100xi32>) -> i32 {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c100 = arith.constant 100 : index
    %m = arith.constant 7 : i32
    %r = strata.parallel_for %i = %c0 to %c100 step %c1 reduce("max" %m : i32) {
      %v = memref.load %x[%i] : memref<100xi32>
      strata.yield %v : i32
    }
    return %r : i32
  }
}
