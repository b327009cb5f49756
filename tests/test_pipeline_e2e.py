"""End to end: copy the repository to a temporary folder, run the whole pipeline on a small synthetic
parameter set, check its outputs, check that a second run changes nothing, and that a failed stage
leaves the last good outputs untouched."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import run_in

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
METRICS = ("data_quality", "reliability", "structure", "agreement", "predictive")

pytestmark = pytest.mark.slow


_run = run_in   # the project's commands, as the session fixture runs them


def _snapshot(root: Path) -> dict[str, str]:
    """MD5 of dvc.lock and of every file the pipeline writes."""
    out = {}
    for rel in ["dvc.lock", "reports", "data/clean", "data/synthetic"]:
        p = root / rel
        files = [p] if p.is_file() else sorted(q for q in p.rglob("*") if q.is_file())
        for f in files:
            out[str(f.relative_to(root))] = hashlib.md5(f.read_bytes()).hexdigest()
    return out


def test_outputs_exist_and_hold_provenance(project: Path):
    for name in ("cases", "vera_ratings", "sq_responses", "outcomes"):
        assert (project / "data/clean" / f"{name}.parquet").stat().st_size > 0
        assert (project / "data/synthetic" / f"{name}.csv").stat().st_size > 0
    from validation.pipeline.provenance import code_identity
    stage_of = {"data_quality": "validate"}
    for m in METRICS:
        doc = json.loads((project / "reports/metrics" / f"{m}.json").read_text())
        prov = doc["provenance"]
        assert "git_commit" not in prov                    # content identifies the code, not a commit
        assert prov["code"] == code_identity(stage_of.get(m, m))
        assert len(prov["data_md5"]) == 32
        assert prov["packages"]["numpy"]
        assert prov["params"], m
    report = (project / "reports/validation_report.html").read_text()
    assert "<html" in report and "</html>" in report


def test_no_person_keys_in_outputs(project: Path):
    import pandas as pd
    cases = pd.read_parquet(project / "data/clean/cases.parquet")["case_id"]
    raters = pd.read_parquet(project / "data/clean/vera_ratings.parquet")["rater_id"].unique()
    keys = set(cases) | set(raters)
    texts = [p.read_text(errors="ignore") for p in (project / "reports").rglob("*") if p.is_file()]
    for key in keys:
        assert not any(f'"{key}"' in t or f">{key}<" in t for t in texts), key


def test_second_repro_changes_nothing(project: Path):
    before = _snapshot(project)
    r = _run(["dvc", "repro"], project)
    assert _snapshot(project) == before
    assert "didn't change" in r.stdout or "is cached" in r.stdout or "up to date" in r.stdout.lower()


def test_failed_stage_leaves_last_good_outputs(project: Path):
    before = _snapshot(project)
    broken = project / "data/broken"
    shutil.copytree(project / "data/synthetic", broken)
    text = (broken / "vera_ratings.csv").read_text().splitlines()
    header = text[0].split(",")
    row = text[1].split(",")
    row[header.index("BA1")] = "Q"
    text[1] = ",".join(row)
    (broken / "vera_ratings.csv").write_text("\n".join(text) + "\n")
    params_path = project / "params.yaml"
    original = params_path.read_text()
    params = yaml.safe_load(original)
    params["validate"]["input_dir"] = "data/broken"
    params_path.write_text(yaml.safe_dump(params, sort_keys=False))
    try:
        r = _run(["dvc", "repro"], project, check=False)
        assert r.returncode != 0
        out = r.stdout + r.stderr
        assert "vera_ratings.csv" in out and "BA1" in out
        problems = json.loads((project / "reports/validation_problems.json").read_text())
        assert problems["n_problems"] == 1
        first = problems["problems"][0]
        assert (first["file"], first["row"], first["column"], first["value"]) == ("vera_ratings.csv", 2, "BA1", "Q")
        after = _snapshot(project)
        for rel, md5 in before.items():
            if rel.startswith(("data/clean", "reports/metrics", "reports/figures", "dvc.lock")):
                assert after.get(rel) == md5, f"{rel} changed although the stage failed"
    finally:
        params_path.write_text(original)
        shutil.rmtree(broken)


def test_fresh_clone_reproduces_the_committed_outputs(tmp_path):
    """A clone of the committed HEAD, as a new user gets it: `dvc repro` regenerates the synthetic
    battery and leaves `git status` empty (dvc.lock, metrics, figures and report byte-identical)."""
    dest = tmp_path / "clone"
    _run(["git", "clone", "-q", str(ROOT), str(dest)], tmp_path)
    env_src = str(dest / "src")                          # run the clone's code, not this checkout's
    r = subprocess.run(["dvc", "repro"], cwd=dest, capture_output=True, text=True, timeout=1200,
                       env=dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
                                PYTHONPATH=env_src, DVC_NO_ANALYTICS="1", MPLBACKEND="Agg", PYTHONHASHSEED="0"))
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    status = _run(["git", "status", "--porcelain"], dest).stdout
    assert status == "", f"a fresh clone's dvc repro changed committed files:\n{status}"
