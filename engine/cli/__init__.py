"""The `dibs` command: argument parsing, the command groups and terminal output.

With `engine.web` (later), the only place that reads argv or the environment and prints.
"""

from engine.cli.main import build_parser, main

__all__ = ["build_parser", "main"]
