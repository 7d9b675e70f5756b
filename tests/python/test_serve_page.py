"""The chat page at `/`, opened in headless Chromium against a running `kormo serve`.

`?q=...` sends a first message on load. The test drives Chromium over the DevTools
protocol (--dump-dom's virtual time does not wait for a streamed body), waits until the
page marks the reply finished, then checks the DOM shows the user's message, that the
streamed answer equals the API's answer for the same conversation (greedy: ?temperature=0),
and that a screenshot is not blank (many distinct colours).
"""
import asyncio
import base64
import shutil
import socket
import struct
import subprocess
import urllib.parse
import zlib

import pytest

from test_generate import tokenizer_json  # noqa: F401  (fixture)
from test_serve import Server, model_dir  # noqa: F401  (fixture)

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def png_colours(path):
    """Distinct RGB(A) pixels of an 8-bit truecolour PNG (what Chromium writes)."""
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width, height, channels = 8, b"", 0, 0, 0
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", body[:10])
            assert depth == 8 and colour in (2, 6)
            channels = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    raw, stride, prev, colours = zlib.decompress(idat), width * channels, bytearray(width * channels), set()
    for y in range(height):
        f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - channels] if i >= channels else 0
            b, c = prev[i], prev[i - channels] if i >= channels else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        colours.update(bytes(line[i:i + channels]) for i in range(0, stride, channels * 7))
        prev = line
    return len(colours)


async def first_page(http, port):
    """The DevTools websocket URL of the first page of the Chromium listening on `port`, once it
    answers (it takes a moment to start)."""
    import aiohttp
    for _ in range(300):
        try:
            async with http.get(f"http://127.0.0.1:{port}/json") as r:
                pages = [p for p in await r.json() if p["type"] == "page"]
            if pages:
                return pages[0]["webSocketDebuggerUrl"]
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.1)
    raise AssertionError(f"Chromium's DevTools on port {port} showed no page in 30 s")


async def drive_page(url, shot):
    """Opens `url` in headless Chromium over the DevTools protocol (aiohttp's websocket),
    waits in real time until the page's reply has finished streaming, returns the log's
    HTML and writes a screenshot."""
    import aiohttp
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--window-size=900,600",
                             f"--remote-debugging-port={port}", f"--user-data-dir={shot.parent / 'profile'}", url],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        async with aiohttp.ClientSession() as http:
            async with http.ws_connect(await first_page(http, port), max_msg_size=0) as ws:
                calls = iter(range(1, 10 ** 6))

                async def call(method, **params):
                    i = next(calls)
                    await ws.send_json({"id": i, "method": method, "params": params})
                    while True:
                        msg = await ws.receive_json()
                        if msg.get("id") == i:
                            return msg["result"]

                async def js(expr):
                    return (await call("Runtime.evaluate", expression=expr, returnByValue=True))["result"].get("value")

                for _ in range(600):
                    if await js("document.body && document.body.dataset.state") == "idle":
                        break
                    await asyncio.sleep(0.1)
                html = await js("document.getElementById('log').outerHTML")
                answer = await js("document.querySelector('.answer').textContent")
                png = await call("Page.captureScreenshot", format="png")
                shot.write_bytes(base64.b64decode(png["data"]))
                return html, answer
    finally:
        proc.terminate()
        proc.wait(30)


@pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (scripts/setup.sh installs it)")
def test_chat_page_shows_a_streamed_reply(kormo_bin, model_dir, tmp_path):  # noqa: F811
    s = Server(kormo_bin, model_dir, "--max-tokens-limit", 24)
    shot = tmp_path / "page.png"
    try:
        q = "안녕하세요, 서울에 대해 알려주세요"
        url = f"http://127.0.0.1:{s.port}/?temperature=0&q=" + urllib.parse.quote(q)
        dom, answer = asyncio.run(asyncio.wait_for(drive_page(url, shot), 180))
        # What the API answers for the same conversation (greedy, thinking off).
        status, want = s.post("/v1/chat/completions", {"messages": [{"role": "user", "content": q}], "temperature": 0,
                                                      "chat_template_kwargs": {"enable_thinking": False}}, key=None)
        assert status == 200, want
    finally:
        assert s.stop() == 0, "".join(s.log)
    assert '<div class="msg user">안녕하세요, 서울에 대해 알려주세요</div>' in dom, dom
    assert answer.strip() and answer == want["choices"][0]["message"]["content"], (answer, want, dom)
    assert any("POST /v1/chat/completions 200" in l for l in s.log)
    assert png_colours(shot) > 20
    print(f"screenshot: {shot}")
