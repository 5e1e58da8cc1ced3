#!/usr/bin/env bash
# Leak and memory-error check of whole strata-run processes under valgrind:
# compile, JIT and call each kernel below, then require no invalid access
# and no definitely lost block (MLIR's static registries stay reachable at
# exit and are not leaks). Uses the release build: valgrind 3.19 cannot read
# the DWARF 5 of debug builds. Kernel temporaries are also checked, exactly,
# by driver/tests/e2e.rs through the runtime's counting allocator.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
cargo build --release --quiet
run() {
  echo "memcheck: strata-run $*"
  valgrind --quiet --leak-check=full --errors-for-leak-kinds=definite --show-leak-kinds=definite \
    --error-exitcode=3 ./target/release/strata-run "$@" > /dev/null
}
run examples/mlp.mlir --input=64x32xf32=1 --input=32x48xf32=0.5 --input=48xf32=-3
run examples/mlp.mlir -e rowsum --input=37x129xf32=2 --output=@/dev/null
run examples/mlp.mlir -e scale --input=1000xf32=1.5
echo "memcheck: no leaks, no memory errors"
