#!/usr/bin/env bash
# mix reaches target shares deterministically; stats counts languages, synthetic
# share and rejects per rule.
source "$(dirname "$0")/data_common.sh"
make_corpus
"$KORMO" -q data langid "$TMP/ko.jsonl" "$TMP/en.jsonl" -o "$TMP/lid.jsonl" --keep-all
# Mark every third document synthetic to exercise the synthetic split.
python3 - "$TMP/lid.jsonl" "$TMP/docs.jsonl" <<'PY'
import json, sys
with open(sys.argv[2], "w") as out:
    for i, l in enumerate(open(sys.argv[1])):
        d = json.loads(l); d["synthetic"] = i % 3 == 0; out.write(json.dumps(d, ensure_ascii=False) + "\n")
PY
"$KORMO" -q data mix "$TMP/docs.jsonl" --by lang --target ko=0.7 --target en=0.3 --total 2000 --seed 7 -o "$TMP/mix1.jsonl" > "$TMP/rep.json"
"$KORMO" -q data mix "$TMP/docs.jsonl" --by lang --target ko=0.7 --target en=0.3 --total 2000 --seed 7 -o "$TMP/mix2.jsonl" > /dev/null
cmp "$TMP/mix1.jsonl" "$TMP/mix2.jsonl" || fail "mix is not deterministic"
"$KORMO" -q data mix "$TMP/docs.jsonl" --by lang --target ko=0.7 --target en=0.3 --total 2000 --seed 8 -o "$TMP/mix3.jsonl" > /dev/null
if cmp -s "$TMP/mix1.jsonl" "$TMP/mix3.jsonl"; then fail "seed has no effect"; fi
python3 - "$TMP/mix1.jsonl" <<'PY'
import json, sys
langs = [json.loads(l)["lang"] for l in open(sys.argv[1])]
n = len(langs); ko = langs.count("ko") / n
assert 1800 <= n <= 2200, n
assert abs(ko - 0.7) < 0.04, ko
PY
"$KORMO" -q data filter "$TMP/docs.jsonl" -o "$TMP/f.jsonl"
"$KORMO" -q data stats "$TMP/f.jsonl" --rejects "$TMP/f.rejects.jsonl" --json > "$TMP/stats.json"
python3 - "$TMP/f.jsonl" "$TMP/f.rejects.jsonl" "$TMP/stats.json" <<'PY'
import json, sys, collections
docs = [json.loads(l) for l in open(sys.argv[1])]
rej = [json.loads(l) for l in open(sys.argv[2])]
s = json.load(open(sys.argv[3]))
assert s["total"]["documents"] == len(docs)
ko = [d for d in docs if d["lang"] == "ko"]
assert s["by_lang"]["ko"]["documents"] == len(ko)
assert s["by_lang"]["ko"]["characters"] == sum(len(d["text"]) for d in ko)
assert s["by_lang"]["ko"]["bytes"] == sum(len(d["text"].encode()) for d in ko)
syn = sum(len(d["text"]) for d in ko if d["synthetic"]) / s["by_lang"]["ko"]["characters"]
assert abs(s["by_lang"]["ko"]["synthetic_share"] - syn) < 1e-9
c = collections.Counter(r["action"] + "." + r["rule"] for r in rej)
assert s["rejects"] == dict(c), (s["rejects"], c)
PY
"$KORMO" data stats "$TMP/f.jsonl" | grep -q "^ko " || fail "stats table lacks the ko row"
echo "data_mix_stats: ok"
