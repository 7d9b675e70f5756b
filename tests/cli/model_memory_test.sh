#!/usr/bin/env bash
# Loading a model for inference costs its fp32 weight bytes and no more: no gradients, no
# training activations, and the checkpoint's file pages are released slice by slice as each
# tensor is read (peak RSS within 10% of the weights).
# The model is the 1B proxy cut to one layer: its largest tensors (the 125k × 2048 embedding
# and head) are the proxy's, and they are half of the weights here instead of a third, so
# releasing pages only once a whole tensor is read shows as 1.2× (1.1× with all 16 layers)
# and a second fp32 copy as 2×, while the init and load take less than half the time.
set -euo pipefail
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
sed 's/^num_layers = .*/num_layers = 1/' "$SRC/configs/model/proxy-1b.toml" > "$T/m.toml"
grep -q '^num_layers = 1$' "$T/m.toml" || { echo "FAIL: no num_layers in proxy-1b.toml"; exit 1; }
# bf16 on disk (1.1 GB) keeps the test's writing short; in memory the weights are fp32.
"$KORMO" -q model init "$T/m.toml" "$T/m" --dtype bfloat16 > /dev/null
out=$("$KORMO" model info "$T/m" --load)
echo "$out" | grep loaded
ratio=$(echo "$out" | sed -n 's/.*(\([0-9.]*\)× the weights).*/\1/p')
[[ -n "$ratio" ]] || { echo "FAIL: no peak RSS figure in: $out"; exit 1; }
awk -v r="$ratio" 'BEGIN { exit !(r <= 1.10) }' || { echo "FAIL: peak RSS is ${ratio}× the weight bytes (limit 1.10)"; exit 1; }
echo "model_memory: ok (peak RSS ${ratio}× the fp32 weights)"
