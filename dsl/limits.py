"""The bounds of one rule, so any text parses, checks and compiles in bounded time and memory.

Rules come from files users edit and from the command line (``--where``); each bound is far above
what a real rule needs and low enough that the parser, the checker, the generated Python predicate
and the engine's SQL filter stay small and never recurse deeply. Going past one is an error at the
offending spot, never a crash.

* :data:`MAX_RULE_LENGTH`: characters in one rule's text.
* :data:`MAX_CONDITION_DEPTH`: nesting of a condition. A chain of one operator (``a or b or c``,
  however long, with or without parentheses) is one level; each switch between ``and`` and ``or``
  and each ``not`` adds one. Parentheses alone add nothing.
* :data:`MAX_CONDITION_TERMS`: comparisons in one condition (SQLite refuses expressions deeper
  than 1,000, and generated code gets slow to compile long before that).
* :data:`MAX_NUMBER_DIGITS`: digits before the decimal point of a number literal: below 10^15,
  which every SQL backend and a float represent exactly; Python cannot even turn integers of
  more than 4,300 digits into ints.
* :data:`MAX_DURATION`: the magnitude of a duration literal (``3 days``): one hundred years;
  longer ones overflow date arithmetic (``now - age``).
* :data:`MAX_PATTERN_LENGTH`: characters in one ``matches`` pattern.
* :data:`MAX_TAG_LENGTH`: characters in the tag of a ``tag``/``untag`` action: what an order's
  tag holds (the store's tag column, and what imports and ``dibs orders tag`` accept).
"""

from __future__ import annotations

from datetime import timedelta

MAX_RULE_LENGTH = 10_000
MAX_CONDITION_DEPTH = 32
MAX_CONDITION_TERMS = 200
MAX_NUMBER_DIGITS = 15
MAX_DURATION = timedelta(days=36_525)
MAX_PATTERN_LENGTH = 1_000
MAX_TAG_LENGTH = 100
