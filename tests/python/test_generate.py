"""kormo generate against transformers on a tiny LlamaForCausalLM that transformers made itself.

The model (random init, saved with save_pretrained as fp32, bf16 and fp16 safetensors)
gets a byte-level BPE tokenizer.json trained here with HF `tokenizers`. Checked:
 - greedy token ids equal `generate(do_sample=False)` for Korean and English prompts;
 - kormo's per-token log-probabilities (log-softmax of its inference logits) equal
   log-softmax of transformers' logits at every generated position (≤ 1e-4), top-5 too;
 - a bf16/fp16 checkpoint generates what transformers generates from the same rounded weights.
"""
import json
import shutil

import pytest
import torch

from conftest import run_kormo

PROMPTS = ["First Citizen:\nBefore we proceed", "대한민국 헌법 제1조", "ROMEO: O, she doth teach", "To be"]
NEW = 24


@pytest.fixture(scope="module")
def tokenizer_json(shared_data, tmp_path_factory):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    d = tmp_path_factory.mktemp("tok")
    lines = (shared_data / "corpora/en/tinyshakespeare/input.txt").read_text().splitlines()[:4000]
    law = [l for f in sorted((shared_data / "corpora/ko/law_bills").rglob("*.txt"))[:4] for l in f.read_text(encoding="utf-8", errors="ignore").splitlines()]
    (d / "train.txt").write_text("\n".join(lines + law))
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    tok.train([str(d / "train.txt")], trainers.BpeTrainer(
        vocab_size=700, special_tokens=["<|endoftext|>"], show_progress=False,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    tok.save(str(d / "tokenizer.json"))
    return d / "tokenizer.json", tok


def make_model(vocab):
    from transformers import LlamaConfig, LlamaForCausalLM
    torch.manual_seed(0)
    cfg = LlamaConfig(vocab_size=vocab, hidden_size=64, intermediate_size=160, num_hidden_layers=3,
                      num_attention_heads=8, num_key_value_heads=2, head_dim=8, max_position_embeddings=128,
                      rope_theta=500000.0, rms_norm_eps=1e-5, initializer_range=0.3, tie_word_embeddings=False,
                      bos_token_id=0, eos_token_id=0, pad_token_id=0)
    return LlamaForCausalLM(cfg).eval()


def kormo_generate(kormo_bin, model_dir, prompts, *extra):
    args = ["generate", model_dir, "--temperature", "0", "-n", NEW, "--logprobs", 5, *extra]
    for p in prompts:
        args += ["-p", p]
    return [json.loads(l) for l in run_kormo(kormo_bin, *args).stdout.splitlines()]


def hf_greedy(model, ids):
    with torch.no_grad():
        out = model.generate(torch.tensor([ids]), max_new_tokens=NEW, do_sample=False, output_logits=True,
                             return_dict_in_generate=True, pad_token_id=0)
    new = out.sequences[0, len(ids):].tolist()
    logprobs = [torch.log_softmax(l[0].double(), -1) for l in out.logits]
    return new, logprobs


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.float16])
def test_greedy_and_logprobs_equal_transformers(kormo_bin, tokenizer_json, tmp_path, dtype):
    tok_path, tok = tokenizer_json
    model = make_model(tok.get_vocab_size())
    model.to(dtype).save_pretrained(tmp_path / "m", safe_serialization=True)
    shutil.copy(tok_path, tmp_path / "m" / "tokenizer.json")
    # The reference reads the stored (rounded) weights back in fp32, as kormo does; casting the
    # model object instead would also round its RoPE inv_freq buffer to bf16/fp16.
    from transformers import LlamaForCausalLM
    model = LlamaForCausalLM.from_pretrained(tmp_path / "m", dtype=torch.float32).eval()
    results = kormo_generate(kormo_bin, tmp_path / "m", PROMPTS)
    assert len(results) == len(PROMPTS)
    for prompt, r in zip(PROMPTS, results):
        ids = tok.encode(prompt).ids
        assert r["prompt_tokens"] == len(ids)
        want, ref = hf_greedy(model, ids)
        assert r["tokens"] == want, f"{prompt!r}: kormo {r['tokens']} vs transformers {want}"
        assert len(r["logprobs"]) == len(ref)
        for pos, (e, lp) in enumerate(zip(r["logprobs"], ref)):
            assert abs(e["logprob"] - lp[e["token"]].item()) <= 1e-4, (prompt, pos)
            top = torch.topk(lp, 5)
            assert [t["token"] for t in e["top_logprobs"]] == top.indices.tolist(), (prompt, pos)
            for t, v in zip(e["top_logprobs"], top.values.tolist()):
                assert abs(t["logprob"] - v) <= 1e-4, (prompt, pos)
        if r["finish_reason"] == "length":
            assert r["text"] == tok.decode(r["tokens"])


def test_batching_does_not_change_greedy_results(kormo_bin, tokenizer_json, tmp_path):
    tok_path, tok = tokenizer_json
    make_model(tok.get_vocab_size()).save_pretrained(tmp_path / "m", safe_serialization=True)
    shutil.copy(tok_path, tmp_path / "m" / "tokenizer.json")
    together = kormo_generate(kormo_bin, tmp_path / "m", PROMPTS, "--batch", 4)
    alone = kormo_generate(kormo_bin, tmp_path / "m", PROMPTS, "--batch", 1)
    assert [r["tokens"] for r in together] == [r["tokens"] for r in alone]


def test_stop_string_cuts_the_text_before_it(kormo_bin, tokenizer_json, tmp_path):
    tok_path, tok = tokenizer_json
    make_model(tok.get_vocab_size()).save_pretrained(tmp_path / "m", safe_serialization=True)
    shutil.copy(tok_path, tmp_path / "m" / "tokenizer.json")
    free = kormo_generate(kormo_bin, tmp_path / "m", PROMPTS[:1])[0]
    text = tok.decode(free["tokens"])
    # A stop string spanning a token boundary: the last 2 characters before a boundary plus
    # the first one after it (the first printable such window of what the random model produced).
    stop = None
    for k in range(2, len(free["tokens"])):
        cut = len(tok.decode(free["tokens"][:k]))
        window = text[cut - 2:cut + 1] if cut >= 2 else ""
        if len(window) == 3 and window.isprintable() and "\ufffd" not in window:
            stop = window
            break
    assert stop is not None, text
    r = kormo_generate(kormo_bin, tmp_path / "m", PROMPTS[:1], "--stop=" + stop)[0]
    assert r["finish_reason"] == "stop"
    assert r["text"] == text[:text.index(stop)]
    # Tokens run up to the one that completed the stop string.
    k = next(k for k in range(1, len(free["tokens"]) + 1) if stop in tok.decode(free["tokens"][:k]))
    assert r["tokens"] == free["tokens"][:k]
