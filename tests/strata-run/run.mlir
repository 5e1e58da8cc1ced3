// Inputs in every form, results printed or saved as .npy (and read back),
// memref arguments shown when there are no results, the benchmark line.
// RUN: strata-run %s --input=2x3xf32=1,2,3,4,5,6 --input=f32=0.5 | FileCheck %s
// RUN: strata-run %s --input=2x3xf32=1,2,3,4,5,6 --input=f32=0.5 --output=@%t.sum.npy --output=@%t.max.npy
// RUN: strata-run %s -e twice --input=@%t.sum.npy | FileCheck %s --check-prefix=NPY
// RUN: strata-run %s -e inplace --input=5xi64=3 | FileCheck %s --check-prefix=MEMREF
// RUN: strata-run %s -e inplace --input=5xi64=3 --output=@%t.m.npy
// RUN: strata-run %s -e rank0 --input=i32=7 --input=3x2xi32=-1 | FileCheck %s --check-prefix=RANK0
// RUN: strata-run %s --input=2x3xf32=1 --input=f32=2 --benchmark=5 | FileCheck %s --check-prefix=BENCH
// RUN: env STRATA_NUM_THREADS=2 strata-run %s --input=2x3xf32=1,2,3,4,5,6 --input=f32=0.5 --strata-pipeline=O0 | FileCheck %s

// CHECK: 2x3xf32={{\[\[}}1.5,2.5,3.5],[4.5,5.5,6.5]]
// CHECK-NEXT: 3xf32=[4.5,5.5,6.5]
func.func @main(%a: tensor<2x3xf32>, %s: f32) -> (tensor<2x3xf32>, tensor<3xf32>) {
  %t = strata.fill %s : f32 -> tensor<2x3xf32>
  %r = strata.add %a, %t : tensor<2x3xf32>
  %m = strata.reduce "max" %r dims = [0] : tensor<2x3xf32> -> tensor<3xf32>
  return %r, %m : tensor<2x3xf32>, tensor<3xf32>
}

// NPY: 2x3xf32={{\[\[}}3,5,7],[9,11,13]]
func.func @twice(%a: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %r = strata.add %a, %a : tensor<2x3xf32>
  return %r : tensor<2x3xf32>
}

// MEMREF: 5xi64=[0,4,8,12,16]
func.func @inplace(%m: memref<5xi64>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c5 = arith.constant 5 : index
  strata.parallel_for %i = %c0 to %c5 step %c1 {
    %v = arith.index_cast %i : index to i64
    %four = arith.constant 4 : i64
    %w = arith.muli %v, %four : i64
    memref.store %w, %m[%i] : memref<5xi64>
  }
  return
}

// RANK0: i32=7
// RANK0-NEXT: 3x2xi32={{\[\[}}6,6],[6,6],[6,6]]
func.func @rank0(%a: tensor<i32>, %b: tensor<3x2xi32>) -> (tensor<i32>, tensor<3x2xi32>) {
  %x = strata.broadcast %a dims = [0, 1] : tensor<i32> -> tensor<3x2xi32>
  %y = strata.add %x, %b : tensor<3x2xi32>
  return %a, %y : tensor<i32>, tensor<3x2xi32>
}

// BENCH: {{^}}benchmark: 5 runs, median {{[0-9]+\.[0-9]+}} ms, min {{[0-9]+\.[0-9]+}} ms, max {{[0-9]+\.[0-9]+}} ms{{$}}
// BENCH-NOT: {{.}}
