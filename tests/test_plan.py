"""Planning by simulation on Dask: the same plan.json for any number of workers, a stopped run resumes
to the same bytes, and the command line names its engine."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from validation.cli import main
from validation.pipeline.config import load_config
from validation.pipeline.plan import (FIGURES, dumps_plan, grid, plan_context, replicate_seed, run_batch, run_plan,
                                      summarise)

ROOT = Path(__file__).resolve().parents[1]


def _ctx():
    return {**plan_context(ROOT, load_config(ROOT)), "population_cases": 600}


def test_the_plan_does_not_depend_on_the_number_of_workers_and_resumes(tmp_path):
    ctx = _ctx()
    cells = grid([100, 150], [])
    said: list[str] = []
    one = dumps_plan(run_plan(ctx, cells, 4, tmp_path / "a", workers=1, batch=2, say=said.append))
    assert any("engine: Dask LocalCluster, 1 worker" in s for s in said)
    two = dumps_plan(run_plan(ctx, cells, 4, tmp_path / "b", workers=2, batch=3, say=said.append))
    assert one == two
    # stopped after the first cell: its checkpoint is there, the second one is not (a partial file is left)
    (tmp_path / "b" / f"{cells[1].key()}.json").unlink()
    (tmp_path / "b" / f".{cells[1].key()}.json.123.tmp").write_text("{")
    said.clear()
    again = dumps_plan(run_plan(ctx, cells, 4, tmp_path / "b", workers=2, batch=2, say=said.append))
    assert again == one
    assert any(f"{cells[1].key()}: 4 replicates done" in s for s in said)
    assert not any(f"{cells[0].key()}:" in s for s in said)          # the finished cell was not redone
    plan = json.loads(one)
    assert plan["engine"] == "dask.distributed" and [c["n_cases"] for c in plan["cells"]] == [100, 150]
    for cell in plan["cells"]:
        assert set(cell["figures"]) == set(FIGURES)
        for fig in cell["figures"].values():
            shares = fig["meets"] + fig["does_not_meet"] + fig["inconclusive"] + fig["no_evidence_beyond_chance"] \
                + fig["not_estimable"]
            assert abs(shares - 1) < 1e-12 and fig["decided"] == fig["meets"] + fig["does_not_meet"]


def test_replicate_seeds_depend_on_cell_and_replicate_only():
    seeds = {replicate_seed(7, c, r) for c in range(3) for r in range(50)}
    assert len(seeds) == 150 and replicate_seed(7, 1, 2) == replicate_seed(7, 1, 2) != replicate_seed(8, 1, 2)


def test_plan_from_the_command_line(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    runner = CliRunner()
    res = runner.invoke(main, ["plan", "--out", str(tmp_path / "p"), "--replicates", "2", "--workers", "1",
                               "--n-cases", "100"])
    assert res.exit_code == 0, res.output
    assert "engine: Dask LocalCluster" in res.output and (tmp_path / "p" / "plan.json").is_file()
    res = runner.invoke(main, ["plan", "--out", str(tmp_path / "p"), "--replicates", "3", "--n-cases", "100"])
    assert res.exit_code == 2 and "checkpoints of another plan" in res.output


def test_raters_per_case_is_a_dimension_of_the_grid():
    cells = grid([300], [0.05], [1.1, 2.0])
    assert [c.raters_per_case for c in cells] == [1.1, 2.0]
    assert cells[0].key() == "cell000-n300-rate0.05-raters1.1" and grid([300], [])[0].key() == "cell000-n300-ratedefault"
    ctx = _ctx()
    widths = []
    for c in cells:
        reps = run_batch(c, 0, 2, ctx)
        w = [r["figures"][FIGURES[1]]["upper"] - r["figures"][FIGURES[1]]["lower"] for r in reps]
        widths.append(sum(w) / len(w))
        assert summarise(c, reps, {})["raters_per_case"] == c.raters_per_case
    # a second rater for every case against one for a tenth of them (the crossed block's pairs come on top):
    # a narrower kappa
    assert widths[1] < 0.7 * widths[0]
