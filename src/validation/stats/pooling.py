"""Sufficient statistics that sites can send without their cases, and the full-data figures they give
back when added up across sites (exact pooling).

- alpha: per pair of items, the cases answering both, the sums of each item over them and the sum of
  the products (pairwise covariances exactly as the full data give them);
- AUC with DeLong's interval: the count of events and non-events at each distinct score (the AUC and
  the DeLong placements depend on nothing else);
- (weighted) kappa: the rating table of the paired ratings;
- a factor model by full-information ML: per missing-data pattern the count, sums and cross-products of
  the observed items (the likelihood depends on the data through nothing else); :func:`pattern_moments`
  gives them and :func:`rows_with_moments` rows that carry exactly them, to fit the model to.

Adding the sites' statistics gives the statistics of the pooled cases, so the pooled figure equals the
one computed on all cases together, up to rounding.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Sequence

import numpy as np

from validation.stats.results import Interval, NotEstimable

__all__ = ["PairwiseSums", "pairwise_sums", "add_pairwise_sums", "alpha_from_sums", "roc_counts",
           "add_roc_counts", "auc_from_counts", "pattern_moments", "rows_with_moments"]


@dataclasses.dataclass(frozen=True)
class PairwiseSums:
    """Sufficient statistics of pairwise covariances: ``n[i, j]`` cases answering items i and j (the
    diagonal: item i), ``sums[i, j]`` the sum of item i over those cases, ``cross[i, j]`` the sum of
    the products; ``n_cases`` the cases with at least one answer, ``n_complete`` those answering all."""

    items: tuple[str, ...]
    n: np.ndarray
    sums: np.ndarray
    cross: np.ndarray
    n_cases: int
    n_complete: int


def pairwise_sums(items: Any) -> PairwiseSums:
    """The pairwise sufficient statistics of an item matrix (NaN = missing).

    Examples
    --------
    >>> import numpy as np
    >>> s = pairwise_sums(np.array([[1.0, 2.0], [2.0, np.nan], [3.0, 1.0]]))
    >>> s.n.tolist(), s.sums.tolist(), s.n_cases
    ([[3.0, 2.0], [2.0, 2.0]], [[6.0, 4.0], [3.0, 3.0]], 3)
    """
    import pandas as pd

    names = tuple(str(c) for c in items.columns) if isinstance(items, pd.DataFrame) else \
        tuple(f"item{j + 1}" for j in range(np.asarray(items).shape[1]))
    x = np.asarray(items, dtype=float)
    x = x[~np.isnan(x).all(axis=1)]
    obs = (~np.isnan(x)).astype(float)
    x0 = np.nan_to_num(x)
    return PairwiseSums(names, obs.T @ obs, x0.T @ obs, x0.T @ x0, int(x.shape[0]), int(obs.all(axis=1).sum()))


def add_pairwise_sums(parts: Sequence[PairwiseSums]) -> PairwiseSums:
    """The statistics of the cases of all parts together (the same items in the same order).

    Examples
    --------
    >>> import numpy as np
    >>> a = pairwise_sums(np.array([[1.0, 2.0], [2.0, 3.0]]))
    >>> b = pairwise_sums(np.array([[3.0, 1.0]]))
    >>> add_pairwise_sums([a, b]).n_cases
    3
    """
    if not parts:
        raise NotEstimable("not estimable: nothing to pool")
    names = parts[0].items
    bad = [i for i, p in enumerate(parts) if p.items != names]
    if bad:
        raise ValueError(f"parts {bad} have other items than the first ({list(names)})")
    return PairwiseSums(names, sum(p.n for p in parts), sum(p.sums for p in parts), sum(p.cross for p in parts),
                        sum(p.n_cases for p in parts), sum(p.n_complete for p in parts))


def alpha_from_sums(s: PairwiseSums, ci: float | None = 0.95) -> tuple[float, Interval | None]:
    """Cronbach's alpha (pairwise covariances, as :func:`~validation.stats.reliability.cronbach_alpha`
    with ``missing="pairwise"``) and its Feldt interval from pairwise sums.

    Examples
    --------
    >>> import pandas as pd
    >>> from validation.stats import cronbach_alpha
    >>> items = pd.DataFrame({"q1": [4, 3, 5, 2, 4, 3, 5, 1, 4, 2], "q2": [5, 3, 4, 2, 4, 2, 5, 2, 3, 2],
    ...                       "q3": [4, 2, 5, 1, 5, 3, 4, 2, 4, 3], "q4": [3, 3, 4, 2, 5, 2, 4, 1, 5, 1]})
    >>> halves = [pairwise_sums(items.iloc[:4]), pairwise_sums(items.iloc[4:])]
    >>> a, iv = alpha_from_sums(add_pairwise_sums(halves))
    >>> round(a, 4), round(cronbach_alpha(items).alpha, 4)
    (0.9264, 0.9264)
    """
    from validation.stats.reliability import _alpha_from_cov, feldt_interval

    k = len(s.items)
    if k < 2:
        raise NotEstimable(f"not estimable: alpha needs at least 2 items, got {k}")
    if s.n.min() < 3:
        raise NotEstimable(f"not estimable: {int(s.n.min())} case(s) answered a pair of items; alpha needs at least 3")
    cov = (s.cross - s.sums * s.sums.T / s.n) / (s.n - 1)
    cov = (cov + cov.T) / 2
    if np.any(np.diag(cov) <= 0):
        raise NotEstimable("not estimable: an item has no variance in the pooled cases")
    raw = _alpha_from_cov(cov)[0]
    return raw, (feldt_interval(raw, s.n_cases, k, ci) if ci is not None else None)


def roc_counts(y: Sequence[Any], score: Sequence[Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The distinct scores and the events and non-events at each (cases missing either are left out).

    Examples
    --------
    >>> lv, ev, ne = roc_counts([1, 0, 0, 1, 0], [3, 1, 3, 2, 1])
    >>> lv.tolist(), ev.tolist(), ne.tolist()
    ([1.0, 2.0, 3.0], [0, 1, 1], [2, 0, 1])
    """
    y = np.asarray(y, dtype=float)
    s = np.asarray(score, dtype=float)
    ok = ~(np.isnan(y) | np.isnan(s))
    y, s = y[ok], s[ok]
    levels, inv = np.unique(s, return_inverse=True)
    ev = np.bincount(inv, weights=(y == 1).astype(float), minlength=levels.size).astype(int)
    ne = np.bincount(inv, weights=(y == 0).astype(float), minlength=levels.size).astype(int)
    return levels, ev, ne


def add_roc_counts(parts: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]]
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The counts of all parts together, on the union of their score levels.

    Examples
    --------
    >>> lv, ev, ne = add_roc_counts([roc_counts([1, 0], [2, 1]), roc_counts([1, 0], [3, 2])])
    >>> lv.tolist(), ev.tolist(), ne.tolist()
    ([1.0, 2.0, 3.0], [0, 1, 1], [1, 1, 0])
    """
    levels = np.unique(np.concatenate([np.asarray(p[0], dtype=float) for p in parts]))
    ev = np.zeros(levels.size, dtype=int)
    ne = np.zeros(levels.size, dtype=int)
    for lv, e, n in parts:
        at = np.searchsorted(levels, np.asarray(lv, dtype=float))
        np.add.at(ev, at, np.asarray(e, dtype=int))
        np.add.at(ne, at, np.asarray(n, dtype=int))
    return levels, ev, ne


def auc_from_counts(levels: Sequence[float], events: Sequence[int], non_events: Sequence[int], ci: float = 0.95,
                    direction: str = "higher"):
    """The AUC with DeLong's interval from the counts at each score: the same as
    :func:`~validation.stats.predictive.roc_auc` on the cases themselves, since both depend on the
    cases only through these counts.

    Examples
    --------
    >>> res = auc_from_counts([1, 2, 3], [1, 3, 6], [6, 3, 1])
    >>> round(res.auc, 3), round(res.se, 4)
    (0.825, 0.0926)
    """
    from validation.stats.predictive import roc_auc

    lv = np.asarray(levels, dtype=float)
    ev = np.asarray(events, dtype=int)
    ne = np.asarray(non_events, dtype=int)
    if np.any(ev < 0) or np.any(ne < 0):
        raise ValueError("events and non_events: counts must be whole numbers >= 0")
    y = np.concatenate([np.ones(int(ev.sum())), np.zeros(int(ne.sum()))])
    s = np.concatenate([np.repeat(lv, ev), np.repeat(lv, ne)])
    return roc_auc(y, s, ci=ci, direction=direction)


def pattern_moments(items: Any) -> list[dict]:
    """Per missing-data pattern of an item matrix (NaN = missing; rows without any value left out): the
    observed columns, the count of cases, and the sums and cross-products of the observed items.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[1.0, 2.0], [3.0, np.nan], [2.0, 2.0], [5.0, np.nan]])
    >>> [(m["observed"], m["n"], m["sums"]) for m in pattern_moments(x)]
    [([0], 2, [8.0]), ([0, 1], 2, [3.0, 4.0])]
    """
    x = np.asarray(items, dtype=float)
    obs = ~np.isnan(x)
    keep = obs.any(axis=1)
    x, obs = x[keep], obs[keep]
    masks, inverse = np.unique(obs, axis=0, return_inverse=True)
    out = []
    for i, mask in enumerate(masks):
        cols = np.flatnonzero(mask)
        v = x[np.asarray(inverse).reshape(-1) == i][:, cols]
        out.append({"observed": cols.tolist(), "n": int(v.shape[0]), "sums": v.sum(axis=0).tolist(),
                    "cross": (v.T @ v).tolist()})
    return out


def _helmert(n: int) -> np.ndarray:
    """n x (n - 1) orthonormal columns orthogonal to the vector of ones (Helmert's contrasts)."""
    h = np.zeros((n, n - 1))
    for j in range(1, n):
        h[:j, j - 1] = 1.0
        h[j, j - 1] = -float(j)
        h[:, j - 1] /= np.sqrt(j * (j + 1.0))
    return h


def rows_with_moments(n: int, sums: Sequence[float], cross: Any) -> np.ndarray:
    """``n`` rows whose column sums are ``sums`` and whose cross-products are ``cross``: the mean plus
    deviations spanned by the scatter matrix's eigenvectors along Helmert contrasts. Not cases: any
    statistic that depends on rows only through these moments (a normal likelihood) takes the same
    value on them as on the rows they came from.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[1.0, 2.0], [2.0, 1.0], [4.0, 4.0]])
    >>> y = rows_with_moments(3, x.sum(axis=0), x.T @ x)
    >>> bool(np.allclose(y.sum(axis=0), x.sum(axis=0)) and np.allclose(y.T @ y, x.T @ x))
    True
    """
    if int(n) != n or n < 1:
        raise ValueError(f"n must be a positive whole number, got {n!r}")
    n = int(n)
    total = np.asarray(sums, dtype=float)
    mean = total / n
    scatter = np.asarray(cross, dtype=float) - n * np.outer(mean, mean)
    scatter = (scatter + scatter.T) / 2
    if n == 1:
        return mean[None, :]
    vals, vecs = np.linalg.eigh(scatter)
    scale = max(float(np.abs(vals).max()), 1.0)
    if vals.min() < -1e-8 * scale:
        raise NotEstimable("not estimable: the cross-products are not those of real rows (the scatter matrix has a "
                           f"negative eigenvalue, {vals.min():.3g})")
    # n rows span at most n - 1 directions about their mean; smaller eigenvalues are rounding noise
    order = np.argsort(vals)[::-1][: n - 1]
    keep = order[vals[order] > 1e-10 * scale]
    dev = _helmert(n)[:, :keep.size] @ (np.sqrt(vals[keep])[:, None] * vecs[:, keep].T)
    return mean[None, :] + dev
