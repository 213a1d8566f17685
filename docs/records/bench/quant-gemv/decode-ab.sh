#!/bin/bash
# Whole-model decode, base against branch, alternating processes (A B A B ...), each line of output
# prefixed by a '#' line with the UTC time, the side, the command and the load average. llama.cpp
# (node-llama-cpp) runs in the branch's processes only (the same GGUF, the same run).
# Usage: decode-ab.sh <base root> <branch root> <out file> <format> [pairs] [seq]
set -u
BASE=$1; NEW=$2; OUT=$3; FORMAT=$4; PAIRS=${5:-2}; SEQ=${6:-4096}
for pair in $(seq 1 "$PAIRS"); do
  for side in base branch; do
    root=$BASE; peer=--no-peer
    if [ $side = branch ]; then root=$NEW; peer=; fi
    cmd="node bin/thrifty.js bench decode --format $FORMAT --seq $SEQ --rounds 3 $peer --json"
    echo "# $(date -u +%FT%TZ) [$side] $cmd | uptime:$(uptime | sed 's/.*load average//')" >> "$OUT"
    (cd "$root" && nice -n 0 $cmd) 2>/dev/null | grep '"engine"' | sed "s/^{/{\"side\":\"$side\",/" >> "$OUT"
  done
done
