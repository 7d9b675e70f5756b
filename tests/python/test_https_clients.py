"""https for the two HTTP clients: kormo synth run's teacher and kormo eval --endpoint.

A CA and server certificates made with the openssl CLI, a tiny OpenAI-compatible server
behind Python's ssl: with the CA given (ca_file / --ca-file, or the system store through
SSL_CERT_FILE) the requests go through; without it, or for a certificate naming another
host, the run stops with the verification failure and its reason, without retrying and
without sending anything.
"""
import json
import os
import ssl
import subprocess
import threading
from http.server import ThreadingHTTPServer

import pytest

from conftest import SHARED_DATA, QuietHandler

ANSWER = "광합성은 식물이 빛 에너지를 이용해 이산화탄소와 물로 포도당을 만드는 과정입니다. 잎의 엽록체에서 일어납니다."


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    """ca.pem, and server certificates signed by it: good.pem (127.0.0.1) and other.pem (another host)."""
    d = tmp_path_factory.mktemp("pki")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=kormo test CA",
            cwd=d)
    for name, san in [("good", "IP:127.0.0.1,DNS:localhost"), ("other", "DNS:other.example")]:
        (d / f"{name}.ext").write_text(f"subjectAltName={san}\n")
        openssl("req", *ec, "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={name}", cwd=d)
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
                "-out", f"{name}.pem", "-days", "2", "-extfile", f"{name}.ext", cwd=d)
    return d


class TlsServer:
    """/v1/chat/completions (one fixed answer) and /v1/completions (echoed log-probabilities) over TLS."""

    def __init__(self, cert, key):
        self.paths = []
        owner = self

        class Handler(QuietHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                owner.paths.append(self.path)
                if self.path == "/v1/chat/completions":
                    reply = {"model": "m", "choices": [{"index": 0, "finish_reason": "stop",
                                                        "message": {"role": "assistant", "content": ANSWER}}],
                             "usage": {"prompt_tokens": 5, "completion_tokens": 30}}
                else:
                    reply = {"choices": [{"index": i, "text": "",
                                          "logprobs": {"token_logprobs": [None] + [-1.0] * (len(p) - 1),
                                                       "top_logprobs": [None] + [{"x": -0.5}] * (len(p) - 1)}}
                                         for i, p in enumerate(body["prompt"])]}
                data = json.dumps(reply).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server(pki):
    s = TlsServer(pki / "good.pem", pki / "good.key")
    yield s
    s.close()


def synth_config(path, out, port, ca_file=None):
    ca = f'ca_file = "{ca_file}"' if ca_file else ""
    path.write_text(f"""
[program]
name = "tls"
output = "{out}"
[seeds]
topics = ["광합성", "삼투압"]
[mix]
tasks = ["explainer"]
[templates]
explainer = "{{{{ seed }}}}"
[teachers.t]
url = "https://127.0.0.1:{port}/v1"
model = "m"
max_attempts = 3
backoff = 0.05
max_backoff = 0.1
timeout = 5
connect_timeout = 5
{ca}
[filters]
min_lang_score = 0
dedup = false
""", encoding="utf-8")
    return path


def store(pem):
    """The environment with OpenSSL's default CA store replaced by `pem`."""
    env = {k: v for k, v in os.environ.items() if k != "SSL_CERT_DIR"}
    env["SSL_CERT_FILE"] = str(pem)
    return env


def synth(kormo_bin, cfg, env=None):
    return subprocess.run([kormo_bin, "synth", "run", cfg], capture_output=True, text=True, env=env, timeout=60)


def summary(out):
    return json.loads((out / "summary.json").read_text())


def test_synth_over_https_with_the_ca_file(kormo_bin, pki, server, tmp_path):
    out = tmp_path / "out"
    r = synth(kormo_bin, synth_config(tmp_path / "p.toml", out, server.port, pki / "ca.pem"))
    assert r.returncode == 0, r.stderr
    s = summary(out)
    assert s["counts"]["kept"] == 2 and s["requests"] == 2, s
    assert server.paths == ["/v1/chat/completions"] * 2


def test_synth_uses_the_system_store_without_a_ca_file(kormo_bin, pki, server, tmp_path):
    # OpenSSL's default verify paths, which SSL_CERT_FILE replaces: proof that the system
    # store is loaded when no ca_file is given.
    out = tmp_path / "out"
    env = store(pki / "ca.pem")
    r = synth(kormo_bin, synth_config(tmp_path / "p.toml", out, server.port), env=env)
    assert r.returncode == 0, r.stderr
    assert summary(out)["counts"]["kept"] == 2


@pytest.mark.parametrize("case", ["unknown_ca", "other_host"])
def test_synth_refused_certificate_is_a_tls_failure_not_retried(kormo_bin, pki, tmp_path, case):
    cert = "other" if case == "other_host" else "good"
    srv = TlsServer(pki / f"{cert}.pem", pki / f"{cert}.key")
    try:
        ca = {"unknown_ca": None, "other_host": pki / "ca.pem"}[case]
        out = tmp_path / "out"
        (tmp_path / "empty.pem").write_text("")
        env = store(tmp_path / "empty.pem")  # an empty system store
        r = synth(kormo_bin, synth_config(tmp_path / "p.toml", out, srv.port, ca), env=env)
    finally:
        srv.close()
    assert r.returncode == 1 and "2 of 2 items failed" in r.stderr, r.stderr
    s = summary(out)
    # One attempt per item: a refused certificate is not retried.
    assert s["errors"] == {"tls": 2} and s["requests"] == 2, s
    assert srv.paths == []
    why = {"unknown_ca": "unable to get local issuer certificate", "other_host": "does not name this host"}[case]
    details = {json.loads(l)["detail"] for p in (out / "raw").glob("part-*.jsonl")
               for l in p.read_text().splitlines() if '"detail"' in l}
    assert len(details) == 1 and why in details.pop(), details


@pytest.mark.parametrize("content", [None, "not a certificate\n"])
def test_synth_unreadable_ca_file_is_an_error_naming_it(kormo_bin, server, tmp_path, content):
    ca = tmp_path / "ca.pem"
    if content is not None:
        ca.write_text(content)
    r = synth(kormo_bin, synth_config(tmp_path / "p.toml", tmp_path / "out", server.port, ca))
    assert r.returncode == 1 and f"{ca}: not a readable PEM file of CA certificates" in r.stderr, r.stderr
    assert server.paths == []


def test_ca_file_with_an_http_url_is_refused(kormo_bin, pki, tmp_path):
    cfg = synth_config(tmp_path / "p.toml", tmp_path / "out", 9, pki / "ca.pem")
    cfg.write_text(cfg.read_text().replace("https://", "http://"))
    r = subprocess.run([kormo_bin, "synth", "plan", cfg], capture_output=True, text=True)
    assert r.returncode != 0 and "'ca_file'" in r.stderr and "https" in r.stderr, r.stderr


@pytest.fixture(scope="module")
def tokenizer(kormo_bin, tmp_path_factory):
    d = tmp_path_factory.mktemp("tok")
    subprocess.run([kormo_bin, "tokenizer", "train", "-o", d, "--vocab-size", "1000", "--threads", "1",
                    "--max-input-bytes", "200K", SHARED_DATA / "corpora/en/tinyshakespeare/input.txt"],
                   check=True, capture_output=True)
    return d / "tokenizer.json"


def eval_endpoint(kormo_bin, port, tokenizer, *extra):
    task = SHARED_DATA / "bench/ko/kobest/COPA/dev.tsv"
    return subprocess.run([kormo_bin, "eval", "--endpoint", f"https://127.0.0.1:{port}/v1", "--tokenizer", tokenizer,
                           "--served-model", "m", "-t", f"kobest_copa={task}", "--limit", "2", *extra],
                          capture_output=True, text=True, timeout=60)


def test_eval_endpoint_over_https(kormo_bin, pki, server, tokenizer, tmp_path):
    r = eval_endpoint(kormo_bin, server.port, tokenizer, "--ca-file", pki / "ca.pem", "-o", tmp_path / "r.json")
    assert r.returncode == 0, r.stderr
    assert "kobest_copa" in json.loads((tmp_path / "r.json").read_text())["results"]
    assert server.paths and set(server.paths) == {"/v1/completions"}

    sent = len(server.paths)
    r = eval_endpoint(kormo_bin, server.port, tokenizer)
    assert r.returncode != 0, r.stderr
    assert f"https://127.0.0.1:{server.port}/v1/completions" in r.stderr, r.stderr
    assert "TLS failed (SSLServerVerification: unable to get local issuer certificate" in r.stderr, r.stderr
    assert "system CA store" in r.stderr, r.stderr
    assert len(server.paths) == sent

    http = subprocess.run([kormo_bin, "eval", "--endpoint", f"http://127.0.0.1:{server.port}/v1", "--tokenizer",
                           tokenizer, "--ca-file", pki / "ca.pem", "-t", "x=y"], capture_output=True, text=True)
    assert http.returncode == 2 and "--ca-file" in http.stderr, http.stderr
