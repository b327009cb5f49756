"""The fairness stage: its metrics, figures, report section and summary block on the pipeline's run (few
cases: most groups untestable, and the report says so); nothing published gives a small count; and at 6,000
cases the planted differences (women's risk over-predicted, a weaker slope in one site) are found and nothing
else is."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from validation.stats.fairness import TIER_NAMES


def _read(project: Path, rel: str) -> str:
    return (project / rel).read_text(encoding="utf-8")


def _one(project: Path) -> tuple[dict, dict]:
    """fairness.json and its first outcome's analyses."""
    m = json.loads(_read(project, "reports/metrics/fairness.json"))
    return m, m["outcomes"][m["method"]["outcomes"][0]]


def test_fairness_stage_outputs_and_tiers(project: Path):
    m, o = _one(project)
    k = m["method"]["k_suppress"]
    assert list(m["outcomes"]) == m["method"]["outcomes"]
    assert set(o["variables"]) == {"site", "language", "sex", "age_band"}
    for var, b in o["variables"].items():
        for gr, r in b.get("groups", {}).items():
            assert r["tier"] in TIER_NAMES
            for key in ("n", "events"):                                   # small counts hidden
                v = r[key]
                assert isinstance(v, str) or v == 0 or v >= k, (var, gr, key, v)
        cal = (b.get("calibration") or {}).get("by_group") or {}
        for gr, r in cal.items():
            if r["tier"] == "counts only":
                assert r["note"].startswith("not estimable (events = ") and "citl" not in r or r.get("citl") is None
    figs = {f.name for f in (project / "reports/figures/fairness").iterdir()}
    first = m["method"]["outcomes"][0]
    assert {f"discrimination_{first}.svg", f"risk_curves_{first}.svg", f"calibration_{first}.svg"} <= figs


def test_report_and_summary_show_the_fairness_section(project: Path):
    html = _read(project, "reports/validation_report.html")
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))
    assert 'id="fairness"' in html and "Predictive fairness" in text and "Bottom line." in text
    assert "Which criterion comes first" in text and "Chouldechova" in text
    section = html.split('id="fairness"', 1)[1].split("</section>", 1)[0]
    assert not re.search(r"(?i)\b(fair|unbiased)\b", re.sub(r"<[^>]+>", " ", section))   # no test makes it so
    summary = json.loads(_read(project, "reports/metrics/summary.json"))
    m, o = _one(project)
    block = summary["fairness"]["outcomes"][m["method"]["outcomes"][0]]
    assert set(block["variables"]) == {"site", "language", "sex", "age_band"}
    untestable = [v for v, b in o["variables"].items()
                  if any(r["tier"] not in ("low power", "full") for r in b.get("groups", {}).values())]
    assert len(block["not_testable"]) == len(untestable)
    assert "Not testable:" in text
    assert "3c" in text          # TRIPOD+AI's fairness item in the checklist


@pytest.fixture(scope="module")
def large_battery(tmp_path_factory):
    """The synthetic battery at 6,000 cases through the data contract, and its truth."""
    from validation.battery.contract import load_tables
    from validation.battery.instruments import load_instrument
    from validation.battery.synthetic import SyntheticConfig, generate

    root = Path(__file__).resolve().parents[1]
    vera, sq = load_instrument(root / "instruments/vera2r.yaml"), load_instrument(root / "instruments/sq.yaml")
    battery = generate(SyntheticConfig(seed=20261127, n_cases=6000, n_trainees=0, missed_occasion=0,
                                       truth_draws=20_000), vera, sq)
    tmp = tmp_path_factory.mktemp("large")
    for name, frame in battery.tables().items():
        frame.to_csv(tmp / f"{name}.csv", index=False)
    t = load_tables(tmp, vera, sq)
    tables = {"cases": t.cases, "vera_ratings": t.vera_ratings, "sq_responses": t.sq_responses,
              "outcomes": t.outcomes}
    return tables, vera, sq, battery.truth["fairness"]


def test_the_planted_differences_are_found_at_6000_cases_and_nothing_else(large_battery):
    import numpy as np

    from validation.pipeline.config import Config, FairnessConfig
    from validation.pipeline.config import load_config
    from validation.pipeline.stages.fairness import _pooled_risk, adjust, analysis_frame, variable_block
    from validation.report.fairness import findings

    tables, vera, sq, truth = large_battery
    config = load_config(Path(__file__).resolve().parents[1])
    p: FairnessConfig = config.fairness.model_copy(update={"n_boot": 200})
    config = Config(**{**config.__dict__, "fairness": p})
    d, info = analysis_frame(tables, vera, sq, config)
    h = d[d["in_horizon"]]
    d["risk"] = np.nan
    d.loc[h.index, "risk"] = _pooled_risk(h, p.score)[0]
    variables = {var: json.loads(json.dumps(variable_block(d, var, p, info["flags"], 5, 1), default=float))
                 for var in p.groups}
    adjust(variables, p.multiplicity, 1 - p.ci)
    m = {"method": {"tiers": list(p.tiers)}, "variables": variables}
    shown, _ = findings(m)
    found = {(s.split(":")[0]) for s in shown}
    expected = {f"{e['variable']} {e['group']}" for e in truth["expected"]}
    assert found == expected, (shown, truth["expected"])
    assert any(s.startswith("sex F: the pooled risk over-predicts") for s in shown)
    assert any(s.startswith(f"site {truth['slope_site']}: the score's slope is weaker") for s in shown)
    # the stricter family (every grouping variable of the outcome at once) keeps the planted findings
    adjust(variables, "outcome", 1 - p.ci)
    strict = {s.split(":")[0] for s in findings({"method": {"tiers": list(p.tiers)}, "variables": variables})[0]}
    assert {"sex F", f"site {truth['slope_site']}"} <= strict <= expected


def test_no_published_rate_gives_a_hidden_count_back(project: Path):
    """An intruder multiplies every published base rate by its group's published size: the events they get
    back are never fewer than k (nor the non-events), and a group whose events are hidden publishes no rate,
    no O/E and no decomposition."""
    m, o = _one(project)
    k = m["method"]["k_suppress"]
    for var, b in o["variables"].items():
        groups = b.get("groups") or {}
        for flag, e in (b.get("error_rates") or {}).items():
            for key, r in (e.get("rates") or {}).items():
                group, measure = key.split(" | ")
                n = groups[group]["n"]
                if measure != "base rate" or r.get("estimate") is None:
                    continue
                assert not groups[group]["counts_hidden"], (var, group)
                assert isinstance(n, int)
                events = round(r["estimate"] * n)
                assert events >= k and n - events >= k, (var, group, events)
            for group in groups:        # the four rates come all or none: any three and the size give the fourth
                shown = [m for m in ("FPR", "FNR", "PPV", "NPV")
                         if (e["rates"].get(f"{group} | {m}") or {}).get("estimate") is not None]
                assert len(shown) in (0, 4) or all(
                    (e["rates"].get(f"{group} | {m}") or {}).get("note", "").startswith("not estimable")
                    for m in ("FPR", "FNR", "PPV", "NPV") if m not in shown), (var, flag, group, shown)
            for group, dec in (e.get("decomposition") or {}).items():
                if groups[group]["counts_hidden"] or groups[b["reference"]]["counts_hidden"]:
                    assert set(dec) == {"note"}
        for group, r in ((b.get("calibration") or {}).get("by_group") or {}).items():
            assert "expected" not in r
            if groups[group]["counts_hidden"]:
                assert "oe" not in r
        # a group's bands come all or none, each with k or more cases, events and non-events
        bands = (b.get("calibration") or {}).get("bands") or []
        for group in {r["group"] for r in bands}:
            mine = [r for r in bands if r["group"] == group]
            assert all(r["n"] >= k and r["events"] >= k and r["n"] - r["events"] >= k for r in mine)
            assert sum(r["n"] for r in mine) == groups[group]["n"], (var, group)
