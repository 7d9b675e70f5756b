#!/usr/bin/env bash
# kormo run: the pipeline's core stages on real Korean and English text (../shared/data), a
# manifest that verify accepts, reuse of finished stages on rerun, a changed setting rerunning
# exactly the stages downstream of it, and verify catching a changed file.
set -uo pipefail
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
export OMP_WAIT_POLICY=passive
fail() { echo "FAIL: $*"; exit 1; }

source "$(dirname "$0")/run_common.sh"
write_run_inputs "$T" 12 12

"$KORMO" -q run "$T/run.toml" -o "$T/run" || fail "run failed"
for f in manifest.json split/train.jsonl.zst tokenizer/tokenizer.json shards/docs.ktok pretrain/metrics.jsonl config/pretrain.toml; do
  [[ -s "$T/run/$f" ]] || fail "missing $f"
done
python3 - "$T/run/manifest.json" <<'PY' || fail "manifest content"
import json, sys
m = json.load(open(sys.argv[1]))
assert [s["name"] for s in m["stages"]] == ["data", "split", "tokenizer", "shard", "pretrain"], m["stages"]
assert m["stages"][1]["summary"]["heldout_documents"] > 0, m["stages"][1]["summary"]
assert m["stages"][3]["summary"]["docs"]["tokens"] > 10000
assert m["stages"][4]["summary"]["step"] == 12
assert all(s["outputs"] for s in m["stages"])
assert any(f["path"].endswith("/docs.jsonl") for f in m["stages"][0]["inputs"]), m["stages"][0]["inputs"]
PY
"$KORMO" -q verify "$T/run" >/dev/null || fail "verify rejected a fresh run"

# A run into a directory that another run holds is refused at once, naming the holder (here a
# helper holding the flock under a lock file that names pid 4242). The kernel drops the lock
# when the holder dies, kill -9 included, so the rerun below proceeds despite the stale text.
printf 'pid 4242 started 2026-01-01T00:00:00Z\n' > "$T/run/.lock"
flock -o "$T/run/.lock" sleep 60 >/dev/null 2>&1 & holder=$!
for _ in $(seq 50); do flock -n "$T/run/.lock" true || break; sleep 0.1; done
err=$(timeout 30 "$KORMO" run "$T/run.toml" -o "$T/run" 2>&1) && fail "run into a locked directory accepted"
grep -q "pid 4242" <<<"$err" || fail "lock holder not named: $err"
kill -9 "$holder"; wait "$holder" 2>/dev/null

# Which stages a run's log says it did ("run: [i/n] NAME — doing") and reused.
ran() { grep -o 'run: \[[0-9]*/[0-9]*\] [a-z0-9-]* — [a-z]*' "$1" | grep -v ' — reusing' | sed 's/.*\] //; s/ — .*//' | tr '\n' ' '; }
reused() { grep -o 'run: \[[0-9]*/[0-9]*\] [a-z0-9-]* — reusing' "$1" | sed 's/.*\] //; s/ — .*//' | tr '\n' ' '; }

# Rerun: every stage is reused, outputs are unchanged.
before=$(sha256sum "$T/run/pretrain/metrics.jsonl")
"$KORMO" run "$T/run.toml" -o "$T/run" >"$T/rerun.log" 2>&1 || { cat "$T/rerun.log"; fail "rerun failed"; }
[[ "$(ran "$T/rerun.log")" == "" && "$(reused "$T/rerun.log")" == "data split tokenizer shard pretrain " ]] ||
  fail "rerun did work: ran '$(ran "$T/rerun.log")', reused '$(reused "$T/rerun.log")'"
[[ "$(sha256sum "$T/run/pretrain/metrics.jsonl")" == "$before" ]] || fail "rerun changed metrics"

# A changed training setting reruns pretraining alone, from step 0 (not from the checkpoint of
# the old setting), saying why.
sed -i 's/^lr = 3e-3/lr = 2e-3/' "$T/run.toml"
"$KORMO" run "$T/run.toml" -o "$T/run" >"$T/lr.log" 2>&1 || { cat "$T/lr.log"; fail "rerun with a new lr failed"; }
[[ "$(ran "$T/lr.log")" == "pretrain " ]] || fail "a new lr reran '$(ran "$T/lr.log")'"
grep -q "stage 'pretrain' — its config or inputs changed since it ran; removing its previous outputs" "$T/lr.log" ||
  fail "no line saying why pretrain reran"
grep -q "resum" "$T/lr.log" && fail "pretraining resumed the old setting's checkpoint"
[[ "$(sha256sum "$T/run/pretrain/metrics.jsonl")" != "$before" ]] || fail "pretraining did not rerun"
python3 -c "import json,sys; assert json.loads(open(sys.argv[1]).readline())['step'] == 1" "$T/run/pretrain/metrics.jsonl" ||
  fail "metrics of the old setting kept"
"$KORMO" -q verify "$T/run" >/dev/null || fail "verify rejected the rerun"

# A source file with new content is an input of the data stage: verify names it, and the
# rerun redoes the data stage and every stage whose input that changed.
sed -i '1d' "$T/docs.jsonl"
err=$("$KORMO" verify "$T/run" 2>&1) && fail "verify accepted a changed source file"
grep -q "docs.jsonl" <<<"$err" || fail "verify did not name the source: $err"
"$KORMO" run "$T/run.toml" -o "$T/run" >"$T/src.log" 2>&1 || { cat "$T/src.log"; fail "rerun with a changed source failed"; }
[[ "$(ran "$T/src.log")" == "data split tokenizer shard pretrain " ]] || fail "a changed source reran '$(ran "$T/src.log")'"

# A filter threshold that removes more documents: the data stage and everything after it.
printf '[data.filter.en]\nmin_words = 120\n' >> "$T/run.toml"
"$KORMO" run "$T/run.toml" -o "$T/run" >"$T/filter.log" 2>&1 || { cat "$T/filter.log"; fail "rerun with a new filter failed"; }
[[ "$(ran "$T/filter.log")" == "data split tokenizer shard pretrain " ]] || fail "a new filter reran '$(ran "$T/filter.log")'"
"$KORMO" -q verify "$T/run" >/dev/null || fail "verify rejected the rerun"

# verify notices a changed output.
echo tampered >> "$T/run/tokenizer/tokenizer.json"
err=$("$KORMO" verify "$T/run" 2>&1) && fail "verify accepted a changed file"
grep -q "tokenizer/tokenizer.json" <<<"$err" || fail "verify did not name the file: $err"

# Bad config key: a clear error naming the key.
printf '[tokenizr]\nvocab_size = 1000\n' > "$T/bad.toml"
err=$("$KORMO" run "$T/bad.toml" -o "$T/bad" 2>&1) && fail "bad key accepted"
grep -q "tokenizr" <<<"$err" || fail "bad key not named: $err"
echo "run_test: ok"
