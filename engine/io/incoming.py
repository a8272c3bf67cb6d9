"""Orders arriving from outside, in any format, as what sync and import need: `IncomingOrder`s.

`read_incoming` reads a file of any format of SPEC §9 (`dibs`, `shopify-csv`, `shopify-json`,
`woocommerce-json`; detected when not given), checks every order with the native validator
(`fields.check_order_mapping`) and returns the orders with the channel's status and
`updated_at`. A file with any problem raises one `BadInput` listing every problem (file:line for
CSV, the order's name and JSON path for JSON), so nothing of it is ever written.
`incoming_from_channel` does the same for an already-read `ChannelRead` (a webhook body).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from engine.errors import BadInput, plural
from engine.io.channels import (
    DIBS,
    FORMATS,
    ChannelError,
    ChannelRead,
    FormatNotRecognised,
    Skipped,
    read_channel,
    sniff_format,
)
from engine.io.fields import check_order_mapping, utc
from engine.io.imports import check_order_file, refuse_if, stream_orders
from engine.io.quick import frozen_maker, quick_order
from engine.memory import collector_paused
from engine.model import Order, OrderStatus

#: Orders per chunk when a whole file is read at once.
CHUNK = 5000


@dataclass(frozen=True)
class IncomingOrder:
    """One order as a file or a channel delivery gives it.

    `order` is the validated domain order (its own `status` is not used); `status` is what the
    channel says (`awaiting_fulfillment`, `cancelled` or `shipped`); `updated_at` the channel's
    last-change time, None when the format has none. `sets_warehouse` is False for channel
    formats, which know nothing of dibs' warehouses: a sync then keeps the order's warehouse.
    `sets_placed_at` is False for a native order that gives no `placed_at` (it got the import's
    time): a sync then keeps the order's own, so re-sending it is not a change.
    `where` locates the order in its file, for messages.
    """

    order: Order
    status: str = OrderStatus.AWAITING_FULFILLMENT
    updated_at: datetime | None = None
    sets_warehouse: bool = True
    where: str = ""
    sets_placed_at: bool = True

    @property
    def id(self) -> str:
        return self.order.id


_new_incoming = frozen_maker(IncomingOrder)  # the hot path's IncomingOrder(...), every field


@dataclass(frozen=True)
class IncomingFile:
    """A whole file's orders (in file order), the orders skipped (nothing to ship), its format."""

    orders: list[IncomingOrder]
    skipped: tuple[Skipped, ...]
    format: str


def read_incoming(
    path: Path, fmt: str | None = None, channel: str | None = None, now: datetime | None = None
) -> IncomingFile:
    """Read and validate an order file of any format; `BadInput` listing every problem.

    `fmt` is one of `FORMATS` (detected from the name and the first bytes when None);
    `channel` replaces each order's channel (`--channel`); `now` is the `placed_at` of native
    orders that give none.
    """
    when = utc(now) if now is not None else datetime.now(UTC)
    if fmt is None:
        fmt = _detect(path)
    elif fmt not in FORMATS:
        raise BadInput(f"--format: unknown format {fmt!r}; one of {', '.join(FORMATS)}")
    if fmt == DIBS:
        return _read_native(path, channel, when)
    return _read_channel_file(path, fmt, channel, when)


def _read_channel_file(path: Path, fmt: str, channel: str | None, now: datetime) -> IncomingFile:
    name = str(path)
    data = _read_bytes(path)
    try:
        read = read_channel(data, name, fmt, channel)
    except ChannelError as exc:
        raise _refusal(name, exc) from None
    return IncomingFile(incoming_from_channel(read, now, name), read.skipped, fmt)


class IncomingSource:
    """An order file of any format, read as an import writes it: in chunks, checked as it goes.

    Native files (`dibs`) are streamed: `chunks` reads the file again from its start on every
    call (a transaction that is run again re-reads it) and never holds more than a chunk of
    orders. Every problem met is in `problems`; `clean` says whether there is none so far, and
    `refuse_if_problems` raises the file's one `BadInput` (call it once the chunks are done:
    until then the problems are not all known). Channel formats are read and checked whole
    when the source is made (their containers need the whole document), raising `BadInput` then.
    `read_ahead` reads the first chunk before the import opens its transaction, so a file of
    one chunk is read and checked without holding the database's write lock.
    """

    def __init__(
        self,
        path: Path,
        fmt: str | None = None,
        channel: str | None = None,
        now: datetime | None = None,
    ) -> None:
        self.path = path
        self.now = utc(now) if now is not None else datetime.now(UTC)
        if fmt is None:
            fmt = _detect(path)
        elif fmt not in FORMATS:
            raise BadInput(f"--format: unknown format {fmt!r}; one of {', '.join(FORMATS)}")
        self.format = fmt
        self.problems: list[str] = []
        self._whole: IncomingFile | None = None
        if fmt != DIBS:
            self._whole = _read_channel_file(path, fmt, channel, self.now)
        else:
            check_order_file(path)
        if fmt == DIBS and channel is not None:
            if not channel.strip():
                raise BadInput("--channel: must not be empty")
            channel = channel.strip()
        self.channel = channel
        self.skipped: tuple[Skipped, ...] = self._whole.skipped if self._whole else ()
        self._ahead: tuple[int, list[IncomingOrder], Iterator[list[IncomingOrder]]] | None = None

    @property
    def clean(self) -> bool:
        """No problem met so far."""
        return not self.problems

    def read_ahead(self, size: int) -> None:
        """Read the first chunk of `size` orders now; the next `chunks(size)` starts with it and
        reads on from there (any other call reads the file from its start again)."""
        rest = self.chunks(size)
        with collector_paused():
            self._ahead = (size, next(rest, []), rest)

    def chunks(self, size: int) -> Iterator[list[IncomingOrder]]:
        """The file's valid orders, `size` at a time, in file order (from the start again,
        or from the chunk `read_ahead` read)."""
        ahead, self._ahead = self._ahead, None
        if ahead is not None and ahead[0] == size:
            _, first, rest = ahead
            if first:
                yield first
            yield from rest
            return
        self.problems = []
        if self._whole is not None:
            orders = self._whole.orders
            for start in range(0, len(orders), size):
                yield orders[start : start + size]
            return
        channel, now = self.channel, self.now
        chunk: list[IncomingOrder] = []
        awaiting = OrderStatus.AWAITING_FULFILLMENT
        for order, where in stream_orders(self.path, self.problems, now):
            if channel is not None:
                order = dataclasses.replace(order, channel=channel)
            chunk.append(
                _new_incoming(
                    order=order,
                    status=awaiting,
                    updated_at=None,
                    sets_warehouse=True,
                    where=where,
                    sets_placed_at=order.placed_at != now,
                )
            )
            if len(chunk) == size:
                yield chunk
                chunk = []
        if chunk:
            yield chunk

    def expected(self) -> int | None:
        """How many orders the file holds, when that is cheap to know before reading it: a
        channel file's count, a JSON Lines file's non-blank lines; else None."""
        if self._whole is not None:
            return len(self._whole.orders)
        if self.path.suffix.lower() not in (".jsonl", ".ndjson"):
            return None
        try:
            with self.path.open("rb") as handle:
                return sum(1 for line in handle if line.strip())
        except OSError:
            return None

    def refuse_if_problems(self) -> None:
        """The file's `BadInput`, every problem in file order, if it has any."""
        refuse_if(self.problems, str(self.path))


def native_incoming(order: Order, now: datetime) -> IncomingOrder:
    """A native order read with `now` as its default `placed_at` (the HTTP API's `?sync=true`)."""
    return IncomingOrder(order, sets_placed_at=order.placed_at != now)


def incoming_from_channel(read: ChannelRead, now: datetime, name: str) -> list[IncomingOrder]:
    """Validate a channel read's mappings into `IncomingOrder`s; `BadInput` listing problems."""
    problems: list[str] = []
    found: list[IncomingOrder] = []
    with collector_paused():
        for item in read.orders:
            order = quick_order(item.mapping, now) or check_order_mapping(
                item.mapping, item.where, now, problems
            )
            if order is not None:
                found.append(IncomingOrder(order, item.status, item.updated_at, False, item.where))
    if problems:
        raise BadInput(f"{name}: {plural(len(problems), 'problem')}, nothing imported", problems)
    return found


def _read_native(path: Path, channel: str | None, now: datetime) -> IncomingFile:
    source = IncomingSource(path, DIBS, channel, now)
    with collector_paused():  # many long-lived objects, no cycles
        found = [item for chunk in source.chunks(CHUNK) for item in chunk]
    source.refuse_if_problems()
    return IncomingFile(found, (), DIBS)


def _detect(path: Path) -> str:
    try:
        return sniff_format(path)
    except FormatNotRecognised as exc:
        raise BadInput(str(exc.problems[0])) from None
    except OSError as exc:
        raise _unreadable(path, exc) from None


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise _unreadable(path, exc) from None


def _unreadable(path: Path, exc: OSError) -> BadInput:
    if isinstance(exc, FileNotFoundError):
        return BadInput(f"{path}: no such file")
    if isinstance(exc, IsADirectoryError):
        return BadInput(f"{path}: is a directory, expected a file")
    if isinstance(exc, PermissionError):
        return BadInput(f"{path}: permission denied")
    return BadInput(f"{path}: cannot read: {exc.strerror or exc}")


def _refusal(name: str, exc: ChannelError) -> BadInput:
    if isinstance(exc, FormatNotRecognised):
        return BadInput(str(exc.problems[0]))
    count = plural(len(exc.problems), "problem")
    return BadInput(f"{name}: {count}, nothing imported", [str(p) for p in exc.problems])
