"""kormo sft against references: the masked, packed batch against transformers'
apply_chat_template and the tokenizer's offsets, and one SFT step against PyTorch.

The batch comes from `kormo sft --dump-batch` (the first training batch of the run); the
step from `kormo sft` with steps = 1. Its loss and kormo's gradients of that batch must
equal the plain PyTorch Llama's (test_engine_vs_torch.reference_loss), and its checkpoint
torch's AdamW step from the init weights with those gradients.
Error measure: max|a - b| / max|b| ≤ 1e-4 (loss: relative difference).
"""
import json

import numpy as np
import torch
from safetensors.numpy import load_file

from conftest import run_kormo
from test_engine_vs_torch import reference_loss, rel_err

CONVERSATIONS = [
    {"conversation": [{"role": "user", "content": "What is 2 plus 3?"},
                      {"role": "assistant", "content": "2 plus 3 is 5.", "reasoning_content": "Two and three make five."}],
     "lang": "en"},
    {"messages": [{"role": "system", "content": "짧게 답하세요."}, {"role": "user", "content": "안녕하세요?"},
                  {"role": "assistant", "content": "안녕하세요! 반갑습니다."}, {"role": "user", "content": "4 더하기 4는?"},
                  {"role": "assistant", "content": "8입니다.", "reasoning_content": "4와 4를 더하면 8."}], "lang": "ko"},
    {"conversation": [{"role": "user", "content": "Say hi."}, {"role": "assistant", "content": "Hi!"}], "lang": "en"},
]


def expected_tokens(tok, conv, thinking):
    """(ids, trained) from transformers: the rendering, assistant spans by the prefix rule, offsets."""
    msgs = [dict(m) for m in conv]
    kwargs = {}
    if not thinking:
        for m in msgs:
            m.pop("reasoning_content", None)
        kwargs["enable_thinking"] = False
    text = tok.apply_chat_template(msgs, tokenize=False, **kwargs)
    spans = []
    for i, m in enumerate(msgs):
        if m["role"] != "assistant":
            continue
        head = tok.apply_chat_template(msgs[:i], tokenize=False, add_generation_prompt=True) if i else ""
        turn = tok.apply_chat_template(msgs[: i + 1], tokenize=False, **kwargs)
        assert turn.startswith(head) and text.startswith(turn)
        spans.append((len(head), len(turn)))
    enc = tok(text, add_special_tokens=False, return_offsets_mapping=True)
    trained = [int(any(a < e and s < b for a, b in spans)) for s, e in enc["offset_mapping"]]
    return enc["input_ids"], trained


def setup_run(kormo_bin, tmp_path, shared_data, thinking, train):
    text = tmp_path / "text.txt"
    if (tmp_path / "init").exists():
        return write_config(tmp_path, thinking, train)
    lines = (shared_data / "corpora/en/tinyshakespeare/input.txt").read_text().splitlines()[:800]
    ko = (shared_data / "corpora/ko/chatbot_qa/ChatbotData.csv").read_text(encoding="utf-8").splitlines()[:800]
    text.write_text("\n".join(lines + ko) + "\n", encoding="utf-8")
    run_kormo(kormo_bin, "-q", "tokenizer", "train", "-o", tmp_path / "tok", "--vocab-size", 1000, text)
    (tmp_path / "m.toml").write_text("[model]\nvocab_size = 1024\nhidden_size = 32\nintermediate_size = 48\n"
                                     "num_layers = 2\nnum_heads = 4\nnum_kv_heads = 2\nhead_dim = 8\nmax_seq_len = 128\n")
    run_kormo(kormo_bin, "-q", "model", "init", tmp_path / "m.toml", tmp_path / "init")
    return write_config(tmp_path, thinking, train)


def write_config(tmp_path, thinking, train):
    data = tmp_path / "conv.jsonl"
    data.write_text("".join(json.dumps(c, ensure_ascii=False) + "\n" for c in CONVERSATIONS), encoding="utf-8")
    cfg = tmp_path / "sft.toml"
    keys = "\n".join(f"{k} = {json.dumps(v)}" for k, v in train.items())
    cfg.write_text(f'[train]\ninit = "{tmp_path / "init"}"\ntokenizer = "{tmp_path / "tok"}"\n'
                   f'out_dir = "{tmp_path / "out"}"\nthreads = 2\n{keys}\n'
                   f'[data]\nseq_len = 96\nbatch_size = 4\nval_fraction = 0.0\nthinking = "{thinking}"\n'
                   f'sources.chat = {{ files = ["{data}"] }}\n')
    return cfg


def segments(batch):
    """Each packed conversation of the batch as (input ids, targets)."""
    B, T = batch["B"], batch["T"]
    out = []
    for b in range(B):
        row = slice(b * T, (b + 1) * T)
        ins, tg, doc = batch["inputs"][row], batch["targets"][row], batch["doc"][row]
        start = 0
        for t in range(1, T + 1):
            if t == T or doc[t] != doc[t - 1]:
                out.append((ins[start:t], tg[start:t]))
                start = t
    return out


def test_batch_masks_exactly_the_assistant_tokens(kormo_bin, tmp_path, shared_data):
    from transformers import PreTrainedTokenizerFast
    for thinking in ("on", "off", "hybrid"):
        cfg = setup_run(kormo_bin, tmp_path, shared_data, thinking, {"steps": 1})
        run_kormo(kormo_bin, "-q", "sft", cfg, "--dump-batch", tmp_path / "batch.json")
        batch = json.loads((tmp_path / "batch.json").read_text())
        tok = PreTrainedTokenizerFast.from_pretrained(str(tmp_path / "tok"))
        want = {}
        for c in CONVERSATIONS:
            conv = c.get("conversation") or c["messages"]
            reasoned = any(m.get("reasoning_content") for m in conv)
            ids, trained = expected_tokens(tok, conv, thinking == "on" or (thinking == "hybrid" and reasoned))
            # Position t predicts token t+1 when that token is trained; the last token predicts nothing.
            tg = [ids[t + 1] if trained[t + 1] else -100 for t in range(len(ids) - 1)] + [-100]
            want[tuple(ids)] = tg
            want[tuple(ids[:-1])] = tg[:-1]  # a conversation ending the row: its last token only a target
            assert sum(trained) > 0
        found = 0
        for ins, tg in segments(batch):
            pad = tok.convert_tokens_to_ids("<|PAD|>")
            if all(i == pad for i in ins):
                assert all(t == -100 for t in tg)
                continue
            # A segment is a whole conversation (its last token only a target of the one before).
            assert tuple(ins) in want, f"thinking {thinking}: a segment is not a whole conversation"
            assert tg == want[tuple(ins)], f"thinking {thinking}: targets differ"
            found += 1
        assert found >= 3, f"thinking {thinking}: only {found} conversations in the first batch"


def test_one_sft_step_matches_torch(kormo_bin, tmp_path, shared_data):
    lr, wd, eps = 1e-2, 0.033, 1e-8
    train = {"steps": 1, "lr": lr, "weight_decay": wd, "eps": eps, "grad_clip": 0.0, "warmup_frac": 0.0, "schedule": "cosine",
             "min_lr_ratio": 1.0}
    cfg = setup_run(kormo_bin, tmp_path, shared_data, "hybrid", train)
    run_kormo(kormo_bin, "-q", "sft", cfg, "--dump-batch", tmp_path / "batch.json")
    run_kormo(kormo_bin, "-q", "sft", cfg)
    batch = json.loads((tmp_path / "batch.json").read_text())
    metrics = [json.loads(l) for l in (tmp_path / "out" / "metrics.jsonl").read_text().splitlines()]
    assert len(metrics) == 1 and abs(metrics[0]["lr"] - lr) <= 1e-12
    c = json.loads((tmp_path / "init" / "config.json").read_text())
    c.setdefault("head_dim", c["hidden_size"] // c["num_attention_heads"])
    P = {k: torch.from_numpy(v.copy()) for k, v in load_file(str(tmp_path / "init" / "model.safetensors")).items()}
    B, T = batch["B"], batch["T"]
    inputs = torch.tensor(batch["inputs"]).view(B, T)
    targets = torch.tensor(batch["targets"]).view(B, T)
    doc = torch.tensor(batch["doc"]).view(B, T)
    assert (targets >= 0).sum() > 10 and (targets < 0).sum() > 10

    params = {k: torch.nn.Parameter(v.clone()) for k, v in P.items()}
    _, loss = reference_loss(c, params, inputs, targets, doc, 0.0)
    loss.backward()
    assert abs(metrics[0]["loss"] - loss.item()) / loss.item() <= 1e-4
    # The gradients of that batch (kormo model check runs the loop's forward/backward).
    run_kormo(kormo_bin, "model", "check", "--model", tmp_path / "init", "--batch", tmp_path / "batch.json",
              "--out", tmp_path / "check.safetensors")
    check = load_file(str(tmp_path / "check.safetensors"))
    for name, p in params.items():
        e = rel_err(check["grad." + name], p.grad)
        assert e <= 1e-4, f"gradient of {name}: relative error {e:.2e}"
    # AdamW's first step moves each weight by about lr · g / (|g| + eps), so a gradient entry near
    # eps in size turns rounding far below the gradients' tolerance into a visible weight
    # difference: the update is checked as test_engine_vs_torch checks it, torch's AdamW fed
    # kormo's gradients of the batch. The SFT step's weights matching it shows the step
    # trained on exactly this masked batch with these gradients.
    for k, p in params.items():
        p.grad = torch.from_numpy(check["grad." + k].copy())
    no_decay = [p for k, p in params.items() if "norm" in k or "embed_tokens" in k]
    decay = [p for k, p in params.items() if not ("norm" in k or "embed_tokens" in k)]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": wd}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=lr, betas=(0.9, 0.95), eps=eps)
    opt.step()
    got = load_file(str(tmp_path / "out" / "step-0000001" / "model.safetensors"))
    for name, p in params.items():
        e = rel_err(got[name], p.detach())
        assert e <= 1e-4, f"weights of {name} after one SFT step: relative error {e:.2e}"
    # Something was learnt (the comparison is not between two copies of the init).
    assert max(rel_err(got[k], P[k]) for k in P) > 1e-3
