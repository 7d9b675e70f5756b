#!/usr/bin/env bash
# kormo run: the whole pipeline on real Korean and English text (../shared/data), a manifest
# that verify accepts, reuse of finished stages on rerun, and verify catching a changed file.
set -uo pipefail
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
export OMP_WAIT_POLICY=passive
fail() { echo "FAIL: $*"; exit 1; }

source "$(dirname "$0")/run_common.sh"
write_run_inputs "$T" 12 12

"$KORMO" -q run "$T/run.toml" -o "$T/run" || fail "run failed"
for f in manifest.json tokenizer/tokenizer.json shards/all.ktok pretrain/metrics.jsonl config/pretrain.toml; do
  [[ -s "$T/run/$f" ]] || fail "missing $f"
done
python3 - "$T/run/manifest.json" <<'PY' || fail "manifest content"
import json, sys
m = json.load(open(sys.argv[1]))
assert [s["name"] for s in m["stages"]] == ["data", "tokenizer", "shard", "pretrain"], m["stages"]
assert m["stages"][2]["summary"]["tokens"] > 10000
assert m["stages"][3]["summary"]["step"] == 12
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

# Rerun: every stage is reused, outputs are unchanged.
before=$(sha256sum "$T/run/pretrain/metrics.jsonl")
out=$("$KORMO" run "$T/run.toml" -o "$T/run" 2>&1) || fail "rerun failed: $out"
grep -q "reusing" <<<"$out" || fail "rerun did not reuse stages: $out"
[[ "$(sha256sum "$T/run/pretrain/metrics.jsonl")" == "$before" ]] || fail "rerun changed metrics"

# A source file with new content is an input of the data stage: the rerun is refused like a
# changed config (not silently reused), and verify names the changed source.
cp "$T/docs.jsonl" "$T/docs.orig"
sed -i '1d' "$T/docs.jsonl"
err=$("$KORMO" run "$T/run.toml" -o "$T/run" 2>&1) && fail "changed source file accepted"
grep -q "stage 'data'.*different configuration or input" <<<"$err" || fail "unclear message: $err"
err=$("$KORMO" verify "$T/run" 2>&1) && fail "verify accepted a changed source file"
grep -q "docs.jsonl" <<<"$err" || fail "verify did not name the source: $err"
cp "$T/docs.orig" "$T/docs.jsonl"

# A changed stage config for the same run directory is refused, not mixed in.
sed -i 's/vocab_size = 1024/vocab_size = 1100/' "$T/run.toml"
err=$("$KORMO" run "$T/run.toml" -o "$T/run" 2>&1) && fail "changed config accepted"
grep -q "different configuration" <<<"$err" || fail "unclear message: $err"

# verify notices a changed output.
echo tampered >> "$T/run/tokenizer/tokenizer.json"
err=$("$KORMO" verify "$T/run" 2>&1) && fail "verify accepted a changed file"
grep -q "tokenizer/tokenizer.json" <<<"$err" || fail "verify did not name the file: $err"

# Bad config key: a clear error naming the key.
printf '[tokenizr]\nvocab_size = 1000\n' > "$T/bad.toml"
err=$("$KORMO" run "$T/bad.toml" -o "$T/bad" 2>&1) && fail "bad key accepted"
grep -q "tokenizr" <<<"$err" || fail "bad key not named: $err"
echo "run_test: ok"
