"""kormo data dedup through the CLI: the first document of a cluster is kept
with its cluster size, the others are rejected naming it, and the output does
not depend on the thread count."""
import json
import random

from conftest import run_kormo


def test_dedup_keeps_first_and_reports_clusters(kormo_bin, shared_data, tmp_path):
    book = open(shared_data / "corpora/en/gutenberg/Frankenstein_84.txt", encoding="utf-8-sig").read()
    paras = [" ".join(p.split()) for p in book.split("\n\n") if len(p.split()) > 60][:200]
    rng = random.Random(5)
    docs = [{"id": f"p{i}", "text": t} for i, t in enumerate(paras)]
    # Exact copy (different case/punctuation) and a near copy (one word changed) of paragraph 3.
    docs.append({"id": "exact", "text": paras[3].upper().replace(",", "")})
    words = paras[3].split()
    words[len(words) // 2] = "zzzzword"
    docs.append({"id": "near", "text": " ".join(words)})
    rng.shuffle(docs[5:])  # keep p0..p4 first so p3 precedes its copies
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps(d) + "\n" for d in docs), encoding="utf-8")
    run_kormo(kormo_bin, "-q", "data", "dedup", src, "-o", tmp_path / "a.jsonl", "--threads", "1")
    run_kormo(kormo_bin, "-q", "data", "dedup", src, "-o", tmp_path / "b.jsonl", "--threads", "2")
    a = (tmp_path / "a.jsonl").read_text(encoding="utf-8")
    assert a == (tmp_path / "b.jsonl").read_text(encoding="utf-8")
    kept = [json.loads(l) for l in a.splitlines()]
    ids = [d["id"] for d in kept]
    assert "exact" not in ids and "near" not in ids and "p3" in ids
    assert len(kept) == len(docs) - 2
    p3 = next(d for d in kept if d["id"] == "p3")
    assert p3["meta"]["dedup_cluster_size"] == 3
    rej = {r["id"]: r for r in map(json.loads, (tmp_path / "a.rejects.jsonl").read_text(encoding="utf-8").splitlines())}
    assert rej["exact"]["rule"] == "dedup.exact" and rej["exact"]["detail"]["duplicate_of"] == "p3"
    assert rej["near"]["rule"] == "dedup.near" and rej["near"]["detail"]["duplicate_of"] == "p3"
    assert rej["near"]["doc"]["text"] == " ".join(words)
