// strata-parallelize: strata.parallel_for becomes scf.parallel (the pool
// runtime is planned; until then parallel loops run sequentially), and with
// runtime=omp every parallel loop becomes OpenMP.
// RUN: strata-opt %s --strata-parallelize | FileCheck %s
// RUN: strata-opt %s --strata-parallelize=runtime=omp | FileCheck %s --check-prefix=OMP

// CHECK-LABEL: func.func @scale
// CHECK: scf.parallel (%[[I:.*]]) = (%{{.*}}) to (%{{.*}}) step (%{{.*}}) {
// CHECK: scf.parallel (%[[J:.*]]) = (%{{.*}}) to (%{{.*}}) step (%{{.*}}) {
// CHECK: memref.store %{{.*}}, %{{.*}}[%[[I]], %[[J]]]
// CHECK-NOT: strata.
// OMP-LABEL: func.func @scale
// OMP: omp.parallel
// OMP: omp.wsloop
// OMP-NOT: strata.
func.func @scale(%buf: memref<10x20xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c10 = arith.constant 10 : index
  %c20 = arith.constant 20 : index
  strata.parallel_for %i = %c0 to %c10 step %c1 grain 4 {
    strata.parallel_for %j = %c0 to %c20 step %c2 {
      %v = memref.load %buf[%i, %j] : memref<10x20xf32>
      %w = arith.addf %v, %v : f32
      memref.store %w, %buf[%i, %j] : memref<10x20xf32>
    }
  }
  return
}
