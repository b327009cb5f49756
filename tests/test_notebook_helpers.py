"""Tests of validation.notebook: finding the project, checking and loading the pipeline's outputs,
running the pipeline only when they are missing (the subprocess is mocked), and keeping keys off
the screen."""

from __future__ import annotations

import json
import os
import shutil
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from validation import notebook as nbh
from validation.notebook import (METRICS, TABLES, OutputsUnavailable, anonymise, by_position, ci_text,
                                 ensure_outputs, expected_outputs, find_root, load_outputs, missing_outputs,
                                 rater_labels, stale_metrics, suppress)

ROOT = Path(__file__).resolve().parents[1]


# ---------------------------------------------------------------------------------------------
# a small fake project


def _params(output_dir: str = "data/clean") -> dict:
    return {"instruments": {"vera": "instruments/vera2r.yaml", "sq": "instruments/sq.yaml"},
            "validate": {"input_dir": "data/synthetic", "output_dir": output_dir},
            "report": {"k_suppress": 5}}


def _write_outputs(root: Path) -> None:
    params = yaml.safe_load((root / "params.yaml").read_text())
    clean = root / params["validate"]["output_dir"]
    clean.mkdir(parents=True, exist_ok=True)
    frames = {
        "cases": pd.DataFrame({"case_id": ["C1", "C2"], "site": ["S1", "S2"]}),
        "vera_ratings": pd.DataFrame({"case_id": ["C1", "C2"], "rater_id": ["R1", "R2"], "occasion": [1, 1]}),
        "sq_responses": pd.DataFrame({"case_id": ["C1", "C2"], "occasion": [1, 1]}),
        "outcomes": pd.DataFrame({"case_id": ["C1", "C2"], "outcome": ["any", "any"], "event": [0, 1],
                                  "time_days": [100, 200]}),
    }
    for name, df in frames.items():
        df.to_parquet(clean / f"{name}.parquet")
    metrics = root / "reports" / "metrics"
    metrics.mkdir(parents=True, exist_ok=True)
    for m in METRICS:
        doc = {"provenance": {"stage": m, "params": {"validate": params["validate"]}}, "value": len(m)}
        (metrics / f"{m}.json").write_text(json.dumps(doc))


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project folder (dvc.yaml, params.yaml, instrument definitions, notebooks/) without outputs."""
    (tmp_path / "dvc.yaml").write_text("stages: {}\n")
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(_params()))
    (tmp_path / "instruments").mkdir()
    for f in ("vera2r.yaml", "sq.yaml"):
        shutil.copy(ROOT / "instruments" / f, tmp_path / "instruments" / f)
    (tmp_path / "notebooks").mkdir()
    return tmp_path


class Runner:
    """A stand-in for the pipeline command: records each call, writes the outputs (or not), and
    answers with the exit codes and outputs given."""

    def __init__(self, replies=((0, "ok"),), write: bool = True, delay: float = 0.0):
        self.replies = list(replies)
        self.write = write
        self.delay = delay
        self.calls: list[tuple[list, Path, dict]] = []

    def __call__(self, cmd, cwd, env):
        self.calls.append((list(cmd), Path(cwd), dict(env)))
        time.sleep(self.delay)
        code, text = self.replies[min(len(self.calls), len(self.replies)) - 1]
        if code == 0 and self.write:
            _write_outputs(Path(cwd))
        return code, text


def _no_subprocess(monkeypatch):
    def refuse(*a, **k):
        raise AssertionError("the pipeline must not run")
    monkeypatch.setattr(nbh.subprocess, "Popen", refuse)


# ---------------------------------------------------------------------------------------------
# the project folder


def test_find_root_from_a_subfolder(project: Path, monkeypatch):
    assert find_root(project / "notebooks") == project.resolve()
    deep = project / "notebooks" / "a" / "b"
    deep.mkdir(parents=True)
    assert find_root(deep) == project.resolve()
    monkeypatch.chdir(project / "notebooks")
    assert find_root() == project.resolve()


def test_find_root_of_this_repository_from_notebooks():
    assert find_root(ROOT / "notebooks") == ROOT


def test_find_root_falls_back_to_the_package_location(tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)            # no project here: the project of the installed package is found
    assert find_root() == Path(nbh.__file__).resolve().parents[2]


def test_find_root_needs_both_markers(tmp_path: Path):
    (tmp_path / "dvc.yaml").write_text("stages: {}\n")
    with pytest.raises(OutputsUnavailable, match="no dvc.yaml and params.yaml"):
        find_root(tmp_path)


# ---------------------------------------------------------------------------------------------
# which outputs are missing


def test_missing_outputs_lists_every_table_and_metrics_file(project: Path):
    missing = missing_outputs(project)
    assert missing == expected_outputs(_params())
    assert len(missing) == len(TABLES) + len(METRICS)
    assert "data/clean/cases.parquet" in missing and "reports/metrics/predictive.json" in missing
    _write_outputs(project)
    assert missing_outputs(project) == []
    (project / "reports/metrics/agreement.json").write_text("")   # an empty file counts as missing
    assert missing_outputs(project) == ["reports/metrics/agreement.json"]


def test_missing_outputs_follows_the_clean_folder_of_params(project: Path):
    (project / "params.yaml").write_text(yaml.safe_dump(_params("data/elsewhere")))
    assert "data/elsewhere/vera_ratings.parquet" in missing_outputs(project)
    _write_outputs(project)
    assert missing_outputs(project) == []
    assert not (project / "data/clean").exists()


# ---------------------------------------------------------------------------------------------
# running the pipeline only when needed


def test_outputs_present_nothing_runs(project: Path, monkeypatch):
    _write_outputs(project)
    _no_subprocess(monkeypatch)
    runner = Runner()
    out = load_outputs(project / "notebooks", runner=runner)
    assert runner.calls == []
    assert out.ran_pipeline is False
    assert out.root == project.resolve()
    assert set(out.tables) == set(TABLES) and len(out.cases) == 2
    assert out.vera.name == "VERA-2R" and out.sq.name == "SQ"
    assert set(out.metrics) == set(METRICS) and out.metrics["structure"]["value"] == len("structure")
    assert out.section("validate")["output_dir"] == "data/clean"
    assert out.section("absent") == {}
    assert out.figures == project.resolve() / "reports" / "figures"
    assert out.stale == ()


def test_missing_outputs_run_the_pipeline_once(project: Path, monkeypatch):
    monkeypatch.chdir(project / "notebooks")   # as a notebook runs
    runner = Runner()
    first = load_outputs(runner=runner)
    assert first.ran_pipeline is True
    assert len(runner.calls) == 1
    cmd, cwd, env = runner.calls[0]
    assert cmd == [sys.executable, "-m", "dvc", "repro"]
    assert cwd == project.resolve()
    assert env["DVC_NO_ANALYTICS"] == "1"
    assert env["PATH"].split(os.pathsep)[0] == str(Path(sys.executable).parent)
    # the next notebook finds the outputs and runs nothing
    second = load_outputs(runner=runner)
    assert second.ran_pipeline is False
    assert len(runner.calls) == 1
    assert len(second.outcomes) == 2


def test_the_subprocess_is_dvc_repro_and_its_output_is_echoed(project: Path, monkeypatch, capsys):
    calls = []

    class FakePopen:
        def __init__(self, cmd, **kw):
            calls.append((cmd, kw))
            _write_outputs(Path(kw["cwd"]))
            self.stdout = iter(["Running stage 'synthesize':\n", "Pipeline is up to date.\n"])

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def wait(self):
            return 0

    monkeypatch.setattr(nbh.subprocess, "Popen", FakePopen)
    out = load_outputs(project)
    assert out.ran_pipeline
    assert len(calls) == 1
    cmd, kw = calls[0]
    assert cmd[-2:] == ["dvc", "repro"] and kw["cwd"] == project.resolve()
    assert kw["env"]["DVC_NO_ANALYTICS"] == "1"
    printed = capsys.readouterr().out
    assert "pipeline outputs missing" in printed
    assert "DVC_NO_ANALYTICS=1 dvc repro" in printed
    assert "Running stage 'synthesize'" in printed
    load_outputs(project)                      # outputs exist now: no second run
    assert len(calls) == 1


def test_stream_runs_a_real_command(tmp_path: Path, capsys):
    code, text = nbh._stream([sys.executable, "-c", "import sys; print('out'); print('err', file=sys.stderr); "
                                                    "sys.exit(3)"], tmp_path, dict(os.environ))
    assert code == 3
    assert "out" in text and "err" in text
    assert "out" in capsys.readouterr().out


def test_refresh_runs_even_when_outputs_exist(project: Path):
    _write_outputs(project)
    runner = Runner()
    assert load_outputs(project, refresh=True, runner=runner).ran_pipeline is True
    assert len(runner.calls) == 1


def test_run_false_never_runs(project: Path, monkeypatch):
    _no_subprocess(monkeypatch)
    with pytest.raises(OutputsUnavailable, match="pipeline outputs missing .*make repro"):
        load_outputs(project, run=False)
    _write_outputs(project)
    assert load_outputs(project, run=False).ran_pipeline is False


def test_a_failed_pipeline_says_why(project: Path):
    runner = Runner(replies=[(2, "Running stage 'validate':\nERROR: failed to reproduce 'validate'")])
    with pytest.raises(OutputsUnavailable, match=r"(?s)exit code 2.*failed to reproduce 'validate'") as info:
        ensure_outputs(project, runner=runner)
    assert "make repro" in str(info.value)
    assert "no .git folder" in str(info.value)    # the fake project has no .git


def test_a_locked_repository_is_retried(project: Path):
    runner = Runner(replies=[(1, "ERROR: Unable to acquire lock. Most likely another DVC process is running"),
                             (0, "ok")])
    assert ensure_outputs(project, runner=runner, wait_seconds=0) is True
    assert len(runner.calls) == 2
    stuck = Runner(replies=[(1, "ERROR: Unable to acquire lock.")], write=False)
    (project / "data/clean/cases.parquet").unlink()
    with pytest.raises(OutputsUnavailable):
        ensure_outputs(project, runner=stuck, retries=2, wait_seconds=0)
    assert len(stuck.calls) == 3


def test_outputs_still_missing_after_the_run(project: Path):
    with pytest.raises(OutputsUnavailable, match="still missing: data/clean/cases.parquet"):
        ensure_outputs(project, runner=Runner(write=False))


def test_notebooks_started_together_run_the_pipeline_once(project: Path):
    runner = Runner(delay=0.3)
    results, errors = [], []

    def one():
        try:
            results.append(ensure_outputs(project, runner=runner))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=one) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(runner.calls) == 1
    assert sorted(results) == [False, False, True]


# ---------------------------------------------------------------------------------------------
# stale metrics


def test_stale_metrics_are_named_and_reported(project: Path, capsys):
    _write_outputs(project)
    params = _params()
    params["validate"]["output_dir"] = "data/clean"
    params["validate"]["k_anonymity"] = 10          # changed after the run
    (project / "params.yaml").write_text(yaml.safe_dump(params))
    out = load_outputs(project, runner=Runner())
    assert out.stale == METRICS
    assert "other parameters than params.yaml" in capsys.readouterr().out
    assert stale_metrics({"a": {"provenance": {"params": {"x": 1}}}}, {"x": 1}) == []
    assert stale_metrics({"a": {"provenance": {"params": {"x": 1}}}}, {"x": 2}) == ["a"]
    assert stale_metrics({"a": {}}, {"x": 2}) == []


def test_the_real_project_loads_without_running(monkeypatch):
    if missing_outputs(ROOT):
        pytest.skip("the pipeline has not run in this checkout")
    _no_subprocess(monkeypatch)
    out = load_outputs(ROOT / "notebooks", quiet=True)
    assert out.ran_pipeline is False
    assert set(out.vera.indicators) <= set(out.vera_ratings.columns)
    assert out.metrics["data_quality"]["cases"]["n"] == len(out.cases)


# ---------------------------------------------------------------------------------------------
# keys off the screen


def test_rater_labels_number_the_sorted_keys():
    assert rater_labels(["b", "a", "c", "a", None]) == {"a": "rater 1", "b": "rater 2", "c": "rater 3"}


def test_anonymise_replaces_keys_by_positions():
    r = pd.DataFrame({"case_id": ["C9", "C1", "C9"], "rater_id": ["X", "Y", "Y"], "BA1": [1, 2, 3]})
    a = anonymise(r)
    assert list(a.columns) == ["target", "rater", "BA1"]
    assert a["target"].tolist() == [1, 0, 1]
    assert a["rater"].tolist() == ["rater 1", "rater 2", "rater 2"]
    assert a["BA1"].tolist() == [1, 2, 3]
    text = a.to_string()
    assert not any(k in text for k in ("C9", "C1", "X", "Y"))
    # numbered over every rater of the full table: a subset keeps its names
    sub = anonymise(r[r["rater_id"] == "Y"], all_raters=["W", "X", "Y"])
    assert set(sub["rater"]) == {"rater 3"}
    with pytest.raises(ValueError, match="not among all_raters"):
        anonymise(r, all_raters=["X"])
    with pytest.raises(ValueError, match="'rater_id' column"):
        anonymise(r.drop(columns="rater_id"))


def test_anonymise_matches_the_data_quality_naming():
    if missing_outputs(ROOT):
        pytest.skip("the pipeline has not run in this checkout")
    out = load_outputs(ROOT, run=False, quiet=True)
    a = anonymise(out.vera_ratings, all_raters=out.vera_ratings["rater_id"])
    counts = a.groupby("rater").size().to_dict()
    assert counts == out.metrics["data_quality"]["vera_ratings"]["by_rater"]


def test_suppress_small_counts():
    assert suppress(3) == "<5" and suppress(5) == "5" and suppress(0) == "0" and suppress(np.nan) == ""
    # a line whose total a reader can add up: the smallest other count is hidden too
    assert suppress(pd.Series([1, 7, 9])).tolist() == ["<5", "*", "9"]
    assert suppress(pd.Series([1, 7, 0]), totals=False).tolist() == ["<5", "7", "0"]
    df = suppress(pd.DataFrame({"a": [2, 10], "b": [pd.NA, 4]}, dtype="Int64"), k=3, totals=False)
    assert df.to_dict("list") == {"a": ["<3", "10"], "b": ["", "4"]}
    # a two-way table with its margins: a hidden cell gets partners in its row and column
    tab = suppress(pd.DataFrame({"L": [30, 2], "M": [20, 40]}, index=["S1", "S2"]))
    assert tab.loc["S2", "L"] == "<5" and (tab == "*").to_numpy().sum() == 3
    with pytest.raises(ValueError, match="k must be"):
        suppress(1, k=0)


def test_ci_text_and_by_position():
    assert ci_text({"alpha": 0.8123, "ci": {"lower": 0.75, "upper": 0.86}}, "alpha") == "0.81 [0.75, 0.86]"
    assert ci_text({"auc": 0.6}, "auc", digits=3) == "0.600"
    assert ci_text({"not_estimable": "too few"}, "auc") == "not estimable"
    assert ci_text(None, "auc") == "not estimable"
    assert by_position(["rater 10", "rater 2", "rater 1", "team"]) == ["rater 1", "rater 2", "rater 10", "team"]
