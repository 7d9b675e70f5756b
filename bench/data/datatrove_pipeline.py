#!/usr/bin/env python3
"""The peer: HF datatrove configured like `kormo data pipeline` in bench/data:
language filter -> Gopher repetition -> Gopher quality -> C4 -> FineWeb quality
-> [fastText classifier] -> MinHash dedup (5-gram shingles, 14 buckets x 8 hashes), all local.

Without --lid-model the language filter is a LambdaFilter on Hangul/Latin
letters (datatrove's LanguageFilter would download lid.176, and this machine
has no network). With --lid-model it is datatrove's own LanguageFilter on that
local fastText model (kormo runs `[langid] model` on the same file), kept at
ko >= 0.842 / en >= 0.65 as kormo's thresholds are, and every rule filter is
built twice, for English and for Korean (datatrove's Korean word tokenizer, Kiwi,
and FineWeb-2's Korean thresholds, as kormo's [filter.ko]), each
document going through the one of its identified language. --classifier adds
datatrove's FastTextClassifierFilter removing documents whose P(LABEL) is at or
above MAX, as kormo's `[classifier.NAME] max_score` step does.

  python3 bench/data/datatrove_pipeline.py INPUT.jsonl WORK_DIR --workers 2 \
      [--lid-model lid.bin] [--classifier tox.bin toxic 0.5]
"""
import argparse, os, re, shutil, sys, time


def parse_args():
    ap = argparse.ArgumentParser()
    ap.add_argument("input")
    ap.add_argument("work")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--lid-model", help="fastText language-ID model for datatrove's LanguageFilter")
    ap.add_argument("--classifier", nargs=3, metavar=("MODEL", "LABEL", "MAX"),
                    help="FastTextClassifierFilter removing P(LABEL) >= MAX")
    return ap.parse_args()


ARGS = parse_args()
# datatrove copies a model given by path into its asset cache, keyed by the path
# alone: a cache inside the (wiped) work dir cannot serve a stale model.
os.environ["HF_ASSETS_CACHE"] = os.path.join(os.path.abspath(ARGS.work), "assets")

from datatrove.executor import LocalPipelineExecutor
from datatrove.pipeline.dedup import MinhashDedupBuckets, MinhashDedupCluster, MinhashDedupFilter, MinhashDedupSignature
from datatrove.pipeline.dedup.minhash import MinhashConfig
from datatrove.pipeline.filters import (C4QualityFilter, FastTextClassifierFilter, FineWebQualityFilter,
                                        GopherQualityFilter, GopherRepetitionFilter, LambdaFilter, LanguageFilter)
from datatrove.pipeline.filters.base_filter import BaseFilter
from datatrove.pipeline.readers import JsonlReader
from datatrove.pipeline.writers import JsonlWriter
from datatrove.utils.hashing import HashConfig
from datatrove.utils.word_tokenizers import KiwiTokenizer

HANGUL = re.compile("[\uac00-\ud7a3]")
LATIN = re.compile("[A-Za-z]")


def ko_or_en(doc):
    h = len(HANGUL.findall(doc.text))
    l = len(LATIN.findall(doc.text))
    return (h + l) > 0


# kormo's [filter.ko] defaults (FineWeb-2's Korean settings, docs/data.md).
KO_STOP_WORDS = ["의", "다", "이", "는", "에", "을", "한", "년", "하", "은", "를", "했", "고", "에서", "가", "있", "으로",
                 "인", "월", "로", "되"]
KEEP_SCORE = {"ko": 0.842, "en": 0.65}
# datatrove's Korean tokenizer is Kiwi with model_type "sbg", which kiwipiepy >= 0.22 no longer ships
# ("Cannot open required files for skipbigram model"): its current default model instead.
KO = KiwiTokenizer(model_type="cong")


class ByLanguage(BaseFilter):
    """One datatrove filter per language; a document goes through its language's."""

    def __init__(self, by_lang):
        self.name = next(iter(by_lang.values())).name  # before BaseFilter names its stats
        super().__init__()
        self.by_lang = by_lang

    def filter(self, doc):
        return self.by_lang[doc.metadata["language"]].filter(doc)


def rule_filters(per_language):
    if not per_language:
        return [GopherRepetitionFilter(), GopherQualityFilter(), C4QualityFilter(filter_no_terminal_punct=False),
                FineWebQualityFilter()]
    return [
        ByLanguage({"en": GopherRepetitionFilter(), "ko": GopherRepetitionFilter(dup_line_frac=0.374, language=KO)}),
        ByLanguage({"en": GopherQualityFilter(),
                    "ko": GopherQualityFilter(min_avg_word_length=1, max_avg_word_length=6,
                                              max_non_alpha_words_ratio=0.791, stop_words=KO_STOP_WORDS,
                                              language=KO)}),
        ByLanguage({"en": C4QualityFilter(filter_no_terminal_punct=False),
                    "ko": C4QualityFilter(filter_no_terminal_punct=False, language=KO)}),
        ByLanguage({"en": FineWebQualityFilter(),
                    "ko": FineWebQualityFilter(line_punct_thr=0.062, new_line_ratio=0.196, language=KO)}),
    ]


def language_filters(lid_model):
    if not lid_model:
        return [LambdaFilter(ko_or_en)]
    lid = LanguageFilter(languages=["ko", "en"], language_threshold=KEEP_SCORE["en"])
    lid.model.MODEL_URL = os.path.abspath(lid_model)
    # LanguageFilter keeps any listed language above one threshold; kormo's Korean one is higher.
    return [lid, LambdaFilter(lambda doc: doc.metadata["language_score"] >= KEEP_SCORE[doc.metadata["language"]])]


def classifier_filters(spec):
    if not spec:
        return []
    model, label, max_score = spec
    # fastText separates words at a newline; datatrove's default "" would glue the lines' words together.
    return [FastTextClassifierFilter(os.path.abspath(model), remove_labels=[(label, float(max_score))],
                                     newline_replacement=" ")]


def main():
    a = ARGS
    shutil.rmtree(a.work, ignore_errors=True)
    inp_dir, inp_file = os.path.split(os.path.abspath(a.input))
    filtered, sigs, buckets, clusters, final = (f"{a.work}/{x}" for x in ("filtered", "sigs", "buckets", "clusters", "final"))
    cfg = MinhashConfig(hash_config=HashConfig(precision=64), n_grams=5, num_buckets=14, hashes_per_bucket=8)
    t0 = time.perf_counter()
    LocalPipelineExecutor(pipeline=[
        JsonlReader(inp_dir, glob_pattern=inp_file, text_key="text", id_key="id"),
        *language_filters(a.lid_model),
        *rule_filters(bool(a.lid_model)),
        *classifier_filters(a.classifier),
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
