"""Training throughput: kormo pretrain vs PyTorch (HF LlamaForCausalLM, fp32, AdamW) on
the same model shape, batch and sequence length, on the same machine in the same run.
Runs alternate kormo/torch; figures are medians of the per-step tokens/s (first step
of each run dropped as warm-up). Usage:
    python3 bench/train/bench.py --kormo build/kormo [--rounds 2] [--steps 5] [--threads 2]
        [--baseline OTHER_KORMO]   # also an earlier kormo build, alternating: regression check
OMP_WAIT_POLICY (default here: passive, for both kormo and torch) matters on a shared
machine: spinning OpenMP threads steal the CPU from the threads they wait for.
"""
import argparse
import json
import os
import pathlib
import random
import statistics
import subprocess
import tempfile
import time

os.environ.setdefault("OMP_WAIT_POLICY", "passive")  # before torch loads its OpenMP runtime
import torch  # noqa: E402

SIZES = {
    "5M": dict(vocab_size=8192, hidden_size=256, intermediate_size=768, num_layers=2, num_heads=4, num_kv_heads=2,
               head_dim=64),
    "25M": dict(vocab_size=16384, hidden_size=512, intermediate_size=1536, num_layers=4, num_heads=8, num_kv_heads=4,
                head_dim=64),
    "110M": dict(vocab_size=32000, hidden_size=768, intermediate_size=2048, num_layers=12, num_heads=12,
                 num_kv_heads=4, head_dim=64),
}


def n_params(m):
    C, Q, KV, F, V, L = (m["hidden_size"], m["num_heads"] * m["head_dim"], m["num_kv_heads"] * m["head_dim"],
                         m["intermediate_size"], m["vocab_size"], m["num_layers"])
    return 2 * V * C + C + L * (2 * C + 2 * C * Q + 2 * C * KV + 3 * C * F)


def run_kormo(kormo, tmp, name, m, batch, seq, steps, threads, profile):
    # Each binary shards the same ids itself: an older build may not read a newer shard version.
    shard = tmp / f"{name}-{abs(hash(kormo))}.ktok"
    if not shard.exists():
        rnd = random.Random(0)
        ids = tmp / f"{name}.jsonl"
        with open(ids, "w") as f:
            for _ in range(400):
                f.write(json.dumps({"ids": [rnd.randrange(m["vocab_size"]) for _ in range(2 * seq)]}) + "\n")
        subprocess.run([kormo, "-q", "shard", "--ids", ids, "--vocab-size", str(m["vocab_size"]), "--out", shard],
                       check=True)
    out = tmp / f"run-{name}-{time.time_ns()}"
    cfg = tmp / f"{name}.toml"
    cfg.write_text("[model]\n" + "".join(f"{k} = {v}\n" for k, v in m.items()) + f"max_seq_len = {seq}\n"
                   f"[data]\nbatch_size = {batch}\nseq_len = {seq}\nval_fraction = 0.0\nval_tokens = 0\n"
                   f'sources.a = {{ shards = ["{shard}"] }}\n'
                   f'[train]\nout_dir = "{out}"\nsteps = {steps}\nthreads = {threads}\nprofile = {str(profile).lower()}\n'
                   f"checkpoint_every = 0\n")
    p = subprocess.run([kormo, "pretrain", cfg, "--max-steps", str(steps - 1)], capture_output=True, text=True,
                       check=True)
    lines = [json.loads(l) for l in (out / "metrics.jsonl").read_text().splitlines()]
    prof = [l.split("kormo: ")[-1] for l in p.stderr.splitlines() if "profile" in l]
    return [l["tokens_per_s"] for l in lines[1:]], prof


def run_torch(m, batch, seq, steps, threads):
    from transformers import LlamaConfig, LlamaForCausalLM
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    cfg = LlamaConfig(vocab_size=m["vocab_size"], hidden_size=m["hidden_size"],
                      intermediate_size=m["intermediate_size"], num_hidden_layers=m["num_layers"],
                      num_attention_heads=m["num_heads"], num_key_value_heads=m["num_kv_heads"],
                      head_dim=m["head_dim"], max_position_embeddings=seq, tie_word_embeddings=False,
                      attn_implementation="sdpa")
    model = LlamaForCausalLM(cfg).float().train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.033)
    rates = []
    for _ in range(steps):
        x = torch.randint(0, m["vocab_size"], (batch, seq + 1))
        t0 = time.perf_counter()
        loss = model(input_ids=x[:, :-1], labels=x[:, :-1]).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        rates.append(batch * seq / (time.perf_counter() - t0))
    return rates[1:]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kormo", default="build/kormo")
    ap.add_argument("--baseline", help="an earlier kormo binary, run alternately with --kormo and the peer")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--seq", type=int, default=256)
    ap.add_argument("--sizes", default="5M,25M,110M")
    ap.add_argument("--gemm-peak", type=float, default=396.0, help="best GFLOP/s in bench/gemm (quiet run, oneDNN)")
    a = ap.parse_args()
    kormo = str(pathlib.Path(a.kormo).resolve())
    with tempfile.TemporaryDirectory() as d:
        tmp = pathlib.Path(d)
        for name in a.sizes.split(","):
            m = SIZES[name]
            k, t, base, prof = [], [], [], []
            for r in range(a.rounds):
                kr, prof = run_kormo(kormo, tmp, name, m, a.batch, a.seq, a.steps + 1, a.threads, r == a.rounds - 1)
                k += kr
                t += run_torch(m, a.batch, a.seq, a.steps + 1, a.threads)
                if a.baseline:
                    base += run_kormo(str(pathlib.Path(a.baseline).resolve()), tmp, name, m, a.batch, a.seq,
                                      a.steps + 1, a.threads, False)[0]
            km, tm = statistics.median(k), statistics.median(t)
            if base:
                bm = statistics.median(base)
                print(f"{name:5s} kormo {km:8.0f} tok/s  baseline {bm:8.0f} tok/s  ratio {km / bm:5.2f}x", flush=True)
            print(f"{name:5s} params {n_params(m) / 1e6:7.1f}M  kormo {km:8.0f} tok/s  torch {tm:8.0f} tok/s  "
                  f"ratio {km / tm:5.2f}x  (batch {a.batch} x seq {a.seq}, {a.threads} threads, "
                  f"OMP_WAIT_POLICY={os.environ['OMP_WAIT_POLICY']}, kormo runs {len(k)} / torch {len(t)} steps)",
                  flush=True)
            for line in prof:
                print("   ", line)
            # Linear-layer GEMM throughput in the profiled run (a.steps steps, first one included).
            mm = [float(l.split()[2]) for l in prof if l.split()[1] == "matmul"]
            if mm:
                linear = n_params(m) - m["vocab_size"] * m["hidden_size"] - (2 * m["num_layers"] + 1) * m["hidden_size"]
                gflops = 6 * linear * a.steps * a.batch * a.seq / mm[0] / 1e9
                print(f"    matmul {gflops:.0f} GFLOP/s = {100 * gflops / a.gemm_peak:.0f}% of the measured GEMM peak "
                      f"{a.gemm_peak:.0f} GFLOP/s", flush=True)


if __name__ == "__main__":
    main()
