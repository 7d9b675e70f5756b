#!/usr/bin/env bash
# A checkpoint and a .ktok v1 shard written before the engine seams (tests/fixtures/pre-seams)
# still load: `model info --load` reads the model directory, and `pretrain --resume`
# continues the run to exactly the weights the old version reached without a stop.
set -euo pipefail
F="$SRC/tests/fixtures/pre-seams"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
cp -r "$F/run" "$T/run"
sed "s|SHARD|$F/data.ktok|; s|OUT|$T/run|" "$F/run.toml" > "$T/run.toml"
"$KORMO" model info "$T/run/step-0000002" --load | grep -q "loaded" || { echo "FAIL: model info --load"; exit 1; }
"$KORMO" -q pretrain "$T/run.toml" --resume 2> "$T/err" || { cat "$T/err"; echo "FAIL: resume"; exit 1; }
cmp "$T/run/step-0000004/model.safetensors" "$F/straight-step-4.safetensors" ||
  { echo "FAIL: resumed weights differ from the old version's straight run"; exit 1; }
[[ $(wc -l < "$T/run/metrics.jsonl") -eq 4 ]] || { echo "FAIL: metrics.jsonl should have 4 lines"; exit 1; }
echo "old_checkpoint: ok (pre-seams checkpoint resumed bit-identically)"
