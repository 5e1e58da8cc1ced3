#!/usr/bin/env bash
# The benchmark suite, in one command: installs what is needed (the
# project's apt packages; NumPy, threadpoolctl, matplotlib and the peers
# IREE, JAX and Mojo in a project-local virtual environment under target/),
# builds Strata in release mode, and runs bench/bench.py, which measures
# every kernel under Strata and its peers in one run and writes
# docs/benchmarks.md, docs/matmul.png and docs/contractions.png.
# STRATA_BENCH_QUICK=1 runs smaller sizes, one round.
#
# Installing is idempotent (pinned versions, pip skips what is there). A peer
# whose install fails is written to target/bench/install-status.txt and
# reported as unavailable by bench.py; the run goes on without it.
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
pip_install() { "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$@"; }
pip_install numpy threadpoolctl matplotlib
mkdir -p "$root/target/bench"
status="$root/target/bench/install-status.txt"
log="$root/target/bench/install.log"
: >"$status"
peer() { # NAME PACKAGE...: install a peer's pinned packages, or note why not
  local name=$1
  shift
  if ! pip_install "$@" >>"$log" 2>&1; then
    echo "$name: 'pip install $*' failed: $(tail -n 1 "$log")" >>"$status"
    echo "bench: $name not installed (see $log); its column reads unavailable" >&2
  fi
}
peer iree iree-base-compiler==3.13.0 iree-base-runtime==3.13.0
peer jax "jax[cpu]==0.10.2"
peer mojo mojo==1.2.0 max==26.7.0
# OpenBLAS picks a slower kernel when these are set; unset for this run only.
exec env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE STRATA_CLANG="$STRATA_LLVM_PREFIX/bin/clang" \
  "$venv/bin/python" "$root/bench/bench.py"
