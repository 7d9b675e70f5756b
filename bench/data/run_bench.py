#!/usr/bin/env python3
"""End-to-end curation benchmark: kormo data pipeline vs HF datatrove on the
same corpus, same machine, same run, alternating, medians of --repeats.

  bash bench/data/make_corpus.sh out/bench 256          # all of ../shared/data/corpora, replicated
  python3 bench/data/run_bench.py out/bench/corpus.jsonl --repeats 3
  # with the model-based steps (models from bench/data/make_models.py):
  python3 bench/data/run_bench.py out/bench/base.jsonl --sample 20000 --repeats 3 \
      --lid-model out/models/lid.bin --classifier out/models/ko-toxicity.bin toxic 0.5

Reports documents/s end to end (input documents / wall seconds) and peak
memory (sum of RSS over the process tree, sampled every 50 ms: datatrove runs
several worker processes).
"""
import argparse, json, os, random, shutil, statistics, subprocess, sys, time

HERE = os.path.dirname(os.path.abspath(__file__))


def tree_rss(pid):
    """Sum of RSS (bytes) of pid and its descendants, from /proc."""
    children = {}
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open(f"/proc/{p}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(p))
        except (OSError, IndexError, ValueError):
            pass
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/statm") as f:
                total += int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except OSError:
            pass
        todo += children.get(p, [])
    return total


def measure(cmd, log):
    t = time.perf_counter()
    with open(log, "w") as lf:
        proc = subprocess.Popen(cmd, stdout=lf, stderr=subprocess.STDOUT)
        peak = 0
        while proc.poll() is None:
            peak = max(peak, tree_rss(proc.pid))
            time.sleep(0.05)
    dt = time.perf_counter() - t
    if proc.returncode != 0:
        sys.exit(f"{cmd[0]} failed, see {log}")
    return dt, peak


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("corpus")
    ap.add_argument("--kormo", default="build/kormo")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--work", default=None)
    ap.add_argument("--lid-model", help="fastText language-ID model, for both tools' language filter")
    ap.add_argument("--classifier", nargs=3, metavar=("MODEL", "LABEL", "MAX"),
                    help="fastText classifier step for both: remove documents with P(LABEL) above MAX")
    ap.add_argument("--sample", type=int, default=0, help="run on this many documents drawn at random (seed 1)")
    a = ap.parse_args()
    work = a.work or os.path.join(os.path.dirname(os.path.abspath(a.corpus)), "runs")
    os.makedirs(work, exist_ok=True)
    if a.sample:
        with open(a.corpus, encoding="utf-8") as f:
            lines = f.readlines()
        random.Random(1).shuffle(lines)
        a.corpus = f"{work}/sample.jsonl"
        with open(a.corpus, "w", encoding="utf-8") as f:
            f.writelines(lines[: a.sample])
    n_docs = sum(1 for _ in open(a.corpus, encoding="utf-8"))
    size = os.path.getsize(a.corpus)
    cfg = open(os.path.join(HERE, "kormo_bench.toml")).read()
    cfg = cfg.replace("BENCH_INPUT", os.path.abspath(a.corpus)).replace("BENCH_OUTPUT", f"{work}/kormo/out.jsonl")
    peer_args = []
    if a.lid_model:
        cfg = cfg.replace("[langid]\n", f'[langid]\nmodel = "{os.path.abspath(a.lid_model)}"\n')
        peer_args += ["--lid-model", a.lid_model]
    if a.classifier:
        model, label, max_score = a.classifier
        cfg += f'\n[classifier.bench]\nmodel = "{os.path.abspath(model)}"\nlabel = "{label}"\nmax_score = {max_score}\n'
        peer_args += ["--classifier", *a.classifier]
    with open(f"{work}/kormo.toml", "w") as f:
        f.write(cfg)
    k, d = [], []
    for i in range(a.repeats):
        shutil.rmtree(f"{work}/kormo", ignore_errors=True)
        k.append(measure([a.kormo, "data", "pipeline", f"{work}/kormo.toml", "--threads", str(a.workers)],
                         f"{work}/kormo.log"))
        d.append(measure([sys.executable, os.path.join(HERE, "datatrove_pipeline.py"), a.corpus, f"{work}/datatrove",
                          "--workers", str(a.workers), *peer_args], f"{work}/datatrove.log"))
        print(f"run {i}: kormo {k[-1][0]:.1f} s, datatrove {d[-1][0]:.1f} s", file=sys.stderr)
    kept_k = sum(1 for _ in open(f"{work}/kormo/out.jsonl"))
    final = f"{work}/datatrove/final"
    kept_d = sum(sum(1 for _ in open(os.path.join(final, f))) for f in os.listdir(final))
    kt, kp = statistics.median(x[0] for x in k), max(x[1] for x in k)
    dt, dp = statistics.median(x[0] for x in d), max(x[1] for x in d)
    print(f"corpus: {a.corpus}: {n_docs} documents, {size / 1e6:.1f} MB; {a.workers} workers each; median of {a.repeats}")
    print(f"kormo     : {kt:8.2f} s  {n_docs / kt:10,.0f} docs/s  {size / 1e6 / kt:7.1f} MB/s  peak {kp / 2**20:7.0f} MiB  kept {kept_k}")
    print(f"datatrove : {dt:8.2f} s  {n_docs / dt:10,.0f} docs/s  {size / 1e6 / dt:7.1f} MB/s  peak {dp / 2**20:7.0f} MiB  kept {kept_d}")
    print(f"throughput ratio kormo/datatrove: {dt / kt:.1f}x; peak memory ratio datatrove/kormo: {dp / kp:.1f}x")
    print(json.dumps({"docs": n_docs, "bytes": size, "kormo_s": [x[0] for x in k], "datatrove_s": [x[0] for x in d],
                      "kormo_peak": [x[1] for x in k], "datatrove_peak": [x[1] for x in d]}))
    compare_kept(work, final)


def compare_kept(work, final):
    """Where the two kept sets differ: overlap, and each tool's removals by step."""
    ids = lambda paths: {json.loads(l)["id"] for p in paths for l in open(p, encoding="utf-8")}
    kk = ids([f"{work}/kormo/out.jsonl"])
    dk = ids([os.path.join(final, f) for f in os.listdir(final)])
    print(f"kept by both {len(kk & dk)}, kormo only {len(kk - dk)}, datatrove only {len(dk - kk)}")
    print("kormo removals:", json.dumps({k: v for k, v in json.load(open(f"{work}/kormo/out.jsonl.work/summary.json"))
                                         ["counts"].items() if ".removed." in k or k.startswith("dedup.")}))
    stats = json.load(open(f"{work}/datatrove/logs/filter/stats.json"))
    print("datatrove removals:", json.dumps({s["name"]: s["stats"].get("dropped", 0) for s in stats}, ensure_ascii=False))
    for name in ("sig", "final"):
        stats = json.load(open(f"{work}/datatrove/logs/{name}/stats.json"))
        print(f"datatrove {name}:", json.dumps({s["name"]: s["stats"] for s in stats}, ensure_ascii=False)[:600])


if __name__ == "__main__":
    main()
