#!/usr/bin/env bash
# A write that fails inside the parallel shard stage (here: a shard's final name
# is taken by a directory, as a full disk or a vanished mount would fail it)
# exits 1 with the path in the message, not "terminate called" (exit 134).
source "$(dirname "$0")/data_common.sh"
for i in $(seq 1 50); do printf '{"id":"%d","text":"Document number %d has a few words in it."}\n' "$i" "$i"; done > "$TMP/in.jsonl"
mkdir -p "$TMP/out.jsonl.work/shard-000002.kept.jsonl"
rc=0
"$KORMO" data normalize "$TMP/in.jsonl" -o "$TMP/out.jsonl" --shard-docs 10 --threads 4 > "$TMP/log" 2>&1 || rc=$?
[ "$rc" -eq 1 ] || fail "expected exit 1, got $rc: $(cat "$TMP/log")"
grep -q "shard-000002.kept.jsonl" "$TMP/log" || fail "error does not name the shard file: $(cat "$TMP/log")"
grep -q "terminate called" "$TMP/log" && fail "aborted: $(cat "$TMP/log")"
[ ! -e "$TMP/out.jsonl" ] || fail "output written despite the failed shard"
# The same work dir resumes once the obstacle is gone.
rmdir "$TMP/out.jsonl.work/shard-000002.kept.jsonl"
"$KORMO" -q data normalize "$TMP/in.jsonl" -o "$TMP/out.jsonl" --shard-docs 10 --threads 4 || fail "resume after the failure"
[ "$(wc -l < "$TMP/out.jsonl")" -eq 50 ] || fail "expected 50 documents after resume"
echo ok
