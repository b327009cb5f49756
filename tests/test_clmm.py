"""The cumulative-link mixed model (validation.stats.clmm) against R's ordinal::clmm, and its use for rater
severity and indicator shift (validation.stats.rater_training.rater_facets) on the synthetic course.

tests/reference/clmm/make_reference.R fits both datasets with ordinal 2022.11-16 and polishes its optimum
(clmm's own stop leaves a gradient of about 2e-3): estimates, standard deviations, conditional modes,
conditional variances and the Laplace log-likelihood agree to 1e-5 here. The standard errors come from the
central-difference Hessian of the Laplace objective in both (ordinal's deriv12, step 1e-4); R's objective carries
rounding noise of about 1e-10 that the step amplifies to about 1e-5 in a standard error, so they are pinned at
1e-4 (this fit's are stable to 1e-6 across steps 1e-3 and 1e-4)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from validation.stats.clmm import cumulative_link_mixed
from validation.stats.results import NotEstimable

REF = Path(__file__).parent / "reference" / "clmm"
VALUES = json.loads((REF / "values.json").read_text())
CASES = {"training": (["key_moderate", "key_high"], ["trainee", "vignette", "indicator"]),
         "four": (["x"], ["person", "item"])}


@pytest.fixture(scope="module", params=sorted(CASES))
def case(request):
    name = request.param
    fixed, random = CASES[name]
    fit = cumulative_link_mixed(pd.read_csv(REF / f"{name}.csv"), "rating", fixed, random)
    return name, fit, VALUES[name]


def test_estimates_sds_and_log_likelihood_match_clmm(case):
    name, fit, ref = case
    assert fit.converged
    assert list(fit.coefficients.index) == list(ref["coefficients"])
    for term, value in ref["coefficients"].items():
        assert fit.coefficients.loc[term, "estimate"] == pytest.approx(value, abs=1e-5), term
    for factor, value in ref["sd"].items():
        assert fit.sds.loc[factor, "sd"] == pytest.approx(value, abs=1e-5), factor
    assert fit.log_likelihood == pytest.approx(ref["logLik"], abs=1e-6)


def test_conditional_modes_and_variances_match_ranef_and_condvar(case):
    name, fit, ref = case
    for factor, modes in ref["ranef"].items():
        effects = fit.effects[factor]
        assert sorted(map(str, effects.index)) == sorted(modes)
        got = effects.set_axis(effects.index.astype(str))
        np.testing.assert_allclose(got.loc[list(modes), "effect"], list(modes.values()), atol=1e-5)
        np.testing.assert_allclose(got.loc[list(modes), "sd"] ** 2, list(ref["condVar"][factor].values()),
                                   atol=1e-5)


def test_standard_errors_match_the_clmm_hessian(case):
    name, fit, ref = case
    for term, value in ref["se"].items():
        got = fit.coefficients.loc[term, "se"] if term in fit.coefficients.index else fit.sds.loc[term, "se"]
        assert got == pytest.approx(value, abs=1e-4), term
    # an SD on its boundary (0) has no standard error and no interval, as clmm leaves it out of the Hessian
    at_zero = fit.sds[fit.sds["sd"] < 1e-3]
    assert at_zero["se"].isna().all() and at_zero["ci_lower"].isna().all()
    assert (name == "four") == (len(at_zero) == 1)


def test_intervals_are_wald_and_conditional():
    fixed, random = CASES["training"]
    fit = cumulative_link_mixed(pd.read_csv(REF / "training.csv"), "rating", fixed, random, ci=0.90)
    z = 1.6448536269514722
    c = fit.coefficients
    np.testing.assert_allclose(c["ci_upper"] - c["estimate"], z * c["se"], rtol=1e-12)
    e = fit.effects["trainee"]
    np.testing.assert_allclose(e["ci_lower"], e["effect"] - z * e["sd"], rtol=1e-12)
    s = fit.sds
    np.testing.assert_allclose(np.log(s["ci_upper"] / s["sd"]), z * s["se"] / s["sd"], rtol=1e-10)
    assert list(e["n"].unique()) == [120]


def test_degenerate_data_is_not_estimable_and_bad_columns_are_named():
    d = pd.DataFrame({"rating": [2] * 6, "g": list("aabbcc")})
    with pytest.raises(NotEstimable, match="one value only"):
        cumulative_link_mixed(d, "rating", random=["g"])
    with pytest.raises(ValueError, match=r"\['nope'\]"):
        cumulative_link_mixed(d, "rating", ["nope"], ["g"])
    d = pd.DataFrame({"rating": [1, 2, 3, 1, 2, 3], "x": [1.0] * 6, "g": list("aabbcc")})
    with pytest.raises(NotEstimable, match="collinear"):
        cumulative_link_mixed(d, "rating", ["x"], ["g"])


def test_rater_facets_finds_the_over_rated_indicator_and_the_severe_trainees(synthetic_course):
    """On the synthetic course, last occasion: the over-rated indicator has the largest shift, its interval
    above 0; trainee effects rank as the trainees' signed differences from the key and follow the planted
    severity."""
    from scipy.stats import spearmanr

    from validation.stats.rater_training import rater_facets

    ratings, key, ind, truth, _ = synthetic_course
    last = ratings[ratings["occasion"] == ratings["occasion"].max()]
    res = rater_facets(last[ind + ["trainee_id"]], key[ind], ind)
    over = truth["over_rated_indicator"]
    assert res.indicators["effect"].idxmax() == over
    assert res.indicators.loc[over, "ci_lower"] > 0
    # the trainee effects order trainees as their mean signed difference from the key does, and follow the
    # planted severity (a weak signal: a miss goes up with probability 0.5 + severity, and misses are few)
    signed = (last[ind].astype(float) - key.loc[last.index, ind].astype(float).to_numpy()).mean(axis=1)
    signed = signed.groupby(last["trainee_id"].to_numpy()).mean()
    effect = res.trainees["effect"]
    assert spearmanr(effect, signed.loc[effect.index]).statistic > 0.95
    planted = pd.Series({t: v["severity"] for t, v in truth["trainees"].items()})
    assert spearmanr(effect, planted.loc[effect.index]).statistic > 0.3
    assert set(res.fit.sds.index) == {"trainee", "vignette", "indicator"}
