"""kormo data perplexity against transformers on the same checkpoint.

A kormo checkpoint directory is a Hugging Face Llama directory (config.json +
model.safetensors + tokenizer.json), which LlamaForCausalLM loads as it is. A tiny random
model with a 64-token window and a tokenizer trained on real Korean and English text score
real documents of 10 to 400 tokens, so most are scored in several rolling windows. The
reference computes lm-evaluation-harness's rolling windows itself (the first window is the
BOS token then up to 64 tokens, each later one predicts up to 64 more given the one token
before them: get_rolling_token_windows with context_len 1, made disjoint) and
sums log-softmax in float64 over a float32 forward. Checked per document: the token count
exactly, the log-likelihood and perplexity within 1e-4 relative.
"""
import json
import math

import pytest

from conftest import run_kormo

WINDOW = 64


def rolling_windows(tokens, prefix, max_len):
    """lm-eval's get_rolling_token_windows + make_disjoint_window with context_len = 1."""
    out = []
    first = min(max_len, len(tokens))
    out.append(([prefix] + tokens[:first - 1], tokens[:first]))
    predicted = first
    while predicted < len(tokens):
        n = min(len(tokens) - predicted, max_len)
        end = predicted + n
        out.append((tokens[end - max_len - 1:end - 1], tokens[end - n:end]))
        predicted = end
    return out


@pytest.fixture(scope="module")
def model_dir(kormo_bin, shared_data, tmp_path_factory):
    d = tmp_path_factory.mktemp("ppl")
    run_kormo(kormo_bin, "tokenizer", "train", "-o", d / "tok", "--vocab-size", 1000, "--threads", 2,
              "--text-field", "content", "--max-input-bytes", "2M",
              shared_data / "corpora/ko/petitions/petitions_2019-05.jsonl",
              shared_data / "corpora/en/tinyshakespeare/input.txt")
    (d / "m.toml").write_text(
        "[model]\nvocab_size = 1024\nhidden_size = 64\nintermediate_size = 128\nnum_layers = 2\n"
        f"num_heads = 4\nnum_kv_heads = 2\nhead_dim = 16\nmax_seq_len = {WINDOW}\n")
    run_kormo(kormo_bin, "model", "init", d / "m.toml", d / "model", "--seed", 7)
    for f in ("tokenizer.json", "tokenizer_config.json"):
        (d / "model" / f).write_bytes((d / "tok" / f).read_bytes())
    return d


def test_perplexity_matches_transformers(kormo_bin, shared_data, model_dir):
    import torch
    from tokenizers import Tokenizer
    from transformers import LlamaForCausalLM

    texts = []
    with open(shared_data / "corpora/ko/petitions/petitions_2019-06.jsonl", encoding="utf-8") as f:
        for line in list(f)[:12]:
            texts.append(json.loads(line)["content"][:600])
    shakespeare = (shared_data / "corpora/en/tinyshakespeare/input.txt").read_text(encoding="utf-8")
    texts += [p.strip() for p in shakespeare.split("\n\n")[100:112]]
    docs = model_dir / "docs.jsonl"
    with open(docs, "w", encoding="utf-8") as f:
        for i, t in enumerate(texts):
            f.write(json.dumps({"id": str(i), "text": t, "lang": "ko" if i < 12 else "en"}, ensure_ascii=False) + "\n")
    out = model_dir / "scored.jsonl"
    run_kormo(kormo_bin, "data", "perplexity", model_dir / "model", docs, "-o", out, "--threads", 2)
    scored = [json.loads(l) for l in open(out, encoding="utf-8")]

    tok = Tokenizer.from_file(str(model_dir / "model" / "tokenizer.json"))
    model = LlamaForCausalLM.from_pretrained(model_dir / "model", torch_dtype=torch.float32).eval()
    bos = json.loads((model_dir / "model" / "config.json").read_text())["bos_token_id"]
    multi = 0
    for text, doc in zip(texts, scored):
        ids = tok.encode(text, add_special_tokens=False).ids
        ll = 0.0
        windows = rolling_windows(ids, bos, WINDOW)
        multi += len(windows) > 1
        for inp, targets in windows:
            with torch.no_grad():
                logits = model(torch.tensor([inp])).logits[0].double()
            lp = torch.log_softmax(logits, -1)[len(inp) - len(targets):]
            ll += lp[torch.arange(len(targets)), torch.tensor(targets)].sum().item()
        p = doc["meta"]["perplexity"]
        assert p["tokens"] == len(ids), (doc["id"], p, len(ids))
        ref_ppl = math.exp(-ll / len(ids))
        assert p["ppl"] == pytest.approx(ref_ppl, rel=1e-4), (doc["id"], p["ppl"], ref_ppl)
        assert -p["tokens"] * math.log(p["ppl"]) == pytest.approx(ll, rel=1e-4)
    assert multi >= 12, "most documents should need several windows"
