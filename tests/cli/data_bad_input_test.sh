#!/usr/bin/env bash
# Invalid UTF-8, malformed JSON, missing text, blank lines and empty files are
# counted and written to rejects with file:line; nothing is dropped silently.
source "$(dirname "$0")/data_common.sh"
in="$TMP/bad.jsonl"
{
  printf '%s\n' '{"id":"ok1","text":"좋은 문서입니다."}'
  printf '{"id":"utf8","text":"bad \xff\xfe byte"}\n'
  printf '%s\n' '{"id":"trunc","text":"no end'
  printf '%s\n' '{"id":"notext","body":"x"}'
  printf '%s\n' '[1,2,3]'
  printf '\n'
  printf '%s\n' '{"id":"ok2","text":"Another good document."}'
} > "$in"
: > "$TMP/empty.jsonl"
"$KORMO" data normalize "$in" "$TMP/empty.jsonl" -o "$TMP/out.jsonl" 2> "$TMP/log"
grep -q "empty.jsonl: empty input file" "$TMP/log" || fail "empty file not reported"
[ "$(wc -l < "$TMP/out.jsonl")" -eq 2 ] || fail "expected the 2 good documents"
rej="$TMP/out.rejects.jsonl"
python3 - "$rej" "$in" <<'PY'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
rules = {r["where"]: r["rule"] for r in recs}
src = sys.argv[2]
want = {f"{src}:2": "bad_input.invalid_utf8", f"{src}:3": "bad_input.malformed_json",
        f"{src}:4": "bad_input.missing_text", f"{src}:5": "bad_input.not_an_object",
        f"{src}:6": "bad_input.malformed_json"}
for where, rule in want.items():
    assert rules.get(where) == rule, (where, rules.get(where), rules)
assert any(r["rule"] == "bad_input.empty_file" for r in recs), recs
# Every input line is accounted for: kept + rejected bad lines = 7.
PY
grep -q "removed.bad_input.invalid_utf8 *1" "$TMP/log" || fail "counts not reported: $(cat "$TMP/log")"
# Ingest reports bad raw input too (invalid UTF-8 in a text file, bad CSV row).
printf 'good line\n\nbad \xff line\n' > "$TMP/raw.txt"
printf 'Q,A\n"quoted, with comma",x\nonly_one_column\n' > "$TMP/raw.csv"
"$KORMO" -q data ingest "$TMP/raw.txt" --split paragraph -o "$TMP/raw.jsonl"
grep -q '"where":"'"$TMP"'/raw.txt:3"' "$TMP/raw.rejects.jsonl" || fail "text invalid UTF-8 not rejected with line"
"$KORMO" -q data ingest "$TMP/raw.csv" --field A -o "$TMP/csv.jsonl"
grep -q 'raw.csv:3' "$TMP/csv.rejects.jsonl" || fail "short CSV row not rejected"
[ "$(wc -l < "$TMP/csv.jsonl")" -eq 1 ] || fail "expected one CSV document"
# A missing input is an error with a message, not a crash.
if "$KORMO" data filter "$TMP/nope.jsonl" -o "$TMP/x.jsonl" 2> "$TMP/err"; then fail "missing input accepted"; fi
grep -q "nope.jsonl" "$TMP/err" || fail "error does not name the file"
# Outputs replace their target by rename: a device is refused, not clobbered.
if "$KORMO" -q data normalize "$in" -o /dev/null 2> "$TMP/err"; then fail "/dev/null accepted as output"; fi
[ -c /dev/null ] || fail "/dev/null was replaced"
grep -q "not a regular file" "$TMP/err" || fail "unclear error: $(cat "$TMP/err")"
echo "data_bad_input: ok"
