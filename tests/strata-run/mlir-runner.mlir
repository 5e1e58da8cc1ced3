// A program that runs under mlir-runner prints the same under strata-run:
// vector.print and the c_runner_utils printers, and the entry point's
// result. (mlir-runner takes the LLVM dialect, so mlir-opt lowers it for
// mlir-runner; strata-run takes the file as it is.)
// RUN: mlir-opt %s --pass-pipeline='builtin.module(convert-linalg-to-loops,convert-vector-to-scf,lower-affine,convert-scf-to-cf,expand-strided-metadata,convert-vector-to-llvm,convert-to-llvm,reconcile-unrealized-casts)' -o %t.ll.mlir
// RUN: mlir-runner %t.ll.mlir -e main --entry-point-result=i32 --shared-libs=%mlir_lib/libmlir_c_runner_utils.so,%mlir_lib/libmlir_runner_utils.so > %t.expected
// RUN: strata-run %s -e main --entry-point-result=i32 --shared-libs=%mlir_lib/libmlir_c_runner_utils.so,%mlir_lib/libmlir_runner_utils.so > %t.got
// RUN: strata-run %t.ll.mlir -e main --entry-point-result=i32 -O0 --shared-libs=%mlir_lib/libmlir_c_runner_utils.so,%mlir_lib/libmlir_runner_utils.so > %t.got-ll
// Buffers print with their address, which differs from run to run.
// RUN: sed -e 's/base@ = 0x[0-9a-f]*/base@ = ADDR/' %t.expected > %t.expected.clean
// RUN: sed -e 's/base@ = 0x[0-9a-f]*/base@ = ADDR/' %t.got > %t.got.clean
// RUN: sed -e 's/base@ = 0x[0-9a-f]*/base@ = ADDR/' %t.got-ll > %t.got-ll.clean
// RUN: diff %t.expected.clean %t.got.clean
// RUN: diff %t.expected.clean %t.got-ll.clean
// RUN: FileCheck %s < %t.got.clean
// RUN: strata-run %s -e nothing --entry-point-result=void --shared-libs=%mlir_lib/libmlir_c_runner_utils.so,%mlir_lib/libmlir_runner_utils.so | FileCheck %s --check-prefix=VOID
// RUN: strata-run %s -e half --entry-point-result=f32 --shared-libs=%mlir_lib/libmlir_c_runner_utils.so,%mlir_lib/libmlir_runner_utils.so | FileCheck %s --check-prefix=F32
// A library that does not exist is left out with a warning, as mlir-runner goes on without it.
// RUN: strata-run %s -e nothing --entry-point-result=void --shared-libs=%t.no-such-lib.so,%mlir_lib/libmlir_c_runner_utils.so,%mlir_lib/libmlir_runner_utils.so 2>&1 | FileCheck %s --check-prefix=NOLIB

// CHECK: ( 1.5, 1.5, 1.5, 1.5 )
// CHECK: Unranked Memref base@ = ADDR rank = 2 offset = 0 sizes = [2, 3] strides = [3, 1] data =
// CHECK-NEXT: {{\[\[}}0, 1, 2],
// CHECK-NEXT: [1, 2, 3]]
// CHECK-NEXT: 42
// VOID: ( 7 )
// VOID-NOT: {{.}}
// F32: 5.000000e-01
// NOLIB: warning: shared library '{{.*}}no-such-lib.so' does not exist; going on without it
// NOLIB-NEXT: ( 7 )

func.func private @printMemrefF32(memref<*xf32>)
func.func @main() -> i32 {
  %c = arith.constant 42 : i32
  %f = arith.constant 1.5 : f32
  %v = vector.broadcast %f : f32 to vector<4xf32>
  vector.print %v : vector<4xf32>
  %m = memref.alloc() : memref<2x3xf32>
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  scf.for %i = %c0 to %c2 step %c1 {
    scf.for %j = %c0 to %c3 step %c1 {
      %s = arith.addi %i, %j : index
      %si = arith.index_cast %s : index to i32
      %sf = arith.sitofp %si : i32 to f32
      memref.store %sf, %m[%i, %j] : memref<2x3xf32>
    }
  }
  %u = memref.cast %m : memref<2x3xf32> to memref<*xf32>
  call @printMemrefF32(%u) : (memref<*xf32>) -> ()
  memref.dealloc %m : memref<2x3xf32>
  return %c : i32
}

func.func @nothing() {
  %v = arith.constant dense<7> : vector<1xi64>
  vector.print %v : vector<1xi64>
  return
}

func.func @half() -> f32 {
  %h = arith.constant 0.5 : f32
  return %h : f32
}
