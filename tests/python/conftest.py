"""Shared fixtures for reference checks: the kormo binary and ../shared/data."""
import os
import pathlib
import re
import signal
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
SHARED_DATA = ROOT.parent / "shared" / "data"

# ctest's cli.synth_teacher_test, cli.https_clients_test and cli.run_teacher_test run these files (so the
# sanitizer build runs them too) and set the variable; the plain pytest pass would only
# run them a second time.
if not os.environ.get("KORMO_FROM_CTEST"):
    collect_ignore = ["test_synth_teacher.py", "test_https_clients.py", "test_run_teacher.py"]


@pytest.fixture(scope="session")
def kormo_bin():
    path = os.environ.get("KORMO_BIN", str(ROOT / "build" / "kormo"))
    if not os.path.exists(path):
        pytest.fail(f"kormo binary not found at {path}; build first (bash scripts/setup.sh)")
    return path


@pytest.fixture(scope="session")
def shared_data():
    if not SHARED_DATA.exists():
        pytest.fail(f"{SHARED_DATA} is missing: tests read real text from ../shared/data")
    return SHARED_DATA


def run_kormo(kormo_bin, *args, input=None, check=True):
    """Runs the kormo CLI and returns the CompletedProcess (text mode)."""
    proc = subprocess.run([kormo_bin, *map(str, args)], input=input, capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise AssertionError(f"kormo {' '.join(map(str, args))} failed ({proc.returncode}):\n{proc.stderr}")
    return proc


class QuietHandler(BaseHTTPRequestHandler):
    """The test servers' handler base: keep-alive (HTTP/1.1) as real endpoints, no access log."""
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass


class KormoServe:
    """`kormo serve` on a free port; its stderr collected in the background (`log`)."""

    def __init__(self, kormo_bin, model_dir, *extra):
        self.proc = subprocess.Popen([kormo_bin, "serve", str(model_dir), "--port", "0", *map(str, extra)],
                                     stderr=subprocess.PIPE, text=True)
        self.log = []
        port = None
        deadline = time.time() + 60
        while time.time() < deadline:
            line = self.proc.stderr.readline()
            if not line:
                break
            self.log.append(line)
            m = re.search(r"on http://[\d.]+:(\d+)", line)
            if m:
                port = int(m.group(1))
                break
        if port is None:
            self.proc.kill()
            raise AssertionError("kormo serve did not start:\n" + "".join(self.log))
        self.port = port
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self):
        for line in self.proc.stderr:
            self.log.append(line)

    def stop(self):
        """SIGTERM (drain, then exit), a kill after 30 s; the exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        return self.proc.wait()
