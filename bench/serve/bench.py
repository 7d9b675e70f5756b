"""Throughput of `kormo serve` with 1, 4 and 16 concurrent streaming clients.

Builds a random-init LlamaForCausalLM (transformers, save_pretrained; --hidden/--layers set
its size) with a byte-level BPE tokenizer trained here on ../shared/data, serves it, and
for each client count runs closed-loop clients (each sends its next request when the last
one ends) for --seconds. Reported per level: aggregate generated tokens/s (from the
server's kormo_generated_tokens_total), p50/p99 time to first token and p50/p99 time per
token after the first (per request: (last event − first event) / (events − 1)).

  python3 bench/serve/bench.py --kormo build/kormo [--seconds 20] [--threads 2]
"""
import argparse
import http.client
import json
import pathlib
import re
import subprocess
import sys
import tempfile
import threading
import time

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "python"))


def build_model(d, hidden, layers):
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM
    text = (ROOT.parent / "shared/data/corpora/en/tinyshakespeare/input.txt").read_text().splitlines()[:20000]
    (d / "train.txt").write_text("\n".join(text))
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    tok.train([str(d / "train.txt")], trainers.BpeTrainer(vocab_size=4096, special_tokens=["<|endoftext|>"],
              show_progress=False, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    torch.manual_seed(0)
    cfg = LlamaConfig(vocab_size=tok.get_vocab_size(), hidden_size=hidden, intermediate_size=hidden * 8 // 3 // 32 * 32,
                      num_hidden_layers=layers, num_attention_heads=hidden // 64, num_key_value_heads=max(1, hidden // 256),
                      head_dim=64, max_position_embeddings=1024, rope_theta=500000.0, tie_word_embeddings=False,
                      bos_token_id=0, eos_token_id=0, pad_token_id=0)
    m = d / "model"
    LlamaForCausalLM(cfg).save_pretrained(m, safe_serialization=True)
    tok.save(str(m / "tokenizer.json"))
    n = sum(p.numel() for p in LlamaForCausalLM(cfg).parameters())
    return m, n


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p / 100 * len(xs)))] if xs else float("nan")


def generated(port):
    conn = http.client.HTTPConnection("127.0.0.1", port)
    conn.request("GET", "/metrics")
    text = conn.getresponse().read().decode()
    return float(re.search(r"^kormo_generated_tokens_total (\S+)", text, re.M).group(1))


def level(port, clients, seconds, max_tokens):
    ttft, per_token, errors = [], [], []
    stop_at = time.time() + seconds

    def client(k):
        i = 0
        while time.time() < stop_at:
            body = {"prompt": f"Client {k}, request {i}. ROMEO: But soft, what light", "max_tokens": max_tokens,
                    "temperature": 0.8, "seed": i, "stream": True}
            t0 = time.perf_counter()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
            conn.request("POST", "/v1/completions", body=json.dumps(body), headers={"Content-Type": "application/json"})
            r = conn.getresponse()
            times = []
            while True:
                line = r.readline()
                if not line:
                    break
                if line.startswith(b"data: ") and not line.startswith(b"data: [DONE]"):
                    times.append(time.perf_counter())
            conn.close()
            if r.status != 200 or not times:
                errors.append(r.status)
            else:
                ttft.append(times[0] - t0)
                if len(times) > 2:  # the last event carries only the finish reason
                    per_token.append((times[-2] - times[0]) / (len(times) - 2))
            i += 1

    before, t0 = generated(port), time.time()
    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    secs = time.time() - t0
    return {"clients": clients, "tokens_per_s": (generated(port) - before) / secs, "requests": len(ttft),
            "errors": len(errors), "ttft_p50_ms": pct(ttft, 50) * 1e3, "ttft_p99_ms": pct(ttft, 99) * 1e3,
            "tpot_p50_ms": pct(per_token, 50) * 1e3, "tpot_p99_ms": pct(per_token, 99) * 1e3}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kormo", default=str(ROOT / "build/kormo"))
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--max-tokens", type=int, default=64)
    ap.add_argument("--hidden", type=int, default=512)
    ap.add_argument("--layers", type=int, default=8)
    ap.add_argument("--threads", type=int, default=0)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        model, params = build_model(pathlib.Path(tmp), a.hidden, a.layers)
        from test_serve import Server
        extra = ["--max-sequences", 16, "--max-tokens-limit", a.max_tokens]
        if a.threads:
            extra += ["--threads", a.threads]
        s = Server(a.kormo, model, *extra)
        try:
            print(f"model: {params / 1e6:.1f}M parameters (hidden {a.hidden}, {a.layers} layers), fp32; "
                  f"{a.max_tokens} tokens per request; {a.seconds:.0f} s per level")
            print("| clients | tokens/s | × 1 client | requests | errors | TTFT p50 ms | TTFT p99 ms | per token p50 ms | per token p99 ms |")
            print("|---|---|---|---|---|---|---|---|---|")
            base = None
            for c in (1, 4, 16):
                r = level(s.port, c, a.seconds, a.max_tokens)
                base = base or r["tokens_per_s"]
                print(f"| {c} | {r['tokens_per_s']:.1f} | {r['tokens_per_s'] / base:.2f} | {r['requests']} | {r['errors']} "
                      f"| {r['ttft_p50_ms']:.1f} | {r['ttft_p99_ms']:.1f} | {r['tpot_p50_ms']:.1f} | {r['tpot_p99_ms']:.1f} |",
                      flush=True)
        finally:
            s.stop()


if __name__ == "__main__":
    main()
