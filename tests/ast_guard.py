"""One thread at a time in `ast.parse` (a CPython 3.11 bug, worked around for the suite).

CPython 3.11 keeps the AST builder's recursion count per interpreter, not per thread: two
threads building ASTs at once (pytest reading a failing test's source for its report in one,
a traceback being formatted for a log line in another; 3.11's tracebacks parse each line to
place their carets) can leave the count off, and `ast.parse` then raises `SystemError: AST
constructor recursion depth mismatch` (python/cpython#106905, pytest-dev/pytest#10763). In a
report that is an INTERNALERROR which ends the whole run: a CI run stopped so at 70%. Every
`ast.parse` in this process goes through one re-entrant lock, and the rare mismatch still
seen (a parse started outside `ast.parse`) is tried once more.
"""

from __future__ import annotations

import ast
import threading
from typing import Any

_lock = threading.RLock()
_parse = ast.parse


def _one_at_a_time(*args: Any, **kwargs: Any) -> Any:
    with _lock:
        try:
            return _parse(*args, **kwargs)
        except SystemError as exc:
            if "recursion depth mismatch" not in str(exc):
                raise
            return _parse(*args, **kwargs)


def install() -> None:
    if ast.parse is not _one_at_a_time:
        ast.parse = _one_at_a_time
