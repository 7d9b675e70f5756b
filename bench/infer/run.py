#!/usr/bin/env python3
"""Inference speed on CPU: kormo vs llama.cpp (our exported GGUF) vs transformers `generate`.

For each model size (random weights from `kormo model init`) and thread count: prefill tokens/s
(one prompt of P tokens) and decode tokens/s at batch 1 (N tokens), medians of R rounds, the
tools run in alternation within each round. kormo: `kormo generate --timing` (fp32 and
`--precision bf16`). llama.cpp:
`llama-bench -p P -n N -t T -r 1` on `kormo export gguf` f32 / f16 / bf16. transformers:
`generate` (greedy, exactly N new tokens) in fp32 and bf16; prefill is one forward of the prompt,
decode is (generate(N) − generate(1)) / (N − 1).

Usage: bench/infer/run.py [--sizes tiny,110m,1b] [--threads 1,2] [--rounds 3] [--work DIR]
Prints a markdown table; needs build/kormo and builds llama.cpp through scripts/llama-cpp.sh.
"""
import argparse
import json
import os
import pathlib
import shutil
import statistics
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[2]
KORMO = os.environ.get("KORMO_BIN", str(ROOT / "build" / "kormo"))
SIZES = {  # name: (config, prompt tokens, new tokens)
    "tiny": (ROOT / "configs/model/tiny.toml", 128, 64),
    "110m": (ROOT / "bench/infer/model-110m.toml", 128, 64),
    "1b": (ROOT / "configs/model/proxy-1b.toml", 64, 16),
}
HF_SCRIPT = r"""
import sys, time, json, torch
from transformers import AutoModelForCausalLM
d, dtype, threads, ids, n = sys.argv[1], sys.argv[2], int(sys.argv[3]), json.loads(sys.argv[4]), int(sys.argv[5])
torch.set_num_threads(threads)
m = AutoModelForCausalLM.from_pretrained(d, dtype=getattr(torch, dtype)).eval()
x = torch.tensor([ids])
def gen(k):
    t = time.perf_counter()
    with torch.no_grad():
        m.generate(x, max_new_tokens=k, min_new_tokens=k, do_sample=False, pad_token_id=0)
    return time.perf_counter() - t
gen(2)  # warm-up
with torch.no_grad():
    t = time.perf_counter(); m(x); pre = time.perf_counter() - t
t1, tn = gen(1), gen(n)
print(json.dumps({"prefill": len(ids) / pre, "decode": (n - 1) / max(tn - t1, 1e-9)}))
"""


def sh(cmd, **kw):
    r = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, **kw)
    if r.returncode != 0:
        sys.exit(f"failed: {' '.join(map(str, cmd))}\n{r.stderr[-3000:]}")
    return r


def prepare(work, size):
    cfg, p, n = SIZES[size]
    d = work / size
    model = d / "model"
    if not (model / "model.safetensors").exists():
        shutil.rmtree(model, ignore_errors=True)
        d.mkdir(parents=True, exist_ok=True)
        sh([KORMO, "-q", "model", "init", cfg, model])
        for f in ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"]:
            shutil.copy(work / "tok" / f, model / f)
    for t in ["f32", "f16", "bf16"]:
        g = d / f"model.{t}.gguf"
        if not g.exists():
            sh([KORMO, "-q", "export", "gguf", model, "-o", g, "--type", t])
    # A prompt of exactly p tokens: real text, cut at p tokens (decoded text re-encodes to the same ids
    # for byte-level BPE cut at token boundaries in almost every case; the count used is measured).
    from tokenizers import Tokenizer
    tok = Tokenizer.from_file(str(model / "tokenizer.json"))
    text = (ROOT.parent / "shared/data/corpora/en/tinyshakespeare/input.txt").read_text()[:20000]
    ids = tok.encode(text).ids[:p]
    return d, model, tok.decode(ids), ids, n


def kormo_run(model, prompt, n, threads, precision):
    r = sh([KORMO, "-q", "generate", model, "-p", prompt, "-n", n, "--temperature", "0", "--threads", threads,
            "--batch", 1, "--timing", "--precision", precision], env={**os.environ, "OMP_WAIT_POLICY": "passive"})
    t = json.loads(r.stderr.strip().splitlines()[-1])
    return t["prefill_tokens_per_s"], t["decode_tokens_per_s"], t["prompt_tokens"]


def llama_run(llama, gguf, p, n, threads):
    r = sh([llama / "llama-bench", "-m", gguf, "-p", p, "-n", n, "-t", threads, "-r", 1, "-o", "json"])
    rows = json.loads(r.stdout)
    pre = next(x["avg_ts"] for x in rows if x["n_prompt"] == p and x["n_gen"] == 0)
    dec = next(x["avg_ts"] for x in rows if x["n_gen"] == n and x["n_prompt"] == 0)
    return pre, dec


def hf_run(model, dtype, ids, n, threads):
    r = sh([sys.executable, "-c", HF_SCRIPT, model, dtype, threads, json.dumps(ids), n])
    j = json.loads(r.stdout.strip().splitlines()[-1])
    return j["prefill"], j["decode"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="tiny,110m,1b")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--work", default=os.path.expanduser("~/.cache/kormo/bench-infer"))
    ap.add_argument("--no-hf", action="store_true", help="skip transformers")
    a = ap.parse_args()
    work = pathlib.Path(a.work)
    llama = pathlib.Path(sh(["bash", ROOT / "scripts/llama-cpp.sh"]).stdout.strip().splitlines()[-1])
    if not (work / "tok" / "tokenizer.json").exists():
        work.mkdir(parents=True, exist_ok=True)
        src = ROOT.parent / "shared/data/corpora/en/tinyshakespeare/input.txt"
        sh([KORMO, "-q", "tokenizer", "train", "-o", work / "tok", "--vocab-size", 4000, src])
    print(f"uptime: {subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()}", file=sys.stderr)
    rows = []
    for size in a.sizes.split(","):
        d, model, prompt, ids, n = prepare(work, size)
        for threads in [int(t) for t in a.threads.split(",")]:
            runs = {}
            tools = [(f"kormo {p}", lambda p=p: kormo_run(model, prompt, n, threads, p)[:2]) for p in ("fp32", "bf16")]
            for t in ["f32", "f16", "bf16"]:
                tools.append((f"llama.cpp {t}", lambda t=t: llama_run(llama, d / f"model.{t}.gguf", len(ids), n, threads)))
            if not a.no_hf:
                for dt in ["float32", "bfloat16"]:
                    tools.append((f"transformers {dt}", lambda dt=dt: hf_run(model, dt, ids, n, threads)))
            for _ in range(a.rounds):
                for name, f in tools:
                    runs.setdefault(name, []).append(f())
            for name, _ in tools:
                pre = statistics.median(x[0] for x in runs[name])
                dec = statistics.median(x[1] for x in runs[name])
                rows.append((size, threads, name, pre, dec))
                print(f"{size} t={threads} {name}: prefill {pre:.1f} decode {dec:.1f}", file=sys.stderr, flush=True)
    print(f"| size | threads | engine | prefill tok/s | decode tok/s | kormo decode ÷ this |")
    print("|---|---|---|---|---|---|")
    base = {(s, t): dec for s, t, nm, _, dec in rows if nm == "kormo fp32"}
    for s, t, nm, pre, dec in rows:
        print(f"| {s} | {t} | {nm} | {pre:.1f} | {dec:.1f} | {base[(s, t)] / dec:.2f}× |")


if __name__ == "__main__":
    main()
