#!/usr/bin/env bash
# Builds the fuzz targets in fuzz/ (cargo-fuzz, libFuzzer) and runs each
# for SECONDS seconds, one after another:
#
#   bash scripts/fuzz.sh SECONDS
#
# Exits non-zero if any target crashed (a panic, an abort, a signal, a
# sanitizer report, an out-of-memory or a timeout), printing the path of the
# input that did it (under fuzz/artifacts/TARGET/) and how to replay it.
#
# Installs what it needs, idempotently and quietly: what scripts/install.sh
# installs, the nightly toolchain (rustup) and cargo-fuzz.
#
# Environment:
#   FUZZ_SANITIZER  address (default; rustc's ASan for Rust, clang's for our
#                   C++) or none. Our C++ is also built with UBSan in trap
#                   mode (fuzz/toolchain.cmake). Rust has no UBSan; its
#                   overflow and debug assertions are on in every fuzz build.
#   FUZZ_TARGETS    the targets to run (default: "opt pipeline input npy").
#   FUZZ_TARGET_DIR cargo's target directory (default: fuzz/target).
#
# Each target starts from its committed corpus (fuzz/corpus/TARGET, read
# only) plus, for `opt`, every .mlir under tests/ and examples/ cut at
# `// -----` lines; what it finds goes to FUZZ_TARGET_DIR/corpus/TARGET.
# To fold new finds into the committed corpus, minimized:
#   cargo +nightly fuzz cmin TARGET fuzz/corpus/TARGET   (after copying them in)
set -euo pipefail

if [ $# -ne 1 ] || ! [[ $1 =~ ^[0-9]+$ ]] || [ "$1" -lt 1 ]; then
  echo "usage: bash scripts/fuzz.sh SECONDS   (each target runs for SECONDS)" >&2
  exit 2
fi
seconds=$1
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$root/scripts/install.sh"
cd "$root"

sanitizer=${FUZZ_SANITIZER:-address}
targets=(${FUZZ_TARGETS:-opt pipeline input npy})
target_dir=${FUZZ_TARGET_DIR:-$root/fuzz/target}
case $sanitizer in
  address | none) ;;
  *) echo "fuzz: FUZZ_SANITIZER='$sanitizer': expected address or none" >&2; exit 2 ;;
esac

# The nightly toolchain and cargo-fuzz, if missing.
if ! rustup run nightly rustc --version >/dev/null 2>&1; then
  echo "fuzz: installing the nightly toolchain"
  rustup toolchain install nightly --profile minimal >/dev/null 2>&1
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "fuzz: installing cargo-fuzz"
  cargo install cargo-fuzz --locked --quiet >/dev/null 2>&1
fi

logs="$target_dir/fuzz-logs"
mkdir -p "$logs"
echo "fuzz: building ${targets[*]} (sanitizer: $sanitizer)"
# The toolchain file lets CMake configure the dialect's C++ with ASan flags
# although clang's own ASan runtime is not installed (see the file).
if ! CMAKE_TOOLCHAIN_FILE="$root/fuzz/toolchain.cmake" \
  cargo +nightly fuzz build --fuzz-dir "$root/fuzz" --sanitizer "$sanitizer" \
  --target-dir "$target_dir" >"$logs/build.log" 2>&1; then
  tail -n 40 "$logs/build.log" >&2
  echo "fuzz: error: the build failed (log: $logs/build.log)" >&2
  exit 1
fi
bin="$target_dir/x86_64-unknown-linux-gnu/release"

# The opt target's seeds: every test and example, whole and cut into chunks.
seeds="$target_dir/seeds/opt"
rm -rf "$seeds" && mkdir -p "$seeds"
find tests examples -name '*.mlir' -print0 | while IFS= read -r -d '' f; do
  name=$(echo "$f" | tr '/' '_')
  cp "$f" "$seeds/$name"
  awk -v out="$seeds/$name.chunk" '
    /^[ \t]*\/\/ -----/ { n++; next }
    { print > (out n) }' "$f"
done

failed=()
for t in "${targets[@]}"; do
  work="$target_dir/corpus/$t"
  artifacts="$root/fuzz/artifacts/$t"
  mkdir -p "$work" "$artifacts" "$root/fuzz/corpus/$t"
  extra=()
  [ "$t" = opt ] && extra=("$seeds")
  before=$(ls "$artifacts" | wc -l)
  # close_fd_mask=3: the targets' own output (MLIR's diagnostics on
  # stderr) is noise here; libFuzzer's reports still show.
  set +e
  "$bin/$t" "$work" "$root/fuzz/corpus/$t" "${extra[@]}" \
    -max_total_time="$seconds" -timeout=60 -rss_limit_mb=4096 -close_fd_mask=3 \
    -print_final_stats=1 -artifact_prefix="$artifacts/" >"$logs/$t.log" 2>&1
  rc=$?
  set -e
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$logs/$t.log" | tail -n 1)
  if [ $rc -eq 0 ] && [ "$(ls "$artifacts" | wc -l)" -eq "$before" ]; then
    echo "fuzz: $t: ${runs:-?} runs in ${seconds} s, no crash"
    continue
  fi
  failed+=("$t")
  input=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$logs/$t.log" | tail -n 1)
  echo "fuzz: $t: CRASH (exit $rc); log: $logs/$t.log" >&2
  if [ -n "$input" ]; then
    # Once more with the target's stderr open, for the panic message; then
    # the report and the frames of our code.
    "$bin/$t" "$input" >"$logs/$t.replay.log" 2>&1 || true
    grep -a -E 'panicked at|^==[0-9]+==ERROR|^SUMMARY' -A1 "$logs/$t.replay.log" | head -n 8 >&2 || true
    grep -a -E '^ +#[0-9]+ .* in .*(strata|mlir::)' "$logs/$t.replay.log" | head -n 12 >&2 || true
    echo "fuzz: $t: crashing input: $input" >&2
    echo "fuzz: $t: replay: $bin/$t $input" >&2
  else
    grep -a -E '^==[0-9]+==|^SUMMARY' "$logs/$t.log" | head -n 8 >&2 || true
  fi
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: FAILED: ${failed[*]}" >&2
  exit 1
fi
echo "fuzz: every target ran ${seconds} s with no crash"
