"""Fit measures of :mod:`validation.cfa`, computed as ``lavaan::fitMeasures`` (0.6-14) computes them.

References
----------
Bentler, P. M. (1990). Comparative fit indexes in structural models. Psychological Bulletin, 107, 238-246.
Tucker, L. R., & Lewis, C. (1973). A reliability coefficient for maximum likelihood factor analysis.
Psychometrika, 38, 1-10.
Bentler, P. M., & Bonett, D. G. (1980). Significance tests and goodness of fit in the analysis of
covariance structures. Psychological Bulletin, 88, 588-606.
Bollen, K. A. (1989). A new incremental fit index for general structural equation models.
Sociological Methods & Research, 17, 303-316.
Steiger, J. H. (1990). Structural model evaluation and modification: an interval estimation approach.
Multivariate Behavioral Research, 25, 173-180.
Steiger, J. H. (1998). A note on multiple sample extensions of the RMSEA fit index. Structural
Equation Modeling, 5, 411-419.
Browne, M. W., & Cudeck, R. (1993). Alternative ways of assessing model fit. In Bollen & Long (Eds.),
Testing structural equation models (pp. 136-162). Sage.
Hu, L., & Bentler, P. M. (1999). Cutoff criteria for fit indexes in covariance structure analysis.
Structural Equation Modeling, 6, 1-55.
McDonald, R. P. (1989). An index of goodness-of-fit based on noncentrality. Journal of Classification, 6, 97-103.
Brent, R. P. (1973). Algorithms for minimization without derivatives, ch. 4. Prentice-Hall.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

from validation.stats._roots import zeroin

__all__ = ["zeroin", "pchisq", "rmsea_ci", "fit_measures", "residual_summaries"]

_EPS = float(np.finfo(float).eps)
_ALL_EQUAL_TOL = 1.5e-8  # default tolerance of R's all.equal()


def pchisq(x: float, df: float, ncp: float = 0.0) -> float:
    """Distribution function of the (non-central) chi-square."""
    if ncp <= 0.0:
        return float(stats.chi2.cdf(x, df))
    return float(stats.ncx2.cdf(x, df, ncp))


def rmsea_point(x2: float, df: float, n: float, g: int) -> float:
    if df > 0:
        return math.sqrt(max((x2 / n) / df - 1.0 / n, 0.0)) * math.sqrt(g)
    return 0.0


def rmsea_ci(x2: float, df: float, n: float, g: int, level: float = 0.90) -> tuple[float, float]:
    """Confidence interval of the RMSEA from the non-central chi-square (Browne & Cudeck 1993),
    the non-centrality found by root finding as lavaan does; multi-group: times sqrt(G)
    (Steiger 1998)."""
    if not (math.isfinite(x2) and math.isfinite(df) and math.isfinite(n)):
        return math.nan, math.nan
    up_p = 1 - (1 - level) / 2
    lo_p = (1 - level) / 2

    def lower_fn(lam: float) -> float:
        return pchisq(x2, df, lam) - up_p

    def upper_fn(lam: float) -> float:
        return pchisq(x2, df, lam) - lo_p

    if df < 1 or lower_fn(0.0) < 0:
        lo = 0.0
    else:
        try:
            lam = zeroin(lower_fn, 0.0, x2)
            lo = math.sqrt(lam / (n * df))
        except ValueError:
            lo = math.nan
        if g > 1:
            lo *= math.sqrt(g)
    n_rmsea = max(n, x2 * 4)
    if df < 1 or upper_fn(n_rmsea) > 0 or upper_fn(0.0) < 0:
        hi = 0.0
    else:
        try:
            lam = zeroin(upper_fn, 0.0, n_rmsea)
            hi = math.sqrt(lam / (n * df))
        except ValueError:
            hi = math.nan
        if g > 1:
            hi *= math.sqrt(g)
    return lo, hi


def _all_equal_zero(x: float) -> bool:
    return abs(x) <= _ALL_EQUAL_TOL


def _cfi(x2, df, b2, bdf):
    t1 = max(x2 - df, 0.0)
    t2 = max(x2 - df, b2 - bdf, 0.0)
    if _all_equal_zero(t1) and _all_equal_zero(t2):
        return 1.0
    return 1.0 - t1 / t2


def _tli(x2, df, b2, bdf):
    t1 = (x2 - df) * bdf
    t2 = (b2 - bdf) * df
    if df > 0 and abs(t2) > 0:
        return 1.0 - t1 / t2
    if not (math.isfinite(t1) and math.isfinite(t2)):
        return math.nan
    return 1.0


def _rfi(x2, df, b2, bdf):
    if df > bdf:
        return math.nan
    if df > 0 and bdf > 0:
        t1 = b2 / bdf - x2 / df
        t2 = b2 / bdf
        if not (math.isfinite(t1) and math.isfinite(t2)):
            return math.nan
        if t1 < 0 or t2 < 0:
            return 1.0
        return t1 / t2
    return 1.0


def _nfi(x2, df, b2, bdf):
    if df > bdf or _all_equal_zero(b2):
        return math.nan
    if df > 0:
        return (b2 - x2) / b2
    return 1.0


def _pnfi(x2, df, b2, bdf):
    if bdf > 0 and b2 > 0:
        return (df / bdf) * ((b2 - x2) / b2)
    return math.nan


def _ifi(x2, df, b2, bdf):
    t1 = b2 - x2
    t2 = b2 - df
    if not (math.isfinite(t1) and math.isfinite(t2)):
        return math.nan
    if t2 < 0:
        return 1.0
    if _all_equal_zero(t2):
        return math.nan
    return t1 / t2


def _rni(x2, df, b2, bdf):
    t1 = x2 - df
    t2 = b2 - bdf
    if _all_equal_zero(t2):
        return math.nan
    if not (math.isfinite(t1) and math.isfinite(t2)):
        return math.nan
    return 1.0 - t1 / t2


def _rescale(cov: np.ndarray, mean: np.ndarray | None, var_cov: np.ndarray, var_mean: np.ndarray):
    """Divide covariances by sqrt(v_i v_j) and means by sqrt(v_i), leaving values below 1e-5 in
    absolute size unscaled (lavaan's residual rescaling)."""
    sd_c = 1.0 / np.sqrt(np.where(var_cov < _EPS, np.nan, var_cov))
    sc = np.outer(sd_c, sd_c)
    sc = np.where(np.abs(cov) < 1e-5, 1.0, sc)
    out_c = cov * sc
    out_m = None
    if mean is not None:
        sm = 1.0 / np.sqrt(np.where(var_mean < _EPS, np.nan, var_mean))
        sm = np.where(np.abs(mean) < 1e-5, 1.0, sm)
        out_m = mean * sm
    return out_c, out_m


def residual_summaries(
    S: list[np.ndarray], M: list[np.ndarray], Sig: list[np.ndarray], Mu: list[np.ndarray], nobs: np.ndarray, meanstructure: bool
) -> dict[str, float]:
    """RMR, SRMR (Bentler), CRMR (Bollen) and SRMR (Mplus), with and without means, averaged
    over groups with weights N_g / N."""
    w = nobs / nobs.sum()
    acc = {k: 0.0 for k in ("rmr", "rmr_nomean", "srmr_bentler", "srmr_bentler_nomean", "crmr", "crmr_nomean",
                            "srmr_mplus", "srmr_mplus_nomean")}
    for g in range(len(S)):
        s, sig = S[g], Sig[g]
        p = s.shape[0]
        tri = np.tril_indices(p)
        vs, ve = np.diag(s), np.diag(sig)
        m = M[g] if meanstructure else None
        mu = Mu[g] if meanstructure else None
        pstar = p * (p + 1) / 2

        def summ(rc: np.ndarray, rm: np.ndarray | None, crmr: bool) -> tuple[float, float]:
            v = rc[tri]
            ps = pstar - p if crmr else pstar
            nomean = math.sqrt(np.sum(v * v) / ps)
            if meanstructure:
                tot = math.sqrt((np.sum(v * v) + np.sum(rm * rm)) / (ps + p))
            else:
                tot = nomean
            return tot, nomean

        # raw
        t, n_ = summ(s - sig, (m - mu) if meanstructure else None, False)
        acc["rmr"] += w[g] * t
        acc["rmr_nomean"] += w[g] * n_
        # Bentler: both scaled by observed variances
        oc, om = _rescale(s, m, vs, vs)
        ec, em = _rescale(sig, mu, vs, vs)
        t, n_ = summ(oc - ec, (om - em) if meanstructure else None, False)
        acc["srmr_bentler"] += w[g] * t
        acc["srmr_bentler_nomean"] += w[g] * n_
        # Bollen: each by its own variances (means of the model by observed variances)
        ec2, em2 = _rescale(sig, mu, ve, vs)
        t, n_ = summ(oc - ec2, (om - em2) if meanstructure else None, True)
        acc["crmr"] += w[g] * t
        acc["crmr_nomean"] += w[g] * n_
        # Mplus
        sc = s / np.sqrt(np.outer(vs, vs))
        ec3 = sig / np.sqrt(np.outer(ve, ve))
        rc = sc - ec3
        low = np.tril_indices(p, -1)
        dv = np.sum(((vs - ve) / vs) ** 2)
        e0 = p * (p + 1) / 2
        nom = math.sqrt((np.sum(rc[low] ** 2) + dv) / e0)
        if meanstructure:
            rm = m / np.sqrt(vs) - mu / np.sqrt(ve)
            tot = math.sqrt((np.sum(rc[low] ** 2) + np.sum(rm**2) + dv) / (e0 + p))
        else:
            tot = nom
        acc["srmr_mplus"] += w[g] * tot
        acc["srmr_mplus_nomean"] += w[g] * nom
    acc["srmr"] = acc["srmr_bentler"]
    return acc


def fit_measures(
    *,
    chisq: float,
    df: int,
    npar: int,
    fmin: float,
    baseline_chisq: float,
    baseline_df: int,
    logl: float,
    unrestricted_logl: float,
    ntotal: int,
    ngroups: int,
    residuals: dict[str, float],
    ci_level: float = 0.90,
) -> dict[str, float]:
    """All fit measures, named and ordered as ``lavaan::fitMeasures`` names them."""
    x2, n, G = chisq, float(ntotal), ngroups
    b2, bdf = baseline_chisq, baseline_df
    out: dict[str, float] = {}
    out["npar"] = float(npar)
    out["fmin"] = fmin
    out["chisq"] = x2
    out["df"] = float(df)
    out["pvalue"] = 1.0 - pchisq(x2, df) if df > 0 else math.nan
    out["baseline.chisq"] = b2
    out["baseline.df"] = float(bdf)
    out["baseline.pvalue"] = 1.0 - pchisq(b2, bdf) if bdf > 0 else math.nan
    out["cfi"] = _cfi(x2, df, b2, bdf)
    out["tli"] = _tli(x2, df, b2, bdf)
    out["nnfi"] = out["tli"]
    out["rfi"] = _rfi(x2, df, b2, bdf)
    out["nfi"] = _nfi(x2, df, b2, bdf)
    out["pnfi"] = _pnfi(x2, df, b2, bdf)
    out["ifi"] = _ifi(x2, df, b2, bdf)
    out["rni"] = _rni(x2, df, b2, bdf)
    out["logl"] = logl
    out["unrestricted.logl"] = unrestricted_logl
    out["aic"] = -2 * logl + 2 * npar
    out["bic"] = -2 * logl + npar * math.log(n)
    out["ntotal"] = float(ntotal)
    out["bic2"] = -2 * logl + npar * math.log((n + 2) / 24)
    out["rmsea"] = rmsea_point(x2, df, n, G)
    lo, hi = rmsea_ci(x2, df, n, G, ci_level)
    out["rmsea.ci.lower"] = lo
    out["rmsea.ci.upper"] = hi
    out["rmsea.ci.level"] = ci_level
    if df > 0:
        out["rmsea.pvalue"] = 1.0 - pchisq(x2, df, (n * df * 0.05**2) / G)
        out["rmsea.notclose.pvalue"] = pchisq(x2, df, (n * df * 0.08**2) / G)
    else:
        out["rmsea.pvalue"] = math.nan
        out["rmsea.notclose.pvalue"] = math.nan
    out["rmsea.close.h0"] = 0.05
    out["rmsea.notclose.h0"] = 0.08
    for k in ("rmr", "rmr_nomean", "srmr", "srmr_bentler", "srmr_bentler_nomean", "crmr", "crmr_nomean",
              "srmr_mplus", "srmr_mplus_nomean"):
        out[k] = residuals[k]
    if df == 0 and x2 < _EPS:
        out["cn_05"] = out["cn_01"] = math.nan
    else:
        out["cn_05"] = float(stats.chi2.ppf(0.95, df)) / (x2 / n) + 1
        out["cn_01"] = float(stats.chi2.ppf(0.99, df)) / (x2 / n) + 1
    out["mfi"] = math.exp(-0.5 * (x2 - df) / n)
    out["ecvi"] = x2 / n + (2 * npar) / n
    return out
