"""Shared fixtures: the pipeline run once per test session on small synthetic parameters."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def run_in(cmd: list[str], cwd: Path, check: bool = True) -> subprocess.CompletedProcess:
    """Run a command of the project (the test's own Python first on PATH), raising with its output on failure."""
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", DVC_NO_ANALYTICS="1",
               MPLBACKEND="Agg", PYTHONHASHSEED="0")
    r = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=1200)
    if check and r.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed ({r.returncode}):\n{r.stdout[-4000:]}\n{r.stderr[-4000:]}")
    return r


@pytest.fixture(scope="session")
def pipeline_run(tmp_path_factory) -> Path:
    """The repository's files copied to a temporary git repository and ``dvc repro`` run there once on
    small synthetic parameters. Tests do not use it directly: each module takes a copy (``project``)."""
    dest = tmp_path_factory.mktemp("repo")
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, capture_output=True,
                            text=True, check=True).stdout.split("\n")
    for rel in filter(None, listed):
        src = ROOT / rel
        # no outputs and no data; the data folders' READMEs are kept (data/bundles is a DVC dependency)
        if (not src.is_file() or rel.startswith("reports/") or rel == "dvc.lock"
                or (rel.startswith("data/") and not rel.endswith("README.md"))):
            continue
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, dest / rel)
    params = yaml.safe_load((dest / "params.yaml").read_text())
    params["synthesize"]["n_cases"] = 240
    params["synthesize"]["crossed_cases"] = 20
    params["reliability"]["n_boot"] = 200
    params["training"].update(n_boot=500, oc_replicates=20, oc_accuracy=[0.75, 0.9], oc_vignettes=[3, 8])
    params["fairness"]["n_boot"] = 200
    (dest / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    run_in(["git", "init", "-q"], dest)
    run_in(["git", "-c", "user.name=t", "-c", "user.email=t@example.org", "add", "-A"], dest)
    run_in(["git", "-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-qm", "copy"], dest)
    run_in(["dvc", "repro"], dest)
    return dest


@pytest.fixture(scope="module")
def project(pipeline_run: Path, tmp_path_factory) -> Path:
    """A module's own copy of the session's pipeline run (git history, DVC cache and outputs included),
    so that a module changing it leaves the others' untouched."""
    dest = tmp_path_factory.mktemp("project") / "repo"
    shutil.copytree(pipeline_run, dest, symlinks=True)
    return dest


@pytest.fixture(scope="session")
def synthetic_course():
    """The synthetic default's rater-training tables, through the data contract: ratings (indexed by
    vignette), the key, the 34 indicators and the planted truth."""
    import tempfile

    from validation.battery.contract import load_tables
    from validation.battery.instruments import load_instrument
    from validation.battery.synthetic import SyntheticConfig, generate

    vera, sq = load_instrument(ROOT / "instruments/vera2r.yaml"), load_instrument(ROOT / "instruments/sq.yaml")
    battery = generate(SyntheticConfig(truth_draws=1000), vera, sq)
    with tempfile.TemporaryDirectory() as tmp:
        for name, frame in battery.tables().items():
            frame.to_csv(Path(tmp) / f"{name}.csv", index=False)
        t = load_tables(tmp, vera, sq)
    return (t.training_ratings.set_index("vignette_id"), t.vignette_key.set_index("vignette_id"),
            list(vera.indicators), battery.truth["training"], t)
