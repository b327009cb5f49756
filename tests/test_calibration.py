"""Calibration, Brier score, C and the decision curve (``validation.stats.calibration``) against base
R's glm on the same resamples (tests/reference/calibration, made by make_reference.R)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from validation.stats import NotEstimable, logistic_calibration, net_benefit, net_benefit_at_base_rate
from validation.stats.calibration import bootstrap_optimism

REF = Path(__file__).parent / "reference" / "calibration"
VALUES = json.loads((REF / "values.json").read_text(encoding="utf-8"))
DATA = pd.read_csv(REF / "data.csv")


def test_apparent_values_match_glm():
    res = logistic_calibration(DATA["event"], DATA["score"], thresholds=VALUES["thresholds"], n_boot=0)
    assert res.coef == pytest.approx(VALUES["coef"], rel=1e-7)
    assert res.brier["apparent"] == pytest.approx(VALUES["brier"], rel=1e-9)
    assert res.c["apparent"] == pytest.approx(VALUES["c"], rel=1e-12)
    assert res.net_benefit == pytest.approx(VALUES["net_benefit"], abs=1e-12)
    assert (res.slope["apparent"], res.intercept["apparent"]) == (1.0, 0.0)


def test_bootstrap_replicates_match_glm_on_the_same_resamples():
    idx = pd.read_csv(REF / "indices.csv", header=None).to_numpy() - 1
    e, x = DATA["event"].to_numpy(dtype=float), DATA["score"].to_numpy(dtype=float)
    brier, c, slopes, intercepts, failed = bootstrap_optimism(e, x, idx)
    ref = VALUES["replicates"]
    assert failed == 0 and len(slopes) == len(ref)
    assert brier == pytest.approx([r["brier_optimism"] for r in ref], abs=1e-9)
    assert c == pytest.approx([r["c_optimism"] for r in ref], abs=1e-12)
    assert slopes == pytest.approx([r["slope"] for r in ref], rel=1e-6)
    assert intercepts == pytest.approx([r["intercept"] for r in ref], rel=1e-6, abs=1e-8)


def test_corrected_values_are_apparent_minus_mean_optimism():
    res = logistic_calibration(DATA["event"], DATA["score"], n_boot=40, seed=3)
    idx = np.random.default_rng(3).integers(0, len(DATA), (40, len(DATA)))
    brier, c, slopes, intercepts, _ = bootstrap_optimism(DATA["event"].to_numpy(float), DATA["score"].to_numpy(float), idx)
    assert res.brier["corrected"] == pytest.approx(res.brier["apparent"] - np.mean(brier), abs=1e-15)
    assert res.c["corrected"] == pytest.approx(res.c["apparent"] - np.mean(c), abs=1e-15)
    assert res.slope["corrected"] == pytest.approx(np.mean(slopes), abs=1e-15)
    assert res.intercept["corrected"] == pytest.approx(np.mean(intercepts), abs=1e-15)
    # treating everyone: prevalence - (1 - prevalence) pt / (1 - pt)
    prev = DATA["event"].mean()
    t = np.asarray(res.thresholds)
    assert res.net_benefit_all == pytest.approx(prev - (1 - prev) * t / (1 - t), abs=1e-15)


def test_degenerate_input_is_not_estimable():
    with pytest.raises(NotEstimable, match="events"):
        logistic_calibration([0, 0, 0, 1], [1.0, 2.0, 3.0, 4.0])
    with pytest.raises(NotEstimable, match="constant"):
        logistic_calibration([0, 1, 0, 1, 1, 0], [2.0] * 6)
    with pytest.raises(ValueError, match="between 0 and 1"):
        net_benefit([0.5], [1], [1.0])


def test_decision_curves_at_other_base_rates_match_base_r():
    res = logistic_calibration(DATA["event"], DATA["score"], thresholds=VALUES["thresholds"], n_boot=0,
                               base_rates=[r["base_rate"] for r in VALUES["at_base_rates"]])
    assert len(res.at_base_rates) == len(VALUES["at_base_rates"])
    for got, ref in zip(res.at_base_rates, VALUES["at_base_rates"]):
        assert got.base_rate == ref["base_rate"]
        assert list(got.treated_events) == ref["treated_events"]
        assert list(got.treated_non_events) == ref["treated_non_events"]
        assert got.net_benefit == pytest.approx(ref["net_benefit"], abs=1e-12)
        assert got.net_benefit_all == pytest.approx(ref["net_benefit_all"], abs=1e-12)


def test_decision_curve_at_the_sample_base_rate_is_the_samples_own():
    # a threshold equal to a predicted risk: no rounding may move that case across it
    risk = np.array([0.9, 0.6, 0.4, 0.3, 0.2, 0.2, 0.1, 0.1, 0.1, 0.05])
    y = np.array([1, 1, 1, 0, 0, 0, 0, 0, 0, 0])
    t = [0.05, 0.1, 0.2, 0.3, 0.4, 0.6]
    same = net_benefit_at_base_rate(risk, y, t, 0.3)
    assert same.net_benefit == pytest.approx(net_benefit(risk, y, t), abs=1e-15)
    assert same.treated_events == (3, 3, 3, 3, 3, 2) and same.treated_non_events == (7, 6, 3, 1, 0, 0)
    with pytest.raises(ValueError, match="base_rate"):
        net_benefit_at_base_rate(risk, y, t, 1.0)
    with pytest.raises(NotEstimable, match="events and non-events"):
        net_benefit_at_base_rate(risk, np.zeros(10, dtype=int), t, 0.1)
