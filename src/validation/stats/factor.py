"""Factor analysis of a set of items: factorability (Kaiser-Meyer-Olkin, Bartlett, eigenvalues),
Horn's parallel analysis, exploratory factor analysis and polychoric correlations.

Pure functions on a table of item scores (rows = cases, columns = items; a ``pandas.DataFrame`` or a
2-D ``numpy`` array, missing values as ``NaN``). With missing values every correlation is computed from
the cases that answered both items (pairwise-complete, as R's ``cor(x, use = "pairwise")``), and each
result says so in its ``correlation`` field.

* :func:`kmo`, :func:`bartlett`, :func:`eigenvalues` -- factorability;
* :func:`parallel_analysis` -- number of factors and components (Horn, 1965), as ``psych::fa.parallel``;
* :func:`efa` -- minres / maximum-likelihood factor analysis with varimax, promax, oblimin or geomin
  rotation, as ``psych::fa``;
* :func:`polychoric` -- two-step polychoric correlations of ordinal items, as ``psych::polychoric``.

Each function returns a frozen dataclass (turn it into JSON values with
:func:`validation.results.to_dict`); degenerate data raise :class:`validation.results.NotEstimable`.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from validation.stats import _polychoric as _pc
from validation.stats import _rotation

from validation.stats._checks import check_random_state, item_matrix, pairwise_moments, no_variance_items
from validation.stats.results import NotEstimable

__all__ = [
    "KMOResult",
    "kmo",
    "BartlettResult",
    "bartlett",
    "EigenResult",
    "eigenvalues",
    "ParallelResult",
    "parallel_analysis",
    "EFAFit",
    "EFAResult",
    "efa",
    "PolychoricResult",
    "polychoric",
]

# A correlation matrix whose smallest eigenvalue is below this share of its largest is singular.
_SINGULAR = 1e-12


def _correlation(data: Any, min_items: int = 2) -> tuple[list[str], np.ndarray, int, str]:
    """Item names, the correlation matrix, the cases used and a sentence saying how it was formed."""
    names, x, complete = item_matrix(data, what="data")
    k = len(names)
    if k < min_items:
        raise NotEstimable(f"not estimable: needs at least {min_items} items, got {k}")
    if not complete:
        x = x[~np.isnan(x).all(axis=1)]  # a case with no answer at all is not used
    n = x.shape[0]
    if n < 3:
        raise NotEstimable(f"not estimable: {n} case(s); needs at least 3")
    mom = pairwise_moments(x, complete)
    const = no_variance_items(x, names, mom)
    if const:
        raise NotEstimable(f"not estimable: item(s) without variance: {', '.join(const)}")
    r = mom["cor"]
    if not np.isfinite(r).all():
        i, j = (int(v) for v in np.argwhere(~np.isfinite(r))[0])
        raise NotEstimable(
            f"not estimable: the correlation of {names[i]} and {names[j]} is undefined "
            f"({int(mom['n'][i, j])} case(s) answered both, or one is constant among them)"
        )
    if complete:
        how = f"Pearson correlations of {n} complete cases"
    else:
        how = (
            "Pearson correlations, pairwise-complete: each from the cases answering both items "
            f"(cor(x, use = 'pairwise')); {int((~np.isnan(x)).all(axis=1).sum())} of {n} cases answered every item"
        )
    return names, r, n, how


def _singular_items(r: np.ndarray, names: list[str]) -> list[str] | None:
    """None if r is non-singular, else the items spanning its (near) null space."""
    w, v = np.linalg.eigh(r)
    small = np.abs(w) <= _SINGULAR * np.abs(w).max()
    if not small.any():
        return None
    weight = (v[:, small] ** 2).sum(axis=1)
    return [names[j] for j in np.flatnonzero(weight > 1e-6)]


@dataclasses.dataclass(frozen=True)
class KMOResult:
    """Kaiser-Meyer-Olkin measure of sampling adequacy: ``overall`` and per item (``items``)."""

    overall: float
    items: dict[str, float]
    n: int
    k: int
    correlation: str


def kmo(data: Any) -> KMOResult:
    r"""Kaiser-Meyer-Olkin measure of sampling adequacy (MSA), overall and per item.

    With R the item correlations and :math:`Q = R^{-1}`, the partial (anti-image) correlations are
    :math:`p_{ij} = -q_{ij} / \sqrt{q_{ii} q_{jj}}` and, over pairs :math:`i \ne j`,

    .. math::

        MSA = \frac{\sum r_{ij}^2}{\sum r_{ij}^2 + \sum p_{ij}^2}, \qquad
        MSA_i = \frac{\sum_{j \ne i} r_{ij}^2}{\sum_{j \ne i} r_{ij}^2 + \sum_{j \ne i} p_{ij}^2}

    (Kaiser, 1970; Kaiser & Rice, 1974).

    Parameters
    ----------
    data : DataFrame or 2-D array
        Item scores, rows = cases, NaN = missing (pairwise-complete correlations).

    Returns
    -------
    KMOResult

    Raises
    ------
    NotEstimable
        Fewer than 2 items or 3 cases, an item without variance, an undefined correlation, or a
        singular correlation matrix (naming the items that are linearly dependent).

    Notes
    -----
    In R: ``psych::KMO(x)`` (``$MSA``, ``$MSAi``), which uses ``cor(x, use = "pairwise")``. psych
    falls back to R itself when the matrix cannot be inverted; this function refuses instead.

    References
    ----------
    Kaiser, H. F. (1970). A second generation little jiffy. Psychometrika, 35, 401-415.
    Kaiser, H. F., & Rice, J. (1974). Little jiffy, mark IV. Educational and Psychological
    Measurement, 34, 111-117.

    Examples
    --------
    Six items, x1-x3 loading on one factor and x4-x6 on another, 300 simulated cases:

    >>> import numpy as np
    >>> import pandas as pd
    >>> from validation.stats import kmo
    >>> rng = np.random.default_rng(0)
    >>> f = rng.normal(size=(300, 2))
    >>> items = pd.DataFrame({f"x{j + 1}": 0.7 * f[:, j // 3] + rng.normal(scale=0.7, size=300)
    ...                       for j in range(6)})
    >>> res = kmo(items)
    >>> print(f"MSA = {res.overall:.3f}; x1: {res.items['x1']:.3f}")
    MSA = 0.687; x1: 0.660
    """
    names, r, n, how = _correlation(data)
    sing = _singular_items(r, names)
    if sing is not None:
        raise NotEstimable(
            f"not estimable: the correlation matrix is singular (linearly dependent items: {', '.join(sing)})"
        )
    q = np.linalg.inv(r)
    d = 1.0 / np.sqrt(np.diag(q))
    p = q * np.outer(d, d)
    r2 = r * r
    p2 = p * p
    np.fill_diagonal(r2, 0.0)
    np.fill_diagonal(p2, 0.0)
    overall = r2.sum() / (r2.sum() + p2.sum())
    per = r2.sum(axis=0) / (r2.sum(axis=0) + p2.sum(axis=0))
    return KMOResult(float(overall), {nm: float(v) for nm, v in zip(names, per)}, int(n), len(names), how)


@dataclasses.dataclass(frozen=True)
class BartlettResult:
    """Bartlett's test that the correlation matrix is an identity matrix."""

    chisq: float
    df: int
    p: float
    n: int
    k: int
    correlation: str


def bartlett(data: Any, n: int | None = None) -> BartlettResult:
    r"""Bartlett's test of sphericity (H0: the items are uncorrelated).

    .. math::

        \chi^2 = -\Bigl(n - 1 - \frac{2k + 5}{6}\Bigr) \ln |R|, \qquad df = \frac{k(k-1)}{2}

    (Bartlett, 1951), p from the upper tail of the chi-square distribution.

    Parameters
    ----------
    data : DataFrame or 2-D array
        Item scores, rows = cases, NaN = missing (pairwise-complete correlations).
    n : int, optional
        Sample size in the statistic; default: the cases (rows with at least one answered item).

    Returns
    -------
    BartlettResult

    Raises
    ------
    NotEstimable
        Fewer than 2 items or 3 cases, an item without variance, an undefined correlation, or a
        correlation matrix that is singular (naming the items) or not positive definite.

    Notes
    -----
    In R: ``psych::cortest.bartlett(cor(x, use = "pairwise"), n = nrow(x))``.

    References
    ----------
    Bartlett, M. S. (1951). The effect of standardization on a chi square approximation in factor
    analysis. Biometrika, 38, 337-344.

    Examples
    --------
    Six items, x1-x3 loading on one factor and x4-x6 on another, 300 simulated cases:

    >>> import numpy as np
    >>> import pandas as pd
    >>> from validation.stats import bartlett
    >>> rng = np.random.default_rng(0)
    >>> f = rng.normal(size=(300, 2))
    >>> items = pd.DataFrame({f"x{j + 1}": 0.7 * f[:, j // 3] + rng.normal(scale=0.7, size=300)
    ...                       for j in range(6)})
    >>> res = bartlett(items)
    >>> print(f"chi-square = {res.chisq:.2f} on {res.df} df, p = {res.p:.1e}")
    chi-square = 408.26 on 15 df, p = 1.3e-77
    """
    if n is not None and (isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 2):
        raise ValueError(f"n: expected an integer >= 2 or None, got {n!r}")
    names, r, n_used, how = _correlation(data)
    sing = _singular_items(r, names)
    if sing is not None:
        raise NotEstimable(
            f"not estimable: the correlation matrix is singular (linearly dependent items: {', '.join(sing)})"
        )
    sign, logdet = np.linalg.slogdet(r)
    if sign <= 0:
        raise NotEstimable(
            "not estimable: the pairwise-complete correlation matrix is not positive definite (its determinant is <= 0)"
        )
    k = len(names)
    nn = int(n) if n is not None else n_used
    chisq = -logdet * (nn - 1 - (2 * k + 5) / 6)
    df = k * (k - 1) // 2
    return BartlettResult(float(chisq), int(df), float(stats.chi2.sf(chisq, df)), nn, k, how)


@dataclasses.dataclass(frozen=True)
class EigenResult:
    """Eigenvalues of the item correlation matrix, largest first."""

    values: tuple[float, ...]
    n: int
    k: int
    correlation: str
    warnings: tuple[str, ...] = ()


def eigenvalues(data: Any) -> EigenResult:
    """Eigenvalues of the item correlation matrix, in decreasing order.

    Parameters
    ----------
    data : DataFrame or 2-D array
        Item scores, rows = cases, NaN = missing (pairwise-complete correlations).

    Returns
    -------
    EigenResult
        A singular matrix (eigenvalues of 0) or, with pairwise-complete correlations, one that is
        not positive semi-definite (negative eigenvalues) is reported with a warning naming the items.

    Raises
    ------
    NotEstimable
        Fewer than 2 items or 3 cases, an item without variance, or an undefined correlation.

    Notes
    -----
    In R: ``eigen(cor(x, use = "pairwise"))$values``.

    Examples
    --------
    Six items, x1-x3 loading on one factor and x4-x6 on another, 300 simulated cases:

    >>> import numpy as np
    >>> import pandas as pd
    >>> from validation.stats import eigenvalues
    >>> rng = np.random.default_rng(0)
    >>> f = rng.normal(size=(300, 2))
    >>> items = pd.DataFrame({f"x{j + 1}": 0.7 * f[:, j // 3] + rng.normal(scale=0.7, size=300)
    ...                       for j in range(6)})
    >>> res = eigenvalues(items)
    >>> [round(v, 3) for v in res.values]  # two above 1
    [2.089, 1.896, 0.558, 0.526, 0.473, 0.459]
    """
    names, r, n, how = _correlation(data)
    w = np.linalg.eigvalsh(r)[::-1]
    warnings = []
    sing = _singular_items(r, names)
    if sing is not None:
        warnings.append(f"the correlation matrix is singular (linearly dependent items: {', '.join(sing)})")
    if w[-1] < -_SINGULAR * w[0]:
        warnings.append("the pairwise-complete correlation matrix is not positive semi-definite (negative eigenvalues)")
    return EigenResult(tuple(float(v) for v in w), int(n), len(names), how, tuple(warnings))


# ================================================================================================
# common factor extraction (minres, ml), as psych::fa
# ================================================================================================

_PSI_LOWER = 0.005  # lower bound of the uniquenesses in the optimiser (psych::fa)
_PARSCALE = 0.01  # the optimiser works on uniquenesses / 0.01 (psych::fa's optim parscale)
_METHODS = ("minres", "ml")


def _pinv_sym(r: np.ndarray) -> np.ndarray:
    """Moore-Penrose inverse keeping singular values above sqrt(eps) times the largest."""
    u, d, vt = np.linalg.svd(r)
    keep = d > max(np.sqrt(np.finfo(float).eps) * d[0], 0.0)
    return (vt[keep].T / d[keep]) @ u[:, keep].T


def _smc(r: np.ndarray) -> np.ndarray:
    """Squared multiple correlations 1 - 1/diag(R^+) (pseudo-inverse), clipped to [0, 1] (psych::smc)."""
    with np.errstate(divide="ignore"):
        s = 1.0 - 1.0 / np.diag(_pinv_sym(r))
    return np.clip(s, 0.0, 1.0)


def _top_eig(s: np.ndarray, nf: int) -> tuple[np.ndarray, np.ndarray]:
    """The nf largest eigenvalues (decreasing) and their eigenvectors of a symmetric matrix."""
    w, v = np.linalg.eigh(s)
    return w[::-1][:nf], v[:, ::-1][:, :nf]


def _minres_objective(psi: np.ndarray, r: np.ndarray, nf: int, tril: tuple[np.ndarray, np.ndarray]) -> float:
    s = r.copy()
    np.fill_diagonal(s, 1.0 - psi)
    w, v = _top_eig(s, nf)
    eps = np.finfo(float).eps
    w = np.where(w < eps, 100 * eps, w)
    lam = v * np.sqrt(w)
    res = (s - lam @ lam.T)[tril]
    return float((res * res).sum())


def _minres_gradient(psi: np.ndarray, r: np.ndarray, nf: int) -> np.ndarray:
    w, v = _top_eig(r - np.diag(psi), nf)
    lam = v * np.sqrt(np.maximum(w, 0.0))
    return (lam * lam).sum(axis=1) + psi - np.diag(r)


def _ml_objective(psi: np.ndarray, r: np.ndarray, nf: int) -> float:
    sc = 1.0 / np.sqrt(psi)
    e = np.linalg.eigvalsh(r * np.outer(sc, sc))[::-1][nf:]
    with np.errstate(invalid="ignore", divide="ignore"):
        val = -(np.sum(np.log(e) - e) - nf + r.shape[0])
    return float(val) if np.isfinite(val) else np.inf


def _ml_loadings(psi: np.ndarray, r: np.ndarray, nf: int) -> np.ndarray:
    sq = np.sqrt(psi)
    w, v = _top_eig(r / np.outer(sq, sq), nf)
    return sq[:, None] * (v * np.sqrt(np.maximum(w - 1.0, 0.0)))


def _ml_gradient(psi: np.ndarray, r: np.ndarray, nf: int) -> np.ndarray:
    lam = _ml_loadings(psi, r, nf)
    return ((lam * lam).sum(axis=1) + psi - np.diag(r)) / psi**2


def _extract(r: np.ndarray, nf: int, method: str) -> dict[str, Any]:
    r"""Unrotated common factors of a correlation matrix by minimum residual or maximum likelihood.

    Minimises over the uniquenesses :math:`\psi` (bounds [0.005, max(1, SMC)], start 1 - SMC)

    * minres: :math:`\sum_{i>j} (r_{ij} - \hat r_{ij})^2`, :math:`\hat R = \Lambda\Lambda'` from the nf
      leading eigenpairs of R with communalities :math:`1 - \psi` on the diagonal (Harman & Jones, 1966);
      the search direction uses :math:`\operatorname{diag}(\Lambda\Lambda' + \Psi - R)`;
    * ml: :math:`F = -\sum_{j > nf} (\ln e_j - e_j) - nf + k`, e the eigenvalues of
      :math:`\Psi^{-1/2} R \Psi^{-1/2}` (Joreskog, 1967; Lawley & Maxwell, 1971), with its exact gradient;

    by L-BFGS-B (Byrd, Lu, Nocedal & Zhu, 1995) on :math:`\psi / 0.01`, at most 100 iterations, memory 5,
    relative-reduction tolerance 1e7 machine epsilons: the settings of ``optim`` in ``psych::fa``.
    """
    from scipy.optimize import minimize

    k = r.shape[0]
    s_mc = _smc(r)
    upper = max(float(s_mc.max()), 1.0)
    start = np.diag(r) - s_mc
    if method == "minres":
        tril = np.tril_indices(k, -1)

        def fn(u: np.ndarray) -> float:
            return _minres_objective(u * _PARSCALE, r, nf, tril)

        def gr(u: np.ndarray) -> np.ndarray:
            return _minres_gradient(u * _PARSCALE, r, nf) * _PARSCALE

    else:

        def fn(u: np.ndarray) -> float:
            return _ml_objective(u * _PARSCALE, r, nf)

        def gr(u: np.ndarray) -> np.ndarray:
            return _ml_gradient(u * _PARSCALE, r, nf) * _PARSCALE

    res = minimize(
        fn,
        start / _PARSCALE,
        jac=gr,
        method="L-BFGS-B",
        bounds=[(_PSI_LOWER / _PARSCALE, upper / _PARSCALE)] * k,
        options={"maxcor": 5, "ftol": 1e7 * np.finfo(float).eps, "gtol": 0.0, "maxiter": 100, "maxls": 20},
    )
    psi = res.x * _PARSCALE
    if method == "minres":
        w, v = _top_eig(r - np.diag(psi), nf)
        lam = v * np.sqrt(np.maximum(w, 0.0))
    else:
        lam = _ml_loadings(psi, r, nf)
    return {"psi": psi, "loadings": lam, "result": res, "smc": s_mc, "upper": upper}


def _reduced_eigenvalues(r: np.ndarray, communality: np.ndarray) -> np.ndarray:
    s = r.copy()
    np.fill_diagonal(s, communality)
    return np.linalg.eigvalsh(s)[::-1]


# ================================================================================================
# parallel analysis
# ================================================================================================

_BATCH_CELLS = 4_000_000  # random normal values drawn per batch of simulated data sets


@dataclasses.dataclass(frozen=True)
class ParallelResult:
    """Horn's parallel analysis: observed eigenvalues against those of random normal data.

    ``observed_factor`` are the eigenvalues of the correlation matrix with the communalities of a
    one-factor solution on its diagonal, ``observed_component`` those of the correlation matrix; the
    ``mean_*`` and ``threshold_*`` lists are the means and ``quantile`` quantiles of the same
    eigenvalues over ``n_iter`` random data sets of n cases and k items. ``n_factors`` /
    ``n_components``: how many leading observed eigenvalues exceed their threshold, counting up to
    the first that does not.
    """

    observed_factor: list[float]
    observed_component: list[float]
    mean_factor: list[float]
    mean_component: list[float]
    threshold_factor: list[float]
    threshold_component: list[float]
    n_factors: int
    n_components: int
    n_iter: int
    quantile: float
    seed: int | None
    fm: str
    n: int
    k: int
    method: str
    correlation: str
    warnings: tuple[str, ...] = ()


def _check_fm(fm: str, what: str = "fm") -> str:
    if not isinstance(fm, str) or fm not in _METHODS:
        raise ValueError(f"{what}: expected one of {list(_METHODS)}, got {fm!r}")
    return fm


def _first_not_above(observed: np.ndarray, threshold: np.ndarray) -> tuple[int, bool]:
    """Number of leading observed values above their threshold; and whether all of them are."""
    below = np.flatnonzero(~(observed > threshold))
    return (int(below[0]), False) if below.size else (int(observed.size), True)


def _factor_eigenvalues(r: np.ndarray, fm: str) -> np.ndarray:
    ext = _extract(r, 1, fm)
    return _reduced_eigenvalues(r, (ext["loadings"] ** 2).sum(axis=1))


def parallel_analysis(
    data: Any, n_iter: int = 100, quantile: float = 0.95, seed: int | None = None, fm: str = "minres"
) -> ParallelResult:
    r"""Horn's (1965) parallel analysis for the number of factors and of components.

    Observed eigenvalues:

    * components: eigenvalues of the item correlation matrix R;
    * factors: eigenvalues of R with its diagonal replaced by the communalities
      :math:`h^2_i = \sum_f \lambda_{if}^2` of a one-factor solution by ``fm`` (minres or ml), i.e. the
      reduced correlation matrix of that solution -- the "factor" eigenvalues of ``psych::fa.parallel``
      (its ``fa.values``, which are ``psych::fa(R, 1, fm = fm)$values``).

    The same eigenvalues are computed for ``n_iter`` data sets of n independent standard normal
    values on k variables (n, k as in the data). ``threshold_*`` is the ``quantile`` quantile of each
    ordered eigenvalue over the simulations (R's default type 7 quantile), ``mean_*`` their mean. The
    suggested number of factors (components) is the number of leading observed eigenvalues that are
    greater than their threshold, stopping at the first that is not (as ``psych::fa.parallel``'s
    ``nfact`` / ``ncomp``).

    Parameters
    ----------
    data : DataFrame or 2-D array
        Item scores, rows = cases, NaN = missing. Observed correlations are pairwise-complete; the
        simulated data have the same number of cases n (rows with at least one answer), no missing values.
    n_iter : int
        Number of simulated data sets (>= 2).
    quantile : float
        Quantile of the simulated eigenvalues used as the threshold, in (0, 1); 0.95 is the
        conventional choice (Glorfeld, 1995), 0.5 approximates Horn's mean.
    seed : int, optional
        Seed of ``numpy.random.default_rng`` for the simulated data; the same seed gives the same result.
    fm : {"minres", "ml"}
        Factoring method of the one-factor solution that gives the factor eigenvalues.

    Returns
    -------
    ParallelResult

    Raises
    ------
    NotEstimable
        Fewer than 3 items or 3 cases, an item without variance, an undefined correlation; with
        ``fm="ml"`` a correlation matrix that is not positive definite.

    Notes
    -----
    In R: ``psych::fa.parallel(x, fm = fm, fa = "both", n.iter = n_iter, quant = quantile, plot = FALSE)``:
    ``fa.values`` and ``pc.values`` are ``observed_factor`` and ``observed_component`` (the same
    numbers), ``nfact`` / ``ncomp`` the suggested counts. R's simulated eigenvalues come from R's
    random numbers, so thresholds agree only within Monte-Carlo error. psych compares with the
    simulated quantiles as here (``sim.fa.ci`` / ``sim.pc.ci``); it also resamples the observed data,
    which is not done here. When every observed eigenvalue exceeds its threshold psych reports NA;
    this function reports k and says so in ``warnings``.

    References
    ----------
    Horn, J. L. (1965). A rationale and test for the number of factors in factor analysis.
    Psychometrika, 30, 179-185.
    Glorfeld, L. W. (1995). An improvement on Horn's parallel analysis methodology for selecting the
    correct number of factors to retain. Educational and Psychological Measurement, 55, 377-393.

    Examples
    --------
    Six items, x1-x3 loading on one factor and x4-x6 on another, 300 simulated cases:

    >>> import numpy as np
    >>> import pandas as pd
    >>> from validation.stats import parallel_analysis
    >>> rng = np.random.default_rng(0)
    >>> f = rng.normal(size=(300, 2))
    >>> items = pd.DataFrame({f"x{j + 1}": 0.7 * f[:, j // 3] + rng.normal(scale=0.7, size=300)
    ...                       for j in range(6)})
    >>> res = parallel_analysis(items, n_iter=20, seed=1)
    >>> res.n_factors, res.n_components
    (2, 2)
    >>> [round(v, 2) for v in res.observed_component[:3]]  # eigenvalues of the correlation matrix
    [2.09, 1.9, 0.56]
    >>> [round(v, 2) for v in res.threshold_component[:3]]  # 95th percentiles over 20 random data sets
    [1.26, 1.16, 1.06]
    """
    if isinstance(n_iter, bool) or not isinstance(n_iter, (int, np.integer)) or n_iter < 2:
        raise ValueError(f"n_iter: expected an integer >= 2, got {n_iter!r}")
    if isinstance(quantile, bool) or not isinstance(quantile, (int, float, np.floating)) or not 0.0 < quantile < 1.0:
        raise ValueError(f"quantile: expected a number strictly between 0 and 1 (e.g. 0.95), got {quantile!r}")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))):
        raise ValueError(f"seed: expected an integer or None, got {seed!r}")
    fm = _check_fm(fm)
    names, r, n, how = _correlation(data, min_items=3)
    k = len(names)
    warnings: list[str] = []
    obs_pc = np.linalg.eigvalsh(r)[::-1]
    if fm == "ml" and obs_pc[-1] <= _SINGULAR * obs_pc[0]:
        raise NotEstimable("not estimable: fm='ml' needs a positive definite correlation matrix")
    obs_fa = _factor_eigenvalues(r, fm)

    rng = check_random_state(seed)
    sim_pc = np.empty((n_iter, k))
    sim_fa = np.empty((n_iter, k))
    per_batch = max(1, _BATCH_CELLS // (n * k))
    done = 0
    while done < n_iter:
        b = min(per_batch, n_iter - done)
        z = rng.standard_normal((b, n, k))
        z -= z.mean(axis=1, keepdims=True)
        c = np.matmul(z.transpose(0, 2, 1), z)
        sd = np.sqrt(np.diagonal(c, axis1=1, axis2=2))
        c = c / (sd[:, :, None] * sd[:, None, :])
        idx = np.arange(k)
        c[:, idx, idx] = 1.0
        sim_pc[done : done + b] = np.linalg.eigvalsh(c)[:, ::-1]
        for j in range(b):
            sim_fa[done + j] = _factor_eigenvalues(c[j], fm)
        done += b
    q = float(quantile)
    thr_fa = np.quantile(sim_fa, q, axis=0)
    thr_pc = np.quantile(sim_pc, q, axis=0)
    nfact, all_fa = _first_not_above(obs_fa, thr_fa)
    ncomp, all_pc = _first_not_above(obs_pc, thr_pc)
    if all_fa:
        warnings.append("every observed factor eigenvalue exceeds its threshold (psych reports NA)")
    if all_pc:
        warnings.append("every observed component eigenvalue exceeds its threshold (psych reports NA)")
    method = (
        f"Horn's parallel analysis: {n_iter} simulated normal data sets of {n} x {k}, {q:g} quantile; factor "
        f"eigenvalues of the correlation matrix with one-factor {fm} communalities on the diagonal"
    )
    return ParallelResult(
        observed_factor=[float(v) for v in obs_fa],
        observed_component=[float(v) for v in obs_pc],
        mean_factor=[float(v) for v in sim_fa.mean(axis=0)],
        mean_component=[float(v) for v in sim_pc.mean(axis=0)],
        threshold_factor=[float(v) for v in thr_fa],
        threshold_component=[float(v) for v in thr_pc],
        n_factors=nfact,
        n_components=ncomp,
        n_iter=int(n_iter),
        quantile=q,
        seed=None if seed is None else int(seed),
        fm=fm,
        n=int(n),
        k=k,
        method=method,
        correlation=how,
        warnings=tuple(warnings),
    )


# ================================================================================================
# polychoric correlations
# ================================================================================================


@dataclasses.dataclass(frozen=True, eq=False)
class PolychoricResult:
    """Polychoric correlation matrix (``rho``, items x items) and item thresholds (``thresholds``,
    items x cut points, on the standard normal scale; -inf / +inf where categories are unused)."""

    rho: pd.DataFrame
    thresholds: pd.DataFrame
    n: int
    k: int
    categories: list[float]
    global_thresholds: bool
    smoothed: bool
    corrected_pairs: int
    method: str
    warnings: tuple[str, ...] = ()


def _ordinal_codes(data: Any, max_categories: int) -> tuple[list[str], np.ndarray, np.ndarray, int]:
    """Item names, integer codes 0..C-1 (NaN missing), the category values and the rows used."""
    names, x, complete = item_matrix(data, what="data")
    k = len(names)
    if k < 2:
        raise NotEstimable(f"not estimable: needs at least 2 items, got {k}")
    if not complete:
        x = x[~np.isnan(x).all(axis=1)]
    n = x.shape[0]
    if n < 3:
        raise NotEstimable(f"not estimable: {n} case(s); needs at least 3")
    obs = x[~np.isnan(x)]
    if np.any(obs != np.round(obs)):
        bad = [names[j] for j in range(k) if np.any(np.nan_to_num(x[:, j]) != np.round(np.nan_to_num(x[:, j])))]
        raise ValueError(f"data: polychoric correlations need integer category codes; non-integer values in {bad}")
    lo, hi = float(obs.min()), float(obs.max())
    ncat = int(hi - lo + 1)
    if ncat > max_categories:
        raise NotEstimable(
            f"not estimable: the items span {ncat} values ({lo:g} to {hi:g}), more than max_categories="
            f"{max_categories}; polychoric correlations are for a few ordered categories"
        )
    const = []
    for j in range(k):
        col = x[:, j][~np.isnan(x[:, j])]
        if col.size < 2 or col.min() == col.max():
            const.append(names[j])
    if const:
        raise NotEstimable(f"not estimable: item(s) without variance: {', '.join(const)}")
    return names, x - lo, np.arange(lo, hi + 1), n


def polychoric(data: Any, correct: float = 0.5, max_categories: int = 8) -> PolychoricResult:
    r"""Polychoric correlations of ordinal items by the two-step method (Olsson, 1979).

    Each item j is taken to be a latent standard normal variable cut at thresholds
    :math:`\tau_{j,1} < \dots < \tau_{j,C-1}`. Step 1: :math:`\tau_{j,c} = \Phi^{-1}(\hat P(x_j \le c))`,
    from the item's marginal proportions over all its answers. Step 2: for each pair (i, j), with
    :math:`p_{ab}` the proportions of the pairwise-complete 2-way table, :math:`\rho_{ij}` minimises

    .. math::

        -\sum_{a,b} p_{ab} \ln \pi_{ab}(\rho), \qquad
        \pi_{ab}(\rho) = \Phi_2(\tau_{i,a}, \tau_{j,b}; \rho) - \Phi_2(\tau_{i,a-1}, \tau_{j,b}; \rho)
        - \Phi_2(\tau_{i,a}, \tau_{j,b-1}; \rho) + \Phi_2(\tau_{i,a-1}, \tau_{j,b-1}; \rho)

    over [-1, 1] by Brent's (1973) method with tolerance :math:`\varepsilon^{1/4}`; :math:`\Phi_2` is the
    bivariate normal distribution function (Owen, 1956). Cells with :math:`\pi_{ab} = 0` are left out.

    All items are coded on the common scale min..max of the whole table. When they do not all reach
    the same highest value, thresholds are instead taken per pair from that pair's table after
    dropping its empty rows and columns and replacing its empty cells by ``correct`` cases (0.5, a
    continuity correction) -- the rule of ``psych::polychoric``, which applies the correction only then.
    A matrix that is not positive definite is smoothed (``psych::cor.smooth``) and flagged.

    Parameters
    ----------
    data : DataFrame or 2-D array
        Integer item scores (at most ``max_categories`` distinct values overall), NaN = missing.
    correct : float
        Cases put in empty cells when thresholds are taken per pair (>= 0; 0 = none).
    max_categories : int
        Largest number of categories accepted (psych: 8).

    Returns
    -------
    PolychoricResult

    Raises
    ------
    NotEstimable
        Fewer than 2 items or 3 cases, an item without variance, more than ``max_categories`` values,
        or a pair whose correlation is undefined (no case answered both, or a constant item among them).

    Notes
    -----
    In R: ``psych::polychoric(x)`` (``$rho``, ``$tau``; correct = 0.5, global = TRUE, smooth = TRUE).
    psych drops items without variance with a message; this function refuses them. Thresholds above
    an item's highest category are +inf here (psych: NaN or +Inf). psych's ``n.obs`` counts all rows;
    ``n`` here counts rows with at least one answer.

    References
    ----------
    Olsson, U. (1979). Maximum likelihood estimation of the polychoric correlation coefficient.
    Psychometrika, 44, 443-460.
    Owen, D. B. (1956). Tables for computing bivariate normal probabilities. Annals of Mathematical
    Statistics, 27, 1075-1090.
    Brent, R. P. (1973). Algorithms for Minimization without Derivatives. Prentice-Hall.

    Examples
    --------
    Three three-point ratings of one latent trait, 300 simulated cases:

    >>> import numpy as np
    >>> import pandas as pd
    >>> from validation.stats import polychoric
    >>> rng = np.random.default_rng(3)
    >>> latent = rng.normal(size=300)
    >>> def rating():  # a noisy reading of the trait, cut into 1 (low), 2, 3 (high)
    ...     return 1 + np.digitize(0.8 * latent + rng.normal(scale=0.6, size=300), [-0.5, 0.5])
    >>> items = pd.DataFrame({f"v{j}": rating() for j in range(1, 4)})
    >>> res = polychoric(items)
    >>> print(res.rho.round(3))
           v1     v2     v3
    v1  1.000  0.686  0.679
    v2  0.686  1.000  0.652
    v3  0.679  0.652  1.000
    >>> print(res.thresholds.round(3))
          1|2    2|3
    v1 -0.633  0.323
    v2 -0.496  0.486
    v3 -0.613  0.477
    >>> round(float(items.corr().loc["v1", "v2"]), 3)  # Pearson, attenuated by the coarse categories
    0.576
    """
    if isinstance(correct, bool) or not isinstance(correct, (int, float, np.floating)) or not correct >= 0:
        raise ValueError(f"correct: expected a number >= 0 (cases added to empty cells), got {correct!r}")
    if isinstance(max_categories, bool) or not isinstance(max_categories, (int, np.integer)) or max_categories < 2:
        raise ValueError(f"max_categories: expected an integer >= 2, got {max_categories!r}")
    names, codes, cats, n = _ordinal_codes(data, int(max_categories))
    k = len(names)
    ncat = cats.size
    top = np.array([np.nanmax(codes[:, j]) for j in range(k)])
    global_tau = bool(top.min() == top.max())
    warnings: list[str] = []
    if not global_tau:
        warnings.append(
            "the items do not all reach the same highest category: thresholds are estimated per pair "
            f"(empty rows/columns dropped, empty cells set to {correct:g} cases)"
        )
    core = _pc.polychoric_core(codes, ncat, global_tau, float(correct))
    if core["bad"]:
        i, j = core["bad"][0]
        raise NotEstimable(
            f"not estimable: the polychoric correlation of {names[i]} and {names[j]} is undefined "
            "(no case answered both, or one of them is constant among the cases that did)"
        )
    if core["fixed"] and correct > 0:
        warnings.append(
            f"{core['fixed']} pair table(s) had empty cells set to {correct:g} cases (continuity correction)"
        )
    rho, smoothed = _pc.cor_smooth(core["rho"])
    if smoothed:
        warnings.append("the polychoric matrix was not positive definite and was smoothed (psych::cor.smooth)")
    cuts = [f"{cats[c]:g}|{cats[c + 1]:g}" for c in range(ncat - 1)]
    method = (
        "polychoric correlations, two-step: item thresholds from "
        + ("each item's marginal proportions" if global_tau else "each pair's table margins")
        + ", then each pair's rho by maximum likelihood on the pairwise-complete 2-way table"
    )
    return PolychoricResult(
        rho=pd.DataFrame(rho, index=names, columns=names),
        thresholds=pd.DataFrame(core["tau"], index=names, columns=cuts),
        n=int(n),
        k=k,
        categories=[float(c) for c in cats],
        global_thresholds=global_tau,
        smoothed=smoothed,
        corrected_pairs=int(core["fixed"]) if correct > 0 else 0,
        method=method,
        warnings=tuple(warnings),
    )


# ================================================================================================
# exploratory factor analysis
# ================================================================================================

_ROTATIONS = ("oblimin", "promax", "varimax", "geomin")
_CORS = ("pearson", "polychoric")


@dataclasses.dataclass(frozen=True)
class EFAFit:
    r"""Fit of an exploratory factor model, as ``psych::fa`` reports it.

    ``objective`` :math:`F = \operatorname{tr}(\hat R^{-1} R) - \ln|\hat R^{-1} R| - k` (model with unit
    diagonal; both matrices smoothed if not positive definite); ``chisq`` = F (n - 1 - (2k + 5)/6 - 2m/3)
    (Bartlett's correction; psych's ``STATISTIC``), ``df`` = ((k - m)^2 - (k + m)) / 2 (``dof``), ``p`` its
    upper tail (None when df = 0); ``rms`` the root mean square off-diagonal residual weighted by the
    pairwise counts; ``tli`` Tucker-Lewis index, ``rmsea`` the point estimate, ``bic`` = chisq - df ln n.
    """

    objective: float
    chisq: float
    df: int
    p: float | None
    rms: float
    tli: float | None
    rmsea: float | None
    bic: float | None
    n_obs: int


@dataclasses.dataclass(frozen=True, eq=False)
class EFAResult:
    """Exploratory factor analysis: rotated ``loadings`` (items x factors, pattern matrix for oblique
    rotations), ``communalities`` and ``uniquenesses`` per item, factor correlations ``phi`` (identity
    for orthogonal rotations), ``variance`` accounted for (rows "SS loadings", "Proportion Var",
    "Cumulative Var", "Proportion Explained", "Cumulative Proportion"), model ``fit``, convergence
    and Heywood information. Factors are named F1..Fm in decreasing order of their sums of squared
    loadings; each column has a positive sum. ``converged`` / ``iterations`` / ``optimizer_message``
    describe the extraction (L-BFGS-B), ``rotation_converged`` / ``rotation_iterations`` the rotation
    (None without one)."""

    loadings: pd.DataFrame
    communalities: pd.Series
    uniquenesses: pd.Series
    phi: pd.DataFrame
    variance: pd.DataFrame
    fit: EFAFit
    n_factors: int
    method: str
    rotation: str | None
    cor: str
    n: int
    k: int
    converged: bool
    iterations: int
    optimizer_message: str
    rotation_converged: bool | None
    rotation_iterations: int | None
    heywood: tuple[str, ...]
    correlation: str
    warnings: tuple[str, ...] = ()

    def to_frame(self) -> pd.DataFrame:
        """Loadings with communality and uniqueness columns (psych's printed table, without complexity)."""
        return self.loadings.assign(h2=self.communalities, u2=self.uniquenesses)


def _dof(k: int, m: int) -> int:
    """Degrees of freedom of an m-factor model for k variables: k(k-1)/2 - km + m(m-1)/2."""
    return (k * (k - 1)) // 2 - k * m + (m * (m - 1)) // 2


def _pairwise_counts(x: np.ndarray) -> np.ndarray:
    m = (~np.isnan(x)).astype(float)
    return m.T @ m


def _fit_statistics(
    r: np.ndarray, lam: np.ndarray, phi: np.ndarray, n_obs: int, np_obs: np.ndarray
) -> tuple[EFAFit, list[str]]:
    """psych::fa.stats for a model with loadings ``lam`` and factor correlations ``phi``."""
    k, m = lam.shape
    warnings: list[str] = []
    model = lam @ phi @ lam.T
    residual = r - model
    dof = _dof(k, m)
    np.fill_diagonal(residual, 0.0)
    rstar_off = float((residual**2 * np_obs).sum())
    nh = np_obs.size / float((1.0 / np_obs).sum())
    rms = float(np.sqrt(rstar_off / (nh * k * (k - 1))))
    np.fill_diagonal(model, np.diag(r))
    model_s, sm1 = _pc.cor_smooth(model)
    r_s, sm2 = _pc.cor_smooth(r)
    if sm2:
        warnings.append("the correlation matrix is not positive definite; it was smoothed for the fit statistics")
    try:
        mir = np.linalg.solve(model_s, r_s)
        sign, logdet = np.linalg.slogdet(mir)
        objective = float(np.trace(mir) - logdet - k) if sign > 0 else np.inf
    except np.linalg.LinAlgError:
        objective = np.inf
    if not np.isfinite(objective):
        raise NotEstimable(
            "not estimable: the model-implied correlation matrix is singular, so the fit objective is undefined"
        )
    mult = (n_obs - 1) - (2 * k + 5) / 6 - (2 * m) / 3
    chisq_raw = objective * mult
    chisq = max(chisq_raw, 0.0)
    p = float(stats.chi2.sf(chisq, dof)) if dof > 0 else None
    sign0, logdet0 = np.linalg.slogdet(r_s)
    f0 = float(np.trace(r_s) - logdet0 - k)
    if dof > 0:
        mm = objective / dof
        m0 = f0 * 2 / (k * (k - 1))
        tli = float((m0 - mm) / (m0 - 1 / mult))
        rmsea = float(np.sqrt(max(chisq_raw / (dof * n_obs) - 1 / (n_obs - 1), 0.0)))
        bic = float(chisq_raw - dof * np.log(n_obs))
    else:
        tli = rmsea = bic = None
    return EFAFit(objective, float(chisq), int(dof), p, rms, tli, rmsea, bic, int(n_obs)), warnings


def efa(
    data: Any,
    n_factors: int,
    method: str = "minres",
    rotation: str | None = "oblimin",
    cor: str = "pearson",
) -> EFAResult:
    r"""Exploratory (common) factor analysis, as ``psych::fa``.

    Extraction (on the item correlation matrix R, pairwise-complete Pearson or polychoric):

    * ``"minres"`` -- minimum residual (Harman & Jones, 1966): uniquenesses :math:`\psi` minimising the
      sum of squared off-diagonal residuals :math:`\sum_{i>j} (r_{ij} - (\Lambda\Lambda')_{ij})^2`, where
      :math:`\Lambda` holds the m leading eigenvectors of :math:`R - \Psi` scaled by the roots of their
      eigenvalues;
    * ``"ml"`` -- maximum likelihood (Joreskog, 1967; Lawley & Maxwell, 1971): :math:`\psi` minimising
      :math:`\operatorname{tr}(\hat\Sigma^{-1}R) - \ln|\hat\Sigma^{-1}R| - k`, with
      :math:`\Lambda = \Psi^{1/2} V (E - I)^{1/2}` from the leading eigenpairs of
      :math:`\Psi^{-1/2} R \Psi^{-1/2}`.

    Both by L-BFGS-B over :math:`\psi \in [0.005, \max(1, SMC)]` from :math:`1 - SMC`, with the settings
    psych uses. Rotation of the unrotated loadings (columns made to sum positive) by varimax
    (Kaiser, 1958; as ``stats::varimax``), promax (m = 4, Kaiser-normalised, as psych), direct
    oblimin with gamma = 0 (quartimin; Jennrich & Sampson, 1966) or oblique geomin (delta = 0.01;
    Yates, 1987), the last two by gradient projection (Jennrich, 2002; Bernaards & Jennrich, 2005)
    from the identity. Then columns are reflected to positive sums, factor correlations reflected
    with them, and factors put in decreasing order of :math:`\operatorname{diag}(\Phi\Lambda'\Lambda)`
    (their sums of squared loadings; for oblique rotations including the shared part).

    Communalities :math:`h^2 = \operatorname{diag}(\Lambda\Phi\Lambda')`, uniquenesses :math:`1 - h^2`;
    "SS loadings" :math:`\operatorname{diag}(\Phi\Lambda'\Lambda)`, "Proportion Var" = SS / k,
    "Proportion Explained" = SS / sum(SS).

    Parameters
    ----------
    data : DataFrame or 2-D array
        Item scores, rows = cases, NaN = missing (pairwise-complete correlations).
    n_factors : int
        Number of factors m, 1 <= m with non-negative degrees of freedom ((k - m)^2 >= k + m).
    method : {"minres", "ml"}
    rotation : {"oblimin", "promax", "varimax", "geomin", None}
        None (or "none") keeps the unrotated solution; ignored with one factor.
    cor : {"pearson", "polychoric"}
        Pearson correlations, or polychoric correlations (:func:`polychoric`) of ordinal items.

    Returns
    -------
    EFAResult
        ``heywood`` names items whose uniqueness reached the lower bound 0.005 or whose communality
        exceeds 1 (described in ``warnings``).

    Raises
    ------
    NotEstimable
        Fewer than 3 items or 3 cases, an item without variance, an undefined correlation, too many
        factors for the degrees of freedom, or (with ``method="ml"``) a correlation matrix that is not
        positive definite.

    Notes
    -----
    In R: ``psych::fa(x, nfactors = m, fm = method, rotate = rotation, cor = "cor" | "poly")``
    (rotation names: "oblimin", "promax", "varimax", "geominQ", "none"); ``$loadings``,
    ``$communality``, ``$uniquenesses``, ``$Phi``, ``$Vaccounted``, ``$objective``, ``$STATISTIC``,
    ``$dof``, ``$PVAL``, ``$rms``, ``$TLI``, ``$RMSEA[1]``, ``$BIC``. psych's n.obs counts every row of
    the data; here rows without any answer are not counted. Where a uniqueness ends at its bound
    (Heywood case) the optimiser's path there can differ slightly from R's (its L-BFGS-B version
    handles active bounds differently), so such solutions agree with psych to about 1e-5 only.

    References
    ----------
    Harman, H. H., & Jones, W. H. (1966). Factor analysis by minimizing residuals (minres).
    Psychometrika, 31, 351-368.
    Joreskog, K. G. (1967). Some contributions to maximum likelihood factor analysis.
    Psychometrika, 32, 443-482.
    Kaiser, H. F. (1958). The varimax criterion for analytic rotation in factor analysis.
    Psychometrika, 23, 187-200.
    Hendrickson, A. E., & White, P. O. (1964). Promax. British Journal of Statistical Psychology, 17, 65-70.
    Jennrich, R. I. (2002). A simple general method for oblique rotation. Psychometrika, 67, 7-19.
    Bernaards, C. A., & Jennrich, R. I. (2005). Gradient projection algorithms and software for
    arbitrary rotation criteria in factor analysis. Educational and Psychological Measurement, 65, 676-696.
    Byrd, R. H., Lu, P., Nocedal, J., & Zhu, C. (1995). A limited memory algorithm for bound
    constrained optimization. SIAM Journal on Scientific Computing, 16, 1190-1208.

    Examples
    --------
    Six items, x1-x3 loading on one factor and x4-x6 on another, 300 simulated cases:

    >>> import numpy as np
    >>> import pandas as pd
    >>> from validation.stats import efa
    >>> rng = np.random.default_rng(0)
    >>> f = rng.normal(size=(300, 2))
    >>> items = pd.DataFrame({f"x{j + 1}": 0.7 * f[:, j // 3] + rng.normal(scale=0.7, size=300)
    ...                       for j in range(6)})
    >>> res = efa(items, n_factors=2, method="minres", rotation="oblimin")
    >>> print(res.loadings.round(2))  # F1 is the factor with the larger sum of squared loadings
          F1    F2
    x1  0.06  0.75
    x2 -0.04  0.68
    x3 -0.05  0.68
    x4  0.68  0.01
    x5  0.70  0.02
    x6  0.75 -0.03
    >>> print(f"factor correlation {res.phi.loc['F1', 'F2']:.3f}")
    factor correlation -0.057
    >>> print(f"chi-square {res.fit.chisq:.2f} on {res.fit.df} df, RMSR {res.fit.rms:.3f}")
    chi-square 1.54 on 4 df, RMSR 0.009
    """
    if isinstance(n_factors, bool) or not isinstance(n_factors, (int, np.integer)) or n_factors < 1:
        raise ValueError(f"n_factors: expected an integer >= 1, got {n_factors!r}")
    method = _check_fm(method, "method")
    if rotation is not None and (not isinstance(rotation, str) or rotation not in _ROTATIONS + ("none",)):
        raise ValueError(f"rotation: expected one of {list(_ROTATIONS)} or None, got {rotation!r}")
    if rotation == "none":
        rotation = None
    if not isinstance(cor, str) or cor not in _CORS:
        raise ValueError(f"cor: expected one of {list(_CORS)}, got {cor!r}")
    m = int(n_factors)
    warnings: list[str] = []
    if cor == "pearson":
        names, r, n, how = _correlation(data, min_items=3)
        _, xmat, _ = item_matrix(data, what="data")
    else:
        pc = polychoric(data)
        names, r, n = list(pc.rho.index), pc.rho.to_numpy(), pc.n
        if pc.k < 3:
            raise NotEstimable(f"not estimable: needs at least 3 items, got {pc.k}")
        how = pc.method
        warnings.extend(pc.warnings)
        _, xmat, _ = item_matrix(data, what="data")
    xmat = xmat[~np.isnan(xmat).all(axis=1)]
    k = len(names)
    dof = _dof(k, m)
    if dof < 0:
        most = max(j for j in range(k) if _dof(k, j) >= 0)
        raise NotEstimable(
            f"not estimable: {m} factor(s) for {k} items leave {dof} degrees of freedom; at most {most} "
            "factor(s) can be fitted"
        )
    ev = np.linalg.eigvalsh(r)
    if ev[0] <= _SINGULAR * ev[-1]:
        sing = _singular_items(r, names)
        what = (
            f"singular (linearly dependent items: {', '.join(sing)})" if sing else "not positive definite"
        )
        if method == "ml":
            raise NotEstimable(
                f"not estimable: maximum likelihood needs a positive definite correlation matrix; it is {what}"
            )
        warnings.append(f"the correlation matrix is {what}")
    ext = _extract(r, m, method)
    res = ext["result"]
    lam = ext["loadings"]
    # reflect: columns sum positive (one factor: the whole column)
    sgn = np.sign(lam.sum(axis=0))
    sgn[sgn == 0] = 1.0
    lam = lam * sgn
    model = lam @ lam.T
    lam = np.where(lam == 0, 1e-15, lam)
    phi = np.eye(m)
    rot_conv: bool | None = None
    rot_it: int | None = None
    if rotation is not None and m > 1:
        rot = _rotation.ROTATIONS[rotation](lam)
        lam, rot_conv, rot_it = rot.loadings, rot.converged, rot.iterations
        if not rot.orthogonal:
            phi = rot.phi
        if not rot_conv:
            warnings.append(f"the {rotation} rotation did not converge in {rot_it} iterations")
    sgn = np.sign(lam.sum(axis=0))
    sgn[sgn == 0] = 1.0
    lam = lam * sgn
    phi = phi * np.outer(sgn, sgn)
    ss = np.diag(phi @ lam.T @ lam)
    if m > 1:
        order = np.argsort(-ss, kind="stable")
        lam, phi, ss = lam[:, order], phi[np.ix_(order, order)], ss[order]
    communality = np.diag(model).copy()
    uniqueness = np.diag(r) - communality
    psi = ext["psi"]
    heywood_items = []
    at_bound = np.flatnonzero(psi <= _PSI_LOWER * (1 + 1e-8))
    if at_bound.size:
        warnings.append(
            "Heywood case: the uniqueness of " + ", ".join(names[j] for j in at_bound)
            + f" reached the lower bound {_PSI_LOWER} (the estimate is constrained)"
        )
        heywood_items.extend(names[j] for j in at_bound)
    over = np.flatnonzero(communality > 1)
    if over.size:
        warnings.append("ultra-Heywood case: communality above 1 for " + ", ".join(names[j] for j in over))
        heywood_items.extend(names[j] for j in over if names[j] not in heywood_items)
    converged = bool(res.status == 0)
    if not converged:
        warnings.append(f"the {method} optimiser did not converge: {res.message}")
    fit, fw = _fit_statistics(r, lam, phi, n, _pairwise_counts(xmat))
    warnings.extend(w for w in fw if w not in warnings)
    cols = [f"F{j + 1}" for j in range(m)]
    vtotal = float((communality + uniqueness).sum())
    var = pd.DataFrame(
        [ss, ss / vtotal, np.cumsum(ss / vtotal), ss / ss.sum(), np.cumsum(ss / ss.sum())],
        index=["SS loadings", "Proportion Var", "Cumulative Var", "Proportion Explained", "Cumulative Proportion"],
        columns=cols,
    )
    if cor == "pearson":
        cor_desc = how
    else:
        cor_desc = how + f"; {n} cases"
    return EFAResult(
        loadings=pd.DataFrame(lam, index=names, columns=cols),
        communalities=pd.Series(communality, index=names, name="h2"),
        uniquenesses=pd.Series(uniqueness, index=names, name="u2"),
        phi=pd.DataFrame(phi, index=cols, columns=cols),
        variance=var,
        fit=fit,
        n_factors=m,
        method=method,
        rotation=rotation if m > 1 else None,
        cor=cor,
        n=int(n),
        k=k,
        converged=converged,
        iterations=int(res.nit),
        optimizer_message=str(res.message),
        rotation_converged=rot_conv,
        rotation_iterations=rot_it,
        heywood=tuple(heywood_items),
        correlation=cor_desc,
        warnings=tuple(warnings),
    )
