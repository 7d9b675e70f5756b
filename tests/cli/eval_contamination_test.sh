#!/usr/bin/env bash
# kormo eval --contamination: items of KoBEST COPA dev planted into curated training documents
# (.jsonl.zst, as kormo data writes them) are counted, unrelated ones are not; the report goes to
# the table and the JSON (2 of the 50 items are too short for the rule: not checkable); a bad
# training line is named; no model: only the check runs.
set -uo pipefail
: "${KORMO:?}" "${SHARED_DATA:?}"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

COPA="$SHARED_DATA/bench/ko/kobest/COPA/dev.tsv"
# Items 2 and 5 (0-based doc ids, data lines 4 and 7) copied into documents among unrelated
# petitions; item 5's premise with its spaces removed (the Hangul rule ignores spacing).
python3 - "$COPA" "$SHARED_DATA/corpora/ko/petitions/petitions_2019-05.jsonl" "$T/train.jsonl" <<'PY' || fail "make training docs"
import csv, json, sys
rows = list(csv.DictReader(open(sys.argv[1], encoding="utf-8"), delimiter="\t", quoting=csv.QUOTE_NONE))
pet = [json.loads(l)["content"] for l in open(sys.argv[2], encoding="utf-8")][:40]
docs = [{"id": f"p{i}", "text": t} for i, t in enumerate(pet)]
docs.insert(7, {"id": "x2", "text": "앞 문장. " + rows[2]["sentence"] + " 뒤 문장."})
docs.insert(20, {"id": "x5", "text": "머리말 " + rows[5]["sentence"].replace(" ", "") + " 끝"})
with open(sys.argv[3], "w", encoding="utf-8") as f:
    for d in docs:
        f.write(json.dumps(d, ensure_ascii=False) + "\n")
PY
zstd -q "$T/train.jsonl" -o "$T/train.jsonl.zst" || fail "zstd"

out=$("$KORMO" -q eval -t "kobest_copa=$COPA" --limit 50 --contamination "$T/train.jsonl.zst" -o "$T/r.json") \
  || fail "contamination-only run"
grep -q "| kobest_copa | 50 | 48 | 2 | 4.00% |" <<<"$out" || fail "table row: $out"
python3 - "$T/r.json" <<'PY' || fail "report JSON"
import json, sys
c = json.load(open(sys.argv[1]))["contamination"]
assert c["train_docs"] == 42, c
assert c["rule"] == {"ngram": 13, "min_words": 8, "hangul_chars": 25, "min_hangul_chars": 8}, c
t = c["tasks"]["kobest_copa"]
assert t["overlapping_doc_ids"] == [2, 5] and t["items"] == 50 and t["checkable"] == 48, t
PY

printf '{"id": "a", "text": "ok"}\n{"id": "b"}\n' > "$T/bad.jsonl"
err=$("$KORMO" -q eval -t "kobest_copa=$COPA" --contamination "$T/bad.jsonl" 2>&1 >/dev/null); rc=$?
[[ $rc -eq 1 && $err == *"$T/bad.jsonl:2"* ]] || fail "bad training line: rc $rc: $err"
err=$("$KORMO" -q eval -t "kobest_copa=$COPA" 2>&1 >/dev/null); rc=$?
[[ $rc -eq 2 && $err == *"--contamination"* ]] || fail "no model, no check: rc $rc: $err"
err=$("$KORMO" -q eval -t "kobest_copa=$COPA" --contamination "$T/train.jsonl.zst" -o "$T/train.jsonl.zst" 2>&1 >/dev/null); rc=$?
[[ $rc -ne 0 && -s "$T/train.jsonl.zst" ]] || fail "output over a training file: rc $rc: $err"

[[ $fails -eq 0 ]] || exit 1
echo "eval contamination: all checks passed"
