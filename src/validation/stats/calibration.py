"""Calibration and clinical usefulness of a score turned into a predicted risk.

:func:`logistic_calibration` fits the logistic model of the outcome on the score (the risk total,
say), and reports how well its predicted risks would hold in new cases of the same population:
the calibration slope and intercept, the Brier score and the C statistic, each apparent and
corrected for optimism by the bootstrap (Efron & Gong 1983; Harrell, Lee & Mark 1996), and the
net benefit of acting on the predicted risk across decision thresholds (the decision curve of
Vickers & Elkin 2006), beside treating everyone.

References
----------
Efron, B. & Gong, G. (1983). A leisurely look at the bootstrap, the jackknife, and cross-validation.
The American Statistician, 37, 36-48.
Harrell, F. E., Lee, K. L. & Mark, D. B. (1996). Multivariable prognostic models. Statistics in
Medicine, 15, 361-387.
Vickers, A. J. & Elkin, E. B. (2006). Decision curve analysis: a novel method for evaluating
prediction models. Medical Decision Making, 26, 565-574.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np

from validation.stats._checks import check_n_boot, check_random_state
from validation.stats.predictive import _placements
from validation.stats.results import NotEstimable

__all__ = ["DecisionCurve", "LogisticCalibration", "logistic_calibration", "net_benefit", "net_benefit_at_base_rate"]


@dataclasses.dataclass(frozen=True)
class LogisticCalibration:
    """Apparent and optimism-corrected performance of the logistic model of the outcome on a score.

    ``coef``: intercept and slope of that model (log-odds per point of the score). ``slope`` and
    ``intercept``: the calibration slope and intercept (apparent 1 and 0 by construction;
    corrected: what to expect in new cases). ``brier`` and ``c``: Brier score and C statistic.
    ``thresholds``, ``net_benefit`` and ``net_benefit_all``: the decision curve of the model and
    of treating everyone, with the events and non-events treated at each threshold (the counts the
    net benefit is made of); ``n_boot`` replicates were used (``n_boot_failed`` left out).
    ``at_base_rates``: the decision curve again in populations with other base rates of the outcome
    (:func:`net_benefit_at_base_rate`), one :class:`DecisionCurve` a base rate.
    """

    coef: tuple[float, float]
    slope: dict[str, float]
    intercept: dict[str, float]
    brier: dict[str, float]
    c: dict[str, float]
    thresholds: tuple[float, ...]
    net_benefit: tuple[float, ...]
    net_benefit_all: tuple[float, ...]
    treated_events: tuple[int, ...]
    treated_non_events: tuple[int, ...]
    n: int
    events: int
    n_boot: int
    n_boot_failed: int
    method: str
    at_base_rates: tuple["DecisionCurve", ...] = ()


@dataclasses.dataclass(frozen=True)
class DecisionCurve:
    """Net benefit of the model (``net_benefit``) and of treating everyone (``net_benefit_all``) at
    each threshold in a population with base rate ``base_rate``, with the sample's events and
    non-events that the rule treats there (the counts the net benefit is made of)."""

    base_rate: float
    net_benefit: tuple[float, ...]
    net_benefit_all: tuple[float, ...]
    treated_events: tuple[int, ...]
    treated_non_events: tuple[int, ...]


def _fit(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Intercept and slope of the logistic regression of y on x (statsmodels GLM, binomial)."""
    import statsmodels.api as sm

    res = sm.GLM(y, sm.add_constant(x, has_constant="add"), family=sm.families.Binomial()).fit()
    if not np.all(np.isfinite(res.params)):
        raise NotEstimable("not estimable: the logistic model did not converge")
    return np.asarray(res.params, dtype=float)


def _c_index(p: np.ndarray, y: np.ndarray) -> float:
    """C statistic (AUC, ties counting one half) of predicted risks."""
    return _placements(y == 1, p, "higher")[0]


def _expit(v: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-v))


def net_benefit(risk: Sequence[float], y: Sequence[int], thresholds: Sequence[float]) -> np.ndarray:
    """Net benefit of treating the cases whose predicted risk is at least each threshold pt:
    ``TP/n - FP/n * pt / (1 - pt)`` (Vickers & Elkin 2006).

    Examples
    --------
    Ten cases, three events. At pt = 0.2 six cases are treated, 3 events and 3 not:
    3/10 - 3/10 x 0.2/0.8 = 0.225; at pt = 0.5 the two treated are both events: 0.2.

    >>> risk = [0.9, 0.6, 0.4, 0.3, 0.2, 0.2, 0.1, 0.1, 0.1, 0.05]
    >>> y = [1, 1, 1, 0, 0, 0, 0, 0, 0, 0]
    >>> [round(float(v), 4) for v in net_benefit(risk, y, [0.2, 0.5])]
    [0.225, 0.2]
    """
    p = np.asarray(risk, dtype=float)
    e = np.asarray(y, dtype=int)
    t = np.asarray(thresholds, dtype=float)
    if np.any((t <= 0) | (t >= 1)):
        raise ValueError("thresholds must lie strictly between 0 and 1")
    pos = p[None, :] >= t[:, None]
    tp = (pos & (e[None, :] == 1)).sum(axis=1)
    fp = (pos & (e[None, :] == 0)).sum(axis=1)
    return tp / e.size - fp / e.size * t / (1.0 - t)


def net_benefit_at_base_rate(risk: Sequence[float], y: Sequence[int], thresholds: Sequence[float],
                             base_rate: float) -> DecisionCurve:
    r"""The decision curve of predicted risks in a population whose base rate of the outcome is
    ``base_rate`` instead of the sample's.

    Each risk is first carried to that base rate by Bayes' rule, keeping the likelihood ratio of the
    case's score (Saerens, Latinne & Decaestecker 2002):
    :math:`\operatorname{logit} p' = \operatorname{logit} p + \operatorname{logit} \pi - \operatorname{logit}
    \hat\pi`, with :math:`\hat\pi` the share of events in the sample. The net benefit of treating the cases
    with :math:`p' \ge p_t` is then that of the population (Vickers & Elkin 2006, with sensitivity and
    specificity from the sample, as for a case-control design; Pfeiffer & Gail 2020):

    .. math:: NB(p_t) = \pi\,\mathrm{TPR}(p_t) - (1 - \pi)\,\mathrm{FPR}(p_t)\,\frac{p_t}{1 - p_t}

    and treating everyone gives :math:`\pi - (1 - \pi) p_t / (1 - p_t)`. At :math:`\pi = \hat\pi` both equal
    :func:`net_benefit` of the sample.

    References
    ----------
    Vickers, A. J., & Elkin, E. B. (2006). Decision curve analysis: a novel method for evaluating prediction
    models. Medical Decision Making, 26, 565-574.
    Saerens, M., Latinne, P., & Decaestecker, C. (2002). Adjusting the outputs of a classifier to new a priori
    probabilities: a simple procedure. Neural Computation, 14, 21-41.
    Pfeiffer, R. M., & Gail, M. H. (2020). Estimating the decision curve and its precision from three study
    designs. Biometrical Journal, 62, 764-776.

    Examples
    --------
    Ten cases, three events (sample base rate 0.3). At a base rate of 0.3 the curve is the sample's;
    at 0.05 the risks shrink (0.9 becomes 0.525, 0.6 becomes 0.156), so at pt = 0.2 only the highest is
    treated: 0.05 x 1/3 - 0.95 x 0/7 x 0.25 = 0.0167.

    >>> risk = [0.9, 0.6, 0.4, 0.3, 0.2, 0.2, 0.1, 0.1, 0.1, 0.05]
    >>> y = [1, 1, 1, 0, 0, 0, 0, 0, 0, 0]
    >>> [round(v, 4) for v in net_benefit_at_base_rate(risk, y, [0.2, 0.5], 0.3).net_benefit]
    [0.225, 0.2]
    >>> [round(v, 4) for v in net_benefit_at_base_rate(risk, y, [0.2], 0.05).net_benefit]
    [0.0167]
    """
    p = np.asarray(risk, dtype=float)
    e = np.asarray(y, dtype=int)
    t = np.asarray(thresholds, dtype=float)
    if not 0 < base_rate < 1:
        raise ValueError(f"base_rate must lie strictly between 0 and 1, got {base_rate}")
    if np.any((t <= 0) | (t >= 1)):
        raise ValueError("thresholds must lie strictly between 0 and 1")
    events = int(e.sum())
    if events == 0 or events == e.size:
        raise NotEstimable("not estimable: the sample needs events and non-events to carry risks to a base rate")
    sample_rate = events / e.size
    with np.errstate(divide="ignore"):
        logit_p, logit_t = np.log(p) - np.log1p(-p), np.log(t) - np.log1p(-t)
    # p' >= pt compared on the logit scale: with no shift it is exactly p >= pt (no rounding at ties)
    shift = np.log(base_rate / (1 - base_rate)) - np.log(sample_rate / (1 - sample_rate))
    pos = logit_p[None, :] + shift >= logit_t[:, None]
    tp = (pos & (e[None, :] == 1)).sum(axis=1)
    fp = (pos & (e[None, :] == 0)).sum(axis=1)
    odds = t / (1.0 - t)
    nb = base_rate * tp / events - (1 - base_rate) * fp / (e.size - events) * odds
    return DecisionCurve(
        base_rate=float(base_rate),
        net_benefit=tuple(float(v) for v in nb),
        net_benefit_all=tuple(float(v) for v in base_rate - (1 - base_rate) * odds),
        treated_events=tuple(int(v) for v in tp),
        treated_non_events=tuple(int(v) for v in fp),
    )


def bootstrap_optimism(e: np.ndarray, x: np.ndarray, indices: np.ndarray) -> tuple[list, list, list, list, int]:
    """The replicates of :func:`logistic_calibration` for given resamples (rows of ``indices``):
    optimism of the Brier score and of C, calibration intercept and slope of each refit on the
    original cases, and the number of resamples that could not be fitted."""
    opt_brier, opt_c, slopes, intercepts = [], [], [], []
    failed = 0
    for idx in indices:
        eb, xb = e[idx], x[idx]
        if eb.sum() < 1 or eb.sum() == eb.size or np.ptp(xb) == 0:
            failed += 1
            continue
        try:
            cb = _fit(xb, eb)
            lp = cb[0] + cb[1] * x
            recal = _fit(lp, e)
        except (NotEstimable, np.linalg.LinAlgError, ValueError):
            failed += 1
            continue
        pb_train = _expit(cb[0] + cb[1] * xb)
        pb_test = _expit(lp)
        opt_brier.append(float(np.mean((eb - pb_train) ** 2) - np.mean((e - pb_test) ** 2)))
        opt_c.append(_c_index(pb_train, eb) - _c_index(pb_test, e))
        intercepts.append(float(recal[0]))
        slopes.append(float(recal[1]))
    return opt_brier, opt_c, slopes, intercepts, failed


def logistic_calibration(y: Sequence[int], score: Sequence[float], thresholds: Sequence[float] | None = None,
                         n_boot: int = 200, seed: Any = None, base_rates: Sequence[float] = ()) -> LogisticCalibration:
    """Calibration slope and intercept, Brier score and C statistic of the logistic model of the
    outcome ``y`` (0/1) on ``score``, apparent and corrected for optimism by ``n_boot`` bootstrap
    refits, and its decision curve at ``thresholds`` (default 0.01 to 0.50 by 0.01), in the sample
    and at each of ``base_rates`` (:func:`net_benefit_at_base_rate`).

    Optimism (Efron & Gong 1983): each replicate fits the model on a resample and scores it both on
    the resample and on the original cases; the mean difference is subtracted from the apparent
    value. The calibration slope and intercept of a replicate are those of the logistic regression
    of the original outcome on the replicate model's linear predictor (Harrell et al. 1996), so
    their corrected values are the means over the replicates.

    In R: ``fit <- glm(y ~ score, family = binomial)`` for ``coef`` and the apparent values, the
    bootstrap as ``rms::validate(lrm(y ~ score, x = TRUE, y = TRUE), B = n_boot)`` (Slope,
    Intercept, B, Dxy = 2 C - 1) -- with other resamples, so only in distribution.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=400)
    >>> y = (rng.random(400) < 1 / (1 + np.exp(-(-2 + x)))).astype(int)
    >>> res = logistic_calibration(y, x, n_boot=50, seed=1)
    >>> res.slope["apparent"], res.intercept["apparent"], res.n, res.events
    (1.0, 0.0, 400, 49)
    """
    e = np.asarray(y, dtype=float)
    x = np.asarray(score, dtype=float)
    if e.shape != x.shape or e.ndim != 1:
        raise ValueError("y and score must be 1-D and of the same length")
    ok = np.isfinite(x) & np.isfinite(e)
    e, x = e[ok], x[ok]
    if not set(np.unique(e)) <= {0.0, 1.0}:
        raise ValueError("y must hold 0 (no event) and 1 (event)")
    events = int(e.sum())
    if events < 2 or e.size - events < 2:
        raise NotEstimable(f"not estimable: {events} events and {e.size - events} non-events")
    if np.ptp(x) == 0:
        raise NotEstimable("not estimable: the score is constant")
    n_boot = 0 if n_boot == 0 else check_n_boot(n_boot)      # 0: apparent values only
    t = np.round(np.arange(1, 51) / 100, 2) if thresholds is None else np.asarray(thresholds, dtype=float)
    coef = _fit(x, e)
    p = _expit(coef[0] + coef[1] * x)
    brier_app = float(np.mean((e - p) ** 2))
    c_app = _c_index(p, e)
    rng = check_random_state(seed)
    opt_brier, opt_c, slopes, intercepts, failed = bootstrap_optimism(e, x, rng.integers(0, e.size, (n_boot, e.size)))
    done = len(slopes)
    if done == 0 and n_boot:
        raise NotEstimable("not estimable: every bootstrap refit failed")

    def pair(apparent: float, corrected: float | None) -> dict[str, float]:
        return {"apparent": apparent, "corrected": float(corrected) if corrected is not None else apparent,
                "optimism": float(apparent - corrected) if corrected is not None else 0.0}

    return LogisticCalibration(
        coef=(float(coef[0]), float(coef[1])),
        slope=pair(1.0, float(np.mean(slopes)) if done else None),
        intercept=pair(0.0, float(np.mean(intercepts)) if done else None),
        brier=pair(brier_app, brier_app - float(np.mean(opt_brier)) if done else None),
        c=pair(c_app, c_app - float(np.mean(opt_c)) if done else None),
        thresholds=tuple(float(v) for v in t),
        net_benefit=tuple(float(v) for v in net_benefit(p, e, t)),
        net_benefit_all=tuple(float(v) for v in (events / e.size - (1 - events / e.size) * t / (1 - t))),
        treated_events=tuple(int(((p >= v) & (e == 1)).sum()) for v in t),
        treated_non_events=tuple(int(((p >= v) & (e == 0)).sum()) for v in t),
        n=int(e.size), events=events, n_boot=done, n_boot_failed=failed,
        at_base_rates=tuple(net_benefit_at_base_rate(p, e, t, float(r)) for r in base_rates),
        method=("logistic model of the outcome on the score (statsmodels GLM); calibration slope and intercept, "
                f"Brier score and C corrected for optimism by {done} bootstrap refits (Efron & Gong 1983; Harrell "
                "et al. 1996); decision curve (Vickers & Elkin 2006)"
                + (", also at base rates " + ", ".join(f"{r:g}" for r in base_rates) + " (risks carried there by Bayes' "
                   "rule, Saerens et al. 2002)" if len(base_rates) else "")),
    )
