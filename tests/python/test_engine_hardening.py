"""Training hardening: runs stopped before their first checkpoint, corrupt trainer state,
non-finite training and weights."""
import json
import shutil

import numpy as np
import pytest
from safetensors.numpy import load_file, save_file

from conftest import run_kormo
from engine_helpers import small_run

WALL_CLOCK = {"tokens_per_s", "mfu", "step_s"}


def test_run_stopped_before_first_checkpoint_resumes_from_step_0(kormo_bin, tmp_path):
    train = dict(steps=6, eval_every=0, checkpoint_every=0)
    straight = small_run(kormo_bin, tmp_path, "straight", train=train)
    killed = small_run(kormo_bin, tmp_path, "killed", train=train)
    run_kormo(kormo_bin, "-q", "pretrain", straight)
    # A run killed before its first checkpoint leaves metrics lines and no complete
    # checkpoint (at most a .step-*.tmp): make one by removing the only checkpoint.
    run_kormo(kormo_bin, "-q", "pretrain", killed, "--max-steps", "3")
    shutil.rmtree(tmp_path / "killed" / "step-0000003")
    (tmp_path / "killed" / ".step-0000006.tmp").mkdir()
    metrics = (tmp_path / "killed" / "metrics.jsonl").read_bytes()
    assert len(metrics.splitlines()) == 3
    proc = run_kormo(kormo_bin, "pretrain", killed, check=False)
    assert proc.returncode == 1 and "pass --resume to restart it from step 0" in proc.stderr
    assert (tmp_path / "killed" / "metrics.jsonl").read_bytes() == metrics
    proc = run_kormo(kormo_bin, "pretrain", killed, "--resume")
    assert "restarting it from step 0" in proc.stderr
    a = (tmp_path / "straight" / "step-0000006" / "model.safetensors").read_bytes()
    b = (tmp_path / "killed" / "step-0000006" / "model.safetensors").read_bytes()
    assert a == b, "the restarted run's weights differ from an uninterrupted run's"

    def deterministic(path):
        return [{k: v for k, v in json.loads(l).items() if k not in WALL_CLOCK} for l in path.read_text().splitlines()]

    assert deterministic(tmp_path / "straight" / "metrics.jsonl") == deterministic(tmp_path / "killed" / "metrics.jsonl")


@pytest.fixture
def checkpointed(kormo_bin, tmp_path):
    """A run stopped at step 2 of 4 (checkpoint step-0000002); returns (config, checkpoint dir)."""
    cfg = small_run(kormo_bin, tmp_path, train=dict(steps=4, eval_every=0, checkpoint_every=2))
    run_kormo(kormo_bin, "-q", "pretrain", cfg, "--max-steps", "2")
    return cfg, tmp_path / "run" / "step-0000002"


def _set(d, path, value):
    for k in path[:-1]:
        d = d[k]
    d[path[-1]] = value


@pytest.mark.parametrize("field,value,message", [
    (("loader", "sources", 0, "index"), 10 ** 9, "index 1000000000 is outside"),
    (("loader", "sources", 0, "offset"), 10 ** 9, "offset 1000000000 is outside"),
    (("loader", "sources", 0, "epoch"), -1, "epoch must be a non-negative integer"),
    (("loader", "rng"), [1, 2], "rng must be an array of 4"),
    (("step",), 1e300, "step must be an integer"),
    (("step",), 99, "beyond the config's 4 total steps"),
    (("step",), -1, "step is -1"),
    (("updates",), 3, "updates is 3"),
    (("tokens",), -5, "tokens is -5"),
    (("loss_ema",), -1.0, "loss_ema is -1"),
    (("threads",), 0, "threads is 0"),
    (("threads",), 2.5, "threads must be an integer"),
])
def test_corrupt_trainer_state_is_a_clear_error(kormo_bin, checkpointed, field, value, message):
    cfg, ckpt = checkpointed
    sp = ckpt / "trainer_state" / "state.json"
    state = json.loads(sp.read_text())
    _set(state, field, value)
    sp.write_text(json.dumps(state))
    proc = run_kormo(kormo_bin, "pretrain", cfg, "--resume", check=False)
    assert proc.returncode == 1, proc.stderr
    assert "state.json" in proc.stderr and message in proc.stderr, proc.stderr


@pytest.mark.parametrize("file,tensor", [("model.safetensors", "model.norm.weight"),
                                         ("trainer_state/optimizer.safetensors", "adamw.v")])
def test_non_finite_checkpoint_is_refused(kormo_bin, checkpointed, file, tensor):
    cfg, ckpt = checkpointed
    path = ckpt / file
    tensors = load_file(str(path))
    assert tensor in tensors, list(tensors)
    tensors[tensor] = tensors[tensor].copy()
    tensors[tensor].flat[3] = np.nan
    save_file(tensors, str(path))
    proc = run_kormo(kormo_bin, "pretrain", cfg, "--resume", check=False)
    assert proc.returncode == 1, proc.stderr
    assert f"tensor {tensor} holds a non-finite value" in proc.stderr, proc.stderr


def test_diverged_training_stops_with_an_error(kormo_bin, tmp_path):
    cfg = small_run(kormo_bin, tmp_path, train=dict(steps=10, eval_every=0, checkpoint_every=0, max_skipped=3))
    cfg.write_text(cfg.read_text().replace("lr = 0.003", "lr = inf"))
    proc = run_kormo(kormo_bin, "pretrain", cfg, check=False)
    assert proc.returncode == 1, proc.stderr
    assert "3 updates in a row were skipped" in proc.stderr and "max_skipped = 3" in proc.stderr
    lines = [json.loads(l) for l in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert [l["skipped"] for l in lines][-3:] == [True, True, True]
    assert len(lines) < 10


def test_checkpoint_config_takes_special_ids_from_the_tokenizer(kormo_bin, tmp_path):
    from tokenizers import Tokenizer

    from engine_helpers import SMALL_MODEL, write_config

    with open(tmp_path / "docs.jsonl", "w") as f:
        for i in range(200):
            f.write(json.dumps({"text": f"document {i}: " + " ".join(f"w{(i * j) % 37}" for j in range(40))}) + "\n")
    run_kormo(kormo_bin, "-q", "tokenizer", "train", "-o", tmp_path / "tok", "--vocab-size", 1000,
              "--special", "<|BOS|>", "<|EOT|>", "<|PAD|>", tmp_path / "docs.jsonl")
    tok = Tokenizer.from_file(str(tmp_path / "tok" / "tokenizer.json"))
    want = {"bos_token_id": tok.token_to_id("<|BOS|>"), "eos_token_id": tok.token_to_id("<|EOT|>"),
            "pad_token_id": tok.token_to_id("<|PAD|>")}
    assert sorted(want.values()) != [0, 1, 2] and None not in want.values()
    run_kormo(kormo_bin, "-q", "shard", "--docs", tmp_path / "docs.jsonl", "--tokenizer", tmp_path / "tok",
              "--out", tmp_path / "d.ktok")
    model = dict(SMALL_MODEL, vocab_size=tok.get_vocab_size())
    cfg = write_config(tmp_path / "c.toml", tmp_path / "run", {"a": (tmp_path / "d.ktok", 1.0)}, model,
                       dict(batch_size=2, seq_len=16, val_fraction=0.0),
                       dict(steps=2, threads=2, tokenizer=str(tmp_path / "tok")))
    run_kormo(kormo_bin, "-q", "pretrain", cfg)
    ckpt = tmp_path / "run" / "step-0000002"
    config = json.loads((ckpt / "config.json").read_text())
    generation = json.loads((ckpt / "generation_config.json").read_text())
    for k, v in want.items():
        assert config[k] == v, (k, config[k], v)
        if k in generation:
            assert generation[k] == v, (k, generation[k], v)
