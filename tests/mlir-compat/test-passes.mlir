// Upstream's test passes, registered as mlir-opt registers them, and pass
// flags nested under the op each pass is anchored on, as mlir-opt nests
// them (`-test-arith-emulate-wide-int` runs on func.func, given to a module).
// Each pipeline prints what mlir-opt prints.
// RUN: strata-opt %s -test-arith-emulate-wide-int="widest-int-supported=32" -dump-pass-pipeline -o /dev/null 2>&1 | FileCheck %s --check-prefix=NEST
// RUN: strata-opt %s -test-arith-emulate-wide-int="widest-int-supported=32" -o %t.wide
// RUN: mlir-opt %s -test-arith-emulate-wide-int="widest-int-supported=32" -o %t.wide.expected
// RUN: diff %t.wide.expected %t.wide
// RUN: FileCheck %s --check-prefix=WIDE < %t.wide
// RUN: strata-opt %s -test-cf-assert -test-lower-to-llvm -o %t.ll
// RUN: mlir-opt %s -test-cf-assert -test-lower-to-llvm -o %t.ll.expected
// RUN: diff %t.ll.expected %t.ll
// RUN: strata-opt %s -test-arith-emulate-wide-int="widest-int-supported=32" -test-cf-assert -test-lower-to-llvm \
// RUN: | strata-run -e entry -entry-point-result=void -shared-libs=%mlir_c_runner_utils | FileCheck %s
// RUN: strata-opt --list-passes | FileCheck %s --check-prefix=LIST

// NEST: builtin.module(func.func(test-arith-emulate-wide-int{widest-int-supported=32}))
// The function named emulate_* gets its i64 arithmetic on pairs of i32:
// WIDE-LABEL: func.func @emulate_add(
// WIDE-NOT: arith.addi {{.*}} : i64
// WIDE: arith.addui_extended {{.*}} : i32
// WIDE-LABEL: func.func @entry(
// CHECK: 4294967296
// CHECK-NEXT: -1
// The assertion that fails prints its message and goes on.
// CHECK-NEXT: entry reached its end
// CHECK-NEXT: 7
// LIST-DAG: test-arith-emulate-wide-int
// LIST-DAG: test-transform-dialect-erase-schedule
// LIST-DAG: test-cf-assert
// LIST-DAG: test-math-polynomial-approximation

func.func @emulate_add(%a: i64, %b: i64) -> i64 {
  %s = arith.addi %a, %b : i64
  return %s : i64
}

func.func @entry() {
  %a = arith.constant 4294967295 : i64
  %b = arith.constant 1 : i64
  %s = func.call @emulate_add(%a, %b) : (i64, i64) -> i64
  vector.print %s : i64
  %m = arith.constant -4294967296 : i64
  %c = arith.constant 4294967295 : i64
  %t = func.call @emulate_add(%m, %c) : (i64, i64) -> i64
  vector.print %t : i64
  %f = arith.constant false
  cf.assert %f, "entry reached its end"
  %seven = arith.constant 7 : i64
  vector.print %seven : i64
  return
}
