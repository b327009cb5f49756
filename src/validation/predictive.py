"""Predictive validity: ROC analysis of a risk score against a binary outcome.

Pure functions on array-like input, no file I/O and no knowledge of any instrument. Results are
frozen dataclasses that :func:`validation.results.to_dict` turns into plain JSON values; data that
cannot support an estimate raise :class:`validation.results.NotEstimable` saying why.

* :func:`roc_auc` -- the area under the ROC curve with DeLong's variance and interval
  (``pROC::auc``, ``pROC::var``, ``pROC::ci.auc(method = "delong")``).
* :func:`delong_test` -- DeLong's test of two correlated AUCs
  (``pROC::roc.test(method = "delong", paired = TRUE)``).
* :func:`roc_curve` -- sensitivity, specificity, predictive values and likelihood ratios at every
  threshold, and Youden's optimum (``pROC::coords``).
* :func:`harrell_c` -- Harrell's concordance of a risk score with a censored time to event
  (``survival::concordance``).

Direction is always explicit: ``direction="higher"`` means a higher score signals a higher risk
(pROC's ``direction = "<"``: non-events < events), ``"lower"`` the reverse (``">"``). It is never
guessed from the data, so an AUC below 0.5 stays below 0.5.

The outcome ``y`` is coded 1 = event (pROC's "case"), 0 = non-event ("control"); booleans are
accepted. Observations with a missing outcome or score are dropped and counted.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from validation.results import Interval, NotEstimable

__all__ = [
    "RocAuc",
    "roc_auc",
    "DelongTest",
    "delong_test",
    "YoudenPoint",
    "RocCurve",
    "roc_curve",
    "HarrellC",
    "harrell_c",
]

_DIRECTIONS = {"higher": "<", "lower": ">"}


# --------------------------------------------------------------------------------------------
# argument helpers
# --------------------------------------------------------------------------------------------


def _check_level(ci: float) -> float:
    if isinstance(ci, bool) or not isinstance(ci, (int, float, np.integer, np.floating)):
        raise TypeError(f"ci must be a confidence level between 0 and 1 (e.g. 0.95), got {ci!r}")
    ci = float(ci)
    if not 0.0 < ci < 1.0:
        raise ValueError(f"ci must be a confidence level between 0 and 1 (e.g. 0.95), got {ci!r}")
    return ci


def _check_direction(direction: str) -> str:
    if direction not in _DIRECTIONS:
        raise ValueError(
            f"direction must be 'higher' (a higher score means a higher risk) or 'lower', got {direction!r}"
        )
    return direction


def _as_float(values: Any, name: str) -> np.ndarray:
    """A 1-d float array (NaN = missing); refuses text and infinite values."""
    if isinstance(values, (pd.Series, pd.Index)):
        try:
            arr = pd.to_numeric(values, errors="raise").to_numpy(dtype=float, na_value=np.nan)
        except (ValueError, TypeError) as exc:
            raise ValueError(f"{name} must be numeric (blank/NaN for missing): {exc}") from None
    else:
        try:
            arr = np.asarray(values, dtype=float)
        except (ValueError, TypeError) as exc:
            raise ValueError(f"{name} must be numeric (None/NaN for missing): {exc}") from None
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {arr.shape}")
    if np.isinf(arr).any():
        raise ValueError(f"{name} must be finite: infinite value(s) found")
    return arr


def _as_outcome(y: Any) -> np.ndarray:
    """Outcome as a float array of 0/1 (NaN = missing); refuses any other value."""
    arr = _as_float(y, "y")
    seen = arr[~np.isnan(arr)]
    bad = np.unique(seen[(seen != 0) & (seen != 1)])
    if bad.size:
        raise ValueError(f"y must be coded 0 (non-event) / 1 (event); found {bad[:5].tolist()}")
    return arr


def _prepare(y: Any, *scores: tuple[Any, str]) -> tuple[np.ndarray, list[np.ndarray], int]:
    """Align y and the scores, drop rows with anything missing; return y (bool), scores, n dropped."""
    yy = _as_outcome(y)
    ss = [_as_float(s, name) for s, name in scores]
    for s, (_, name) in zip(ss, scores):
        if s.shape != yy.shape:
            raise ValueError(f"y and {name} must have the same length, got {yy.shape[0]} and {s.shape[0]}")
    keep = ~np.isnan(yy)
    for s in ss:
        keep &= ~np.isnan(s)
    n_dropped = int((~keep).sum())
    return yy[keep] == 1, [s[keep] for s in ss], n_dropped


def _need_both_classes(event: np.ndarray, minimum: int, what: str) -> tuple[int, int]:
    m = int(event.sum())
    n = int(event.size - m)
    if m == 0 or n == 0:
        raise NotEstimable(
            f"not estimable: {what} needs both outcome classes, got {m} event(s) and {n} non-event(s)"
        )
    if m < minimum or n < minimum:
        raise NotEstimable(
            f"not estimable: {what} needs at least {minimum} events and {minimum} non-events, "
            f"got {m} and {n}"
        )
    return m, n


def _placements(event: np.ndarray, score: np.ndarray, direction: str) -> tuple[float, np.ndarray, np.ndarray]:
    """DeLong placements by midranks (Sun & Xu 2014), O(N log N).

    Returns the AUC, the event placements V10 (share of non-events ranked below each event, ties
    counting one half) and the non-event placements V01 (share of events ranked above each
    non-event).
    """
    s = score if direction == "higher" else -score
    x = s[event]
    yv = s[~event]
    m, n = x.size, yv.size
    tz = stats.rankdata(np.concatenate([x, yv]))
    tx = stats.rankdata(x)
    ty = stats.rankdata(yv)
    v10 = (tz[:m] - tx) / n
    v01 = 1.0 - (tz[m:] - ty) / m
    return float(v10.mean()), v10, v01


# --------------------------------------------------------------------------------------------
# AUC
# --------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class RocAuc:
    """Area under the ROC curve with DeLong's variance, standard error and interval."""

    auc: float
    variance: float
    se: float
    ci: Interval
    n_events: int
    n_nonevents: int
    n_dropped: int
    direction: str
    method: str
    warnings: tuple[str, ...]


def roc_auc(
    y: Sequence[Any] | np.ndarray | pd.Series,
    score: Sequence[Any] | np.ndarray | pd.Series,
    ci: float = 0.95,
    ci_method: str = "delong",
    direction: str = "higher",
) -> RocAuc:
    r"""AUC of a score for a binary outcome, with DeLong's variance and confidence interval.

    Parameters
    ----------
    y
        Outcome, 1 = event, 0 = non-event (NaN = missing).
    score
        The risk score (NaN = missing).
    ci
        Confidence level.
    ci_method
        ``"delong"`` (the only method so far).
    direction
        ``"higher"``: higher scores mean higher risk; ``"lower"``: the reverse. Never guessed.

    Returns
    -------
    RocAuc

    Notes
    -----
    With :math:`m` events scoring :math:`X_i`, :math:`n` non-events scoring :math:`Y_j` and
    :math:`\psi(x, y) = 1` if :math:`x > y`, 1/2 if equal, 0 otherwise (direction "higher"),
    :math:`\hat\theta = \frac{1}{mn}\sum_{ij}\psi(X_i, Y_j)` -- the trapezoidal area under the
    empirical ROC curve, ties included. DeLong, DeLong & Clarke-Pearson (1988) placements
    :math:`V_{10}(X_i) = \frac1n\sum_j \psi(X_i, Y_j)`, :math:`V_{01}(Y_j) = \frac1m\sum_i
    \psi(X_i, Y_j)` give

    .. math::

        \widehat{\operatorname{var}}(\hat\theta) = \frac{s^2_{10}}{m} + \frac{s^2_{01}}{n},

    :math:`s^2` being sample variances (divisor :math:`m-1`, :math:`n-1`). The placements come
    from midranks in :math:`O(N \log N)` (Sun & Xu 2014): :math:`V_{10}(X_i) = (T_Z(X_i) -
    T_X(X_i))/n`, :math:`V_{01}(Y_j) = 1 - (T_Z(Y_j) - T_Y(Y_j))/m`, with :math:`T_Z, T_X, T_Y`
    midranks in the pooled sample, the events and the non-events. The interval is
    :math:`\hat\theta \pm z_{1-\alpha/2}\,\mathrm{se}`, clipped to [0, 1] as pROC does.

    Raises :class:`NotEstimable` unless there are at least 2 events and 2 non-events.

    References: DeLong, E. R., DeLong, D. M. & Clarke-Pearson, D. L. (1988). Comparing the areas
    under two or more correlated receiver operating characteristic curves: a nonparametric
    approach. Biometrics, 44, 837-845. Sun, X. & Xu, W. (2014). Fast implementation of DeLong's
    algorithm for comparing the areas under correlated receiver operating characteristic curves.
    IEEE Signal Processing Letters, 21, 1389-1393.

    In R: ``r <- pROC::roc(y, score, levels = c(0, 1), direction = "<")`` (``">"`` for
    ``direction="lower"``); ``auc(r)``, ``var(r)``, ``ci.auc(r, method = "delong")``.
    """
    level = _check_level(ci)
    _check_direction(direction)
    if ci_method != "delong":
        raise ValueError(f"ci_method must be 'delong', got {ci_method!r}")
    event, (s,), n_dropped = _prepare(y, (score, "score"))
    m, n = _need_both_classes(event, 2, "the AUC with a DeLong interval")
    auc, v10, v01 = _placements(event, s, direction)
    var = float(np.var(v10, ddof=1) / m + np.var(v01, ddof=1) / n)
    se = math.sqrt(var)
    z = float(stats.norm.ppf(1.0 - (1.0 - level) / 2.0))
    lo, hi = min(max(auc - z * se, 0.0), 1.0), min(max(auc + z * se, 0.0), 1.0)
    warnings: list[str] = []
    if n_dropped:
        warnings.append(f"{n_dropped} observation(s) with a missing outcome or score dropped")
    if var == 0.0:
        warnings.append("the scores separate the classes perfectly: variance 0, the interval is degenerate")
    return RocAuc(
        auc=auc,
        variance=var,
        se=se,
        ci=Interval(lo, hi, level, "DeLong (normal, clipped to [0, 1])"),
        n_events=m,
        n_nonevents=n,
        n_dropped=n_dropped,
        direction=direction,
        method="empirical AUC (Mann-Whitney, ties 1/2), DeLong et al. (1988) variance",
        warnings=tuple(warnings),
    )


# --------------------------------------------------------------------------------------------
# DeLong test
# --------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class DelongTest:
    """DeLong's test of two correlated AUCs (same cases): ``difference = auc1 - auc2``, its
    standard error, ``z``, two-sided ``p`` and the interval of the difference."""

    auc1: float
    auc2: float
    difference: float
    se: float
    z: float
    p: float
    ci: Interval
    correlation: float
    n_events: int
    n_nonevents: int
    n_dropped: int
    direction: str
    method: str
    warnings: tuple[str, ...]


def delong_test(
    y: Sequence[Any] | np.ndarray | pd.Series,
    score1: Sequence[Any] | np.ndarray | pd.Series,
    score2: Sequence[Any] | np.ndarray | pd.Series,
    ci: float = 0.95,
    direction: str = "higher",
) -> DelongTest:
    r"""DeLong's paired test comparing the AUCs of two scores on the same cases.

    Parameters
    ----------
    y
        Outcome, 1 = event, 0 = non-event.
    score1, score2
        The two scores, same cases in the same order. Cases missing the outcome or either score
        are dropped from both.
    ci
        Confidence level of the interval of the difference.
    direction
        ``"higher"`` or ``"lower"``, for both scores.

    Returns
    -------
    DelongTest

    Notes
    -----
    With the placements of :func:`roc_auc` for each score, the covariance matrix of
    :math:`(\hat\theta_1, \hat\theta_2)` is :math:`S = S_{10}/m + S_{01}/n`, :math:`S_{10}`,
    :math:`S_{01}` being the sample covariance matrices of the event and non-event placements
    (DeLong et al. 1988). With :math:`L = (1, -1)`:

    .. math::

        z = \frac{\hat\theta_1 - \hat\theta_2}{\sqrt{L S L^\top}}, \qquad p = 2\Phi(-|z|),

    and the interval is :math:`\hat\theta_1 - \hat\theta_2 \pm z_{1-\alpha/2}\sqrt{L S L^\top}`.
    When both the difference and its standard error are 0, z = 0 and p = 1 (as pROC); a nonzero
    difference with a zero standard error raises :class:`NotEstimable`.

    References: DeLong, E. R., DeLong, D. M. & Clarke-Pearson, D. L. (1988). Biometrics, 44,
    837-845. Sun, X. & Xu, W. (2014). IEEE Signal Processing Letters, 21, 1389-1393.

    In R: ``pROC::roc.test(roc(y, score1, levels = c(0, 1), direction = "<"), roc(y, score2,
    levels = c(0, 1), direction = "<"), method = "delong", paired = TRUE)``: ``$statistic``,
    ``$p.value``, ``$conf.int``.
    """
    level = _check_level(ci)
    _check_direction(direction)
    event, (s1, s2), n_dropped = _prepare(y, (score1, "score1"), (score2, "score2"))
    m, n = _need_both_classes(event, 2, "DeLong's test")
    auc1, x1, y1 = _placements(event, s1, direction)
    auc2, x2, y2 = _placements(event, s2, direction)
    s10 = np.cov(np.vstack([x1, x2]), ddof=1)
    s01 = np.cov(np.vstack([y1, y2]), ddof=1)
    cov = s10 / m + s01 / n
    var_d = float(cov[0, 0] + cov[1, 1] - 2.0 * cov[0, 1])
    d = auc1 - auc2
    se = math.sqrt(max(var_d, 0.0))
    if se == 0.0:
        if d != 0.0:
            raise NotEstimable(
                "not estimable: the AUC difference has zero variance (perfect or constant scores), "
                "so the test statistic is infinite"
            )
        z = 0.0
    else:
        z = d / se
    p = float(2.0 * stats.norm.sf(abs(z)))
    zc = float(stats.norm.ppf(1.0 - (1.0 - level) / 2.0))
    denom = math.sqrt(cov[0, 0] * cov[1, 1])
    corr = float(cov[0, 1] / denom) if denom > 0 else float("nan")
    warnings: list[str] = []
    if n_dropped:
        warnings.append(f"{n_dropped} observation(s) with a missing outcome or score dropped")
    if not math.isfinite(corr):
        warnings.append("correlation of the AUCs undefined (an AUC has zero variance)")
    return DelongTest(
        auc1=auc1,
        auc2=auc2,
        difference=d,
        se=se,
        z=float(z),
        p=p,
        ci=Interval(d - zc * se, d + zc * se, level, "DeLong (normal)"),
        correlation=corr,
        n_events=m,
        n_nonevents=n,
        n_dropped=n_dropped,
        direction=direction,
        method="DeLong et al. (1988) test for two correlated ROC curves",
        warnings=tuple(warnings),
    )


# --------------------------------------------------------------------------------------------
# ROC curve
# --------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class YoudenPoint:
    """A threshold maximising Youden's J = sensitivity + specificity - 1."""

    threshold: float
    sensitivity: float
    specificity: float
    youden_j: float


@dataclasses.dataclass(frozen=True)
class RocCurve:
    """Every threshold of an empirical ROC curve, in pROC's order (specificity increasing).

    Arrays are aligned, one entry per threshold. For direction "higher" a case is called
    positive when its score is above the threshold; for "lower", below. ``thresholds`` starts or
    ends with -inf / +inf (everyone positive or negative). Undefined values are NaN, by
    definition: ``ppv`` when nobody is called positive (0/0), ``npv`` when nobody is called
    negative; ``lr_positive`` = sensitivity / (1 - specificity) and ``lr_negative`` = (1 -
    sensitivity) / specificity are +inf for x/0 with x > 0 and NaN for 0/0.
    :func:`validation.results.to_dict` writes NaN and infinities as ``None``.
    ``youden`` lists every threshold attaining the maximum (usually one).
    """

    thresholds: np.ndarray
    sensitivity: np.ndarray
    specificity: np.ndarray
    ppv: np.ndarray
    npv: np.ndarray
    lr_positive: np.ndarray
    lr_negative: np.ndarray
    youden: tuple[YoudenPoint, ...]
    n_events: int
    n_nonevents: int
    n_dropped: int
    direction: str
    method: str
    warnings: tuple[str, ...]

    def to_frame(self) -> pd.DataFrame:
        """The curve as a DataFrame, one row per threshold."""
        return pd.DataFrame(
            {
                "threshold": self.thresholds,
                "sensitivity": self.sensitivity,
                "specificity": self.specificity,
                "ppv": self.ppv,
                "npv": self.npv,
                "lr_positive": self.lr_positive,
                "lr_negative": self.lr_negative,
            }
        )


def _roc_points(event: np.ndarray, score: np.ndarray, direction: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Thresholds, sensitivities and specificities as pROC orders them (specificity rising)."""
    uniq, inv = np.unique(score, return_inverse=True)
    k = uniq.size
    m = int(event.sum())
    n = int(event.size - m)
    case_cnt = np.bincount(inv[event], minlength=k)
    ctrl_cnt = np.bincount(inv[~event], minlength=k)
    lo = np.concatenate([[-np.inf], uniq])
    hi = np.concatenate([uniq, [np.inf]])
    with np.errstate(over="ignore", invalid="ignore"):
        thr = (lo + hi) / 2.0
        big = np.abs(thr) > 1e100
        thr[big] = lo[big] / 2.0 + hi[big] / 2.0
    # a midpoint that rounds onto one of its neighbours is moved so the classification holds
    inner = np.arange(1, k)
    if inner.size:
        t_in = thr[inner]
        if direction == "higher":  # positive when score >= threshold
            fix = t_in == uniq[inner - 1]
            thr[inner[fix]] = uniq[inner[fix]]
        else:  # positive when score <= threshold
            fix = t_in == uniq[inner]
            thr[inner[fix]] = uniq[inner[fix] - 1]
    # counts at or above value index i (i = 0..k), with 0 past the end
    case_ge = np.concatenate([np.cumsum(case_cnt[::-1])[::-1], [0]])
    ctrl_ge = np.concatenate([np.cumsum(ctrl_cnt[::-1])[::-1], [0]])
    if direction == "higher":
        tp, fp = case_ge, ctrl_ge  # threshold t_i: positive when value index >= i
        se = tp / m
        sp = (n - fp) / n
        return thr, se, sp
    tp = m - case_ge  # threshold t_i: positive when value index < i
    fp = n - ctrl_ge
    se = tp / m
    sp = (n - fp) / n
    return thr[::-1].copy(), se[::-1].copy(), sp[::-1].copy()


def roc_curve(
    y: Sequence[Any] | np.ndarray | pd.Series,
    score: Sequence[Any] | np.ndarray | pd.Series,
    direction: str = "higher",
) -> RocCurve:
    r"""The empirical ROC curve: every threshold with its classification figures, and Youden's optimum.

    Parameters
    ----------
    y
        Outcome, 1 = event, 0 = non-event.
    score
        The risk score.
    direction
        ``"higher"`` (a case is positive when its score is above the threshold) or ``"lower"``.

    Returns
    -------
    RocCurve

    Notes
    -----
    Thresholds are those of pROC: with :math:`u_1 < \dots < u_K` the distinct scores,
    :math:`-\infty, (u_1+u_2)/2, \dots, (u_{K-1}+u_K)/2, +\infty` (K + 1 thresholds; a midpoint
    that rounds onto a score is moved onto the neighbour that keeps the classification). At each
    threshold, sensitivity = TP/(TP+FN), specificity = TN/(TN+FP), PPV = TP/(TP+FP), NPV =
    TN/(TN+FN) (the counts recovered from sensitivity and specificity, as pROC does),
    LR+ = sens/(1-spec), LR- = (1-sens)/spec. Rows come in pROC's order: specificity rising
    (thresholds rising for "higher", falling for "lower").

    Youden's optimum: the thresholds maximising :math:`J = \text{sens} + \text{spec} - 1`
    (Youden 1950), every one of them when several tie exactly (the infinite end thresholds
    included, as pROC).

    Raises :class:`NotEstimable` when only one outcome class is present.

    References: Youden, W. J. (1950). Index for rating diagnostic tests. Cancer, 3, 32-35.
    Robin, X. et al. (2011). pROC: an open-source package for R and S+ to analyze and compare
    ROC curves. BMC Bioinformatics, 12, 77.

    In R: ``r <- pROC::roc(y, score, levels = c(0, 1), direction = "<")``;
    ``coords(r, "all", ret = c("threshold", "sensitivity", "specificity", "ppv", "npv"))`` and
    ``coords(r, "best", best.method = "youden")`` (pROC's ``youden`` column is sens + spec,
    i.e. J + 1).
    """
    _check_direction(direction)
    event, (s,), n_dropped = _prepare(y, (score, "score"))
    m, n = _need_both_classes(event, 1, "a ROC curve")
    thr, se, sp = _roc_points(event, s, direction)
    tp = se * m
    fn = m - tp
    tn = sp * n
    fp = n - tn
    with np.errstate(divide="ignore", invalid="ignore"):
        ppv = tp / (tp + fp)
        npv = tn / (tn + fn)
        lrp = se / (1.0 - sp)
        lrn = (1.0 - se) / sp
    crit = se + sp
    best = np.flatnonzero(crit == crit.max())
    youden = tuple(
        YoudenPoint(float(thr[b]), float(se[b]), float(sp[b]), float(crit[b] - 1.0)) for b in best
    )
    warnings = [f"{n_dropped} observation(s) with a missing outcome or score dropped"] if n_dropped else []
    return RocCurve(
        thresholds=thr,
        sensitivity=se,
        specificity=sp,
        ppv=ppv,
        npv=npv,
        lr_positive=lrp,
        lr_negative=lrn,
        youden=youden,
        n_events=m,
        n_nonevents=n,
        n_dropped=n_dropped,
        direction=direction,
        method="empirical ROC curve, thresholds at midpoints between distinct scores (as pROC)",
        warnings=tuple(warnings),
    )


# --------------------------------------------------------------------------------------------
# Harrell's C
# --------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class HarrellC:
    """Harrell's concordance of a risk score with a censored time to event.

    Pair counts over comparable pairs (the shorter time is an event): ``concordant`` (the one
    with the event first has the higher risk), ``discordant``, ``tied_risk`` (equal scores, count
    one half); ``tied_time`` counts the pairs of events at the same time, which are not comparable
    (survival's ``tied.y`` + ``tied.xy``). ``se`` is the
    infinitesimal-jackknife standard error of survival::concordance; ``ci`` the normal interval
    with it, limited to [0, 1].
    """

    c: float
    se: float
    variance: float
    ci: Interval
    concordant: int
    discordant: int
    tied_risk: int
    tied_time: int
    n: int
    n_events: int
    n_dropped: int
    direction: str
    method: str
    warnings: tuple[str, ...]


class _Fenwick:
    """Counts over ranks 1..size: add one, count ranks below / at most r. Plain lists for speed."""

    __slots__ = ("size", "tree")

    def __init__(self, size: int):
        self.size = size
        self.tree = [0] * (size + 1)

    def add(self, r: int) -> None:
        tree, size = self.tree, self.size
        while r <= size:
            tree[r] += 1
            r += r & -r

    def upto(self, r: int) -> int:
        tree, s = self.tree, 0
        while r > 0:
            s += tree[r]
            r -= r & -r
        return s


def harrell_c(
    time: Sequence[Any] | np.ndarray | pd.Series,
    event: Sequence[Any] | np.ndarray | pd.Series,
    score: Sequence[Any] | np.ndarray | pd.Series,
    ci: float = 0.95,
    direction: str = "higher",
) -> HarrellC:
    r"""Harrell's C of a risk score for a right-censored time to event, with its standard error.

    Parameters
    ----------
    time
        Follow-up time (to the event, or to censoring), >= 0.
    event
        1 if the event occurred at ``time``, 0 if censored then.
    score
        The risk score.
    ci
        Confidence level of the (normal) interval.
    direction
        ``"higher"``: a higher score means a higher risk, i.e. a shorter time to event.

    Returns
    -------
    HarrellC

    Notes
    -----
    A pair is comparable when the shorter time ends in an event; a censored time equal to an
    event time counts as the longer one; two events at the same time are not comparable
    (``tied_time``). Among comparable pairs, with C concordant (the earlier event has the higher
    risk), D discordant and T tied in the score (Harrell et al. 1982, 1996):

    .. math::

        \hat C = \frac{C + T/2}{C + D + T} = \frac{1 + d}{2},\quad d = \frac{C - D}{C + D + T}
        \ (\text{Somers' } d).

    Standard error as ``survival::concordance`` (Therneau): the infinitesimal jackknife,
    :math:`\widehat{\operatorname{var}}(\hat C) = \frac14\sum_i \big[(c_i - d_i) - d\,(c_i +
    d_i + t_i)\big]^2 / (C + D + T)^2`, with :math:`c_i, d_i, t_i` the concordant, discordant
    and score-tied comparable pairs that observation :math:`i` belongs to. Counting uses a
    binary indexed tree over the score ranks, :math:`O(N \log N)`.

    Times are compared exactly (survival's ``timefix`` merges times differing by rounding
    error, about 1e-8 relative; whole days are unaffected). The interval is not part of
    survival: :math:`\hat C \pm z_{1-\alpha/2}\,\mathrm{se}`, limited to [0, 1].

    Raises :class:`NotEstimable` when there is no event or no comparable pair.

    References: Harrell, F. E., Califf, R. M., Pryor, D. B., Lee, K. L. & Rosati, R. A. (1982).
    Evaluating the yield of medical tests. JAMA, 247, 2543-2546. Harrell, F. E., Lee, K. L. &
    Mark, D. B. (1996). Multivariable prognostic models. Statistics in Medicine, 15, 361-387.
    Therneau, T. M. & Atkinson, E. (2023). Concordance. Vignette of the R package survival.

    In R: ``survival::concordance(Surv(time, event) ~ score, reverse = TRUE)`` (``reverse =
    FALSE`` for ``direction="lower"``): ``$concordance``, ``sqrt($var)``, ``$count``.
    """
    level = _check_level(ci)
    _check_direction(direction)
    t = _as_float(time, "time")
    e = _as_float(event, "event")
    s = _as_float(score, "score")
    if not (t.shape == e.shape == s.shape):
        raise ValueError(f"time, event and score must have the same length, got {t.size}, {e.size}, {s.size}")
    keep = ~(np.isnan(t) | np.isnan(e) | np.isnan(s))
    n_dropped = int((~keep).sum())
    t, e, s = t[keep], e[keep], s[keep]
    bad = np.unique(e[(e != 0) & (e != 1)])
    if bad.size:
        raise ValueError(f"event must be coded 0 (censored) / 1 (event); found {bad[:5].tolist()}")
    if (t < 0).any():
        raise ValueError("time must be >= 0")
    ev = e == 1
    n = int(t.size)
    n_events = int(ev.sum())
    if n_events == 0:
        raise NotEstimable("not estimable: Harrell's C needs at least one event, none found")
    risk = s if direction == "higher" else -s
    _, rank = np.unique(risk, return_inverse=True)
    rank = (rank + 1).tolist()
    size = int(max(rank))
    c_i = np.zeros(n)
    d_i = np.zeros(n)
    t_i = np.zeros(n)
    tied_time = 0
    # group observations by distinct time
    order = np.lexsort((~ev, t))  # time ascending; within a time, events first
    ts = t[order]
    bounds = np.flatnonzero(np.diff(ts)) + 1
    groups = np.split(order, bounds)
    evl = ev.tolist()

    # pass 1 (an event as the earlier member): walk times downwards; the tree holds the later ones
    tree = _Fenwick(size)
    total = 0
    for g in reversed(groups):
        g = g.tolist()
        for j in g:
            if not evl[j]:
                tree.add(rank[j])
                total += 1
        dead = [j for j in g if evl[j]]
        for i in dead:
            r = rank[i]
            below = tree.upto(r - 1)
            at_most = tree.upto(r)
            c_i[i] += below
            d_i[i] += total - at_most
            t_i[i] += at_most - below
        k = len(dead)
        tied_time += k * (k - 1) // 2
        for i in dead:
            tree.add(rank[i])
            total += 1

    # pass 2 (any observation as the later member): walk times upwards; the tree holds earlier events
    tree = _Fenwick(size)
    total = 0
    for g in groups:
        g = g.tolist()
        dead = [j for j in g if evl[j]]
        alive = [j for j in g if not evl[j]]
        for j in dead:
            r = rank[j]
            below = tree.upto(r - 1)
            at_most = tree.upto(r)
            c_i[j] += total - at_most
            d_i[j] += below
            t_i[j] += at_most - below
        for j in dead:
            tree.add(rank[j])
            total += 1
        for j in alive:
            r = rank[j]
            below = tree.upto(r - 1)
            at_most = tree.upto(r)
            c_i[j] += total - at_most
            d_i[j] += below
            t_i[j] += at_most - below

    conc = int(round(c_i.sum() / 2))
    disc = int(round(d_i.sum() / 2))
    ties = int(round(t_i.sum() / 2))
    npair = conc + disc + ties
    if npair == 0:
        raise NotEstimable("not estimable: no comparable pair (every shorter time is censored)")
    somers = (conc - disc) / npair
    dfbeta = ((c_i - d_i) - somers * (c_i + d_i + t_i)) / npair
    var = float(np.sum(dfbeta**2) / 4.0)
    se = math.sqrt(var)
    cstat = (somers + 1.0) / 2.0
    z = float(stats.norm.ppf(1.0 - (1.0 - level) / 2.0))
    lo, hi = max(0.0, cstat - z * se), min(1.0, cstat + z * se)
    warnings = [f"{n_dropped} observation(s) with a missing time, event or score dropped"] if n_dropped else []
    return HarrellC(
        c=float(cstat),
        se=se,
        variance=var,
        ci=Interval(lo, hi, level, "normal, infinitesimal-jackknife se (as survival::concordance)"),
        concordant=conc,
        discordant=disc,
        tied_risk=ties,
        tied_time=tied_time,
        n=n,
        n_events=n_events,
        n_dropped=n_dropped,
        direction=direction,
        method="Harrell's C (Harrell et al. 1982)",
        warnings=tuple(warnings),
    )
