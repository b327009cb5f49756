"""The report on the metrics and figures the pipeline produced in this checkout (skipped when
``dvc repro`` has not run): every key figure present, every figure inline, every link resolving,
nothing from the network, no case or rater key, and "changes since" on a perturbed baseline."""

from __future__ import annotations

import copy
import json
import re
import time
from pathlib import Path

import pytest
import yaml

from validation.report.limits import is_synthetic
from validation.report.build import build_report

ROOT = Path(__file__).resolve().parents[1]
from validation.pipeline.stages.report import METRICS as NAMES   # every metrics file the report stage reads
PATHS = [ROOT / "reports/metrics" / f"{n}.json" for n in NAMES]

pytestmark = pytest.mark.skipif(not all(p.exists() for p in PATHS),
                                reason="no pipeline metrics in reports/metrics: run `dvc repro` first")


@pytest.fixture(scope="module")
def real():
    metrics = {n: json.loads(p.read_text(encoding="utf-8")) for n, p in zip(NAMES, PATHS)}
    fig_root = ROOT / "reports/figures"
    figs = {f.relative_to(fig_root).as_posix(): f.read_text(encoding="utf-8") for f in sorted(fig_root.rglob("*.svg"))}
    params = (yaml.safe_load((ROOT / "params.yaml").read_text()) or {}).get("report") or {}
    t0 = time.perf_counter()
    html = build_report(metrics, figs, params=params)
    print(f"\nbuild_report on the pipeline's metrics: {time.perf_counter() - t0:.2f} s, {len(html) // 1024} KiB")
    return metrics, figs, params, html


def test_real_report_is_self_contained_and_linked(real):
    metrics, figs, _, html = real
    assert "<script" not in html.lower()
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:|//|file:|ftp:)""", html, re.I)
    ids = re.findall(r'\bid="([^"]+)"', html)
    assert len(ids) == len(set(ids)), "duplicate ids"
    for target in set(re.findall(r'href="#([^"]+)"', html)):
        assert target in ids, f"link to missing anchor #{target}"
    used = [name for name in figs if name.startswith(("reliability/item_total_", "structure/", "agreement/",
                                                     "predictive/", "training/", "fairness/"))]
    assert html.count('<figure class="figure"') == len(used)
    rasters = sum(figs[name].count("data:image/png;base64,") for name in used)
    assert html.count("data:image/png;base64,") == rasters          # embedded rasters kept (heat maps)


def test_real_summary_has_every_key_figure(real):
    metrics, _, _, html = real
    summary = html[html.index('id="summary"'):html.index('id="data"')]
    for code in metrics["reliability"]["vera"]["domains"]:
        assert f"{code} omega<" in summary and f"{code} alpha<" not in summary, code
    for outcome, b in metrics["predictive"]["outcomes"].items():
        if "risk_total" in b.get("predictors", {}):
            assert f"{outcome}: AUC of the risk total" in summary
    for code in metrics["agreement"].get("domain_icc", {}):
        assert f"ICC {code if code != 'risk_total' else 'risk total'}" in summary
    assert "SQ CFA" in summary or "SQ CFA of the hypothesised model" in summary
    if is_synthetic(metrics):
        assert 'class="alarm"' in html and "SYNTHETIC DATA" in html
    checklist = html[html.index('id="checklist-grras"'):html.index('id="checklist-tripod"')]
    assert checklist.count("<tr>") == 16                     # header + 15 items


def test_real_report_holds_no_case_or_rater_key(real):
    pd = pytest.importorskip("pandas")
    clean = ROOT / "data/clean"
    if not (clean / "cases.parquet").exists():
        pytest.skip("no clean tables")
    keys = set(pd.read_parquet(clean / "cases.parquet", columns=["case_id"])["case_id"].astype(str))
    keys |= set(pd.read_parquet(clean / "vera_ratings.parquet", columns=["rater_id"])["rater_id"].astype(str))
    pat = re.compile(r"(?<![A-Za-z0-9])(?:" + "|".join(re.escape(k) for k in sorted(keys, key=len, reverse=True))
                     + r")(?![A-Za-z0-9])")
    found = set(pat.findall(real[3]))
    assert not found, sorted(found)[:10]


def test_real_changes_since_a_perturbed_baseline(real):
    metrics, figs, params, _ = real
    base = copy.deepcopy(metrics)
    preds = next(iter(base["predictive"]["outcomes"].values()))["predictors"]
    auc = preds["risk_total"]["auc"]
    if "not_estimable" in auc:
        pytest.skip("risk total AUC not estimable in this run")
    width = auc["ci"]["upper"] - auc["ci"]["lower"]
    auc["auc"] -= 2 * width                                  # the baseline interval lies wholly below: beyond
    auc["ci"]["lower"] -= 2 * width
    auc["ci"]["upper"] -= 2 * width
    alpha = next(iter(base["reliability"]["vera"]["domains"].values()))["overall"]["alpha"]
    alpha["alpha"] += 0.001                                  # a small move: within
    html = build_report(metrics, figs, params=params,
                        baseline={"revision": "HEAD~1", "commit": "f" * 40, "metrics": base})
    sec = html[html.index('id="changes"'):html.index('id="version"')]
    assert re.search(r"<b>1 beyond sampling error</b>", sec) and "2 moved" in sec
    beyond = sec[sec.index("/ risk_total / auc / auc"):]
    assert "beyond sampling error" in beyond[:beyond.index("</tr>")]
    assert "within sampling error" in sec[sec.index("/ overall / alpha / alpha"):]


SUMMARY_FIELDS = ["id", "area", "label", "estimate", "ci_lower", "ci_upper", "ci_level", "n", "null_value", "cutoff",
                  "cutoff_source", "verdict"]


def _numbers(x) -> int:
    if isinstance(x, dict):
        return sum(_numbers(v) for v in x.values())
    if isinstance(x, list):
        return sum(_numbers(v) for v in x)
    return int(isinstance(x, (int, float)) and not isinstance(x, bool))


def test_summary_json_holds_the_key_figures_only(real):
    """``reports/metrics/summary.json`` (the DVC metric): one record per key figure of the executive
    summary with exactly the agreed fields, the report's verdicts, and few numbers (~185 + the
    estimates view that `dvc metrics show` prints)."""
    from validation.report.build import all_key_figures, summary
    from validation.report.rules import merge_params

    metrics, _, params, html = real
    path = ROOT / "reports/metrics/summary.json"
    committed = json.loads(path.read_text(encoding="utf-8"))
    assert committed == json.loads(json.dumps(summary(metrics, params=params))), "summary.json is stale"
    records = committed["key_figures"]
    figs = all_key_figures(metrics, merge_params(params))
    assert [r["label"] for r in records] == [f.label for f in figs]
    assert all(list(r) == SUMMARY_FIELDS for r in records)
    assert len({r["id"] for r in records}) == len(records)
    assert committed["estimates"] == {r["id"]: r["estimate"] for r in records}
    assert _numbers(committed["key_figures"]) <= 215 and _numbers(committed) <= 260   # 35 key figures
    summary_html = html[html.index('id="summary"'):html.index('id="data"')]
    for r in records:
        assert r["label"] in summary_html.replace("&amp;", "&")
    spec = yaml.safe_load((ROOT / "dvc.yaml").read_text(encoding="utf-8"))
    declared = [m for st in spec["stages"].values() for m in st.get("metrics", [])]
    assert [next(iter(m)) if isinstance(m, dict) else m for m in declared] == ["reports/metrics/summary.json"]
