"""A short real pretraining run on ../shared/data Korean and English text.

The whole native path: documents JSONL → `kormo tokenizer train` → `kormo shard --docs`
→ `kormo pretrain`. The validation loss per language must end well below the
unigram baseline (cross-entropy of the validation tokens under the training unigram
distribution), which a model only beats by learning context.
"""
import collections
import json
import math

from conftest import run_kormo
from engine_helpers import write_config  # also sets OMP_WAIT_POLICY for the kormo runs

VOCAB = 2048


def korean_docs(shared_data, max_chars):
    docs, total = [], 0
    for path in sorted((shared_data / "corpora" / "ko" / "petitions").glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            text = json.loads(line)["content"].strip()
            if len(text) > 200:
                docs.append(text)
                total += len(text)
            if total > max_chars:
                return docs
    return docs


def english_docs(shared_data, max_chars):
    docs, total = [], 0
    for path in sorted((shared_data / "corpora" / "en" / "gutenberg").glob("*.txt")):
        text = path.read_text(encoding="utf-8-sig", errors="replace").replace("\r\n", "\n")
        for para in text.split("\n\n\n"):
            para = para.strip()
            if len(para) > 300:
                docs.append(para[:4000])
                total += len(docs[-1])
            if total > max_chars:
                return docs
    return docs


def test_short_run_beats_unigram_for_korean_and_english(kormo_bin, shared_data, tmp_path):
    from tokenizers import Tokenizer  # only to count unigrams; parity with kormo is tested elsewhere

    corpora = {"ko": korean_docs(shared_data, 500_000), "en": english_docs(shared_data, 1_200_000)}
    for lang, docs in corpora.items():
        with open(tmp_path / f"{lang}.docs.jsonl", "w") as f:
            for text in docs:
                f.write(json.dumps({"text": text, "lang": lang}, ensure_ascii=False) + "\n")
    run_kormo(kormo_bin, "-q", "tokenizer", "train", "-o", tmp_path / "tok", "--vocab-size", VOCAB,
              "--special", "<|BOS|>", "<|EOT|>", "<|PAD|>", tmp_path / "ko.docs.jsonl", tmp_path / "en.docs.jsonl")
    tok = Tokenizer.from_file(str(tmp_path / "tok" / "tokenizer.json"))
    eot = tok.token_to_id("<|EOT|>")

    sources = {}
    for lang in corpora:
        run_kormo(kormo_bin, "-q", "shard", "--docs", tmp_path / f"{lang}.docs.jsonl", "--tokenizer", tmp_path / "tok",
                  "--out", tmp_path / f"{lang}.ktok")
        sources[lang] = (tmp_path / f"{lang}.ktok", 1.0)

    model = dict(vocab_size=VOCAB, hidden_size=128, intermediate_size=352, num_layers=3, num_heads=4,
                 num_kv_heads=2, head_dim=32, max_seq_len=128)
    data = dict(batch_size=8, seq_len=128, val_fraction=0.05, val_tokens=16384)
    train = dict(steps=400, lr=4e-3, warmup_frac=0.04, decay_frac=0.3, threads=2, seed=1,
                 tokenizer=str(tmp_path / "tok" / "tokenizer.json"))
    cfg = write_config(tmp_path / "pretrain.toml", tmp_path / "run", sources, model, data, train)
    run_kormo(kormo_bin, "-q", "pretrain", cfg)
    final = json.loads((tmp_path / "run" / "metrics.jsonl").read_text().splitlines()[-1])
    assert (tmp_path / "run" / "step-0000400" / "tokenizer.json").exists()

    results = {}
    # Unigram baseline per language from the shards' own ids (add-one smoothed).
    for lang, docs in corpora.items():
        counts = collections.Counter()
        for enc in tok.encode_batch(docs, add_special_tokens=False):
            counts.update(enc.ids + [eot])  # targets: BOS is only ever an input
        total = sum(counts.values())
        unigram = -sum(c * math.log((c + 1) / (total + VOCAB)) for c in counts.values()) / total
        val = final[f"val_loss_{lang}"]
        print(f"{lang}: val loss {val:.3f} nats, unigram {unigram:.3f}, bpb {final[f'val_bpb_{lang}']:.3f}")
        results[lang] = (val, unigram)
    for lang, (val, unigram) in results.items():
        assert val < unigram - 0.5, f"{lang}: validation loss {val:.3f} not well below unigram {unigram:.3f}"
        assert 0 < final[f"val_bpb_{lang}"] < 8
