"""Agreement between raters: intraclass correlations, Cohen's kappa, Fleiss' kappa.

Pure functions on pandas / numpy input, no file I/O and no knowledge of any instrument. Each
returns a frozen dataclass that :func:`validation.results.to_dict` turns into plain JSON values;
data that cannot support an estimate raise :class:`validation.results.NotEstimable` saying why.

* :func:`icc` -- the six Shrout & Fleiss (1979) / McGraw & Wong (1996) intraclass correlations
  from the two-way ANOVA of a complete targets x raters table, with F tests and F-based intervals
  (the numbers of ``psych::ICC(x, lmer = FALSE)``).
* :func:`cohen_kappa` -- Cohen's (1960) kappa and weighted kappa (Cohen 1968) of two raters with
  the large-sample variance of Fleiss, Cohen & Everitt (1969), as ``psych::cohen.kappa``.
* :func:`fleiss_kappa` -- Fleiss' (1971) kappa for many raters from a subjects x categories count
  table, with the large-sample standard error of Fleiss, Nee & Landis (1979) and per-category
  kappas.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from validation.results import Interval, NotEstimable

__all__ = [
    "ICCForm",
    "ICCResult",
    "icc",
    "CohenKappa",
    "cohen_kappa",
    "CategoryKappa",
    "FleissKappa",
    "fleiss_kappa",
]


# --------------------------------------------------------------------------------------------
# argument helpers
# --------------------------------------------------------------------------------------------


def _check_level(ci: float) -> float:
    """Validate a confidence level: a number strictly between 0 and 1."""
    if isinstance(ci, bool) or not isinstance(ci, (int, float, np.integer, np.floating)):
        raise TypeError(f"ci must be a confidence level between 0 and 1 (e.g. 0.95), got {ci!r}")
    ci = float(ci)
    if not 0.0 < ci < 1.0:
        raise ValueError(f"ci must be a confidence level between 0 and 1 (e.g. 0.95), got {ci!r}")
    return ci


def _is_missing(values: np.ndarray) -> np.ndarray:
    """Elementwise missingness (None, NaN, pd.NA, NaT) of an object or numeric array."""
    return np.asarray(pd.isna(values), dtype=bool)


# --------------------------------------------------------------------------------------------
# intraclass correlation
# --------------------------------------------------------------------------------------------

# Shrout-Fleiss name -> (McGraw-Wong name, description)
_ICC_FORMS: dict[str, tuple[str, str]] = {
    "ICC1": ("one-way single", "one-way random effects, absolute agreement, single rater"),
    "ICC2": ("A,1", "two-way random effects, absolute agreement, single rater"),
    "ICC3": ("C,1", "two-way mixed effects, consistency, single rater"),
    "ICC1k": ("one-way average", "one-way random effects, absolute agreement, mean of k raters"),
    "ICC2k": ("A,k", "two-way random effects, absolute agreement, mean of k raters"),
    "ICC3k": ("C,k", "two-way mixed effects, consistency, mean of k raters"),
}
_MW_TO_SF = {mw: sf for sf, (mw, _) in _ICC_FORMS.items()}


@dataclasses.dataclass(frozen=True)
class ICCForm:
    """One intraclass correlation form.

    ``name`` is the Shrout & Fleiss (1979) label (``ICC1`` ... ``ICC3k``), ``mcgraw_wong`` the
    McGraw & Wong (1996) label (``"one-way single"``, ``"A,1"``, ``"C,1"``, ``"one-way average"``,
    ``"A,k"``, ``"C,k"``). ``f``, ``df1``, ``df2`` and ``p`` are the F test of the hypothesis
    ICC = 0; ``ci`` is the F-based interval.
    """

    name: str
    mcgraw_wong: str
    description: str
    icc: float
    f: float
    df1: float
    df2: float
    p: float
    ci: Interval


@dataclasses.dataclass(frozen=True)
class ICCResult:
    """The six intraclass correlations of a targets x raters table and the ANOVA behind them.

    ``forms`` maps the Shrout-Fleiss names to :class:`ICCForm`; ``result["A,1"]`` or
    ``result["ICC2"]`` looks a form up by either naming. Mean squares: ``ms_targets`` (between
    targets, MSB/MSR), ``ms_raters`` (between raters, MSJ/MSC), ``ms_error`` (residual, MSE) and
    ``ms_within`` (within targets, MSW, pooling raters and residual, the one-way error term).
    ``n_targets`` and ``n_raters`` are what the estimates use; ``n_targets_dropped`` targets
    were left out (``warnings`` says why).
    """

    forms: dict[str, ICCForm]
    ms_targets: float
    ms_raters: float
    ms_error: float
    ms_within: float
    df_targets: int
    df_raters: int
    df_error: int
    df_within: int
    n_targets: int
    n_raters: int
    n_targets_dropped: int
    raters_dropped: tuple[str, ...]
    level: float
    method: str
    warnings: tuple[str, ...]

    def to_frame(self) -> pd.DataFrame:
        """The six forms as a table laid out like ``psych::ICC(...)$results``."""
        return pd.DataFrame(
            [
                {
                    "type": f.name,
                    "mcgraw_wong": f.mcgraw_wong,
                    "ICC": f.icc,
                    "F": f.f,
                    "df1": f.df1,
                    "df2": f.df2,
                    "p": f.p,
                    "lower": f.ci.lower,
                    "upper": f.ci.upper,
                }
                for f in self.forms.values()
            ]
        ).set_index("type")

    def __getitem__(self, name: str) -> ICCForm:
        if name in self.forms:
            return self.forms[name]
        if name in _MW_TO_SF:
            return self.forms[_MW_TO_SF[name]]
        raise KeyError(
            f"unknown ICC form {name!r}; expected one of {list(_ICC_FORMS)} "
            f"or {list(_MW_TO_SF)}"
        )


def _icc_matrix(
    data: Any, targets: str | None, raters: str | None, ratings: str | None
) -> tuple[np.ndarray, list[str]]:
    """Turn the input into a targets x raters float matrix (NaN = missing) and rater labels."""
    long_args = (targets, raters, ratings)
    if all(a is None for a in long_args):
        if isinstance(data, pd.DataFrame):
            frame = data
        else:
            arr = np.asarray(data)
            if arr.ndim != 2:
                raise ValueError(
                    "data must be a wide table (targets in rows, raters in columns) or a long "
                    f"table with targets=, raters=, ratings= column names; got an array of shape {arr.shape}"
                )
            frame = pd.DataFrame(arr, columns=[f"rater{j + 1}" for j in range(arr.shape[1])])
        try:
            mat = frame.apply(pd.to_numeric, errors="raise").to_numpy(dtype=float)
        except (ValueError, TypeError) as exc:
            raise ValueError(f"ratings must be numeric (or blank for missing): {exc}") from None
        labels = [str(c) for c in frame.columns]
        return mat, labels
    if any(a is None for a in long_args):
        raise ValueError(
            "long format needs all three column names: targets=, raters= and ratings= "
            f"(got targets={targets!r}, raters={raters!r}, ratings={ratings!r})"
        )
    if not isinstance(data, pd.DataFrame):
        raise TypeError("long format needs a pandas DataFrame with the targets, raters and ratings columns")
    missing_cols = [c for c in long_args if c not in data.columns]
    if missing_cols:
        raise ValueError(f"column(s) {missing_cols} not in the data; columns are {list(data.columns)}")
    t_codes, _t_uniques = pd.factorize(data[targets], use_na_sentinel=True)
    r_codes, r_uniques = pd.factorize(data[raters], use_na_sentinel=True)
    if (t_codes < 0).any() or (r_codes < 0).any():
        raise ValueError(f"the {targets!r} and {raters!r} columns must not be blank")
    try:
        values = pd.to_numeric(data[ratings], errors="raise").to_numpy(dtype=float)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"column {ratings!r} must be numeric (or blank for missing): {exc}") from None
    nt, nr = len(_t_uniques), len(r_uniques)
    cell = t_codes.astype(np.int64) * nr + r_codes
    counts = np.bincount(cell, minlength=nt * nr)
    if (counts > 1).any():
        dup = np.flatnonzero(counts > 1)[:5]
        pairs = [(_t_uniques[i // nr], r_uniques[i % nr]) for i in dup]
        raise ValueError(
            f"each (target, rater) pair must appear at most once; {int((counts > 1).sum())} "
            f"pair(s) repeat, e.g. {pairs}"
        )
    mat = np.full((nt, nr), np.nan)
    mat.ravel()[cell] = values
    return mat, [str(r) for r in r_uniques]


def icc(
    data: pd.DataFrame | np.ndarray,
    targets: str | None = None,
    raters: str | None = None,
    ratings: str | None = None,
    ci: float = 0.95,
) -> ICCResult:
    r"""Intraclass correlations: the six Shrout & Fleiss (1979) forms with F tests and intervals.

    Parameters
    ----------
    data
        Either a wide table (one row per target, one column per rater, numeric ratings, NaN =
        missing) or, with ``targets``, ``raters`` and ``ratings`` given, a long table with one
        row per rating.
    targets, raters, ratings
        Column names of the long format (all three, or none for the wide format).
    ci
        Confidence level of the intervals.

    Returns
    -------
    ICCResult
        The six forms (Shrout-Fleiss and McGraw-Wong names), the ANOVA mean squares, and the
        numbers of targets and raters.

    Notes
    -----
    With :math:`n` targets, :math:`k` raters and the two-way ANOVA mean squares MSB (targets),
    MSJ (raters), MSE (residual) and MSW = (SSJ + SSE) / (n (k - 1)) (within targets):

    .. math::

        ICC1 &= \frac{MSB - MSW}{MSB + (k-1) MSW}, \quad
        ICC2 = \frac{MSB - MSE}{MSB + (k-1) MSE + k (MSJ - MSE)/n}, \quad
        ICC3 = \frac{MSB - MSE}{MSB + (k-1) MSE}, \\
        ICC1k &= \frac{MSB - MSW}{MSB}, \quad
        ICC2k = \frac{MSB - MSE}{MSB + (MSJ - MSE)/n}, \quad
        ICC3k = \frac{MSB - MSE}{MSB}.

    F tests: :math:`F = MSB/MSW` on (n-1, n(k-1)) df for ICC1/ICC1k, :math:`F = MSB/MSE` on
    (n-1, (n-1)(k-1)) df for the others. Intervals for ICC1, ICC3 and their averages invert the
    F distribution (Shrout & Fleiss 1979, eqs. for cases 1 and 3); for ICC2 and ICC2k the
    Satterthwaite approximation of McGraw & Wong (1996, Table 7). McGraw & Wong's A,1 and C,1 are
    the same numbers for random and mixed raters.

    Missing ratings: targets with any missing rating are left out (a complete two-way layout is
    needed) and counted in ``n_targets_dropped``; raters with no rating at all are ignored.

    Raises :class:`NotEstimable` with fewer than 2 targets or 2 raters, when all ratings are
    equal, or when the residual variation is nil (ratings perfectly consistent up to rater
    offsets: the F statistics are infinite and the intervals undefined).

    References: Shrout, P. E. & Fleiss, J. L. (1979). Intraclass correlations: uses in assessing
    rater reliability. Psychological Bulletin, 86, 420-428. McGraw, K. O. & Wong, S. P. (1996).
    Forming inferences about some intraclass correlation coefficients. Psychological Methods, 1,
    30-46.

    In R: ``psych::ICC(x, lmer = FALSE)`` (x wide, complete rows) gives the same ICC, F, df, p and
    bounds; ``ICC(x, alpha = 1 - ci)`` for another level.
    """
    level = _check_level(ci)
    mat, labels = _icc_matrix(data, targets, raters, ratings)
    if np.isinf(mat).any():
        raise ValueError("ratings must be finite numbers (infinite values found)")
    warnings: list[str] = []

    rated = ~np.isnan(mat)
    empty_raters = ~rated.any(axis=0)
    raters_dropped = tuple(lbl for lbl, e in zip(labels, empty_raters) if e)
    if raters_dropped:
        mat = mat[:, ~empty_raters]
        rated = rated[:, ~empty_raters]
        warnings.append(f"{len(raters_dropped)} rater(s) with no rating at all ignored: {list(raters_dropped)}")
    complete = rated.all(axis=1)
    n_dropped = int((~complete).sum())
    if n_dropped:
        mat = mat[complete]
        warnings.append(
            f"{n_dropped} target(s) dropped because they miss at least one rater's rating "
            "(the ANOVA estimator needs a complete targets x raters table)"
        )
    n, k = mat.shape
    if n < 2:
        raise NotEstimable(
            f"not estimable: intraclass correlation needs at least 2 fully rated targets, got {n}"
            + (f" ({n_dropped} dropped for missing ratings)" if n_dropped else "")
        )
    if k < 2:
        raise NotEstimable(f"not estimable: intraclass correlation needs at least 2 raters, got {k}")

    grand = mat.mean()
    row_means = mat.mean(axis=1)
    col_means = mat.mean(axis=0)
    centred = mat - grand
    ss_total = float(np.einsum("ij,ij->", centred, centred))
    if ss_total <= 0.0:
        raise NotEstimable("not estimable: all ratings are equal (zero variance)")
    ss_targets = float(k * np.sum((row_means - grand) ** 2))
    ss_raters = float(n * np.sum((col_means - grand) ** 2))
    resid = mat - row_means[:, None] - col_means[None, :] + grand
    ss_error = float(np.einsum("ij,ij->", resid, resid))
    if ss_error <= 1e-13 * ss_total:
        raise NotEstimable(
            "not estimable: no residual variation -- the ratings agree perfectly up to constant "
            "rater offsets, so the F statistics are infinite and the intervals undefined"
        )
    df_b, df_j, df_e, df_w = n - 1, k - 1, (n - 1) * (k - 1), n * (k - 1)
    msb = ss_targets / df_b
    msj = ss_raters / df_j
    mse = ss_error / df_e
    msw = (ss_raters + ss_error) / df_w

    icc1 = (msb - msw) / (msb + (k - 1) * msw)
    icc2 = (msb - mse) / (msb + (k - 1) * mse + k * (msj - mse) / n)
    icc3 = (msb - mse) / (msb + (k - 1) * mse)
    icc1k = (msb - msw) / msb
    icc2k = (msb - mse) / (msb + (msj - mse) / n)
    icc3k = (msb - mse) / msb

    f1 = msb / msw
    f3 = msb / mse
    p1 = float(stats.f.sf(f1, df_b, df_w))
    p3 = float(stats.f.sf(f3, df_b, df_e))
    alpha = 1.0 - level
    q = 1.0 - alpha / 2.0

    f1l = f1 / stats.f.ppf(q, df_b, df_w)
    f1u = f1 * stats.f.ppf(q, df_w, df_b)
    f3l = f3 / stats.f.ppf(q, df_b, df_e)
    f3u = f3 * stats.f.ppf(q, df_e, df_b)
    ci1 = ((f1l - 1) / (f1l + k - 1), (f1u - 1) / (f1u + k - 1))
    ci3 = ((f3l - 1) / (f3l + k - 1), (f3u - 1) / (f3u + k - 1))
    ci1k = (1 - 1 / f1l, 1 - 1 / f1u)
    ci3k = (1 - 1 / f3l, 1 - 1 / f3u)
    # ICC(A,1): Satterthwaite df for the denominator (McGraw & Wong 1996, Table 7)
    fj = msj / mse
    a = n * (1 + (k - 1) * icc2) - k * icc2
    vn = (k - 1) * (n - 1) * (k * icc2 * fj + a) ** 2
    vd = (n - 1) * k**2 * icc2**2 * fj**2 + a**2
    v = vn / vd
    fu = stats.f.ppf(q, n - 1, v)
    fl = stats.f.ppf(q, v, n - 1)
    denom_common = k * msj + (k * n - k - n) * mse
    l2 = n * (msb - fu * mse) / (fu * denom_common + n * msb)
    u2 = n * (fl * msb - mse) / (denom_common + n * fl * msb)
    ci2 = (l2, u2)
    ci2k = (l2 * k / (1 + l2 * (k - 1)), u2 * k / (1 + u2 * (k - 1)))

    m_f = "F distribution (Shrout & Fleiss 1979)"
    m_s = "F distribution, Satterthwaite df (McGraw & Wong 1996)"
    values = {
        "ICC1": (icc1, f1, df_b, df_w, p1, ci1, m_f),
        "ICC2": (icc2, f3, df_b, df_e, p3, ci2, m_s),
        "ICC3": (icc3, f3, df_b, df_e, p3, ci3, m_f),
        "ICC1k": (icc1k, f1, df_b, df_w, p1, ci1k, m_f),
        "ICC2k": (icc2k, f3, df_b, df_e, p3, ci2k, m_s),
        "ICC3k": (icc3k, f3, df_b, df_e, p3, ci3k, m_f),
    }
    forms: dict[str, ICCForm] = {}
    for name, (est, fval, d1, d2, p, (lo, hi), meth) in values.items():
        mw, desc = _ICC_FORMS[name]
        if not (math.isfinite(lo) and math.isfinite(hi)):
            raise NotEstimable(f"not estimable: the {name} interval is undefined for these data")
        forms[name] = ICCForm(
            name=name,
            mcgraw_wong=mw,
            description=desc,
            icc=float(est),
            f=float(fval),
            df1=float(d1),
            df2=float(d2),
            p=p,
            ci=Interval(float(lo), float(hi), level, meth),
        )
    return ICCResult(
        forms=forms,
        ms_targets=float(msb),
        ms_raters=float(msj),
        ms_error=float(mse),
        ms_within=float(msw),
        df_targets=df_b,
        df_raters=df_j,
        df_error=df_e,
        df_within=df_w,
        n_targets=n,
        n_raters=k,
        n_targets_dropped=n_dropped,
        raters_dropped=raters_dropped,
        level=level,
        method="two-way ANOVA mean squares (Shrout & Fleiss 1979; McGraw & Wong 1996)",
        warnings=tuple(warnings),
    )


# --------------------------------------------------------------------------------------------
# Cohen's kappa
# --------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class CohenKappa:
    """Cohen's kappa (unweighted, or weighted with linear or quadratic agreement weights).

    ``p_observed`` and ``p_expected`` are the (weighted) observed and chance agreement; ``n`` the
    number of pairs used, ``n_dropped`` the pairs left out because a rating was missing;
    ``levels`` the ordered categories, ``table`` the ``levels x levels`` count table (rows: first
    rater) and ``weight_matrix`` the agreement weights used (identity when unweighted).
    """

    kappa: float
    se: float
    variance: float
    ci: Interval
    p_observed: float
    p_expected: float
    n: int
    n_dropped: int
    weights: str
    levels: tuple[Any, ...]
    table: tuple[tuple[int, ...], ...]
    weight_matrix: tuple[tuple[float, ...], ...]
    method: str
    warnings: tuple[str, ...]


def _sorted_levels(values: np.ndarray) -> list[Any]:
    """Observed categories in order: numeric order if all are numbers, else sorted as text."""
    uniq = pd.unique(values).tolist()
    try:
        return sorted(uniq)
    except TypeError:  # numbers mixed with text
        return sorted(uniq, key=str)


def cohen_kappa(
    r1: Sequence[Any] | np.ndarray | pd.Series,
    r2: Sequence[Any] | np.ndarray | pd.Series,
    weights: str | None = None,
    ci: float = 0.95,
    levels: Sequence[Any] | None = None,
) -> CohenKappa:
    r"""Cohen's kappa of two raters, unweighted or weighted, with its large-sample interval.

    Parameters
    ----------
    r1, r2
        The two raters' ratings of the same cases (same length; None/NaN = missing).
    weights
        ``None`` (unweighted kappa), ``"linear"`` (agreement weights
        :math:`w_{ij} = 1 - |i-j|/(c-1)`) or ``"quadratic"`` (:math:`w_{ij} = 1 - (i-j)^2/(c-1)^2`),
        where :math:`i, j` are the positions of the categories in ``levels`` and :math:`c` their
        number.
    ci
        Confidence level of the interval.
    levels
        The ordered categories. Default: the categories either rater used, in numeric order
        (text order for labels). Give them when some category of the scale was never used:
        the weights depend on the number of categories.

    Returns
    -------
    CohenKappa

    Notes
    -----
    With :math:`p_{ij}` the proportion of pairs in cell (i, j), margins :math:`p_{i\cdot}`,
    :math:`p_{\cdot j}`, :math:`p_o = \sum w_{ij} p_{ij}`, :math:`p_e = \sum w_{ij} p_{i\cdot}
    p_{\cdot j}`: :math:`\kappa = (p_o - p_e)/(1 - p_e)` (Cohen 1960; weighted: Cohen 1968;
    unweighted is :math:`w = I`). Variance (Fleiss, Cohen & Everitt 1969):

    .. math::

        \operatorname{var}\kappa = \frac{\sum_{ij} p_{ij}\,[w_{ij}(1-p_e) - (a_i + b_j)(1-p_o)]^2
        - (p_o p_e - 2 p_e + p_o)^2}{n (1 - p_e)^4}

    with :math:`a_i = \sum_j w_{ij} p_{\cdot j}`. For :math:`b_j`, this function follows
    ``psych::cohen.kappa`` (psych 2.2.9): :math:`b_j = p_{j\cdot}\sum_k w_{jk}` (Fleiss et al.
    write :math:`b_j = \sum_i w_{ij} p_{i\cdot}`). The two coincide for unweighted kappa; for
    weighted kappa the standard error follows psych, which is the figure users of R see. The
    interval is :math:`\kappa \pm z_{1-\alpha/2}\,\mathrm{se}`, limited to [-1, 1] as psych does.
    A negative variance (possible only through rounding) is set to 0, as in psych.

    Pairs with a missing rating are dropped (``n_dropped``).

    References: Cohen, J. (1960). A coefficient of agreement for nominal scales. Educational and
    Psychological Measurement, 20, 37-46. Cohen, J. (1968). Weighted kappa. Psychological
    Bulletin, 70, 213-220. Fleiss, J. L., Cohen, J. & Everitt, B. S. (1969). Large sample
    standard errors of kappa and weighted kappa. Psychological Bulletin, 72, 323-327.

    In R: ``psych::cohen.kappa(cbind(r1, r2), levels = levels)``: ``$kappa``, ``$var.kappa``,
    ``$confid[1, ]`` (unweighted) and ``$weighted.kappa``, ``$var.weighted``, ``$confid[2, ]``
    (quadratic, its default weights). Linear: ``cohen.kappa(x, w = W)`` with the agreement
    weights ``W <- 1 - abs(outer(1:c, 1:c, "-")) / (c - 1)``. (A zero-diagonal ``w`` makes psych
    read the matrix as disagreement weights: the same kappa, but a different variance.)
    """
    level = _check_level(ci)
    if weights not in (None, "linear", "quadratic"):
        raise ValueError(f"weights must be None, 'linear' or 'quadratic', got {weights!r}")
    a = np.asarray(r1, dtype=object).ravel() if not isinstance(r1, pd.Series) else r1.to_numpy(dtype=object)
    b = np.asarray(r2, dtype=object).ravel() if not isinstance(r2, pd.Series) else r2.to_numpy(dtype=object)
    if a.shape != b.shape:
        raise ValueError(f"r1 and r2 must have the same length, got {a.shape[0]} and {b.shape[0]}")
    keep = ~(_is_missing(a) | _is_missing(b))
    n_dropped = int((~keep).sum())
    a, b = a[keep], b[keep]
    n = int(a.shape[0])
    warnings: list[str] = []
    if n_dropped:
        warnings.append(f"{n_dropped} pair(s) with a missing rating dropped")
    if n == 0:
        raise NotEstimable("not estimable: no pair of ratings with both raters present")

    if levels is None:
        labs = _sorted_levels(np.concatenate([a, b]))
    else:
        labs = list(levels)
        if len(set(labs)) != len(labs):
            raise ValueError(f"levels must not repeat, got {labs}")
    index = pd.Index(labs)
    ca = index.get_indexer(pd.Index(a))
    cb = index.get_indexer(pd.Index(b))
    if (ca < 0).any() or (cb < 0).any():
        bad = sorted({str(v) for v in np.concatenate([a[ca < 0], b[cb < 0]])})
        raise ValueError(f"rating(s) {bad} not among levels {labs}")
    c = len(labs)
    if c < 2:
        raise NotEstimable(
            "not estimable: both raters used a single category throughout (kappa needs at least "
            "2 categories)"
        )
    counts = np.bincount(ca * c + cb, minlength=c * c).reshape(c, c)
    x = counts / n
    rs = x.sum(axis=1)
    cs = x.sum(axis=0)
    i, j = np.indices((c, c))
    if weights is None:
        w = np.eye(c)
    elif weights == "linear":
        w = 1.0 - np.abs(i - j) / (c - 1)
    else:
        w = 1.0 - (i - j) ** 2 / (c - 1) ** 2
    po = float(np.sum(w * x))
    pe = float(np.sum(w * np.outer(rs, cs)))
    if 1.0 - pe <= 1e-15:
        raise NotEstimable(
            "not estimable: chance agreement is 1 (each rater used a single category), kappa is 0/0"
        )
    kappa = (po - pe) / (1.0 - pe)
    a_i = w @ cs  # sum_j w_ij p_.j
    b_j = rs * w.sum(axis=1)  # as psych::cohen.kappa
    term = w * (1.0 - pe) - (a_i[:, None] + b_j[None, :]) * (1.0 - po)
    var = (float(np.sum(x * term**2)) - (po * pe - 2.0 * pe + po) ** 2) / (n * (1.0 - pe) ** 4)
    if not math.isfinite(var):
        raise NotEstimable("not estimable: the variance of kappa is undefined for these data")
    if var < 0.0:
        warnings.append(f"negative variance {var:.3g} from rounding set to 0")
        var = 0.0
    se = math.sqrt(var)
    z = float(stats.norm.ppf(1.0 - (1.0 - level) / 2.0))
    lo, hi = max(-1.0, kappa - z * se), min(1.0, kappa + z * se)
    wname = "none" if weights is None else weights
    return CohenKappa(
        kappa=float(kappa),
        se=se,
        variance=var,
        ci=Interval(float(lo), float(hi), level, "normal, Fleiss-Cohen-Everitt (1969) variance as psych"),
        p_observed=po,
        p_expected=pe,
        n=n,
        n_dropped=n_dropped,
        weights=wname,
        levels=tuple(v.item() if isinstance(v, np.generic) else v for v in labs),
        table=tuple(tuple(int(v) for v in row) for row in counts),
        weight_matrix=tuple(tuple(float(v) for v in row) for row in w),
        method=("Cohen (1960) kappa" if weights is None else f"Cohen (1968) weighted kappa, {weights} weights"),
        warnings=tuple(warnings),
    )


# --------------------------------------------------------------------------------------------
# Fleiss' kappa
# --------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class CategoryKappa:
    """Fleiss' kappa for one category against all others, with its standard error under no
    agreement beyond chance, z and two-sided p."""

    category: str
    proportion: float
    kappa: float
    se: float
    z: float
    p: float


@dataclasses.dataclass(frozen=True)
class FleissKappa:
    """Fleiss' kappa of many raters.

    ``p_observed`` is the mean per-subject agreement :math:`\\bar P`, ``p_expected`` the chance
    agreement :math:`\\bar P_e`; ``se`` the standard error under no agreement beyond chance
    (Fleiss, Nee & Landis 1979) with its ``z`` and ``p``; ``ci`` the normal interval with that
    standard error; ``categories`` the per-category kappas (categories nobody chose are listed
    in ``unused_categories`` instead).
    """

    kappa: float
    se: float
    z: float
    p: float
    ci: Interval
    p_observed: float
    p_expected: float
    n_subjects: int
    n_raters: int
    categories: dict[str, CategoryKappa]
    unused_categories: tuple[str, ...]
    method: str
    warnings: tuple[str, ...]


def fleiss_kappa(counts: pd.DataFrame | np.ndarray, ci: float = 0.95) -> FleissKappa:
    r"""Fleiss' kappa from a subjects x categories table of counts.

    Parameters
    ----------
    counts
        One row per subject, one column per category; each cell holds how many raters put the
        subject in that category. Every row must sum to the same number of raters :math:`m \ge 2`.
    ci
        Confidence level of the interval.

    Returns
    -------
    FleissKappa

    Notes
    -----
    With :math:`N` subjects, :math:`m` ratings each, :math:`n_{ij}` the count of subject
    :math:`i` in category :math:`j`, :math:`p_j = \sum_i n_{ij}/(Nm)`, :math:`q_j = 1 - p_j`
    (Fleiss 1971):

    .. math::

        P_i = \frac{\sum_j n_{ij}^2 - m}{m(m-1)},\quad \bar P = \frac1N\sum_i P_i,\quad
        \bar P_e = \sum_j p_j^2,\quad \kappa = \frac{\bar P - \bar P_e}{1 - \bar P_e},\quad
        \kappa_j = 1 - \frac{\sum_i n_{ij}(m - n_{ij})}{N m (m-1) p_j q_j}.

    Standard errors under the hypothesis of no agreement beyond chance (Fleiss, Nee & Landis
    1979, who corrected the variance printed in Fleiss 1971):

    .. math::

        \mathrm{se}(\kappa) = \frac{\sqrt{2}\,\sqrt{(\sum_j p_j q_j)^2 - \sum_j p_j q_j (q_j - p_j)}}
        {\sum_j p_j q_j \sqrt{N m (m-1)}},\qquad
        \mathrm{se}(\kappa_j) = \sqrt{\frac{2}{N m (m-1)}}.

    ``z = kappa / se`` and ``p`` is two-sided. The interval is :math:`\kappa \pm
    z_{1-\alpha/2}\,\mathrm{se}` with that same standard error, the large-sample interval
    commonly reported; being built on the null variance it is approximate away from
    :math:`\kappa = 0`.

    References: Fleiss, J. L. (1971). Measuring nominal scale agreement among many raters.
    Psychological Bulletin, 76, 378-382. Fleiss, J. L., Nee, J. C. M. & Landis, J. R. (1979).
    Large sample variance of kappa in the case of different sets of raters. Psychological
    Bulletin, 86, 974-977.

    In R: ``irr::kappam.fleiss(ratings, detail = TRUE)`` gives the same kappa, z and per-category
    kappas (it takes the raw subjects x raters ratings, not the counts).
    """
    level = _check_level(ci)
    if isinstance(counts, pd.DataFrame):
        names = [str(col) for col in counts.columns]
        try:
            arr = counts.apply(pd.to_numeric, errors="raise").to_numpy(dtype=float)
        except (ValueError, TypeError) as exc:
            raise ValueError(f"counts must be whole numbers >= 0: {exc}") from None
    else:
        arr = np.asarray(counts, dtype=float)
        if arr.ndim != 2:
            raise ValueError(f"counts must be a subjects x categories table, got shape {arr.shape}")
        names = [f"c{j + 1}" for j in range(arr.shape[1])]
    if arr.ndim != 2 or arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"counts must be a non-empty subjects x categories table, got shape {arr.shape}")
    if not np.isfinite(arr).all() or (arr < 0).any() or (arr != np.round(arr)).any():
        raise ValueError("counts must be whole numbers >= 0 with no blanks")
    m_per = arr.sum(axis=1)
    if not (m_per == m_per[0]).all():
        bad = np.flatnonzero(m_per != m_per[0])[:5]
        raise ValueError(
            "every subject must have the same number of ratings (Fleiss 1971); row 1 has "
            f"{m_per[0]:g}, but rows {[int(r) + 1 for r in bad]} have {[float(m_per[r]) for r in bad]}"
        )
    big_n = arr.shape[0]
    m = float(m_per[0])
    if m < 2:
        raise NotEstimable(f"not estimable: Fleiss' kappa needs at least 2 ratings per subject, got {m:g}")
    if big_n < 2:
        raise NotEstimable("not estimable: Fleiss' kappa needs at least 2 subjects")
    p_j = arr.sum(axis=0) / (big_n * m)
    q_j = 1.0 - p_j
    p_i = (np.sum(arr * arr, axis=1) - m) / (m * (m - 1))
    p_bar = float(p_i.mean())
    p_e = float(np.sum(p_j**2))
    pq = p_j * q_j
    spq = float(pq.sum())
    if spq <= 1e-15:
        raise NotEstimable("not estimable: all ratings fall in one category, chance agreement is 1")
    kappa = (p_bar - p_e) / (1.0 - p_e)
    nm = big_n * m * (m - 1)
    var0 = 2.0 / nm * (spq**2 - float(np.sum(pq * (q_j - p_j)))) / spq**2
    se = math.sqrt(max(var0, 0.0))
    z = kappa / se if se > 0 else math.copysign(math.inf, kappa)
    p = float(2.0 * stats.norm.sf(abs(z)))
    zc = float(stats.norm.ppf(1.0 - (1.0 - level) / 2.0))
    used = p_j > 0
    se_j = math.sqrt(2.0 / nm)
    cats: dict[str, CategoryKappa] = {}
    for jj in np.flatnonzero(used):
        if q_j[jj] <= 0:
            continue
        kj = 1.0 - float(np.sum(arr[:, jj] * (m - arr[:, jj])) / (nm * pq[jj]))
        zj = kj / se_j
        cats[names[jj]] = CategoryKappa(
            category=names[jj],
            proportion=float(p_j[jj]),
            kappa=kj,
            se=se_j,
            z=float(zj),
            p=float(2.0 * stats.norm.sf(abs(zj))),
        )
    unused = tuple(nm_ for nm_, u in zip(names, used) if not u)
    warnings = [f"categories nobody chose (no per-category kappa): {list(unused)}"] if unused else []
    return FleissKappa(
        kappa=float(kappa),
        se=se,
        z=float(z),
        p=p,
        ci=Interval(kappa - zc * se, kappa + zc * se, level, "normal, null variance (Fleiss, Nee & Landis 1979)"),
        p_observed=p_bar,
        p_expected=p_e,
        n_subjects=int(big_n),
        n_raters=int(m),
        categories=cats,
        unused_categories=unused,
        method="Fleiss (1971) kappa",
        warnings=tuple(warnings),
    )
