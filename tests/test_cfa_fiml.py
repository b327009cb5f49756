"""validation.cfa with missing="ml" (full-information ML) against lavaan 0.6-14 and brute force.

References (tests/reference/, written by R/cfa_fiml.R):
  cfa_fiml_hs/   HolzingerSwineford1939 with ~10% of x1..x9 missing completely at random and two
                 emptied cases: single group, configural / metric / scalar / partial across
                 schools, std.lv with a residual covariance; lavTestLRT, lavTestScore; the EM
                 moments of the unrestricted model; expected and observed information matrices
  cfa_fiml_big/  24 items, 3 factors, 400 cases, 5% missing plus three cases missing 20 items
                 (149 patterns): single group and a two-group scalar model
  cfa_hs1939/    (from R/cfa.R) the complete data with meanstructure = TRUE: FIML on complete
                 data is ordinary ML

Tolerances as in test_cfa.py: our fit against lavaan's fit -- chi-square based measures 1e-6
(relative), quantities that move with the estimates (estimates, SEs, SRMR, standardized values)
1e-4 of their scale, modification indices 1e-3; our formulas at lavaan's own estimates -- about
1e-9 (standard errors 1e-8: lavaan takes the observed information from a numerical Hessian;
standardized SEs 1e-6: lavaan's forward-difference Jacobian).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from validation.stats.cfa import _engine as eng
from validation.stats import cfa as cfa_mod
from validation.stats.cfa import CFAResult, cfa, invariance
from validation.stats.results import NotEstimable, to_dict

REF = Path(__file__).parent / "reference"

RESIDUAL_MEASURES = ("rmr", "rmr_nomean", "srmr", "srmr_bentler", "srmr_bentler_nomean", "crmr", "crmr_nomean",
                     "srmr_mplus", "srmr_mplus_nomean")
# lavaan's FIML-corrected "robust" indices and the GFI family are not computed
NOT_COMPUTED = {"cfi.robust", "tli.robust", "nnfi.robust", "rni.robust", "rmsea.robust", "rmsea.ci.lower.robust",
                "rmsea.ci.upper.robust", "rmsea.pvalue.robust", "rmsea.notclose.pvalue.robust", "gfi", "agfi", "pgfi"}
FIT_RTOL = 1e-6
OPT_RTOL = 1e-4
MI_RTOL = 1e-3
AT_RTOL = 1e-9
AT_SE_RTOL = 1e-8
AT_STD_SE_RTOL = 1e-6


def load(folder: str) -> dict:
    return json.loads((REF / folder / "reference.json").read_text())


def csv(folder: str, name: str = "data.csv") -> pd.DataFrame:
    return pd.read_csv(REF / folder / name)


def num(x) -> float:
    return math.nan if x is None else float(x)


def close(a: float, b, rtol: float, scale: float | None = None) -> bool:
    b = num(b)
    if math.isnan(b) or math.isnan(a):
        return math.isnan(b) and math.isnan(a)
    s = max(abs(b), scale or 0.0, 1e-300)
    return abs(a - b) <= rtol * s or abs(a - b) <= 1e-13


def check_fit(res: CFAResult, ref: dict, *, rtol: float = FIT_RTOL, rtol_resid: float = OPT_RTOL) -> None:
    assert set(ref["fit"]) - set(res.fit) == NOT_COMPUTED & set(ref["fit"])
    for k, v in ref["fit"].items():
        if k in NOT_COMPUTED:
            continue
        tol = rtol_resid if k in RESIDUAL_MEASURES else rtol
        scale = 1e-8 if k in ("pvalue", "rmsea.pvalue", "rmsea.notclose.pvalue", "baseline.pvalue") else None
        assert close(res.fit[k], v, tol, scale), (k, res.fit[k], v)


def check_params(res: CFAResult, ref: dict, *, rtol: float = OPT_RTOL, rtol_se: float | None = None,
                 rtol_std_se: float | None = None) -> None:
    mine = {(p.lhs, p.op, p.rhs, p.group): p for p in res.parameters}
    assert [(r["lhs"], r["op"], r["rhs"], r.get("group")) for r in ref["params"]] == list(mine)
    tol_se = rtol if rtol_se is None else rtol_se
    for row in ref["params"]:
        p = mine[(row["lhs"], row["op"], row["rhs"], row.get("group"))]
        assert p.label == row.get("label", ""), (p, row)
        assert close(p.est, row["est"], rtol, num(row["se"])), (p, row)
        assert close(p.se, row["se"], tol_se), (p, row)
        if p.free:
            assert close(p.z, row["z"], tol_se, 1.0), (p, row)
            assert close(p.pvalue, row["pvalue"], tol_se, 1.0), (p, row)
    std = {(r["lhs"], r["op"], r["rhs"], r.get("group")): r for r in ref["std"]}
    tol_sse = rtol if rtol_std_se is None else rtol_std_se
    for key, p in mine.items():
        row = std[key]
        assert close(p.std_all, row["est.std"], rtol, num(row["se"])), (p, row)
        assert close(p.std_se, row["se"], tol_sse), (p, row)
        assert close(p.std_z, row["z"], tol_sse, 1.0), (p, row)


def check_mi(res: CFAResult, ref: dict, *, rtol: float = MI_RTOL) -> None:
    mine = {(m.lhs, m.op, m.rhs, m.group): m for m in res.modification_indices}
    for row in ref["mi"]:
        m = mine[(row["lhs"], row["op"], row["rhs"], row.get("group"))]
        assert close(m.mi, row["mi"], rtol, 1.0), (m, row)
        for a, b in (("epc", "epc"), ("sepc_lv", "sepc.lv"), ("sepc_all", "sepc.all")):
            assert close(getattr(m, a), row[b], rtol), (a, m, row)
    top = [m.mi for m in res.modification_indices[: len(ref["mi"])]]
    np.testing.assert_allclose(top, [r["mi"] for r in ref["mi"]], rtol=rtol)


def estimates_of(ref: dict) -> dict:
    return {(r["lhs"], r["op"], r["rhs"], r.get("group")): r["est"] for r in ref["params"]}


def at_lavaan(ref: dict, model: str, data, **kw):
    fitted = cfa_mod._fitted_at(model, data, estimates=estimates_of(ref), missing="ml", **kw)
    return fitted, cfa_mod._build_result(fitted, None)


def check_at(ref: dict, model: str, data, **kw):
    fitted, res = at_lavaan(ref, model, data, **kw)
    check_fit(res, ref, rtol=AT_RTOL * 10, rtol_resid=AT_RTOL)
    check_params(res, ref, rtol=AT_RTOL, rtol_se=AT_SE_RTOL, rtol_std_se=AT_STD_SE_RTOL)
    check_mi(res, ref, rtol=AT_RTOL)
    return fitted


# --------------------------------------------------------------------------------------------------
# Holzinger & Swineford with missing values
# --------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def hs() -> pd.DataFrame:
    return csv("cfa_fiml_hs")


@pytest.fixture(scope="module")
def hsref() -> dict:
    return load("cfa_fiml_hs")


HS_CASES = {
    "single": ("model", {}),
    "configural": ("model", {"group": "school"}),
    "metric": ("model", {"group": "school", "equal": ("loadings",)}),
    "scalar": ("model", {"group": "school", "equal": ("loadings", "intercepts")}),
    "partial": ("model", {"group": "school", "equal": ("loadings", "intercepts"), "group_partial": ("x3~1",)}),
    "stdlv_rescov": ("model_rescov", {"std_lv": True}),
}


@pytest.mark.parametrize("case", list(HS_CASES))
def test_hs_fiml(hs, hsref, case):
    model_key, kw = HS_CASES[case]
    ref = hsref[case]
    res = cfa(hsref[model_key], hs, missing="ml", modindices=len(ref["mi"]), **kw)
    assert ref["converged"] and res.converged
    check_fit(res, ref)
    check_params(res, ref)
    check_mi(res, ref)
    nobs = ref["nobs"] if isinstance(ref["nobs"], list) else [ref["nobs"]]
    assert res.nobs == dict(zip(ref["groups"] or [""], nobs))
    assert res.meanstructure and res.estimator == "ML" and res.missing.startswith("full information ML")
    check_at(ref, hsref[model_key], hs, **kw)


def test_hs_fiml_cases_patterns_and_empty_rows(hs, hsref):
    res = cfa(hsref["model"], hs, missing="ml", modindices=0)
    # two cases without any value are dropped, as lavaan does (with a warning)
    assert res.n == 299 == hsref["single"]["fit"]["ntotal"]
    assert any("2 case(s) without any value" in w and "16, 229" in w for w in res.warnings)
    assert f"{hsref['single']['npatterns']} missing-data pattern(s)" in res.missing
    # the emptied rows' 18 values are not counted among the missing ones of the cases used
    assert f"({(hsref['missing_values'] - 18) / (299 * 9):.1%} of the values missing)" in res.missing
    assert "189 with missing values" in res.missing
    conf = cfa(hsref["model"], hs, missing="ml", group="school", modindices=0)
    assert conf.nobs == dict(zip(hsref["configural"]["groups"], hsref["configural"]["nobs"]))


def test_hs_em_moments_of_the_unrestricted_model(hs, hsref):
    """The EM estimates (lavInspect(fit, "sampstat")) follow lavaan's EM step for step."""
    for case, group in (("single", None), ("configural", "school")):
        _, sample, _ = cfa_mod._prepare(hsref["model"], hs, group, None, None, None, "ml", True)
        refs = hsref[case]["h1"]
        refs = [refs[g] for g in sample.groups] if isinstance(refs, dict) else refs
        assert len(refs) == len(sample.h1)
        for h1, ref in zip(sample.h1, refs):
            np.testing.assert_allclose(h1.sigma, np.array(ref["cov"]), rtol=1e-10, atol=1e-12)
            np.testing.assert_allclose(h1.mu, np.array(ref["mean"]), rtol=1e-10)
            assert h1.converged
    assert close(sum(h.logl for h in sample.h1), hsref["configural"]["fit"]["unrestricted.logl"], 1e-12)


@pytest.mark.parametrize("case, kw", [("single", {}), ("configural", {"group": "school"})])
def test_hs_information_matrices(hs, hsref, case, kw):
    """At lavaan's estimates: the expected information summed over patterns
    (lavInspect(fit, "information.expected")) and the observed one (information.observed)."""
    ref = hsref[case]
    fitted, _ = at_lavaan(ref, hsref["model"], hs, **kw)
    ie, io = np.array(ref["information_expected"]), np.array(ref["information_observed"])
    np.testing.assert_allclose(np.linalg.inv(fitted.score_info_inv), ie, rtol=0, atol=1e-12 * np.abs(ie).max())
    np.testing.assert_allclose(fitted.info, io, rtol=0, atol=1e-9 * np.abs(io).max())


def test_hs_lrt_score_tests_and_invariance(hs, hsref):
    fits = [cfa(hsref["model"], hs, group="school", equal=e, missing="ml", modindices=0)
            for e in ((), ("loadings",), ("loadings", "intercepts"))]
    lrt = hsref["lrt"]
    for i in (1, 2):
        d, ddf, p = cfa_mod._lrt(fits[i - 1].fit, fits[i].fit)
        assert close(d, lrt["chisq_diff"][i], FIT_RTOL) and ddf == lrt["df_diff"][i]
        assert close(p, lrt["p"][i], FIT_RTOL, 1e-8)
    # score tests of the intercept constraints (lavTestScore, expected information) at lavaan's estimates
    fitted, _ = at_lavaan(hsref["scalar"], hsref["model"], hs, group="school", equal=("loadings", "intercepts"))
    groups = fitted.sample.groups
    cache: dict = {}
    for u in hsref["scalar_score"]["uni"]:
        key, g1 = u["lhs"].split("@")
        _, gk = u["rhs"].split("@")
        row = next(r for r in fitted.table.rows if r.key == key and groups[r.group] == g1)
        x2, k = eng.release_test(fitted.spec, fitted.theta, fitted.mi_info_inv, row.pid, [groups.index(gk)],
                                 cache=cache)
        assert k == 1 and close(x2, u["X2"], 1e-9, 1e-6), (u, x2)
    out = invariance(hsref["model"], hs, "school", missing="ml", modindices=0)
    assert [s.holds for s in out.steps[:3]] == [None, True, False]
    assert out.freed == ("x3~1", "x7~1") and out.level == "partial scalar"
    for s, ref in zip(out.steps[:4], ("configural", "metric", "scalar", "partial")):
        check_fit(s.result, hsref[ref])
    assert close(out.steps[3].chisq_diff, hsref["lrt_partial"]["chisq_diff"][1], FIT_RTOL)
    assert any("without any value" in w for w in out.warnings)
    json.dumps(to_dict(out))


# --------------------------------------------------------------------------------------------------
# 24 items, 400 cases, 149 patterns (some with few observed values)
# --------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def big() -> pd.DataFrame:
    return csv("cfa_fiml_big")


@pytest.fixture(scope="module")
def bigref() -> dict:
    return load("cfa_fiml_big")


@pytest.mark.parametrize("case, kw", [("single", {}),
                                      ("scalar", {"group": "grp", "equal": ("loadings", "intercepts")})])
def test_big_fiml(big, bigref, case, kw):
    ref = bigref[case]
    res = cfa(bigref["model"], big, missing="ml", modindices=len(ref["mi"]), **kw)
    check_fit(res, ref)
    check_params(res, ref)
    check_mi(res, ref)
    fitted = check_at(ref, bigref["model"], big, **kw)
    if case == "single":
        assert fitted.sample.patterns[0].npatterns == ref["npatterns"]
        assert max(b.k for b in fitted.sample.patterns[0].blocks) >= 20  # direct patterns in the information
        ie, io = np.array(ref["information_expected"]), np.array(ref["information_observed"])
        np.testing.assert_allclose(np.linalg.inv(fitted.score_info_inv), ie, rtol=0, atol=1e-12 * np.abs(ie).max())
        np.testing.assert_allclose(fitted.info, io, rtol=0, atol=1e-9 * np.abs(io).max())
        for h1, r in zip(fitted.sample.h1, ref["h1"]):
            np.testing.assert_allclose(h1.sigma, np.array(r["cov"]), rtol=1e-9, atol=1e-12)
    else:
        groups = fitted.sample.groups
        cache: dict = {}
        for u in bigref["scalar_score"]["uni"]:
            key, g1 = u["lhs"].split("@")
            _, gk = u["rhs"].split("@")
            row = next(r for r in fitted.table.rows if r.key == key and groups[r.group] == g1)
            x2, k = eng.release_test(fitted.spec, fitted.theta, fitted.mi_info_inv, row.pid, [groups.index(gk)],
                                     cache=cache)
            assert close(x2, u["X2"], 1e-8, 1e-6), (u, x2)


# --------------------------------------------------------------------------------------------------
# complete data: FIML is ordinary ML
# --------------------------------------------------------------------------------------------------


def test_complete_data_fiml_equals_ml():
    ref = load("cfa_hs1939")
    hs = csv("cfa_hs1939", "hs1939.csv")
    res = cfa(ref["model"], hs, missing="ml", modindices=20)
    ml = ref["single_ms"]
    # chi-square, fit measures, estimates and (expected-information) modification indices of ML
    check_fit(res, ml)
    check_mi(res, ml)
    mine = {(p.lhs, p.op, p.rhs): p for p in res.parameters}
    for row in ml["params"]:
        assert close(mine[(row["lhs"], row["op"], row["rhs"])].est, row["est"], OPT_RTOL, row["se"])
    # standard errors: observed information = Hessian of the complete-data ML discrepancy
    f = cfa_mod._fitted_at(ref["model"], hs, estimates=estimates_of(ml), missing="ml")
    g = cfa_mod._fitted_at(ref["model"], hs, estimates=estimates_of(ml), meanstructure=True)
    H = eng._numerical_hessian(g.spec, g.theta) / 2  # central differences of the ML gradient
    np.testing.assert_allclose(f.info, H, rtol=0, atol=1e-7 * np.abs(H).max())
    # ... and the expected FIML information is the expected ML information
    np.testing.assert_allclose(f.score_info_inv, g.info_inv, rtol=1e-9, atol=1e-12)
    assert "0 with missing values" in res.missing and "1 missing-data pattern" in res.missing


# --------------------------------------------------------------------------------------------------
# brute force: casewise likelihood, E-step, gradient, Hessian, expected information
# --------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small():
    """40 HS cases, half of the values of a few cases removed (patterns of every size)."""
    hs = csv("cfa_fiml_hs")
    v = [f"x{i}" for i in range(1, 10)]
    d = hs.loc[hs[v].notna().any(axis=1)].iloc[:40].reset_index(drop=True).copy()
    rng = np.random.default_rng(3)
    for i in range(0, 40, 4):
        drop = rng.choice(9, size=rng.integers(1, 9), replace=False)
        d.loc[i, [v[j] for j in drop]] = np.nan
    model = "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9\nx7 ~~ x8"
    f = cfa_mod._fitted_at(model, d, estimates=estimates_of(load("cfa_fiml_hs")["stdlv_rescov"]), std_lv=True,
                           missing="ml")
    return d, model, f


def test_brute_force_loglik_estep_and_baseline(small):
    d, _, f = small
    spec, theta = f.spec, f.theta
    pat = spec.patterns[0]
    assert {b.k for b in pat.blocks} >= {1, 5, 8} or max(b.k for b in pat.blocks) >= 6
    sigma, mu = spec.implied(theta, 0)
    y = pat.y
    ll, T1, T2 = 0.0, np.zeros(9), np.zeros((9, 9))
    for row in y:
        o = ~np.isnan(row)
        ll += stats.multivariate_normal(mu[o], sigma[np.ix_(o, o)]).logpdf(row[o])
        m = ~o
        e = row.copy()
        c = np.zeros((9, 9))
        if m.any():
            B = sigma[np.ix_(m, o)] @ np.linalg.inv(sigma[np.ix_(o, o)])
            e[m] = mu[m] + B @ (row[o] - mu[o])
            c[np.ix_(m, m)] = sigma[np.ix_(m, m)] - B @ sigma[np.ix_(o, m)]
        T1 += e
        T2 += np.outer(e - mu, e - mu) + c
    assert spec.loglik(theta, 0) == pytest.approx(ll, rel=1e-12)
    assert f.fit["logl"] == pytest.approx(ll, rel=1e-12)
    _, r, M, _, _ = pat.estep(sigma, mu)
    np.testing.assert_allclose(r.sum(axis=0) + pat.n * mu, T1, rtol=1e-12)
    np.testing.assert_allclose(r.T @ r + M, T2, rtol=1e-11)
    # chisq = 2 (logl_H1 - logl), the baseline: each variable's observed values, normal
    assert f.fit["chisq"] == pytest.approx(2 * (f.fit["unrestricted.logl"] - ll), rel=1e-10)
    lb = sum(stats.norm(c.mean(), c.std(ddof=0)).logpdf(c).sum() for c in (d[f"x{i}"].dropna() for i in range(1, 10)))
    assert f.fit["baseline.chisq"] == pytest.approx(2 * (f.fit["unrestricted.logl"] - lb), rel=1e-10)
    # the EM fixed point: the E-step at the H1 moments gives them back (to lavaan's tolerance)
    h1 = spec.h1[0]
    _, r, M, _, _ = pat.estep(h1.sigma, h1.mu)
    assert np.abs(r.mean(axis=0)).max() < 1e-4
    assert np.abs((r.T @ r + M) / pat.n - np.outer(r.mean(0), r.mean(0)) - h1.sigma).max() < 1e-4


def test_brute_force_derivatives_and_information(small):
    _, _, f = small
    spec, theta = f.spec, f.theta
    k = spec.npar
    h = 1e-6
    E = np.eye(k)
    grad = spec.gradient(theta)
    fd = np.array([(spec.fmin(theta + h * E[j]) - spec.fmin(theta - h * E[j])) / (2 * h) for j in range(k)])
    np.testing.assert_allclose(grad, fd, rtol=0, atol=1e-8)
    H = spec.hessian(theta)
    Hfd = np.column_stack([(spec.gradient(theta + h * E[j]) - spec.gradient(theta - h * E[j])) / (2 * h)
                           for j in range(k)])
    np.testing.assert_allclose(H, (Hfd + Hfd.T) / 2, rtol=0, atol=1e-7 * np.abs(H).max())
    # expected information: 1/N sum_i [1/2 tr(Q_i dS_a Q_i dS_b) + dmu_a' Q_i dmu_b], dense, case by case
    cell = spec.cells[0]
    D, Dm = spec.derivatives(theta, 0, cell["mat"], cell["r"], cell["c"], cell["col"], spec.gpids[0].size)
    sigma, _ = spec.implied(theta, 0)
    dense = np.zeros((k, k))
    for row in spec.patterns[0].y:
        o = ~np.isnan(row)
        Q = np.zeros((9, 9))
        Q[np.ix_(o, o)] = np.linalg.inv(sigma[np.ix_(o, o)])
        M = Q @ D @ Q
        dense += 0.5 * np.einsum("aij,bji->ab", D, M) + Dm @ Q @ Dm.T
    dense /= spec.patterns[0].n
    np.testing.assert_allclose(spec.information(theta), dense, rtol=0, atol=1e-12 * np.abs(dense).max())
    # ... and blocks for new parameters (modification indices) through the same pattern algebra
    raw = eng.modification_indices(spec, theta, f.mi_info_inv)
    for m in [m for m in raw if math.isfinite(m["mi"])][:15]:
        mat, r, c = np.array([m["mat"]]), np.array([m["r"]]), np.array([m["c"]])
        dx, cross, own = eng.direction_scores(spec, theta, m["group"], mat, r, c, np.array([0]), 1)
        V = own[0, 0] - cross[0] @ f.mi_info_inv @ cross[0]
        assert spec.N * dx[0] ** 2 / V == pytest.approx(m["mi"], rel=1e-9)


def test_saturated_model_and_fiml_optimum(small):
    d, _, _ = small
    res = cfa("F =~ x1 + x2 + x3", d, missing="ml", modindices=0)
    assert res.fit["df"] == 0
    # H1 by EM stops at lavaan's tolerance: the chi-square is zero up to that (floored at 0, as lavaan)
    assert 0 <= res.fit["chisq"] < 1e-6
    assert res.fit["logl"] == pytest.approx(res.fit["unrestricted.logl"], abs=1e-6)
    fitted = cfa_mod._estimate("F =~ x1 + x2 + x3", *cfa_mod._prepare("F =~ x1 + x2 + x3", d, None, None, None,
                                                                     None, "ml", True)[1:2],
                               cfa_mod.parse_model("F =~ x1 + x2 + x3"), equal=(), partial=(), std_lv=False,
                               meanstructure=True)
    assert np.max(np.abs(fitted.spec.gradient(fitted.theta))) < 1e-8


# --------------------------------------------------------------------------------------------------
# arguments and degenerate data
# --------------------------------------------------------------------------------------------------


def test_fiml_arguments_and_degenerate_data(hs, hsref):
    m = hsref["model"]
    v = [f"x{i}" for i in range(1, 10)]
    with pytest.raises(ValueError, match="listwise.*ml"):
        cfa(m, hs, missing="fiml")
    with pytest.raises(ValueError, match="raw data"):
        cfa(m, sample_cov=hs[v].cov(), sample_nobs=299, missing="ml")
    with pytest.raises(ValueError, match="mean structure"):
        cfa(m, hs, missing="ml", meanstructure=False)
    with pytest.raises(NotEstimable, match="without any observed value"):
        cfa(m, hs.assign(x4=np.nan), missing="ml")
    with pytest.raises(NotEstimable, match="no case has a value"):
        cfa(m, hs.assign(**{c: np.nan for c in v}), missing="ml")
    with pytest.raises(NotEstimable, match="without variance"):
        cfa(m, hs.assign(x2=2.0), missing="ml")
    with pytest.raises(NotEstimable, match="at least 2"):
        cfa(m, hs.assign(g=["a"] * 300 + ["b"]), group="g", missing="ml")
    with pytest.raises(NotEstimable, match="unrestricted model.*singular"):
        cfa(m, hs.assign(x3=hs.x1 + hs.x2), missing="ml")
    with pytest.raises(ValueError, match="infinite"):
        cfa(m, hs.assign(x1=np.inf), missing="ml")
    # two variables never observed together: lavaan warns (0% coverage), so do we
    d = hs.copy()
    d.loc[d.index[:150], "x1"] = np.nan
    d.loc[d.index[150:], "x2"] = np.nan
    res = cfa(m, d, missing="ml", modindices=0)
    assert any("never observed together" in w and "x2-x1" in w for w in res.warnings)


def test_fiml_result_to_dict(hs, hsref):
    res = cfa(hsref["model"], hs, group="school", equal=("loadings",), missing="ml", modindices=5)
    d = to_dict(res)
    json.dumps(d)
    assert d["fit"]["chisq"] == res.fit["chisq"] and len(d["modification_indices"]) == 5
    assert res.loadings().shape == (18, 3)


# --------------------------------------------------------------------------------------------------
# small-sample corrections of the chi-square (tests/reference/small_sample, tests/reference/R/small_sample.R:
# semTools::chisqSmallN and lavaan's index formulas on the corrected statistics)
# --------------------------------------------------------------------------------------------------

SMALL = json.loads((REF / "small_sample" / "reference.json").read_text())


def _small_sample_fit_of(case: str):
    from validation.stats.cfa import cfa

    model = "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9"
    data = pd.read_csv(REF / "cfa_fiml_hs" / "data.csv")
    if case == "hs_fiml":
        return cfa(model, data, missing="ml").fit
    return cfa(model, data, missing="ml", group="school").fit


@pytest.mark.parametrize("case", ["hs1939", "hs_fiml", "hs_fiml_configural"])
@pytest.mark.parametrize("method", ["swain", "bartlett"])
def test_small_sample_corrections_match_semtools(case, method):
    from validation.stats.cfa import small_sample_fit

    ref = SMALL[case]
    fit = dict(ref["fit"]) if case == "hs1939" else _small_sample_fit_of(case)
    for key in ("chisq", "baseline.chisq"):
        assert fit[key] == pytest.approx(ref["fit"][key], rel=1e-6)
    got = small_sample_fit(fit, ref["n_observed"], ref["n_factors"], method, n_groups=ref["n_groups"])
    want = ref[method]
    for key in ("factor", "chisq", "pvalue", "baseline_factor", "baseline_chisq", "cfi", "tli", "rmsea",
                "rmsea_ci_lower", "rmsea_ci_upper"):
        assert getattr(got, key) == pytest.approx(want[key], rel=1e-6, abs=1e-9), key
    assert got.df == want["df"] and got.source.startswith(method.capitalize())


def test_small_sample_correction_refuses_what_it_cannot_correct():
    from validation.stats.cfa import small_sample_fit

    fit = dict(SMALL["hs1939"]["fit"])
    with pytest.raises(ValueError, match="method"):
        small_sample_fit(fit, 9, 3, "yuan")
    with pytest.raises(NotEstimable, match="lack baseline.chisq"):
        small_sample_fit({k: v for k, v in fit.items() if k != "baseline.chisq"}, 9, 3)
    with pytest.raises(NotEstimable, match="0 degrees of freedom"):
        small_sample_fit(dict(fit, df=0), 9, 3)
    with pytest.raises(NotEstimable, match="not positive"):
        small_sample_fit(dict(fit, ntotal=5), 9, 3, "bartlett")


def test_expected_information_standard_errors_with_fiml(hs, hsref):
    """information='expected': the standard errors are those of lavaan's expected information
    (lavInspect(fit, "information.expected"), per case): vcov = I^-1 / N; the fit is the same."""
    ref = hsref["single"]
    observed = cfa(hsref["model"], hs, missing="ml", modindices=0)
    expected = cfa(hsref["model"], hs, missing="ml", modindices=0, information="expected")
    assert observed.information == "observed" and expected.information == "expected"
    assert expected.fit == observed.fit
    ie = np.array(ref["information_expected"])
    se = np.sqrt(np.diag(np.linalg.inv(ie)) / expected.n)
    free = [p for p in expected.parameters if p.free]
    np.testing.assert_allclose([p.se for p in free], se, rtol=2e-4)
    assert max(abs(a.se - b.se) for a, b in zip(observed.parameters, expected.parameters)) > 1e-4
    with pytest.raises(ValueError, match="information: expected 'observed' or 'expected', got 'robust'"):
        cfa(hsref["model"], hs, missing="ml", information="robust")
    with pytest.raises(ValueError, match="computed for full information ML"):
        cfa(hsref["model"], hs.dropna(), information="observed")
