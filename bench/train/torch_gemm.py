"""PyTorch CPU matmul throughput at the engine's linear-layer shapes, for comparison with
bench/gemm (oneDNN `dnnl_sgemm`, the engine's GEMM) on the same shapes.

Per shape TOKENS×IN→OUT it times the three products of a linear layer, as gemm_bench.cpp
does: forward inp·Wᵀ (NT), input gradient dout·W (NN), weight gradient doutᵀ·inp (TN);
each product `--reps` times after a warm-up, the best time per product (as gemm_bench.cpp
takes its best of 5); GFLOP/s = 2·tokens·in·out / that time, by the wall clock and per
CPU-second of the process (the rate of one busy core). The machine is shared: run it
several times and take the median of the runs.

    OMP_WAIT_POLICY=passive python3 bench/train/torch_gemm.py --threads 1 2 --dtype float32 bfloat16
"""
import argparse
import time

import torch

SHAPES = [(2048, 2048, 2048), (4096, 768, 3072), (1024, 768, 32000)]


def bench(tokens, n_in, n_out, dtype, reps):
    g = torch.Generator().manual_seed(0)
    inp = torch.randn(tokens, n_in, generator=g).to(dtype)
    w = torch.randn(n_out, n_in, generator=g).to(dtype)
    dout = torch.randn(tokens, n_out, generator=g).to(dtype)
    products = {"NT": lambda: inp @ w.t(), "NN": lambda: dout @ w, "TN": lambda: dout.t() @ inp}
    flop = 2.0 * tokens * n_in * n_out
    out = {}
    for name, f in products.items():
        f()
        wall, cpu = [], []
        for _ in range(reps):
            t0, c0 = time.perf_counter(), time.process_time()
            f()
            wall.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
        # Wall-clock rate, and the rate per CPU-second (= per busy core), which other jobs
        # on a shared machine disturb far less than the wall clock.
        out[name] = (flop / min(wall) / 1e9, flop / min(cpu) / 1e9)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--dtype", nargs="+", default=["float32", "bfloat16"])
    ap.add_argument("--reps", type=int, default=5)
    a = ap.parse_args()
    print(f"torch {torch.__version__}, {torch.backends.cpu.get_cpu_capability()}, "
          f"MKL {torch.backends.mkl.is_available()}, oneDNN {torch.backends.mkldnn.is_available()}")
    for threads in a.threads:
        torch.set_num_threads(threads)
        for dt in a.dtype:
            for tokens, n_in, n_out in SHAPES:
                r = bench(tokens, n_in, n_out, getattr(torch, dt), a.reps)
                print(f"torch threads {threads} {dt:8s} {tokens:5d} x {n_in:5d} -> {n_out:5d}  "
                      + "  ".join(f"{k} {w:6.1f} ({c:5.1f}/core)" for k, (w, c) in r.items()) + " GFLOP/s",
                      flush=True)


if __name__ == "__main__":
    main()
