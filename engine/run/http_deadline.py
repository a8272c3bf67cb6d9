"""One deadline for a whole HTTP attempt: connecting, sending, the answer's headers and body.

httpx's timeouts are per operation: each read may take the whole timeout, so a receiver that
sends its status line and headers a byte at a time holds an attempt for as long as it likes.
`within(until)` sets a deadline (monotonic) for what this thread sends and reads; the network
backend `with_deadlines` puts into a client's connection pools gives every connect, read and
write of theirs only the time left, and a timeout once it has passed. Outside `within`, the
client's own timeouts apply, unchanged.

Imported only when a delivery is sent (it imports httpcore), as httpx is.
"""

from __future__ import annotations

import contextvars
import time
import typing
from collections.abc import Iterator
from contextlib import contextmanager

import httpcore
import httpx

_UNTIL: contextvars.ContextVar[float | None] = contextvars.ContextVar("dibs_until", default=None)


@contextmanager
def within(until: float) -> Iterator[None]:
    """Hold what this thread's deadline-aware clients do to `until` (time.monotonic)."""
    token = _UNTIL.set(until)
    try:
        yield
    finally:
        _UNTIL.reset(token)


def _left(timeout: float | None, error: type[Exception]) -> float | None:
    """The time an operation may take: its own timeout, or what is left before the deadline."""
    until = _UNTIL.get()
    if until is None:
        return timeout
    left = until - time.monotonic()
    if left <= 0:
        raise error("the attempt's deadline has passed")
    return left if timeout is None else min(timeout, left)


class _Stream(httpcore.NetworkStream):
    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, _left(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, _left(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self,
        ssl_context: typing.Any,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        return _Stream(
            self._stream.start_tls(
                ssl_context, server_hostname, _left(timeout, httpcore.ConnectTimeout)
            )
        )

    def get_extra_info(self, info: str) -> typing.Any:
        return self._stream.get_extra_info(info)


class _Backend(httpcore.NetworkBackend):
    def __init__(self, backend: httpcore.NetworkBackend) -> None:
        self._backend = backend

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable[typing.Any] | None = None,
    ) -> httpcore.NetworkStream:
        wait = _left(timeout, httpcore.ConnectTimeout)
        return _Stream(self._backend.connect_tcp(host, port, wait, local_address, socket_options))

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: typing.Iterable[typing.Any] | None = None,
    ) -> httpcore.NetworkStream:
        wait = _left(timeout, httpcore.ConnectTimeout)
        return _Stream(self._backend.connect_unix_socket(path, wait, socket_options))

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


def with_deadlines(client: httpx.Client) -> httpx.Client:
    """`client`, its connection pools (the direct one and any proxy's from the environment)
    held to the deadline of `within`. A transport that is not httpx's own (a test's mock) is
    left as it is."""
    transports = [client._transport, *client._mounts.values()]
    for transport in transports:
        pool = (
            getattr(transport, "_pool", None)
            if isinstance(transport, httpx.HTTPTransport)
            else None
        )
        backend = getattr(pool, "_network_backend", None)
        if isinstance(backend, httpcore.NetworkBackend) and not isinstance(backend, _Backend):
            pool._network_backend = _Backend(backend)  # type: ignore[union-attr]
    return client
