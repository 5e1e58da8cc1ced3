// strata-lower-to-llvm takes affine, scf, vector, memref, math, arith and
// func all the way to the LLVM dialect; --strata-pipeline=O0..O3 end there
// too (on IR without strata tensor ops, which the affine lowering will take
// once it lands).
// RUN: strata-opt %s --strata-lower-to-llvm | FileCheck %s --check-prefixes=CHECK,LIBM
// RUN: strata-opt %s --strata-lower-to-llvm --mlir-print-ir-after-all 2>&1 >/dev/null | FileCheck %s --check-prefix=STEPS
// RUN: strata-opt %s --strata-pipeline=O0 | FileCheck %s --check-prefixes=CHECK,LIBM
// RUN: strata-opt %s --strata-pipeline=O1 | FileCheck %s --check-prefixes=CHECK,LIBM
// At O2 and O3, strata-vectorize turns f32 tanh into arithmetic.
// RUN: strata-opt %s --strata-pipeline=O2 | FileCheck %s --check-prefixes=CHECK,FAST
// RUN: strata-opt %s --strata-pipeline=O3 | FileCheck %s --check-prefixes=CHECK,FAST

// CHECK-NOT: affine.
// CHECK-NOT: scf.
// CHECK-NOT: memref.
// CHECK-NOT: math.
// CHECK-NOT: func.func
// CHECK-DAG: llvm.func @malloc
// CHECK-DAG: llvm.func @sum(
// LIBM-DAG: llvm.intr.tanh
// FAST-NOT: llvm.intr.tanh
// CHECK-DAG: llvm.intr.vector.reduce.fadd
// CHECK-NOT: builtin.unrealized_conversion_cast

// STEPS: IR Dump After LowerAffinePass (lower-affine)
// STEPS: IR Dump After SCFToControlFlowPass (convert-scf-to-cf)
// STEPS: IR Dump After ConvertToLLVMPass (convert-to-llvm)
// STEPS: IR Dump After ReconcileUnrealizedCastsPass (reconcile-unrealized-casts)

func.func @sum(%m: memref<10xf32>, %v: vector<4xf32>) -> f32 {
  %tmp = memref.alloc() : memref<10xf32>
  affine.for %i = 0 to 10 {
    %x = affine.load %m[%i] : memref<10xf32>
    %y = math.tanh %x : f32
    affine.store %y, %tmp[%i] : memref<10xf32>
  }
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c10 = arith.constant 10 : index
  %zero = arith.constant 0.0 : f32
  %s = scf.for %i = %c0 to %c10 step %c1 iter_args(%acc = %zero) -> (f32) {
    %x = memref.load %tmp[%i] : memref<10xf32>
    %n = arith.addf %acc, %x : f32
    scf.yield %n : f32
  }
  %r = vector.reduction <add>, %v, %s : vector<4xf32> into f32
  memref.dealloc %tmp : memref<10xf32>
  return %r : f32
}
