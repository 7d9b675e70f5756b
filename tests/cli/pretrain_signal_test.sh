#!/usr/bin/env bash
# SIGTERM / SIGINT to `kormo pretrain` mid-run: the step finishes, a checkpoint of that
# step is written, the message says how to continue, and the exit status is 128 + signal;
# `--resume` then reaches exactly the weights of a run that was never stopped. Under
# mpirun a signal to one rank stops both ranks after the same step.
set -uo pipefail
: "${KORMO:?}"
T=$(mktemp -d)
JOB=
cleanup() {
  [[ -n "$JOB" ]] && kill -9 "$JOB" 2>/dev/null
  rm -rf "$T"
}
trap cleanup EXIT
# Background jobs of a script ignore SIGINT unless job control is on.
set -m
export OMP_WAIT_POLICY=passive
fails=0
failed() {
  echo "FAIL: $*"
  fails=$((fails + 1))
}

source "$(dirname "$0")/id_shard_common.sh"
write_id_shard "$T/a.ktok"

# --max-steps of the single-process runs; steps = 1000 only shapes the schedule. The runs
# must outlast the signal's way in (up to 50 ms of polling): the sanitizer build trains
# 20-30x slower, so half the steps leave it more room.
FINAL=40
[[ "${KORMO_TEST_SANITIZED:-0}" == 1 ]] && FINAL=20
SHORT=$((FINAL / 2))  # the ignored-signal and the 2-rank runs
config() {  # config OUT_DIR
  cat <<TOML
[model]
vocab_size = 512
hidden_size = 128
intermediate_size = 256
num_layers = 2
num_heads = 4
num_kv_heads = 2
head_dim = 32
max_seq_len = 64
[data]
batch_size = 4
seq_len = 64
val_fraction = 0.0
sources.a = { shards = ["$T/a.ktok"] }
[train]
out_dir = "$1"
steps = 1000
lr = 3e-3
threads = 1
TOML
}
step_dir() { printf '%s/step-%07d' "$1" "$2"; }

config "$T/straight" > "$T/straight.toml"
"$KORMO" -q pretrain "$T/straight.toml" --max-steps $FINAL || { echo "FAIL: straight run"; exit 1; }
want="$(step_dir "$T/straight" $FINAL)/model.safetensors"

# Starts "$@" in the background, waits for 3 metrics lines in $run, sends $sig to the
# process ($victim, default the job), and sets RC and STOP (the step it stopped after).
signal_run() {
  local run=$1 sig=$2
  shift 2
  "$@" > "$T/out" 2> "$T/err" &
  JOB=$!
  for _ in $(seq 600); do
    [[ -f "$run/metrics.jsonl" && $(wc -l < "$run/metrics.jsonl") -ge 3 ]] && break
    sleep 0.05
  done
  kill -"$sig" "${victim:-$JOB}"
  RC=0
  wait "$JOB" || RC=$?
  JOB=
  STOP=$(sed -n "s/.*pretrain: stopped by $sig after step \([0-9]*\); checkpoint .* saved; run the same command again to continue (kormo pretrain: with --resume).*/\1/p" \
    "$T/err" | head -1)
}

for sig in TERM INT; do
  run="$T/run-$sig"
  config "$run" > "$T/$sig.toml"
  signal_run "$run" "SIG$sig" "$KORMO" pretrain "$T/$sig.toml" --max-steps $FINAL
  want_rc=$((128 + $(kill -l "$sig")))
  [[ $RC -eq $want_rc ]] || failed "SIG$sig: exit status $RC, expected $want_rc"
  if [[ -z "$STOP" ]]; then
    failed "SIG$sig: no stop message in: $(tail -3 "$T/err")"
    continue
  fi
  echo "SIG$sig: exit $RC, stopped after step $STOP"
  ((STOP < FINAL)) || failed "SIG$sig: the run was not stopped mid-way (step $STOP)"
  [[ -f "$(step_dir "$run" "$STOP")/trainer_state/state.json" ]] || failed "SIG$sig: no checkpoint at step $STOP"
  [[ $(wc -l < "$run/metrics.jsonl") -eq $STOP ]] || failed "SIG$sig: metrics.jsonl does not end at step $STOP"
  "$KORMO" -q pretrain "$T/$sig.toml" --resume --max-steps $((FINAL - STOP)) || failed "SIG$sig: resume"
  cmp -s "$want" "$(step_dir "$run" $FINAL)/model.safetensors" ||
    failed "SIG$sig: resumed weights differ from the uninterrupted run's"
done

# A signal ignored by the caller stays ignored (nohup-style): the run completes normally.
config "$T/ignored" > "$T/ignored.toml"
(trap '' TERM && exec "$KORMO" -q pretrain "$T/ignored.toml" --max-steps $SHORT) & JOB=$!
sleep 0.3
kill -TERM "$JOB" 2>/dev/null
RC=0
wait "$JOB" || RC=$?
JOB=
[[ $RC -eq 0 && -d "$(step_dir "$T/ignored" $SHORT)" ]] || failed "ignored SIGTERM: exit $RC, expected a complete run"

# Two ranks under mpirun; SIGTERM reaches rank 1 only, both stop after the same step.
if command -v mpirun > /dev/null; then
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
  MPI=(mpirun --allow-run-as-root --oversubscribe --bind-to none -np 2)
  config "$T/dp-straight" > "$T/dp-straight.toml"
  "${MPI[@]}" "$KORMO" -q pretrain "$T/dp-straight.toml" --max-steps $SHORT > /dev/null 2>&1 || failed "2-rank straight run"
  run="$T/dp"
  config "$run" > "$T/dp.toml"
  # Each rank records its pid; exec keeps it.
  victim=
  "${MPI[@]}" bash -c 'echo $$ > "$0/pid.$OMPI_COMM_WORLD_RANK"; exec "$@"' "$T" \
    "$KORMO" pretrain "$T/dp.toml" --max-steps $SHORT > "$T/out" 2> "$T/err" &
  JOB=$!
  for _ in $(seq 600); do
    [[ -f "$run/metrics.jsonl" && $(wc -l < "$run/metrics.jsonl") -ge 3 ]] && break
    sleep 0.05
  done
  kill -TERM "$(cat "$T/pid.1")"
  RC=0
  wait "$JOB" || RC=$?
  JOB=
  STOP=$(sed -n 's/.*pretrain: stopped by SIGTERM after step \([0-9]*\);.*/\1/p' "$T/err" | head -1)
  echo "2 ranks, SIGTERM to rank 1: mpirun exit $RC, rank 0 stopped after step ${STOP:-?}"
  [[ $RC -ne 0 ]] || failed "2 ranks: mpirun exited 0 after SIGTERM"
  if [[ -n "$STOP" && -f "$(step_dir "$run" "$STOP")/trainer_state/state.json" ]]; then
    "${MPI[@]}" "$KORMO" -q pretrain "$T/dp.toml" --resume --max-steps $((SHORT - STOP)) > /dev/null 2>&1 ||
      failed "2 ranks: resume"
    cmp -s "$(step_dir "$T/dp-straight" $SHORT)/model.safetensors" "$(step_dir "$run" $SHORT)/model.safetensors" ||
      failed "2 ranks: resumed weights differ from the uninterrupted run's"
  else
    failed "2 ranks: no stop message or checkpoint: $(tail -5 "$T/err")"
  fi
fi

[[ $fails -eq 0 ]] && echo "pretrain signal tests passed"
exit $fails
