#!/usr/bin/env bash
# kormo report on a real tiny run (../shared/data): `kormo run` ends by writing report.html and
# report.md; `kormo report` rewrites them byte for byte; cards, the bundle, peak memory per stage
# in the manifest, and the errors for bad arguments.
set -uo pipefail
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
export OMP_WAIT_POLICY=passive
fail() { echo "FAIL: $*"; exit 1; }

source "$(dirname "$0")/run_common.sh"
write_run_inputs "$T" 8 4

out=$("$KORMO" run "$T/run.toml" -o "$T/run" 2>&1) || fail "run failed: $out"
grep -q "run: report — $T/run/report.html" <<<"$out" || fail "run did not write its report: $out"
for f in report.html report.md model_card.md data/README.md; do
  [[ -s "$T/run/$f" ]] || fail "missing $f"
done
python3 - "$T/run" <<'PY' || fail "report content"
import json, re, sys
run = sys.argv[1]
m = json.load(open(f"{run}/manifest.json"))
assert all(s["peak_rss_bytes"] > 1e6 for s in m["stages"]), [s.get("peak_rss_bytes") for s in m["stages"]]
html = open(f"{run}/report.html", encoding="utf-8").read()
assert html.count("<svg") >= 5 and html.count("<svg") == html.count("</svg>"), html.count("<svg")
assert "<script" not in html and not re.search(r'(src|href)\s*=\s*"?https?:', html)
for s in ("Data", "Tokenizer", "Pretraining", "SFT", "Evaluation", "Sample generations", "Stages: time and memory",
          "Files and hashes"):
    assert f"<h2>{s}</h2>" in html, s
assert "Not run: no sft/metrics.jsonl." in html
# Bytes per token for both languages, and the greedy samples in both.
md = open(f"{run}/report.md", encoding="utf-8").read()
assert re.search(r"\| ko \| \d+ \| [\d,]+ \| [\d,]+ \| \d+\.\d\d \|", md), md
assert re.search(r"\| en \| \d+ \| [\d,]+ \| [\d,]+ \| \d+\.\d\d \|", md), md
assert "**[ko] 데비안은**" in md and "**[en] Debian is**" in md, md
assert m["stages"][-1]["outputs"][0]["xxh3_128"] in html  # the manifest's hashes
card = open(f"{run}/model_card.md", encoding="utf-8").read()
assert "| num_hidden_layers | 2 |" in card and "## Data" in card, card
assert re.search(r"\| pretrain \| 8 \| [\d.]+ \| (ko|en) \d\.\d{3}", card), card
PY
"$KORMO" -q verify "$T/run" >/dev/null || fail "the report's files broke verify"
out=$("$KORMO" run "$T/run.toml" -o "$T/run" 2>&1) || fail "rerun failed: $out"
[[ $(grep -c "reusing its outputs" <<<"$out") == 5 ]] || fail "the report's files made a stage rerun: $out"

# Nothing changed: the report is the same bytes (it holds no time of its own; greedy samples).
cp "$T/run/report.html" "$T/first.html"; cp "$T/run/report.md" "$T/first.md"
"$KORMO" -q report "$T/run" >/dev/null || fail "kormo report failed"
cmp -s "$T/run/report.html" "$T/first.html" || fail "report.html differs on rerun"
cmp -s "$T/run/report.md" "$T/first.md" || fail "report.md differs on rerun"

# -o elsewhere, --no-samples, --baseline (the run against itself).
"$KORMO" -q report "$T/run" -o "$T/other" --no-samples --baseline "$T/run" >/dev/null || fail "report -o failed"
grep -q "Skipped (--no-samples)" "$T/other/report.md" || fail "--no-samples not honoured"
grep -q "Against the baseline" "$T/other/report.md" || fail "no baseline section"

# The bundle: weights and data by reference (hashes equal the manifest's), then included.
"$KORMO" -q report "$T/run" --no-samples --bundle "$T/bundle" >/dev/null || fail "bundle failed"
for f in README.md report.html report.md manifest.json config/pretrain.toml logs/pretrain.metrics.jsonl \
         model/README.md data/README.md files.json; do
  [[ -s "$T/bundle/$f" ]] || fail "bundle lacks $f"
done
[[ -e "$T/bundle/model/model.safetensors" ]] && fail "weights copied without --include-weights"
python3 - "$T/run" "$T/bundle" <<'PY' || fail "bundle references"
import json, sys
m = json.load(open(f"{sys.argv[1]}/manifest.json"))
refs = json.load(open(f"{sys.argv[2]}/files.json"))
recorded = {f["path"]: f["xxh3_128"] for s in m["stages"] for f in s["outputs"]}
assert refs["weights"] and all(recorded[f["path"]] == f["xxh3_128"] for f in refs["weights"]), refs["weights"]
assert refs["data"][0]["path"] == "data/curated.jsonl.zst" and refs["data"][0]["xxh3_128"] == recorded["data/curated.jsonl.zst"]
PY
"$KORMO" -q report "$T/run" --no-samples --bundle "$T/full" --include-weights --include-data >/dev/null ||
  fail "bundle with weights failed"
[[ -s "$T/full/model/model.safetensors" && -s "$T/full/model/config.json" && -s "$T/full/data/curated.jsonl.zst" ]] ||
  fail "weights or data not included"
[[ -e "$T/full/model/trainer_state" ]] && fail "optimizer state copied into the bundle"

# Bad arguments: an existing bundle directory and flags without --bundle are usage errors (2);
# a directory that is not a run is an error naming it (1).
"$KORMO" report "$T/run" --bundle "$T/bundle" >/dev/null 2>&1; [[ $? == 2 ]] || fail "existing bundle not refused"
"$KORMO" report "$T/run" --bundle "$T/run/pub" >/dev/null 2>&1; [[ $? == 2 ]] || fail "bundle inside the run accepted"
[[ -e "$T/run/pub" || -e "$T/run/.pub.tmp" ]] && fail "a refused bundle left files"
"$KORMO" report "$T/run" --include-weights >/dev/null 2>&1; [[ $? == 2 ]] || fail "--include-weights alone accepted"
err=$("$KORMO" report "$T/nope" 2>&1); rc=$?
[[ $rc == 1 ]] && grep -q "$T/nope" <<<"$err" || fail "missing run directory: rc $rc: $err"
echo "report_test: ok"
