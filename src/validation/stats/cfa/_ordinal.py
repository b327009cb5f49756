"""Ordinal indicators: diagonally weighted least squares with robust corrections (lavaan's WLSMV).

The model for item j is a latent response y*_j = lambda_j' eta + e_j, observed through thresholds
tau_j1 < tau_j2 < ... (Muthen 1984). The sample statistics are the thresholds and the polychoric
correlations with their asymptotic covariance matrix Gamma (:func:`validation.stats._polychoric.ordinal_moments`);
the model is fitted by minimising ``sum_g (N_g - 1) (s_g - sigma_g)' W_g (s_g - sigma_g)`` with
``W_g = diag(Gamma_g)^-1`` (Muthen, du Toit & Spisic 1997), its standard errors are the sandwich
``E^-1 B E^-1 / (N - G)`` and its chi-square is mean- and variance-adjusted, scaled and shifted
(Asparouhov & Muthen 2010).

Implied statistics, delta parameterization (scales Delta_j of the latent responses are parameters,
fixed to 1 in the first group; residual variances follow from diag = 1):
``tau*_jk = Delta_j (tau_jk - lambda_j' alpha)``, ``rho*_ij = Delta_i Delta_j (Lambda Psi Lambda' + Theta)_ij``;
theta parameterization: the residual variances are parameters (1 in the first group) and
``Delta_j = (Lambda Psi Lambda' + Theta)_jj^-1/2``. Across groups the identification is lavaan's: with
equal thresholds the scales (or residual variances) and the factor means of the other groups are free.

References
----------
Muthen, B., du Toit, S. H. C., & Spisic, D. (1997). Robust inference using weighted least squares and
quadratic estimating equations in latent variable modeling with categorical and continuous outcomes.
Unpublished technical report.
Asparouhov, T., & Muthen, B. (2010). Simple second order chi-square correction. Mplus technical appendix.
Satorra, A. (2000). Scaled and adjusted restricted tests in multi-sample analysis of moment structures.
In R. D. H. Heijmans et al. (Eds.), Innovations in multivariate statistical analysis (pp. 233-247). Kluwer.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from validation.stats.cfa._syntax import (ALPHA, LAMBDA, NU, PSI, THETA, Formula, Row, Table, _names, _per_group,
                                         assign_pids)
from validation.stats.results import NotEstimable

TAU, SCALE = 5, 6
DELTA_PARAM, THETA_PARAM = "delta", "theta"
LAVAAN_ID, WU_ESTABROOK_ID = "lavaan", "wu.estabrook"
_STEP = 1e-20  # complex step: derivatives exact to rounding


def ordinal_table(formulas: list[Formula], *, ngroups: int, std_lv: bool, equal: tuple[str, ...],
                  partial: tuple[str, ...], n_thresholds: dict[str, int], parameterization: str,
                  identification: str = LAVAAN_ID) -> Table:
    """The parameter table of an ordinal CFA in lavaan's row order: loadings, thresholds (``|``, ``t1``,
    ``t2``...), residual variances, factor (co)variances, scales (``~*~``), intercepts, factor means.

    Equal thresholds free the scales (delta) or residual variances (theta) of the groups after the first.
    ``identification="lavaan"`` (lavaan's ``group.equal``) keeps the latent-response intercepts at 0 and
    frees the factor means; ``"wu.estabrook"`` (Wu & Estabrook 2016) frees the intercepts instead and keeps
    the factor means at 0 until ``"intercepts"`` are held equal too (which makes the two the same model)."""
    ov, lv = _names(formulas)
    if not lv:
        raise ValueError("model syntax: no factor defined (expected at least one 'F =~ x1 + x2 + ...')")
    bad = [f for f in formulas if f.op == "~1"]
    if bad:
        raise ValueError("model syntax: intercepts ('~1') are not parameters of an ordinal model (its thresholds are)")
    base: list[tuple[str, str, str, bool, Formula | None]] = [(f.lhs, f.op, f.rhs, True, f) for f in formulas]
    have = {(f.lhs, f.op, f.rhs) for f in formulas} | {(f.rhs, f.op, f.lhs) for f in formulas if f.op == "~~"}
    defaults = [(x, "|", f"t{k + 1}") for x in ov for k in range(n_thresholds[x])]
    defaults += [(x, "~~", x) for x in ov] + [(x, "~~", x) for x in lv]
    defaults += [(lv[i], "~~", lv[j]) for i in range(len(lv)) for j in range(i + 1, len(lv))]
    defaults += [(x, "~*~", x) for x in ov] + [(x, "~1", "") for x in ov] + [(x, "~1", "") for x in lv]
    base += [(d[0], d[1], d[2], False, None) for d in defaults if d not in have]
    shared_thresholds = "thresholds" in equal or "intercepts" in equal
    rows: list[Row] = []
    rid = 0
    for g in range(ngroups):
        first_seen: set[str] = set()
        for lhs, op, rhs, user, f in base:
            rid += 1
            free, value = True, math.nan
            own_variance = op == "~~" and lhs == rhs and lhs in ov
            if op == "=~" and not std_lv and lhs not in first_seen:
                free, value = False, 1.0
            if op == "=~":
                first_seen.add(lhs)
            if op == "~~" and lhs == rhs and lhs in lv and std_lv:
                free, value = False, 1.0
                if g > 0 and "loadings" in equal and "lv.variances" not in equal:
                    free, value = True, math.nan
            if own_variance:
                # delta: derived from the unit diagonal; theta: 1 in the first group
                free, value = False, (math.nan if parameterization == DELTA_PARAM else 1.0)
                if parameterization == THETA_PARAM and g > 0 and shared_thresholds:
                    free, value = True, math.nan
            if op == "~*~":
                free, value = False, (1.0 if parameterization == DELTA_PARAM else math.nan)
                if parameterization == DELTA_PARAM and g > 0 and shared_thresholds:
                    free, value = True, math.nan
            if op == "~1":
                free, value = False, 0.0
                intercepts_free = (identification == WU_ESTABROOK_ID and shared_thresholds
                                   and "intercepts" not in equal)
                if g > 0 and lhs in lv and shared_thresholds and "means" not in equal and not intercepts_free:
                    free, value = True, math.nan
                if g > 0 and lhs in ov and intercepts_free:
                    free, value = True, math.nan
            label = ""
            if f is not None:
                if f.mod.fixed is not None:
                    v = _per_group(f.mod.fixed, ngroups, "fixed", f)[g]
                    free, value = (True, math.nan) if isinstance(v, float) and math.isnan(v) else (False, float(v))
                if f.mod.start is not None and free:
                    value = float(_per_group(f.mod.start, ngroups, "start", f)[g])
                if f.mod.label is not None:
                    label = str(_per_group(f.mod.label, ngroups, "label", f)[g])
            rows.append(Row(rid, lhs, op, rhs, g, user, free, value, label))
    oi = {x: i for i, x in enumerate(ov)}
    li = {x: i for i, x in enumerate(lv)}
    toff = np.r_[0, np.cumsum([n_thresholds[x] for x in ov])]
    for r in rows:
        if r.op == "=~":
            r.mat, r.r, r.c = LAMBDA, oi[r.rhs], li[r.lhs]
        elif r.op == "|":
            r.mat, r.r = TAU, int(toff[oi[r.lhs]] + int(r.rhs[1:]) - 1)
        elif r.op == "~*~":
            r.mat, r.r = SCALE, oi[r.lhs]
        elif r.op == "~1":
            r.mat, r.r = (ALPHA, li[r.lhs]) if r.lhs in li else (NU, oi[r.lhs])
        elif r.lhs in li and r.rhs in li:
            a, b = li[r.lhs], li[r.rhs]
            r.mat, r.r, r.c = PSI, max(a, b), min(a, b)
        elif r.lhs in oi and r.rhs in oi:
            a, b = oi[r.lhs], oi[r.rhs]
            r.mat, r.r, r.c = THETA, max(a, b), min(a, b)
        else:
            raise ValueError(f"model syntax: {r.lhs} ~~ {r.rhs} pairs a factor with an observed variable")
    partial_set = {p.replace(" ", "") for p in partial}
    flagged: set[tuple[str, str, str]] = set()
    if ngroups > 1:
        for r in rows:
            if r.group != 0 or not r.free and r.op != "|":
                continue
            hit = (("loadings" in equal and r.op == "=~") or (shared_thresholds and r.op == "|")
                   or ("lv.variances" in equal and r.op == "~~" and r.lhs in li and r.lhs == r.rhs)
                   or ("lv.covariances" in equal and r.op == "~~" and r.lhs in li and r.lhs != r.rhs)
                   or ("residual.covariances" in equal and r.op == "~~" and r.lhs in oi and r.lhs != r.rhs))
            if hit and r.key not in partial_set:
                flagged.add((r.lhs, r.op, r.rhs))
    for r in rows:
        r.eq_label = r.label or (r.key if (r.group == 0 or (r.lhs, r.op, r.rhs) in flagged) else f"{r.key}.g{r.group + 1}")
    by_label: dict[str, list[Row]] = {}
    for r in rows:
        by_label.setdefault(r.eq_label, []).append(r)
    for rs in by_label.values():
        fixed = [r for r in rs if not r.free]
        if len(rs) > 1 and fixed:
            for r in rs:
                r.free, r.value = False, fixed[0].value
    return Table(rows, ov, lv, ngroups, True, assign_pids(rows))


@dataclasses.dataclass
class GroupStats:
    """One group's sample statistics: ``s`` (thresholds then correlations), ``gamma`` (N_g x their
    asymptotic covariance), ``n`` cases, ``thresholds`` per item and the polychoric matrix ``rho``."""

    s: np.ndarray
    gamma: np.ndarray
    n: int
    thresholds: list[np.ndarray]
    rho: np.ndarray

    @property
    def w(self) -> np.ndarray:
        return 1.0 / np.diag(self.gamma)


class OrdinalSpec:
    """A parameter table compiled against the groups' ordinal sample statistics."""

    def __init__(self, table: Table, stats: list[GroupStats], parameterization: str):
        self.table, self.stats, self.param = table, stats, parameterization
        self.p, self.m, self.G = len(table.ov), len(table.lv), table.ngroups
        self.npar = table.npar
        self.nobs = np.array([s.n for s in stats], dtype=float)
        self.N = float(self.nobs.sum())
        self.f = self.nobs / self.N
        self.nthr = sum(len(t) for t in stats[0].thresholds)
        self.iu, self.ju = np.triu_indices(self.p, 1)
        self.item_of = np.repeat(np.arange(self.p), [len(t) for t in stats[0].thresholds])
        self.fixed, self.free_idx = [], []
        for g in range(self.G):
            fixed = {k: [] for k in (LAMBDA, THETA, PSI, ALPHA, NU, TAU, SCALE)}
            free = {k: [] for k in fixed}
            for r in table.rows:
                if r.group != g or r.mat not in fixed:
                    continue
                derived = math.isnan(r.value) and not r.free
                if r.free:
                    free[r.mat].append((r.r, r.c, r.pid))
                elif not derived:
                    fixed[r.mat].append((r.r, r.c, r.value))
            self.fixed.append(fixed)
            self.free_idx.append(free)

    # -------------------------------------------------------------- implied statistics, batched
    def matrices(self, X: np.ndarray, g: int) -> dict[int, np.ndarray]:
        """Model matrices for a batch of parameter vectors ``X`` (B x npar; complex allowed)."""
        B, p, m = X.shape[0], self.p, self.m
        dt = X.dtype
        mats = {LAMBDA: np.zeros((B, p, m), dt), THETA: np.zeros((B, p, p), dt), PSI: np.zeros((B, m, m), dt),
                ALPHA: np.zeros((B, m), dt), NU: np.zeros((B, p), dt), TAU: np.zeros((B, self.nthr), dt), SCALE: np.ones((B, p), dt)}
        for k, entries in self.fixed[g].items():
            for r, c, v in entries:
                self._put(mats[k], k, r, c, v)
        for k, entries in self.free_idx[g].items():
            for r, c, pid in entries:
                self._put(mats[k], k, r, c, X[:, pid])
        return mats

    @staticmethod
    def _put(mat: np.ndarray, k: int, r: int, c: int, v) -> None:
        if k in (TAU, SCALE, ALPHA, NU):
            mat[:, r] = v
        else:
            mat[:, r, c] = v
            if k in (THETA, PSI):
                mat[:, c, r] = v

    def implied(self, X: np.ndarray, g: int) -> tuple[np.ndarray, dict]:
        """sigma_g (B x (thresholds + correlations)) and the matrices with the derived scales."""
        mt = self.matrices(X, g)
        L, P, T = mt[LAMBDA], mt[PSI], mt[THETA]
        C = L @ P @ np.swapaxes(L, 1, 2)
        if self.param == THETA_PARAM:
            dg = np.einsum("bii->bi", C) + np.einsum("bii->bi", T)
            mt[SCALE] = 1.0 / np.sqrt(dg)
        D = mt[SCALE]
        full = C + T
        corr = D[:, self.iu] * D[:, self.ju] * full[:, self.iu, self.ju]
        shift = np.einsum("bpm,bm->bp", L, mt[ALPHA]) + mt[NU]
        tau = D[:, self.item_of] * (mt[TAU] - shift[:, self.item_of])
        mt["C"] = C
        return np.concatenate([tau, corr], axis=1), mt

    def sigma(self, x: np.ndarray, g: int) -> np.ndarray:
        return self.implied(x[None, :].astype(float), g)[0][0]

    def jacobian(self, x: np.ndarray, g: int) -> np.ndarray:
        """d sigma_g / d x' (statistics x npar) by complex steps (exact to rounding)."""
        X = x[None, :] + 1j * _STEP * np.eye(self.npar)
        return self.implied(X, g)[0].imag.T / _STEP

    # -------------------------------------------------------------- objective
    def discrepancy(self, x: np.ndarray) -> float:
        """T = sum_g (N_g - 1) d_g' W_g d_g, the unscaled chi-square."""
        return float(sum((st.n - 1) * np.sum(st.w * (st.s - self.sigma(x, g)) ** 2) for g, st in enumerate(self.stats)))


def start_values(spec: OrdinalSpec) -> np.ndarray:
    """Thresholds at the sample thresholds of their first group, loadings 1 (0.7 with unit factor
    variances), factor variances 0.5, scales 1, residual variances 1, the rest 0."""
    x = np.zeros(spec.npar)
    std_lv = all(not r.free for r in spec.table.rows if r.mat == PSI and r.r == r.c and r.group == 0)
    seen: set[int] = set()
    for r in spec.table.rows:
        if not r.free or r.pid in seen:
            continue
        seen.add(r.pid)
        if not math.isnan(r.value):
            x[r.pid] = r.value
        elif r.op == "|":
            x[r.pid] = np.concatenate(spec.stats[r.group].thresholds)[r.r]
        elif r.op == "=~":
            x[r.pid] = 0.7 if std_lv else 1.0
        elif r.op == "~~" and r.lhs == r.rhs:
            x[r.pid] = 0.5 if r.mat == PSI else 1.0
        elif r.op == "~*~":
            x[r.pid] = 1.0
    return x


@dataclasses.dataclass
class OrdinalFit:
    theta: np.ndarray
    chisq: float
    iterations: int
    converged: bool


def fit_dwls(spec: OrdinalSpec, x0: np.ndarray | None = None, max_iter: int = 500, tol: float = 1e-11) -> OrdinalFit:
    """Minimise the DWLS discrepancy by Gauss-Newton steps, halved while the discrepancy rises."""
    x = start_values(spec) if x0 is None else np.array(x0, dtype=float)
    f = spec.discrepancy(x)
    for it in range(1, max_iter + 1):
        H = np.zeros((spec.npar, spec.npar))
        grad = np.zeros(spec.npar)
        for g, st in enumerate(spec.stats):
            D = spec.jacobian(x, g)
            WD = D * st.w[:, None] * (st.n - 1)
            H += D.T @ WD
            grad += WD.T @ (st.s - spec.sigma(x, g))
        try:
            step = np.linalg.solve(H, grad)
        except np.linalg.LinAlgError:
            raise NotEstimable("not estimable: the model is not identified (singular information matrix)") from None
        t = 1.0
        for _ in range(40):
            new = x + t * step
            fn = spec.discrepancy(new)
            if np.isfinite(fn) and fn <= f + 1e-12 * max(1.0, f):
                break
            t /= 2.0
        else:
            return OrdinalFit(x, f, it, False)
        x, f_old, f = new, f, fn
        if np.max(np.abs(t * step)) < tol or abs(f_old - f) < 1e-15 * max(1.0, f):
            return OrdinalFit(x, f, it, True)
    return OrdinalFit(x, f, max_iter, False)


@dataclasses.dataclass
class Inference:
    vcov: np.ndarray
    info: np.ndarray
    chisq: float
    df: int
    trace_ugamma: float
    trace_ugamma2: float
    jacobians: list[np.ndarray]


def inference(spec: OrdinalSpec, x: np.ndarray) -> Inference:
    """Robust covariance of the estimates and the traces of U Gamma behind the adjusted chi-square:
    E = sum_g f_g D_g' W_g D_g, B = sum_g f_g D_g' W_g Gamma_g W_g D_g, vcov = E^-1 B E^-1 / (N - G);
    tr(U Gamma) and tr((U Gamma)^2) without forming U, U = V - V D E^-1 D' V."""
    E = np.zeros((spec.npar, spec.npar))
    Bm = np.zeros_like(E)
    Qs, WDs, Ds = [], [], []
    tr_a = tr_a2 = 0.0
    for g, st in enumerate(spec.stats):
        D = spec.jacobian(x, g)
        WD = D * st.w[:, None]
        Q = st.gamma @ WD                     # Gamma_g W_g D_g
        E += spec.f[g] * D.T @ WD
        Bm += spec.f[g] * WD.T @ Q
        WG = st.gamma * st.w[:, None]         # W_g Gamma_g
        tr_a += float(np.trace(WG))
        tr_a2 += float(np.sum(WG * WG.T))
        Qs.append(Q)
        WDs.append(WD)
        Ds.append(D)
    Einv = np.linalg.inv(E)
    EB = Einv @ Bm
    ral = np.zeros_like(E)
    for g, st in enumerate(spec.stats):
        ral += spec.f[g] * Qs[g].T @ (Qs[g] * st.w[:, None])
    tr1 = tr_a - float(np.trace(EB))
    tr2 = tr_a2 - 2.0 * float(np.trace(Einv @ ral)) + float(np.sum(EB * EB.T))
    vcov = EB @ Einv / (spec.N - spec.G)
    ndat = sum(st.s.size for st in spec.stats)
    return Inference(vcov=(vcov + vcov.T) / 2, info=E, chisq=spec.discrepancy(x), df=ndat - spec.npar,
                     trace_ugamma=tr1, trace_ugamma2=tr2, jacobians=Ds)


def _cfi(x2: float, df: float, b2: float, bdf: float) -> float:
    from validation.stats.cfa._fit import _cfi as cfi
    return cfi(x2, df, b2, bdf)


def fit_measures(spec: OrdinalSpec, x: np.ndarray, inf: Inference, robust: str | None) -> dict[str, float]:
    """Fit measures under lavaan's names: the DWLS chi-square and its scaled-shifted version, the
    baseline (independence) model, CFI / TLI / RMSEA plain and scaled, SRMR, and the robust CFI / TLI /
    RMSEA of Savalei (2021) (NaN with ``robust`` saying why when they cannot be formed)."""
    from validation.stats.cfa import _fit

    G, df = spec.G, inf.df
    T = inf.chisq
    out: dict[str, float] = {"npar": float(spec.npar), "chisq": T, "df": float(df),
                             "pvalue": 1.0 - _fit.pchisq(T, df) if df > 0 else math.nan}
    if df > 0:
        a = math.sqrt(df / inf.trace_ugamma2)
        b = df - a * inf.trace_ugamma
        ts = a * T + b
        out.update({"chisq.scaled": ts, "df.scaled": float(df), "pvalue.scaled": 1.0 - _fit.pchisq(ts, df),
                    "chisq.scaling.factor": 1.0 / a, "chisq.shift.parameter": b})
    else:
        ts = T
        out.update({"chisq.scaled": T, "df.scaled": float(df), "pvalue.scaled": math.nan,
                    "chisq.scaling.factor": math.nan, "chisq.shift.parameter": math.nan})
    # baseline: free thresholds of each group, zero correlations
    nt = spec.nthr
    tb = sum((st.n - 1) * float(np.sum(st.w[nt:] * st.s[nt:] ** 2)) for st in spec.stats)
    bdf = G * spec.p * (spec.p - 1) // 2
    tr2b = 0.0
    for st in spec.stats:
        wg = st.gamma[nt:, nt:] * st.w[nt:, None]
        tr2b += float(np.sum(wg * wg.T))
    ab = math.sqrt(bdf / tr2b)
    tbs = ab * tb + (bdf - ab * bdf)
    out.update({"baseline.chisq": tb, "baseline.df": float(bdf), "baseline.pvalue": 1.0 - _fit.pchisq(tb, bdf),
                "baseline.chisq.scaled": tbs, "baseline.df.scaled": float(bdf),
                "baseline.pvalue.scaled": 1.0 - _fit.pchisq(tbs, bdf), "baseline.chisq.scaling.factor": 1.0 / ab})
    out["cfi"] = _cfi(T, df, tb, bdf)
    out["tli"] = _fit._tli(T, df, tb, bdf)
    out["cfi.scaled"] = _cfi(ts, df, tbs, bdf)
    out["tli.scaled"] = _fit._tli(ts, df, tbs, bdf)
    nr = spec.N - G
    out["rmsea"] = _fit.rmsea_point(T, df, nr, G)
    out["rmsea.ci.lower"], out["rmsea.ci.upper"] = _fit.rmsea_ci(T, df, nr, G)
    out["rmsea.scaled"] = _fit.rmsea_point(ts, df, nr, G)
    out["rmsea.ci.lower.scaled"], out["rmsea.ci.upper.scaled"] = _fit.rmsea_ci(ts, df, nr, G)
    out.update(_robust_measures(spec, x, inf, robust, bdf))
    ssq = 0.0
    for g, st in enumerate(spec.stats):
        res = st.s[nt:] - spec.sigma(x, g)[nt:]
        ssq += spec.f[g] * math.sqrt(float(np.sum(res * res)) / (spec.p * (spec.p + 1) / 2))
    out["srmr"] = ssq
    out["ntotal"] = spec.N
    return out


def _robust_measures(spec: OrdinalSpec, x: np.ndarray, inf: Inference, why_not: str | None, bdf: int) -> dict:
    """Savalei's (2021) robust CFI, TLI and RMSEA for categorical data: the normal-theory (ML)
    discrepancy between the polychoric and the implied correlation matrices, corrected by
    c = tr(M' V M Gamma) / df, M = I - D E^-1 D' W on the correlations (V the normal-theory weight of
    the correlations at the implied matrix); the baseline's c0 = tr(Gamma_cc) / df_baseline."""
    keys = ("cfi.robust", "tli.robust", "rmsea.robust", "rmsea.ci.lower.robust", "rmsea.ci.upper.robust")
    nan = {k: math.nan for k in keys}
    if why_not:
        return nan
    from validation.stats.cfa import _fit

    nt, iu, ju = spec.nthr, spec.iu, spec.ju
    Einv = np.linalg.inv(inf.info)
    xx3 = xx30 = tr_vg = 0.0
    lvl = np.zeros_like(Einv)        # sum_g f_g D_c' V_g D_c
    cross = 0.0                      # sum_g tr(E^-1 D_c' W Gamma V D_c) f_g
    rgr = np.zeros_like(Einv)        # sum_g f_g D_c' W Gamma W D_c
    for g, st in enumerate(spec.stats):
        R = st.rho
        sig = np.eye(spec.p)
        sig[iu, ju] = sig[ju, iu] = spec.sigma(x, g)[nt:]
        ld_r = np.linalg.slogdet(R)[1]
        ld_s = np.linalg.slogdet(sig)[1]
        S = np.linalg.inv(sig)
        xx3 += st.n * (ld_s + float(np.trace(R @ S)) - ld_r - spec.p)
        xx30 += st.n * (-ld_r)
        V = S[np.ix_(iu, iu)] * S[np.ix_(ju, ju)] + S[np.ix_(iu, ju)] * S[np.ix_(ju, iu)]
        Gc = st.gamma[nt:, nt:]
        wc = st.w[nt:]
        Dc = inf.jacobians[g][nt:]
        tr_vg += float(np.sum(V * Gc))
        VD = V @ Dc
        lvl += spec.f[g] * Dc.T @ VD
        WD = Dc * wc[:, None]
        cross += spec.f[g] * float(np.sum((Einv @ WD.T) * (Gc @ VD).T))
        rgr += spec.f[g] * WD.T @ (Gc @ WD)
    k = tr_vg - 2.0 * cross + float(np.sum(lvl * (Einv @ rgr @ Einv).T))
    df = inf.df
    c = k / df
    c0 = sum(float(np.trace(st.gamma[nt:, nt:])) / spec.f[g] for g, st in enumerate(spec.stats)) / bdf
    num = xx3 - c * df
    den0 = xx30 - c0 * bdf
    cfi = 1.0 - max(num, 0.0) / max(num, den0, 0.0) if max(num, den0, 0.0) > 0 else 1.0
    tli = 1.0 - (num * bdf) / (den0 * df)
    nr = spec.N - spec.G
    rmsea = math.sqrt(max(xx3 / (nr * df) - c / nr, 0.0)) * math.sqrt(spec.G)
    lo, hi = _fit.rmsea_ci(xx3 / c, df, nr, spec.G)
    return {"cfi.robust": cfi, "tli.robust": tli, "rmsea.robust": rmsea, "rmsea.ci.lower.robust": lo,
            "rmsea.ci.upper.robust": hi}


def release_tests(spec: OrdinalSpec, x: np.ndarray) -> list[tuple[Row, float]]:
    """Score (Lagrange multiplier) test of releasing each equality constraint across groups, one at a
    time: the copy of a first-group parameter in a later group is given its own value. With the DWLS
    gradient v and information J of the model extended by that one parameter, both at the constrained
    estimates, the statistic is N v' J^-1 v (one df); the ordinary, not robust, statistic, as lavaan's
    lavTestScore gives for WLSMV. The extended information is bordered, so one inverse serves all tests."""
    weights = [(st.n - 1) / spec.N for st in spec.stats]
    Ds = [spec.jacobian(x, g) for g in range(spec.G)]
    resid = [st.s - spec.sigma(x, g) for g, st in enumerate(spec.stats)]
    E = sum(w * D.T @ (D * st.w[:, None]) for w, D, st in zip(weights, Ds, spec.stats))
    grad = sum(w * D.T @ (st.w * e) for w, D, st, e in zip(weights, Ds, spec.stats, resid))
    Einv = np.linalg.inv(E)
    Eg = Einv @ grad
    base = float(grad @ Eg)
    first = {r.pid for r in spec.table.rows if r.free and r.group == 0}
    out = []
    for r in spec.table.rows:
        if not (r.free and r.group > 0 and r.pid in first):
            continue
        g, c = r.group, Ds[r.group][:, r.pid]
        Wc = spec.stats[g].w * c
        b = weights[g] * (Ds[g].T @ Wc)
        cc = weights[g] * float(c @ Wc)
        gd = weights[g] * float(Wc @ resid[g])
        Eb = Einv @ b
        schur = cc - float(b @ Eb)
        stat = (spec.N - spec.G) * (base + (gd - float(b @ Eg)) ** 2 / schur) if schur > 1e-12 * max(cc, 1.0) else math.nan
        out.append((r, stat))
    return out


def satorra_2000(spec1: OrdinalSpec, x1: np.ndarray, inf1: Inference, spec0: OrdinalSpec, x0: np.ndarray,
                 inf0: Inference) -> tuple[float, int, float, float, float]:
    """Scaled-and-shifted chi-square difference of a more restricted model 0 against model 1
    (Satorra 2000; as lavaan's lavTestLRT, method "satorra.2000"): the restrictions as A theta_1 = 0,
    A spanning the functionals that vanish on the directions model 0 leaves free (H = D1^+ D0),
    M = P^-1 A' (A P^-1 A')^-1 A P^-1 with P = E of model 1, C = sum_g f_g D1' W Gamma W D1:
    a = sqrt(m / tr((M C)^2)), b = m - a tr(M C), difference = a (T0 - T1) + b.
    Returns (difference, m, p, a, b)."""
    from scipy import stats as st

    D1 = np.vstack(inf1.jacobians)
    D0 = np.vstack(inf0.jacobians)
    H = np.linalg.pinv(D1) @ D0
    u, sv, _ = np.linalg.svd(H, full_matrices=True)
    rank = int(np.sum(sv > 1e-7 * max(sv.max(), 1.0)))
    A = u[:, rank:].T
    m = A.shape[0]
    diff = inf0.chisq - inf1.chisq
    if m == 0:
        return diff, 0, math.nan, math.nan, math.nan
    Pinv = np.linalg.inv(inf1.info)
    APA = A @ Pinv @ A.T
    M = Pinv @ A.T @ np.linalg.pinv(APA) @ A @ Pinv
    C = np.zeros_like(inf1.info)
    for g, stg in enumerate(spec1.stats):
        WD = inf1.jacobians[g] * stg.w[:, None]
        C += spec1.f[g] * WD.T @ (stg.gamma @ WD)
    MC = M @ C
    tr1, tr2 = float(np.trace(MC)), float(np.sum(MC * MC.T))
    a = math.sqrt(m / tr2)
    b = m - a * tr1
    t = diff * a + b
    return t, m, float(st.chi2.sf(t, m)), a, b
