"""Stage ``report``: the self-contained HTML validation report, from the metrics and figures alone.

Besides the metrics and figures of the current run it reads, without making them DVC dependencies:

* the baseline's metrics, ``git show REV:reports/metrics/NAME.json`` (``report.baseline``, default
  ``previous``: the last committed version of the metrics whose results differ from this run's, or a
  revision or tag), for the "changes since" section: metrics, never data;
* the checkout's commit and whether ``src/`` or ``instruments/`` differ from it;
* the DVC hash of the input data folder recorded in ``dvc.lock`` by the validate stage.

None of these is a DVC dependency, so a new commit does not make ``dvc repro`` rerun the report
(a second ``dvc repro`` is a no-op), and the page holds no timestamp (two runs at the same commit
write the same bytes). A report rebuilt after a commit compares with that commit.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import yaml

from validation.report.build import build_report, summary
from validation.pipeline.common import StageError
from validation.pipeline.config import Config
from validation.pipeline.outputs import atomic_outputs
from validation.pipeline.provenance import code_identity, git

METRICS = ("data_quality", "reliability", "structure", "agreement", "predictive", "training", "fairness", "pooled",
           "plan")
METRICS_DIR = "reports/metrics"
OUT = "reports/validation_report.html"
SUMMARY = "reports/metrics/summary.json"


PREVIOUS = "previous"


def _committed_metrics(root: Path, commit: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in METRICS:
        text = git(root, "show", f"{commit}:./{METRICS_DIR}/{name}.json")
        try:
            out[name] = json.loads(text) if text else None
        except json.JSONDecodeError:
            out[name] = None
    return out


def _results(metrics: Any) -> Any:
    """The metrics without their provenance: what a change in results is judged on."""
    return {name: {k: v for k, v in (m or {}).items() if k != "provenance"} for name, m in (metrics or {}).items()}


def previous_commit(root: Path, current: dict, max_commits: int = 50) -> str | None:
    """The newest commit whose committed metrics differ in results from ``current`` (the previous
    version of the metrics), looking back ``max_commits`` commits that touched them."""
    log = git(root, "log", f"-{max_commits}", "--format=%H", "--", METRICS_DIR) or ""
    for commit in log.split():
        if _results(_committed_metrics(root, commit)) != _results(current):
            return commit
    return None


def read_baseline(root: Path, revision: Any, current: dict | None = None) -> dict | None:
    """The baseline's metrics by stage (None where absent), with the revision, its commit and a note
    saying why there is no baseline when there is none. ``revision`` empty or ``none``: no baseline;
    ``previous``: the last committed version of the metrics that differs from ``current``."""
    if revision is None or str(revision).strip().lower() in ("", "none", "false"):
        return None
    rev = str(revision).strip()
    out: dict[str, Any] = {"revision": rev, "commit": None, "metrics": {}, "note": None}
    if git(root, "rev-parse", "--is-inside-work-tree") != "true":
        out["note"] = "the project folder is not a git checkout"
        return out
    if rev == PREVIOUS:
        commit = previous_commit(root, current or {})
        if not commit:
            out["note"] = ("no committed version of the metrics differs from this run's: the results have not "
                           "changed since they were first committed")
            return out
        out["metrics"] = _committed_metrics(root, commit)
        out["commit"] = commit
        out["revision"] = f"previous version of the metrics, commit {commit[:12]}"
        return out
    commit = git(root, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}")
    if not commit:
        out["note"] = f"git revision '{rev}' does not exist (no commit yet, or a typing error in report.baseline)"
        return out
    out["commit"] = commit
    out["metrics"] = _committed_metrics(root, commit)
    if not any(out["metrics"].values()):
        out["note"] = f"the metrics files are not in revision '{rev}' ({commit[:12]}): they were never committed there"
    elif current is not None and _results(out["metrics"]) == _results(current):
        out["note"] = (f"revision '{rev}' ({commit[:12]}) holds this run's own results, so there is nothing to "
                       f"compare; set report.baseline to '{PREVIOUS}' or to an earlier revision or tag")
    return out


def dvc_data_hash(root: Path, input_dir: str | None) -> str | None:
    """The DVC hash dvc.lock records for the validate stage's input folder, if any."""
    lock = root / "dvc.lock"
    if not input_dir or not lock.exists():
        return None
    try:
        doc = yaml.safe_load(lock.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError:
        return None
    want = str(input_dir).rstrip("/")
    for dep in ((doc.get("stages") or {}).get("validate") or {}).get("deps") or []:
        if isinstance(dep, dict) and str(dep.get("path", "")).rstrip("/") == want:
            return dep.get("md5") or dep.get("hash")
    return None


def checkout_version(root: Path, config: Config) -> dict:
    """What identifies this report's code and inputs (content, never a git commit: a rerun at
    another commit with the same code and inputs writes the same bytes)."""
    code = code_identity("report")
    return {
        "validation": code["version"],
        "code_sha256": code["sha256"],
        "data_dvc_md5": dvc_data_hash(root, config.validate.input_dir),
        "baseline": str(config.report.baseline),
    }


def run(root: Path, config: Config, out: str = OUT) -> None:
    t0 = time.perf_counter()
    p = config.report
    metrics = {}
    for name in METRICS:
        path = root / METRICS_DIR / f"{name}.json"
        if not path.exists():
            raise StageError(f"{path.relative_to(root)} is missing: run the {name} stage first (dvc repro)")
        metrics[name] = json.loads(path.read_text(encoding="utf-8"))
    fig_root = root / "reports/figures"
    figs = {f.relative_to(fig_root).as_posix(): f.read_text(encoding="utf-8") for f in sorted(fig_root.rglob("*.svg"))}
    baseline = read_baseline(root, p.baseline, metrics)
    version = checkout_version(root, config)
    html = build_report(metrics, figs, params=p.as_dict(), baseline=baseline, version=version)
    with atomic_outputs(root) as outputs:
        outputs.write_text(out, html)
        if out == OUT:
            outputs.write_json(SUMMARY, summary(metrics, params=p.as_dict()))
    if baseline is None:
        base = "no baseline"
    elif baseline.get("note"):
        base = f"no baseline ({baseline['note']})"
    else:
        base = f"baseline {baseline['revision']} = {str(baseline['commit'])[:12]}"
    print(f"[report] wrote {out} ({len(html) / 1024:.0f} KiB; {base}) in {time.perf_counter() - t0:.1f} s")
