"""Starts a real `chorus` process for the Python e2e check, the same way lib/server.mjs does.

Binary: $CHORUS_BIN or <repo>/target/debug/chorus. Fresh SQLite database in a temp dir,
random JWT secret and server key, a free loopback port; ready when GET /healthz is 200;
stopped with SIGTERM and expected to exit 0.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import requests

REPO_ROOT = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT_S = 20.0
SHUTDOWN_TIMEOUT_S = 10.0


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def mint_hs256(secret: str, claims: dict) -> str:
    """An HS256 JWT, made by hand with hmac (no PyJWT needed)."""
    header = _b64url(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    payload = _b64url(json.dumps(claims, separators=(",", ":")).encode())
    signing_input = f"{header}.{payload}".encode("ascii")
    sig = hmac.new(secret.encode(), signing_input, hashlib.sha256).digest()
    return f"{header}.{payload}.{_b64url(sig)}"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ChorusServer:
    def __init__(self, env: dict[str, str] | None = None) -> None:
        self.extra_env = env or {}
        self.bin = Path(os.environ.get("CHORUS_BIN") or REPO_ROOT / "target" / "debug" / "chorus")
        self.jwt_secret = secrets.token_hex(32)
        self.server_key = secrets.token_hex(24)
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.dir = tempfile.mkdtemp(prefix="chorus-e2e-py-")
        self.proc: subprocess.Popen | None = None
        self._output: list[str] = []

    def output(self) -> str:
        return "".join(self._output)[-65536:]

    def _pump(self, stream) -> None:
        for line in iter(stream.readline, ""):
            self._output.append(line)
        stream.close()

    def start(self) -> "ChorusServer":
        if not self.bin.exists():
            raise RuntimeError(
                f"chorus binary not found at {self.bin}.\n"
                f"Build it first:  cd {REPO_ROOT} && cargo build -p chorus\n"
                "(or point CHORUS_BIN at an existing binary)"
            )
        env = {
            **os.environ,
            "CHORUS_PRESENCE_GRACE_MS": "200",
            "CHORUS_RATE_LIMITS_ENABLED": "false",
            "CHORUS_MAX_SOCKETS_PER_USER": "0",
            "CHORUS_MAX_SOCKETS_PER_IP": "0",
            **self.extra_env,
        }
        self.proc = subprocess.Popen(
            [
                str(self.bin), "serve",
                "--listen", f"127.0.0.1:{self.port}",
                "--database-url", f"sqlite://{os.path.join(self.dir, 'e2e.db')}",
                "--jwt-secret", self.jwt_secret,
                "--server-key", self.server_key,
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        threading.Thread(target=self._pump, args=(self.proc.stdout,), daemon=True).start()
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        problem = "no answer yet"
        while True:
            if self.proc.poll() is not None:
                shutil.rmtree(self.dir, ignore_errors=True)
                raise RuntimeError(
                    f"chorus exited during startup with code {self.proc.returncode}\n"
                    f"--- server output ---\n{self.output()}"
                )
            try:
                r = requests.get(f"{self.url}/healthz", timeout=1)
                if r.status_code == 200:
                    return self
                problem = f"GET /healthz answered {r.status_code}"
            except requests.RequestException as e:
                problem = type(e).__name__
            if time.monotonic() > deadline:
                self.proc.kill()
                self.proc.wait()
                shutil.rmtree(self.dir, ignore_errors=True)
                raise RuntimeError(
                    f"chorus did not become healthy within {STARTUP_TIMEOUT_S} s ({problem})\n"
                    f"--- server output ---\n{self.output()}"
                )
            time.sleep(0.05)

    def stop(self) -> int:
        """SIGTERM; returns the exit code (the caller asserts 0)."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=SHUTDOWN_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(
                f"chorus did not exit within {SHUTDOWN_TIMEOUT_S} s of SIGTERM\n"
                f"--- server output ---\n{self.output()}"
            )
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)
        return code

    def token(self, user_id: str, exp_sec: int = 3600, **claims) -> str:
        now = int(time.time())
        return mint_hs256(self.jwt_secret, {"sub": user_id, "iat": now, "exp": now + exp_sec, **claims})
