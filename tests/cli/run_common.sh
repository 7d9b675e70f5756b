# Shared setup for the `kormo run` CLI tests (sourced, not a test itself).

# Writes $1/docs.jsonl (Korean petitions and English book paragraphs from ../shared/data) and
# $1/run.toml, a run over it with a tiny model: $2 steps, evaluated and checkpointed every $3.
write_run_inputs() {
  python3 - "$SHARED_DATA" "$1/docs.jsonl" <<'PY'
import json, pathlib, sys
root, out = pathlib.Path(sys.argv[1]), open(sys.argv[2], "w")
n = 0
for line in sorted((root / "corpora/ko/petitions").glob("*.jsonl"))[0].read_text().splitlines()[:400]:
    text = json.loads(line)["content"].strip()
    if len(text) > 300:
        out.write(json.dumps({"text": text}, ensure_ascii=False) + "\n"); n += 1
book = sorted((root / "corpora/en/gutenberg").glob("*.txt"))[0].read_text(encoding="utf-8-sig", errors="replace")
for para in book.replace("\r\n", "\n").split("\n\n"):
    para = para.strip()
    if len(para) > 400:
        out.write(json.dumps({"text": para}) + "\n"); n += 1
assert n > 200, n
PY
  cat > "$1/run.toml" <<TOML
[data.pipeline]
inputs = ["$1/docs.jsonl"]
[data.langid]
keep = ["ko", "en"]
[tokenizer]
vocab_size = 1024
[model]
hidden_size = 64
intermediate_size = 128
num_layers = 2
num_heads = 4
num_kv_heads = 2
head_dim = 16
max_seq_len = 64
[pretrain.data]
batch_size = 4
seq_len = 64
val_fraction = 0.05
val_tokens = 2048
[pretrain.train]
steps = $2
lr = 3e-3
eval_every = $3
checkpoint_every = $3
threads = 2
TOML
}
