"""Data-parallel scaling on one machine: `kormo pretrain` as 1 process × 1 thread with
micro-batch 2B against `mpirun -np 2` × 1 thread each with micro-batch B (the same global
batch and sequences), at the 25M size. Runs alternate; figures are medians of per-step
tokens/s (first step dropped) and of the share of step time spent in the gradient
all-reduce (metrics.jsonl's allreduce_s / step_s). Usage:
    python3 bench/train/dp_bench.py --kormo build/kormo [--rounds 3] [--steps 6]
"""
import argparse
import json
import os
import pathlib
import random
import shutil
import statistics
import subprocess
import tempfile
import time

from bench import SIZES

os.environ.setdefault("OMP_WAIT_POLICY", "passive")


def config(tmp, shard, m, batch, seq, steps, name):
    out = tmp / f"run-{name}-{time.time_ns()}"
    cfg = tmp / f"{name}.toml"
    cfg.write_text("[model]\n" + "".join(f"{k} = {v}\n" for k, v in m.items()) + f"max_seq_len = {seq}\n"
                   f"[data]\nbatch_size = {batch}\nseq_len = {seq}\nval_fraction = 0.0\nval_tokens = 0\n"
                   f'sources.a = {{ shards = ["{shard}"] }}\n'
                   f'[train]\nout_dir = "{out}"\nsteps = {steps}\nthreads = 1\ncheckpoint_every = 0\n')
    return cfg, out


def metrics(out):
    lines = [json.loads(l) for l in (out / "metrics.jsonl").read_text().splitlines()][1:]
    return [l["tokens_per_s"] for l in lines], [l.get("allreduce_s", 0.0) / l["step_s"] for l in lines]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kormo", default="build/kormo")
    ap.add_argument("--size", default="25M")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--steps", type=int, default=6)
    ap.add_argument("--batch", type=int, default=4, help="global batch (rows); each of 2 ranks gets half")
    ap.add_argument("--seq", type=int, default=256)
    a = ap.parse_args()
    kormo = str(pathlib.Path(a.kormo).resolve())
    mpirun = shutil.which("mpirun")
    m = SIZES[a.size]
    with tempfile.TemporaryDirectory() as d:
        tmp = pathlib.Path(d)
        rnd = random.Random(0)
        ids, shard = tmp / "ids.jsonl", tmp / "a.ktok"
        with open(ids, "w") as f:
            for _ in range(400):
                f.write(json.dumps({"ids": [rnd.randrange(m["vocab_size"]) for _ in range(2 * a.seq)]}) + "\n")
        subprocess.run([kormo, "-q", "shard", "--ids", ids, "--vocab-size", str(m["vocab_size"]), "--out", shard],
                       check=True)
        one, two, share = [], [], []
        for _ in range(a.rounds):
            cfg, out = config(tmp, shard, m, a.batch, a.seq, a.steps + 1, "one")
            subprocess.run([kormo, "-q", "pretrain", cfg], check=True)
            one += metrics(out)[0]
            cfg, out = config(tmp, shard, m, a.batch // 2, a.seq, a.steps + 1, "two")
            subprocess.run([mpirun, "--allow-run-as-root", "--oversubscribe", "-np", "2", "--bind-to", "core",
                            kormo, "-q", "pretrain", cfg], check=True)
            t, s = metrics(out)
            two += t
            share += s
        o, w = statistics.median(one), statistics.median(two)
        print(f"{a.size}: 1 rank x 1 thread {o:.0f} tok/s; 2 ranks x 1 thread {w:.0f} tok/s ({w / o:.2f}x); "
              f"all-reduce {100 * statistics.median(share):.1f}% of a 2-rank step (global batch {a.batch} x {a.seq}, "
              f"{len(one)}/{len(two)} steps, OMP_WAIT_POLICY={os.environ['OMP_WAIT_POLICY']})")


if __name__ == "__main__":
    main()
