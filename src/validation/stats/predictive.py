"""Predictive validity: ROC analysis of a risk score against a binary outcome.

Pure functions on array-like input, no file I/O and no knowledge of any instrument. Results are
frozen dataclasses that :func:`validation.results.to_dict` turns into plain JSON values; data that
cannot support an estimate raise :class:`validation.results.NotEstimable` saying why.

* :func:`roc_auc` -- the area under the ROC curve with DeLong's variance and a DeLong or
  stratified-bootstrap (percentile or BCa) interval (``pROC::auc``, ``pROC::var``,
  ``pROC::ci.auc``).
* :func:`delong_test` -- DeLong's test of two correlated AUCs
  (``pROC::roc.test(method = "delong", paired = TRUE)``).
* :func:`delong_test_unpaired` -- DeLong's test of two AUCs from independent samples
  (``pROC::roc.test(method = "delong", paired = FALSE)``).
* :func:`holm` -- Holm's adjustment of p-values (``p.adjust(method = "holm")``).
* :func:`roc_curve` -- sensitivity, specificity, predictive values and likelihood ratios at every
  threshold, and Youden's optimum (``pROC::coords``).
* :func:`cutoff_table` -- classification figures with intervals at chosen thresholds, and
  predictive values at chosen base rates.
* :func:`band_calibration` -- observed outcome rate per risk band with a trend test
  (``prop.trend.test``).
* :func:`harrell_c` -- Harrell's concordance of a risk score with a censored time to event
  (``survival::concordance``).

Time-to-event statistics (Kaplan-Meier, log-rank, Cox, Uno's C, time-dependent AUC) are in
:mod:`validation.survival`.

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
from scipy import special, stats

from validation.stats._checks import check_level
from validation.stats.results import Interval, NotEstimable

__all__ = [
    "BootstrapSummary",
    "RocAuc",
    "roc_auc",
    "DelongTest",
    "delong_test",
    "DelongUnpairedTest",
    "delong_test_unpaired",
    "HolmAdjusted",
    "holm",
    "YoudenPoint",
    "RocCurve",
    "roc_curve",
    "CutoffMeasure",
    "BaseRateValues",
    "CutoffTable",
    "cutoff_table",
    "TrendTest",
    "BandCalibration",
    "band_calibration",
    "HarrellC",
    "harrell_c",
]

_DIRECTIONS = {"higher": "<", "lower": ">"}


# --------------------------------------------------------------------------------------------
# argument helpers
# --------------------------------------------------------------------------------------------



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
class BootstrapSummary:
    """The bootstrap behind an AUC interval: ``n_boot`` stratified replicates drawn with
    ``seed`` (the entropy of the seed sequence, so a run without a seed can be repeated), their
    ``mean``, ``median``, standard deviation ``sd`` and ``bias`` (mean - AUC); for BCa intervals
    the bias correction ``z0`` and the ``acceleration``, and the adjusted quantile levels."""

    n_boot: int
    seed: int
    interval: str
    mean: float
    median: float
    sd: float
    bias: float
    z0: float | None = None
    acceleration: float | None = None
    quantile_levels: tuple[float, float] | None = None


@dataclasses.dataclass(frozen=True)
class RocAuc:
    """Area under the ROC curve with DeLong's variance, standard error and an interval.

    ``variance`` and ``se`` are DeLong's whatever the interval; ``ci`` is DeLong's normal
    interval or a bootstrap interval, as ``ci.method`` says, and ``bootstrap`` describes the
    bootstrap when there was one.
    """

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
    bootstrap: BootstrapSummary | None = None


# bootstrap replicates are drawn in chunks of about this many numbers, to bound the memory
_BOOT_CHUNK_DRAWS = 4_000_000
# replicates are drawn as counts per distinct score when there are at most this share of
# distinct scores per case (tied scores, e.g. integer sum scores), as resample indices otherwise
_BOOT_COUNTS_MAX_SHARE = 0.125


def _bootstrap_index_chunks(
    rng: np.random.Generator, n_boot: int, m: int, n: int
) -> Any:
    """Stratified resample indices, chunk by chunk.

    Yields ``(events, nonevents)``: integer arrays of shape (b, m) and (b, n), row r holding the
    indices (into the events and into the non-events) drawn with replacement for one replicate.
    The chunk size depends only on m + n, so a seed always gives the same replicates.
    """
    per = max(1, _BOOT_CHUNK_DRAWS // (m + n))
    done = 0
    while done < n_boot:
        b = min(per, n_boot - done)
        ie = rng.integers(0, m, size=(b, m), dtype=np.int64)
        inn = rng.integers(0, n, size=(b, n), dtype=np.int64)
        yield ie, inn
        done += b


def _bootstrap_count_chunks(
    rng: np.random.Generator, n_boot: int, events_at: np.ndarray, nonevents_at: np.ndarray
) -> Any:
    """Stratified resamples as counts per distinct score, chunk by chunk.

    ``events_at[k]`` / ``nonevents_at[k]`` count the events / non-events at the k-th distinct
    score. Resampling the m events with replacement puts Multinomial(m, events_at / m) of them
    at the distinct scores -- the exact distribution of the counts that resample indices would
    give, which is all the AUC depends on. Yields ``(c1, c0)`` of shape (b, K).
    """
    m = int(events_at.sum())
    n = int(nonevents_at.sum())
    k = events_at.size
    per = max(1, _BOOT_CHUNK_DRAWS // (2 * k))
    done = 0
    while done < n_boot:
        b = min(per, n_boot - done)
        c1 = rng.multinomial(m, events_at / m, size=b)
        c0 = rng.multinomial(n, nonevents_at / n, size=b)
        yield c1, c0
        done += b


def _auc_from_counts(c1: np.ndarray, c0: np.ndarray, m: int, n: int) -> np.ndarray:
    """AUC of each row of counts per distinct score (ascending): with B0 the non-events strictly
    below each value, ``2 m n AUC = sum_k c1_k (2 B0_k + c0_k)``, exact in integers."""
    below0 = np.cumsum(c0, axis=1) - c0
    return np.einsum("ij,ij->i", c1, 2 * below0 + c0) / (2.0 * m * n)


def _bootstrap_aucs(
    event: np.ndarray, score: np.ndarray, direction: str, n_boot: int, rng: np.random.Generator
) -> np.ndarray:
    """AUCs of ``n_boot`` stratified bootstrap replicates, vectorised.

    Scores are replaced by their rank among the K distinct values and each replicate is reduced
    to its counts of events and non-events at each value; its AUC then follows in exact integer
    arithmetic (:func:`_auc_from_counts`). With tied scores (K <= N/8) the counts are drawn
    directly (:func:`_bootstrap_count_chunks`, O(B K)); otherwise resample indices are drawn
    (:func:`_bootstrap_index_chunks`) and counted, per chunk, into about 3 u small bins keyed by the
    u distinct event scores (O(B N) draws, cache-sized counts).
    """
    s = score if direction == "higher" else -score
    _, rank = np.unique(s, return_inverse=True)
    k = int(rank.max()) + 1
    r1 = rank[event]
    r0 = rank[~event]
    m, n = r1.size, r0.size
    out = np.empty(n_boot)
    pos = 0
    if k <= _BOOT_COUNTS_MAX_SHARE * (m + n):
        a = np.bincount(r1, minlength=k)
        b0 = np.bincount(r0, minlength=k)
        for c1, c0 in _bootstrap_count_chunks(rng, n_boot, a, b0):
            out[pos : pos + c1.shape[0]] = _auc_from_counts(c1, c0, m, n)
            pos += c1.shape[0]
        return out
    # Distinct scores: only the order of each non-event relative to the u distinct event scores
    # matters. Key of a non-event: 2 q if q distinct event scores lie strictly below it, plus 1 if it
    # equals one of them. For distinct event score q, the non-events below it have keys <= 2 q and
    # those tied with it key 2 q + 1. Counting resampled cases per key (2 u + 1 small bins) and per
    # distinct event score (u bins) gives each replicate's AUC exactly, in integers:
    # 2 m n AUC = sum_q c1_q (2 below_q + tie_q) -- the count form of _auc_from_counts on fewer bins.
    ev_vals, q1 = np.unique(r1, return_inverse=True)
    u = ev_vals.size
    below_ev = np.searchsorted(ev_vals, r0, side="left")
    tied = (below_ev < u) & (ev_vals[np.minimum(below_ev, u - 1)] == r0)
    key0 = (2 * below_ev + tied).astype(np.int64)
    nk = 2 * u + 1
    for ie, inn in _bootstrap_index_chunks(rng, n_boot, m, n):
        b = ie.shape[0]
        c1 = np.bincount((q1[ie] + (np.arange(b, dtype=np.int64) * u)[:, None]).ravel(),
                         minlength=b * u).reshape(b, u)
        c0 = np.bincount((key0[inn] + (np.arange(b, dtype=np.int64) * nk)[:, None]).ravel(),
                         minlength=b * nk).reshape(b, nk)
        cum0 = np.cumsum(c0, axis=1)
        below = cum0[:, 0:nk - 1:2]                 # keys <= 2 q
        tie = c0[:, 1:nk:2]                         # key 2 q + 1
        out[pos : pos + b] = np.einsum("ij,ij->i", c1, 2 * below + tie) / (2.0 * m * n)
        pos += b
    return out


def _bca_acceleration(v10: np.ndarray, v01: np.ndarray, auc: float) -> float:
    """Acceleration of the BCa interval from the jackknife of the AUC, two-sample form.

    Leaving event i out gives ``(m AUC - V10_i)/(m - 1)``, so its jackknife influence value
    ``(m - 1)(mean of leave-one-out - leave-i-out)`` is ``V10_i - AUC`` (``V01_j - AUC`` for a
    non-event): the whole jackknife costs nothing beyond the placements. With the influence
    values l scaled by their class size, ``a = sum(l^3) / (6 (sum l^2)^(3/2))``
    (Efron 1987; Davison & Hinkley 1997, multi-sample case).
    """
    m, n = v10.size, v01.size
    l = np.concatenate([(v10 - auc) / m, (v01 - auc) / n])
    s2 = float(np.sum(l**2))
    if s2 == 0.0:
        raise NotEstimable(
            "not estimable: the BCa acceleration needs jackknife variation, but every placement "
            "equals the AUC (perfect separation or constant scores)"
        )
    return float(np.sum(l**3) / (6.0 * s2**1.5))


def roc_auc(
    y: Sequence[Any] | np.ndarray | pd.Series,
    score: Sequence[Any] | np.ndarray | pd.Series,
    ci: float = 0.95,
    ci_method: str = "delong",
    direction: str = "higher",
    n_boot: int = 2000,
    seed: int | None = None,
    boot_ci: str = "percentile",
) -> RocAuc:
    r"""AUC of a score for a binary outcome, with DeLong's variance and a confidence interval.

    Parameters
    ----------
    y
        Outcome, 1 = event, 0 = non-event (NaN = missing).
    score
        The risk score (NaN = missing).
    ci
        Confidence level.
    ci_method
        ``"delong"`` (normal interval with DeLong's standard error) or ``"bootstrap"``
        (stratified bootstrap).
    direction
        ``"higher"``: higher scores mean higher risk; ``"lower"``: the reverse. Never guessed.
    n_boot
        Number of bootstrap replicates (``ci_method="bootstrap"``).
    seed
        Seed of the bootstrap; the same seed gives the same interval. ``None`` draws fresh
        entropy, reported in ``bootstrap.seed`` so the run can be repeated.
    boot_ci
        ``"percentile"`` (as pROC) or ``"bca"`` (bias-corrected and accelerated).

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
    midranks in the pooled sample, the events and the non-events. The DeLong interval is
    :math:`\hat\theta \pm z_{1-\alpha/2}\,\mathrm{se}`, clipped to [0, 1] as pROC does.

    Bootstrap (``ci_method="bootstrap"``): each replicate resamples the :math:`m` events and the
    :math:`n` non-events separately, with replacement (pROC's stratified bootstrap), and takes
    the AUC of the resample. The replicates are computed together: scores become ranks among the
    K distinct values, each replicate is reduced to its counts of events and non-events per
    value, and its AUC follows from those counts in exact integer arithmetic -- no
    per-replicate sorting. With tied scores (K at most N/8, e.g. integer sum scores) the counts
    are drawn directly, as multinomial counts with the observed shares (the exact distribution
    of the counts of a resample with replacement), :math:`O(BK)` for B replicates; otherwise
    resample indices are drawn and counted, :math:`O(BN)`.

    * percentile: the :math:`\alpha/2` and :math:`1-\alpha/2` sample quantiles of the replicates
      (R's default quantile type 7), as ``pROC::ci.auc(method = "bootstrap")``;
    * BCa (Efron 1987): :math:`z_0 = \Phi^{-1}(\#\{\theta^*_b < \hat\theta\}/B)`,
      acceleration :math:`a = \sum l^3 / (6 (\sum l^2)^{3/2})` with the jackknife influence
      values :math:`l` scaled by class size (Davison & Hinkley 1997, two-sample form); the
      jackknife of the AUC is exact and free: leaving out event :math:`i` gives
      :math:`(m\hat\theta - V_{10}(X_i))/(m-1)`, so :math:`l_i = (V_{10}(X_i) -
      \hat\theta)/m`, and :math:`l_j = (V_{01}(Y_j) - \hat\theta)/n` for a non-event. The
      interval is the pair of type-7 quantiles at :math:`\Phi\big(z_0 + \frac{z_0 +
      z_{\alpha}}{1 - a (z_0 + z_{\alpha})}\big)` for :math:`z_\alpha = \pm z_{1-\alpha/2}`.

    Raises :class:`NotEstimable` unless there are at least 2 events and 2 non-events; a BCa
    interval also when every replicate falls on one side of the estimate or the scores separate
    the classes perfectly.

    References: DeLong, E. R., DeLong, D. M. & Clarke-Pearson, D. L. (1988). Comparing the areas
    under two or more correlated receiver operating characteristic curves: a nonparametric
    approach. Biometrics, 44, 837-845. Sun, X. & Xu, W. (2014). Fast implementation of DeLong's
    algorithm for comparing the areas under correlated receiver operating characteristic curves.
    IEEE Signal Processing Letters, 21, 1389-1393. Efron, B. (1987). Better bootstrap confidence
    intervals. Journal of the American Statistical Association, 82, 171-185. Davison, A. C. &
    Hinkley, D. V. (1997). Bootstrap methods and their application. Cambridge University Press.

    In R: ``r <- pROC::roc(y, score, levels = c(0, 1), direction = "<")`` (``">"`` for
    ``direction="lower"``); ``auc(r)``, ``var(r)``, ``ci.auc(r, method = "delong")``;
    ``ci.auc(r, method = "bootstrap", boot.n = 2000)`` for the percentile interval (same
    distribution, different random numbers). BCa: ``boot::boot(data, statistic, strata = y)``
    and ``boot::boot.ci(type = "bca", L = influence / class size)``.

    Examples
    --------
    >>> from validation.stats import roc_auc
    >>> y, s = [0, 1, 0, 1], [1, 2, 3, 4]
    >>> res = roc_auc(y, s)
    >>> print(f"AUC = {res.auc:.2f}, se = {res.se:.4f}, 95% CI [{res.ci.lower:.4f}, {res.ci.upper:.4f}]")
    AUC = 0.75, se = 0.3536, 95% CI [0.0570, 1.0000]

    In R: ``pROC::ci.auc(pROC::roc(y, s, levels = c(0, 1), direction = "<"), method = "delong")``
    gives AUC 0.75, variance 0.125 and the interval [0.0570, 1].

    A stratified bootstrap interval, reproducible with a seed:

    >>> y = [0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1]
    >>> score = [1, 3, 2, 5, 4, 2, 6, 5, 7, 3, 8, 6]
    >>> res = roc_auc(y, score, ci_method="bootstrap", n_boot=2000, seed=1)
    >>> print(f"AUC = {res.auc:.4f}, 95% CI [{res.ci.lower:.4f}, {res.ci.upper:.4f}]")
    AUC = 0.9167, 95% CI [0.7222, 1.0000]
    """
    level = check_level(ci)
    _check_direction(direction)
    if ci_method not in ("delong", "bootstrap"):
        raise ValueError(f"ci_method must be 'delong' or 'bootstrap', got {ci_method!r}")
    if ci_method == "bootstrap":
        if isinstance(n_boot, bool) or not isinstance(n_boot, (int, np.integer)) or n_boot < 2:
            raise ValueError(f"n_boot must be an integer >= 2 (number of bootstrap replicates), got {n_boot!r}")
        if boot_ci not in ("percentile", "bca"):
            raise ValueError(f"boot_ci must be 'percentile' or 'bca', got {boot_ci!r}")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0):
            raise ValueError(f"seed must be a non-negative integer or None, got {seed!r}")
    event, (s,), n_dropped = _prepare(y, (score, "score"))
    m, n = _need_both_classes(event, 2, "the AUC with a confidence interval")
    auc, v10, v01 = _placements(event, s, direction)
    var = float(np.var(v10, ddof=1) / m + np.var(v01, ddof=1) / n)
    se = math.sqrt(var)
    warnings: list[str] = []
    if n_dropped:
        warnings.append(f"{n_dropped} observation(s) with a missing outcome or score dropped")
    if var == 0.0:
        warnings.append("the scores separate the classes perfectly: variance 0, the interval is degenerate")
    boot: BootstrapSummary | None = None
    if ci_method == "delong":
        z = float(stats.norm.ppf(1.0 - (1.0 - level) / 2.0))
        lo, hi = min(max(auc - z * se, 0.0), 1.0), min(max(auc + z * se, 0.0), 1.0)
        interval = Interval(lo, hi, level, "DeLong (normal, clipped to [0, 1])")
        method = "empirical AUC (Mann-Whitney, ties 1/2), DeLong et al. (1988) variance"
    else:
        seq = np.random.SeedSequence(None if seed is None else int(seed))
        rng = np.random.default_rng(seq)
        aucs = _bootstrap_aucs(event, s, direction, int(n_boot), rng)
        alpha = 1.0 - level
        z0 = a = None
        if boot_ci == "percentile":
            probs = (alpha / 2.0, 1.0 - alpha / 2.0)
            label = "percentile"
        else:
            share = float(np.mean(aucs < auc))
            if share in (0.0, 1.0):
                raise NotEstimable(
                    "not estimable: BCa bias correction is infinite: every bootstrap AUC lies on "
                    f"one side of the estimate ({share:.0%} below it)"
                )
            z0 = float(stats.norm.ppf(share))
            a = _bca_acceleration(v10, v01, auc)
            za = stats.norm.ppf([alpha / 2.0, 1.0 - alpha / 2.0])
            adj = stats.norm.cdf(z0 + (z0 + za) / (1.0 - a * (z0 + za)))
            probs = (float(adj[0]), float(adj[1]))
            label = "BCa"
        lo, hi = (float(q) for q in np.quantile(aucs, probs))
        interval = Interval(
            lo, hi, level, f"stratified bootstrap {label} ({int(n_boot)} replicates, quantile type 7)"
        )
        method = (
            "empirical AUC (Mann-Whitney, ties 1/2), DeLong et al. (1988) variance, "
            f"stratified bootstrap {label} interval"
        )
        boot = BootstrapSummary(
            n_boot=int(n_boot),
            seed=int(seq.entropy),
            interval=boot_ci,
            mean=float(aucs.mean()),
            median=float(np.median(aucs)),
            sd=float(aucs.std(ddof=1)),
            bias=float(aucs.mean() - auc),
            z0=z0,
            acceleration=a,
            quantile_levels=probs,
        )
    return RocAuc(
        auc=auc,
        variance=var,
        se=se,
        ci=interval,
        n_events=m,
        n_nonevents=n,
        n_dropped=n_dropped,
        direction=direction,
        method=method,
        warnings=tuple(warnings),
        bootstrap=boot,
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

    Examples
    --------
    Two scores of the same twelve cases:

    >>> from validation.stats import delong_test
    >>> y = [0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1]
    >>> score1 = [1, 3, 2, 5, 4, 2, 6, 5, 7, 3, 8, 6]
    >>> score2 = [2, 1, 4, 3, 5, 6, 4, 7, 3, 5, 6, 8]
    >>> res = delong_test(y, score1, score2)
    >>> print(f"AUC {res.auc1:.3f} vs {res.auc2:.3f}: z = {res.z:.3f}, p = {res.p:.3f}")
    AUC 0.917 vs 0.778: z = 0.838, p = 0.402
    >>> print(f"difference {res.difference:.3f}, 95% CI [{res.ci.lower:.3f}, {res.ci.upper:.3f}]")
    difference 0.139, 95% CI [-0.186, 0.464]
    """
    level = check_level(ci)
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


@dataclasses.dataclass(frozen=True)
class DelongUnpairedTest:
    """DeLong's test of two AUCs from independent samples (two sites, two cohorts).

    ``difference = auc1 - auc2``; ``statistic`` is pROC's D, referred to Student's t with the
    Welch-Satterthwaite ``df``; ``p`` is two-sided. ``ci`` is the interval of the difference
    with the same t quantile (not part of pROC's output).
    """

    auc1: float
    auc2: float
    difference: float
    variance1: float
    variance2: float
    se: float
    statistic: float
    df: float
    p: float
    ci: Interval
    n_events1: int
    n_nonevents1: int
    n_events2: int
    n_nonevents2: int
    n_dropped1: int
    n_dropped2: int
    direction: str
    method: str
    warnings: tuple[str, ...]


def delong_test_unpaired(
    y1: Sequence[Any] | np.ndarray | pd.Series,
    score1: Sequence[Any] | np.ndarray | pd.Series,
    y2: Sequence[Any] | np.ndarray | pd.Series,
    score2: Sequence[Any] | np.ndarray | pd.Series,
    ci: float = 0.95,
    direction: str = "higher",
) -> DelongUnpairedTest:
    r"""DeLong's test comparing the AUCs of two independent samples (e.g. two sites).

    Parameters
    ----------
    y1, score1
        Outcome (1 = event, 0 = non-event) and score in the first sample.
    y2, score2
        The same in the second sample. The samples share no case.
    ci
        Confidence level of the interval of the difference.
    direction
        ``"higher"`` or ``"lower"``, for both samples.

    Returns
    -------
    DelongUnpairedTest

    Notes
    -----
    With :math:`\hat\theta_k` and DeLong's variance :math:`V_k` in sample :math:`k` (see
    :func:`roc_auc`; :math:`N_k` cases), independence gives

    .. math::

        D = \frac{\hat\theta_1 - \hat\theta_2}{\sqrt{V_1 + V_2}}, \qquad
        \nu = \frac{(V_1 + V_2)^2}{V_1^2/(N_1 - 1) + V_2^2/(N_2 - 1)},

    and :math:`p = 2\,T_\nu(-|D|)` (DeLong et al. 1988 variances, Welch-Satterthwaite degrees of
    freedom, as pROC). The interval of the difference is :math:`\hat\theta_1 - \hat\theta_2 \pm
    t_{\nu, 1-\alpha/2}\sqrt{V_1 + V_2}`.

    Raises :class:`NotEstimable` unless each sample has 2 events and 2 non-events, or when both
    variances are 0 (perfect or constant scores in both samples).

    References: DeLong, E. R., DeLong, D. M. & Clarke-Pearson, D. L. (1988). Biometrics, 44,
    837-845. Robin, X. et al. (2011). pROC. BMC Bioinformatics, 12, 77.

    In R: ``pROC::roc.test(roc(y1, score1, levels = c(0, 1), direction = "<"), roc(y2, score2,
    levels = c(0, 1), direction = "<"), method = "delong", paired = FALSE)``: ``$statistic``
    (D), ``$parameter`` (df), ``$p.value``.

    Examples
    --------
    The same score at two sites:

    >>> from validation.stats import delong_test_unpaired
    >>> y1 = [0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1]
    >>> score1 = [1, 3, 2, 5, 4, 2, 6, 5, 7, 3, 8, 6]
    >>> y2 = [0, 0, 0, 0, 0, 1, 1, 1, 1, 1]
    >>> score2 = [2, 4, 1, 3, 5, 4, 6, 3, 7, 5]
    >>> res = delong_test_unpaired(y1, score1, y2, score2)
    >>> print(f"AUC {res.auc1:.3f} vs {res.auc2:.3f}: D = {res.statistic:.3f}, df = {res.df:.2f}")
    AUC 0.917 vs 0.820: D = 0.608, df = 14.83
    >>> print(f"p = {res.p:.3f}")
    p = 0.552
    """
    level = check_level(ci)
    _check_direction(direction)
    parts = []
    for k, (yy, ss) in enumerate(((y1, score1), (y2, score2)), start=1):
        event, (s,), dropped = _prepare(yy, (ss, f"score{k}"))
        m, n = _need_both_classes(event, 2, f"the AUC of sample {k}")
        auc, v10, v01 = _placements(event, s, direction)
        var = float(np.var(v10, ddof=1) / m + np.var(v01, ddof=1) / n)
        parts.append((auc, var, m, n, dropped))
    (a1, var1, m1, n1, dr1), (a2, var2, m2, n2, dr2) = parts
    vsum = var1 + var2
    if vsum == 0.0:
        raise NotEstimable(
            "not estimable: both AUCs have zero variance (perfect or constant scores in both samples)"
        )
    se = math.sqrt(vsum)
    d = a1 - a2
    stat = d / se
    df = vsum**2 / (var1**2 / (m1 + n1 - 1) + var2**2 / (m2 + n2 - 1))
    p = float(2.0 * stats.t.sf(abs(stat), df))
    tq = float(stats.t.ppf(1.0 - (1.0 - level) / 2.0, df))
    warnings = []
    for k, dr in ((1, dr1), (2, dr2)):
        if dr:
            warnings.append(f"sample {k}: {dr} observation(s) with a missing outcome or score dropped")
    return DelongUnpairedTest(
        auc1=a1,
        auc2=a2,
        difference=d,
        variance1=var1,
        variance2=var2,
        se=se,
        statistic=float(stat),
        df=float(df),
        p=p,
        ci=Interval(d - tq * se, d + tq * se, level, "DeLong, Student t with Welch-Satterthwaite df"),
        n_events1=m1,
        n_nonevents1=n1,
        n_events2=m2,
        n_nonevents2=n2,
        n_dropped1=dr1,
        n_dropped2=dr2,
        direction=direction,
        method="DeLong et al. (1988) test for two independent ROC curves (as pROC, paired = FALSE)",
        warnings=tuple(warnings),
    )


@dataclasses.dataclass(frozen=True)
class HolmAdjusted:
    """Holm-adjusted p-values, aligned with the input; missing p-values stay NaN and do not
    count as tests."""

    p: np.ndarray
    adjusted: np.ndarray
    n_tests: int
    method: str


def holm(pvalues: Sequence[Any] | np.ndarray | pd.Series) -> HolmAdjusted:
    r"""Holm's step-down adjustment of p-values for multiple testing.

    Parameters
    ----------
    pvalues
        p-values in [0, 1]; NaN/None = missing (kept as NaN, not counted among the tests).

    Returns
    -------
    HolmAdjusted

    Notes
    -----
    With the :math:`k` non-missing p-values sorted, :math:`p_{(1)} \le \dots \le p_{(k)}`,

    .. math::

        \tilde p_{(i)} = \min\Big(1, \max_{j \le i} (k - j + 1)\, p_{(j)}\Big),

    returned in the input order (Holm 1979). It controls the family-wise error rate under any
    dependence and is uniformly more powerful than Bonferroni.

    Reference: Holm, S. (1979). A simple sequentially rejective multiple test procedure.
    Scandinavian Journal of Statistics, 6, 65-70.

    In R: ``p.adjust(p, method = "holm")``.

    Examples
    --------
    >>> from validation.stats import holm
    >>> res = holm([0.9, 0.001, 0.02, 0.3, 0.011])
    >>> res.adjusted.round(3).tolist()
    [0.9, 0.005, 0.06, 0.6, 0.044]

    In R: ``p.adjust(c(0.9, 0.001, 0.02, 0.3, 0.011), method = "holm")`` gives
    0.9, 0.005, 0.06, 0.6, 0.044. A missing p-value stays missing and is not counted:

    >>> res = holm([0.01, None, 0.04])
    >>> res.adjusted.tolist(), res.n_tests
    ([0.02, nan, 0.04], 2)
    """
    p = _as_float(pvalues, "pvalues")
    seen = p[~np.isnan(p)]
    if ((seen < 0) | (seen > 1)).any():
        raise ValueError("pvalues must lie in [0, 1]")
    out = np.full(p.shape, np.nan)
    idx = np.flatnonzero(~np.isnan(p))
    k = idx.size
    if k:
        o = np.argsort(p[idx], kind="stable")
        adj = np.minimum(1.0, np.maximum.accumulate((k - np.arange(k)) * p[idx][o]))
        res = np.empty(k)
        res[o] = adj
        out[idx] = res
    return HolmAdjusted(p=p, adjusted=out, n_tests=int(k), method="Holm (1979) step-down")


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

    Examples
    --------
    >>> from validation.stats import roc_curve
    >>> y, s = [0, 1, 0, 1], [1, 2, 3, 4]
    >>> res = roc_curve(y, s)
    >>> res.thresholds.tolist()
    [-inf, 1.5, 2.5, 3.5, inf]
    >>> res.sensitivity.tolist(), res.specificity.tolist()
    ([1.0, 1.0, 0.5, 0.5, 0.0], [0.0, 0.5, 0.5, 1.0, 1.0])
    >>> for p in res.youden:  # Youden's J ties at two thresholds
    ...     print(f"threshold {p.threshold}: sensitivity {p.sensitivity}, specificity {p.specificity}")
    threshold 1.5: sensitivity 1.0, specificity 0.5
    threshold 3.5: sensitivity 0.5, specificity 1.0

    In R: ``pROC::coords(pROC::roc(y, s, levels = c(0, 1), direction = "<"), "best", best.method =
    "youden")`` gives the same two thresholds, 1.5 and 3.5.
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
# Cutoff table
# --------------------------------------------------------------------------------------------


def _wilson(x: np.ndarray, n: np.ndarray, z: float) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval of x successes in n trials (NaN where n = 0), without continuity
    correction; exactly 0 / 1 at x = 0 / x = n, as R's prop.test."""
    x = np.asarray(x, dtype=float)
    n = np.asarray(n, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = x / n
        z22n = z * z / (2.0 * n)
        half = z * np.sqrt(p * (1.0 - p) / n + z22n / (2.0 * n))
        lo = (p + z22n - half) / (1.0 + 2.0 * z22n)
        hi = (p + z22n + half) / (1.0 + 2.0 * z22n)
    lo = np.where(x <= 0, 0.0, np.maximum(lo, 0.0))
    hi = np.where(x >= n, 1.0, np.minimum(hi, 1.0))
    empty = n <= 0
    lo[empty] = np.nan
    hi[empty] = np.nan
    return lo, hi


@dataclasses.dataclass(frozen=True)
class CutoffMeasure:
    """One figure of a cutoff table: ``estimate`` with its interval ``lower``-``upper`` at each
    threshold (arrays aligned with the thresholds), and the ``method`` of the interval."""

    estimate: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    method: str


@dataclasses.dataclass(frozen=True)
class BaseRateValues:
    """PPV and NPV recomputed for a population whose base rate of the outcome is ``base_rate``."""

    base_rate: float
    ppv: CutoffMeasure
    npv: CutoffMeasure


@dataclasses.dataclass(frozen=True)
class CutoffTable:
    """Classification figures at chosen thresholds, each with an interval.

    Arrays are aligned with ``thresholds``; ``tp``, ``fp``, ``fn``, ``tn`` are the 2x2 counts
    (positive = score >= threshold for direction "higher", <= for "lower"). Undefined values
    (a zero denominator) are NaN or infinite and are listed in ``warnings``;
    :func:`validation.results.to_dict` writes them as ``None``.
    """

    thresholds: np.ndarray
    tp: np.ndarray
    fp: np.ndarray
    fn: np.ndarray
    tn: np.ndarray
    sensitivity: CutoffMeasure
    specificity: CutoffMeasure
    ppv: CutoffMeasure
    npv: CutoffMeasure
    lr_positive: CutoffMeasure
    lr_negative: CutoffMeasure
    dor: CutoffMeasure
    nnd: CutoffMeasure
    base_rates: tuple[BaseRateValues, ...]
    level: float
    n_events: int
    n_nonevents: int
    n_dropped: int
    direction: str
    method: str
    warnings: tuple[str, ...]

    def to_frame(self) -> pd.DataFrame:
        """The table as a DataFrame, one row per threshold; each figure gives three columns
        (``x``, ``x_lower``, ``x_upper``); base-rate figures are named ``ppv_at_0.05`` etc."""
        cols: dict[str, Any] = {
            "threshold": self.thresholds,
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
            "tn": self.tn,
        }
        for name in ("sensitivity", "specificity", "ppv", "npv", "lr_positive", "lr_negative", "dor", "nnd"):
            m = getattr(self, name)
            cols[name], cols[f"{name}_lower"], cols[f"{name}_upper"] = m.estimate, m.lower, m.upper
        for br in self.base_rates:
            for name in ("ppv", "npv"):
                m = getattr(br, name)
                key = f"{name}_at_{br.base_rate:g}"
                cols[key], cols[f"{key}_lower"], cols[f"{key}_upper"] = m.estimate, m.lower, m.upper
        return pd.DataFrame(cols)


def _log_interval(est: np.ndarray, se: np.ndarray, z: float) -> tuple[np.ndarray, np.ndarray]:
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        le = np.log(est)
        return np.exp(le - z * se), np.exp(le + z * se)


def cutoff_table(
    y: Sequence[Any] | np.ndarray | pd.Series,
    score: Sequence[Any] | np.ndarray | pd.Series,
    thresholds: Sequence[float] | np.ndarray,
    base_rates: Sequence[float] = (0.01, 0.05),
    ci: float = 0.95,
    direction: str = "higher",
    base_rate_ci: str = "logit",
    haldane: bool = False,
) -> CutoffTable:
    r"""Sensitivity, specificity, predictive values, likelihood ratios, diagnostic odds ratio and
    number needed to detain at chosen thresholds, each with a confidence interval.

    Parameters
    ----------
    y
        Outcome, 1 = event, 0 = non-event (NaN = missing).
    score
        The risk score (NaN = missing).
    thresholds
        Cut points. For ``direction="higher"`` a case is positive when ``score >= t``; for
        ``"lower"``, when ``score <= t``.
    base_rates
        Base rates (prevalences, strictly between 0 and 1) at which PPV and NPV are recomputed.
    ci
        Confidence level of every interval.
    direction
        ``"higher"`` or ``"lower"``; never guessed.
    base_rate_ci
        Interval of the base-rate PPV/NPV: ``"logit"`` (Mercaldo et al. 2007's logit interval)
        or ``"adjusted-logit"`` (the same with Agresti-Coull-adjusted sensitivity and
        specificity, defined also when a cell is zero).
    haldane
        Add 0.5 to every cell of the 2x2 table, for the likelihood ratios and the diagnostic
        odds ratio only, at thresholds with a zero cell (Haldane-Anscombe correction). Off by
        default: those figures are then undefined there (NaN / infinite, listed in
        ``warnings``).

    Returns
    -------
    CutoffTable

    Notes
    -----
    With :math:`m = TP + FN` events and :math:`n = FP + TN` non-events:

    * sensitivity :math:`TP/m`, specificity :math:`TN/n`, PPV :math:`TP/(TP+FP)`, NPV
      :math:`TN/(TN+FN)`, each with the **Wilson score interval** without continuity correction
      (Wilson 1927): :math:`\big(\hat p + \frac{z^2}{2N} \pm z\sqrt{\frac{\hat p(1-\hat p)}{N}
      + \frac{z^2}{4N^2}}\big) / (1 + z^2/N)`;
    * :math:`LR^+ = \frac{TP/m}{FP/n}`, :math:`LR^- = \frac{FN/m}{TN/n}` with the **log
      method** of Simel, Samsa & Matchar (1991): :math:`\exp(\log LR \pm z\,s)`,
      :math:`s^2_{+} = \frac1{TP} - \frac1m + \frac1{FP} - \frac1n`, :math:`s^2_{-} =
      \frac1{FN} - \frac1m + \frac1{TN} - \frac1n`;
    * diagnostic odds ratio :math:`DOR = \frac{TP\cdot TN}{FP\cdot FN}` with the log (Woolf)
      interval, :math:`s^2 = \frac1{TP}+\frac1{FP}+\frac1{FN}+\frac1{TN}` (Glas et al. 2003);
    * number needed to detain :math:`NND = 1/PPV` (detentions per true positive), its interval
      the reciprocal of the PPV interval;
    * PPV and NPV at a base rate :math:`\pi` by Bayes' theorem, :math:`PPV_\pi = \frac{\pi\,
      Se}{\pi\,Se + (1-\pi)(1-Sp)}`, :math:`NPV_\pi = \frac{(1-\pi)Sp}{(1-\pi)Sp + \pi(1-Se)}`,
      with the **logit interval** of Mercaldo, Lau & Zhou (2007), which propagates the
      sampling error of sensitivity and specificity by the delta method:
      :math:`\operatorname{logit} PPV_\pi = \operatorname{logit}\pi + \log LR^+` with variance
      :math:`\frac{1-Se}{m\,Se} + \frac{Sp}{n(1-Sp)}` (which is :math:`s^2_+`), and
      :math:`\operatorname{logit} NPV_\pi = -\operatorname{logit}\pi - \log LR^-` with variance
      :math:`\frac{Se}{m(1-Se)} + \frac{1-Sp}{n\,Sp}` (:math:`s^2_-`). The interval is the
      inverse logit of :math:`\operatorname{logit} \pm z\sqrt{\text{variance}}`.
      ``"adjusted-logit"`` computes the same with :math:`Se, Sp` replaced by
      :math:`(TP + z^2/2)/(m + z^2)`, :math:`(TN + z^2/2)/(n + z^2)` and :math:`m, n` by
      :math:`m + z^2, n + z^2` (interval only; the estimate stays the plain Bayes value).

    Raises :class:`NotEstimable` when only one outcome class is present.

    References: Wilson, E. B. (1927). Probable inference, the law of succession, and statistical
    inference. JASA, 22, 209-212. Simel, D. L., Samsa, G. P. & Matchar, D. B. (1991).
    Likelihood ratios with confidence: sample size estimation for diagnostic test studies.
    Journal of Clinical Epidemiology, 44, 763-770. Glas, A. S. et al. (2003). The diagnostic odds
    ratio: a single indicator of test performance. Journal of Clinical Epidemiology, 56,
    1129-1135. Mercaldo, N. D., Lau, K. F. & Zhou, X. H. (2007). Confidence intervals for
    predictive values with an emphasis to case-control studies. Statistics in Medicine, 26,
    2170-2183.

    In R: ``prop.test(TP, TP + FN, correct = FALSE)$conf.int`` (and likewise) gives the Wilson
    intervals; the other figures are closed forms of the 2x2 counts.

    Examples
    --------
    >>> from validation.stats import cutoff_table
    >>> y = [0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1]
    >>> score = [1, 3, 2, 5, 4, 2, 6, 5, 7, 3, 8, 6]
    >>> res = cutoff_table(y, score, thresholds=[4, 5], base_rates=[0.05])
    >>> res.tp.tolist(), res.fp.tolist(), res.fn.tolist(), res.tn.tolist()
    ([5, 5], [2, 1], [1, 1], [4, 5])
    >>> se, sp = res.sensitivity, res.specificity
    >>> for i, t in enumerate(res.thresholds):
    ...     print(f"score >= {t:g}: sensitivity {se.estimate[i]:.3f} [{se.lower[i]:.3f}, {se.upper[i]:.3f}], "
    ...           f"specificity {sp.estimate[i]:.3f} [{sp.lower[i]:.3f}, {sp.upper[i]:.3f}]")
    score >= 4: sensitivity 0.833 [0.436, 0.970], specificity 0.667 [0.300, 0.903]
    score >= 5: sensitivity 0.833 [0.436, 0.970], specificity 0.833 [0.436, 0.970]
    >>> ppv = res.base_rates[0].ppv  # PPV where 5% have the outcome
    >>> print(f"PPV at a 5% base rate: {ppv.estimate[1]:.3f} [{ppv.lower[1]:.3f}, {ppv.upper[1]:.3f}]")
    PPV at a 5% base rate: 0.208 [0.041, 0.620]
    """
    level = check_level(ci)
    _check_direction(direction)
    if base_rate_ci not in ("logit", "adjusted-logit"):
        raise ValueError(f"base_rate_ci must be 'logit' or 'adjusted-logit', got {base_rate_ci!r}")
    thr = _as_float(thresholds, "thresholds")
    if thr.size == 0 or np.isnan(thr).any():
        raise ValueError("thresholds must be a non-empty sequence of numbers")
    rates = _as_float(base_rates, "base_rates")
    if np.isnan(rates).any() or ((rates <= 0) | (rates >= 1)).any():
        raise ValueError(f"base_rates must lie strictly between 0 and 1, got {rates.tolist()}")
    event, (s,), n_dropped = _prepare(y, (score, "score"))
    m, n = _need_both_classes(event, 1, "a cutoff table")
    se_sorted = np.sort(s[event])
    sn_sorted = np.sort(s[~event])
    if direction == "higher":
        tp = m - np.searchsorted(se_sorted, thr, side="left")
        fp = n - np.searchsorted(sn_sorted, thr, side="left")
    else:
        tp = np.searchsorted(se_sorted, thr, side="right")
        fp = np.searchsorted(sn_sorted, thr, side="right")
    tp = tp.astype(np.int64)
    fp = fp.astype(np.int64)
    fn = m - tp
    tn = n - fp
    z = float(stats.norm.ppf(1.0 - (1.0 - level) / 2.0))
    warnings: list[str] = []
    if n_dropped:
        warnings.append(f"{n_dropped} observation(s) with a missing outcome or score dropped")

    def fmt(mask: np.ndarray) -> str:
        return ", ".join(f"{t:g}" for t in thr[mask])

    with np.errstate(divide="ignore", invalid="ignore"):
        sens = tp / m
        spec = tn / n
        ppv = tp / (tp + fp)
        npv = tn / (tn + fn)
    wilson = "Wilson score (no continuity correction)"
    measures: dict[str, CutoffMeasure] = {}
    for name, x, nn, est in (
        ("sensitivity", tp, np.full(thr.shape, m), sens),
        ("specificity", tn, np.full(thr.shape, n), spec),
        ("ppv", tp, tp + fp, ppv),
        ("npv", tn, tn + fn, npv),
    ):
        lo, hi = _wilson(x, nn, z)
        measures[name] = CutoffMeasure(est, lo, hi, wilson)
    if (tp + fp == 0).any():
        warnings.append(f"PPV undefined (nobody positive) at threshold(s) {fmt(tp + fp == 0)}")
    if (tn + fn == 0).any():
        warnings.append(f"NPV undefined (nobody negative) at threshold(s) {fmt(tn + fn == 0)}")

    # likelihood ratios and diagnostic odds ratio (log method), optional Haldane correction
    zero = (tp == 0) | (fp == 0) | (fn == 0) | (tn == 0)
    c_tp, c_fp, c_fn, c_tn = (a.astype(float) for a in (tp, fp, fn, tn))
    if haldane and zero.any():
        add = np.where(zero, 0.5, 0.0)
        c_tp, c_fp, c_fn, c_tn = c_tp + add, c_fp + add, c_fn + add, c_tn + add
    c_m = c_tp + c_fn
    c_n = c_fp + c_tn
    with np.errstate(divide="ignore", invalid="ignore"):
        lrp = (c_tp / c_m) / (c_fp / c_n)
        lrn = (c_fn / c_m) / (c_tn / c_n)
        dor = (c_tp * c_tn) / (c_fp * c_fn)
        s_lrp = np.sqrt(1 / c_tp - 1 / c_m + 1 / c_fp - 1 / c_n)
        s_lrn = np.sqrt(1 / c_fn - 1 / c_m + 1 / c_tn - 1 / c_n)
        s_dor = np.sqrt(1 / c_tp + 1 / c_fp + 1 / c_fn + 1 / c_tn)
    corr = " (Haldane 0.5 added where a cell is 0)" if haldane else ""
    for name, est, sd, label in (
        ("lr_positive", lrp, s_lrp, "log method (Simel et al. 1991)"),
        ("lr_negative", lrn, s_lrn, "log method (Simel et al. 1991)"),
        ("dor", dor, s_dor, "log (Woolf) method"),
    ):
        lo, hi = _log_interval(est, sd, z)
        bad = ~np.isfinite(sd) | ~np.isfinite(est) | (est == 0)
        lo = np.where(bad, np.nan, lo)
        hi = np.where(bad, np.nan, hi)
        measures[name] = CutoffMeasure(est, lo, hi, label + corr)
    if zero.any():
        if haldane:
            warnings.append(f"0.5 added to every cell for LR+, LR- and DOR at threshold(s) {fmt(zero)} (a zero cell)")
        else:
            warnings.append(
                f"a zero cell at threshold(s) {fmt(zero)}: LR+, LR- and/or DOR and their intervals "
                "are undefined or infinite there (haldane=True adds 0.5 to every cell)"
            )
    with np.errstate(divide="ignore", invalid="ignore"):
        nnd = 1.0 / ppv
        nnd_lo = 1.0 / measures["ppv"].upper
        nnd_hi = 1.0 / measures["ppv"].lower
    measures["nnd"] = CutoffMeasure(nnd, nnd_lo, nnd_hi, "1/PPV, reciprocal of the Wilson PPV interval")

    # predictive values at base rates (Bayes), logit intervals (Mercaldo et al. 2007)
    if base_rate_ci == "logit":
        a_se, a_sp, a_m, a_n = sens, spec, float(m), float(n)
        br_label = "Bayes; logit interval (Mercaldo et al. 2007)"
    else:
        z2 = z * z
        a_se = (tp + z2 / 2.0) / (m + z2)
        a_sp = (tn + z2 / 2.0) / (n + z2)
        a_m, a_n = m + z2, n + z2
        br_label = "Bayes; adjusted logit interval (Mercaldo et al. 2007, Agresti-Coull-adjusted Se, Sp)"
    with np.errstate(divide="ignore", invalid="ignore"):
        v_ppv = (1 - a_se) / (a_m * a_se) + a_sp / (a_n * (1 - a_sp))
        v_npv = a_se / (a_m * (1 - a_se)) + (1 - a_sp) / (a_n * a_sp)
        l_lrp = np.log(a_se) - np.log(1 - a_sp)
        l_lrn = np.log(1 - a_se) - np.log(a_sp)
    brs = []
    undefined = np.zeros(thr.shape, dtype=bool)
    for pi in rates.tolist():
        lp = math.log(pi / (1 - pi))
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            ppv_pi = pi * sens / (pi * sens + (1 - pi) * (1 - spec))
            npv_pi = (1 - pi) * spec / ((1 - pi) * spec + pi * (1 - sens))
            mid_p = lp + l_lrp  # logit of the PPV at base rate pi
            mid_n = -lp - l_lrn  # logit of the NPV
            half_p = z * np.sqrt(v_ppv)
            half_n = z * np.sqrt(v_npv)
            p_lo, p_hi = special.expit(mid_p - half_p), special.expit(mid_p + half_p)
            n_lo, n_hi = special.expit(mid_n - half_n), special.expit(mid_n + half_n)
        bad_p = ~np.isfinite(mid_p) | ~np.isfinite(half_p)
        bad_n = ~np.isfinite(mid_n) | ~np.isfinite(half_n)
        undefined |= bad_p | bad_n
        brs.append(
            BaseRateValues(
                base_rate=float(pi),
                ppv=CutoffMeasure(ppv_pi, np.where(bad_p, np.nan, p_lo), np.where(bad_p, np.nan, p_hi), br_label),
                npv=CutoffMeasure(npv_pi, np.where(bad_n, np.nan, n_lo), np.where(bad_n, np.nan, n_hi), br_label),
            )
        )
    if undefined.any():
        warnings.append(
            f"logit interval of the base-rate PPV/NPV undefined at threshold(s) {fmt(undefined)} "
            "(sensitivity or specificity is 0 or 1); base_rate_ci='adjusted-logit' gives one"
        )
    return CutoffTable(
        thresholds=thr,
        tp=tp,
        fp=fp,
        fn=fn,
        tn=tn,
        sensitivity=measures["sensitivity"],
        specificity=measures["specificity"],
        ppv=measures["ppv"],
        npv=measures["npv"],
        lr_positive=measures["lr_positive"],
        lr_negative=measures["lr_negative"],
        dor=measures["dor"],
        nnd=measures["nnd"],
        base_rates=tuple(brs),
        level=level,
        n_events=m,
        n_nonevents=n,
        n_dropped=n_dropped,
        direction=direction,
        method=f"2x2 tables at each threshold (positive = score {'>=' if direction == 'higher' else '<='} threshold)",
        warnings=tuple(warnings),
    )


# --------------------------------------------------------------------------------------------
# Calibration of risk bands
# --------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class TrendTest:
    """Cochran-Armitage test for a linear trend of the event rate over ordered bands:
    ``chisq`` on ``df`` = 1, two-sided ``p``, with the band ``scores`` used, and the sign of the
    trend (``"increasing"``, ``"decreasing"`` or ``"flat"``)."""

    chisq: float
    df: int
    p: float
    scores: tuple[float, ...]
    trend: str
    method: str


@dataclasses.dataclass(frozen=True)
class BandCalibration:
    """Observed event rate in each risk band, in the given order, with Wilson intervals.

    ``trend`` is the Cochran-Armitage test over the non-empty bands, or ``None`` with the
    reason in ``trend_not_estimable``.
    """

    bands: tuple[str, ...]
    n: np.ndarray
    events: np.ndarray
    rate: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    level: float
    trend: TrendTest | None
    trend_not_estimable: str | None
    n_dropped: int
    method: str
    warnings: tuple[str, ...]

    def to_frame(self) -> pd.DataFrame:
        """One row per band: n, events, rate and its interval."""
        return pd.DataFrame(
            {"band": list(self.bands), "n": self.n, "events": self.events, "rate": self.rate,
             "lower": self.lower, "upper": self.upper}
        )


def band_calibration(
    y: Sequence[Any] | np.ndarray | pd.Series,
    band: Sequence[Any] | np.ndarray | pd.Series,
    order: Sequence[Any] = ("L", "M", "H"),
    ci: float = 0.95,
    scores: Sequence[float] | None = None,
) -> BandCalibration:
    r"""Observed outcome rate per ordered risk band, with Wilson intervals and a trend test.

    Parameters
    ----------
    y
        Outcome, 1 = event, 0 = non-event (NaN = missing).
    band
        The band of each case (e.g. "L", "M", "H"); None/NaN = missing. Every other value must
        appear in ``order``.
    order
        The bands from lowest to highest risk.
    ci
        Confidence level of the Wilson intervals.
    scores
        Scores of the bands for the trend test; default 1, 2, ..., in ``order``.

    Returns
    -------
    BandCalibration

    Notes
    -----
    Band :math:`k` with :math:`n_k` cases and :math:`x_k` events has rate :math:`x_k/n_k` with
    the Wilson score interval (no continuity correction). The Cochran-Armitage trend test
    (Cochran 1954; Armitage 1955) over bands with scores :math:`s_k`, pooled rate
    :math:`\bar p = \sum x_k / \sum n_k` and :math:`\bar s = \sum n_k s_k / \sum n_k`:

    .. math::

        \chi^2_1 = \frac{\big[\sum_k x_k (s_k - \bar s)\big]^2}{\bar p (1 - \bar p)
        \sum_k n_k (s_k - \bar s)^2}.

    Empty bands keep their row (n = 0, rate undefined) and are left out of the test, the other
    bands keeping their scores. The test is not estimable with fewer than two non-empty bands or
    when nobody, or everybody, has the outcome.

    References: Cochran, W. G. (1954). Some methods for strengthening the common chi-squared
    tests. Biometrics, 10, 417-451. Armitage, P. (1955). Tests for linear trends in proportions
    and frequencies. Biometrics, 11, 375-386.

    In R: ``prop.trend.test(x, n)`` (``score = scores``) and ``prop.test(x_k, n_k, correct =
    FALSE)$conf.int``.

    Examples
    --------
    Eleven cases in the low and high bands; nobody in the middle band:

    >>> from validation.stats import band_calibration
    >>> y = [0, 0, 0, 1, 0, 1, 1, 1, 0, 1, 1]
    >>> band = ["L"] * 5 + ["H"] * 6
    >>> res = band_calibration(y, band, order=("L", "M", "H"))
    >>> for b, n, r, lo, hi in zip(res.bands, res.n, res.rate, res.lower, res.upper):
    ...     print(f"{b}: n = {n}, rate {r:.3f} [{lo:.4f}, {hi:.4f}]")
    L: n = 5, rate 0.200 [0.0362, 0.6245]
    M: n = 0, rate nan [nan, nan]
    H: n = 6, rate 0.833 [0.4365, 0.9699]
    >>> print(f"trend: chi-square {res.trend.chisq:.4f}, p = {res.trend.p:.4f} ({res.trend.trend})")
    trend: chi-square 4.4122, p = 0.0357 (increasing)

    In R: ``prop.trend.test(c(1, 5), c(5, 6), score = c(1, 3))`` gives chi-square 4.4122,
    p = 0.0357, and ``prop.test(1, 5, correct = FALSE)$conf.int`` the interval [0.0362, 0.6245].
    """
    level = check_level(ci)
    order = tuple(order)
    if len(order) < 1 or len(set(order)) != len(order):
        raise ValueError(f"order must list distinct band labels, got {order!r}")
    if scores is None:
        sc = np.arange(1.0, len(order) + 1.0)
    else:
        sc = _as_float(scores, "scores")
        if sc.size != len(order) or np.isnan(sc).any():
            raise ValueError(f"scores must give one number per band in order ({len(order)}), got {list(scores)!r}")
    yy = _as_outcome(y)
    bb = pd.Series(band, dtype=object) if not isinstance(band, pd.Series) else band.astype(object)
    if bb.shape[0] != yy.shape[0]:
        raise ValueError(f"y and band must have the same length, got {yy.shape[0]} and {bb.shape[0]}")
    missing_band = bb.isna().to_numpy()
    labels = bb.to_numpy()
    known = set(order)
    unknown = sorted({str(v) for v, miss in zip(labels, missing_band) if not miss and v not in known})
    if unknown:
        raise ValueError(f"band values {unknown} are not in order {list(order)}")
    keep = ~missing_band & ~np.isnan(yy)
    n_dropped = int((~keep).sum())
    index = {lab: i for i, lab in enumerate(order)}
    code = np.array([index[v] for v in labels[keep]], dtype=np.int64)
    ev = yy[keep] == 1
    k = len(order)
    n_k = np.bincount(code, minlength=k)
    x_k = np.bincount(code[ev], minlength=k)
    z = float(stats.norm.ppf(1.0 - (1.0 - level) / 2.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = x_k / n_k
    lo, hi = _wilson(x_k, n_k, z)
    warnings: list[str] = []
    if n_dropped:
        warnings.append(f"{n_dropped} observation(s) with a missing outcome or band dropped")
    empty = n_k == 0
    if empty.any():
        warnings.append(f"no case in band(s) {[order[i] for i in np.flatnonzero(empty)]}: rate undefined")
    trend = None
    reason = None
    use = ~empty
    if use.sum() < 2:
        reason = "not estimable: the trend test needs at least two non-empty bands"
    else:
        nn, xx, ss = n_k[use].astype(float), x_k[use].astype(float), sc[use]
        pbar = xx.sum() / nn.sum()
        sbar = float(np.sum(nn * ss) / nn.sum())
        denom = pbar * (1 - pbar) * float(np.sum(nn * (ss - sbar) ** 2))
        if pbar in (0.0, 1.0):
            reason = f"not estimable: the trend test needs both outcomes, the pooled rate is {pbar:g}"
        elif denom == 0.0:
            reason = "not estimable: the trend test needs at least two distinct band scores"
        else:
            num = float(np.sum(xx * (ss - sbar)))
            chisq = num**2 / denom
            trend = TrendTest(
                chisq=float(chisq),
                df=1,
                p=float(stats.chi2.sf(chisq, 1)),
                scores=tuple(float(v) for v in sc),
                trend="increasing" if num > 0 else ("decreasing" if num < 0 else "flat"),
                method="Cochran-Armitage test for trend (as prop.trend.test)",
            )
    return BandCalibration(
        bands=tuple(str(b) for b in order),
        n=n_k,
        events=x_k,
        rate=rate,
        lower=lo,
        upper=hi,
        level=level,
        trend=trend,
        trend_not_estimable=reason,
        n_dropped=n_dropped,
        method="observed rate per band, Wilson score intervals (no continuity correction)",
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


def _smaller_before(keys: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """For each position p, the total weight of the earlier positions q < p with a smaller key.

    A bottom-up merge sort, one vectorised pass per level: at level L the sequence is cut into
    blocks of 2**(L+1) positions whose two halves are already sorted by key; a stable sort of
    (block, key, right half first) merges them -- two sorted runs per block, which timsort
    merges in linear time -- and each element of a right half is credited with the cumulative
    weight of the left-half elements merged before it (all with a smaller key, equal keys of
    the right half sorting first). O(N log N); no Python loop over elements.
    """
    n = int(keys.size)
    out = np.zeros(n)
    if n < 2:
        return out
    keys = keys.astype(np.int64) - int(keys.min())
    width = int(keys.max()) + 1
    w = np.asarray(weights, dtype=float)
    order = np.arange(n, dtype=np.int64)
    lev = 0
    while (1 << lev) < n:
        blk = order >> (lev + 1)
        right = (order >> lev) & 1
        comp = (blk * width + keys[order]) * 2 + (1 - right)
        o = np.argsort(comp, kind="stable")
        order = order[o]
        is_right = right[o].astype(bool)
        cw = np.cumsum(np.where(is_right, 0.0, w[order]))
        at = np.flatnonzero(is_right)
        start = (order[at] >> (lev + 1)) << (lev + 1)  # where the block starts in the sequence
        base = np.where(start > 0, cw[np.maximum(start - 1, 0)], 0.0)
        out[order[at]] += cw[at] - base
        lev += 1
    return out


def _concordance_pairs(
    time: np.ndarray, event: np.ndarray, risk: np.ndarray, weight: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Per-observation counts of the comparable pairs it belongs to, by outcome of the pair.

    A pair is comparable when the shorter time is an event; a censored time equal to an event
    time counts as the longer; two events at the same time are not comparable. The pair is
    concordant when the earlier event has the higher ``risk``. Each pair carries the ``weight``
    of its earlier member (1 by default; Uno's C uses inverse squared censoring probabilities).

    Returns the weighted counts of concordant, discordant and risk-tied pairs per observation
    (each pair counted once for each of its two members) and the weighted number of pairs of
    events tied in time.

    With the key ``k = 2 * time rank + censored``, the comparable later partners of event i are
    exactly the observations with a larger key, and the earlier events comparable with
    observation j are the events with a smaller key. Each count is a "smaller earlier" count
    (:func:`_smaller_before`) along the observations sorted by key -- descending for the first
    member, ascending for the second -- with equal keys ordered by risk so that they never
    count each other.
    """
    n = int(time.size)
    w = np.ones(n) if weight is None else np.asarray(weight, dtype=float)
    _, trank = np.unique(time, return_inverse=True)
    _, rrank = np.unique(risk, return_inverse=True)
    rrank = rrank.astype(np.int64)
    key = 2 * trank.astype(np.int64) + (~event).astype(np.int64)
    conc = np.zeros(n)
    disc = np.zeros(n)
    tied = np.zeros(n)
    ev = np.flatnonzero(event)
    if ev.size == 0:
        return conc, disc, tied, 0.0
    ones = np.ones(n)
    # the earlier member: event i against every observation with a larger key (unweighted)
    o = np.lexsort((-rrank, -key))  # key descending; equal keys by risk descending
    lower = np.empty(n)
    lower[o] = _smaller_before(rrank[o], ones[o])  # later partners with a lower risk
    o = np.lexsort((rrank, -key))
    higher = np.empty(n)
    higher[o] = _smaller_before(-rrank[o], ones[o])  # later partners with a higher risk
    larger_key = n - np.searchsorted(np.sort(key), key, side="right")
    we = w[ev]
    conc[ev] += we * lower[ev]
    disc[ev] += we * higher[ev]
    tied[ev] += we * (larger_key[ev] - lower[ev] - higher[ev])
    # the later member: observation j against the events with a smaller key (event weights)
    wt = np.where(event, w, 0.0)
    o = np.lexsort((-rrank, key))  # key ascending; equal keys by risk descending
    ev_lower = np.empty(n)
    ev_lower[o] = _smaller_before(rrank[o], wt[o])  # earlier events with a lower risk
    o = np.lexsort((rrank, key))
    ev_higher = np.empty(n)
    ev_higher[o] = _smaller_before(-rrank[o], wt[o])  # earlier events with a higher risk
    ko = np.argsort(key, kind="stable")
    cum = np.concatenate([[0.0], np.cumsum(wt[ko])])
    ev_smaller_key = cum[np.searchsorted(key[ko], key, side="left")]
    conc += ev_higher
    disc += ev_lower
    tied += ev_smaller_key - ev_lower - ev_higher
    # events tied in time: d(d - 1)/2 pairs at each event time, weighted
    dcount = np.bincount(trank[ev], minlength=int(trank.max()) + 1)
    wsum = np.bincount(trank[ev], weights=we, minlength=int(trank.max()) + 1)
    wt_time = np.where(dcount > 0, wsum / np.maximum(dcount, 1), 0.0)
    tied_time = float(np.sum(wt_time * dcount * (dcount - 1) / 2.0))
    return conc, disc, tied, tied_time


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
    and score-tied comparable pairs that observation :math:`i` belongs to. The pair counts are
    "smaller earlier" counts along the time order, computed by a bottom-up merge sort with one
    vectorised pass per level: :math:`O(N \log N)` with no per-observation Python loop
    (100,000 cases in about 0.3 s).

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

    Examples
    --------
    Sixteen cases followed up for up to 9 months (event 0 = censored), with a risk score:

    >>> from validation.stats import harrell_c
    >>> time = [1, 2, 2, 3, 4, 4, 5, 6, 7, 8, 2, 3, 3, 5, 9, 9]
    >>> event = [1, 1, 0, 1, 0, 1, 1, 0, 1, 1, 1, 0, 1, 1, 0, 1]
    >>> score = [5, 3, 4, 4, 2, 3, 1, 2, 1, 0, 5, 2, 2, 1, 0, 1]
    >>> res = harrell_c(time, event, score)
    >>> print(f"C = {res.c:.4f}, se = {res.se:.4f}, 95% CI [{res.ci.lower:.4f}, {res.ci.upper:.4f}]")
    C = 0.8647, se = 0.0388, 95% CI [0.7887, 0.9407]
    >>> res.concordant, res.discordant, res.tied_risk, res.tied_time
    (68, 6, 11, 3)
    """
    level = check_level(ci)
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
    c_i, d_i, t_i, tied_time_f = _concordance_pairs(t, ev, risk)
    tied_time = int(round(tied_time_f))
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
