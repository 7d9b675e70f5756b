#!/usr/bin/env bash
# kormo tokenizer train: determinism across thread counts, mixing, .zst input,
# and bad input (invalid UTF-8, malformed JSON) named by file:line with no output left behind.
set -euo pipefail
KORMO=${KORMO:-build/kormo}
SHARED_DATA=${SHARED_DATA:-../shared/data}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

KO=$SHARED_DATA/corpora/ko/petitions/petitions_2017-08.jsonl
EN=$SHARED_DATA/corpora/en/gutenberg/The-Time-Machine_35.txt

# Determinism: 1 thread vs 2 threads give byte-identical files.
"$KORMO" -q tokenizer train -o "$T/t1" --vocab-size 3000 --threads 1 --text-field content --mix ko=0.6,en=0.4 "$KO" "$EN"
"$KORMO" -q tokenizer train -o "$T/t2" --vocab-size 3000 --threads 2 --text-field content --mix ko=0.6,en=0.4 "$KO" "$EN"
cmp "$T/t1/tokenizer.json" "$T/t2/tokenizer.json" || fail "1 vs 2 threads differ"
for f in tokenizer.json tokenizer_config.json special_tokens_map.json; do
  [[ -s "$T/t1/$f" ]] || fail "missing $f"
done
grep -q '"vocab_size"' "$T/t1/tokenizer.json" && fail "unexpected key"
python3 -c "import json,sys; j=json.load(open(sys.argv[1])); assert len(j['model']['merges'])>2000; assert j['added_tokens'][0]['content']=='<|BOS|>'" "$T/t1/tokenizer.json"

# Mixing changes the result (weights are applied).
"$KORMO" -q tokenizer train -o "$T/t3" --vocab-size 3000 --text-field content --mix ko=0.1,en=0.9 "$KO" "$EN"
cmp -s "$T/t1/tokenizer.json" "$T/t3/tokenizer.json" && fail "--mix had no effect"

# .zst input reads the same as plain input.
head -c 400000 "$EN" > "$T/en.txt"
zstd -q "$T/en.txt" -o "$T/en.txt.zst"
"$KORMO" -q tokenizer train -o "$T/p" --vocab-size 1200 "$T/en.txt"
"$KORMO" -q tokenizer train -o "$T/z" --vocab-size 1200 "$T/en.txt.zst"
cmp "$T/p/tokenizer.json" "$T/z/tokenizer.json" || fail ".zst input differs from plain"

# Invalid UTF-8, skip mode (default): trains, warns with file:line and a count.
{ head -n 200 "$EN"; printf 'bad \xff\xfe line\n'; head -n 400 "$EN" | tail -n 200; } > "$T/bad.txt"
"$KORMO" tokenizer train -o "$T/skip" --vocab-size 1000 "$T/bad.txt" 2> "$T/err" || fail "skip mode failed"
grep -q "skipped 1 lines with invalid UTF-8" "$T/err" || fail "no skip count: $(cat "$T/err")"
grep -q "bad.txt:201" "$T/err" || fail "skip warning does not name file:line"
[[ -s "$T/skip/tokenizer.json" ]] || fail "skip mode wrote nothing"

# Invalid UTF-8, fail mode: non-zero exit naming file:line, nothing written.
if "$KORMO" tokenizer train -o "$T/failed" --vocab-size 1000 --on-invalid fail "$T/bad.txt" 2> "$T/err"; then
  fail "fail mode exited 0"
fi
grep -q "bad.txt:201: invalid UTF-8" "$T/err" || fail "message: $(cat "$T/err")"
[[ ! -e "$T/failed/tokenizer.json" ]] || fail "tokenizer.json left behind"

# Malformed JSON line: non-zero exit naming file:line, nothing written.
{ head -n 5 "$KO"; echo '{"content": "잘린 줄'; head -n 10 "$KO" | tail -n 5; } > "$T/broken.jsonl"
if "$KORMO" tokenizer train -o "$T/broken" --vocab-size 1000 --text-field content "$T/broken.jsonl" 2> "$T/err"; then
  fail "malformed JSON exited 0"
fi
grep -q "broken.jsonl:6: malformed JSON" "$T/err" || fail "message: $(cat "$T/err")"
[[ ! -e "$T/broken/tokenizer.json" ]] || fail "tokenizer.json left behind"

# Missing text field, and a memory bound that bites (warns, still trains).
if "$KORMO" tokenizer train -o "$T/nofield" --vocab-size 1000 "$KO" 2> "$T/err"; then fail "missing field exited 0"; fi
grep -q 'petitions_2017-08.jsonl:1: expected a JSON object with a string field "text"' "$T/err" || fail "$(cat "$T/err")"
"$KORMO" tokenizer train -o "$T/small" --vocab-size 1000 --max-memory 4M --text-field content "$KO" 2> "$T/err"
grep -q "lossy counting" "$T/err" || fail "no pruning warning: $(cat "$T/err")"
[[ -s "$T/small/tokenizer.json" ]] || fail "bounded run wrote nothing"
# Custom special tokens keep their roles in tokenizer_config.json.
"$KORMO" -q tokenizer train -o "$T/custom" --vocab-size 1000 --special '<s>' '</s>' '<pad>' '<|tool|>' "$T/en.txt"
python3 - "$T/custom" <<'PY' || fail "custom specials"
import json, sys
cfg = json.load(open(sys.argv[1] + "/tokenizer_config.json"))
assert (cfg["bos_token"], cfg["eos_token"], cfg["pad_token"]) == ("<s>", "</s>", "<pad>"), cfg
assert cfg["additional_special_tokens"] == ["<|tool|>"], cfg
tok = json.load(open(sys.argv[1] + "/tokenizer.json"))
assert [t["id"] for t in tok["added_tokens"]] == [996, 997, 998, 999]
PY
# The output directory is complete or absent: a write that fails part way (here a directory in
# the way of tokenizer_config.json, as a full disk would be) never leaves tokenizer.json
# without its config files.
mkdir -p "$T/part/tokenizer_config.json"
"$KORMO" -q tokenizer train -o "$T/part" --vocab-size 1000 "$T/en.txt" 2>/dev/null || true
if [[ -e "$T/part/tokenizer.json" ]]; then
  [[ -f "$T/part/tokenizer_config.json" && -f "$T/part/special_tokens_map.json" ]] || fail "partial tokenizer directory"
fi
# A file in the way of the output is refused, and no temporary directory is left beside it.
echo keep > "$T/file"
"$KORMO" -q tokenizer train -o "$T/file" --vocab-size 1000 "$T/en.txt" 2>/dev/null && fail "file in the way accepted"
[[ "$(cat "$T/file")" == keep && ! -e "$T/.file.tmp" ]] || fail "output file replaced or temporary left"
echo "tokenizer_train_test: ok"
