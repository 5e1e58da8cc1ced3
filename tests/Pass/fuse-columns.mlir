// strata-fuse-columns (in the O2/O3 pipelines after strata-check-races,
// on what strata-lower-to-affine{fuse-loops} leaves): a chain of
// nests that reduce along the rows (a softmax along dim 0, a
// normalization along dim 0 across two reductions) is tiled by columns and
// fused into one scf.parallel over blocks of columns: each block takes
// subviews of the buffers it reads or writes at its columns, allocates its
// temporaries at rows x block, and runs the nests in their order over the
// block. The module's target has a 128 KiB L2, so the blocks are small: a
// block of the buffers read by more than one nest (x and the
// exponentials, 2 x 64 rows x 4 bytes a column) fills half the L2 at 128
// f32 columns; 1000 = 7 x 128 + 104 columns, the last block a branch of
// the same loop. Each whole block's first elementwise nest over the rows
// after the maximum prefetches the next block's part of each of x's rows
// (eight 64-byte lines of f32, and a ninth, for its last column, since
// rows of 4000 bytes do not start on a line), the columns clamped to the
// last one; the narrower last block prefetches nothing. The f64 blocks
// are 40 columns (2 x 100 x 8 bytes a column: 65536 / 1600 = 40, five
// lines of 8). A lone column sum (nothing
// is re-read) and a chain that fits the L2 untiled stay as they are.
// RUN: strata-opt %s --strata-lower-to-affine=fuse-loops=true --strata-fuse-columns | FileCheck %s
// RUN: strata-opt %s --strata-lower-to-affine=fuse-loops=true --strata-fuse-columns --strata-remarks 2>&1 >/dev/null | FileCheck %s --check-prefix=REMARK
// Without the option, the nests stay apart.
// RUN: strata-opt %s --strata-lower-to-affine | FileCheck %s --check-prefix=UNFUSED
// The race check proves the block loop race-free through the views, and
// strata-vectorize vectorizes every nest inside it (8 f32 lanes at 256 bits).
// RUN: strata-opt %s --strata-lower-to-affine=fuse-loops=true --strata-fuse-columns --strata-check-races --strata-vectorize --strata-remarks 2>&1 >/dev/null | FileCheck %s --check-prefix=VEC
// RUN: strata-opt %s --strata-lower-to-affine=fuse-loops=true --strata-fuse-columns --strata-vectorize | FileCheck %s --check-prefix=STREAM

module attributes {strata.target = {cpu = "x86-64-v3", features = "", vector_bits = 256 : i64, vector_registers = 16 : i64, l1d_bytes = 32768 : i64, l2_bytes = 131072 : i64, l3_bytes = 1048576 : i64, cores = 2 : i64}} {
// CHECK-LABEL: func.func @softmax_cols(
// CHECK-SAME: %[[X:[a-z0-9_]+]]: memref<64x1000xf32>, %[[OUT:[a-z0-9_]+]]: memref<64x1000xf32> {bufferize.result}
// CHECK-DAG: %[[END:.*]] = arith.constant 1024 : index
// CHECK-DAG: %[[CB:.*]] = arith.constant 128 : index
// CHECK: scf.parallel (%[[JB:.*]]) = (%{{.*}}) to (%[[END]]) step (%[[CB]]) {
// CHECK: %[[LAST:.*]] = arith.constant 896 : index
// CHECK: %[[WHOLE:.*]] = arith.cmpi slt, %[[JB]], %[[LAST]] : index
// CHECK: scf.if %[[WHOLE]] {
// CHECK: %[[XV:.*]] = memref.subview %[[X]][0, %[[JB]]] [64, 128] [1, 1] : memref<64x1000xf32> to memref<64x128xf32, strided<[1000, 1], offset: ?>>
// CHECK: %[[OV:.*]] = memref.subview %[[OUT]][0, %[[JB]]] [64, 128] [1, 1]
// CHECK-DAG: memref.alloc() {{.*}}: memref<128xf32>
// CHECK-DAG: memref.alloc() {{.*}}: memref<64x128xf32>
// CHECK: %[[NEXT:.*]] = arith.addi %[[JB]], %c128
// CHECK: %[[LASTCOL:.*]] = arith.constant 999 : index
// CHECK: %[[C0:.*]] = arith.addi %[[NEXT]], %c0
// CHECK: %[[P0:.*]] = arith.minsi %[[C0]], %[[LASTCOL]] : index
// CHECK: %[[C1:.*]] = arith.addi %[[NEXT]], %c16
// CHECK: %[[P1:.*]] = arith.minsi %[[C1]], %[[LASTCOL]] : index
// CHECK: affine.for %[[I:.*]] = 0 to 64 {
// CHECK: affine.parallel (%[[J:.*]]) = (0) to (128) {
// CHECK: affine.load %[[XV]][%[[I]], %[[J]]]
// CHECK: arith.maximumf
// CHECK: affine.parallel (%[[I2:.*]]) = (0) to (64) {
// CHECK-NEXT: memref.prefetch %[[X]][%[[I2]], %[[P0]]], read, locality<3>, data : memref<64x1000xf32>
// CHECK-NEXT: memref.prefetch %[[X]][%[[I2]], %[[P1]]], read, locality<3>, data : memref<64x1000xf32>
// CHECK-COUNT-7: memref.prefetch %[[X]][%[[I2]], %{{.*}}], read, locality<3>, data : memref<64x1000xf32>
// CHECK-NEXT: affine.parallel
// CHECK: math.exp
// CHECK: arith.divf
// CHECK: affine.store %{{.*}}, %[[OV]][%{{.*}}, %{{.*}}] : memref<64x128xf32, strided<[1000, 1], offset: ?>>
// CHECK-NEXT: } {strata.stream_stores}
// CHECK-NOT: memref.prefetch
// CHECK: } else {
// CHECK-NOT: memref.prefetch
// CHECK: memref.subview %[[X]][0, %[[JB]]] [64, 104] [1, 1] : memref<64x1000xf32> to memref<64x104xf32, strided<[1000, 1], offset: ?>>
// CHECK: memref.alloc() {{.*}}: memref<64x104xf32>
// CHECK: affine.parallel (%{{.*}}) = (0) to (104)
// CHECK-NOT: memref.prefetch
// CHECK: scf.reduce
// CHECK-NEXT: }
// CHECK-NEXT: return
// UNFUSED-LABEL: func.func @softmax_cols(
// UNFUSED-NOT: scf.parallel
// UNFUSED: memref.alloc() {{.*}}: memref<64x1000xf32>
// UNFUSED: return
// REMARK: remark: strata-fuse-columns: 7 loop nests over 1000 columns fused into 8 parallel block(s) of 128 columns, the last of 104; 4 temporar(ies) shrunk to a block; the next block of 1 input(s) prefetched while a block computes; 1 output(s) written with streaming stores; cost rule: a block of the 2 buffer(s) more than one nest reads takes 65536 of the 131072-byte L2, nothing recomputed
// VEC: remark: strata-check-races: scf.parallel is free of data races (3 accesses checked)
// VEC-DAG: remark: strata-vectorize: reduction over rows of 128 columns in 1 parallel chunk(s) of 128, each row's chunk combined 8 lanes at a time; 0 leftover column(s) stay scalar
// VEC-DAG: remark: strata-vectorize: reduction over rows of 104 columns in 1 parallel chunk(s) of 104, each row's chunk combined 8 lanes at a time; 0 leftover column(s) stay scalar
// VEC-DAG: remark: strata-vectorize: loop of 104 iterations vectorized, 8 lanes; 0 leftover iteration(s) stay scalar{{$}}
// VEC-DAG: remark: strata-vectorize: loop of 104 iterations vectorized, 8 lanes; 0 leftover iteration(s) stay scalar; streaming stores where the output is aligned
// VEC-DAG: remark: strata-vectorize: loop of 128 iterations vectorized, 8 lanes; 0 leftover iteration(s) stay scalar{{$}}
// VEC-DAG: remark: strata-vectorize: loop of 128 iterations vectorized, 8 lanes; 0 leftover iteration(s) stay scalar; streaming stores where the output is aligned
// STREAM-LABEL: func.func @softmax_cols(
// STREAM: scf.parallel
// STREAM: memref.subview %arg0[0, %{{.*}}] [64, 128]
// STREAM: %[[OV:.*]] = memref.subview %arg1[0, %{{.*}}] [64, 128] [1, 1] : memref<64x1000xf32> to memref<64x128xf32, strided<[1000, 1], offset: ?>>
// STREAM: arith.divf
// STREAM: affine.parallel (%[[I:.*]]) = (0) to (64) {
// STREAM: %[[BASE:.*]], %[[OFF:.*]], %{{.*}}:2, %{{.*}}:2 = memref.extract_strided_metadata %[[OV]]
// STREAM: %[[P:.*]] = memref.extract_aligned_pointer_as_index %[[OV]]
// STREAM: %[[B:.*]] = arith.muli %[[OFF]], %c4
// STREAM: %[[FIRST:.*]] = arith.addi %[[P]], %[[B]]
// STREAM: %[[LOW:.*]] = arith.andi %[[FIRST]], %c31
// STREAM: %[[OK:.*]] = arith.cmpi eq, %[[LOW]], %c0
// STREAM: scf.if %[[OK]] {
// STREAM: vector.store %{{.*}}, %[[OV]][%[[I]], %{{.*}}] {alignment = 32 : i64, nontemporal = true} : memref<64x128xf32, strided<[1000, 1], offset: ?>>, vector<8xf32>
// STREAM: } else {
// STREAM-NOT: nontemporal
// STREAM: vector.store %{{.*}}, %[[OV]][%[[I]], %{{.*}}] : memref<64x128xf32, strided<[1000, 1], offset: ?>>, vector<8xf32>
// STREAM-LABEL: func.func @norm_cols(
func.func @softmax_cols(%x: tensor<64x1000xf32>) -> tensor<64x1000xf32> {
  %m = strata.reduce "max" %x dims = [0] : tensor<64x1000xf32> -> tensor<1000xf32>
  %mb = strata.broadcast %m dims = [0] : tensor<1000xf32> -> tensor<64x1000xf32>
  %d = strata.sub %x, %mb : tensor<64x1000xf32>
  %e = strata.exp %d : tensor<64x1000xf32>
  %s = strata.reduce "add" %e dims = [0] : tensor<64x1000xf32> -> tensor<1000xf32>
  %sb = strata.broadcast %s dims = [0] : tensor<1000xf32> -> tensor<64x1000xf32>
  %r = strata.div %e, %sb : tensor<64x1000xf32>
  return %r : tensor<64x1000xf32>
}
// Two reductions (the mean, then the variance of the centered values):
// both inside one block loop, the centered values a block temporary.
// CHECK-LABEL: func.func @norm_cols(
// CHECK-SAME: %[[X:[a-z0-9_]+]]: memref<100x600xf64>
// CHECK: scf.parallel (%[[JB:.*]]) = (%{{.*}}) to (%{{.*}}) step (%{{.*}}) {
// CHECK-NOT: scf.if
// CHECK: memref.subview %[[X]][0, %[[JB]]] [100, 40] [1, 1]
// CHECK: memref.alloc() {{.*}}: memref<100x40xf64>
// CHECK: arith.subf
// CHECK: arith.mulf
// CHECK: math.sqrt
// CHECK: scf.reduce
// CHECK-NEXT: }
// CHECK-NEXT: return
// REMARK: remark: strata-fuse-columns: 8 loop nests over 600 columns fused into 15 parallel block(s) of 40 columns; 6 temporar(ies) shrunk to a block; the next block of 1 input(s) prefetched while a block computes; 1 output(s) written with streaming stores; cost rule: a block of the 2 buffer(s) more than one nest reads takes 64000 of the 131072-byte L2, nothing recomputed
func.func @norm_cols(%x: tensor<100x600xf64>) -> tensor<100x600xf64> {
  %n = arith.constant 100.0 : f64
  %nt = strata.fill %n : f64 -> tensor<600xf64>
  %s = strata.reduce "add" %x dims = [0] : tensor<100x600xf64> -> tensor<600xf64>
  %mean = strata.div %s, %nt : tensor<600xf64>
  %mb = strata.broadcast %mean dims = [0] : tensor<600xf64> -> tensor<100x600xf64>
  %c = strata.sub %x, %mb : tensor<100x600xf64>
  %sq = strata.mul %c, %c : tensor<100x600xf64>
  %ss = strata.reduce "add" %sq dims = [0] : tensor<100x600xf64> -> tensor<600xf64>
  %var = strata.div %ss, %nt : tensor<600xf64>
  %sd = strata.sqrt %var : tensor<600xf64>
  %sdb = strata.broadcast %sd dims = [0] : tensor<600xf64> -> tensor<100x600xf64>
  %r = strata.div %c, %sdb : tensor<100x600xf64>
  return %r : tensor<100x600xf64>
}
// A column sum alone: nothing is re-read, so nothing is tiled.
// CHECK-LABEL: func.func @colsum(
// CHECK-NOT: memref.subview
// CHECK: return
// REMARK-NOT: remark: strata-fuse-columns: {{.*}} over 1000 columns
func.func @colsum(%x: tensor<300x1000xf32>) -> tensor<1000xf32> {
  %s = strata.reduce "add" %x dims = [0] : tensor<300x1000xf32> -> tensor<1000xf32>
  return %s : tensor<1000xf32>
}
// CHECK-LABEL: func.func @small(
// CHECK-NOT: scf.parallel
// CHECK: return
// REMARK: remark: strata-fuse-columns: 3 loop nests over 40 columns not fused: they fit the L2 untiled
func.func @small(%x: tensor<8x40xi32>) -> tensor<8x40xi32> {
  %m = strata.reduce "max" %x dims = [0] : tensor<8x40xi32> -> tensor<40xi32>
  %mb = strata.broadcast %m dims = [0] : tensor<40xi32> -> tensor<8x40xi32>
  %r = strata.sub %x, %mb : tensor<8x40xi32>
  return %r : tensor<8x40xi32>
}
}
