"""The plan stage: dvc repro simulates the planning grid only when params.yaml asks, and the report's
planning section shows the simulation beside the closed forms."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from conftest import run_in


def test_dvc_repro_simulates_when_planning_run_is_true(project: Path):
    plan = json.loads((project / "reports/metrics/plan.json").read_text())
    assert plan["run"] is False and "closed forms" in plan["note"]
    params = yaml.safe_load((project / "params.yaml").read_text())
    params["planning"].update(run=True, replicates=2, n_cases=[60], batch=2, workers=1)
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    run_in(["dvc", "repro", "report"], project)
    plan = json.loads((project / "reports/metrics/plan.json").read_text())
    assert plan["run"] is True and plan["engine"] == "dask.distributed" and len(plan["cells"]) == 1
    assert plan["cells"][0]["n_cases"] == 60
    report = (project / "reports/validation_report.html").read_text()
    assert "simulated: share decided" in report and "Probability of a decided verdict" in report
    # the checkpoints make a rerun with the same grid a no-op for the simulation
    assert list((project / "data/plan_checkpoints").rglob("cell000-n60-ratedefault.json"))
