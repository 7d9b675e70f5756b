#!/usr/bin/env bash
# Bad inputs to kormo pretrain (and the shards it reads): a clear error naming the file
# and problem, exit status 1, and nothing written or overwritten.
set -uo pipefail
: "${KORMO:?}" "${SRC:?}"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
expect_error() {  # expect_error "substring" cmd...
  local want=$1
  shift
  local out rc
  out=$("$@" 2>&1 >/dev/null)
  rc=$?
  if [[ $rc -ne 1 || "$out" != *"$want"* ]]; then
    echo "FAIL: $* -> rc=$rc, stderr: $out (wanted: $want)"
    fails=$((fails + 1))
  fi
}

for i in $(seq 1 40); do echo "{\"ids\": [0, $((i % 50 + 3)), $((i % 7 + 3)), 4, 5, 6, 7, 8, 9, 10, 1], \"lang\": \"ko\"}"; done > "$T/ids.jsonl"
"$KORMO" -q shard --ids "$T/ids.jsonl" --vocab-size 64 --out "$T/ok.ktok" || { echo "FAIL: shard"; exit 1; }

# Shard input: token id beyond the vocabulary → file:line, and no output file.
echo '{"ids": [1, 2, 99]}' > "$T/bad.jsonl"
expect_error "bad.jsonl:1: token id 99" "$KORMO" shard --ids "$T/bad.jsonl" --vocab-size 64 --out "$T/bad.ktok"
[[ -e "$T/bad.ktok" ]] && { echo "FAIL: bad.ktok was written"; fails=$((fails + 1)); }
echo '{"ids": "x"}' > "$T/malformed.jsonl"
expect_error "malformed.jsonl:1: expected" "$KORMO" shard --ids "$T/malformed.jsonl" --vocab-size 64 --out "$T/m.ktok"

config() {  # config SHARD OUT_DIR [extra train line]
  cat <<TOML
[model]
vocab_size = 64
hidden_size = 16
intermediate_size = 32
num_layers = 1
num_heads = 2
num_kv_heads = 1
head_dim = 8
max_seq_len = 32
[data]
batch_size = 2
seq_len = 8
val_fraction = 0.0
sources.a = { shards = ["$1"] }
[train]
out_dir = "$2"
steps = 2
${3:-}
TOML
}

# Truncated and wrong-version shards.
head -c 100 "$T/ok.ktok" > "$T/trunc.ktok"
config "$T/trunc.ktok" "$T/run1" > "$T/c1.toml"
expect_error "trunc.ktok: truncated shard" "$KORMO" pretrain "$T/c1.toml"
python3 - "$T/ok.ktok" "$T/v9.ktok" <<'PY'
import sys
b = bytearray(open(sys.argv[1], "rb").read()); b[4] = 9
open(sys.argv[2], "wb").write(b)
PY
config "$T/v9.ktok" "$T/run2" > "$T/c2.toml"
expect_error "v9.ktok: unsupported shard version 9 at offset 4" "$KORMO" pretrain "$T/c2.toml"

# Config/vocab mismatch: shards with a bigger vocabulary than the model.
"$KORMO" -q shard --ids "$T/ids.jsonl" --vocab-size 1000 --out "$T/big.ktok"
config "$T/big.ktok" "$T/run3" > "$T/c3.toml"
expect_error "config/vocab mismatch" "$KORMO" pretrain "$T/c3.toml"

# Missing tokenizer file, unknown config key.
config "$T/ok.ktok" "$T/run4" 'tokenizer = "/nonexistent/tokenizer.json"' > "$T/c4.toml"
expect_error "tokenizer '/nonexistent/tokenizer.json' does not exist" "$KORMO" pretrain "$T/c4.toml"
config "$T/ok.ktok" "$T/run5" 'lr_peek = 1.0' > "$T/c5.toml"
expect_error "unknown key(s) lr_peek" "$KORMO" pretrain "$T/c5.toml"
# Out-of-range numbers: an error naming the file and key, before anything is written.
n=10
for bad in "steps = 0" "steps = -3" "threads = -1" "eval_every = -1" "checkpoint_every = -1" "max_skipped = -1"; do
  n=$((n + 1))
  key=${bad%% =*}
  # [train] is the config's last section: drop the key's default line, append the bad one.
  { config "$T/ok.ktok" "$T/run$n" | sed "/^$key = /d"; echo "$bad"; } > "$T/c$n.toml"
  expect_error "c$n.toml: [train] $key must be" "$KORMO" pretrain "$T/c$n.toml"
  [[ -e "$T/run$n" ]] && { echo "FAIL: run$n was created by a failing run"; fails=$((fails + 1)); }
done
for bad in "batch_size = 0" "seq_len = 0" "grad_accum = 0" "val_fraction = 1.0" "val_fraction = -0.5"; do
  n=$((n + 1))
  key=${bad%% =*}
  config "$T/ok.ktok" "$T/run$n" | sed "/^$key = /d; s/^\[data\]\$/[data]\n$bad/" > "$T/c$n.toml"
  expect_error "c$n.toml: [data] $key must" "$KORMO" pretrain "$T/c$n.toml"
  [[ -e "$T/run$n" ]] && { echo "FAIL: run$n was created by a failing run"; fails=$((fails + 1)); }
done
config "$T/ok.ktok" "$T/run30" > "$T/c30.toml"
expect_error "--max-steps must be at least 0, got -2" "$KORMO" pretrain "$T/c30.toml" --max-steps -2
[[ -e "$T/run30" ]] && { echo "FAIL: run30 was created by a failing run"; fails=$((fails + 1)); }

for r in run1 run2 run3 run4 run5; do
  [[ -e "$T/$r" ]] && { echo "FAIL: $r was created by a failing run"; fails=$((fails + 1)); }
done

# Corrupt safetensors in a checkpoint: resume fails naming the file, the checkpoint is untouched.
config "$T/ok.ktok" "$T/run6" > "$T/c6.toml"
"$KORMO" -q pretrain "$T/c6.toml" || { echo "FAIL: good run"; exit 1; }
sed -i 's/steps = 2/steps = 4/' "$T/c6.toml"
ST="$T/run6/step-0000002/model.safetensors"
printf '\xff\xff\xff\xff\x00\x00\x00\x00garbage' | dd of="$ST" conv=notrunc status=none
sum_before=$(md5sum "$ST" "$T/run6/metrics.jsonl")
expect_error "model.safetensors: corrupt safetensors: header length" "$KORMO" pretrain "$T/c6.toml" --resume
[[ "$(md5sum "$ST" "$T/run6/metrics.jsonl")" == "$sum_before" ]] || { echo "FAIL: files changed"; fails=$((fails + 1)); }
[[ -e "$T/run6/step-0000004" ]] && { echo "FAIL: a checkpoint was written"; fails=$((fails + 1)); }

[[ $fails -eq 0 ]] && echo "pretrain bad-input tests passed"
exit $fails
