"""validation.predictive against R (pROC 1.18.0, survival 3.5-3) and closed forms.

References live in tests/reference/: synthetic_roc (copy of the shared reference set), roc_*
(made by tests/reference/R/agreement_predictive.R).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from validation.stats.predictive import delong_test, harrell_c, roc_auc, roc_curve
from validation.stats.results import NotEstimable, to_dict

REF = Path(__file__).parent / "reference"
DIRECTION = {"<": "higher", ">": "lower"}


def load(folder: str) -> dict:
    return json.loads((REF / folder / "reference.json").read_text())


def num(v) -> float:
    """A number from a reference JSON, where R's non-finite values are the strings Inf, -Inf, NaN."""
    if isinstance(v, str):
        return {"Inf": math.inf, "-Inf": -math.inf, "NaN": math.nan, "NA": math.nan}[v]
    return float(v)


def same(a: np.ndarray, ref: list, tol: float) -> None:
    """Elementwise equality within tol, non-finite values (NaN, +-inf) matching exactly."""
    r = np.array([num(v) for v in ref])
    assert a.shape == r.shape
    fin = np.isfinite(r)
    assert np.array_equal(np.isnan(a), np.isnan(r))
    assert np.array_equal(a[~fin & ~np.isnan(r)], r[~fin & ~np.isnan(r)])
    assert np.max(np.abs(a[fin] - r[fin]), initial=0.0) <= tol


def direction_of(ref: dict) -> str:
    return "lower" if "direction = '>'" in ref["call"] else "higher"


def check_auc(y, s, ref: dict, ci: float = 0.95) -> None:
    a = roc_auc(y, s, ci=ci, direction=direction_of(ref))
    assert a.auc == pytest.approx(ref["auc"], abs=1e-9)
    assert a.variance == pytest.approx(ref["var"], abs=1e-12)
    assert (a.ci.lower, a.ci.upper) == pytest.approx(ref["ci"], abs=1e-9)
    assert a.n_events == ref["n_events"] and a.n_nonevents == ref["n_nonevents"]


def check_coords(y, s, ref: dict) -> None:
    c = roc_curve(y, s, direction=direction_of(ref))
    same(c.thresholds, ref["threshold"], 1e-12)
    thr_exact = np.array([float.fromhex(h) if h.startswith(("0x", "-0x")) else num(h) for h in ref["threshold_hex"]])
    assert np.array_equal(c.thresholds, thr_exact)
    same(c.sensitivity, ref["sensitivity"], 1e-12)
    same(c.specificity, ref["specificity"], 1e-12)
    same(c.ppv, ref["ppv"], 1e-12)
    same(c.npv, ref["npv"], 1e-12)
    yd = ref["youden"]
    yd = {k: v if isinstance(v, list) else [v] for k, v in yd.items()}
    assert len(c.youden) == len(yd["threshold"])
    for p, t, se, sp, j in zip(c.youden, yd["threshold"], yd["sensitivity"], yd["specificity"], yd["youden"]):
        assert p.threshold == pytest.approx(num(t), abs=1e-12)
        assert p.sensitivity == pytest.approx(se, abs=1e-12)
        assert p.specificity == pytest.approx(sp, abs=1e-12)
        assert p.youden_j == pytest.approx(j - 1.0, abs=1e-12)  # pROC reports sens + spec


def check_test(y, s1, s2, ref: dict, ci: float = 0.95, direction: str = "higher") -> None:
    t = delong_test(y, s1, s2, ci=ci, direction=direction)
    assert t.z == pytest.approx(ref["z"], abs=1e-9)
    assert t.p == pytest.approx(ref["p"], abs=1e-9)
    assert (t.ci.lower, t.ci.upper) == pytest.approx(ref["conf_int"], abs=1e-9)
    assert t.auc1 == pytest.approx(ref["auc1"], abs=1e-9)
    assert t.auc2 == pytest.approx(ref["auc2"], abs=1e-9)
    assert t.difference == pytest.approx(ref["auc1"] - ref["auc2"], abs=1e-9)


def check_harrell(time, event, s, ref: dict) -> None:
    direction = "higher" if "reverse = TRUE" in ref["call"] else "lower"
    h = harrell_c(time, event, s, direction=direction)
    assert h.c == pytest.approx(ref["c"], abs=1e-9)
    assert h.se == pytest.approx(ref["se"], abs=1e-9)
    assert h.variance == pytest.approx(ref["var"], abs=1e-12)
    cnt = ref["count"]
    # survival swaps its counts for reverse = TRUE, so they are in the risk sense either way
    assert (h.concordant, h.discordant, h.tied_risk) == (cnt["concordant"], cnt["discordant"], cnt["tied.x"])
    assert h.tied_time == cnt["tied.y"] + cnt["tied.xy"]
    assert h.n == ref["n"]


# ----------------------------------------------------------------------- shared synthetic_roc


@pytest.fixture(scope="module")
def syn():
    return pd.read_csv(REF / "synthetic_roc" / "roc.csv")


def test_shared_auc_delong(syn):
    ref = load("synthetic_roc")
    a = roc_auc(syn.y, syn.s1)
    assert a.auc == pytest.approx(ref["auc_s1"]["auc"], abs=1e-9)
    assert a.variance == pytest.approx(ref["auc_s1"]["var"], abs=1e-9)
    assert a.se == pytest.approx(math.sqrt(ref["auc_s1"]["var"]), abs=1e-9)
    assert (a.ci.lower, a.ci.upper) == pytest.approx(ref["auc_s1"]["delong_ci"], abs=1e-9)
    b = roc_auc(syn.y, syn.s2)
    assert b.auc == pytest.approx(ref["auc_s2"]["auc"], abs=1e-9)
    assert (b.ci.lower, b.ci.upper) == pytest.approx(ref["auc_s2"]["delong_ci"], abs=1e-9)
    assert a.n_events == int(syn.y.sum()) and a.n_nonevents == int((syn.y == 0).sum())


def test_shared_delong_test(syn):
    ref = load("synthetic_roc")["delong_test"]
    t = delong_test(syn.y, syn.s1, syn.s2)
    assert t.z == pytest.approx(ref["z"], abs=1e-9)
    assert t.p == pytest.approx(ref["p"], abs=1e-9)


def test_shared_coords_and_youden(syn):
    ref = load("synthetic_roc")
    c = roc_curve(syn.y, syn.s1)
    rows = ref["coords_s1"]
    assert len(c.thresholds) == len(rows)
    for i, row in enumerate(rows):
        for key, arr in [("threshold", c.thresholds), ("sensitivity", c.sensitivity),
                         ("specificity", c.specificity), ("ppv", c.ppv), ("npv", c.npv)]:
            if key in row:
                assert arr[i] == pytest.approx(row[key], abs=1e-12)
            else:  # R's -Inf/Inf thresholds and NaN predictive values are left out of the rows
                assert not math.isfinite(arr[i])
    assert c.thresholds[0] == -math.inf and c.thresholds[-1] == math.inf
    assert math.isnan(c.npv[0]) and math.isnan(c.ppv[-1])
    (best,) = c.youden
    yref = ref["youden_s1"][0]
    assert best.threshold == yref["threshold"]
    assert best.sensitivity == pytest.approx(yref["sensitivity"], abs=1e-12)
    assert best.specificity == pytest.approx(yref["specificity"], abs=1e-12)


def test_shared_harrell_c(syn):
    ref = load("synthetic_roc")["harrell_c_s1"]
    h = harrell_c(syn.time, syn.y, syn.s1)
    assert h.c == pytest.approx(ref["c"], abs=1e-9)
    assert h.se == pytest.approx(ref["se"], abs=1e-9)


def test_synthetic_roc_more(syn):
    ref = load("roc_synthetic")
    check_auc(syn.y, syn.s1, ref["auc_s1"])
    check_auc(syn.y, syn.s2, ref["auc_s2"])
    check_test(syn.y, syn.s1, syn.s2, ref["test_s1_s2"])
    check_coords(syn.y, syn.s1, ref["coords_s1"])
    check_coords(syn.y, syn.s2, ref["coords_s2"])
    check_harrell(syn.time, syn.y, syn.s1, ref["harrell_s1"])
    check_harrell(syn.time, syn.y, syn.s2, ref["harrell_s2"])


# ----------------------------------------------------------------------------- roc_ties (R)


@pytest.fixture(scope="module")
def ties():
    return pd.read_csv(REF / "roc_ties" / "roc.csv")


@pytest.fixture(scope="module")
def ties_ref():
    return load("roc_ties")


@pytest.mark.parametrize(
    "key, score, ci",
    [("auc_s1", "s1", 0.95), ("auc_s1_90", "s1", 0.90), ("auc_s1_lower", "s1", 0.95),
     ("auc_s2", "s2", 0.95), ("auc_s3", "s3", 0.95), ("auc_s3_lower", "s3", 0.95)],
)
def test_ties_auc(ties, ties_ref, key, score, ci):
    check_auc(ties.y, ties[score], ties_ref[key], ci=ci)


def test_ties_auc_below_half_is_kept(ties, ties_ref):
    a = roc_auc(ties.y, ties.s3, direction="higher")
    assert a.auc < 0.5 and a.auc == pytest.approx(ties_ref["auc_s3"]["auc"], abs=1e-9)
    b = roc_auc(ties.y, ties.s3, direction="lower")
    assert b.auc == pytest.approx(1.0 - a.auc, abs=1e-12)
    assert b.variance == pytest.approx(a.variance, abs=1e-15)


def test_ties_missing_scores_dropped(ties):
    a = roc_auc(ties.y, ties.s2)
    assert a.n_dropped == int(ties.s2.isna().sum()) == 6
    assert a.n_events + a.n_nonevents == 494
    assert any("6 observation(s)" in w for w in a.warnings)


@pytest.mark.parametrize(
    "key, s1, s2, ci, direction",
    [("test_s1_s2", "s1", "s2", 0.95, "higher"), ("test_s1_s3", "s1", "s3", 0.95, "higher"),
     ("test_s1_s2_90", "s1", "s2", 0.90, "higher"), ("test_s1_s3_lower", "s1", "s3", 0.95, "lower")],
)
def test_ties_delong_test(ties, ties_ref, key, s1, s2, ci, direction):
    check_test(ties.y, ties[s1], ties[s2], ties_ref[key], ci=ci, direction=direction)


def test_ties_delong_test_pairs_complete_cases(ties, ties_ref):
    t = delong_test(ties.y, ties.s1, ties.s2)
    assert t.n_events + t.n_nonevents == ties_ref["n_complete_s1_s2"] and t.n_dropped == 6


@pytest.mark.parametrize("key, score", [("coords_s1", "s1"), ("coords_s1_lower", "s1"), ("coords_s2", "s2"), ("coords_s3", "s3")])
def test_ties_coords(ties, ties_ref, key, score):
    check_coords(ties.y, ties[score], ties_ref[key])


@pytest.mark.parametrize("key, score", [("harrell_s1", "s1"), ("harrell_s3", "s3"), ("harrell_s1_lower", "s1"), ("harrell_s2", "s2")])
def test_ties_harrell_c(ties, ties_ref, key, score):
    check_harrell(ties.time, ties.event, ties[score], ties_ref[key])


# ---------------------------------------------------------------------------- roc_small (R)


def test_small_youden_tie():
    ref = load("roc_small")["youden_tie"]
    d = pd.read_csv(REF / "roc_small" / "youden_tie.csv")
    check_auc(d.y, d.s, ref["auc"])
    check_coords(d.y, d.s, ref["coords"])
    check_coords(d.y, d.s, ref["coords_lower"])
    assert [p.threshold for p in roc_curve(d.y, d.s).youden] == [1.5, 3.5]


def test_small_perfect_separation():
    ref = load("roc_small")["perfect"]
    d = pd.read_csv(REF / "roc_small" / "perfect.csv")
    check_auc(d.y, d.s, ref["auc"])
    a = roc_auc(d.y, d.s)
    assert a.auc == 1.0 and a.variance == 0.0 and (a.ci.lower, a.ci.upper) == (1.0, 1.0)
    assert any("perfectly" in w for w in a.warnings)
    check_coords(d.y, d.s, ref["coords"])
    check_test(d.y, d.s, d.s_other, ref["test"])  # both perfect: z = 0, p = 1 as pROC


def test_small_near_ties_and_huge_scores():
    ref = load("roc_small")["near_ties"]
    text = (REF / "roc_small" / "near_ties.csv").read_text().split()[1:]
    y = np.array([int(r.split(",")[0]) for r in text])
    s = np.array([float(r.split(",")[1]) for r in text])
    assert s[1] == np.nextafter(1.0, 2.0)
    check_auc(y, s, ref["auc"])
    check_coords(y, s, ref["coords"])
    check_coords(y, s, ref["coords_lower"])


# ---------------------------------------------------------------------------- closed forms


def brute_force_auc(y, s):
    x, z = s[y == 1], s[y == 0]
    psi = (x[:, None] > z[None, :]) + 0.5 * (x[:, None] == z[None, :])
    v10, v01 = psi.mean(axis=1), psi.mean(axis=0)
    return psi.mean(), np.var(v10, ddof=1) / x.size + np.var(v01, ddof=1) / z.size, v10, v01


def test_delong_matches_quadratic_definition():
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 300)
    s1 = rng.integers(0, 8, 300) + y
    s2 = rng.normal(size=300) + 0.5 * y
    auc, var, v10a, v01a = brute_force_auc(y, s1.astype(float))
    a = roc_auc(y, s1)
    assert a.auc == pytest.approx(auc, abs=1e-14) and a.variance == pytest.approx(var, abs=1e-15)
    _, _, v10b, v01b = brute_force_auc(y, s2)
    cov = np.cov(v10a, v10b)[0, 1] / v10a.size + np.cov(v01a, v01b)[0, 1] / v01a.size
    vd = np.var(v10a, ddof=1) / v10a.size + np.var(v01a, ddof=1) / v01a.size
    vd += np.var(v10b, ddof=1) / v10b.size + np.var(v01b, ddof=1) / v01b.size - 2 * cov
    t = delong_test(y, s1, s2)
    assert t.se == pytest.approx(math.sqrt(vd), abs=1e-14)
    assert t.z == pytest.approx((v10a.mean() - v10b.mean()) / math.sqrt(vd), abs=1e-12)


def test_roc_curve_closed_forms():
    y = np.array([0, 0, 0, 0, 1, 1, 1, 0, 1, 1])
    s = np.array([1, 2, 2, 3, 3, 4, 5, 5, 6, 6])
    c = roc_curve(y, s)
    assert list(c.thresholds) == [-math.inf, 1.5, 2.5, 3.5, 4.5, 5.5, math.inf]
    tp = np.array([5, 5, 5, 4, 3, 2, 0])
    fp = np.array([5, 4, 2, 1, 1, 0, 0])
    assert np.array_equal(c.sensitivity, tp / 5) and np.array_equal(c.specificity, (5 - fp) / 5)
    with np.errstate(divide="ignore", invalid="ignore"):
        assert np.allclose(c.lr_positive[:-2], (tp / 5)[:-2] / (fp / 5)[:-2])
    assert c.lr_positive[-2] == math.inf and math.isnan(c.lr_positive[-1])  # 0.4/0 and 0/0
    assert math.isnan(c.lr_negative[0]) and c.lr_negative[-1] == pytest.approx(1.0)  # 0/0 and 1/1
    assert c.lr_negative[1] == pytest.approx(0.0)
    frame = c.to_frame()
    assert list(frame.columns) == ["threshold", "sensitivity", "specificity", "ppv", "npv", "lr_positive", "lr_negative"]
    d = to_dict(c)
    json.dumps(d)
    assert d["thresholds"][0] is None and d["ppv"][-1] is None
    # the curve's trapezoidal area is the AUC
    order = np.argsort(c.specificity, kind="stable")
    area = np.trapezoid(c.sensitivity[order], c.specificity[order])
    assert area == pytest.approx(roc_auc(y, s).auc, abs=1e-15)


def brute_force_harrell(time, event, risk):
    conc = disc = tie = 0
    n = len(time)
    ci = np.zeros(n)
    di = np.zeros(n)
    ti = np.zeros(n)
    for i in range(n):
        for j in range(n):
            if not event[i]:
                continue
            if time[i] < time[j] or (time[i] == time[j] and not event[j]):
                if risk[i] > risk[j]:
                    conc += 1
                    ci[i] += 1
                    ci[j] += 1
                elif risk[i] < risk[j]:
                    disc += 1
                    di[i] += 1
                    di[j] += 1
                else:
                    tie += 1
                    ti[i] += 1
                    ti[j] += 1
    npair = conc + disc + tie
    d = (conc - disc) / npair
    var = np.sum(((ci - di) - d * (ci + di + ti)) ** 2) / npair**2 / 4
    return (conc + tie / 2) / npair, var, conc, disc, tie


def test_harrell_matches_pairwise_definition():
    rng = np.random.default_rng(8)
    n = 120
    time = rng.integers(1, 30, n).astype(float)
    event = rng.integers(0, 2, n)
    score = rng.integers(0, 6, n)
    c, var, conc, disc, tie = brute_force_harrell(time, event, score)
    h = harrell_c(time, event, score)
    assert h.c == pytest.approx(c, abs=1e-14) and h.variance == pytest.approx(var, abs=1e-15)
    assert (h.concordant, h.discordant, h.tied_risk) == (conc, disc, tie)
    lo = harrell_c(time, event, score, direction="lower")
    assert lo.c == pytest.approx(1 - c, abs=1e-14) and lo.variance == pytest.approx(var, abs=1e-15)
    json.dumps(to_dict(h))


# ------------------------------------------------------------------------ degenerate, arguments


def test_not_estimable():
    with pytest.raises(NotEstimable, match="both outcome classes"):
        roc_auc([1, 1, 1], [0.1, 0.2, 0.3])
    with pytest.raises(NotEstimable, match="at least 2 events"):
        roc_auc([0, 0, 1], [0.1, 0.2, 0.3])
    with pytest.raises(NotEstimable, match="both outcome classes"):
        roc_curve([0, 0, np.nan], [0.1, 0.2, 0.3])
    with pytest.raises(NotEstimable, match="both outcome classes"):
        delong_test([0, 0, 0], [1, 2, 3], [3, 2, 1])
    with pytest.raises(NotEstimable, match="zero variance"):
        delong_test([0, 0, 1, 1], [1, 2, 3, 4], [1, 1, 1, 1])
    with pytest.raises(NotEstimable, match="at least one event"):
        harrell_c([1, 2, 3], [0, 0, 0], [1, 2, 3])
    with pytest.raises(NotEstimable, match="no comparable pair"):
        harrell_c([1, 1], [1, 1], [1, 2])


def test_bad_arguments():
    with pytest.raises(ValueError, match="0 \\(non-event\\) / 1"):
        roc_auc([0, 1, 2], [1, 2, 3])
    with pytest.raises(ValueError, match="direction"):
        roc_auc([0, 1, 0, 1], [1, 2, 3, 4], direction="auto")
    with pytest.raises(ValueError, match="finite"):
        roc_curve([0, 1], [1, np.inf])
    with pytest.raises(ValueError, match="same length"):
        roc_auc([0, 1, 0], [1, 2])
    with pytest.raises(ValueError, match="numeric"):
        roc_auc([0, 1], ["a", "b"])
    with pytest.raises(ValueError, match="ci_method"):
        roc_auc([0, 1, 0, 1], [1, 2, 3, 4], ci_method="jackknife")
    with pytest.raises(ValueError, match="between 0 and 1"):
        roc_auc([0, 1, 0, 1], [1, 2, 3, 4], ci=1.5)
    with pytest.raises(ValueError, match="event must be coded"):
        harrell_c([1, 2], [0, 2], [1, 2])
    with pytest.raises(ValueError, match="time must be >= 0"):
        harrell_c([-1, 2], [1, 0], [1, 2])


def test_boolean_outcome_and_to_dict():
    y = np.array([False, True, False, True, True])
    s = pd.Series([0.2, 0.9, 0.4, 0.3, 0.8])
    a = roc_auc(y, s)
    assert a.auc == pytest.approx(5 / 6)
    d = to_dict(a)
    json.dumps(d)
    assert d["direction"] == "higher" and d["ci"]["method"].startswith("DeLong")
