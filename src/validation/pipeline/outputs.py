"""Canonical JSON and atomic outputs: a stage writes everything under temporary names, and moves it
into place only when the whole stage succeeded, so a failed stage leaves the last good outputs."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from validation.pipeline.common import StageError
from validation.stats.results import to_dict

__all__ = ["dumps", "AtomicOutputs", "atomic_outputs"]


def dumps(obj: Any) -> str:
    """Canonical JSON: plain types, no NaN, stable key order as given, newline at the end."""
    return json.dumps(to_dict(obj), indent=2, ensure_ascii=False, allow_nan=False) + "\n"


class AtomicOutputs:
    """Collects a stage's outputs in a temporary folder; :meth:`commit` moves them into place.

    ``path(rel)`` gives the temporary path to write ``rel`` (a file or a folder, relative to the
    project root). Outputs listed as folders are replaced whole.
    """

    def __init__(self, root: Path):
        self.root = root
        self._tmp = Path(tempfile.mkdtemp(prefix=".stage-", dir=root))
        self._targets: dict[str, Path] = {}

    def path(self, rel: str | Path) -> Path:
        rel = str(rel)
        p = self._tmp / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        self._targets[rel] = p
        return p

    def folder(self, rel: str | Path) -> Path:
        p = self.path(rel)
        p.mkdir(parents=True, exist_ok=True)
        return p

    def write_json(self, rel: str | Path, obj: Any) -> None:
        self.path(rel).write_text(dumps(obj), encoding="utf-8")

    def write_text(self, rel: str | Path, text: str) -> None:
        self.path(rel).write_text(text, encoding="utf-8")

    def commit(self) -> None:
        for rel, tmp in self._targets.items():
            if not tmp.exists():
                raise StageError(f"stage promised {rel} but did not write it")
        for rel, tmp in self._targets.items():
            dest = self.root / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            if dest.is_dir() and not dest.is_symlink():
                old = dest.with_name(dest.name + ".old-" + self._tmp.name)
                dest.rename(old)
                tmp.rename(dest)
                shutil.rmtree(old, ignore_errors=True)
            else:
                os.replace(tmp, dest)
        self.discard()

    def discard(self) -> None:
        shutil.rmtree(self._tmp, ignore_errors=True)


@contextmanager
def atomic_outputs(root: Path) -> Iterator[AtomicOutputs]:
    out = AtomicOutputs(root)
    try:
        yield out
    except BaseException:
        out.discard()
        raise
    out.commit()
