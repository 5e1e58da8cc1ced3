// strata.parallel_for with reduce(...): an extension of dialect v1
// (docs/dialect.md): custom and generic forms round-trip, and the verifier
// checks kinds, types and the yielded values.
// RUN: strata-opt %s --split-input-file | FileCheck %s
// RUN: strata-opt %s --split-input-file --mlir-print-op-generic | FileCheck %s --check-prefix=GENERIC
// RUN: strata-opt %s --split-input-file --mlir-print-op-generic | strata-opt --split-input-file | FileCheck %s
// RUN: strata-opt %S/Inputs/parallel-reduce-invalid.mlir --split-input-file --verify-diagnostics

// CHECK-LABEL: func.func @sums(
// CHECK: %[[R:.*]]:2 = strata.parallel_for %{{.*}} = %{{.*}} to %{{.*}} step %{{.*}} grain 8 reduce("add" %{{.*}} : f32, "max" %{{.*}} : i64) {
// CHECK: strata.yield %{{.*}}, %{{.*}} : f32, i64
// CHECK: return %[[R]]#0, %[[R]]#1 : f32, i64
// GENERIC: "strata.parallel_for"(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}) <{grain = 8 : i64, kinds = ["add", "max"]}>
// GENERIC: "strata.yield"(%{{.*}}, %{{.*}}) : (f32, i64) -> ()
// GENERIC: (index, index, index, f32, i64) -> (f32, i64)
func.func @sums(%x: memref<100xf32>, %n: index) -> (f32, i64) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %z = arith.constant 0.0 : f32
  %m = arith.constant 0 : i64
  %r:2 = strata.parallel_for %i = %c0 to %n step %c1 grain 8 reduce("add" %z : f32, "max" %m : i64) {
    %v = memref.load %x[%i] : memref<100xf32>
    %k = arith.index_cast %i : index to i64
    strata.yield %v, %k : f32, i64
  }
  return %r#0, %r#1 : f32, i64
}

// -----

// CHECK-LABEL: func.func @plain(
// CHECK: strata.parallel_for %{{.*}} = %{{.*}} to %{{.*}} step %{{.*}} {
// CHECK-NOT: reduce
func.func @plain(%x: memref<100xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c100 = arith.constant 100 : index
  strata.parallel_for %i = %c0 to %c100 step %c1 {
    %v = memref.load %x[%i] : memref<100xf32>
    memref.store %v, %x[%i] : memref<100xf32>
  }
  return
}
