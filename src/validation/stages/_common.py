"""What every stage shares: parameters, atomic outputs, provenance and canonical JSON.

A stage is a thin command: it reads its inputs, calls pure functions, and writes its outputs
through :class:`AtomicOutputs`, which writes everything under temporary names and moves them into
place only when the whole stage succeeded, so a failed stage leaves the last good outputs untouched.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path
from typing import Any, Iterator, Mapping

import yaml

from ..instruments import Questionnaire, SPJInstrument, load_instrument
from ..results import to_dict

ROOT_MARKERS = ("dvc.yaml", "params.yaml")
PACKAGES = ("numpy", "pandas", "scipy", "statsmodels", "scikit-learn", "pingouin", "semopy",
            "matplotlib", "pandera", "pyarrow", "dvc")


class StageError(RuntimeError):
    """A stage cannot run; the message says why and how to fix it."""


def project_root(start: Path | None = None) -> Path:
    """The folder holding ``params.yaml`` and ``dvc.yaml`` (the current one, or a parent)."""
    here = (start or Path.cwd()).resolve()
    for p in (here, *here.parents):
        if all((p / m).exists() for m in ROOT_MARKERS):
            return p
    raise StageError(f"no params.yaml and dvc.yaml found in {here} or its parents: run stages from the project folder")


def load_params(root: Path) -> dict:
    with open(root / "params.yaml", encoding="utf-8") as fh:
        return yaml.safe_load(fh) or {}


def section(params: Mapping, name: str) -> dict:
    if name not in params:
        raise StageError(f"params.yaml has no '{name}' section")
    return dict(params[name] or {})


def load_instruments(root: Path, params: Mapping) -> tuple[SPJInstrument, Questionnaire]:
    spec = section(params, "instruments")
    vera = load_instrument(root / spec["vera"])
    sq = load_instrument(root / spec["sq"])
    if not isinstance(vera, SPJInstrument):
        raise StageError(f"instruments.vera ({spec['vera']}) is not a structured professional judgement tool")
    if not isinstance(sq, Questionnaire):
        raise StageError(f"instruments.sq ({spec['sq']}) is not a questionnaire")
    return vera, sq


# ---------------------------------------------------------------------------------------------
# canonical JSON and atomic writes


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


# ---------------------------------------------------------------------------------------------
# provenance


def _git(root: Path, *args: str) -> str | None:
    try:
        r = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return r.stdout.strip() if r.returncode == 0 else None


def hash_paths(root: Path, paths: list[str | Path]) -> str:
    """MD5 over the bytes of the files (folders walked in sorted order), with their relative names."""
    h = hashlib.md5()
    for rel in sorted(str(p) for p in paths):
        p = root / rel
        files = sorted(q for q in p.rglob("*") if q.is_file()) if p.is_dir() else [p]
        for f in files:
            if not f.exists():
                continue
            h.update(str(f.relative_to(root)).encode())
            h.update(b"\0")
            with open(f, "rb") as fh:
                for chunk in iter(lambda: fh.read(1 << 20), b""):
                    h.update(chunk)
    return h.hexdigest()


def package_versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    try:
        out["validation"] = metadata.version("vera-sq-validation")
    except metadata.PackageNotFoundError:
        pass
    return out


def provenance(root: Path, stage: str, params: Mapping, inputs: list[str | Path],
               sections: tuple[str, ...]) -> dict:
    """Where a result comes from: code revision, input data hash, parameters and package versions.

    Holds no timestamp, so a rerun on the same inputs writes the same bytes. ``git_commit`` is the
    last commit that changed the code, the instrument definitions, ``params.yaml`` or ``dvc.yaml``;
    ``code_modified`` says whether the package or instrument definitions differed from it when the
    stage ran.
    """
    # the last commit that changed what the numbers depend on (code, instruments, parameters,
    # pipeline): committing the outputs themselves does not change it, so a fresh clone rebuilds
    # byte-identical metrics
    commit = _git(root, "log", "-1", "--format=%H", "--", "src", "instruments", "params.yaml", "dvc.yaml")
    status = _git(root, "status", "--porcelain", "--", "src", "instruments")
    return {
        "stage": stage,
        "git_commit": commit or "unknown (not a git checkout)",
        "code_modified": bool(status) if status is not None else None,
        "data_md5": hash_paths(root, inputs),
        "inputs": [str(p) for p in inputs],
        "params": {s: params.get(s) for s in sections},
        "packages": package_versions(),
    }


def fail(message: str, code: int = 2) -> None:
    print(message, file=sys.stderr)
    raise SystemExit(code)
