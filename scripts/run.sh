#!/usr/bin/env bash
# The main job: install what is needed, build in release mode, and run
# strata-opt on the example kernel (custom form, then the generic form).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$root/scripts/install.sh"
cd "$root"
cargo build --release --quiet
echo "== strata-opt examples/mlp.mlir"
./target/release/strata-opt examples/mlp.mlir
echo "== strata-opt examples/mlp.mlir --pass-pipeline='builtin.module(strata-fuse,canonicalize,cse)' --mlir-print-op-generic"
./target/release/strata-opt examples/mlp.mlir --pass-pipeline='builtin.module(strata-fuse,canonicalize,cse)' --mlir-print-op-generic
echo "== strata-run examples/mlp.mlir (64x32 ones @ 32x48 halves + bias -3, relu)"
./target/release/strata-run examples/mlp.mlir --input=64x32xf32=1 --input=32x48xf32=0.5 --input=48xf32=-3 | cut -c1-120
echo "== strata-run examples/mlp.mlir -e rowsum --benchmark=20"
./target/release/strata-run examples/mlp.mlir -e rowsum --input=37x129xf32=1 --benchmark=20
