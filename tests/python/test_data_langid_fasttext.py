"""Language identification with a user's fastText language-ID model (issue 14, item 5).

There is no network here, so no lid.176.bin: a model of the same format is trained
in the test by `kormo data classify train` (hierarchical softmax and character
2-4-grams, as lid.176 was; labels __label__ko, __label__en, __label__fr, ...)
on half of the real text: Korean petitions and NSMC reviews, English Gutenberg
paragraphs and WikiText from ../shared/data, and the Debian gettext catalogues of
60 other languages (test_data_langid_other.documents). On the other half:
 (a) `kormo data langid --model` gives every document the label and score that
     Debian's `fasttext predict-prob MODEL FILE 1` prints for it;
 (b) with the default keep list (ko, en) and thresholds, at most 2% of the
     other-language documents are kept, while Korean and English are;
and `[langid] model` does the same in `kormo data pipeline`; a missing or
corrupt model, or a kept language the model lacks, is an error naming the file.

`python3 tests/python/test_data_langid_fasttext.py build/kormo` prints the figures."""
import json
import math
import random
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import SHARED_DATA, run_kormo
from test_data_classifier import TRICKY, fasttext_line
from test_data_langid_other import documents, fetch

CACHE = Path.home() / ".cache" / "kormo" / "debian"


def catalogue_label(locale):
    # pt_BR, sr@latin, zh_CN -> pt, sr, zh: lid.176 labels languages, not locales.
    return locale.replace("@", "_").split("_")[0]


def ko_en_texts(shared, per_lang):
    c = shared / "corpora"
    rng = random.Random(3)
    ko, en = [], []
    for line in open(c / "ko/petitions/petitions_2017-08.jsonl", encoding="utf-8"):
        ko += [p.strip() for p in json.loads(line)["content"].split("\n") if len(p.strip()) > 30]
    for path in sorted((c / "ko/nsmc_raw_sample/raw").glob("*.json"))[:40]:
        ko += [r["review"] for r in json.loads(path.read_text(encoding="utf-8")) if len(r.get("review", "")) > 10]
    for path in sorted((c / "en/gutenberg").glob("*.txt"))[:6]:
        paras = path.read_text(encoding="utf-8-sig", errors="replace").split("\n\n")
        en += [" ".join(p.split()) for p in paras[50:-50] if len(p.split()) > 5]
    en += [l.strip() for l in open(c / "en/wikitext2/valid.txt", encoding="utf-8") if len(l.split()) > 5
           and not l.startswith(" =")]
    rng.shuffle(ko)
    rng.shuffle(en)
    return [("ko", t[:1000]) for t in ko[:per_lang]] + [("en", t[:1000]) for t in en[:per_lang]]


def split_sets(kormo, shared):
    fetch(kormo, CACHE)
    docs = [(catalogue_label(l), t) for l, t in documents(CACHE)] + ko_en_texts(shared, 4000)
    rng = random.Random(7)
    rng.shuffle(docs)
    half = len(docs) // 2
    return docs[:half], docs[half:]


def write_docs(path, docs):
    with open(path, "w", encoding="utf-8") as f:
        for i, (label, text) in enumerate(docs):
            f.write(json.dumps({"id": str(i), "text": text, "label": label}, ensure_ascii=False) + "\n")


def train_model(kormo, train, tmp):
    write_docs(tmp / "lid-train.jsonl", train)
    run_kormo(kormo, "-q", "data", "classify", "train", tmp / "lid-train.jsonl", "--valid-fraction", 0,
              "--loss", "hs", "--minn", 2, "--maxn", 4, "--dim", 16, "--word-ngrams", 1, "--epoch", 10, "--lr", 0.5,
              "--bucket", 200000, "-o", tmp / "lid.bin")
    return tmp / "lid.bin"


def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(l) for l in f]


@pytest.fixture(scope="module")
def lid(kormo_bin, tmp_path_factory):
    if not SHARED_DATA.exists():
        pytest.fail(f"{SHARED_DATA} is missing: tests read real text from ../shared/data")
    tmp = tmp_path_factory.mktemp("lid")
    train, test = split_sets(kormo_bin, SHARED_DATA)
    return train_model(kormo_bin, train, tmp), test, tmp


def test_labels_and_scores_equal_fasttext_predict_prob(kormo_bin, lid):
    if shutil.which("fasttext") is None:
        pytest.fail("Debian's fasttext binary is missing (apt-get install fasttext; scripts/setup.sh installs it)")
    model, test, tmp = lid
    docs = [("", t) for t in TRICKY] + test[:3000]
    write_docs(tmp / "a.jsonl", docs)
    run_kormo(kormo_bin, "-q", "data", "langid", tmp / "a.jsonl", "--model", model, "--keep-all",
              "-o", tmp / "a.out.jsonl")
    ours = {int(d["id"]): (d["lang"], d["meta"]["lang_score"]) for d in read_jsonl(tmp / "a.out.jsonl")}
    assert sorted(ours) == list(range(len(docs))), "--keep-all must keep every document"
    with open(tmp / "a.txt", "w", encoding="utf-8", newline="") as f:
        for _, t in docs:
            f.write(fasttext_line(t) + "\n")
    out = subprocess.run(["fasttext", "predict-prob", str(model), str(tmp / "a.txt"), "1"],
                         capture_output=True, text=True, check=True).stdout.splitlines()
    assert len(out) == len(docs)
    for i, line in enumerate(out):
        label, prob = line.split()
        assert ours[i][0] == label.removeprefix("__label__"), (i, docs[i], ours[i], line)
        assert math.isclose(ours[i][1], float(prob), rel_tol=1e-5, abs_tol=1e-7), (i, docs[i], ours[i], line)
    # The model really identifies (the labels are not one constant).
    right = sum(ours[i + len(TRICKY)][0] == lang for i, (lang, _) in enumerate(test[:3000]))
    assert right / 3000 > 0.9, right


def keep_shares(kormo, test, tmp):
    """Share of other-language documents kept by `--keep ko,en` at the default thresholds, and of ko/en ones."""
    write_docs(tmp / "b.jsonl", test)
    run_kormo(kormo, "-q", "data", "langid", tmp / "b.jsonl", "--model", tmp / "lid.bin", "-o", tmp / "b.out.jsonl")
    kept = {int(d["id"]) for d in read_jsonl(tmp / "b.out.jsonl")}
    other = [i for i, (l, _) in enumerate(test) if l not in ("ko", "en")]
    ko_en = [i for i, (l, _) in enumerate(test) if l in ("ko", "en")]
    rejects = read_jsonl(tmp / "b.out.rejects.jsonl")
    return (sum(i in kept for i in other) / len(other), sum(i in kept for i in ko_en) / len(ko_en),
            len(other), len({catalogue_label(l) for l, _ in test}), rejects)


def test_other_languages_are_not_kept(kormo_bin, lid):
    model, test, tmp = lid
    leaked, kept_ko_en, n_other, n_langs, rejects = keep_shares(kormo_bin, test, tmp)
    assert n_langs >= 20 and n_other > 10000, (n_langs, n_other)
    assert leaked <= 0.02, leaked
    assert kept_ko_en >= 0.95, kept_ko_en
    rules = {r["rule"] for r in rejects}
    assert rules <= {"langid.language", "langid.score"} and "langid.language" in rules, rules
    # The rejected document carries the model's label, as a kept one does.
    assert any(r["detail"]["lang"] not in ("ko", "en", "other") for r in rejects)


def test_pipeline_model_setting(kormo_bin, lid):
    model, test, tmp = lid
    docs = test[:2000]
    write_docs(tmp / "p.jsonl", docs)
    run_kormo(kormo_bin, "-q", "data", "langid", tmp / "p.jsonl", "--model", model, "-o", tmp / "p.lid.jsonl")
    (tmp / "p.toml").write_text(f'[pipeline]\ninputs = ["{tmp}/p.jsonl"]\noutput = "{tmp}/p.out.jsonl"\n'
                                f'[normalize]\nenabled = false\n[filter]\nenabled = false\n'
                                f'[dedup]\nenabled = false\n[langid]\nmodel = "{model}"\n')
    run_kormo(kormo_bin, "-q", "data", "pipeline", tmp / "p.toml")
    got = {d["id"]: (d["lang"], d["meta"]["lang_score"]) for d in read_jsonl(tmp / "p.out.jsonl")}
    want = {d["id"]: (d["lang"], d["meta"]["lang_score"]) for d in read_jsonl(tmp / "p.lid.jsonl")}
    assert got == want and len(got) > 400


def test_model_errors_name_the_file(kormo_bin, lid, tmp_path):
    model, test, _ = lid
    write_docs(tmp_path / "in.jsonl", test[:5])
    (tmp_path / "corrupt.bin").write_bytes(bytes(range(256)) * 8)
    cases = [(["--model", tmp_path / "none.bin"], "none.bin: no such model file"),
             (["--model", tmp_path / "corrupt.bin"], "corrupt.bin: not a fastText model"),
             (["--model", model, "--keep", "ko,tlh"], f'{model}: the language-ID model has no label "tlh"')]
    for args, message in cases:
        p = run_kormo(kormo_bin, "-q", "data", "langid", tmp_path / "in.jsonl", *args, "-o", tmp_path / "out.jsonl",
                      check=False)
        assert p.returncode != 0 and message in p.stderr, (args, p.returncode, p.stderr)
        assert not (tmp_path / "out.jsonl").exists()
    (tmp_path / "p.toml").write_text(f'[pipeline]\ninputs = ["{tmp_path}/in.jsonl"]\n'
                                     f'output = "{tmp_path}/out.jsonl"\n[langid]\nmodel = "{tmp_path}/none.bin"\n')
    p = run_kormo(kormo_bin, "-q", "data", "pipeline", tmp_path / "p.toml", check=False)
    assert p.returncode != 0 and "none.bin: no such model file" in p.stderr, p.stderr
    assert not (tmp_path / "out.jsonl").exists()


if __name__ == "__main__":
    import tempfile

    kormo = sys.argv[1] if len(sys.argv) > 1 else str(Path(__file__).resolve().parents[2] / "build/kormo")
    train, test = split_sets(kormo, SHARED_DATA)
    with tempfile.TemporaryDirectory() as d:
        train_model(kormo, train, Path(d))
        leaked, kept_ko_en, n_other, n_langs, _ = keep_shares(kormo, test, Path(d))
    print(f"{len(train)} training documents; held out: {n_other} other-language documents in {n_langs - 2} "
          f"languages, {len(test) - n_other} ko/en; kept by --keep ko,en: other {leaked:.2%}, ko/en {kept_ko_en:.2%}")
