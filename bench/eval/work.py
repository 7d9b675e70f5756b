"""The work each engine does on bench.py's documents: why the speed-up of `kormo eval` over
lm-evaluation-harness's HF backend is bounded at equal GEMM speed.

kormo runs an item's context once and every option's own tokens once, with logits only at
scored positions (each option token, plus the context's last position). lm-eval's HF backend
feeds context + option (less the last token) once per option, in batches sorted longest first
and padded to the batch's longest, with logits at every position. FLOPs per token row:
2 · (non-embedding parameters) through the layers, 2 · hidden · vocabulary for a logits row.
Token counts follow lm-eval's _encode_pair (the context's trailing spaces move to the option).
Usage:
    python3 bench/eval/work.py TOKENIZER.json [--limit 32] [--batch 16]
"""
import argparse
import csv

from tokenizers import Tokenizer

from bench import DATA, SIZES, TASKS


def documents(task, limit):
    with open(DATA / "bench/ko/kobest" / TASKS[task] / "dev.tsv", encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))[:limit]
    if task == "kobest_copa":  # lm-eval's kobest utils: premise + "  왜냐하면"/"  그래서"
        return [(r["sentence"] + "  " + {"원인": "왜냐하면", "결과": "그래서"}[r["question"].strip()],
                 [" " + r["1"], " " + r["2"]]) for r in rows]
    return [("문장: " + r["context"], [" " + r[f"choice{i}"] for i in range(1, 5)]) for r in rows]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("tokenizer")
    ap.add_argument("--limit", type=int, default=32)
    ap.add_argument("--batch", type=int, default=16, help="lm-eval batch size")
    a = ap.parse_args()
    tok = Tokenizer.from_file(a.tokenizer)
    enc = lambda s: tok.encode(s, add_special_tokens=False).ids  # noqa: E731
    m = SIZES["110M"]
    hd, kv = m["head_dim"], m["num_kv_heads"] * m["head_dim"]
    C, F, V = m["hidden_size"], m["intermediate_size"], m["vocab_size"]
    per_row = 2 * m["num_layers"] * (C * (m["num_heads"] * hd + 2 * kv) + m["num_heads"] * hd * C + 3 * C * F)
    head = 2 * C * V
    print("| task | items | kormo rows: contexts + options | kormo GFLOP | lm-eval rows (padded) | lm-eval GFLOP | "
          "work ratio |\n|---|---:|---:|---:|---:|---:|---:|")
    for task in TASKS:
        docs = documents(task, a.limit)
        ctx_rows = opt_rows = 0
        seqs = []
        for ctx, options in docs:
            c = enc(ctx[:len(ctx.rstrip())])
            ctx_rows += len(c)
            for o in options:
                n = len(enc(ctx + o)) - len(c)
                opt_rows += n
                seqs.append(len(c) + n - 1)
        kormo = per_row * (ctx_rows + opt_rows) + head * (opt_rows + len(docs))
        s = sorted(seqs, reverse=True)
        padded = sum(max(s[i:i + a.batch]) * len(s[i:i + a.batch]) for i in range(0, len(s), a.batch))
        lm = (per_row + head) * padded
        print(f"| {task} | {len(docs)} | {ctx_rows:,} + {opt_rows:,} | {kormo / 1e9:,.0f} | {sum(seqs):,} ({padded:,}) | "
              f"{lm / 1e9:,.0f} | {lm / kormo:.2f}× |")


if __name__ == "__main__":
    main()
