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
