"""The `plots:` declarations of dvc.yaml: each names an explicit template, x and y; each data file is
an output of a stage (kept in git: ``cache: false``, so `dvc plots diff` works in any clone); where
the pipeline has written the files, their CSV headers hold the declared columns, the quantitative
ones parse as numbers, and `dvc plots show` / `dvc plots diff` render them (the latter against a
committed earlier version, in a temporary repository)."""

from __future__ import annotations

import csv
import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
# dvc-render's built-in templates, and which axes each draws as numbers
QUANTITATIVE = {"simple": ("x", "y"), "linear": ("x", "y"), "smooth": ("x", "y"), "scatter": ("x", "y"),
                "scatter_jitter": (), "bar_horizontal": ("x",), "bar_horizontal_sorted": ("x",),
                "confusion": (), "confusion_normalized": ()}


def _dvc_yaml() -> dict:
    return yaml.safe_load((ROOT / "dvc.yaml").read_text())


def _plots() -> dict[str, dict]:
    """Plot id -> its declaration, from the top-level ``plots:`` list."""
    out = {}
    for entry in _dvc_yaml().get("plots") or []:
        assert isinstance(entry, dict) and len(entry) == 1, f"expected `- id: {{...}}` entries, found {entry!r}"
        (pid, spec), = entry.items()
        out[pid] = spec
    return out


def _columns(spec: dict) -> dict[str, dict[str, list[str]]]:
    """File -> {"x": [...], "y": [...]} columns of a plot declaration."""
    files: dict[str, dict[str, list[str]]] = {}
    for axis in ("x", "y"):
        v = spec[axis]
        if isinstance(v, str):  # a column of every file named on the other axis
            continue
        for f, cols in v.items():
            files.setdefault(f, {"x": [], "y": []})[axis] += [cols] if isinstance(cols, str) else list(cols)
    for axis in ("x", "y"):
        if isinstance(spec[axis], str):
            for f in files:
                files[f][axis].append(spec[axis])
    return files


def _outs() -> dict[str, tuple[str, dict]]:
    """Output path -> (stage, its options), over every stage's outs, metrics and plots."""
    out = {}
    for stage, body in _dvc_yaml()["stages"].items():
        for kind in ("outs", "metrics", "plots"):
            for item in body.get(kind) or []:
                path, opts = (item, {}) if isinstance(item, str) else next(iter(item.items()))
                out[path] = (stage, opts or {})
    return out


def _rows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        return list(reader.fieldnames or []), list(reader)


PLOTS = _plots()
FILES = sorted({f for spec in PLOTS.values() for f in _columns(spec)})


def test_there_are_plots():
    assert {"scree", "roc", "km", "agreement_forest"} <= set(PLOTS)


@pytest.mark.parametrize("pid", sorted(PLOTS))
def test_declaration_is_explicit(pid: str):
    spec = PLOTS[pid]
    for key in ("template", "x", "y", "title"):
        assert spec.get(key), f"plot {pid}: no {key}"
    template = spec["template"]
    assert template in QUANTITATIVE or (ROOT / template).is_file(), f"plot {pid}: unknown template {template!r}"
    files = _columns(spec)
    assert files, f"plot {pid}: y names no data file"
    for f, cols in files.items():
        assert cols["x"] and cols["y"], f"plot {pid}: {f} lacks an x or a y column"


@pytest.mark.parametrize("rel", FILES)
def test_data_file_is_a_stage_output_kept_in_git(rel: str):
    outs = _outs()
    assert rel in outs, f"{rel} is plotted but no stage declares it as an output"
    stage, opts = outs[rel]
    assert opts.get("cache") is False, f"{rel} (stage {stage}): expected cache: false (kept in git for plots diff)"
    assert opts.get("persist") is True, f"{rel} (stage {stage}): expected persist: true (atomic writes)"
    assert rel.endswith(".csv"), f"{rel}: expected a CSV file"


@pytest.mark.parametrize("pid", sorted(PLOTS))
def test_data_holds_the_declared_columns(pid: str):
    spec = PLOTS[pid]
    numeric_axes = QUANTITATIVE.get(spec["template"], ())
    present = [f for f in _columns(spec) if (ROOT / f).is_file()]
    if not present:
        pytest.skip(f"plot {pid}: no data file written yet (run `dvc repro`)")
    for f in present:
        cols = _columns(spec)[f]
        header, rows = _rows(ROOT / f)
        for axis in ("x", "y"):
            missing = [c for c in cols[axis] if c not in header]
            assert not missing, f"{f}: header {header} lacks the {axis} column(s) {missing} of plot {pid}"
        assert rows, f"{f}: no data rows"
        for axis in numeric_axes:
            for c in cols[axis]:
                values = [r[c] for r in rows if r[c] != ""]
                assert values, f"{f}: column {c} is empty"
                bad = [v for v in values if not _is_number(v)]
                assert not bad, f"{f}: column {c} ({axis} of a {spec['template']} plot) holds non-numbers {bad[:5]}"


def _is_number(v: str) -> bool:
    try:
        return math.isfinite(float(v))
    except ValueError:
        return False


def _dvc(args: list[str], cwd: Path) -> str:
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", DVC_NO_ANALYTICS="1")
    r = subprocess.run(["dvc", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, f"dvc {' '.join(args)} failed ({r.returncode}):\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
    return r.stdout


def _git(args: list[str], cwd: Path) -> None:
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.org", *args], cwd=cwd, check=True,
                   capture_output=True, text=True)


def test_dvc_plots_show_and_diff(tmp_path: Path):
    """`dvc plots show --json` renders every declared plot from the written files, and `dvc plots diff`
    against a committed earlier version carries both versions' data into each plot."""
    missing = [f for f in FILES if not (ROOT / f).is_file()]
    if missing:
        pytest.skip(f"plot data not written yet (run `dvc repro`): {missing}")
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    repo = tmp_path / "repo"
    for rel in ["dvc.yaml", "params.yaml", *FILES]:
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / rel, repo / rel)
    _git(["init", "-q"], repo)
    _dvc(["init", "-q"], repo)
    _dvc(["config", "core.analytics", "false"], repo)
    _git(["add", "-A"], repo)
    _git(["commit", "-qm", "first version"], repo)

    shown = json.loads(_dvc(["plots", "show", "--json"], repo))
    assert not shown.get("errors"), shown.get("errors")
    assert set(shown["data"]) == set(PLOTS), f"plots rendered {sorted(shown['data'])}, declared {sorted(PLOTS)}"
    for pid, renders in shown["data"].items():
        values = renders[0]["content"]["data"]["values"]
        assert values, f"plot {pid}: no data points"

    # a second version: the plotted values (y, or x where y is a category) shrunk by 10%
    changed: dict[str, set[str]] = {}
    for spec in PLOTS.values():
        axis = "y" if "y" in QUANTITATIVE.get(spec["template"], ()) else "x"
        for f, cols in _columns(spec).items():
            changed.setdefault(f, set()).update(cols[axis])
    for rel in FILES:
        header, rows = _rows(repo / rel)
        for r in rows:
            for c in changed[rel]:
                if _is_number(r[c]):
                    r[c] = repr(float(r[c]) * 0.9)
        with (repo / rel).open("w", newline="", encoding="utf-8") as fh:
            w = csv.DictWriter(fh, fieldnames=header, lineterminator="\n")
            w.writeheader()
            w.writerows(rows)

    diff = json.loads(_dvc(["plots", "diff", "HEAD", "--json"], repo))
    assert not diff.get("errors"), diff.get("errors")
    assert set(diff["data"]) == set(PLOTS)
    for pid, renders in diff["data"].items():
        render = renders[0]
        assert set(render["revisions"]) == {"HEAD", "workspace"}, f"plot {pid}: revisions {render['revisions']}"
        revs = {v["rev"] for v in render["content"]["data"]["values"]}
        assert revs == {"HEAD", "workspace"}, f"plot {pid}: data of {revs} only"


def test_agreement_forest_matches_the_metrics():
    """reports/plots/agreement_forest.csv: the columns the plot and readers need, aggregates only (indicator
    codes, no case or rater key), and the same estimates and intervals as reports/metrics/agreement.json."""
    path, metrics_path = ROOT / "reports/plots/agreement_forest.csv", ROOT / "reports/metrics/agreement.json"
    if not (path.is_file() and metrics_path.is_file()):
        pytest.skip("agreement outputs not written yet (run `dvc repro`)")
    header, rows = _rows(path)
    assert header[:5] == ["indicator", "coefficient", "estimate", "lower", "upper"], header
    m = json.loads(metrics_path.read_text())
    fields = {"weighted kappa": ("weighted_kappa", "kappa"), "Krippendorff": ("krippendorff_alpha", "alpha"),
              "Gwet's AC2": ("gwet_ac2", "estimate")}
    assert {r["indicator"] for r in rows} == set(m["indicators"]) | {"summary risk"}
    assert len(rows) == len(fields) * (len(m["indicators"]) + 1)
    n_checked = 0
    for r in rows:
        block = m["summary_risk"] if r["indicator"] == "summary risk" else m["indicators"][r["indicator"]]
        (key, field), = [v for k, v in fields.items() if r["coefficient"].startswith(k)]
        res = block.get(key, {})
        if "not_estimable" in res or res.get(field) is None:
            assert r["estimate"] == "", r
            continue
        assert float(r["estimate"]) == pytest.approx(res[field], abs=1e-12)
        ci = res.get("ci") or {}
        for b in ("lower", "upper"):
            want = ci.get(b)
            assert (r[b] == "") if want is None else float(r[b]) == pytest.approx(want, abs=1e-12), (r, b)
        if r["lower"] and r["upper"]:
            assert float(r["lower"]) <= float(r["estimate"]) <= float(r["upper"])
        n_checked += 1
    assert n_checked > 0
