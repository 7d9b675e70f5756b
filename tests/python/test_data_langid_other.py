"""Language identification on languages other than Korean and English.

Real translations from Debian: the gettext catalogues of coreutils, grep,
findutils, dpkg and apt (60 languages, fetched by `kormo data ingest --source debian`, nothing
installed). Each document is a run of consecutive translated messages of one
catalogue (about 200-600 characters, like a paragraph). The share of non-ko/en
documents that `kormo data langid` labels ko or en with a score at or above that
language's keep threshold (the ones "keep ko,en" would let in) must be <= 2%.

`python3 tests/python/test_data_langid_other.py build/kormo` prints the share by language."""
import gettext
import json
import subprocess
import sys
import tempfile
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ["coreutils", "grep", "findutils", "dpkg", "apt"]
# Keep thresholds (docs/data.md, [filter.ko]/[filter.en] lang_score).
KEEP = {"ko": 0.842, "en": 0.65}
NOT_OTHER = {"ko", "en", "en_GB", "en_AU", "en_CA", "en@quot", "en@boldquot"}


def fetch(kormo, cache):
    subprocess.run([kormo, "-q", "data", "ingest", "--source", "debian", "--packages", ",".join(PACKAGES),
                    "--cache-dir", str(cache), "--limit", "1", "-o", str(Path(cache) / "probe.jsonl")],
                   check=True, capture_output=True)


def documents(cache, min_chars=200, max_chars=600):
    docs = []
    mos = [mo for p in PACKAGES for mo in Path(cache).glob(f"{p}_*/usr/share/locale/*/LC_MESSAGES/*.mo")]
    for mo in sorted(mos):
        lang = mo.parts[-3]
        if lang in NOT_OTHER:
            continue
        with open(mo, "rb") as f:
            cat = gettext.GNUTranslations(f)._catalog
        chunk = ""
        for key, msg in cat.items():
            if not key or not isinstance(msg, str) or not msg.strip():
                continue  # header / plural forms
            chunk += msg.strip() + "\n"
            if len(chunk) >= min_chars:
                docs.append((lang, chunk[:max_chars].strip()))
                chunk = ""
    return docs


def labels(kormo, docs, tmp):
    src = Path(tmp) / "other.jsonl"
    with open(src, "w", encoding="utf-8") as f:
        for i, (lang, text) in enumerate(docs):
            f.write(json.dumps({"id": str(i), "text": text}, ensure_ascii=False) + "\n")
    subprocess.run([kormo, "-q", "data", "langid", str(src), "--keep-all", "-o", str(Path(tmp) / "lid.jsonl")],
                   check=True, capture_output=True)
    out = {}
    for line in open(Path(tmp) / "lid.jsonl", encoding="utf-8"):
        d = json.loads(line)
        out[int(d["id"])] = (d["lang"], d["meta"]["lang_score"])
    return out


def leaked(docs, got):
    by_lang = defaultdict(Counter)
    for i, (lang, _) in enumerate(docs):
        label, score = got[i]
        by_lang[lang]["docs"] += 1
        by_lang[lang]["leaked"] += label in KEEP and score >= KEEP[label]
    return by_lang


def test_other_languages_are_not_kept_as_ko_or_en(kormo_bin, tmp_path):
    cache = Path.home() / ".cache" / "kormo" / "debian"
    fetch(kormo_bin, cache)
    docs = documents(cache)
    langs = {l for l, _ in docs}
    assert len(langs) >= 20, sorted(langs)
    assert len(docs) > 3000, len(docs)
    by_lang = leaked(docs, labels(kormo_bin, docs, tmp_path))
    total = sum(c["leaked"] for c in by_lang.values())
    worst = sorted(((c["leaked"] / c["docs"], l) for l, c in by_lang.items()), reverse=True)[:5]
    assert total / len(docs) <= 0.02, (total, len(docs), worst)


if __name__ == "__main__":
    kormo = sys.argv[1] if len(sys.argv) > 1 else str(ROOT / "build/kormo")
    cache = Path.home() / ".cache" / "kormo" / "debian"
    fetch(kormo, cache)
    docs = documents(cache)
    with tempfile.TemporaryDirectory() as tmp:
        by_lang = leaked(docs, labels(kormo, docs, tmp))
    total = sum(c["leaked"] for c in by_lang.values())
    print(f"{len(docs)} documents in {len(by_lang)} languages; labelled ko/en above the keep threshold: "
          f"{total} ({total / len(docs):.2%})")
    for lang, c in sorted(by_lang.items(), key=lambda x: -x[1]["leaked"] / x[1]["docs"]):
        print(f"  {lang:8} {c['leaked']:5} / {c['docs']:5}  {c['leaked'] / c['docs']:.1%}")
