// A function that returns one value more than once: each result is its own
// out-parameter, both written, at every level (upstream's
// buffer-results-to-out-params crashed on a repeated allocation).
// RUN: strata-opt %s --strata-lower-to-affine | FileCheck %s --check-prefix=AFFINE
// RUN: strata-run %s --input=3xf32=0,1,2 --strata-pipeline=O0 | FileCheck %s
// RUN: strata-run %s --input=3xf32=0,1,2 --strata-pipeline=O1 | FileCheck %s
// RUN: strata-run %s --input=3xf32=0,1,2 --strata-pipeline=O2 | FileCheck %s
// RUN: strata-run %s --input=3xf32=0,1,2 --strata-pipeline=O3 | FileCheck %s
// RUN: strata-run %s -e three --input=2xi32=5,-6 | FileCheck %s --check-prefix=THREE
// RUN: strata-run %s -e args --input=2xi32=5,-6 | FileCheck %s --check-prefix=ARGS
// RUN: strata-run %s -e buffers --input=2xi64=7,8 | FileCheck %s --check-prefix=BUFFERS

// AFFINE-LABEL: func.func @main(%arg0: memref<3xf32>, %arg1: memref<3xf32> {bufferize.result}, %arg2: memref<3xf32> {bufferize.result})
// AFFINE: math.exp
// AFFINE: affine.store %{{.*}}, %arg1
// AFFINE: memref.copy %arg1, %arg2
// CHECK: 3xf32=[1,2.7182817,7.389056]
// CHECK-NEXT: 3xf32=[1,2.7182817,7.389056]
// CHECK-NOT: {{.}}
func.func @main(%x: tensor<3xf32>) -> (tensor<3xf32>, tensor<3xf32>) {
  %a = "strata.exp"(%x) : (tensor<3xf32>) -> tensor<3xf32>
  return %a, %a : tensor<3xf32>, tensor<3xf32>
}

// THREE: 2xi32=[-5,6]
// THREE-NEXT: 2xi32=[5,-6]
// THREE-NEXT: 2xi32=[-5,6]
func.func @three(%x: tensor<2xi32>) -> (tensor<2xi32>, tensor<2xi32>, tensor<2xi32>) {
  %a = strata.neg %x : tensor<2xi32>
  %b = strata.neg %a : tensor<2xi32>
  return %a, %b, %a : tensor<2xi32>, tensor<2xi32>, tensor<2xi32>
}

// ARGS: 2xi32=[5,-6]
// ARGS-NEXT: 2xi32=[5,-6]
func.func @args(%x: tensor<2xi32>) -> (tensor<2xi32>, tensor<2xi32>) {
  return %x, %x : tensor<2xi32>, tensor<2xi32>
}

// BUFFERS: 2xi64=[7,8]
// BUFFERS-NEXT: 2xi64=[7,8]
func.func @buffers(%x: memref<2xi64>) -> (memref<2xi64>, memref<2xi64>) {
  %a = memref.alloc() : memref<2xi64>
  memref.copy %x, %a : memref<2xi64> to memref<2xi64>
  return %a, %a : memref<2xi64>, memref<2xi64>
}
