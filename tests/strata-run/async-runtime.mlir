// MLIR's async runtime, loaded with --shared-libs, runs async-parallel-for
// kernels: its coroutine frames and values cross between the library's
// allocator and the one the JIT binds for kernels. With a size header in
// front of each kernel block this aborted ("double free or corruption").
// RUN: mlir-opt %s --pass-pipeline='builtin.module(async-parallel-for{num-workers=4},async-to-async-runtime,async-runtime-ref-counting,async-runtime-ref-counting-opt,arith-expand,convert-async-to-llvm,convert-scf-to-cf,expand-strided-metadata,finalize-memref-to-llvm,convert-to-llvm,reconcile-unrealized-casts)' -o %t.ll.mlir
// RUN: strata-run %t.ll.mlir -e entry --entry-point-result=void -O0 --shared-libs=%mlir_lib/libmlir_runner_utils.so,%mlir_lib/libmlir_c_runner_utils.so,%mlir_lib/libmlir_async_runtime.so | FileCheck %s
// RUN: strata-run %t.ll.mlir -e entry --entry-point-result=void --shared-libs=%mlir_lib/libmlir_runner_utils.so,%mlir_lib/libmlir_c_runner_utils.so,%mlir_lib/libmlir_async_runtime.so | FileCheck %s

// Every element is written (the sum of 2*i for i < 100000), by the
// parallel loop's blocks on the runtime's threads.
// CHECK: 9999900000
// CHECK-NOT: {{.}}
func.func @entry() {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %n = arith.constant 100000 : index
  %m = memref.alloc() : memref<100000xi64>
  scf.parallel (%i) = (%c0) to (%n) step (%c1) {
    %ii = arith.index_cast %i : index to i64
    %g = arith.addi %ii, %ii : i64
    memref.store %g, %m[%i] : memref<100000xi64>
  }
  %zero = arith.constant 0 : i64
  %sum = scf.for %i = %c0 to %n step %c1 iter_args(%acc = %zero) -> (i64) {
    %v = memref.load %m[%i] : memref<100000xi64>
    %next = arith.addi %acc, %v : i64
    scf.yield %next : i64
  }
  vector.print %sum : i64
  memref.dealloc %m : memref<100000xi64>
  return
}
