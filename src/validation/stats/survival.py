"""Predictive validity for a time to event: survival curves, group comparison, Cox regression and
discrimination of a risk score over follow-up.

Pure functions on array-like input, no file I/O and no knowledge of any instrument. Results are
frozen dataclasses that :func:`validation.results.to_dict` turns into plain JSON values; data that
cannot support an estimate raise :class:`validation.results.NotEstimable` saying why.

* :func:`kaplan_meier` -- Kaplan-Meier curves with Greenwood standard errors and log intervals
  (``survival::survfit``, ``summary(fit, times = )``).
* :func:`logrank` -- the log-rank test of two or more groups (``survival::survdiff``).
* :func:`cox` -- Cox proportional-hazards regression, Efron or Breslow ties, with the
  proportional-hazards test (``survival::coxph``, ``survival::cox.zph``).
* :func:`uno_c` -- Uno's concordance with truncation at tau
  (``survival::concordance(timewt = "n/G2", ymax = tau)``).
* :func:`time_dependent_auc` -- cumulative/dynamic AUC at chosen horizons with inverse
  probability of censoring weights (Uno et al. 2007; Hung & Chiang 2010).

Harrell's C is :func:`validation.predictive.harrell_c`.

Input conventions: ``time`` is the follow-up time (to the event or to censoring), >= 0;
``event`` is 1 when the event happened at ``time``, 0 when follow-up was censored then. Rows with
anything missing are dropped and counted. Times are compared exactly (survival's ``timefix``
merges times that differ by rounding error only; whole days or months are unaffected). A risk
score's direction is explicit: ``"higher"`` means a higher score signals a shorter time to the
event.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import linalg, stats

from validation.stats.predictive import (
    HarrellC,
    _as_float,
    _check_direction,
    _concordance_pairs,
    harrell_c,
)
from validation.stats._checks import check_level
from validation.stats.results import Interval, NotEstimable

__all__ = [
    "KmAtTimes",
    "KmCurve",
    "KaplanMeier",
    "kaplan_meier",
    "LogRank",
    "logrank",
    "ChiSquareTest",
    "CoxTerm",
    "CoxZph",
    "CoxModel",
    "cox",
    "cox_stratified",
    "StratifiedCox",
    "UnoC",
    "uno_c",
    "TimeDependentAuc",
    "time_dependent_auc",
]

ArrayLike = Sequence[Any] | np.ndarray | pd.Series


# --------------------------------------------------------------------------------------------
# input helpers
# --------------------------------------------------------------------------------------------


def _time_event(time: ArrayLike, event: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    t = _as_float(time, "time")
    e = _as_float(event, "event")
    if t.shape != e.shape:
        raise ValueError(f"time and event must have the same length, got {t.size} and {e.size}")
    seen = e[~np.isnan(e)]
    bad = np.unique(seen[(seen != 0) & (seen != 1)])
    if bad.size:
        raise ValueError(f"event must be coded 0 (censored) / 1 (event); found {bad[:5].tolist()}")
    if (t[~np.isnan(t)] < 0).any():
        raise ValueError("time must be >= 0")
    return t, e


def _labels(values: ArrayLike, name: str, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Group labels as an object array and a missing mask."""
    s = values.astype(object) if isinstance(values, pd.Series) else pd.Series(list(values), dtype=object)
    if s.shape[0] != n:
        raise ValueError(f"time and {name} must have the same length, got {n} and {s.shape[0]}")
    return s.to_numpy(), s.isna().to_numpy()


def _sorted_levels(values: np.ndarray) -> list[Any]:
    """Distinct labels in their natural order (numbers numerically, text alphabetically), as R's
    ``factor`` orders them."""
    uniq = list(pd.unique(values))
    try:
        return sorted(uniq)
    except TypeError:
        return sorted(uniq, key=str)


def _z(level: float) -> float:
    return float(stats.norm.ppf(1.0 - (1.0 - level) / 2.0))


# --------------------------------------------------------------------------------------------
# Kaplan-Meier
# --------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class KmAtTimes:
    """A Kaplan-Meier curve read at chosen times (``summary(fit, times = )`` in R).

    ``n_risk`` is the number still followed at ``time``; ``n_event`` and ``n_censor`` count
    what happened since the previous requested time (from the start for the first one);
    ``survival`` is the curve at ``time``, ``std_err`` its Greenwood standard error and
    ``lower``-``upper`` the interval. Requested times after the last follow-up time are left out
    and listed in ``times_dropped``.
    """

    time: np.ndarray
    n_risk: np.ndarray
    n_event: np.ndarray
    n_censor: np.ndarray
    survival: np.ndarray
    std_err: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    times_dropped: tuple[float, ...]


@dataclasses.dataclass(frozen=True)
class KmCurve:
    """One Kaplan-Meier curve, a row per distinct follow-up time (event or censoring).

    ``std_err`` is the standard error of the survival (Greenwood), ``std_err_log`` that of its
    logarithm (the cumulative hazard, what survfit stores as ``std.err``); both infinite or NaN
    where the curve reaches 0, where ``lower``/``upper`` are NaN too.
    """

    group: str | None
    n: int
    n_events: int
    time: np.ndarray
    n_risk: np.ndarray
    n_event: np.ndarray
    n_censor: np.ndarray
    survival: np.ndarray
    std_err: np.ndarray
    std_err_log: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    at_times: KmAtTimes | None

    def to_frame(self) -> pd.DataFrame:
        """The curve as a DataFrame, one row per distinct time."""
        return pd.DataFrame(
            {
                "time": self.time,
                "n_risk": self.n_risk,
                "n_event": self.n_event,
                "n_censor": self.n_censor,
                "survival": self.survival,
                "std_err": self.std_err,
                "lower": self.lower,
                "upper": self.upper,
            }
        )


@dataclasses.dataclass(frozen=True)
class KaplanMeier:
    """Kaplan-Meier curves, one per group (a single one with ``group=None``)."""

    curves: tuple[KmCurve, ...]
    level: float
    conf_type: str
    n: int
    n_dropped: int
    method: str
    warnings: tuple[str, ...]


def _km_steps(t: np.ndarray, e: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Distinct times with the number at risk, events and censorings at each."""
    ut, inv = np.unique(t, return_inverse=True)
    k = ut.size
    total = np.bincount(inv, minlength=k)
    d = np.bincount(inv, weights=e, minlength=k).astype(np.int64)
    c = total - d
    n_risk = np.cumsum(total[::-1])[::-1]
    return ut, n_risk, d, c


def _km_curve(t: np.ndarray, e: np.ndarray, group: str | None, times: np.ndarray | None, z: float) -> KmCurve:
    ut, nr, d, c = _km_steps(t, e)
    with np.errstate(divide="ignore", invalid="ignore"):
        surv = np.cumprod(1.0 - d / nr)
        term = np.where(d > 0, d / (nr * (nr - d).astype(float)), 0.0)  # n = d gives +inf
        se_log = np.sqrt(np.cumsum(term))
        se = surv * se_log
        lower = surv * np.exp(-z * se_log)
        upper = np.minimum(1.0, surv * np.exp(z * se_log))
    zero = surv <= 0
    se = np.where(zero, np.nan, se)
    lower = np.where(zero, np.nan, lower)
    upper = np.where(zero, np.nan, upper)
    at = None
    if times is not None:
        req = np.sort(times)
        keep = req <= ut[-1]
        dropped = tuple(float(v) for v in req[~keep])
        req = req[keep]
        # index of the last distinct time <= each requested time (-1 before the first)
        idx = np.searchsorted(ut, req, side="right") - 1
        first_ge = np.searchsorted(ut, req, side="left")
        a_nr = np.where(first_ge < ut.size, nr[np.minimum(first_ge, ut.size - 1)], 0)
        cd = np.concatenate([[0], np.cumsum(d)])
        cc = np.concatenate([[0], np.cumsum(c)])
        upto_d = cd[idx + 1]
        upto_c = cc[idx + 1]
        prev_d = np.concatenate([[0], upto_d[:-1]])
        prev_c = np.concatenate([[0], upto_c[:-1]])
        before = idx < 0
        safe = np.maximum(idx, 0)
        a_s = np.where(before, 1.0, surv[safe])
        a_sel = np.where(before, 0.0, se_log[safe])
        with np.errstate(invalid="ignore", over="ignore"):
            a_se = np.where(a_s <= 0, np.nan, a_s * a_sel)
            a_lo = np.where(a_s <= 0, np.nan, a_s * np.exp(-z * a_sel))
            a_hi = np.where(a_s <= 0, np.nan, np.minimum(1.0, a_s * np.exp(z * a_sel)))
        at = KmAtTimes(
            time=req,
            n_risk=a_nr.astype(np.int64),
            n_event=(upto_d - prev_d).astype(np.int64),
            n_censor=(upto_c - prev_c).astype(np.int64),
            survival=a_s,
            std_err=a_se,
            lower=a_lo,
            upper=a_hi,
            times_dropped=dropped,
        )
    return KmCurve(
        group=group,
        n=int(t.size),
        n_events=int(d.sum()),
        time=ut,
        n_risk=nr.astype(np.int64),
        n_event=d,
        n_censor=c.astype(np.int64),
        survival=surv,
        std_err=se,
        std_err_log=se_log,
        lower=lower,
        upper=upper,
        at_times=at,
    )


def kaplan_meier(
    time: ArrayLike,
    event: ArrayLike,
    group: ArrayLike | None = None,
    times: Sequence[float] | np.ndarray | None = None,
    ci: float = 0.95,
) -> KaplanMeier:
    r"""Kaplan-Meier survival curves with Greenwood standard errors and log-scale intervals.

    Parameters
    ----------
    time, event
        Follow-up time and event indicator (1 = event, 0 = censored).
    group
        Optional group labels (one curve per group, groups in natural sort order, as R's factor
        levels); None/NaN = missing.
    times
        Optional times at which to read every curve (see :class:`KmAtTimes`).
    ci
        Confidence level of the pointwise intervals.

    Returns
    -------
    KaplanMeier

    Notes
    -----
    At the distinct times :math:`t_1 < t_2 < \dots` with :math:`n_k` at risk (time
    :math:`\ge t_k`) and :math:`d_k` events (Kaplan & Meier 1958),

    .. math::

        \hat S(t) = \prod_{t_k \le t} \Big(1 - \frac{d_k}{n_k}\Big), \qquad
        \widehat{\operatorname{se}}\{\log \hat S(t)\} = \sqrt{\sum_{t_k \le t}
        \frac{d_k}{n_k (n_k - d_k)}}

    (Greenwood 1926); ``std_err`` is :math:`\hat S \cdot \widehat{\operatorname{se}}\{\log
    \hat S\}`. The interval is survfit's default ``conf.type = "log"``: :math:`\hat S
    \exp(\pm z\,\widehat{\operatorname{se}}\{\log \hat S\})`, the upper end limited to 1, and
    undefined where :math:`\hat S = 0`.

    Raises :class:`NotEstimable` when no observation is left.

    References: Kaplan, E. L. & Meier, P. (1958). Nonparametric estimation from incomplete
    observations. JASA, 53, 457-481. Greenwood, M. (1926). The natural duration of cancer.
    Reports on Public Health and Medical Subjects, 33, 1-26.

    In R: ``fit <- survival::survfit(Surv(time, event) ~ group)`` (``~ 1`` without groups):
    ``fit$time``, ``$n.risk``, ``$n.event``, ``$n.censor``, ``$surv``, ``$std.err`` (our
    ``std_err_log``), ``$lower``, ``$upper``; ``summary(fit, times = times)`` for ``at_times``.

    Examples
    --------
    Sixteen cases followed up for up to 9 months (event 0 = censored), read at 2, 3.5 and 8 months:

    >>> from validation.stats import kaplan_meier
    >>> time = [1, 2, 2, 3, 4, 4, 5, 6, 7, 8, 2, 3, 3, 5, 9, 9]
    >>> event = [1, 1, 0, 1, 0, 1, 1, 0, 1, 1, 1, 0, 1, 1, 0, 1]
    >>> res = kaplan_meier(time, event, times=[2, 3.5, 8])
    >>> at = res.curves[0].at_times
    >>> for t, n, s, lo, hi in zip(at.time, at.n_risk, at.survival, at.lower, at.upper):
    ...     print(f"{t:g}: at risk {n}, S = {s:.4f} [{lo:.4f}, {hi:.4f}]")
    2: at risk 15, S = 0.8125 [0.6421, 1.0000]
    3.5: at risk 9, S = 0.6771 [0.4792, 0.9566]
    8: at risk 3, S = 0.2149 [0.0672, 0.6878]

    In R: ``summary(survival::survfit(Surv(time, event) ~ 1), times = c(2, 3.5, 8))`` gives the
    same figures. One curve per group:

    >>> group = ["b"] * 10 + ["a"] * 6
    >>> for curve in kaplan_meier(time, event, group).curves:
    ...     print(curve.group, curve.n, curve.n_events, f"{curve.survival[-1]:.4f}")
    a 6 4 0.2222
    b 10 7 0.0000
    """
    level = check_level(ci)
    t, e = _time_event(time, event)
    keep = ~(np.isnan(t) | np.isnan(e))
    g = None
    if group is not None:
        g, gmiss = _labels(group, "group", t.size)
        keep &= ~gmiss
    req = None
    if times is not None:
        req = _as_float(times, "times")
        if np.isnan(req).any() or req.size == 0:
            raise ValueError("times must be a non-empty sequence of numbers")
    n_dropped = int((~keep).sum())
    t, e = t[keep], e[keep]
    if t.size == 0:
        raise NotEstimable("not estimable: no observation with a time and an event status")
    z = _z(level)
    warnings: list[str] = []
    if n_dropped:
        warnings.append(f"{n_dropped} observation(s) with a missing time, event or group dropped")
    curves = []
    if g is None:
        curves.append(_km_curve(t, e, None, req, z))
    else:
        g = g[keep]
        for lev in _sorted_levels(g):
            sel = g == lev
            curves.append(_km_curve(t[sel], e[sel], str(lev), req, z))
    for cv in curves:
        if cv.at_times is not None and cv.at_times.times_dropped:
            who = "" if cv.group is None else f"group {cv.group}: "
            warnings.append(f"{who}time(s) {list(cv.at_times.times_dropped)} after the last follow-up left out")
    return KaplanMeier(
        curves=tuple(curves),
        level=level,
        conf_type="log",
        n=int(t.size),
        n_dropped=n_dropped,
        method="Kaplan-Meier, Greenwood standard error, log-scale interval (survfit's default)",
        warnings=tuple(warnings),
    )


# --------------------------------------------------------------------------------------------
# log-rank test
# --------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class LogRank:
    """The log-rank test: per group ``n``, ``observed`` and ``expected`` events; ``variance``
    is the covariance matrix of observed - expected; ``chisq`` on ``df`` degrees of freedom."""

    groups: tuple[str, ...]
    n: np.ndarray
    observed: np.ndarray
    expected: np.ndarray
    variance: np.ndarray
    chisq: float
    df: int
    p: float
    n_dropped: int
    method: str
    warnings: tuple[str, ...]


def logrank(time: ArrayLike, event: ArrayLike, group: ArrayLike) -> LogRank:
    r"""Log-rank test comparing the survival of two or more groups.

    Parameters
    ----------
    time, event
        Follow-up time and event indicator.
    group
        Group labels (at least two groups); None/NaN = missing.

    Returns
    -------
    LogRank

    Notes
    -----
    At each distinct event time :math:`t` with :math:`n` at risk, :math:`d` events, and
    :math:`n_g` at risk in group :math:`g` (Mantel 1966; Peto & Peto 1972):
    :math:`E_g = \sum_t d\,n_g/n`, and

    .. math::

        V_{gh} = \sum_t \frac{d (n - d)}{n - 1}\,\frac{n_g}{n}\Big(\delta_{gh} -
        \frac{n_h}{n}\Big).

    With :math:`O - E` and :math:`V` restricted to groups with :math:`E_g > 0` and the first of
    them dropped, :math:`\chi^2 = (O-E)^\top V^{-1} (O-E)` on (number of such groups - 1)
    degrees of freedom, as survdiff.

    Raises :class:`NotEstimable` with fewer than two groups or no event.

    References: Mantel, N. (1966). Evaluation of survival data and two new rank order
    statistics arising in its consideration. Cancer Chemotherapy Reports, 50, 163-170. Peto, R.
    & Peto, J. (1972). Asymptotically efficient rank invariant test procedures. JRSS A, 135,
    185-207.

    In R: ``survival::survdiff(Surv(time, event) ~ group)``: ``$obs``, ``$exp``, ``$var``,
    ``$chisq``.

    Examples
    --------
    Sixteen cases in two groups, followed up for up to 9 months (event 0 = censored):

    >>> from validation.stats import logrank
    >>> time = [1, 2, 2, 3, 4, 4, 5, 6, 7, 8, 2, 3, 3, 5, 9, 9]
    >>> event = [1, 1, 0, 1, 0, 1, 1, 0, 1, 1, 1, 0, 1, 1, 0, 1]
    >>> group = ["b"] * 10 + ["a"] * 6
    >>> res = logrank(time, event, group)
    >>> res.groups, res.observed.tolist(), res.expected.round(3).tolist()
    (('a', 'b'), [4.0, 7.0], [5.365, 5.635])
    >>> print(f"chi-square = {res.chisq:.3f} on {res.df} df, p = {res.p:.3f}")
    chi-square = 0.838 on 1 df, p = 0.360
    """
    t, e = _time_event(time, event)
    g, gmiss = _labels(group, "group", t.size)
    keep = ~(np.isnan(t) | np.isnan(e) | gmiss)
    n_dropped = int((~keep).sum())
    t, e, g = t[keep], e[keep], g[keep]
    levels = _sorted_levels(g)
    if len(levels) < 2:
        raise NotEstimable(f"not estimable: the log-rank test needs at least two groups, got {len(levels)}")
    if not (e == 1).any():
        raise NotEstimable("not estimable: the log-rank test needs at least one event, none found")
    gi = np.array([levels.index(v) for v in g]) if len(levels) < 50 else pd.Categorical(g, categories=levels).codes
    G = len(levels)
    ut, inv = np.unique(t, return_inverse=True)
    k = ut.size
    cnt = np.zeros((k, G))
    np.add.at(cnt, (inv, gi), 1.0)
    dg = np.zeros((k, G))
    np.add.at(dg, (inv[e == 1], gi[e == 1]), 1.0)
    ng = np.cumsum(cnt[::-1], axis=0)[::-1]  # at risk per group at each time
    n = ng.sum(axis=1)
    d = dg.sum(axis=1)
    ev = d > 0
    ng, n, d, dg = ng[ev], n[ev], d[ev], dg[ev]
    obs = dg.sum(axis=0)
    frac = ng / n[:, None]
    expct = (d[:, None] * frac).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        kt = np.where(n > 1, d * (n - d) / (n - 1), 0.0)
    var = np.einsum("t,tg,gh->gh", kt, frac, np.eye(G)) - np.einsum("t,tg,th->gh", kt, frac, frac)
    use = expct > 0
    df = int(use.sum()) - 1
    if df < 1:
        chisq = 0.0
    else:
        diff = (obs - expct)[use][1:]
        vv = var[np.ix_(use, use)][1:, 1:]
        chisq = float(diff @ linalg.solve(vv, diff, assume_a="sym"))
    p = float(stats.chi2.sf(chisq, df)) if df >= 1 else float("nan")
    warnings = [f"{n_dropped} observation(s) with a missing time, event or group dropped"] if n_dropped else []
    if df < 1:
        warnings.append("fewer than two groups with expected events: no test (chisq 0)")
    return LogRank(
        groups=tuple(str(v) for v in levels),
        n=np.bincount(gi, minlength=G).astype(np.int64),
        observed=obs,
        expected=expct,
        variance=var,
        chisq=chisq,
        df=df,
        p=p,
        n_dropped=n_dropped,
        method="log-rank test (Mantel 1966), hypergeometric variance, as survdiff (rho = 0)",
        warnings=tuple(warnings),
    )


# --------------------------------------------------------------------------------------------
# Cox regression
# --------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ChiSquareTest:
    """A chi-square statistic with its degrees of freedom and upper-tail p-value."""

    chisq: float
    df: int
    p: float


@dataclasses.dataclass(frozen=True)
class CoxTerm:
    """One predictor of a Cox model: log hazard ratio ``coef``, ``hr = exp(coef)``, standard
    error, Wald ``z`` and two-sided ``p``, and the interval of the hazard ratio."""

    name: str
    coef: float
    hr: float
    se: float
    z: float
    p: float
    hr_ci: Interval


@dataclasses.dataclass(frozen=True)
class CoxZph:
    """Test of proportional hazards (score test of coefficient x g(time) terms) per predictor and
    globally, with the time transform g used."""

    terms: tuple[str, ...]
    chisq: np.ndarray
    df: np.ndarray
    p: np.ndarray
    global_test: ChiSquareTest
    transform: str
    method: str


@dataclasses.dataclass(frozen=True)
class CoxModel:
    """A fitted Cox proportional-hazards model.

    ``vcov`` is the inverse information matrix at the estimate; ``loglik_null`` and ``loglik``
    the partial log-likelihoods at 0 and at the estimate; ``lr_test``, ``wald_test`` and
    ``score_test`` the three global tests; ``concordance`` Harrell's C of the linear predictor;
    ``ph_test`` the proportional-hazards check.
    """

    terms: tuple[CoxTerm, ...]
    vcov: np.ndarray
    loglik_null: float
    loglik: float
    lr_test: ChiSquareTest
    wald_test: ChiSquareTest
    score_test: ChiSquareTest
    concordance: HarrellC
    ph_test: CoxZph
    linear_predictor: np.ndarray
    n: int
    n_events: int
    n_dropped: int
    ties: str
    iterations: int
    method: str
    warnings: tuple[str, ...]


class _CoxData:
    """Sorted data and the index structures the partial likelihood needs (vectorised)."""

    def __init__(self, t: np.ndarray, e: np.ndarray, x: np.ndarray, ties: str):
        order = np.argsort(t, kind="stable")
        self.t = t[order]
        self.e = e[order] == 1
        self.x = x[order]
        self.order = order
        n = self.t.size
        ut, first, inv = np.unique(self.t, return_index=True, return_inverse=True)
        self.first = first  # first sorted position of each distinct time
        dead = self.e
        self.dgroup = inv[dead]  # distinct-time index of each death
        dcount = np.bincount(self.dgroup, minlength=ut.size)
        self.etimes = np.flatnonzero(dcount)  # distinct-time indices with deaths
        d = dcount[self.etimes]
        # one "slot" per death: Efron removes k/d of the tied deaths' risk in slot k
        self.slot_time = np.repeat(self.etimes, d)
        within = np.arange(d.sum()) - np.repeat(np.cumsum(d) - d, d)
        self.slot_frac = within / np.repeat(d, d) if ties == "efron" else np.zeros(d.sum())
        self.n = n

    def sums(self, eta: np.ndarray) -> tuple[np.ndarray, ...]:
        """Per-slot denominators, weighted means and covariances of the covariates."""
        x = self.x
        c = float(eta.max())
        r = np.exp(eta - c)
        rx = r[:, None] * x
        rxx = rx[:, :, None] * x[:, None, :]
        # risk-set sums at each distinct time: reverse cumulative sums read at first positions
        s0 = np.cumsum(r[::-1])[::-1][self.first]
        s1 = np.cumsum(rx[::-1], axis=0)[::-1][self.first]
        s2 = np.cumsum(rxx[::-1], axis=0)[::-1][self.first]
        k = self.first.size
        dead = self.e
        d0 = np.bincount(self.dgroup, weights=r[dead], minlength=k)
        d1 = np.zeros((k,) + rx.shape[1:])
        np.add.at(d1, self.dgroup, rx[dead])
        d2 = np.zeros((k,) + rxx.shape[1:])
        np.add.at(d2, self.dgroup, rxx[dead])
        st, f = self.slot_time, self.slot_frac
        den = s0[st] - f * d0[st]
        mean = (s1[st] - f[:, None] * d1[st]) / den[:, None]
        second = (s2[st] - f[:, None, None] * d2[st]) / den[:, None, None]
        cov = second - mean[:, :, None] * mean[:, None, :]
        return den, mean, cov, c

    def loglik(self, beta: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        eta = self.x @ beta
        den, mean, cov, c = self.sums(eta)
        ll = float(eta[self.e].sum() - np.sum(np.log(den) + c))
        u = self.x[self.e].sum(axis=0) - mean.sum(axis=0)
        info = cov.sum(axis=0)
        return ll, u, info


def _km_transform(t: np.ndarray, e: np.ndarray) -> np.ndarray:
    """1 - S(t-) at each observation's time, S the Kaplan-Meier curve of all the data."""
    ut, nr, d, _ = _km_steps(t, e)
    surv = np.cumprod(1.0 - d / nr)
    idx = np.searchsorted(ut, t, side="left")  # number of distinct times strictly before t
    return 1.0 - np.concatenate([[1.0], surv])[idx]


def _zph(data: _CoxData, beta: np.ndarray, names: tuple[str, ...], transform: str) -> CoxZph:
    """Grambsch-Therneau score test of proportional hazards, as survival 3.x's cox.zph."""
    t, e = data.t, data.e.astype(float)
    if transform == "km":
        tt = _km_transform(t, e)
    elif transform == "rank":
        tt = stats.rankdata(t)
    elif transform == "identity":
        tt = t.copy()
    else:  # log
        if (t <= 0).any():
            raise NotEstimable("not estimable: the log time transform needs times > 0")
        tt = np.log(t)
    g = tt - tt[data.e].mean()
    gslot = g[data.first[data.slot_time]]  # g is constant within a distinct time
    eta = data.x @ beta
    den, mean, cov, _ = data.sums(eta)
    p = beta.size
    u2 = (g[data.e][:, None] * data.x[data.e]).sum(axis=0) - (gslot[:, None] * mean).sum(axis=0)
    i11 = cov.sum(axis=0)
    i12 = (gslot[:, None, None] * cov).sum(axis=0)
    i22 = ((gslot**2)[:, None, None] * cov).sum(axis=0)
    imat = np.block([[i11, i12], [i12.T, i22]])
    chisq = np.empty(p)
    for j in range(p):
        kk = list(range(p)) + [p + j]
        uu = np.zeros(p + 1)
        uu[-1] = u2[j]
        chisq[j] = float(uu @ linalg.solve(imat[np.ix_(kk, kk)], uu, assume_a="sym"))
    uu = np.concatenate([np.zeros(p), u2])
    glob = float(uu @ linalg.solve(imat, uu, assume_a="sym"))
    df = np.ones(p, dtype=np.int64)
    return CoxZph(
        terms=names,
        chisq=chisq,
        df=df,
        p=stats.chi2.sf(chisq, 1),
        global_test=ChiSquareTest(glob, p, float(stats.chi2.sf(glob, p))),
        transform=transform,
        method="score test of beta(t) = beta + theta g(t) (Grambsch & Therneau 1994), as cox.zph",
    )


def _predictor_matrix(predictors: Any, n: int) -> tuple[np.ndarray, tuple[str, ...]]:
    if isinstance(predictors, pd.Series):
        predictors = predictors.to_frame(name=predictors.name if predictors.name is not None else "x")
    if isinstance(predictors, pd.DataFrame):
        names = tuple(str(c) for c in predictors.columns)
        cols = []
        for c in predictors.columns:
            col = predictors[c]
            if col.dtype == bool:
                col = col.astype(float)
            try:
                cols.append(pd.to_numeric(col, errors="raise").to_numpy(dtype=float, na_value=np.nan))
            except (ValueError, TypeError):
                raise ValueError(f"predictor {c!r} must be numeric (code categories as 0/1 columns)") from None
        x = np.column_stack(cols) if cols else np.empty((predictors.shape[0], 0))
    else:
        x = np.asarray(predictors, dtype=float)
        if x.ndim == 1:
            x = x[:, None]
        if x.ndim != 2:
            raise ValueError(f"predictors must be a DataFrame or a 2-d array, got shape {x.shape}")
        names = tuple(f"x{j + 1}" for j in range(x.shape[1]))
    if x.shape[0] != n:
        raise ValueError(f"time and predictors must have the same number of rows, got {n} and {x.shape[0]}")
    if x.shape[1] == 0:
        raise ValueError("predictors must have at least one column")
    if np.isinf(x).any():
        raise ValueError("predictors must be finite: infinite value(s) found")
    return x, names


def cox(
    time: ArrayLike,
    event: ArrayLike,
    predictors: pd.DataFrame | pd.Series | np.ndarray,
    ties: str = "efron",
    ci: float = 0.95,
    zph_transform: str = "km",
    max_iter: int = 50,
) -> CoxModel:
    r"""Cox proportional-hazards regression with the proportional-hazards check.

    Parameters
    ----------
    time, event
        Follow-up time and event indicator.
    predictors
        Numeric predictors, one column each (a DataFrame, whose column names name the terms, a
        Series, or a 2-d array). Categories must be coded as 0/1 columns.
    ties
        ``"efron"`` (default, as coxph) or ``"breslow"``.
    ci
        Confidence level of the hazard-ratio intervals.
    zph_transform
        Time transform g of the proportional-hazards test: ``"km"`` (default, as cox.zph),
        ``"rank"``, ``"identity"`` or ``"log"``.
    max_iter
        Newton-Raphson iteration limit.

    Returns
    -------
    CoxModel

    Notes
    -----
    The partial log-likelihood with Efron's handling of ties (Efron 1977): at an event time with
    :math:`d` events :math:`D`, risk set :math:`R` and :math:`r_i = \exp(x_i^\top\beta)`,

    .. math::

        \ell(\beta) = \sum_t \Big[\sum_{i \in D} x_i^\top\beta - \sum_{k=0}^{d-1}
        \log\Big(\sum_{i \in R} r_i - \tfrac{k}{d}\sum_{i \in D} r_i\Big)\Big]

    (Breslow: :math:`k/d` replaced by 0). It is maximised by Newton-Raphson from
    :math:`\beta = 0` with step halving, until the relative change of the log-likelihood is
    below 1e-12 (survival's ``coxph`` stops at 1e-9; the estimates agree to about 1e-10);
    ``vcov`` is the inverse information at the estimate. Wald :math:`z = \hat\beta/\mathrm{se}`, hazard
    ratio interval :math:`\exp(\hat\beta \pm z_{1-\alpha/2}\mathrm{se})`; likelihood-ratio
    :math:`2(\ell(\hat\beta) - \ell(0))`, Wald :math:`\hat\beta^\top I \hat\beta` and score
    :math:`U(0)^\top I(0)^{-1} U(0)` tests on p degrees of freedom. Sums over risk sets are
    reverse cumulative sums over the time order (no loop over times).

    Proportional hazards (Grambsch & Therneau 1994, in the form of survival 3.x's cox.zph):
    the score test, at :math:`(\hat\beta, 0)`, of adding :math:`x \cdot g(t)` to the model,
    with :math:`g` the transform centred over the events (``"km"``: :math:`1 - \hat S(t-)`, the
    Kaplan-Meier curve of all the data). With :math:`U_2` the score of the added terms and
    :math:`I` the full 2p x 2p information, the test of predictor :math:`j` uses the rows
    and columns of the p original terms and of term :math:`j` (1 df); the global test uses
    them all (p df).

    Raises :class:`NotEstimable` with no event, a constant or collinear predictor, or a
    diverging coefficient (monotone likelihood, e.g. a predictor that separates the events).

    References: Cox, D. R. (1972). Regression models and life-tables. JRSS B, 34, 187-220.
    Efron, B. (1977). The efficiency of Cox's likelihood function for censored data. JASA, 72,
    557-565. Grambsch, P. M. & Therneau, T. M. (1994). Proportional hazards tests and
    diagnostics based on weighted residuals. Biometrika, 81, 515-526.

    In R: ``fit <- survival::coxph(Surv(time, event) ~ x1 + x2, ties = "efron")``: ``coef``,
    ``sqrt(diag(vcov(fit)))``, ``summary(fit)$conf.int``, ``fit$loglik``, ``fit$wald.test``,
    ``fit$score``, ``fit$concordance``; ``cox.zph(fit, transform = "km")$table``.

    Examples
    --------
    Sixteen cases followed up for up to 9 months (event 0 = censored), with a risk score:

    >>> import pandas as pd
    >>> from validation.stats import cox
    >>> time = [1, 2, 2, 3, 4, 4, 5, 6, 7, 8, 2, 3, 3, 5, 9, 9]
    >>> event = [1, 1, 0, 1, 0, 1, 1, 0, 1, 1, 1, 0, 1, 1, 0, 1]
    >>> predictors = pd.DataFrame({"score": [5, 3, 4, 4, 2, 3, 1, 2, 1, 0, 5, 2, 2, 1, 0, 1]})
    >>> res = cox(time, event, predictors)
    >>> term = res.terms[0]
    >>> print(f"HR per point {term.hr:.3f} [{term.hr_ci.lower:.3f}, {term.hr_ci.upper:.3f}], p = {term.p:.4f}")
    HR per point 3.288 [1.577, 6.856], p = 0.0015
    >>> print(f"LR test {res.lr_test.chisq:.2f} on {res.lr_test.df} df")
    LR test 13.71 on 1 df
    >>> print(f"proportional hazards: p = {res.ph_test.global_test.p:.3f}")
    proportional hazards: p = 0.702
    """
    level = check_level(ci)
    if ties not in ("efron", "breslow"):
        raise ValueError(f"ties must be 'efron' or 'breslow', got {ties!r}")
    if zph_transform not in ("km", "rank", "identity", "log"):
        raise ValueError(f"zph_transform must be 'km', 'rank', 'identity' or 'log', got {zph_transform!r}")
    t, e = _time_event(time, event)
    x, names = _predictor_matrix(predictors, t.size)
    keep = ~(np.isnan(t) | np.isnan(e) | np.isnan(x).any(axis=1))
    n_dropped = int((~keep).sum())
    t, e, x = t[keep], e[keep], x[keep]
    n_events = int(e.sum())
    if n_events == 0:
        raise NotEstimable("not estimable: a Cox model needs at least one event, none found")
    const = [nm for j, nm in enumerate(names) if np.ptp(x[:, j]) == 0]
    if const:
        raise NotEstimable(f"not estimable: predictor(s) {const} constant among the cases used")
    xc = x - x.mean(axis=0)
    data = _CoxData(t, e, xc, ties)
    p = xc.shape[1]
    beta = np.zeros(p)
    ll0, u0, i0 = data.loglik(beta)
    if np.linalg.matrix_rank(i0) < p:
        raise NotEstimable("not estimable: the information matrix is singular (collinear predictors)")
    try:
        score0 = float(u0 @ linalg.solve(i0, u0, assume_a="sym"))
    except (linalg.LinAlgError, ValueError):
        raise NotEstimable("not estimable: the information matrix is singular (collinear predictors)") from None
    ll, u, info = ll0, u0, i0
    iters = 0
    converged = False
    for iters in range(1, max_iter + 1):
        try:
            step = linalg.solve(info, u, assume_a="sym")
        except (linalg.LinAlgError, ValueError):
            raise NotEstimable("not estimable: the information matrix became singular") from None
        new = beta + step
        ll_new, u_new, info_new = data.loglik(new)
        halvings = 0
        while not (ll_new >= ll - 1e-12 * abs(ll)) and halvings < 30:
            new = (beta + new) / 2.0
            ll_new, u_new, info_new = data.loglik(new)
            halvings += 1
        change = abs(ll_new - ll)
        beta, ll, u, info = new, ll_new, u_new, info_new
        if change <= 1e-12 * max(1.0, abs(ll)):
            converged = True
            break
    try:
        vcov = linalg.inv(info)
    except (linalg.LinAlgError, ValueError):
        raise NotEstimable("not estimable: the information matrix at the estimate is singular") from None
    # monotone likelihood: the step still to take is not small next to the coefficient
    pending = np.abs(vcov @ u)
    diverging = [names[j] for j in range(p) if pending[j] > 1e-9 and pending[j] > math.sqrt(1e-9) * abs(beta[j])]
    if diverging or not converged:
        raise NotEstimable(
            f"not estimable: the coefficient(s) of {diverging or list(names)} do not converge "
            "(monotone likelihood: the predictor separates the event times, the hazard ratio is infinite)"
        )
    se = np.sqrt(np.diag(vcov))
    z = _z(level)
    zst = beta / se
    pv = 2.0 * stats.norm.sf(np.abs(zst))
    terms = tuple(
        CoxTerm(
            name=names[j],
            coef=float(beta[j]),
            hr=float(math.exp(beta[j])),
            se=float(se[j]),
            z=float(zst[j]),
            p=float(pv[j]),
            hr_ci=Interval(
                float(math.exp(beta[j] - z * se[j])), float(math.exp(beta[j] + z * se[j])), level, "Wald, exp(coef +- z se)"
            ),
        )
        for j in range(p)
    )
    lr = 2.0 * (ll - ll0)
    wald = float(beta @ info @ beta)
    lp = xc @ beta
    conc = harrell_c(t, e, lp, ci=level, direction="higher")
    zph = _zph(data, beta, names, zph_transform)
    warnings = [f"{n_dropped} observation(s) with a missing time, event or predictor dropped"] if n_dropped else []
    return CoxModel(
        terms=terms,
        vcov=vcov,
        loglik_null=float(ll0),
        loglik=float(ll),
        lr_test=ChiSquareTest(float(lr), p, float(stats.chi2.sf(lr, p))),
        wald_test=ChiSquareTest(wald, p, float(stats.chi2.sf(wald, p))),
        score_test=ChiSquareTest(score0, p, float(stats.chi2.sf(score0, p))),
        concordance=conc,
        ph_test=zph,
        linear_predictor=lp,
        n=int(t.size),
        n_events=n_events,
        n_dropped=n_dropped,
        ties=ties,
        iterations=iters,
        method=f"Cox partial likelihood, {ties.capitalize()} ties, Newton-Raphson",
        warnings=tuple(warnings),
    )


@dataclasses.dataclass(frozen=True)
class StratifiedCox:
    """A Cox model with a baseline hazard per stratum and common coefficients: ``coef`` and ``se`` per
    term, the partial log-likelihoods ``loglik`` (at the estimate) and ``loglik_null`` (at 0), summed over
    the strata."""

    names: tuple[str, ...]
    coef: np.ndarray
    se: np.ndarray
    loglik: float
    loglik_null: float
    n: int
    n_events: int


def cox_stratified(time: ArrayLike, event: ArrayLike, predictors: pd.DataFrame | pd.Series | np.ndarray,
                   strata: ArrayLike, ties: str = "efron", max_iter: int = 50) -> StratifiedCox:
    """Cox regression stratified by ``strata``: the partial likelihood is the product of each stratum's, so
    each stratum keeps its own baseline hazard and the coefficients are shared (Kalbfleisch & Prentice 2002,
    sec. 4.4).

    In R: ``coxph(Surv(time, event) ~ x + strata(g), ties = "efron")``: ``coef``, ``sqrt(diag(vcov))``,
    ``loglik``.

    Examples
    --------
    >>> t = [5, 8, 3, 9, 12, 4, 7, 10, 2, 6, 11, 13]
    >>> e = [1, 1, 0, 1, 0, 1, 1, 0, 1, 1, 1, 0]
    >>> x = pd.Series([2.0, 1.0, 0.5, 0.0, 1.5, 3.0, 2.5, 0.0, 3.5, 1.0, 0.5, 2.0], name="x")
    >>> g = ["a"] * 6 + ["b"] * 6
    >>> res = cox_stratified(t, e, x, g)
    >>> res.names, round(float(res.coef[0]), 6)      # coxph(Surv(t, e) ~ x + strata(g)): 0.6769583
    (('x',), 0.676958)
    """
    if ties not in ("efron", "breslow"):
        raise ValueError(f"ties must be 'efron' or 'breslow', got {ties!r}")
    t, e = _time_event(time, event)
    x, names = _predictor_matrix(predictors, t.size)
    g = np.asarray(strata, dtype=object)
    if g.size != t.size:
        raise ValueError(f"strata: found {g.size} values, expected {t.size} (one a case)")
    keep = ~(np.isnan(t) | np.isnan(e) | np.isnan(x).any(axis=1) | pd.isna(g))
    t, e, x, g = t[keep], e[keep], x[keep], g[keep]
    if e.sum() == 0:
        raise NotEstimable("not estimable: a Cox model needs at least one event, none found")
    xc = x - x.mean(axis=0)
    parts = [_CoxData(t[g == s], e[g == s], xc[g == s], ties) for s in _sorted_levels(g)]
    parts = [d for d in parts if d.e.any()]

    def total(beta):
        ll, u, info = 0.0, np.zeros(len(beta)), np.zeros((len(beta), len(beta)))
        for d in parts:
            a, b, c = d.loglik(beta)
            ll, u, info = ll + a, u + b, info + c
        return ll, u, info

    beta = np.zeros(x.shape[1])
    ll0, u, info = total(beta)
    ll = ll0
    for _ in range(max_iter):
        try:
            step = linalg.solve(info, u, assume_a="sym")
        except (linalg.LinAlgError, ValueError):
            raise NotEstimable("not estimable: the information matrix is singular") from None
        new = beta + step
        ll_new, u_new, info_new = total(new)
        halvings = 0
        while not (ll_new >= ll - 1e-12 * abs(ll)) and halvings < 30:
            new = (beta + new) / 2.0
            ll_new, u_new, info_new = total(new)
            halvings += 1
        change = abs(ll_new - ll)
        beta, ll, u, info = new, ll_new, u_new, info_new
        if change <= 1e-12 * max(1.0, abs(ll)):
            break
    else:
        raise NotEstimable("not estimable: the stratified Cox model did not converge")
    se = np.sqrt(np.diag(linalg.inv(info)))
    return StratifiedCox(names, beta, se, float(ll), float(ll0), int(t.size), int(e.sum()))


# --------------------------------------------------------------------------------------------
# Uno's C and time-dependent AUC
# --------------------------------------------------------------------------------------------


def _censoring_km(t: np.ndarray, e: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Kaplan-Meier estimate of the censoring distribution G at each distinct time (value just
    after it), events preceding censorings at tied times: the censoring hazard at u is
    C(u) / (N(u) - D(u))."""
    ut, nr, d, c = _km_steps(t, e)
    with np.errstate(divide="ignore", invalid="ignore"):
        h = np.where(c > 0, c / (nr - d), 0.0)
    return ut, np.cumprod(1.0 - h)


def _g_at(ut: np.ndarray, g: np.ndarray, at: np.ndarray, left: bool) -> np.ndarray:
    """G(at-) (left limit) or G(at) from the step function (ut, g)."""
    idx = np.searchsorted(ut, at, side="left" if left else "right")
    return np.concatenate([[1.0], g])[idx]


@dataclasses.dataclass(frozen=True)
class UnoC:
    """Uno's concordance truncated at ``tau``: pairs whose earlier event falls after tau do not
    count, the others weigh 1/G(t-)^2. Pair totals are weighted; ``se`` is the
    infinitesimal-jackknife standard error of survival::concordance, ``ci`` a normal interval
    with it, limited to [0, 1]."""

    c: float
    se: float
    variance: float
    ci: Interval
    tau: float
    concordant: float
    discordant: float
    tied_risk: float
    tied_time: float
    n: int
    n_events: int
    n_events_used: int
    n_dropped: int
    direction: str
    method: str
    warnings: tuple[str, ...]


def _risk_input(time: ArrayLike, event: ArrayLike, score: ArrayLike) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    t, e = _time_event(time, event)
    s = _as_float(score, "score")
    if s.shape != t.shape:
        raise ValueError(f"time, event and score must have the same length, got {t.size}, {e.size}, {s.size}")
    keep = ~(np.isnan(t) | np.isnan(e) | np.isnan(s))
    return t[keep], e[keep], s[keep], int((~keep).sum())


def uno_c(
    time: ArrayLike,
    event: ArrayLike,
    score: ArrayLike,
    tau: float | None = None,
    ci: float = 0.95,
    direction: str = "higher",
) -> UnoC:
    r"""Uno's C: concordance of a risk score with a censored time to event, weighted by the
    inverse squared censoring probability and truncated at ``tau``.

    Parameters
    ----------
    time, event
        Follow-up time and event indicator.
    score
        The risk score.
    tau
        Truncation time: only pairs whose earlier member has its event at or before ``tau``
        count. ``None``: no truncation.
    ci
        Confidence level of the normal interval.
    direction
        ``"higher"``: a higher score means a higher risk (shorter time).

    Returns
    -------
    UnoC

    Notes
    -----
    Uno, Cai, Pencina, D'Agostino & Wei (2011):

    .. math::

        \hat C_\tau = \frac{\sum_{i,j} \Delta_i\, \hat G(T_i-)^{-2}\, I(T_i < T_j,\ T_i \le \tau)
        \big[I(\eta_i > \eta_j) + \tfrac12 I(\eta_i = \eta_j)\big]}
        {\sum_{i,j} \Delta_i\, \hat G(T_i-)^{-2}\, I(T_i < T_j,\ T_i \le \tau)},

    :math:`\hat G` the Kaplan-Meier estimate of the censoring distribution (events before
    censorings at tied times), evaluated just before :math:`T_i`. Pairs are those of Harrell's C
    (:func:`validation.predictive.harrell_c`: a censored time equal to an event time counts as
    the longer; tied event times are not comparable), each weighted by its earlier member;
    this is ``survival::concordance(timewt = "n/G2", ymax = tau)``, which includes pairs with
    :math:`T_i = \tau` (the paper writes :math:`T_i < \tau`, the same unless an event falls
    exactly on tau). The variance is survival's infinitesimal jackknife,
    :math:`\frac14\sum_i [(c_i - d_i) - d\,(c_i + d_i + t_i)]^2 / W^2` over the weighted pair
    counts of each observation, :math:`W` the weighted number of pairs and :math:`d` the
    weighted Somers' d.

    Raises :class:`NotEstimable` when no comparable pair has its earlier event at or before tau.

    Reference: Uno, H., Cai, T., Pencina, M. J., D'Agostino, R. B. & Wei, L. J. (2011). On the
    C-statistics for evaluating overall adequacy of risk prediction procedures with censored
    survival data. Statistics in Medicine, 30, 1105-1117.

    In R: ``survival::concordance(Surv(time, event) ~ score, timewt = "n/G2", ymax = tau,
    reverse = TRUE)`` (``reverse = FALSE`` for ``direction="lower"``).

    Examples
    --------
    Sixteen cases followed up for up to 9 months (event 0 = censored), with a risk score,
    truncated at 8 months:

    >>> from validation.stats import uno_c
    >>> time = [1, 2, 2, 3, 4, 4, 5, 6, 7, 8, 2, 3, 3, 5, 9, 9]
    >>> event = [1, 1, 0, 1, 0, 1, 1, 0, 1, 1, 1, 0, 1, 1, 0, 1]
    >>> score = [5, 3, 4, 4, 2, 3, 1, 2, 1, 0, 5, 2, 2, 1, 0, 1]
    >>> res = uno_c(time, event, score, tau=8)
    >>> print(f"C = {res.c:.4f}, se = {res.se:.4f}, 95% CI [{res.ci.lower:.4f}, {res.ci.upper:.4f}]")
    C = 0.8231, se = 0.0549, 95% CI [0.7155, 0.9307]

    In R: ``survival::concordance(Surv(time, event) ~ score, timewt = "n/G2", ymax = 8, reverse =
    TRUE)`` gives C = 0.8231 with se 0.0549.
    """
    level = check_level(ci)
    _check_direction(direction)
    t, e, s, n_dropped = _risk_input(time, event, score)
    if tau is not None:
        tau = float(tau)
        if not math.isfinite(tau):
            raise ValueError("tau must be a finite time (None for no truncation)")
    ev = e == 1
    if not ev.any():
        raise NotEstimable("not estimable: Uno's C needs at least one event, none found")
    ut, g = _censoring_km(t, e)
    w = np.zeros(t.size)
    w[ev] = 1.0 / _g_at(ut, g, t[ev], left=True) ** 2
    if ev.sum() < 2:  # as survival: a single event carries no time weighting
        w[ev] = 1.0
    if tau is not None:
        w[ev & (t > tau)] = 0.0
    n_used = int((ev & (w > 0)).sum())
    risk = s if direction == "higher" else -s
    c_i, d_i, t_i, tied_time = _concordance_pairs(t, ev, risk, w)
    conc, disc, ties = c_i.sum() / 2.0, d_i.sum() / 2.0, t_i.sum() / 2.0
    npair = conc + disc + ties
    if npair <= 0:
        raise NotEstimable(
            "not estimable: no comparable pair with its earlier event at or before tau"
            if tau is not None
            else "not estimable: no comparable pair (every shorter time is censored)"
        )
    somers = (conc - disc) / npair
    dfbeta = ((c_i - d_i) - somers * (c_i + d_i + t_i)) / npair
    var = float(np.sum(dfbeta**2) / 4.0)
    se = math.sqrt(var)
    cstat = (somers + 1.0) / 2.0
    z = _z(level)
    warnings = [f"{n_dropped} observation(s) with a missing time, event or score dropped"] if n_dropped else []
    return UnoC(
        c=float(cstat),
        se=se,
        variance=var,
        ci=Interval(max(0.0, cstat - z * se), min(1.0, cstat + z * se), level,
                    "normal, infinitesimal-jackknife se (as survival::concordance)"),
        tau=float("inf") if tau is None else tau,
        concordant=float(conc),
        discordant=float(disc),
        tied_risk=float(ties),
        tied_time=float(tied_time),
        n=int(t.size),
        n_events=int(ev.sum()),
        n_events_used=n_used,
        n_dropped=n_dropped,
        direction=direction,
        method="Uno et al. (2011) C, weights 1/G(t-)^2, truncated at tau",
        warnings=tuple(warnings),
    )


@dataclasses.dataclass(frozen=True)
class TimeDependentAuc:
    """Cumulative/dynamic AUC at each horizon t: cases have their event at or before t, controls
    are still event-free after t. ``n_cases``, ``n_controls`` and ``n_censored`` (censored at or
    before t: neither) per horizon; ``g_limit`` says how the censoring distribution was read."""

    horizons: np.ndarray
    auc: np.ndarray
    n_cases: np.ndarray
    n_controls: np.ndarray
    n_censored: np.ndarray
    n: int
    n_dropped: int
    direction: str
    g_limit: str
    method: str
    warnings: tuple[str, ...]


def time_dependent_auc(
    time: ArrayLike,
    event: ArrayLike,
    score: ArrayLike,
    horizons: Sequence[float] | np.ndarray,
    direction: str = "higher",
    g_limit: str = "left",
) -> TimeDependentAuc:
    r"""Cumulative/dynamic time-dependent AUC with inverse probability of censoring weights.

    Parameters
    ----------
    time, event
        Follow-up time and event indicator.
    score
        The risk score (a baseline score: the same for every horizon).
    horizons
        Times t at which to compute the AUC.
    direction
        ``"higher"``: a higher score means a higher risk.
    g_limit
        ``"left"`` (default, as timeROC): a case's weight uses the censoring survival just
        before its event time, :math:`\hat G(T_i-)`; ``"right"``: at it, :math:`\hat G(T_i)`
        (as scikit-survival's ``cumulative_dynamic_auc``). They differ only where a censoring
        time equals an event time.

    Returns
    -------
    TimeDependentAuc

    Notes
    -----
    At horizon :math:`t`, cases are :math:`\{i: T_i \le t, \Delta_i = 1\}` and controls
    :math:`\{j: T_j > t\}` (Heagerty & Zheng 2005's cumulative/dynamic definition); subjects
    censored at or before :math:`t` are neither and are represented by the weights
    :math:`w_i = 1/\hat G(T_i-)` of the cases (Uno et al. 2007; Hung & Chiang 2010; the controls'
    common weight :math:`1/\hat G(t)` cancels):

    .. math::

        \widehat{AUC}(t) = \frac{\sum_i \sum_j w_i\, I(T_i \le t, \Delta_i = 1)\, I(T_j > t)\,
        [I(\eta_i > \eta_j) + \frac12 I(\eta_i = \eta_j)]}{\sum_i w_i\, I(T_i \le t,
        \Delta_i = 1) \cdot \sum_j I(T_j > t)},

    :math:`\hat G` the Kaplan-Meier estimate of the censoring distribution (events before
    censorings at tied times). Without censoring every weight is 1 and this is the ordinary AUC
    of "event by t" among all subjects. Counting uses sorted scores, :math:`O(N \log N)` per
    horizon.

    Raises :class:`NotEstimable` when a horizon has no case or no control.

    References: Uno, H., Cai, T., Tian, L. & Wei, L. J. (2007). Evaluating prediction rules for
    t-year survivors with censored regression models. JASA, 102, 527-537. Hung, H. & Chiang,
    C. T. (2010). Estimation methods for time-dependent AUC models with survival data. Canadian
    Journal of Statistics, 38, 8-26. Heagerty, P. J. & Zheng, Y. (2005). Survival model
    predictive accuracy and ROC curves. Biometrics, 61, 92-105.

    In R: ``timeROC::timeROC(T = time, delta = event, marker = score, cause = 1, weighting =
    "marginal", times = horizons)$AUC`` (not installed here). In Python:
    ``sksurv.metrics.cumulative_dynamic_auc(y, y, score, horizons)`` with ``g_limit="right"``.

    Examples
    --------
    Eight cases, three of them censored (event 0), at horizons 4 and 5.5:

    >>> from validation.stats import time_dependent_auc
    >>> time = [1, 2, 2, 3, 4, 5, 6, 7]
    >>> event = [1, 0, 1, 1, 0, 1, 0, 1]
    >>> score = [5, 1, 4, 2, 3, 3, 0, 2]
    >>> res = time_dependent_auc(time, event, score, horizons=[4, 5.5])
    >>> res.auc.round(4).tolist()
    [0.8125, 0.9375]
    >>> res.n_cases.tolist(), res.n_controls.tolist(), res.n_censored.tolist()
    ([3, 4], [3, 2], [2, 2])

    By hand: at 4 the cases (events at 1, 2 and 3) weigh 1, 1 and 6/5 (the censoring survival
    just before 3 is 5/6), so AUC = (3 + 3 + 6/5 * 3/2) / ((1 + 1 + 6/5) * 3) = 13/16; at 5.5,
    15/16.
    """
    _check_direction(direction)
    if g_limit not in ("left", "right"):
        raise ValueError(f"g_limit must be 'left' or 'right', got {g_limit!r}")
    hz = _as_float(horizons, "horizons")
    if hz.size == 0 or np.isnan(hz).any():
        raise ValueError("horizons must be a non-empty sequence of numbers")
    t, e, s, n_dropped = _risk_input(time, event, score)
    if t.size == 0:
        raise NotEstimable("not estimable: no observation with a time, an event status and a score")
    ev = e == 1
    ut, g = _censoring_km(t, e)
    w = np.zeros(t.size)
    gi = _g_at(ut, g, t[ev], left=(g_limit == "left"))
    if (gi <= 0).any():
        raise NotEstimable("not estimable: the censoring survival is 0 at an event time (no weight possible)")
    w[ev] = 1.0 / gi
    risk = s if direction == "higher" else -s
    auc = np.empty(hz.size)
    n_cases = np.empty(hz.size, dtype=np.int64)
    n_controls = np.empty(hz.size, dtype=np.int64)
    n_cens = np.empty(hz.size, dtype=np.int64)
    bad = []
    for k, h in enumerate(hz.tolist()):
        case = ev & (t <= h)
        ctrl = t > h
        n_cases[k] = int(case.sum())
        n_controls[k] = int(ctrl.sum())
        n_cens[k] = int((~ev & (t <= h)).sum())
        if n_cases[k] == 0 or n_controls[k] == 0:
            bad.append(h)
            continue
        rc = np.sort(risk[ctrl])
        rk = risk[case]
        below = np.searchsorted(rc, rk, side="left")
        at_most = np.searchsorted(rc, rk, side="right")
        wk = w[case]
        num = float(np.sum(wk * (below + at_most))) / 2.0
        auc[k] = num / (float(wk.sum()) * n_controls[k])
    if bad:
        raise NotEstimable(
            f"not estimable: horizon(s) {bad} have no case (event by then) or no control (still followed after)"
        )
    warnings = [f"{n_dropped} observation(s) with a missing time, event or score dropped"] if n_dropped else []
    return TimeDependentAuc(
        horizons=hz,
        auc=auc,
        n_cases=n_cases,
        n_controls=n_controls,
        n_censored=n_cens,
        n=int(t.size),
        n_dropped=n_dropped,
        direction=direction,
        g_limit=g_limit,
        method="cumulative/dynamic AUC, IPCW (Uno et al. 2007; Hung & Chiang 2010), "
        f"censoring KM read {'just before' if g_limit == 'left' else 'at'} the event time",
        warnings=tuple(warnings),
    )
