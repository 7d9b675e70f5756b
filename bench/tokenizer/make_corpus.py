#!/usr/bin/env python3
"""Builds the tokenizer benchmark corpus from ../shared/data into bench/out/tokenizer/.

train.txt   ~100 MB of mixed Korean/English plain text, one document or line per line
            (training portion replicated to reach the size: both trainers see the same text)
en_train.txt  the English part only (for the GPT-2 stand-in vocabulary)
heldout_ko.txt / heldout_en.txt  text never used for training (compression, throughput)
"""
import glob
import json
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
DATA = ROOT.parent / "shared" / "data" / "corpora"
OUT = ROOT / "bench" / "out" / "tokenizer"
TARGET = int(float(sys.argv[1]) * 1e6) if len(sys.argv) > 1 else 100_000_000


def clean(s):
    return " ".join(s.replace("\r", " ").split("\n")).strip()


def korean():
    docs = {}
    for f in sorted(glob.glob(str(DATA / "ko/petitions/*.jsonl"))):
        docs[f] = [clean(json.loads(l)["content"]) for l in open(f, encoding="utf-8")]
    nsmc = sorted(glob.glob(str(DATA / "ko/nsmc_raw_sample/raw/*.json")))
    for f in nsmc:
        docs[f] = [clean(r["review"]) for r in json.load(open(f, encoding="utf-8"))]
    for f in sorted(glob.glob(str(DATA / "ko/chatbot_qa/*.csv")) + glob.glob(str(DATA / "ko/question_pair/*.csv"))):
        docs[f] = [clean(l) for l in open(f, encoding="utf-8")]
    for f in sorted(glob.glob(str(DATA / "ko/law_bills/**/*.txt"), recursive=True)):
        docs[f] = [clean(l) for l in open(f, encoding="utf-8")]
    docs["news.ko"] = [clean(l) for l in open(DATA / "parallel/news/korean-english-park.dev.ko", encoding="utf-8")]
    return docs


def english():
    docs = {}
    for f in sorted(glob.glob(str(DATA / "en/gutenberg/*.txt"))):
        docs[f] = [l.rstrip("\r\n") for l in open(f, encoding="utf-8-sig")]
    docs["shakespeare"] = [l.rstrip("\n") for l in open(DATA / "en/tinyshakespeare/input.txt", encoding="utf-8")]
    docs["wikitext"] = [l.rstrip("\n") for l in open(DATA / "en/wikitext2/valid.txt", encoding="utf-8")]
    docs["news.en"] = [l.rstrip("\n") for l in open(DATA / "parallel/news/korean-english-park.dev.en", encoding="utf-8")]
    return docs


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    ko, en = korean(), english()
    held_ko_keys = [k for k in ko if k.endswith("petitions_2019-08.jsonl")] + [k for k in ko if "nsmc" in k][-30:]
    held_en_keys = [k for k in en if "Frankenstein" in k or "Treasure-Island" in k]
    held_ko = [l for k in held_ko_keys for l in ko.pop(k) if l]
    held_en = [l for k in held_en_keys for l in en.pop(k) if l]
    train_ko = [l for v in ko.values() for l in v if l]
    train_en = [l for v in en.values() for l in v if l]
    base = "".join(l + "\n" for pair in zip(train_ko, train_en) for l in pair)
    base += "".join(l + "\n" for l in train_ko[len(train_en):] + train_en[len(train_ko):])
    reps = max(1, round(TARGET / len(base.encode())))
    (OUT / "train.txt").write_text(base * reps, encoding="utf-8")
    (OUT / "en_train.txt").write_text("".join(l + "\n" for l in train_en) * reps, encoding="utf-8")
    (OUT / "heldout_ko.txt").write_text("".join(l + "\n" for l in held_ko), encoding="utf-8")
    (OUT / "heldout_en.txt").write_text("".join(l + "\n" for l in held_en), encoding="utf-8")
    for n in ["train.txt", "en_train.txt", "heldout_ko.txt", "heldout_en.txt"]:
        print(f"{n}: {(OUT / n).stat().st_size / 1e6:.1f} MB")
    print(f"replication x{reps}; Korean {sum(len(l.encode()) for l in train_ko) / 1e6:.1f} MB, "
          f"English {sum(len(l.encode()) for l in train_en) / 1e6:.1f} MB per copy")


if __name__ == "__main__":
    main()
