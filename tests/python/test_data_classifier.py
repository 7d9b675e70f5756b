"""The classifier step scores documents exactly as fastText's own command line does.

A model is trained with `kormo data classify train` (word bigrams and character
n-grams, so every feature path of fastText's predictor is used); the same
documents are scored by `kormo data filter` with a [classifier.*] step and by
Debian's `fasttext predict-prob MODEL FILE -1` on the documented preprocessing
(fastText's separators -> space, a leading "__label__" loses one '_'). Every
label's probability must agree to the 6 significant digits fastText prints."""
import json
import math
import random
import shutil
import subprocess

import pytest

from conftest import run_kormo


def fasttext_line(text):
    out, word_start, i = [], True, 0
    while i < len(text):
        c = text[i]
        if c in " \n\r\t\v\f\0":
            out.append(" ")
            word_start = True
        elif word_start and text.startswith("__label__", i):
            word_start = False  # drop this '_'
        else:
            word_start = False
            out.append(c)
        i += 1
    return "".join(out)


def corpus(shared, n):
    rng = random.Random(5)
    reviews = []
    for path in sorted((shared / "corpora/ko/nsmc_raw_sample/raw").glob("*.json"))[:40]:
        reviews += [r["review"] for r in json.loads(path.read_text(encoding="utf-8")) if r.get("review", "").strip()]
    petitions = []
    with open(shared / "corpora/ko/petitions/petitions_2017-08.jsonl", encoding="utf-8") as f:
        for line in f:
            petitions += [p for p in json.loads(line)["content"].split("\n") if len(p) > 40]
    rng.shuffle(reviews)
    rng.shuffle(petitions)
    return reviews[:n], petitions[:n]


TRICKY = [
    "줄바꿈이\n있는\n문서\n\n두 번",
    "탭\t문자와\r\n캐리지 리턴",
    "__label__pos 라벨처럼 보이는 단어 __label__neg",
    "  앞뒤 공백  ",
    "세로탭\v폼피드\f끝",
    "전각\u3000공백은 fastText의 구분자가 아니다",
    "English words mixed with 한국어 and numbers 12345",
    "ㅋㅋㅋㅋ",
    ".",
]


def train_pos_neg(kormo_bin, tmp_path, positive, negative, *flags):
    """A fastText model (tmp_path/m.bin) trained by `kormo data classify train` on two corpora."""
    for name, docs in (("pos", positive), ("neg", negative)):
        with open(tmp_path / f"{name}.jsonl", "w", encoding="utf-8") as f:
            for t in docs:
                f.write(json.dumps({"text": t}, ensure_ascii=False) + "\n")
    model = tmp_path / "m.bin"
    rep = run_kormo(kormo_bin, "data", "classify", "train", "--positive", tmp_path / "pos.jsonl",
                    "--negative", tmp_path / "neg.jsonl", *flags, "-o", model)
    return model, json.loads(rep.stdout)


def step_scores(kormo_bin, tmp_path, model, docs):
    """Each document's meta.classifier score from the filter's classifier step, by position."""
    with open(tmp_path / "score.jsonl", "w", encoding="utf-8") as f:
        for i, t in enumerate(docs):
            f.write(json.dumps({"id": str(i), "text": t}, ensure_ascii=False) + "\n")
    (tmp_path / "c.toml").write_text(f'[classifier.q]\nmodel = "{model}"\nlabel = "pos"\n')
    run_kormo(kormo_bin, "-q", "data", "filter", tmp_path / "score.jsonl", "--config", tmp_path / "c.toml",
              "--skip", "pii,gopher_repetition,gopher_quality,c4,fineweb", "-o", tmp_path / "out.jsonl")
    with open(tmp_path / "out.jsonl", encoding="utf-8") as f:
        ours = {int(d["id"]): d["meta"]["classifier"]["q"] for d in map(json.loads, f)}
    assert sorted(ours) == list(range(len(docs))), "the step must keep every document at min_score 0"
    return ours


def fasttext_cli():
    if shutil.which("fasttext") is None:
        pytest.fail("Debian's fasttext binary is missing (apt-get install fasttext; scripts/setup.sh installs it)")
    return "fasttext"


def predict_prob(tmp_path, model, docs):
    """Debian fastText's `predict-prob MODEL FILE -1` on the documents: {label: probability} each."""
    with open(tmp_path / "lines.txt", "w", encoding="utf-8", newline="") as f:
        for t in docs:
            f.write(fasttext_line(t) + "\n")
    out = subprocess.run([fasttext_cli(), "predict-prob", str(model), str(tmp_path / "lines.txt"), "-1"],
                         capture_output=True, text=True, check=True).stdout.splitlines()
    assert len(out) == len(docs)
    return [{p[k].removeprefix("__label__"): float(p[k + 1]) for k in range(0, len(p), 2)}
            for p in map(str.split, out)]


def test_scores_equal_fasttext_predict_prob(kormo_bin, shared_data, tmp_path):
    reviews, petitions = corpus(shared_data, 400)
    model, report = train_pos_neg(kormo_bin, tmp_path, petitions, reviews, "--minn", 2, "--maxn", 4, "--dim", 16,
                                  "--bucket", 20000)
    assert report["train"]["pos"] > 300 and report["train"]["neg"] > 300

    docs = TRICKY + reviews[:100] + petitions[:100]
    ours = step_scores(kormo_bin, tmp_path, model, docs)
    for i, probs in enumerate(predict_prob(tmp_path, model, docs)):
        assert set(probs) == {"pos", "neg"}
        assert math.isclose(ours[i], probs["pos"], rel_tol=1e-5, abs_tol=1e-7), (i, docs[i], ours[i], probs)
    # The two classes really differ on the real documents (the model is not constant).
    assert sum(ours[i] > 0.5 for i in range(len(TRICKY) + 100, len(docs))) > 90
    assert sum(ours[i] < 0.5 for i in range(len(TRICKY), len(TRICKY) + 100)) > 90


@pytest.mark.parametrize("kind", ["ova", "quantized"])
def test_other_model_kinds_equal_fasttext_predict_prob(kormo_bin, shared_data, tmp_path, kind):
    """One-vs-all loss (the step's own hidden layer with fastText's OneVsAllLoss) and a
    quantized .ftz (fastText's whole predictLine) score as the binary does too."""
    reviews, petitions = corpus(shared_data, 300)
    model, _ = train_pos_neg(kormo_bin, tmp_path, petitions, reviews, "--minn", 2, "--maxn", 3, "--dim", 16,
                             "--bucket", 20000, "--loss", "ova" if kind == "ova" else "softmax")
    if kind == "quantized":
        # quantize insists on an -input, which it reads only with -retrain.
        subprocess.run([fasttext_cli(), "quantize", "-input", str(tmp_path / "unused"), "-output", str(tmp_path / "m")],
                       check=True, capture_output=True)
        model = tmp_path / "m.ftz"
    docs = TRICKY + reviews[:50] + petitions[:50]
    ours = step_scores(kormo_bin, tmp_path, model, docs)
    for i, probs in enumerate(predict_prob(tmp_path, model, docs)):
        assert math.isclose(ours[i], probs.get("pos", 0.0), rel_tol=1e-5, abs_tol=1e-7), (i, docs[i], ours[i], probs)
    assert sum(ours[i] > 0.5 for i in range(len(TRICKY) + 50, len(docs))) > 40
