#!/usr/bin/env bash
# kormo tokenizer encode/decode/stats: text and binary ids round trip, stats JSON, bad ids.
set -euo pipefail
KORMO=${KORMO:-build/kormo}
SHARED_DATA=${SHARED_DATA:-../shared/data}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

KO=$SHARED_DATA/corpora/ko/petitions/petitions_2017-08.jsonl
EN=$SHARED_DATA/corpora/en/gutenberg/The-Time-Machine_35.txt
"$KORMO" -q tokenizer train -o "$T/tok" --vocab-size 4000 --text-field content "$KO" "$EN"

# Held-out text: Korean movie reviews and English (already NFC), CRLF kept.
python3 - "$SHARED_DATA" > "$T/held.txt" <<'PY'
import json, sys, glob
d = sys.argv[1]
for f in sorted(glob.glob(d + "/corpora/ko/nsmc_raw_sample/raw/*.json"))[:3]:
    for r in json.load(open(f, encoding="utf-8")):
        print(r["review"].replace("\n", " "))
for i, l in enumerate(open(d + "/corpora/en/gutenberg/Frankenstein_84.txt", encoding="utf-8-sig", newline="")):
    if i > 800: break
    sys.stdout.write(l)
PY
"$KORMO" tokenizer encode -t "$T/tok" "$T/held.txt" > "$T/held.ids"
[[ $(wc -l < "$T/held.ids") == $(wc -l < "$T/held.txt") ]] || fail "one ids line per text line"
"$KORMO" tokenizer decode -t "$T/tok" "$T/held.ids" > "$T/back.txt"
cmp "$T/held.txt" "$T/back.txt" || fail "text ids round trip"

# Binary ids: the newline is encoded too, so decode gives the file back.
"$KORMO" tokenizer encode -t "$T/tok/tokenizer.json" --binary --threads 2 -o "$T/held.u32" "$T/held.txt"
"$KORMO" tokenizer decode -t "$T/tok" --binary "$T/held.u32" -o "$T/back2.txt"
cmp "$T/held.txt" "$T/back2.txt" || fail "binary ids round trip"
"$KORMO" tokenizer encode -t "$T/tok" --binary --threads 1 "$T/held.txt" | cmp - "$T/held.u32" || fail "threads change ids"

# Special tokens: text unless --allow-special.
eot=$(python3 -c "import json,sys; print([t['id'] for t in json.load(open(sys.argv[1]))['added_tokens'] if t['content']=='<|EOT|>'][0])" "$T/tok/tokenizer.json")
echo "hi<|EOT|>" | "$KORMO" tokenizer encode -t "$T/tok" --allow-special | grep -qw "$eot" || fail "--allow-special"
echo "hi<|EOT|>" | "$KORMO" tokenizer encode -t "$T/tok" | grep -qw "$eot" && fail "special recognised without --allow-special"

# Stats: JSON with per-language compression and vocabulary composition.
"$KORMO" tokenizer stats -t "$T/tok" --json "$T/held.txt" > "$T/stats.json"
python3 - "$T/stats.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
ko, en = s["languages"]["ko"], s["languages"]["en"]
assert ko["bytes_per_token"] > 2.0 and en["bytes_per_token"] > 2.0, s["languages"]
assert s["vocab_composition"]["hangul"] > 300 and s["vocab_composition"]["partial_utf8"] >= 128
assert 0 < s["unused_tokens"]["count"] < 4000 and len(s["longest_tokens"]) == 20
PY
"$KORMO" tokenizer stats -t "$T/tok" "$T/held.txt" | grep -q "bytes/tok" || fail "stats table"

# Bad ids: non-zero exit naming the line.
printf '1 2 3\n5 999999 7\n' > "$T/bad.ids"
if "$KORMO" tokenizer decode -t "$T/tok" "$T/bad.ids" 2> "$T/err"; then fail "bad id exited 0"; fi
grep -q "bad.ids:2: id 999999 is outside the vocabulary" "$T/err" || fail "$(cat "$T/err")"
# Invalid UTF-8 for encode: names file:line.
printf 'ok\nbad \xff\n' > "$T/bad.txt"
if "$KORMO" tokenizer encode -t "$T/tok" "$T/bad.txt" > /dev/null 2> "$T/err"; then fail "invalid UTF-8 exited 0"; fi
grep -q "bad.txt:2" "$T/err" || fail "$(cat "$T/err")"
echo "tokenizer_encode_test: ok"
