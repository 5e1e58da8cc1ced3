#!/usr/bin/env bash
# Every test: install what is needed, then the cargo tests (unit tests of
# each crate and the robustness test), the lit suite over the built tools,
# valgrind and the fuzzers. Exits non-zero if anything fails.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$root/scripts/install.sh"
cd "$root"
cargo build --workspace --quiet
cargo test --workspace
# The end-to-end suite again with the pool at one thread (the run above
# uses every core).
STRATA_NUM_THREADS=1 cargo test -p strata-driver --test e2e
# And under the other target this CPU can run: on an AVX-512 host, the
# AVX2 code CI's AVX2-only hosts get (x86-64-v3); elsewhere, SSE's.
if grep -qw avx512f /proc/cpuinfo; then other=x86-64-v3; else other=x86-64; fi
echo "== e2e under --strata-target=$other"
STRATA_TARGET=$other cargo test -p strata-driver --test e2e
echo "== lit suite"
STRATA_TOOLS_DIR="$root/target/debug" "$STRATA_LLVM_PREFIX/bin/lit" -sv tests
# The Python package: built (into this target/) and installed
# into target/py-venv as a user's `pip install ./python` would, then its
# pytest suite against NumPy.
echo "== python"
# The dev profile shares what `cargo build --workspace` compiled above.
PATH="$STRATA_PY_VENV/bin:$PATH" MATURIN_PEP517_ARGS="--profile dev" \
  "$STRATA_PY_VENV/bin/pip" install --quiet --disable-pip-version-check --no-build-isolation --force-reinstall --no-deps "$root/python"
"$STRATA_PY_VENV/bin/python" -m pytest -q -p no:cacheprovider "$root/python/tests"
echo "== memcheck"
bash "$root/scripts/memcheck.sh"
# Every fuzz target for a bounded time, from its committed corpus (ASan):
# a crash, a timeout or running out of memory fails the run and names the
# input. `bash scripts/fuzz.sh SECONDS` runs them longer.
echo "== fuzz"
bash "$root/scripts/fuzz.sh" 20
