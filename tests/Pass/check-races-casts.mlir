// Casts that do not keep an index's value are opaque to strata-check-races:
// a narrowing cast wraps (iterations 0 and 256 store to element 0 here),
// a zero extension changes negative values. Widening with the sign keeps
// the value, and such a loop is proven free.
// RUN: strata-opt %s --split-input-file --verify-diagnostics=only-expected --strata-check-races
// RUN: strata-opt %s --split-input-file --strata-check-races 2>&1 | FileCheck %s
// CHECK-NOT: warning: {{.*}}@widens
// CHECK: possible data race{{.*}}a cast to a narrower integer
// CHECK: possible data race{{.*}}zero-extending cast
// CHECK-NOT: possible data race

func.func @wraps(%m: memref<256xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %n = arith.constant 512 : index
  %v = arith.constant 1.0 : f32
  // expected-warning@+1 {{its index depends on a cast to a narrower integer (it wraps)}}
  strata.parallel_for %i = %c0 to %n step %c1 {
    %t = arith.index_cast %i : index to i8
    %k = arith.index_cast %t : i8 to index
    memref.store %v, %m[%k] : memref<256xf32>
  }
  return
}

// -----

func.func @zero_extends(%m: memref<256xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %n = arith.constant 16 : index
  %v = arith.constant 1.0 : f32
  // expected-warning@+1 {{its index depends on a zero-extending cast}}
  strata.parallel_for %i = %c0 to %n step %c1 {
    %t = arith.index_cast %i : index to i32
    %u = arith.extui %t : i32 to i64
    %k = arith.index_cast %u : i64 to index
    memref.store %v, %m[%k] : memref<256xf32>
  }
  return
}

// -----

func.func @widens(%m: memref<256xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %n = arith.constant 16 : index
  %v = arith.constant 1.0 : f32
  strata.parallel_for %i = %c0 to %n step %c1 {
    %t = arith.index_cast %i : index to i64
    %k = arith.index_cast %t : i64 to index
    memref.store %v, %m[%k] : memref<256xf32>
  }
  return
}
