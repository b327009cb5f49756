"""Planning the next study in closed form: the sample size at which an interval reaches a given
width, and the power of the CFA's RMSEA tests.

Used to say how many cases would decide an inconclusive verdict (an interval straddling a cut-off):
the interval excludes the cut-off once its width is below twice the distance of the estimate from
the cut-off, if the estimate stays where it is.

* :func:`icc_n_for_width`: Bonett (2002a) for an intraclass correlation rated by ``k`` raters;
* :func:`alpha_n_for_width`: Bonett (2002b) for coefficient alpha of ``k`` items;
* :func:`auc_se_hanley_mcneil` and :func:`auc_n_for_width`: Hanley & McNeil (1982) for the area under
  the ROC curve at a given share of events;
* :func:`scaled_sample_size`: the width of any regular estimator's interval shrinks as
  ``1/sqrt(n)`` (used where no closed form is named: omega, kappa, C-index);
* :func:`rmsea_power` and :func:`rmsea_n_for_power`: MacCallum, Browne & Sugawara (1996) for the
  tests of close, not-close and exact fit of a factor model.

References
----------
Bonett, D. G. (2002a). Sample size requirements for estimating intraclass correlations with desired
precision. Statistics in Medicine, 21, 1331-1335.
Bonett, D. G. (2002b). Sample size requirements for testing and estimating coefficient alpha.
Journal of Educational and Behavioral Statistics, 27, 335-340.
Hanley, J. A., & McNeil, B. J. (1982). The meaning and use of the area under a receiver operating
characteristic (ROC) curve. Radiology, 143, 29-36.
MacCallum, R. C., Browne, M. W., & Sugawara, H. M. (1996). Power analysis and determination of sample
size for covariance structure modeling. Psychological Methods, 1, 130-149.
"""

from __future__ import annotations

import math

from scipy.stats import chi2, ncx2, norm

from validation.stats._checks import check_level

__all__ = ["icc_n_for_width", "alpha_n_for_width", "auc_se_hanley_mcneil", "auc_n_for_width",
           "scaled_sample_size", "rmsea_power", "rmsea_n_for_power"]


def _z(level: float) -> float:
    return float(norm.ppf(0.5 + check_level(level) / 2))


def _check_width(width: float) -> float:
    if not (isinstance(width, (int, float)) and math.isfinite(width) and width > 0):
        raise ValueError(f"width must be a positive number, got {width!r}")
    return float(width)


def icc_n_for_width(icc: float, k: int, width: float, ci: float = 0.95) -> int:
    """Targets needed for an ICC interval of total ``width`` (Bonett 2002a).

    ``n = 8 z^2 (1 - rho)^2 (1 + (k - 1) rho)^2 / (k (k - 1) w^2) + 1``, rounded up, for a planning
    value ``rho`` of the ICC, ``k`` raters per target and confidence ``level``; with two raters and
    ``rho >= 0.7`` Bonett adds ``5 rho``, since the approximation is too optimistic there.

    Examples
    --------
    Bonett's example, rho = 0.85, k = 4, a 95% interval of width 0.2: n = 19.2, so 20 targets.

    >>> icc_n_for_width(0.85, 4, 0.2)
    20
    >>> icc_n_for_width(0.8, 2, 0.2)         # 50.8 + 5 x 0.8 = 54.8
    55
    """
    if not (-1 < icc < 1):
        raise ValueError(f"icc must lie in (-1, 1), got {icc!r}")
    if int(k) != k or k < 2:
        raise ValueError(f"k (raters a target) must be a whole number of at least 2, got {k!r}")
    k, w, z = int(k), _check_width(width), _z(ci)
    n = 8 * z ** 2 * (1 - icc) ** 2 * (1 + (k - 1) * icc) ** 2 / (k * (k - 1) * w ** 2) + 1
    if k == 2 and icc >= 0.7:
        n += 5 * icc
    return math.ceil(n - 1e-9)


def alpha_n_for_width(alpha: float, k_items: int, width: float, ci: float = 0.95) -> int:
    """Cases needed for a coefficient-alpha interval of total ``width`` (Bonett 2002b).

    ``n = 8 k (1 - alpha)^2 z^2 / ((k - 1) w^2) + 2``, rounded up, for a planning value of alpha,
    ``k`` items and confidence ``level`` (from the variance ``2k / ((k - 1)(n - 2))`` of
    ``ln(1 - alpha)``).

    Examples
    --------
    Alpha 0.75 of 5 items, a 95% interval of width 0.15: 108.7, so 109 cases (as Bonett's
    ``statpsych::size.ci.cronbach``).

    >>> alpha_n_for_width(0.75, 5, 0.15)
    109
    """
    if not (-math.inf < alpha < 1):
        raise ValueError(f"alpha must be below 1, got {alpha!r}")
    if int(k_items) != k_items or k_items < 2:
        raise ValueError(f"k_items must be a whole number of at least 2, got {k_items!r}")
    k, w, z = int(k_items), _check_width(width), _z(ci)
    n = 8 * k * (1 - alpha) ** 2 * z ** 2 / ((k - 1) * w ** 2) + 2
    return math.ceil(n - 1e-9)


def auc_se_hanley_mcneil(auc: float, n_events: float, n_nonevents: float) -> float:
    """Standard error of an AUC by Hanley & McNeil (1982, eq. 2) with the exponential
    approximations ``Q1 = A / (2 - A)`` and ``Q2 = 2 A^2 / (1 + A)``.

    Examples
    --------
    Hanley & McNeil's example, A = 0.85 with 40 abnormal and 40 normal cases, then 60 and 60:

    >>> round(auc_se_hanley_mcneil(0.85, 40, 40), 4), round(auc_se_hanley_mcneil(0.85, 60, 60), 4)
    (0.0437, 0.0356)
    """
    if not (0 < auc < 1):
        raise ValueError(f"auc must lie in (0, 1), got {auc!r}")
    if n_events < 1 or n_nonevents < 1:
        raise ValueError("n_events and n_nonevents must be at least 1")
    q1, q2 = auc / (2 - auc), 2 * auc ** 2 / (1 + auc)
    var = (auc * (1 - auc) + (n_events - 1) * (q1 - auc ** 2) + (n_nonevents - 1) * (q2 - auc ** 2)) / (
        n_events * n_nonevents)
    return math.sqrt(var)


def auc_n_for_width(auc: float, prevalence: float, width: float, ci: float = 0.95) -> int:
    """Cases (events and non-events together, events a share ``prevalence`` of them) needed for
    a Wald interval ``auc +/- z SE`` of total ``width``, with the Hanley & McNeil (1982) SE.

    Examples
    --------
    >>> auc_n_for_width(0.75, 0.1, 0.1)
    1300
    """
    if not (0 < prevalence < 1):
        raise ValueError(f"prevalence must lie in (0, 1), got {prevalence!r}")
    w, z = _check_width(width), _z(ci)

    def wide(n: int) -> bool:
        return 2 * z * auc_se_hanley_mcneil(auc, prevalence * n, (1 - prevalence) * n) > w

    lo = max(2, math.ceil(1 / min(prevalence, 1 - prevalence)))
    hi = lo
    while wide(hi):
        hi *= 2
        if hi > 10 ** 12:
            raise ValueError("no sample size reaches that width")
    while lo < hi:                           # the SE falls as n grows: bisect on n
        mid = (lo + hi) // 2
        lo, hi = (mid + 1, hi) if wide(mid) else (lo, mid)
    return lo


def scaled_sample_size(n: int, width_now: float, width_wanted: float) -> int:
    """Cases needed to narrow an interval of ``width_now`` on ``n`` cases to ``width_wanted``,
    since the width of a regular estimator's interval shrinks as ``1/sqrt(n)``.

    Examples
    --------
    Halving the width takes four times the cases:

    >>> scaled_sample_size(100, 0.4, 0.2)
    400
    """
    if int(n) != n or n < 1:
        raise ValueError(f"n must be a positive whole number, got {n!r}")
    ratio = _check_width(width_now) / _check_width(width_wanted)
    return math.ceil(n * ratio ** 2 - 1e-9)


def _chi2(df: float, ncp: float):
    return chi2(df) if ncp == 0 else ncx2(df, ncp)


def rmsea_power(df: int, n: int, rmsea0: float, rmsea1: float, alpha: float = 0.05, groups: int = 1) -> float:
    """Power of the RMSEA test of H0: RMSEA = ``rmsea0`` when it is ``rmsea1`` (MacCallum, Browne &
    Sugawara 1996): the model's chi-square is noncentral with ``ncp = (n - 1) df RMSEA^2 / groups``.
    ``rmsea0 < rmsea1``: the test of close fit (0.05 against 0.08), rejecting in the upper tail;
    ``rmsea0 > rmsea1``: the test of not-close fit (0.05 against 0.01), rejecting in the lower tail.

    Examples
    --------
    The test of close fit with 40 df and 200 cases (as ``semTools::findRMSEApower``):

    >>> round(rmsea_power(40, 200, 0.05, 0.08), 4)
    0.6885
    """
    if int(df) != df or df < 1:
        raise ValueError(f"df must be a whole number of at least 1, got {df!r}")
    if int(n) != n or n < 2:
        raise ValueError(f"n must be a whole number of at least 2, got {n!r}")
    if rmsea0 < 0 or rmsea1 < 0 or rmsea0 == rmsea1:
        raise ValueError(f"rmsea0 and rmsea1 must be different values >= 0, got {rmsea0!r} and {rmsea1!r}")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must lie in (0, 1), got {alpha!r}")
    ncp0 = (n - 1) * df * rmsea0 ** 2 / groups
    ncp1 = (n - 1) * df * rmsea1 ** 2 / groups
    if rmsea0 < rmsea1:
        crit = _chi2(df, ncp0).isf(alpha)
        return float(_chi2(df, ncp1).sf(crit))
    crit = _chi2(df, ncp0).ppf(alpha)
    return float(_chi2(df, ncp1).cdf(crit))


def rmsea_n_for_power(df: int, rmsea0: float, rmsea1: float, power: float = 0.8, alpha: float = 0.05,
                      groups: int = 1) -> int:
    """The smallest number of cases (per group) whose RMSEA test reaches more than ``power`` (the
    convention of ``semTools::findRMSEAsamplesize``); the power rises with n.

    Examples
    --------
    >>> rmsea_n_for_power(40, 0.05, 0.08)
    252
    """
    if not 0 < power < 1:
        raise ValueError(f"power must lie in (0, 1), got {power!r}")
    def enough(n: int) -> bool:
        return rmsea_power(df, n * groups, rmsea0, rmsea1, alpha, groups) > power
    lo, hi = 2, 2
    while not enough(hi):
        hi *= 2
        if hi > 10 ** 9:
            raise ValueError("no sample size reaches that power")
    while lo < hi:
        mid = (lo + hi) // 2
        lo, hi = (mid + 1, hi) if not enough(mid) else (lo, mid)
    return lo
