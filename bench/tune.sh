#!/usr/bin/env bash
# Autotuning benchmark: tunes a few kernels the default heuristics handle
# worst (a skinny matmul, a small one, an odd-sized one, softmax on short
# rows, an escape-time loop) with `strata-tune` and prints default against
# tuned times, each measured with `strata-run --benchmark` (median), the
# two alternating over several rounds. Then the cost of a cache lookup in
# a release build. Uses a temporary cache (the user's is left alone).
#
#   bash bench/tune.sh                  # 30 s budget per kernel, 2 threads
#   TUNE_BUDGET=10s TUNE_THREADS=1 bash bench/tune.sh
#
# Not part of bench/run.sh.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$root/scripts/install.sh"
cd "$root"
cargo build --release --quiet -p strata-driver --bins
bin="$root/target/release"
budget=${TUNE_BUDGET:-30s}
threads=${TUNE_THREADS:-2}
rounds=${TUNE_ROUNDS:-6}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export STRATA_TUNING_CACHE="$work/cache"

matmul() { # NAME M K N
  cat >"$work/$1.mlir" <<EOF
func.func @main(%a: tensor<${2}x${3}xf32>, %b: tensor<${3}x${4}xf32>) -> tensor<${2}x${4}xf32> {
  %r = strata.matmul %a, %b : tensor<${2}x${3}xf32>, tensor<${3}x${4}xf32> -> tensor<${2}x${4}xf32>
  return %r : tensor<${2}x${4}xf32>
}
EOF
  echo "--input=${2}x${3}xf32=0.5 --input=${3}x${4}xf32=0.25"
}

softmax() { # NAME ROWS COLS
  sed -e "s/@R/$2/g" -e "s/@C/$3/g" "$root/bench/kernels/softmax.mlir.in" >"$work/$1.mlir"
  echo "--input=${2}x${3}xf32=0.5"
}

escape() { # NAME N: Mandelbrot's escape-time loop (latency-bound)
  sed -e "s/@N/$2/g" -e "s/@STEP/$(python3 -c "print(2.5/$2)")/g" "$root/bench/kernels/mandelbrot.mlir.in" >"$work/$1.mlir"
  echo ""
}

declare -A inputs labels
inputs[skinny]=$(matmul skinny 4096 64 4096);      labels[skinny]="matmul 4096x64 . 64x4096 f32"
inputs[small]=$(matmul small 256 256 256);         labels[small]="matmul 256x256x256 f32"
inputs[odd]=$(matmul odd 999 1001 997);            labels[odd]="matmul 999x1001 . 1001x997 f32"
inputs[smallN]=$(matmul smallN 2048 512 8);        labels[smallN]="matmul 2048x512 . 512x8 f32"
inputs[softmax]=$(softmax softmax 65536 12);       labels[softmax]="softmax 65536 rows x 12 f32"
inputs[mandel]=$(escape mandel 512);               labels[mandel]="mandelbrot 512x512 (100 trips)"
order=(skinny small odd smallN softmax mandel)

median_ms() { # FILE TUNING INPUTS...
  local file=$1 tuning=$2; shift 2
  "$bin/strata-run" "$file" --threads="$threads" --strata-tuning="$tuning" "$@" --benchmark="$runs" |
    sed -E 's/.*median ([0-9.]+) ms.*/\1/'
}

echo "host: $(lscpu | sed -n 's/^Model name: *//p'), $threads thread(s), budget $budget per kernel"
for k in "${order[@]}"; do
  echo "tuning ${labels[$k]} ..." >&2
  # shellcheck disable=SC2086
  "$bin/strata-tune" "$work/$k.mlir" --budget="$budget" --threads="$threads" ${inputs[$k]} | sed 's/^/  /' >&2
done

# Per kernel: the median over rounds and the best round (other processes
# only ever add time, so on a shared machine the best round is the
# steadier figure).
printf '\n%-34s %12s %12s %9s   %s\n' "kernel" "default ms" "tuned ms" "speedup" "(best rounds: default, tuned, speedup)"
for k in "${order[@]}"; do
  # About 0.3 s of runs per measurement.
  # shellcheck disable=SC2086
  one=$("$bin/strata-run" "$work/$k.mlir" --threads="$threads" --strata-tuning=off ${inputs[$k]} --benchmark=3 |
    sed -E 's/.*median ([0-9.]+) ms.*/\1/')
  runs=$(python3 -c "print(max(5, min(2000, int(300 / max($one, 0.001)))))")
  d=(); t=()
  # Default and tuned in turn, the order swapped every round, so that
  # neither is always the one running after the other.
  for r in $(seq "$rounds"); do
    if (( r % 2 )); then
      # shellcheck disable=SC2086
      d+=("$(median_ms "$work/$k.mlir" off ${inputs[$k]})")
      # shellcheck disable=SC2086
      t+=("$(median_ms "$work/$k.mlir" on ${inputs[$k]})")
    else
      # shellcheck disable=SC2086
      t+=("$(median_ms "$work/$k.mlir" on ${inputs[$k]})")
      # shellcheck disable=SC2086
      d+=("$(median_ms "$work/$k.mlir" off ${inputs[$k]})")
    fi
  done
  python3 - "${labels[$k]}" "${d[*]}" "${t[*]}" <<'EOF'
import statistics, sys
label, d, t = sys.argv[1], [float(x) for x in sys.argv[2].split()], [float(x) for x in sys.argv[3].split()]
dm, tm = statistics.median(d), statistics.median(t)
db, tb = min(d), min(t)
print(f"{label:<34} {dm:12.3f} {tm:12.3f} {dm / tm:8.2f}x   ({db:.3f}, {tb:.3f}, {db / tb:.2f}x)")
EOF
done

echo
"$bin/strata-tune" --show

echo
echo "cache lookup cost (release build, 200 entries):"
cargo test --release --quiet -p strata-driver --test tune a_lookup_costs_well_under_a_millisecond -- --nocapture 2>&1 |
  grep -E "lookup with|test result"
