"""kormo serve over HTTP on a tiny LlamaForCausalLM that transformers made itself.

Checked: greedy completions equal `kormo generate`; echo + logprobs (what
lm-evaluation-harness scores with) equal transformers' log-softmax on the prompt (≤ 1e-4);
batched prompts equal single ones; n > 1 with a seed is reproducible; streaming gives the
same text; every kind of bad input is a 4xx JSON error and the server keeps serving; a
client leaving mid-stream cancels its sequence; SIGTERM drains running requests and exits 0.
"""
import http.client
import json
import shutil
import signal
import time

import pytest
import torch

from conftest import KormoServe, run_kormo
from test_generate import make_model, tokenizer_json  # noqa: F401  (fixture)

KEY = "test-key"
# A small template with a thinking switch: the generation prompt opens <think> when on.
CHAT_TEMPLATE = ("{% for m in messages %}<|{{ m.role }}|>{{ m.content }}\n{% endfor %}"
                 "{% if add_generation_prompt %}<|assistant|>{% if enable_thinking %}<think>{% endif %}{% endif %}")


class Server(KormoServe):
    """`kormo serve` with the requests these tests make (the API key by default)."""

    def request(self, method, path, body=None, key=KEY, raw=None, timeout=120):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        headers = {"Content-Type": "application/json"}
        if key:
            headers["Authorization"] = f"Bearer {key}"
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        conn.request(method, path, body=data, headers=headers)
        r = conn.getresponse()
        text = r.read().decode("utf-8", errors="replace")
        conn.close()
        return r.status, (json.loads(text) if r.getheader("Content-Type", "").startswith("application/json") else text)

    def post(self, path, body, **kw):
        return self.request("POST", path, body, **kw)

    def complete(self, **body):
        status, out = self.post("/v1/completions", body)
        assert status == 200, out
        return out

    def stream_events(self, path, body):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        conn.request("POST", path, body=json.dumps({**body, "stream": True}),
                     headers={"Content-Type": "application/json", "Authorization": f"Bearer {KEY}"})
        r = conn.getresponse()
        assert r.status == 200, r.read()
        events = [l[len("data: "):] for l in r.read().decode().split("\n") if l.startswith("data: ")]
        conn.close()
        return events

    def metric(self, name):
        _, text = self.request("GET", "/metrics")
        return sum(float(l.split()[-1]) for l in text.splitlines() if l.startswith(name + " ") or l.startswith(name + "{"))


@pytest.fixture(scope="module")
def model_dir(tokenizer_json, tmp_path_factory):  # noqa: F811
    tok_path, tok = tokenizer_json
    d = tmp_path_factory.mktemp("served") / "tiny"
    make_model(tok.get_vocab_size()).save_pretrained(d, safe_serialization=True)
    shutil.copy(tok_path, d / "tokenizer.json")
    (d / "tokenizer_config.json").write_text(json.dumps({"eos_token": "<|endoftext|>", "chat_template": CHAT_TEMPLATE}))
    return d


@pytest.fixture(scope="module")
def server(kormo_bin, model_dir):
    s = Server(kormo_bin, model_dir, "--api-key", KEY, "--max-sequences", 4, "--max-body", 1 << 20,
               "--max-tokens-limit", 100)
    yield s
    assert s.stop() == 0, "".join(s.log)


PROMPTS = ["First Citizen:\nBefore we proceed", "대한민국 헌법 제1조", "To be"]


def test_models_health_and_tokenizer_routes(server, tokenizer_json):  # noqa: F811
    _, tok = tokenizer_json
    assert server.request("GET", "/health") == (200, {"status": "ok"})
    status, models = server.request("GET", "/v1/models")
    assert status == 200 and models["data"][0]["id"] == "tiny"
    status, out = server.post("/tokenize", {"prompt": PROMPTS[1], "add_special_tokens": False})
    assert status == 200 and out["tokens"] == tok.encode(PROMPTS[1]).ids
    status, out = server.post("/detokenize", {"tokens": tok.encode(PROMPTS[1]).ids})
    assert status == 200 and out["prompt"] == PROMPTS[1]
    status, info = server.request("GET", "/tokenizer_info")
    assert status == 200 and info["eos_token"] == "<|endoftext|>"


def test_greedy_completions_equal_kormo_generate(server, kormo_bin, model_dir):
    want = [json.loads(l) for l in run_kormo(kormo_bin, "generate", model_dir, "--temperature", 0, "-n", 20,
                                             *[a for p in PROMPTS for a in ("-p", p)]).stdout.splitlines()]
    for p, w in zip(PROMPTS, want):
        out = server.complete(model="tiny", prompt=p, max_tokens=20, temperature=0)
        assert out["choices"][0]["text"] == w["text"]
        assert out["choices"][0]["finish_reason"] == w["finish_reason"]
        assert out["usage"]["completion_tokens"] == len(w["tokens"])
    # A batch of prompts answers each as alone, choices in prompt order.
    out = server.complete(prompt=PROMPTS, max_tokens=20, temperature=0)
    assert [c["text"] for c in sorted(out["choices"], key=lambda c: c["index"])] == [w["text"] for w in want]
    # Streaming gives the same text.
    events = server.stream_events("/v1/completions", {"prompt": PROMPTS[0], "max_tokens": 20, "temperature": 0})
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    assert "".join(c["choices"][0]["text"] for c in chunks) == want[0]["text"]
    assert chunks[-1]["choices"][0]["finish_reason"] == want[0]["finish_reason"]


def test_echo_logprobs_equal_transformers(server, model_dir, tokenizer_json):  # noqa: F811
    _, tok = tokenizer_json
    from transformers import LlamaForCausalLM
    model = LlamaForCausalLM.from_pretrained(model_dir, dtype=torch.float32).eval()
    for text in PROMPTS:
        ids = tok.encode(text).ids
        with torch.no_grad():
            ref = torch.log_softmax(model(torch.tensor([ids])).logits[0].double(), -1)
        for max_tokens in (0, 1):
            out = server.complete(prompt=ids, max_tokens=max_tokens, temperature=0, logprobs=2, echo=True)
            lp = out["choices"][0]["logprobs"]
            assert len(lp["token_logprobs"]) == len(ids) + max_tokens
            assert lp["token_logprobs"][0] is None and lp["top_logprobs"][0] is None
            for j in range(1, len(ids)):
                assert abs(lp["token_logprobs"][j] - ref[j - 1, ids[j]].item()) <= 1e-4
                top = ref[j - 1].topk(2)
                got = sorted(lp["top_logprobs"][j].values(), reverse=True)
                assert all(abs(g - w) <= 1e-4 for g, w in zip(got, top.values.tolist()))
            assert lp["tokens"][:len(ids)] == [tok.decode([i]) for i in ids]
            assert lp["text_offset"][0] == 0
            assert out["choices"][0]["text"].startswith(tok.decode(ids))
            if max_tokens == 1:
                # The generated token's entry: the greedy one, its log-prob the model's.
                assert abs(lp["token_logprobs"][-1] - ref[-1].max().item()) <= 1e-4


def test_n_with_seed_is_reproducible(server):
    body = dict(prompt=PROMPTS[2], max_tokens=12, temperature=1.0, n=3, seed=5)
    a = [c["text"] for c in server.complete(**body)["choices"]]
    b = [c["text"] for c in server.complete(**body)["choices"]]
    assert a == b and len(a) == 3
    assert len(set(a)) > 1, a  # each choice draws its own stream
    c = [c["text"] for c in server.complete(**{**body, "seed": 6})["choices"]]
    assert c != a


def test_chat_completions_render_the_template_and_split_reasoning(server):
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "서울은 어떤 곳인가요?"}]
    rendered = "<|system|>Be brief.\n<|user|>서울은 어떤 곳인가요?\n<|assistant|>"
    for thinking in (False, True):
        body = {"messages": messages, "max_tokens": 16, "temperature": 0,
                "chat_template_kwargs": {"enable_thinking": thinking}}
        status, out = server.post("/v1/chat/completions", body)
        assert status == 200, out
        msg = out["choices"][0]["message"]
        # The same prompt through /v1/completions gives the same text.
        text = server.complete(prompt=rendered + ("<think>" if thinking else ""), max_tokens=16,
                               temperature=0)["choices"][0]["text"]
        if thinking:  # the prompt opened <think>; the random model never closes it
            assert msg.get("reasoning_content", "") == text.strip(" \n") and msg["content"] == ""
        else:
            assert msg["content"] == text and "reasoning_content" not in msg
        events = server.stream_events("/v1/chat/completions", body)
        assert events[-1] == "[DONE]"
        chunks = [json.loads(e)["choices"][0] for e in events[:-1]]
        assert chunks[0]["delta"]["role"] == "assistant"
        assert "".join(c["delta"].get("content", "") for c in chunks) == msg["content"]
        assert "".join(c["delta"].get("reasoning_content", "") for c in chunks) == msg.get("reasoning_content", "")
        assert chunks[-1]["finish_reason"] == out["choices"][0]["finish_reason"]
    status, out = server.post("/v1/chat/completions", {"messages": [{"role": "user"}]})
    assert status == 400 and "messages[0]" in out["error"]["message"]


BAD = [
    ("malformed JSON", dict(raw=b'{"prompt": "x",'), 400, "invalid_json"),
    ("not an object", dict(raw=b'[1, 2]'), 400, "invalid_json"),
    ("unknown model", dict(body={"model": "gpt-4", "prompt": "x"}), 404, "model_not_found"),
    ("negative max_tokens", dict(body={"prompt": "x", "max_tokens": -1}), 400, "invalid_value"),
    ("huge max_tokens", dict(body={"prompt": "x", "max_tokens": 10 ** 12}), 400, "invalid_value"),
    ("float max_tokens", dict(body={"prompt": "x", "max_tokens": 1.5}), 400, "invalid_type"),
    ("invalid UTF-8", dict(raw=b'{"prompt": "\xff\xfe"}'), 400, "invalid_utf8"),
    ("unknown field", dict(body={"prompt": "x", "best_of": 2}), 400, "unknown_field"),
    ("prompt longer than the context", dict(body={"prompt": [5] * 200}), 400, "context_length_exceeded"),
    ("token outside the vocabulary", dict(body={"prompt": [10 ** 6]}), 400, "invalid_value"),
    ("empty prompt", dict(body={"prompt": ""}), 400, "invalid_value"),
    ("bad temperature", dict(body={"prompt": "x", "temperature": -1}), 400, "invalid_value"),
    ("wrong API key", dict(body={"prompt": "x"}, key="nope"), 401, "invalid_api_key"),
    ("no API key", dict(body={"prompt": "x"}, key=None), 401, "invalid_api_key"),
    ("body over the limit", dict(raw=b'{"prompt": "' + b"a" * (2 << 20) + b'"}'), 413, "body_too_large"),
]


@pytest.mark.parametrize("name,kw,status,code", BAD, ids=[b[0] for b in BAD])
def test_bad_input_is_a_4xx_and_the_server_keeps_serving(server, name, kw, status, code):
    got, out = server.request("POST", "/v1/completions", **kw)
    assert got == status, (name, out)
    assert out["error"]["code"] == code and out["error"]["message"], out
    assert server.request("GET", "/health")[0] == 200
    assert server.complete(prompt="x", max_tokens=2, temperature=0)["choices"][0]["finish_reason"]


def test_100_mb_body_is_refused(server):
    status = None
    try:
        status, out = server.request("POST", "/v1/completions", raw=b"x" * (100 << 20))
    except (ConnectionResetError, BrokenPipeError):
        pass  # the server may close the connection before reading it all
    assert status in (None, 413)
    assert server.request("GET", "/health")[0] == 200


def test_client_leaving_mid_stream_cancels_its_sequence(server):
    before = server.metric("kormo_cancelled_total")
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    conn.request("POST", "/v1/completions",
                 body=json.dumps({"prompt": PROMPTS[0], "max_tokens": 100, "temperature": 1, "stream": True}),
                 headers={"Content-Type": "application/json", "Authorization": f"Bearer {KEY}"})
    r = conn.getresponse()
    assert r.status == 200
    r.readline()  # the first event has arrived: the sequence is running
    conn.sock.close()
    conn.close()
    deadline = time.time() + 30
    while server.metric("kormo_cancelled_total") <= before and time.time() < deadline:
        time.sleep(0.1)
    assert server.metric("kormo_cancelled_total") > before
    assert any("client went away" in l for l in server.log)
    assert server.request("GET", "/health")[0] == 200


def test_sigterm_drains_running_requests_and_exits_0(kormo_bin, model_dir):
    s = Server(kormo_bin, model_dir, "--max-tokens-limit", 100)
    conn = http.client.HTTPConnection("127.0.0.1", s.port, timeout=60)
    conn.request("POST", "/v1/completions", headers={"Content-Type": "application/json"},
                 body=json.dumps({"prompt": [5] * 20, "max_tokens": 100, "temperature": 1, "seed": 1, "stream": True}))
    r = conn.getresponse()
    first = r.readline()  # mid-generation from here on
    assert first.startswith(b"data: ")
    s.proc.send_signal(signal.SIGTERM)
    rest = r.read().decode()
    events = [l[len("data: "):] for l in rest.split("\n") if l.startswith("data: ")]
    # The stream ran to its end (100 tokens: "length"), not cut by the signal.
    assert events[-1] == "[DONE]"
    assert json.loads(events[-2])["choices"][0]["finish_reason"] == "length"
    assert s.proc.wait(30) == 0, "".join(s.log)
    assert any("draining" in l for l in s.log)
