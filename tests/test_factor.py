"""validation.factor against R (psych 2.2.9) and closed forms.

References: tests/reference/synthetic_items (shared), tests/reference/rel_* (written by
tests/reference/R/reliability_factor.R), tests/reference/efa_parallel and efa_3f12 (written by
tests/reference/R/factor_efa.R). efa and polychoric are tested in test_efa.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from validation.stats.factor import _first_not_above, bartlett, eigenvalues, kmo, parallel_analysis
from validation.stats._checks import pairwise_moments as _pairwise_moments
from validation.stats.results import NotEstimable, to_dict

REF = Path(__file__).parent / "reference"
RTOL = 1e-10


def load(folder: str, data: str | None = None) -> tuple[pd.DataFrame, dict]:
    x = pd.read_csv(REF / (data or folder) / "items.csv")
    ref = json.loads((REF / folder / "reference.json").read_text())
    return x, ref


def exact_cor_data(r: np.ndarray, n: int, seed: int = 0) -> pd.DataFrame:
    """Data whose sample correlation matrix is exactly ``r``."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, r.shape[0]))
    z -= z.mean(axis=0)
    lz = np.linalg.cholesky(z.T @ z / (n - 1))
    x = z @ np.linalg.inv(lz).T @ np.linalg.cholesky(r).T * 1.3 + 3.0
    return pd.DataFrame(x, columns=[f"x{j + 1}" for j in range(r.shape[0])])


def test_shared_synthetic_items():
    x, ref = load("synthetic_items")
    k = kmo(x)
    assert k.overall == pytest.approx(ref["kmo"]["overall"], rel=RTOL)
    np.testing.assert_allclose(list(k.items.values()), ref["kmo"]["items"], rtol=RTOL)
    assert list(k.items) == list(x.columns)
    b = bartlett(x)
    assert b.chisq == pytest.approx(ref["bartlett"]["chisq"], rel=RTOL)
    assert b.df == ref["bartlett"]["df"]
    assert b.p == pytest.approx(ref["bartlett"]["p"], rel=1e-8)
    e = eigenvalues(x)
    np.testing.assert_allclose(e.values, ref["eigenvalues"], rtol=RTOL)
    assert e.warnings == () and "complete cases" in e.correlation


@pytest.mark.parametrize(
    "folder,data", [("rel_missing", None), ("rel_5pt", None), ("rel_synthetic_items", "synthetic_items")]
)
def test_against_r(folder, data):
    x, ref = load(folder, data)
    k = kmo(x)
    assert k.overall == pytest.approx(ref["kmo"]["overall"], rel=RTOL)
    np.testing.assert_allclose(list(k.items.values()), ref["kmo"]["items"], rtol=RTOL)
    b = bartlett(x)
    assert b.chisq == pytest.approx(ref["bartlett"]["chisq"], rel=RTOL)
    assert b.df == ref["bartlett"]["df"]
    assert b.p == pytest.approx(ref["bartlett"]["p"], rel=1e-8)
    assert b.n == len(x)
    e = eigenvalues(x)
    np.testing.assert_allclose(e.values, ref["eigenvalues"]["values"], rtol=RTOL)
    # the pairwise-complete correlations themselves, as R's cor(x, use = "pairwise")
    np.testing.assert_allclose(_pairwise_moments(x.to_numpy(float))["cor"], ref["cor_pairwise"], rtol=1e-12, atol=1e-14)


def test_missing_values_are_stated():
    x, ref = load("rel_missing")
    for res in (kmo(x), bartlett(x), eigenvalues(x)):
        assert "pairwise-complete" in res.correlation
        assert f"{ref['n_complete_rows']} of {len(x)}" in res.correlation
        json.dumps(to_dict(res))


# ------------------------------------------------------------------------------------------------
# closed forms
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("k,rho", [(5, 0.3), (8, 0.55)])
def test_equicorrelation_closed_forms(k, rho):
    """Equicorrelation rho: eigenvalues 1 + (k-1) rho and 1 - rho (k-1 times);
    |R| = (1 + (k-1) rho)(1 - rho)^(k-1) gives Bartlett's statistic."""
    r = np.full((k, k), rho) + np.eye(k) * (1 - rho)
    n = 200
    x = exact_cor_data(r, n)
    e = eigenvalues(x)
    np.testing.assert_allclose(e.values, [1 + (k - 1) * rho] + [1 - rho] * (k - 1), rtol=1e-10)
    logdet = np.log(1 + (k - 1) * rho) + (k - 1) * np.log(1 - rho)
    chisq = -logdet * (n - 1 - (2 * k + 5) / 6)
    b = bartlett(x)
    assert b.chisq == pytest.approx(chisq, rel=1e-10)
    assert b.p == pytest.approx(stats.chi2.sf(chisq, k * (k - 1) / 2), rel=1e-8)
    # partial correlations of an equicorrelation matrix: rho / (1 + (k-2) rho)
    p = rho / (1 + (k - 2) * rho)
    msa = rho**2 / (rho**2 + p**2)
    m = kmo(x)
    assert m.overall == pytest.approx(msa, rel=1e-10)
    np.testing.assert_allclose(list(m.items.values()), msa, rtol=1e-10)


def test_two_items_kmo_is_one_half():
    x = exact_cor_data(np.array([[1.0, 0.4], [0.4, 1.0]]), 50)
    assert kmo(x).overall == pytest.approx(0.5, rel=1e-12)


def test_uncorrelated_items_bartlett():
    x = exact_cor_data(np.eye(4), 100)
    b = bartlett(x)
    assert b.chisq == pytest.approx(0.0, abs=1e-10) and b.p == pytest.approx(1.0)
    assert bartlett(x, n=1000).n == 1000


# ------------------------------------------------------------------------------------------------
# degenerate data
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fn", [kmo, bartlett, eigenvalues])
def test_constant_column(fn):
    x, _ = load("rel_5pt")
    with pytest.raises(NotEstimable, match="without variance: flat"):
        fn(x.assign(flat=2))


@pytest.mark.parametrize("fn", [kmo, bartlett])
def test_singular_matrix_names_items(fn):
    x, _ = load("rel_5pt")
    y = x[["i01", "i02", "i03", "i04"]].assign(total=x["i01"] + x["i02"])
    with pytest.raises(NotEstimable, match="singular") as err:
        fn(y)
    msg = str(err.value)
    assert "i01" in msg and "i02" in msg and "total" in msg and "i03" not in msg


def test_singular_matrix_eigenvalues_warn():
    x, _ = load("rel_5pt")
    e = eigenvalues(x.assign(total=x["i01"] + x["i02"]))
    assert e.values[-1] == pytest.approx(0.0, abs=1e-10)
    assert any("singular" in w and "total" in w for w in e.warnings)


def test_pair_never_answered_together():
    data = pd.DataFrame(
        {
            "a": [1.0, 2, 3, 4, np.nan, np.nan, np.nan],
            "b": [np.nan, np.nan, np.nan, 1, 2, 3, 4],
            "c": [1.0, 2, 3, 4, 3, 2, 1],
        }
    )
    with pytest.raises(NotEstimable, match="correlation of a and b is undefined"):
        kmo(data)


def test_arguments():
    x, _ = load("rel_5pt")
    with pytest.raises(NotEstimable, match="at least 2 items"):
        kmo(x[["i01"]])
    with pytest.raises(NotEstimable, match="at least 3"):
        eigenvalues(x.iloc[:2])
    with pytest.raises(ValueError, match="n: expected"):
        bartlett(x, n=1)
    with pytest.raises(TypeError):
        kmo("not a table")


# ------------------------------------------------------------------------------------------------
# parallel analysis
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("folder", ["synthetic_items", "rel_missing", "rel_5pt", "rel_heywood"])
@pytest.mark.parametrize("fm", ["minres", "ml"])
def test_parallel_observed_against_r(folder, fm):
    """Observed eigenvalues equal psych::fa.parallel's fa.values and pc.values. rel_heywood's
    one-factor minres solution is a Heywood case (a uniqueness at its bound), where the optimisers
    of R and SciPy stop at slightly different points (see test_efa.py): asserted at 1e-4 there."""
    x = pd.read_csv(REF / folder / "items.csv")
    ref = json.loads((REF / "efa_parallel" / "reference.json").read_text())[folder][fm]
    res = parallel_analysis(x, n_iter=2, seed=1, fm=fm)
    tol = 1e-4 if (folder, fm) == ("rel_heywood", "minres") else 1e-6 if folder == "rel_heywood" else 1e-9
    np.testing.assert_allclose(res.observed_factor, ref["fa_values"], atol=tol, rtol=0)
    np.testing.assert_allclose(res.observed_component, ref["pc_values"], atol=1e-10, rtol=0)
    assert res.n == len(x) and res.k == x.shape[1] and res.fm == fm


def test_parallel_simulated_within_monte_carlo_error():
    """Simulated means and 95% quantiles agree with psych's (400 data sets each) within Monte-Carlo
    error: |difference| < 4.5 standard errors of the difference of two independent estimates, with
    SE(mean) = sd sqrt(2 / B) and SE(quantile) = sd sqrt(2 q (1 - q) / B) / phi(z_q) (normal
    approximation), sd = psych's standard deviation of that eigenvalue over its replicates."""
    x, _ = load("efa_3f12", "efa_3f12")
    ref = json.loads((REF / "efa_3f12" / "reference.json").read_text())["parallel_minres"]
    b = ref["n_iter"]
    res = parallel_analysis(x, n_iter=b, quantile=0.95, seed=20240601)
    zq = stats.norm.ppf(0.95)
    for kind, mean, thr, obs in [("fa", res.mean_factor, res.threshold_factor, res.observed_factor),
                                 ("pc", res.mean_component, res.threshold_component, res.observed_component)]:
        sd = np.array(ref[f"sim_{kind}_sd"])
        se_mean = sd * np.sqrt(2 / b)
        se_q = sd * np.sqrt(2 * 0.95 * 0.05 / b) / stats.norm.pdf(zq)
        assert (np.abs(np.array(mean) - ref[f"sim_{kind}_mean"]) < 4.5 * se_mean).all(), kind
        assert (np.abs(np.array(thr) - ref[f"sim_{kind}_q95"]) < 4.5 * se_q).all(), kind
        np.testing.assert_allclose(obs, ref[f"{kind}_values"], atol=1e-9, rtol=0)
    assert (res.n_factors, res.n_components) == (ref["nfact"], ref["ncomp"]) == (3, 3)


def factor_data(n_factors: int, n: int = 500, per: int = 4, load: float = 0.7, seed: int = 0) -> pd.DataFrame:
    """Independent factors, ``per`` items each with loading ``load`` (a clear simple structure)."""
    rng = np.random.default_rng(seed)
    f = rng.normal(size=(n, n_factors))
    lam = np.kron(np.eye(n_factors), np.full((per, 1), load))
    x = f @ lam.T + rng.normal(size=(n, n_factors * per)) * np.sqrt(1 - load**2)
    return pd.DataFrame(x, columns=[f"v{j + 1}" for j in range(x.shape[1])])


@pytest.mark.parametrize("nf", [1, 2, 3, 4])
def test_parallel_finds_clear_structures(nf):
    res = parallel_analysis(factor_data(nf, per=4 if nf > 1 else 8, seed=nf), n_iter=50, seed=1)
    assert res.n_factors == nf and res.n_components == nf
    assert res.observed_factor[nf - 1] > res.threshold_factor[nf - 1]
    assert res.observed_factor[nf] <= res.threshold_factor[nf]
    assert res.warnings == ()


def test_parallel_determinism_and_shapes():
    x = factor_data(2, n=200, seed=3)
    a = parallel_analysis(x, n_iter=20, seed=5)
    b = parallel_analysis(x, n_iter=20, seed=5)
    c = parallel_analysis(x, n_iter=20, seed=6)
    assert to_dict(a) == to_dict(b)
    assert a.threshold_factor != c.threshold_factor and a.observed_factor == c.observed_factor
    assert parallel_analysis(x, n_iter=20).seed is None
    for v in (a.observed_factor, a.observed_component, a.mean_factor, a.mean_component,
              a.threshold_factor, a.threshold_component):
        assert isinstance(v, list) and len(v) == 8
    # thresholds are quantiles above the means (right-skewed leading eigenvalues), ordered decreasingly
    assert a.threshold_component[0] > a.mean_component[0]
    assert all(np.diff(a.mean_component) <= 0)
    assert a.n_iter == 20 and a.quantile == 0.95 and a.fm == "minres" and "Horn" in a.method
    json.dumps(to_dict(a))
    # the observed component eigenvalues are those of the correlation matrix
    np.testing.assert_allclose(a.observed_component, eigenvalues(x).values, rtol=1e-12)
    # a median threshold lies below the 95% one
    m = parallel_analysis(x, n_iter=20, seed=5, quantile=0.5)
    assert all(lo < hi for lo, hi in zip(m.threshold_component, a.threshold_component))


def test_parallel_missing_values():
    x, _ = load("rel_missing")
    res = parallel_analysis(x, n_iter=10, seed=2)
    assert "pairwise-complete" in res.correlation and res.n == len(x)
    assert res.n_factors == 1 and res.n_components == 1


def test_first_not_above_rule():
    """psych: which(!(observed > threshold))[1] - 1; NA when all exceed (reported as k with a warning)."""
    assert _first_not_above(np.array([3.0, 0.5, 2.0]), np.array([1.0, 1.0, 1.0])) == (1, False)
    assert _first_not_above(np.array([0.5, 2.0]), np.array([1.0, 1.0])) == (0, False)
    assert _first_not_above(np.array([3.0, 2.0]), np.array([1.0, 1.0])) == (2, True)
    assert _first_not_above(np.array([1.0, 2.0]), np.array([1.0, 1.0])) == (0, False)  # ties do not count


def test_parallel_degenerate_and_arguments():
    x, _ = load("rel_5pt")
    with pytest.raises(NotEstimable, match="without variance: flat"):
        parallel_analysis(x.assign(flat=1), n_iter=5)
    with pytest.raises(NotEstimable, match="at least 3 items"):
        parallel_analysis(x[["i01", "i02"]], n_iter=5)
    nonpd = pd.read_csv(REF / "efa_nonpd" / "items.csv")
    with pytest.raises(NotEstimable, match="positive definite"):
        parallel_analysis(nonpd, n_iter=5, fm="ml")
    assert parallel_analysis(nonpd, n_iter=5, seed=1).k == 6  # minres copes
    for kwargs, msg in [({"n_iter": 1}, "n_iter"), ({"n_iter": 10.0}, "n_iter"), ({"quantile": 1.0}, "quantile"),
                        ({"quantile": 0}, "quantile"), ({"seed": 1.5}, "seed"), ({"fm": "pa"}, "fm")]:
        with pytest.raises(ValueError, match=msg):
            parallel_analysis(x, **kwargs)
