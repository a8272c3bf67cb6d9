"""`dibs serve`: the HTTP API, the webhook receivers and, with `--rules`, the ticks (SPEC §10)."""

from __future__ import annotations

import argparse
import logging
from collections.abc import Mapping

from engine.cli.common import Parser, check_tick, open_service
from engine.errors import BadInput


def cmd_serve(args: argparse.Namespace) -> int:
    from engine.cli.rules import load_or_fail
    from engine.web.logs import setup_logging
    from engine.web.server import Ticks, check_bind, check_listen, serve
    from engine.web.settings import Settings

    settings = Settings.from_env()
    check_bind(args.host, settings)  # before touching the database: a refusal writes nothing
    if not 0 <= args.port <= 65535:
        raise BadInput(f"--port must be from 0 to 65535, got {args.port}")
    check_tick(args.tick)
    check_listen(args.host, args.port)
    warn = None
    if args.log_format == "json":  # the file's warnings as log lines, as the rest of the log
        setup_logging(args.log_format)
        warn = logging.getLogger("dibs.serve").warning
    ruleset = load_or_fail(args.rules, warn) if args.rules else None
    service = open_service(args)
    ticks = Ticks(service, ruleset, args.rules, args.tick, settings) if ruleset else None
    return serve(service, settings, args.host, args.port, ticks, args.log_format)


def add_commands(parsers: Mapping[str, Parser]) -> None:
    p = parsers["serve"]
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8080, help="port to listen on (default 8080)")
    p.add_argument("--rules", metavar="FILE", help="run this rule file's ticks in the server")
    p.add_argument(
        "--tick", type=float, default=5.0, metavar="SECONDS", help="seconds between ticks"
    )
    p.add_argument(
        "--log-format",
        choices=["text", "json"],
        default="text",
        help="request and tick log lines as text or JSON (default: %(default)s)",
    )
    p.set_defaults(handler=cmd_serve)
