// A suite of racy parallel loops (constant, divided, wrapped and shifted
// indices, in-place stencils and scans, overlapping stores and vectors,
// shared rows in nested loops, 2-D transposes in place, through casts,
// atomics beside plain accesses, deep inner loops, vector transfers):
// each is an error naming two iterations and an element they share.
// Written from the patterns of issue 14; each expectation was checked
// by hand.
// RUN: strata-opt %s --split-input-file --verify-diagnostics --strata-check-races

func.func @const_store(%a: memref<64xf32>, %b: memref<64xf32>, %m: memref<16x16xf32>, %x: memref<64xindex>, %v: f32, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %c16 = arith.constant 16 : index
  %c32 = arith.constant 32 : index
  %c63 = arith.constant 63 : index
  // expected-error@+1 {{data race: iterations 0 and 1 of this strata.parallel_for both write %a[3]}}
  strata.parallel_for %i = %c0 to %c16 step %c1 {
    // expected-note@+1 {{memref.store; the same access in both iterations}}
    memref.store %v, %a[%c3] : memref<64xf32>
  }
  return
}

// -----

func.func @const_store_dynamic_n(%a: memref<64xf32>, %b: memref<64xf32>, %m: memref<16x16xf32>, %x: memref<64xindex>, %v: f32, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %c16 = arith.constant 16 : index
  %c32 = arith.constant 32 : index
  %c63 = arith.constant 63 : index
  // expected-error@+1 {{data race: iterations 0 and 1 of this strata.parallel_for both write %a[0]}}
  strata.parallel_for %i = %c0 to %n step %c1 {
    // expected-note@+1 {{memref.store; the same access in both iterations}}
    memref.store %v, %a[%c0] : memref<64xf32>
  }
  return
}

// -----

func.func @floordiv2(%a: memref<64xf32>, %b: memref<64xf32>, %m: memref<16x16xf32>, %x: memref<64xindex>, %v: f32, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %c16 = arith.constant 16 : index
  %c32 = arith.constant 32 : index
  %c63 = arith.constant 63 : index
  // expected-error@+1 {{data race: iterations 0 and 1 of this strata.parallel_for both write %a[0]}}
  strata.parallel_for %i = %c0 to %c16 step %c1 {
    %h = arith.floordivsi %i, %c2 : index
    // expected-note@+1 {{memref.store; the same access in both iterations}}
    memref.store %v, %a[%h] : memref<64xf32>
  }
  return
}

// -----

func.func @divsi4(%a: memref<64xf32>, %b: memref<64xf32>, %m: memref<16x16xf32>, %x: memref<64xindex>, %v: f32, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %c16 = arith.constant 16 : index
  %c32 = arith.constant 32 : index
  %c63 = arith.constant 63 : index
  // expected-error@+1 {{data race: iterations 0 and 1 of this strata.parallel_for both write %a[0]}}
  strata.parallel_for %i = %c0 to %c16 step %c1 {
    %h = arith.divsi %i, %c4 : index
    // expected-note@+1 {{memref.store; the same access in both iterations}}
    memref.store %v, %a[%h] : memref<64xf32>
  }
  return
}

// -----

func.func @ceildiv(%a: memref<64xf32>, %b: memref<64xf32>, %m: memref<16x16xf32>, %x: memref<64xindex>, %v: f32, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %c16 = arith.constant 16 : index
  %c32 = arith.constant 32 : index
  %c63 = arith.constant 63 : index
  // expected-error@+1 {{data race: iterations 1 and 2 of this strata.parallel_for both write %a[1]}}
  strata.parallel_for %i = %c0 to %c16 step %c1 {
    %h = arith.ceildivsi %i, %c2 : index
    // expected-note@+1 {{memref.store; the same access in both iterations}}
    memref.store %v, %a[%h] : memref<64xf32>
  }
  return
}

// -----

func.func @mod4(%a: memref<64xf32>, %b: memref<64xf32>, %m: memref<16x16xf32>, %x: memref<64xindex>, %v: f32, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %c16 = arith.constant 16 : index
  %c32 = arith.constant 32 : index
  %c63 = arith.constant 63 : index
  // expected-error@+1 {{data race: iterations 0 and 4 of this strata.parallel_for both write %a[0]}}
  strata.parallel_for %i = %c0 to %c16 step %c1 {
    %h = arith.remsi %i, %c4 : index
    // expected-note@+1 {{memref.store; the same access in both iterations}}
    memref.store %v, %a[%h] : memref<64xf32>
  }
  return
}

// -----

func.func @affine_mod(%a: memref<64xf32>, %b: memref<64xf32>, %m: memref<16x16xf32>, %x: memref<64xindex>, %v: f32, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %c16 = arith.constant 16 : index
  %c32 = arith.constant 32 : index
  %c63 = arith.constant 63 : index
  // expected-error@+1 {{data race: iterations 0 and 3 of this strata.parallel_for both write %a[0]}}
  strata.parallel_for %i = %c0 to %c16 step %c1 {
    %h = affine.apply affine_map<(d0) -> (d0 mod 3)>(%i)
    // expected-note@+1 {{memref.store; the same access in both iterations}}
    memref.store %v, %a[%h] : memref<64xf32>
  }
  return
}

// -----

func.func @affine_floordiv(%a: memref<64xf32>, %b: memref<64xf32>, %m: memref<16x16xf32>, %x: memref<64xindex>, %v: f32, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %c16 = arith.constant 16 : index
  %c32 = arith.constant 32 : index
  %c63 = arith.constant 63 : index
  // expected-error@+1 {{data race: iterations 0 and 1 of this strata.parallel_for both write %a[1]}}
  strata.parallel_for %i = %c0 to %c16 step %c1 {
    %h = affine.apply affine_map<(d0) -> (d0 floordiv 4 + 1)>(%i)
    // expected-note@+1 {{memref.store; the same access in both iterations}}
    memref.store %v, %a[%h] : memref<64xf32>
  }
  return
}

// -----

func.func @times_zero(%a: memref<64xf32>, %b: memref<64xf32>, %m: memref<16x16xf32>, %x: memref<64xindex>, %v: f32, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %c16 = arith.constant 16 : index
  %c32 = arith.constant 32 : index
  %c63 = arith.constant 63 : index
  // expected-error@+1 {{data race: iterations 0 and 1 of this strata.parallel_for both write %a[0]}}
  strata.parallel_for %i = %c0 to %c16 step %c1 {
    %h = arith.muli %i, %c0 : index
    // expected-note@+1 {{memref.store; the same access in both iterations}}
    memref.store %v, %a[%h] : memref<64xf32>
  }
  return
}

// -----

func.func @shift_forward(%a: memref<64xf32>, %b: memref<64xf32>, %m: memref<16x16xf32>, %x: memref<64xindex>, %v: f32, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %c16 = arith.constant 16 : index
  %c32 = arith.constant 32 : index
  %c63 = arith.constant 63 : index
  // expected-error@+1 {{data race: iterations 0 and 1 of this strata.parallel_for write and read %a[1]}}
  strata.parallel_for %i = %c0 to %c16 step %c1 {
    %x0 = memref.load %a[%i] : memref<64xf32>
    %j = arith.addi %i, %c1 : index
    // expected-note@+1 {{memref.store; the other access: memref.load}}
    memref.store %x0, %a[%j] : memref<64xf32>
  }
  return
}

// -----

func.func @shift_backward(%a: memref<64xf32>, %b: memref<64xf32>, %m: memref<16x16xf32>, %x: memref<64xindex>, %v: f32, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %c16 = arith.constant 16 : index
  %c32 = arith.constant 32 : index
  %c63 = arith.constant 63 : index
  // expected-error@+1 {{data race: iterations 1 and 2 of this strata.parallel_for write and read %a[2]}}
  strata.parallel_for %i = %c1 to %c16 step %c1 {
    %j = arith.addi %i, %c1 : index
    %x0 = memref.load %a[%j] : memref<64xf32>
    // expected-note@+1 {{memref.store; the other access: memref.load}}
    memref.store %x0, %a[%i] : memref<64xf32>
  }
  return
}

// -----

func.func @stencil_in_place(%a: memref<64xf32>, %b: memref<64xf32>, %m: memref<16x16xf32>, %x: memref<64xindex>, %v: f32, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %c16 = arith.constant 16 : index
  %c32 = arith.constant 32 : index
  %c63 = arith.constant 63 : index
  // expected-error@+1 {{data race: iterations 1 and 2 of this strata.parallel_for write and read %a[1]}}
  strata.parallel_for %i = %c1 to %c16 step %c1 {
    %l = arith.subi %i, %c1 : index
    %r = arith.addi %i, %c1 : index
    %x0 = memref.load %a[%l] : memref<64xf32>
    %x1 = memref.load %a[%r] : memref<64xf32>
    %s = arith.addf %x0, %x1 : f32
    // expected-note@+1 {{memref.store; the other access: memref.load}}
    memref.store %s, %a[%i] : memref<64xf32>
  }
  return
}

// -----

func.func @scan_in_place(%a: memref<64xf32>, %b: memref<64xf32>, %m: memref<16x16xf32>, %x: memref<64xindex>, %v: f32, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %c16 = arith.constant 16 : index
  %c32 = arith.constant 32 : index
  %c63 = arith.constant 63 : index
  // expected-error@+1 {{data race: iterations 1 and 2 of this strata.parallel_for write and read %a[1]}}
  strata.parallel_for %i = %c1 to %c16 step %c1 {
    %l = arith.subi %i, %c1 : index
    %x0 = memref.load %a[%l] : memref<64xf32>
    %x1 = memref.load %a[%i] : memref<64xf32>
    %s = arith.addf %x0, %x1 : f32
    // expected-note@+1 {{memref.store; the other access: memref.load}}
    memref.store %s, %a[%i] : memref<64xf32>
  }
  return
}

// -----

func.func @overlapping_stores(%a: memref<64xf32>, %b: memref<64xf32>, %m: memref<16x16xf32>, %x: memref<64xindex>, %v: f32, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %c16 = arith.constant 16 : index
  %c32 = arith.constant 32 : index
  %c63 = arith.constant 63 : index
  // expected-error@+1 {{data race: iterations 0 and 4 of this strata.parallel_for both write %a[4]}}
  strata.parallel_for %i = %c0 to %c16 step %c1 {
    // expected-note@+1 {{memref.store; the other access: memref.store}}
    memref.store %v, %a[%i] : memref<64xf32>
    %j = arith.addi %i, %c4 : index
    memref.store %v, %a[%j] : memref<64xf32>
  }
  return
}

// -----

func.func @step2_distance2(%a: memref<64xf32>, %b: memref<64xf32>, %m: memref<16x16xf32>, %x: memref<64xindex>, %v: f32, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %c16 = arith.constant 16 : index
  %c32 = arith.constant 32 : index
  %c63 = arith.constant 63 : index
  // expected-error@+1 {{data race: iterations 0 and 2 of this strata.parallel_for write and read %a[2]}}
  strata.parallel_for %i = %c0 to %c16 step %c2 {
    // expected-note@+1 {{memref.store; the other access: memref.load}}
    memref.store %v, %a[%i] : memref<64xf32>
    %j = arith.addi %i, %c2 : index
    %x0 = memref.load %a[%j] : memref<64xf32>
  }
  return
}

// -----

func.func @reverse_overlap(%a: memref<64xf32>, %b: memref<64xf32>, %m: memref<16x16xf32>, %x: memref<64xindex>, %v: f32, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %c16 = arith.constant 16 : index
  %c32 = arith.constant 32 : index
  %c63 = arith.constant 63 : index
  // expected-error@+1 {{data race: iterations 1 and 15 of this strata.parallel_for write and read %a[1]}}
  strata.parallel_for %i = %c0 to %c16 step %c1 {
    %j = arith.subi %c16, %i : index
    %x0 = memref.load %a[%j] : memref<64xf32>
    // expected-note@+1 {{memref.store; the other access: memref.load}}
    memref.store %x0, %a[%i] : memref<64xf32>
  }
  return
}

// -----

func.func @doubled_index_read(%a: memref<64xf32>, %b: memref<64xf32>, %m: memref<16x16xf32>, %x: memref<64xindex>, %v: f32, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %c16 = arith.constant 16 : index
  %c32 = arith.constant 32 : index
  %c63 = arith.constant 63 : index
  // expected-error@+1 {{data race: iterations 1 and 2 of this strata.parallel_for write and read %a[2]}}
  strata.parallel_for %i = %c0 to %c16 step %c1 {
    %j = arith.muli %i, %c2 : index
    %x0 = memref.load %a[%j] : memref<64xf32>
    // expected-note@+1 {{memref.store; the other access: memref.load}}
    memref.store %x0, %a[%i] : memref<64xf32>
  }
  return
}

// -----

func.func @row_shared(%a: memref<64xf32>, %b: memref<64xf32>, %m: memref<16x16xf32>, %x: memref<64xindex>, %v: f32, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %c16 = arith.constant 16 : index
  %c32 = arith.constant 32 : index
  %c63 = arith.constant 63 : index
  // expected-error@+1 {{data race: iterations 0 and 1 of this strata.parallel_for both write %m[0, 0]}}
  strata.parallel_for %i = %c0 to %c16 step %c1 {
    scf.for %j = %c0 to %c16 step %c1 {
      // expected-note@+1 {{memref.store; the same access in both iterations}}
      memref.store %v, %m[%c0, %j] : memref<16x16xf32>
    }
  }
  return
}

// -----

func.func @nested_parallel_same_row(%a: memref<64xf32>, %b: memref<64xf32>, %m: memref<16x16xf32>, %x: memref<64xindex>, %v: f32, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %c16 = arith.constant 16 : index
  %c32 = arith.constant 32 : index
  %c63 = arith.constant 63 : index
  // expected-error@+1 {{data race: iterations 0 and 1 of this strata.parallel_for both write %m[0, 0]}}
  strata.parallel_for %i = %c0 to %c16 step %c1 {
    strata.parallel_for %j = %c0 to %c16 step %c1 {
      // expected-note@+1 {{memref.store; the same access in both iterations}}
      memref.store %v, %m[%j, %c0] : memref<16x16xf32>
    }
  }
  return
}

// -----

func.func @transpose_in_place_2d(%a: memref<64xf32>, %b: memref<64xf32>, %m: memref<16x16xf32>, %x: memref<64xindex>, %v: f32, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %c16 = arith.constant 16 : index
  %c32 = arith.constant 32 : index
  %c63 = arith.constant 63 : index
  // expected-error@+1 {{data race: iterations (0, 1) and (1, 0) of this scf.parallel write and read %m[0, 1]}}
  scf.parallel (%i, %j) = (%c0, %c0) to (%c16, %c16) step (%c1, %c1) {
    %x0 = memref.load %m[%j, %i] : memref<16x16xf32>
    // expected-note@+1 {{memref.store; the other access: memref.load}}
    memref.store %x0, %m[%i, %j] : memref<16x16xf32>
    scf.reduce
  }
  return
}

// -----

func.func @scf_parallel_const(%a: memref<64xf32>, %b: memref<64xf32>, %m: memref<16x16xf32>, %x: memref<64xindex>, %v: f32, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %c16 = arith.constant 16 : index
  %c32 = arith.constant 32 : index
  %c63 = arith.constant 63 : index
  // expected-error@+1 {{data race: iterations 0 and 1 of this scf.parallel both write %a[1]}}
  scf.parallel (%i) = (%c0) to (%c16) step (%c1) {
    // expected-note@+1 {{memref.store; the same access in both iterations}}
    memref.store %v, %a[%c1] : memref<64xf32>
    scf.reduce
  }
  return
}

// -----

func.func @affine_parallel_const(%a: memref<64xf32>, %b: memref<64xf32>, %m: memref<16x16xf32>, %x: memref<64xindex>, %v: f32, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %c16 = arith.constant 16 : index
  %c32 = arith.constant 32 : index
  %c63 = arith.constant 63 : index
  // expected-error@+1 {{data race: iterations 0 and 1 of this affine.parallel both write %a[5]}}
  affine.parallel (%i) = (0) to (16) {
    // expected-note@+1 {{affine.store; the same access in both iterations}}
    affine.store %v, %a[5] : memref<64xf32>
  }
  return
}

// -----

func.func @affine_parallel_shift(%a: memref<64xf32>, %b: memref<64xf32>, %m: memref<16x16xf32>, %x: memref<64xindex>, %v: f32, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %c16 = arith.constant 16 : index
  %c32 = arith.constant 32 : index
  %c63 = arith.constant 63 : index
  // expected-error@+1 {{data race: iterations 0 and 1 of this affine.parallel write and read %a[1]}}
  affine.parallel (%i) = (0) to (16) {
    %x0 = affine.load %a[%i] : memref<64xf32>
    // expected-note@+1 {{affine.store; the other access: affine.load}}
    affine.store %x0, %a[%i + 1] : memref<64xf32>
  }
  return
}

// -----

func.func @vector_overlap(%a: memref<64xf32>, %b: memref<64xf32>, %m: memref<16x16xf32>, %x: memref<64xindex>, %v: f32, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %c16 = arith.constant 16 : index
  %c32 = arith.constant 32 : index
  %c63 = arith.constant 63 : index
  // expected-error@+1 {{data race: iterations 0 and 1 of this strata.parallel_for both write %a[4]}}
  strata.parallel_for %i = %c0 to %c8 step %c1 {
    %j = arith.muli %i, %c4 : index
    %w = vector.broadcast %v : f32 to vector<8xf32>
    // expected-note@+1 {{vector.store; the same access in both iterations}}
    vector.store %w, %a[%j] : memref<64xf32>, vector<8xf32>
  }
  return
}

// -----

func.func @inner_loop_overlap(%a: memref<64xf32>, %b: memref<64xf32>, %m: memref<16x16xf32>, %x: memref<64xindex>, %v: f32, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %c16 = arith.constant 16 : index
  %c32 = arith.constant 32 : index
  %c63 = arith.constant 63 : index
  // expected-error@+1 {{data race: iterations 0 and 1 of this strata.parallel_for both write %a[1]}}
  strata.parallel_for %i = %c0 to %c16 step %c1 {
    scf.for %j = %c0 to %c4 step %c1 {
      %k = arith.addi %i, %j : index
      // expected-note@+1 {{memref.store; the same access in both iterations}}
      memref.store %v, %a[%k] : memref<64xf32>
    }
  }
  return
}

// -----

func.func @cast_view_same_buffer(%a: memref<64xf32>, %b: memref<64xf32>, %m: memref<16x16xf32>, %x: memref<64xindex>, %v: f32, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %c16 = arith.constant 16 : index
  %c32 = arith.constant 32 : index
  %c63 = arith.constant 63 : index
  // expected-error@+1 {{data race: iterations 0 and 1 of this strata.parallel_for both write %a[2]}}
  strata.parallel_for %i = %c0 to %c16 step %c1 {
    %c = memref.cast %a : memref<64xf32> to memref<?xf32>
    // expected-note@+1 {{memref.store; the same access in both iterations}}
    memref.store %v, %c[%c2] : memref<?xf32>
  }
  return
}

// -----

func.func @two_dims_one_constant(%a: memref<64xf32>, %b: memref<64xf32>, %m: memref<16x16xf32>, %x: memref<64xindex>, %v: f32, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %c16 = arith.constant 16 : index
  %c32 = arith.constant 32 : index
  %c63 = arith.constant 63 : index
  // expected-error@+1 {{data race: iterations 0 and 1 of this strata.parallel_for both write %m[1, 1]}}
  strata.parallel_for %i = %c0 to %c16 step %c1 {
    // expected-note@+1 {{memref.store; the same access in both iterations}}
    memref.store %v, %m[%c1, %c1] : memref<16x16xf32>
  }
  return
}


// -----

// An atomic add and a plain store of one element in different iterations:
// atomics do not race with each other, but this store is not one.
func.func @atomic_and_plain_store(%a: memref<64xf32>, %b: memref<64xf32>, %m: memref<16x16xf32>, %x: memref<64xindex>, %v: f32, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c16 = arith.constant 16 : index
  // expected-error@+1 {{data race: iterations 0 and 1 of this strata.parallel_for both write %a[0]}}
  strata.parallel_for %i = %c0 to %c16 step %c1 {
    // expected-note@+1 {{memref.atomic_rmw; the other access: memref.store}}
    %old = memref.atomic_rmw addf %v, %a[%c0] : (f32, memref<64xf32>) -> f32
    memref.store %v, %a[%c0] : memref<64xf32>
  }
  return
}

// -----

// A generic atomic update of a[i + 1] and a plain load of a[i]: iteration
// 0 reads a[1], which iteration 1 updates.
func.func @generic_atomic_and_plain_load(%a: memref<64xf32>, %b: memref<64xf32>, %m: memref<16x16xf32>, %x: memref<64xindex>, %v: f32, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c63 = arith.constant 63 : index
  // expected-error@+1 {{data race: iterations 0 and 1 of this strata.parallel_for write and read %a[1]}}
  strata.parallel_for %i = %c0 to %c63 step %c1 {
    %r = memref.load %a[%i] : memref<64xf32>
    %j = arith.addi %i, %c1 : index
    // expected-note@+1 {{memref.generic_atomic_rmw; the other access: memref.load}}
    %new = memref.generic_atomic_rmw %a[%j] : memref<64xf32> {
    ^bb0(%cur: f32):
      %s = arith.addf %cur, %r : f32
      memref.atomic_yield %s : f32
    }
  }
  return
}

// -----

// Three inner loops of 16 iterations: 4096 combinations of their values,
// more than the check once enumerated (it kept the first 256, where p = 0,
// and called the loop free). Iteration 0 at p = 1 and iteration 2 at p = 0
// both write row 2.
func.func @deep_inner_loops(%a: memref<64x16x16xf32>) {
  %c = arith.constant 1.0 : f32
  // expected-error@+1 {{data race: iterations 0 and 2 of this affine.parallel both write %a[2, 0, 0]}}
  affine.parallel (%i) = (0) to (4) {
    affine.for %p = 0 to 16 {
      affine.for %q = 0 to 16 {
        affine.for %r = 0 to 16 {
          // expected-note@+1 {{affine.store; the same access in both iterations}}
          affine.store %c, %a[%p * 2 + %i, %q, %r] : memref<64x16x16xf32>
        }
      }
    }
  }
  return
}

// -----

// Transfers of 4 elements at a step of 2: iteration 0 reads a[4..8),
// which iteration 2 writes (a[2..6)); the writes overlap each other too.
func.func @overlapping_transfers(%a: memref<64xf32>, %b: memref<64xf32>, %m: memref<16x16xf32>, %x: memref<64xindex>, %v: f32, %n: index) {
  %c0 = arith.constant 0 : index
  %c2 = arith.constant 2 : index
  %c4 = arith.constant 4 : index
  %c32 = arith.constant 32 : index
  // expected-error@+1 {{data race: iterations 0 and 2 of this strata.parallel_for write and read %a[4]}}
  strata.parallel_for %i = %c0 to %c32 step %c2 {
    %j = arith.addi %i, %c4 : index
    %r = vector.transfer_read %a[%j], %v : memref<64xf32>, vector<4xf32>
    // expected-note@+1 {{vector.transfer_write; the other access: vector.transfer_read}}
    vector.transfer_write %r, %a[%i] : vector<4xf32>, memref<64xf32>
  }
  return
}

// -----

// Dimension 0 is the same inner expression in every iteration, but j also
// indexes dimension 1: iteration 0 at (i, j) = (0, 1) and iteration 1 at
// (1, 0) both write %a[1, 1]. (Pinning i alone once hid this race.)
func.func @inner_variable_in_two_dimensions(%a: memref<4x4xf32>) {
  %c = arith.constant 1.0 : f32
  // expected-error@+1 {{data race: iterations 0 and 1 of this affine.parallel both write %a[1, 1]}}
  affine.parallel (%iv) = (0) to (2) {
    affine.for %i = 0 to 2 {
      affine.for %j = 0 to 2 {
        // expected-note@+1 {{affine.store; the same access in both iterations}}
        affine.store %c, %a[%i + %j, %j + %iv] : memref<4x4xf32>
      }
    }
  }
  return
}

// -----

// 64 iterations x 65536 inner combinations: past the enumeration's budget
// (2^18 elements an access), but dimension 1 is `i` alone in both
// accesses and nowhere else, so `i` stays at one value and every `j` is
// enumerated: iteration 0 at j = 200 meets iteration 1 at j = 0. Without
// the pinning only j < 16 fit the budget: a warning.
func.func @pinned_dimension(%a: memref<16384x256xf32>) {
  %c = arith.constant 1.0 : f32
  // expected-error@+1 {{data race: iterations 0 and 1 of this affine.parallel both write %a[200, 0]}}
  affine.parallel (%iv) = (0) to (64) {
    affine.for %j = 0 to 256 {
      affine.for %i = 0 to 256 {
        // expected-note@+1 {{affine.store; the same access in both iterations}}
        affine.store %c, %a[%j + %iv * 200, %i] : memref<16384x256xf32>
      }
    }
  }
  return
}
