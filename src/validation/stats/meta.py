"""Random-effects meta-analysis of per-site estimates (the figures that cannot be pooled exactly).

One function, :func:`random_effects`, fits the intercept-only model y_i = mu + u_i + e_i with
u_i ~ N(0, tau^2) and e_i ~ N(0, v_i), v_i known, as metafor's ``rma(yi, vi, method=...)`` and
``predict()`` do: the estimate and its interval (normal, or Knapp & Hartung's t), the between-site
variance tau^2 by one of five estimators with its standard error and Q-profile interval, Cochran's Q,
I^2 and H^2, and the prediction interval for a new site. :data:`TRANSFORMS` holds the scales on which
estimates are pooled (Fisher z, logit, log, Bonett's transform of alpha) with their inverses.

References
----------
DerSimonian, R., & Laird, N. (1986). Meta-analysis in clinical trials. Controlled Clinical Trials, 7, 177-188.
Paule, R. C., & Mandel, J. (1982). Consensus values and weighting factors. J Res Natl Bur Stand, 87, 377-385.
Viechtbauer, W. (2005). Bias and efficiency of meta-analytic variance estimators in the random-effects model.
J Educ Behav Stat, 30, 261-293.
Viechtbauer, W. (2007). Confidence intervals for the amount of heterogeneity in meta-analysis. Stat Med, 26, 37-52.
Knapp, G., & Hartung, J. (2003). Improved tests for a random effects meta-regression with a single covariate.
Stat Med, 22, 2693-2710.
Higgins, J. P. T., & Thompson, S. G. (2002). Quantifying heterogeneity in a meta-analysis. Stat Med, 21, 1539-1558.
Riley, R. D., Higgins, J. P. T., & Deeks, J. J. (2011). Interpretation of random effects meta-analyses. BMJ, 342, d549.
Bonett, D. G. (2002). Sample size requirements for testing and estimating coefficient alpha. J Educ Behav Stat,
27, 335-340.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Callable, Sequence

import numpy as np
from scipy import stats

from validation.stats._checks import check_level
from validation.stats._roots import zeroin
from validation.stats.results import Interval, NotEstimable

__all__ = ["MetaResult", "random_effects", "TRANSFORMS", "METHODS", "TESTS"]

METHODS = ("FE", "DL", "PM", "ML", "REML")
TESTS = ("z", "knha")
_TAU2_MAX = 100.0  # metafor's default upper end of the search for tau^2


@dataclasses.dataclass(frozen=True)
class MetaResult:
    """A random-effects (or fixed-effect) meta-analysis of k estimates.

    Attributes
    ----------
    method, test : the tau^2 estimator and the test of the estimate (``"z"`` or ``"knha"``).
    k : number of estimates (sites).
    estimate, se, ci : the pooled estimate, its standard error and interval.
    statistic, df, pvalue : the z (or t, with ``df`` = k - 1 under Knapp & Hartung) test of estimate = 0.
    tau2, tau2_se, tau2_ci : between-site variance, its standard error (as metafor's ``se.tau2``) and its
        Q-profile interval (Viechtbauer 2007); 0 and a degenerate interval for ``"FE"``.
    i2, h2 : I^2 (percent) and H^2: the share of the total variance due to heterogeneity, from tau^2 and
        the typical within-site variance (Higgins & Thompson 2002); from Q for ``"FE"``.
    q, q_df, q_pvalue : Cochran's Q test of homogeneity.
    pi : prediction interval for the true value in a new site (Riley et al. 2011).
    weights : each estimate's weight in percent, in the order given.
    notes : what a reader should know (tau^2 at the boundary 0, a single site...).
    """

    method: str
    test: str
    k: int
    estimate: float
    se: float
    ci: Interval
    statistic: float
    df: float
    pvalue: float
    tau2: float
    tau2_se: float
    tau2_ci: Interval
    i2: float
    h2: float
    q: float
    q_df: int
    q_pvalue: float
    pi: Interval
    weights: tuple[float, ...]
    notes: tuple[str, ...] = ()


def _fe_parts(y: np.ndarray, v: np.ndarray) -> tuple[float, float, float]:
    """Q, tr(P) of the fixed-effect weights, and the typical within-site variance."""
    w = 1.0 / v
    sw = w.sum()
    mu = float(w @ y / sw)
    q = float(max(0.0, w @ (y - mu) ** 2))
    trp = float(sw - (w @ w) / sw)
    return q, trp, (y.size - 1) / trp


def _q_at(tau2: float, y: np.ndarray, v: np.ndarray) -> float:
    """The generalised Q statistic sum w_i (y_i - mu(tau2))^2 with w_i = 1/(v_i + tau2)."""
    w = 1.0 / (v + tau2)
    mu = w @ y / w.sum()
    return float(w @ (y - mu) ** 2)


_TOL = float(np.finfo(float).eps) ** 0.25  # metafor's default tolerance of the root searches
_THRESHOLD = 1e-5                           # metafor's convergence threshold of the Fisher scoring


def _root(f: Callable[[float], float], target: float, upper: float, what: str) -> float:
    """tau^2 in [0, upper] where the decreasing f(tau^2) equals target; 0 when f(0) is already below."""
    if f(0.0) < target:
        return 0.0
    if f(upper) > target:
        raise NotEstimable(f"not estimable: {what} stays above its target up to tau2 = {upper:g}; the sites "
                           "disagree far beyond their sampling error")
    return zeroin(lambda t: f(t) - target, 0.0, upper, tol=_TOL)


def _tau2_ml(y: np.ndarray, v: np.ndarray, reml: bool) -> float:
    """(Restricted) maximum likelihood by Fisher scoring from the Hedges estimate (the sample variance
    of the estimates less their mean sampling variance, at least 0), with step halving at the boundary,
    stopping when tau^2 changes by less than 1e-5, and the boundary 0 taken when the likelihood is
    higher there by more than the tolerance (Viechtbauer 2005; metafor's algorithm and defaults)."""
    def loglik(t2: float) -> float:
        w = 1.0 / (v + t2)
        mu = w @ y / w.sum()
        ll = -0.5 * np.sum(np.log(v + t2)) - 0.5 * w @ (y - mu) ** 2
        return float(ll - 0.5 * math.log(w.sum())) if reml else float(ll)

    hedges = float(np.var(y, ddof=1) - v.mean()) if y.size > 1 else 0.0
    tau2, change, it = max(0.0, hedges), _THRESHOLD + 1, 0
    while change > _THRESHOLD:
        it += 1
        old = tau2
        w = 1.0 / (v + tau2)
        sw = w.sum()
        Pr = w * (y - w @ y / sw)                   # P y for P = W - w w' / sum(w)
        if reml:
            trP = sw - (w @ w) / sw
            trPP = np.sum(w ** 2) - 2 * np.sum(w ** 3) / sw + (w @ w) ** 2 / sw ** 2
            adj = (Pr @ Pr - trP) / trPP
        else:
            adj = (Pr @ Pr - sw) / np.sum(w ** 2)
        while tau2 + adj < 0:
            adj /= 2.0
        tau2 += adj
        change = abs(old - tau2)
        if it > 100:
            raise NotEstimable("not estimable: the Fisher scoring for tau^2 did not converge in 100 steps")
    if loglik(0.0) - loglik(tau2) > _TOL and tau2 > _THRESHOLD:
        tau2 = 0.0
    return max(0.0, tau2)


def random_effects(yi: Sequence[float] | np.ndarray, vi: Sequence[float] | np.ndarray, method: str = "REML",
                   test: str = "z", ci: float = 0.95) -> MetaResult:
    """Pool k estimates with known sampling variances by a random-effects (or fixed-effect) model.

    Parameters
    ----------
    yi : sequence of float
        The estimates, one a site, on a scale where they are approximately normal (see
        :data:`TRANSFORMS`).
    vi : sequence of float
        Their sampling variances (positive).
    method : ``"REML"`` (default), ``"ML"``, ``"DL"`` (DerSimonian & Laird), ``"PM"`` (Paule & Mandel)
        or ``"FE"`` (fixed effect: tau^2 = 0)
        The estimator of the between-site variance tau^2.
    test : ``"z"`` (default) or ``"knha"``
        The interval and test of the estimate: normal, or Knapp & Hartung's (2003) t with k - 1 df and
        the variance scaled by the weighted residual mean square (not truncated at 1, as metafor).
    ci : float
        Level of every interval.

    Returns
    -------
    MetaResult

    Raises
    ------
    NotEstimable
        No estimate, or a non-positive or missing variance.

    Notes
    -----
    Weights ``w_i = 1 / (v_i + tau^2)``; estimate ``sum w_i y_i / sum w_i`` with variance
    ``1 / sum w_i``. DL: ``tau^2 = max(0, (Q - (k - 1)) / (sum w - sum w^2 / sum w))`` with fixed-effect
    weights; PM: the tau^2 at which the generalised Q equals k - 1; ML and REML: Fisher scoring from 0,
    with the boundary 0 taken when the likelihood is higher there. The tau^2 interval is the Q-profile
    one: the tau^2 at which the generalised Q equals the chi-square quantiles with k - 1 df. I^2 = 100
    tau^2 / (tau^2 + s^2) and H^2 = (tau^2 + s^2) / s^2 with the typical within-site variance
    ``s^2 = (k - 1) / (sum w - sum w^2 / sum w)`` (fixed-effect weights). The prediction interval is
    ``estimate +/- crit * sqrt(se^2 + tau^2)``, crit from the same distribution as the estimate's
    interval. With one site there is no heterogeneity to estimate: tau^2 = 0, Q = 0, and the notes say
    so. In R: ``metafor::rma(yi, vi, method = method, test = test)``; ``predict()``; ``confint()``.

    Examples
    --------
    Six sites' AUCs with their DeLong variances (on the AUC scale, for the illustration):

    >>> yi = [0.71, 0.64, 0.78, 0.69, 0.58, 0.74]
    >>> vi = [0.0021, 0.0034, 0.0029, 0.0017, 0.0041, 0.0025]
    >>> res = random_effects(yi, vi)
    >>> print(f"{res.estimate:.3f} [{res.ci.lower:.3f}, {res.ci.upper:.3f}], tau2 = {res.tau2:.4f}, "
    ...       f"I2 = {res.i2:.1f}%, PI [{res.pi.lower:.3f}, {res.pi.upper:.3f}]")
    0.697 [0.650, 0.744], tau2 = 0.0008, I2 = 23.9%, PI [0.624, 0.770]
    """
    level = check_level(ci)
    if method not in METHODS:
        raise ValueError(f"method: expected one of {', '.join(METHODS)}, got {method!r}")
    if test not in TESTS:
        raise ValueError(f"test: expected 'z' or 'knha', got {test!r}")
    y = np.asarray(yi, dtype=float).ravel()
    v = np.asarray(vi, dtype=float).ravel()
    if y.size != v.size:
        raise ValueError(f"yi and vi: expected the same length, got {y.size} and {v.size}")
    if y.size == 0:
        raise NotEstimable("not estimable: no estimates to pool")
    bad = [i for i in range(y.size) if not (np.isfinite(y[i]) and np.isfinite(v[i]) and v[i] > 0)]
    if bad:
        raise NotEstimable("not estimable: every estimate needs a finite value and a positive sampling variance; "
                           f"not so at position(s) {bad} (values {[float(y[i]) for i in bad]}, variances "
                           f"{[float(v[i]) for i in bad]})")
    k = int(y.size)
    notes: list[str] = []
    if k == 1:
        notes.append("one site: no between-site variance can be estimated (tau2 = 0, Q = 0)")
        q, q_df, q_p, vt = 0.0, 0, 1.0, 0.0
    else:
        q, trp, vt = _fe_parts(y, v)
        q_df, q_p = k - 1, float(stats.chi2.sf(q, k - 1))
    tau2, tau2_se = 0.0, math.nan
    if k > 1 and method != "FE":
        if method == "DL":
            tau2 = max(0.0, (q - (k - 1)) / trp)
            w0 = 1.0 / v
            sw0 = w0.sum()
            sum_pp = np.sum(w0 ** 2) - 2 * np.sum(w0 ** 3) / sw0 + (w0 @ w0) ** 2 / sw0 ** 2
            tau2_se = math.sqrt((2 * (k - 1) + 4 * tau2 * trp + 2 * tau2 ** 2 * sum_pp) / trp ** 2)
        elif method == "PM":
            tau2 = _root(lambda t: _q_at(t, y, v), k - 1, _TAU2_MAX, "the generalised Q")
            w = 1.0 / (v + tau2)
            tau2_se = math.sqrt(2 * k ** 2 / (k - 1) / w.sum() ** 2)
        else:
            tau2 = _tau2_ml(y, v, reml=method == "REML")
            w = 1.0 / (v + tau2)
            sw = w.sum()
            if method == "ML":
                tau2_se = math.sqrt(2.0 / np.sum(w ** 2))
            else:
                sum_pp = np.sum(w ** 2) - 2 * np.sum(w ** 3) / sw + (w @ w) ** 2 / sw ** 2
                tau2_se = math.sqrt(2.0 / sum_pp)
        if tau2 == 0.0:
            notes.append(f"tau2 is at its boundary 0 ({method}): no heterogeneity beyond sampling error is "
                         "estimated; the random-effects estimate equals the fixed-effect one")
    w = 1.0 / (v + tau2)
    sw = float(w.sum())
    est = float(w @ y / sw)
    var = 1.0 / sw
    df = math.nan
    if test == "knha":
        if k < 2:
            raise NotEstimable("not estimable: Knapp & Hartung's test needs at least 2 sites (k - 1 df)")
        rss = float(w @ (y - est) ** 2)
        s2w = 0.0 if rss <= np.finfo(float).eps else rss / (k - 1)
        var *= s2w
        df = float(k - 1)
        crit = float(stats.t.ppf(0.5 + level / 2, df))
    else:
        crit = float(stats.norm.ppf(0.5 + level / 2))
    se = math.sqrt(var)
    if se > 0:
        stat = est / se
        p = float(2 * (stats.t.sf(abs(stat), df) if test == "knha" else stats.norm.sf(abs(stat))))
    else:
        stat, p = math.inf if est else 0.0, 0.0 if est else 1.0
        notes.append("the Knapp & Hartung residual mean square is 0: the estimates agree exactly")
    if k == 1:
        i2, h2 = 0.0, 1.0
    elif method == "FE":
        i2 = max(0.0, 100.0 * (q - (k - 1)) / q) if q > 0 else 0.0
        h2 = q / (k - 1)
    else:
        i2 = 100.0 * tau2 / (vt + tau2)
        h2 = tau2 / vt + 1.0
    tau2_ci = _tau2_qprofile(y, v, level, method, tau2)
    half_pi = crit * math.sqrt(var + tau2)
    return MetaResult(
        method=method, test=test, k=k, estimate=est, se=se,
        ci=Interval(est - crit * se, est + crit * se, level, "Knapp-Hartung t" if test == "knha" else "normal"),
        statistic=float(stat), df=df, pvalue=p, tau2=float(tau2), tau2_se=float(tau2_se), tau2_ci=tau2_ci,
        i2=float(i2), h2=float(h2), q=float(q), q_df=int(q_df), q_pvalue=float(q_p),
        pi=Interval(est - half_pi, est + half_pi, level, "prediction interval (Riley et al. 2011)"),
        weights=tuple(float(x) for x in 100.0 * w / sw), notes=tuple(notes),
    )


def _tau2_qprofile(y: np.ndarray, v: np.ndarray, level: float, method: str, tau2: float) -> Interval:
    """Q-profile interval of tau^2 (Viechtbauer 2007): where the generalised Q crosses the chi-square
    quantiles with k - 1 df; a bound is 0 when Q at 0 is already below its quantile."""
    k = y.size
    if k < 2 or method == "FE":
        return Interval(0.0, 0.0, level, "none: tau2 is not estimated" if method == "FE" else "none: one site")
    f = lambda t: _q_at(t, y, v)  # noqa: E731
    upper = max(_TAU2_MAX, 10 * tau2)
    lo = _root(f, float(stats.chi2.ppf(0.5 + level / 2, k - 1)), upper, "the generalised Q")
    hi = _root(f, float(stats.chi2.ppf(0.5 - level / 2, k - 1)), upper, "the generalised Q")
    return Interval(lo, hi, level, "Q-profile (Viechtbauer 2007)")


def _bonett(alpha: float) -> float:
    return math.log(1.0 - alpha)


# Scales on which estimates are pooled, with their inverses and the delta-method factor that turns a
# variance on the natural scale into one on the pooling scale (d transform / d estimate, squared).
TRANSFORMS: dict[str, tuple[Callable[[float], float], Callable[[float], float], Callable[[float], float]]] = {
    "identity": (lambda x: x, lambda z: z, lambda x: 1.0),
    "fisher_z": (lambda r: math.atanh(r), lambda z: math.tanh(z), lambda r: 1.0 / (1.0 - r * r) ** 2),
    "logit": (lambda p: math.log(p / (1.0 - p)), lambda z: 1.0 / (1.0 + math.exp(-z)),
              lambda p: 1.0 / (p * (1.0 - p)) ** 2),
    "log": (lambda x: math.log(x), lambda z: math.exp(z), lambda x: 1.0 / x ** 2),
    # Bonett (2002): ln(1 - alpha), approximately normal
    "bonett": (_bonett, lambda z: 1.0 - math.exp(z), lambda a: 1.0 / (1.0 - a) ** 2),
}


def to_scale(estimate: float, variance: float, transform: str) -> tuple[float, float]:
    """An estimate and its variance on a pooling scale (delta method for the variance).

    Examples
    --------
    >>> z, vz = to_scale(0.7, 0.0021, "logit")
    >>> round(z, 4), round(vz, 4)
    (0.8473, 0.0476)
    """
    fwd, _, factor = _transform(transform)
    return fwd(estimate), variance * factor(estimate)


def from_scale(value: float, transform: str) -> float:
    """A value on a pooling scale back on the estimate's own scale.

    Examples
    --------
    >>> round(from_scale(0.8473, "logit"), 3)
    0.7
    """
    return _transform(transform)[1](value)


def _transform(name: str) -> tuple[Callable[[float], float], ...]:
    if name not in TRANSFORMS:
        raise ValueError(f"transform: expected one of {', '.join(TRANSFORMS)}, got {name!r}")
    return TRANSFORMS[name]


def pooled_on_scale(estimates: Sequence[float], variances: Sequence[float], transform: str, **kw: Any) -> dict:
    """Pool estimates on a transformed scale and return the figures back-transformed: estimate, interval,
    prediction interval, tau^2 and I^2 (on the pooling scale), Q with its p and the number of sites.

    Examples
    --------
    >>> out = pooled_on_scale([0.71, 0.64, 0.78], [0.0021, 0.0034, 0.0029], "logit")
    >>> round(out["estimate"], 3), out["k_sites"]
    (0.706, 3)

    On Bonett's scale ``ln(1 - alpha)``, which falls as alpha rises, the ends come back in order:

    >>> out = pooled_on_scale([0.81, 0.85, 0.78], [0.0004, 0.0003, 0.0006], "bonett")
    >>> out["ci_lower"] < out["estimate"] < out["ci_upper"]
    True
    """
    pairs = [to_scale(e, v, transform) for e, v in zip(estimates, variances)]
    res = random_effects([p[0] for p in pairs], [p[1] for p in pairs], **kw)
    back = _transform(transform)[1]
    # a decreasing transform (Bonett's ln(1 - alpha)) swaps the ends of an interval
    ci_lower, ci_upper = sorted((back(res.ci.lower), back(res.ci.upper)))
    pi_lower, pi_upper = sorted((back(res.pi.lower), back(res.pi.upper)))
    return {"estimate": back(res.estimate), "ci_lower": ci_lower, "ci_upper": ci_upper,
            "tau2": res.tau2, "i2": res.i2, "q": res.q, "q_p": res.q_pvalue,
            "pi_lower": pi_lower, "pi_upper": pi_upper, "k_sites": res.k, "scale": transform,
            "method": res.method, "test": res.test, "weights": list(res.weights), "notes": list(res.notes)}
