#!/usr/bin/env bash
# kormo data perplexity and the model check of kormo data pairs, with tiny models trained
# here in seconds. A model pretrained on Korean petitions scores held-out petitions:
# the log-likelihoods equal kormo eval's rolling ones (bpb task) on the same text;
# thresholds taken from real documents put word-shuffled copies of other documents in the
# tail. Bad lines go to the rejects with file:line, a missing model is an error, --drop-tail
# moves the tail to the rejects. A model trained on aligned ko/en pairs rejects pairs
# whose target belongs to another source far more often than the true pairs.
set -uo pipefail
source "$(dirname "$0")/tiny_model_common.sh"
trap 'rm -rf "$T"' EXIT
export OMP_WAIT_POLICY=passive
# Under the sanitizers (20–30× slower; KORMO_TEST_SANITIZED=1 from ctest) the models train 30
# steps, not 400: the scores, buckets, rejects and errors are checked as in Release, for any
# model; the two checks that need a trained one (shuffled text in the tail, mismatched pairs
# singled out) run in the Release build only.
STEPS=400 TRAINED=1
if [[ "${KORMO_TEST_SANITIZED:-0}" == 1 ]]; then STEPS=30 TRAINED=0; fi
CKPT=step-$(printf %07d "$STEPS")

# Korean petitions: training text (2017-08), held-out long documents (2019-04) cut to 2,000
# characters: 40 to calibrate, 40 more with a word-shuffled copy of each.
python3 - "$T" "$SHARED_DATA/corpora/ko/petitions" <<'PY'
import json, random, sys
t, d = sys.argv[1], sys.argv[2]
def contents(f):
    return [json.loads(l)["content"].replace("\n", " ").strip() for l in open(f"{d}/{f}", encoding="utf-8")]
train = [c for c in contents("petitions_2017-08.jsonl") if len(c) > 200]
with open(f"{t}/train.jsonl", "w") as out, open(f"{t}/train.txt", "w") as txt:
    for c in train:
        out.write(json.dumps({"text": c, "lang": "ko"}, ensure_ascii=False) + "\n")
        txt.write(c + "\n")
held = [c[:2000] for c in contents("petitions_2019-04.jsonl") if len(c) >= 2000][:80]
rnd = random.Random(1)
with open(f"{t}/calib.jsonl", "w") as out, open(f"{t}/calib.txt", "w") as txt:
    for i, c in enumerate(held[:40]):
        out.write(json.dumps({"id": f"real{i}", "text": c, "lang": "ko"}, ensure_ascii=False) + "\n")
        txt.write(c + "\n\n")
with open(f"{t}/mixed.jsonl", "w") as out:
    for i, c in enumerate(held[40:]):
        w = c.split()
        rnd.shuffle(w)
        out.write(json.dumps({"id": f"real{i}", "text": c, "lang": "ko"}, ensure_ascii=False) + "\n")
        out.write(json.dumps({"id": f"shuf{i}", "text": " ".join(w), "lang": "ko"}, ensure_ascii=False) + "\n")
PY

pretrain() {  # pretrain DOCS.jsonl TOKENIZER_TEXT OUT_DIR
  "$KORMO" -q tokenizer train -o "$3.tok" --vocab-size 1000 "$2" >/dev/null 2>&1 || fail "tokenizer train"
  pretrain_tiny "$1" "$3.tok" "$3" "$STEPS" 128
}
pretrain "$T/train.jsonl" "$T/train.txt" "$T/ko"
M="$T/ko/$CKPT"

# The scores: every document of calib.jsonl (2,000 characters: several 128-token windows)
# against kormo eval's rolling log-likelihood of the same paragraphs.
"$KORMO" -q data perplexity "$M" "$T/calib.jsonl" -o "$T/calib.out.jsonl" > "$T/calib.report.json" || fail "perplexity"
"$KORMO" -q eval "$M" -t bpb="$T/calib.txt" --samples "$T/bpb.samples.jsonl" >/dev/null || fail "eval bpb"
python3 - "$T" <<'PY' || fail "perplexity scores differ from kormo eval's rolling log-likelihoods"
import json, math, sys
t = sys.argv[1]
docs = [json.loads(l) for l in open(f"{t}/calib.out.jsonl")]
ref = [json.loads(l)["loglikelihood"] for l in open(f"{t}/bpb.samples.jsonl")]
assert len(docs) == len(ref) == 40, (len(docs), len(ref))
for d, r in zip(docs, ref):
    p = d["meta"]["perplexity"]
    assert p["tokens"] > 256, p  # rolled over three windows or more
    ll = -p["tokens"] * math.log(p["ppl"])
    assert abs(ll - r) <= 1e-6 * abs(r), (d["id"], ll, r)
rep = json.load(open(f"{t}/calib.report.json"))
assert rep["languages"]["ko"]["buckets"] == {"head": 12, "middle": 12, "tail": 16}, rep  # 30%/60% of 40
PY

# Thresholds from the real documents (the report's), applied to other real documents and
# their shuffled copies. Measured when written: all 40 shuffled in the tail, 21 of 40 real.
TH=$(python3 -c "import json,sys; t=json.load(open(sys.argv[1]))['languages']['ko']['thresholds']; print(f\"{t['head']!r},{t['tail']!r}\")" "$T/calib.report.json")
"$KORMO" -q data perplexity "$M" "$T/mixed.jsonl" -o "$T/mixed.out.jsonl" --thresholds "ko=$TH" > "$T/mixed.report.json" \
  || fail "perplexity with thresholds"
python3 - "$T" "$TRAINED" <<'PY' || fail "shuffled text is not in the tail"
import json, sys
t, trained = sys.argv[1], sys.argv[2] == "1"
tail = {"real": 0, "shuf": 0}
for l in open(f"{t}/mixed.out.jsonl"):
    d = json.loads(l)
    tail[d["id"][:4]] += d["meta"]["perplexity"]["bucket"] == "tail"
print("tail:", tail)
if trained:
    assert tail["shuf"] >= 36, tail  # >= 90% of 40
    assert tail["real"] <= 26, tail  # <= 65%: real text is not pushed there with it
assert json.load(open(f"{t}/mixed.report.json"))["languages"]["ko"]["thresholds"]["from"] == "given"
PY

# --drop-tail, bad lines, errors.
{ head -n 3 "$T/mixed.jsonl"; echo '{"text": 5}'; echo 'not json'; } > "$T/bad.jsonl"
"$KORMO" -q data perplexity "$M" "$T/bad.jsonl" -o "$T/bad.out.jsonl" --thresholds "ko=$TH" --drop-tail > "$T/bad.report.json" \
  || fail "perplexity on bad lines"
python3 - "$T" <<'PY' || fail "rejects of --drop-tail and bad lines"
import json, sys
t = sys.argv[1]
rej = [json.loads(l) for l in open(f"{t}/bad.out.rejects.jsonl")]
rules = sorted(r["rule"] for r in rej)
assert rules.count("perplexity") >= 1 and "bad_input.missing_text" in rules and "bad_input.malformed_json" in rules, rules
wheres = {r["rule"]: r["where"] for r in rej}
assert wheres["bad_input.missing_text"].endswith("bad.jsonl:4"), wheres
assert wheres["bad_input.malformed_json"].endswith("bad.jsonl:5"), wheres
for r in rej:
    if r["rule"] == "perplexity":
        assert r["detail"]["ppl"] > r["detail"]["tail_above"], r["detail"]
kept = [json.loads(l) for l in open(f"{t}/bad.out.jsonl")]
assert all(d["meta"]["perplexity"]["bucket"] != "tail" for d in kept)
rep = json.load(open(f"{t}/bad.report.json"))
assert rep["input"] == 5 and rep["kept"] == len(kept) and rep["kept"] + sum(rep["removed"].values()) == 5, rep
PY
out=$("$KORMO" data perplexity "$T/nothing" "$T/calib.jsonl" -o "$T/x.jsonl" 2>&1) && fail "a missing model succeeded"
grep -q "$T/nothing" <<< "$out" || fail "the missing-model error does not name it: $out"
[ -e "$T/x.jsonl" ] && fail "an output was written for a missing model"
"$KORMO" data perplexity "$M" - -o "$T/x.jsonl" < "$T/calib.jsonl" >/dev/null 2>&1
[ $? -eq 2 ] || fail "stdin (read twice) is not a usage error"
"$KORMO" data perplexity "$M" "$T/calib.jsonl" -o "$T/x.jsonl" --quantiles 0.7,0.2 >/dev/null 2>&1
[ $? -eq 2 ] || fail "head quantile above tail quantile is not a usage error"

# Pairs: every 8th aligned pair of the news and JHE dev sets; a model trained on them
# knows each source's target. The test set keeps every other pair and gives the rest a
# target of another pair (both sides seen in training: only the pairing is wrong).
python3 - "$T" "$SHARED_DATA/corpora/parallel" <<'PY'
import json, sys
t, d = sys.argv[1], sys.argv[2]
ko = open(f"{d}/news/korean-english-park.dev.ko").read().split("\n")[:1000] + open(f"{d}/jhe/jhe-koen-dev.ko").read().split("\n")[:720]
en = open(f"{d}/news/korean-english-park.dev.en").read().split("\n")[:1000] + open(f"{d}/jhe/jhe-koen-dev.en").read().split("\n")[:720]
pairs = [(k.strip(), e.strip()) for k, e in zip(ko, en) if k.strip() and e.strip()]
with open(f"{t}/pairs.txt", "w") as txt:
    for k, e in pairs:
        txt.write(k + "\n" + e + "\n")
held = pairs[::8]
other = held[1::2]
with open(f"{t}/pairs-train.jsonl", "w") as out:
    for k, e in held:
        out.write(json.dumps({"text": k + "\n" + e}, ensure_ascii=False) + "\n")
with open(f"{t}/pairs.jsonl", "w") as out:
    for i, (k, e) in enumerate(held):
        if i % 2 == 0:
            out.write(json.dumps({"id": f"good{i}", "ko": k, "en": e}, ensure_ascii=False) + "\n")
        else:
            out.write(json.dumps({"id": f"bad{i}", "ko": k, "en": other[(i // 2 + 1) % len(other)][1]}, ensure_ascii=False) + "\n")
PY
pretrain "$T/pairs-train.jsonl" "$T/pairs.txt" "$T/pm"
# The model check alone (the others remove pairs before it: the first failing check names a reject).
"$KORMO" -q data pairs "$T/pairs.jsonl" -o "$T/pairs.out.jsonl" --model "$T/pm/$CKPT" --model-quantile 0.3 \
  --skip length,script,numbers,entities > "$T/pairs.report.json" || fail "pairs --model"
# Measured when written: 50 of 107 mismatched pairs rejected by the model check, 13 of 108
# true pairs.
python3 - "$T" "$TRAINED" <<'PY' || fail "the model check does not single out mismatched pairs"
import json, sys
t, trained = sys.argv[1], sys.argv[2] == "1"
rep = json.load(open(f"{t}/pairs.report.json"))
rej = [json.loads(l) for l in open(f"{t}/pairs.out.rejects.jsonl")]
model = [r for r in rej if r["rule"] == "pairs.model"]
bad = sum(r["pair"]["id"].startswith("bad") for r in model)
good = len(model) - bad
print(f"model check: {bad} of 107 mismatched, {good} of 108 true pairs rejected; report {rep['failing']}")
if trained:
    assert bad >= 40 and bad >= 3 * good, (bad, good)
assert rep["failing"]["pairs.model"] == len(model) and "pairs.model" in rep["failing_share"], rep
assert all(r["detail"]["score"] < r["detail"]["threshold"] == rep["model_threshold"] for r in model)
PY
"$KORMO" data pairs "$T/pairs.jsonl" -o "$T/x.jsonl" --model "$T/nothing" >/dev/null 2>&1 && fail "pairs with a missing model succeeded"
# An empty target cannot be scored: it passes the check, counted, instead of stopping the run.
{ head -n 2 "$T/pairs.jsonl"; echo '{"ko": "안녕하세요", "en": ""}'; } > "$T/empty.jsonl"
"$KORMO" -q data pairs "$T/empty.jsonl" -o "$T/x.jsonl" --model "$T/pm/$CKPT" --skip length,script,numbers,entities \
  | python3 -c "import json,sys; r=json.load(sys.stdin); assert r['model_unscored'] == 1 and r['input'] == 3, r" \
  || fail "an empty target stopped or miscounted the model check"

[ "$fails" -eq 0 ] || exit 1
echo "data perplexity test passed"
