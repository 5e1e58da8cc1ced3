// Every rule of dialect.md that the verifier checks, one case each.
// RUN: strata-opt %s --split-input-file --verify-diagnostics

func.func @matmul_k(%a: tensor<64x32xf32>, %b: tensor<31x48xf32>) {
  // expected-error@+1 {{'strata.matmul' op contracting dimensions differ: lhs has K=32, rhs has K=31}}
  %0 = "strata.matmul"(%a, %b) : (tensor<64x32xf32>, tensor<31x48xf32>) -> tensor<64x48xf32>
  return
}

// -----

func.func @matmul_rank(%a: tensor<8xf32>, %b: tensor<8xf32>) {
  // expected-error@+1 {{lhs must have rank 2 (MxK) or 3 (BxMxK), found rank 1}}
  %0 = "strata.matmul"(%a, %b) : (tensor<8xf32>, tensor<8xf32>) -> tensor<8xf32>
  return
}

// -----

func.func @matmul_rhs_rank(%a: tensor<4x8xf32>, %b: tensor<2x8x3xf32>) {
  // expected-error@+1 {{rhs rank 3 differs from lhs rank 2}}
  %0 = "strata.matmul"(%a, %b) : (tensor<4x8xf32>, tensor<2x8x3xf32>) -> tensor<4x3xf32>
  return
}

// -----

func.func @matmul_result_rank(%a: tensor<4x8xf32>, %b: tensor<8x3xf32>) {
  // expected-error@+1 {{result rank 1 differs from operand rank 2}}
  %0 = "strata.matmul"(%a, %b) : (tensor<4x8xf32>, tensor<8x3xf32>) -> tensor<12xf32>
  return
}

// -----

func.func @matmul_elements(%a: tensor<4x8xf32>, %b: tensor<8x3xf64>) {
  // expected-error@+1 {{element types differ: lhs has 'f32', rhs has 'f64', result has 'f32'}}
  %0 = "strata.matmul"(%a, %b) : (tensor<4x8xf32>, tensor<8x3xf64>) -> tensor<4x3xf32>
  return
}

// -----

func.func @matmul_batch(%a: tensor<2x4x8xi32>, %b: tensor<3x8x5xi32>) {
  // expected-error@+1 {{batch dimensions differ: lhs has B=2, rhs has B=3}}
  %0 = "strata.matmul"(%a, %b) : (tensor<2x4x8xi32>, tensor<3x8x5xi32>) -> tensor<2x4x5xi32>
  return
}

// -----

func.func @matmul_result_batch(%a: tensor<2x4x8xi32>, %b: tensor<2x8x5xi32>) {
  // expected-error@+1 {{result batch dimension is 3, expected B=2}}
  %0 = "strata.matmul"(%a, %b) : (tensor<2x4x8xi32>, tensor<2x8x5xi32>) -> tensor<3x4x5xi32>
  return
}

// -----

func.func @matmul_result_m(%a: tensor<4x8xf32>, %b: tensor<8x3xf32>) {
  // expected-error@+1 {{result dimension 0 is 5, expected M=4 from lhs}}
  %0 = "strata.matmul"(%a, %b) : (tensor<4x8xf32>, tensor<8x3xf32>) -> tensor<5x3xf32>
  return
}

// -----

func.func @matmul_result_n(%a: tensor<4x8xf32>, %b: tensor<8x3xf32>) {
  // expected-error@+1 {{result dimension 1 is 7, expected N=3 from rhs}}
  %0 = "strata.matmul"(%a, %b) : (tensor<4x8xf32>, tensor<8x3xf32>) -> tensor<4x7xf32>
  return
}

// -----

func.func @element_type(%a: tensor<4xf16>) {
  // expected-error@+1 {{operand #0 must be statically shaped tensor of f32, f64, i32 or i64}}
  %0 = "strata.add"(%a, %a) : (tensor<4xf16>, tensor<4xf16>) -> tensor<4xf16>
  return
}

// -----

func.func @dynamic_shape(%a: tensor<?xf32>) {
  // expected-error@+1 {{operand #0 must be statically shaped tensor of f32, f64, i32 or i64}}
  %0 = "strata.neg"(%a) : (tensor<?xf32>) -> tensor<?xf32>
  return
}

// -----

func.func @not_a_tensor(%a: memref<4xf32>) {
  // expected-error@+1 {{operand #0 must be statically shaped tensor of f32, f64, i32 or i64}}
  %0 = "strata.neg"(%a) : (memref<4xf32>) -> tensor<4xf32>
  return
}

// -----

func.func @binary_types(%a: tensor<4x5xf32>, %b: tensor<5x4xf32>) {
  // expected-error@+1 {{'strata.sub' op rhs type 'tensor<5x4xf32>' differs from lhs type 'tensor<4x5xf32>'}}
  %0 = "strata.sub"(%a, %b) : (tensor<4x5xf32>, tensor<5x4xf32>) -> tensor<4x5xf32>
  return
}

// -----

func.func @binary_result(%a: tensor<4xi32>) {
  // expected-error@+1 {{'strata.max' op result type 'tensor<4xi64>' differs from lhs type 'tensor<4xi32>'}}
  %0 = strata.max %a, %a : tensor<4xi32>, tensor<4xi32> -> tensor<4xi64>
  return
}

// -----

func.func @unary_result(%a: tensor<4xf32>) {
  // expected-error@+1 {{'strata.neg' op result type 'tensor<5xf32>' differs from x type 'tensor<4xf32>'}}
  %0 = strata.neg %a : tensor<4xf32> -> tensor<5xf32>
  return
}

// -----

func.func @exp_integer(%a: tensor<4xi32>) {
  // expected-error@+1 {{'strata.exp' op operand #0 must be statically shaped tensor of f32 or f64}}
  %0 = "strata.exp"(%a) : (tensor<4xi32>) -> tensor<4xi32>
  return
}

// -----

func.func @fill_type(%v: f64) {
  // expected-error@+1 {{'strata.fill' op value type 'f64' differs from result element type 'f32'}}
  %0 = "strata.fill"(%v) : (f64) -> tensor<3xf32>
  return
}

// -----

func.func @fill_scalar(%v: index) {
  // expected-error@+1 {{'strata.fill' op operand #0 must be f32, f64, i32 or i64}}
  %0 = "strata.fill"(%v) : (index) -> tensor<3xf32>
  return
}

// -----

func.func @map_shape(%a: tensor<4x5xf32>) {
  // expected-error@+1 {{'strata.map' op operand #0 has shape [4, 5], expected the result's shape [5, 4]}}
  %0 = "strata.map"(%a) ({
  ^bb0(%x: f32):
    "strata.yield"(%x) : (f32) -> ()
  }) : (tensor<4x5xf32>) -> tensor<5x4xf32>
  return
}

// -----

func.func @map_args(%a: tensor<4xf32>) {
  // expected-error@+1 {{'strata.map' op body has 0 arguments, expected one per operand (1)}}
  %0 = "strata.map"(%a) ({
    %c = arith.constant 1.0 : f32
    "strata.yield"(%c) : (f32) -> ()
  }) : (tensor<4xf32>) -> tensor<4xf32>
  return
}

// -----

func.func @map_arg_type(%a: tensor<4xi32>) {
  // expected-error@+1 {{'strata.map' op body argument #0 has type 'f32', expected 'i32' (the element type of operand #0)}}
  %0 = "strata.map"(%a) ({
  ^bb0(%x: f32):
    "strata.yield"(%x) : (f32) -> ()
  }) : (tensor<4xi32>) -> tensor<4xf32>
  return
}

// -----

func.func @map_yield_count(%a: tensor<4xf32>) {
  %0 = "strata.map"(%a) ({
  ^bb0(%x: f32):
    // expected-error@+1 {{'strata.yield' op in 'strata.map' must yield exactly one value, found 2}}
    "strata.yield"(%x, %x) : (f32, f32) -> ()
  }) : (tensor<4xf32>) -> tensor<4xf32>
  return
}

// -----

func.func @map_yield_type(%a: tensor<4xf32>) {
  %0 = "strata.map"(%a) ({
  ^bb0(%x: f32):
    // expected-error@+1 {{'strata.yield' op yields 'f32', expected the result element type 'f64'}}
    "strata.yield"(%x) : (f32) -> ()
  }) : (tensor<4xf32>) -> tensor<4xf64>
  return
}

// -----

func.func @map_forbidden_op(%a: tensor<4xf32>, %m: memref<4xf32>) {
  %0 = "strata.map"(%a) ({
  ^bb0(%x: f32):
    %c = arith.constant 0 : index
    // expected-error@+1 {{'memref.load' op is not allowed in a 'strata.map' body (only arith, math and scf ops and strata.index)}}
    %v = memref.load %m[%c] : memref<4xf32>
    "strata.yield"(%v) : (f32) -> ()
  }) : (tensor<4xf32>) -> tensor<4xf32>
  return
}

// -----

func.func @map_capture(%a: tensor<4xf32>, %t: tensor<4xf32>) {
  %0 = "strata.map"(%a) ({
  ^bb0(%x: f32):
    // expected-error@+1 {{uses a value of type 'tensor<4xf32>' defined outside the 'strata.map' body; only scalars may be captured}}
    %v = arith.addf %t, %t : tensor<4xf32>
    "strata.yield"(%x) : (f32) -> ()
  }) : (tensor<4xf32>) -> tensor<4xf32>
  return
}

// -----

func.func @map_terminator(%a: tensor<4xf32>) {
  %0 = "strata.map"(%a) ({
  ^bb0(%x: f32):
    // expected-error@+1 {{block with no terminator}}
    %y = arith.addf %x, %x : f32
  }) : (tensor<4xf32>) -> tensor<4xf32>
  return
}

// -----

func.func @index_outside() {
  // expected-error@+1 {{'strata.index' op is only valid inside a 'strata.map' region}}
  %i = "strata.index"() {dim = 0 : i64} : () -> index
  return
}

// -----

func.func @index_dim() {
  %0 = "strata.map"() ({
    // expected-error@+1 {{'strata.index' op dim 2 is out of range for the enclosing map's rank 2}}
    %i = "strata.index"() {dim = 2 : i64} : () -> index
    %f = arith.index_cast %i : index to i32
    "strata.yield"(%f) : (i32) -> ()
  }) : () -> tensor<3x3xi32>
  return
}

// -----

func.func @broadcast_unsorted(%a: tensor<4xf32>) {
  // expected-error@+1 {{'strata.broadcast' op dims [2, 0] must be sorted}}
  %0 = "strata.broadcast"(%a) {dims = array<i64: 2, 0>} : (tensor<4xf32>) -> tensor<2x4x3xf32>
  return
}

// -----

func.func @broadcast_duplicate(%a: tensor<4xf32>) {
  // expected-error@+1 {{'strata.broadcast' op dims lists dimension 0 twice}}
  %0 = "strata.broadcast"(%a) {dims = array<i64: 0, 0>} : (tensor<4xf32>) -> tensor<2x4xf32>
  return
}

// -----

func.func @broadcast_range(%a: tensor<4xf32>) {
  // expected-error@+1 {{'strata.broadcast' op dims entry 2 is out of range for rank 2}}
  %0 = "strata.broadcast"(%a) {dims = array<i64: 2>} : (tensor<4xf32>) -> tensor<2x4xf32>
  return
}

// -----

func.func @broadcast_rank(%a: tensor<4xf32>) {
  // expected-error@+1 {{'strata.broadcast' op result rank 3 must equal input rank 1 plus the number of dims (1)}}
  %0 = "strata.broadcast"(%a) {dims = array<i64: 0>} : (tensor<4xf32>) -> tensor<2x4x5xf32>
  return
}

// -----

func.func @broadcast_dim(%a: tensor<4x5xf32>) {
  // expected-error@+1 {{'strata.broadcast' op result dimension 2 is 6, expected 5 (input dimension 1)}}
  %0 = "strata.broadcast"(%a) {dims = array<i64: 1>} : (tensor<4x5xf32>) -> tensor<4x9x6xf32>
  return
}

// -----

func.func @broadcast_element(%a: tensor<4xf32>) {
  // expected-error@+1 {{'strata.broadcast' op result element type 'f64' differs from input element type 'f32'}}
  %0 = "strata.broadcast"(%a) {dims = array<i64: 0>} : (tensor<4xf32>) -> tensor<2x4xf64>
  return
}

// -----

func.func @transpose_size(%a: tensor<4x5xf32>) {
  // expected-error@+1 {{'strata.transpose' op permutation has 3 entries, expected the input rank 2}}
  %0 = "strata.transpose"(%a) {permutation = array<i64: 0, 1, 2>} : (tensor<4x5xf32>) -> tensor<4x5xf32>
  return
}

// -----

func.func @transpose_duplicate(%a: tensor<4x5xf32>) {
  // expected-error@+1 {{'strata.transpose' op permutation lists dimension 1 twice}}
  %0 = "strata.transpose"(%a) {permutation = array<i64: 1, 1>} : (tensor<4x5xf32>) -> tensor<5x5xf32>
  return
}

// -----

func.func @transpose_shape(%a: tensor<4x5xf32>) {
  // expected-error@+1 {{'strata.transpose' op result dimension 0 is 4, expected 5 (input dimension 1)}}
  %0 = "strata.transpose"(%a) {permutation = array<i64: 1, 0>} : (tensor<4x5xf32>) -> tensor<4x5xf32>
  return
}

// -----

func.func @transpose_element(%a: tensor<4x5xi32>) {
  // expected-error@+1 {{'strata.transpose' op result element type 'i64' differs from input element type 'i32'}}
  %0 = "strata.transpose"(%a) {permutation = array<i64: 1, 0>} : (tensor<4x5xi32>) -> tensor<5x4xi64>
  return
}

// -----

func.func @reduce_kind(%a: tensor<4x5xf32>) {
  // expected-error@+1 {{'strata.reduce' op kind "sum" is not one of "add", "mul", "max", "min"}}
  %0 = "strata.reduce"(%a) {dims = array<i64: 1>, kind = "sum"} : (tensor<4x5xf32>) -> tensor<4xf32>
  return
}

// -----

func.func @reduce_range(%a: tensor<4x5xf32>) {
  // expected-error@+1 {{'strata.reduce' op dims entry 2 is out of range for rank 2}}
  %0 = "strata.reduce"(%a) {dims = array<i64: 2>, kind = "add"} : (tensor<4x5xf32>) -> tensor<4xf32>
  return
}

// -----

func.func @reduce_duplicate(%a: tensor<4x5xf32>) {
  // expected-error@+1 {{'strata.reduce' op dims lists dimension 1 twice}}
  %0 = "strata.reduce"(%a) {dims = array<i64: 1, 1>, kind = "add"} : (tensor<4x5xf32>) -> tensor<4xf32>
  return
}

// -----

func.func @reduce_shape(%a: tensor<4x5xf32>) {
  // expected-error@+1 {{'strata.reduce' op result shape [5] differs from the input shape without dims, [4]}}
  %0 = "strata.reduce"(%a) {dims = array<i64: 1>, kind = "max"} : (tensor<4x5xf32>) -> tensor<5xf32>
  return
}

// -----

func.func @reduce_element(%a: tensor<4x5xf32>) {
  // expected-error@+1 {{'strata.reduce' op result element type 'f64' differs from input element type 'f32'}}
  %0 = "strata.reduce"(%a) {dims = array<i64: 0, 1>, kind = "min"} : (tensor<4x5xf32>) -> tensor<f64>
  return
}

// -----

func.func @reduce_kind_type(%a: tensor<4xf32>) {
  // expected-error@+1 {{'strata.reduce' op attribute 'kind' failed to satisfy constraint: string attribute}}
  %0 = "strata.reduce"(%a) {dims = array<i64: 0>, kind = 1 : i64} : (tensor<4xf32>) -> tensor<f32>
  return
}

// -----

func.func @parallel_grain(%n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  // expected-error@+1 {{'strata.parallel_for' op grain must be at least 1, found 0}}
  "strata.parallel_for"(%c0, %n, %c1) ({
  ^bb0(%i: index):
    "strata.yield"() : () -> ()
  }) {grain = 0 : i64} : (index, index, index) -> ()
  return
}

// -----

func.func @parallel_step(%n: index) {
  %c0 = arith.constant 0 : index
  // expected-error@+1 {{'strata.parallel_for' op step must be positive, found 0}}
  "strata.parallel_for"(%c0, %n, %c0) ({
  ^bb0(%i: index):
    "strata.yield"() : () -> ()
  }) : (index, index, index) -> ()
  return
}

// -----

func.func @parallel_args(%n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  // expected-error@+1 {{'strata.parallel_for' op body must have exactly one 'index' argument, found 2 argument(s)}}
  "strata.parallel_for"(%c0, %n, %c1) ({
  ^bb0(%i: index, %j: index):
    "strata.yield"() : () -> ()
  }) : (index, index, index) -> ()
  return
}

// -----

func.func @parallel_yield(%n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  "strata.parallel_for"(%c0, %n, %c1) ({
  ^bb0(%i: index):
    // expected-error@+1 {{'strata.yield' op in 'strata.parallel_for' must yield no values, found 1}}
    "strata.yield"(%i) : (index) -> ()
  }) : (index, index, index) -> ()
  return
}

// -----

func.func @parallel_bounds(%n: i64) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  // expected-error@+1 {{'strata.parallel_for' op operand #1 must be index}}
  "strata.parallel_for"(%c0, %n, %c1) ({
  ^bb0(%i: index):
    "strata.yield"() : () -> ()
  }) : (index, i64, index) -> ()
  return
}

// -----

func.func @yield_parent() {
  // expected-error@+1 {{'strata.yield' op expects parent op to be one of 'strata.map, strata.parallel_for'}}
  "strata.yield"() : () -> ()
  return
}
