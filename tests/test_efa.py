"""validation.factor.efa and validation.factor.polychoric against R (psych 2.2.9, GPArotation
2022.10-2) and closed forms.

References: tests/reference/synthetic_items (shared), tests/reference/efa_* (written by
tests/reference/R/factor_efa.R).

Tolerances: solutions whose uniquenesses stay inside their bounds follow the same optimiser path as
R and agree to ~1e-12 (asserted at 1e-8). Where the optimiser meets a bound on its way or at the end
(Heywood cases) SciPy's L-BFGS-B (v3.0) and R's (v2.3) handle the bound differently and stop at
slightly different points of the same optimum: asserted at 1e-5, and 5e-4 for the ultra-Heywood
one-factor minres solution of rel_heywood (where this implementation reaches the lower criterion:
checked below). Fit statistics of a non-positive-definite matrix depend on the log-determinant of a
smoothed near-singular matrix: asserted at a relative 1e-6.
"""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, stats

from validation.stats import _polychoric as pc
from validation.stats import _rotation as rot
from validation.stats.factor import efa, polychoric
from validation.stats.results import NotEstimable, to_dict

REF = Path(__file__).parent / "reference"
ROT = {"none": None, "varimax": "varimax", "promax": "promax", "oblimin": "oblimin", "geominQ": "geomin"}


def load(folder: str) -> tuple[pd.DataFrame, dict]:
    return pd.read_csv(REF / folder / "items.csv"), json.loads((REF / folder / "reference.json").read_text())


def align(ours: np.ndarray, ref: np.ndarray) -> tuple[tuple[int, ...], np.ndarray]:
    """The column permutation and signs of ``ours`` closest to ``ref``."""
    best = None
    for perm in itertools.permutations(range(ours.shape[1])):
        p = ours[:, perm]
        s = np.sign((p * ref).sum(axis=0))
        s[s == 0] = 1
        d = np.abs(p * s - ref).max()
        if best is None or d < best[0]:
            best = (d, perm, s)
    return best[1], best[2]


def check_solution(res, ref: dict, tol: float, fit_rtol: float = 1e-8, same_order: bool = True) -> None:
    m = res.n_factors
    lam_ref = np.array(ref["loadings"], dtype=float).reshape(res.k, m)
    lam = res.loadings.to_numpy()
    perm, sgn = align(lam, lam_ref)
    if same_order:  # psych orders and reflects factors by the same rule
        assert perm == tuple(range(m)) and (sgn > 0).all()
    np.testing.assert_allclose(lam[:, perm] * sgn, lam_ref, atol=tol, rtol=0)
    phi = res.phi.to_numpy()[np.ix_(perm, perm)] * np.outer(sgn, sgn)
    np.testing.assert_allclose(phi, np.array(ref["phi"], dtype=float).reshape(m, m), atol=tol, rtol=0)
    np.testing.assert_allclose(res.communalities.to_numpy(), ref["communality"], atol=tol, rtol=0)
    np.testing.assert_allclose(res.uniquenesses.to_numpy(), ref["uniquenesses"], atol=tol, rtol=0)
    nrow = len(ref["vaccounted_rows"])
    assert list(res.variance.index[:nrow]) == ref["vaccounted_rows"]
    va = np.array(ref["vaccounted"], dtype=float).reshape(nrow, m)
    np.testing.assert_allclose(res.variance.to_numpy()[:nrow][:, perm], va, atol=tol, rtol=0)
    f = res.fit
    assert f.df == ref["dof"] and f.n_obs == ref["n_obs"]
    for ours, theirs in [(f.objective, "objective"), (f.chisq, "statistic"), (f.rms, "rms"), (f.tli, "tli"),
                         (f.rmsea, "rmsea"), (f.bic, "bic")]:
        if ref[theirs] is None:
            assert ours is None
        else:
            assert ours == pytest.approx(ref[theirs], rel=fit_rtol, abs=1e-10), theirs
    if ref["pval"] is not None and ref["pval"] > 1e-300:
        assert f.p == pytest.approx(ref["pval"], rel=max(fit_rtol, 1e-7) * 100)


# ------------------------------------------------------------------------------------------------
# efa against psych::fa
# ------------------------------------------------------------------------------------------------


def test_shared_synthetic_items():
    x = pd.read_csv(REF / "synthetic_items" / "items.csv")
    ref = json.loads((REF / "synthetic_items" / "reference.json").read_text())
    for res, key in [(efa(x, 2, "minres", "oblimin"), "efa_minres_oblimin_2"),
                     (efa(x, 2, "ml", "varimax"), "efa_ml_varimax_2")]:
        r = ref[key]
        lam = res.loadings.to_numpy()
        perm, sgn = align(lam, np.array(r["loadings"]))
        np.testing.assert_allclose(lam[:, perm] * sgn, r["loadings"], atol=1e-10, rtol=0)
        np.testing.assert_allclose(res.communalities.to_numpy(), r["communalities"], atol=1e-10, rtol=0)
        if "phi" in r:
            phi = res.phi.to_numpy()[np.ix_(perm, perm)] * np.outer(sgn, sgn)
            np.testing.assert_allclose(phi, r["phi"], atol=1e-10)
        assert res.converged and res.rotation_converged and res.heywood == () and res.warnings == ()


_REF_3F12 = json.loads((REF / "efa_3f12" / "reference.json").read_text())
EFA_3F12 = [(nf, key) for nf in (1, 2, 3) for key in _REF_3F12[f"efa_{nf}"]]


@pytest.mark.parametrize("nf,key", EFA_3F12)
def test_efa_3f12(nf, key):
    """Three factors, 12 items: minres and ml with every rotation (and 1 and 2 factors)."""
    x, ref = load("efa_3f12")
    fm, rotation = key.split("_")
    res = efa(x, nf, fm, ROT[rotation])
    tol = 1e-5 if (fm, nf) == ("ml", 2) else 1e-8  # ml/2: the optimiser path meets a bound (see module doc)
    check_solution(res, ref[f"efa_{nf}"][key], tol, fit_rtol=1e-6 if tol > 1e-8 else 1e-8)
    assert res.method == fm and res.rotation == (ROT[rotation] if nf > 1 else None)
    assert res.converged and res.heywood == ()
    if nf > 1 and rotation != "none":
        assert res.rotation_converged


@pytest.mark.parametrize("key", ["minres_oblimin", "ml_promax", "minres_geominQ", "ml_varimax"])
def test_efa_missing_values(key):
    x, ref = load("efa_missing")
    fm, rotation = key.split("_")
    res = efa(x, 3, fm, ROT[rotation])
    check_solution(res, ref["efa_3"][key], 1e-8)
    assert "pairwise-complete" in res.correlation and f"{ref['n_complete_rows']} of {len(x)}" in res.correlation


@pytest.mark.parametrize("key", ["minres_oblimin", "ml_varimax", "minres_promax"])
def test_efa_polychoric(key):
    x, ref = load("efa_poly")
    fm, rotation = key.split("_")
    res = efa(x, 2, fm, ROT[rotation], cor="polychoric")
    check_solution(res, ref["efa_2"][key], 1e-8, fit_rtol=1e-7)
    assert res.cor == "polychoric" and "polychoric" in res.correlation


def test_heywood_cases():
    ref = json.loads((REF / "efa_heywood" / "reference.json").read_text())
    x = pd.read_csv(REF / "rel_missing" / "items.csv")
    res = efa(x, 2, "minres", "oblimin")
    check_solution(res, ref["rel_missing_minres_2"], 1e-5, fit_rtol=1e-5)
    assert res.heywood == ("i06",) and any("Heywood" in w and "i06" in w for w in res.warnings)
    x = pd.read_csv(REF / "rel_heywood" / "items.csv")
    res = efa(x, 1, "ml")
    check_solution(res, ref["rel_heywood_ml_1"], 1e-5, fit_rtol=1e-5)
    assert res.heywood == ("i01",)
    res = efa(x, 1, "minres")
    check_solution(res, ref["rel_heywood_minres_1"], 5e-4, fit_rtol=5e-2)
    assert any("ultra-Heywood" in w for w in res.warnings)
    # the residual criterion is lower here than at psych's point
    r = x.corr().to_numpy()
    low = np.tril_indices(4, -1)
    ours = res.loadings.to_numpy()[:, 0]
    theirs = np.array(ref["rel_heywood_minres_1"]["loadings"], dtype=float).ravel()
    assert ((r - np.outer(ours, ours))[low] ** 2).sum() < ((r - np.outer(theirs, theirs))[low] ** 2).sum()


def test_non_positive_definite_minres():
    """minres works on a pairwise-complete matrix that is not positive definite; psych smooths it
    for the fit statistics and so does efa, with warnings."""
    x, ref = load("efa_nonpd")
    res = efa(x, 1, "minres")
    check_solution(res, ref["efa_1"]["minres"], 1e-8, fit_rtol=1e-6)
    assert any("not positive definite" in w for w in res.warnings)
    res = efa(x, 2, "minres", "varimax")
    lam = res.loadings.to_numpy()
    np.testing.assert_allclose(lam, ref["efa_2"]["minres_varimax"]["loadings"], atol=1e-8, rtol=0)
    assert res.converged != any("did not converge" in w for w in res.warnings)
    assert set(res.heywood) == {"i01", "i02", "i03"}
    with pytest.raises(NotEstimable, match="positive definite"):
        efa(x, 1, "ml")


# ------------------------------------------------------------------------------------------------
# efa: conventions and closed forms
# ------------------------------------------------------------------------------------------------


def exact_cor_data(r: np.ndarray, n: int, seed: int = 0) -> pd.DataFrame:
    """Data whose sample correlation matrix is exactly ``r``."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, r.shape[0]))
    z -= z.mean(axis=0)
    lz = np.linalg.cholesky(z.T @ z / (n - 1))
    x = z @ np.linalg.inv(lz).T @ np.linalg.cholesky(r).T * 2.0 + 4.0
    return pd.DataFrame(x, columns=[f"x{j + 1}" for j in range(r.shape[0])])


@pytest.mark.parametrize("fm", ["minres", "ml"])
def test_exact_two_factor_structure(fm):
    """A correlation matrix that is exactly Lambda Phi Lambda' + Psi: the model reproduces it, so
    every residual is ~0, the chi-square is ~0 and oblimin recovers the perfect cluster pattern."""
    lam = np.zeros((8, 2))
    lam[:4, 0] = [0.8, 0.7, 0.6, 0.5]
    lam[4:, 1] = [0.75, 0.65, 0.55, 0.45]
    phi = np.array([[1.0, 0.3], [0.3, 1.0]])
    r = lam @ phi @ lam.T
    np.fill_diagonal(r, 1.0)
    res = efa(exact_cor_data(r, 300), 2, fm, "oblimin")
    np.testing.assert_allclose(res.loadings.to_numpy(), lam, atol=2e-3)
    np.testing.assert_allclose(res.phi.to_numpy(), phi, atol=5e-3)
    np.testing.assert_allclose(res.communalities.to_numpy(), (lam**2).sum(axis=1), atol=2e-3)
    assert res.fit.chisq < 0.05 and res.fit.rms < 1e-3


def test_result_conventions():
    x, _ = load("efa_3f12")
    for rotation in ["oblimin", "promax", "varimax", "geomin", None]:
        res = efa(x, 3, "minres", rotation)
        lam, phi = res.loadings.to_numpy(), res.phi.to_numpy()
        assert (lam.sum(axis=0) > 0).all()
        ss = np.diag(phi @ lam.T @ lam)
        assert (np.diff(ss) <= 0).all()
        np.testing.assert_allclose(res.variance.loc["SS loadings"].to_numpy(), ss, rtol=1e-12)
        np.testing.assert_allclose(res.variance.loc["Cumulative Proportion"].iloc[-1], 1.0)
        np.testing.assert_allclose(np.diag(phi), 1.0, atol=1e-12)
        np.testing.assert_allclose(phi, phi.T, atol=1e-12)
        # the model (communalities) does not depend on the rotation
        np.testing.assert_allclose(np.diag(lam @ phi @ lam.T), res.communalities.to_numpy(), atol=1e-10)
        np.testing.assert_allclose(res.communalities + res.uniquenesses, 1.0, atol=1e-12)
        if rotation in ("varimax", None):
            assert np.array_equal(phi, np.eye(3))
        assert list(res.loadings.columns) == ["F1", "F2", "F3"] and list(res.loadings.index) == list(x.columns)
        d = to_dict(res)
        json.dumps(d)
        assert d["loadings"]["F1"]["i01"] == pytest.approx(lam[0, 0])
        assert list(res.to_frame().columns) == ["F1", "F2", "F3", "h2", "u2"]


def test_one_factor_ignores_rotation():
    x, ref = load("efa_3f12")
    a = efa(x, 1, "minres", "oblimin")
    b = efa(x, 1, "minres", None)
    assert a.rotation is None and a.rotation_converged is None
    pd.testing.assert_frame_equal(a.loadings, b.loadings)
    np.testing.assert_allclose(a.loadings.to_numpy(), ref["efa_1"]["minres_none"]["loadings"], atol=1e-8)


# ------------------------------------------------------------------------------------------------
# rotations: closed forms
# ------------------------------------------------------------------------------------------------


def _rotation_matrix(angle: float) -> np.ndarray:
    c, s = math.cos(angle), math.sin(angle)
    return np.array([[c, -s], [s, c]])


def _varimax_criterion(b: np.ndarray) -> float:
    """Kaiser's (1958) raw varimax criterion: sum over factors of the variance of squared loadings."""
    b2 = b * b
    return float((b2**2).sum() * b.shape[0] - (b2.sum(axis=0) ** 2).sum())


def test_varimax_two_factor_optimum():
    """Two factors: the varimax rotation is the angle maximising the criterion of the Kaiser-normalised
    rows (found here by a grid and Brent's method); the SVD iteration reaches it (closely with a tiny
    tolerance, to ~1e-2 with R's stopping rule eps = 1e-5, which stops this slow case early)."""
    from scipy.optimize import minimize_scalar

    p = np.array([[0.8, 0.1], [0.7, 0], [0.6, 0], [0.5, 0.0], [0, 0.75], [0.0, 0.65], [0, 0.5]])
    a = p @ _rotation_matrix(0.5)
    h = np.sqrt((a * a).sum(axis=1))[:, None]
    crit = lambda phi: -_varimax_criterion(a / h @ _rotation_matrix(phi))  # noqa: E731
    grid = np.linspace(0, math.pi / 2, 2001)
    g0 = grid[np.argmin([crit(g) for g in grid])]
    best = minimize_scalar(crit, bracket=(g0 - 1e-3, g0, g0 + 1e-3), tol=1e-12).x
    expected = a @ _rotation_matrix(best)
    tight, _, conv, _ = rot._varimax(a, eps=1e-12)  # the iteration converges linearly
    perm, sgn = align(tight, expected)
    assert conv
    np.testing.assert_allclose(tight[:, perm] * sgn, expected, atol=1e-5)
    out = rot.varimax(a)
    perm, sgn = align(out.loadings, expected)
    np.testing.assert_allclose(out.loadings[:, perm] * sgn, expected, atol=2e-2)
    assert out.converged and np.array_equal(out.phi, np.eye(2))
    # an orthogonal rotation keeps the communalities
    np.testing.assert_allclose((out.loadings**2).sum(axis=1), (a**2).sum(axis=1), rtol=1e-12)


@pytest.mark.parametrize("fn", [rot.oblimin, rot.geomin])
def test_oblique_rotations_recover_perfect_clusters(fn):
    """A = P T' with P a perfect cluster pattern and Phi = T'T: quartimin (criterion 0 at P) returns
    P and Phi; geomin nearly so (its delta = 0.01 moves the optimum slightly off P)."""
    p = np.array([[0.8, 0], [0.7, 0], [0.6, 0], [0.5, 0], [0, 0.75], [0, 0.65], [0, 0.55], [0, 0.45]])
    phi = np.array([[1.0, 0.4], [0.4, 1.0]])
    t = np.linalg.cholesky(phi).T  # T'T = Phi, unit-length columns
    a = p @ t.T @ _rotation_matrix(0.3)  # an arbitrary orthogonal start
    out = fn(a)
    perm, sgn = align(out.loadings, p)
    tol = 1e-4 if fn is rot.oblimin else 1e-2
    np.testing.assert_allclose(out.loadings[:, perm] * sgn, p, atol=tol)
    np.testing.assert_allclose(out.phi[np.ix_(perm, perm)] * np.outer(sgn, sgn), phi, atol=tol * 5)
    assert out.converged
    # any oblique rotation reproduces the model: L Phi L' = A A'
    np.testing.assert_allclose(out.loadings @ out.phi @ out.loadings.T, a @ a.T, atol=1e-12)


def test_promax_closed_forms():
    """An orthogonal perfect cluster pattern is its own promax target: promax returns it with
    uncorrelated factors. On oblique input it reproduces the model."""
    p = np.array([[0.8, 0], [0.7, 0], [0.6, 0], [0, 0.75], [0, 0.65], [0, 0.55]])
    out = rot.promax(p)
    np.testing.assert_allclose(out.loadings, p, atol=1e-12)
    np.testing.assert_allclose(out.phi, np.eye(2), atol=1e-12)
    a = p @ np.linalg.cholesky(np.array([[1.0, 0.5], [0.5, 1.0]])).T @ _rotation_matrix(0.4)
    out = rot.promax(a)
    np.testing.assert_allclose(out.loadings @ out.phi @ out.loadings.T, a @ a.T, atol=1e-12)
    np.testing.assert_allclose(np.diag(out.phi), 1.0, atol=1e-12)
    assert out.phi[0, 1] > 0.3


# ------------------------------------------------------------------------------------------------
# polychoric against psych::polychoric and closed forms
# ------------------------------------------------------------------------------------------------


def test_polychoric_against_r():
    x, ref = load("efa_poly")
    res = polychoric(x)
    p = ref["polychoric"]
    np.testing.assert_allclose(res.rho.to_numpy(), p["rho"], atol=1e-9, rtol=0)
    np.testing.assert_allclose(res.thresholds.to_numpy(), p["tau"], atol=1e-12, rtol=0)
    assert res.global_thresholds and not res.smoothed and res.warnings == ()
    assert res.n == p["n_obs"] and res.k == 10 and res.categories == [1.0, 2.0, 3.0, 4.0, 5.0]
    assert list(res.thresholds.columns) == ["1|2", "2|3", "3|4", "4|5"]
    json.dumps(to_dict(res))


def test_polychoric_unequal_categories_against_r():
    """Items with 3 to 5 categories: per-pair thresholds, empty cells set to 0.5 cases."""
    x, ref = load("efa_poly_sparse")
    res = polychoric(x)
    p = ref["polychoric"]
    np.testing.assert_allclose(res.rho.to_numpy(), p["rho"], atol=1e-9, rtol=0)
    assert not res.global_thresholds and res.corrected_pairs > 0
    assert any("per pair" in w for w in res.warnings) and any("continuity correction" in w for w in res.warnings)
    tau = res.thresholds.to_numpy()
    for i, row in enumerate(p["tau"]):
        for j, v in enumerate(row):
            if v is None:  # psych: NaN above an item's highest category; here +inf
                assert tau[i, j] == np.inf
            else:
                assert tau[i, j] == pytest.approx(v, abs=1e-12)


def test_tetrachoric_closed_form():
    """2 x 2 table with median splits: P(both low) = 1/4 + asin(rho) / (2 pi), so the estimate is
    rho = sin(2 pi (p11 - 1/4)) up to the minimiser's tolerance."""
    n11, n12, n21, n22 = 70, 30, 30, 70
    a = np.repeat([0, 0, 1, 1], [n11, n12, n21, n22])
    b = np.repeat([0, 1, 0, 1], [n11, n12, n21, n22])
    res = polychoric(pd.DataFrame({"a": a, "b": b}))
    expected = math.sin(2 * math.pi * (n11 / 200 - 0.25))
    assert res.rho.iloc[0, 1] == pytest.approx(expected, abs=1e-4)
    np.testing.assert_allclose(res.thresholds.to_numpy(), 0.0, atol=1e-15)


def test_bvn_cdf():
    """Owen's T route against closed forms and numerical integration of
    int_{-inf}^h phi(x) Phi((k - rho x) / sqrt(1 - rho^2)) dx."""
    assert pc.bvn_cdf(0.0, 0.0, 0.5) == pytest.approx(0.25 + math.asin(0.5) / (2 * math.pi), abs=1e-15)
    h = np.array([-1.3, 0.4, 0.0, 2.1, -0.2])
    k = np.array([0.7, 0.0, -1.1, 1.5, -0.2])
    np.testing.assert_allclose(pc.bvn_cdf(h, k, 0.0), stats.norm.cdf(h) * stats.norm.cdf(k), atol=1e-15)
    for rho in (-0.95, -0.4, 0.3, 0.8, 0.99):
        got = pc.bvn_cdf(h, k, rho)
        for hi, ki, g in zip(h, k, got):
            s = math.sqrt(1 - rho * rho)
            val, _ = integrate.quad(lambda t: stats.norm.pdf(t) * stats.norm.cdf((ki - rho * t) / s), -np.inf, hi,
                                    epsabs=1e-14, epsrel=1e-12)
            assert g == pytest.approx(val, abs=1e-11)
    assert pc.bvn_cdf(-np.inf, 0.3, 0.5) == 0.0
    assert pc.bvn_cdf(np.inf, 0.3, 0.5) == pytest.approx(stats.norm.cdf(0.3), abs=1e-15)
    assert pc.bvn_cdf(0.3, np.inf, 0.5) == pytest.approx(stats.norm.cdf(0.3), abs=1e-15)


def test_brent_minimize():
    """Several problems at once, each to within R's optimize() tolerance of its minimum."""
    centres = np.array([-0.7, -0.1, 0.25, 0.9])
    x, fx, _ = pc.brent_minimize(lambda u, idx: (u - centres[idx]) ** 2 + np.cos(3 * u) * 0.01, 4)
    for c, xi in zip(centres, x):
        grid = np.linspace(-1, 1, 200001)
        best = grid[np.argmin((grid - c) ** 2 + np.cos(3 * grid) * 0.01)]
        assert xi == pytest.approx(best, abs=2e-4)


def test_cor_smooth():
    r = np.array([[1.0, 0.9, -0.9], [0.9, 1.0, 0.9], [-0.9, 0.9, 1.0]])
    s, smoothed = pc.cor_smooth(r)
    assert smoothed and np.linalg.eigvalsh(s).min() > 0
    np.testing.assert_allclose(np.diag(s), 1.0)
    same, smoothed = pc.cor_smooth(np.eye(3))
    assert not smoothed and same is not None


# ------------------------------------------------------------------------------------------------
# degenerate data and arguments
# ------------------------------------------------------------------------------------------------


def test_degenerate_efa():
    x, _ = load("efa_3f12")
    with pytest.raises(NotEstimable, match="without variance: flat"):
        efa(x.assign(flat=3), 2)
    with pytest.raises(NotEstimable, match="degrees of freedom; at most 1 factor"):
        efa(x.iloc[:, :4], 2)
    with pytest.raises(NotEstimable, match="at most 7 factor"):
        efa(x, 9)
    with pytest.raises(NotEstimable, match="at least 3 items"):
        efa(x.iloc[:, :2], 1)
    dep = x.iloc[:, :6].assign(total=x["i01"] + x["i02"])
    with pytest.raises(NotEstimable, match="singular"):
        efa(dep, 2, "ml")
    res = efa(dep, 2, "minres")  # minres proceeds, with a warning naming the items
    assert any("singular" in w and "total" in w for w in res.warnings)
    with pytest.raises(NotEstimable, match="without variance"):
        efa(x.assign(flat=3), 2, cor="polychoric")


def test_degenerate_polychoric():
    x, _ = load("efa_poly")
    with pytest.raises(NotEstimable, match="without variance: i03"):
        polychoric(x.assign(i03=2))
    with pytest.raises(NotEstimable, match="more than max_categories=8"):
        polychoric(x.assign(i01=x["i01"] * 3))
    with pytest.raises(ValueError, match="integer category codes"):
        polychoric(x.assign(i01=x["i01"] + 0.5))
    never = pd.DataFrame({"a": [1, 2, 1, 2, np.nan, np.nan, np.nan, np.nan],
                          "b": [np.nan, np.nan, np.nan, np.nan, 1, 2, 2, 1],
                          "c": [1, 2, 2, 1, 2, 1, 1, 2]})
    with pytest.raises(NotEstimable, match="of a and b is undefined"):
        polychoric(never)


def test_arguments():
    x, _ = load("efa_3f12")
    with pytest.raises(ValueError, match="n_factors"):
        efa(x, 0)
    with pytest.raises(ValueError, match="n_factors"):
        efa(x, 2.0)
    with pytest.raises(ValueError, match="method"):
        efa(x, 2, method="pa")
    with pytest.raises(ValueError, match="rotation"):
        efa(x, 2, rotation="quartimax")
    with pytest.raises(ValueError, match="cor"):
        efa(x, 2, cor="spearman")
    assert efa(x, 2, rotation="none").rotation is None
    with pytest.raises(ValueError, match="correct"):
        polychoric(x, correct=-1)
    with pytest.raises(TypeError):
        efa("not a table", 2)
