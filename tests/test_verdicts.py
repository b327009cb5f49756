"""The one verdict rule (``validation.report.verdicts``) at its boundaries, and the sample sizes
that would decide an inconclusive verdict (``validation.stats.planning``)."""

from __future__ import annotations

import math

import pytest

from validation.report.verdicts import (CHANCE, FAILS, INCONCLUSIVE, MEETS, NE, judge, judge_estimate, many,
                                        invariance, tally)


@pytest.mark.parametrize("value,lo,hi,expected", [
    (0.75, 0.70, 0.80, MEETS),            # lower bound exactly at the cut-off: the whole interval is at or above
    (0.75, 0.6999, 0.80, INCONCLUSIVE),   # just below: the interval straddles
    (0.65, 0.60, 0.70, INCONCLUSIVE),     # upper bound exactly at the cut-off: the cut-off is inside
    (0.65, 0.60, 0.6999, FAILS),          # whole interval below
    (0.68, 0.60, 0.75, INCONCLUSIVE),     # point estimate below, interval straddles: not a fail
    (0.70, None, None, MEETS),            # no interval: the point estimate decides
    (0.6999, None, None, FAILS),
    (None, None, None, NE),
])
def test_minimum(value, lo, hi, expected):
    v = judge(value, lo, hi, minimum=0.70)
    assert v.outcome == expected
    if expected == INCONCLUSIVE:
        assert "straddles 0.70" in v.reason
    if lo is None and value is not None:
        assert "no interval" in v.reason


@pytest.mark.parametrize("value,lo,hi,expected", [
    (0.05, 0.04, 0.06, MEETS), (0.06, 0.06, 0.07, INCONCLUSIVE), (0.07, 0.0601, 0.08, FAILS),
    (0.06, None, None, MEETS), (0.0601, None, None, FAILS)])
def test_maximum(value, lo, hi, expected):
    assert judge(value, lo, hi, maximum=0.06).outcome == expected


def test_exactly_one_cutoff():
    with pytest.raises(ValueError, match="exactly one"):
        judge(0.5, minimum=0.1, maximum=0.9)
    with pytest.raises(ValueError, match="exactly one"):
        judge(0.5)


def test_the_issue_examples_imprecision_is_not_rewarded():
    # SQ needs AUC 0.554 [0.443, 0.666]: the interval holds 0.5
    assert judge_estimate("auc", 0.554, 0.443, 0.666, {"min": 0.639}).outcome == CHANCE
    # CM5 kappa 0.38 [0.06, 0.70] straddles 0.60; BA2 kappa 0.43 with a narrower interval lies below
    wide = judge_estimate("kappa", 0.38, 0.06, 0.70, {"min": 0.60}, n=40)
    narrow = judge_estimate("kappa", 0.43, 0.31, 0.55, {"min": 0.60}, n=200)
    assert (wide.outcome, narrow.outcome) == (INCONCLUSIVE, FAILS)
    # and the wide one says how many would decide: 40 x (0.64 / 0.44)^2 = 84.6 -> 85 pairs
    assert wide.n_to_decide == 85
    # a kappa whose interval reaches 0 shows nothing beyond chance, whatever the cut-off
    assert judge_estimate("kappa", 0.15, -0.02, 0.32, {"min": 0.60}).outcome == CHANCE
    # fit indices have no value of no effect
    assert judge_estimate("rmsea", 0.0, 0.0, 0.01, {"max": 0.06}).outcome == MEETS


def test_sample_size_formulas_by_kind():
    icc = judge_estimate("icc", 0.70, 0.60, 0.78, {"min": 0.75}, n=100, k=3)
    assert icc.n_method.startswith("Bonett 2002") and icc.n_to_decide > 100
    alpha = judge_estimate("alpha", 0.72, 0.66, 0.78, {"min": 0.70}, n=150, k=8)
    assert alpha.n_method == "Bonett 2002" and alpha.n_to_decide > 150
    auc = judge_estimate("auc", 0.66, 0.595, 0.726, {"min": 0.639}, n=570, events=60)
    assert auc.n_method == "Hanley & McNeil 1982" and auc.n_to_decide > 570
    on_the_line = judge(0.70, 0.60, 0.80, minimum=0.70, sample_size=lambda w: 10)
    assert on_the_line.outcome == MEETS or on_the_line.n_to_decide is None


def test_many_and_tally():
    assert many([MEETS] * 10, 0.2).outcome == MEETS
    assert many([MEETS] * 8 + [FAILS] * 2, 0.2).outcome == INCONCLUSIVE    # 20%: not more than the share
    assert many([MEETS] * 7 + [FAILS] * 2 + [CHANCE], 0.2).outcome == FAILS
    assert many([NE, NE], 0.2).outcome == NE
    assert tally([MEETS, FAILS, FAILS, INCONCLUSIVE, NE]) == \
        "1 meets, 1 inconclusive, 2 do not meet, 1 not estimable"


def test_invariance_is_gated_on_configural_fit():
    t = {"cfi": {"min": 0.95}, "tli": {"min": 0.95}, "rmsea": {"max": 0.06}, "srmr": {"max": 0.08}}
    good = {"cfi": 0.97, "tli": 0.96, "rmsea": 0.04, "srmr": 0.05}
    assert invariance("scalar", "scalar", good, t).outcome == MEETS
    assert invariance("partial scalar", "scalar", good, t).outcome == INCONCLUSIVE
    assert invariance("metric", "scalar", good, t).outcome == FAILS
    assert invariance("partial scalar", "metric", good, t).outcome == MEETS
    assert invariance(None, "scalar", good, t).outcome == NE
    bad = invariance("scalar", "scalar", {**good, "cfi": 0.861}, t)
    assert bad.outcome == FAILS and "CFI 0.861 below 0.95" in bad.reason


# ---------------------------------------------------------------------------------------------
# closed-form precision


def test_precision_formulas_agree_with_their_definitions():
    from scipy.stats import norm

    from validation.stats.planning import (alpha_n_for_width, auc_n_for_width, auc_se_hanley_mcneil,
                                            icc_n_for_width, scaled_sample_size)
    z = norm.ppf(0.975)
    # Bonett (2002a): the width at the returned n is at most the target, one case fewer exceeds it
    for rho, k, w in ((0.85, 3, 0.2), (0.6, 2, 0.1), (0.5, 5, 0.15)):
        n = icc_n_for_width(rho, k, w)
        width = lambda m: math.sqrt(8 * z ** 2 * (1 - rho) ** 2 * (1 + (k - 1) * rho) ** 2 / (k * (k - 1) * (m - 1)))
        assert width(n) <= w + 1e-12 < width(n - 1)
    for a, k, w in ((0.85, 10, 0.1), (0.7, 4, 0.2)):
        n = alpha_n_for_width(a, k, w)
        width = lambda m: math.sqrt(8 * k * (1 - a) ** 2 * z ** 2 / ((k - 1) * (m - 2)))
        assert width(n) <= w + 1e-12 < width(n - 1)
    n = auc_n_for_width(0.75, 0.1, 0.1)
    assert 2 * z * auc_se_hanley_mcneil(0.75, 0.1 * n, 0.9 * n) <= 0.1 < 2 * z * auc_se_hanley_mcneil(
        0.75, 0.1 * (n - 1), 0.9 * (n - 1))
    # published examples: Bonett's ICC (rho 0.85, k 4, w 0.2: 19.2 -> 20; presize::prec_icc), the two-rater
    # adjustment (rho 0.8, k 2, w 0.2: 50.8 + 4 -> 55), alpha (statpsych::size.ci.cronbach(.05, .75, 5, .15) = 109;
    # presize::prec_cronb's first stage for k 7, alpha 0.8, w 0.1: 145.4 -> 146), Hanley & McNeil's SEs
    assert icc_n_for_width(0.85, 4, 0.2) == 20 and icc_n_for_width(0.8, 2, 0.2) == 55
    assert alpha_n_for_width(0.75, 5, 0.15) == 109 and alpha_n_for_width(0.8, 7, 0.1) == 146
    assert round(auc_se_hanley_mcneil(0.85, 40, 40), 4) == 0.0437 and round(auc_se_hanley_mcneil(0.85, 60, 60), 4) == 0.0356
    assert scaled_sample_size(100, 0.4, 0.2) == 400
    with pytest.raises(ValueError, match="width"):
        icc_n_for_width(0.5, 2, 0)
    with pytest.raises(ValueError, match="raters a target"):
        icc_n_for_width(0.5, 1, 0.1)


def test_ordinal_invariance_levels_on_the_continuous_ladder():
    from validation.report.verdicts import invariance

    t = {"cfi": {"min": 0.95}, "rmsea": {"max": 0.06}}
    ok = {"cfi": 0.99, "rmsea": 0.02}
    lav = dict(ordinal=True, identification="lavaan")
    # lavaan's equal thresholds hold the intercepts at 0 too: thresholds and loadings is the scalar model
    assert invariance("thresholds and loadings", "scalar", ok, t, **lav).outcome == MEETS
    # Wu & Estabrook: the intercepts are a step of their own; thresholds and loadings is metric
    v = invariance("thresholds and loadings", "scalar", ok, t, ordinal=True, identification="wu.estabrook")
    assert v.outcome == FAILS and "only thresholds and loadings invariance" in v.reason
    assert invariance("thresholds and loadings", "metric", ok, t, ordinal=True).outcome == MEETS
    assert invariance("thresholds, loadings and intercepts", "scalar", ok, t, ordinal=True).outcome == MEETS
    v = invariance("thresholds", "scalar", ok, t, **lav)
    assert v.outcome == FAILS and "only thresholds invariance (ordinal model" in v.reason
    assert invariance("thresholds and loadings", "scalar", {"cfi": 0.90, "rmsea": 0.02}, t, **lav).outcome == FAILS
    assert invariance(None, "scalar", ok, t, ordinal=True).outcome == NE


def test_certification_by_the_four_outcome_rule():
    from validation.report.verdicts import CERTIFIED, NOT_YET, UNDECIDED, certify

    rules = [{"measure": "exact, indicators", "min": 0.80}, {"measure": "weighted kappa|AC2", "min": 0.60},
             {"measure": "severity", "max_abs": 0.25}]
    good = {"exact, indicators": (0.88, 0.82, 0.93), "weighted kappa": (0.55, 0.41, 0.68),
            "AC2": (0.78, 0.66, 0.87), "severity": (-0.05, -0.20, 0.10)}
    c = certify(good, rules, 6)
    assert c.decision == CERTIFIED and c.failing == c.undecided == ()
    assert dict(c.criteria)["weighted kappa|AC2"].outcome == "meets"       # AC2 meets: the rule is met
    # severity wholly beyond +0.25: not yet, and the failing criterion is named
    c = certify({**good, "severity": (0.40, 0.30, 0.52)}, rules, 6)
    assert c.decision == NOT_YET and c.failing == ("severity",)
    # straddling -0.25: undecided; 0.10 from the edge, an interval 0.30 wide must shrink to 0.20: (0.30 / 0.20)^2
    # = 2.25 times the vignettes, 14 in all, 8 more
    c = certify({**good, "severity": (-0.35, -0.50, -0.20)}, rules, 6)
    assert c.decision == UNDECIDED and c.undecided == ("severity",) and c.more_vignettes == 8
    # an estimate on its cut-off: no number of vignettes decides it
    c = certify({**good, "exact, indicators": (0.80, 0.74, 0.86)}, rules, 6)
    assert c.decision == UNDECIDED and c.more_vignettes is None
    # a measure without an estimate cannot certify
    c = certify({k: v for k, v in good.items() if k != "severity"}, rules, 6)
    assert c.decision == NOT_YET and c.failing == ("severity",)
