"""Closed-form precision: the sample size at which a confidence interval reaches a given width.

Used to say how many cases would decide an inconclusive verdict (an interval straddling a cut-off):
the interval excludes the cut-off once its width is below twice the distance of the estimate from
the cut-off, if the estimate stays where it is.

* :func:`icc_sample_size`: Bonett (2002a) for an intraclass correlation rated by ``k`` raters;
* :func:`alpha_sample_size`: Bonett (2002b) for coefficient alpha of ``k`` items;
* :func:`auc_standard_error` and :func:`auc_sample_size`: Hanley & McNeil (1982) for the area under
  the ROC curve at a given share of events;
* :func:`scaled_sample_size`: the width of any regular estimator's interval shrinks as
  ``1/sqrt(n)`` (used where no closed form is named: omega, kappa, C-index).

References
----------
Bonett, D. G. (2002a). Sample size requirements for estimating intraclass correlations with desired
precision. Statistics in Medicine, 21, 1331-1335.
Bonett, D. G. (2002b). Sample size requirements for testing and estimating coefficient alpha.
Journal of Educational and Behavioral Statistics, 27, 335-340.
Hanley, J. A., & McNeil, B. J. (1982). The meaning and use of the area under a receiver operating
characteristic (ROC) curve. Radiology, 143, 29-36.
"""

from __future__ import annotations

import math

from scipy.stats import norm

from validation.stats._checks import check_level

__all__ = ["icc_sample_size", "alpha_sample_size", "auc_standard_error", "auc_sample_size",
           "scaled_sample_size"]


def _z(level: float) -> float:
    return float(norm.ppf(0.5 + check_level(level) / 2))


def _check_width(width: float) -> float:
    if not (isinstance(width, (int, float)) and math.isfinite(width) and width > 0):
        raise ValueError(f"width must be a positive number, got {width!r}")
    return float(width)


def icc_sample_size(icc: float, n_raters: int, width: float, level: float = 0.95) -> int:
    """Targets needed for an ICC interval of total ``width`` (Bonett 2002a).

    ``n = 8 z^2 (1 - rho)^2 (1 + (k - 1) rho)^2 / (k (k - 1) w^2) + 1``, rounded up, for a planning
    value ``rho`` of the ICC, ``k`` raters per target and confidence ``level``; with two raters and
    ``rho >= 0.7`` Bonett adds ``5 rho``, since the approximation is too optimistic there.

    Examples
    --------
    Bonett's example, rho = 0.85, k = 4, a 95% interval of width 0.2: n = 19.2, so 20 targets.

    >>> icc_sample_size(0.85, 4, 0.2)
    20
    >>> icc_sample_size(0.8, 2, 0.2)         # 50.8 + 5 x 0.8 = 54.8
    55
    """
    if not (-1 < icc < 1):
        raise ValueError(f"icc must lie in (-1, 1), got {icc!r}")
    if int(n_raters) != n_raters or n_raters < 2:
        raise ValueError(f"n_raters must be a whole number of at least 2, got {n_raters!r}")
    k, w, z = int(n_raters), _check_width(width), _z(level)
    n = 8 * z ** 2 * (1 - icc) ** 2 * (1 + (k - 1) * icc) ** 2 / (k * (k - 1) * w ** 2) + 1
    if k == 2 and icc >= 0.7:
        n += 5 * icc
    return math.ceil(n - 1e-9)


def alpha_sample_size(alpha: float, n_items: int, width: float, level: float = 0.95) -> int:
    """Cases needed for a coefficient-alpha interval of total ``width`` (Bonett 2002b).

    ``n = 8 k (1 - alpha)^2 z^2 / ((k - 1) w^2) + 2``, rounded up, for a planning value of alpha,
    ``k`` items and confidence ``level`` (from the variance ``2k / ((k - 1)(n - 2))`` of
    ``ln(1 - alpha)``).

    Examples
    --------
    Alpha 0.75 of 5 items, a 95% interval of width 0.15: 108.7, so 109 cases (as Bonett's
    ``statpsych::size.ci.cronbach``).

    >>> alpha_sample_size(0.75, 5, 0.15)
    109
    """
    if not (-math.inf < alpha < 1):
        raise ValueError(f"alpha must be below 1, got {alpha!r}")
    if int(n_items) != n_items or n_items < 2:
        raise ValueError(f"n_items must be a whole number of at least 2, got {n_items!r}")
    k, w, z = int(n_items), _check_width(width), _z(level)
    n = 8 * k * (1 - alpha) ** 2 * z ** 2 / ((k - 1) * w ** 2) + 2
    return math.ceil(n - 1e-9)


def auc_standard_error(auc: float, n_events: float, n_nonevents: float) -> float:
    """Standard error of an AUC by Hanley & McNeil (1982, eq. 2) with the exponential
    approximations ``Q1 = A / (2 - A)`` and ``Q2 = 2 A^2 / (1 + A)``.

    Examples
    --------
    Hanley & McNeil's example, A = 0.85 with 40 abnormal and 40 normal cases, then 60 and 60:

    >>> round(auc_standard_error(0.85, 40, 40), 4), round(auc_standard_error(0.85, 60, 60), 4)
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


def auc_sample_size(auc: float, event_share: float, width: float, level: float = 0.95) -> int:
    """Cases (events and non-events together, events a share ``event_share`` of them) needed for
    a Wald interval ``auc +/- z SE`` of total ``width``, with the Hanley & McNeil (1982) SE.

    Examples
    --------
    >>> auc_sample_size(0.75, 0.1, 0.1)
    1300
    """
    if not (0 < event_share < 1):
        raise ValueError(f"event_share must lie in (0, 1), got {event_share!r}")
    w, z = _check_width(width), _z(level)

    def wide(n: int) -> bool:
        return 2 * z * auc_standard_error(auc, event_share * n, (1 - event_share) * n) > w

    lo = max(2, math.ceil(1 / min(event_share, 1 - event_share)))
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
