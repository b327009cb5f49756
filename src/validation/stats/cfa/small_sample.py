"""Small-sample corrections of the ML chi-square of a fitted model, and the fit indices that follow.

The likelihood-ratio statistic of a large model on few cases is inflated, and every index made from
it (CFI, TLI, RMSEA) is pulled towards misfit. Two corrections multiply the statistic by a factor
below one:

* **Swain** (1975): ``1 - [p(2p^2 + 3p - 1) - q(2q^2 + 3q - 1)] / (12 df N)`` with ``p`` observed
  variables and ``q = (sqrt(1 + 8 t) - 1) / 2`` for ``t`` free parameters; recommended for CFA by
  Herzog, Boomsma & Reinecke (2007);
* **Bartlett** (1950): ``1 - (2p + 4k + 5) / (6N)`` for ``k`` factors, derived for exploratory factor
  analysis.

N is the number of cases (lavaan's ``ntotal``), the same as ``semTools::chisqSmallN`` uses; with
several groups p and t are those of the whole model, also as semTools does (Swain derived the factor
for one group: a factor of 1 or more says the correction does not apply). The
baseline (independence) model is corrected with its own factor (its free parameters, degrees of
freedom, no factors) before CFI and TLI are formed, as Herzog & Boomsma (2009) do for the
noncentrality-based and incremental indices; RMSEA and its interval follow lavaan's formulas on the
corrected statistic.

References
----------
Swain, A. J. (1975). Analysis of parametric structures for variance matrices (doctoral thesis).
University of Adelaide.
Bartlett, M. S. (1950). Tests of significance in factor analysis. British Journal of Psychology,
Statistical Section, 3, 77-85.
Herzog, W., Boomsma, A., & Reinecke, S. (2007). The model-size effect on traditional and modified tests
of covariance structures. Structural Equation Modeling, 14, 361-390.
Herzog, W., & Boomsma, A. (2009). Small-sample robust estimators of noncentrality-based and incremental
model fit. Structural Equation Modeling, 16, 1-27.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Mapping

from validation.stats.cfa import _fit
from validation.stats.results import NotEstimable

__all__ = ["SmallSampleFit", "small_sample_fit", "SMALL_SAMPLE_SOURCES"]

SMALL_SAMPLE_SOURCES = {
    "swain": "Swain (1975); Herzog, Boomsma & Reinecke (2007), Struct Equ Modeling 14:361-390",
    "bartlett": "Bartlett (1950), Br J Psychol Stat Sect 3:77-85 (derived for exploratory factor analysis)",
}


@dataclasses.dataclass(frozen=True)
class SmallSampleFit:
    """A model's fit with its chi-square corrected for sample size.

    ``factor`` multiplies the ML chi-square (``chisq`` = factor x the ML value, on ``df``, with its
    ``pvalue``); ``baseline_factor`` multiplies the baseline model's; ``cfi``, ``tli``, ``rmsea`` and
    the 90% RMSEA interval are formed from the corrected statistics. ``source`` cites the method.
    """

    method: str
    factor: float
    chisq: float
    df: float
    pvalue: float
    baseline_factor: float
    baseline_chisq: float
    cfi: float
    tli: float
    rmsea: float
    rmsea_ci_lower: float
    rmsea_ci_upper: float
    source: str


def _factor(method: str, p: int, npar: float, df: float, n: float, n_factors: int) -> float:
    if method == "swain":
        q = (math.sqrt(1.0 + 8.0 * npar) - 1.0) / 2.0
        return 1.0 - (p * (2 * p * p + 3 * p - 1) - q * (2 * q * q + 3 * q - 1)) / (12.0 * df * n)
    return 1.0 - (2 * p + 4 * n_factors + 5) / (6.0 * n)


def small_sample_fit(fit: Mapping[str, float], n_observed: int, n_factors: int, method: str = "swain",
                     n_groups: int = 1) -> SmallSampleFit:
    """The fit measures of a fitted model with its chi-square corrected for sample size.

    Parameters
    ----------
    fit : the model's fit measures as :func:`~validation.stats.cfa.cfa` gives them (``chisq``, ``df``,
        ``npar``, ``ntotal``, ``baseline.chisq``, ``baseline.df``).
    n_observed : observed variables of the model (``p``).
    n_factors : latent factors (``k``; Bartlett's correction only).
    method : ``"swain"`` or ``"bartlett"``.
    n_groups : groups of a multi-group model (RMSEA is scaled by its square root, as lavaan does).

    Notes
    -----
    In R the corrected chi-square is ``semTools::chisqSmallN(fit, smallN.method = c("swain",
    "bartlett"))`` (its ``chisq`` and ``smallN.factor``); the indices are the closed forms of the
    module notes applied to those statistics.

    Examples
    --------
    The three-factor model of Holzinger & Swineford's nine tests (lavaan's example: 21 free parameters,
    chi-square 85.306 on 24 df, 301 cases):

    >>> fit = {"chisq": 85.306, "df": 24, "npar": 21, "ntotal": 301,
    ...        "baseline.chisq": 918.852, "baseline.df": 36}
    >>> res = small_sample_fit(fit, n_observed=9, n_factors=3)
    >>> round(res.factor, 4), round(res.chisq, 2), round(res.cfi, 3)
    (0.9866, 84.17, 0.931)
    """
    if method not in SMALL_SAMPLE_SOURCES:
        raise ValueError(f"method: expected one of {sorted(SMALL_SAMPLE_SOURCES)}, got {method!r}")
    need = ("chisq", "df", "npar", "ntotal", "baseline.chisq", "baseline.df")
    absent = [key for key in need if not isinstance(fit.get(key), (int, float)) or not math.isfinite(fit[key])]
    if absent:
        raise NotEstimable(f"not estimable: the fit measures lack {', '.join(absent)}")
    x2, df, npar, n = float(fit["chisq"]), float(fit["df"]), float(fit["npar"]), float(fit["ntotal"])
    b2, bdf = float(fit["baseline.chisq"]), float(fit["baseline.df"])
    groups = int(n_groups)
    if df <= 0:
        raise NotEstimable("not estimable: a model with 0 degrees of freedom has no chi-square test to correct")
    baseline_npar = df + npar - bdf  # the same sample moments: df + npar = baseline df + baseline npar
    s = _factor(method, n_observed, npar, df, n, n_factors)
    sb = _factor(method, n_observed, baseline_npar, bdf, n, 0)
    if s <= 0 or sb <= 0:
        raise NotEstimable(f"not estimable: the {method} factor is not positive ({s:.3g}); far too few cases "
                           "for the model")
    t, tb = s * x2, sb * b2
    lo, hi = _fit.rmsea_ci(t, df, n, groups)
    return SmallSampleFit(
        method=method, factor=s, chisq=t, df=df, pvalue=1.0 - _fit.pchisq(t, df), baseline_factor=sb,
        baseline_chisq=tb, cfi=_fit._cfi(t, df, tb, bdf), tli=_fit._tli(t, df, tb, bdf),
        rmsea=_fit.rmsea_point(t, df, n, groups), rmsea_ci_lower=lo, rmsea_ci_upper=hi,
        source=SMALL_SAMPLE_SOURCES[method],
    )
