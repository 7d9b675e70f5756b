#!/usr/bin/env python3
"""Language identification: kormo (rule-based, ko/en/other) vs langid.py
(Lui & Baldwin, 97 languages; ko/en kept, everything else mapped to "other"),
same labelled set, same machine, same run. Prints per-class precision/recall,
accuracy and texts/s (median of --repeats runs, alternating the two tools).

  python3 bench/data/make_langid_set.py -o out/langid_set.jsonl
  python3 bench/data/langid_bench.py --set out/langid_set.jsonl --kormo build/kormo
"""
import argparse, json, os, statistics, subprocess, tempfile, time

def scores(labels, preds):
    out = {}
    for c in ("ko", "en", "other"):
        tp = sum(1 for l, p in zip(labels, preds) if l == c and p == c)
        pp = sum(1 for p in preds if p == c)
        ap = sum(1 for l in labels if l == c)
        out[c] = (tp / pp if pp else 0.0, tp / ap if ap else 0.0)
    acc = sum(1 for l, p in zip(labels, preds) if l == p) / len(labels)
    return out, acc

def run_kormo(kormo, path, tmp):
    out = os.path.join(tmp, "lid.jsonl")
    for f in os.listdir(tmp):
        if f.startswith("lid"):
            subprocess.run(["rm", "-rf", os.path.join(tmp, f)])
    t = time.perf_counter()
    subprocess.run([kormo, "-q", "data", "langid", path, "-o", out, "--keep-all", "--threads", "1"], check=True)
    dt = time.perf_counter() - t
    preds = {}
    for l in open(out, encoding="utf-8"):
        d = json.loads(l)
        preds[d["id"]] = d["lang"]
    return preds, dt

def run_langid(docs):
    import langid
    langid.classify("warm up")
    t = time.perf_counter()
    preds = {}
    for d in docs:
        lang, _ = langid.classify(d["text"])
        preds[d["id"]] = lang if lang in ("ko", "en") else "other"
    return preds, time.perf_counter() - t

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--set", required=True)
    ap.add_argument("--kormo", default="build/kormo")
    ap.add_argument("--repeats", type=int, default=3)
    a = ap.parse_args()
    docs = [json.loads(l) for l in open(a.set, encoding="utf-8")]
    labels = [d["label"] for d in docs]
    tmp = tempfile.mkdtemp()
    src = os.path.join(tmp, "set.jsonl")
    with open(src, "w", encoding="utf-8") as f:
        for d in docs:
            f.write(json.dumps({"id": d["id"], "text": d["text"]}, ensure_ascii=False) + "\n")
    kt, lt = [], []
    for _ in range(a.repeats):
        kp, dt = run_kormo(a.kormo, src, tmp); kt.append(dt)
        lp, dt = run_langid(docs); lt.append(dt)
    for name, preds, times in (("kormo", kp, kt), ("langid.py", lp, lt)):
        p = [preds[d["id"]] for d in docs]
        per, acc = scores(labels, p)
        rate = len(docs) / statistics.median(times)
        cls = "  ".join(f"{c}: P={pr:.3f} R={rc:.3f}" for c, (pr, rc) in per.items())
        print(f"{name:10s} accuracy={acc:.4f}  {cls}  {rate:,.0f} texts/s (1 thread, median of {a.repeats})")
    print(f"speed ratio kormo/langid.py: {statistics.median(lt) / statistics.median(kt):.1f}x")

if __name__ == "__main__":
    main()
