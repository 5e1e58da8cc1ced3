// A module may name its own target with just a CPU (and features); the
// tools complete it. A strata.target they cannot read is an error.
// RUN: not strata-opt %s --split-input-file --strata-lower-to-affine --strata-vectorize | FileCheck %s
// RUN: not strata-opt %s --split-input-file --strata-lower-to-affine 2>&1 | FileCheck %s --check-prefix=BAD

// CHECK: strata.target = {cores = {{[0-9]+}} : i64, cpu = "x86-64-v4", features = "", {{.*}} vector_bits = 512 : i64
// CHECK: vector<16xf32>
module attributes {strata.target = {cpu = "x86-64-v4"}} {
  func.func @main(%x: tensor<37xf32>) -> tensor<37xf32> {
    %0 = strata.add %x, %x : tensor<37xf32>
    return %0 : tensor<37xf32>
  }
}

// -----

// CHECK: cpu = "x86-64", features = "+avx2", {{.*}} vector_bits = 256 : i64
// CHECK: vector<8xf32>
module attributes {strata.target = {cpu = "x86-64", features = "+avx2"}} {
  func.func @main(%x: tensor<37xf32>) -> tensor<37xf32> {
    %0 = strata.add %x, %x : tensor<37xf32>
    return %0 : tensor<37xf32>
  }
}

// -----

// BAD: error: malformed strata.target attribute 3 : i64: expected a dictionary with at least cpu = "NAME"
module attributes {strata.target = 3} {
  func.func @main(%x: tensor<37xf32>) -> tensor<37xf32> {
    return %x : tensor<37xf32>
  }
}

// -----

// BAD: error: unknown target CPU 'pentium9'
module attributes {strata.target = {cpu = "pentium9"}} {
  func.func @main(%x: tensor<37xf32>) -> tensor<37xf32> {
    return %x : tensor<37xf32>
  }
}
