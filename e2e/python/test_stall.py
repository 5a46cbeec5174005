"""Issue 18 §1: a python-socketio client whose process stalls past the ping timeout
comes back on its own. The server closes a timed-out connection without an Engine.IO
CLOSE packet (which would tell the client not to reconnect), as the reference server
does."""

import os
import queue
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest

from chorus_harness import ChorusServer

PING_INTERVAL_MS = 300
PING_TIMEOUT_MS = 300
CLIENT = Path(__file__).resolve().parent / "stall_client.py"


@pytest.fixture(scope="module")
def quick_pings():
    srv = ChorusServer(env={
        "CHORUS_PING_INTERVAL_MS": str(PING_INTERVAL_MS),
        "CHORUS_PING_TIMEOUT_MS": str(PING_TIMEOUT_MS),
    }).start()
    yield srv
    code = srv.stop()
    assert code == 0, f"chorus exited with {code} after SIGTERM (expected 0)\n{srv.output()}"


class ClientProcess:
    def __init__(self, url, token, transport):
        self.proc = subprocess.Popen(
            [sys.executable, str(CLIENT), url, token, transport],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        self.lines = queue.Queue()
        self.seen = []
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self):
        for line in iter(self.proc.stdout.readline, ""):
            self.lines.put(line.rstrip("\n"))

    def next_line(self, prefix, timeout):
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            try:
                line = self.lines.get(timeout=max(0.01, left))
            except queue.Empty:
                raise AssertionError(f"no {prefix!r} line within {timeout}s; client said {self.seen!r}")
            self.seen.append(line)
            if line.startswith(prefix):
                return line

    def stop(self):
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGCONT)
            self.proc.kill()
        self.proc.wait()


@pytest.mark.parametrize("transport", ["websocket", "polling"])
def test_a_client_stalled_past_the_ping_timeout_reconnects_by_itself(quick_pings, transport):
    client = ClientProcess(quick_pings.url, quick_pings.token(f"stall-{uuid.uuid4().hex[:8]}"), transport)
    try:
        first = client.next_line("ready ", 10)
        os.kill(client.proc.pid, signal.SIGSTOP)
        # Well past interval + timeout: the server gives up on the connection meanwhile.
        time.sleep(3 * (PING_INTERVAL_MS + PING_TIMEOUT_MS) / 1000)
        os.kill(client.proc.pid, signal.SIGCONT)
        client.next_line("disconnect", 10)
        second = client.next_line("ready ", 15)
        assert second != first, f"a new connection after the stall: {client.seen!r}"
        assert client.proc.poll() is None, "the client process is still running"
    finally:
        client.stop()
