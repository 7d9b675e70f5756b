#!/usr/bin/env bash
# kormo run: the whole pipeline on real Korean and English text (../shared/data), a manifest
# that verify accepts, reuse of finished stages on rerun, and verify catching a changed file.
set -uo pipefail
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
export OMP_WAIT_POLICY=passive
fail() { echo "FAIL: $*"; exit 1; }

python3 - "$SHARED_DATA" "$T/docs.jsonl" <<'PY'
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

cat > "$T/run.toml" <<EOF2
[data.pipeline]
inputs = ["$T/docs.jsonl"]
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
steps = 12
lr = 3e-3
eval_every = 12
checkpoint_every = 12
threads = 2
EOF2

"$KORMO" -q run "$T/run.toml" -o "$T/run" || fail "run failed"
for f in manifest.json tokenizer/tokenizer.json shards/all.ktok pretrain/metrics.jsonl config/pretrain.toml; do
  [[ -s "$T/run/$f" ]] || fail "missing $f"
done
python3 - "$T/run/manifest.json" <<'PY' || fail "manifest content"
import json, sys
m = json.load(open(sys.argv[1]))
assert [s["name"] for s in m["stages"]] == ["data", "tokenizer", "shard", "pretrain"], m["stages"]
assert m["stages"][2]["summary"]["tokens"] > 10000
assert m["stages"][3]["summary"]["step"] == 12
assert all(s["outputs"] for s in m["stages"])
PY
"$KORMO" -q verify "$T/run" >/dev/null || fail "verify rejected a fresh run"

# Rerun: every stage is reused, outputs are unchanged.
before=$(sha256sum "$T/run/pretrain/metrics.jsonl")
out=$("$KORMO" run "$T/run.toml" -o "$T/run" 2>&1) || fail "rerun failed: $out"
grep -q "reusing" <<<"$out" || fail "rerun did not reuse stages: $out"
[[ "$(sha256sum "$T/run/pretrain/metrics.jsonl")" == "$before" ]] || fail "rerun changed metrics"

# A changed stage config for the same run directory is refused, not mixed in.
sed -i 's/vocab_size = 1024/vocab_size = 1100/' "$T/run.toml"
err=$("$KORMO" run "$T/run.toml" -o "$T/run" 2>&1) && fail "changed config accepted"
grep -q "different configuration" <<<"$err" || fail "unclear message: $err"

# verify notices a changed output.
echo tampered >> "$T/run/tokenizer/tokenizer.json"
err=$("$KORMO" verify "$T/run" 2>&1) && fail "verify accepted a changed file"
grep -q "tokenizer/tokenizer.json" <<<"$err" || fail "verify did not name the file: $err"

# Bad config key: a clear error naming the key.
printf '[tokenizr]\nvocab_size = 1000\n' > "$T/bad.toml"
err=$("$KORMO" run "$T/bad.toml" -o "$T/bad" 2>&1) && fail "bad key accepted"
grep -q "tokenizr" <<<"$err" || fail "bad key not named: $err"
echo "run_test: ok"
