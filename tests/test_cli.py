"""The ``validation`` command, run as a user runs it: through a subprocess."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "tests" / "broken_inputs"
EXE = Path(sys.executable).parent / "validation"


def cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    cmd = [str(EXE)] if EXE.exists() else [sys.executable, "-m", "validation.cli"]
    return subprocess.run([*cmd, *args], cwd=cwd, capture_output=True, text=True, timeout=300)


def broken_folder(tmp_path: Path, fault: str) -> Path:
    spec = json.loads((CORPUS / fault / "expected.json").read_text(encoding="utf-8"))
    folder = tmp_path / fault
    folder.mkdir()
    for f in (CORPUS / "_valid").iterdir():
        if f.name not in spec["remove"]:
            shutil.copy(f, folder / f.name)
    for f in (CORPUS / fault).iterdir():
        if f.name != "expected.json":
            shutil.copy(f, folder / f.name)
    return folder


def test_help_names_every_command():
    r = cli("--help")
    assert r.returncode == 0
    for command in ("check", "run", "report", "summary"):
        assert command in r.stdout
    for command in ("check", "run", "report", "summary"):
        sub = cli(command, "--help")
        assert sub.returncode == 0 and "Usage: validation " + command in sub.stdout, sub.stderr


def test_version():
    from validation import __version__
    r = cli("--version")
    assert r.returncode == 0 and r.stdout.strip() == f"validation {__version__}"


def test_check_valid_folder_exits_0():
    r = cli("check", str(CORPUS / "_valid"))
    assert r.returncode == 0, r.stderr
    assert "valid against VERA-2R" in r.stdout and "12 cases" in r.stdout


def test_check_broken_folder_exits_2_with_every_problem(tmp_path):
    folder = broken_folder(tmp_path, "several_faults")
    expected = json.loads((CORPUS / "several_faults" / "expected.json").read_text(encoding="utf-8"))["problems"]
    r = cli("check", str(folder))
    assert r.returncode == 2
    assert f"{len(expected)} problem(s)" in r.stderr
    j = cli("check", "--json", str(folder))
    assert j.returncode == 2
    doc = json.loads(j.stdout)
    assert doc["valid"] is False and doc["n_problems"] == len(expected)
    got = {(p["file"], p["row"], p["column"]) for p in doc["problems"]}
    assert {(p["file"], p["row"], p["column"]) for p in expected} <= got
    assert {"file", "row", "column", "value", "expected"} <= set(doc["problems"][0])


def test_check_outside_the_project_uses_the_default_instruments(tmp_path):
    r = cli("check", "--vera", str(ROOT / "instruments/vera2r.yaml"), "--sq", str(ROOT / "instruments/sq.yaml"),
            str(CORPUS / "_valid"), cwd=tmp_path)
    assert r.returncode == 0, r.stderr


def test_run_refuses_bad_params_before_dvc(tmp_path):
    (tmp_path / "dvc.yaml").write_text("stages: {}\n")
    (tmp_path / "params.yaml").write_text("validate: {k_anonymity: 4.9}\n")
    r = cli("run", cwd=tmp_path)
    assert r.returncode == 2
    assert "validate.k_anonymity: found 4.9, expected a whole number" in r.stderr
    assert "reliability: found no section" in r.stderr


@pytest.mark.skipif(not (ROOT / "reports/metrics/agreement.json").exists(), reason="the pipeline has not run")
def test_report_with_another_baseline_writes_where_asked(tmp_path):
    out = tmp_path / "report.html"
    r = cli("report", "--baseline", "none", "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert f"Report: {out}" in r.stdout


@pytest.mark.skipif(not (ROOT / "reports/metrics/summary.json").exists(), reason="the pipeline has not run")
def test_summary_prints_one_key_figure_a_line():
    records = json.loads((ROOT / "reports/metrics/summary.json").read_text(encoding="utf-8"))["key_figures"]
    r = cli("summary")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].split() == ["key", "figure", "estimate", "[CI]", "n", "cut-off", "verdict"]
    assert len(lines) == 2 + len(records)
    for line, rec in zip(lines[2:], records):
        assert line.startswith(rec["label"]) and line.rstrip().endswith(rec["verdict"])
    assert json.loads(cli("summary", "--json").stdout) == records


def test_summary_without_a_run_says_what_to_do(tmp_path):
    (tmp_path / "dvc.yaml").write_text("stages: {}\n")
    (tmp_path / "params.yaml").write_text("{}\n")
    r = cli("summary", cwd=tmp_path)
    assert r.returncode == 2 and "run `validation run`" in r.stderr
