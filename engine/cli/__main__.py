"""`python -m engine.cli …`: the `dibs` command from a checkout (what the e2e tests run)."""

from __future__ import annotations

import sys

from engine.cli.main import main

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
