"""bf16 vs fp32 convergence: the tiny model shape trained 500 steps on real Korean and English text,
once per precision, same data, seed and schedule; compares the final validation loss (must agree
within 2%) and records bits-per-byte per language.

Tokens are UTF-8 bytes (id = byte + 3; 0 = BOS, 1 = EOT), so the run needs no trained tokenizer
and bits-per-byte is the loss in bits. The model is configs/model/tiny.toml's shape with a
byte-sized vocabulary (512). Usage (a few minutes per precision on 2 cores):
    python3 bench/train/bf16_convergence.py --kormo build/kormo [--steps 500] [--out result.json]
"""
import argparse
import glob
import json
import os
import pathlib
import subprocess
import tempfile

os.environ.setdefault("OMP_WAIT_POLICY", "passive")
DATA = pathlib.Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "corpora"
MODEL = dict(vocab_size=512, hidden_size=192, intermediate_size=512, num_layers=4, num_heads=6, num_kv_heads=2,
             head_dim=32, max_seq_len=512)


def documents(lang, budget):
    """Paragraph-sized documents of real text, up to `budget` bytes."""
    if lang == "ko":
        texts = []
        for f in sorted(glob.glob(str(DATA / "ko" / "petitions" / "*.jsonl"))):
            texts += [json.loads(l)["content"] for l in open(f, encoding="utf-8")]
    else:
        texts = [open(f, encoding="utf-8-sig", errors="replace").read()
                 for f in sorted(glob.glob(str(DATA / "en" / "gutenberg" / "*.txt")))]
    out, used = [], 0
    for t in texts:
        for para in t.replace("\r\n", "\n").split("\n\n"):
            b = para.strip().encode("utf-8")[:4000]
            if len(b) < 64:
                continue
            out.append(b)
            used += len(b)
            if used >= budget:
                return out
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kormo", default="build/kormo")
    ap.add_argument("--steps", type=int, default=500)
    ap.add_argument("--bytes", type=int, default=3_000_000, help="training text per language")
    ap.add_argument("--out", help="write the summary JSON here")
    a = ap.parse_args()
    kormo = str(pathlib.Path(a.kormo).resolve())
    with tempfile.TemporaryDirectory() as d:
        tmp = pathlib.Path(d)
        shards = {}
        for lang in ("ko", "en"):
            ids = tmp / f"{lang}.jsonl"
            with open(ids, "w") as f:
                for b in documents(lang, a.bytes):
                    f.write(json.dumps({"ids": [0] + [3 + x for x in b] + [1], "lang": lang, "bytes": len(b) + 2})
                            + "\n")
            shards[lang] = tmp / f"{lang}.ktok"
            subprocess.run([kormo, "-q", "shard", "--ids", ids, "--vocab-size", str(MODEL["vocab_size"]), "--out",
                            shards[lang]], check=True)
        result = {}
        for precision in ("fp32", "bf16"):
            out = tmp / precision
            cfg = tmp / f"{precision}.toml"
            cfg.write_text(
                "[model]\n" + "".join(f"{k} = {v}\n" for k, v in MODEL.items()) +
                "[data]\nbatch_size = 8\nseq_len = 256\nval_fraction = 0.02\nval_tokens = 32768\n" +
                "".join(f'sources.{l} = {{ shards = ["{s}"], weight = 1.0 }}\n' for l, s in shards.items()) +
                f'[train]\nout_dir = "{out}"\nsteps = {a.steps}\nlr = 2e-3\neval_every = {a.steps // 5}\n'
                f'checkpoint_every = 0\nthreads = 2\nseed = 1\nprecision = "{precision}"\n')
            subprocess.run([kormo, "-q", "pretrain", cfg], check=True)
            lines = [json.loads(l) for l in (out / "metrics.jsonl").read_text().splitlines()]
            evals = [l for l in lines if "val_loss" in l]
            tps = sorted(l["tokens_per_s"] for l in lines[1:])
            result[precision] = {"curve": [(l["step"], round(l["val_loss"], 4)) for l in evals],
                                 **{k: evals[-1][k] for k in evals[-1] if k.startswith("val_")},
                                 "train_loss": lines[-1]["loss"], "median_tokens_per_s": tps[len(tps) // 2]}
            print(precision, json.dumps(result[precision]), flush=True)
        rel = abs(result["bf16"]["val_loss"] - result["fp32"]["val_loss"]) / result["fp32"]["val_loss"]
        result["final_val_loss_rel_diff"] = rel
        print(f"final validation loss: fp32 {result['fp32']['val_loss']:.4f}  bf16 {result['bf16']['val_loss']:.4f}  "
              f"relative difference {100 * rel:.2f}% (bound 2%)")
        for lang in ("ko", "en"):
            print(f"bits per byte {lang}: fp32 {result['fp32'][f'val_bpb_{lang}']:.4f}  "
                  f"bf16 {result['bf16'][f'val_bpb_{lang}']:.4f}")
        if a.out:
            pathlib.Path(a.out).write_text(json.dumps(result, indent=1) + "\n")
        raise SystemExit(0 if rel <= 0.02 else 1)


if __name__ == "__main__":
    main()
