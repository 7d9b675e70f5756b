#!/usr/bin/env python3
"""The two fastText models of the model-based peer benchmark (run_bench.py --lid-model
--classifier), trained here because nothing can be downloaded:

  lid.bin          language ID in lid.176's format (labels __label__ko, __label__en,
                   __label__fr, ...), trained exactly as tests/python/test_data_langid_fasttext.py
                   does (half of ../shared/data ko/en text and of 60 languages' Debian
                   gettext catalogues)
  ko-toxicity.bin  the Korean toxicity recipe of docs/data.md (korean_hate_speech)

  python3 bench/data/make_models.py --kormo build/kormo -o out/models
"""
import argparse
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "python"))
from conftest import SHARED_DATA  # noqa: E402
from test_data_langid_fasttext import split_sets, train_model  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kormo", default=str(ROOT / "build" / "kormo"))
    ap.add_argument("-o", "--out", required=True)
    a = ap.parse_args()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    train, _ = split_sets(a.kormo, SHARED_DATA)
    train_model(a.kormo, train, out)
    khs = SHARED_DATA / "bench/ko/korean_hate_speech/labeled"
    k = lambda *args: subprocess.run([a.kormo, "-q", "data", *map(str, args)], check=True)
    k("ingest", khs / "train.tsv", "--format", "tsv", "--field", "comments", "--name", "khs", "-o", out / "tox-train.jsonl")
    k("classify", "train", out / "tox-train.jsonl", "--label-field", "hate", "--label-map", "none=clean",
      "--label-map", "offensive=toxic", "--label-map", "hate=toxic", "--dim", 16, "--word-ngrams", 1, "--minn", 1,
      "--maxn", 3, "--epoch", 20, "-o", out / "ko-toxicity.bin")
    print(f"{out / 'lid.bin'}, {out / 'ko-toxicity.bin'}")


if __name__ == "__main__":
    main()
