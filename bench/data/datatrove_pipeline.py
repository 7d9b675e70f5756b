#!/usr/bin/env python3
"""The peer: HF datatrove configured like `kormo data pipeline` in bench/data:
language filter -> Gopher repetition -> Gopher quality -> C4 -> FineWeb quality
-> MinHash dedup (5-gram shingles, 14 buckets x 8 hashes), all local.

The language filter is a LambdaFilter on Hangul/Latin letter shares because
datatrove's LanguageFilter downloads fastText lid.176 at run time and this
machine has no network to dl.fbaipublicfiles.com (see RESULTS.md).

  python3 bench/data/datatrove_pipeline.py INPUT.jsonl WORK_DIR --workers 2
"""
import argparse, os, re, shutil, sys, time

from datatrove.executor import LocalPipelineExecutor
from datatrove.pipeline.dedup import MinhashDedupBuckets, MinhashDedupCluster, MinhashDedupFilter, MinhashDedupSignature
from datatrove.pipeline.dedup.minhash import MinhashConfig
from datatrove.pipeline.filters import (C4QualityFilter, FineWebQualityFilter, GopherQualityFilter,
                                        GopherRepetitionFilter, LambdaFilter)
from datatrove.pipeline.readers import JsonlReader
from datatrove.pipeline.writers import JsonlWriter
from datatrove.utils.hashing import HashConfig

HANGUL = re.compile("[\uac00-\ud7a3]")
LATIN = re.compile("[A-Za-z]")


def ko_or_en(doc):
    h = len(HANGUL.findall(doc.text))
    l = len(LATIN.findall(doc.text))
    return (h + l) > 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("input")
    ap.add_argument("work")
    ap.add_argument("--workers", type=int, default=2)
    a = ap.parse_args()
    shutil.rmtree(a.work, ignore_errors=True)
    inp_dir, inp_file = os.path.split(os.path.abspath(a.input))
    filtered, sigs, buckets, clusters, final = (f"{a.work}/{x}" for x in ("filtered", "sigs", "buckets", "clusters", "final"))
    cfg = MinhashConfig(hash_config=HashConfig(precision=64), n_grams=5, num_buckets=14, hashes_per_bucket=8)
    t0 = time.perf_counter()
    LocalPipelineExecutor(pipeline=[
        JsonlReader(inp_dir, glob_pattern=inp_file, text_key="text", id_key="id"),
        LambdaFilter(ko_or_en),
        GopherRepetitionFilter(),
        GopherQualityFilter(),
        C4QualityFilter(filter_no_terminal_punct=False),
        FineWebQualityFilter(),
        JsonlWriter(filtered, compression=None),
    ], tasks=a.workers, workers=a.workers, logging_dir=f"{a.work}/logs/filter", skip_completed=False).run()
    LocalPipelineExecutor(pipeline=[JsonlReader(filtered), MinhashDedupSignature(output_folder=sigs, config=cfg)],
                          tasks=a.workers, workers=a.workers, logging_dir=f"{a.work}/logs/sig", skip_completed=False).run()
    LocalPipelineExecutor(pipeline=[MinhashDedupBuckets(input_folder=sigs, output_folder=buckets, config=cfg)],
                          tasks=cfg.num_buckets, workers=a.workers, logging_dir=f"{a.work}/logs/buckets", skip_completed=False).run()
    LocalPipelineExecutor(pipeline=[MinhashDedupCluster(input_folder=buckets, output_folder=clusters, config=cfg)],
                          tasks=1, workers=1, logging_dir=f"{a.work}/logs/cluster", skip_completed=False).run()
    LocalPipelineExecutor(pipeline=[JsonlReader(filtered), MinhashDedupFilter(input_folder=clusters),
                                    JsonlWriter(final, compression=None)],
                          tasks=a.workers, workers=a.workers, logging_dir=f"{a.work}/logs/final", skip_completed=False).run()
    dt = time.perf_counter() - t0
    kept = sum(sum(1 for _ in open(os.path.join(final, f))) for f in os.listdir(final))
    print(f"datatrove: {dt:.2f} s, kept {kept}", file=sys.stderr)


if __name__ == "__main__":
    main()
