#!/usr/bin/env bash
# Converts all of ../shared/data/corpora to documents JSONL with `kormo data
# ingest`, then replicates it (new ids per copy) to at least TARGET_MB.
#   bash bench/data/make_corpus.sh OUT_DIR [TARGET_MB]
set -euo pipefail
OUT=${1:?output dir}; TARGET_MB=${2:-1024}
KORMO=${KORMO:-build/kormo}; C=${SHARED_DATA:-../shared/data}/corpora
mkdir -p "$OUT/parts"
k() { "$KORMO" -q data ingest "$@"; }
k "$C"/ko/petitions/*.jsonl --field title --field content --name petitions -o "$OUT/parts/petitions.jsonl"
k "$C"/ko/nsmc_raw_sample/raw/*.json --format json --field review --name nsmc -o "$OUT/parts/nsmc.jsonl"
k "$C"/ko/chatbot_qa/ChatbotData.csv --field Q --field A --name chatbot_qa -o "$OUT/parts/chatbot.jsonl"
k "$C"/ko/question_pair/*.csv --field question1 --field question2 --name question_pair -o "$OUT/parts/qpair.jsonl"
k "$C"/ko/law_bills/*/*.txt "$C"/ko/literature_pd/*.txt --name ko_text -o "$OUT/parts/ko_text.jsonl"
k "$C"/en/gutenberg/*.txt --split paragraph --name gutenberg -o "$OUT/parts/gutenberg.jsonl"
k "$C"/en/tinyshakespeare/input.txt "$C"/en/wikitext2/valid.txt --split paragraph --name en_text -o "$OUT/parts/en_text.jsonl"
k "$C"/parallel/*/*.ko "$C"/parallel/*/*.en --split line --name parallel -o "$OUT/parts/parallel.jsonl"
ls "$OUT"/parts/*.jsonl | grep -v rejects | xargs cat > "$OUT/base.jsonl"
python3 - "$OUT/base.jsonl" "$OUT/corpus.jsonl" "$TARGET_MB" <<'PY'
import json, os, sys
src, dst, target = sys.argv[1], sys.argv[2], float(sys.argv[3]) * 1e6
base = open(src, encoding="utf-8").read().splitlines()
size = os.path.getsize(src)
copies = max(1, int(-(-target // size)))
with open(dst, "w", encoding="utf-8") as out:
    for c in range(copies):
        for l in base:
            d = json.loads(l)
            d["id"] = f"{d['id']}@{c}"
            out.write(json.dumps(d, ensure_ascii=False) + "\n")
print(f"{dst}: {copies} copies of {size/1e6:.1f} MB ({len(base)} documents each)")
PY
