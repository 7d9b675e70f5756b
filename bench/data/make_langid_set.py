#!/usr/bin/env python3
"""Builds the labelled language-identification set from ../shared/data (ko, en)
and from the Debian installation guide's other translations ("other").

  python3 bench/data/make_langid_set.py --shared ../shared/data \
      --debian-cache ~/.cache/kormo/debian -o out/langid_set.jsonl

Korean: petitions (long), NSMC movie reviews (short, informal), chatbot
questions, the parallel corpora's .ko side, law texts. English: Gutenberg
paragraphs, Shakespeare lines, WikiText, the parallel .en side. Other: pages
of installation-guide-amd64 in de/fr/es/it/pt/nl/ca/cs/da/ro/sv/id/vi/ru/el/ja/zh_CN
(fetched by `kormo data ingest --source debian --packages installation-guide-amd64`).
Texts are cut to mixed lengths (short: 1 line, medium: ~200 chars, long: ~1000).
"""
import argparse, csv, glob, html, json, os, random, re

def lines(path):
    with open(path, encoding="utf-8-sig", errors="replace") as f:
        return [l.strip() for l in f if l.strip()]

def cut(rng, text):
    r = rng.random()
    n = 60 if r < 0.3 else 200 if r < 0.7 else 1000
    if len(text) <= n:
        return text
    s = rng.randrange(0, len(text) - n)
    return text[s:s + n]

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", default="../shared/data")
    ap.add_argument("--debian-cache", default=os.path.expanduser("~/.cache/kormo/debian"))
    ap.add_argument("--per-class", type=int, default=3000)
    ap.add_argument("-o", "--output", required=True)
    a = ap.parse_args()
    rng = random.Random(1)
    c = os.path.join(a.shared, "corpora")
    ko, en, other = [], [], []
    for p in sorted(glob.glob(f"{c}/ko/petitions/*.jsonl")):
        for l in open(p, encoding="utf-8"):
            d = json.loads(l); ko.append(d["content"])
    for p in sorted(glob.glob(f"{c}/ko/nsmc_raw_sample/raw/*.json"))[:200]:
        ko += [r["review"] for r in json.load(open(p, encoding="utf-8")) if r.get("review", "").strip()]
    with open(f"{c}/ko/chatbot_qa/ChatbotData.csv", encoding="utf-8") as f:
        ko += [r["Q"] for r in csv.DictReader(f)]
    ko += lines(glob.glob(f"{c}/parallel/news/*.ko")[0]) + lines(glob.glob(f"{c}/parallel/jhe/*.ko")[0])
    for p in sorted(glob.glob(f"{c}/ko/law_bills/*/*.txt")):
        ko += lines(p)
    for p in sorted(glob.glob(f"{c}/en/gutenberg/*.txt")):
        paras = open(p, encoding="utf-8-sig", errors="replace").read().split("\n\n")
        en += [" ".join(x.split()) for x in paras[50:-50] if len(x.split()) > 3]
    en += lines(f"{c}/en/tinyshakespeare/input.txt")[::5]
    en += [l for l in lines(f"{c}/en/wikitext2/valid.txt") if not l.startswith("=")]
    en += lines(glob.glob(f"{c}/parallel/news/*.en")[0]) + lines(glob.glob(f"{c}/parallel/jhe/*.en")[0])
    guide = glob.glob(f"{a.debian_cache}/installation-guide-amd64_*/usr/share/doc/installation-guide-amd64")
    if not guide:
        raise SystemExit("run: kormo data ingest --source debian --packages installation-guide-amd64 "
                         f"--cache-dir {a.debian_cache} --limit 1 -o /tmp/guide.jsonl")
    # Translations fall back to English for untranslated paragraphs: those are not "other".
    english_paras = set()
    for p in sorted(glob.glob(f"{guide[0]}/en/*.html")):
        t = open(p, encoding="utf-8", errors="replace").read()
        for para in re.findall(r"<p>(.*?)</p>", t, re.S):
            english_paras.add(" ".join(html.unescape(re.sub(r"<[^>]+>", "", para)).split()))
    for lang in ["de", "fr", "es", "it", "pt", "nl", "ca", "cs", "da", "ro", "sv", "id", "vi", "ru", "el", "ja", "zh_CN"]:
        for p in sorted(glob.glob(f"{guide[0]}/{lang}/*.html")):
            t = open(p, encoding="utf-8", errors="replace").read()
            for para in re.findall(r"<p>(.*?)</p>", t, re.S):
                para = html.unescape(re.sub(r"<[^>]+>", "", para))
                para = " ".join(para.split())
                if len(para) > 40 and para not in english_paras:
                    other.append(para)
    out = []
    has_script = {"ko": re.compile("[가-힣]"), "en": re.compile("[A-Za-z]"), "other": re.compile(r"\w")}
    for label, pool in (("ko", ko), ("en", en), ("other", other)):
        # A text without letters of its language (a ruler line "-----") has no language.
        pool = [x for x in pool if len(x.strip()) >= 10 and has_script[label].search(x)]
        rng.shuffle(pool)
        for t in pool[: a.per_class]:
            t = cut(rng, t)
            if not has_script[label].search(t):
                continue
            out.append({"id": f"{label}-{len(out)}", "text": t, "label": label})
    rng.shuffle(out)
    os.makedirs(os.path.dirname(os.path.abspath(a.output)), exist_ok=True)
    with open(a.output, "w", encoding="utf-8") as f:
        for d in out:
            f.write(json.dumps(d, ensure_ascii=False) + "\n")
    print(f"{len(out)} labelled texts -> {a.output}")

if __name__ == "__main__":
    main()
