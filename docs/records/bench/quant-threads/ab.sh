#!/bin/bash
# Before/after capture of the quant-threads branch against main at 41f5aca, alternating the two
# builds (A = base worktree at 41f5aca, B = this branch), each line of output prefixed by the run's
# command and load. Usage: ab.sh <base root> <branch root> <out dir>
set -u
BASE=$1; NEW=$2; OUT=$3; HERE=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$OUT"
run() { # file label root command...
  local file=$1 label=$2 root=$3; shift 3
  echo "# $(date -u +%FT%TZ) [$label] $* | uptime:$(uptime | sed 's/.*load average//')" >> "$OUT/$file"
  (cd "$root" && "$@") 2>/dev/null | grep -v '^#' >> "$OUT/$file"
}
for round in 1 2 3; do
  for side in base new; do
    root=$BASE; [ $side = new ] && root=$NEW
    run quant-gemv.jsonl $side "$root" node --experimental-wasm-relaxed-simd "$HERE/qab.mjs" "$root" $side 11
    run quant-gemv-min.jsonl $side "$root" node --experimental-wasm-relaxed-simd "$HERE/qmin.mjs" "$root" $side 20 1
    run quant-gemv-min.jsonl $side "$root" node --experimental-wasm-relaxed-simd "$HERE/qmin.mjs" "$root" $side 20 2
    run pool-gap.jsonl $side "$root" node --experimental-wasm-relaxed-simd "$HERE/pool.mjs" "$root" $side 200 1024
  done
done
for side in base new; do
  root=$BASE; [ $side = new ] && root=$NEW
  run quant-prefill.jsonl $side "$root" node --experimental-wasm-relaxed-simd "$HERE/qab.mjs" "$root" $side 5 16
done
