#!/usr/bin/env bash
# Loading the 1B proxy for inference costs its fp32 weight bytes and no more: no
# gradients, no training activations, and the checkpoint's file pages are released as
# each tensor is read (peak RSS within 10% of the weights).
set -euo pipefail
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
# bf16 on disk (2.2 GB) keeps the test's writing short; in memory the weights are fp32.
"$KORMO" -q model init "$SRC/configs/model/proxy-1b.toml" "$T/m" --dtype bfloat16 > /dev/null
out=$("$KORMO" model info "$T/m" --load)
echo "$out" | grep loaded
ratio=$(echo "$out" | sed -n 's/.*(\([0-9.]*\)× the weights).*/\1/p')
[[ -n "$ratio" ]] || { echo "FAIL: no peak RSS figure in: $out"; exit 1; }
awk -v r="$ratio" 'BEGIN { exit !(r <= 1.10) }' || { echo "FAIL: peak RSS is ${ratio}× the weight bytes (limit 1.10)"; exit 1; }
echo "model_memory: ok (peak RSS ${ratio}× the fp32 weights)"
