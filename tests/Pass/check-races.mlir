// strata-check-races: a provable race in a parallel loop is an error that
// names two iterations and the element; independence that cannot be
// proven is a warning; proven independence is silent (a remark under
// --strata-remarks).
// RUN: strata-opt %s --split-input-file --verify-diagnostics --strata-check-races
// RUN: strata-opt %s --split-input-file --strata-check-races=mode=warn 2>&1 | FileCheck %s --check-prefix=WARN

// WARN: warning: data race: iterations 0 and 1 of this strata.parallel_for both write %buf[0]
func.func @constant_index(%buf: memref<8xf32>, %v: f32) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  // expected-error@+1 {{data race: iterations 0 and 1 of this strata.parallel_for both write %buf[0]}}
  strata.parallel_for %i = %c0 to %c8 step %c1 {
    // expected-note@+1 {{memref.store}}
    memref.store %v, %buf[%c0] : memref<8xf32>
  }
  return
}

// -----

// A dynamic trip count: the race holds once the loop runs two iterations.
func.func @constant_index_dynamic(%buf: memref<8xf32>, %v: f32, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  // expected-error@+1 {{data race: iterations 0 and 1 of this strata.parallel_for both write %buf[0]}}
  strata.parallel_for %i = %c0 to %n step %c1 {
    // expected-note@+1 {{memref.store}}
    memref.store %v, %buf[%c0] : memref<8xf32>
  }
  return
}

// -----

func.func @floordiv(%buf: memref<8xf32>, %v: f32) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c16 = arith.constant 16 : index
  // expected-error@+1 {{data race: iterations 0 and 1 of this strata.parallel_for both write %buf[0]}}
  strata.parallel_for %i = %c0 to %c16 step %c1 {
    %h = arith.floordivsi %i, %c2 : index
    // expected-note@+1 {{memref.store}}
    memref.store %v, %buf[%h] : memref<8xf32>
  }
  return
}

// -----

func.func @mod(%buf: memref<4xi32>, %v: i32) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c100 = arith.constant 100 : index
  // expected-error@+1 {{data race: iterations 0 and 4 of this strata.parallel_for both write %buf[0]}}
  strata.parallel_for %i = %c0 to %c100 step %c1 {
    %m = arith.remsi %i, %c4 : index
    // expected-note@+1 {{memref.store}}
    memref.store %v, %buf[%m] : memref<4xi32>
  }
  return
}

// -----

// a[i+1] = f(a[i]): iteration 1 reads what iteration 0 writes.
func.func @shifted(%a: memref<100xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c99 = arith.constant 99 : index
  // expected-error@+1 {{data race: iterations 0 and 1 of this strata.parallel_for write and read %a[1]}}
  strata.parallel_for %i = %c0 to %c99 step %c1 {
    %x = memref.load %a[%i] : memref<100xf32>
    %y = arith.addf %x, %x : f32
    %j = arith.addi %i, %c1 : index
    // expected-note@+1 {{memref.store}}
    memref.store %y, %a[%j] : memref<100xf32>
  }
  return
}

// -----

// Two stores whose ranges overlap: a[i] and a[i+4] for i < 8.
func.func @overlapping_stores(%a: memref<12xf32>, %v: f32) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  // expected-error@+1 {{data race: iterations 0 and 4 of this strata.parallel_for both write %a[4]}}
  strata.parallel_for %i = %c0 to %c8 step %c1 {
    // expected-note@+1 {{memref.store}}
    memref.store %v, %a[%i] : memref<12xf32>
    %j = arith.addi %i, %c4 : index
    memref.store %v, %a[%j] : memref<12xf32>
  }
  return
}

// -----

// Every outer iteration writes the same row through its inner loop.
func.func @nested(%buf: memref<4x8xf32>, %v: f32) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  // expected-error@+1 {{data race: iterations 0 and 1 of this strata.parallel_for both write %buf[0, 0]}}
  strata.parallel_for %i = %c0 to %c4 step %c1 {
    strata.parallel_for %j = %c0 to %c8 step %c1 {
      // expected-note@+1 {{memref.store}}
      memref.store %v, %buf[%c0, %j] : memref<4x8xf32>
    }
  }
  return
}

// -----

func.func @scf_parallel_2d(%buf: memref<4x8xf32>, %v: f32) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  // expected-error@+1 {{data race: iterations (0, 0) and (1, 0) of this scf.parallel both write %buf[0, 0]}}
  scf.parallel (%i, %j) = (%c0, %c0) to (%c4, %c8) step (%c1, %c1) {
    // expected-note@+1 {{memref.store}}
    memref.store %v, %buf[%c0, %j] : memref<4x8xf32>
    scf.reduce
  }
  return
}

// -----

// An indirect index: independence cannot be proven.
func.func @histogram_plain(%h: memref<256xi32>, %x: memref<1000xindex>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c1000 = arith.constant 1000 : index
  %one = arith.constant 1 : i32
  // expected-warning@+1 {{possible data race: cannot prove that iterations of this strata.parallel_for touch different elements of %h: its index depends on a value loaded inside the loop (an indirect index); if they may write the same element, use memref.atomic_rmw}}
  strata.parallel_for %i = %c0 to %c1000 step %c1 {
    %b = memref.load %x[%i] : memref<1000xindex>
    %old = memref.load %h[%b] : memref<256xi32>
    %new = arith.addi %old, %one : i32
    // expected-note@+1 {{memref.store}}
    memref.store %new, %h[%b] : memref<256xi32>
  }
  return
}

// -----

func.func private @opaque(memref<8xf32>)

func.func @unknown_call(%buf: memref<8xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  // expected-warning@+1 {{possible data race: this strata.parallel_for passes %buf to func.call, whose accesses cannot be checked}}
  strata.parallel_for %i = %c0 to %c8 step %c1 {
    // expected-note@+1 {{the call}}
    func.call @opaque(%buf) : (memref<8xf32>) -> ()
  }
  return
}

// -----

// Race-free: each iteration its own element, row, or disjoint parity.
func.func @race_free(%a: memref<100xf32>, %b: memref<100xf32>, %m: memref<10x20xf32>, %h: memref<256xi32>, %x: memref<100xindex>, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c10 = arith.constant 10 : index
  %c20 = arith.constant 20 : index
  %c50 = arith.constant 50 : index
  %c99 = arith.constant 99 : index
  %c100 = arith.constant 100 : index
  %one = arith.constant 1 : i32
  strata.parallel_for %i = %c0 to %n step %c1 {
    %v = memref.load %a[%i] : memref<100xf32>
    %w = arith.mulf %v, %v : f32
    memref.store %w, %a[%i] : memref<100xf32>
  }
  strata.parallel_for %i = %c0 to %c99 step %c1 {
    %j = arith.addi %i, %c1 : index
    %v = memref.load %a[%j] : memref<100xf32>
    memref.store %v, %b[%i] : memref<100xf32>
  }
  strata.parallel_for %i = %c0 to %c50 step %c1 {
    %e = arith.muli %i, %c2 : index
    %o = arith.addi %e, %c1 : index
    %v = memref.load %a[%o] : memref<100xf32>
    memref.store %v, %a[%e] : memref<100xf32>
  }
  strata.parallel_for %i = %c0 to %c100 step %c2 {
    %o = arith.addi %i, %c1 : index
    %v = memref.load %a[%o] : memref<100xf32>
    memref.store %v, %a[%i] : memref<100xf32>
  }
  strata.parallel_for %i = %c0 to %c10 step %c1 {
    scf.for %j = %c0 to %c20 step %c1 {
      %v = memref.load %m[%i, %j] : memref<10x20xf32>
      memref.store %v, %m[%i, %j] : memref<10x20xf32>
    }
  }
  strata.parallel_for %i = %c0 to %c100 step %c1 {
    %t = memref.alloca() : memref<4xf32>
    %v = memref.load %a[%i] : memref<100xf32>
    memref.store %v, %t[%c0] : memref<4xf32>
    %u = memref.load %t[%c0] : memref<4xf32>
    memref.store %u, %b[%i] : memref<100xf32>
  }
  strata.parallel_for %i = %c0 to %c100 step %c1 {
    %k = memref.load %x[%i] : memref<100xindex>
    %old = memref.atomic_rmw addi %one, %h[%k] : (i32, memref<256xi32>) -> i32
  }
  return
}

// -----

// The same loop with `j` in both dimensions: nothing can be pinned, the
// budget cuts the enumeration short, and what it could not enumerate is a
// warning, never a proof.
func.func @past_the_budget(%a: memref<16384x512xf32>) {
  %c = arith.constant 1.0 : f32
  // expected-warning@+1 {{cannot prove that iterations of this affine.parallel touch different elements of %a: an inner loop has more iterations than the checker enumerates}}
  affine.parallel (%iv) = (0) to (64) {
    affine.for %j = 0 to 256 {
      affine.for %i = 0 to 256 {
        // expected-note@+1 {{affine.store}}
        affine.store %c, %a[%j + %iv * 200, %i + %j] : memref<16384x512xf32>
      }
    }
  }
  return
}
