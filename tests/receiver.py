"""A local HTTP receiver for webhook tests: 127.0.0.1, a free port, stopped by the test.

Its behaviour is a list of answers taken in turn (the last one repeats): an HTTP status, or
("sleep", seconds, status) to answer slowly, or ("block", status) to wait until `release()`.
Every request it got is kept: (headers, body bytes).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Answer = int | tuple[Any, ...]


class Receiver:
    def __init__(self, answers: list[Answer] | None = None) -> None:
        self.answers = list(answers or [200])
        self.requests: list[tuple[dict[str, str], bytes]] = []  # answered 2xx
        self.attempts = 0  # every request, whatever it was answered
        self.gate = threading.Event()
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def release(self) -> None:
        self.gate.set()

    def next_answer(self) -> Answer:
        with self._lock:
            return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]

    def events(self) -> list[dict[str, Any]]:
        """The JSON bodies received, in arrival order (repeats included)."""
        with self._lock:
            return [json.loads(body) for _, body in self.requests]

    def ids(self) -> list[int]:
        return [e["id"] for e in self.events()]

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = self.rfile.read(length)
                with receiver._lock:
                    receiver.attempts += 1
                if len(body) < length:
                    # The sender died mid-request (kill -9): a real server drops a short body.
                    self.close_connection = True
                    return
                answer = receiver.next_answer()
                if isinstance(answer, tuple) and answer[0] == "sleep":
                    time.sleep(answer[1])
                    answer = answer[2]
                elif isinstance(answer, tuple) and answer[0] == "block":
                    receiver.gate.wait(30)
                    answer = answer[1]
                assert isinstance(answer, int)
                if 200 <= answer < 300:
                    with receiver._lock:
                        receiver.requests.append((dict(self.headers.items()), body))
                self.send_response(answer)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return None

        return Handler

    def start(self) -> Receiver:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.gate.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


@contextmanager
def receiving(answers: list[Answer] | None = None) -> Iterator[Receiver]:
    receiver = Receiver(answers).start()
    try:
        yield receiver
    finally:
        receiver.stop()


def verify(secret: bytes, headers: dict[str, str], body: bytes) -> bool:
    """What a receiver does with X-Dibs-Signature (docs/events.md shows the same)."""
    expected = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, headers.get("X-Dibs-Signature", ""))
