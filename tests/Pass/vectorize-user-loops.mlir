// strata-vectorize on loops a user wrote: an innermost scf.for with step 1
// whose loads and stores sit at [.., %j + c] becomes a vector loop over
// [lb, lb + n - n % W) before the original loop, which keeps the leftover
// iterations. Buffers that may be one memory (two function arguments) are
// compared at run time (the vector loop runs only where their bytes do not
// overlap). A store to a buffer larger than the target's last-level cache
// (8 MiB here) inside a parallel loop streams: scalar iterations up to the
// store's 32-byte boundary, then nontemporal aligned vector stores, and
// the outlined body ends in a fence (under OpenMP, each thread fences
// before the team joins). A loop-carried dependence (x[j]
// from x[j-1]) and a strided view keep the loop scalar.
// RUN: strata-opt %s --strata-vectorize --canonicalize --cse | FileCheck %s
// RUN: strata-opt %s --strata-vectorize --strata-remarks 2>&1 >/dev/null | FileCheck %s --check-prefix=REMARK
// RUN: strata-opt %s --strata-vectorize --strata-parallelize | FileCheck %s --check-prefix=OUTLINE
// RUN: strata-opt %s --strata-vectorize --strata-parallelize=runtime=omp | FileCheck %s --check-prefix=OMP

module attributes {strata.target = {cpu = "x86-64-v3", features = "", vector_bits = 256 : i64, vector_registers = 16 : i64, l1d_bytes = 32768 : i64, l2_bytes = 1048576 : i64, l3_bytes = 8388608 : i64, cores = 2 : i64}} {

// 1100 x 2050 f32: 9 MB.
// CHECK-LABEL: func.func @stencil(
// CHECK-SAME: %[[IN:[a-z0-9_]+]]: memref<1100x2050xf32>, %[[OUT:[a-z0-9_]+]]: memref<1100x2050xf32>
// CHECK: strata.parallel_for %[[I:[a-z0-9_]+]] =
// CHECK: %[[UP:.*]] = arith.subi %[[I]], %c1
// CHECK: %[[PO:.*]] = memref.extract_aligned_pointer_as_index %[[OUT]]
// CHECK: %[[EO:.*]] = arith.addi %[[PO]], %c9020000
// CHECK: %[[PI:.*]] = memref.extract_aligned_pointer_as_index %[[IN]]
// CHECK: %[[EI:.*]] = arith.addi %[[PI]], %c9020000
// CHECK: %[[B1:.*]] = arith.cmpi ule, %[[EO]], %[[PI]]
// CHECK: %[[B2:.*]] = arith.cmpi ule, %[[EI]], %[[PO]]
// CHECK: %[[APART:.*]] = arith.ori %[[B1]], %[[B2]]
// CHECK: %[[REST:.*]] = scf.if %[[APART]] -> (index) {
// CHECK: %[[MIS:.*]] = arith.andi %{{.*}}, %c31
// CHECK: %[[TO:.*]] = arith.subi %c32, %[[MIS]]
// CHECK: %[[TOB:.*]] = arith.andi %[[TO]], %c31
// CHECK: %[[PEEL:.*]] = arith.divui %[[TOB]], %c4
// CHECK: %[[PE:.*]] = arith.addi %[[PEEL]], %c1
// CHECK: %[[START:.*]] = arith.minsi %[[PE]], %c2049
// CHECK: scf.for %{{.*}} = %c1 to %[[START]] step %c1 {
// CHECK: memref.store
// CHECK: }
// CHECK: %[[END:.*]] = arith.addi %[[START]], %{{.*}}
// CHECK: scf.for %[[J:.*]] = %[[START]] to %[[END]] step %c8 {
// CHECK: vector.load %[[IN]][%[[I]], %[[J]]] : memref<1100x2050xf32>, vector<8xf32>
// CHECK: vector.load %[[IN]][%[[UP]], %[[J]]]
// CHECK: %[[L:.*]] = arith.addi %[[J]], %c-1
// CHECK: vector.load %[[IN]][%[[I]], %[[L]]]
// CHECK: %[[R:.*]] = arith.addi %[[J]], %c1
// CHECK: vector.load %[[IN]][%[[I]], %[[R]]]
// CHECK: %[[V:.*]] = arith.mulf %{{.*}}, %cst : vector<8xf32>
// CHECK: vector.store %[[V]], %[[OUT]][%[[I]], %[[J]]] {alignment = 32 : i64, nontemporal = true} : memref<1100x2050xf32>, vector<8xf32>
// CHECK: scf.yield %[[END]] : index
// CHECK: } else {
// CHECK: scf.yield %c1 : index
// CHECK: scf.for %{{.*}} = %[[REST]] to %c2049 step %c1 {
// CHECK: memref.store %{{.*}} : memref<1100x2050xf32>
// REMARK: remark: strata-vectorize: loop over %j vectorized, 8 lanes; leftover iterations stay scalar; 1 pair(s) of buffers checked apart at run time; streaming stores after a scalar peel to the line boundary
// OUTLINE-LABEL: llvm.func internal @__strata_parallel_body_0(
// OUTLINE: nontemporal = true
// OUTLINE: llvm.fence seq_cst
// OUTLINE-NEXT: llvm.return
// OMP-LABEL: func.func @stencil(
// OMP: omp.parallel {
// OMP: vector.store {{.*}}nontemporal = true
// OMP: omp.yield
// OMP: llvm.fence seq_cst
// OMP-NEXT: omp.terminator
func.func @stencil(%in: memref<1100x2050xf32>, %out: memref<1100x2050xf32>) {
  %c1 = arith.constant 1 : index
  %last = arith.constant 2049 : index
  %rows = arith.constant 1099 : index
  %w = arith.constant 0.2 : f32
  strata.parallel_for %i = %c1 to %rows step %c1 {
    %up = arith.subi %i, %c1 : index
    scf.for %j = %c1 to %last step %c1 {
      %left = arith.subi %j, %c1 : index
      %right = arith.addi %j, %c1 : index
      %a = memref.load %in[%i, %j] : memref<1100x2050xf32>
      %b = memref.load %in[%up, %j] : memref<1100x2050xf32>
      %d = memref.load %in[%i, %left] : memref<1100x2050xf32>
      %e = memref.load %in[%i, %right] : memref<1100x2050xf32>
      %s1 = arith.addf %a, %b : f32
      %s2 = arith.addf %s1, %d : f32
      %s3 = arith.addf %s2, %e : f32
      %r = arith.mulf %s3, %w : f32
      memref.store %r, %out[%i, %j] : memref<1100x2050xf32>
    }
  }
  return
}

// f64 at 256 bits: 4 lanes; %j read as a value is %jv + [0, 1, 2, 3]; a
// dynamic trip count; 51 KB fits the cache: ordinary stores.
// CHECK-LABEL: func.func @small(
// CHECK: %[[IOTA:.*]] = arith.constant dense<[0, 1, 2, 3]> : vector<4xindex>
// CHECK: strata.parallel_for
// CHECK: scf.if
// CHECK: scf.for %[[J:.*]] = %c0 to %{{.*}} step %c4 {
// CHECK: %[[JB:.*]] = vector.broadcast %[[J]] : index to vector<4xindex>
// CHECK: %[[JV:.*]] = arith.addi %[[JB]], %[[IOTA]] : vector<4xindex>
// CHECK: %[[A:.*]] = vector.load %{{.*}}[%{{.*}}, %[[J]]] : memref<64x100xf64>, vector<4xf64>
// CHECK: %[[T:.*]] = arith.index_cast %[[JV]] : vector<4xindex> to vector<4xi64>
// CHECK: %[[F:.*]] = arith.sitofp %[[T]] : vector<4xi64> to vector<4xf64>
// CHECK: %[[P:.*]] = arith.mulf %[[A]], %[[F]] : vector<4xf64>
// CHECK-NOT: nontemporal
// CHECK: vector.store %[[P]], %{{.*}} : memref<64x100xf64>, vector<4xf64>
// CHECK: scf.for %{{.*}} = %{{.*}} to %arg2 step %c1
// REMARK: remark: strata-vectorize: loop over %j vectorized, 4 lanes; leftover iterations stay scalar; 1 pair(s) of buffers checked apart at run time{{$}}
// OUTLINE-LABEL: llvm.func internal @__strata_parallel_body_1(
// OUTLINE-NOT: llvm.fence
// OUTLINE: llvm.return
// OMP-LABEL: func.func @small(
// OMP: omp.parallel {
// OMP-NOT: llvm.fence
// OMP: omp.terminator
func.func @small(%x: memref<64x100xf64>, %y: memref<64x100xf64>, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c64 = arith.constant 64 : index
  strata.parallel_for %i = %c0 to %c64 step %c1 {
    scf.for %j = %c0 to %n step %c1 {
      %a = memref.load %x[%i, %j] : memref<64x100xf64>
      %t = arith.index_cast %j : index to i64
      %f = arith.sitofp %t : i64 to f64
      %r = arith.mulf %a, %f : f64
      memref.store %r, %y[%i, %j] : memref<64x100xf64>
    }
  }
  return
}

// An in-place update at the element it loads needs no check against
// itself; the scalar of a rank-0 buffer is loaded and broadcast (that
// buffer is checked apart from the stored one). Not in a parallel loop:
// ordinary stores.
// CHECK-LABEL: func.func @in_place(
// CHECK: scf.for %[[J:.*]] = %c0 to %c96 step %c8 {
// CHECK: %[[A:.*]] = vector.load %arg0[%[[J]]] : memref<100xi32>, vector<8xi32>
// CHECK: %[[S:.*]] = memref.load %arg1[] : memref<i32>
// CHECK: %[[SB:.*]] = vector.broadcast %[[S]] : i32 to vector<8xi32>
// CHECK: %[[R:.*]] = arith.muli %[[A]], %[[SB]] : vector<8xi32>
// CHECK: vector.store %[[R]], %arg0[%[[J]]] : memref<100xi32>, vector<8xi32>
// REMARK: remark: strata-vectorize: loop over %j vectorized, 8 lanes; leftover iterations stay scalar; 1 pair(s) of buffers checked apart at run time{{$}}
func.func @in_place(%x: memref<100xi32>, %k: memref<i32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c100 = arith.constant 100 : index
  scf.for %j = %c0 to %c100 step %c1 {
    %a = memref.load %x[%j] : memref<100xi32>
    %s = memref.load %k[] : memref<i32>
    %r = arith.muli %a, %s : i32
    memref.store %r, %x[%j] : memref<100xi32>
  }
  return
}

// CHECK-LABEL: func.func @carried(
// CHECK-NOT: vector
// CHECK: return
func.func @carried(%x: memref<100xf32>) {
  %c1 = arith.constant 1 : index
  %c100 = arith.constant 100 : index
  scf.for %j = %c1 to %c100 step %c1 {
    %p = arith.subi %j, %c1 : index
    %a = memref.load %x[%p] : memref<100xf32>
    memref.store %a, %x[%j] : memref<100xf32>
  }
  return
}

// CHECK-LABEL: func.func @strided_view(
// CHECK-NOT: vector
// CHECK: return
// REMARK-NOT: remark: strata-vectorize
func.func @strided_view(%x: memref<100xf32, strided<[2]>>) {
  %y = memref.alloc() : memref<100xf32>
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c100 = arith.constant 100 : index
  scf.for %j = %c0 to %c100 step %c1 {
    %a = memref.load %x[%j] : memref<100xf32, strided<[2]>>
    memref.store %a, %y[%j] : memref<100xf32>
  }
  return
}
// An accumulator in memory (the store's index is a constant), an i1
// buffer (vector memory packs i1 into bits) and an i32 counter stay scalar.
// CHECK-LABEL: func.func @stay_scalar(
// CHECK-NOT: vector
// CHECK: return
func.func @stay_scalar(%x: memref<100xf32>, %acc: memref<1xf32>, %a: memref<64xi1>, %b: memref<64xi1>, %k: memref<100xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c64 = arith.constant 64 : index
  %c100 = arith.constant 100 : index
  %t = arith.constant true
  scf.for %j = %c0 to %c100 step %c1 {
    %v = memref.load %x[%j] : memref<100xf32>
    %s = memref.load %acc[%c0] : memref<1xf32>
    %r = arith.addf %s, %v : f32
    memref.store %r, %acc[%c0] : memref<1xf32>
  }
  scf.for %j = %c0 to %c64 step %c1 {
    %v = memref.load %a[%j] : memref<64xi1>
    %n = arith.xori %v, %t : i1
    memref.store %n, %b[%j] : memref<64xi1>
  }
  %i0 = arith.constant 0 : i32
  %i1 = arith.constant 1 : i32
  %i100 = arith.constant 100 : i32
  scf.for %j = %i0 to %i100 step %i1 : i32 {
    %v = memref.load %k[%c0] : memref<100xf32>
    %w = arith.addf %v, %v : f32
  }
  return
}
}
