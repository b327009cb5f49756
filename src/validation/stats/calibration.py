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

__all__ = ["LogisticCalibration", "logistic_calibration", "net_benefit"]


@dataclasses.dataclass(frozen=True)
class LogisticCalibration:
    """Apparent and optimism-corrected performance of the logistic model of the outcome on a score.

    ``coef``: intercept and slope of that model (log-odds per point of the score). ``slope`` and
    ``intercept``: the calibration slope and intercept (apparent 1 and 0 by construction;
    corrected: what to expect in new cases). ``brier`` and ``c``: Brier score and C statistic.
    ``thresholds``, ``net_benefit`` and ``net_benefit_all``: the decision curve of the model and
    of treating everyone, with the events and non-events treated at each threshold (the counts the
    net benefit is made of); ``n_boot`` replicates were used (``n_boot_failed`` left out).
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
                         n_boot: int = 200, seed: Any = None) -> LogisticCalibration:
    """Calibration slope and intercept, Brier score and C statistic of the logistic model of the
    outcome ``y`` (0/1) on ``score``, apparent and corrected for optimism by ``n_boot`` bootstrap
    refits, and its decision curve at ``thresholds`` (default 0.01 to 0.50 by 0.01).

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
        method=("logistic model of the outcome on the score (statsmodels GLM); calibration slope and intercept, "
                f"Brier score and C corrected for optimism by {done} bootstrap refits (Efron & Gong 1983; Harrell "
                "et al. 1996); decision curve (Vickers & Elkin 2006)"),
    )
