"""Scoring rules: not rated is never read as low; prorating and complete-case totals by hand."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from validation.battery.instruments import load_instrument
from validation.battery.scoring import domain_totals, primary_ratings, scale_scores, sq_keyed

INSTRUMENTS = Path(__file__).resolve().parents[1] / "instruments"
VERA = load_instrument(INSTRUMENTS / "vera2r.yaml")
SQ = load_instrument(INSTRUMENTS / "sq.yaml")


def _ratings(rows: list[dict]) -> pd.DataFrame:
    base = {c: 2 for c in VERA.indicators}
    return pd.DataFrame([{**base, **r} for r in rows]).astype("Int8")


def test_domain_totals_prorate_and_complete():
    r = _ratings([{}, {"BA1": pd.NA}, {"BA1": pd.NA, "BA2": pd.NA}, {"BA1": 3}])
    pro = domain_totals(r, VERA, "prorate", min_rated=0.8)
    # BA has 7 indicators: 6 rated of 7 (0.857) may be prorated, 5 of 7 (0.714) may not
    assert pro["BA"].tolist()[0] == 14
    assert pro["BA"].tolist()[1] == pytest.approx(14.0)
    assert np.isnan(pro["BA"].tolist()[2])
    assert pro["BA"].tolist()[3] == 15
    com = domain_totals(r, VERA, "complete")
    assert com["BA"].tolist()[0] == 14 and np.isnan(com["BA"].tolist()[1])
    # a not-rated indicator is not read as low (1): the prorated total stays at the mean of the rest
    r2 = _ratings([{"BA1": pd.NA, "BA2": 3}])
    assert domain_totals(r2, VERA)["BA"].iloc[0] == pytest.approx(7 * (2 * 5 + 3) / 6)
    risk_k = sum(len(d.items) for d in VERA.risk_domains)
    assert pro["risk_total"].iloc[0] == 2 * risk_k


def test_bad_rule_and_min_rated():
    r = _ratings([{}])
    with pytest.raises(ValueError, match="not-rated rule"):
        domain_totals(r, VERA, "mean")
    with pytest.raises(ValueError, match="min_rated"):
        domain_totals(r, VERA, "prorate", min_rated=0)


def test_sq_reverse_keys_and_scale_means():
    x = pd.DataFrame([{i: 2 for i in SQ.items}]).astype("Int8")
    keyed = sq_keyed(x, SQ)
    for item in SQ.items:
        assert keyed[item].iloc[0] == (6 if item in SQ.reverse_keyed else 2)
    s = scale_scores(x, SQ)
    needs = SQ.scales[0]
    n_rev = sum(i in SQ.reverse_keyed for i in needs.items)
    assert s["needs"].iloc[0] == pytest.approx((2 * (22 - n_rev) + 6 * n_rev) / 22)
    x.loc[0, list(needs.items[:5])] = pd.NA  # 17 of 22 answered: below 0.8
    assert np.isnan(scale_scores(x, SQ, min_answered=0.8)["needs"].iloc[0])


def test_primary_ratings_prefers_consensus_then_first():
    r = pd.DataFrame({
        "case_id": ["a", "a", "a", "b", "b", "c"],
        "rater_id": ["r1", "r2", "T", "r2", "r1", "r1"],
        "occasion": [1, 1, 1, 1, 1, 2],
        "role": ["independent", "independent", "consensus", "independent", "independent", "independent"],
    })
    p = primary_ratings(r)
    assert p[["case_id", "rater_id"]].values.tolist() == [["a", "T"], ["b", "r2"]]
