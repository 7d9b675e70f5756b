"""kormo synth run against teachers that misbehave and against a real kormo serve.

- A fault-injecting endpoint (500, 429 with Retry-After, read timeouts, malformed JSON,
  empty choices, bodies cut short, 400): every failure is retried or reported with its
  reason, the run never crashes, and request and token budgets hold across invocations.
- Planted outputs (wrong language, refusals, preambles, exact and near duplicates, a
  truncated answer, one quoting an evaluation item) are rejected with their rule; every
  kept output is synthetic and carries its provenance.
- SIGTERM lets the requests in flight finish and stores them; requests_per_second spaces
  requests.
- kill -9 of the generator at random moments against kormo serve on loopback, behind a
  counting proxy: the final output has every planned item exactly once, and no request
  is ever sent for an item whose answer was already stored.
"""
import http.client
import json
import random
import signal
import subprocess
import threading
import time
from http.server import ThreadingHTTPServer

import pytest

from conftest import SHARED_DATA, KormoServe, QuietHandler


def petitions(n):
    """Distinct Korean texts: the first sentences of petitions (some were posted twice)."""
    out, seen = [], set()
    with open(SHARED_DATA / "corpora/ko/petitions/petitions_2017-08.jsonl", encoding="utf-8") as f:
        for line in f:
            t = json.loads(line)["content"]
            if len(t) > 300 and t[:100] not in seen:
                seen.add(t[:100])
                end = t.find(".", 250)
                out.append(t[: end + 1 if end > 0 else 300])
            if len(out) == n:
                break
    return out


KO = petitions(40)
EN = ("The committee met on Tuesday to discuss the new budget proposal, and members agreed that "
      "spending on public transport should rise next year while administrative costs are reduced.")


class FaultServer:
    """An OpenAI-style /v1/chat/completions whose behaviour is named by the prompt (the topic)."""

    def __init__(self, usage=(10, 20)):
        self.lock = threading.Lock()
        self.attempts = {}  # prompt -> [time of each request]
        self.keys = []      # `user` of every request, in arrival order
        self.usage = usage
        owner = self

        class Handler(QuietHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                prompt = body["messages"][0]["content"]
                with owner.lock:
                    owner.attempts.setdefault(prompt, []).append(time.monotonic())
                    owner.keys.append(body["user"])
                    n = len(owner.attempts[prompt])
                owner.answer(self, prompt, n)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()

    @staticmethod
    def send(h, status, body, headers=()):
        data = body.encode() if isinstance(body, str) else body
        h.send_response(status)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(data)))
        for k, v in headers:
            h.send_header(k, v)
        h.end_headers()
        h.wfile.write(data)

    def ok(self, h, text, finish="stop"):
        self.send(h, 200, json.dumps({
            "id": "x", "object": "chat.completion", "model": "fault-model",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": finish}],
            "usage": {"prompt_tokens": self.usage[0], "completion_tokens": self.usage[1]}}))

    def answer(self, h, prompt, n):
        first = n == 1
        if prompt.startswith("ok-"):
            return self.ok(h, KO[int(prompt[3:])])
        if prompt.startswith("slow-"):
            time.sleep(0.3)
            return self.ok(h, KO[int(prompt[5:])])
        if prompt == "500" and first:
            return self.send(h, 500, '{"error":{"message":"internal"}}')
        if prompt == "429" and first:
            return self.send(h, 429, '{"error":{"message":"rate limited"}}', [("Retry-After", "1")])
        if prompt == "timeout" and first:
            time.sleep(1.5)  # the client's timeout is 0.5 s
            return self.ok(h, KO[30])  # to a client that has gone
        if prompt == "malformed" and first:
            return self.send(h, 200, '{"choices": [{"message": {"content": "')
        if prompt == "empty" and first:
            return self.send(h, 200, '{"choices": []}')
        if prompt == "truncated" and first:
            h.send_response(200)
            h.send_header("Content-Type", "application/json")
            h.send_header("Content-Length", "5000")
            h.end_headers()
            h.wfile.write(b'{"choices": [{"message"')
            h.wfile.flush()
            h.close_connection = True
            return
        if prompt == "always500":
            return self.send(h, 503, "overloaded")
        if prompt == "400":
            return self.send(h, 400, '{"error":{"message":"bad request"}}')
        planted = {"refusal": "죄송하지만 요청하신 글은 작성할 수 없습니다. 이 주제는 제가 다룰 수 있는 범위를 "
                              "벗어납니다. 다른 주제를 말씀해 주시면 기꺼이 도와드리겠습니다.",
                   "english": EN,
                   "meta": "다음은 요청하신 설명입니다:\n\n" + KO[31],
                   "dup-a": KO[32],
                   "dup-b": KO[32].replace(" ", "  그리고 ", 1),
                   "exact": KO[0],
                   "long": KO[33],
                   "contam": KO[34]}
        if prompt in planted:
            return self.ok(h, planted[prompt], "length" if prompt == "long" else "stop")
        # A fault's retry succeeds with a text of its own (else the faults would be duplicates).
        return self.ok(h, KO[20 + ["500", "429", "timeout", "malformed", "empty", "truncated"].index(prompt)])


def config(path, out, port, topics, teacher_extra="", budget="", filters=""):
    path.write_text(f"""
[program]
name = "fault"
output = "{out}"
[seeds]
topics = {json.dumps(topics, ensure_ascii=False)}
[mix]
tasks = ["explainer"]
[templates]
explainer = "{{{{ seed }}}}"
[teachers.f]
url = "http://127.0.0.1:{port}/v1"
model = "m"
concurrency = 4
max_attempts = 3
backoff = 0.05
max_backoff = 0.2
timeout = 0.5
connect_timeout = 0.5
{teacher_extra}
[budget]
{budget}
[filters]
min_chars = 50
{filters}
""", encoding="utf-8")
    return path


def synth(kormo_bin, *args, env=None):
    return subprocess.run([kormo_bin, "synth", *map(str, args)], capture_output=True, text=True, env=env)


def records(out):
    recs = []
    for p in sorted((out / "raw").glob("part-*.jsonl")):
        for line in p.read_text(encoding="utf-8").splitlines():
            try:
                j = json.loads(line)
            except json.JSONDecodeError:
                continue  # a torn last line
            if "key" in j:
                recs.append(j)
    return recs


@pytest.fixture
def server():
    s = FaultServer()
    yield s
    s.close()


def test_faults_are_retried_or_reported(kormo_bin, server, tmp_path):
    faults = ["500", "429", "timeout", "malformed", "empty", "truncated", "always500", "400"]
    topics = faults + [f"ok-{i}" for i in range(1, 5)]
    cfg = config(tmp_path / "p.toml", tmp_path / "out", server.port, topics)
    r = synth(kormo_bin, "run", cfg)
    assert r.returncode == 1, r.stderr
    assert "2 of 12 items failed" in r.stderr, r.stderr
    att = {k: len(v) for k, v in server.attempts.items()}
    for f in ["500", "429", "timeout", "malformed", "empty", "truncated"]:
        assert att[f] == 2, (f, att)
    assert att["always500"] == 3 and att["400"] == 1, att  # retries used up; a 4xx is not retried
    t429 = server.attempts["429"]
    assert t429[1] - t429[0] >= 0.95, "Retry-After: 1 was not honoured"
    summary = json.loads((tmp_path / "out/summary.json").read_text())
    assert summary["errors"] == {"http_5xx": 4, "http_429": 1, "read": 2, "malformed_json": 1,
                                 "empty_choices": 1, "http_4xx": 1}, summary["errors"]
    assert summary["counts"]["failed"] == 2 and summary["counts"]["kept"] == 10, summary["counts"]
    assert summary["requests"] == sum(att.values())
    failed = {j["reason"] for j in records(tmp_path / "out") if j["status"] == "failed"}
    assert failed == {"http_5xx", "http_4xx"}
    # A rerun asks only the failed items again.
    before = dict(att)
    r = synth(kormo_bin, "run", cfg)
    assert r.returncode == 1, r.stderr
    att = {k: len(v) for k, v in server.attempts.items()}
    assert {k: att[k] - before[k] for k in att if att[k] != before[k]} == {"always500": 3, "400": 1}


def test_budgets_hold_across_invocations(kormo_bin, server, tmp_path):
    topics = [f"ok-{i}" for i in range(20)]
    cfg = config(tmp_path / "p.toml", tmp_path / "out", server.port, topics, budget="max_requests = 5")
    for _ in range(2):
        r = synth(kormo_bin, "run", cfg)
        assert r.returncode == 0, r.stderr
        assert "budget is spent" in r.stderr
    assert len(server.keys) == 5
    s = json.loads((tmp_path / "out/summary.json").read_text())
    assert s["budget"]["exhausted"] and s["counts"]["pending"] == 15 and not s["complete"]

    # The budget ends an item between its retries: stored as "budget", pending, not failed.
    out3 = tmp_path / "out3"
    cfg3 = config(tmp_path / "p3.toml", out3, server.port, ["always500"], budget="max_requests = 2")
    r = synth(kormo_bin, "run", cfg3)
    assert r.returncode == 0, r.stderr
    s = json.loads((out3 / "summary.json").read_text())
    assert s["requests"] == 2 and s["counts"]["pending"] == 1 and s["counts"]["failed"] == 0, s
    assert [j["reason"] for j in records(out3)] == ["budget"]

    # Tokens: each answer reports 30; a request is sent only if its worst case
    # (prompt bytes + max_tokens 50) still fits.
    out2 = tmp_path / "out2"
    cfg2 = config(tmp_path / "p2.toml", out2, server.port, topics, budget="max_tokens = 200",
                  teacher_extra="[teachers.f.sampling]\nmax_tokens = 50")
    sent = len(server.keys)
    r = synth(kormo_bin, "run", cfg2)
    assert r.returncode == 0, r.stderr
    s = json.loads((out2 / "summary.json").read_text())
    assert s["tokens"] <= 200 and s["tokens"] == 30 * (len(server.keys) - sent), s
    assert len(server.keys) - sent >= 4  # 4 × 30 + the next worst case (≤ 5 + 50) fits in 200


def test_sigterm_finishes_the_requests_in_flight(kormo_bin, server, tmp_path):
    cfg = config(tmp_path / "p.toml", tmp_path / "out", server.port, [f"slow-{i}" for i in range(30)])
    cfg.write_text(cfg.read_text().replace("concurrency = 4", "concurrency = 2"))
    p = subprocess.Popen([kormo_bin, "synth", "run", cfg], stderr=subprocess.PIPE, text=True)
    # Once requests arrive the generator is asking (a signal before that ends it, as usual).
    deadline = time.monotonic() + 30
    while len(server.keys) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.4)
    p.send_signal(signal.SIGTERM)
    _, err = p.communicate(timeout=10)
    assert p.returncode == 0, err
    s = json.loads((tmp_path / "out/summary.json").read_text())
    asked = len(server.keys)
    # Every request sent was answered and stored; nothing failed; the rest waits for a rerun.
    assert s["counts"]["answered"] == asked and s["counts"].get("failed", 0) == 0, (s, asked)
    assert 0 < asked < 30 and s["counts"]["pending"] == 30 - asked


def test_rate_limit_spaces_requests(kormo_bin, server, tmp_path):
    cfg = config(tmp_path / "p.toml", tmp_path / "out", server.port, [f"ok-{i}" for i in range(8)],
                 teacher_extra="requests_per_second = 10")
    assert synth(kormo_bin, "run", cfg).returncode == 0
    times = sorted(t for v in server.attempts.values() for t in v)
    assert len(times) == 8
    # 8 requests at 10/s: the first at once, the last 0.7 s later (a little slack for the clock).
    assert times[-1] - times[0] >= 0.65, times


def test_planted_outputs_are_rejected_with_their_rule(kormo_bin, server, tmp_path):
    topics = [f"ok-{i}" for i in range(6)] + ["refusal", "english", "meta", "dup-a", "dup-b", "exact", "long",
                                              "contam"]
    # An evaluation item quoting a sentence of the "contam" answer.
    (tmp_path / "eval.jsonl").write_text(json.dumps({"question": KO[34][40:160], "answer": "예"}) + "\n")
    cfg = config(tmp_path / "p.toml", tmp_path / "out", server.port, topics,
                 filters=f'decontam = ["{tmp_path}/eval.jsonl"]')
    r = synth(kormo_bin, "run", cfg)
    assert r.returncode == 0, r.stderr
    rejects = [json.loads(l) for l in (tmp_path / "out/rejects.jsonl").read_text().splitlines()]
    assert sorted(j["rule"] for j in rejects) == sorted(
        ["refusal", "lang.mismatch", "meta_commentary", "dedup.near", "dedup.exact", "truncated", "decontam"]), rejects
    kept = [json.loads(l) for l in (tmp_path / "out/synth.jsonl").read_text().splitlines()]
    assert len(kept) == 7
    plan = [json.loads(l) for l in synth(kormo_bin, "plan", cfg).stdout.splitlines()]
    by_key = {p["key"]: p for p in plan}
    for k in kept:
        assert k["synthetic"] is True and k["lang"] == "ko" and k["source"] == "fault"
        m = k["meta"]
        for field in ["program", "template", "task", "teacher", "model", "persona", "style", "seed_id", "key"]:
            assert m.get(field) not in (None, ""), (field, m)
        assert m["model"] == "fault-model" and m["teacher"] == "f" and m["template"] == "explainer.custom"
        assert m["seed_id"] == by_key[m["key"]]["seed_id"]
        assert k["conversation"][0]["content"] == by_key[m["key"]]["prompt"]
    div = json.loads((tmp_path / "out/diversity.json").read_text())
    assert div["all"]["texts"] == 7 and "f" in div["teachers"]
    # Rebuilding from the stored answers sends nothing and gives the same bytes.
    sent = len(server.keys)
    before = (tmp_path / "out/synth.jsonl").read_bytes()
    assert synth(kormo_bin, "run", cfg, "--no-requests").returncode == 0
    assert len(server.keys) == sent and (tmp_path / "out/synth.jsonl").read_bytes() == before


class CountingProxy:
    """Forwards POSTs to kormo serve and logs the `user` (the item's key) of each one."""

    def __init__(self, upstream_port):
        self.keys = []
        self.lock = threading.Lock()
        owner = self

        class Handler(QuietHandler):
            def do_POST(self):
                raw = self.rfile.read(int(self.headers["Content-Length"]))
                with owner.lock:
                    owner.keys.append(json.loads(raw)["user"])
                c = http.client.HTTPConnection("127.0.0.1", upstream_port, timeout=60)
                c.request("POST", self.path, body=raw, headers={"Content-Type": "application/json"})
                r = c.getresponse()
                data = r.read()
                c.close()
                try:
                    FaultServer.send(self, r.status, data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the generator was killed

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


def tiny_teacher_model(kormo_bin, tmp, lines, layers, max_seq_len):
    """A random tiny model with a byte-level BPE tokenizer trained on Shakespeare: a teacher
    whose answers are noise, which is all these tests need of it."""
    text = (SHARED_DATA / "corpora/en/tinyshakespeare/input.txt").read_text().splitlines()[:lines]
    (tmp / "train.txt").write_text("\n".join(text) + "\n")
    subprocess.run([kormo_bin, "-q", "tokenizer", "train", "-o", tmp / "tok", "--vocab-size", "1000",
                    tmp / "train.txt"], check=True, capture_output=True)
    (tmp / "m.toml").write_text("[model]\nvocab_size = 1024\nhidden_size = 32\nintermediate_size = 64\n"
                                f"num_layers = {layers}\nnum_heads = 4\nnum_kv_heads = 2\nhead_dim = 8\n"
                                f"max_seq_len = {max_seq_len}\n")
    model = tmp / "model"
    subprocess.run([kormo_bin, "-q", "model", "init", tmp / "m.toml", model], check=True, capture_output=True)
    for f in ["tokenizer.json", "tokenizer_config.json"]:
        (model / f).write_bytes((tmp / "tok" / f).read_bytes())
    return model


def test_kill_9_and_restart_against_kormo_serve(kormo_bin, tmp_path):
    serve = KormoServe(kormo_bin, tiny_teacher_model(kormo_bin, tmp_path, 3000, 2, 256), "--max-sequences", 8,
                       "--threads", 1)
    try:
        proxy = CountingProxy(serve.port)
        n = 300
        out = tmp_path / "out"
        cfg = tmp_path / "p.toml"
        cfg.write_text(f"""
[program]
name = "kill"
output = "{out}"
[seeds]
topics = {json.dumps([f"topic {i}" for i in range(n)])}
[mix]
tasks = ["explainer", "qa"]
personas = ["a", "b", "c"]
[templates]  # short: the tiny model's context is 256 tokens of an English-trained vocabulary
explainer = "Explain {{{{ seed }}}} as {{{{ persona }}}}."
qa = "Ask about {{{{ seed }}}}."
[teachers.serve]
url = "http://127.0.0.1:{proxy.port}/v1"
model = "model"
concurrency = 6
[teachers.serve.sampling]
max_tokens = 6
temperature = 0.8
[filters]
min_chars = 0
min_lang_score = 0
refusals = false
dedup = false
reject_truncated = false
""")
        planned = {json.loads(l)["key"] for l in synth(kormo_bin, "plan", cfg).stdout.splitlines()}
        assert len(planned) == n
        rng = random.Random(13)
        interrupted = 0
        for _ in range(6):
            start = len(proxy.keys)
            done_before = {j["key"] for j in records(out) if j["status"] == "ok"}
            p = subprocess.Popen([kormo_bin, "synth", "run", cfg], stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
            time.sleep(rng.uniform(0.2, 1.2))
            if p.poll() is None:
                interrupted += 1
            p.send_signal(signal.SIGKILL)
            p.wait()
            time.sleep(0.2)  # answers to the killed generator drain at the proxy
            asked = proxy.keys[start:]
            assert not set(asked) & done_before, "a finished item was asked again"
        assert interrupted >= 3, "the generator finished before most kills; make the test longer"
        start = len(proxy.keys)
        done_before = {j["key"] for j in records(out) if j["status"] == "ok"}
        assert done_before
        r = synth(kormo_bin, "run", cfg)
        assert r.returncode == 0, r.stderr
        assert not set(proxy.keys[start:]) & done_before
        ok = [j["key"] for j in records(out) if j["status"] == "ok"]
        assert len(ok) == len(set(ok)) == n and set(ok) == planned, "every item exactly once"
        kept = [json.loads(l)["meta"]["key"] for l in (out / "synth.jsonl").read_text().splitlines()]
        assert sorted(kept) == sorted(planned)
        # Requests per key at the server: at most one per interrupted run beyond the first.
        counts = {}
        for k in proxy.keys:
            counts[k] = counts.get(k, 0) + 1
        assert max(counts.values()) <= 1 + interrupted
        # Done means done: another run sends nothing.
        start = len(proxy.keys)
        assert synth(kormo_bin, "run", cfg).returncode == 0
        assert len(proxy.keys) == start
    finally:
        serve.stop()
