"""Mixed Korean/English/code/number lines from ../shared/data for tokenizer tests."""
import glob
import json
import pathlib
import random

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _clean(s):
    return s.replace("\n", " ").replace("\r", " ")


def mixed_lines(shared_data, per_source=2500, seed=0):
    """About 6 x per_source lines: petitions, NSMC reviews, Gutenberg, code, numbers, ko-en mixes."""
    d = pathlib.Path(shared_data) / "corpora"
    rnd = random.Random(seed)
    out = []
    pet = []
    for f in sorted(glob.glob(str(d / "ko/petitions/*.jsonl"))):
        for line in open(f, encoding="utf-8"):
            for sent in json.loads(line)["content"].split(". "):
                if sent.strip():
                    pet.append(_clean(sent))
    out += rnd.sample(pet, min(per_source, len(pet)))
    nsmc = []
    for f in sorted(glob.glob(str(d / "ko/nsmc_raw_sample/raw/*.json")))[:40]:
        nsmc += [_clean(r["review"]) for r in json.load(open(f, encoding="utf-8"))]
    out += rnd.sample(nsmc, min(per_source, len(nsmc)))
    gut = []
    for f in sorted(glob.glob(str(d / "en/gutenberg/*.txt"))):
        with open(f, encoding="utf-8-sig", newline="") as fh:
            gut += [l.rstrip("\n") for l in fh if l.strip()]
    out += rnd.sample(gut, per_source)
    code = []
    for f in sorted(glob.glob(str(ROOT / "src/kormo/**/*.*"), recursive=True)) + sorted(glob.glob(str(ROOT / "tests/**/*.py"), recursive=True)):
        code += [l.rstrip("\n") for l in open(f, encoding="utf-8") if l.strip()]
    out += rnd.sample(code, min(per_source, len(code)))
    for _ in range(per_source):
        out.append(rnd.choice([
            f"{rnd.randint(1900, 2030)}년 {rnd.randint(1, 12)}월 {rnd.randint(1, 28)}일 {rnd.random() * 1e4:.2f}원",
            f"tel 010-{rnd.randint(1000, 9999)}-{rnd.randint(1000, 9999)}, x = {rnd.uniform(-1e6, 1e6):.6g}",
            f"{rnd.randint(0, 10**12):,} items at ${rnd.random() * 100:.2f} (+{rnd.randint(0, 99)}%)",
            " ".join(str(rnd.randint(0, 99999)) for _ in range(rnd.randint(1, 12))),
        ]))
    ko = open(d / "parallel/news/korean-english-park.dev.ko", encoding="utf-8").read().split("\n") if (d / "parallel/news/korean-english-park.dev.ko").exists() else []
    en = open(d / "parallel/news/korean-english-park.dev.en", encoding="utf-8").read().split("\n") if ko else []
    pairs = [(k, e) for k, e in zip(ko, en) if k.strip() and e.strip()]
    for _ in range(per_source):
        if pairs:
            k, e = rnd.choice(pairs)
            out.append(_clean(f"{k} ({e[: rnd.randint(5, 60)]}) {rnd.choice(nsmc)}"))
        else:
            out.append(_clean(f"{rnd.choice(pet)} {rnd.choice(gut)}"))
    return [l for l in out if "\n" not in l]


def write_lines(path, lines):
    with open(path, "w", encoding="utf-8", newline="") as f:
        for l in lines:
            f.write(l + "\n")
