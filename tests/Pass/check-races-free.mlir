// A suite of race-free parallel loops (own elements, other buffers,
// disjoint strides and parities, rows, columns, triangles, private
// buffers, atomics, read-only sharing, 2-D and affine loops, vectors in
// steps of their width, guarded stores, invariant offsets, atomics beside
// plain accesses, transfers): no diagnostic.
// RUN: strata-opt %s --split-input-file --verify-diagnostics --strata-check-races
// RUN: strata-opt %s --split-input-file --strata-check-races --strata-remarks 2>&1 >/dev/null | FileCheck %s
// RUN: strata-opt %s --split-input-file --strata-check-races --strata-remarks 2>&1 >/dev/null | FileCheck %s --check-prefix=REMARKS
// CHECK-NOT: warning
// CHECK-NOT: error
// Each of the 31 loops (one nested in another) is proven free, and says so.
// REMARKS-COUNT-31: remark: strata-check-races: {{(strata.parallel_for|scf.parallel|affine.parallel)}} is free of data races
// REMARKS-NOT: remark

func.func @own_element(%a: memref<64xf32>, %b: memref<64xf32>, %m: memref<16x16xf32>, %x: memref<64xindex>, %v: f32, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %c16 = arith.constant 16 : index
  %c32 = arith.constant 32 : index
  %c63 = arith.constant 63 : index
  strata.parallel_for %i = %c0 to %c16 step %c1 {
    %x0 = memref.load %a[%i] : memref<64xf32>
    %y = arith.mulf %x0, %x0 : f32
    memref.store %y, %a[%i] : memref<64xf32>
  }
  return
}

// -----

func.func @own_element_dynamic_n(%a: memref<64xf32>, %b: memref<64xf32>, %m: memref<16x16xf32>, %x: memref<64xindex>, %v: f32, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %c16 = arith.constant 16 : index
  %c32 = arith.constant 32 : index
  %c63 = arith.constant 63 : index
  strata.parallel_for %i = %c0 to %n step %c1 {
    memref.store %v, %a[%i] : memref<64xf32>
  }
  return
}

// -----

func.func @read_other_buffer_shifted(%a: memref<64xf32>, %b: memref<64xf32>, %m: memref<16x16xf32>, %x: memref<64xindex>, %v: f32, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %c16 = arith.constant 16 : index
  %c32 = arith.constant 32 : index
  %c63 = arith.constant 63 : index
  strata.parallel_for %i = %c0 to %c16 step %c1 {
    %j = arith.addi %i, %c1 : index
    %x0 = memref.load %a[%j] : memref<64xf32>
    memref.store %x0, %b[%i] : memref<64xf32>
  }
  return
}

// -----

func.func @stencil_out_of_place(%a: memref<64xf32>, %b: memref<64xf32>, %m: memref<16x16xf32>, %x: memref<64xindex>, %v: f32, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %c16 = arith.constant 16 : index
  %c32 = arith.constant 32 : index
  %c63 = arith.constant 63 : index
  strata.parallel_for %i = %c1 to %c16 step %c1 {
    %l = arith.subi %i, %c1 : index
    %r = arith.addi %i, %c1 : index
    %x0 = memref.load %a[%l] : memref<64xf32>
    %x1 = memref.load %a[%r] : memref<64xf32>
    %s = arith.addf %x0, %x1 : f32
    memref.store %s, %b[%i] : memref<64xf32>
  }
  return
}

// -----

func.func @even_odd(%a: memref<64xf32>, %b: memref<64xf32>, %m: memref<16x16xf32>, %x: memref<64xindex>, %v: f32, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %c16 = arith.constant 16 : index
  %c32 = arith.constant 32 : index
  %c63 = arith.constant 63 : index
  strata.parallel_for %i = %c0 to %c16 step %c1 {
    %e = arith.muli %i, %c2 : index
    %o = arith.addi %e, %c1 : index
    %x0 = memref.load %a[%o] : memref<64xf32>
    memref.store %x0, %a[%e] : memref<64xf32>
  }
  return
}

// -----

func.func @step2_neighbour(%a: memref<64xf32>, %b: memref<64xf32>, %m: memref<16x16xf32>, %x: memref<64xindex>, %v: f32, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %c16 = arith.constant 16 : index
  %c32 = arith.constant 32 : index
  %c63 = arith.constant 63 : index
  strata.parallel_for %i = %c0 to %c32 step %c2 {
    %o = arith.addi %i, %c1 : index
    %x0 = memref.load %a[%o] : memref<64xf32>
    memref.store %x0, %a[%i] : memref<64xf32>
  }
  return
}

// -----

func.func @strided_4(%a: memref<64xf32>, %b: memref<64xf32>, %m: memref<16x16xf32>, %x: memref<64xindex>, %v: f32, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %c16 = arith.constant 16 : index
  %c32 = arith.constant 32 : index
  %c63 = arith.constant 63 : index
  strata.parallel_for %i = %c0 to %c16 step %c1 {
    %j = arith.muli %i, %c4 : index
    %k = arith.addi %j, %c3 : index
    memref.store %v, %a[%j] : memref<64xf32>
    memref.store %v, %a[%k] : memref<64xf32>
  }
  return
}

// -----

func.func @offset_half(%a: memref<64xf32>, %b: memref<64xf32>, %m: memref<16x16xf32>, %x: memref<64xindex>, %v: f32, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %c16 = arith.constant 16 : index
  %c32 = arith.constant 32 : index
  %c63 = arith.constant 63 : index
  strata.parallel_for %i = %c0 to %c16 step %c1 {
    %j = arith.addi %i, %c32 : index
    %x0 = memref.load %a[%j] : memref<64xf32>
    memref.store %x0, %a[%i] : memref<64xf32>
  }
  return
}

// -----

func.func @rows(%a: memref<64xf32>, %b: memref<64xf32>, %m: memref<16x16xf32>, %x: memref<64xindex>, %v: f32, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %c16 = arith.constant 16 : index
  %c32 = arith.constant 32 : index
  %c63 = arith.constant 63 : index
  strata.parallel_for %i = %c0 to %c16 step %c1 {
    scf.for %j = %c0 to %c16 step %c1 {
      %x0 = memref.load %m[%i, %j] : memref<16x16xf32>
      memref.store %x0, %m[%i, %j] : memref<16x16xf32>
    }
  }
  return
}

// -----

func.func @rows_dynamic_inner(%a: memref<64xf32>, %b: memref<64xf32>, %m: memref<16x16xf32>, %x: memref<64xindex>, %v: f32, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %c16 = arith.constant 16 : index
  %c32 = arith.constant 32 : index
  %c63 = arith.constant 63 : index
  strata.parallel_for %i = %c0 to %c16 step %c1 {
    scf.for %j = %c0 to %n step %c1 {
      memref.store %v, %m[%i, %j] : memref<16x16xf32>
    }
  }
  return
}

// -----

func.func @columns(%a: memref<64xf32>, %b: memref<64xf32>, %m: memref<16x16xf32>, %x: memref<64xindex>, %v: f32, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %c16 = arith.constant 16 : index
  %c32 = arith.constant 32 : index
  %c63 = arith.constant 63 : index
  strata.parallel_for %i = %c0 to %c16 step %c1 {
    scf.for %j = %c0 to %c16 step %c1 {
      memref.store %v, %m[%j, %i] : memref<16x16xf32>
    }
  }
  return
}

// -----

func.func @triangular(%a: memref<64xf32>, %b: memref<64xf32>, %m: memref<16x16xf32>, %x: memref<64xindex>, %v: f32, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %c16 = arith.constant 16 : index
  %c32 = arith.constant 32 : index
  %c63 = arith.constant 63 : index
  strata.parallel_for %i = %c0 to %c16 step %c1 {
    scf.for %j = %c0 to %i step %c1 {
      memref.store %v, %m[%i, %j] : memref<16x16xf32>
    }
  }
  return
}

// -----

func.func @nested_parallel_own_cell(%a: memref<64xf32>, %b: memref<64xf32>, %m: memref<16x16xf32>, %x: memref<64xindex>, %v: f32, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %c16 = arith.constant 16 : index
  %c32 = arith.constant 32 : index
  %c63 = arith.constant 63 : index
  strata.parallel_for %i = %c0 to %c16 step %c1 {
    strata.parallel_for %j = %c0 to %c16 step %c1 {
      %x0 = memref.load %m[%i, %j] : memref<16x16xf32>
      memref.store %x0, %m[%i, %j] : memref<16x16xf32>
    }
  }
  return
}

// -----

func.func @private_alloca(%a: memref<64xf32>, %b: memref<64xf32>, %m: memref<16x16xf32>, %x: memref<64xindex>, %v: f32, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %c16 = arith.constant 16 : index
  %c32 = arith.constant 32 : index
  %c63 = arith.constant 63 : index
  strata.parallel_for %i = %c0 to %c16 step %c1 {
    %t = memref.alloca() : memref<4xf32>
    memref.store %v, %t[%c0] : memref<4xf32>
    %u = memref.load %t[%c0] : memref<4xf32>
    memref.store %u, %a[%i] : memref<64xf32>
  }
  return
}

// -----

func.func @private_alloc(%a: memref<64xf32>, %b: memref<64xf32>, %m: memref<16x16xf32>, %x: memref<64xindex>, %v: f32, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %c16 = arith.constant 16 : index
  %c32 = arith.constant 32 : index
  %c63 = arith.constant 63 : index
  strata.parallel_for %i = %c0 to %c16 step %c1 {
    %t = memref.alloc() : memref<4xf32>
    memref.store %v, %t[%c1] : memref<4xf32>
    memref.dealloc %t : memref<4xf32>
  }
  return
}

// -----

func.func @atomic_histogram(%a: memref<64xf32>, %b: memref<64xf32>, %m: memref<16x16xf32>, %x: memref<64xindex>, %v: f32, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %c16 = arith.constant 16 : index
  %c32 = arith.constant 32 : index
  %c63 = arith.constant 63 : index
  strata.parallel_for %i = %c0 to %c16 step %c1 {
    %k = memref.load %x[%i] : memref<64xindex>
    %old = memref.atomic_rmw addf %v, %a[%k] : (f32, memref<64xf32>) -> f32
  }
  return
}

// -----

func.func @atomic_const(%a: memref<64xf32>, %b: memref<64xf32>, %m: memref<16x16xf32>, %x: memref<64xindex>, %v: f32, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %c16 = arith.constant 16 : index
  %c32 = arith.constant 32 : index
  %c63 = arith.constant 63 : index
  strata.parallel_for %i = %c0 to %c16 step %c1 {
    %old = memref.atomic_rmw addf %v, %a[%c0] : (f32, memref<64xf32>) -> f32
  }
  return
}

// -----

func.func @read_only_shared(%a: memref<64xf32>, %b: memref<64xf32>, %m: memref<16x16xf32>, %x: memref<64xindex>, %v: f32, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %c16 = arith.constant 16 : index
  %c32 = arith.constant 32 : index
  %c63 = arith.constant 63 : index
  strata.parallel_for %i = %c0 to %c16 step %c1 {
    %x0 = memref.load %a[%c0] : memref<64xf32>
    memref.store %x0, %b[%i] : memref<64xf32>
  }
  return
}

// -----

func.func @transpose_out_of_place_2d(%a: memref<64xf32>, %b: memref<64xf32>, %m: memref<16x16xf32>, %x: memref<64xindex>, %v: f32, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %c16 = arith.constant 16 : index
  %c32 = arith.constant 32 : index
  %c63 = arith.constant 63 : index
  scf.parallel (%i, %j) = (%c0, %c0) to (%c4, %c16) step (%c1, %c1) {
    %x0 = memref.load %m[%j, %i] : memref<16x16xf32>
    %k = arith.muli %i, %c16 : index
    %k2 = arith.addi %k, %j : index
    memref.store %x0, %b[%k2] : memref<64xf32>
    scf.reduce
  }
  return
}

// -----

func.func @scf_parallel_2d_identity(%a: memref<64xf32>, %b: memref<64xf32>, %m: memref<16x16xf32>, %x: memref<64xindex>, %v: f32, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %c16 = arith.constant 16 : index
  %c32 = arith.constant 32 : index
  %c63 = arith.constant 63 : index
  scf.parallel (%i, %j) = (%c0, %c0) to (%c16, %c16) step (%c1, %c1) {
    %x0 = memref.load %m[%i, %j] : memref<16x16xf32>
    memref.store %x0, %m[%i, %j] : memref<16x16xf32>
    scf.reduce
  }
  return
}

// -----

func.func @affine_parallel_2d(%a: memref<64xf32>, %b: memref<64xf32>, %m: memref<16x16xf32>, %x: memref<64xindex>, %v: f32, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %c16 = arith.constant 16 : index
  %c32 = arith.constant 32 : index
  %c63 = arith.constant 63 : index
  affine.parallel (%i, %j) = (0, 0) to (16, 16) {
    %x0 = affine.load %m[%i, %j] : memref<16x16xf32>
    affine.store %x0, %m[%i, %j] : memref<16x16xf32>
  }
  return
}

// -----

func.func @affine_parallel_linearized(%a: memref<64xf32>, %b: memref<64xf32>, %m: memref<16x16xf32>, %x: memref<64xindex>, %v: f32, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %c16 = arith.constant 16 : index
  %c32 = arith.constant 32 : index
  %c63 = arith.constant 63 : index
  affine.parallel (%i, %j) = (0, 0) to (4, 16) {
    affine.store %v, %a[%i * 16 + %j] : memref<64xf32>
  }
  return
}

// -----

func.func @affine_map_apply(%a: memref<64xf32>, %b: memref<64xf32>, %m: memref<16x16xf32>, %x: memref<64xindex>, %v: f32, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %c16 = arith.constant 16 : index
  %c32 = arith.constant 32 : index
  %c63 = arith.constant 63 : index
  strata.parallel_for %i = %c0 to %c16 step %c1 {
    %h = affine.apply affine_map<(d0) -> (d0 * 3 + 2)>(%i)
    memref.store %v, %a[%h] : memref<64xf32>
  }
  return
}

// -----

func.func @vector_disjoint(%a: memref<64xf32>, %b: memref<64xf32>, %m: memref<16x16xf32>, %x: memref<64xindex>, %v: f32, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %c16 = arith.constant 16 : index
  %c32 = arith.constant 32 : index
  %c63 = arith.constant 63 : index
  strata.parallel_for %i = %c0 to %c8 step %c1 {
    %j = arith.muli %i, %c8 : index
    %w = vector.broadcast %v : f32 to vector<8xf32>
    vector.store %w, %a[%j] : memref<64xf32>, vector<8xf32>
  }
  return
}

// -----

func.func @vector_step(%a: memref<64xf32>, %b: memref<64xf32>, %m: memref<16x16xf32>, %x: memref<64xindex>, %v: f32, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %c16 = arith.constant 16 : index
  %c32 = arith.constant 32 : index
  %c63 = arith.constant 63 : index
  strata.parallel_for %i = %c0 to %c63 step %c8 {
    %w = vector.broadcast %v : f32 to vector<8xf32>
    vector.store %w, %a[%i] : memref<64xf32>, vector<8xf32>
  }
  return
}

// -----

func.func @guarded_own(%a: memref<64xf32>, %b: memref<64xf32>, %m: memref<16x16xf32>, %x: memref<64xindex>, %v: f32, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %c16 = arith.constant 16 : index
  %c32 = arith.constant 32 : index
  %c63 = arith.constant 63 : index
  strata.parallel_for %i = %c0 to %c16 step %c1 {
    %p = arith.cmpi ult, %i, %c8 : index
    scf.if %p {
      memref.store %v, %a[%i] : memref<64xf32>
    }
  }
  return
}

// -----

func.func @column_of_row(%a: memref<64xf32>, %b: memref<64xf32>, %m: memref<16x16xf32>, %x: memref<64xindex>, %v: f32, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %c16 = arith.constant 16 : index
  %c32 = arith.constant 32 : index
  %c63 = arith.constant 63 : index
  strata.parallel_for %i = %c0 to %c16 step %c1 {
    memref.store %v, %m[%c2, %i] : memref<16x16xf32>
    %x0 = memref.load %m[%i, %c2] : memref<16x16xf32>
  }
  return
}

// -----

func.func @invariant_offset(%a: memref<64xf32>, %b: memref<64xf32>, %m: memref<16x16xf32>, %x: memref<64xindex>, %v: f32, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %c16 = arith.constant 16 : index
  %c32 = arith.constant 32 : index
  %c63 = arith.constant 63 : index
  strata.parallel_for %i = %c0 to %c16 step %c1 {
    %j = arith.addi %i, %n : index
    memref.store %v, %a[%j] : memref<64xf32>
  }
  return
}


// -----

// Atomics beside plain accesses of the same buffer that no other iteration
// updates atomically: a[0] is updated, a[1..16] read; each a[17 + i] is
// updated and read by its own iteration only.
func.func @atomic_beside_plain(%a: memref<64xf32>, %b: memref<64xf32>, %m: memref<16x16xf32>, %x: memref<64xindex>, %v: f32, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c16 = arith.constant 16 : index
  %c17 = arith.constant 17 : index
  strata.parallel_for %i = %c0 to %c16 step %c1 {
    %old = memref.atomic_rmw addf %v, %a[%c0] : (f32, memref<64xf32>) -> f32
    %j = arith.addi %i, %c1 : index
    %r = memref.load %a[%j] : memref<64xf32>
    %k = arith.addi %i, %c17 : index
    %mine = memref.atomic_rmw maximumf %r, %a[%k] : (f32, memref<64xf32>) -> f32
    %s = memref.load %a[%k] : memref<64xf32>
    memref.store %s, %b[%i] : memref<64xf32>
  }
  return
}

// -----

// Transfers of 4 elements at a step of 4: each iteration its own vector
// of %a, read then written; %b read everywhere.
func.func @transfers_in_steps(%a: memref<64xf32>, %b: memref<64xf32>, %m: memref<16x16xf32>, %x: memref<64xindex>, %v: f32, %n: index) {
  %c0 = arith.constant 0 : index
  %c4 = arith.constant 4 : index
  %c60 = arith.constant 60 : index
  strata.parallel_for %i = %c0 to %c60 step %c4 {
    %r = vector.transfer_read %a[%i], %v : memref<64xf32>, vector<4xf32>
    %s = vector.transfer_read %b[%c0], %v : memref<64xf32>, vector<4xf32>
    %t = arith.addf %r, %s : vector<4xf32>
    vector.transfer_write %t, %a[%i] : vector<4xf32>, memref<64xf32>
  }
  return
}
