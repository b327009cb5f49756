"""Argument checks and item-matrix helpers shared by every estimator of the statistics layer.

One rule each: a confidence level is a number strictly between 0 and 1; a seed becomes a
``numpy.random.Generator`` (from None, an int or a Generator, as scikit-learn's
``check_random_state`` does for its ``RandomState``); a replicate count is an integer at or above
a minimum; item scores are a numeric DataFrame or 2-D array with NaN for missing.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

__all__ = ["check_level", "check_random_state", "check_n_boot", "item_matrix", "pairwise_moments",
           "no_variance_items"]


def check_level(ci: Any, *, allow_none: bool = False) -> float | None:
    """A confidence level as a float strictly between 0 and 1 (None passes when ``allow_none``).

    Examples
    --------
    >>> check_level(0.95)
    0.95
    >>> check_level(1.5)
    Traceback (most recent call last):
    ...
    ValueError: ci must be a confidence level strictly between 0 and 1 (e.g. 0.95), got 1.5
    """
    if ci is None and allow_none:
        return None
    what = "ci must be a confidence level strictly between 0 and 1 (e.g. 0.95)" + (" or None" if allow_none else "")
    if isinstance(ci, bool) or not isinstance(ci, (int, float, np.integer, np.floating)):
        raise TypeError(f"{what}, got {ci!r}")
    level = float(ci)
    if not 0.0 < level < 1.0:
        raise ValueError(f"{what}, got {ci!r}")
    return level


def check_random_state(seed: Any) -> np.random.Generator:
    """A ``numpy.random.Generator`` from None (fresh entropy), an integer (reproducible) or a Generator
    (used as it is, so a caller can thread one stream through several estimators).

    Examples
    --------
    >>> g = check_random_state(1)
    >>> float(g.random()) == float(np.random.default_rng(1).random())
    True
    >>> check_random_state(g) is g
    True
    """
    if seed is None or (isinstance(seed, (int, np.integer)) and not isinstance(seed, bool)):
        return np.random.default_rng(seed)
    if isinstance(seed, np.random.Generator):
        return seed
    raise TypeError(f"seed must be None, an integer or a numpy Generator, got {seed!r}")


def check_n_boot(n_boot: Any, minimum: int = 10) -> int:
    """A replicate count: an integer at or above ``minimum``.

    Examples
    --------
    >>> check_n_boot(2000)
    2000
    """
    if isinstance(n_boot, bool) or not isinstance(n_boot, (int, np.integer)) or n_boot < minimum:
        raise ValueError(f"n_boot: expected an integer >= {minimum}, got {n_boot!r}")
    return int(n_boot)


def item_matrix(items: Any, *, what: str = "items") -> tuple[list[str], np.ndarray, bool]:
    """Check ``items``; return (item names, float matrix with NaN for missing, no-missing flag).

    Examples
    --------
    >>> names, x, complete = item_matrix(pd.DataFrame({"a": [1, 2], "b": [3, None]}))
    >>> names, complete
    (['a', 'b'], False)
    """
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


def pairwise_moments(x: np.ndarray, complete: bool | None = None) -> dict[str, Any]:
    """Pairwise-complete covariance and correlation of the columns of ``x`` (NaN = missing).

    For items i, j the rows where both are observed give N_ij, the means of i and j on those rows,
    the covariance (divisor N_ij - 1) and the standard deviations of i and j on those rows. As R's
    ``cov(x, use = "pairwise")`` and ``cor(x, use = "pairwise")``: the correlation uses the pair's own
    standard deviations, so it differs from ``cov2cor`` of the pairwise covariance when values are
    missing. Cells where a pair has fewer than two rows in common are NaN. Also returns the item
    means (over each item's observed values).

    Examples
    --------
    >>> m = pairwise_moments(np.array([[1.0, 2.0], [2.0, 4.0], [3.0, np.nan]]))
    >>> float(m["cor"][0, 1]), int(m["n"][0, 1])
    (1.0, 2)
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


def no_variance_items(x: np.ndarray, names: list[str], mom: dict[str, Any]) -> list[str]:
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
