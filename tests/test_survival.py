"""validation.survival against R (survival 3.5-3), scikit-survival and hand-worked examples.

References: tests/reference/pred_main, pred_small (tests/reference/R/predictive_more.R) and
pred_tdauc (tests/reference/pred_tdauc/make_reference.py, scikit-survival 0.28.0).
"""

from __future__ import annotations

import json
import math
from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from validation.stats.predictive import harrell_c, roc_auc
from validation.stats.results import NotEstimable, to_dict
from validation.stats.survival import cox, kaplan_meier, logrank, time_dependent_auc, uno_c

REF = Path(__file__).parent / "reference"


def load(folder: str) -> dict:
    return json.loads((REF / folder / "reference.json").read_text())


def arr(values) -> np.ndarray:
    """A reference list as floats, R's non-finite strings as IEEE values."""
    m = {"Inf": math.inf, "-Inf": -math.inf, "NaN": math.nan, "NA": math.nan}
    if not isinstance(values, list):
        values = [values]
    return np.array([m[v] if isinstance(v, str) else v for v in values], dtype=float)


def same(a, ref, tol: float) -> float:
    """Elementwise equality within tol, NaN / infinities at the same places; the max difference."""
    a = np.asarray(a, dtype=float)
    r = arr(ref)
    assert a.shape == r.shape, (a.shape, r.shape)
    assert np.array_equal(np.isnan(a), np.isnan(r))
    inf = np.isinf(r)
    assert np.array_equal(a[inf], r[inf])
    fin = np.isfinite(r)
    diff = float(np.max(np.abs(a[fin] - r[fin]), initial=0.0))
    assert diff <= tol, diff
    return diff


@pytest.fixture(scope="module")
def main():
    return pd.read_csv(REF / "pred_main" / "data.csv")


@pytest.fixture(scope="module")
def ref():
    return load("pred_main")


@pytest.fixture(scope="module")
def small():
    return load("pred_small")


@pytest.fixture(scope="module")
def km_data():
    return pd.read_csv(REF / "pred_small" / "km.csv")


@pytest.fixture(scope="module")
def cx():
    return pd.read_csv(REF / "pred_small" / "cox_ties.csv")


# ------------------------------------------------------------------------------ Kaplan-Meier


def check_km(k, r):
    names = list(r["curves"])
    assert len(k.curves) == len(names)
    for cv, name in zip(k.curves, names):
        rc = r["curves"][name]
        assert (cv.group or "all") == name
        same(cv.time, rc["time"], 0)
        same(cv.n_risk, rc["n_risk"], 0)
        same(cv.n_event, rc["n_event"], 0)
        same(cv.n_censor, rc["n_censor"], 0)
        same(cv.survival, rc["surv"], 1e-14)
        same(cv.std_err_log, rc["std_err_log"], 1e-14)
        same(cv.lower, rc["lower"], 1e-14)
        same(cv.upper, rc["upper"], 1e-14)
    s = r["summary"]
    groups = np.array(s["group"])
    for cv in k.curves:
        sel = groups == (cv.group or "all")
        at = cv.at_times
        for ours, theirs, tol in (("time", "time", 0), ("n_risk", "n_risk", 0), ("n_event", "n_event", 0),
                                  ("n_censor", "n_censor", 0), ("survival", "surv", 1e-14),
                                  ("std_err", "std_err", 1e-14), ("lower", "lower", 1e-14), ("upper", "upper", 1e-14)):
            same(getattr(at, ours), arr(s[theirs])[sel].tolist(), tol)


def test_km_against_survfit(main, ref):
    check_km(kaplan_meier(main.time, main.event, times=[0, 6, 12, 18.5, 24, 36, 48, 60]), ref["km_all"])
    check_km(kaplan_meier(main.time, main.event, main.band, times=[0, 6, 12, 18.5, 24, 36, 48, 60]), ref["km_band"])
    k90 = kaplan_meier(main.time, main.event, times=[30, 10], ci=0.90)
    check_km(k90, ref["km_all_90"])
    assert k90.conf_type == "log" and k90.level == 0.9


def test_km_to_zero_and_times_after_follow_up(km_data, small):
    k = kaplan_meier(km_data.time, km_data.event, times=[0, 2, 3.5, 8, 9, 10])
    check_km(k, small["km_all"])
    assert k.curves[0].at_times.times_dropped == (10.0,)
    g = kaplan_meier(km_data.time, km_data.event, km_data.g, times=[0, 2, 3.5, 8, 9])
    check_km(g, small["km_group"])
    b = g.curves[1]
    assert b.group == "b" and b.survival[-1] == 0.0 and b.std_err_log[-1] == math.inf
    assert math.isnan(b.std_err[-1]) and math.isnan(b.lower[-1]) and math.isnan(b.upper[-1])
    assert b.at_times.times_dropped == (9.0,) and any("group b" in w for w in g.warnings)
    json.dumps(to_dict(g))
    assert list(b.to_frame().columns)[:3] == ["time", "n_risk", "n_event"]


def test_km_closed_form():
    # times 1, 2, 2+, 3: S = 3/4, 3/4 * 2/3 = 1/2 (censoring at 2 after the event), then 0
    k = kaplan_meier([1, 2, 2, 3], [1, 1, 0, 1]).curves[0]
    assert k.time.tolist() == [1, 2, 3] and k.n_risk.tolist() == [4, 3, 1]
    assert k.survival.tolist() == pytest.approx([0.75, 0.5, 0.0])
    assert k.std_err_log[:2] == pytest.approx([math.sqrt(1 / 12), math.sqrt(1 / 12 + 1 / 6)])


def test_km_arguments():
    with pytest.raises(ValueError, match="event must be coded"):
        kaplan_meier([1, 2], [1, 2])
    with pytest.raises(ValueError, match="time must be >= 0"):
        kaplan_meier([-1, 2], [1, 0])
    with pytest.raises(ValueError, match="same length"):
        kaplan_meier([1, 2], [1])
    with pytest.raises(NotEstimable, match="no observation"):
        kaplan_meier([np.nan], [1])
    k = kaplan_meier([1, 2, np.nan], [1, 0, 1], group=["a", None, "a"])
    assert k.n_dropped == 2 and k.curves[0].n == 1


# -------------------------------------------------------------------------------- log-rank


@pytest.mark.parametrize("key, col", [("logrank_band", "band"), ("logrank_site", "site")])
def test_logrank_against_survdiff(main, ref, key, col):
    r = ref[key]
    t = logrank(main.time, main.event, main[col])
    assert list(t.groups) == r["groups"]
    same(t.n, r["n"], 0)
    same(t.observed, r["observed"], 0)
    same(t.expected, r["expected"], 1e-11)
    same(t.variance.ravel(), np.array(r["var"]).ravel().tolist(), 1e-11)
    assert t.chisq == pytest.approx(r["chisq"], abs=1e-11)
    assert t.df == r["df"]
    assert t.p == pytest.approx(r["p"], abs=1e-14)


def test_logrank_group_without_expected_events(cx, small):
    r = small["logrank_three"]
    t = logrank(cx.time, cx.event, cx.g)
    assert t.groups == ("p", "q", "r") and t.expected[2] == 0 and t.df == 1 == r["df"]
    assert t.chisq == pytest.approx(r["chisq"], abs=1e-12)
    same(t.variance.ravel(), np.array(r["var"]).ravel().tolist(), 1e-12)


def test_logrank_degenerate():
    with pytest.raises(NotEstimable, match="two groups"):
        logrank([1, 2, 3], [1, 1, 0], ["a", "a", "a"])
    with pytest.raises(NotEstimable, match="at least one event"):
        logrank([1, 2, 3], [0, 0, 0], ["a", "b", "a"])


# ------------------------------------------------------------------------------------- Cox


def check_cox(m, r, tol=1e-8):
    assert [t.name for t in m.terms] == (r["terms"] if isinstance(r["terms"], list) else [r["terms"]])
    same([t.coef for t in m.terms], r["coef"], tol)
    same([t.se for t in m.terms], r["se"], tol)
    same([t.hr for t in m.terms], r["hr"], tol)
    same([t.z for t in m.terms], r["z"], 1e-6)
    same([t.p for t in m.terms], r["p"], 1e-9)
    same([t.hr_ci.lower for t in m.terms], r["hr_lower"], tol)
    same([t.hr_ci.upper for t in m.terms], r["hr_upper"], tol)
    same(m.vcov.ravel(), np.array(r["vcov"], dtype=float).ravel().tolist(), 1e-10)
    assert m.loglik_null == pytest.approx(r["loglik"][0], abs=1e-9)
    assert m.loglik == pytest.approx(r["loglik"][1], abs=1e-9)
    for test, key in ((m.lr_test, "lr"), (m.wald_test, "wald"), (m.score_test, "score")):
        assert test.chisq == pytest.approx(r[key][0], abs=1e-8)
        assert test.df == r[key][1]
        assert test.p == pytest.approx(r[key][2], abs=1e-10)
    c = r["concordance"]
    assert m.concordance.c == pytest.approx(c["concordance"], abs=1e-12)
    assert m.concordance.se == pytest.approx(c["std"], abs=1e-12)
    assert (m.concordance.concordant, m.concordance.discordant, m.concordance.tied_risk) == (
        c["concordant"], c["discordant"], c["tied.x"])
    assert m.concordance.tied_time == c["tied.y"] + c["tied.xy"]
    assert m.n == r["n"] and m.n_events == r["nevent"]
    z = r["zph"]
    same(m.ph_test.chisq, z["chisq"][:-1], 1e-8)
    same(m.ph_test.p, z["p"][:-1], 1e-9)
    assert m.ph_test.global_test.chisq == pytest.approx(z["chisq"][-1], abs=1e-8)
    assert m.ph_test.global_test.df == z["df"][-1]
    assert m.ph_test.global_test.p == pytest.approx(z["p"][-1], abs=1e-9)
    assert list(m.ph_test.terms) == z["rows"][:-1] and m.ph_test.transform == "km"


@pytest.mark.parametrize(
    "key, cols, ties",
    [("cox_score_efron", ["score"], "efron"), ("cox_score_breslow", ["score"], "breslow"),
     ("cox_two_efron", ["score", "x2"], "efron"), ("cox_two_breslow", ["score", "x2"], "breslow"),
     ("cox_score2_x2_efron", ["score2", "x2"], "efron")],
)
def test_cox_against_coxph(main, ref, key, cols, ties):
    m = cox(main.time, main.event, main[cols], ties=ties)
    check_cox(m, ref[key])
    assert m.ties == ties


@pytest.mark.parametrize("key, cols, ties", [("cox_ties_efron", ["x", "w"], "efron"),
                                              ("cox_ties_breslow", ["x", "w"], "breslow"),
                                              ("cox_ties_x_efron", ["x"], "efron")])
def test_cox_heavy_ties_and_zph_transforms(cx, small, key, cols, ties):
    r = small[key]
    check_cox(cox(cx.time, cx.event, cx[cols], ties=ties), r)
    for transform in ("rank", "identity"):
        z = cox(cx.time, cx.event, cx[cols], ties=ties, zph_transform=transform).ph_test
        same(z.chisq, r[f"zph_{transform}"]["chisq"][:-1], 1e-9)
        assert z.global_test.chisq == pytest.approx(r[f"zph_{transform}"]["chisq"][-1], abs=1e-9)


def test_cox_efron_equals_breslow_without_ties():
    rng = np.random.default_rng(2)
    t = rng.permutation(60).astype(float) + 1
    e = rng.integers(0, 2, 60)
    x = rng.normal(size=60)
    a, b = cox(t, e, x, ties="efron"), cox(t, e, x, ties="breslow")
    assert a.terms[0].coef == pytest.approx(b.terms[0].coef, abs=1e-12)
    assert a.loglik == pytest.approx(b.loglik, abs=1e-10)
    assert a.terms[0].name == "x1"


def test_cox_degenerate():
    t = [1, 2, 3, 4, 5, 6]
    with pytest.raises(NotEstimable, match="no event|none found"):
        cox(t, [0] * 6, pd.DataFrame({"x": [1, 2, 3, 4, 5, 6]}))
    with pytest.raises(NotEstimable, match="constant"):
        cox(t, [1, 0, 1, 0, 1, 0], pd.DataFrame({"x": [2] * 6}))
    with pytest.raises(NotEstimable, match="collinear|singular"):
        cox(t, [1, 0, 1, 1, 1, 0], pd.DataFrame({"a": [1, 2, 3, 1, 2, 5], "b": [2, 4, 6, 2, 4, 10]}))
    # x orders the event times perfectly: the likelihood keeps increasing
    with pytest.raises(NotEstimable, match="monotone likelihood"):
        cox(t, [1, 1, 1, 1, 1, 1], pd.DataFrame({"x": [6, 5, 4, 3, 2, 1]}))
    with pytest.raises(ValueError, match="ties"):
        cox(t, [1] * 6, pd.DataFrame({"x": [1, 2, 3, 4, 5, 6]}), ties="exact")
    with pytest.raises(ValueError, match="numeric"):
        cox(t, [1] * 6, pd.DataFrame({"x": list("abcdef")}))


def test_cox_drops_missing_and_serialises(main):
    d = main.copy()
    d.loc[[3, 10], "score"] = np.nan
    m = cox(d.time, d.event, d[["score", "x2"]])
    assert m.n_dropped == 2 and m.n == 398 and m.warnings
    json.dumps(to_dict(m))


# ------------------------------------------------------------------------------------ Uno's C


def brute_uno(time, event, risk, tau):
    """Uno's C by its definition over all pairs (weights 1/G(T_i-)^2 from a hand-rolled KM of
    the censoring, events before censorings), and its infinitesimal-jackknife variance."""
    n = len(time)
    ut = np.unique(time)
    g = 1.0
    gleft = {}
    for u in ut:
        gleft[u] = g
        at_risk = np.sum(time >= u) - np.sum((time == u) & (event == 1))
        cens = np.sum((time == u) & (event == 0))
        if cens:
            g *= 1 - cens / at_risk
    ci, di, ti = np.zeros(n), np.zeros(n), np.zeros(n)
    for i in range(n):
        if not event[i] or (tau is not None and time[i] > tau):
            continue
        w = 1 / gleft[time[i]] ** 2
        for j in range(n):
            if time[i] < time[j] or (time[i] == time[j] and not event[j] and i != j):
                if risk[i] > risk[j]:
                    ci[[i, j]] += w
                elif risk[i] < risk[j]:
                    di[[i, j]] += w
                else:
                    ti[[i, j]] += w
    c, d, t = ci.sum() / 2, di.sum() / 2, ti.sum() / 2
    npair = c + d + t
    somers = (c - d) / npair
    var = np.sum(((ci - di) - somers * (ci + di + ti)) ** 2) / npair**2 / 4
    return (c + t / 2) / npair, var


@pytest.mark.parametrize("key, col, tau, direction", [("uno_score_36", "score", 36, "higher"),
                                                      ("uno_score_24", "score", 24, "higher"),
                                                      ("uno_score_all", "score", None, "higher"),
                                                      ("uno_score2_36", "score2", 36, "higher"),
                                                      ("uno_score_lower_36", "score", 36, "lower")])
def test_uno_against_concordance(main, ref, key, col, tau, direction):
    r = ref[key]
    u = uno_c(main.time, main.event, main[col], tau=tau, direction=direction)
    assert u.c == pytest.approx(r["c"], abs=1e-12)
    assert u.se == pytest.approx(r["se"], abs=1e-12)
    assert u.variance == pytest.approx(r["var"], abs=1e-14)
    cnt = r["count"]
    assert u.concordant == pytest.approx(cnt["concordant"], rel=1e-12)
    assert u.discordant == pytest.approx(cnt["discordant"], rel=1e-12)
    assert u.tied_risk == pytest.approx(cnt["tied.x"], rel=1e-12)
    assert u.tied_time == pytest.approx(cnt["tied.y"] + cnt["tied.xy"], rel=1e-12)
    assert u.n == r["n"]


def test_uno_small_against_concordance(cx, km_data, small):
    for key, s, tau in (("uno_ties", cx.x, 3), ("uno_ties_all", cx.w, None)):
        u = uno_c(cx.time, cx.event, s, tau=tau)
        assert u.c == pytest.approx(small[key]["c"], abs=1e-13)
        assert u.se == pytest.approx(small[key]["se"], abs=1e-13)
    km_score = [5, 3, 4, 4, 2, 3, 1, 2, 1, 0, 5, 2, 2, 1, 0, 1]
    u = uno_c(km_data.time, km_data.event, km_score, tau=8)
    assert u.c == pytest.approx(small["uno_km"]["c"], abs=1e-13)
    assert u.se == pytest.approx(small["uno_km"]["se"], abs=1e-13)


def test_uno_matches_definition_and_reduces_to_harrell():
    rng = np.random.default_rng(12)
    n = 150
    time = rng.integers(1, 15, n).astype(float)
    event = rng.integers(0, 2, n)
    risk = rng.integers(0, 5, n).astype(float)
    for tau in (None, 9.0):
        c, var = brute_uno(time, event, risk, tau)
        u = uno_c(time, event, risk, tau=tau)
        assert u.c == pytest.approx(c, abs=1e-13) and u.variance == pytest.approx(var, abs=1e-15)
    # without censoring every weight is 1: Harrell's C
    ev = np.ones(n)
    assert uno_c(time, ev, risk).c == pytest.approx(harrell_c(time, ev, risk).c, abs=1e-14)
    with pytest.raises(NotEstimable, match="tau"):
        uno_c(time, event, risk, tau=0.5)
    with pytest.raises(NotEstimable, match="at least one event"):
        uno_c([1, 2], [0, 0], [1, 2])


# ----------------------------------------------------------------------- time-dependent AUC


# time, event, score of the hand-worked example (higher score = higher risk)
HAND_T = [1, 2, 2, 3, 4, 5, 6, 7]
HAND_E = [1, 0, 1, 1, 0, 1, 0, 1]
HAND_S = [5, 1, 4, 2, 3, 3, 0, 2]


def test_td_auc_hand_worked():
    """Censoring KM (events first at ties): G = 1 to time 1; at 2, 1 censored of the 6 at risk
    once the event at 2 leaves: G(2) = 5/6; at 4: 1 of 4, G(4) = 5/8; at 6: 1 of 2, G(6) = 5/16.

    Horizon 4 -- cases (event by 4): times 1 (s 5), 2 (s 4), 3 (s 2); controls (after 4): s 3, 0, 2.
    Case wins (ties 1/2): 3, 3, 1.5. Left-limit weights 1/G(T-): 1, 1, 6/5:
    AUC = (3 + 3 + 6/5 * 3/2) / ((1 + 1 + 6/5) * 3) = (39/5) / (48/5) = 13/16.
    Weights at T (scikit-survival): 1, 6/5, 6/5: (3 + 18/5 + 9/5) / ((17/5) * 3) = 14/17.

    Horizon 5.5 -- the case at 5 (s 3) joins, weight 1/G(4) = 8/5 either way; controls s 0, 2;
    wins 2, 2, 1.5, 2. Left: (2 + 2 + 9/5 + 16/5) / ((24/5) * 2) = 9 / (48/5) = 15/16.
    At T: (2 + 12/5 + 9/5 + 16/5) / (5 * 2) = (47/5) / 10 = 47/50.
    """
    left = time_dependent_auc(HAND_T, HAND_E, HAND_S, [4, 5.5])
    assert left.auc == pytest.approx([float(Fraction(13, 16)), float(Fraction(15, 16))], abs=1e-15)
    assert left.n_cases.tolist() == [3, 4] and left.n_controls.tolist() == [3, 2]
    assert left.n_censored.tolist() == [2, 2]
    right = time_dependent_auc(HAND_T, HAND_E, HAND_S, [4, 5.5], g_limit="right")
    assert right.auc == pytest.approx([float(Fraction(14, 17)), float(Fraction(47, 50))], abs=1e-15)
    low = time_dependent_auc(HAND_T, HAND_E, [-v for v in HAND_S], [4, 5.5], direction="lower")
    assert low.auc == pytest.approx(left.auc, abs=1e-15)
    json.dumps(to_dict(left))


def test_td_auc_without_censoring_is_the_ordinary_auc(main):
    rng = np.random.default_rng(3)
    t = main.time.to_numpy() + rng.integers(0, 3, len(main))  # ties kept
    e = np.ones(len(main))
    for h in (6, 12, 24):
        a = time_dependent_auc(t, e, main.score, [h])
        assert a.auc[0] == pytest.approx(roc_auc((t <= h).astype(int), main.score).auc, abs=1e-14)


def test_td_auc_against_scikit_survival(main):
    r = load("pred_tdauc")
    for name, s in (("score", main.score), ("score2", main.score2), ("minus_score", -main.score)):
        a = time_dependent_auc(main.time, main.event, s, r["horizons"], g_limit="right")
        same(a.auc, r[name]["auc"], 1e-14)


def test_td_auc_live_scikit_survival(main):
    sksurv_metrics = pytest.importorskip("sksurv.metrics")
    from sksurv.util import Surv

    y = Surv.from_arrays(event=main.event.to_numpy() == 1, time=main.time.to_numpy(dtype=float))
    auc, _ = sksurv_metrics.cumulative_dynamic_auc(y, y, main.score.to_numpy(dtype=float), [5, 20, 40])
    ours = time_dependent_auc(main.time, main.event, main.score, [5, 20, 40], g_limit="right")
    assert np.max(np.abs(ours.auc - auc)) < 1e-14


def test_td_auc_degenerate():
    with pytest.raises(NotEstimable, match="no case"):
        time_dependent_auc(HAND_T, HAND_E, HAND_S, [0.5])
    with pytest.raises(NotEstimable, match="no control"):
        time_dependent_auc(HAND_T, HAND_E, HAND_S, [7])
    with pytest.raises(ValueError, match="g_limit"):
        time_dependent_auc(HAND_T, HAND_E, HAND_S, [4], g_limit="middle")
    with pytest.raises(ValueError, match="horizons"):
        time_dependent_auc(HAND_T, HAND_E, HAND_S, [])
