"""Ordinal structural models (WLSMV) against lavaan 0.6-14: tests/reference/ordinal, written by
tests/reference/R/ordinal.R.

lavaan's polychoric correlations stop short of the exact root of their score by up to about 3e-8 (its
optimiser's stopping rule); this package solves to the root, so correlations and what follows from them
agree to about 1e-7, everything else to rounding."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from validation.stats._polychoric import _cells, ordinal_moments

REF = Path(__file__).parent / "reference" / "ordinal"
SAMPSTATS = json.loads((REF / "sampstats.json").read_text())
ITEMS = [f"y{i}" for i in range(1, 9)]


def _codes(frame: pd.DataFrame) -> np.ndarray:
    return frame[ITEMS].to_numpy(dtype=float) - 1.0


def _cases():
    data = pd.read_csv(REF / "ordinal.csv")
    yield "g1", _codes(data[data["group"] == "g1"]), SAMPSTATS["g1"][0]
    for g, ref in zip(("g1", "g2"), SAMPSTATS["two_groups"]):
        yield f"two_groups {g}", _codes(data[data["group"] == g]), ref
    yield "g1 missing, pairwise", _codes(pd.read_csv(REF / "g1_missing.csv")), SAMPSTATS["g1_missing_pairwise"][0]


@pytest.mark.parametrize("name, codes, ref", list(_cases()), ids=lambda v: v if isinstance(v, str) else "")
def test_sample_statistics_as_lavaan(name, codes, ref):
    m = ordinal_moments(codes, 3)
    assert m["n"] == ref["nobs"]
    assert np.concatenate(m["thresholds"]) == pytest.approx(ref["thresholds"], abs=1e-12)
    assert m["rho"] == pytest.approx(np.array(ref["polychoric"]), abs=1e-7)
    gamma = np.array(ref["gamma"])
    assert m["gamma"] == pytest.approx(gamma, abs=1e-7 * np.abs(gamma).max())
    # element order: thresholds item by item, then the correlations y1~~y2, y1~~y3, ..., y7~~y8
    iu, ju = np.triu_indices(len(ITEMS), 1)
    labels = [f"{ITEMS[i]}|t{t}" for i in range(len(ITEMS)) for t in (1, 2)]
    labels += [f"{ITEMS[i]}~~{ITEMS[j]}" for i, j in zip(iu, ju)]
    assert labels == ref["gamma_labels"]


def test_polychoric_correlations_are_the_exact_root_of_their_score():
    codes = _codes(pd.read_csv(REF / "ordinal.csv").query("group == 'g1'"))
    m = ordinal_moments(codes, 3)
    iu, ju = np.triu_indices(len(ITEMS), 1)
    tau = np.array([np.r_[t, [np.inf] * (2 - len(t))] for t in m["thresholds"]])
    P, D = _cells(tau[iu], tau[ju], m["rho"][iu, ju], 1)
    tabs = np.zeros_like(P)
    for q, (i, j) in enumerate(zip(iu, ju)):
        ok = ~np.isnan(codes[:, i]) & ~np.isnan(codes[:, j])
        np.add.at(tabs[q], (codes[ok, i].astype(int), codes[ok, j].astype(int)), 1.0)
    score = (tabs * D / P).sum(axis=(1, 2))
    assert np.abs(score).max() < 1e-8


def test_empty_rows_are_left_out_and_counted_once():
    codes = _codes(pd.read_csv(REF / "g1_missing.csv"))
    with_empty = np.vstack([codes, np.full((3, len(ITEMS)), np.nan)])
    a, b = ordinal_moments(codes, 3), ordinal_moments(with_empty, 3)
    assert a["n"] == b["n"] == len(codes)
    assert np.array_equal(a["gamma"], b["gamma"])


# --------------------------------------------------------------------------------------------------
# WLSMV fits (tests/reference/ordinal/fits.json): lavaan stops its optimiser short of the minimum (its
# gradient is about 1e-7 there), this package goes to it: estimates move by up to 8e-6 (lavaan's distance
# from the minimum in the threshold-invariance model), so values near 0 are compared at 1e-5 absolute,
# the rest at 1e-4 relative (standard errors 1e-3)
# --------------------------------------------------------------------------------------------------

FITS = json.loads((REF / "fits.json").read_text())
DATA = pd.read_csv(REF / "ordinal.csv")


def _fit(case: str):
    from validation.stats.cfa import cfa

    model = FITS["model"]
    g1 = DATA[DATA["group"] == "g1"]
    kw = {"estimator": "WLSMV", "ordered": ITEMS}
    if case == "g1":
        return cfa(model, g1, **kw)
    if case == "g1_theta":
        return cfa(model, g1, parameterization="theta", **kw)
    if case == "g1_std_lv":
        return cfa(model, g1, std_lv=True, **kw)
    if case == "g1_missing_pairwise":
        return cfa(model, pd.read_csv(REF / "g1_missing.csv"), **kw)
    equal = {"configural": (), "thresholds": ("thresholds",), "thresholds_loadings": ("thresholds", "loadings")}[case]
    return cfa(model, DATA, group="group", equal=equal, **kw)


CASES = ["g1", "g1_theta", "g1_std_lv", "g1_missing_pairwise", "configural", "thresholds", "thresholds_loadings"]


@pytest.mark.parametrize("case", CASES)
def test_wlsmv_fit_measures_as_lavaan(case):
    res = _fit(case)
    for key, want in FITS[case]["fit"].items():
        got = res.fit[key]
        if want is None:       # lavaan: not formed (robust indices with thresholds equal across groups)
            assert np.isnan(got), key
        else:
            assert got == pytest.approx(want, rel=1e-4, abs=1e-6), key


@pytest.mark.parametrize("case", CASES)
def test_wlsmv_parameters_as_lavaan(case):
    res = _fit(case)
    mine = {(p.lhs, p.op, p.rhs, p.group): p for p in res.parameters}
    rows = FITS[case]["params"]
    assert len(rows) == len(mine)
    for row in rows:
        p = mine[(row["lhs"], row["op"], row["rhs"], row["group"])]
        where = f"{row['lhs']}{row['op']}{row['rhs']} [{row['group']}]"
        assert p.est == pytest.approx(row["est"], rel=1e-4, abs=1e-5), where
        assert p.se == pytest.approx(row["se"], rel=1e-3, abs=1e-6), where
        assert p.std_all == pytest.approx(row["std"], rel=1e-4, abs=1e-5), where
        if row["std_se"] is not None:
            assert p.std_se == pytest.approx(row["std_se"], rel=1e-3, abs=1e-6), where
    assert res.estimator == "WLSMV"


def test_bad_ordinal_data_gets_a_clear_message():
    from validation.stats import NotEstimable
    from validation.stats.cfa import cfa

    model, kw = FITS["model"], {"estimator": "WLSMV", "ordered": ITEMS}
    data = DATA.copy()
    data.loc[(data["group"] == "g2") & (data["y1"] == 3), "y1"] = 2     # category 3 of y1 empty in g2
    with pytest.raises(NotEstimable, match=r"y1: category 3 has no answer in group 'g2' \(frequencies \d+, \d+, 0\)"):
        cfa(model, data, group="group", **kw)
    one = DATA[DATA["group"] == "g1"].assign(y3=2)
    with pytest.raises(NotEstimable, match=r"y3 has only one category \(2\)"):
        cfa(model, one, **kw)
    with pytest.raises(ValueError, match=r"also list \['y8'\]"):
        cfa(model, DATA, estimator="WLSMV", ordered=ITEMS[:-1])
    with pytest.raises(ValueError, match="only ordinal items have thresholds"):
        cfa(model, DATA, group="group", equal=("thresholds",))
    with pytest.raises(ValueError, match="parameterization"):
        cfa(model, DATA, parameterization="gamma", **kw)


def test_categories_are_the_items_distinct_values_in_order():
    from validation.stats.cfa import cfa

    g1 = DATA[DATA["group"] == "g1"]
    recoded = g1.assign(**{item: g1[item].map({1: 10, 2: 20, 3: 40}) for item in ITEMS})
    a = cfa(FITS["model"], g1, estimator="WLSMV", ordered=True)
    b = cfa(FITS["model"], recoded, estimator="WLSMV", ordered=True)
    assert a.fit["chisq"] == b.fit["chisq"]
    assert [p.est for p in a.parameters] == [p.est for p in b.parameters]


def test_ordinal_invariance_steps_and_their_scaled_differences_as_lavaan():
    from validation.stats.cfa import invariance

    res = invariance(FITS["model"], DATA, "group", estimator="WLSMV", ordered=True)
    assert [s.name for s in res.steps] == ["configural", "thresholds", "thresholds and loadings"]
    for step, case in zip(res.steps, ("configural", "thresholds", "thresholds_loadings")):
        for key in ("chisq", "chisq.scaled", "cfi.scaled", "rmsea.scaled"):
            assert step.fit[key] == pytest.approx(FITS[case]["fit"][key], rel=1e-4, abs=1e-6), (case, key)
    for step, key in zip(res.steps[1:], ("configural_thresholds", "thresholds_loadings")):
        want = FITS["lrt"][key]
        assert step.df_diff == want["df_diff"]
        assert step.chisq_diff == pytest.approx(want["chisq_diff"], rel=1e-4)
        assert step.pvalue == pytest.approx(want["p"], rel=1e-3)
        assert step.delta_cfi == pytest.approx(step.fit["cfi.scaled"] - res.steps[0 if key.startswith("conf") else 1]
                                               .fit["cfi.scaled"])
    # equal thresholds fail (scaled CFI drops by 0.017, p < 0.001): the sequence stops at configural
    assert res.steps[1].holds is False and res.level == "configural"
    assert set(res.to_frame()["model"]) == {"configural", "thresholds", "thresholds and loadings"}


# --------------------------------------------------------------------------------------------------
# categorical omega (Green & Yang 2009) against semTools::compRelSEM(fit, ord.scale = TRUE)
# --------------------------------------------------------------------------------------------------

OMEGA = json.loads((REF / "omega.json").read_text())


def test_green_yang_omega_of_each_factor_of_a_two_factor_fit():
    from validation.stats import green_yang_omega
    from validation.stats.cfa import cfa

    g1 = DATA[DATA["group"] == "g1"]
    res = cfa(FITS["model"], g1, estimator="WLSMV", ordered=True)
    rho = ordinal_moments(_codes(g1), 3)["rho"]
    est = {(p.lhs, p.op, p.rhs): p.est for p in res.parameters}
    for f, items in (("F1", ITEMS[:4]), ("F2", ITEMS[4:])):
        idx = [ITEMS.index(i) for i in items]
        omega = green_yang_omega(np.array([est[(f, "=~", i)] for i in items]), est[(f, "~~", f)],
                                 [np.array([est[(i, "|", "t1")], est[(i, "|", "t2")]]) for i in items],
                                 rho[np.ix_(idx, idx)])
        assert omega == pytest.approx(OMEGA["two_factor_g1"][f], rel=1e-6)


@pytest.mark.parametrize("case", ["g1_y1_y4", "g1_y5_y8", "g1_missing_y1_y4", "g1_all"])
def test_categorical_omega_as_semtools(case):
    from validation.stats import categorical_omega

    ref = OMEGA["one_factor"][case]
    frame = pd.read_csv(REF / "g1_missing.csv") if "missing" in case else DATA[DATA["group"] == "g1"]
    res = categorical_omega(frame[ref["items"]])
    assert res.omega == pytest.approx(ref["omega"], rel=1e-6)
    assert res.k == len(ref["items"]) and 0 < res.ci.lower < res.omega < res.ci.upper < 1
    assert res.ci.upper - res.omega == pytest.approx(1.959964 * res.se, rel=1e-5)
    assert set(res.loadings) == set(ref["items"]) and res.missing.startswith("pairwise")


def test_categorical_omega_standard_error_follows_the_refitted_model():
    """The delta method's gradient (omega through the DWLS estimates and the correlations) against
    central differences of omega with the model refitted at shifted sample statistics. The delta method
    is asymptotic: d theta / d s = (D' W D)^-1 D' W leaves out the curvature of the model times its
    residuals, so the check starts where the model fits exactly (s = the implied statistics)."""
    from validation.stats import green_yang_omega
    from validation.stats.cfa import _cfa_wlsmv
    from validation.stats.cfa import _ordinal as O

    frame = DATA[DATA["group"] == "g1"][ITEMS[:4]].set_axis(["x1", "x2", "x3", "x4"], axis=1)
    _, (spec, state, inf, _) = _cfa_wlsmv("F =~ x1 + x2 + x3 + x4", frame, None, (), (), True, "pairwise", "delta", True)
    st = spec.stats[0]

    def omega_at(s: np.ndarray) -> float:
        moved = O.OrdinalSpec(spec.table, [O.GroupStats(s, st.gamma, st.n, st.thresholds, st.rho)], "delta")
        theta = O.fit_dwls(moved, state.theta).theta
        _, mt = moved.implied(theta[None, :], 0)
        R = np.eye(4)
        R[moved.iu, moved.ju] = s[moved.nthr:]
        tau = mt[O.TAU][0]
        return green_yang_omega(mt[O.LAMBDA][0][:, 0], mt[O.PSI][0][0, 0], [tau[2 * j:2 * j + 2] for j in range(4)], R)

    rng = np.random.default_rng(5)
    base = spec.sigma(state.theta, 0)
    st = O.GroupStats(base, st.gamma, st.n, st.thresholds, st.rho)
    assert O.fit_dwls(O.OrdinalSpec(spec.table, [st], "delta"), state.theta).theta == pytest.approx(state.theta)
    D = inf.jacobians[0]
    WD = D * st.w[:, None]
    dtheta = np.linalg.solve(D.T @ WD, WD.T)
    for _ in range(3):
        v = rng.normal(size=st.s.size)
        numeric = (omega_at(st.s + 1e-5 * v) - omega_at(st.s - 1e-5 * v)) / 2e-5
        # the same directional derivative from the pieces categorical_omega combines
        eps = 1e-6
        theta_v = dtheta @ v
        _, mt_p = spec.implied((state.theta + eps * theta_v)[None, :], 0)
        _, mt_m = spec.implied((state.theta - eps * theta_v)[None, :], 0)

        def om(mt, s):
            R = np.eye(4)
            R[spec.iu, spec.ju] = s[spec.nthr:]
            tau = mt[O.TAU][0]
            return green_yang_omega(mt[O.LAMBDA][0][:, 0], mt[O.PSI][0][0, 0], [tau[2 * j:2 * j + 2] for j in range(4)], R)
        analytic = (om(mt_p, st.s + eps * v) - om(mt_m, st.s - eps * v)) / (2 * eps)
        assert analytic == pytest.approx(numeric, rel=1e-4, abs=1e-7)


def test_green_yang_gradient_in_closed_form_equals_central_differences():
    from validation.stats import green_yang_omega
    from validation.stats.reliability import _green_yang_gradient

    rng = np.random.default_rng(3)
    k = 5
    lam, phi = rng.uniform(0.4, 0.8, k), 1.1
    cuts = [np.sort(rng.normal(size=3)) for _ in range(k)]
    R = np.full((k, k), 0.35) + np.diag(np.full(k, 0.65))
    R[0, 1] = R[1, 0] = 0.5
    om, d_lam, d_phi, d_a, d_R = _green_yang_gradient(lam, phi, cuts, R)
    assert om == pytest.approx(green_yang_omega(lam, phi, cuts, R), rel=1e-14)
    h = 1e-6

    def at(lam=lam, phi=phi, cuts=cuts, R=R):
        return green_yang_omega(lam, phi, cuts, R)

    for j in range(k):
        e = np.eye(k)[j] * h
        assert d_lam[j] == pytest.approx((at(lam=lam + e) - at(lam=lam - e)) / (2 * h), rel=1e-6)
    assert d_phi == pytest.approx((at(phi=phi + h) - at(phi=phi - h)) / (2 * h), rel=1e-6)
    flat = np.concatenate(cuts)
    for p in range(flat.size):
        up, dn = flat.copy(), flat.copy()
        up[p] += h
        dn[p] -= h
        split = lambda v: [v[3 * j:3 * j + 3] for j in range(k)]  # noqa: E731
        assert d_a[p] == pytest.approx((at(cuts=split(up)) - at(cuts=split(dn))) / (2 * h), rel=1e-5, abs=1e-9)
    for i, j in [(0, 1), (2, 4)]:
        up, dn = R.copy(), R.copy()
        up[i, j] = up[j, i] = R[i, j] + h
        dn[i, j] = dn[j, i] = R[i, j] - h
        assert d_R[i, j] == pytest.approx((at(R=up) - at(R=dn)) / (2 * h), rel=1e-6)


def test_pairwise_counts_behind_each_polychoric_correlation():
    from validation.stats.cfa import cfa

    frame = pd.read_csv(REF / "g1_missing.csv")
    res = cfa(FITS["model"], frame, estimator="WLSMV", ordered=True)
    (counts,) = res.pairwise_n.values()
    answered = frame[ITEMS].notna().astype(int)
    assert (counts.to_numpy() == (answered.T @ answered).to_numpy()).all()
    low = int(counts.to_numpy()[np.triu_indices(len(ITEMS), 1)].min())
    assert f"({low} to " in res.missing
