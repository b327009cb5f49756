"""Internal consistency of a set of items: Cronbach's alpha, McDonald's omega, item statistics.

Pure functions on a table of item scores (rows = cases, columns = items; a ``pandas.DataFrame`` or a
2-D ``numpy`` array, missing values as ``NaN``). They know nothing of any instrument: the caller picks
the items of a scale and reverses reverse-keyed items first.

* :func:`cronbach_alpha` -- raw and standardized alpha with a Feldt or bootstrap interval, corrected
  item-total correlations and alpha if an item is dropped, computed as ``psych::alpha`` does;
* :func:`omega` -- McDonald's omega total from a one-factor maximum-likelihood model, as a one-factor
  ``lavaan::cfa`` gives it, with a bootstrap interval;
* :func:`item_statistics` -- per item n, mean, SD, floor and ceiling rates, missing rate, low variance.

Every result is a frozen dataclass; :func:`validation.results.to_dict` turns it into plain JSON values.
Degenerate data raise :class:`validation.results.NotEstimable`.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from validation.results import Interval, NotEstimable

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
]

# Bootstrap replicates are processed in batches whose weight matrix holds at most this many cells.
_BATCH_CELLS = 4_000_000


# --------------------------------------------------------------------------------------------------
# input and covariance helpers (shared with validation.factor)
# --------------------------------------------------------------------------------------------------


def _item_matrix(items: Any, *, what: str = "items") -> tuple[list[str], np.ndarray, bool]:
    """Check ``items``; return (item names, float matrix with NaN for missing, no-missing flag)."""
    if isinstance(items, pd.DataFrame):
        names = [str(c) for c in items.columns]
        if len(set(names)) != len(names):
            dup = sorted({c for c in names if names.count(c) > 1})
            raise ValueError(f"{what}: column names must be unique; repeated: {dup}")
        if all(isinstance(dt, np.dtype) and dt.kind in "biuf" for dt in items.dtypes):
            x = items.to_numpy(dtype=float)
        else:
            cols = []
            for c, name in zip(items.columns, names):
                s = items[c]
                if not (pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s)):
                    raise ValueError(
                        f"{what}: column {name!r} has dtype {s.dtype}; expected numeric item scores "
                        "(missing values as NaN / None)"
                    )
                cols.append(s.to_numpy(dtype=float, na_value=np.nan))
            x = np.column_stack(cols) if cols else np.empty((len(items), 0))
    elif isinstance(items, np.ndarray):
        if items.ndim != 2:
            raise ValueError(f"{what}: expected a 2-D array (rows = cases, columns = items), got {items.ndim}-D")
        try:
            x = items.astype(float)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{what}: expected numeric item scores ({exc})") from None
        names = [f"V{j + 1}" for j in range(x.shape[1])]
    else:
        raise TypeError(
            f"{what}: expected a pandas DataFrame (rows = cases, columns = items) or a 2-D numpy array, "
            f"got {type(items).__name__}"
        )
    complete = bool(np.isfinite(x).all())
    if not complete and np.isinf(x).any():
        bad = [names[j] for j in np.flatnonzero(np.isinf(x).any(axis=0))]
        raise ValueError(f"{what}: infinite values in {bad}; expected finite scores or NaN for missing")
    return names, x, complete


def _check_level(ci: float | None) -> None:
    if ci is None:
        return
    if isinstance(ci, bool) or not isinstance(ci, (int, float)) or not 0.0 < float(ci) < 1.0:
        raise ValueError(f"ci: expected a confidence level strictly between 0 and 1 (e.g. 0.95) or None, got {ci!r}")


def _check_n_boot(n_boot: int, minimum: int = 10) -> int:
    if isinstance(n_boot, bool) or not isinstance(n_boot, (int, np.integer)) or n_boot < minimum:
        raise ValueError(f"n_boot: expected an integer >= {minimum}, got {n_boot!r}")
    return int(n_boot)


def _pairwise_moments(x: np.ndarray, complete: bool | None = None) -> dict[str, Any]:
    """Pairwise-complete covariance and correlation of the columns of ``x`` (NaN = missing).

    For items i, j the rows where both are observed give N_ij, the means of i and j on those rows,
    the covariance (divisor N_ij - 1) and the standard deviations of i and j on those rows. As R's
    ``cov(x, use = "pairwise")`` and ``cor(x, use = "pairwise")``: the correlation uses the pair's own
    standard deviations, so it differs from ``cov2cor`` of the pairwise covariance when values are
    missing. Cells where a pair has fewer than two rows in common are NaN. Also returns the item
    means (over each item's observed values).
    """
    if complete is None:
        complete = not np.isnan(x).any()
    n, k = x.shape
    with np.errstate(invalid="ignore", divide="ignore"):
        if complete:
            mu = (np.ones(n) @ x) / n
            cov = (x.T @ x - n * np.outer(mu, mu)) / (n - 1)
            if not np.all(mu * mu <= 1e4 * np.diag(cov)):  # large offsets: centre first, for precision
                xc = x - mu
                cov = xc.T @ xc / (n - 1)
            cov = (cov + cov.T) / 2
            sd = np.sqrt(np.maximum(np.diag(cov), 0.0))
            cor = cov / np.outer(sd, sd)
            np.fill_diagonal(cor, 1.0)
            npair = np.full((k, k), float(n))
            bad = np.zeros((k, k), dtype=bool) if n >= 2 else np.ones((k, k), dtype=bool)
        else:
            mask = ~np.isnan(x)
            m = mask.astype(float)
            cnt = m.sum(axis=0)
            mu = np.where(cnt > 0, np.where(mask, x, 0.0).sum(axis=0) / np.maximum(cnt, 1), np.nan)
            x0 = np.where(mask, x - np.nan_to_num(mu), 0.0)  # centring keeps the one-pass sums accurate
            npair = m.T @ m
            s1 = x0.T @ m  # s1[i, j]: sum of item i over the rows where i and j are observed
            s2 = (x0 * x0).T @ m
            p = x0.T @ x0
            cov = (p - s1 * s1.T / npair) / (npair - 1)
            var_ij = (s2 - s1 * s1 / npair) / (npair - 1)  # variance of i on the rows shared with j
            cor = cov / np.sqrt(var_ij * var_ij.T)
            np.fill_diagonal(cor, 1.0)
            bad = npair < 2
        cov[bad] = np.nan
        cor[bad] = np.nan
    return {"n": npair, "cov": cov, "cor": np.clip(cor, -1.0, 1.0), "mean": mu, "complete": complete}


def _no_variance(x: np.ndarray, names: list[str], mom: dict[str, Any]) -> list[str]:
    """Items with fewer than two observed values or a single observed value. The covariance diagonal
    picks the candidates; their observed values are then compared exactly."""
    var = np.diag(mom["cov"])
    mu = np.nan_to_num(mom["mean"])
    out = []
    for j in np.flatnonzero(~(var > 1e-8 * (1.0 + mu * mu))):
        col = x[:, j]
        col = col[~np.isnan(col)]
        if col.size < 2 or col.max() == col.min():
            out.append(names[j])
    return out


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
    >>> res = cronbach_alpha(df[["q1", "q2", "q3", "q4", "q5"]])      # doctest: +SKIP
    >>> res.alpha, res.ci.lower, res.ci.upper, res.items["q1"].r_drop  # doctest: +SKIP
    """
    _check_level(ci)
    if ci_method not in ("feldt", "bootstrap"):
        raise ValueError(f"ci_method: expected 'feldt' or 'bootstrap', got {ci_method!r}")
    if missing not in ("pairwise", "listwise"):
        raise ValueError(f"missing: expected 'pairwise' or 'listwise', got {missing!r}")
    if ci is not None and ci_method == "bootstrap":
        n_boot = _check_n_boot(n_boot)
    names, x, complete = _item_matrix(items)
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

    mom = _pairwise_moments(x, complete)
    dropped = _no_variance(x, names, mom)
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
        p = 1.0 - ci
        df1, df2 = n - 1, (n - 1) * (k - 1)
        lo = 1.0 - (1.0 - raw) * stats.f.ppf(1 - p / 2, df1, df2)
        hi = 1.0 - (1.0 - raw) * stats.f.ppf(p / 2, df1, df2)
        interval = Interval(float(lo), float(hi), float(ci), "feldt")
    elif ci is not None:
        rng = np.random.default_rng(seed)
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
    ci : bootstrap percentile interval (``None`` when ``ci=None`` or no replicate converged).
    n : complete cases used; k : items.
    items : item name -> :class:`ItemLoading`.
    chisq, df : likelihood-ratio test of the one-factor model (chisq = n * F_min, as lavaan).
    heywood : True when a residual variance is <= 0 (then omega is doubtful).
    n_boot : bootstrap replicates whose model converged.
    missing : how missing values were handled, in words.
    warnings : anything a reader should know.
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
        Item scores, rows = cases, NaN = missing. Only complete cases are used.
    ci : float or None
        Level of the bootstrap percentile interval; ``None`` for none.
    n_boot : int
        Bootstrap resamples of the complete cases; each is refitted (vectorised over
        replicates); replicates that do not converge are left out and counted.
    seed : int, Generator or None
        Seed of the bootstrap.

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
    variance first.

    References
    ----------
    McDonald, R. P. (1999). Test theory: A unified treatment. Mahwah, NJ: Erlbaum.
    Joreskog, K. G. (1967). Some contributions to maximum likelihood factor analysis. Psychometrika, 32, 443-482.
    Jennrich, R. I., & Robinson, S. M. (1969). A Newton-Raphson algorithm for maximum likelihood factor
    analysis. Psychometrika, 34, 111-123.
    """
    _check_level(ci)
    if ci is not None:
        n_boot = _check_n_boot(n_boot)
    names, x, complete = _item_matrix(items)
    k = len(names)
    if k < 3:
        raise NotEstimable(f"not estimable: a one-factor model needs at least 3 items, got {k}")
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
        rng = np.random.default_rng(seed)
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
    """
    if isinstance(low_variance_sd, bool) or not isinstance(low_variance_sd, (int, float)) or not low_variance_sd >= 0:
        raise ValueError(f"low_variance_sd: expected a number >= 0, got {low_variance_sd!r}")
    names, x, _ = _item_matrix(items)
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
