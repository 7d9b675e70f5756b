"""Documents per second of `kormo data perplexity` vs a transformers forward pass over the
same checkpoint and documents (docs/BENCHMARKS.md).

The model is bench/eval/bench.py's 110M shape (random init: speed does not depend on the
weights) with a tokenizer trained on the petitions and Gutenberg text; the documents are
the first --docs petitions of ../shared/data (2019-07), cut to --chars characters, all
shorter than the model's window, so both sides run one forward per document. Timed: from
the documents in hand to every document's log-likelihood — kormo's own `seconds` (its two
passes over the file, tokenization, the forward, the output), and for the peer tokenization
(HF tokenizers, batched) plus forward in batches of --batch documents sorted by length,
padded, log-softmax of the targets; model loading is left out on both sides. The peer runs
fp32, bf16 autocast, and torch.compile (fp32; its warm-up pass, where compilation happens,
is not timed); kormo fp32 and --precision bf16. Each round runs every variant once, in turn;
the figure is the median of --rounds rounds, all at --threads threads.

    python3 bench/data/perplexity_bench.py --kormo build/kormo [--docs 32] [--chars 600] [--rounds 3] [--threads 2]
"""
import argparse
import json
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import textwrap

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench" / "eval"))
from bench import DATA, make_model, train_tokenizer  # noqa: E402  (the eval benchmark's model and tokenizer)
MAX_SEQ_LEN = 1024  # the 110M shape of bench/eval/bench.py with this window

PEER = textwrap.dedent("""
    import json, sys, time, torch
    from tokenizers import Tokenizer
    from transformers import LlamaForCausalLM
    model_dir, docs_path, threads, variant, batch = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], int(sys.argv[5])
    torch.set_num_threads(threads)
    texts = [json.loads(l)["text"] for l in open(docs_path, encoding="utf-8")]
    tok = Tokenizer.from_file(model_dir + "/tokenizer.json")
    bos = json.load(open(model_dir + "/config.json"))["bos_token_id"]
    model = LlamaForCausalLM.from_pretrained(model_dir, torch_dtype=torch.float32).eval()
    forward = torch.compile(model) if variant == "compile" else model

    def score():
        ids = [[bos] + e.ids for e in tok.encode_batch(texts, add_special_tokens=False)]
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        lls = [0.0] * len(ids)
        for b in range(0, len(order), batch):
            group = order[b:b + batch]
            n = max(len(ids[i]) for i in group)
            x = torch.zeros(len(group), n, dtype=torch.long)
            mask = torch.zeros(len(group), n, dtype=torch.long)
            for r, i in enumerate(group):
                x[r, :len(ids[i])] = torch.tensor(ids[i])
                mask[r, :len(ids[i])] = 1
            with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=variant == "bf16"):
                logits = forward(input_ids=x, attention_mask=mask).logits.float()
            lp = torch.log_softmax(logits[:, :-1], -1).gather(-1, x[:, 1:, None])[..., 0] * mask[:, 1:]
            for r, i in enumerate(group):
                lls[i] = lp[r].sum().item()
        return lls

    if variant == "compile":
        score()  # compilation happens here
    t = time.perf_counter()
    lls = score()
    print(json.dumps({"seconds": time.perf_counter() - t, "lls": lls[:4]}))
""")


def run_kormo(kormo, model, docs, out, threads, precision):
    p = subprocess.run([kormo, "-q", "data", "perplexity", str(model), str(docs), "-o", str(out), "--threads",
                        str(threads), "--precision", precision], check=True, capture_output=True, text=True)
    return json.loads(p.stdout)["seconds"]


def run_peer(model, docs, threads, variant, batch):
    p = subprocess.run([sys.executable, "-c", PEER, str(model), str(docs), str(threads), variant, str(batch)],
                       capture_output=True, text=True)
    if p.returncode != 0:
        return None, p.stderr.strip().splitlines()[-1] if p.stderr.strip() else f"exit {p.returncode}"
    return json.loads(p.stdout.strip().splitlines()[-1])["seconds"], ""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kormo", default=str(ROOT / "build" / "kormo"))
    ap.add_argument("--docs", type=int, default=32)
    ap.add_argument("--chars", type=int, default=600)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=8, help="peer documents per forward")
    a = ap.parse_args()
    os.environ.setdefault("OMP_WAIT_POLICY", "passive")
    with tempfile.TemporaryDirectory() as t:
        tmp = pathlib.Path(t)
        train_tokenizer(a.kormo, tmp)
        model = make_model(a.kormo, tmp, "110M", max_seq_len=MAX_SEQ_LEN)
        docs = tmp / "docs.jsonl"
        with open(DATA / "corpora/ko/petitions/petitions_2019-07.jsonl", encoding="utf-8") as f, \
                open(docs, "w", encoding="utf-8") as out:
            for line in list(f)[:a.docs]:
                text = json.loads(line)["content"][:a.chars]
                out.write(json.dumps({"text": text, "lang": "ko"}, ensure_ascii=False) + "\n")
        kormo_variants, peer_variants = ("fp32", "bf16"), ("fp32", "bf16", "compile")
        times = {f"kormo {v}": [] for v in kormo_variants} | {f"torch {v}": [] for v in peer_variants}
        failed = {}
        for _ in range(a.rounds):
            for v in kormo_variants:
                times[f"kormo {v}"].append(run_kormo(a.kormo, model, docs, tmp / "out.jsonl", a.threads, v))
                print(f"kormo {v}: {times[f'kormo {v}'][-1]:.2f} s", file=sys.stderr, flush=True)
            for v in peer_variants:
                s, why = run_peer(model, docs, a.threads, v, a.batch)
                if s is None:
                    failed[f"torch {v}"] = why
                else:
                    times[f"torch {v}"].append(s)
                print(f"torch {v}: {s} {why}", file=sys.stderr, flush=True)
        rate = {k: a.docs / statistics.median(v) for k, v in times.items() if v}
        tokens = json.loads(subprocess.run([a.kormo, "-q", "data", "perplexity", str(model), str(docs), "-o",
                                            str(tmp / "out.jsonl"), "--threads", str(a.threads)],
                                           check=True, capture_output=True, text=True).stdout)["tokens"]
        print(f"{a.docs} documents, {tokens} tokens, {a.threads} threads, medians of {a.rounds}")
        print("| variant | docs/s |\n|---|---:|")
        for k, r in rate.items():
            print(f"| {k} | {r:.2f} |")
        for k, why in failed.items():
            print(f"| {k} | failed: {why} |")
        best_k = max(v for k, v in rate.items() if k.startswith("kormo"))
        best_t = max(v for k, v in rate.items() if k.startswith("torch"))
        print(f"kormo fp32 ÷ torch fp32: {rate['kormo fp32'] / rate['torch fp32']:.2f}×; "
              f"best kormo ÷ best torch: {best_k / best_t:.2f}×")


if __name__ == "__main__":
    main()
