"""Classifier throughput: the `classifier` step of `kormo data filter` vs fastText's
own binary (`fasttext predict-prob`) and its Python binding, on the same model and
documents, one thread each (fastText's predict-prob and the binding's predict are
single-threaded), plus kormo on all cores.

Documents: NSMC reviews, petition paragraphs and Gutenberg paragraphs from
../shared/data (short and long, Korean and English). Model: trained here by
`kormo data classify train` (word bigrams + character 2-4-grams, dim 32: the
heavier end of what a curation classifier uses). kormo's time is the whole
verb: reading JSONL, scoring, writing JSONL with meta.classifier; fastText's
binary reads prepared lines and prints probabilities; the binding gets a Python
list of prepared lines (file reading not timed).

  python3 bench/data/classifier_bench.py --kormo build/kormo [--docs 40000] [--rounds 3]
"""
import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared" / "data"
sys.path.insert(0, str(ROOT / "tests" / "python"))
from test_data_classifier import fasttext_line  # noqa: E402  (the documented preprocessing)


def documents(n):
    rng = random.Random(1)
    docs = []
    for path in sorted((SHARED / "corpora/ko/nsmc_raw_sample/raw").glob("*.json")):
        docs += [r["review"] for r in json.loads(path.read_text(encoding="utf-8")) if r.get("review", "").strip()]
    for path in sorted((SHARED / "corpora/ko/petitions").glob("*.jsonl")):
        for line in open(path, encoding="utf-8"):
            docs += [p for p in json.loads(line)["content"].split("\n") if p.strip()]
    for path in sorted((SHARED / "corpora/en/gutenberg").glob("*.txt")):
        docs += [p.replace("\n", " ") for p in path.read_text(encoding="utf-8").split("\n\n") if p.strip()]
    rng.shuffle(docs)
    return docs[:n]


def cpu_seconds():
    """User + system CPU of this process and its finished children."""
    s, c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime


def timed(fn, rounds):
    """Median wall and median CPU seconds: on a shared machine CPU time is the steadier figure."""
    times, cpus = [], []
    for _ in range(rounds):
        t, c = time.perf_counter(), cpu_seconds()
        fn()
        times.append(time.perf_counter() - t)
        cpus.append(cpu_seconds() - c)
    return statistics.median(times), times, statistics.median(cpus)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kormo", default=str(ROOT / "build" / "kormo"))
    ap.add_argument("--docs", type=int, default=40000)
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()
    import fasttext  # fasttext-numpy2-wheel (requirements-test.txt)

    docs = documents(a.docs)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        with open(tmp / "docs.jsonl", "w", encoding="utf-8") as f:
            for i, t in enumerate(docs):
                f.write(json.dumps({"id": str(i), "text": t}, ensure_ascii=False) + "\n")
        lines = [fasttext_line(t) for t in docs]
        (tmp / "lines.txt").write_text("".join(l + "\n" for l in lines), encoding="utf-8")
        half = len(docs) // 2
        for name, part in (("a", docs[:half]), ("b", docs[half:])):
            with open(tmp / f"{name}.jsonl", "w", encoding="utf-8") as f:
                for t in part:
                    f.write(json.dumps({"text": t, "label": "hq" if len(t) > 200 else "web"}, ensure_ascii=False) + "\n")
        model = tmp / "m.bin"
        subprocess.run([a.kormo, "-q", "data", "classify", "train", tmp / "a.jsonl", "--minn", "2", "--maxn", "4",
                        "--epoch", "1", "-o", model], check=True, capture_output=True)
        (tmp / "c.toml").write_text(f'[classifier.q]\nmodel = "{model}"\nlabel = "hq"\n')

        def kormo(threads):
            def run():
                subprocess.run([a.kormo, "-q", "data", "filter", tmp / "docs.jsonl", "--config", tmp / "c.toml",
                                "--skip", "pii,gopher_repetition,gopher_quality,c4,fineweb", "--threads", str(threads),
                                "-o", tmp / "out.jsonl", "--work-dir", tmp / f"w{time.monotonic_ns()}"],
                               check=True, capture_output=True)
            return run

        def ft_binary():
            with open(os.devnull, "w") as null:
                subprocess.run(["fasttext", "predict-prob", model, tmp / "lines.txt", "-1"], check=True, stdout=null)

        py_model = fasttext.load_model(str(model))

        def ft_python():
            py_model.predict(lines, k=-1)

        rows = [("kormo data filter, classifier step, 1 thread", kormo(1)),
                (f"kormo data filter, classifier step, {os.cpu_count()} threads", kormo(os.cpu_count())),
                ("fasttext predict-prob (Debian 0.9.2 binary), 1 thread", ft_binary),
                ("fasttext Python binding predict(list), 1 thread", ft_python)]
        print(f"{len(docs)} documents, {sum(len(t.encode()) for t in docs) / 1e6:.1f} MB; "
              f"load average before: {os.getloadavg()}")
        print("| tool | wall, median (runs) | docs/s | CPU (user+sys), median |")
        results, cpu = {}, {}
        for name, fn in rows:
            med, times, cpu[name] = timed(fn, a.rounds)
            results[name] = len(docs) / med
            print(f"| {name} | {med:.2f} s ({', '.join(f'{t:.2f}' for t in times)}) | {len(docs) / med:,.0f} docs/s "
                  f"| {cpu[name]:.2f} s |")
        print(f"load average after: {os.getloadavg()}")
        k1, b, p = (rows[i][0] for i in (0, 2, 3))
        print(f"kormo 1 thread / fasttext binary: {results[k1] / results[b]:.2f}x wall, {cpu[b] / cpu[k1]:.2f}x CPU; "
              f"/ python binding: {results[k1] / results[p]:.2f}x wall, {cpu[p] / cpu[k1]:.2f}x CPU")


if __name__ == "__main__":
    main()
