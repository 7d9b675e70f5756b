# Sourced by CLI tests that train on synthetic token ids: write_id_shard OUT.ktok shards 200
# documents of 20-59 ids each (BOS 0 … EOS 1, vocabulary 512) into OUT.ktok; stops the test
# when sharding fails, since what follows trains on it.
write_id_shard() {
  local ids="${1%.ktok}.ids.jsonl" i j
  for i in $(seq 1 200); do
    printf '{"ids": [0'
    for j in $(seq 1 $((i % 40 + 20))); do printf ', %d' $(((i * 7 + j * (i % 5 + 1)) % 500 + 3)); done
    printf ', 1]}\n'
  done > "$ids"
  "$KORMO" -q shard --ids "$ids" --vocab-size 512 --out "$1" || { echo "FAIL: shard"; exit 1; }
}
