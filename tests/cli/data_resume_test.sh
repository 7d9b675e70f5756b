#!/usr/bin/env bash
# A pipeline killed with SIGKILL and restarted gives the same output as an
# uninterrupted run, without redoing finished shards.
source "$(dirname "$0")/data_common.sh"
make_corpus
# Enlarge the input so the run takes a few seconds on one thread (the sanitizer build is
# 20-30x slower and takes that long without it).
if [[ "${KORMO_TEST_SANITIZED:-0}" != 1 ]]; then
  for i in 1 2 3 4; do cat "$TMP/ko.jsonl"; done > "$TMP/ko4.jsonl" && mv "$TMP/ko4.jsonl" "$TMP/ko.jsonl"
fi
write_config "$TMP/ref.toml" "$TMP/ref.jsonl" "$TMP/ref.work" 40
write_config "$TMP/run.toml" "$TMP/run.jsonl" "$TMP/run.work" 40
"$KORMO" -q data pipeline "$TMP/ref.toml" --threads 1 > /dev/null
"$KORMO" -q data pipeline "$TMP/run.toml" --threads 1 > /dev/null 2>&1 &
pid=$!
for _ in $(seq 1 400); do
  n=$(ls "$TMP/run.work/shards/" 2>/dev/null | grep -c '\.done$' || true)
  [ "$n" -ge 3 ] && break
  sleep 0.02
done
kill -9 "$pid" 2>/dev/null || true
wait "$pid" 2>/dev/null || true
[ ! -e "$TMP/run.jsonl" ] || fail "the run finished before it could be killed; enlarge the input"
before=$(ls "$TMP/run.work/shards/" | grep -c '\.done$')
[ "$before" -ge 1 ] || fail "no shard finished before the kill"
summary=$("$KORMO" -q data pipeline "$TMP/run.toml" --threads 1)
reused=$(echo "$summary" | python3 -c 'import json,sys; print(json.load(sys.stdin)["shards_done_before"])')
[ "$reused" -ge "$before" ] || fail "restart redid finished shards (reused $reused, finished before $before)"
cmp "$TMP/ref.jsonl" "$TMP/run.jsonl" || fail "resumed output differs from the uninterrupted run"
cmp "$TMP/ref.rejects.jsonl" "$TMP/run.rejects.jsonl" || fail "resumed rejects differ"
# A changed config refuses the old work directory instead of mixing results.
sed -i 's/min_words = 20/min_words = 30/' "$TMP/run.toml"
if "$KORMO" -q data pipeline "$TMP/run.toml" 2> "$TMP/err"; then fail "changed job reused the work dir"; fi
grep -q "belongs to a different job" "$TMP/err" || fail "unclear error: $(cat "$TMP/err")"
echo "data_resume: ok (killed after $before shards, reused $reused)"
