"""Random-effects meta-analysis against metafor 3.8 (rma, predict, confint): metafor's dat.bcg example,
six synthetic site AUCs (the shared reference and our own run with more figures), and homogeneous
estimates with tau^2 at its boundary. References: tests/reference/R/meta.R."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from validation.stats import NotEstimable
from validation.stats.meta import from_scale, pooled_on_scale, random_effects, to_scale

REF = Path(__file__).parent / "reference" / "meta"
CASES = {name: json.loads((REF / f"{name}.json").read_text()) for name in ("bcg", "synthetic", "boundary",
                                                                         "shared_synthetic")}
TOL = dict(rel=1e-6, abs=1e-9)


def _check(res, want):
    assert res.estimate == pytest.approx(want["estimate"], **TOL)
    assert res.se == pytest.approx(want["se"], **TOL)
    assert [res.ci.lower, res.ci.upper] == pytest.approx(want["ci"], **TOL)
    if "pval" in want:
        assert res.pvalue == pytest.approx(want["pval"], rel=1e-6, abs=1e-12)
    if "pi" in want:
        assert [res.pi.lower, res.pi.upper] == pytest.approx(want["pi"], **TOL)
    for mine, key in ((res.tau2, "tau2"), (res.tau2_se, "tau2_se"), (res.i2, "I2"), (res.h2, "H2"),
                      (res.q, "Q"), (res.q_pvalue, "Q_p")):
        if key in want:
            assert mine == pytest.approx(want[key], **TOL), key
    if "tau2_ci_qprofile" in want:
        assert [res.tau2_ci.lower, res.tau2_ci.upper] == pytest.approx(want["tau2_ci_qprofile"], **TOL)


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("method", ["REML", "DL", "PM", "ML", "FE"])
def test_random_effects_as_metafor(case, method):
    ref = CASES[case]
    _check(random_effects(ref["yi"], ref["vi"], method=method), ref["results"][method])
    if method != "FE":
        _check(random_effects(ref["yi"], ref["vi"], method=method, test="knha"), ref["results"][f"{method}_knha"])


def test_bcg_example_as_metafor_documents_it():
    ref = CASES["bcg"]
    res = random_effects(ref["yi"], ref["vi"])
    assert round(res.tau2, 4) == 0.3132 and round(res.estimate, 4) == -0.7145
    assert res.k == 13 and res.q_df == 12 and sum(res.weights) == pytest.approx(100.0)


def test_boundary_and_degenerate_input_are_stated():
    ref = CASES["boundary"]
    res = random_effects(ref["yi"], ref["vi"], method="REML")
    assert res.tau2 == 0.0 and res.i2 == 0.0 and any("boundary 0" in n for n in res.notes)
    assert res.tau2_ci.lower == 0.0
    one = random_effects([0.4], [0.01])
    assert one.estimate == 0.4 and one.tau2 == 0.0 and one.q == 0.0 and one.q_pvalue == 1.0
    assert any("one site" in n for n in one.notes) and math.isfinite(one.ci.lower)
    with pytest.raises(NotEstimable, match="Knapp & Hartung's test needs at least 2 sites"):
        random_effects([0.4], [0.01], test="knha")
    with pytest.raises(NotEstimable, match=r"positive sampling variance; not so at position\(s\) \[1\]"):
        random_effects([0.4, 0.5], [0.01, 0.0])
    with pytest.raises(NotEstimable, match="no estimates"):
        random_effects([], [])
    with pytest.raises(ValueError, match="method: expected one of FE, DL, PM, ML, REML, got 'HS'"):
        random_effects([0.4, 0.5], [0.01, 0.02], method="HS")
    with pytest.raises(ValueError, match="same length"):
        random_effects([0.4, 0.5], [0.01])
    same = random_effects([0.3, 0.3, 0.3], [0.01, 0.02, 0.03], test="knha")
    assert same.se == 0.0 and same.estimate == pytest.approx(0.3) and same.notes


@pytest.mark.parametrize("transform, value, variance", [("logit", 0.7, 0.002), ("fisher_z", 0.6, 0.004),
                                                        ("log", 1.8, 0.03), ("bonett", 0.85, 0.0004)])
def test_pooling_scales_round_trip_and_use_the_delta_method(transform, value, variance):
    z, vz = to_scale(value, variance, transform)
    assert from_scale(z, transform) == pytest.approx(value)
    h = 1e-6
    slope = (to_scale(value + h, variance, transform)[0] - to_scale(value - h, variance, transform)[0]) / (2 * h)
    assert vz == pytest.approx(variance * slope ** 2, rel=1e-6)


def test_pooled_on_scale_back_transforms_the_random_effects_figures():
    yi, vi = [0.71, 0.64, 0.78, 0.69], [0.0021, 0.0034, 0.0029, 0.0017]
    out = pooled_on_scale(yi, vi, "logit")
    pairs = [to_scale(y, v, "logit") for y, v in zip(yi, vi)]
    res = random_effects([p[0] for p in pairs], [p[1] for p in pairs])
    assert out["estimate"] == pytest.approx(1 / (1 + np.exp(-res.estimate)))
    assert out["pi_lower"] == pytest.approx(1 / (1 + np.exp(-res.pi.lower)))
    assert out["tau2"] == res.tau2 and out["k_sites"] == 4 and out["scale"] == "logit"
