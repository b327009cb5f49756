"""Changes since a baseline: flattening metrics into estimates with intervals, the non-overlap rule,
the section in the page; and the report stage: the baseline read with ``git show``, the DVC data
hash, and two runs writing the same bytes."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from validation.report.changes import compare, flatten, input_changes
from validation.report.build import build_report
from validation.pipeline.stages import report as stage


def ci(lo, hi):
    return {"lower": lo, "upper": hi, "level": 0.95, "method": "test"}


BASE = {
    "provenance": {"git_commit": "aaa", "code_modified": False, "data_md5": "1" * 32,
                   "params": {"agreement": {"n_boot": 1000}}, "packages": {"numpy": "2.3.4"}},
    "method": {"x": "text is not compared"},
    "domain_icc": {"BA": {"forms": {"ICC2": {"icc": 0.80, "ci": ci(0.75, 0.85), "f": 9.0, "level": 0.95}},
                          "n_targets": 40,
                          "bland_altman": {"bias": 0.5, "bias_ci": ci(0.1, 0.9), "lower": -2.0,
                                           "lower_ci": ci(-2.5, -1.5), "upper": 3.0, "upper_ci": ci(2.5, 3.5)}},
                   "SCI": {"forms": {"ICC2": {"icc": 0.70, "ci": ci(0.60, 0.80)}}, "n_targets": 3}},
    "cfa": {"fit": {"cfi": 0.95, "rmsea": 0.05, "rmsea.ci.lower": 0.04, "rmsea.ci.upper": 0.06}},
    "cutoffs": {"labels": ["a", "b"], "sensitivity": {"estimate": [0.8, 0.5], "lower": [0.7, 0.4],
                                                      "upper": [0.9, 0.6]}},
    "polychoric": {"BA1": {"BA2": 0.4}},
    "items": {"BA1": {"r_drop": 0.5}},
    "gone": 1.0,
}


def moved_baseline():
    cur = copy.deepcopy(BASE)
    cur["domain_icc"]["BA"]["forms"]["ICC2"].update(icc=0.60, ci=ci(0.55, 0.70))   # beyond: 0.70 < 0.75
    cur["domain_icc"]["SCI"]["forms"]["ICC2"].update(icc=0.72, ci=ci(0.62, 0.82))  # within: overlap
    cur["domain_icc"]["SCI"]["n_targets"] = 4                                        # a small count
    cur["cfa"]["fit"]["cfi"] = 0.96                                                  # no interval
    cur["polychoric"]["BA1"]["BA2"] = 0.5                                            # not compared
    cur["domain_icc"]["BA"]["forms"]["ICC2"]["f"] = 3.0                             # technical: not compared
    del cur["gone"]
    cur["new"] = 2.0
    cur["provenance"]["params"]["agreement"]["n_boot"] = 500
    cur["provenance"]["packages"]["numpy"] = "2.3.5"
    return cur


def test_flatten_pairs_estimates_with_their_intervals():
    flat = flatten(BASE)
    e = flat["domain_icc / BA / forms / ICC2 / icc"]
    assert (e.value, e.lower, e.upper) == (0.80, 0.75, 0.85)
    assert flat["domain_icc / BA / bland_altman / bias"].lower == 0.1
    assert flat["domain_icc / BA / bland_altman / lower"].upper == -1.5
    assert flat["cfa / fit / rmsea"].upper == 0.06 and flat["cfa / fit / cfi"].lower is None
    assert flat["cutoffs / sensitivity / estimate[1]"].lower == 0.4
    assert flat["domain_icc / BA / n_targets"].is_count and not flat["cfa / fit / cfi"].is_count
    for skipped in ("polychoric", "items", "provenance", "ci / lower"):
        assert not any(skipped in k for k in flat), skipped
    assert not any(k.endswith(("/ f", "/ level")) for k in flat)


def test_compare_applies_the_non_overlap_rule():
    ch = {c.path: c for c in compare({"agreement": moved_baseline()}, {"agreement": BASE})}
    assert ch["domain_icc / BA / forms / ICC2 / icc"].status == "beyond"
    assert ch["domain_icc / BA / forms / ICC2 / icc"].delta == pytest.approx(-0.20)
    assert ch["domain_icc / SCI / forms / ICC2 / icc"].status == "within"
    assert ch["cfa / fit / cfi"].status == "no interval"
    assert ch["gone"].status == "removed" and ch["new"].status == "added"
    assert not any("polychoric" in p or p.endswith("/ f") for p in ch)
    # touching intervals overlap: not beyond
    cur = copy.deepcopy(BASE)
    cur["domain_icc"]["BA"]["forms"]["ICC2"].update(icc=0.70, ci=ci(0.65, 0.75))
    assert compare({"a": cur}, {"a": BASE})[0].status == "within"
    # rounding noise is not a move
    cur["domain_icc"]["BA"]["forms"]["ICC2"].update(icc=0.80 + 1e-13, ci=ci(0.75, 0.85))
    assert compare({"a": cur}, {"a": BASE}) == []
    assert compare({"a": BASE}, {"a": None}) == []


def test_input_changes_list_parameters_packages_and_commit():
    rows = input_changes({"agreement": moved_baseline()}, {"agreement": BASE})
    assert ("agreement", "params.agreement.n_boot", 1000, 500) in rows
    assert ("agreement", "packages.numpy", "2.3.4", "2.3.5") in rows


def test_changes_section_in_the_page():
    baseline = {"revision": "HEAD", "commit": "0123456789abcdef0123", "metrics": {"agreement": BASE}}
    html = build_report({"agreement": moved_baseline()}, {}, baseline=baseline, k_suppress=5)
    sec = html[html.index('id="changes"'):html.index('id="version"')]
    assert "Baseline <code>HEAD</code>." in sec
    assert "beyond sampling error" in sec and "do not overlap" in sec
    rows = {r.split("</td>")[1]: r for r in sec.split("<tr>") if "</td>" in r}
    beyond = rows["<td class=l>domain_icc / BA / forms / ICC2 / icc"]
    assert "0.800 [0.750, 0.850]" in beyond and "0.600 [0.550, 0.700]" in beyond and "-0.200" in beyond
    assert "v-fails" in beyond
    within = rows["<td class=l>domain_icc / SCI / forms / ICC2 / icc"]
    assert "within sampling error" in within and "+0.020" in within
    count = rows["<td class=l>domain_icc / SCI / n_targets"]
    assert "&lt;5" in count and ">3<" not in count and ">4<" not in count and "+1" not in count
    assert "params.agreement.n_boot" in sec
    assert sec.index("domain_icc / BA / forms / ICC2 / icc") < sec.index("domain_icc / SCI / forms / ICC2 / icc")
    summary = html[html.index('id="summary"'):html.index('id="data"')]
    assert "1 beyond sampling error" in summary and 'href="#changes"' in summary


def test_no_baseline_says_why():
    html = build_report({"agreement": BASE}, {}, baseline=None)
    assert "No baseline was given" in html
    html = build_report({"agreement": BASE}, {}, baseline={"revision": "HEAD", "commit": None, "metrics": {},
                                                          "note": "the project folder is not a git checkout"})
    sec = html[html.index('id="changes"'):html.index('id="version"')]
    assert "No baseline: the project folder is not a git checkout" in sec
    html = build_report({"agreement": BASE}, {}, baseline={"revision": "HEAD", "commit": "abc", "metrics": {
        "agreement": copy.deepcopy(BASE)}})
    assert "Nothing moved" in html


# ---------------------------------------------------------------------------------------------
# the stage


def _git(cwd: Path, *args: str) -> str:
    env = dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.org", GIT_COMMITTER_NAME="t",
               GIT_COMMITTER_EMAIL="t@example.org", GIT_CONFIG_NOSYSTEM="1", HOME=str(cwd))
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True).stdout


def _project(root: Path, metrics: dict):
    from validation.pipeline.config import ValidateConfig, load_config
    from validation.report.rules import ReportConfig
    config = load_config(Path(__file__).resolve().parents[1])
    config = config.with_section("validate", ValidateConfig(input_dir="data/raw"))
    params = config.with_section("report", ReportConfig.from_params({"k_suppress": 5, "baseline": "HEAD"}))
    (root / "dvc.yaml").write_text("stages: {}\n")
    (root / "reports/metrics").mkdir(parents=True)
    (root / "reports/figures/structure").mkdir(parents=True)
    (root / "reports/figures/structure/scree_sq.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg"><g/></svg>')
    for name in stage.METRICS:
        (root / "reports/metrics" / f"{name}.json").write_text(json.dumps(metrics.get(name, {})))
    return params


def test_read_baseline_outside_git_and_without_commits(tmp_path):
    assert stage.read_baseline(tmp_path, "none") is None
    assert stage.read_baseline(tmp_path, "") is None
    b = stage.read_baseline(tmp_path, "HEAD")
    if b["note"] != "the project folder is not a git checkout":        # tmp inside some checkout: still no HEAD metrics
        assert not any(b["metrics"].values())
    _git(tmp_path, "init", "-q")
    b = stage.read_baseline(tmp_path, "HEAD")
    assert b["commit"] is None and "does not exist" in b["note"]


def test_stage_reads_the_baseline_from_git_and_writes_the_same_bytes_twice(tmp_path):
    old = {"agreement": BASE}
    params = _project(tmp_path, old)
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "add", "-A")
    _git(tmp_path, "commit", "-qm", "baseline")
    for name in stage.METRICS:                                      # the current run: agreement moved
        (tmp_path / "reports/metrics" / f"{name}.json").write_text(
            json.dumps({"agreement": moved_baseline()}.get(name, {})))
    (tmp_path / "dvc.lock").write_text(yaml.safe_dump({"schema": "2.0", "stages": {"validate": {"deps": [
        {"path": "data/raw", "hash": "md5", "md5": "5bc3da245c6bb173a9675f215e3fd4a9.dir"}]}}}))
    b = stage.read_baseline(tmp_path, "HEAD")
    assert b["commit"] and b["note"] is None and b["metrics"]["agreement"] == BASE
    assert b["metrics"]["predictive"] == {}
    t0 = time.perf_counter()
    stage.run(tmp_path, params)
    elapsed = time.perf_counter() - t0
    out = tmp_path / stage.OUT
    first = out.read_bytes()
    stage.run(tmp_path, params)
    assert out.read_bytes() == first
    html = first.decode()
    assert "1 beyond sampling error" in html and "Baseline <code>HEAD</code>" in html
    assert b["commit"][:12] not in html                       # the page names no commit: reruns do not drift
    assert "5bc3da245c6bb173a9675f215e3fd4a9.dir" in html
    print(f"\nreport stage on hand-made metrics: {elapsed:.2f} s")


def test_stage_reports_missing_metrics_and_bad_parameters(tmp_path):
    params = _project(tmp_path, {})
    (tmp_path / "reports/metrics/agreement.json").unlink()
    with pytest.raises(stage.StageError, match="agreement.json is missing: run the agreement stage"):
        stage.run(tmp_path, params)
    (tmp_path / "reports/metrics/agreement.json").write_text("{}")
    from validation.pipeline.config import ConfigError, validate_params
    raw = yaml.safe_load((Path(__file__).resolve().parents[1] / "params.yaml").read_text())
    raw["report"]["k_suppress"] = -1
    with pytest.raises(ConfigError, match="report.k_suppress: found -1, expected a value >= 1"):
        validate_params(raw)


def test_previous_version_of_the_metrics_and_a_baseline_with_this_runs_results(tmp_path):
    """Default baseline: the last committed metrics whose results differ from this run's; a baseline
    holding this run's own results says so instead of '0 moved'."""
    _project(tmp_path, {"agreement": BASE})
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "add", "-A")
    _git(tmp_path, "commit", "-qm", "first results")
    first = _git(tmp_path, "rev-parse", "HEAD").strip()
    moved = {name: {} for name in stage.METRICS} | {"agreement": moved_baseline()}
    for name, m in moved.items():
        (tmp_path / "reports/metrics" / f"{name}.json").write_text(json.dumps(m))
    _git(tmp_path, "commit", "-qam", "new results")           # the current results are committed too
    current = {name: json.loads((tmp_path / "reports/metrics" / f"{name}.json").read_text()) for name in stage.METRICS}
    b = stage.read_baseline(tmp_path, "previous", current)
    assert b["commit"] == first and b["note"] is None and b["metrics"]["agreement"] == BASE
    own = stage.read_baseline(tmp_path, "HEAD", current)
    assert "holds this run's own results" in own["note"]
    from validation.report.changes import changes_section
    from validation.report.render import render_section
    section, digest = changes_section(current, own, 5, 1e-9)
    html = render_section(section)
    assert "this run&#39;s own results" in html and "moved" not in html
    # only one version ever committed: nothing earlier to compare with
    only = tmp_path / "only"
    only.mkdir()
    _project(only, {"agreement": BASE})
    _git(only, "init", "-q")
    _git(only, "add", "-A")
    _git(only, "commit", "-qm", "first")
    cur = {name: json.loads((only / "reports/metrics" / f"{name}.json").read_text()) for name in stage.METRICS}
    assert "have not changed since they were first committed" in stage.read_baseline(only, "previous", cur)["note"]
