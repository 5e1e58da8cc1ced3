// strata-run runs the race check too: a provable race stops the compile,
// --strata-races=warn lets it run with a warning, off says nothing. Atomic
// read-modify-writes (a histogram, a scatter-add) are race-free and give
// exact counts on the pool and on OpenMP. strata-opt's flag does the same.
// RUN: not strata-run %S/Inputs/racy.mlir -e racy --input=8xf32=0 --input=f32=1 2>&1 | FileCheck %s --check-prefix=ERR
// RUN: strata-run %S/Inputs/racy.mlir -e racy --input=8xf32=0 --input=f32=1 --strata-races=warn 2>&1 | FileCheck %s --check-prefix=WARN
// RUN: strata-run %S/Inputs/racy.mlir -e racy --input=8xf32=0 --input=f32=1 --strata-races=off 2>&1 | FileCheck %s --check-prefix=OFF
// RUN: strata-run %s -e hist --input=1000xi32=3 --input=16xi32=0 --threads=2 | FileCheck %s --check-prefix=HIST
// RUN: strata-run %s -e hist --input=1000xi32=3 --input=16xi32=0 --threads=2 --pass-pipeline='builtin.module(strata-lower-to-affine,strata-check-races{mode=warn},strata-parallelize{runtime=omp},strata-lower-to-llvm)' | FileCheck %s --check-prefix=HIST
// RUN: strata-run %s -e scatter --input=1000xf32=0.5 --input=1000xi64=2 --input=7xf32=0 --threads=2 | FileCheck %s --check-prefix=SCATTER
// RUN: strata-run %s -e scatter --input=1000xf32=0.5 --input=1000xi64=2 --input=7xf32=0 --threads=2 --pass-pipeline='builtin.module(strata-lower-to-affine,strata-check-races,strata-parallelize{runtime=omp},strata-lower-to-llvm)' | FileCheck %s --check-prefix=SCATTER
// strata-opt takes the same flag:
// RUN: not strata-opt %S/Inputs/racy.mlir --strata-pipeline=O3 2>&1 >/dev/null | FileCheck %s --check-prefix=OPTERR
// RUN: strata-opt %S/Inputs/racy.mlir --strata-pipeline=O3 --strata-races=warn 2>&1 | FileCheck %s --check-prefix=OPTWARN
// RUN: strata-opt %S/Inputs/racy.mlir --strata-pipeline=O3 --strata-races=off 2>&1 | FileCheck %s --check-prefix=OPTOFF
// ERR: racy.mlir:7:3: error: pass 'strata-check-races' failed: data race: iterations 0 and 1 of this strata.parallel_for both write %buf[3]
// ERR-NOT: 8xf32=
// WARN: warning: data race: iterations 0 and 1 of this strata.parallel_for both write %buf[3]
// WARN: 8xf32=[0,0,0,1,0,0,0,0]
// OFF-NOT: warning
// OFF: 8xf32=[0,0,0,1,0,0,0,0]
// HIST: 16xi32=[0,0,0,1000,0,0,0,0,0,0,0,0,0,0,0,0]
// SCATTER: 7xf32=[0,0,500,0,0,0,0]
// OPTERR: racy.mlir:7:3: error: data race: iterations 0 and 1 of this strata.parallel_for both write %buf[3]
// OPTWARN: racy.mlir:7:3: warning: data race: iterations 0 and 1 of this strata.parallel_for both write %buf[3]
// OPTWARN: llvm.func @racy
// OPTOFF-NOT: warning
// OPTOFF: llvm.func @racy
func.func @hist(%x: memref<1000xi32>, %h: memref<16xi32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %n = arith.constant 1000 : index
  %one = arith.constant 1 : i32
  strata.parallel_for %i = %c0 to %n step %c1 {
    %v = memref.load %x[%i] : memref<1000xi32>
    %b = arith.index_cast %v : i32 to index
    %old = memref.atomic_rmw addi %one, %h[%b] : (i32, memref<16xi32>) -> i32
  }
  return
}
func.func @scatter(%x: memref<1000xf32>, %idx: memref<1000xi64>, %out: memref<7xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %n = arith.constant 1000 : index
  strata.parallel_for %i = %c0 to %n step %c1 {
    %v = memref.load %x[%i] : memref<1000xf32>
    %k = memref.load %idx[%i] : memref<1000xi64>
    %b = arith.index_cast %k : i64 to index
    %old = memref.atomic_rmw addf %v, %out[%b] : (f32, memref<7xf32>) -> f32
  }
  return
}
