"""bf16 mixed precision (`precision = "bf16"`) against PyTorch's CPU autocast on the same weights and batch.

kormo runs every matmul with bf16 inputs and fp32 accumulation and keeps everything else in
fp32; PyTorch's `torch.autocast("cpu", dtype=torch.bfloat16)` rounds at slightly different
places (its matmul outputs are bf16 too), so the two agree to bf16 precision, not bit for bit.
Bound (docs/engine.md, the same as kormo bf16 vs kormo fp32 in tests/model/runner_bf16_test.cpp):
loss within 1e-2 relative, each gradient within 5e-2 relative L2 (‖a − b‖ / ‖b‖).
"""
import json

import numpy as np
import torch
from safetensors.numpy import load_file
from safetensors.torch import save_file

from conftest import run_kormo
from test_engine_vs_torch import CFG, random_params, reference_loss

LOSS_BOUND, GRAD_BOUND = 1e-2, 5e-2


def rel_l2(a, b):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-30))


def kormo_check(kormo_bin, tmp_path, P, batch, precision):
    mdir = tmp_path / "m"
    if not mdir.exists():
        mdir.mkdir()
        (mdir / "config.json").write_text(json.dumps(CFG))
        save_file({k: v.contiguous() for k, v in P.items()}, str(mdir / "model.safetensors"))
        (tmp_path / "batch.json").write_text(json.dumps(batch))
    out = tmp_path / f"{precision}.safetensors"
    run_kormo(kormo_bin, "model", "check", "--model", mdir, "--batch", tmp_path / "batch.json", "--out", out,
              "--precision", precision)
    return load_file(str(out))


def torch_grads(P, inputs, targets, doc, autocast):
    leaves = {k: v.clone().requires_grad_(True) for k, v in P.items()}
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
        _, loss = reference_loss(CFG, leaves, inputs, targets, doc, 0.0)
    loss.float().backward()
    return loss.item(), {k: p.grad for k, p in leaves.items()}


def test_bf16_matches_torch_autocast(kormo_bin, tmp_path):
    torch.manual_seed(4)
    B, T = 2, 24
    inputs = torch.randint(3, CFG["vocab_size"], (B, T))
    targets = torch.randint(3, CFG["vocab_size"], (B, T))
    targets[0, 5] = targets[1, 2] = -100
    doc = torch.tensor([[0] * 10 + [1] * 14, [0] * T])
    P = random_params(CFG, seed=5)
    batch = {"B": B, "T": T, "inputs": inputs.flatten().tolist(), "targets": targets.flatten().tolist(),
             "doc": doc.flatten().tolist()}
    bf16 = kormo_check(kormo_bin, tmp_path, P, batch, "bf16")
    fp32 = kormo_check(kormo_bin, tmp_path, P, batch, "fp32")
    ref_loss, ref_grads = torch_grads(P, inputs, targets, doc, autocast=True)
    fp_loss, fp_grads = torch_grads(P, inputs, targets, doc, autocast=False)

    loss = float(bf16["loss"][0])
    assert abs(loss - ref_loss) <= LOSS_BOUND * abs(ref_loss), (loss, ref_loss)
    assert abs(loss - fp_loss) <= LOSS_BOUND * abs(fp_loss), (loss, fp_loss)
    # The bf16 path really ran: its loss is not fp32's to the last bit.
    assert loss != float(fp32["loss"][0])
    for name in P:
        e = rel_l2(bf16["grad." + name], ref_grads[name])
        assert e <= GRAD_BOUND, f"gradient of {name} vs torch autocast: relative L2 error {e:.2e}"
        e32 = rel_l2(bf16["grad." + name], fp_grads[name])
        assert e32 <= GRAD_BOUND, f"gradient of {name} vs torch fp32: relative L2 error {e32:.2e}"
    # Inference and training Runners run the same bf16 GEMMs.
    assert np.array_equal(bf16["logits_inference"], bf16["logits"])


def test_unknown_precision_is_a_usage_error(kormo_bin, tmp_path):
    P = random_params(CFG, seed=5)
    batch = {"B": 1, "T": 4, "inputs": [3, 4, 5, 6], "targets": [4, 5, 6, 7], "doc": [0, 0, 0, 0]}
    mdir = tmp_path / "m"
    mdir.mkdir()
    (mdir / "config.json").write_text(json.dumps(CFG))
    save_file({k: v.contiguous() for k, v in P.items()}, str(mdir / "model.safetensors"))
    (tmp_path / "batch.json").write_text(json.dumps(batch))
    r = run_kormo(kormo_bin, "model", "check", "--model", mdir, "--batch", tmp_path / "batch.json", "--out",
                  tmp_path / "o.safetensors", "--precision", "fp16", check=False)
    assert r.returncode == 2 and "fp16" in r.stderr
