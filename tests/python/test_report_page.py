"""report.html opened in headless Chromium: the plots and tables render, and the page asks
the network for nothing.

The run directory is written here (real Korean and English text from ../shared/data as its
curated documents, a 300-step metrics log, an evaluation results file), so the test needs
no training; `kormo report --no-samples` renders it. Chromium is driven over the DevTools
protocol with the Network domain on: every request the page makes is recorded, and only the
page's own file:// load may appear.
"""
import asyncio
import base64
import json
import math
import shutil
import socket
import subprocess

import pytest

from conftest import run_kormo
from test_serve_page import first_page, png_colours

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
HOSTILE = '</svg><script>window.pwned=1</script><img src="https://example.com/x.png">'


def write_run(run, shared_data):
    (run / "data").mkdir(parents=True)
    (run / "pretrain").mkdir()
    (run / "eval").mkdir()
    docs = []
    petitions = sorted((shared_data / "corpora/ko/petitions").glob("*.jsonl"))[0]
    for i, line in enumerate(petitions.read_text(encoding="utf-8").splitlines()[:40]):
        docs.append({"id": f"ko{i}", "text": json.loads(line)["content"], "lang": "ko", "source": "petitions",
                     "synthetic": i % 5 == 0, "meta": {}})
    book = sorted((shared_data / "corpora/en/gutenberg").glob("*.txt"))[0].read_text(encoding="utf-8-sig", errors="replace")
    for i, para in enumerate(p for p in book.split("\n\n") if len(p) > 200):
        if i == 40:
            break
        docs.append({"id": f"en{i}", "text": para, "lang": "en", "source": "gutenberg", "synthetic": False, "meta": {}})
    (run / "data/curated.jsonl").write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in docs))
    subprocess.run(["zstd", "-q", "--rm", str(run / "data/curated.jsonl")], check=True)
    rejects = [{"action": "removed", "rule": "c4.javascript", "where": "in.jsonl:3", "doc": {"text": HOSTILE}},
               {"action": "removed", "rule": "dedup.exact", "where": "stages.jsonl:9", "doc": {"text": "dup"}}]
    (run / "data/curated.rejects.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rejects))
    subprocess.run(["zstd", "-q", "--rm", str(run / "data/curated.rejects.jsonl")], check=True)
    lines = []
    for step in range(1, 301):
        row = {"step": step, "loss": 8 * math.exp(-step / 80) + 2, "lr": 3e-3 * min(1, step / 30),
               "grad_norm": 5 * math.exp(-step / 100) + 0.3, "tokens_per_s": 9000 + step % 17, "skipped": False}
        if step % 50 == 0:
            row.update(val_loss=row["loss"] + 0.1, val_bpb_ko=1.9 - step / 400, val_bpb_en=2.1 - step / 400)
        lines.append(json.dumps(row))
    lines[99] = lines[99].replace('"loss": ', '"loss": null, "x": ', 1)  # a non-finite step
    (run / "pretrain/metrics.jsonl").write_text("\n".join(lines) + "\n")
    results = {"results": {"kobest_copa": {"acc,none": 0.56, "acc_stderr,none": 0.02}},
               "configs": {"kobest_copa": {"doc_to_choice": ["1", "2"]}},
               "n-samples": {"kobest_copa": {"original": 500, "effective": 500}}}
    (run / "eval/results.json").write_text(json.dumps(results))
    manifest = {"format": "kormo-manifest", "version": 1, "program": {"name": "kormo", "version": "0.1.0"},
                "written_at": "2026-11-29T00:00:00Z", "config_source": "run.toml", "config": {},
                "stages": [{"name": "data", "seed": 0, "seconds": 2.5, "peak_rss_bytes": 80 << 20, "inputs": [],
                            "outputs": [{"path": "data/curated.jsonl.zst", "xxh3_128": "0" * 32, "bytes": 1}],
                            "summary": {}}]}
    (run / "manifest.json").write_text(json.dumps(manifest))


async def open_page(url, shot):
    """Loads `url` with the DevTools Network domain on; returns the requested URLs, what
    the DOM holds and a screenshot."""
    import aiohttp
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--window-size=1000,1400",
                             f"--remote-debugging-port={port}", f"--user-data-dir={shot.parent / 'profile'}",
                             "about:blank"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        async with aiohttp.ClientSession() as http:
            async with http.ws_connect(await first_page(http, port), max_msg_size=0) as ws:
                calls, requests, loaded = iter(range(1, 10 ** 6)), [], []

                async def call(method, **params):
                    i = next(calls)
                    await ws.send_json({"id": i, "method": method, "params": params})
                    while True:
                        msg = await ws.receive_json()
                        if msg.get("method") == "Network.requestWillBeSent":
                            requests.append(msg["params"]["request"]["url"])
                        if msg.get("method") == "Page.loadEventFired":
                            loaded.append(True)
                        if msg.get("id") == i:
                            return msg["result"]

                async def js(expr):
                    return (await call("Runtime.evaluate", expression=expr, returnByValue=True))["result"].get("value")

                await call("Network.enable")
                await call("Page.enable")
                await call("Page.navigate", url=url)
                for _ in range(300):
                    if loaded:
                        break
                    await js("1")
                    await asyncio.sleep(0.05)
                await asyncio.sleep(0.5)
                await js("1")  # drains events that arrived after the load
                dom = await js("""JSON.stringify({
                    svgs: document.querySelectorAll('svg').length,
                    lines: document.querySelectorAll('svg path.series').length,
                    tables: document.querySelectorAll('table').length,
                    headings: [...document.querySelectorAll('h2')].map(h => h.textContent),
                    scripts: document.querySelectorAll('script').length,
                    imgs: document.querySelectorAll('img').length,
                    pwned: window.pwned === 1,
                    csp: document.querySelector('meta[http-equiv="Content-Security-Policy"]').content,
                    hostile: document.body.textContent.includes('window.pwned=1')})""")
                png = await call("Page.captureScreenshot", format="png")
                shot.write_bytes(base64.b64decode(png["data"]))
                return requests, json.loads(dom)
    finally:
        proc.terminate()
        proc.wait(30)


@pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (scripts/setup.sh installs it)")
def test_report_page_renders_offline(kormo_bin, shared_data, tmp_path):
    run = tmp_path / "run"
    write_run(run, shared_data)
    run_kormo(kormo_bin, "report", run, "--no-samples")
    page = run / "report.html"
    html = page.read_text(encoding="utf-8")
    assert "<script" not in html
    shot = tmp_path / "report.png"
    requests, dom = asyncio.run(asyncio.wait_for(open_page(page.as_uri(), shot), 120))

    assert requests == [page.as_uri()], requests  # the page itself, nothing else
    assert dom["csp"] == "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
    assert dom["scripts"] == 0 and dom["imgs"] == 0 and not dom["pwned"]
    assert dom["hostile"]  # shown as text
    # Loss (train + validation), bits per byte (ko, en), lr, grad norm, throughput.
    assert dom["svgs"] == 5, dom
    assert dom["lines"] == 7, dom
    assert dom["tables"] >= 6, dom
    for h in ("Data", "Tokenizer", "Pretraining", "SFT", "Evaluation", "Stages: time and memory"):
        assert h in dom["headings"], dom["headings"]
    assert png_colours(shot) > 20  # not blank: text, plot lines in several colours
