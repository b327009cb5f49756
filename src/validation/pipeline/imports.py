"""The static import closure of a module of this package: which source files a stage runs.

Read from the source with :mod:`ast`, never by importing: the closure of a module is the module,
every module of this package it imports (absolute or relative, at the top or inside a function),
their parent packages, and so on. :func:`stage_files` gives the files behind one pipeline stage;
provenance hashes them and a test checks that ``dvc.yaml`` lists each as a dependency.
"""

from __future__ import annotations

import ast
from functools import lru_cache
from pathlib import Path

__all__ = ["package_modules", "module_imports", "closure", "resource_files", "stage_files"]

PACKAGE = "validation"
PACKAGE_DIR = Path(__file__).resolve().parents[1]


@lru_cache(maxsize=None)
def package_modules(pkg_dir: Path = PACKAGE_DIR) -> dict[str, Path]:
    """Every module of the package by dotted name (a package by the name of its ``__init__``)."""
    mods = {}
    for f in sorted(pkg_dir.rglob("*.py")):
        parts = list(f.relative_to(pkg_dir.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        mods[".".join(parts)] = f
    return mods


def _resolve(name: str, mods: dict[str, Path]) -> str | None:
    while name and name not in mods:
        name = name.rsplit(".", 1)[0] if "." in name else ""
    return name or None


@lru_cache(maxsize=None)
def module_imports(name: str, pkg_dir: Path = PACKAGE_DIR) -> frozenset[str]:
    """The modules of this package that module ``name`` imports."""
    mods = package_modules(pkg_dir)
    f = mods[name]
    pkg = name if f.name == "__init__.py" else name.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(f.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = pkg.split(".")
                base = base[: len(base) - (node.level - 1)]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            found.add(mod)
            found.update(f"{mod}.{a.name}" for a in node.names)
    out = {r for m in found if m.split(".")[0] == PACKAGE and (r := _resolve(m, mods))}
    out.discard(name)
    return frozenset(out)


def _parents(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def closure(*starts: str, pkg_dir: Path = PACKAGE_DIR) -> set[str]:
    """Every module that importing ``starts`` may run: their imports, transitively, and the parent
    packages of each (Python runs a package's ``__init__`` before its submodule)."""
    mods = package_modules(pkg_dir)
    seen: set[str] = set()
    todo = list(starts)
    while todo:
        m = todo.pop()
        if m in seen:
            continue
        seen.add(m)
        todo.extend(module_imports(m, pkg_dir))
        todo.extend(p for p in _parents(m) if p in mods)
    return seen


# the non-Python files a module reads, by module: folders relative to the package folder
RESOURCES = {f"{PACKAGE}.report.render": ("report/templates",)}


def resource_files(module: str, pkg_dir: Path = PACKAGE_DIR) -> list[Path]:
    """The files that ``module`` reads beside the source (see :data:`RESOURCES`)."""
    out = []
    for folder in RESOURCES.get(module, ()):
        out += [f for f in (pkg_dir / folder).rglob("*") if f.is_file() and "__pycache__" not in f.parts]
    return out


def stage_files(stage: str, pkg_dir: Path = PACKAGE_DIR) -> list[Path]:
    """The files that ``python -m validation.pipeline.stages STAGE`` runs or reads, sorted: the
    source of its import closure and the resource folders (templates) of the packages in it."""
    mods = package_modules(pkg_dir)
    names = closure(f"{PACKAGE}.pipeline.stages.__main__", f"{PACKAGE}.pipeline.stages.{stage}", pkg_dir=pkg_dir)
    files = {mods[m] for m in names}
    for m in names:
        files.update(resource_files(m, pkg_dir))
    return sorted(files)
