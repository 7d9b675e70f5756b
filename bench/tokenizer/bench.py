#!/usr/bin/env python3
"""Tokenizer benchmark: kormo vs HF tokenizers on the same corpus, same machine, same run.

  python3 bench/tokenizer/make_corpus.py          # once: bench/out/tokenizer/*.txt
  python3 bench/tokenizer/bench.py [--runs 3] [--vocab 32000,125000]

Training: wall time and peak RSS (/usr/bin/time -v), kormo and HF alternating, medians.
Compression: bytes/token on held-out Korean and English, kormo- vs HF-trained, and against an
English-only 50K byte-level BPE (GPT-2 stand-in: no GPT-2 vocabulary is available offline).
Encoding: MB/s with 1 and 2 threads, kormo CLI (wall time incl. loading and writing ids) vs HF
encode_batch (timed inside Python, excluding loading), same tokenizer.json.
"""
import argparse
import json
import os
import pathlib
import re
import statistics
import subprocess
import time

ROOT = pathlib.Path(__file__).resolve().parents[2]
OUT = ROOT / "bench" / "out" / "tokenizer"
KORMO = os.environ.get("KORMO_BIN", str(ROOT / "build" / "kormo"))
HERE = pathlib.Path(__file__).resolve().parent


def timed(cmd, env=None):
    """Runs cmd under /usr/bin/time -v; returns (wall seconds, peak RSS MB)."""
    p = subprocess.run(["/usr/bin/time", "-v", *map(str, cmd)], capture_output=True, text=True, env=env)
    if p.returncode != 0:
        raise SystemExit(f"{' '.join(map(str, cmd))} failed:\n{p.stderr[-3000:]}")
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", p.stderr).group(1)
    parts = [float(x) for x in wall.split(":")]
    secs = sum(v * 60 ** i for i, v in enumerate(reversed(parts)))
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", p.stderr).group(1)) / 1024
    return secs, rss


def bytes_per_token(tok_dir, files):
    out = subprocess.run([KORMO, "tokenizer", "stats", "-t", str(tok_dir), "--json", *map(str, files)], capture_output=True,
                         text=True, check=True).stdout
    langs = json.loads(out)["languages"]
    return {k: langs[k]["bytes_per_token"] for k in ("ko", "en") if k in langs}


def hf_bytes_per_token(tok_dir, path):
    from tokenizers import Tokenizer
    tok = Tokenizer.from_file(str(pathlib.Path(tok_dir) / "tokenizer.json"))
    lines = [l for l in open(path, encoding="utf-8").read().split("\n") if l]
    n = sum(len(e.ids) for e in tok.encode_batch(lines))
    return sum(len(l.encode()) for l in lines) / n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--vocab", default="32000,125000")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--encode-only", action="store_true", help="only the encoding throughput part")
    args = ap.parse_args()
    train = OUT / "train.txt"
    ko, en = OUT / "heldout_ko.txt", OUT / "heldout_en.txt"
    results = {"corpus_mb": train.stat().st_size / 1e6, "train": {}, "compression": {}, "encode": {}}
    print(f"corpus {results['corpus_mb']:.1f} MB, {args.runs} runs, threads {args.threads}")

    for vocab in [] if args.encode_only else [int(v) for v in args.vocab.split(",")]:
        k_dir, h_dir = OUT / f"kormo_{vocab}", OUT / f"hf_{vocab}"
        k_runs, h_runs = [], []
        env = dict(os.environ, RAYON_NUM_THREADS=str(args.threads))
        for r in range(args.runs):
            k_runs.append(timed([KORMO, "-q", "tokenizer", "train", "-o", k_dir, "--vocab-size", vocab,
                                 "--threads", args.threads, train]))
            h_runs.append(timed(["python3", HERE / "hf_train.py", vocab, h_dir, train], env=env))
            print(f"  vocab {vocab} run {r}: kormo {k_runs[-1][0]:.1f} s {k_runs[-1][1]:.0f} MB | "
                  f"HF {h_runs[-1][0]:.1f} s {h_runs[-1][1]:.0f} MB", flush=True)
        k_t, h_t = statistics.median(t for t, _ in k_runs), statistics.median(t for t, _ in h_runs)
        k_m, h_m = statistics.median(m for _, m in k_runs), statistics.median(m for _, m in h_runs)
        results["train"][vocab] = {"kormo_s": k_t, "hf_s": h_t, "speedup": h_t / k_t, "kormo_rss_mb": k_m,
                                   "hf_rss_mb": h_m, "runs": args.runs}
        print(f"train {vocab}: kormo {k_t:.2f} s / {k_m:.0f} MB, HF {h_t:.2f} s / {h_m:.0f} MB, "
              f"speedup {h_t / k_t:.2f}x, memory ratio {k_m / h_m:.2f}")
        kb, hb = bytes_per_token(k_dir, [ko, en]), bytes_per_token(h_dir, [ko, en])
        # Cross-check: HF itself encoding with the kormo-trained file gives the same figure.
        hk = hf_bytes_per_token(k_dir, ko)
        results["compression"][vocab] = {"kormo": kb, "hf": hb, "hf_encoder_on_kormo_ko": hk,
                                         "ko_diff_pct": 100 * (kb["ko"] / hb["ko"] - 1),
                                         "en_diff_pct": 100 * (kb["en"] / hb["en"] - 1)}
        print(f"bytes/token {vocab}: kormo ko {kb['ko']:.3f} en {kb['en']:.3f} | HF ko {hb['ko']:.3f} "
              f"en {hb['en']:.3f} | diff ko {results['compression'][vocab]['ko_diff_pct']:+.2f}% "
              f"en {results['compression'][vocab]['en_diff_pct']:+.2f}%")

    # GPT-2 stand-in: English-only 50K byte-level BPE.
    g_dir = OUT / "en_only_50k"
    if not args.encode_only and not (g_dir / "tokenizer.json").exists():
        subprocess.run([KORMO, "-q", "tokenizer", "train", "-o", str(g_dir), "--vocab-size", "50257",
                        str(OUT / "en_train.txt")], check=True)
    if not args.encode_only:
        gb = bytes_per_token(g_dir, [ko, en])
        results["compression"]["en_only_50k"] = gb
        for vocab in [v for v in results["compression"] if str(v).isdigit()]:
            r = results["compression"][vocab]["kormo"]["ko"] / gb["ko"]
            results["compression"][vocab]["ko_vs_en_only"] = r
            print(f"Korean bytes/token: bilingual {vocab} / English-only 50K = {r:.2f}x")
        print(f"English-only 50K: ko {gb['ko']:.3f} en {gb['en']:.3f} bytes/token")

    # Encoding throughput on 20 MB of text not seen as a repeat (first copy of the corpus).
    enc_in = OUT / "encode_input.txt"
    with open(train, "rb") as f:
        data = f.read(20_000_000)
    enc_in.write_bytes(data[: data.rfind(b"\n") + 1])
    mb = enc_in.stat().st_size / 1e6
    tok_dir = OUT / f"kormo_{args.vocab.split(',')[0]}"
    hf_script = HERE / "hf_encode.py"
    for threads in (1, 2):
        k, h = [], []
        for _ in range(args.runs):
            t0 = time.perf_counter()
            subprocess.run([KORMO, "tokenizer", "encode", "-t", str(tok_dir), "--binary", "--threads", str(threads),
                            str(enc_in)],
                           stdout=subprocess.DEVNULL, check=True)
            k.append(time.perf_counter() - t0)
            env = dict(os.environ, RAYON_NUM_THREADS=str(threads), TOKENIZERS_PARALLELISM="true")
            out = subprocess.run(["python3", str(hf_script), str(tok_dir), str(enc_in)], capture_output=True, text=True, env=env,
                                 check=True).stdout
            h.append(float(out.split()[0]))
        kt, ht = statistics.median(k), statistics.median(h)
        results["encode"][threads] = {"kormo_mb_s": mb / kt, "hf_mb_s": mb / ht, "speedup": ht / kt}
        print(f"encode {threads} thread(s): kormo {mb / kt:.1f} MB/s, HF {mb / ht:.1f} MB/s, speedup {ht / kt:.2f}x")
    name = "results_encode.json" if args.encode_only else "results.json"
    (OUT / name).write_text(json.dumps(results, indent=2))
    print(f"wrote {OUT / name}")


if __name__ == "__main__":
    main()
