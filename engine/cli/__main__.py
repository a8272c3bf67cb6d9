"""`python -m engine.cli …` runs `dibs …` (handy from a checkout without the console script)."""

from __future__ import annotations

import sys

from engine.cli.main import main

sys.exit(main())
