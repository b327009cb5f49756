"""Rewrite the source-file deps of every stage in dvc.yaml from the stages' import closures.

Run from the project folder after adding or moving a module:  python tests/dvc_deps.py
Lines of a deps list that are not under src/ (data folders, instrument definitions) are kept.
"""

from __future__ import annotations

import re
from pathlib import Path

from validation.pipeline.imports import stage_files

ROOT = Path(__file__).resolve().parents[1]


def rewrite(text: str) -> str:
    out, stage, lines, i = [], None, text.split("\n"), 0
    while i < len(lines):
        line = lines[i]
        if (m := re.match(r"^  (\w+):$", line)):
            stage = m.group(1)
        out.append(line)
        i += 1
        if line == "    deps:" and stage:
            kept = []
            while i < len(lines) and lines[i].startswith("      - "):
                if not lines[i].startswith("      - src/"):
                    kept.append(lines[i])
                i += 1
            out += kept + [f"      - {f.relative_to(ROOT).as_posix()}" for f in stage_files(stage)]
    return "\n".join(out)


if __name__ == "__main__":
    path = ROOT / "dvc.yaml"
    path.write_text(rewrite(path.read_text(encoding="utf-8")), encoding="utf-8")
    print(f"rewrote the source deps of {path}")
