// --strata-target: the explicit target code generation reads, attached to
// the module as `strata.target` when a pipeline runs. Named CPUs follow
// LLVM (what features they imply), `+f`/`-f` override features, and a
// module that carries a target keeps it unless the flag is given.
// RUN: strata-opt %s --strata-target=znver3 --canonicalize | FileCheck %s --check-prefix=ZEN3
// RUN: strata-opt %s --strata-target=znver3,+avx512f --canonicalize | FileCheck %s --check-prefix=OVERRIDE
// RUN: strata-opt %s --strata-target=skylake-avx512,-avx512f --canonicalize | FileCheck %s --check-prefix=DOWN
// RUN: strata-opt %s --strata-target=x86-64 --canonicalize | FileCheck %s --check-prefix=SSE
// Without a pipeline nothing is attached: the input prints as it was.
// RUN: strata-opt %s --strata-target=znver3 | FileCheck %s --check-prefix=NONE
// The target decides the vector width, not the host:
// RUN: strata-opt %s --strata-target=x86-64-v4 --strata-pipeline=O3 | FileCheck %s --check-prefix=W512
// RUN: strata-opt %s --strata-target=x86-64-v3 --strata-pipeline=O3 | FileCheck %s --check-prefix=W256
// A module's own target is kept, and the flag replaces it.
// RUN: strata-opt %s --strata-target=x86-64-v4 --canonicalize | strata-opt --strata-lower-to-affine --strata-vectorize | FileCheck %s --check-prefix=KEPT
// RUN: strata-opt %s --strata-target=x86-64-v4 --canonicalize | strata-opt --strata-target=x86-64 --strata-lower-to-affine --strata-vectorize | FileCheck %s --check-prefix=REPLACED
// Mistakes are one-line errors.
// RUN: not strata-opt %s --strata-target=pentium9 --canonicalize 2>&1 | FileCheck %s --check-prefix=UNKNOWN
// RUN: not strata-opt %s --strata-target=znver3,+nosuchfeature --canonicalize 2>&1 | FileCheck %s --check-prefix=FEATURE
// RUN: not strata-opt %s --strata-target=znver3,avx2 --canonicalize 2>&1 | FileCheck %s --check-prefix=FEATURE
// strata-opt emits code for a target the host cannot run (bdver4 has
// FMA4/XOP, which no current CPU has); strata-run refuses it in one line.
// RUN: strata-opt %s --strata-target=bdver4 --strata-pipeline=O3 | FileCheck %s --check-prefix=W256
// RUN: not strata-run %s --strata-target=bdver4 --input=19xf32=1 2>&1 | FileCheck %s --check-prefix=NOTEXEC
// The baseline and AVX2 targets run on every x86-64 host CI has, and agree.
// RUN: strata-run %s --strata-target=x86-64 --input=19xf32=2 | FileCheck %s --check-prefix=OUT
// RUN: strata-run %s --strata-target=x86-64-v3 --input=19xf32=2 | FileCheck %s --check-prefix=OUT

// ZEN3: module attributes {strata.target = {cores = {{[0-9]+}} : i64, cpu = "znver3", features = "", l1d_bytes = 32768 : i64, l2_bytes = 524288 : i64, l3_bytes = 33554432 : i64, vector_bits = 256 : i64, vector_registers = 16 : i64}}
// OVERRIDE: cpu = "znver3", features = "+avx512f", {{.*}} vector_bits = 512 : i64, vector_registers = 32 : i64
// DOWN: cpu = "skylake-avx512", features = "-avx512f", {{.*}} vector_bits = 256 : i64, vector_registers = 16 : i64
// SSE: cpu = "x86-64", {{.*}} vector_bits = 128 : i64
// NONE-NOT: strata.target
// W512: vector<16xf32>
// W256-NOT: vector<16xf32>
// W256: vector<8xf32>
// W256-NOT: vector<16xf32>
// KEPT: cpu = "x86-64-v4"
// KEPT: vector<16xf32>
// REPLACED: cpu = "x86-64",
// REPLACED-NOT: vector<16xf32>
// REPLACED-NOT: vector<8xf32>
// REPLACED: vector<4xf32>
// UNKNOWN: strata-opt: error: unknown target CPU 'pentium9': expected 'host' or an LLVM x86-64 CPU name
// FEATURE: strata-opt: error: bad feature list '{{.*}}' for target 'znver3'
// NOTEXEC: strata-run: error: target 'bdver4' needs {{.*}}, which this host ({{.*}}) does not have
// OUT: 19xf32=[6,6,6,6,6,6,6,6,6,6,6,6,6,6,6,6,6,6,6]
func.func @main(%x: tensor<19xf32>) -> tensor<19xf32> {
  %0 = strata.add %x, %x : tensor<19xf32>
  %1 = strata.mul %0, %x : tensor<19xf32>
  %r = strata.sub %1, %x : tensor<19xf32>
  return %r : tensor<19xf32>
}
