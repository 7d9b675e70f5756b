#!/usr/bin/env bash
# kormo run with every stage (data, split, synth, tokenizer, shard, three pretraining phases,
# sft, eval, export) on real Korean and English text with a tiny model: two fresh runs of the
# same config give identical manifests (every output hash), the report and the exported model
# cards are there, the closing sample answer is printed, and a changed SFT setting reruns
# exactly sft and the stages after it.
set -uo pipefail
T=${KEEP_T:-$(mktemp -d)}; [[ -n "${KEEP_T:-}" ]] || trap 'rm -rf "$T"' EXIT
export OMP_WAIT_POLICY=passive
fail() { echo "FAIL: $*"; exit 1; }

source "$(dirname "$0")/run_common.sh"
write_run_inputs "$T" 8 8
COPA="$SHARED_DATA/bench/ko/kobest/COPA/dev.tsv"
cat >> "$T/run.toml" <<TOML
decay_frac = 0.0
[split]
heldout_fraction = 0.05
heldout_bytes = 8000
[synth]
programs = ["arith"]
n = 300
seed = 3
heldout_arith = 4
[[pretrain.phase]]
name = "stage1"
mix = { docs = 1.0 }
[[pretrain.phase]]
name = "stage2"
mix = { docs = 0.5, synth = 0.5 }
[[pretrain.phase]]
name = "mid"
mix = { docs = 0.5, synth = 0.5 }
[pretrain.phase.model]
max_seq_len = 128
rope_theta = 100000.0
[pretrain.phase.data]
seq_len = 128
batch_size = 2
[pretrain.phase.train]
decay_frac = 0.5
[sft]
sample_prompt = "12 더하기 5는 얼마인가요?"
[sft.data]
seq_len = 128
batch_size = 4
thinking = "off"
[sft.train]
steps = 6
lr = 1e-3
eval_every = 6
checkpoint_every = 6
threads = 2
[eval]
arith = 4
max_gen_toks = 8
limit = 8
[eval.tasks]
kobest_copa = "$COPA"
[export]
name = "tiny"
gguf_type = "f32"
TOML

"$KORMO" run "$T/run.toml" -o "$T/a" >"$T/a.log" 2>&1 || { cat "$T/a.log"; fail "run failed"; }
"$KORMO" -q run "$T/run.toml" -o "$T/b" >/dev/null 2>&1 || fail "second run failed"
"$KORMO" -q verify "$T/a" >/dev/null || fail "verify rejected the run"

python3 - "$T/a" "$T/b" <<'PY' || fail "manifests differ or are incomplete"
import json, sys
a, b = (json.load(open(d + "/manifest.json")) for d in sys.argv[1:])
names = [s["name"] for s in a["stages"]]
assert names == ["data", "split", "synth", "tokenizer", "shard", "pretrain-stage1", "pretrain-stage2",
                 "pretrain-mid", "sft", "eval", "export"], names
def hashes(m):
    return [(s["name"], [(f["path"], f["xxh3_128"]) for f in s["outputs"]]) for s in m["stages"]]
ha, hb = hashes(a), hashes(b)
for (n, x), (_, y) in zip(ha, hb):
    if x != y: print("differs:", n, "\n  a:", x, "\n  b:", y)
assert ha == hb
assert [s["summary"] for s in a["stages"]] == [s["summary"] for s in b["stages"]]
st = {s["name"]: s for s in a["stages"]}
assert all(st[n]["outputs"] for n in names), [n for n in names if not st[n]["outputs"]]
assert st["synth"]["summary"]["heldout_arith"] == 4, st["synth"]["summary"]
assert st["shard"]["summary"]["synth"]["tokens"] > 1000, st["shard"]["summary"]
# Each phase continues from the previous one's final weights, and mid-training has its own context and RoPE base.
cfg = {n: open(sys.argv[1] + "/config/" + n + ".toml").read() for n in ["pretrain-stage2", "pretrain-mid", "sft"]}
assert "init = 'pretrain/stage1/step-0000008'" in cfg["pretrain-stage2"], cfg["pretrain-stage2"]
assert "init = 'pretrain/stage2/step-0000008'" in cfg["pretrain-mid"], cfg["pretrain-mid"]
assert "rope_theta = 100000" in cfg["pretrain-mid"] and "max_seq_len = 128" in cfg["pretrain-mid"]
assert "init = 'pretrain/mid/step-0000008'" in cfg["sft"], cfg["sft"]
first = {n: json.loads(open(f"{sys.argv[1]}/pretrain/{n}/metrics.jsonl").readline())["loss"] for n in ["stage1", "mid"]}
assert first["mid"] < first["stage1"] - 0.5, first  # mid-training starts from trained weights, not random ones
model = json.load(open(sys.argv[1] + "/export/hf/config.json"))
assert model["rope_theta"] == 100000 and model["max_position_embeddings"] == 128, model
ev = json.load(open(sys.argv[1] + "/eval/results.json"))["results"]
assert set(ev) >= {"bpb_ko", "bpb_en", "arith", "kobest_copa"}, set(ev)
assert 0 < ev["bpb_ko"]["bits_per_byte,none"] < 20, ev["bpb_ko"]
PY

# Every curated document is either trained on or held out, never both.
python3 - "$T/a" <<'PY' || fail "held-out text was trained on"
import glob, json, subprocess, sys
d = sys.argv[1]
def docs(path):
    out = subprocess.run(["zstd", "-dc", path], capture_output=True, check=True).stdout.decode()
    return [json.loads(l)["text"] for l in out.splitlines()]
curated, train = docs(d + "/data/curated.jsonl.zst"), set(docs(d + "/split/train.jsonl.zst"))
held = "".join(open(f).read() for f in sorted(glob.glob(d + "/split/heldout.*.txt")))
n_held = 0
for text in curated:
    in_held = (text + "\n\n") in held
    assert in_held != (text in train), text[:80]
    n_held += in_held
assert 0 < n_held < len(curated) / 4, (n_held, len(curated))
PY

for f in report.html report.md export/hf/README.md export/hf/model.safetensors export/hf/tokenizer.json \
         export/gguf/tiny.gguf export/gguf/README.md; do
  [[ -s "$T/a/$f" ]] || fail "missing $f"
done
for want in "## Training phases" "pretrain stage1" "pretrain mid" "| sft |" "bpb_ko" "kobest_copa"; do
  grep -qF "$want" "$T/a/export/hf/README.md" || fail "model card lacks '$want'"
done
cmp -s "$T/a/export/hf/README.md" "$T/a/export/gguf/README.md" || fail "the two model cards differ"
grep -q "run: sample answer of sft/step-0000006 (thinking off)" "$T/a.log" || fail "no closing sample answer"
grep -q "Q: 12 더하기 5는 얼마인가요?" "$T/a.log" || fail "sample prompt not shown"

# A changed SFT setting: sft, and eval and export (its model changed), rerun; nothing before.
sed -i 's/^lr = 1e-3/lr = 5e-4/' "$T/run.toml"
"$KORMO" run "$T/run.toml" -o "$T/a" >"$T/sft.log" 2>&1 || { cat "$T/sft.log"; fail "rerun failed"; }
ran=$(grep -o 'run: \[[0-9]*/[0-9]*\] [a-z0-9-]* — [a-z]*' "$T/sft.log" | grep -v ' — reusing' | sed 's/.*\] //; s/ — .*//' | tr '\n' ' ')
[[ "$ran" == "sft eval export " ]] || fail "a new SFT lr reran '$ran'"
"$KORMO" -q verify "$T/a" >/dev/null || fail "verify rejected the rerun"

# Bad settings name the run config's key.
sed 's/^programs = \["arith"\]/programs = ["arith", "poetry"]/' "$T/run.toml" > "$T/bad.toml"
err=$("$KORMO" run "$T/bad.toml" -o "$T/a" 2>&1) && fail "unknown synth program accepted"
grep -q "bad.toml \[synth\].*programs.*poetry" <<<"$err" || fail "unclear error: $err"
echo "run_pipeline_test: ok"
