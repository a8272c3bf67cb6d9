"""What every command group shares: the argument parser class and opening the service."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import NoReturn

from engine.errors import BadInput
from engine.service import Service
from engine.store import DEFAULT_URL, Store


class Parser(argparse.ArgumentParser):
    """argparse that reports usage errors as BadInput (exit 2) in our one-message style."""

    def error(self, message: str) -> NoReturn:
        if len(message) > 300:  # argparse quotes offending arguments whole
            message = f"{message[:299]}…"
        raise BadInput(f"{self.prog}: {message} (see '{self.prog} --help')")


def database_url(args: argparse.Namespace) -> str:
    return str(args.db or os.environ.get("DIBS_DB") or DEFAULT_URL)


def file_clock(path: str) -> Callable[[], datetime]:
    """A clock that reads the time from a file (`DIBS_CLOCK_FILE`): tests and simulations drive
    `dibs run` through days of schedules in seconds. Not for production."""

    def now() -> datetime:
        try:
            text = Path(path).read_text().strip()
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except (OSError, ValueError) as exc:
            raise BadInput(f"DIBS_CLOCK_FILE {path}: cannot read a time from it: {exc}") from exc
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)

    return now


def open_service(args: argparse.Namespace) -> Service:
    clock_file = os.environ.get("DIBS_CLOCK_FILE")
    if clock_file:
        return Service(Store.open(database_url(args)), clock=file_clock(clock_file))
    return Service(Store.open(database_url(args)))
