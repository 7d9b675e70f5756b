#!/usr/bin/env bash
# [train] keep_last = K keeps only the newest K checkpoints (the newest complete one, which
# --resume takes, always among them); a resume from what is left reaches exactly the
# weights of a run that kept everything. keep_last < 0 is refused before anything is written.
set -uo pipefail
: "${KORMO:?}"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
export OMP_WAIT_POLICY=passive
fails=0
failed() {
  echo "FAIL: $*"
  fails=$((fails + 1))
}

for i in $(seq 1 40); do echo "{\"ids\": [0, $((i % 50 + 3)), $((i % 7 + 3)), 4, 5, 6, 7, 8, 9, 10, 1]}"; done > "$T/ids.jsonl"
"$KORMO" -q shard --ids "$T/ids.jsonl" --vocab-size 64 --out "$T/a.ktok" || { echo "FAIL: shard"; exit 1; }
config() {  # config OUT_DIR KEEP_LAST
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
sources.a = { shards = ["$T/a.ktok"] }
[train]
out_dir = "$1"
steps = 12
checkpoint_every = 2
threads = 1
keep_last = $2
TOML
}
left() { (cd "$1" && ls -d step-* | tr '\n' ' '); }

config "$T/all" 0 > "$T/all.toml"
"$KORMO" -q pretrain "$T/all.toml" || failed "keep_last = 0 run"
[[ "$(left "$T/all")" == "step-0000002 step-0000004 step-0000006 step-0000008 step-0000010 step-0000012 " ]] ||
  failed "keep_last = 0 kept: $(left "$T/all")"

config "$T/two" 2 > "$T/two.toml"
# Stops off the checkpoint grid at 7: step-6 and step-7 stay, step-7 is the resume point.
"$KORMO" -q pretrain "$T/two.toml" --max-steps 7 || failed "keep_last = 2 run"
[[ "$(left "$T/two")" == "step-0000006 step-0000007 " ]] || failed "after 7 steps kept: $(left "$T/two")"
"$KORMO" -q pretrain "$T/two.toml" --resume || failed "keep_last = 2 resume"
[[ "$(left "$T/two")" == "step-0000010 step-0000012 " ]] || failed "after the resume kept: $(left "$T/two")"
cmp -s "$T/all/step-0000012/model.safetensors" "$T/two/step-0000012/model.safetensors" ||
  failed "weights after resuming from the kept checkpoints differ from the keep-everything run"

config "$T/one" 1 > "$T/one.toml"
# An incomplete checkpoint directory (no state.json) is not ours to delete.
mkdir -p "$T/one/step-0000001" && touch "$T/one/metrics.jsonl"
"$KORMO" -q pretrain "$T/one.toml" --resume || failed "keep_last = 1 run"
[[ "$(left "$T/one")" == "step-0000001 step-0000012 " ]] || failed "keep_last = 1 kept: $(left "$T/one")"

config "$T/bad" -1 > "$T/bad.toml"
err=$("$KORMO" pretrain "$T/bad.toml" 2>&1 >/dev/null)
rc=$?
[[ $rc -eq 1 && "$err" == *"bad.toml: [train] keep_last must be at least 0"* ]] || failed "keep_last = -1: rc=$rc $err"
[[ -e "$T/bad" ]] && failed "keep_last = -1 created the run directory"

[[ $fails -eq 0 ]] && echo "pretrain keep_last tests passed"
exit $fails
