#!/usr/bin/env python3
"""End-to-end curation benchmark: kormo data pipeline vs HF datatrove on the
same corpus, same machine, same run, alternating, medians of --repeats.

  bash bench/data/make_corpus.sh out/bench 256          # all of ../shared/data/corpora, replicated
  python3 bench/data/run_bench.py out/bench/corpus.jsonl --repeats 3

Reports documents/s end to end (input documents / wall seconds) and peak
memory (sum of RSS over the process tree, sampled every 50 ms: datatrove runs
several worker processes).
"""
import argparse, json, os, shutil, statistics, subprocess, sys, time

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
    a = ap.parse_args()
    work = a.work or os.path.join(os.path.dirname(os.path.abspath(a.corpus)), "runs")
    os.makedirs(work, exist_ok=True)
    n_docs = sum(1 for _ in open(a.corpus, encoding="utf-8"))
    size = os.path.getsize(a.corpus)
    cfg = open(os.path.join(HERE, "kormo_bench.toml")).read()
    cfg = cfg.replace("BENCH_INPUT", os.path.abspath(a.corpus)).replace("BENCH_OUTPUT", f"{work}/kormo/out.jsonl")
    with open(f"{work}/kormo.toml", "w") as f:
        f.write(cfg)
    k, d = [], []
    for i in range(a.repeats):
        shutil.rmtree(f"{work}/kormo", ignore_errors=True)
        k.append(measure([a.kormo, "data", "pipeline", f"{work}/kormo.toml", "--threads", str(a.workers)],
                         f"{work}/kormo.log"))
        d.append(measure([sys.executable, os.path.join(HERE, "datatrove_pipeline.py"), a.corpus, f"{work}/datatrove",
                          "--workers", str(a.workers)], f"{work}/datatrove.log"))
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
    print(json.dumps({"docs": n_docs, "bytes": size, "kormo_s": [x[0] for x in k], "datatrove_s": [x[0] for x in d]}))


if __name__ == "__main__":
    main()
