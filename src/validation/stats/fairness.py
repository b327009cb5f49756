"""Does a score predict equally well in every group? Differential prediction, calibration and error rates by
group, each group's evidence graded by its events.

Three questions, three functions:

- :func:`differential_prediction`: Cleary's (1968) model, ``outcome ~ score + group + score:group`` as a
  logistic regression: the likelihood-ratio test of the interaction (slope bias), of the group terms given a
  common slope (intercept bias), and both at once (Potthoff 1966); every coefficient with its
  profile-likelihood interval; the size as the mean difference in predicted probability between the
  group-specific and the pooled model over the group's cases, with a bootstrap interval. Where a group's
  outcomes are separated by the score (no finite maximum-likelihood estimate), every model is fitted by Firth's
  penalised likelihood and the tests and intervals use the penalised likelihood (Heinze & Schemper 2002).
- :func:`calibration_by_group`: with risks predicted by a pooled model, each group's calibration-in-the-large
  (the intercept of ``logit(y) ~ offset(logit p)``), calibration slope, observed / expected events, and
  Miller, Hui & Tierney's (1991) likelihood-ratio tests; the observed rate per band of predicted risk with
  Wilson intervals. No Hosmer-Lemeshow test: its verdict depends on the arbitrary grouping and its power on the
  sample size (Van Calster et al. 2019).
- :func:`error_rates_by_group`: false positive and false negative rates, positive and negative predictive
  values and the base rate per group with Wilson intervals; each group's difference from the reference group
  with Newcombe's (1998) hybrid score interval; and the gap in false positive rates split by the identity
  FPR = p / (1 - p) x (1 - PPV) / PPV x (1 - FNR) (Chouldechova 2017) into the parts owed to the base rate,
  the PPV and the FNR (on the log scale the three add up to the log ratio).

Every group is graded by the smaller of its events and non-events (``tiers``, default 5 / 50 / 100; Collins,
Ogundimu & Altman 2016 ask for 100 events in a validation): below the first, counts only ("not estimable");
then estimates with intervals but no test ("imprecise"); then tests flagged as low-powered; then everything.
A test that does not reject is not evidence of equal prediction.

References
----------
Chouldechova, A. (2017). Fair prediction with disparate impact. Big Data, 5, 153-163.
Cleary, T. A. (1968). Test bias: prediction of grades of Negro and white students in integrated colleges.
Journal of Educational Measurement, 5, 115-124.
Collins, G. S., Ogundimu, E. O., & Altman, D. G. (2016). Sample size considerations for the external validation
of a multivariable prognostic model. Statistics in Medicine, 35, 214-226.
Firth, D. (1993). Bias reduction of maximum likelihood estimates. Biometrika, 80, 27-38.
Heinze, G., & Schemper, M. (2002). A solution to the problem of separation in logistic regression. Statistics
in Medicine, 21, 2409-2419.
Miller, M. E., Hui, S. L., & Tierney, W. M. (1991). Validation techniques for logistic regression models.
Statistics in Medicine, 10, 1213-1226.
Newcombe, R. G. (1998). Interval estimation for the difference between independent proportions: comparison of
eleven methods. Statistics in Medicine, 17, 873-890.
Potthoff, R. F. (1966). Statistical aspects of the problem of biases in psychological tests. Institute of
Statistics Mimeo Series 479, University of North Carolina.
Van Calster, B., McLernon, D. J., van Smeden, M., Wynants, L., & Steyerberg, E. W. (2019). Calibration: the
Achilles heel of predictive analytics. BMC Medicine, 17, 230.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Sequence

import numpy as np
import pandas as pd
from scipy.optimize import brentq
from scipy.special import expit
from scipy.stats import chi2, norm
from statsmodels.stats.proportion import confint_proportions_2indep, proportion_confint

from validation.stats._checks import check_level, check_n_boot, check_random_state
from validation.stats.results import NotEstimable

__all__ = ["differential_prediction", "DifferentialPrediction", "calibration_by_group", "CalibrationByGroup",
           "error_rates_by_group", "ErrorRatesByGroup", "discrimination_by_group", "DiscriminationByGroup",
           "score_differences", "ScoreDifferences", "differential_prediction_cox", "DifferentialPredictionCox",
           "equivalence_tost", "TIERS", "tier_of"]

TIERS = (5, 50, 100)
TIER_NAMES = ("counts only", "imprecise", "low power", "full")


def tier_of(events: int, non_events: int, tiers: Sequence[int] = TIERS) -> str:
    """The evidence tier of a group with ``events`` and ``non_events``: graded by the smaller of the two.

    Examples
    --------
    >>> tier_of(3, 400), tier_of(12, 400), tier_of(60, 400), tier_of(150, 120)
    ('counts only', 'imprecise', 'low power', 'full')
    """
    low, mid, high = tiers
    m = min(int(events), int(non_events))
    return TIER_NAMES[0] if m < low else TIER_NAMES[1] if m < mid else TIER_NAMES[2] if m < high else TIER_NAMES[3]


def equivalence_tost(estimate: float, se: float, margin: float, ci: float = 0.95) -> dict[str, Any]:
    """Two one-sided tests of ``|true value| < margin`` (Schuirmann 1987), each at level (1 - ci) / 2: equivalent
    when the (2 ci - 1) normal interval ``estimate +- z_ci se`` lies wholly inside ``(-margin, margin)``.

    Examples
    --------
    >>> r = equivalence_tost(0.03, 0.05, 0.2)          # 0.03 +- 1.6449 x 0.05: [-0.052, 0.112]
    >>> r["equivalent"], [round(v, 3) for v in r["interval"]], round(r["interval_level"], 2)
    (True, [-0.052, 0.112], 0.9)
    >>> equivalence_tost(0.15, 0.05, 0.2)["equivalent"]
    False
    """
    level = check_level(ci)
    if not (np.isfinite(estimate) and np.isfinite(se) and se > 0):
        return {"equivalent": None, "margin": margin}
    z = float(norm.ppf(level))
    lo, hi = estimate - z * se, estimate + z * se
    return {"equivalent": bool(-margin < lo and hi < margin), "margin": margin, "interval": [lo, hi],
            "interval_level": 2 * level - 1}


def _testable(tier: str) -> bool:
    return tier in TIER_NAMES[2:]


# ---------------------------------------------------------------------------------------------------------
# inputs


def _frame(columns: dict[str, Any], reference: Any, binary: str = "outcome") -> tuple[pd.DataFrame, list, Any]:
    """The complete rows as a frame (column ``binary`` checked 0/1 and named ``outcome``), the group levels
    (reference first, then by size, ties by label) and the reference (named, else the largest group)."""
    lengths = {k: len(v) for k, v in columns.items()}
    if len(set(lengths.values())) != 1:
        raise ValueError(f"inputs differ in length: {lengths}")
    d = pd.DataFrame({k: (v.to_numpy() if isinstance(v, pd.Series) else np.asarray(v)) for k, v in columns.items()})
    d = d.dropna().rename(columns={binary: "outcome"})
    if d.empty:
        raise NotEstimable("not estimable: no complete rows")
    y = pd.to_numeric(d["outcome"], errors="coerce")
    if y.isna().any() or not y.isin([0, 1]).all():
        bad = sorted(set(d["outcome"][~y.isin([0, 1])].astype(str)))[:5]
        raise ValueError(f"{binary}: found {bad}, expected 0 or 1")
    d["outcome"] = y.astype(int)
    sizes = d.groupby("group", sort=False).size()
    if reference is None:
        reference = sorted(sizes.index, key=lambda g: (-sizes[g], str(g)))[0]
    elif reference not in set(sizes.index):
        raise ValueError(f"reference: found {reference!r}, expected one of the groups {sorted(map(str, sizes.index))}")
    others = sorted((g for g in sizes.index if g != reference), key=lambda g: (-sizes[g], str(g)))
    return d, [reference, *others], reference


def _counts(d: pd.DataFrame, levels: list, tiers: Sequence[int]) -> pd.DataFrame:
    g = d.groupby("group", sort=False)["outcome"]
    out = pd.DataFrame({"n": g.size(), "events": g.sum()}).reindex(levels)
    out["non_events"] = out["n"] - out["events"]
    out["tier"] = [tier_of(e, ne, tiers) for e, ne in zip(out["events"], out["non_events"])]
    out.index.name = "group"
    return out


def _wilson(k: float, n: float, level: float) -> tuple[float, float]:
    if n <= 0:
        return np.nan, np.nan
    lo, hi = proportion_confint(k, n, alpha=1 - level, method="wilson")
    return float(lo), float(hi)


# ---------------------------------------------------------------------------------------------------------
# logistic regression by Newton's method, with offset and optionally Firth's penalty


@dataclasses.dataclass(frozen=True)
class _Logit:
    beta: np.ndarray
    loglik: float          # penalised when firth
    cov: np.ndarray
    converged: bool


def _logit_fit(x: np.ndarray, y: np.ndarray, offset: np.ndarray | None = None, firth: bool = False,
               start: np.ndarray | None = None, eta_start: np.ndarray | None = None) -> _Logit:
    """A logistic regression: by iteratively reweighted least squares as R's ``glm`` fits it (the same start,
    steps and stopping rule, so the coefficients are R's to rounding, and the covariance from the weights of
    the last iteration, as ``summary.glm`` reports it), or by Newton's method on Firth's penalised
    likelihood (``firth``)."""
    if firth:
        return _firth_fit(x, y, offset, start)
    return _irls_fit(x, y, offset, eta_start)


def _irls_fit(x: np.ndarray, y: np.ndarray, offset: np.ndarray | None, eta_start: np.ndarray | None,
              epsilon: float = 1e-8, max_iter: int = 25) -> _Logit:
    """R's glm.fit for the binomial family with the logit link (prior weights 1): start at mu = (y + 1/2) / 2
    (or at ``eta_start``), iterate weighted least squares on the working response until the deviance changes
    by less than ``epsilon`` relative (|dev - dev_old| / (|dev| + 0.1))."""
    n, p = x.shape
    off = np.zeros(n) if offset is None else offset

    def deviance(mu):
        with np.errstate(divide="ignore", invalid="ignore"):
            t1 = np.where(y > 0, y * np.log(y / mu), 0.0)
            t0 = np.where(y < 1, (1 - y) * np.log((1 - y) / (1 - mu)), 0.0)
        return float(2 * np.sum(t1 + t0))

    if p == 0:
        mu = expit(off)
        return _Logit(np.zeros(0), -deviance(mu) / 2, np.zeros((0, 0)), True)
    eta = np.log((y + 0.5) / (1.5 - y)) if eta_start is None else eta_start.copy()
    mu = expit(eta)
    dev_old = deviance(mu)
    beta = np.zeros(p)
    converged = False
    w = None
    for _ in range(max_iter):
        var = mu * (1 - mu)
        z = (eta - off) + (y - mu) / var
        w = var                                   # mu.eta^2 / variance, as weights (not square roots)
        xw = x * np.sqrt(w)[:, None]
        beta = np.linalg.lstsq(xw, z * np.sqrt(w), rcond=None)[0]
        eta = off + x @ beta
        mu = expit(eta)
        dev = deviance(mu)
        if abs(dev - dev_old) / (abs(dev) + 0.1) < epsilon:
            converged = True
            break
        dev_old = dev
    info = (x * w[:, None]).T @ x
    try:
        cov = np.linalg.inv(info)
    except np.linalg.LinAlgError:
        cov = np.full((p, p), np.nan)
    return _Logit(beta, -deviance(mu) / 2, cov, converged)


def _firth_fit(x: np.ndarray, y: np.ndarray, offset: np.ndarray | None = None, start: np.ndarray | None = None,
               tol: float = 1e-10, max_iter: int = 200) -> _Logit:
    """Firth's penalised likelihood, log L + 1/2 log det I(beta), by Newton steps on the modified score
    X'(y - p + h (1/2 - p)), h the hat values (Firth 1993), halved while the penalised likelihood falls."""
    n, p = x.shape
    off = np.zeros(n) if offset is None else offset
    beta = np.zeros(p) if start is None else start.copy()

    def loglik(b):
        eta = off + x @ b
        ll = float(np.sum(y * eta - np.logaddexp(0.0, eta)))
        if p:
            pr = expit(eta)
            sign, logdet = np.linalg.slogdet((x * (pr * (1 - pr))[:, None]).T @ x)
            ll += 0.5 * logdet if sign > 0 else -np.inf
        return ll

    if p == 0:
        return _Logit(beta, loglik(beta), np.zeros((0, 0)), True)
    current = loglik(beta)
    converged = False
    for _ in range(max_iter):
        eta = off + x @ beta
        pr = expit(eta)
        w = pr * (1 - pr)
        info = (x * w[:, None]).T @ x
        try:
            inv = np.linalg.inv(info)
        except np.linalg.LinAlgError:
            break
        h = np.einsum("ij,jk,ik->i", x * w[:, None], inv, x)
        score = x.T @ (y - pr + h * (0.5 - pr))
        step = inv @ score
        factor = 1.0
        for _ in range(40):
            trial = beta + factor * step
            value = loglik(trial)
            if value >= current - 1e-12 * abs(current):
                break
            factor /= 2
        beta, current = trial, value
        if np.max(np.abs(factor * step)) < tol:
            converged = True
            break
    eta = off + x @ beta
    pr = expit(eta)
    info = (x * (pr * (1 - pr))[:, None]).T @ x
    try:
        cov = np.linalg.inv(info)
    except np.linalg.LinAlgError:
        cov = np.full((p, p), np.nan)
    return _Logit(beta, current, cov, converged)


def _profile_root(x: np.ndarray, y: np.ndarray, fit: _Logit, j: int, level: float,
                  offset: np.ndarray | None = None, firth: bool = False) -> tuple[float, float]:
    """The exact profile (penalised) likelihood interval of coefficient j: the two roots where twice the
    drop of the profile log-likelihood reaches the chi-square(1) quantile (as logistf finds them)."""
    crit = chi2.ppf(level, 1)
    base = np.zeros(len(y)) if offset is None else offset
    others = [k for k in range(x.shape[1]) if k != j]
    start = fit.beta[others]

    def drop(b):
        sub = _logit_fit(x[:, others], y, base + b * x[:, j], firth=firth, start=start)
        return 2 * (fit.loglik - sub.loglik) - crit

    se = float(np.sqrt(fit.cov[j, j])) if np.isfinite(fit.cov[j, j]) else 1.0
    out = []
    for sign in (-1, 1):
        step, near = max(se, 1e-3), fit.beta[j]
        far = near + sign * step
        for _ in range(60):
            if drop(far) > 0:
                break
            near, far = far, far + sign * step
            step *= 2
        else:
            out.append(np.nan)
            continue
        out.append(brentq(drop, near, far, xtol=1e-12, rtol=1e-12) if drop(near) < 0 else near)
    return float(out[0]), float(out[1])


def _fmm_spline(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Coefficients (b, c, d) of the interpolating cubic spline whose end third derivatives match those of
    the cubics through the first and the last four points (Forsythe, Malcolm & Moler 1977, sec. 4.4; R's
    ``spline(method = "fmm")``): on [x_i, x_i+1], y_i + b_i t + c_i t^2 + d_i t^3."""
    n = len(x)
    b, c, d = np.zeros(n), np.zeros(n), np.zeros(n)
    if n < 3:
        b[:] = (y[1] - y[0]) / (x[1] - x[0])
        return b, c, d
    d[0] = x[1] - x[0]
    c[1] = (y[1] - y[0]) / d[0]
    for i in range(1, n - 1):
        d[i] = x[i + 1] - x[i]
        b[i] = 2 * (d[i - 1] + d[i])
        c[i + 1] = (y[i + 1] - y[i]) / d[i]
        c[i] = c[i + 1] - c[i]
    b[0], b[-1] = -d[0], -d[n - 2]
    c[0] = c[-1] = 0.0
    if n > 3:
        c0 = c[2] / (x[3] - x[1]) - c[1] / (x[2] - x[0])
        cn = c[n - 2] / (x[n - 1] - x[n - 3]) - c[n - 3] / (x[n - 2] - x[n - 4])
        c[0] = c0 * d[0] ** 2 / (x[3] - x[0])
        c[-1] = -cn * d[n - 2] ** 2 / (x[n - 1] - x[n - 4])
    for i in range(1, n):                      # elimination
        t = d[i - 1] / b[i - 1]
        b[i] -= t * d[i - 1]
        c[i] -= t * c[i - 1]
    c[-1] /= b[-1]                             # back substitution
    for i in range(n - 2, -1, -1):
        c[i] = (c[i] - d[i] * c[i + 1]) / b[i]
    b[-1] = (y[-1] - y[-2]) / d[n - 2] + d[n - 2] * (c[n - 2] + 2 * c[-1])
    for i in range(n - 1):
        b[i] = (y[i + 1] - y[i]) / d[i] - d[i] * (c[i + 1] + 2 * c[i])
        d[i] = (c[i + 1] - c[i]) / d[i]
        c[i] *= 3
    c[-1] *= 3
    d[-1] = d[n - 2]
    return b, c, d


def _fmm_eval(x: np.ndarray, y: np.ndarray, coef: tuple, u: np.ndarray) -> np.ndarray:
    b, c, d = coef
    i = np.clip(np.searchsorted(x, u, side="right") - 1, 0, len(x) - 1)
    t = u - x[i]
    return y[i] + t * (b[i] + t * (c[i] + t * d[i]))


def _profile_interval(x: np.ndarray, y: np.ndarray, fit: _Logit, j: int, level: float,
                      offset: np.ndarray | None = None, firth: bool = False) -> tuple[float, float]:
    """The profile-likelihood interval of coefficient j as R computes it (``confint`` of a glm, from MASS):
    the signed root of the deviance drop at steps of a fifth of z_max standard errors each side until it
    passes z_max = sqrt(chi2_1(1 - (1 - level) / 4)) (at most 9 steps), an FMM spline of it through the
    steps evaluated on a grid of three times as many points, and the interval by linear interpolation of that
    grid at the normal quantiles. The exact root differs by up to about 5e-5 (the interpolation); under Firth's
    penalty the exact roots are returned (as logistf does)."""
    if firth:
        return _profile_root(x, y, fit, j, level, offset, firth=True)
    base = np.zeros(len(y)) if offset is None else offset
    others = [k for k in range(x.shape[1]) if k != j]
    se = float(np.sqrt(fit.cov[j, j]))
    zmax = float(np.sqrt(chi2.ppf(1 - (1 - level) / 4, 1)))
    step_size = zmax / 5 * se
    zs, bs = [0.0], [float(fit.beta[j])]
    for sign in (-1, 1):
        eta = base + x @ fit.beta                 # each constrained fit starts from the previous one
        step, z = 0, 0.0
        while (step := step + 1) < 10 and abs(z) < zmax:
            bi = float(fit.beta[j]) + sign * step * step_size
            offset_j = base + bi * x[:, j]
            sub = _logit_fit(x[:, others], y, offset_j, eta_start=eta)
            eta = offset_j + x[:, others] @ sub.beta
            z = sign * float(np.sqrt(max(0.0, 2 * (fit.loglik - sub.loglik))))
            zs.append(z)
            bs.append(bi)
    order = np.argsort(zs, kind="stable")
    px, pz = np.asarray(bs)[order], np.asarray(zs)[order]
    grid = np.linspace(px.min(), px.max(), 3 * len(px))
    gz = _fmm_eval(px, pz, _fmm_spline(px, pz), grid)
    cut = float(norm.ppf((1 - level) / 2))
    srt = np.argsort(gz, kind="stable")
    gz, grid = gz[srt], grid[srt]
    out = []
    for q in (cut, -cut):
        out.append(float(np.interp(q, gz, grid)) if gz[0] <= q <= gz[-1] else np.nan)
    return out[0], out[1]


def _separated(score: np.ndarray, y: np.ndarray) -> bool:
    """Whether the score separates the outcomes completely or quasi-completely (no finite MLE of a logistic
    regression on the score): one class's scores all at or beyond the other's."""
    s1, s0 = score[y == 1], score[y == 0]
    if len(s1) == 0 or len(s0) == 0:
        return True
    return bool(s0.max() <= s1.min() or s1.max() <= s0.min())


# ---------------------------------------------------------------------------------------------------------
# differential prediction


@dataclasses.dataclass(frozen=True)
class DifferentialPrediction:
    """Cleary's model by group. ``groups``: n, events, non-events and tier of every group (those in the tier
    "counts only" are left out of the models and said in ``notes``). ``tests``: the likelihood-ratio tests
    ``slope`` (interaction), ``intercept`` (group given a common slope) and ``joint`` (Potthoff), with
    statistic, df and p. ``coefficients``: the model with interaction (R's names: ``(Intercept)``, ``score``,
    ``group<g>``, ``score:group<g>``), estimate, Wald se and profile-likelihood interval; ``common_slope``: the
    same for the model with a common slope (its ``group<g>`` terms are the intercept differences at the same
    score, the terms the intercept test is about). ``magnitude``: per
    focal group the mean predicted probability of its cases under the group-specific model minus under the
    pooled model, with a percentile bootstrap interval (resampling cases within groups). ``firth``: whether
    separation made every fit Firth's."""

    groups: pd.DataFrame
    tests: pd.DataFrame
    coefficients: pd.DataFrame
    common_slope: pd.DataFrame
    magnitude: pd.DataFrame
    reference: Any
    firth: bool
    level: float
    n_boot: int
    notes: tuple[str, ...]


def _design(score: np.ndarray, group: np.ndarray, levels: list, model: str) -> tuple[np.ndarray, list[str]]:
    cols, names = [np.ones(len(score)), score], ["(Intercept)", "score"]
    dummies = [(group == g).astype(float) for g in levels[1:]]
    if model in ("intercept", "interaction"):
        cols += dummies
        names += [f"group{g}" for g in levels[1:]]
    if model == "interaction":
        cols += [score * dm for dm in dummies]
        names += [f"score:group{g}" for g in levels[1:]]
    return np.column_stack(cols), names


def _batch_logit(s: np.ndarray, y: np.ndarray, counts: np.ndarray, firth: bool, iters: int = 100) -> np.ndarray:
    """Newton fits of ``y ~ score`` (intercept and slope) for every row of ``counts`` (case weights, one row a
    bootstrap replicate) at once; Firth's modified score when ``firth``. Returns one row of coefficients a
    replicate."""
    b = np.zeros((counts.shape[0], 2))
    for _ in range(iters):
        pr = expit(b[:, :1] + b[:, 1:] * s)
        w = counts * pr * (1 - pr)
        i00, i01, i11 = w.sum(1), (w * s).sum(1), (w * s * s).sum(1)
        det = i00 * i11 - i01 ** 2
        resid = counts * (y - pr)
        if firth:
            h = w * (i11[:, None] - 2 * i01[:, None] * s + i00[:, None] * s * s) / det[:, None]
            resid = resid + h * (0.5 - pr)
        g0, g1 = resid.sum(1), (resid * s).sum(1)
        with np.errstate(divide="ignore", invalid="ignore"):
            step = np.column_stack([(i11 * g0 - i01 * g1) / det, (i00 * g1 - i01 * g0) / det])
        step = np.where(np.isfinite(step), step, 0.0)
        b = b + np.clip(step, -5, 5)
        if np.max(np.abs(step)) < 1e-9:
            break
    return b


def differential_prediction(outcome: Sequence[Any], score: Sequence[Any], group: Sequence[Any], reference: Any = None,
                            ci: float = 0.95, *, n_boot: int = 2000, random_state: Any = None,
                            tiers: Sequence[int] = TIERS) -> DifferentialPrediction:
    """Does the score predict the outcome the same way in every group? Cleary's moderated logistic regression.

    Parameters
    ----------
    outcome : sequence of 0/1
    score : sequence of float
        The score (a risk total, say).
    group : sequence
        The group of each case (site, language, sex, age band).
    reference : optional
        The reference group (default: the largest).
    ci : float
        Level of the intervals.
    n_boot : int
        Bootstrap replicates of the magnitude's interval.
    random_state : None, int or Generator
    tiers : three ints
        Event tiers (see :func:`tier_of`); groups below the first are left out of the models.

    Returns
    -------
    DifferentialPrediction

    Notes
    -----
    In R: ``m0 <- glm(y ~ score, binomial)``, ``m1 <- glm(y ~ score + group, binomial)``,
    ``m2 <- glm(y ~ score * group, binomial)``; ``anova(m1, m2, test = "LRT")`` (slope),
    ``anova(m0, m1, test = "LRT")`` (intercept), ``anova(m0, m2, test = "LRT")`` (joint); ``confint(m2)`` and
    ``confint(m1)`` (profile likelihood, interpolated as MASS does; see :func:`_profile_interval`).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> g = np.repeat(["A", "B"], 400)
    >>> s = rng.integers(0, 21, 800)
    >>> y = rng.random(800) < 1 / (1 + np.exp(3 - 0.2 * s - np.where(g == "B", -1.0, 0.0)))
    >>> res = differential_prediction(y.astype(int), s, g, n_boot=200, random_state=1)
    >>> res.tests.loc["intercept", "p"] < 0.05, res.tests.loc["slope", "p"] > 0.05
    (np.True_, np.True_)
    """
    level = check_level(ci)
    n_boot = check_n_boot(n_boot)
    rng = check_random_state(random_state)
    d, levels, reference = _frame({"outcome": outcome, "score": score, "group": group}, reference)
    d["score"] = pd.to_numeric(d["score"], errors="coerce")
    if d["score"].isna().any():
        raise ValueError("score: expected numbers")
    groups = _counts(d, levels, tiers)
    notes = []
    dropped = [g for g in levels if groups.loc[g, "tier"] == TIER_NAMES[0]]
    if dropped:
        notes.append("left out of the models, too few events or non-events: "
                     + ", ".join(f"{g} (events = {groups.loc[g, 'events']})" for g in dropped))
    if reference in dropped:
        raise NotEstimable(f"not estimable: the reference group {reference!r} has too few events or non-events "
                           f"(events = {groups.loc[reference, 'events']}, non-events = "
                           f"{groups.loc[reference, 'non_events']})")
    used = [g for g in levels if g not in dropped]
    if len(used) < 2:
        raise NotEstimable("not estimable: fewer than two groups with enough events and non-events")
    d = d[d["group"].isin(used)]
    y, s, gr = d["outcome"].to_numpy(float), d["score"].to_numpy(float), d["group"].to_numpy()
    firth = any(_separated(s[gr == g], y[gr == g]) for g in used)
    if firth:
        notes.append("the score separates the outcomes in a group: every model fitted by Firth's penalised "
                     "likelihood, tests and intervals on the penalised likelihood (Heinze & Schemper 2002)")
    fits, designs = {}, {}
    for model in ("common", "intercept", "interaction"):
        x, names = _design(s, gr, used, model)
        designs[model] = (x, names)
        fits[model] = _logit_fit(x, y, firth=firth)
        if not fits[model].converged:
            raise NotEstimable(f"not estimable: the {model} model did not converge")
    k = len(used) - 1
    rows = []
    for name, big, small, df in (("slope", "interaction", "intercept", k), ("intercept", "intercept", "common", k),
                                 ("joint", "interaction", "common", 2 * k)):
        stat = max(0.0, 2 * (fits[big].loglik - fits[small].loglik))
        rows.append({"test": name, "statistic": stat, "df": df, "p": float(chi2.sf(stat, df))})
    tests = pd.DataFrame(rows).set_index("test")
    def table(model: str) -> pd.DataFrame:
        x, names = designs[model]
        fit = fits[model]
        rows = []
        for j, nm in enumerate(names):
            lo, hi = _profile_interval(x, y, fit, j, level, firth=firth)
            rows.append({"term": nm, "estimate": float(fit.beta[j]), "se": float(np.sqrt(fit.cov[j, j])),
                         "ci_lower": lo, "ci_upper": hi})
        return pd.DataFrame(rows).set_index("term")

    magnitude = _magnitude(y, s, gr, used, fits, designs, firth, n_boot, level, rng)
    return DifferentialPrediction(groups, tests, table("interaction"), table("intercept"), magnitude, reference,
                                  firth, level, n_boot, tuple(notes))


def _magnitude(y, s, gr, used, fits, designs, firth, n_boot, level, rng) -> pd.DataFrame:
    """The mean over a group's cases of its group-specific predicted probability minus the pooled one, with a
    percentile interval from resampling cases within groups. Both models have two coefficients on the score
    (the interaction model is one logistic regression per group), so a replicate needs only the resampled
    counts of each distinct (score, outcome) cell of each group: a multinomial draw over the cells is the same
    as drawing the group's cases with replacement, and every replicate is fitted at once."""
    x2, _ = designs["interaction"]
    x0, _ = designs["common"]
    p2 = expit(x2 @ fits["interaction"].beta)
    p0 = expit(x0 @ fits["common"].beta)
    cells, draws = {}, {}
    for g in used:
        ii = gr == g
        table = pd.DataFrame({"s": s[ii], "y": y[ii]}).value_counts().sort_index()
        cs = table.index.get_level_values("s").to_numpy(float)
        cy = table.index.get_level_values("y").to_numpy(float)
        n_g = int(ii.sum())
        cells[g] = (cs, cy)
        draws[g] = rng.multinomial(n_g, table.to_numpy() / n_g, size=n_boot).astype(float)
    all_s = np.concatenate([cells[g][0] for g in used])
    all_y = np.concatenate([cells[g][1] for g in used])
    b0 = _batch_logit(all_s, all_y, np.hstack([draws[g] for g in used]), firth)
    out = []
    alpha = (1 - level) / 2
    for g in used[1:]:
        cs, cy = cells[g]
        w = draws[g]
        bg = _batch_logit(cs, cy, w, firth)
        pg = expit(bg[:, :1] + bg[:, 1:] * cs)
        pp = expit(b0[:, :1] + b0[:, 1:] * cs)
        diff = ((pg - pp) * w).sum(1) / w.sum(1)
        diff = diff[np.isfinite(diff)]
        ii = gr == g
        out.append({"group": g, "estimate": float(np.mean(p2[ii] - p0[ii])),
                    "ci_lower": float(np.quantile(diff, alpha)), "ci_upper": float(np.quantile(diff, 1 - alpha)),
                    "n": int(ii.sum())})
    return pd.DataFrame(out).set_index("group")


@dataclasses.dataclass(frozen=True)
class DifferentialPredictionCox:
    """Cleary's model on the time to event. ``tests``: likelihood-ratio tests of the Cox models ``slope``
    (``score * group`` against ``score + group``), ``intercept`` (``score + group`` against ``score``),
    ``joint``, and ``slope, stratified`` (group-specific slopes against a common slope, each group with its
    own baseline hazard: ``score + strata(group)``). ``coefficients``: the interaction model's log hazard
    ratios with Wald intervals. ``by_group``: each group's own Cox model, the hazard ratio per unit of score
    with its interval, and the proportional-hazards test (Grambsch & Therneau, as ``cox.zph``)."""

    groups: pd.DataFrame
    tests: pd.DataFrame
    coefficients: pd.DataFrame
    by_group: pd.DataFrame
    reference: Any
    level: float
    notes: tuple[str, ...]


def differential_prediction_cox(time: Sequence[Any], event: Sequence[Any], score: Sequence[Any],
                                group: Sequence[Any], reference: Any = None, ci: float = 0.95, *,
                                tiers: Sequence[int] = TIERS) -> DifferentialPredictionCox:
    """Does the score predict the time to the outcome the same way in every group? Cox models with group,
    interaction and strata.

    Parameters
    ----------
    time, event : sequences
        Follow-up time and event indicator (1 = the outcome occurred).
    score, group, reference, ci, tiers
        As :func:`differential_prediction` (tiers graded on events and non-events; groups below the first
        are left out).

    Notes
    -----
    In R (Efron ties): ``m0 <- coxph(Surv(t, e) ~ score)``, ``m1 <- coxph(Surv(t, e) ~ score + group)``,
    ``m2 <- coxph(Surv(t, e) ~ score * group)``, ``anova(m1, m2)`` and so on; ``coxph(Surv(t, e) ~ score +
    strata(group))`` against the sum of the groups' own log-likelihoods; per group ``coxph(Surv(t, e) ~
    score)`` and ``cox.zph`` of it.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(5)
    >>> g = np.repeat(["A", "B"], 300)
    >>> s = rng.normal(size=600)
    >>> t = rng.exponential(1 / np.exp(np.where(g == "B", 0.2, 0.8) * s))
    >>> res = differential_prediction_cox(np.minimum(t, 2), (t < 2).astype(int), s, g)
    >>> bool(res.tests.loc["slope", "p"] < 0.05)
    True
    """
    from validation.stats.survival import cox, cox_stratified

    level = check_level(ci)
    d, levels, reference = _frame({"event": event, "time": time, "score": score, "group": group}, reference,
                                  binary="event")
    for col in ("time", "score"):
        d[col] = pd.to_numeric(d[col], errors="coerce")
        if d[col].isna().any():
            raise ValueError(f"{col}: expected numbers")
    groups = _counts(d, levels, tiers)
    notes = []
    dropped = [g for g in levels if groups.loc[g, "tier"] == TIER_NAMES[0]]
    if dropped:
        notes.append("left out of the models, too few events or non-events: "
                     + ", ".join(f"{g} (events = {groups.loc[g, 'events']})" for g in dropped))
    used = [g for g in levels if g not in dropped]
    if reference in dropped or len(used) < 2:
        raise NotEstimable("not estimable: fewer than two groups with enough events and non-events, or the "
                           "reference among those without")
    d = d[d["group"].isin(used)]
    t, e, s, gr = d["time"].to_numpy(float), d["outcome"].to_numpy(int), d["score"].to_numpy(float), \
        d["group"].to_numpy()
    fits, names = {}, {}
    for model in ("common", "intercept", "interaction"):
        x, nm = _design(s, gr, used, model)
        names[model] = nm[1:]                    # no intercept in a Cox model
        fits[model] = cox(t, e, pd.DataFrame(x[:, 1:], columns=nm[1:]), ci=level)
    k = len(used) - 1
    own = {g: cox(t[gr == g], e[gr == g], pd.DataFrame({"score": s[gr == g]}), ci=level) for g in used}
    strat = cox_stratified(t, e, pd.DataFrame({"score": s}), gr)
    rows = []
    for name, big, small, df in (("slope", "interaction", "intercept", k), ("intercept", "intercept", "common", k),
                                 ("joint", "interaction", "common", 2 * k)):
        stat = max(0.0, 2 * (fits[big].loglik - fits[small].loglik))
        rows.append({"test": name, "statistic": stat, "df": df, "p": float(chi2.sf(stat, df))})
    stat = max(0.0, 2 * (sum(f.loglik for f in own.values()) - strat.loglik))
    rows.append({"test": "slope, stratified", "statistic": stat, "df": k, "p": float(chi2.sf(stat, k))})
    tests = pd.DataFrame(rows).set_index("test")
    z = float(norm.ppf(0.5 + level / 2))
    coefficients = pd.DataFrame([{"term": term.name, "estimate": term.coef, "se": term.se,
                                  "ci_lower": term.coef - z * term.se, "ci_upper": term.coef + z * term.se}
                                 for term in fits["interaction"].terms]).set_index("term")
    by_group = pd.DataFrame([{"group": g, "hr": f.terms[0].hr, "hr_lower": f.terms[0].hr_ci.lower,
                              "hr_upper": f.terms[0].hr_ci.upper, "ph_chisq": float(f.ph_test.chisq[0]),
                              "ph_p": float(f.ph_test.p[0])} for g, f in own.items()]).set_index("group")
    return DifferentialPredictionCox(groups, tests, coefficients, by_group, reference, level, tuple(notes))


# ---------------------------------------------------------------------------------------------------------
# calibration by group


@dataclasses.dataclass(frozen=True)
class CalibrationByGroup:
    """Per group (``table``): n, events, tier; ``citl`` (calibration-in-the-large) and ``slope`` with
    profile-likelihood intervals; ``oe`` (observed / expected events) with the interval
    ``exp(log(O/E) +- z / sqrt(O))``; Miller's likelihood-ratio tests ``p_citl`` (intercept 0 given slope 1),
    ``p_slope`` (slope 1 given a free intercept) and ``p_joint`` (both; 2 df), with their statistics. Groups
    in the tier "counts only" have counts only. ``bands``: per band of predicted risk and group, n, events,
    the mean predicted risk and the observed rate with its Wilson interval."""

    table: pd.DataFrame
    bands: pd.DataFrame
    level: float


def calibration_by_group(outcome: Sequence[Any], predicted: Sequence[Any], group: Sequence[Any], ci: float = 0.95,
                         *, bands: Sequence[float] | None = None, tiers: Sequence[int] = TIERS) -> CalibrationByGroup:
    """How well risks predicted by one pooled model hold in each group.

    Parameters
    ----------
    outcome : sequence of 0/1
    predicted : sequence of float
        Predicted risks, strictly between 0 and 1.
    group : sequence
    ci : float
    bands : sequence of float
        Inner cut-points of the predicted-risk bands (default: none, one band).
    tiers : three ints
        Event tiers (see :func:`tier_of`).

    Notes
    -----
    In R, per group with ``lp <- qlogis(p)``: ``m_citl <- glm(y ~ offset(lp), binomial)`` (its intercept),
    ``m_slope <- glm(y ~ lp, binomial)`` (its slope), ``confint`` of each; Miller's tests as deviance
    differences: ``glm(y ~ 0 + offset(lp))`` against ``m_citl`` (1 df), ``m_citl`` against ``m_slope``
    (1 df), the first against ``m_slope`` (2 df).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(2)
    >>> g = np.repeat(["F", "M"], 1000)
    >>> p = rng.uniform(0.05, 0.6, 2000)
    >>> y = (rng.random(2000) < np.where(g == "F", p / 2, p)).astype(int)   # over-predicted for F
    >>> res = calibration_by_group(y, p, g)
    >>> bool(res.table.loc["F", "citl"] < 0 and res.table.loc["F", "p_citl"] < 0.001)
    True
    """
    level = check_level(ci)
    d, levels, _ = _frame({"outcome": outcome, "predicted": predicted, "group": group}, None)
    p = pd.to_numeric(d["predicted"], errors="coerce")
    if p.isna().any() or not ((p > 0) & (p < 1)).all():
        bad = d["predicted"][~((p > 0) & (p < 1))].head(3).tolist()
        raise ValueError(f"predicted: found {bad}, expected risks strictly between 0 and 1")
    d["predicted"] = p.astype(float)
    levels = sorted(levels, key=str)
    counts = _counts(d, levels, tiers)
    z = float(norm.ppf(0.5 + level / 2))
    rows = []
    for g in levels:
        sub = d[d["group"] == g]
        y = sub["outcome"].to_numpy(float)
        lp = np.log(sub["predicted"].to_numpy() / (1 - sub["predicted"].to_numpy()))
        row = {"group": g, **counts.loc[g].to_dict(), "expected": float(sub["predicted"].sum())}
        if row["tier"] == TIER_NAMES[0]:
            row["note"] = f"not estimable (events = {row['events']}, non-events = {row['non_events']})"
            rows.append(row)
            continue
        one = np.ones((len(y), 1))
        null = _logit_fit(np.empty((len(y), 0)), y, offset=lp)
        citl = _logit_fit(one, y, offset=lp)
        slope = _logit_fit(np.column_stack([np.ones(len(y)), lp]), y)
        c_lo, c_hi = _profile_interval(one, y, citl, 0, level, offset=lp)
        s_lo, s_hi = _profile_interval(np.column_stack([np.ones(len(y)), lp]), y, slope, 1, level)
        o, e = row["events"], row["expected"]
        stat_c = max(0.0, 2 * (citl.loglik - null.loglik))
        stat_s = max(0.0, 2 * (slope.loglik - citl.loglik))
        stat_j = max(0.0, 2 * (slope.loglik - null.loglik))
        row.update({"citl": float(citl.beta[0]), "citl_lower": c_lo, "citl_upper": c_hi,
                    "slope": float(slope.beta[1]), "slope_lower": s_lo, "slope_upper": s_hi,
                    "oe": o / e, "oe_lower": o / e * np.exp(-z / np.sqrt(o)),
                    "oe_upper": o / e * np.exp(z / np.sqrt(o)),
                    "stat_citl": stat_c, "p_citl": float(chi2.sf(stat_c, 1)),
                    "stat_slope": stat_s, "p_slope": float(chi2.sf(stat_s, 1)),
                    "stat_joint": stat_j, "p_joint": float(chi2.sf(stat_j, 2)), "note": ""})
        rows.append(row)
    table = pd.DataFrame(rows).set_index("group")
    cuts = [] if bands is None else sorted(float(b) for b in bands)
    edges = [0.0, *cuts, 1.0]
    labels = [f"{edges[i]:g}-{edges[i + 1]:g}" for i in range(len(edges) - 1)]
    d["band"] = pd.cut(d["predicted"], edges, labels=labels, include_lowest=True)
    band_rows = []
    for (g, band), sub in d.groupby(["group", "band"], observed=True, sort=True):
        n, ev = len(sub), int(sub["outcome"].sum())
        lo, hi = _wilson(ev, n, level)
        band_rows.append({"group": g, "band": band, "n": n, "events": ev, "predicted": float(sub["predicted"].mean()),
                          "observed": ev / n, "ci_lower": lo, "ci_upper": hi})
    return CalibrationByGroup(table, pd.DataFrame(band_rows), level)


# ---------------------------------------------------------------------------------------------------------
# error rates by group


@dataclasses.dataclass(frozen=True)
class ErrorRatesByGroup:
    """``table``: per group and measure (``base rate``, ``FPR``, ``FNR``, ``PPV``, ``NPV``) the count behind it
    (``k`` of ``n``), the estimate and its Wilson interval, the group's tier and a ``note`` where the measure
    is not estimable. ``differences``: per focal group and measure the difference from the reference with
    Newcombe's hybrid score interval, for groups whose tier allows a test. ``decomposition``: per focal group
    the log ratio of its FPR to the reference's, and the parts owed to the base rate (log odds), the PPV (log
    of (1 - PPV) / PPV) and the FNR (log of 1 - FNR), which add up to it."""

    table: pd.DataFrame
    differences: pd.DataFrame
    decomposition: pd.DataFrame
    reference: Any
    level: float


_MEASURES = {  # measure: (numerator, denominator) as cell names
    "base rate": ("events", "n"), "FPR": ("fp", "non_events"), "FNR": ("fn", "events"),
    "PPV": ("tp", "flagged"), "NPV": ("tn", "not_flagged")}


def error_rates_by_group(outcome: Sequence[Any], flagged: Sequence[Any], group: Sequence[Any], reference: Any = None,
                         ci: float = 0.95, *, tiers: Sequence[int] = TIERS) -> ErrorRatesByGroup:
    """Error rates of a flag (a cut-off on a score, a "high" judgement) in each group, and their differences.

    Parameters
    ----------
    outcome, flagged : sequences of 0/1
    group : sequence
    reference : optional
        The reference group (default: the largest).
    ci : float
    tiers : three ints
        Event tiers (see :func:`tier_of`): a group below the first has counts only; differences need a group
        (and the reference) in a tier that allows a test.

    Notes
    -----
    Wilson's interval is R's ``prop.test(k, n, correct = FALSE)$conf.int``; Newcombe's hybrid score interval of
    p1 - p2 (his method 10) is ``d - sqrt((p1 - l1)^2 + (u2 - p2)^2)``, ``d + sqrt((u1 - p1)^2 + (p2 - l2)^2)``
    from the two Wilson intervals (statsmodels ``confint_proportions_2indep(method="newcomb")``).

    Examples
    --------
    >>> import numpy as np
    >>> y = np.array([1] * 60 + [0] * 140 + [1] * 30 + [0] * 170)
    >>> f = np.array([1] * 40 + [0] * 20 + [1] * 30 + [0] * 110 + [1] * 20 + [0] * 10 + [1] * 40 + [0] * 130)
    >>> g = np.array(["A"] * 200 + ["B"] * 200)
    >>> res = error_rates_by_group(y, f, g, reference="A")
    >>> fpr = res.table.xs("FPR", level="measure")["estimate"]
    >>> round(float(fpr["A"]), 4), round(float(fpr["B"]), 4)
    (0.2143, 0.2353)
    >>> dec = res.decomposition.loc["B"]
    >>> bool(abs(dec["base rate"] + dec["PPV"] + dec["FNR"] - dec["log FPR ratio"]) < 1e-12)
    True
    """
    level = check_level(ci)
    d, levels, reference = _frame({"outcome": outcome, "flagged": flagged, "group": group}, reference)
    f = pd.to_numeric(d["flagged"], errors="coerce")
    if f.isna().any() or not f.isin([0, 1]).all():
        raise ValueError(f"flagged: found {sorted(set(d['flagged'][~f.isin([0, 1])].astype(str)))[:5]}, "
                         "expected 0 or 1")
    d["flagged"] = f.astype(int)
    counts = _counts(d, levels, tiers)
    cells = {}
    for g in levels:
        sub = d[d["group"] == g]
        y, fl = sub["outcome"].to_numpy(), sub["flagged"].to_numpy()
        tp, fp = int(((y == 1) & (fl == 1)).sum()), int(((y == 0) & (fl == 1)).sum())
        fn, tn = int(((y == 1) & (fl == 0)).sum()), int(((y == 0) & (fl == 0)).sum())
        cells[g] = {"n": len(y), "events": tp + fn, "non_events": fp + tn, "flagged": tp + fp,
                    "not_flagged": fn + tn, "tp": tp, "fp": fp, "fn": fn, "tn": tn}
    rows = []
    for g in levels:
        tier = counts.loc[g, "tier"]
        for measure, (num, den) in _MEASURES.items():
            k, n = cells[g][num], cells[g][den]
            row = {"group": g, "measure": measure, "k": k, "n": n, "tier": tier, "estimate": np.nan,
                   "ci_lower": np.nan, "ci_upper": np.nan, "note": ""}
            if tier == TIER_NAMES[0] and measure != "base rate":
                row["note"] = f"not estimable (events = {cells[g]['events']}, non-events = {cells[g]['non_events']})"
            elif n == 0:
                row["note"] = f"not estimable: no cases in the denominator ({den.replace('_', ' ')})"
            else:
                lo, hi = _wilson(k, n, level)
                row.update({"estimate": k / n, "ci_lower": lo, "ci_upper": hi})
            rows.append(row)
    table = pd.DataFrame(rows).set_index(["group", "measure"])
    diff_rows, dec_rows = [], []
    ref_ok = _testable(counts.loc[reference, "tier"])
    for g in levels[1:]:
        ok = ref_ok and _testable(counts.loc[g, "tier"])
        for measure, (num, den) in _MEASURES.items():
            k1, n1 = cells[g][num], cells[g][den]
            k0, n0 = cells[reference][num], cells[reference][den]
            row = {"group": g, "measure": measure, "difference": np.nan, "ci_lower": np.nan, "ci_upper": np.nan,
                   "note": ""}
            if not ok:
                row["note"] = (f"no test: {g} is in the tier '{counts.loc[g, 'tier']}' and the reference in "
                               f"'{counts.loc[reference, 'tier']}'")
            elif n1 == 0 or n0 == 0:
                row["note"] = "not estimable: an empty denominator"
            else:
                lo, hi = confint_proportions_2indep(k1, n1, k0, n0, method="newcomb", compare="diff",
                                                   alpha=1 - level)
                row.update({"difference": k1 / n1 - k0 / n0, "ci_lower": float(lo), "ci_upper": float(hi)})
            diff_rows.append(row)
        parts = {}
        for who in (g, reference):
            c = cells[who]
            if min(c["events"], c["non_events"], c["tp"], c["fp"], c["tn"] + c["fp"]) == 0 or c["fn"] == c["events"]:
                parts = None
                break
            p = c["events"] / c["n"]
            ppv = c["tp"] / c["flagged"]
            fnr = c["fn"] / c["events"]
            fpr = c["fp"] / c["non_events"]
            parts[who] = (np.log(p / (1 - p)), np.log((1 - ppv) / ppv), np.log(1 - fnr), np.log(fpr))
        if parts is None or counts.loc[g, "tier"] == TIER_NAMES[0]:
            dec_rows.append({"group": g, "log FPR ratio": np.nan, "base rate": np.nan, "PPV": np.nan, "FNR": np.nan,
                             "note": "not estimable: a zero cell in this group or the reference"})
            continue
        a, b = parts[g], parts[reference]
        dec_rows.append({"group": g, "log FPR ratio": a[3] - b[3], "base rate": a[0] - b[0], "PPV": a[1] - b[1],
                         "FNR": a[2] - b[2], "note": ""})
    differences = pd.DataFrame(diff_rows).set_index(["group", "measure"]) if diff_rows else pd.DataFrame()
    decomposition = pd.DataFrame(dec_rows).set_index("group") if dec_rows else pd.DataFrame()
    return ErrorRatesByGroup(table, differences, decomposition, reference, level)


# ---------------------------------------------------------------------------------------------------------
# discrimination by group


@dataclasses.dataclass(frozen=True)
class DiscriminationByGroup:
    """``table``: per group n, events, tier, the AUC with DeLong's interval (and Harrell's C with its interval
    when times were given), each fitted within the group (a stratified C pools pairs across groups and is no
    group's C). ``comparisons``: each testable group against the reference, pROC's unpaired DeLong test
    (difference, D, df, p) and Holm's adjustment across the comparisons. ``heterogeneity``: Cochran's Q on the
    logit AUCs of the testable groups with the random-effects pooled AUC, tau^2 and the prediction interval for
    a new group (REML; back-transformed), or None with fewer than two such groups."""

    table: pd.DataFrame
    comparisons: pd.DataFrame
    heterogeneity: Any
    reference: Any
    level: float


def discrimination_by_group(outcome: Sequence[Any], score: Sequence[Any], group: Sequence[Any], reference: Any = None,
                            ci: float = 0.95, *, time: Sequence[Any] | None = None,
                            event: Sequence[Any] | None = None, tiers: Sequence[int] = TIERS
                            ) -> DiscriminationByGroup:
    """The score's discrimination within each group, the groups compared, and their heterogeneity.

    Parameters
    ----------
    outcome : sequence of 0/1
        The outcome within the horizon (for the AUC).
    score : sequence of float
    group : sequence
    reference : optional
        The reference group (default: the largest).
    ci : float
    time, event : sequences, optional
        Follow-up time and event indicator, for Harrell's C per group.
    tiers : three ints
        Event tiers (see :func:`tier_of`): AUCs from the second tier, tests from the third.

    Notes
    -----
    In R: per group ``pROC::ci.auc(roc(y, s, levels = c(0, 1), direction = "<"), method = "delong")``;
    ``pROC::roc.test(r_g, r_ref, method = "delong", paired = FALSE)``; ``p.adjust(p, "holm")``;
    ``metafor::rma(yi = qlogis(auc), vi = var / (auc (1 - auc))^2, method = "REML")`` and ``predict`` of it.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(4)
    >>> g = np.repeat(["A", "B", "C"], 400)
    >>> s = rng.normal(size=1200)
    >>> y = (rng.random(1200) < 1 / (1 + np.exp(1 - np.where(g == "C", 0.3, 1.2) * s))).astype(int)
    >>> res = discrimination_by_group(y, s, g, tiers=(5, 50, 100))
    >>> bool(res.table.loc["C", "auc"] < res.table.loc["A", "auc"])
    True
    """
    from validation.stats.meta import random_effects, to_scale
    from validation.stats.predictive import delong_test_unpaired, harrell_c, holm, roc_auc

    level = check_level(ci)
    columns = {"outcome": outcome, "score": score, "group": group}
    if (time is None) != (event is None):
        raise ValueError("time and event: give both or neither")
    if time is not None:
        columns.update({"time": time, "event": event})
    d, levels, reference = _frame(columns, reference)
    d["score"] = pd.to_numeric(d["score"], errors="coerce")
    if d["score"].isna().any():
        raise ValueError("score: expected numbers")
    counts = _counts(d, levels, tiers)
    rows, fits = [], {}
    for g in levels:
        sub = d[d["group"] == g]
        row = {"group": g, **counts.loc[g].to_dict(), "auc": np.nan, "ci_lower": np.nan, "ci_upper": np.nan,
               "variance": np.nan, "note": ""}
        if row["tier"] == TIER_NAMES[0]:
            row["note"] = f"not estimable (events = {row['events']}, non-events = {row['non_events']})"
        else:
            try:
                fit = roc_auc(sub["outcome"].to_numpy(), sub["score"].to_numpy(), ci=level)
            except NotEstimable as exc:
                row["note"] = str(exc)
            else:
                fits[g] = (sub, fit)
                row.update({"auc": fit.auc, "ci_lower": fit.ci.lower, "ci_upper": fit.ci.upper,
                            "variance": fit.variance})
            if time is not None:
                try:
                    c = harrell_c(sub["time"].to_numpy(float), sub["event"].to_numpy(int), sub["score"].to_numpy(),
                                  ci=level)
                    row.update({"c": c.c, "c_lower": c.ci.lower, "c_upper": c.ci.upper})
                except NotEstimable as exc:
                    row["c_note"] = str(exc)
        rows.append(row)
    table = pd.DataFrame(rows).set_index("group")
    comparisons = []
    if reference in fits and _testable(counts.loc[reference, "tier"]):
        ref_sub = fits[reference][0]
        for g in levels[1:]:
            if g not in fits or not _testable(counts.loc[g, "tier"]):
                continue
            sub = fits[g][0]
            t = delong_test_unpaired(sub["outcome"].to_numpy(), sub["score"].to_numpy(),
                                     ref_sub["outcome"].to_numpy(), ref_sub["score"].to_numpy(), ci=level)
            comparisons.append({"group": g, "difference": t.difference, "statistic": t.statistic, "df": t.df,
                                "p": t.p})
    comparisons = pd.DataFrame(comparisons, columns=["group", "difference", "statistic", "df", "p"]).set_index("group")
    if len(comparisons):
        comparisons["p_holm"] = holm(comparisons["p"].to_numpy()).adjusted
    testable = [g for g in fits if _testable(counts.loc[g, "tier"])]
    heterogeneity = None
    if len(testable) >= 2:
        scaled = [to_scale(fits[g][1].auc, fits[g][1].variance, "logit") for g in testable]
        heterogeneity = random_effects([y for y, _ in scaled], [v for _, v in scaled], method="REML", ci=level)
    return DiscriminationByGroup(table, comparisons, heterogeneity, reference, level)


# ---------------------------------------------------------------------------------------------------------
# score differences


@dataclasses.dataclass(frozen=True)
class ScoreDifferences:
    """Per group against the reference: n, the mean score and the share flagged; Cohen's d (pooled SD) with
    its interval (Hedges & Olkin 1985, normal approximation); the difference in the share flagged with
    Newcombe's interval. Differences in scores, not evidence of bias: a group may differ in risk (Skeem &
    Lowenkamp 2016)."""

    table: pd.DataFrame
    reference: Any
    level: float


def score_differences(score: Sequence[Any], flagged: Sequence[Any], group: Sequence[Any], reference: Any = None,
                      ci: float = 0.95) -> ScoreDifferences:
    """How far each group's scores and flags lie from the reference group's.

    Cohen's d is (mean_g - mean_ref) / s_pooled with the pooled SD of the two groups; its interval
    d +- z sqrt((n_g + n_ref) / (n_g n_ref) + d^2 / (2 (n_g + n_ref))) (Hedges & Olkin 1985, eq. 5.15).

    Examples
    --------
    >>> res = score_differences([1, 2, 3, 4, 5, 2, 3, 4, 5, 6], [0, 0, 0, 1, 1, 0, 0, 1, 1, 1],
    ...                         ["a"] * 5 + ["b"] * 5, reference="a")
    >>> round(float(res.table.loc["b", "d"]), 4), round(float(res.table.loc["b", "flagged_difference"]), 1)
    (0.6325, 0.2)
    """
    level = check_level(ci)
    d, levels, reference = _frame({"flagged": flagged, "score": score, "group": group}, reference, binary="flagged")
    d["score"] = pd.to_numeric(d["score"], errors="coerce")
    if d["score"].isna().any():
        raise ValueError("score: expected numbers")
    z = float(norm.ppf(0.5 + level / 2))
    ref = d[d["group"] == reference]
    rows = []
    for g in levels:
        sub = d[d["group"] == g]
        row = {"group": g, "n": len(sub), "mean": float(sub["score"].mean()), "sd": float(sub["score"].std(ddof=1)),
               "flagged": int(sub["outcome"].sum()), "share_flagged": float(sub["outcome"].mean())}
        if g != reference:
            n1, n0 = len(sub), len(ref)
            pooled = np.sqrt(((n1 - 1) * sub["score"].var(ddof=1) + (n0 - 1) * ref["score"].var(ddof=1))
                             / (n1 + n0 - 2))
            dd = (sub["score"].mean() - ref["score"].mean()) / pooled if pooled > 0 else np.nan
            se = np.sqrt((n1 + n0) / (n1 * n0) + dd ** 2 / (2 * (n1 + n0)))
            lo, hi = confint_proportions_2indep(row["flagged"], n1, int(ref["outcome"].sum()), n0, method="newcomb",
                                               compare="diff", alpha=1 - level)
            row.update({"d": float(dd), "d_lower": float(dd - z * se), "d_upper": float(dd + z * se),
                        "flagged_difference": row["share_flagged"] - float(ref["outcome"].mean()),
                        "flagged_lower": float(lo), "flagged_upper": float(hi)})
        rows.append(row)
    return ScoreDifferences(pd.DataFrame(rows).set_index("group"), reference, level)
