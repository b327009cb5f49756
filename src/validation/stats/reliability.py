"""Internal consistency of a set of items: Cronbach's alpha, McDonald's omega, item statistics.

Pure functions on a table of item scores (rows = cases, columns = items; a ``pandas.DataFrame`` or a
2-D ``numpy`` array, missing values as ``NaN``). They know nothing of any instrument: the caller picks
the items of a scale and reverses reverse-keyed items first.

* :func:`cronbach_alpha` -- raw and standardized alpha with a Feldt or bootstrap interval, corrected
  item-total correlations and alpha if an item is dropped, computed as ``psych::alpha`` does;
* :func:`omega` -- McDonald's omega total from a one-factor maximum-likelihood model, as a one-factor
  ``lavaan::cfa`` gives it, with a bootstrap interval;
* :func:`item_statistics` -- per item n, mean, SD, floor and ceiling rates, missing rate, low variance;
* :func:`omega_hierarchical` -- McDonald's omega hierarchical and omega total of a multidimensional item
  set through the Schmid-Leiman transformation, with explained common variance and per-group omegas,
  as ``psych::omega`` computes them;
* :func:`ordinal_alpha`, :func:`ordinal_omega` -- alpha and one-factor omega on the polychoric
  correlation matrix of ordinal items (e.g. three-point ratings), with bootstrap intervals.

Every result is a frozen dataclass; :func:`validation.results.to_dict` turns it into plain JSON values.
Degenerate data raise :class:`validation.results.NotEstimable`.
"""

from __future__ import annotations

import dataclasses
import math
import re
from typing import Any

import numpy as np
import pandas as pd
from scipy import special, stats

from validation.stats import _polychoric as _pc
from validation.stats import _rotation
from validation.stats import factor as _factor
from validation.stats._checks import check_level, check_n_boot, check_random_state, item_matrix, pairwise_moments, no_variance_items
from validation.stats.results import Interval, NotEstimable

__all__ = [
    "ItemAlpha",
    "AlphaResult",
    "cronbach_alpha",
    "ItemLoading",
    "OmegaResult",
    "omega",
    "ItemStatistic",
    "ItemStatisticsResult",
    "item_statistics",
    "OmegaHierarchicalResult",
    "omega_hierarchical",
    "OrdinalItemAlpha",
    "OrdinalAlphaResult",
    "ordinal_alpha",
    "OrdinalOmegaResult",
    "ordinal_omega",
    "categorical_omega",
    "green_yang_omega",
]

# Bootstrap replicates are processed in batches whose weight matrix holds at most this many cells.
_BATCH_CELLS = 4_000_000


def _boot_weight_batches(rng: np.random.Generator, n: int, n_boot: int):
    """Yield (b x n) matrices of resampling counts: row r of a batch says how often each case is
    drawn in one bootstrap replicate (n draws with replacement). Batches have a fixed size for a
    given n, so the replicates depend on the seed only."""
    size = max(1, min(n_boot, _BATCH_CELLS // max(n, 1)))
    done = 0
    while done < n_boot:
        b = min(size, n_boot - done)
        idx = rng.integers(0, n, size=(b, n))
        idx += (np.arange(b) * n)[:, None]
        yield np.bincount(idx.ravel(), minlength=b * n).reshape(b, n).astype(float)
        done += b


def _percentile_interval(values: np.ndarray, level: float, method: str) -> Interval | None:
    values = values[np.isfinite(values)]
    if values.size == 0:
        return None
    p = 1.0 - level
    lo, hi = np.quantile(values, [p / 2, 1 - p / 2])  # type 7, R's default quantile()
    return Interval(float(lo), float(hi), float(level), method)


# --------------------------------------------------------------------------------------------------
# Cronbach's alpha
# --------------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ItemAlpha:
    """One item's line of the item-total table.

    ``r_drop``: corrected item-total correlation (item with the sum of the other items);
    ``alpha_if_dropped`` / ``std_alpha_if_dropped``: raw / standardized alpha of the other items.
    """

    r_drop: float
    alpha_if_dropped: float
    std_alpha_if_dropped: float


@dataclasses.dataclass(frozen=True)
class AlphaResult:
    """Cronbach's alpha of a set of items.

    Attributes
    ----------
    alpha, std_alpha : raw alpha (covariances) and standardized alpha (correlations).
    average_r : mean inter-item correlation.
    ci : interval for the raw alpha (``None`` when ``ci=None`` or no bootstrap replicate succeeded).
    n : cases used (rows with at least one answered item; with listwise deletion, complete rows).
    n_complete : rows with every (non-constant) item answered.
    k : items in alpha (constant items are left out, see ``dropped_items``).
    missing : how missing values were handled, in words.
    items : item name -> :class:`ItemAlpha`.
    dropped_items : items left out because they have no variance.
    n_boot : successful bootstrap replicates (``None`` for the Feldt interval).
    warnings : anything a reader should know (a constant item, a negative item-rest correlation...).
    """

    alpha: float
    std_alpha: float
    average_r: float
    ci: Interval | None
    n: int
    n_complete: int
    k: int
    missing: str
    items: dict[str, ItemAlpha]
    dropped_items: tuple[str, ...] = ()
    n_boot: int | None = None
    warnings: tuple[str, ...] = ()

    def to_frame(self) -> pd.DataFrame:
        """The item-total table as a DataFrame (one row per item)."""
        return pd.DataFrame({k: dataclasses.asdict(v) for k, v in self.items.items()}).T


def feldt_interval(alpha: float, n: int, k: int, ci: float) -> Interval:
    """Feldt, Woodruff & Salih's (1987) interval of alpha from n cases and k items.

    Examples
    --------
    >>> iv = feldt_interval(0.9264, 10, 4, 0.95)
    >>> round(iv.lower, 4), round(iv.upper, 4)
    (0.8064, 0.9795)
    """
    p = 1.0 - ci
    df1, df2 = n - 1, (n - 1) * (k - 1)
    lo = 1.0 - (1.0 - alpha) * stats.f.ppf(1 - p / 2, df1, df2)
    hi = 1.0 - (1.0 - alpha) * stats.f.ppf(p / 2, df1, df2)
    return Interval(float(lo), float(hi), float(ci), "feldt")


def _alpha_from_cov(c: np.ndarray) -> tuple[float, float, float]:
    k = c.shape[0]
    tr, tot = np.trace(c), c.sum()
    d = np.sqrt(np.diag(c))
    r = c / np.outer(d, d)
    sr = r.sum()
    raw = k / (k - 1) * (1.0 - tr / tot)
    std = k / (k - 1) * (1.0 - k / sr)
    av_r = (sr - k) / (k * (k - 1))
    return float(raw), float(std), float(av_r)


def _alpha_item_table(c: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """r.drop, raw and standardized alpha if dropped, for every item, from the covariance matrix."""
    k = c.shape[0]
    v = np.diag(c)
    d = np.sqrt(v)
    r = c / np.outer(d, d)
    rs, tot, tr = c.sum(axis=1), c.sum(), np.trace(c)
    rest_var = tot - 2 * rs + v  # variance of the sum of the other items
    with np.errstate(invalid="ignore", divide="ignore"):
        r_drop = (rs - v) / np.sqrt(v * rest_var)
        if k > 2:
            raw_drop = (k - 1) / (k - 2) * (1.0 - (tr - v) / rest_var)
            sr_drop = r.sum() - 2 * r.sum(axis=1) + 1.0
            std_drop = (k - 1) / (k - 2) * (1.0 - (k - 1) / sr_drop)
        else:
            # one item left: psych::alpha reports C12 / C22 (dropping item 1) and r12 here
            raw_drop = np.array([c[0, 1] / c[1, 1], c[0, 1] / c[0, 0]])
            std_drop = np.array([r[0, 1], r[0, 1]])
    return r_drop, raw_drop, std_drop


def _boot_alpha(x: np.ndarray, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """Raw alpha in ``n_boot`` bootstrap resamples of the rows of ``x`` (NaN = missing; pairwise
    covariances as in the point estimate). Vectorised: each batch of replicates is a matrix of
    resampling counts W, and every needed sum is W @ (per-case products)."""
    n, k = x.shape
    mask = ~np.isnan(x)
    mu = np.nanmean(x, axis=0)
    x0 = np.where(mask, x - mu, 0.0)
    out = np.empty(n_boot)
    pos = 0
    if mask.all():
        t0 = x0.sum(axis=1)
        a = np.column_stack([x0, x0 * x0, t0, t0 * t0])  # n x (2k + 2)
        for w in _boot_weight_batches(rng, n, n_boot):
            s = w @ a
            s1, s2, t1, t2 = s[:, :k], s[:, k : 2 * k], s[:, 2 * k], s[:, 2 * k + 1]
            tr = ((s2 - s1 * s1 / n) / (n - 1)).sum(axis=1)
            tot = (t2 - t1 * t1 / n) / (n - 1)
            with np.errstate(invalid="ignore", divide="ignore"):
                alpha = k / (k - 1) * (1.0 - tr / tot)
            alpha[~(tot > 1e-12 * np.maximum(tr, 1e-300))] = np.nan
            out[pos : pos + len(alpha)] = alpha
            pos += len(alpha)
        return out
    iu, ju = np.triu_indices(k)
    diag = iu == ju
    m = mask.astype(float)
    # per-case products for every pair i <= j, in row chunks to bound memory
    chunk = max(1, _BATCH_CELLS // (3 * len(iu)))
    for w in _boot_weight_batches(rng, n, n_boot):
        b = w.shape[0]
        npair = np.zeros((b, len(iu)))
        si = np.zeros((b, len(iu)))
        sj = np.zeros((b, len(iu)))
        pp = np.zeros((b, len(iu)))
        for start in range(0, n, chunk):
            sl = slice(start, start + chunk)
            ws = w[:, sl]
            xi, xj, mi, mj = x0[sl][:, iu], x0[sl][:, ju], m[sl][:, iu], m[sl][:, ju]
            npair += ws @ (mi * mj)
            si += ws @ (xi * mj)
            sj += ws @ (xj * mi)
            pp += ws @ (xi * xj)
        with np.errstate(invalid="ignore", divide="ignore"):
            cov = (pp - si * sj / npair) / (npair - 1)
            tr = cov[:, diag].sum(axis=1)
            tot = tr + 2.0 * cov[:, ~diag].sum(axis=1)
            alpha = k / (k - 1) * (1.0 - tr / tot)
        ok = (npair.min(axis=1) >= 2) & (tot > 1e-12 * np.abs(tr))
        alpha[~ok] = np.nan
        out[pos : pos + b] = alpha
        pos += b
    return out


def cronbach_alpha(
    items: Any,
    ci: float | None = 0.95,
    ci_method: str = "feldt",
    n_boot: int = 2000,
    seed: int | np.random.Generator | None = None,
    missing: str = "pairwise",
) -> AlphaResult:
    r"""Cronbach's alpha, standardized alpha and the item-total table.

    .. math::

        \alpha = \frac{k}{k-1}\Bigl(1 - \frac{\operatorname{tr} C}{\mathbf 1' C \mathbf 1}\Bigr),
        \qquad
        \alpha_{std} = \frac{k}{k-1}\Bigl(1 - \frac{k}{\mathbf 1' R \mathbf 1}\Bigr)

    with C the k x k item covariance matrix and R = cov2cor(C) (Cronbach, 1951). Per item: the
    corrected item-total correlation ``r_drop`` (the item with the sum of the other items, from C)
    and raw / standardized alpha of the other k - 1 items.

    Parameters
    ----------
    items : DataFrame or 2-D array
        Item scores, rows = cases, NaN = missing. Reverse-keyed items must already be reversed.
    ci : float or None
        Confidence level of the interval for raw alpha; ``None`` for no interval.
    ci_method : {"feldt", "bootstrap"}
        ``"feldt"``: :math:`1 - (1-\alpha) F_{1-p/2 \text{ or } p/2}(n-1, (n-1)(k-1))`, p = 1 - ci
        (Feldt, Woodruff & Salih, 1987), with n the cases used, as ``psych::alpha`` reports it.
        ``"bootstrap"``: percentile interval of raw alpha over ``n_boot`` resamples of the cases
        (R's default type-7 quantiles); the covariances of each resample are formed like the point
        estimate's.
    n_boot : int
        Bootstrap replicates (``ci_method="bootstrap"`` only).
    seed : int, Generator or None
        Seed of the bootstrap; the same seed gives the same interval.
    missing : {"pairwise", "listwise"}
        ``"pairwise"`` (as ``psych::alpha``): each covariance from the cases that answered both
        items, each variance from the cases that answered the item. ``"listwise"``: only the cases
        that answered every item.

    Returns
    -------
    AlphaResult

    Raises
    ------
    NotEstimable
        Fewer than two items with variance, fewer than three cases (listwise: complete cases;
        pairwise: cases sharing each pair of items), or a total score without variance.

    Notes
    -----
    An item without variance is left out (named in ``warnings`` and ``dropped_items``) and alpha
    is computed on the others, as ``psych::alpha`` does. With two items, alpha if dropped is
    undefined; psych reports C12 / C22 (raw) and r12 (standardized) there, and so does this
    function. The cases used, n, are the rows with at least one answered item (``psych::alpha``
    counts every row, also rows with no answer at all; otherwise the two agree).

    In R: ``psych::alpha(x)`` (``$total$raw_alpha``, ``$total$std.alpha``, ``$feldt``,
    ``$item.stats$r.drop``, ``$alpha.drop``); ``psych::alpha(na.omit(x))`` for listwise deletion.

    References
    ----------
    Cronbach, L. J. (1951). Coefficient alpha and the internal structure of tests. Psychometrika, 16, 297-334.
    Feldt, L. S., Woodruff, D. J., & Salih, F. A. (1987). Statistical inference for coefficient alpha.
    Applied Psychological Measurement, 11, 93-103.

    Examples
    --------
    Ten respondents answer four five-point items:

    >>> import pandas as pd
    >>> from validation.stats import cronbach_alpha
    >>> items = pd.DataFrame({
    ...     "q1": [4, 3, 5, 2, 4, 3, 5, 1, 4, 2],
    ...     "q2": [5, 3, 4, 2, 4, 2, 5, 2, 3, 2],
    ...     "q3": [4, 2, 5, 1, 5, 3, 4, 2, 4, 3],
    ...     "q4": [3, 3, 4, 2, 5, 2, 4, 1, 5, 1],
    ... })
    >>> res = cronbach_alpha(items)
    >>> print(f"alpha = {res.alpha:.4f}, 95% CI [{res.ci.lower:.4f}, {res.ci.upper:.4f}]")
    alpha = 0.9264, 95% CI [0.8064, 0.9795]
    >>> print(f"std. alpha = {res.std_alpha:.4f}, average r = {res.average_r:.4f}")
    std. alpha = 0.9282, average r = 0.7636
    >>> q1 = res.items["q1"]
    >>> print(f"q1: r.drop = {q1.r_drop:.4f}, alpha if dropped = {q1.alpha_if_dropped:.4f}")
    q1: r.drop = 0.9272, alpha if dropped = 0.8709

    ``pingouin.cronbach_alpha(items)`` gives the same alpha and Feldt interval (0.926, [0.806, 0.979]).
    """
    check_level(ci, allow_none=True)
    if ci_method not in ("feldt", "bootstrap"):
        raise ValueError(f"ci_method: expected 'feldt' or 'bootstrap', got {ci_method!r}")
    if missing not in ("pairwise", "listwise"):
        raise ValueError(f"missing: expected 'pairwise' or 'listwise', got {missing!r}")
    if ci is not None and ci_method == "bootstrap":
        n_boot = check_n_boot(n_boot)
    names, x, complete = item_matrix(items)
    if len(names) < 2:
        raise NotEstimable(f"not estimable: alpha needs at least 2 items, got {len(names)}")
    warnings: list[str] = []

    if missing == "listwise" and not complete:
        x = x[~np.isnan(x).any(axis=1)]
        complete = True
    if not complete:
        x = x[~np.isnan(x).all(axis=1)]  # a case with no answer at all is not used
    if x.shape[0] < 3:
        what = "complete case(s)" if missing == "listwise" else "case(s) with an answer"
        raise NotEstimable(f"not estimable: {x.shape[0]} {what}; alpha needs at least 3")

    mom = pairwise_moments(x, complete)
    dropped = no_variance_items(x, names, mom)
    for name in dropped:
        warnings.append(f"item {name} has no variance and was left out of alpha (as psych::alpha does)")
    if len(names) - len(dropped) < 2:
        raise NotEstimable(
            f"not estimable: fewer than 2 items with variance (without variance: {', '.join(dropped)})"
        )
    c, npair = mom["cov"], mom["n"]
    if dropped:
        keep = np.array([nm not in dropped for nm in names])
        names = [nm for nm, kp in zip(names, keep) if kp]
        x, c, npair = x[:, keep], c[np.ix_(keep, keep)], npair[np.ix_(keep, keep)]
        if not complete:
            x = x[~np.isnan(x).all(axis=1)]
    k = len(names)
    n = x.shape[0]
    n_complete = n if complete else int((~np.isnan(x)).all(axis=1).sum())
    if npair.min() < 3:
        i, j = np.unravel_index(np.argmin(npair), npair.shape)
        pair = names[i] if i == j else f"{names[i]} and {names[j]}"
        raise NotEstimable(
            f"not estimable: {int(npair[i, j])} case(s) answered {pair}; alpha needs at least 3"
        )
    tot, tr = c.sum(), np.trace(c)
    if not tot > 1e-12 * tr:
        raise NotEstimable(
            "not estimable: the total score has no variance (the items' covariances cancel their variances)"
        )
    raw, std, av_r = _alpha_from_cov(c)
    r_drop, raw_drop, std_drop = _alpha_item_table(c)
    for j, nm in enumerate(names):
        if not np.isfinite(raw_drop[j]):
            warnings.append(f"alpha if {nm} is dropped is not estimable (the other items' total has no variance)")
        if np.isfinite(r_drop[j]) and r_drop[j] < 0:
            warnings.append(
                f"item {nm} correlates negatively with the other items (r.drop = {r_drop[j]:.3f}); "
                "is it reverse-keyed?"
            )
    if missing == "pairwise":
        how = (
            "pairwise: each covariance from the cases answering both items (psych::alpha default); "
            f"{n_complete} of {n} cases answered every item"
        )
    else:
        how = f"listwise: only the {n} cases answering every item"

    interval = None
    n_ok = None
    if ci is not None and ci_method == "feldt":
        interval = feldt_interval(raw, n, k, ci)
    elif ci is not None:
        rng = check_random_state(seed)
        boots = _boot_alpha(x, n_boot, rng)
        n_ok = int(np.isfinite(boots).sum())
        interval = _percentile_interval(boots, float(ci), f"bootstrap percentile ({n_ok} of {n_boot} replicates)")
        if n_ok < n_boot:
            warnings.append(f"{n_boot - n_ok} of {n_boot} bootstrap replicates were not estimable and were left out")
        if interval is None:
            warnings.append("no bootstrap replicate was estimable: no interval")

    table = {
        nm: ItemAlpha(float(r_drop[j]), float(raw_drop[j]), float(std_drop[j])) for j, nm in enumerate(names)
    }
    return AlphaResult(
        alpha=raw,
        std_alpha=std,
        average_r=av_r,
        ci=interval,
        n=int(n),
        n_complete=n_complete,
        k=k,
        missing=how,
        items=table,
        dropped_items=tuple(dropped),
        n_boot=n_ok,
        warnings=tuple(warnings),
    )


# --------------------------------------------------------------------------------------------------
# McDonald's omega from a one-factor maximum-likelihood model
# --------------------------------------------------------------------------------------------------


def _ml_discrepancy(s: np.ndarray, lam: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """log|Sigma| + tr(S Sigma^-1) for a batch; +inf where Sigma is not positive definite."""
    sigma = lam[:, :, None] * lam[:, None, :] + theta[:, :, None] * np.eye(lam.shape[1])
    ev = np.linalg.eigvalsh(sigma)
    out = np.full(lam.shape[0], np.inf)
    ok = ev[:, 0] > 0
    if ok.any():
        inv = np.linalg.inv(sigma[ok])
        out[ok] = np.log(ev[ok]).sum(axis=1) + np.einsum("bij,bji->b", s[ok], inv)
    return out


def _one_factor_start(s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start values (Joreskog, 1967): psi_i = (1 - 1/(2k)) / (S^-1)_ii, loadings from the largest
    eigenpair of Psi^-1/2 S Psi^-1/2."""
    k = s.shape[1]
    psi = (1.0 - 0.5 / k) / np.diagonal(np.linalg.inv(s), axis1=1, axis2=2)
    sc = 1.0 / np.sqrt(psi)
    ev, vec = np.linalg.eigh(s * sc[:, :, None] * sc[:, None, :])
    e1, v1 = ev[:, -1], vec[:, :, -1]
    lam = np.sqrt(psi) * v1 * np.sqrt(np.maximum(e1 - 1.0, 0.05))[:, None]
    lam *= np.where(lam.sum(axis=1) < 0, -1.0, 1.0)[:, None]
    return lam, psi


def _fit_one_factor(
    s: np.ndarray,
    lam: np.ndarray | None = None,
    theta: np.ndarray | None = None,
    max_iter: int = 500,
    tol: float = 1e-10,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Maximum-likelihood one-factor model for a batch of covariance matrices s (B x k x k).

    Minimises F = log|Sigma| + tr(S Sigma^-1), Sigma = lambda lambda' + diag(theta), factor
    variance 1, by Fisher scoring with step halving (Jennrich & Robinson, 1969; Lee & Jennrich,
    1979). Residual variances are not bounded (a Heywood case gives theta <= 0, as lavaan reports
    it). Returns loadings, residual variances, the minimum of F and a converged flag per matrix.
    """
    b, k, _ = s.shape
    if lam is None or theta is None:
        lam, theta = _one_factor_start(s)
    lam = np.array(lam, dtype=float, copy=True)
    theta = np.array(theta, dtype=float, copy=True)
    eye = np.eye(k)
    f = _ml_discrepancy(s, lam, theta)
    active = np.isfinite(f)
    converged = np.zeros(b, dtype=bool)
    for _ in range(max_iter):
        idx = np.flatnonzero(active)
        if idx.size == 0:
            break
        la, th, sa = lam[idx], theta[idx], s[idx]
        sigma = la[:, :, None] * la[:, None, :] + th[:, :, None] * eye
        a = np.linalg.inv(sigma)
        delta = a - a @ sa @ a  # dF/dSigma
        g = np.concatenate([2.0 * np.einsum("bij,bj->bi", delta, la), np.diagonal(delta, axis1=1, axis2=2)], axis=1)
        u = np.einsum("bij,bj->bi", a, la)
        c = np.einsum("bi,bi->b", la, u)
        info_ll = u[:, :, None] * u[:, None, :] + c[:, None, None] * a
        info_lt = a * u[:, None, :]
        info_tt = 0.5 * a * a
        info = np.concatenate(
            [np.concatenate([info_ll, info_lt], axis=2), np.concatenate([info_lt.transpose(0, 2, 1), info_tt], axis=2)],
            axis=1,
        )
        try:
            step = -np.linalg.solve(2.0 * info, g[:, :, None])[:, :, 0]
        except np.linalg.LinAlgError:
            step = np.empty_like(g)
            for r in range(len(idx)):
                step[r] = -np.linalg.lstsq(2.0 * info[r], g[r], rcond=None)[0]
        f0 = f[idx]
        t = np.ones(len(idx))
        accepted = np.zeros(len(idx), dtype=bool)
        new_l, new_t, new_f = la.copy(), th.copy(), f0.copy()
        for _h in range(40):
            todo = ~accepted
            if not todo.any():
                break
            tl = la[todo] + t[todo, None] * step[todo, :k]
            tt = th[todo] + t[todo, None] * step[todo, k:]
            ft = _ml_discrepancy(sa[todo], tl, tt)
            good = ft <= f0[todo] + 1e-13 * np.abs(f0[todo])
            where = np.flatnonzero(todo)[good]
            new_l[where], new_t[where], new_f[where] = tl[good], tt[good], ft[good]
            accepted[where] = True
            t[todo] *= 0.5
        lam[idx], theta[idx], f[idx] = new_l, new_t, new_f
        size = np.abs(step).max(axis=1) * np.where(accepted, 1.0, 0.0)
        scale = 1.0 + np.abs(np.concatenate([new_l, new_t], axis=1)).max(axis=1)
        done = (size <= tol * scale) | (np.abs(g).max(axis=1) <= 1e-13)
        stuck = ~accepted & ~done
        converged[idx[done]] = True
        active[idx[done | stuck]] = False
    flip = lam.sum(axis=1) < 0
    lam[flip] *= -1.0
    return lam, theta, f, converged


@dataclasses.dataclass(frozen=True)
class ItemLoading:
    """One item in the one-factor model: loading (factor variance 1), residual variance, and the
    standardized loading lambda / sqrt(lambda^2 + theta)."""

    loading: float
    residual_variance: float
    std_loading: float


@dataclasses.dataclass(frozen=True)
class OmegaResult:
    """McDonald's omega total from a one-factor maximum-likelihood model.

    Attributes
    ----------
    omega : (sum lambda)^2 / ((sum lambda)^2 + sum theta).
    ci : bootstrap percentile interval of the complete cases, or under ``missing="ml"`` the Wald interval
        from the delta-method standard error (``None`` when ``ci=None`` or not estimable).
    n : cases used (complete cases, or every case with a value under ``missing="ml"``); k : items.
    items : item name -> :class:`ItemLoading`.
    chisq, df : likelihood-ratio test of the one-factor model (chisq = n * F_min, as lavaan).
    heywood : True when a residual variance is <= 0 (then omega is doubtful).
    n_boot : bootstrap replicates whose model converged (``None`` under ``missing="ml"``).
    missing : how missing values were handled, in words.
    warnings : anything a reader should know.
    se : delta-method standard error of omega under ``missing="ml"`` (``None`` for the bootstrap).
    """

    omega: float
    ci: Interval | None
    n: int
    k: int
    items: dict[str, ItemLoading]
    chisq: float
    df: int
    heywood: bool
    n_boot: int | None
    missing: str
    warnings: tuple[str, ...] = ()
    se: float | None = None

    def to_frame(self) -> pd.DataFrame:
        """Loadings and residual variances as a DataFrame (one row per item)."""
        return pd.DataFrame({k: dataclasses.asdict(v) for k, v in self.items.items()}).T


def _omega_of(lam: np.ndarray, theta: np.ndarray) -> np.ndarray:
    sl = lam.sum(axis=-1) ** 2
    return sl / (sl + theta.sum(axis=-1))


def omega(
    items: Any,
    ci: float | None = 0.95,
    n_boot: int = 1000,
    seed: int | np.random.Generator | None = None,
    missing: str = "listwise",
) -> OmegaResult:
    r"""McDonald's omega total from a one-factor maximum-likelihood model.

    .. math::

        \omega = \frac{(\sum_i \lambda_i)^2}{(\sum_i \lambda_i)^2 + \sum_i \theta_i}

    with loadings :math:`\lambda` (factor variance fixed to 1) and residual variances
    :math:`\theta` of the one-factor model :math:`\Sigma = \lambda\lambda' + \Theta` fitted by
    maximum likelihood to the covariance matrix S of the items (divisor n):
    minimise :math:`F = \log|\Sigma| + \operatorname{tr}(S\Sigma^{-1}) - \log|S| - k`
    (McDonald, 1999, ch. 6; Joreskog, 1967). The fit uses Fisher scoring; residual variances are
    unbounded, so a Heywood case shows as a residual variance <= 0 (flagged, as lavaan does).

    Parameters
    ----------
    items : DataFrame or 2-D array
        Item scores, rows = cases, NaN = missing.
    ci : float or None
        Level of the interval; ``None`` for none.
    n_boot : int
        Under ``missing="listwise"``: bootstrap resamples of the complete cases; each is refitted
        (vectorised over replicates); replicates that do not converge are left out and counted.
    seed : int, Generator or None
        Seed of the bootstrap.
    missing : {"listwise", "ml"}
        ``"listwise"``: the complete cases only, with a bootstrap percentile interval.
        ``"ml"``: every case with at least one value, by full-information maximum likelihood
        (:func:`validation.stats.cfa.cfa` with ``missing="ml"``; Arbuckle, 1996), with the
        delta-method standard error of omega from the observed information and its Wald interval,
        as lavaan reports a defined parameter (``omega := ...``).

    Returns
    -------
    OmegaResult

    Raises
    ------
    NotEstimable
        Fewer than 3 items, an item without variance, no more complete cases than items, a singular
        covariance matrix, or a fit that does not converge.

    Notes
    -----
    In R: ``fit <- lavaan::cfa("F =~ x1 + ... + xk", data = na.omit(x), std.lv = TRUE)``, then
    ``(sum lambda)^2 / ((sum lambda)^2 + sum theta)`` from ``parameterEstimates(fit)``; ``chisq``
    is ``fitMeasures(fit, "chisq")``. Omega does not depend on how the factor is scaled, but the
    factor variance must enter the formula: with lavaan's default marker-variable scaling
    (``std.lv = FALSE``) the loadings must be multiplied by the square root of the estimated factor
    variance first. Under ``missing="ml"``: ``cfa("F =~ l1*x1 + ... + lk*xk; x1 ~~ t1*x1; ...;
    omega := (l1 + ... + lk)^2 / ((l1 + ... + lk)^2 + t1 + ... + tk)", data = x, std.lv = TRUE,
    missing = "ml")``; ``parameterEstimates(fit)`` gives omega, its ``se`` and ``ci.lower``, ``ci.upper``.

    References
    ----------
    McDonald, R. P. (1999). Test theory: A unified treatment. Mahwah, NJ: Erlbaum.
    Joreskog, K. G. (1967). Some contributions to maximum likelihood factor analysis. Psychometrika, 32, 443-482.
    Jennrich, R. I., & Robinson, S. M. (1969). A Newton-Raphson algorithm for maximum likelihood factor
    analysis. Psychometrika, 34, 111-123.
    Arbuckle, J. L. (1996). Full information estimation in the presence of incomplete data. In G. A.
    Marcoulides & R. E. Schumacker (Eds.), Advanced structural equation modeling (pp. 243-277). Erlbaum.
    Raykov, T. (1997). Estimation of composite reliability for congeneric measures. Applied Psychological
    Measurement, 21, 173-184.

    Examples
    --------
    The ten respondents of :func:`cronbach_alpha`'s example (``ci=None``: no bootstrap):

    >>> import pandas as pd
    >>> from validation.stats import omega
    >>> items = pd.DataFrame({
    ...     "q1": [4, 3, 5, 2, 4, 3, 5, 1, 4, 2],
    ...     "q2": [5, 3, 4, 2, 4, 2, 5, 2, 3, 2],
    ...     "q3": [4, 2, 5, 1, 5, 3, 4, 2, 4, 3],
    ...     "q4": [3, 3, 4, 2, 5, 2, 4, 1, 5, 1],
    ... })
    >>> res = omega(items, ci=None)
    >>> print(f"omega = {res.omega:.4f}; chi-square = {res.chisq:.3f} on {res.df} df")
    omega = 0.9290; chi-square = 0.369 on 2 df
    """
    check_level(ci, allow_none=True)
    if missing not in ("listwise", "ml"):
        raise ValueError(f"missing: expected 'listwise' or 'ml', got {missing!r}")
    names, x, complete = item_matrix(items)
    k = len(names)
    if k < 3:
        raise NotEstimable(f"not estimable: a one-factor model needs at least 3 items, got {k}")
    if missing == "ml":
        return _omega_fiml(items, names, x, ci)
    if ci is not None:
        n_boot = check_n_boot(n_boot)
    n_all = x.shape[0]
    if not complete:
        x = x[~np.isnan(x).any(axis=1)]
    n = x.shape[0]
    if n == 0:
        raise NotEstimable("not estimable: no case answered every item")
    const = [names[j] for j in np.flatnonzero(np.ptp(x, axis=0) == 0)]
    if const:
        raise NotEstimable(f"not estimable: item(s) without variance among the complete cases: {', '.join(const)}")
    if n <= k:
        raise NotEstimable(
            f"not estimable: {n} complete case(s) for {k} items; the one-factor model needs more cases than items"
        )
    xc = x - x.mean(axis=0)
    s = xc.T @ xc / n
    ev = np.linalg.eigvalsh(s)
    if ev[0] <= 1e-12 * ev[-1]:
        raise NotEstimable(
            "not estimable: the covariance matrix of the items is singular "
            "(an item is a linear combination of others)"
        )
    lam, theta, fmin, conv = _fit_one_factor(s[None])
    if not conv[0]:
        raise NotEstimable("not estimable: the one-factor maximum-likelihood fit did not converge")
    lam, theta = lam[0], theta[0]
    logdet_s = np.linalg.slogdet(s)[1]
    chisq = float(n * (fmin[0] - logdet_s - k))
    df = k * (k + 1) // 2 - 2 * k
    om = float(_omega_of(lam, theta))
    warnings: list[str] = []
    heywood = bool((theta <= 0).any())
    if heywood:
        bad = [names[j] for j in np.flatnonzero(theta <= 0)]
        warnings.append(f"Heywood case: residual variance <= 0 for {', '.join(bad)}; omega is doubtful")
    if n < n_all:
        how = f"complete cases only: {n} of {n_all} cases answered every item"
    else:
        how = f"complete cases only (all {n} cases answered every item)"

    interval, n_ok = None, None
    if ci is not None:
        rng = check_random_state(seed)
        vals = np.full(n_boot, np.nan)
        pos = 0
        for w in _boot_weight_batches(rng, n, n_boot):
            bsz = w.shape[0]
            mean = (w @ xc) / n
            sb = np.einsum("bn,ni,nj->bij", w, xc, xc, optimize=True) / n - mean[:, :, None] * mean[:, None, :]
            evb = np.linalg.eigvalsh(sb)
            ok = evb[:, 0] > 1e-12 * evb[:, -1]
            res = np.full(bsz, np.nan)
            if ok.any():
                lb, tb, _, cb = _fit_one_factor(
                    sb[ok], np.repeat(lam[None], ok.sum(), 0), np.repeat(theta[None], ok.sum(), 0)
                )
                om_b = _omega_of(lb, tb)
                om_b[~cb] = np.nan
                res[ok] = om_b
            vals[pos : pos + bsz] = res
            pos += bsz
        n_ok = int(np.isfinite(vals).sum())
        interval = _percentile_interval(vals, float(ci), f"bootstrap percentile ({n_ok} of {n_boot} replicates)")
        if n_ok < n_boot:
            warnings.append(f"{n_boot - n_ok} of {n_boot} bootstrap replicates did not converge and were left out")
        if interval is None:
            warnings.append("no bootstrap replicate converged: no interval")

    std = lam / np.sqrt(lam * lam + theta)  # lambda^2 + theta > 0: Sigma is positive definite
    table = {nm: ItemLoading(float(lam[j]), float(theta[j]), float(std[j])) for j, nm in enumerate(names)}
    return OmegaResult(
        omega=om,
        ci=interval,
        n=int(n),
        k=k,
        items=table,
        chisq=chisq,
        df=int(df),
        heywood=heywood,
        n_boot=n_ok,
        missing=how,
        warnings=tuple(warnings),
    )


def _omega_fiml(items: Any, names: list[str], x: np.ndarray, ci: float | None) -> OmegaResult:
    """Omega from a one-factor model fitted by full-information ML, with its delta-method interval."""
    from validation.stats.cfa import cfa  # the CFA package is heavier than the rest of this module

    k = len(names)
    ov = [f"x{j + 1}" for j in range(k)]  # the item names need not be valid model syntax
    data = pd.DataFrame(x, columns=ov, index=items.index if isinstance(items, pd.DataFrame) else None)
    to_item = dict(zip(ov, names))

    def named(text: str) -> str:
        return re.sub(r"\bx\d+\b", lambda m: to_item.get(m.group(0), m.group(0)), text)

    try:
        res = cfa("F =~ " + " + ".join(ov), data, std_lv=True, missing="ml", modindices=None)
    except NotEstimable as exc:
        raise NotEstimable(named(str(exc))) from None
    lam = np.array([next(p.est for p in res.parameters if p.op == "=~" and p.rhs == v) for v in ov])
    theta = np.array([next(p.est for p in res.parameters if p.op == "~~" and p.lhs == p.rhs == v) for v in ov])
    om = float(_omega_of(lam, theta))
    # delta method: d omega / d lambda_i = 2 S T / (S^2 + T)^2, d omega / d theta_i = -S^2 / (S^2 + T)^2
    s_, t_ = lam.sum(), theta.sum()
    den = (s_ * s_ + t_) ** 2
    grad = pd.Series(np.r_[np.full(k, 2 * s_ * t_ / den), np.full(k, -s_ * s_ / den)],
                     index=[f"F=~{v}" for v in ov] + [f"{v}~~{v}" for v in ov])
    v = res.vcov.loc[grad.index, grad.index].to_numpy()
    var = float(grad.to_numpy() @ v @ grad.to_numpy())
    se = math.sqrt(var) if var >= 0 else math.nan
    warnings = [named(w) for w in res.warnings]
    heywood = bool((theta <= 0).any())
    if heywood:
        bad = [names[j] for j in np.flatnonzero(theta <= 0)]
        warnings.append(f"Heywood case: residual variance <= 0 for {', '.join(bad)}; omega is doubtful")
    interval = None
    if ci is not None:
        if math.isfinite(se):
            z = float(stats.norm.ppf(0.5 + float(ci) / 2))
            interval = Interval(om - z * se, om + z * se, float(ci),
                                "Wald, delta-method standard error (observed information)")
        else:
            warnings.append("the sampling variance of omega is not estimable: no interval")
    std = lam / np.sqrt(lam * lam + theta)
    table = {nm: ItemLoading(float(lam[j]), float(theta[j]), float(std[j])) for j, nm in enumerate(names)}
    return OmegaResult(
        omega=om, ci=interval, n=int(res.n), k=k, items=table, chisq=float(res.fit["chisq"]),
        df=int(res.fit["df"]), heywood=heywood, n_boot=None, missing=named(res.missing), warnings=tuple(warnings),
        se=se if math.isfinite(se) else None,
    )


# --------------------------------------------------------------------------------------------------
# item statistics
# --------------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ItemStatistic:
    """Descriptive statistics of one item (rates are shares of the answered cells, except
    ``missing_rate``, a share of all cases)."""

    n: int
    mean: float
    sd: float
    floor_rate: float
    ceiling_rate: float
    missing_rate: float
    low_variance: bool
    not_estimable: str | None = None


@dataclasses.dataclass(frozen=True)
class ItemStatisticsResult:
    """Per-item descriptive statistics; ``scale`` is the (min, max) used for floor and ceiling, taken
    from the caller or observed (``scale_source``)."""

    items: dict[str, ItemStatistic]
    n_cases: int
    scale: tuple[float, float]
    scale_source: str
    low_variance_sd: float

    def to_frame(self) -> pd.DataFrame:
        """The statistics as a DataFrame (one row per item)."""
        return pd.DataFrame({k: dataclasses.asdict(v) for k, v in self.items.items()}).T


def item_statistics(
    items: Any,
    scale: tuple[float, float] | None = None,
    low_variance_sd: float = 0.5,
) -> ItemStatisticsResult:
    """Per item: n answered, mean, SD, floor and ceiling rates, missing rate, low-variance flag.

    Parameters
    ----------
    items : DataFrame or 2-D array
        Item scores, rows = cases, NaN = missing.
    scale : (min, max) or None
        Response range. Floor rate = share of answered cells equal to ``min``, ceiling rate = share
        equal to ``max``. ``None``: the smallest and largest score observed over all items.
    low_variance_sd : float
        An item is flagged ``low_variance`` when its SD is below this (or not estimable).

    Returns
    -------
    ItemStatisticsResult

    Notes
    -----
    SD uses the n - 1 divisor. An item answered by nobody has no mean; one answered once has no SD;
    both say so in ``not_estimable``. Scores outside a given ``scale`` raise ``ValueError``.

    In R: ``psych::describe(x)`` (``n``, ``mean``, ``sd``); ``colMeans(x == min, na.rm = TRUE)``
    and ``colMeans(x == max, na.rm = TRUE)``; ``colMeans(is.na(x))``.

    Examples
    --------
    Four five-point items; one respondent skipped q4:

    >>> import pandas as pd
    >>> from validation.stats import item_statistics
    >>> items = pd.DataFrame({
    ...     "q1": [4, 3, 5, 2, 4, 3, 5, 1, 4, 2],
    ...     "q2": [5, 3, 4, 2, 4, 2, 5, 2, 3, 2],
    ...     "q3": [4, 2, 5, 1, 5, 3, 4, 2, 4, 3],
    ...     "q4": [3, 3, 4, 2, 5, 2, 4, 1, 5, None],
    ... })
    >>> res = item_statistics(items, scale=(1, 5))
    >>> q4 = res.items["q4"]
    >>> print(f"n = {q4.n}, mean = {q4.mean:.3f}, sd = {q4.sd:.3f}, missing = {q4.missing_rate:.2f}")
    n = 9, mean = 3.222, sd = 1.394, missing = 0.10
    >>> print(f"floor = {q4.floor_rate:.3f}, ceiling = {q4.ceiling_rate:.3f}")
    floor = 0.111, ceiling = 0.222
    """
    if isinstance(low_variance_sd, bool) or not isinstance(low_variance_sd, (int, float)) or not low_variance_sd >= 0:
        raise ValueError(f"low_variance_sd: expected a number >= 0, got {low_variance_sd!r}")
    names, x, _ = item_matrix(items)
    if not names:
        raise ValueError("items: expected at least one item column")
    n_cases = x.shape[0]
    if n_cases == 0:
        raise NotEstimable("not estimable: no cases")
    if scale is not None:
        try:
            lo, hi = (float(v) for v in scale)
        except (TypeError, ValueError):
            raise ValueError(f"scale: expected (min, max) numbers, got {scale!r}") from None
        if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
            raise ValueError(f"scale: expected finite min < max, got {scale!r}")
        outside = (x < lo) | (x > hi)
        if outside.any():
            bad = [names[j] for j in np.flatnonzero(outside.any(axis=0))]
            raise ValueError(f"scores outside the scale {lo:g}-{hi:g} in {bad}")
        source = "given"
    else:
        if np.isnan(x).all():
            raise NotEstimable("not estimable: no item was answered")
        lo, hi = float(np.nanmin(x)), float(np.nanmax(x))
        source = "observed over all items"
    out = {}
    for j, nm in enumerate(names):
        col = x[:, j]
        v = col[~np.isnan(col)]
        nj = v.size
        note = None
        if nj == 0:
            mean = sd = floor = ceil = math.nan
            note = f"item {nm} was answered by nobody"
        else:
            mean = float(v.mean())
            floor = float(np.mean(v == lo))
            ceil = float(np.mean(v == hi))
            if nj < 2:
                sd = math.nan
                note = f"item {nm} was answered once: no SD"
            else:
                sd = float(np.std(v, ddof=1))
        low = bool(not (sd >= low_variance_sd))
        out[nm] = ItemStatistic(nj, mean, sd, floor, ceil, float(1.0 - nj / n_cases), low, note)
    return ItemStatisticsResult(out, int(n_cases), (lo, hi), source, float(low_variance_sd))


# --------------------------------------------------------------------------------------------------
# omega hierarchical: the Schmid-Leiman transformation of a higher-order factor solution
# --------------------------------------------------------------------------------------------------

_SL_METHODS = ("minres", "ml")
_SL_ROTATIONS = ("oblimin", "promax", "geomin")
_SL_CORS = ("pearson", "polychoric")


@dataclasses.dataclass(frozen=True, eq=False)
class OmegaHierarchicalResult:
    r"""McDonald's omega hierarchical and omega total from a Schmid-Leiman solution, as ``psych::omega``.

    Attributes
    ----------
    omega_h : :math:`(\sum_i g_i)^2 / V_t`, the share of the total score variance due to the general factor.
    omega_total : :math:`(V_t - \sum_i u^2_i) / V_t`, the share due to all common factors (psych's ``omega.tot``).
    omega_limit : :math:`(\sum_i g_i)^2 / (V_t - \sum_i u^2_i)` = omega_h / omega_total, omega_h of a test of
        infinitely many such items (psych's ``omega.lim``, "omega asymptotic").
    alpha : standardized alpha :math:`\frac{k}{k-1} (V_t - k) / V_t` of the (flipped) correlation matrix, as
        ``psych::omega`` reports it (the raw-score alpha of :func:`cronbach_alpha` differs).
    g6 : Guttman's lambda 6, :math:`(V_t - k + \sum_i SMC_i) / V_t` (psych's ``G6``).
    ecv : explained common variance of the general factor, :math:`\sum g_i^2 / (\sum g_i^2 + \sum_{i,f} s_{if}^2)`.
    general_loadings : g_i per item (after flipping, see ``flipped_items``).
    group_loadings : s_if, items x group factors F1*..Fm* (after flipping).
    communalities, uniquenesses : h2_i (of the first-order solution) and u2_i = 1 - h2_i.
    p2 : g_i^2 / h2_i, the share of each item's common variance due to the general factor.
    omega_group : psych's ``omega.group`` table. Row "g": omega_total, omega_h and the sum over group
        factors of :math:`(\sum_{i \in f} s_{if})^2` over :math:`V_t`. Row "Fj*": over the items whose
        largest absolute group loading is on Fj* (``group_items``), with :math:`V_f` the sum of their
        correlations, ``total`` = :math:`((\sum s)^2 + (\sum g)^2) / V_f`, ``general`` =
        :math:`(\sum g)^2 / V_f` and ``group`` = :math:`(\sum s)^2 / V_f` (omega hierarchical of the
        group factor, "omega_hs"). A group factor with no items has NaN there (see ``warnings``).
    group_items : group factor -> the items assigned to it.
    flipped_items : items reversed because their general loading was negative (``flip=True``, as psych).
    oblique_loadings, phi : the rotated first-order pattern (F1..Fm) and its factor correlations.
    higher_order_loadings : loadings of F1..Fm on the general factor.
    n_factors, method, rotation, cor, flip : the settings used.
    n, k : cases (rows with at least one answer) and items.
    correlation : how the correlation matrix was formed.
    warnings : anything a reader should know (two factors, a Heywood case, flipped items, an empty group...).
    """

    omega_h: float
    omega_total: float
    omega_limit: float
    alpha: float
    g6: float
    ecv: float
    general_loadings: pd.Series
    group_loadings: pd.DataFrame
    communalities: pd.Series
    uniquenesses: pd.Series
    p2: pd.Series
    omega_group: pd.DataFrame
    group_items: dict[str, tuple[str, ...]]
    flipped_items: tuple[str, ...]
    oblique_loadings: pd.DataFrame
    phi: pd.DataFrame
    higher_order_loadings: pd.Series
    n_factors: int
    method: str
    rotation: str | None
    cor: str
    flip: bool
    n: int
    k: int
    correlation: str
    warnings: tuple[str, ...] = ()

    def to_frame(self) -> pd.DataFrame:
        """The Schmid-Leiman table as psych prints it: g, F1*..Fm*, h2, u2, p2 (one row per item)."""
        return pd.concat(
            [self.general_loadings.rename("g"), self.group_loadings, self.communalities.rename("h2"),
             self.uniquenesses.rename("u2"), self.p2.rename("p2")],
            axis=1,
        )


def omega_hierarchical(
    items: Any,
    n_factors: int = 3,
    fm: str = "minres",
    rotation: str = "oblimin",
    cor: str = "pearson",
    flip: bool = True,
) -> OmegaHierarchicalResult:
    r"""McDonald's omega hierarchical and omega total via the Schmid-Leiman transformation, as ``psych::omega``.

    Steps (Schmid & Leiman, 1957; Zinbarg, Revelle, Yovel & Li, 2005; Revelle & Zinbarg, 2009):

    1. R: the item correlation matrix (pairwise-complete Pearson, or polychoric for ``cor="polychoric"``).
    2. m = ``n_factors`` common factors by ``fm`` with varimax rotation, as :func:`validation.factor.efa`
       (``psych::fa(R, m, fm, rotate = "varimax")``): loadings A, communalities :math:`h^2 = \operatorname{diag}(AA')`,
       uniquenesses :math:`u^2 = 1 - h^2`.
    3. Oblique rotation of A (oblimin with gamma = 0, promax or geomin; starting from A itself): pattern F and
       factor correlations :math:`\Phi`.
    4. Higher-order loadings :math:`\gamma` of F1..Fm on a general factor: for m >= 3 one factor by ``fm``
       fitted to :math:`\Phi` (column reflected to a positive sum); for m = 2 the general factor is not
       identified and both loadings are set equal,
       :math:`\gamma = (\sqrt{|\phi_{12}|}, \operatorname{sign}(\phi_{12})\sqrt{|\phi_{12}|})`
       (psych's ``option = "equal"``, with a warning); for m = 1, :math:`\gamma = 1`.
    5. General loadings :math:`g = F\gamma`; group loadings
       :math:`s_{if} = \operatorname{sign}(F_{if}) \sqrt{\max(0, F_{if}^2 (1 - \gamma_f^2))}`.
    6. Flip (``flip=True``, psych's default): items with :math:`g_i < 0` are reversed -- their rows of g and s
       and their rows and columns of R change sign -- so that all general loadings are positive.

    With :math:`V_t = \mathbf 1' R \mathbf 1` (of the flipped R):

    .. math::

        \omega_h = \frac{(\sum_i g_i)^2}{V_t}, \qquad
        \omega_t = \frac{V_t - \sum_i u^2_i}{V_t}, \qquad
        ECV = \frac{\sum_i g_i^2}{\sum_i g_i^2 + \sum_{i,f} s_{if}^2}

    (McDonald, 1999; ECV: Reise, Moore & Haviland, 2010), plus the per-group table described in
    :class:`OmegaHierarchicalResult`.

    Parameters
    ----------
    items : DataFrame or 2-D array
        Item scores, rows = cases, NaN = missing (pairwise-complete correlations). Reverse-keyed items
        may be left as they are: ``flip`` reverses items with negative general loadings.
    n_factors : int
        Number of group (first-order) factors, >= 1; 3 or more identify the general factor.
    fm : {"minres", "ml"}
        Factoring method of the first-order solution and of the higher-order factor.
    rotation : {"oblimin", "promax", "geomin"}
        Oblique rotation of the varimax solution (psych's "oblimin", "promax", "geominQ").
    cor : {"pearson", "polychoric"}
        Pearson correlations, or polychoric correlations (:func:`validation.factor.polychoric`) of ordinal items.
    flip : bool
        Reverse items whose general loading is negative (psych's ``flip = TRUE``, the default).

    Returns
    -------
    OmegaHierarchicalResult

    Raises
    ------
    NotEstimable
        Fewer than 3 items or 3 cases, an item without variance, an undefined correlation, too many
        factors for the items (degrees of freedom), or, with ``fm="ml"``, a correlation matrix that is
        not positive definite (all from :func:`validation.factor.efa`).

    Notes
    -----
    In R: ``psych::omega(x, nfactors = m, fm = fm, rotate = rotation, poly = (cor == "polychoric"),
    flip = flip, plot = FALSE)`` (with ``sl = TRUE, option = "equal"``, its defaults): ``$omega_h``,
    ``$omega.tot``, ``$omega.lim``, ``$alpha``, ``$G6``, ``$ECV``, ``$schmid$sl`` (g, F*, h2, u2, p2),
    ``$omega.group``, ``$key``, ``$schmid$oblique``, ``$schmid$phi``, ``$schmid$gloading``. psych
    marks flipped items by appending "-" to their names; here the names stay and ``flipped_items``
    lists them. With 2 factors psych prints that three factors are required; with 1 factor it says
    omega_h is not meaningful (then omega_h is the one factor's share of the total variance). psych
    falls back to promax when the oblimin rotation fails with an error; here a rotation that does not
    converge is reported in ``warnings``.

    References
    ----------
    Schmid, J., & Leiman, J. M. (1957). The development of hierarchical factor solutions. Psychometrika, 22, 53-61.
    McDonald, R. P. (1999). Test theory: A unified treatment. Mahwah, NJ: Erlbaum.
    Zinbarg, R. E., Revelle, W., Yovel, I., & Li, W. (2005). Cronbach's alpha, Revelle's beta, and McDonald's
    omega_h. Psychometrika, 70, 123-133.
    Revelle, W., & Zinbarg, R. E. (2009). Coefficients alpha, beta, omega, and the glb: Comments on Sijtsma.
    Psychometrika, 74, 145-154.
    Reise, S. P., Moore, T. M., & Haviland, M. G. (2010). Bifactor models and rotations. Journal of
    Personality Assessment, 92, 544-559.
    Guttman, L. (1945). A basis for analyzing test-retest reliability. Psychometrika, 10, 255-282.

    Examples
    --------
    Nine items of a general factor and three group factors (x1-x3, x4-x6, x7-x9), 500 simulated cases:

    >>> import numpy as np
    >>> import pandas as pd
    >>> from validation.stats import omega_hierarchical
    >>> rng = np.random.default_rng(7)
    >>> g, s = rng.normal(size=500), rng.normal(size=(500, 3))
    >>> items = pd.DataFrame({f"x{j + 1}": 0.6 * g + 0.5 * s[:, j // 3] + rng.normal(scale=0.6, size=500)
    ...                       for j in range(9)})
    >>> res = omega_hierarchical(items, n_factors=3)
    >>> print(f"omega_h = {res.omega_h:.3f}, omega_total = {res.omega_total:.3f}, ECV = {res.ecv:.3f}")
    omega_h = 0.720, omega_total = 0.911, ECV = 0.568
    >>> res.group_items["F1*"], res.group_items["F3*"]
    (('x1', 'x2', 'x3'), ('x7', 'x8', 'x9'))
    """
    if isinstance(n_factors, bool) or not isinstance(n_factors, (int, np.integer)) or n_factors < 1:
        raise ValueError(f"n_factors: expected an integer >= 1, got {n_factors!r}")
    if not isinstance(fm, str) or fm not in _SL_METHODS:
        raise ValueError(f"fm: expected one of {list(_SL_METHODS)}, got {fm!r}")
    if not isinstance(rotation, str) or rotation not in _SL_ROTATIONS:
        raise ValueError(f"rotation: expected one of {list(_SL_ROTATIONS)}, got {rotation!r}")
    if not isinstance(cor, str) or cor not in _SL_CORS:
        raise ValueError(f"cor: expected one of {list(_SL_CORS)}, got {cor!r}")
    if not isinstance(flip, (bool, np.bool_)):
        raise ValueError(f"flip: expected True or False, got {flip!r}")

    m = int(n_factors)
    # the first-order solution (this also validates the data and refuses degenerate input)
    first = _factor.efa(items, m, fm, "varimax", cor)
    warnings: list[str] = list(first.warnings)
    if cor == "pearson":
        names, r, _, _ = _factor._correlation(items, min_items=3)
    else:
        pc = _factor.polychoric(items)
        names, r = list(pc.rho.index), pc.rho.to_numpy()
    k = len(names)
    orth = first.loadings.to_numpy()
    fcols = [f"F{j + 1}" for j in range(m)]

    if m == 1:
        fload, phi, gload = orth.copy(), np.eye(1), np.ones(1)
        warnings.append(
            "with one factor omega_h is that factor's share of the total variance; a general factor needs "
            "group factors beside it (psych: 'Omega_h for 1 factor is not meaningful, just omega_t')"
        )
    else:
        rot = _rotation.ROTATIONS[rotation](orth)
        fload, phi = rot.loadings, rot.phi
        if not rot.converged:
            warnings.append(f"the {rotation} rotation did not converge in {rot.iterations} iterations")
        if m > 2:
            ext = _factor._extract(phi, 1, fm)
            gload = ext["loadings"][:, 0]
            if gload.sum() < 0:
                gload = -gload
        else:
            p12 = float(phi[0, 1])
            root = math.sqrt(abs(p12))
            gload = np.array([root, math.copysign(root, p12) if p12 != 0 else 0.0])
            warnings.append(
                "two group factors do not identify a general factor: its loadings on F1 and F2 are set equal, "
                f"sqrt(|phi12|) = {gload[0]:.4f} (psych::omega option = 'equal'); three or more factors are needed "
                "for an identified omega_h"
            )
        over = np.flatnonzero(gload**2 > 1)
        if over.size:
            warnings.append(
                "Heywood case in the higher-order factor: loading above 1 for "
                + ", ".join(fcols[j] for j in over)
                + "; the group loadings of that factor are set to 0 (as psych)"
            )

    g = fload @ gload
    h2 = (orth * orth).sum(axis=1)
    u2 = 1.0 - h2
    uniq = 1.0 - fload**2
    uniq2 = 1.0 - uniq - (fload * gload[None, :]) ** 2
    uniq2[uniq2 < 0] = 0.0
    s = np.sign(fload) * np.sqrt(uniq2)
    with np.errstate(divide="ignore", invalid="ignore"):
        p2 = g * g / h2

    key = np.sign(g)
    key[key == 0] = 1.0
    flipped: tuple[str, ...] = ()
    neg = [names[j] for j in np.flatnonzero(key < 0)]
    if neg and flip:
        r = r * np.outer(key, key)
        g = g * key
        s = s * key[:, None]
        flipped = tuple(neg)
        warnings.append(
            f"item(s) {', '.join(neg)} load negatively on the general factor and were reversed "
            "(psych::omega flip = TRUE)"
        )
    elif neg:
        warnings.append(
            f"item(s) {', '.join(neg)} load negatively on the general factor and were not reversed (flip = False)"
        )

    vt = float(r.sum())
    if not vt > 0:
        raise NotEstimable("not estimable: the sum of the item correlations is not positive")
    vitem = float(np.trace(r))
    gsq = float(g.sum()) ** 2
    usum = float(u2.sum())
    omega_h = gsq / vt
    omega_t = (vt - usum) / vt
    omega_lim = gsq / (vt - usum)
    alpha = (vt - vitem) / vt * (k / (k - 1))
    g6 = (vt + float(_factor._smc(r).sum()) - vitem) / vt
    ev_g = float((g * g).sum())
    ev_s = float((s * s).sum())
    ecv = ev_g / (ev_g + ev_s)

    gcols = [f"F{j + 1}*" for j in range(m)]
    sub = np.argmax(np.abs(s), axis=1)  # first maximum, as which.max
    table = np.full((m + 1, 3), np.nan)
    grs = 0.0
    group_items: dict[str, tuple[str, ...]] = {}
    for f in range(m):
        idx = np.flatnonzero(sub == f)
        group_items[gcols[f]] = tuple(names[i] for i in idx)
        if idx.size == 0:
            warnings.append(
                f"group factor {gcols[f]} is no item's largest group loading: its omega values are not estimable"
            )
            continue
        vgr = float(r[np.ix_(idx, idx)].sum())
        gr = float(s[idx, f].sum())
        gg = float(g[idx].sum())
        grs += gr * gr
        table[f + 1] = [(gr * gr + gg * gg) / vgr, gg * gg / vgr, gr * gr / vgr]
    table[0] = [omega_t, gsq / vt, grs / vt]

    return OmegaHierarchicalResult(
        omega_h=float(omega_h),
        omega_total=float(omega_t),
        omega_limit=float(omega_lim),
        alpha=float(alpha),
        g6=float(g6),
        ecv=float(ecv),
        general_loadings=pd.Series(g, index=names, name="g"),
        group_loadings=pd.DataFrame(s, index=names, columns=gcols),
        communalities=pd.Series(h2, index=names, name="h2"),
        uniquenesses=pd.Series(u2, index=names, name="u2"),
        p2=pd.Series(p2, index=names, name="p2"),
        omega_group=pd.DataFrame(table, index=["g"] + gcols, columns=["total", "general", "group"]),
        group_items=group_items,
        flipped_items=flipped,
        oblique_loadings=pd.DataFrame(fload, index=names, columns=fcols),
        phi=pd.DataFrame(phi, index=fcols, columns=fcols),
        higher_order_loadings=pd.Series(gload, index=fcols, name="g"),
        n_factors=m,
        method=fm,
        rotation=rotation if m > 1 else None,
        cor=cor,
        flip=bool(flip),
        n=int(first.n),
        k=k,
        correlation=first.correlation,
        warnings=tuple(warnings),
    )


# --------------------------------------------------------------------------------------------------
# ordinal alpha and ordinal omega (polychoric correlations)
# --------------------------------------------------------------------------------------------------

# Bootstrap replicates whose pair tables are formed together (cells of replicates x cases x item-categories).
_TABLE_CELLS = 2_000_000
_HEYWOOD_H2 = 0.995  # psych::fa keeps uniquenesses >= 0.005


def _ordinal_input(items: Any, min_items: int, what: str) -> tuple[list[str], np.ndarray, list[str], list[str]]:
    """Items with at least two observed categories (others dropped, as psych::polychoric), the scores of
    the rows with at least one answer among them, the dropped items and the warnings."""
    names, x, _ = item_matrix(items)
    dropped, warnings = [], []
    for j, nm in enumerate(names):
        col = x[:, j]
        col = col[~np.isnan(col)]
        if col.size == 0 or col.min() == col.max():
            dropped.append(nm)
            how = "was not answered" if col.size == 0 else f"has a single observed category ({col[0]:g})"
            warnings.append(f"item {nm} {how} and was left out (as psych::polychoric deletes items without variance)")
    keep = [j for j, nm in enumerate(names) if nm not in dropped]
    if len(keep) < min_items:
        extra = f" (left out: {', '.join(dropped)})" if dropped else ""
        raise NotEstimable(
            f"not estimable: {what} needs at least {min_items} items with two or more observed categories, "
            f"got {len(keep)}{extra}"
        )
    x = x[:, keep]
    x = x[~np.isnan(x).all(axis=1)]
    return [names[j] for j in keep], x, dropped, warnings


def _boot_polychoric(
    x: np.ndarray, n_boot: int, seed: int | np.random.Generator | None, correct: float
) -> np.ndarray:
    """Polychoric matrices of ``n_boot`` resamples of the rows of ``x`` (integer scores, NaN = missing),
    (n_boot x k x k), NaN for a resample in which an item has a single category or a pair's correlation
    is undefined (where :func:`validation.factor.polychoric` would refuse the resample).

    Each resample is treated exactly as :func:`validation.factor.polychoric` treats a data set: global
    thresholds when all items reach the same highest category in the resample, else per-pair thresholds
    with the continuity correction; each pair's rho by the same Brent minimisation; smoothing when not
    positive definite. The resamples' item margins and pair tables are products of the resampling
    counts with indicator matrices of the original rows, formed for many replicates at once, and one
    Brent run serves every pair of every replicate of a batch.
    """
    n, k = x.shape
    lo = float(np.nanmin(x))
    ncat = int(np.nanmax(x) - lo + 1)
    codes = x - lo
    onehot = np.zeros((n, k, ncat))
    ii, jj = np.nonzero(~np.isnan(codes))
    onehot[ii, jj, codes[ii, jj].astype(int)] = 1.0
    npair = k * (k - 1) // 2
    sub = max(1, _TABLE_CELLS // (npair * ncat * ncat))  # replicates per Brent run
    rng = check_random_state(seed)
    out = np.full((n_boot, k, k), np.nan)
    pos = 0
    for w in _boot_weight_batches(rng, n, n_boot):
        for s0 in range(0, w.shape[0], sub):
            ws = w[s0 : s0 + sub]
            out[pos : pos + ws.shape[0]] = _polychoric_weighted(onehot, ws, correct)
            pos += ws.shape[0]
    return out


def _polychoric_weighted(onehot: np.ndarray, w: np.ndarray, correct: float) -> np.ndarray:
    """Polychoric matrices (b x k x k, NaN where not estimable) of b data sets given as case weights
    ``w`` (b x n, whole numbers) on the rows of the category indicators ``onehot`` (n x k x ncat); the
    steps of :func:`validation._polychoric.polychoric_core` and :func:`validation.factor.polychoric`."""

    n, k, ncat = onehot.shape
    b = w.shape[0]
    iu, ju = np.triu_indices(k, 1)
    ri, ci = ju, iu  # (row item, column item) of each pair, as validation._polychoric forms the tables
    npair = ri.size
    eps = float(np.finfo(float).eps)
    counts = (w @ onehot.reshape(n, k * ncat)).reshape(b, k, ncat)
    nobs = counts.sum(axis=2)
    used = counts > 0
    fail = (used.sum(axis=2) < 2).any(axis=1)
    last = ncat - 1 - np.argmax(used[:, :, ::-1], axis=2)
    global_tau = (last == last[:, :1]).all(axis=1)
    # pair tables: weights times the indicators of each pair's cells, a block of pairs at a time
    tabs = np.empty((b, npair, ncat, ncat))
    step = max(1, _TABLE_CELLS // (n * ncat * ncat))
    for p0 in range(0, npair, step):
        pr, pc_ = ri[p0 : p0 + step], ci[p0 : p0 + step]
        z = (onehot[:, pr, :, None] * onehot[:, pc_, None, :]).reshape(n, -1)
        tabs[:, p0 : p0 + step] = (w @ z).reshape(b, len(pr), ncat, ncat)
    tot = tabs.sum(axis=(2, 3))
    fail |= (tot == 0).any(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        tab = tabs / np.where(tot > 0, tot, 1.0)[:, :, None, None]
        cum = np.cumsum(counts / nobs[:, :, None], axis=2)[:, :, :-1]
        ccount = np.cumsum(counts, axis=2)[:, :, :-1]
        tau = np.where(ccount >= nobs[:, :, None], np.inf, special.ndtri(np.clip(cum, 0.0, 1.0)))
    rc = tau[:, ri]  # (b, pairs, ncat - 1)
    cc = tau[:, ci]
    local = ~global_tau & ~fail
    if local.any():  # per-pair thresholds from each pair's corrected table
        tl = tab[local]
        rows_used = tl.sum(axis=3) > 0
        cols_used = tl.sum(axis=2) > 0
        bad = (rows_used.sum(axis=2) < 2) | (cols_used.sum(axis=2) < 2)
        if correct > 0:
            zero = rows_used[..., None] & cols_used[..., None, :] & (tl == 0)
            tl = np.where(zero, correct / np.where(tot[local] > 0, tot[local], 1.0)[:, :, None, None], tl)
        shape = tl.shape[:2]
        rl = _pc._pair_thresholds(tl.sum(axis=3).reshape(-1, ncat), rows_used.reshape(-1, ncat))
        cl = _pc._pair_thresholds(tl.sum(axis=2).reshape(-1, ncat), cols_used.reshape(-1, ncat))
        rl, cl = rl.reshape(*shape, ncat - 1), cl.reshape(*shape, ncat - 1)
        bad |= np.isnan(rl).any(axis=2) | np.isnan(cl).any(axis=2)
        tab[local], rc[local], cc[local] = tl, rl, cl
        fail[np.flatnonzero(local)[bad.any(axis=1)]] = True
    good = np.flatnonzero(~fail)
    rho = np.full((b, k, k), np.nan)
    if good.size:
        rcg = rc[good].reshape(-1, ncat - 1)
        ccg = cc[good].reshape(-1, ncat - 1)
        tabg = tab[good].reshape(-1, ncat, ncat)

        def objective(v: np.ndarray, idx: np.ndarray) -> np.ndarray:
            return _pc._neg_loglik(v, rcg[idx], ccg[idx], tabg[idx])

        xmin, _, _ = _pc.brent_minimize(objective, rcg.shape[0])
        rg = np.repeat(np.eye(k)[None], good.size, axis=0)
        xmin = xmin.reshape(good.size, npair)
        rg[:, iu, ju] = xmin
        rg[:, ju, iu] = xmin
        ev = np.linalg.eigvalsh(rg)[:, 0]
        for t in np.flatnonzero(ev < eps):
            rg[t] = _pc.cor_smooth(rg[t])[0]
        rho[good] = rg
    return rho


@dataclasses.dataclass(frozen=True)
class OrdinalItemAlpha:
    """One item's line of the ordinal item-total table: ``r_drop``, the correlation of the item with the
    sum of the other items implied by the polychoric matrix, and ``alpha_if_dropped``, ordinal alpha of
    the other items."""

    r_drop: float
    alpha_if_dropped: float


@dataclasses.dataclass(frozen=True, eq=False)
class OrdinalAlphaResult:
    """Ordinal alpha: Cronbach's alpha of the polychoric correlation matrix.

    Attributes
    ----------
    alpha : k/(k-1) (1 - k / sum(rho)).
    average_r : mean polychoric correlation.
    ci : bootstrap percentile interval (``None`` when ``ci=None`` or no replicate succeeded).
    n : cases used (rows with at least one answer); k : items.
    items : item name -> :class:`OrdinalItemAlpha`.
    polychoric : the polychoric correlation matrix.
    dropped_items : items left out because they have a single observed category.
    n_boot : successful bootstrap replicates (``None`` without an interval).
    correlation : how the polychoric matrix was formed.
    warnings : anything a reader should know.
    """

    alpha: float
    average_r: float
    ci: Interval | None
    n: int
    k: int
    items: dict[str, OrdinalItemAlpha]
    polychoric: pd.DataFrame
    dropped_items: tuple[str, ...]
    n_boot: int | None
    correlation: str
    warnings: tuple[str, ...] = ()

    def to_frame(self) -> pd.DataFrame:
        """The item-total table as a DataFrame (one row per item)."""
        return pd.DataFrame({k: dataclasses.asdict(v) for k, v in self.items.items()}).T


def _check_correct(correct: float, max_categories: int) -> None:
    if isinstance(correct, bool) or not isinstance(correct, (int, float, np.floating)) or not correct >= 0:
        raise ValueError(f"correct: expected a number >= 0 (cases added to empty cells), got {correct!r}")
    if isinstance(max_categories, bool) or not isinstance(max_categories, (int, np.integer)) or max_categories < 2:
        raise ValueError(f"max_categories: expected an integer >= 2, got {max_categories!r}")


def _boot_note(n_ok: int, n_boot: int, warnings: list[str]) -> None:
    if n_ok < n_boot:
        warnings.append(
            f"{n_boot - n_ok} of {n_boot} bootstrap replicates were left out (an item with a single category "
            "or an undefined polychoric correlation in the resample)"
        )
    if n_ok == 0:
        warnings.append("no bootstrap replicate succeeded: no interval")


def ordinal_alpha(
    items: Any,
    ci: float | None = 0.95,
    n_boot: int = 1000,
    seed: int | np.random.Generator | None = None,
    correct: float = 0.5,
    max_categories: int = 8,
) -> OrdinalAlphaResult:
    r"""Ordinal alpha: Cronbach's alpha computed on the polychoric correlation matrix.

    .. math::

        \alpha_{ord} = \frac{k}{k-1}\Bigl(1 - \frac{k}{\mathbf 1' P \mathbf 1}\Bigr)

    with P the k x k polychoric correlation matrix (:func:`validation.factor.polychoric`; two-step
    estimate, pairwise-complete tables) -- the alpha of the continuous latent responses that the
    ordinal items discretise (Zumbo, Gadermann & Zeisser, 2007; Gadermann, Guhn & Zumbo, 2012). P has a
    unit diagonal, so raw and standardized alpha coincide. Per item, ``r_drop`` = (sum of the item's
    correlations with the others) / sqrt(sum of the others' correlation matrix), and alpha of the other
    k - 1 items.

    Parameters
    ----------
    items : DataFrame or 2-D array
        Integer category codes (e.g. 1-3 for low / moderate / high), rows = cases, NaN = missing.
        Reverse-keyed items must already be reversed.
    ci : float or None
        Level of the bootstrap percentile interval; ``None`` for none.
    n_boot : int
        Bootstrap resamples of the cases (rows with at least one answer). Each resample's polychoric
        matrix is estimated as the point estimate's (vectorised over replicates); resamples in which an
        item shows a single category or a pair's correlation is undefined are left out and counted
        (``n_boot`` in the result is the number that succeeded).
    seed : int, Generator or None
        Seed of the bootstrap; the same seed gives the same interval.
    correct, max_categories
        Passed to :func:`validation.factor.polychoric`.

    Returns
    -------
    OrdinalAlphaResult

    Raises
    ------
    NotEstimable
        Fewer than 2 items with two or more observed categories, fewer than 3 cases, more than
        ``max_categories`` categories, or an undefined polychoric correlation.

    Notes
    -----
    An item with a single observed category (a constant item) is left out with a warning and named
    in ``dropped_items``, as ``psych::polychoric`` deletes it.

    In R: ``psych::alpha(psych::polychoric(x)$rho)`` -- ``$total$raw_alpha`` (= ``$total$std.alpha``),
    ``$total$average_r``, ``$item.stats$r.drop``, ``$alpha.drop$raw_alpha``.

    References
    ----------
    Zumbo, B. D., Gadermann, A. M., & Zeisser, C. (2007). Ordinal versions of coefficients alpha and theta
    for Likert rating scales. Journal of Modern Applied Statistical Methods, 6, 21-29.
    Gadermann, A. M., Guhn, M., & Zumbo, B. D. (2012). Estimating ordinal reliability for Likert-type and
    ordinal item response data. Practical Assessment, Research & Evaluation, 17(3), 1-13.
    Efron, B., & Tibshirani, R. J. (1993). An Introduction to the Bootstrap. Chapman & Hall (percentile interval).

    Examples
    --------
    Four three-point ratings of one latent trait, 300 simulated cases:

    >>> import numpy as np
    >>> import pandas as pd
    >>> from validation.stats import ordinal_alpha
    >>> rng = np.random.default_rng(3)
    >>> latent = rng.normal(size=300)
    >>> def rating():  # a noisy reading of the trait, cut into 1 (low), 2, 3 (high)
    ...     return 1 + np.digitize(0.8 * latent + rng.normal(scale=0.6, size=300), [-0.5, 0.5])
    >>> items = pd.DataFrame({f"v{j}": rating() for j in range(1, 5)})
    >>> res = ordinal_alpha(items, n_boot=200, seed=1)
    >>> print(f"ordinal alpha = {res.alpha:.3f}, 95% CI [{res.ci.lower:.3f}, {res.ci.upper:.3f}]")
    ordinal alpha = 0.892, 95% CI [0.864, 0.914]
    >>> from validation.stats import cronbach_alpha
    >>> print(f"Pearson alpha = {cronbach_alpha(items).alpha:.3f}")  # attenuated by the coarse categories
    Pearson alpha = 0.838
    """
    check_level(ci, allow_none=True)
    if ci is not None:
        n_boot = check_n_boot(n_boot)
    _check_correct(correct, max_categories)

    names, x, dropped, warnings = _ordinal_input(items, 2, "ordinal alpha")
    pc = _factor.polychoric(pd.DataFrame(x, columns=names), correct=correct, max_categories=max_categories)
    warnings.extend(pc.warnings)
    rho = pc.rho.to_numpy()
    k = len(names)
    _, alpha, av_r = _alpha_from_cov(rho)
    r_drop, raw_drop, _ = _alpha_item_table(rho)
    for j, nm in enumerate(names):
        if r_drop[j] < 0:
            warnings.append(
                f"item {nm} correlates negatively with the other items (r.drop = {r_drop[j]:.3f}); is it reverse-keyed?"
            )
    interval, n_ok = None, None
    if ci is not None:
        boot = _boot_polychoric(x, n_boot, seed, float(correct))
        tot = boot.sum(axis=(1, 2))
        vals = k / (k - 1) * (1.0 - k / tot)
        n_ok = int(np.isfinite(vals).sum())
        interval = _percentile_interval(vals, float(ci), f"bootstrap percentile ({n_ok} of {n_boot} replicates)")
        _boot_note(n_ok, n_boot, warnings)
    table = {nm: OrdinalItemAlpha(float(r_drop[j]), float(raw_drop[j])) for j, nm in enumerate(names)}
    return OrdinalAlphaResult(
        alpha=float(alpha),
        average_r=float(av_r),
        ci=interval,
        n=int(pc.n),
        k=k,
        items=table,
        polychoric=pc.rho,
        dropped_items=tuple(dropped),
        n_boot=n_ok,
        correlation=pc.method + f"; {pc.n} cases",
        warnings=tuple(warnings),
    )


def _uls_one_factor(
    r: np.ndarray, lam: np.ndarray, tol: float = 1e-12, maxit: int = 200
) -> tuple[np.ndarray, np.ndarray]:
    r"""One-factor minres (unweighted least squares) loadings of many correlation matrices at once.

    Minimises :math:`F(\lambda) = \sum_{i<j} (r_{ij} - \lambda_i \lambda_j)^2` from ``lam`` by damped
    Newton steps (Levenberg, 1944; Marquardt, 1963): :math:`(H + \mu I)\,\delta = -\nabla F`, a step kept
    only if F does not increase, :math:`\mu` divided by 10 after a kept step and raised after a
    rejected one, so the iteration ends in Newton's method. Gradient
    :math:`-2 \sum_{j \ne i} e_{ij} \lambda_j` and Hessian :math:`2 \sum_{j \ne i} \lambda_j^2` (diagonal),
    :math:`2 (\lambda_i \lambda_j - e_{ij})` (off-diagonal), e = the residuals. Returns the loadings
    (column sum made positive) and, per matrix, whether the iteration converged to an interior minimum
    (positive definite Hessian, every communality below 0.995, psych's bound); the others must be
    refitted with the bounded optimiser.
    """
    b, k = lam.shape
    lam = lam.copy()
    off = 1.0 - np.eye(k)
    diag = np.arange(k)

    def parts(la: np.ndarray, ra: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        e = (ra - la[:, :, None] * la[:, None, :]) * off
        grad = -2.0 * np.einsum("bij,bj->bi", e, la)
        hess = 2.0 * (la[:, :, None] * la[:, None, :] - e) * off
        ss = (la * la).sum(axis=1)
        hess[:, diag, diag] = 2.0 * (ss[:, None] - la * la)
        return 0.5 * (e * e).sum(axis=(1, 2)), grad, hess

    def value(la: np.ndarray, ra: np.ndarray) -> np.ndarray:
        e = (ra - la[:, :, None] * la[:, None, :]) * off
        return 0.5 * (e * e).sum(axis=(1, 2))

    mu = np.full(b, 1e-10)
    active = np.ones(b, dtype=bool)
    conv = np.zeros(b, dtype=bool)
    for _ in range(maxit):
        idx = np.flatnonzero(active)
        if idx.size == 0:
            break
        la, ra = lam[idx], r[idx]
        f0, grad, hess = parts(la, ra)
        hess[:, diag, diag] += mu[idx, None]
        try:
            step = np.linalg.solve(hess, grad[:, :, None])[:, :, 0]
        except np.linalg.LinAlgError:
            step = np.stack([np.linalg.lstsq(h, g, rcond=None)[0] for h, g in zip(hess, grad)])
        trial = la - step
        ft = value(trial, ra)
        keep = np.isfinite(ft) & (ft <= f0 + 1e-15 * np.abs(f0))
        lam[idx[keep]] = trial[keep]
        mu[idx] = np.where(keep, mu[idx] / 10.0, np.maximum(mu[idx] * 10.0, 1e-4))
        small = np.abs(step).max(axis=1) <= tol * (1.0 + np.abs(trial).max(axis=1))
        done = keep & small
        conv[idx[done]] = True
        active[idx[done | (mu[idx] > 1e12)]] = False
    sgn = np.where(lam.sum(axis=1) < 0, -1.0, 1.0)
    lam *= sgn[:, None]
    _, _, hess = parts(lam, r)
    good = conv & np.isfinite(lam).all(axis=1)
    if good.any():
        good[good] &= np.linalg.eigvalsh(hess[good])[:, 0] > 0
    good &= (lam * lam).max(axis=1) < _HEYWOOD_H2
    return lam, good


@dataclasses.dataclass(frozen=True, eq=False)
class OrdinalOmegaResult:
    r"""Ordinal omega: omega total of a one-factor minres model of the polychoric correlation matrix.

    Attributes
    ----------
    omega : :math:`(\sum \lambda)^2 / ((\sum \lambda)^2 + \sum (1 - h^2))` (model-implied total variance).
    omega_observed : :math:`1 - \sum (1 - h^2) / \mathbf 1' P \mathbf 1` (observed total variance), the
        ``omega.tot`` of ``psych::omega(x, nfactors = 1, poly = TRUE)``; equal to ``omega`` when the
        one-factor model reproduces P exactly.
    ci : bootstrap percentile interval of ``omega`` (``None`` when ``ci=None`` or no replicate succeeded).
    n : cases used (rows with at least one answer); k : items.
    loadings, communalities : one-factor loadings and h^2 = lambda^2 per item.
    polychoric : the polychoric correlation matrix.
    heywood : items whose communality reached 0.995 (uniqueness at psych's lower bound 0.005).
    dropped_items : items left out because they have a single observed category.
    n_boot : successful bootstrap replicates (``None`` without an interval).
    correlation : how the polychoric matrix was formed.
    warnings : anything a reader should know.
    """

    omega: float
    omega_observed: float
    ci: Interval | None
    n: int
    k: int
    loadings: pd.Series
    communalities: pd.Series
    polychoric: pd.DataFrame
    heywood: tuple[str, ...]
    dropped_items: tuple[str, ...]
    n_boot: int | None
    correlation: str
    warnings: tuple[str, ...] = ()

    def to_frame(self) -> pd.DataFrame:
        """Loadings, communalities and uniquenesses as a DataFrame (one row per item)."""
        return pd.DataFrame({"loading": self.loadings, "h2": self.communalities, "u2": 1.0 - self.communalities})


def ordinal_omega(
    items: Any,
    ci: float | None = 0.95,
    n_boot: int = 1000,
    seed: int | np.random.Generator | None = None,
    correct: float = 0.5,
    max_categories: int = 8,
) -> OrdinalOmegaResult:
    r"""Ordinal omega: omega total of a one-factor model fitted to the polychoric correlation matrix.

    The estimator: P = the polychoric correlation matrix (:func:`validation.factor.polychoric`); one
    factor by minimum residual (unweighted least squares of the off-diagonal correlations; Harman &
    Jones, 1966) as :func:`validation.factor.efa` fits it (``psych::fa(P, 1, fm = "minres")``): loadings
    :math:`\lambda`, communalities :math:`h^2 = \lambda^2`, uniquenesses :math:`1 - h^2`. Then

    .. math::

        \omega_{ord} = \frac{(\sum_i \lambda_i)^2}{(\sum_i \lambda_i)^2 + \sum_i (1 - h^2_i)}

    (McDonald, 1999; the ordinal omega of Gadermann, Guhn & Zumbo, 2012), the reliability of the sum of
    the continuous latent responses. ``omega_observed`` replaces the denominator by the observed
    :math:`\mathbf 1' P \mathbf 1`, which is what ``psych::omega`` reports as omega total.

    Parameters
    ----------
    items : DataFrame or 2-D array
        Integer category codes (e.g. 1-3), rows = cases, NaN = missing. Reverse-keyed items must already
        be reversed.
    ci : float or None
        Level of the bootstrap percentile interval; ``None`` for none.
    n_boot : int
        Bootstrap resamples of the cases. Each resample's polychoric matrix is estimated as the point
        estimate's (vectorised over replicates) and its one-factor model refitted from the point
        estimate's loadings by damped Newton steps on the same least-squares criterion (vectorised),
        which converge to the minres optimum itself; the point estimate's bounded optimiser stops
        within its tolerance of that optimum (about 1e-6 in omega on ordinary data). A resample whose
        solution leaves the interior (a communality of 0.995 or more, psych's bound) or does not converge
        is refitted by the bounded optimiser. Resamples in which an item shows a single category or a
        correlation is undefined are left out and counted.
    seed : int, Generator or None
        Seed of the bootstrap; the same seed gives the same interval.
    correct, max_categories
        Passed to :func:`validation.factor.polychoric`.

    Returns
    -------
    OrdinalOmegaResult

    Raises
    ------
    NotEstimable
        Fewer than 3 items with two or more observed categories, fewer than 3 cases, more than
        ``max_categories`` categories, or an undefined polychoric correlation.

    Notes
    -----
    An item with a single observed category is left out with a warning and named in ``dropped_items``,
    as ``psych::polychoric`` deletes it.

    In R: ``rho <- psych::polychoric(x)$rho; f <- psych::fa(rho, 1, fm = "minres"); l <- f$loadings[, 1];
    sum(l)^2 / (sum(l)^2 + sum(1 - f$communality))``; ``omega_observed`` is
    ``psych::omega(x, nfactors = 1, poly = TRUE)$omega.tot``. The point estimate's one-factor fit
    follows psych's optimiser (L-BFGS-B with psych's settings), so the figures agree with psych to
    about 1e-10.

    References
    ----------
    McDonald, R. P. (1999). Test theory: A unified treatment. Mahwah, NJ: Erlbaum.
    Gadermann, A. M., Guhn, M., & Zumbo, B. D. (2012). Estimating ordinal reliability for Likert-type and
    ordinal item response data. Practical Assessment, Research & Evaluation, 17(3), 1-13.
    Zumbo, B. D., Gadermann, A. M., & Zeisser, C. (2007). Ordinal versions of coefficients alpha and theta
    for Likert rating scales. Journal of Modern Applied Statistical Methods, 6, 21-29.
    Harman, H. H., & Jones, W. H. (1966). Factor analysis by minimizing residuals (minres). Psychometrika,
    31, 351-368.
    Levenberg, K. (1944). A method for the solution of certain non-linear problems in least squares.
    Quarterly of Applied Mathematics, 2, 164-168. Marquardt, D. W. (1963). An algorithm for least-squares
    estimation of nonlinear parameters. Journal of the SIAM, 11, 431-441.

    Examples
    --------
    The three-point ratings of :func:`ordinal_alpha`'s example (``ci=None``: no bootstrap):

    >>> import numpy as np
    >>> import pandas as pd
    >>> from validation.stats import ordinal_omega
    >>> rng = np.random.default_rng(3)
    >>> latent = rng.normal(size=300)
    >>> def rating():  # a noisy reading of the trait, cut into 1 (low), 2, 3 (high)
    ...     return 1 + np.digitize(0.8 * latent + rng.normal(scale=0.6, size=300), [-0.5, 0.5])
    >>> items = pd.DataFrame({f"v{j}": rating() for j in range(1, 5)})
    >>> res = ordinal_omega(items, ci=None)
    >>> print(f"ordinal omega = {res.omega:.3f}")
    ordinal omega = 0.892
    >>> res.loadings.round(3).tolist()
    [0.826, 0.814, 0.82, 0.822]
    """
    check_level(ci, allow_none=True)
    if ci is not None:
        n_boot = check_n_boot(n_boot)
    _check_correct(correct, max_categories)

    names, x, dropped, warnings = _ordinal_input(items, 3, "a one-factor model")
    pc = _factor.polychoric(pd.DataFrame(x, columns=names), correct=correct, max_categories=max_categories)
    warnings.extend(pc.warnings)
    rho = pc.rho.to_numpy()
    k = len(names)

    def fit(r: np.ndarray) -> np.ndarray:
        lam = _factor._extract(r, 1, "minres")["loadings"][:, 0]
        return -lam if lam.sum() < 0 else lam

    def omega_of(lam: np.ndarray) -> np.ndarray:
        sl = lam.sum(axis=-1) ** 2
        return sl / (sl + (1.0 - lam * lam).sum(axis=-1))

    lam = fit(rho)
    h2 = lam * lam
    om = float(omega_of(lam))
    om_obs = float(1.0 - (1.0 - h2).sum() / rho.sum())
    heywood = tuple(names[j] for j in np.flatnonzero(h2 >= _HEYWOOD_H2 * (1 - 1e-8)))
    if heywood:
        warnings.append(
            f"Heywood case: the uniqueness of {', '.join(heywood)} reached the lower bound 0.005; omega is doubtful"
        )
    neg = [names[j] for j in np.flatnonzero(lam < 0)]
    if neg:
        warnings.append(f"item(s) {', '.join(neg)} load negatively on the factor; are they reverse-keyed?")

    interval, n_ok = None, None
    if ci is not None:
        boot = _boot_polychoric(x, n_boot, seed, float(correct))
        okb = np.isfinite(boot).all(axis=(1, 2))
        vals = np.full(n_boot, np.nan)
        if okb.any():
            rb = boot[okb]
            lb, good = _uls_one_factor(rb, np.repeat(lam[None], rb.shape[0], axis=0))
            for t in np.flatnonzero(~good):
                lb[t] = fit(rb[t])
            vals[okb] = omega_of(lb)
        n_ok = int(np.isfinite(vals).sum())
        interval = _percentile_interval(vals, float(ci), f"bootstrap percentile ({n_ok} of {n_boot} replicates)")
        _boot_note(n_ok, n_boot, warnings)
    return OrdinalOmegaResult(
        omega=om,
        omega_observed=om_obs,
        ci=interval,
        n=int(pc.n),
        k=k,
        loadings=pd.Series(lam, index=names, name="loading"),
        communalities=pd.Series(h2, index=names, name="h2"),
        polychoric=pc.rho,
        heywood=heywood,
        dropped_items=tuple(dropped),
        n_boot=n_ok,
        correlation=pc.method + f"; {pc.n} cases",
        warnings=tuple(warnings),
    )


# --------------------------------------------------------------------------------------------------
# categorical omega (Green & Yang 2009): the reliability of the sum of the observed category scores
# --------------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class CategoricalOmegaResult:
    """Categorical omega of Green & Yang (2009) from a one-factor WLSMV model of ordinal items.

    Attributes
    ----------
    omega : the share of the variance of the summed category scores explained by the factor.
    ci : Wald interval from the delta-method standard error ``se`` (``None`` when ``ci=None``).
    n, k : cases and items; loadings : standardized loadings of the WLSMV fit.
    fit : its scaled fit measures (``chisq.scaled``, ``df``, ``cfi.scaled``, ``rmsea.scaled``, ``srmr``).
    missing, method, warnings : in words.
    """

    omega: float
    se: float | None
    ci: Interval | None
    n: int
    k: int
    loadings: dict[str, float]
    fit: dict[str, float]
    missing: str
    method: str
    warnings: tuple[str, ...] = ()


def green_yang_omega(loadings: np.ndarray, factor_variance: float, thresholds: list[np.ndarray],
                     polychoric: np.ndarray, scales: np.ndarray | None = None) -> float:
    r"""Categorical omega (Green & Yang, 2009) of one factor's items:

    .. math::

        \omega = \frac{\sum_{j,j'} \left[\sum_{c,c'} \Phi_2(a_{jc}, a_{j'c'}; \lambda_j \lambda_{j'} \phi)
                 - S_j S_{j'}\right]}{\sum_{j,j'} \left[\sum_{c,c'} \Phi_2(a_{jc}, a_{j'c'}; r_{jj'}) - S_j S_{j'}\right]}

    with thresholds :math:`a_{jc} = \tau_{jc} \Delta_j` on the scale of the latent responses,
    :math:`S_j = \sum_c \Phi(a_{jc})`, the sample polychoric correlations :math:`r` (1 on the diagonal)
    and the factor variance :math:`\phi` (the numerator's diagonal uses :math:`\lambda_j^2 \phi`). The sums
    run over ordered pairs of items, the diagonal included. As ``semTools::compRelSEM(fit,
    ord.scale = TRUE)``.

    Examples
    --------
    Three binary items split at the median, loadings 0.7, and polychoric correlations the model implies
    (0.49): the summed 0/1 scores are less reliable than the latent responses (omega 0.742 there):

    >>> import numpy as np
    >>> R = np.full((3, 3), 0.49) + np.diag(np.full(3, 0.51))
    >>> round(green_yang_omega(np.full(3, 0.7), 1.0, [np.array([0.0])] * 3, R), 4)
    0.592
    """
    from validation.stats._polychoric import bvn_cdf

    k = len(loadings)
    d = np.ones(k) if scales is None else np.asarray(scales, dtype=float)
    lam = np.asarray(loadings, dtype=float) * d
    cuts = [np.asarray(t, dtype=float) * d[j] for j, t in enumerate(thresholds)]
    S = np.array([special.ndtr(t).sum() for t in cuts])
    # every (item, cut) against every (item, cut) at once
    item = np.concatenate([np.full(len(t), j) for j, t in enumerate(cuts)])
    a = np.concatenate(cuts)
    I, J = np.meshgrid(item, item, indexing="ij")
    A, B = np.meshgrid(a, a, indexing="ij")
    true_r = lam[I] * lam[J] * factor_variance
    obs_r = np.where(I == J, 1.0, np.asarray(polychoric, dtype=float)[I, J])
    diag = I == J
    # the diagonal of the observed part: Phi2(a, b; 1) = Phi(min(a, b))
    obs = np.where(diag, special.ndtr(np.minimum(A, B)), bvn_cdf(A, B, np.where(diag, 0.0, obs_r)))
    ss = float(np.sum(np.outer(S, S)))
    return float((bvn_cdf(A, B, true_r).sum() - ss) / (obs.sum() - ss))


def _green_yang_gradient(lam: np.ndarray, phi: float, cuts: list[np.ndarray], R: np.ndarray):
    """Categorical omega and its derivatives in the loadings, the factor variance, each cut point and
    each polychoric correlation (closed form: d Phi2(a, b; r) / d r = phi2(a, b; r), d Phi2 / d a =
    phi(a) Phi((b - r a) / sqrt(1 - r^2)); the double sums run over ordered pairs, so each derivative
    counts twice). Returns (omega, d_lambda, d_phi, d_cuts (concatenated), d_R (k x k, upper triangle))."""
    from validation.stats._polychoric import bvn_cdf, bvn_pdf

    k = len(lam)
    item = np.concatenate([np.full(len(t), j) for j, t in enumerate(cuts)])
    a = np.concatenate(cuts)
    I, J = np.meshgrid(item, item, indexing="ij")
    A, B = np.meshgrid(a, a, indexing="ij")
    same = I == J
    rt = lam[I] * lam[J] * phi
    ro = np.where(same, 0.0, np.asarray(R, dtype=float)[I, J])
    st_ = float(special.ndtr(a).sum())
    num = float(bvn_cdf(A, B, rt).sum()) - st_ * st_
    den = float(np.where(same, special.ndtr(np.minimum(A, B)), bvn_cdf(A, B, ro)).sum()) - st_ * st_
    om = num / den
    dens_t = bvn_pdf(A, B, rt)
    d_num_lam = np.bincount(item, weights=2.0 * phi * (dens_t * lam[J]).sum(axis=1), minlength=k)
    d_num_phi = float((dens_t * lam[I] * lam[J]).sum())
    pdf_a = np.exp(-0.5 * a * a) / math.sqrt(2.0 * math.pi)
    cond_t = special.ndtr((B - rt * A) / np.sqrt(1.0 - rt * rt))
    step = np.where(A < B, 1.0, np.where(A > B, 0.0, 0.5))
    cond_o = np.where(same, step, special.ndtr((B - ro * A) / np.sqrt(1.0 - ro * ro)))
    d_num_a = 2.0 * pdf_a * cond_t.sum(axis=1) - 2.0 * st_ * pdf_a
    d_den_a = 2.0 * pdf_a * cond_o.sum(axis=1) - 2.0 * st_ * pdf_a
    dens_o = np.where(same, 0.0, bvn_pdf(A, B, ro))
    d_den_R = np.zeros((k, k))
    np.add.at(d_den_R, (I.ravel(), J.ravel()), dens_o.ravel())   # both orders land in (j, i) and (i, j)
    d_den_R = d_den_R + d_den_R.T                               # a correlation appears in both orders
    d_lam = d_num_lam / den
    d_phi = d_num_phi / den
    d_a = (d_num_a - om * d_den_a) / den
    d_R = -om * d_den_R / den
    return om, d_lam, d_phi, d_a, d_R


def categorical_omega(items: Any, ci: float | None = 0.95, missing: str = "pairwise") -> CategoricalOmegaResult:
    """Categorical omega (Green & Yang, 2009) of ordinal items from a one-factor WLSMV model.

    The reliability of the sum of the items' category scores (not of their latent responses):
    :func:`green_yang_omega` with the loadings, factor variance and thresholds of
    :func:`validation.stats.cfa.cfa` (``estimator="WLSMV"``, every item ordinal) and the sample polychoric
    correlations. Its standard error is the delta method on the sample statistics: omega is a function
    of the thresholds and correlations s, directly and through the DWLS estimates
    (d theta / d s = (D' W D)^-1 D' W), with Gamma / N their covariance (Muthen 1984); the interval is Wald.

    Parameters
    ----------
    items : DataFrame
        Ordinal answers (each item's distinct values are its categories, in order), NaN = missing.
    ci : float or None
        Level of the interval; ``None`` for none.
    missing : ``"pairwise"`` or ``"listwise"`` (see :func:`validation.stats.cfa.cfa`).

    Notes
    -----
    In R: ``fit <- lavaan::cfa("F =~ x1 + ... + xk", data, ordered = TRUE, estimator = "WLSMV")``;
    ``semTools::compRelSEM(fit, ord.scale = TRUE)`` (no interval there).

    References
    ----------
    Green, S. B., & Yang, Y. (2009). Reliability of summed item scores using structural equation modeling:
    an alternative to coefficient alpha. Psychometrika, 74, 155-167.

    Examples
    --------
    Four items with three categories, 300 simulated cases:

    >>> import numpy as np
    >>> import pandas as pd
    >>> rng = np.random.default_rng(1)
    >>> f = rng.normal(size=300)
    >>> items = pd.DataFrame({f"v{j}": np.digitize(0.7 * f + 0.7 * rng.normal(size=300), [-0.5, 0.8])
    ...                       for j in range(1, 5)})
    >>> res = categorical_omega(items)
    >>> print(f"omega = {res.omega:.3f} [{res.ci.lower:.3f}, {res.ci.upper:.3f}], n = {res.n}")
    omega = 0.684 [0.626, 0.742], n = 300
    """
    check_level(ci, allow_none=True)
    if not isinstance(items, pd.DataFrame):
        items = pd.DataFrame(np.asarray(items, dtype=float), columns=[f"x{j + 1}" for j in range(np.shape(items)[1])])
    names = [str(c) for c in items.columns]
    k = len(names)
    if k < 3:
        raise NotEstimable(f"not estimable: a one-factor model needs at least 3 items, got {k}")
    ov = [f"x{j + 1}" for j in range(k)]
    data = items.set_axis(ov, axis=1).astype(float)
    to_item = dict(zip(ov, names))

    def named(text: str) -> str:
        return re.sub(r"\bx\d+\b", lambda m: to_item.get(m.group(0), m.group(0)), text)

    from validation.stats.cfa import _cfa_wlsmv

    try:
        res, (spec, state, inf, _) = _cfa_wlsmv("F =~ " + " + ".join(ov), data, None, (), (), True, missing, "delta", True)
    except NotEstimable as exc:
        raise NotEstimable(named(str(exc))) from None
    st = spec.stats[0]
    nt = spec.nthr
    iu, ju = spec.iu, spec.ju
    bounds = np.r_[0, np.cumsum([len(t) for t in st.thresholds])]

    from validation.stats.cfa._ordinal import LAMBDA, PSI, TAU

    theta, s = state.theta, st.s
    _, mt = spec.implied(theta[None, :].astype(float), 0)
    lam, phi, tau = mt[LAMBDA][0][:, 0], float(mt[PSI][0][0, 0]), mt[TAU][0]
    R = np.eye(k)
    R[iu, ju] = R[ju, iu] = s[nt:]
    om, d_lam, d_phi, d_tau, d_R = _green_yang_gradient(lam, phi, [tau[bounds[j]:bounds[j + 1]] for j in range(k)], R)
    # omega depends on the estimates (loadings, thresholds; the factor variance is fixed to 1) and on the
    # correlations directly; d theta / d s of the DWLS estimator is (D' W D)^-1 D' W
    h_theta = np.zeros(theta.size)
    for r in spec.table.rows:
        if r.free and r.op == "=~":
            h_theta[r.pid] += d_lam[r.r]
        elif r.free and r.op == "|":
            h_theta[r.pid] += d_tau[r.r]
        elif r.free and r.op == "~~" and r.mat == PSI:
            h_theta[r.pid] += d_phi
    h_s = np.r_[np.zeros(nt), d_R[iu, ju]]
    D = inf.jacobians[0]
    WD = D * st.w[:, None]
    grad = h_theta @ np.linalg.solve(D.T @ WD, WD.T) + h_s
    var = float(grad @ st.gamma @ grad) / st.n
    se = math.sqrt(var) if var >= 0 else math.nan
    interval = None
    if ci is not None and math.isfinite(se):
        z = float(stats.norm.ppf(0.5 + float(ci) / 2))
        interval = Interval(om - z * se, om + z * se, float(ci), "Wald, delta-method standard error from the "
                            "asymptotic covariance of the thresholds and polychoric correlations")
    std = {to_item[p.rhs]: p.std_all for p in res.parameters if p.op == "=~"}
    fit = {key: res.fit[key] for key in ("chisq.scaled", "df", "pvalue.scaled", "cfi.scaled", "rmsea.scaled", "srmr")}
    return CategoricalOmegaResult(
        omega=om, se=se if math.isfinite(se) else None, ci=interval, n=res.n, k=k, loadings=std, fit=fit,
        missing=named(res.missing),
        method="Green & Yang (2009) categorical omega of a one-factor WLSMV model (as semTools::compRelSEM, "
               "ord.scale = TRUE)",
        warnings=tuple(named(w) for w in res.warnings))
