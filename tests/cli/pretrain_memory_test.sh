#!/usr/bin/env bash
# `kormo model info` predicts the peak memory of CPU training: a real `kormo pretrain`
# (2 steps and a checkpoint) peaks within 15% of the printed total, for a model whose
# parameters dominate (embedding + head: 27M parameters, 16-token batches), one whose
# logits dominate (1024 tokens × 32000 vocab, in 64 MiB chunks), and one whose layers'
# saved activations dominate (8 layers, 2048 tokens), with and without [train] recompute
# (`model info --recompute`), whose checkpoints must then be byte-identical.
# All are several times the ~17 MiB process baseline, so the model's share is what is tested.
set -uo pipefail
: "${KORMO:?}"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
export OMP_WAIT_POLICY=passive
fails=0

python3 - "$T/ids.jsonl" <<'PY'
import json, random, sys
r = random.Random(1)
with open(sys.argv[1], "w") as f:
    for _ in range(300):
        f.write(json.dumps({"ids": [0] + [r.randint(3, 31999) for _ in range(r.randint(50, 400))] + [1]}) + "\n")
PY
"$KORMO" -q shard --ids "$T/ids.jsonl" --vocab-size 32000 --out "$T/a.ktok" || { echo "FAIL: shard"; exit 1; }
python3 - "$T/ids.jsonl" "$T/small.jsonl" <<'PY'
import json, sys
with open(sys.argv[1]) as f, open(sys.argv[2], "w") as out:
    for line in f:
        out.write(json.dumps({"ids": [i % 512 for i in json.loads(line)["ids"]]}) + "\n")
PY
"$KORMO" -q shard --ids "$T/small.jsonl" --vocab-size 512 --out "$T/small.ktok" || { echo "FAIL: shard"; exit 1; }

check() {  # check NAME HIDDEN FFN HEADS HEAD_DIM BATCH SEQ [LAYERS VOCAB RECOMPUTE]
  local name=$1 hidden=$2 ffn=$3 heads=$4 hd=$5 batch=$6 seq=$7 layers=${8:-2} vocab=${9:-32000} rec=${10:-false}
  local shard=$T/a.ktok flag=()
  [[ $vocab == 32000 ]] || shard=$T/small.ktok
  [[ $rec == true ]] && flag=(--recompute)
  cat > "$T/$name.model.toml" <<TOML
[model]
vocab_size = $vocab
hidden_size = $hidden
intermediate_size = $ffn
num_layers = $layers
num_heads = $heads
num_kv_heads = 2
head_dim = $hd
max_seq_len = $seq
TOML
  { cat "$T/$name.model.toml"; cat <<TOML
[data]
batch_size = $batch
seq_len = $seq
val_fraction = 0.0
sources.a = { shards = ["$shard"] }
[train]
out_dir = "$T/$name"
steps = 2
threads = 2
recompute = $rec
TOML
  } > "$T/$name.toml"
  local est measured
  est=$("$KORMO" model info "$T/$name.model.toml" --batch "$batch" --seq "$seq" --threads 2 "${flag[@]}" |
    sed -n 's/^memory .*total \([0-9.]*\) GiB.*/\1/p')
  # Peak RSS of the child (python's own is not in RUSAGE_CHILDREN), KiB on Linux.
  measured=$(python3 -c '
import resource, subprocess, sys
subprocess.run(sys.argv[1:], check=True)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)' "$KORMO" -q pretrain "$T/$name.toml") ||
    { echo "FAIL: $name: pretrain failed"; fails=$((fails + 1)); return; }
  if [[ -z "$est" ]]; then
    echo "FAIL: $name: no memory total in model info"
    fails=$((fails + 1))
    return
  fi
  awk -v e="$est" -v m="$measured" -v n="$name" 'BEGIN {
    e *= 1024; m /= 1024; r = m / e
    printf "%s: estimate %.0f MiB, measured peak RSS %.0f MiB (%.3f×)\n", n, e, m, r
    exit !(r >= 0.85 && r <= 1.15) }' || { echo "FAIL: $name: measured peak RSS is not within 15% of the estimate"; fails=$((fails + 1)); }
}

check params 384 1024 6 64 1 16
check activations 128 256 4 32 4 256
check layers 256 768 4 64 8 256 8 512 false
check recompute 256 768 4 64 8 256 8 512 true
for f in model.safetensors optimizer.safetensors; do
  a=$(find "$T/layers" -name "$f" | sort | tail -1) b=$(find "$T/recompute" -name "$f" | sort | tail -1)
  if [[ -z "$a" || -z "$b" ]] || ! cmp -s "$a" "$b"; then
    echo "FAIL: recompute: $f differs from the run without recomputation ($a, $b)"
    fails=$((fails + 1))
  fi
done

[[ $fails -eq 0 ]] && echo "pretrain memory tests passed"
exit $fails
