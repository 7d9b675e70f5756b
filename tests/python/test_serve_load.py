"""Load: 16 concurrent streaming clients against `kormo serve` for 60 s on loopback.

Zero failed requests, and memory flat: the server's resident size at the end is within
16 MiB of its size after a 10 s warm-up (the KV cache and buffers are allocated by
then; a leak of one request's state per request would exceed it within the run).
KORMO_SKIP_LOAD_TEST=1 skips it; KORMO_LOAD_SECONDS shortens it (CI runs the full 60 s).
"""
import http.client
import json
import os
import threading
import time

import pytest

from test_generate import tokenizer_json  # noqa: F401  (fixture)
from test_serve import Server, model_dir  # noqa: F401  (fixture)

CLIENTS = 16
SECONDS = float(os.environ.get("KORMO_LOAD_SECONDS", "60"))
WARMUP = min(10.0, SECONDS / 6)
RSS_TOLERANCE = 16 << 20


def rss(pid):
    with open(f"/proc/{pid}/status") as f:
        return next(int(l.split()[1]) * 1024 for l in f if l.startswith("VmRSS:"))


@pytest.mark.skipif(os.environ.get("KORMO_SKIP_LOAD_TEST") == "1", reason="KORMO_SKIP_LOAD_TEST=1")
def test_16_streaming_clients_for_60_s(kormo_bin, model_dir):  # noqa: F811
    s = Server(kormo_bin, model_dir, "--max-sequences", CLIENTS, "--max-tokens-limit", 64)
    done, failures, tokens = [0] * CLIENTS, [], [0] * CLIENTS
    stop_at = time.time() + SECONDS

    def client(k):
        i = 0
        while time.time() < stop_at:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", s.port, timeout=60)
                body = {"prompt": f"Client {k} request {i}: To be, or not", "max_tokens": 48, "temperature": 0.8,
                        "seed": i, "stream": True}
                conn.request("POST", "/v1/completions", body=json.dumps(body), headers={"Content-Type": "application/json"})
                r = conn.getresponse()
                events = [l[6:] for l in r.read().decode().split("\n") if l.startswith("data: ")]
                conn.close()
                if r.status != 200 or events[-1] != "[DONE]":
                    failures.append((k, i, r.status, events[-3:]))
                else:
                    done[k] += 1
                    tokens[k] += len(events) - 1
            except Exception as e:  # noqa: BLE001  (every failure is counted)
                failures.append((k, i, repr(e)))
            i += 1

    threads = [threading.Thread(target=client, args=(k,)) for k in range(CLIENTS)]
    for t in threads:
        t.start()
    time.sleep(WARMUP)
    warm = rss(s.proc.pid)
    for t in threads:
        t.join()
    end = rss(s.proc.pid)
    assert s.stop() == 0, "".join(s.log[-20:])
    print(f"{sum(done)} requests by {CLIENTS} clients in {SECONDS:.0f} s, {sum(tokens)} stream events; "
          f"RSS after warm-up {warm / 2**20:.1f} MiB, at the end {end / 2**20:.1f} MiB")
    assert not failures, failures[:5]
    assert all(d > 0 for d in done), done
    assert end - warm <= RSS_TOLERANCE, (warm, end)
