#!/usr/bin/env python3
"""Recall and false positives of `kormo data decontam` on Korean text.

  python3 bench/data/decontam_recall.py --kormo build/kormo [--per-task 150] [--rule NAME=ARGS ...]

(a) Recall: KoBEST dev items (one TSV cell each: a COPA premise or
    alternative, a BoolQ passage or question, a SentiNeg review, a WiC
    sentence, a HellaSwag context or ending) are planted in the middle of real
    Korean documents (a national petition, or a run of NSMC movie reviews),
    verbatim and lightly edited (one space removed, one added inside an
    eojeol, final punctuation changed, a comma added). Eval set: the five
    KoBEST dev.tsv files. Recall = planted documents flagged / planted.
(b) False positives: the same kind of documents with nothing planted, checked
    against KoBEST train+dev (all ten TSVs). FP rate = flagged / documents.

Every rule runs the real binary with `--flag` and reads meta.contamination.
"""
import argparse, glob, json, os, random, shutil, subprocess, sys, tempfile

SHARED = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "shared", "data")
KOBEST = os.path.join(SHARED, "bench", "ko", "kobest")
# Text columns of each KoBEST task (the others are ids, labels, links).
TEXT_COLUMNS = {
    "BoolQ": ["Text", "Question"],
    "COPA": ["sentence", "1", "2"],
    "HellaSwag": ["context", "choice1", "choice2", "choice3", "choice4"],
    "SentiNeg": ["Text"],
    "WiC": ["SENTENCE1", "SENTENCE2"],
}
RULES = {
    "old: 13 words, min 8": ["--hangul-chars", "0"],
    "words, min 4": ["--hangul-chars", "0", "--min-words", "4"],
    "words, min 3": ["--hangul-chars", "0", "--min-words", "3"],
}


def items(task, split):
    path = os.path.join(KOBEST, task, f"{split}.tsv")
    with open(path, encoding="utf-8") as f:
        header = f.readline().rstrip("\n").split("\t")
        cols = [header.index(c) for c in TEXT_COLUMNS[task]]
        for line in f:
            cells = line.rstrip("\n").split("\t")
            for c in cols:
                if c < len(cells) and cells[c].strip():
                    yield cells[c].strip()


def hosts(rng, n):
    """n Korean documents: petitions and runs of NSMC reviews, alternating."""
    petitions = []
    for p in sorted(glob.glob(os.path.join(SHARED, "corpora", "ko", "petitions", "*.jsonl"))):
        with open(p, encoding="utf-8") as f:
            petitions += [json.loads(l)["content"] for l in f if l.strip()]
    reviews = []
    for p in sorted(glob.glob(os.path.join(SHARED, "corpora", "ko", "nsmc_raw_sample", "raw", "*.json"))):
        with open(p, encoding="utf-8") as f:
            reviews += [r["review"] for r in json.load(f) if r.get("review", "").strip()]
    petitions = [p for p in petitions if len(p) > 200]
    rng.shuffle(petitions)
    rng.shuffle(reviews)
    out = []
    for i in range(n):
        if i % 2 == 0:
            out.append(petitions[(i // 2) % len(petitions)])
        else:
            k = (i // 2) * 12 % len(reviews)
            out.append("\n".join(reviews[k:k + 12]))
    return out


def edit(rng, s):
    """A light edit: spacing and punctuation, the words kept."""
    s = s.rstrip(".!?")
    spaces = [i for i, c in enumerate(s) if c == " "]
    if spaces:
        i = rng.choice(spaces)
        s = s[:i] + s[i + 1:]
    letters = [i for i in range(1, len(s)) if s[i] != " " and s[i - 1] != " "]
    if letters:
        i = rng.choice(letters)
        s = s[:i] + " " + s[i:]
    spaces = [i for i, c in enumerate(s) if c == " "]
    if spaces:
        i = rng.choice(spaces)
        s = s[:i] + "," + s[i:]
    return s + rng.choice(["!", "", "...", "?"])


def plant(host, item):
    mid = host.find(". ", len(host) // 2)
    mid = len(host) // 2 if mid < 0 else mid + 2
    return host[:mid] + item + " " + host[mid:]


def eval_file(tmp, name, splits):
    """KoBEST cells as one JSONL file: under the old rule the COPA, SentiNeg
    and WiC files alone index nothing, which decontam now refuses."""
    path = os.path.join(tmp, f"{name}.jsonl")
    with open(path, "w", encoding="utf-8") as f:
        for t in TEXT_COLUMNS:
            for split in splits:
                for it in items(t, split):
                    f.write(json.dumps({"text": it}, ensure_ascii=False) + "\n")
    return path


def flagged(kormo, docs, evals, args, tmp, name):
    src = os.path.join(tmp, f"{name}.jsonl")
    with open(src, "w", encoding="utf-8") as f:
        for i, d in enumerate(docs):
            f.write(json.dumps({"id": str(i), "text": d, "lang": "ko", "source": "bench"}, ensure_ascii=False) + "\n")
    out = os.path.join(tmp, f"{name}.out.jsonl")
    shutil.rmtree(out + ".work", ignore_errors=True)  # a work directory belongs to one rule
    cmd = [kormo, "-q", "data", "decontam", src, "-o", out, "--flag", "--work-dir", out + ".work"]
    for e in evals:
        cmd += ["--eval", e]
    subprocess.run(cmd + args, check=True, stdout=subprocess.DEVNULL)
    hit = set()
    with open(out, encoding="utf-8") as f:
        for line in f:
            d = json.loads(line)
            if "contamination" in d.get("meta", {}):
                hit.add(int(d["id"]))
    return hit


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kormo", required=True)
    ap.add_argument("--per-task", type=int, default=150, help="planted items per task")
    ap.add_argument("--clean", type=int, default=3000, help="clean documents")
    ap.add_argument("--rule", action="append", default=[], help="NAME=kormo options, e.g. 'c20=--hangul-chars 20 --min-hangul-chars 10'")
    ap.add_argument("--examples", action="store_true", help="print the false positives")
    a = ap.parse_args()
    rules = dict(RULES)
    for r in a.rule:
        name, _, opts = r.partition("=")
        rules[name] = opts.split()
    rng = random.Random(20241128)
    planted, task_of, kind_of = [], [], []
    host = hosts(rng, a.per_task * len(TEXT_COLUMNS) * 2 + a.clean)
    h = 0
    for t in TEXT_COLUMNS:
        pool = list(items(t, "dev"))
        for it in rng.sample(pool, min(a.per_task, len(pool))):
            for kind, text in (("verbatim", it), ("edited", edit(rng, it))):
                planted.append(plant(host[h], text))
                task_of.append(t)
                kind_of.append(kind)
                h += 1
    clean = host[h:h + a.clean]
    with tempfile.TemporaryDirectory() as tmp:
        dev = [eval_file(tmp, "dev", ["dev"])]
        full = [eval_file(tmp, "full", ["dev", "train"])]
        print(f"{len(planted)} planted documents ({a.per_task} items x 5 tasks x verbatim/edited), "
              f"{len(clean)} clean documents (petitions, NSMC review runs)")
        print("| rule | " + " | ".join(TEXT_COLUMNS) + " | recall verbatim | recall edited | FP docs |")
        print("|---|" + "---|" * (len(TEXT_COLUMNS) + 3))
        for name, opts in rules.items():
            # A planted document's host may itself be a false positive; the
            # clean run below measures that rate separately.
            hit = flagged(a.kormo, planted, dev, opts, tmp, "planted")
            per = []
            for t in TEXT_COLUMNS:
                idx = [i for i in range(len(planted)) if task_of[i] == t]
                per.append(f"{100 * sum(i in hit for i in idx) / len(idx):.0f}%")
            rec = {}
            for k in ("verbatim", "edited"):
                idx = [i for i in range(len(planted)) if kind_of[i] == k]
                rec[k] = 100 * sum(i in hit for i in idx) / len(idx)
            fp = flagged(a.kormo, clean, full, opts, tmp, "clean")
            print(f"| {name} | " + " | ".join(per) +
                  f" | {rec['verbatim']:.1f}% | {rec['edited']:.1f}% | {len(fp)}/{len(clean)} = {100 * len(fp) / len(clean):.2f}% |",
                  flush=True)
            if a.examples:
                for i in sorted(fp)[:10]:
                    print("   FP:", clean[i][:150].replace("\n", " / "))


if __name__ == "__main__":
    sys.exit(main())
