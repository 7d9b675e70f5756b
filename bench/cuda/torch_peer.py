"""The CUDA peer: the same decoder in PyTorch on the same GPU, as a speed-minded user runs it —
Hugging Face LlamaForCausalLM, SDPA attention, bf16 autocast over fp32 master weights, fused
AdamW — eager and under torch.compile. Shapes and the MFU formula match scripts/gpu-check.sh's
kormo runs (MFU = tokens/s × (6 × matmul params + 6·L·heads·head_dim·T) / 989 TFLOP/s).
    python3 bench/cuda/torch_peer.py --size 126m|1b [--batch 8 --seq 2048 --steps 12]
Prints one line per mode: median tokens/s over steps 3.., s/step, MFU, peak GPU memory.
"""
import argparse
import statistics
import time

import torch
from transformers import LlamaConfig, LlamaForCausalLM

SIZES = {  # vocab, hidden, ffn, layers, heads, kv heads, head_dim (as gpu-check's configs)
    "126m": (32768, 768, 2048, 12, 12, 4, 64),
    "1b": (125184, 2048, 6144, 16, 16, 8, 128),
}


def flops_per_token(V, C, F, L, H, KV, D, T):
    matmul = L * (C * H * D + 2 * C * KV * D + H * D * C + 3 * C * F) + C * V
    return 6 * matmul + 12 * L * H * D * T / 2


def run(mode, size, batch, seq, steps):
    V, C, F, L, H, KV, D = SIZES[size]
    torch.manual_seed(0)
    cfg = LlamaConfig(vocab_size=V, hidden_size=C, intermediate_size=F, num_hidden_layers=L,
                      num_attention_heads=H, num_key_value_heads=KV, head_dim=D, max_position_embeddings=seq,
                      tie_word_embeddings=False, attn_implementation="sdpa")
    model = LlamaForCausalLM(cfg).cuda().float().train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.033,
                            fused=True)
    step_fn = model
    if mode == "compile":
        step_fn = torch.compile(model)
    torch.cuda.reset_peak_memory_stats()
    times = []
    for _ in range(steps):
        x = torch.randint(0, V, (batch, seq + 1), device="cuda")
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        with torch.autocast("cuda", dtype=torch.bfloat16):
            loss = step_fn(input_ids=x[:, :-1], labels=x[:, :-1]).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    dt = statistics.median(times[2:])
    tps = batch * seq / dt
    mfu = tps * flops_per_token(V, C, F, L, H, KV, D, seq) / 989e12
    print(f"torch {torch.__version__} {mode:7s} {size} B={batch} T={seq}: {tps:,.0f} tokens/s, {dt:.3f} s/step, "
          f"MFU {100 * mfu:.1f}%, peak {torch.cuda.max_memory_allocated() / 2**30:.1f} GiB "
          f"(median of steps 3..{steps}; loss {loss.item():.3f})", flush=True)
    del model, opt, step_fn
    torch.cuda.empty_cache()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", default="126m", choices=SIZES)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--seq", type=int, default=2048)
    ap.add_argument("--steps", type=int, default=12)
    ap.add_argument("--modes", default="eager,compile")
    a = ap.parse_args()
    for mode in a.modes.split(","):
        run(mode, a.size, a.batch, a.seq, a.steps)


if __name__ == "__main__":
    main()
