"""`python -m engine.cli …` is the `dibs` command (for running a checkout without installing)."""

from __future__ import annotations

import sys

from engine.cli.main import main

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
