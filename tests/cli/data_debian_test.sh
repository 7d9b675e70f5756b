#!/usr/bin/env bash
# The Debian source fetches one small real package (apt-get download, nothing
# installed), extracts it and produces Korean documents with provenance; a second
# run uses the cache.
source "$(dirname "$0")/data_common.sh"
cache="${KORMO_DEBIAN_CACHE:-${HOME:-/tmp}/.cache/kormo/debian-test}"
start=$(date +%s)
"$KORMO" data ingest --source debian --packages debian-faq-ko --cache-dir "$cache" --limit 5 -o "$TMP/deb.jsonl" 2> "$TMP/log1"
python3 - "$TMP/deb.jsonl" <<'PY'
import json, re, sys
docs = [json.loads(l) for l in open(sys.argv[1])]
assert len(docs) == 5, len(docs)
for d in docs:
    assert d["lang"] == "ko" and d["source"] == "debian" and d["synthetic"] is False, d["id"]
    m = d["meta"]
    assert m["package"] == "debian-faq-ko" and m["version"] and m["path"].endswith(".ko.html"), m
    assert len(re.findall("[가-힣]", d["text"])) > 100, d["id"]
    assert "<" not in d["text"][:200] or "</" not in d["text"], "markup left in text"
PY
"$KORMO" data ingest --source debian --packages debian-faq-ko --cache-dir "$cache" --limit 5 -o "$TMP/deb2.jsonl" 2> "$TMP/log2"
if grep -q "apt-get download" "$TMP/log2"; then fail "second run did not use the cache"; fi
cmp "$TMP/deb.jsonl" "$TMP/deb2.jsonl" || fail "cached run differs"
# A package that does not exist fails with a clear message.
if "$KORMO" data ingest --source debian --packages no-such-package-kormo --cache-dir "$cache" -o "$TMP/x.jsonl" 2> "$TMP/err"; then
  fail "missing package accepted"
fi
grep -q "apt-get download no-such-package-kormo failed" "$TMP/err" || fail "unclear error: $(cat "$TMP/err")"
# The one-command demo path: pipeline with a Debian [ingest] section (FAQ in both languages).
cat > "$TMP/demo.toml" <<TOML
[pipeline]
output = "$TMP/demo/curated.jsonl.zst"
work_dir = "$TMP/demo/work"
[ingest]
source = "debian"
packages = ["debian-faq", "debian-faq-ko"]
cache_dir = "$cache"
[filter.ko]
min_words = 20
max_non_alpha_words_ratio = 0.65
[filter.en]
min_words = 20
max_non_alpha_words_ratio = 0.65
TOML
"$KORMO" -q data pipeline "$TMP/demo.toml" > "$TMP/summary.json"
"$KORMO" data stats "$TMP/demo/curated.jsonl.zst" --json > "$TMP/stats.json"
python3 - "$TMP/stats.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
assert s["by_lang"]["ko"]["documents"] >= 5 and s["by_lang"]["en"]["documents"] >= 5, s["by_lang"]
PY
echo "data_debian: ok in $(( $(date +%s) - start )) s"
