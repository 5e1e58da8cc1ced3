// strata-privatize-atomics (a step of strata-parallelize): a parallel_for
// whose iterations update a small buffer only through memref.atomic_rmw
// runs over chunks (up to 4 x cores: 12 for the 3 cores of this module's
// target), each updating a private copy filled with the kind's identity
// with plain loads and stores, then merging it with one atomic per element.
// Loops it must leave alone keep their atomics.
// RUN: strata-opt %s --strata-privatize-atomics | FileCheck %s
// RUN: strata-opt %s --strata-privatize-atomics --strata-remarks 2>&1 >/dev/null | FileCheck %s --check-prefix=REMARK

// REMARK: remark: strata-privatize-atomics: 1 atomic update(s) of a 256-element buffer run on a private copy per chunk (up to 12 chunks), merged once
// REMARK: remark: strata-privatize-atomics: 2 atomic update(s) of a 12-element buffer
// REMARK: remark: strata-privatize-atomics: 1 atomic update(s) of a 16-element buffer
// REMARK-NOT: remark

module attributes {strata.target = {cpu = "x86-64", features = "", vector_bits = 128 : i64, vector_registers = 16 : i64, l1d_bytes = 32768 : i64, l2_bytes = 262144 : i64, l3_bytes = 8388608 : i64, cores = 3 : i64}} {

// CHECK-LABEL: func.func @histogram(
// CHECK-SAME: %[[X:.*]]: memref<?xi32>, %[[H:.*]]: memref<256xi64>, %[[N:.*]]: index)
// The chunk count: the trip count over 4 x 256 elements, clamped to [1, 12].
// CHECK: %[[TRIP:.*]] = arith.maxsi
// CHECK: %[[WORTH:.*]] = arith.divsi %[[TRIP]], %c1024
// CHECK: %[[AT_LEAST:.*]] = arith.maxsi %[[WORTH]], %c1
// CHECK: %[[CHUNKS:.*]] = arith.minsi %[[AT_LEAST]], %c12
// CHECK: %[[PER:.*]] = arith.ceildivsi %[[TRIP]], %[[CHUNKS]]
// CHECK: strata.parallel_for %[[C:.*]] = %{{.*}} to %[[CHUNKS]] step %{{.*}} grain 1 {
// CHECK:   %[[LO:.*]] = arith.muli %[[C]], %[[PER]]
// CHECK:   %[[P:.*]] = memref.alloc() {alignment = 64 : i64} : memref<256xi64>
// CHECK:   %[[ZERO:.*]] = arith.constant 0 : i64
// CHECK:   scf.for %[[E:.*]] = %{{.*}} to %c256
// CHECK:     memref.store %[[ZERO]], %[[P]][%[[E]]]
// CHECK:   scf.for %[[T:.*]] = %[[LO]] to
// CHECK-NOT: atomic_rmw
// CHECK:     %[[B:.*]] = arith.index_cast
// CHECK:     %[[OLD:.*]] = memref.load %[[P]][%[[B]]] : memref<256xi64>
// CHECK:     %[[NEW:.*]] = arith.addi %[[OLD]], %{{.*}} : i64
// CHECK:     memref.store %[[NEW]], %[[P]][%[[B]]] : memref<256xi64>
// CHECK:   }
// CHECK:   scf.for %[[E2:.*]] = %{{.*}} to %c256
// CHECK:     %[[V:.*]] = memref.load %[[P]][%[[E2]]]
// CHECK:     memref.atomic_rmw addi %[[V]], %[[H]][%[[E2]]] : (i64, memref<256xi64>) -> i64
// CHECK:   memref.dealloc %[[P]]
// CHECK-NOT: strata.parallel_for
// CHECK: return
func.func @histogram(%x: memref<?xi32>, %h: memref<256xi64>, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %one = arith.constant 1 : i64
  strata.parallel_for %i = %c0 to %n step %c1 {
    %v = memref.load %x[%i] : memref<?xi32>
    %b = arith.index_cast %v : i32 to index
    %old = memref.atomic_rmw addi %one, %h[%b] : (i64, memref<256xi64>) -> i64
  }
  return
}

// Two updates, under a condition, into a rank-2 buffer: the identity of a
// float max is -inf, and each dimension gets its loop.
// CHECK-LABEL: func.func @max2d(
// CHECK: strata.parallel_for
// CHECK:   %[[P:.*]] = memref.alloc() {alignment = 64 : i64} : memref<3x4xf32>
// CHECK:   %[[NEG:.*]] = arith.constant 0xFF800000 : f32
// CHECK:   scf.for %[[I:.*]] = %{{.*}} to %c3
// CHECK:     scf.for %[[J:.*]] = %{{.*}} to %c4
// CHECK:       memref.store %[[NEG]], %[[P]][%[[I]], %[[J]]]
// CHECK:   scf.if
// CHECK:     memref.load %[[P]]
// CHECK:     arith.maximumf
// CHECK:     memref.store {{.*}}, %[[P]]
// CHECK:   arith.maximumf
// CHECK:   memref.atomic_rmw maximumf
// CHECK:   memref.dealloc %[[P]]
func.func @max2d(%w: memref<1000xf32>, %h: memref<3x4xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c3 = arith.constant 3 : index
  %c4 = arith.constant 4 : index
  %n = arith.constant 1000 : index
  %zero = arith.constant 0.0 : f32
  strata.parallel_for %i = %c0 to %n step %c1 {
    %v = memref.load %w[%i] : memref<1000xf32>
    %r = arith.remui %i, %c3 : index
    %q = arith.remui %i, %c4 : index
    %pos = arith.cmpf ogt, %v, %zero : f32
    scf.if %pos {
      %a = memref.atomic_rmw maximumf %v, %h[%r, %q] : (f32, memref<3x4xf32>) -> f32
    }
    %b = memref.atomic_rmw maximumf %v, %h[%q, %c0] : (f32, memref<3x4xf32>) -> f32
  }
  return
}

// Left alone: the old value is used; the buffer is also read; two kinds;
// two buffers; too big for L1 (8192 x f32 = 32 KiB); `assign` is no
// reduction; a reducing loop.
// CHECK-LABEL: func.func @kept(
// CHECK-NOT: memref.alloc
// CHECK-COUNT-9: memref.atomic_rmw
// CHECK-NOT: memref.alloc
// CHECK: return
func.func @kept(%x: memref<1000xi32>, %h: memref<16xi32>, %g: memref<16xi32>, %big: memref<8192xf32>, %out: memref<1000xi32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %n = arith.constant 1000 : index
  %one = arith.constant 1 : i32
  %f = arith.constant 1.0 : f32
  strata.parallel_for %i = %c0 to %n step %c1 {
    %old = memref.atomic_rmw addi %one, %h[%c0] : (i32, memref<16xi32>) -> i32
    memref.store %old, %out[%i] : memref<1000xi32>
  }
  strata.parallel_for %i = %c0 to %n step %c1 {
    %a = memref.atomic_rmw addi %one, %h[%c0] : (i32, memref<16xi32>) -> i32
    %v = memref.load %h[%c1] : memref<16xi32>
  }
  strata.parallel_for %i = %c0 to %n step %c1 {
    %a = memref.atomic_rmw addi %one, %h[%c0] : (i32, memref<16xi32>) -> i32
    %b = memref.atomic_rmw maxs %one, %h[%c1] : (i32, memref<16xi32>) -> i32
  }
  strata.parallel_for %i = %c0 to %n step %c1 {
    %a = memref.atomic_rmw addi %one, %h[%c0] : (i32, memref<16xi32>) -> i32
    %b = memref.atomic_rmw addi %one, %g[%c0] : (i32, memref<16xi32>) -> i32
  }
  strata.parallel_for %i = %c0 to %n step %c1 {
    %a = memref.atomic_rmw addf %f, %big[%c0] : (f32, memref<8192xf32>) -> f32
  }
  strata.parallel_for %i = %c0 to %n step %c1 {
    %a = memref.atomic_rmw assign %one, %h[%c0] : (i32, memref<16xi32>) -> i32
  }
  %s = strata.parallel_for %i = %c0 to %n step %c1 reduce("add" %one : i32) {
    %a = memref.atomic_rmw addi %one, %h[%c0] : (i32, memref<16xi32>) -> i32
    strata.yield %one : i32
  }
  return
}

// Updates only in a nested parallel_for: the inner loop is privatized, the
// outer one is not (its body has no atomic of its own).
// CHECK-LABEL: func.func @nested(
// CHECK: strata.parallel_for %[[I:.*]] = %{{.*}} to %c2 step
// CHECK-NOT: memref.alloc
// CHECK:   strata.parallel_for {{.*}} grain 1 {
// CHECK:     memref.alloc() {alignment = 64 : i64} : memref<16xi32>
// CHECK:     memref.atomic_rmw addi
// CHECK:     memref.dealloc
func.func @nested(%h: memref<16xi32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c16 = arith.constant 16 : index
  %one = arith.constant 1 : i32
  strata.parallel_for %i = %c0 to %c2 step %c1 {
    strata.parallel_for %j = %c0 to %c16 step %c1 {
      %a = memref.atomic_rmw addi %one, %h[%j] : (i32, memref<16xi32>) -> i32
    }
  }
  return
}
}
