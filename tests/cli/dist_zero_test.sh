#!/usr/bin/env bash
# ZeRO-1 ([train] zero = 1) under mpirun with 2 ranks:
#  - gives byte-identical checkpoints (weights and AdamW moments) to zero = 0;
#  - each rank allocates the moments of its shard only (the ranks report their sizes);
#  - a run killed with -9, or stopped by SIGTERM to rank 1, and resumed reaches the
#    uninterrupted run's checkpoint exactly;
#  - its checkpoints load on 1 rank (continuing like a zero = 0 checkpoint does), and a
#    zero = 0 checkpoint loads into a ZeRO-1 run (each rank keeping its shard).
# `[train] zero = 2` is refused with a message naming the key.
set -uo pipefail
: "${KORMO:?}"
command -v mpirun > /dev/null || { echo "mpirun not installed: skipped"; exit 0; }
T=$(mktemp -d)
JOB=
cleanup() {
  [[ -n "$JOB" ]] && kill -9 "$JOB" 2>/dev/null
  rm -rf "$T"
}
trap cleanup EXIT
export OMP_WAIT_POLICY=passive OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
MPI=(mpirun --allow-run-as-root --oversubscribe --bind-to none -np 2)
fails=0
failed() {
  echo "FAIL: $*"
  fails=$((fails + 1))
}

source "$(dirname "$0")/id_shard_common.sh"
write_id_shard "$T/a.ktok"

# A model of ~200k parameters: about a dozen 16384-element shard blocks, so both ranks
# own several and the last one is ragged. checkpoint_every gives the kill test its
# checkpoints; steps = 1000 only shapes the schedule. The sanitizer build is 20-30x slower.
FINAL=16
[[ "${KORMO_TEST_SANITIZED:-0}" == 1 ]] && FINAL=8
HALF=$((FINAL / 2))
config() {  # config OUT_DIR ZERO
  cat <<TOML
[model]
vocab_size = 512
hidden_size = 96
intermediate_size = 192
num_layers = 2
num_heads = 4
num_kv_heads = 2
head_dim = 24
max_seq_len = 64
[data]
batch_size = 2
seq_len = 64
val_fraction = 0.0
sources.a = { shards = ["$T/a.ktok"] }
[train]
out_dir = "$1"
steps = 1000
lr = 3e-3
grad_clip = 0.5
threads = 1
checkpoint_every = 2
zero = $2
TOML
}
step_dir() { printf '%s/step-%07d' "$1" "$2"; }
# same_ckpt A B: model and optimizer files byte-identical.
same_ckpt() {
  cmp -s "$1/model.safetensors" "$2/model.safetensors" &&
    cmp -s "$1/trainer_state/optimizer.safetensors" "$2/trainer_state/optimizer.safetensors"
}
# The deterministic metrics columns.
metrics() { sed -E 's/,"tokens_per_s".*//' "$1/metrics.jsonl"; }

# A bad value is refused, naming the key.
config "$T/bad" 2 > "$T/bad.toml"
"$KORMO" -q pretrain "$T/bad.toml" 2> "$T/bad.err" && failed "zero = 2 accepted"
grep -q "\[train\] zero must be 0 .* or 1 .*got 2" "$T/bad.err" || failed "zero = 2: unclear error: $(cat "$T/bad.err")"

# zero = 0 vs zero = 1 on 2 ranks: the same bytes at every checkpoint.
for z in 0 1; do
  config "$T/z$z" $z > "$T/z$z.toml"
  "${MPI[@]}" "$KORMO" pretrain "$T/z$z.toml" --max-steps $FINAL > "$T/z$z.out" 2> "$T/z$z.err" ||
    { failed "2-rank run with zero = $z: $(tail -3 "$T/z$z.err")"; }
done
for s in 2 $HALF $FINAL; do
  same_ckpt "$(step_dir "$T/z0" $s)" "$(step_dir "$T/z1" $s)" ||
    failed "step $s: zero = 1 checkpoint differs from zero = 0"
done
[[ "$(metrics "$T/z0")" == "$(metrics "$T/z1")" ]] || failed "zero = 1 metrics differ from zero = 0"
# The norm reaches the weights only through clipping (grad_clip = 0.5): some step must clip.
sed -E 's/.*"grad_norm":([^,]*),.*/\1/' "$T/z1/metrics.jsonl" | awk '$1 > 0.5 { c = 1 } END { exit !c }' ||
  failed "no step clipped its gradients: the test does not cover the norm"

# Each rank holds the moments of its shard: the ranks' m + v sizes add up to one
# model's, and none is the whole model's.
line=$(grep -o "AdamW moments (m + v) per rank: [0-9 ]* elements; .*unsharded" "$T/z1.err" | head -1)
echo "${line:-no ZeRO-1 memory line}"
read -r -a held <<< "$(sed -E 's/.*per rank: ([0-9 ]*) elements.*/\1/' <<< "$line")"
whole=$(sed -E 's/.*\(([0-9]+) elements\) unsharded/\1/' <<< "$line")
if [[ ${#held[@]} -ne 2 || -z "$whole" ]]; then
  failed "no per-rank moment sizes in the log: $(grep -i zero "$T/z1.err" | head -3)"
else
  ((held[0] + held[1] == whole)) || failed "moment shards ${held[*]} do not add up to $whole"
  ((held[0] < whole && held[1] < whole && held[1] > 0)) || failed "moments not sharded: ${held[*]} of $whole"
fi
grep -q "ZeRO-1" "$T/z0.err" && failed "zero = 0 run claims ZeRO-1"

# kill -9 of rank 1 mid-run, then --resume: the uninterrupted run's bytes.
run="$T/killed"
config "$run" 1 > "$T/killed.toml"
"${MPI[@]}" bash -c 'echo $$ > "$0/pid.$OMPI_COMM_WORLD_RANK"; exec "$@"' "$T" \
  "$KORMO" -q pretrain "$T/killed.toml" --max-steps $FINAL > /dev/null 2> "$T/killed.err" &
JOB=$!
for _ in $(seq 1200); do
  [[ -f "$(step_dir "$run" 2)/trainer_state/state.json" ]] && break
  sleep 0.02
done
kill -9 "$(cat "$T/pid.1")"
wait "$JOB" && failed "mpirun exited 0 after kill -9 of a rank"
JOB=
from=$(ls -d "$run"/step-* 2> /dev/null | sort | tail -1)
from_step=$((10#${from##*step-}))
echo "kill -9 of rank 1: resuming from step $from_step"
if ((from_step >= FINAL)); then
  failed "the run finished before the kill"
else
  "${MPI[@]}" "$KORMO" -q pretrain "$T/killed.toml" --resume --max-steps $((FINAL - from_step)) > /dev/null 2>&1 ||
    failed "resume after kill -9"
  same_ckpt "$(step_dir "$T/z1" $FINAL)" "$(step_dir "$run" $FINAL)" ||
    failed "resumed zero = 1 run differs from the uninterrupted one"
fi

# SIGTERM to rank 1 only: both ranks stop after the same step and rank 0's checkpoint of it
# (which needs rank 1's moment shard) resumes to the uninterrupted run's bytes.
run="$T/term"
config "$run" 1 > "$T/term.toml"
"${MPI[@]}" bash -c 'echo $$ > "$0/tpid.$OMPI_COMM_WORLD_RANK"; exec "$@"' "$T" \
  "$KORMO" pretrain "$T/term.toml" --max-steps $FINAL > /dev/null 2> "$T/term.err" &
JOB=$!
for _ in $(seq 1200); do
  [[ -f "$run/metrics.jsonl" && $(wc -l < "$run/metrics.jsonl") -ge 3 ]] && break
  sleep 0.02
done
kill -TERM "$(cat "$T/tpid.1")"
wait "$JOB" && failed "mpirun exited 0 after SIGTERM"
JOB=
stop=$(sed -n 's/.*pretrain: stopped by SIGTERM after step \([0-9]*\);.*/\1/p' "$T/term.err" | head -1)
echo "SIGTERM to rank 1: stopped after step ${stop:-?}"
if [[ -z "$stop" || ! -f "$(step_dir "$run" "$stop")/trainer_state/state.json" ]] || ((stop >= FINAL)); then
  failed "SIGTERM: no mid-run stop with a checkpoint: $(tail -3 "$T/term.err")"
else
  "${MPI[@]}" "$KORMO" -q pretrain "$T/term.toml" --resume --max-steps $((FINAL - stop)) > /dev/null 2>&1 ||
    failed "resume after SIGTERM"
  same_ckpt "$(step_dir "$T/z1" $FINAL)" "$(step_dir "$run" $FINAL)" ||
    failed "zero = 1 run resumed after SIGTERM differs from the uninterrupted one"
fi

# A zero = 0 checkpoint continued with ZeRO-1 (each rank loads its shard) matches the
# zero = 0 run.
mkdir -p "$T/switch"
cp -r "$(step_dir "$T/z0" $HALF)" "$T/switch/"
config "$T/switch" 1 > "$T/switch.toml"
"${MPI[@]}" "$KORMO" -q pretrain "$T/switch.toml" --resume --max-steps $((FINAL - HALF)) > /dev/null 2>&1 ||
  failed "zero = 0 checkpoint resumed with zero = 1"
same_ckpt "$(step_dir "$T/z0" $FINAL)" "$(step_dir "$T/switch" $FINAL)" ||
  failed "zero = 0 checkpoint continued with zero = 1 differs from zero = 0"

# 2-rank checkpoints resumed on 1 rank: the ZeRO-1 one continues exactly like the zero = 0
# one (which it equals), whether the 1-rank run says zero = 1 or 0.
for z in 0 1; do
  mkdir -p "$T/one$z"
  cp -r "$(step_dir "$T/z$z" $FINAL)" "$T/one$z/"
  config "$T/one$z" $z > "$T/one$z.toml"
  "$KORMO" -q pretrain "$T/one$z.toml" --resume --max-steps 4 > /dev/null 2> "$T/one$z.err" ||
    failed "1-rank resume of the zero = $z checkpoint: $(tail -3 "$T/one$z.err")"
done
end=$(step_dir "$T/one1" $((FINAL + 4)))
[[ -f "$end/model.safetensors" ]] || failed "1-rank resume wrote no step $((FINAL + 4))"
same_ckpt "$(step_dir "$T/one0" $((FINAL + 4)))" "$end" ||
  failed "zero = 1 checkpoint resumed on 1 rank differs from the zero = 0 one"
cmp -s "$(step_dir "$T/z1" $FINAL)/model.safetensors" "$end/model.safetensors" &&
  failed "the 1-rank resume did not train"

[[ $fails -eq 0 ]] && echo "dist_zero tests passed"
exit $fails
