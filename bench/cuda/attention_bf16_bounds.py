#!/usr/bin/env python3
"""Where the bounds of Cuda.AttentionTensorCores (tests/cuda/cuda_backend_test.cpp) come from.

A float64 emulation of the rounding of the bf16 attention kernels (attention_tc.cu): q, k, v
and dO rounded to bfloat16 (nearest even) as they enter shared memory, P rounded before P·V
and Pᵀ·dO, dS before dSᵀ·Q and dS·K; everything else (scores, softmax statistics, lse, D)
exact. Compared with exact attention on the test's shapes and inputs (N(0, 1)), it prints the
worst error per output: ‖Δ‖/‖exact‖ for out, dq, dk, dv and max |Δ| for lse. For scale it
also prints how far two wrong kernels land: the document mask dropped (causal only) and the
scores scaled by 1.1. Needs numpy.  python3 bench/cuda/attention_bf16_bounds.py
"""
import numpy as np


def bf16(x):
    u = np.asarray(x, np.float32).view(np.uint32).astype(np.uint64)
    u = (u + 0x7FFF + ((u >> 16) & 1)) & 0xFFFF0000
    return u.astype(np.uint32).view(np.float32).astype(np.float64)


def seg_starts(T, starts):
    seg, cur = np.zeros(T, int), 0
    for t in range(T):
        cur = t if t in starts else cur
        seg[t] = cur
    return seg


def attention(q, k, v, do, seg, scale, emulate):
    r = bf16 if emulate else (lambda x: x)
    Q, K, V, DO = r(q), r(k), r(v), r(do)
    T = len(q)
    j, t = np.arange(T)[None, :], np.arange(T)[:, None]
    S = np.where((j >= seg[:, None]) & (j <= t), Q @ K.T * scale, -np.inf)
    m = S.max(1, keepdims=True)
    p = np.exp(S - m)
    l = p.sum(1, keepdims=True)
    lse = (m + np.log(l))[:, 0]
    out = r(p) @ V / l
    D = (do * out).sum(1)
    P = np.exp(S - lse[:, None])
    dS = P * (DO @ V.T - D[:, None]) * scale
    return out, lse, r(dS) @ K, r(dS).T @ Q, r(P).T @ DO


def main():
    rng = np.random.default_rng(1)
    starts = [{0, 7, 8, 40, 100, 130}, {0, 63, 64, 200}]  # the test's two rows
    names = ("out", "lse", "dq", "dk", "dv")
    worst, wrong_mask, wrong_scale = dict.fromkeys(names, 0.0), dict.fromkeys(names, np.inf), dict.fromkeys(names, np.inf)

    def err(name, a, b):
        return np.abs(a - b).max() if name == "lse" else np.linalg.norm(a - b) / np.linalg.norm(b)

    # T = 1 has exact dq = dk = 0 (one key per query): the test checks only finiteness there.
    # The test's cases, each of its query heads (4 or 8 in turn) on its own.
    index = 0
    for T in (1, 17, 64, 129, 300):
        for hd in (16, 37, 64, 128):
            heads, index = 8 if index % 2 else 4, index + 1
            if T == 1:
                continue
            for row in [r for r in starts for _ in range(heads)]:
                seg = seg_starts(T, row)
                q, k, v, do = (rng.standard_normal((T, hd)) for _ in range(4))
                scale = 1 / np.sqrt(hd)
                exact = attention(q, k, v, do, seg, scale, False)
                runs = (attention(q, k, v, do, seg, scale, True), attention(q, k, v, do, np.zeros(T, int), scale, False),
                        attention(q, k, v, do, seg, 1.1 * scale, False))
                for i, n in enumerate(names):
                    worst[n] = max(worst[n], err(n, runs[0][i], exact[i]))
                    if any(0 < s < T for s in row):  # else the row is one document: causal is right
                        wrong_mask[n] = min(wrong_mask[n], err(n, runs[1][i], exact[i]))
                    wrong_scale[n] = min(wrong_scale[n], err(n, runs[2][i], exact[i]))
    for n in names:
        print(f"{n}: bf16 rounding worst {worst[n]:.2e}; causal-only mask at least {wrong_mask[n]:.2e}; "
              f"scores x1.1 at least {wrong_scale[n]:.2e}")


if __name__ == "__main__":
    main()
