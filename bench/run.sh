#!/usr/bin/env bash
# The benchmark suite, in one command: installs what is needed (the
# project's apt packages, and NumPy, threadpoolctl and matplotlib in a
# project-local virtual environment under target/), builds Strata in
# release mode, and runs bench/bench.py, which measures every kernel under
# Strata, NumPy and plain C in one run and writes docs/benchmarks.md and
# docs/matmul.png. STRATA_BENCH_QUICK=1 runs smaller sizes, one round.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$root/scripts/install.sh"
cd "$root"
cargo build --release --quiet
venv="$root/target/bench-venv"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv" 2>/dev/null || {
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
    python3 -m venv "$venv"
  }
fi
"$venv/bin/pip" install --quiet --disable-pip-version-check numpy threadpoolctl matplotlib
# OpenBLAS picks a slower kernel when these are set; unset for this run only.
exec env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE STRATA_CLANG="$STRATA_LLVM_PREFIX/bin/clang" \
  "$venv/bin/python" "$root/bench/bench.py"
