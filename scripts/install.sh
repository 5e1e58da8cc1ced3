#!/usr/bin/env bash
# Installs what Strata needs on a fresh Debian 12 machine, as root:
# LLVM/MLIR (the major version comes from .cargo/config.toml, the one place
# that names it), CMake, Ninja and the libraries LLVM links against.
# Idempotent and quiet when everything is there already. Sourced by run.sh
# and test.sh; exports STRATA_LLVM_PREFIX and puts cargo on PATH.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
STRATA_LLVM_PREFIX=$(sed -n 's/^STRATA_LLVM_PREFIX *= *"\(.*\)"/\1/p' "$root/.cargo/config.toml")
major=${STRATA_LLVM_PREFIX##*-}
export STRATA_LLVM_PREFIX

packages=(
  "llvm-$major-dev" "libmlir-$major-dev" "mlir-$major-tools" "libpolly-$major-dev"
  "libclang-$major-dev" "clang-$major" "llvm-$major-tools" "libomp-$major-dev"
  cmake ninja-build libzstd-dev libz3-dev libxml2-dev python3 python3-venv valgrind
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install: apt packages: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Rust comes from the machine's rustup toolchain (melior needs a recent
# one; Debian 12's cargo is too old).
if ! command -v cargo >/dev/null 2>&1 && [ -x "$HOME/.cargo/bin/cargo" ]; then
  export PATH="$HOME/.cargo/bin:$PATH"
fi
if ! command -v cargo >/dev/null 2>&1; then
  echo "install: error: no cargo on PATH; Strata needs a Rust toolchain (rustup, Rust >= 1.85)" >&2
  exit 1
fi

# The Python package's build tools, in a project-local virtual environment
# (target/py-venv): maturin builds python/ (PyO3), NumPy and pytest test it.
STRATA_PY_VENV="$root/target/py-venv"
export STRATA_PY_VENV
if ! "$STRATA_PY_VENV/bin/python" -c "import maturin, numpy, pytest" >/dev/null 2>&1; then
  echo "install: python venv: maturin numpy pytest"
  /usr/bin/python3 -m venv "$STRATA_PY_VENV"
  "$STRATA_PY_VENV/bin/pip" install --quiet --disable-pip-version-check "maturin>=1.5,<2" numpy pytest
fi
