// The loops strata-lower-to-affine makes parallel are race-free by
// construction, and the check proves it at every level: no warning, one
// remark per loop.
// RUN: strata-opt %s --strata-pipeline=O0 --strata-remarks 2>&1 >/dev/null | FileCheck %s
// RUN: strata-opt %s --strata-pipeline=O3 --strata-remarks 2>&1 >/dev/null | FileCheck %s
// RUN: strata-opt %s --strata-pipeline=O3 --strata-races=off --strata-remarks 2>&1 >/dev/null | FileCheck %s --check-prefix=OFF
// RUN: not strata-opt %s --strata-pipeline=O3 --strata-races=sometimes 2>&1 | FileCheck %s --check-prefix=BADMODE
// CHECK-NOT: warning
// CHECK-NOT: error
// CHECK: remark: strata-check-races: affine.parallel is free of data races
// CHECK-NOT: warning
// CHECK-NOT: error
// OFF-NOT: strata-check-races
// BADMODE: error: unknown --strata-races mode 'sometimes': expected error, warn, off or runtime
func.func @t(%a: tensor<5x7x3xf32>) -> tensor<3x5x7xf32> {
  %0 = strata.transpose %a permutation = [2, 0, 1] : tensor<5x7x3xf32> -> tensor<3x5x7xf32>
  return %0 : tensor<3x5x7xf32>
}
func.func @r(%a: tensor<5x7x3xf32>) -> tensor<7xf32> {
  %0 = strata.reduce "max" %a dims = [0, 2] : tensor<5x7x3xf32> -> tensor<7xf32>
  return %0 : tensor<7xf32>
}
func.func @b(%a: tensor<7xf32>) -> tensor<5x7x3xf32> {
  %0 = strata.broadcast %a dims = [0, 2] : tensor<7xf32> -> tensor<5x7x3xf32>
  return %0 : tensor<5x7x3xf32>
}
func.func @bmm(%a: tensor<2x5x7xf64>, %b: tensor<2x7x3xf64>) -> tensor<2x5x3xf64> {
  %0 = strata.matmul %a, %b : tensor<2x5x7xf64>, tensor<2x7x3xf64> -> tensor<2x5x3xf64>
  return %0 : tensor<2x5x3xf64>
}
func.func @softmax(%x: tensor<6x37xf32>) -> tensor<6x37xf32> {
  %m = strata.reduce "max" %x dims = [1] : tensor<6x37xf32> -> tensor<6xf32>
  %mb = strata.broadcast %m dims = [1] : tensor<6xf32> -> tensor<6x37xf32>
  %d = strata.sub %x, %mb : tensor<6x37xf32>
  %e = strata.exp %d : tensor<6x37xf32>
  %s = strata.reduce "add" %e dims = [1] : tensor<6x37xf32> -> tensor<6xf32>
  %sb = strata.broadcast %s dims = [1] : tensor<6xf32> -> tensor<6x37xf32>
  %r = strata.div %e, %sb : tensor<6x37xf32>
  return %r : tensor<6x37xf32>
}
func.func @mm(%a: tensor<13x20xf32>, %b: tensor<20x37xf32>, %bias: tensor<37xf32>) -> tensor<13x37xf32> {
  %0 = strata.matmul %a, %b : tensor<13x20xf32>, tensor<20x37xf32> -> tensor<13x37xf32>
  %1 = strata.broadcast %bias dims = [0] : tensor<37xf32> -> tensor<13x37xf32>
  %2 = strata.add %0, %1 : tensor<13x37xf32>
  return %2 : tensor<13x37xf32>
}
