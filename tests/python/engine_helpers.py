"""Helpers for the engine tests: pre-tokenized ids JSONL → `kormo shard` → pretrain configs."""
import json
import os
import random

# The test machine's 2 cores are shared with other jobs: OpenMP threads that spin at
# barriers (libgomp's default) then steal the CPU from the thread they wait for, and a
# run slows down ~10x. Passive waiting keeps kormo subprocesses fast there (docs/engine.md).
os.environ.setdefault("OMP_WAIT_POLICY", "passive")

from conftest import run_kormo


def synthetic_ids_jsonl(path, lang, ndocs, vocab, seed):
    """Documents with learnable structure (arithmetic progressions), BOS=0 first, EOT=1 last."""
    rnd = random.Random(seed)
    with open(path, "w") as f:
        for _ in range(ndocs):
            n, start, step = rnd.randint(10, 120), rnd.randint(3, vocab - 1), rnd.randint(1, 5)
            ids = [0] + [3 + (start + i * step) % (vocab - 3) for i in range(n)] + [1]
            f.write(json.dumps({"ids": ids, "lang": lang, "bytes": 3 * len(ids)}) + "\n")
    return path


def write_config(path, out_dir, sources, model, data=None, train=None):
    """sources: {name: (shard_path, weight)}; model/data/train: extra TOML keys."""
    lines = ["[model]"] + [f"{k} = {json.dumps(v)}" for k, v in model.items()]
    lines += ["[data]"] + [f"{k} = {json.dumps(v)}" for k, v in (data or {}).items()]
    for name, (shard, weight) in sources.items():
        lines.append(f'sources.{name} = {{ shards = ["{shard}"], weight = {weight} }}')
    lines += ["[train]", f'out_dir = "{out_dir}"'] + [f"{k} = {json.dumps(v)}" for k, v in (train or {}).items()]
    path.write_text("\n".join(lines) + "\n")
    return path


SMALL_MODEL = dict(vocab_size=256, hidden_size=48, intermediate_size=96, num_layers=2, num_heads=4,
                   num_kv_heads=2, head_dim=12, max_seq_len=64)


def small_run(kormo_bin, tmp_path, out_name="run", train=None, data=None):
    """Shards two synthetic sources and writes a short-run config; returns the config path."""
    shards = {}
    for i, lang in enumerate(["ko", "en"]):
        ids = synthetic_ids_jsonl(tmp_path / f"{lang}.jsonl", lang, 120, SMALL_MODEL["vocab_size"], seed=i)
        shard = tmp_path / f"{lang}.ktok"
        if not shard.exists():
            run_kormo(kormo_bin, "shard", "--ids", ids, "--vocab-size", SMALL_MODEL["vocab_size"], "--out", shard)
        shards[lang] = (shard, 2.0 if lang == "ko" else 1.0)
    t = dict(steps=16, lr=3e-3, eval_every=8, checkpoint_every=8, threads=2, seed=7)
    t.update(train or {})
    d = dict(batch_size=4, seq_len=32, grad_accum=2, val_fraction=0.1, val_tokens=1024)
    d.update(data or {})
    if "grad_accum" in t:  # a [data] key, accepted in `train` for brevity
        d["grad_accum"] = t.pop("grad_accum")
    return write_config(tmp_path / f"{out_name}.toml", tmp_path / out_name, shards, SMALL_MODEL, d, t)
