"""Language identification measured on a labelled set from ../shared/data.

Korean: parallel-corpus .ko lines, NSMC reviews (short, informal), chatbot
questions; English: parallel .en lines, Gutenberg paragraphs; other: text
synthesised by script (Cyrillic, Greek, kana, Thai, Arabic, Chinese) plus
Latin-script European sentences written here. Precision and recall per class
must stay above the floors measured when the identifier was written."""
import csv
import glob
import json
import random

from conftest import run_kormo

FRENCH_ETC = [
    "Le système de fichiers est monté automatiquement au démarrage de la machine.",
    "Die Installation kann jederzeit über das Menü abgebrochen werden, wenn Sie das wünschen.",
    "El programa de instalación detecta los discos y las particiones del sistema.",
    "Il programma di installazione può essere avviato da una chiavetta USB.",
    "O instalador pode ser iniciado a partir de uma pen USB ou de um disco.",
    "Het installatieprogramma kan ook vanaf een USB-stick worden gestart.",
    "Installationsprogrammet kan också startas från ett USB-minne eller en cd.",
    "Program instalasi dapat dijalankan dari USB dan juga dari jaringan.",
]

SCRIPTS = [(0x0430, 0x044F), (0x03B1, 0x03C9), (0x3041, 0x3093), (0x0E01, 0x0E2E), (0x0627, 0x064A), (0x4E00, 0x4FFF)]


def synth_other(rng, n):
    out = []
    for i in range(n):
        lo, hi = SCRIPTS[i % len(SCRIPTS)]
        words = ["".join(chr(rng.randint(lo, hi)) for _ in range(rng.randint(2, 7))) for _ in range(rng.randint(3, 15))]
        sep = "" if lo >= 0x3041 and lo != 0x0627 and lo != 0x0E01 else " "
        out.append(sep.join(words))
    return out


def labelled_set(shared):
    rng = random.Random(3)
    c = shared / "corpora"
    ko = [l.strip() for l in open(glob.glob(str(c / "parallel/news/*.ko"))[0], encoding="utf-8") if l.strip()][:400]
    for p in sorted(glob.glob(str(c / "ko/nsmc_raw_sample/raw/*.json")))[:30]:
        ko += [r["review"] for r in json.load(open(p, encoding="utf-8")) if len(r.get("review", "")) >= 10][:10]
    with open(c / "ko/chatbot_qa/ChatbotData.csv", encoding="utf-8") as f:
        ko += [r["Q"] for r in csv.DictReader(f)][:300]
    en = [l.strip() for l in open(glob.glob(str(c / "parallel/news/*.en"))[0], encoding="utf-8") if l.strip()][:400]
    book = open(c / "en/gutenberg/Pride-and-Prejudice_1342.txt", encoding="utf-8-sig").read().split("\n\n")
    en += [" ".join(p.split()) for p in book[100:500] if len(p.split()) > 5][:300]
    other = synth_other(rng, 300) + FRENCH_ETC * 5
    return [(t, "ko") for t in ko] + [(t, "en") for t in en] + [(t, "other") for t in other]


def test_langid_precision_recall(kormo_bin, shared_data, tmp_path):
    items = labelled_set(shared_data)
    src = tmp_path / "set.jsonl"
    with open(src, "w", encoding="utf-8") as f:
        for i, (t, _) in enumerate(items):
            f.write(json.dumps({"id": str(i), "text": t}, ensure_ascii=False) + "\n")
    out = tmp_path / "lid.jsonl"
    run_kormo(kormo_bin, "-q", "data", "langid", src, "-o", out, "--keep-all")
    pred = {}
    for l in open(out, encoding="utf-8"):
        d = json.loads(l)
        pred[int(d["id"])] = d["lang"]
        assert 0.0 <= d["meta"]["lang_score"] <= 1.0
    assert len(pred) == len(items)
    for c, floor in (("ko", 0.98), ("en", 0.97), ("other", 0.95)):
        tp = sum(1 for i, (_, l) in enumerate(items) if l == c and pred[i] == c)
        prec = tp / max(1, sum(1 for p in pred.values() if p == c))
        rec = tp / sum(1 for _, l in items if l == c)
        assert prec >= floor and rec >= floor, (c, prec, rec)
