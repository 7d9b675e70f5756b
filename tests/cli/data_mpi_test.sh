#!/usr/bin/env bash
# `mpirun -np 2 kormo data pipeline` gives byte-identical output to one process.
source "$(dirname "$0")/data_common.sh"
make_corpus
write_config "$TMP/one.toml" "$TMP/one.jsonl" "$TMP/one.work" 300
write_config "$TMP/two.toml" "$TMP/two.jsonl" "$TMP/two.work" 300
"$KORMO" -q data pipeline "$TMP/one.toml" > /dev/null
mpirun --allow-run-as-root --oversubscribe -np 2 "$KORMO" -q data pipeline "$TMP/two.toml" > /dev/null
[ -s "$TMP/one.jsonl" ] || fail "single-process output is empty"
cmp "$TMP/one.jsonl" "$TMP/two.jsonl" || fail "mpirun -np 2 output differs from one process"
cmp "$TMP/one.rejects.jsonl" "$TMP/two.rejects.jsonl" || fail "rejects differ"
# Both ranks did work: shard markers exist for even and odd shards.
n=$(ls "$TMP/two.work/shards"/*.done | wc -l)
[ "$n" -ge 4 ] || fail "expected several shards, got $n"
# Sharded verbs too (filter), with 3 processes.
"$KORMO" -q data filter "$TMP/ko.jsonl" -o "$TMP/f1.jsonl" --shard-docs 200
mpirun --allow-run-as-root --oversubscribe -np 3 "$KORMO" -q data filter "$TMP/ko.jsonl" -o "$TMP/f3.jsonl" --shard-docs 200
cmp "$TMP/f1.jsonl" "$TMP/f3.jsonl" || fail "filter with 3 processes differs"
echo "data_mpi: ok ($(wc -l < "$TMP/one.jsonl") documents)"
