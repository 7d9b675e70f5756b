"""SFT throughput: kormo sft (fp32 and bf16) vs PyTorch + transformers (LlamaForCausalLM, AdamW) on
the same model, the same packed batches (masked targets, a block-diagonal mask per conversation,
positions restarting per conversation), the same seq_len and batch. Torch columns: eager fp32, eager
with torch.autocast("cpu", bfloat16), torch.compile fp32 and bf16 (each dropped if it does not finish within
--compile-timeout). Each column runs in its own process; columns alternate inside each round; a
column's figure is the median over rounds of each run's median per-step tokens/s (warm-up steps
dropped). Data: real conversations — Korean chatbot Q/A (../shared/data/corpora/ko/chatbot_qa) and
GSM8K problems whose worked solution is the reasoning (../shared/data/bench/en/gsm8k), thinking
hybrid. Usage:
    python3 bench/sft/bench.py --kormo build/kormo [--rounds 3] [--steps 5] [--threads 2] [--sizes 5M,25M]
"""
import argparse
import csv
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("OMP_WAIT_POLICY", "passive")  # before torch loads its OpenMP runtime
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "train"))
from bench import SIZES, print_table, record, wait_rss  # noqa: E402  (bench/train/bench.py)

import torch  # noqa: E402

SHARED = pathlib.Path(__file__).resolve().parents[3] / "shared" / "data"


def conversations(path, n=3000):
    with open(path, "w", encoding="utf-8") as out:
        rows = list(csv.reader(open(SHARED / "corpora/ko/chatbot_qa/ChatbotData.csv", encoding="utf-8")))[1:]
        for q, a, _ in rows[: n // 2]:
            out.write(json.dumps({"conversation": [{"role": "user", "content": q}, {"role": "assistant", "content": a}],
                                  "lang": "ko"}, ensure_ascii=False) + "\n")
        for line in open(SHARED / "bench/en/gsm8k/train.jsonl", encoding="utf-8").readlines()[: n // 2]:
            j = json.loads(line)
            work, answer = j["answer"].split("####")
            out.write(json.dumps({"conversation": [
                {"role": "user", "content": j["question"]},
                {"role": "assistant", "content": answer.strip(), "reasoning_content": work.strip()}],
                "lang": "en"}) + "\n")


def setup(kormo, tmp, name, m, seq, batch, threads):
    """Tokenizer, init model and data for one size; returns (config path maker, dumped batch path)."""
    text = tmp / "text.txt"
    if not text.exists():
        conversations(tmp / "conv.jsonl")
        text.write_text("\n".join(l for l in open(tmp / "conv.jsonl", encoding="utf-8")), encoding="utf-8")
        subprocess.run([kormo, "-q", "tokenizer", "train", "-o", tmp / "tok", "--vocab-size", "4000", text], check=True)
    init = tmp / f"init-{name}"
    if not init.exists():
        (tmp / f"{name}.toml").write_text("[model]\n" + "".join(f"{k} = {v}\n" for k, v in m.items()) +
                                          f"max_seq_len = {seq}\n")
        subprocess.run([kormo, "-q", "model", "init", tmp / f"{name}.toml", init], check=True)

    def config(precision, steps):
        out = tmp / f"run-{name}-{time.time_ns()}"
        cfg = tmp / f"sft-{name}-{precision}.toml"
        cfg.write_text(f'[train]\ninit = "{init}"\ntokenizer = "{tmp / "tok"}"\nout_dir = "{out}"\nsteps = {steps}\n'
                       f'threads = {threads}\ncheckpoint_every = 0\nprecision = "{precision}"\n'
                       f'[data]\nseq_len = {seq}\nbatch_size = {batch}\nval_fraction = 0.0\nthinking = "hybrid"\n'
                       f'sources.chat = {{ files = ["{tmp / "conv.jsonl"}"] }}\n')
        return cfg, out

    dumped = tmp / f"batch-{name}.json"
    if not dumped.exists():
        cfg, _ = config("fp32", 2)
        subprocess.run([kormo, "-q", "sft", cfg, "--dump-batch", dumped], check=True)
    return config, dumped


def run_kormo(kormo, config, precision, steps):
    cfg, out = config(precision, steps)
    rc, _, err, rss = wait_rss([kormo, "sft", cfg, "--max-steps", str(steps - 1)])
    if rc != 0:
        raise SystemExit(f"kormo failed:\n{err[-3000:]}")
    lines = [json.loads(l) for l in (out / "metrics.jsonl").read_text().splitlines()]
    return [l["tokens_per_s"] for l in lines[1:]], rss


def torch_worker(m, batch_path, steps, threads, bf16, compile_):
    """One PyTorch column in this process: SFT steps on the dumped batch; prints per-step tokens/s."""
    from transformers import LlamaConfig, LlamaForCausalLM
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    b = json.loads(pathlib.Path(batch_path).read_text())
    B, T = b["B"], b["T"]
    inputs = torch.tensor(b["inputs"]).view(B, T)
    targets = torch.tensor(b["targets"]).view(B, T)
    doc = torch.tensor(b["doc"]).view(B, T)
    # Positions restart per conversation; attention is causal within a conversation only.
    starts = torch.zeros_like(doc)
    for r in range(B):
        for t in range(1, T):
            starts[r, t] = starts[r, t - 1] if doc[r, t] == doc[r, t - 1] else t
    pos = torch.arange(T)[None, :] - starts
    allowed = (torch.arange(T)[:, None] >= torch.arange(T)[None, :])[None] & (doc[:, :, None] == doc[:, None, :])
    mask = torch.where(allowed, 0.0, torch.finfo(torch.float32).min)[:, None]
    cfg = LlamaConfig(vocab_size=m["vocab_size"], hidden_size=m["hidden_size"],
                      intermediate_size=m["intermediate_size"], num_hidden_layers=m["num_layers"],
                      num_attention_heads=m["num_heads"], num_key_value_heads=m["num_kv_heads"],
                      head_dim=m["head_dim"], max_position_embeddings=T, tie_word_embeddings=False,
                      attn_implementation="sdpa")
    model = LlamaForCausalLM(cfg).float().train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.033)
    fwd = torch.compile(model) if compile_ else model
    warm = 2 if compile_ else 1
    rates = []
    for _ in range(steps + warm - 1):
        t0 = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            logits = fwd(input_ids=inputs, attention_mask=mask.to(torch.bfloat16 if bf16 else torch.float32),
                         position_ids=pos).logits
        loss = torch.nn.functional.cross_entropy(logits.float().view(B * T, -1), targets.view(-1), ignore_index=-100)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        rates.append(B * T / (time.perf_counter() - t0))
    print(json.dumps(rates[warm:]))


COLUMNS = ["kormo fp32", "kormo bf16", "torch eager fp32", "torch eager bf16", "torch compile fp32", "torch compile bf16"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kormo", default="build/kormo")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--seq", type=int, default=512)
    ap.add_argument("--sizes", default="5M,25M")
    ap.add_argument("--columns", default=",".join(COLUMNS))
    ap.add_argument("--compile-timeout", type=float, default=300)
    ap.add_argument("--torch-worker", help=argparse.SUPPRESS)
    ap.add_argument("--batch-json", help=argparse.SUPPRESS)
    ap.add_argument("--bf16", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--compile", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.torch_worker:
        return torch_worker(SIZES[a.torch_worker], a.batch_json, a.steps, a.threads, a.bf16, a.compile)
    kormo = str(pathlib.Path(a.kormo).resolve())
    columns = a.columns.split(",")
    print(f"uptime: {subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()}", flush=True)
    with tempfile.TemporaryDirectory() as d:
        tmp = pathlib.Path(d)
        for name in a.sizes.split(","):
            m = SIZES[name]
            config, dumped = setup(kormo, tmp, name, m, a.seq, a.batch, a.threads)
            med = {c: [] for c in columns}
            rss = {c: 0.0 for c in columns}
            for r in range(a.rounds):
                for c in columns:
                    if med[c] == [None]:
                        continue
                    if c.startswith("kormo"):
                        rates, mem = run_kormo(kormo, config, c.split()[1], a.steps + 1)
                    else:
                        cmd = [sys.executable, __file__, "--torch-worker", name, "--batch-json", str(dumped),
                               "--steps", str(a.steps + 1), "--threads", str(a.threads)] + \
                              (["--bf16"] if "bf16" in c else []) + (["--compile"] if "compile" in c else [])
                        rc, out, err, mem = wait_rss(cmd, timeout=a.compile_timeout if "compile" in c else None)
                        if rc is not None and rc != 0:
                            raise SystemExit(f"torch column failed:\n{err[-3000:]}")
                        rates = None if rc is None else json.loads(out.strip().splitlines()[-1])
                    record(name, r, c, rates, mem, med, rss, a.compile_timeout)
            print_table(name, m, a, columns, med, rss)


if __name__ == "__main__":
    main()
