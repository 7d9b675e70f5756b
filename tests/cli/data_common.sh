# Shared setup for the data CLI tests (sourced, not a test itself).
set -euo pipefail
: "${KORMO:?set KORMO to the kormo binary}" "${SHARED_DATA:?set SHARED_DATA}"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fail() { echo "FAIL: $*" >&2; exit 1; }

# A small real corpus: Korean petitions and English books (one document per paragraph).
make_corpus() {
  "$KORMO" -q data ingest "$SHARED_DATA"/corpora/ko/petitions/petitions_2017-08.jsonl \
    --field title --field content --name petitions -o "$TMP/ko.jsonl"
  "$KORMO" -q data ingest "$SHARED_DATA"/corpora/en/gutenberg/Treasure-Island_120.txt \
    "$SHARED_DATA"/corpora/en/gutenberg/The-Time-Machine_35.txt --split paragraph --name gutenberg -o "$TMP/en.jsonl"
}

write_config() {  # $1 = config path, $2 = output, $3 = work dir, $4 = shard docs
  cat > "$1" <<TOML
[pipeline]
inputs = ["$TMP/ko.jsonl", "$TMP/en.jsonl"]
output = "$2"
work_dir = "$3"
shard_docs = $4
[filter.en]
min_words = 20
[decontam]
files = ["$SHARED_DATA/bench/en/llmfoundry/arc_easy.jsonl"]
TOML
}
