"""Disclosure control: the suppression rule (``validation.battery.disclosure``) and an intruder who
takes everything published for a table -- cells, margins, totals and rates -- and solves for each
hidden cell. A cell pinned to one value fails the test."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from validation.battery.disclosure import (COMPLEMENTARY, Undisclosable, attack, is_suppressed, protect,
                                           protect_line, protect_table)
from validation.pipeline.publish import CUTOFF_RATES, protect_cutoffs

ROOT = Path(__file__).resolve().parents[1]
METRICS = ROOT / "reports" / "metrics"
K = 5


# ---------------------------------------------------------------------------------------------
# the rule


def test_primary_and_complementary_on_a_line():
    assert protect_line({"S1": 37, "S2": 3, "S3": 9}, K) == {"S1": 37, "S2": "<5", "S3": COMPLEMENTARY}
    assert protect_line({"S1": 37, "S2": 3, "S3": 2}, K) == {"S1": 37, "S2": "<5", "S3": "<5"}
    assert protect_line({"S1": 37, "S2": 0}, K) == {"S1": 37, "S2": 0}
    assert protect_line({"S1": 37, "S2": 3}, K, total=False) == {"S1": 37, "S2": "<5"}


def test_the_intruder_knows_what_a_marker_means():
    # two hidden cells of 1 to 4 with the total 8 printed: the only solution is 4 and 4
    cells = {"a": 4, "b": 4, "c": 30}
    facts = [({"a": 1.0, "b": 1.0, "c": 1.0}, 38.0)]
    assert attack(cells, {"a": "<5", "b": "<5"}, facts) == {"a": (4, 4), "b": (4, 4)}
    assert attack(cells, {"a": "", "b": ""}, facts) == {"a": (0, 8), "b": (0, 8)}
    with pytest.raises(Undisclosable):
        protect_line({"a": 4, "b": 4}, K)          # nothing left to hide beside them


def test_a_two_way_table_with_its_margins():
    table = {"S1": {"F": 2, "M": 40}, "S2": {"F": 12, "M": 30}}
    out = protect_table(table, K)
    hidden = {(r, c): v for r, row in out.items() for c, v in row.items() if is_suppressed(v)}
    assert hidden[("S1", "F")] == "<5" and len(hidden) == 4     # its row and column need partners
    cells = {(r, c): n for r, row in table.items() for c, n in row.items()}
    facts = [({(r, c): 1.0 for c in row}, float(sum(row.values()))) for r, row in table.items()]
    facts += [({(r, c): 1.0 for r in table}, float(sum(table[r][c] for r in table))) for c in ("F", "M")]
    assert all(lo < hi for lo, hi in attack(cells, hidden, facts).values())


def test_a_hidden_zero_is_printed_as_hidden():
    out = protect_table({"S1": {"F": 3}, "S2": {"F": 6, "M": 40}}, K)
    assert out["S1"] == {"F": "<5", "M": COMPLEMENTARY}


def test_the_issue_example_fn_beside_events_and_sensitivity():
    """"FN <5" beside 28 events and sensitivity 0.857 gave TP = 24 and FN = 4 back."""
    block = {"labels": [">=1.5"], "tp": [24], "fp": [405], "fn": [4], "tn": [137], "n_events": 28,
             "n_nonevents": 542,
             **{rate: {"estimate": [0.5], "lower": [0.4], "upper": [0.6]} for rate in CUTOFF_RATES}}
    out = protect_cutoffs(block, K)
    assert out["fn"] == ["<5"] and out["tp"] == [COMPLEMENTARY]
    for rate, needs in CUTOFF_RATES.items():
        assert (out[rate]["estimate"][0] is None) == any(n in ("tp", "fn") for n in needs), rate
    assert out["specificity"]["estimate"] == [0.5]


# ---------------------------------------------------------------------------------------------
# the intruder on every committed output


def _load(name: str) -> dict:
    path = METRICS / f"{name}.json"
    if not path.exists():
        pytest.skip("the pipeline has not run in this checkout")
    return json.loads(path.read_text(encoding="utf-8"))


def _assert_safe(cells: dict, facts: list, where: str) -> None:
    hidden = {c: v for c, v in cells.items() if is_suppressed(v)}
    known = {c: (v if not is_suppressed(v) else 0) for c, v in cells.items()}
    for cell, (lo, hi) in attack(known, hidden, facts).items():
        assert lo < hi, f"{where}: hidden cell {cell} is {lo} for anyone who reads the published figures"


def _rate_fact(rate: dict | None, i: int, num: tuple, den: tuple, cells: dict) -> list:
    """A published rate num / (num + rest) as a linear fact: (1 - r) num - r rest = 0."""
    value = (rate or {}).get("estimate", [None] * (i + 1))[i]
    if value is None:
        return []
    assert not any(is_suppressed(cells[c]) for c in num + den), "a rate of a hidden cell is published"
    coefs = {c: 1.0 - value for c in num} | {c: -value for c in den}
    return [(coefs, 0.0)]


def test_no_cutoff_table_gives_a_hidden_count_back():
    m = _load("predictive")
    seen = 0
    for outcome, b in m["outcomes"].items():
        for name, e in (b.get("predictors") or {}).items():
            c = e.get("cutoffs") if isinstance(e, dict) else None
            if not isinstance(c, dict) or "tp" not in c:
                continue
            for i in range(len(c["tp"])):
                cells = {x: c[x][i] for x in ("tp", "fp", "fn", "tn")}
                facts = [({"tp": 1.0, "fn": 1.0}, float(c["n_events"])), ({"fp": 1.0, "tn": 1.0}, float(c["n_nonevents"]))]
                facts += _rate_fact(c.get("sensitivity"), i, ("tp",), ("fn",), cells)
                facts += _rate_fact(c.get("specificity"), i, ("tn",), ("fp",), cells)
                facts += _rate_fact(c.get("ppv"), i, ("tp",), ("fp",), cells)
                facts += _rate_fact(c.get("npv"), i, ("tn",), ("fn",), cells)
                if any(is_suppressed(v) for v in cells.values()):
                    for rate in ("lr_positive", "lr_negative", "dor", "nnd"):
                        assert c[rate]["estimate"][i] is None, (outcome, name, rate)
                    for br in c.get("base_rates") or []:
                        assert br["ppv"]["estimate"][i] is None and br["npv"]["estimate"][i] is None
                    seen += 1
                _assert_safe(cells, facts, f"{outcome}/{name} cut-off {c['labels'][i]}")
    assert seen >= 1, "the default battery has a small cut-off cell: the test must see one"


def test_no_band_table_gives_a_hidden_count_back():
    m = _load("predictive")
    for outcome, b in m["outcomes"].items():
        bb = b.get("bands") or {}
        if "events_by_band" not in bb:
            continue
        ev, n_k = bb["events_by_band"], bb["n_by_band"]
        cells = {("e", i): v for i, v in enumerate(ev)} | {("n", i): v for i, v in enumerate(n_k)}
        facts = [({("e", i): 1.0 for i in range(len(ev))}, float(bb["events"])),
                 ({("n", i): 1.0 for i in range(len(n_k))}, float(bb["n"]))]
        cal = bb.get("calibration") or {}
        for i, rate in enumerate(cal.get("rate") or []):
            if rate is not None:
                assert not is_suppressed(ev[i]) and not is_suppressed(n_k[i])
        for i, o in enumerate((bb.get("logrank") or {}).get("observed") or []):
            assert o == ev[i] or is_suppressed(o)
        _assert_safe(cells, facts, f"{outcome} bands")


def test_no_horizon_gives_a_hidden_count_back():
    m = _load("predictive")
    for outcome, b in m["outcomes"].items():
        for name, e in (b.get("predictors") or {}).items():
            for h in (e.get("time_dependent_auc") or []) if isinstance(e, dict) else []:
                cells = {x: h[x] for x in ("cases", "controls", "censored")}
                if any(is_suppressed(v) for v in cells.values()) and "auc" in h:
                    assert h["auc"] == round(h["auc"], 2)            # its full digits would give the count
                _assert_safe(cells, [(dict.fromkeys(cells, 1.0), float(e["n"]))], f"{outcome}/{name} {h['horizon_days']}")


def test_no_roc_point_stands_on_a_small_count():
    m = _load("predictive")
    for outcome, b in m["outcomes"].items():
        for name, e in (b.get("predictors") or {}).items():
            roc = e.get("roc") if isinstance(e, dict) else None
            if not isinstance(roc, dict) or "sensitivity" not in roc:
                continue
            for se, sp in zip(roc["sensitivity"], roc["specificity"]):
                tp, fp = round(se * e["events"]), round((1 - sp) * e["non_events"])
                for n in (tp, e["events"] - tp, fp, e["non_events"] - fp):
                    assert not 0 < n < K, (outcome, name, se, sp)


def test_no_data_quality_line_gives_a_hidden_count_back():
    dq = _load("data_quality")
    k = dq.get("k_anonymity", K)
    lines = {f"cases.{key}": (v, dq["cases"]["n"]) for key, v in dq["cases"].items() if key.startswith("by_")}
    lines["sq_responses.by_site"] = (dq["sq_responses"]["by_site"], dq["sq_responses"]["n"])
    lines["sq_responses.by_language"] = (dq["sq_responses"]["by_language"], dq["sq_responses"]["n"])
    lines["vera_ratings.cases_by_site"] = (dq["vera_ratings"]["cases_by_site"], dq["vera_ratings"]["n_cases"])
    for where, (line, total) in lines.items():
        if "withheld" in line:
            continue
        assert all(not isinstance(v, int) or not 0 < v < k for v in line.values()), where
        _assert_safe(dict(line), [(dict.fromkeys(line, 1.0), float(total))], where)
    for key, table in dq["cases"].items():
        if not key.startswith("site_x_") or "withheld" in table:
            continue
        attr = key[len("site_x_"):]
        cells = {(r, c): v for r, row in table.items() for c, v in row.items()}
        facts = []
        for r, row in table.items():
            site_n = dq["cases"]["by_site"].get(r)
            if isinstance(site_n, int):
                facts.append(({(r, c): 1.0 for c in row}, float(site_n)))
        for c, col_n in dq["cases"][f"by_{attr}"].items():
            if isinstance(col_n, int):
                facts.append(({(r, c): 1.0 for r, row in table.items() if c in row}, float(col_n)))
        _assert_safe(cells, facts, key)


def test_no_net_benefit_gives_a_small_count_back():
    """NB = TP/n - FP/n * pt/(1 - pt): the intruder solves it for whole TP and FP."""
    m = _load("predictive")
    seen = 0
    for outcome, b in m["outcomes"].items():
        cal = ((b.get("predictors") or {}).get("risk_total") or {}).get("calibration")
        if not isinstance(cal, dict) or "net_benefit" not in cal:
            continue
        n, events = cal["n"], cal["events"]
        assert "treated_events" not in cal and "treated_non_events" not in cal
        for pt, nb in zip(cal["thresholds"], cal["net_benefit"]):
            if nb is None:
                seen += 1
                continue
            w = pt / (1 - pt)
            solutions = [(round(n * nb + fp * w), fp) for fp in range(n - events + 1)
                         if abs(n * nb + fp * w - round(n * nb + fp * w)) < 1e-6 and 0 <= round(n * nb + fp * w) <= events]
            assert solutions, (outcome, pt)
            if len(solutions) == 1:                  # pinned: then no count of it may be small
                tp, fp = solutions[0]
                assert not any(0 < c < K for c in (tp, events - tp, fp, n - events - fp)), (outcome, pt)
    assert seen >= 1, "the default battery has thresholds to withhold: the test must see one"


def test_no_net_benefit_at_another_base_rate_gives_a_small_count_back():
    """NB = pi TP/E - (1 - pi) FP/N0 pt/(1 - pt) at a configured base rate pi: solved for whole TP and FP."""
    m = _load("predictive")
    seen = 0
    for outcome, b in m["outcomes"].items():
        cal = ((b.get("predictors") or {}).get("risk_total") or {}).get("calibration")
        if not isinstance(cal, dict) or "net_benefit" not in cal:
            continue
        n, events = cal["n"], cal["events"]
        non_events = n - events
        assert cal.get("at_base_rates"), outcome
        for curve in cal["at_base_rates"]:
            pi = curve["base_rate"]
            assert "treated_events" not in curve and "treated_non_events" not in curve
            for pt, nb in zip(cal["thresholds"], curve["net_benefit"]):
                seen += 1
                if nb is None:
                    continue
                w = pt / (1 - pt)
                solutions = []
                for fp in range(non_events + 1):
                    tp = (nb + (1 - pi) * fp / non_events * w) * events / pi
                    if abs(tp - round(tp)) < 1e-6 and 0 <= round(tp) <= events:
                        solutions.append((round(tp), fp))
                assert solutions, (outcome, pi, pt)
                if len(solutions) == 1:
                    tp, fp = solutions[0]
                    assert not any(0 < c < K for c in (tp, events - tp, fp, non_events - fp)), (outcome, pi, pt)
    assert seen, "the default battery has decision curves at other base rates: the test must see them"
