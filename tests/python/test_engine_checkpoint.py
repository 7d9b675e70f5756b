"""Checkpoints: Hugging Face transformers loads them with the same logits; exact resume."""
import json

import numpy as np
import pytest
import torch
from safetensors.numpy import load_file

from conftest import run_kormo
from engine_helpers import SMALL_MODEL, small_run

WALL_CLOCK = {"tokens_per_s", "mfu", "step_s"}


def test_transformers_loads_checkpoint_with_same_logits(kormo_bin, tmp_path):
    from transformers import AutoModelForCausalLM

    cfg = small_run(kormo_bin, tmp_path, train=dict(steps=4, eval_every=0, checkpoint_every=0))
    run_kormo(kormo_bin, "-q", "pretrain", cfg)
    ckpt = tmp_path / "run" / "step-0000004"
    model = AutoModelForCausalLM.from_pretrained(ckpt, dtype=torch.float32)
    assert type(model).__name__ == "LlamaForCausalLM"
    torch.manual_seed(0)
    B, T = 2, 48  # single-document rows
    inputs = torch.randint(0, 256, (B, T))
    (tmp_path / "b.json").write_text(json.dumps({"B": B, "T": T, "inputs": inputs.flatten().tolist(),
                                                 "targets": inputs.flatten().tolist(), "doc": [0] * (B * T)}))
    run_kormo(kormo_bin, "model", "check", "--model", ckpt, "--batch", tmp_path / "b.json", "--out", tmp_path / "o.st")
    ours = load_file(str(tmp_path / "o.st"))["logits"].reshape(B, T, -1)
    with torch.no_grad():
        theirs = model(inputs).logits.numpy()
    assert np.abs(ours - theirs).max() <= 1e-4
    assert np.abs(theirs).max() > 0.1  # the comparison is not between near-zero logits


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_exact_resume(kormo_bin, tmp_path, precision):
    # bf16: the resumed run rebuilds its bf16 weight copy from the saved fp32 master weights.
    straight = small_run(kormo_bin, tmp_path, "straight", train=dict(precision=precision))
    resumed = small_run(kormo_bin, tmp_path, "resumed", train=dict(precision=precision))
    run_kormo(kormo_bin, "-q", "pretrain", straight)
    run_kormo(kormo_bin, "-q", "pretrain", resumed, "--max-steps", "5")  # stops mid-way, off the checkpoint grid
    assert (tmp_path / "resumed" / "step-0000005").is_dir()
    run_kormo(kormo_bin, "-q", "pretrain", resumed, "--resume")
    a = (tmp_path / "straight" / "step-0000016" / "model.safetensors").read_bytes()
    b = (tmp_path / "resumed" / "step-0000016" / "model.safetensors").read_bytes()
    assert a == b, "resumed run's weights differ from the straight run's"

    def deterministic(path):
        return [{k: v for k, v in json.loads(l).items() if k not in WALL_CLOCK} for l in path.read_text().splitlines()]

    ma, mb = deterministic(tmp_path / "straight" / "metrics.jsonl"), deterministic(tmp_path / "resumed" / "metrics.jsonl")
    assert len(ma) == 16 and ma == mb
    assert "val_loss_ko" in ma[7] and "val_bpb_en" in ma[15]
    assert ma[-1]["loss"] < ma[0]["loss"]


def test_existing_run_is_not_overwritten(kormo_bin, tmp_path):
    cfg = small_run(kormo_bin, tmp_path, train=dict(steps=2, eval_every=0, checkpoint_every=0))
    run_kormo(kormo_bin, "-q", "pretrain", cfg)
    before = (tmp_path / "run" / "metrics.jsonl").read_bytes()
    proc = run_kormo(kormo_bin, "pretrain", cfg, check=False)
    assert proc.returncode == 1 and "--resume" in proc.stderr
    assert (tmp_path / "run" / "metrics.jsonl").read_bytes() == before


def test_spike_guard_skips_updates(kormo_bin, tmp_path):
    # spike_factor 0.5: once a running loss exists, every loss counts as a spike.
    cfg = small_run(kormo_bin, tmp_path, train=dict(steps=4, eval_every=0, checkpoint_every=2, warmup_frac=0.0,
                                                    spike_factor=0.5))
    proc = run_kormo(kormo_bin, "pretrain", cfg)
    assert "skipped the update" in proc.stderr
    lines = [json.loads(l) for l in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert [l["skipped"] for l in lines] == [False, True, True, True]
    a = (tmp_path / "run" / "step-0000002" / "model.safetensors").read_bytes()
    b = (tmp_path / "run" / "step-0000004" / "model.safetensors").read_bytes()
    assert a == b, "a skipped step changed the weights"


@pytest.mark.parametrize("dtype,torch_dtype,tol", [("bfloat16", torch.bfloat16, 2 ** -8), ("float16", torch.float16, 2 ** -11)])
def test_half_precision_checkpoints_load_in_transformers_and_kormo(kormo_bin, tmp_path, dtype, torch_dtype, tol):
    """`kormo model init --dtype` writes BF16/F16 safetensors: transformers reads the same
    tensors (rounded to nearest even from kormo's fp32 init), and kormo reads them back."""
    from transformers import AutoModelForCausalLM

    cfg = tmp_path / "m.toml"
    cfg.write_text("[model]\n" + "\n".join(f"{k} = {v}" for k, v in SMALL_MODEL.items()) + "\n")
    run_kormo(kormo_bin, "model", "init", cfg, tmp_path / "f32", "--seed", "3")
    run_kormo(kormo_bin, "model", "init", cfg, tmp_path / "half", "--seed", "3", "--dtype", dtype)
    full = load_file(str(tmp_path / "f32" / "model.safetensors"))
    model = AutoModelForCausalLM.from_pretrained(tmp_path / "half", dtype=torch_dtype)
    assert json.loads((tmp_path / "half" / "config.json").read_text())["torch_dtype"] == dtype
    for name, t in model.state_dict().items():
        ref = torch.from_numpy(full[name])
        assert t.dtype == torch_dtype
        assert torch.equal(t, ref.to(torch_dtype)), f"{name} is not fp32 rounded to {dtype}"
        assert float((t.float() - ref).abs().max()) <= tol * float(ref.abs().max())
    # kormo loads the half checkpoint (widened exactly to fp32) and its logits match
    # transformers' fp32 forward of the same rounded weights.
    torch.manual_seed(0)
    B, T = 1, 16
    inputs = torch.randint(0, SMALL_MODEL["vocab_size"], (B, T))
    (tmp_path / "b.json").write_text(json.dumps({"B": B, "T": T, "inputs": inputs.flatten().tolist(),
                                                 "targets": inputs.flatten().tolist(), "doc": [0] * (B * T)}))
    run_kormo(kormo_bin, "model", "check", "--model", tmp_path / "half", "--batch", tmp_path / "b.json",
              "--out", tmp_path / "o.st")
    ours = load_file(str(tmp_path / "o.st"))["logits"].reshape(B, T, -1)
    with torch.no_grad():
        theirs = model.float()(inputs).logits.numpy()
    assert np.abs(ours - theirs).max() <= 1e-4 * max(1.0, np.abs(theirs).max())
