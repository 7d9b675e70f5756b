#!/usr/bin/env bash
# An output that is one of the inputs (same file: the same path, a symlink, or
# another spelling such as ./f) is a usage error (exit 2) naming both paths, and
# the input is left byte-identical. Outputs are written to a temporary and
# renamed, so without the check each verb would exit 0 having replaced its input.
source "$(dirname "$0")/data_common.sh"
cd "$TMP"
in="$TMP/in.jsonl"
printf '%s\n' '{"id":"a","text":"A document long enough to be kept by the filters, with several words in it."}' \
  '{"id":"b","text":"좋은 문서입니다. 한국어 문장이 여기에 있습니다."}' > "$in"
ln -s in.jsonl "$TMP/link.jsonl"
want=$(sha256sum < "$in")

refused() {  # command... : must exit 2, name the input, and leave it unchanged
  local rc=0
  "$@" > "$TMP/log" 2>&1 || rc=$?
  [ "$rc" -eq 2 ] || fail "expected exit 2, got $rc from: $* ($(cat "$TMP/log"))"
  grep -q "is the input" "$TMP/log" || fail "no 'is the input' message from: $* ($(cat "$TMP/log"))"
  [ "$(sha256sum < "$in")" = "$want" ] || fail "input changed by: $*"
  [ -L "$TMP/link.jsonl" ] || fail "symlink replaced by: $*"
}

for out in "$in" "$TMP/link.jsonl" ./in.jsonl "$TMP/./sub/../in.jsonl"; do
  mkdir -p "$TMP/sub"
  for verb in normalize filter langid; do
    refused "$KORMO" data "$verb" "$in" -o "$out"
    refused "$KORMO" data "$verb" "$in" -o "$TMP/ok.jsonl" --rejects "$out"
  done
  refused "$KORMO" data ingest "$in" --format jsonl -o "$out"
  refused "$KORMO" data ingest "$in" --format jsonl -o "$TMP/ok.jsonl" --rejects "$out"
  refused "$KORMO" data dedup "$in" -o "$out"
  refused "$KORMO" data dedup "$in" -o "$TMP/ok.jsonl" --rejects "$out"
  refused "$KORMO" data mix "$in" --target en=1 -o "$out"
  # Files the stages read besides the documents (eval sets) are inputs too.
  cp "$in" "$TMP/doc2.jsonl"
  refused "$KORMO" data decontam "$TMP/doc2.jsonl" --eval "$in" -o "$out"
  printf '[pipeline]\ninputs = ["%s"]\noutput = "%s"\n' "$in" "$out" > "$TMP/p.toml"
  refused "$KORMO" data pipeline "$TMP/p.toml"
  printf '[pipeline]\ninputs = ["%s"]\noutput = "%s/p.jsonl"\nrejects = "%s"\n' "$in" "$TMP" "$out" > "$TMP/p.toml"
  refused "$KORMO" data pipeline "$TMP/p.toml"
  printf '[pipeline]\noutput = "%s"\n[ingest]\nformat = "jsonl"\nfiles = ["%s"]\n' "$out" "$in" > "$TMP/p.toml"
  refused "$KORMO" data pipeline "$TMP/p.toml"
done

# shard and tokenizer encode/decode/stats, with a small tokenizer.
"$KORMO" -q tokenizer train -o "$TMP/tok" --vocab-size 1000 "$in" || fail "tokenizer train"
for out in "$in" "$TMP/link.jsonl" ./in.jsonl; do
  refused "$KORMO" shard --docs "$in" --tokenizer "$TMP/tok" --out "$out"
  refused "$KORMO" tokenizer encode -t "$TMP/tok" "$in" -o "$out"
  refused "$KORMO" tokenizer decode -t "$TMP/tok" "$in" -o "$out"
  refused "$KORMO" tokenizer stats -t "$TMP/tok" "$in" -o "$out"
done
tok_want=$(sha256sum < "$TMP/tok/tokenizer.json")
rc=0
"$KORMO" tokenizer encode -t "$TMP/tok" "$in" -o "$TMP/tok/tokenizer.json" > "$TMP/log" 2>&1 || rc=$?
[ "$rc" -eq 2 ] || fail "encode over the tokenizer: exit $rc"
[ "$(sha256sum < "$TMP/tok/tokenizer.json")" = "$tok_want" ] || fail "tokenizer replaced by encode -o"

# A new output (and one that exists but is another file) still works.
"$KORMO" -q data normalize "$in" -o "$TMP/new.jsonl" || fail "normalize to a new file"
"$KORMO" -q data normalize "$in" -o "$TMP/new.jsonl" || fail "normalize over an earlier output"
echo "ok"
