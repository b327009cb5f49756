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
  tests of close, not-close and exact fit of a factor model;
* :func:`auc_n_for_power`: Obuchowski & McClish (1997) for the test of an AUC against 0.5;
* :func:`kappa_n`: Donner & Eliasziw (1992) for testing kappa of two raters on a binary rating;
* :func:`events_for_c_width`: the cases and events for a C statistic's interval of a given width, with
  Newcombe's (2006) standard error (as Riley et al. 2021 plan an external validation);
* :func:`prediction_model_size`: the minimum sample size of Riley et al. (2020) for developing a
  prediction model with a given number of predictor parameters (binary or time-to-event outcome).

References
----------
Bonett, D. G. (2002a). Sample size requirements for estimating intraclass correlations with desired
precision. Statistics in Medicine, 21, 1331-1335.
Bonett, D. G. (2002b). Sample size requirements for testing and estimating coefficient alpha.
Journal of Educational and Behavioral Statistics, 27, 335-340.
Hanley, J. A., & McNeil, B. J. (1982). The meaning and use of the area under a receiver operating
characteristic (ROC) curve. Radiology, 143, 29-36.
Donner, A., & Eliasziw, M. (1992). A goodness-of-fit approach to inference procedures for the kappa
statistic: confidence interval construction, significance-testing and sample size estimation.
Statistics in Medicine, 11, 1511-1519.
MacCallum, R. C., Browne, M. W., & Sugawara, H. M. (1996). Power analysis and determination of sample
size for covariance structure modeling. Psychological Methods, 1, 130-149.
Newcombe, R. G. (2006). Confidence intervals for an effect size measure based on the Mann-Whitney
statistic. Part 2: asymptotic methods and evaluation. Statistics in Medicine, 25, 559-573.
Obuchowski, N. A., & McClish, D. K. (1997). Sample size determination for diagnostic accuracy studies
involving binormal ROC curve indices. Statistics in Medicine, 16, 1529-1542.
Riley, R. D., Ensor, J., Snell, K. I. E., et al. (2020). Calculating the sample size required for
developing a clinical prediction model. BMJ, 368, m441.
Riley, R. D., Debray, T. P. A., Collins, G. S., et al. (2021). Minimum sample size for external
validation of a clinical prediction model with a binary outcome. Statistics in Medicine, 40, 4230-4251.
"""

from __future__ import annotations

import dataclasses
import math

from scipy.stats import chi2, ncx2, norm

from validation.stats._checks import check_level
from validation.stats._roots import zeroin

__all__ = ["icc_n_for_width", "alpha_n_for_width", "auc_se_hanley_mcneil", "auc_n_for_width",
           "scaled_sample_size", "rmsea_power", "rmsea_n_for_power", "auc_n_for_power", "kappa_n", "events_for_c_width",
           "CStatisticSize", "prediction_model_size", "PredictionModelSize"]


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


def _obuchowski_variance(auc: float, ratio: float) -> float:
    # binormal ROC with equal variances: a = 1.414 Phi^-1(AUC), the constant as the paper prints it
    a2 = (float(norm.ppf(auc)) * 1.414) ** 2
    return 0.0099 * math.exp(-a2 / 2) * ((5 * a2 + 8) + (a2 + 8) / ratio)


def auc_n_for_power(auc: float, non_events_per_event: float = 1.0, alpha: float = 0.05, power: float = 0.8,
                    alternative: str = "two.sided") -> int:
    """Events needed to reject AUC = 0.5 with the given ``power`` when it is ``auc`` (Obuchowski &
    McClish 1997), with ``non_events_per_event`` non-events for each event:
    ``n = (z_a sqrt(V(0.5)) + z_b sqrt(V(AUC)))^2 / (AUC - 0.5)^2``, rounded up, where ``V`` is the
    binormal variance ``0.0099 exp(-a^2/2) ((5a^2 + 8) + (a^2 + 8) / ratio)``, ``a = 1.414 Phi^-1(AUC)``.

    Examples
    --------
    AUC 0.8, as many non-events as events, alpha 0.05 (two-sided), power 0.9 (as
    ``pROC::power.roc.test``: 16.6 events, so 17):

    >>> auc_n_for_power(0.8, 1.0, 0.05, 0.9)
    17
    """
    if not (isinstance(auc, (int, float)) and 0.5 < auc < 1):
        raise ValueError(f"auc must lie in (0.5, 1), got {auc!r}")
    if not (isinstance(non_events_per_event, (int, float)) and non_events_per_event > 0):
        raise ValueError(f"non_events_per_event must be positive, got {non_events_per_event!r}")
    if alternative not in ("two.sided", "one.sided"):
        raise ValueError(f"alternative must be 'two.sided' or 'one.sided', got {alternative!r}")
    a, pw = _check_share("alpha", alpha), _check_share("power", power)
    za = float(norm.isf(a / 2 if alternative == "two.sided" else a))
    zb = float(norm.ppf(pw))
    v0, va = _obuchowski_variance(0.5, non_events_per_event), _obuchowski_variance(auc, non_events_per_event)
    return math.ceil((za * math.sqrt(v0) + zb * math.sqrt(va)) ** 2 / (auc - 0.5) ** 2 - 1e-9)


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


def _check_share(name: str, value: float) -> float:
    if not (isinstance(value, (int, float)) and 0 < value < 1):
        raise ValueError(f"{name} must lie in (0, 1), got {value!r}")
    return float(value)


def _kappa_cells(kappa: float, p: float) -> tuple[float, float, float]:
    """Probabilities that two raters both say no, disagree, both say yes (Donner & Eliasziw 1992,
    the common-correlation model with prevalence ``p``)."""
    q = p * (1 - p)
    return (1 - p) ** 2 + kappa * q, 2 * (1 - kappa) * q, p ** 2 + kappa * q


def kappa_n(kappa0: float, kappa1: float, prevalence: float, alpha: float = 0.05, power: float = 0.8) -> int:
    """Cases two raters must rate (present / absent) to reject ``kappa = kappa0`` with the given
    ``power`` when it is ``kappa1`` (Donner & Eliasziw 1992, the goodness-of-fit test).

    The three cells (both absent, one each, both present) have probabilities
    ``P(k) = ((1-p)^2 + k p(1-p), 2(1-k) p(1-p), p^2 + k p(1-p))``; the test statistic is chi-square
    with 1 df, noncentral under ``kappa1`` with ``n sum (P(k1) - P(k0))^2 / P(k0)``. The sample size
    sets that noncentrality to the ``lambda`` at which the noncentral chi-square exceeds its
    central ``1 - alpha`` quantile with probability ``power`` (two-sided ``alpha``); rounded up.

    Examples
    --------
    kappa 0.4 against 0.6 at a prevalence of 0.3, alpha 0.05, power 0.8: 190.46, so 191 cases (the
    example of the ``kappaSize`` package's ``PowerBinary``):

    >>> kappa_n(0.4, 0.6, 0.3)
    191
    """
    for name, k in (("kappa0", kappa0), ("kappa1", kappa1)):
        if not (isinstance(k, (int, float)) and -1 < k < 1):
            raise ValueError(f"{name} must lie in (-1, 1), got {k!r}")
    if kappa0 == kappa1:
        raise ValueError(f"kappa0 and kappa1 must differ, got {kappa0!r} twice")
    p = _check_share("prevalence", prevalence)
    a, pw = _check_share("alpha", alpha), _check_share("power", power)
    p0, p1 = _kappa_cells(kappa0, p), _kappa_cells(kappa1, p)
    if min(*p0, *p1) < 0:
        raise ValueError(f"kappa {min(kappa0, kappa1)!r} is below the smallest kappa possible at prevalence {p!r} "
                         f"(-min(p, 1-p) / max(p, 1-p) = {-min(p, 1 - p) / max(p, 1 - p):.4f})")
    if min(p0) == 0:
        raise ValueError("a cell has probability 0 under kappa0: the test is not defined (kappa0 = 1?)")
    per_case = sum((b - c) ** 2 / c for b, c in zip(p1, p0))
    crit = float(chi2(1).isf(a))
    # the noncentral chi-square's probability below crit falls as lambda grows: 1 - power at the root
    lam = zeroin(lambda x: float(ncx2(1, x).cdf(crit)) - (1 - pw), 1e-8, 1e4, tol=1e-12)
    return math.ceil(lam / per_case - 1e-9)


@dataclasses.dataclass(frozen=True)
class CStatisticSize:
    """Cases and events for a C statistic's interval of a given width."""

    n: int                   # cases
    events: int              # events among them (rounded up)
    se: float                # Newcombe's SE of C at n cases


def _newcombe_se(c: float, share: float, n: float) -> float:
    m = n / 2 - 1
    return math.sqrt(c * (1 - c) * (1 + m * (1 - c) / (2 - c) + m * c / (1 + c)) / (n * n * share * (1 - share)))


def events_for_c_width(c: float, event_share: float, width: float = 0.1, ci: float = 0.95) -> CStatisticSize:
    """The cases, and events among them, for an interval ``C +/- z SE`` of total ``width`` around an
    anticipated C statistic (AUC, or Harrell's C of events by a horizon), events a share
    ``event_share`` of the cases.

    The SE is Newcombe's (2006) ``SE^2 = C(1-C) [1 + (n/2-1)(1-C)/(2-C) + (n/2-1)C/(1+C)] / (n^2 s(1-s))``,
    the criterion of Riley et al. (2021) for a precise C in an external validation; the width falls
    as n grows, and n is the smallest whole number reaching it (the positive root of the quadratic
    in n, rounded up).

    Examples
    --------
    Riley et al. (2021): C 0.8, outcome prevalence 0.018, an interval of width 0.1: 4,252 cases with
    77 events (as ``pmvalsampsize``):

    >>> r = events_for_c_width(0.8, 0.018)
    >>> r.n, r.events
    (4252, 77)
    """
    if not (isinstance(c, (int, float)) and 0 < c < 1):
        raise ValueError(f"c must lie in (0, 1), got {c!r}")
    s, w, z = _check_share("event_share", event_share), _check_width(width), _z(ci)
    k, a, b = c * (1 - c), (1 - c) / (2 - c), c / (1 + c)
    v = (w / (2 * z)) ** 2 * s * (1 - s)
    # v n^2 - k (a + b) n / 2 - k (1 - a - b) = 0
    lin, const = k * (a + b) / 2, k * (1 - a - b)
    root = (lin + math.sqrt(lin * lin + 4 * v * const)) / (2 * v)
    n = max(2, math.ceil(root - 1e-9))
    while 2 * z * _newcombe_se(c, s, n) > w:      # guard the rounding of the root
        n += 1
    return CStatisticSize(n, math.ceil(n * s - 1e-9), _newcombe_se(c, s, n))


@dataclasses.dataclass(frozen=True)
class PredictionModelSize:
    """The minimum sample size of Riley et al. (2020) and the criterion behind it."""

    n: int                          # cases: the largest of the criteria
    events: float                   # expected events among them (n x prevalence, or n x rate x follow-up)
    events_per_parameter: float
    criteria: dict                  # cases by criterion: shrinkage, optimism, overall risk
    max_r2_cs: float                # the largest Cox-Snell R^2 the outcome's frequency allows
    shrinkage: float                # the shrinkage that the chosen n gives (criterion 1 or 2's)
    binding: str                    # the criterion that sets n


def prediction_model_size(parameters: int, r2_cs: float, prevalence: float | None = None, *,
                          rate: float | None = None, mean_followup: float | None = None,
                          shrinkage: float = 0.9, optimism: float = 0.05, margin: float = 0.05) -> PredictionModelSize:
    """Minimum cases to develop a prediction model with ``parameters`` predictor parameters and an
    anticipated Cox-Snell R^2 ``r2_cs`` (Riley et al. 2020): a binary outcome of ``prevalence``, or a
    time-to-event outcome of event ``rate`` per unit time with ``mean_followup`` (same unit).

    Criteria: (1) expected uniform shrinkage at least ``shrinkage``,
    ``n = P / ((S - 1) ln(1 - R2cs / S))``; (2) optimism in Nagelkerke's R^2 at most ``optimism``,
    criterion 1 with ``S = R2cs / (R2cs + optimism max R2cs)``; (3, binary) the overall risk within
    ``margin`` (95%), ``n = (1.96 / margin)^2 p (1 - p)``. ``max R2cs = 1 - exp(2 lnL0 / n)`` with
    the null model's log-likelihood per case: ``p ln p + (1-p) ln(1-p)`` (binary), or
    ``E ln(E / n) - E`` with ``E`` the expected events of 10,000 cases (time to event, as
    ``pmsampsize``). Each criterion's n is rounded up; the sample size is the largest.

    Examples
    --------
    Riley et al. (2020), a binary outcome of prevalence 0.174, 24 parameters, Cox-Snell R^2 0.288:
    662 cases, 115.2 events, 4.8 events per parameter (``pmsampsize`` 1.1.3):

    >>> r = prediction_model_size(24, 0.288, 0.174)
    >>> r.n, round(r.events, 1), round(r.events_per_parameter, 2), r.binding
    (662, 115.2, 4.8, 'optimism')

    A time-to-event outcome, 30 parameters, R^2 0.051, 0.065 events a year, mean follow-up 2.07 years:

    >>> r = prediction_model_size(30, 0.051, rate=0.065, mean_followup=2.07)
    >>> r.n, round(r.events), round(r.events_per_parameter, 2)
    (5143, 692, 23.07)
    """
    if int(parameters) != parameters or parameters < 1:
        raise ValueError(f"parameters must be a whole number of at least 1, got {parameters!r}")
    r2 = _check_share("r2_cs", r2_cs)
    s_min, opt = _check_share("shrinkage", shrinkage), _check_share("optimism", optimism)
    binary = prevalence is not None
    if binary == (rate is not None or mean_followup is not None):
        raise ValueError("give prevalence (a binary outcome) or rate and mean_followup (time to event), not both")
    if binary:
        p = _check_share("prevalence", prevalence)
        ln_l0 = p * math.log(p) + (1 - p) * math.log(1 - p)          # per case
        max_r2 = 1 - math.exp(2 * ln_l0)
    else:
        if not (isinstance(rate, (int, float)) and rate > 0 and isinstance(mean_followup, (int, float))
                and mean_followup > 0):
            raise ValueError(f"rate and mean_followup must be positive numbers, got {rate!r} and {mean_followup!r}")
        n0 = 10_000
        e0 = math.ceil(rate * mean_followup * n0 - 1e-9)
        max_r2 = 1 - math.exp(2 * (e0 * math.log(e0 / n0) - e0) / n0)
    if r2 >= max_r2:
        raise ValueError(f"r2_cs {r2!r} is not below the largest Cox-Snell R^2 the outcome allows ({max_r2:.4f})")

    def for_shrinkage(s: float) -> int:
        return math.ceil(parameters / ((s - 1) * math.log(1 - r2 / s)) - 1e-9)

    s_opt = r2 / (r2 + opt * max_r2)
    criteria = {"shrinkage": for_shrinkage(s_min), "optimism": for_shrinkage(s_opt)}
    if binary:
        m = _check_share("margin", margin)
        criteria["overall risk"] = math.ceil((1.96 / m) ** 2 * p * (1 - p) - 1e-9)
    binding = max(criteria, key=lambda c: (criteria[c], -list(criteria).index(c)))
    n = criteria[binding]
    events = n * p if binary else n * rate * mean_followup
    shrink = s_opt if criteria["optimism"] > criteria["shrinkage"] else s_min
    return PredictionModelSize(n, events, round(events / parameters, 2), criteria, max_r2, shrink, binding)
