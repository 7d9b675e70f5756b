"""Data parallelism: `mpirun -np 2 kormo pretrain` against one process on the same sequences.

Two ranks with micro-batch B see, together, the rows one process with micro-batch 2B sees
(the loader slices the global batch). The ranks' gradients are summed in rank order, so
the gradient equals one process's up to the order of fp32 sums inside the GEMMs (each rank
sums over its B rows, then the two partial sums are added). Measured on this test: loss and
gradient norm agree at every one of 20 steps within 2e-7 relative (asserted ≤ 1e-6).
The weights agree less tightly, and not for lack of a fixed order: AdamW divides each
gradient by its own running RMS, so a coordinate whose true gradient is near zero (a sum of
cancelling terms, its value set by rounding) moves by up to ±lr whatever its sign noise.
Measured: 1.0e-5 max relative weight difference after the first step, 7.2e-6 after 20
(asserted ≤ 2e-5). A killed rank ends the job with an error within seconds, and --resume
continues exactly.
"""
import json
import os
import shutil
import signal
import subprocess
import time

import numpy as np
import pytest
from safetensors.numpy import load_file

from engine_helpers import small_run

MPIRUN = shutil.which("mpirun")
pytestmark = pytest.mark.skipif(MPIRUN is None, reason="mpirun (openmpi-bin) is not installed")


def mpirun(n, *args):
    # --bind-to none: mpirun would otherwise pin each rank to one core.
    return [MPIRUN, "--allow-run-as-root", "--oversubscribe", "--bind-to", "none", "-np", str(n), *map(str, args)]


def weights(path):
    return load_file(str(path / "model.safetensors"))


def max_rel_diff(a, b):
    return max(float(np.abs(a[k] - b[k]).max() / max(np.abs(b[k]).max(), 1e-30)) for k in b)


def test_two_ranks_match_one_process_with_twice_the_micro_batch(kormo_bin, tmp_path):
    steps = dict(steps=20, eval_every=0, checkpoint_every=0, threads=1, grad_accum=1)
    one = small_run(kormo_bin, tmp_path, "one", train=dict(steps), data=dict(batch_size=4))
    two = small_run(kormo_bin, tmp_path, "two", train=dict(steps), data=dict(batch_size=2))
    subprocess.run([kormo_bin, "-q", "pretrain", one], check=True)
    subprocess.run(mpirun(2, kormo_bin, "-q", "pretrain", two), check=True)
    la = [json.loads(l) for l in (tmp_path / "two" / "metrics.jsonl").read_text().splitlines()]
    lb = [json.loads(l) for l in (tmp_path / "one" / "metrics.jsonl").read_text().splitlines()]
    assert len(la) == len(lb) == 20
    assert all(x["tokens"] == y["tokens"] for x, y in zip(la, lb))
    rel = lambda key: max(abs(x[key] - y[key]) / abs(y[key]) for x, y in zip(la, lb))
    a, b = weights(tmp_path / "two" / "step-0000020"), weights(tmp_path / "one" / "step-0000020")
    err = max_rel_diff(a, b)
    print(f"2 ranks × B=2 vs 1 process × B=4, 20 steps: loss {rel('loss'):.1e}, grad norm {rel('grad_norm'):.1e}, "
          f"weights {err:.1e} (max relative differences)")
    assert rel("loss") <= 1e-6 and rel("grad_norm") <= 1e-6
    assert err <= 2e-5
    assert "allreduce_s" in la[0]


def test_killed_rank_stops_the_job_and_resume_continues_exactly(kormo_bin, tmp_path):
    t = dict(steps=400, eval_every=0, checkpoint_every=5, threads=1)
    cfg = small_run(kormo_bin, tmp_path, "run", train=t, data=dict(batch_size=2))
    env = dict(os.environ, KORMO_DIST_TIMEOUT_S="60")
    job = subprocess.Popen(mpirun(2, kormo_bin, "-q", "pretrain", cfg), env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while not (tmp_path / "run" / "step-0000005").exists():
        assert job.poll() is None and time.time() < deadline, "the 2-rank run did not reach its first checkpoint"
        time.sleep(0.1)
    ranks = subprocess.run(["pgrep", "-P", str(job.pid)], capture_output=True, text=True).stdout.split()
    assert len(ranks) == 2, ranks
    killed = time.time()
    os.kill(int(ranks[1]), signal.SIGKILL)
    _, err = job.communicate(timeout=60)
    took = time.time() - killed
    print(f"kill -9 of one rank: job exited {job.returncode} after {took:.2f} s")
    assert job.returncode != 0 and took < 30, err

    # Resume the killed run for 10 more steps; a straight run to the same step agrees bit for bit.
    last = max(int(p.name[5:]) for p in (tmp_path / "run").glob("step-*"))
    stop = last + 10
    subprocess.run(mpirun(2, kormo_bin, "-q", "pretrain", cfg, "--resume", "--max-steps", 10), check=True, env=env)
    straight = small_run(kormo_bin, tmp_path, "straight", train=t, data=dict(batch_size=2))
    subprocess.run(mpirun(2, kormo_bin, "-q", "pretrain", straight, "--max-steps", stop), check=True, env=env)
    name = f"step-{stop:07d}"
    assert (tmp_path / "run" / name / "model.safetensors").read_bytes() == \
        (tmp_path / "straight" / name / "model.safetensors").read_bytes()
