// strata-vectorize: a matmul (kept structured by lower-to-affine) becomes a
// register-blocked vector micro-kernel (6 rows x 2 vectors of 16
// accumulators held across k), over a packed copy of each block of B's
// columns; leftover rows are one block of the rows left, leftover columns
// one more block whose last vector is masked.
// RUN: strata-opt %s --strata-target=skylake-avx512 --strata-lower-to-affine=keep-contractions=true --strata-vectorize | FileCheck %s
// RUN: strata-opt %s --strata-target=znver3 --strata-lower-to-affine=keep-contractions=true --strata-vectorize | FileCheck %s --check-prefix=AVX2
// vector-width overrides the target's, and must be a width x86 has.
// RUN: not strata-opt %s --strata-lower-to-affine=keep-contractions=true --strata-vectorize=vector-width=-1 2>&1 | FileCheck %s --check-prefix=BADW
// RUN: not strata-opt %s --strata-lower-to-affine=keep-contractions=true --strata-vectorize=vector-width=7 2>&1 | FileCheck %s --check-prefix=BADW
// RUN: not strata-opt %s --strata-lower-to-affine=keep-contractions=true --strata-vectorize=vector-width=100 2>&1 | FileCheck %s --check-prefix=BADW
// RUN: not strata-opt %s --strata-lower-to-affine=keep-contractions=true --strata-vectorize=vector-width=100000 2>&1 | FileCheck %s --check-prefix=BADW
// BADW: error: 'strata-vectorize' option vector-width must be 128, 256 or 512 (or 0 for the target's), not
// Integer matmul gets the same kernel, with a multiply and an add.
// RUN: strata-opt %s --strata-target=skylake-avx512 --strata-lower-to-affine=keep-contractions=true --strata-vectorize | FileCheck %s --check-prefix=INT
// Elementwise loops and strata.map bodies, scf.for with loop-carried values
// included, run W elements at a time; f32 exp and tanh become arithmetic.
// RUN: strata-opt %s --strata-target=skylake-avx512 --strata-lower-to-affine=keep-contractions=true --strata-vectorize | FileCheck %s --check-prefix=MAP

// CHECK-LABEL: func.func @mm(
// CHECK-SAME: %[[A:.*]]: memref<13x5xf32>, %[[B:.*]]: memref<5x37xf32>, %[[C:.*]]: memref<13x37xf32>
// C's zero fill is folded into the accumulators: no loop fills C.
// CHECK-NOT: affine.store
// Two column blocks of 32 (the second is 5 columns), each split into two
// row chunks: four tasks in one parallel loop.
// CHECK: scf.parallel (%[[T:.*]]) = (%{{.*}}) to (%c4{{.*}}) step (%c1
// CHECK: %[[CHUNK:.*]] = arith.remui %[[T]], %c2
// CHECK: %[[LAST:.*]] = arith.cmpi eq, %[[CHUNK]], %c1
// CHECK: scf.if
// CHECK: %[[P:.*]] = memref.alloc() {alignment = 64 : i64} : memref<1x5x32xf32>
// CHECK: vector.load %[[B]]
// CHECK: vector.store %{{.*}}, %[[P]]
// This chunk's panels of 6 rows.
// CHECK: scf.for %{{.*}} = %{{.*}} to %{{.*}} step %c1
// CHECK: scf.for {{.*}} iter_args(%{{.*}} = %[[Z:cst[_0-9]*]], {{.*}}) -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>)
// CHECK-COUNT-2: vector.load %[[P]]
// CHECK: memref.load %[[A]]
// CHECK: vector.broadcast
// CHECK-COUNT-2: vector.fma
// CHECK-COUNT-12: vector.store {{.*}}, %[[C]]
// The leftover row 12, a block of its own, in the last chunk.
// CHECK: scf.if %[[LAST]]
// CHECK: iter_args({{.*}}) -> (vector<16xf32>, vector<16xf32>)
// CHECK: memref.load %[[A]][%c12
// CHECK: memref.dealloc %[[P]]
// CHECK: } else {
// CHECK: %[[M:.*]] = vector.create_mask %c5{{.*}} : vector<16xi1>
// CHECK: memref.alloc() {alignment = 64 : i64} : memref<1x5x16xf32>
// CHECK: vector.maskedload %[[B]][{{.*}}], %[[M]]
// CHECK: vector.fma
// CHECK: vector.maskedstore %[[C]][{{.*}}], %[[M]]
// AVX2-LABEL: func.func @mm(
// AVX2: scf.parallel (%{{.*}}) = (%{{.*}}) to (%c6{{.*}}) step (%c1
// AVX2: memref.alloc() {alignment = 64 : i64} : memref<1x5x16xf32>
// AVX2: iter_args({{.*}}) -> (vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>)
// AVX2-NOT: vector<16xf32>
// AVX2: vector.create_mask %c5{{.*}} : vector<8xi1>
// No loop is left of the contraction.
// CHECK-NOT: linalg.generic
func.func @mm(%a: tensor<13x5xf32>, %b: tensor<5x37xf32>) -> tensor<13x37xf32> {
  %0 = strata.matmul %a, %b : tensor<13x5xf32>, tensor<5x37xf32> -> tensor<13x37xf32>
  return %0 : tensor<13x37xf32>
}

// INT-LABEL: func.func @ints(
// INT-NOT: vector.fma
// INT: scf.parallel
// INT: iter_args({{.*}}) -> (vector<16xi32>,
// INT: memref.load {{.*}} : memref<13x5xi32>
// INT: vector.broadcast {{.*}} : i32 to vector<16xi32>
// INT: %[[P:.*]] = arith.muli {{.*}} : vector<16xi32>
// INT: arith.addi %{{.*}}, %[[P]] : vector<16xi32>
// INT: vector.maskedstore
// INT: return
func.func @ints(%a: tensor<13x5xi32>, %b: tensor<5x37xi32>) -> tensor<13x37xi32> {
  %0 = strata.matmul %a, %b : tensor<13x5xi32>, tensor<5x37xi32> -> tensor<13x37xi32>
  return %0 : tensor<13x37xi32>
}

// A body with an inner loop is latency-bound: it runs several vectors of
// lanes at once (skylake-avx512's 32 registers allow 4; 19 columns have
// room for 2 vectors of 8 f64).
// MAP-LABEL: func.func @gen(
// MAP: %[[IOTA:.*]] = arith.constant dense<[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]> : vector<16xindex>
// MAP: scf.for %[[J:.*]] = %{{.*}} to %c16{{.*}} step %c16
// MAP: %[[JB:.*]] = vector.broadcast %[[J]] : index to vector<16xindex>
// MAP: arith.addi %[[JB]], %[[IOTA]] : vector<16xindex>
// MAP: scf.for {{.*}} iter_args({{.*}}) -> (vector<16xf64>)
// MAP: arith.addf {{.*}} : vector<16xf64>
// MAP: vector.store {{.*}} : memref<3x19xf64>, vector<16xf64>
// MAP: affine.parallel (%{{.*}}) = (16) to (19)
func.func @gen() -> tensor<3x19xf64> {
  %0 = strata.map() : () -> tensor<3x19xf64> {
    %j = strata.index 1
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c5 = arith.constant 5 : index
    %jj = arith.index_cast %j : index to i64
    %x = arith.sitofp %jj : i64 to f64
    %s = scf.for %k = %c0 to %c5 step %c1 iter_args(%acc = %x) -> (f64) {
      %n = arith.addf %acc, %x : f64
      scf.yield %n : f64
    }
    strata.yield %s : f64
  }
  return %0 : tensor<3x19xf64>
}

// MAP-LABEL: func.func @act(
// MAP-NOT: math.tanh
// MAP-NOT: math.exp
// MAP: arith.divf {{.*}} : vector<16xf32>
// 16-lane exp on AVX-512 applies 2^n with vscalefps, no integer exponent
// arithmetic (tanh's one power of two, above, keeps its bitcast).
// MAP: func.func private @__strata_exp_f32x16(
// MAP-NOT: arith.bitcast
// MAP-NOT: arith.fptosi
// MAP-NOT: arith.cmpf uno
// MAP: %[[S:[0-9]+]] = llvm.call_intrinsic "llvm.x86.avx512.mask.scalef.ps.512"(%{{.*}}) : (vector<16xf32>, vector<16xf32>, vector<16xf32>, i16, i32) -> vector<16xf32>
// MAP-NEXT: return %[[S]]
func.func @act(%x: tensor<4x40xf32>) -> (tensor<4x40xf32>, tensor<4x40xf32>) {
  %t = strata.tanh %x : tensor<4x40xf32>
  %e = strata.exp %x : tensor<4x40xf32>
  return %t, %e : tensor<4x40xf32>, tensor<4x40xf32>
}

// The MLP's bias + relu (fused into one elementwise nest by lower-to-affine)
// is applied to the kernel's accumulators and stored to the result: the
// matmul's temporary is never written back and read again, but for the
// leftover columns, whose epilogue nest is narrowed to them.
// RUN: strata-opt %s --strata-target=skylake-avx512 --pass-pipeline='builtin.module(strata-lower-to-affine{keep-contractions=true},strata-tile{tile-sizes=6,32},strata-vectorize)' | FileCheck %s --check-prefix=EPI
// With reduction blocks of 8 (K = 20), the epilogue applies after the last.
// RUN: strata-opt %s --strata-target=skylake-avx512 --pass-pipeline='builtin.module(strata-lower-to-affine{keep-contractions=true},strata-tile{tile-sizes=6,16,8},strata-vectorize)' --strata-remarks 2>&1 >/dev/null | FileCheck %s --check-prefix=EPIK
// EPIK: remark: strata-vectorize: elementwise epilogue fused into the contraction kernel
// EPIK: remark: strata-vectorize: contraction 13x20x37 f32 as a 6x16 register-blocked micro-kernel on vector<16xf32>, A packed in 6-row panels, B in 8x16 panels; 3 column block(s) of 16, the last 5 column(s) masked, each split into 2 row chunks for the workers
// EPI-LABEL: func.func @mlp(
// EPI-SAME: %[[OUT:[^:]*]]: memref<13x37xf32> {bufferize.result}
// EPI: vector.fma
// EPI: %[[S:.*]] = arith.addf %{{.*}}, %{{.*}} : vector<16xf32>
// EPI-NEXT: %[[R:.*]] = arith.maximumf %[[S]], %{{.*}} : vector<16xf32>
// EPI-NEXT: vector.store %[[R]], %[[OUT]]
// The masked last block stores the sums of columns 32..36, which the
// epilogue's nest, narrowed to them, reads.
// EPI: } else {
// EPI: vector.maskedstore
// EPI: affine.parallel (%{{.*}}) = (32) to (37)
// EPI: arith.maximumf %{{.*}} : f32
func.func @mlp(%x: tensor<13x20xf32>, %w: tensor<20x37xf32>, %bias: tensor<37xf32>) -> tensor<13x37xf32> {
  %mm = strata.matmul %x, %w : tensor<13x20xf32>, tensor<20x37xf32> -> tensor<13x37xf32>
  %bb = strata.broadcast %bias dims = [0] : tensor<37xf32> -> tensor<13x37xf32>
  %s = strata.add %mm, %bb : tensor<13x37xf32>
  %r = strata.map(%s) : (tensor<13x37xf32>) -> tensor<13x37xf32> {
  ^bb0(%v: f32):
    %z = arith.constant 0.0 : f32
    %m = arith.maximumf %v, %z : f32
    strata.yield %m : f32
  }
  return %r : tensor<13x37xf32>
}
