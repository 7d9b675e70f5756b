"""Training throughput: kormo pretrain (fp32 and bf16) vs PyTorch (HF LlamaForCausalLM, AdamW) in four
columns — eager fp32, eager with torch.autocast("cpu", bfloat16), torch.compile fp32 and bf16 — on
the same model shape, batch and sequence length, on the same machine in the same run. Every column
runs in its own process (its peak RSS is reported); the columns alternate inside each round; a
column's figure is the median over rounds of each run's median per-step tokens/s (warm-up steps
dropped: one, two for torch.compile). Usage:
    python3 bench/train/bench.py --kormo build/kormo [--rounds 3] [--steps 5] [--threads 2]
        [--sizes 5M,25M,110M] [--columns "kormo fp32,kormo bf16,torch eager bf16"] [--compile-timeout 600]
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
import sys
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


def wait_rss(cmd, timeout=None):
    """Runs cmd; returns (exit status, or None if killed at the timeout; stdout; stderr; the child's own
    peak RSS in MiB, from wait4 — RUSAGE_CHILDREN would be a running max over every column)."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        p = subprocess.Popen(cmd, stdout=out, stderr=err, text=True)
        t0 = time.monotonic()
        while True:
            pid, status, ru = os.wait4(p.pid, os.WNOHANG)
            if pid == p.pid:
                break
            if timeout is not None and time.monotonic() - t0 > timeout:
                p.kill()
                os.wait4(p.pid, 0)
                return None, "", "", 0.0
            time.sleep(0.2)
        p.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0), err.seek(0)
        return p.returncode, out.read(), err.read(), ru.ru_maxrss / 1024


def run_kormo(kormo, tmp, name, m, batch, seq, steps, threads, profile, precision):
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
                   f'checkpoint_every = 0\nprecision = "{precision}"\n')
    rc, _, err, rss = wait_rss([kormo, "pretrain", cfg, "--max-steps", str(steps - 1)])
    if rc != 0:
        raise SystemExit(f"kormo failed:\n{err}")
    lines = [json.loads(l) for l in (out / "metrics.jsonl").read_text().splitlines()]
    prof = [l.split("kormo: ")[-1] for l in err.splitlines() if "profile" in l]
    return [l["tokens_per_s"] for l in lines[1:]], prof, rss


def torch_worker(m, batch, seq, steps, threads, bf16, compile_):
    """One PyTorch column in this process: prints the per-step tokens/s as JSON."""
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
    fwd = torch.compile(model) if compile_ else model
    rates = []
    # torch.compile's first steps compile (forward, then backward): two warm-up steps.
    warm = 2 if compile_ else 1
    for _ in range(steps + warm - 1):
        x = torch.randint(0, m["vocab_size"], (batch, seq + 1))
        t0 = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss = fwd(input_ids=x[:, :-1], labels=x[:, :-1]).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        rates.append(batch * seq / (time.perf_counter() - t0))
    print(json.dumps(rates[warm:]))


def run_torch(name, a, bf16, compile_):
    cmd = [sys.executable, __file__, "--torch-worker", name, "--batch", str(a.batch), "--seq", str(a.seq),
           "--steps", str(a.steps + 1), "--threads", str(a.threads)] + (["--bf16"] if bf16 else []) + \
          (["--compile"] if compile_ else [])
    rc, out, err, rss = wait_rss(cmd, timeout=a.compile_timeout if compile_ else None)
    if rc is None:
        return None, 0.0  # compile did not finish in time
    if rc != 0:
        raise SystemExit(f"torch column failed:\n{err[-3000:]}")
    return json.loads(out.strip().splitlines()[-1]), rss


def record(name, r, c, rates, mem, med, rss, timeout):
    """Adds one run's median tokens/s to med[c] ([None]: the column did not finish) and prints it."""
    if rates is None:
        med[c] = [None]
        print(f"  {name} round {r + 1} {c}: did not finish within {timeout:.0f} s", flush=True)
        return
    med[c].append(statistics.median(rates))
    rss[c] = max(rss[c], mem)
    print(f"  {name} round {r + 1} {c}: {med[c][-1]:.0f} tok/s, peak RSS {mem:.0f} MiB", flush=True)


def print_table(name, m, a, columns, med, rss):
    """One size's result: each column's median over rounds, and its ratio to the best torch column."""
    got = {c: statistics.median(v) for c, v in med.items() if v and v != [None]}
    best_torch = max((v for c, v in got.items() if c.startswith("torch")), default=None)
    print(f"{name} ({n_params(m) / 1e6:.1f}M params, batch {a.batch} x seq {a.seq}, {a.threads} threads, "
          f"medians of {a.rounds}; uptime {subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()})",
          flush=True)
    for c in columns:
        if c not in got:
            print(f"    {c:20s} did not finish within {a.compile_timeout:.0f} s", flush=True)
            continue
        vs = f"  {got[c] / best_torch:5.2f}x best torch" if best_torch else ""
        print(f"    {c:20s} {got[c]:8.0f} tok/s  peak RSS {rss[c]:7.0f} MiB{vs}", flush=True)


COLUMNS = ["kormo fp32", "kormo bf16", "torch eager fp32", "torch eager bf16", "torch compile fp32",
           "torch compile bf16"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kormo", default="build/kormo")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--seq", type=int, default=256)
    ap.add_argument("--sizes", default="5M,25M,110M")
    ap.add_argument("--columns", default=",".join(COLUMNS), help="comma-separated subset of " + ", ".join(COLUMNS))
    ap.add_argument("--compile-timeout", type=float, default=600, help="seconds a torch.compile column may take")
    ap.add_argument("--gemm-peak", type=float, default=396.0, help="best fp32 GFLOP/s in bench/gemm (quiet run)")
    ap.add_argument("--torch-worker", help=argparse.SUPPRESS)
    ap.add_argument("--bf16", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--compile", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.torch_worker:
        return torch_worker(SIZES[a.torch_worker], a.batch, a.seq, a.steps, a.threads, a.bf16, a.compile)
    columns = a.columns.split(",")
    kormo = str(pathlib.Path(a.kormo).resolve())
    print(f"uptime: {subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()}", flush=True)
    with tempfile.TemporaryDirectory() as d:
        tmp = pathlib.Path(d)
        for name in a.sizes.split(","):
            m = SIZES[name]
            med = {c: [] for c in columns}
            rss = {c: 0.0 for c in columns}
            profs = {}
            for r in range(a.rounds):  # columns alternate inside each round
                for c in columns:
                    if c.startswith("kormo"):
                        prec = c.split()[1]
                        rates, prof, mem = run_kormo(kormo, tmp, name, m, a.batch, a.seq, a.steps + 1, a.threads,
                                                     r == a.rounds - 1, prec)
                        profs[prec] = prof
                    else:
                        if r > 0 and med[c] == [None]:
                            continue  # compile timed out in round 1: not retried
                        rates, mem = run_torch(name, a, "bf16" in c, "compile" in c)
                    record(name, r, c, rates, mem, med, rss, a.compile_timeout)
            print_table(name, m, a, columns, med, rss)
            for prec, prof in profs.items():
                print(f"    kormo {prec} profile (last round):")
                for line in prof:
                    print("       ", line)
                # Linear-layer GEMM throughput in the profiled run (a.steps steps, first one included).
                mm = [float(l.split()[2]) for l in prof if l.split()[1] == "matmul"]
                if mm:
                    linear = n_params(m) - m["vocab_size"] * m["hidden_size"] - (2 * m["num_layers"] + 1) * m["hidden_size"]
                    gflops = 6 * linear * a.steps * a.batch * a.seq / mm[0] / 1e9
                    print(f"        matmul {gflops:.0f} GFLOP/s", flush=True)


if __name__ == "__main__":
    main()
