"""Where a result comes from, recorded so that it cannot drift: a rerun on the same code, data and
parameters writes the same bytes, in any clone.

The code is identified by content, not by a git commit: the package version and a SHA-256 over the
source files the stage runs (its static import closure, :mod:`validation.pipeline.imports`), so
committing the outputs, or any unrelated change, leaves the provenance as it was.
"""

from __future__ import annotations

import hashlib
import platform
import subprocess
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

from validation.pipeline.imports import PACKAGE_DIR, stage_files

if TYPE_CHECKING:  # annotations only
    from validation.pipeline.config import Config

__all__ = ["provenance", "code_identity", "hash_paths", "package_versions", "git"]

# the packages whose code computes or draws what the metrics hold
PACKAGES = ("numpy", "pandas", "scipy", "statsmodels", "matplotlib", "pandera", "pyarrow", "pydantic", "dvc")


def git(root: Path, *args: str) -> str | None:
    """``git ARGS`` in ``root``: its output, or None outside a checkout or on failure."""
    try:
        r = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return r.stdout.strip() if r.returncode == 0 else None


def _hash_files(h, root: Path, files: list[Path]) -> None:
    for f in files:
        h.update(f.relative_to(root).as_posix().encode())
        h.update(b"\0")
        with open(f, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)


def hash_paths(root: Path, paths: list[str | Path]) -> str:
    """MD5 over the bytes of the files (folders walked in sorted order), with their relative names."""
    h = hashlib.md5()
    for rel in sorted(str(p) for p in paths):
        p = root / rel
        files = sorted(q for q in p.rglob("*") if q.is_file()) if p.is_dir() else [p]
        _hash_files(h, root, [f for f in files if f.exists()])
    return h.hexdigest()


def package_version() -> str:
    try:
        return metadata.version("vera-sq-validation")
    except metadata.PackageNotFoundError:
        return "unknown"


def code_identity(stage: str) -> dict:
    """The package version and a SHA-256 over the source files that the stage runs."""
    files = stage_files(stage)
    h = hashlib.sha256()
    _hash_files(h, PACKAGE_DIR.parent, files)
    return {"version": package_version(), "sha256": h.hexdigest(), "files": len(files)}


def package_versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def provenance(root: Path, stage: str, config: "Config", inputs: list[str | Path],
               sections: tuple[str, ...]) -> dict:
    """Where a result comes from: the code (version and content hash), the instrument definitions,
    the input data, the parameters and the package versions. Holds no timestamp and no git commit,
    so a rerun on the same inputs writes the same bytes."""
    instruments = [config.instruments.vera, config.instruments.sq]
    return {
        "stage": stage,
        "code": code_identity(stage),
        "instruments_md5": hash_paths(root, instruments),
        "data_md5": hash_paths(root, inputs),
        "inputs": [str(p) for p in inputs],
        "params": {s: config.as_params(s) for s in sections},
        "packages": package_versions(),
    }
