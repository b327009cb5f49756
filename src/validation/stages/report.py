"""Stage ``report``: the self-contained HTML validation report, from the metrics and figures alone."""

from __future__ import annotations

import json
from pathlib import Path

from ..report import build_report
from ._common import StageError, atomic_outputs, section

METRICS = ("data_quality", "reliability", "structure", "agreement", "predictive")
OUT = "reports/validation_report.html"


def run(root: Path, params: dict) -> None:
    p = section(params, "report")
    metrics = {}
    for name in METRICS:
        path = root / "reports/metrics" / f"{name}.json"
        if not path.exists():
            raise StageError(f"{path.relative_to(root)} is missing: run the {name} stage first (dvc repro)")
        metrics[name] = json.loads(path.read_text(encoding="utf-8"))
    fig_root = root / "reports/figures"
    figs = {str(f.relative_to(fig_root)): f.read_text(encoding="utf-8") for f in sorted(fig_root.rglob("*.svg"))}
    html = build_report(metrics, figs, k_suppress=int(p["k_suppress"]))
    with atomic_outputs(root) as out:
        out.write_text(OUT, html)
    print(f"[report] wrote {OUT} ({len(html) / 1024:.0f} KiB)")
