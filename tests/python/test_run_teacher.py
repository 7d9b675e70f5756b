"""kormo run's synth stage with a teacher endpoint: a real `kormo serve` on loopback (a tiny
random model) behind a counting proxy.

- The stage asks the teacher once per planned item, seeded by training documents only (never
  held-out ones); the kept answers carry `synthetic: true` and their provenance, reach the
  synthetic pretraining shard and the SFT conversations, and the diversity report is in the
  manifest and the run's report. The API key's value is nowhere in the run directory.
- [synth.budget] stops the stage early; raising it asks only the items not yet answered (the
  stored answers survive the stage's rerun under its new config).
- A rerun with nothing changed reuses the stage and sends nothing.
- kill -9 of `kormo run` in the middle of the synth stage, then a rerun: every planned item
  answered exactly once, nothing asked again that had been answered.

The tiny model writes random tokens, so the post-filters that judge text (language, length,
refusals, dedup, truncation at max_tokens) are relaxed in the config: they would reject every
answer, and they have their own tests (test_synth_teacher.py, tests/synth/teacher_test.cpp).
"""
import json
import os
import re
import signal
import subprocess
import time

import pytest

from conftest import SHARED_DATA, KormoServe
from test_synth_teacher import CountingProxy, records, tiny_teacher_model

SECRET = "sk-kormo-test-not-a-real-key-5417"


def read_jsonl(path):
    if str(path).endswith(".zst"):
        text = subprocess.run(["zstd", "-dc", path], capture_output=True, check=True).stdout.decode("utf-8")
    else:
        text = path.read_text(encoding="utf-8")
    return [json.loads(l) for l in text.splitlines() if l.strip()]


def write_docs(path):
    out = []
    for line in (SHARED_DATA / "corpora/ko/petitions/petitions_2017-08.jsonl").read_text().splitlines()[:300]:
        text = json.loads(line)["content"].strip()
        if len(text) > 300:
            out.append({"text": text})
    book = sorted((SHARED_DATA / "corpora/en/gutenberg").glob("*.txt"))[0].read_text(
        encoding="utf-8-sig", errors="replace")
    out += [{"text": p.strip()} for p in book.replace("\r\n", "\n").split("\n\n") if len(p.strip()) > 400][:120]
    path.write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in out), encoding="utf-8")


def run_config(tmp, port, budget=""):
    return f"""
[data.pipeline]
inputs = ["{tmp}/docs.jsonl"]
[data.langid]
keep = ["ko", "en"]
[split]
heldout_fraction = 0.1
[synth]
programs = ["arith"]
n = 40
heldout_arith = 4
teacher_seeds = 30
teacher_seed_chars = 120
[synth.teachers.serve]
url = "http://127.0.0.1:{port}/v1"
model = "model"
api_key_env = "KORMO_TEST_TEACHER_KEY"
concurrency = 2
[synth.teachers.serve.sampling]
max_tokens = 6
temperature = 0.8
[synth.filters]
min_chars = 0
min_lang_score = 0
refusals = false
dedup = false
reject_truncated = false
[synth.budget]
{budget}
[tokenizer]
vocab_size = 1000
[model]
hidden_size = 32
intermediate_size = 64
num_layers = 1
num_heads = 2
num_kv_heads = 1
head_dim = 16
max_seq_len = 64
[pretrain.data]
batch_size = 2
seq_len = 64
val_fraction = 0.05
val_tokens = 512
[pretrain.train]
steps = 2
eval_every = 2
checkpoint_every = 2
threads = 2
[[pretrain.phase]]
name = "mix"
mix = {{ docs = 0.5, synth = 0.5 }}
"""


@pytest.fixture(scope="module")
def teacher(kormo_bin, tmp_path_factory):
    """kormo serve with a tiny random model, and a proxy counting each request's key."""
    serve = KormoServe(kormo_bin, tiny_teacher_model(kormo_bin, tmp_path_factory.mktemp("teacher"), 2000, 1, 2048),
                       "--max-sequences", 4, "--threads", 1)  # 2048: the prompts are Korean, byte-level
    try:
        yield CountingProxy(serve.port)
    finally:
        serve.stop()


def kormo_run(kormo_bin, cfg, out, *extra):
    env = dict(os.environ, KORMO_TEST_TEACHER_KEY=SECRET, OMP_WAIT_POLICY="passive")
    return subprocess.run([kormo_bin, "run", cfg, "-o", out, *map(str, extra)], capture_output=True, text=True,
                          env=env)


def planned_keys(kormo_bin, run_dir):
    # The stage leaves the program it ran beside its answers, its paths relative to the run.
    plan = subprocess.run([kormo_bin, "synth", "plan", "synth/teacher/program.toml"], cwd=run_dir,
                          capture_output=True, text=True, check=True).stdout
    return [json.loads(l)["key"] for l in plan.splitlines()]


def stage(manifest_dir, name):
    m = json.loads((manifest_dir / "manifest.json").read_text())
    return next(s for s in m["stages"] if s["name"] == name)


def test_run_asks_the_teacher_once_per_item(kormo_bin, teacher, tmp_path):
    write_docs(tmp_path / "docs.jsonl")
    cfg, out = tmp_path / "run.toml", tmp_path / "run"
    # A budget of 12 requests: the stage stops asking, keeps what it has and says so.
    cfg.write_text(run_config(tmp_path, teacher.port, "max_requests = 12"))
    r = kormo_run(kormo_bin, cfg, out, "--until", "synth")
    assert r.returncode == 0, r.stderr
    assert "teacher budget is spent" in r.stderr, r.stderr
    assert len(teacher.keys) == 12
    s = stage(out, "synth")["summary"]["teacher"]
    assert s["planned"] == 30 and s["answered"] == 12 and s["pending"] == 18 and not s["complete"], s
    first = list(teacher.keys)

    # Raising the budget reruns the stage (its config changed) and asks only the other 18.
    cfg.write_text(run_config(tmp_path, teacher.port))
    r = kormo_run(kormo_bin, cfg, out)
    assert r.returncode == 0, r.stderr
    assert "run: [3/6] synth — writing instruction data and asking the teacher models" in r.stderr, r.stderr
    asked = teacher.keys[len(first):]
    assert len(asked) == 18 and not set(asked) & set(first), (len(asked), set(asked) & set(first))
    plan = planned_keys(kormo_bin, out)
    assert sorted(teacher.keys) == sorted(plan), "each planned item asked exactly once"

    # Kept answers: synthetic, with provenance, in the pretraining text and the shard.
    s = stage(out, "synth")["summary"]
    t = s["teacher"]
    assert t["planned"] == 30 and t["kept"] == 30 and t["requests"] == 30 and t["complete"], t
    div = t["diversity"]
    assert div["all"]["texts"] == 30 and "serve" in div["teachers"] and "topics" in div["all"], div
    text = [d for d in read_jsonl(out / "synth/text.jsonl.zst") if d["source"] == "synth/run-teacher"]
    assert len(text) == 30
    for d in text:
        assert d["synthetic"] is True
        m = d["meta"]
        for field in ["program", "template", "task", "teacher", "model", "persona", "seed_id", "key"]:
            assert m.get(field) not in (None, ""), (field, m)
        assert m["teacher"] == "serve" and m["key"] in plan
    arith = s["conversations"] - t["sft_conversations"]
    assert stage(out, "shard")["summary"]["synth"]["documents"] == arith + 30
    tasks = {d["meta"]["task"] for d in text}
    sft = [c for c in read_jsonl(out / "synth/sft.jsonl.zst") if c["source"] == "run-teacher"]
    assert len(sft) == t["sft_conversations"] and {c["meta"]["task"] for c in sft} <= {"translate", "reasoning", "qa"}
    assert len(tasks) >= 3, tasks
    pre = (out / "config/pretrain-mix.toml").read_text()
    assert "shards/synth.ktok" in pre

    # Seeds are training documents, never held-out ones.
    seeds = read_jsonl(out / "synth/teacher/seeds.jsonl")
    train = [d["text"] for d in read_jsonl(out / "split/train.jsonl.zst")]
    heldout = "".join(p.read_text() for p in (out / "split").glob("heldout.*.txt"))
    assert len(seeds) == 30 and heldout
    for sd in seeds:
        assert any(tr.startswith(sd["text"]) for tr in train), sd["text"][:60]
        assert sd["text"] not in heldout

    # The report shows the diversity; the key's value is nowhere in the run directory.
    report = (out / "report.md").read_text()
    assert "Teacher" in report and "distinct-2" in report, report[-2000:]
    for p in out.rglob("*"):
        if p.is_file() and not p.name.endswith((".zst", ".ktok", ".safetensors", ".bin")):
            assert SECRET not in p.read_text(errors="replace"), p

    # Nothing changed: every stage reused, nothing sent.
    n = len(teacher.keys)
    r = kormo_run(kormo_bin, cfg, out)
    assert r.returncode == 0, r.stderr
    assert "run: [3/6] synth — reusing its outputs" in r.stderr, r.stderr
    assert len(teacher.keys) == n

    # A key written into the run config is refused, naming the run config and the key.
    cfg.write_text(run_config(tmp_path, teacher.port).replace('model = "model"', f'model = "model"\napi_key = "{SECRET}"'))
    r = kormo_run(kormo_bin, cfg, out)
    assert r.returncode != 0 and "[synth] [teachers.serve]" in r.stderr and "api_key_env" in r.stderr, r.stderr
    assert SECRET not in r.stderr
    # Teacher settings without a teacher are an error, not silently unused.
    no_teacher = re.sub(r"\[synth\.teachers\.serve\].*?temperature = 0.8\n", "", run_config(tmp_path, teacher.port),
                        flags=re.S)
    assert "[synth.teachers" not in no_teacher
    cfg.write_text(no_teacher)
    r = kormo_run(kormo_bin, cfg, out)
    assert r.returncode != 0 and "teacher_seeds" in r.stderr and "only applies with a teacher" in r.stderr, r.stderr
    # A program file brings its own mix and templates, not its own seeds: the run's are its
    # training documents.
    (tmp_path / "p.toml").write_text('[program]\nname = "mine"\n[seeds]\ntopics = ["광합성"]\n')
    cfg.write_text(run_config(tmp_path, teacher.port).replace("teacher_seeds = 30", f'teacher_seeds = 30\nprogram = "{tmp_path}/p.toml"'))
    r = kormo_run(kormo_bin, cfg, out)
    assert r.returncode != 0 and "p.toml [seeds]" in r.stderr and "training documents" in r.stderr, r.stderr
    assert len(teacher.keys) == n, "a refused config sent requests"


def test_kill_9_during_synth_then_rerun(kormo_bin, teacher, tmp_path):
    write_docs(tmp_path / "docs.jsonl")
    cfg, out = tmp_path / "run.toml", tmp_path / "run"
    cfg.write_text(run_config(tmp_path, teacher.port))
    start = len(teacher.keys)
    env = dict(os.environ, KORMO_TEST_TEACHER_KEY=SECRET, OMP_WAIT_POLICY="passive")
    p = subprocess.Popen([kormo_bin, "run", cfg, "-o", out, "--until", "synth"], stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, env=env)
    # The proxy sees the synth stage's requests: kill the run once ten have arrived.
    deadline = time.monotonic() + 120
    while len(teacher.keys) < start + 10 and p.poll() is None and time.monotonic() < deadline:
        time.sleep(0.001)
    p.send_signal(signal.SIGKILL)
    p.wait()
    assert p.returncode == -signal.SIGKILL, "the run finished before the kill"
    time.sleep(0.3)  # answers to the killed run drain at the proxy
    assert not (out / ".stages/synth.done").exists()
    done_before = {j["key"] for j in records(out / "synth/teacher") if j["status"] == "ok"}
    assert 0 < len(done_before) < 30, len(done_before)

    mid = len(teacher.keys)
    r = kormo_run(kormo_bin, cfg, out, "--until", "synth")
    assert r.returncode == 0, r.stderr
    assert "run: [1/6] data — reusing" in r.stderr and "run: [2/6] split — reusing" in r.stderr, r.stderr
    assert not set(teacher.keys[mid:]) & done_before, "an answered item was asked again"
    plan = planned_keys(kormo_bin, out)
    ok = [j["key"] for j in records(out / "synth/teacher") if j["status"] == "ok"]
    assert len(ok) == len(set(ok)) == 30 and set(ok) == set(plan), "every item exactly once"
    kept = [c["meta"]["key"] for c in read_jsonl(out / "synth/teacher/synth.jsonl")]
    assert sorted(kept) == sorted(plan)
    # At the server: at most one request per item beyond its first (the ones in flight at the kill).
    asked = teacher.keys[start:]
    assert set(asked) == set(plan) and len(asked) - len(set(asked)) <= 2, len(asked)
