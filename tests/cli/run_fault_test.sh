#!/usr/bin/env bash
# Fault injection for `kormo run`: SIGKILL at random moments in every stage (pretraining before
# and after its first checkpoint included) and SIGTERM, each followed by a rerun of the same
# command until the run completes. Whatever stopped it, the finished run must hold exactly the
# outputs of an uninterrupted run (the manifest's output hashes), verify must pass, and no
# temporary file may be left behind. The seed of the random delays is printed; set
# KORMO_FAULT_SEED to replay one.
set -uo pipefail
T=$(mktemp -d)
trap 'kill -9 $(jobs -p) 2>/dev/null; rm -rf "$T"' EXIT
export OMP_WAIT_POLICY=passive
fail() { echo "FAIL: $*"; exit 1; }
SEED=${KORMO_FAULT_SEED:-$(( $(date +%s) % 32768 ))}
RANDOM=$SEED
echo "run_fault_test: seed $SEED"

source "$(dirname "$0")/run_common.sh"
# Pretraining lasts seconds: room for kills between checkpoints. The sanitizer build trains
# 20-30x slower, so a quarter of the steps (and four checkpoints still) leave it more room.
if [[ "${KORMO_TEST_SANITIZED:-0}" == 1 ]]; then
  write_run_inputs "$T" 60 15
else
  write_run_inputs "$T" 240 60
fi

"$KORMO" run "$T/run.toml" -o "$T/ref" >"$T/ref.log" 2>&1 || { cat "$T/ref.log"; fail "uninterrupted run failed"; }

# Starts the run in the background; returns once `ready` (a shell condition) holds or the run
# has ended, waits a random part of `max_ms`, sends `sig`, and reports the stage it hit.
attempt=0
hits=0  # attempts that stopped a running run (the others found it finished)
stop_run() {
  local sig=$1 ready=$2 max_ms=$3
  attempt=$((attempt + 1))
  local log="$T/attempt$attempt.log"
  # A background job of a script starts with SIGINT ignored; the run gets it as from a terminal.
  env --default-signal=INT "$KORMO" run "$T/run.toml" -o "$T/$RUN" >"$log" 2>&1 &
  local pid=$!
  for _ in $(seq 3000); do
    kill -0 "$pid" 2>/dev/null || break
    eval "$ready" && break
    sleep 0.01
  done
  local ms=$((RANDOM % (max_ms + 1)))
  sleep "$((ms / 1000)).$(printf '%03d' $((ms % 1000)))"
  local at
  at=$(grep -o 'run: \[[0-9]/[0-9]\] [a-z]*' "$log" | tail -1)
  local ckpts
  ckpts=$(ls -d "$T/$RUN"/pretrain/step-* 2>/dev/null | wc -l)
  kill -s "$sig" "$pid" 2>/dev/null
  { wait "$pid"; } 2>/dev/null
  local rc=$?
  echo "  attempt $attempt: $sig after ${ms} ms in '${at:-start}' ($ckpts checkpoints) -> exit $rc"
  [[ $rc -ne 0 ]] && hits=$((hits + 1))
  grep -qiE "internal error|terminate called|Segmentation|Aborted" "$log" && { cat "$log"; fail "crash in attempt $attempt"; }
  return 0
}
in_stage() { grep -q "run: \[$1/5\] [a-z]* — [a-z]" "$T/attempt$attempt.log" 2>/dev/null && ! grep -q "run: \[$1/5\] [a-z]* — reusing" "$T/attempt$attempt.log"; }
trained() { [[ -s "$T/$RUN/pretrain/metrics.jsonl" ]]; }
pretraining() { in_stage 5; }
checkpointed() { compgen -G "$T/$RUN/pretrain/step-*" >/dev/null; }

# Reruns the same command to the end and compares the finished run with the uninterrupted one.
finish_and_compare() {
  "$KORMO" run "$T/run.toml" -o "$T/$RUN" >"$T/$RUN.final.log" 2>&1 || { cat "$T/$RUN.final.log"; fail "$RUN: the rerun after the faults failed"; }
  "$KORMO" -q verify "$T/$RUN" >/dev/null || fail "$RUN: verify rejected the resumed run"
  python3 - "$T/ref/manifest.json" "$T/$RUN/manifest.json" <<'PY' || fail "$RUN: outputs differ from the uninterrupted run"
import json, sys
ref, got = (json.load(open(p)) for p in sys.argv[1:])
def outputs(m):
    return [(s["name"], [(f["path"], f["xxh3_128"]) for f in s["outputs"]]) for s in m["stages"]]
a, b = outputs(ref), outputs(got)
if a != b:
    for (n, x), (_, y) in zip(a, b):
        if x != y: print(n, "\n  ref:", x, "\n  got:", y)
    sys.exit(1)
assert [s["name"] for s in got["stages"]] == ["data", "split", "tokenizer", "shard", "pretrain"]
assert got["stages"][0]["summary"] == ref["stages"][0]["summary"], (got["stages"][0]["summary"], ref["stages"][0]["summary"])
PY
  local left
  left=$(find "$T/$RUN" -name '*.tmp*')
  [[ -z "$left" ]] || fail "$RUN: temporary files left behind: $left"
}

RUN=run
stop_run KILL "true" 100                          # anywhere early: data stage or before it
stop_run KILL "in_stage 1" 60                     # inside curation
stop_run KILL "in_stage 2" 20                     # inside the held-out split
stop_run KILL "in_stage 3" 60                     # inside tokenizer training
stop_run KILL "in_stage 4" 30                     # inside tokenization
stop_run KILL "pretraining" 800                   # pretraining, anywhere
stop_run TERM "pretraining && checkpointed" 300   # a polite stop after a checkpoint
stop_run INT "pretraining" 300                    # Ctrl-C
stop_run KILL "pretraining" 1000
((hits >= 5)) || fail "only $hits of $attempt attempts stopped a running run: the faults missed"
# The stopped run is moved before it is resumed: its stage configs name its files relative to
# it, so it resumes in its new place; a file where it was makes any write there fail.
mv "$T/run" "$T/moved" && echo "moved away" > "$T/run"
grep -rq "$T/run/" "$T/moved/config" && fail "stage configs name the run's old directory"
RUN=moved
finish_and_compare
[[ "$(cat "$T/run")" == "moved away" ]] || fail "the moved run wrote into its old place"

# Pretraining killed before its first checkpoint (a fresh directory, so no earlier attempt
# has checkpointed): the rerun must restart it, not refuse.
RUN=early
stop_run KILL "pretraining && trained && ! checkpointed" 0
[[ -d "$T/early/pretrain" ]] && ! checkpointed || fail "the kill before the first checkpoint came too late"
finish_and_compare
echo "run_fault_test: ok"
