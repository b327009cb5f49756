"""Progress of long work: a bar on a terminal, plain lines in a log (DVC's output, CI, a file)."""

from __future__ import annotations

import sys
from typing import Any

from tqdm import tqdm

__all__ = ["progress"]


class _Lines:
    """tqdm's interface for a log: one plain line at each tenth of the work, and at the end."""

    def __init__(self, total: int, desc: str, unit: str):
        self.total, self.desc, self.unit, self.n, self._next, self._post = total, desc, unit, 0, 0, ""

    def update(self, n: int = 1) -> None:
        self.n += n
        if self.n >= self._next or self.n >= self.total:
            print(f"{self.desc} {self.n}/{self.total} {self.unit}s{(' (' + self._post + ')') if self._post else ''}",
                  file=sys.stderr, flush=True)
            self._next = self.n + max(1, self.total // 10)

    def set_postfix_str(self, text: str) -> None:
        self._post = text

    def close(self) -> None:
        pass


def progress(total: int, desc: str, unit: str = "item") -> Any:
    """A progress counter with ``update(n)``, ``set_postfix_str(text)`` and ``close()``."""
    if sys.stderr.isatty():
        return tqdm(total=total, desc=desc, unit=unit, file=sys.stderr, dynamic_ncols=True, leave=False)
    return _Lines(total, desc, unit)
