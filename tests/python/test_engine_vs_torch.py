"""The CPU engine against a PyTorch reference on random weights.

Model: GQA (4 query heads, 2 KV heads), 2 layers; batch rows pack several documents
(attention masked across them, RoPE positions restarting per document) and contain
ignored targets (-100). Compared through the hidden debug verb `kormo model check`.

Error measure (per tensor): max|a - b| / max|b|, a = kormo, b = torch; must be ≤ 1e-4.
"""
import json
import math

import numpy as np
import pytest
import torch
from safetensors.numpy import load_file
from safetensors.torch import save_file

from conftest import run_kormo

CFG = dict(vocab_size=64, hidden_size=32, intermediate_size=48, num_hidden_layers=2, num_attention_heads=4,
           num_key_value_heads=2, head_dim=8, rope_theta=500000.0, rms_norm_eps=1e-5, max_position_embeddings=64,
           model_type="llama", architectures=["LlamaForCausalLM"], tie_word_embeddings=False,
           bos_token_id=0, eos_token_id=1, pad_token_id=2)


def param_shapes(c):
    C, Q, KV, F, V = (c["hidden_size"], c["num_attention_heads"] * c["head_dim"],
                      c["num_key_value_heads"] * c["head_dim"], c["intermediate_size"], c["vocab_size"])
    shapes = {"model.embed_tokens.weight": (V, C)}
    for i in range(c["num_hidden_layers"]):
        p = f"model.layers.{i}."
        shapes.update({p + "input_layernorm.weight": (C,), p + "self_attn.q_proj.weight": (Q, C),
                       p + "self_attn.k_proj.weight": (KV, C), p + "self_attn.v_proj.weight": (KV, C),
                       p + "self_attn.o_proj.weight": (C, Q), p + "post_attention_layernorm.weight": (C,),
                       p + "mlp.gate_proj.weight": (F, C), p + "mlp.up_proj.weight": (F, C),
                       p + "mlp.down_proj.weight": (C, F)})
    shapes["model.norm.weight"] = (C,)
    shapes["lm_head.weight"] = (V, C)
    return shapes


def random_params(c, seed=0):
    g = torch.Generator().manual_seed(seed)
    out = {}
    for name, shape in param_shapes(c).items():
        if len(shape) == 1:
            out[name] = 1.0 + 0.1 * torch.randn(shape, generator=g)
        else:
            out[name] = 0.2 * torch.randn(shape, generator=g)
    return out


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


def reference_loss(c, P, inputs, targets, doc, z_loss):
    """Plain PyTorch Llama forward with a document-causal mask; returns (logits, loss)."""
    B, T = inputs.shape
    nh, nkv, hd, eps = c["num_attention_heads"], c["num_key_value_heads"], c["head_dim"], c["rms_norm_eps"]

    def rms(x, w):
        return w * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps))

    seg_start = torch.zeros_like(doc)
    for b in range(B):
        for t in range(1, T):
            seg_start[b, t] = seg_start[b, t - 1] if doc[b, t] == doc[b, t - 1] else t
    pos = torch.arange(T)[None, :] - seg_start
    inv_freq = 1.0 / (c["rope_theta"] ** (torch.arange(0, hd, 2, dtype=torch.int64).float() / hd))
    ang = pos.float()[..., None] * inv_freq
    emb = torch.cat((ang, ang), dim=-1)
    cos, sin = emb.cos()[:, :, None, :], emb.sin()[:, :, None, :]
    allowed = (torch.arange(T)[None, :, None] >= torch.arange(T)[None, None, :]) & (doc[:, :, None] == doc[:, None, :])
    mask = torch.where(allowed, 0.0, float("-inf"))[:, None, :, :]
    x = P["model.embed_tokens.weight"][inputs]
    for i in range(c["num_hidden_layers"]):
        p = f"model.layers.{i}."
        h = rms(x, P[p + "input_layernorm.weight"])
        q = (h @ P[p + "self_attn.q_proj.weight"].T).view(B, T, nh, hd)
        k = (h @ P[p + "self_attn.k_proj.weight"].T).view(B, T, nkv, hd)
        v = (h @ P[p + "self_attn.v_proj.weight"].T).view(B, T, nkv, hd)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        rep = nh // nkv
        q, k, v = q.transpose(1, 2), k.repeat_interleave(rep, 2).transpose(1, 2), v.repeat_interleave(rep, 2).transpose(1, 2)
        att = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(hd) + mask, dim=-1) @ v
        x = x + att.transpose(1, 2).reshape(B, T, nh * hd) @ P[p + "self_attn.o_proj.weight"].T
        h = rms(x, P[p + "post_attention_layernorm.weight"])
        m = torch.nn.functional.silu(h @ P[p + "mlp.gate_proj.weight"].T) * (h @ P[p + "mlp.up_proj.weight"].T)
        x = x + m @ P[p + "mlp.down_proj.weight"].T
    logits = rms(x, P["model.norm.weight"]) @ P["lm_head.weight"].T
    flat, tgt = logits.reshape(B * T, -1), targets.reshape(-1)
    valid = tgt >= 0
    loss = torch.nn.functional.cross_entropy(flat, tgt, ignore_index=-100)
    if z_loss:
        loss = loss + z_loss * (torch.logsumexp(flat[valid], -1) ** 2).mean()
    return logits, loss


def rel_err(a, b):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-30))


# chunk_rows 5: the training Runner's LM head and loss in chunks of 5 of the 24 rows (the
# last one partial), its weight gradient summed over them.
@pytest.mark.parametrize("z_loss,chunk_rows", [(0.0, 0), (1e-3, 0), (1e-3, 5)])
def test_forward_backward_and_adamw_match_torch(kormo_bin, tmp_path, z_loss, chunk_rows):
    torch.manual_seed(1)
    B, T = 2, 12
    inputs = torch.randint(3, CFG["vocab_size"], (B, T))
    targets = torch.randint(3, CFG["vocab_size"], (B, T))
    targets[0, 3] = targets[0, 8] = targets[1, 0] = -100
    doc = torch.tensor([[0, 0, 0, 0, 1, 1, 1, 1, 1, 2, 2, 2], [0] * T])
    P = random_params(CFG)
    mdir = tmp_path / "m"
    mdir.mkdir()
    (mdir / "config.json").write_text(json.dumps(CFG))
    save_file({k: v.contiguous() for k, v in P.items()}, str(mdir / "model.safetensors"))
    (tmp_path / "batch.json").write_text(json.dumps(
        {"B": B, "T": T, "inputs": inputs.flatten().tolist(), "targets": targets.flatten().tolist(),
         "doc": doc.flatten().tolist()}))
    lr, wd = 1e-2, 0.033
    run_kormo(kormo_bin, "model", "check", "--model", mdir, "--batch", tmp_path / "batch.json",
              "--out", tmp_path / "out.safetensors", "--z-loss", z_loss, "--lr", lr, "--weight-decay", wd,
              "--loss-chunk-rows", chunk_rows)
    out = load_file(str(tmp_path / "out.safetensors"))

    leaves = {k: v.clone().requires_grad_(True) for k, v in P.items()}
    logits, loss = reference_loss(CFG, leaves, inputs, targets, doc, z_loss)
    loss.backward()
    assert rel_err(out["logits"].reshape(B, T, -1), logits.detach()) <= 1e-4
    # Forward without targets (inference Runner, one layer's activations reused) gives the
    # training forward's logits exactly when both run one LM-head GEMM; last-position
    # logits, and logits of 5-row chunks, are those rows from GEMMs of other shapes, so
    # equal up to the order of their fp32 sums.
    if chunk_rows == 0:
        assert np.array_equal(out["logits_inference"], out["logits"])
    else:
        assert rel_err(out["logits"], out["logits_inference"]) <= 1e-6
    assert rel_err(out["logits_last"], out["logits"].reshape(B, T, -1)[:, -1, :]) <= 1e-6
    assert abs(float(out["loss"][0]) - loss.item()) / abs(loss.item()) <= 1e-4
    for name, p in leaves.items():
        e = rel_err(out["grad." + name], p.grad)
        assert e <= 1e-4, f"gradient of {name}: relative error {e:.2e}"

    # AdamW: torch.optim.AdamW on the same gradients (kormo's), same decay groups:
    # no decay for embeddings and norm weights, decay for linear weights incl. lm_head.
    params = {k: torch.nn.Parameter(v.clone()) for k, v in P.items()}
    for k, p in params.items():
        p.grad = torch.from_numpy(out["grad." + k].copy())
    no_decay = [p for k, p in params.items() if "norm" in k or "embed_tokens" in k]
    decay = [p for k, p in params.items() if not ("norm" in k or "embed_tokens" in k)]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": wd}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=lr, betas=(0.9, 0.95), eps=1e-8)
    opt.step()
    for name, p in params.items():
        e = rel_err(out["updated." + name], p.detach())
        assert e <= 1e-4, f"AdamW update of {name}: relative error {e:.2e}"


def test_document_mask_changes_the_result(kormo_bin, tmp_path):
    """Guard against a reference and engine that both ignore documents: packing must matter."""
    torch.manual_seed(2)
    B, T = 1, 10
    inputs = torch.randint(3, CFG["vocab_size"], (B, T))
    P = random_params(CFG, seed=3)
    one = reference_loss(CFG, P, inputs, inputs, torch.zeros(B, T, dtype=torch.long), 0)[0]
    two = reference_loss(CFG, P, inputs, inputs, torch.tensor([[0] * 5 + [1] * 5]), 0)[0]
    assert torch.allclose(one[0, :5], two[0, :5], atol=1e-6)
    assert not torch.allclose(one[0, 5:], two[0, 5:], atol=1e-3)
