# Sourced by the CLI tests of generation, chat and serving: a temporary directory $T (each
# test sets its own trap to remove it), fail() counting failures in $fails, and
# make_tiny_model MAX_SEQ_LEN: a tokenizer trained on tinyshakespeare ($T/tok, from
# $T/train.txt) and a random model that carries it ($T/model).
: "${KORMO:?}" "${SHARED_DATA:?}"
T=$(mktemp -d)
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

make_tiny_model() {
  head -n 3000 "$SHARED_DATA/corpora/en/tinyshakespeare/input.txt" > "$T/train.txt"
  "$KORMO" -q tokenizer train -o "$T/tok" --vocab-size 1000 "$T/train.txt" >/dev/null 2>&1 || fail "tokenizer train"
  printf '[model]\nvocab_size = 1024\nhidden_size = 32\nintermediate_size = 64\nnum_layers = 2\nnum_heads = 4\nnum_kv_heads = 2\nhead_dim = 8\nmax_seq_len = %s\n' \
    "$1" > "$T/m.toml"
  "$KORMO" -q model init "$T/m.toml" "$T/model" >/dev/null || fail "model init"
  cp "$T/tok/tokenizer.json" "$T/tok/tokenizer_config.json" "$T/model/"
}
