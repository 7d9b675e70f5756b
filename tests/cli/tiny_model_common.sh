# Sourced by the CLI tests of generation, chat and serving: a temporary directory $T (each
# test sets its own trap to remove it), fail() counting failures in $fails, and
# make_tiny_model MAX_SEQ_LEN: a tokenizer trained on tinyshakespeare ($T/tok, from
# $T/train.txt) and a random model that carries it ($T/model); pretrain_tiny: a small model
# trained briefly on documents.
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

# pretrain_tiny DOCS.jsonl TOKENIZER_DIR OUT_DIR STEPS MAX_SEQ_LEN: shards the documents
# (OUT_DIR.ktok) and pretrains a 2-layer model on them for STEPS steps of 8 × 128 tokens;
# checkpoints under OUT_DIR. Stops the test when training fails: what follows needs it.
pretrain_tiny() {
  "$KORMO" -q shard --docs "$1" --tokenizer "$2" --out "$3.ktok" >/dev/null || fail "shard"
  cat > "$3.toml" <<TOML
[model]
vocab_size = 1024
hidden_size = 64
intermediate_size = 128
num_layers = 2
num_heads = 4
num_kv_heads = 2
head_dim = 16
max_seq_len = $5
[data]
batch_size = 8
seq_len = 128
val_fraction = 0.0
sources.docs = { shards = ["$3.ktok"] }
[train]
out_dir = "$3"
steps = $4
lr = 3e-3
threads = 2
tokenizer = "$2"
TOML
  "$KORMO" -q pretrain "$3.toml" 2>/dev/null || { echo "FAIL: pretrain"; exit 1; }
}
