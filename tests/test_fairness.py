"""Differential prediction, calibration and error rates by group (validation.stats.fairness) against R:
tests/reference/fairness/make_reference.R (glm, anova LRT, MASS profile confint, brglm2 for Firth's fits,
prop.test for Wilson, Newcombe's interval by its formula). The logistic fits follow glm's own iterations and
the intervals MASS's profile and spline, so everything agrees with R to rounding (about 1e-13); pinned at
1e-9."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from validation.stats.fairness import (calibration_by_group, differential_prediction, discrimination_by_group,
                                       error_rates_by_group, score_differences, tier_of)
from validation.stats.results import NotEstimable

REF = Path(__file__).parent / "reference" / "fairness"
VALUES = json.loads((REF / "values.json").read_text())
GROUPS = pd.read_csv(REF / "groups.csv")


def _check_cleary(res, ref):
    for name in ("slope", "intercept", "joint"):
        assert res.tests.loc[name, "statistic"] == pytest.approx(ref[name]["statistic"], abs=1e-9), name
        assert res.tests.loc[name, "df"] == ref[name]["df"]
        assert res.tests.loc[name, "p"] == pytest.approx(ref[name]["p"], rel=1e-8, abs=1e-15), name
    names = {t: t.replace("group", "site") for t in res.coefficients.index}
    for term, r_term in names.items():
        row = res.coefficients.loc[term]
        assert row["estimate"] == pytest.approx(ref["coefficients"][r_term], abs=1e-9), term
        assert row["se"] == pytest.approx(ref["se"][r_term], abs=1e-9), term
        assert row["ci_lower"] == pytest.approx(ref["ci_lower"][r_term], abs=1e-9), term
        assert row["ci_upper"] == pytest.approx(ref["ci_upper"][r_term], abs=1e-9), term
    for g, value in ref["magnitude"].items():
        assert res.magnitude.loc[g, "estimate"] == pytest.approx(value, abs=1e-9), g
    common = ref["common_slope"]
    for term, value in common["coefficients"].items():
        row = res.common_slope.loc[term.replace("site", "group")]
        assert row["estimate"] == pytest.approx(value, abs=1e-9), term
        assert row["se"] == pytest.approx(common["se"][term], abs=1e-9), term
        assert (row["ci_lower"], row["ci_upper"]) == pytest.approx((common["ci_lower"][term],
                                                                    common["ci_upper"][term]), abs=1e-9), term


def test_cleary_tests_coefficients_and_profile_intervals_match_r():
    res = differential_prediction(GROUPS["outcome"], GROUPS["score"], GROUPS["site"], reference="A",
                                  tiers=(1, 2, 3), n_boot=200, random_state=1)
    assert list(res.coefficients.index[:2]) == ["(Intercept)", "score"] and not res.firth
    _check_cleary(res, VALUES["cleary"])


def test_a_group_below_the_first_tier_is_left_out_and_said():
    """Site D has fewer than 40 events: with tiers (40, 50, 100) it has counts only, and the models are R's
    without it."""
    counts = GROUPS.groupby("site")["outcome"].agg(["sum", "size"])
    assert counts.loc["D", "sum"] < 40 <= counts.loc[["A", "B", "C"], "sum"].min()
    res = differential_prediction(GROUPS["outcome"], GROUPS["score"], GROUPS["site"], reference="A",
                                  tiers=(40, 50, 100), n_boot=200, random_state=1)
    assert res.groups.loc["D", "tier"] == "counts only"
    assert "D (events = " in res.notes[0]
    _check_cleary(res, VALUES["cleary_without_d"])


def test_the_magnitude_interval_comes_from_the_bootstrap_and_holds_the_estimate():
    res = differential_prediction(GROUPS["outcome"], GROUPS["score"], GROUPS["site"], reference="A",
                                  tiers=(1, 2, 3), n_boot=400, random_state=3)
    m = res.magnitude
    assert (m["ci_lower"] < m["estimate"]).all() and (m["estimate"] < m["ci_upper"]).all()
    again = differential_prediction(GROUPS["outcome"], GROUPS["score"], GROUPS["site"], reference="A",
                                    tiers=(1, 2, 3), n_boot=400, random_state=3)
    pd.testing.assert_frame_equal(m, again.magnitude)
    # site B's planted intercept shift lowers its risk at every score: the interval lies below 0
    assert m.loc["B", "ci_upper"] < 0


def test_separation_switches_every_fit_to_firth_and_matches_brglm2():
    sep = pd.read_csv(REF / "separated.csv")
    res = differential_prediction(sep["outcome"], sep["score"], sep["group"], reference="X", n_boot=200,
                                  random_state=1, tiers=(1, 2, 3))
    ref = VALUES["firth"]
    assert res.firth and "Firth" in res.notes[-1]
    for term, value in ref["coefficients"].items():
        ours = res.coefficients.loc[term.replace("site", "group"), "estimate"]
        assert ours == pytest.approx(value, rel=1e-6, abs=1e-6), term
    for name in ("slope", "intercept", "joint"):
        assert res.tests.loc[name, "statistic"] == pytest.approx(ref[name], abs=1e-6), name


def test_calibration_by_group_matches_glm_with_offset_and_millers_tests():
    res = calibration_by_group(GROUPS["outcome"], GROUPS["predicted"], GROUPS["site"], tiers=(1, 2, 3))
    for site, ref in VALUES["calibration"].items():
        row = res.table.loc[site]
        for key, value in ref.items():
            assert row[key] == pytest.approx(value, abs=1e-9, rel=1e-8 if key.startswith("p_") else 0), (site, key)


def test_calibration_bands_are_wilson_and_small_groups_have_counts_only():
    res = calibration_by_group(GROUPS["outcome"], GROUPS["predicted"], GROUPS["site"], bands=[0.2, 0.5])
    assert res.table.loc["D", "tier"] == "imprecise" and res.table.loc["A", "tier"] == "full"
    b = res.bands.set_index(["group", "band"])
    row = b.loc[("A", "0.2-0.5")]
    sub = GROUPS[(GROUPS["site"] == "A") & (GROUPS["predicted"] > 0.2) & (GROUPS["predicted"] <= 0.5)]
    assert (row["n"], row["events"]) == (len(sub), sub["outcome"].sum())
    from statsmodels.stats.proportion import proportion_confint
    lo, hi = proportion_confint(row["events"], row["n"], method="wilson")
    assert (row["ci_lower"], row["ci_upper"]) == pytest.approx((lo, hi), abs=1e-12)
    few = calibration_by_group(GROUPS["outcome"], GROUPS["predicted"], GROUPS["site"], tiers=(40, 50, 100))
    assert few.table.loc["D", "tier"] == "counts only" and "not estimable (events = " in few.table.loc["D", "note"]
    assert np.isnan(few.table.loc["D", "citl"])


def test_error_rates_match_wilson_and_newcombe_and_the_decomposition_adds_up():
    res = error_rates_by_group(GROUPS["outcome"], GROUPS["flagged"], GROUPS["site"], reference="A", tiers=(1, 2, 3))
    for site, measures in VALUES["rates"].items():
        for measure, ref in measures.items():
            row = res.table.loc[(site, measure)]
            for key, value in ref.items():
                assert row[key] == pytest.approx(value, abs=1e-10), (site, measure, key)
    for site, measures in VALUES["differences"].items():
        for measure, ref in measures.items():
            row = res.differences.loc[(site, measure)]
            for key, value in ref.items():
                assert row[key] == pytest.approx(value, abs=1e-10), (site, measure, key)
    dec = res.decomposition
    np.testing.assert_allclose(dec["base rate"] + dec["PPV"] + dec["FNR"], dec["log FPR ratio"], atol=1e-12)
    fpr = res.table.xs("FPR", level="measure")["estimate"]
    assert dec.loc["B", "log FPR ratio"] == pytest.approx(np.log(fpr["B"] / fpr["A"]), abs=1e-12)


def test_tiers_withhold_estimates_and_tests_where_events_are_few():
    res = error_rates_by_group(GROUPS["outcome"], GROUPS["flagged"], GROUPS["site"], reference="A")
    tiers = res.table.xs("FPR", level="measure")["tier"]
    assert tiers["A"] == "full" and tiers["D"] in ("imprecise", "counts only")
    assert res.differences.loc[("D", "FPR"), "note"].startswith("no test")
    assert np.isnan(res.differences.loc[("D", "FPR"), "difference"])
    few = error_rates_by_group(GROUPS["outcome"], GROUPS["flagged"], GROUPS["site"], reference="A", tiers=(40, 50, 100))
    d = few.table.loc["D"]
    assert d.loc["base rate", "estimate"] > 0 and np.isnan(d.loc["FPR", "estimate"])
    assert d.loc["FPR", "note"].startswith("not estimable (events = ")
    assert tier_of(4, 100) == "counts only" and tier_of(100, 100) == "full"


def test_bad_inputs_are_named():
    with pytest.raises(ValueError, match=r"outcome: found \['2'\], expected 0 or 1"):
        error_rates_by_group([0, 1, 2], [0, 1, 1], ["a", "a", "b"])
    with pytest.raises(ValueError, match="reference: found 'Z'"):
        error_rates_by_group([0, 1, 1], [0, 1, 1], ["a", "a", "b"], reference="Z")
    with pytest.raises(ValueError, match="predicted: found"):
        calibration_by_group([0, 1], [0.0, 0.5], ["a", "a"])
    with pytest.raises(NotEstimable, match="fewer than two groups"):
        differential_prediction([0, 1] * 20 + [0] * 10, list(range(50)), ["a"] * 40 + ["b"] * 10, n_boot=50)


def test_discrimination_by_group_matches_proc_metafor_and_survival():
    res = discrimination_by_group(GROUPS["outcome"], GROUPS["score"], GROUPS["site"], reference="A",
                                  time=GROUPS["time"], event=GROUPS["event"], tiers=(1, 2, 3))
    ref = VALUES["discrimination"]
    for site, r in ref["auc"].items():
        row = res.table.loc[site]
        for key in ("auc", "variance", "ci_lower", "ci_upper"):
            assert row[key] == pytest.approx(r[key], abs=1e-10), (site, key)
        c = ref["harrell"][site]
        assert row["c"] == pytest.approx(c["c"], abs=1e-10)
        z = 1.959963984540054
        assert (row["c_lower"], row["c_upper"]) == pytest.approx((c["c"] - z * c["se"], c["c"] + z * c["se"]), abs=1e-9)
    for site, r in ref["tests"].items():
        row = res.comparisons.loc[site]
        for key in ("statistic", "df", "p", "p_holm"):
            assert row[key] == pytest.approx(r[key], rel=1e-8, abs=1e-12), (site, key)
    h, rh = res.heterogeneity, ref["heterogeneity"]
    assert (h.q, h.q_pvalue, h.tau2, h.estimate) == pytest.approx((rh["q"], rh["q_p"], rh["tau2"], rh["estimate"]),
                                                                    rel=1e-6)
    assert (h.pi.lower, h.pi.upper) == pytest.approx((rh["pi_lower"], rh["pi_upper"]), rel=1e-6)


def test_discrimination_tiers_hold_back_tests_and_estimates():
    res = discrimination_by_group(GROUPS["outcome"], GROUPS["score"], GROUPS["site"], reference="A",
                                  tiers=(40, 50, 100))
    assert np.isnan(res.table.loc["D", "auc"]) and res.table.loc["D", "note"].startswith("not estimable (events = ")
    assert list(res.comparisons.index) == ["B", "C"]       # D is left out; B (99 events) and C (93) are tested
    assert res.heterogeneity is not None and res.heterogeneity.k == 3


def test_score_differences_are_cohens_d_with_the_hedges_olkin_interval():
    res = score_differences(GROUPS["score"], GROUPS["flagged"], GROUPS["site"], reference="A")
    for site, r in VALUES["cohen"].items():
        for key, value in r.items():
            assert res.table.loc[site, key] == pytest.approx(value, abs=1e-12), (site, key)
    with pytest.raises(ValueError, match=r"flagged: found \['3'\]"):
        score_differences([1, 2, 3], [0, 1, 3], ["a", "a", "b"])


def test_the_cox_version_matches_coxph_anova_strata_and_cox_zph():
    from validation.stats.fairness import differential_prediction_cox

    res = differential_prediction_cox(GROUPS["time"], GROUPS["event"], GROUPS["score"], GROUPS["site"], reference="A",
                                      tiers=(1, 2, 3))
    ref = VALUES["cox"]
    for name, key in (("slope", "slope"), ("intercept", "intercept"), ("joint", "joint"),
                      ("slope, stratified", "stratified")):
        assert res.tests.loc[name, "statistic"] == pytest.approx(ref[key], abs=1e-6), name
    for term, value in ref["coefficients"].items():
        ours = term.replace("site", "group")
        assert res.coefficients.loc[ours, "estimate"] == pytest.approx(value, abs=1e-7), term
        assert res.coefficients.loc[ours, "se"] == pytest.approx(ref["se"][term], abs=1e-7), term
    for site in ref["hr"]:
        assert res.by_group.loc[site, "hr"] == pytest.approx(ref["hr"][site], rel=1e-8)
        assert res.by_group.loc[site, "ph_p"] == pytest.approx(ref["ph_p"][site], rel=1e-6)


def test_equivalence_is_the_two_one_sided_tests_closed_form():
    from validation.stats.fairness import equivalence_tost

    r = equivalence_tost(0.03, 0.05, 0.2, ci=0.95)
    z = 1.6448536269514722                                    # qnorm(0.95): each one-sided test at 5%
    assert r["interval"] == pytest.approx([0.03 - z * 0.05, 0.03 + z * 0.05], abs=1e-15) and r["equivalent"]
    assert equivalence_tost(0.03, 0.12, 0.2)["equivalent"] is False      # 0.03 + 1.645 x 0.12 > 0.2
    assert equivalence_tost(np.nan, 0.1, 0.2)["equivalent"] is None
