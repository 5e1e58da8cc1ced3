// --strata-races=runtime watches atomic updates beside plain accesses of
// the same buffer: they never race with each other, but do with a plain
// load or store of their element in another iteration. Here every
// iteration adds to bin x[i] and reads bin 0: with a 0 among the values,
// the update of bin 0 races with the other iterations' reads; without,
// the run is silent (the static check could only warn).
// RUN: not strata-run %s -e peek --input=100xi32=0 --input=8xi32=0 --input=100xi32=0 --strata-races=runtime 2>&1 | FileCheck %s --check-prefix=RACE
// RUN: not strata-run %s -e peek --input=100xi32=0 --input=8xi32=0 --input=100xi32=0 --strata-races=runtime --threads=1 2>&1 | FileCheck %s --check-prefix=RACE
// RUN: strata-run %s -e peek --input=100xi32=3 --input=8xi32=0 --input=100xi32=0 --strata-races=runtime 2>&1 | FileCheck %s --check-prefix=FREE
// RUN: strata-run %s -e peek --input=100xi32=3 --input=8xi32=0 --input=100xi32=0 --strata-races=runtime --threads=1 2>&1 | FileCheck %s --check-prefix=FREE
// RACE: warning: possible data race: cannot prove that iterations of this strata.parallel_for touch different elements of %h
// RACE: error: data race at run time: iterations {{[0-9]+}} and {{[0-9]+}} of the strata.parallel_for at line [[# @LINE + 11]], column 3 write and read element 0 (linear index) of one buffer
// RACE: strata-run: error: the kernel raced (--strata-races=runtime, above); its results are not printed
// FREE: warning: possible data race
// FREE-NOT: error
// FREE: 8xi32=[0,0,0,100,0,0,0,0]
// FREE: 100xi32=[0,0,0
func.func @peek(%x: memref<100xi32>, %h: memref<8xi32>, %seen: memref<100xi32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %n = arith.constant 100 : index
  %one = arith.constant 1 : i32
  strata.parallel_for %i = %c0 to %n step %c1 {
    %v = memref.load %x[%i] : memref<100xi32>
    %b = arith.index_cast %v : i32 to index
    %old = memref.atomic_rmw addi %one, %h[%b] : (i32, memref<8xi32>) -> i32
    %p = memref.load %h[%c0] : memref<8xi32>
    memref.store %p, %seen[%i] : memref<100xi32>
  }
  return
}
