#!/usr/bin/env bash
# Curation on Korean text through the real binary: blank JSONL/CSV lines are
# counted by ingest; an evaluation file with nothing to check against is an
# error naming it (decontam and the pipeline's [decontam]); a short KoBEST
# item pasted into a document is caught; new PII kinds reach meta.pii and
# the printed summary (pii.<kind>).
source "$(dirname "$0")/data_common.sh"

# --- ingest: blank lines are counted and reported, not dropped silently.
printf '%s\n\n%s\n   \n\n' '{"text":"첫 문서입니다."}' '{"text":"둘째 문서입니다."}' > "$TMP/blank.jsonl"
printf 'text\n첫 행\n\n둘째 행\n' > "$TMP/blank.csv"
"$KORMO" data ingest "$TMP/blank.jsonl" "$TMP/blank.csv" -o "$TMP/ing.jsonl" 2> "$TMP/log"
[ "$(wc -l < "$TMP/ing.jsonl")" -eq 4 ] || fail "expected 4 documents: $(cat "$TMP/ing.jsonl")"
grep -q "blank.jsonl: skipped 3 blank lines" "$TMP/log" || fail "JSONL blank lines not reported: $(cat "$TMP/log")"
grep -q "blank.csv: skipped 1 blank lines" "$TMP/log" || fail "CSV blank lines not reported: $(cat "$TMP/log")"
grep -Eq "skipped.blank_lines +4" "$TMP/log" || fail "blank line count missing from the summary: $(cat "$TMP/log")"

# --- decontam: an evaluation file with no usable text fails and names the file.
printf '{"text":"전쟁이 시작되었다. 병사들이 전투에 파견되었다."}\n' > "$TMP/docs.jsonl"
: > "$TMP/empty.jsonl"
printf 'ID\tLabel\n1\t0\n2\t1\n' > "$TMP/numbers.tsv"
for ev in "$TMP/empty.jsonl" "$TMP/numbers.tsv"; do
  if "$KORMO" -q data decontam "$TMP/docs.jsonl" --eval "$ev" -o "$TMP/dc.jsonl" 2> "$TMP/err"; then
    fail "decontam passed with evaluation file $ev that holds no text"
  fi
  grep -q "$ev: no evaluation text" "$TMP/err" || fail "error does not name $ev: $(cat "$TMP/err")"
done
cat > "$TMP/p.toml" <<TOML
[pipeline]
inputs = ["$TMP/docs.jsonl"]
output = "$TMP/p.jsonl"
[decontam]
files = ["$TMP/numbers.tsv"]
TOML
if "$KORMO" -q data pipeline "$TMP/p.toml" 2> "$TMP/err"; then fail "pipeline passed with an empty [decontam] file"; fi
grep -q "numbers.tsv: no evaluation text" "$TMP/err" || fail "pipeline error does not name the file: $(cat "$TMP/err")"

# --- decontam: a short KoBEST COPA item (4 eojeol) is caught with the default rule.
"$KORMO" -q data decontam "$TMP/docs.jsonl" --eval "$SHARED_DATA/bench/ko/kobest/COPA/dev.tsv" -o "$TMP/dc.jsonl"
[ "$(wc -l < "$TMP/dc.jsonl")" -eq 0 ] || fail "COPA item not caught: $(cat "$TMP/dc.jsonl")"
grep -q '"rule":"decontam.ngram_overlap"' "$TMP/dc.rejects.jsonl" || fail "no decontam reject"

# --- filter: business registration and account numbers are masked and counted.
printf '%s\n' '{"text":"사업자등록번호: 220-81-12341 이고 입금 계좌는 농협 301-12-345678-9 입니다. 연락처:010-1234-5678 (주민번호 9001011234568)."}' > "$TMP/pii.jsonl"
"$KORMO" data filter "$TMP/pii.jsonl" -o "$TMP/pii.out.jsonl" --skip gopher_repetition,gopher_quality,c4,fineweb 2> "$TMP/log"
for kind in brn account phone rrn; do
  grep -Eq "pii\.$kind +1\b" "$TMP/log" || fail "summary lacks pii.$kind: $(cat "$TMP/log")"
done
python3 - "$TMP/pii.out.jsonl" <<'PY'
import json, sys
d = json.loads(open(sys.argv[1]).readline())
assert d["text"] == "사업자등록번호: <BRN> 이고 입금 계좌는 농협 <ACCOUNT> 입니다. 연락처:<PHONE> (주민번호 <RRN>).", d["text"]
p = d["meta"]["pii"]
assert (p["brn"], p["account"], p["phone"], p["rrn"]) == (1, 1, 1, 1), p
PY
echo "data_curation: ok"
