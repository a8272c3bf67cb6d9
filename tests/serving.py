"""A real `dibs serve` in a subprocess on a free loopback port (e2e tests and benchmarks)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "e2e-token-4f1c"
SHOPIFY_SECRET = "e2e-shopify-secret"
SHOPIFY_ORDER = json.loads((ROOT / "tests/fixtures/channels/shopify_order.json").read_text())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def sign(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def shopify_order(number: int, **changes: Any) -> dict[str, Any]:
    """The recorded Shopify order as order `#<number>`, with its lines on SKUs that exist."""
    doc = json.loads(json.dumps(SHOPIFY_ORDER))
    doc.update({"id": 10_000_000 + number, "name": f"#{number}", **changes})
    return doc


class Server:
    """`python -m engine.cli --db DB serve --port P …`, run from the repository root so that
    this checkout's code is what serves."""

    def __init__(
        self,
        db: str,
        *args: str,
        token: str | None = TOKEN,
        port: int = 0,
        env: dict[str, str] | None = None,
    ) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        environ = {k: v for k, v in os.environ.items() if not k.startswith("DIBS_")}
        environ["PYTHONPATH"] = str(ROOT)
        environ["DIBS_SHOPIFY_SECRET"] = SHOPIFY_SECRET
        if token:
            environ["DIBS_API_TOKEN"] = token
        environ.update(env or {})  # e.g. a notify endpoint's secret
        # A file, not a pipe: a pipe nobody reads could fill up and block the server.
        self.log = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 (closed in __exit__)
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "engine.cli",
                "--db",
                db,
                "serve",
                "--port",
                str(self.port),
                *args,
            ],
            cwd=ROOT,
            env=environ,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.client = httpx.Client(base_url=self.url, timeout=30)
        self.auth = {"Authorization": f"Bearer {token}"} if token else {}

    def wait_ready(self, seconds: float = 30) -> Server:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(
                    f"dibs serve exited {self.process.returncode}:\n{self.output()}"
                )
            try:
                if self.client.get("/api/v1/health").status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"dibs serve did not come up:\n{self.output()}")

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read()

    def get(self, path: str) -> httpx.Response:
        return self.client.get(path, headers=self.auth)

    def post(self, path: str, **kw: Any) -> httpx.Response:
        return self.client.post(path, headers={**self.auth, **kw.pop("headers", {})}, **kw)

    def put(self, path: str, **kw: Any) -> httpx.Response:
        return self.client.put(path, headers=self.auth, **kw)

    def webhook(
        self, payload: Any, topic: str, delivery: str, secret: str = SHOPIFY_SECRET
    ) -> httpx.Response:
        body = json.dumps(payload).encode()
        return self.client.post(
            "/webhooks/shopify",
            content=body,
            headers={
                "X-Shopify-Topic": topic,
                "X-Shopify-Webhook-Id": delivery,
                "X-Shopify-Hmac-Sha256": sign(secret, body),
                "Content-Type": "application/json",
            },
        )

    def stop(self, sig: int = signal.SIGTERM, seconds: float = 30) -> int:
        """Signal the server and wait for it; its exit code."""
        self.client.close()
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            return self.process.wait(seconds)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise AssertionError(f"dibs serve did not stop on {sig}:\n{self.output()}") from None

    def __enter__(self) -> Server:
        return self.wait_ready()

    def __exit__(self, *exc: object) -> None:
        if self.process.poll() is None:
            self.stop()
        self.log.close()
