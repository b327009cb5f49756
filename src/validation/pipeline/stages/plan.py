"""Stage ``plan``: the next study by simulation, when ``params.yaml: planning.run`` asks for it.

With ``run: true`` it simulates the grid of ``planning`` on a Dask LocalCluster (checkpoints in
``data/plan_checkpoints/``, so a stopped run resumes) and writes ``reports/metrics/plan.json`` and the
figure of the probability of a decided verdict against the number of cases; with ``run: false`` (the
default) it writes only that the simulation was not asked for, and the report's planning section gives
the closed forms alone.
"""

from __future__ import annotations

import json
from pathlib import Path

from validation.pipeline.config import Config
from validation.pipeline.outputs import atomic_outputs
from validation.pipeline.plan import grid, plan_context, run_plan
from validation.pipeline.progress import progress
from validation.pipeline.provenance import provenance
from validation.report.figures import save_svg
from validation.report.figures.planning import decided_figure

METRICS = "reports/metrics/plan.json"
FIG = "reports/figures/plan"
CHECKPOINTS = "data/plan_checkpoints"


def run(root: Path, config: Config) -> None:
    p = config.planning
    if not p.run:
        result = {"run": False, "note": "planning.run is false: no simulation; the planning section gives the "
                                        "closed forms (set planning.run: true, or use validation plan)"}
        print("[plan] planning.run is false: nothing to simulate")
    else:
        cells = grid(list(p.n_cases), list(p.event_rates), list(p.raters_per_case))
        key = json.dumps({"seed": p.seed, "replicates": p.replicates, "cells": [c.key() for c in cells]})
        ckpt = root / CHECKPOINTS / __import__("hashlib").sha256(key.encode()).hexdigest()[:16]
        bar = progress(1, "[plan]", "task")

        def tick(done: int, total: int) -> None:
            bar.total = total
            bar.update(1)

        result = {"run": True, **run_plan(plan_context(root, config), cells, p.replicates, ckpt, workers=p.workers,
                                          scheduler=p.scheduler, batch=p.batch, progress=tick)}
        bar.close()
    metrics = {"provenance": provenance(root, "plan", config, [], ("instruments", "planning", "report")), **result}
    with atomic_outputs(root) as out:
        out.write_json(METRICS, metrics)
        save_svg(decided_figure(result), out.folder(FIG) / "decided.svg")
    print(f"[plan] wrote {METRICS} and {FIG}/decided.svg")
