"""Maximum-likelihood estimation of multi-group measurement models (engine of :mod:`validation.cfa`).

Model of group g (LISREL all-y notation, Joreskog 1969)::

    Sigma_g = Lambda_g Psi_g Lambda_g' + Theta_g,     mu_g = nu_g + Lambda_g alpha_g

Fit function (normal-theory ML on the biased sample covariance S_g, divisor N_g)::

    F = sum_g (N_g / N) [ log|Sigma_g| + tr(S_g Sigma_g^-1) - log|S_g| - p + (m_g - mu_g)' Sigma_g^-1 (m_g - mu_g) ]

minimised by Fisher scoring with a step-halving line search (Lee & Jennrich, 1979), finished by
Newton steps on a numerical Hessian of the analytic gradient when scoring converges slowly. The
expected information of one observation is ``I = sum_g (N_g/N) Delta_g' A_g Delta_g`` with
``A_g = diag(1/2 D'(P (x) P) D, P)``, ``P = Sigma_g^-1`` and ``Delta_g`` the Jacobian of
(vech Sigma_g, mu_g); the expected Hessian of F is ``2 I``. Each parameter's dSigma_g is a sum of
rank-2 terms ``u v' + v u'``, so the information is computed from p-vectors only (see
:meth:`Spec.cell_factors`). Equality constraints are imposed by giving equal parameters one index
(the reduced parameterisation), which yields the same estimates, information and standard errors
as lavaan's Lagrangian treatment of simple equality constraints.

References: Joreskog, K. G. (1969), Psychometrika 34, 183-202; Lee, S.-Y., & Jennrich, R. I.
(1979), A study of algorithms for covariance structure analysis with specific comparisons using
factor analysis, Psychometrika 44, 99-113; Sorbom, D. (1989), Model modification, Psychometrika
54, 371-384.

Incomplete data (:class:`FimlSpec`): full-information ML, the casewise likelihood computed per
missing-data pattern (see the section on FIML below), with the unrestricted model fitted by EM
(:func:`em_h1`), the expected information summed over patterns and the observed information by
complex-step differentiation of the analytic gradient. References: Arbuckle, J. L. (1996), Full
information estimation in the presence of incomplete data, in Marcoulides & Schumacker (Eds.),
Advanced structural equation modeling, 243-277; Dempster, A. P., Laird, N. M., & Rubin, D. B.
(1977), JRSS B 39, 1-38; Louis, T. A. (1982), Finding the observed information matrix when using
the EM algorithm, JRSS B 44, 226-233; Jamshidian, M., & Bentler, P. M. (1999), ML estimation of
mean and covariance structures with missing data using complete data routines, Journal of
Educational and Behavioral Statistics 24, 21-41; Squire, W., & Trapp, G. (1998), Using complex
variables to estimate derivatives of real functions, SIAM Review 40, 110-112.

Parameter vectors ``theta`` may be complex (used by complex-step differentiation).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import linalg

from validation.stats.cfa._syntax import ALPHA, LAMBDA, NU, PSI, THETA, Table

__all__ = ["Spec", "FitState", "fit_ml", "Patterns", "H1", "em_h1", "FimlSpec"]


class Spec:
    """A parameter table compiled against the sample statistics of its groups."""

    def __init__(self, table: Table, cov: list[np.ndarray], mean: list[np.ndarray], nobs: list[int]):
        self.table = table
        self.p = len(table.ov)
        self.m = len(table.lv)
        self.G = table.ngroups
        self.meanstructure = table.meanstructure
        self.npar = table.npar
        self.S = [np.asarray(s, dtype=float) for s in cov]
        self.xbar = [np.asarray(x, dtype=float) for x in mean]
        self.nobs = np.asarray(nobs, dtype=float)
        self.N = float(self.nobs.sum())
        self.w = self.nobs / self.N
        self.logdetS = [np.linalg.slogdet(s)[1] for s in self.S]
        p, m = self.p, self.m
        shapes = {LAMBDA: (p, m), THETA: (p, p), PSI: (m, m), NU: (p,), ALPHA: (m,)}
        self.tmpl: list[dict[int, np.ndarray]] = []
        self.fill: list[list[tuple[int, np.ndarray, np.ndarray]]] = []
        self.cells: list[dict[str, np.ndarray]] = []
        self.gpids: list[np.ndarray] = []
        self.free_key: list[set[tuple[int, int, int]]] = []
        for g in range(self.G):
            t = {k: np.zeros(v) for k, v in shapes.items()}
            fl: dict[int, tuple[list[int], list[int]]] = {k: ([], []) for k in shapes}
            mats, rs, cs, pids = [], [], [], []
            fk = set()
            for row in table.rows:
                if row.group != g:
                    continue
                shp = shapes[row.mat]
                if row.free:
                    mats.append(row.mat)
                    rs.append(row.r)
                    cs.append(row.c)
                    pids.append(row.pid)
                    fk.add((row.mat, row.r, row.c))
                    if len(shp) == 1:
                        fl[row.mat][0].append(row.r)
                        fl[row.mat][1].append(row.pid)
                    else:
                        fl[row.mat][0].append(row.r * shp[1] + row.c)
                        fl[row.mat][1].append(row.pid)
                        if row.mat in (THETA, PSI) and row.r != row.c:
                            fl[row.mat][0].append(row.c * shp[1] + row.r)
                            fl[row.mat][1].append(row.pid)
                else:
                    v = row.value
                    if len(shp) == 1:
                        t[row.mat][row.r] = v
                    else:
                        t[row.mat][row.r, row.c] = v
                        if row.mat in (THETA, PSI):
                            t[row.mat][row.c, row.r] = v
            self.tmpl.append(t)
            self.fill.append([(k, np.asarray(a, dtype=int), np.asarray(b, dtype=int)) for k, (a, b) in fl.items() if a])
            cell = {
                "mat": np.asarray(mats, dtype=int),
                "r": np.asarray(rs, dtype=int),
                "c": np.asarray(cs, dtype=int),
                "pid": np.asarray(pids, dtype=int),
            }
            up = np.unique(cell["pid"])
            loc = np.full(self.npar, -1, dtype=int)
            loc[up] = np.arange(up.size)
            cell["col"] = loc[cell["pid"]] if up.size else cell["pid"]
            self.cells.append(cell)
            self.gpids.append(up)
            self.free_key.append(fk)

    # ------------------------------------------------------------------ model matrices
    def matrices(self, theta: np.ndarray, g: int) -> list[np.ndarray]:
        dt = np.result_type(theta.dtype, float)
        t = self.tmpl[g]
        out = {k: v.astype(dt, copy=True) for k, v in t.items()}
        for k, idx, pid in self.fill[g]:
            out[k].reshape(-1)[idx] = theta[pid]
        return [out[LAMBDA], out[THETA], out[PSI], out[NU], out[ALPHA]]

    def implied(self, theta: np.ndarray, g: int) -> tuple[np.ndarray, np.ndarray]:
        L, T, Ps, nu, al = self.matrices(theta, g)
        sigma = L @ Ps @ L.T + T
        mu = nu + L @ al if self.meanstructure else self.xbar[g]
        return sigma, mu

    def _group_f(self, sigma: np.ndarray, mu: np.ndarray, g: int) -> float:
        try:
            c = linalg.cho_factor(sigma, lower=True, check_finite=False)
        except (linalg.LinAlgError, ValueError):
            return math.inf
        logdet = 2.0 * np.log(np.diag(c[0])).sum()
        pinv_s = linalg.cho_solve(c, self.S[g], check_finite=False)
        f = logdet + np.trace(pinv_s) - self.logdetS[g] - self.p
        if self.meanstructure:
            d = self.xbar[g] - mu
            f += float(d @ linalg.cho_solve(c, d, check_finite=False))
        return float(f)

    def fmin(self, theta: np.ndarray) -> float:
        """F (sum over groups of (N_g/N) F_g); chi-square = N F."""
        tot = 0.0
        for g in range(self.G):
            sigma, mu = self.implied(theta, g)
            if not np.all(np.isfinite(sigma)):
                return math.inf
            fg = self._group_f(sigma, mu, g)
            if not math.isfinite(fg):
                return math.inf
            tot += self.w[g] * fg
        return tot

    # ------------------------------------------------------------------ derivatives
    def _inv(self, sigma: np.ndarray) -> np.ndarray:
        c = linalg.cho_factor(sigma, lower=True, check_finite=False)
        pinv = linalg.cho_solve(c, np.eye(sigma.shape[0]), check_finite=False)
        return (pinv + pinv.T) / 2

    def score_matrices(
        self, L: np.ndarray, T: np.ndarray, Ps: np.ndarray, nu: np.ndarray, al: np.ndarray, g: int
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """``W = dF_g/dSigma`` (as a symmetric matrix: dF_g = tr(W dSigma)) and ``w`` with
        ``dF_g/dmu = -2 w``: ``W = P - P (S + d d') P``, ``w = P d``, ``d = m - mu``."""
        sigma = L @ Ps @ L.T + T
        P = self._inv(sigma)
        W = P - P @ self.S[g] @ P
        if not self.meanstructure:
            return W, None
        mu = nu + L @ al
        w = P @ (self.xbar[g] - mu)
        return W - np.outer(w, w), w

    def matrix_gradients(self, theta: np.ndarray, g: int) -> dict[int, np.ndarray]:
        """dF_g / d(cell) for every matrix cell (symmetric cells: per single cell)."""
        L, T, Ps, nu, al = self.matrices(theta, g)
        W, w = self.score_matrices(L, T, Ps, nu, al, g)
        out = {}
        if self.meanstructure:
            out[NU] = -2.0 * w
            out[ALPHA] = -2.0 * (L.T @ w)
            out[LAMBDA] = 2.0 * W @ L @ Ps - 2.0 * np.outer(w, al)
        else:
            out[NU] = np.zeros(self.p)
            out[ALPHA] = np.zeros(self.m)
            out[LAMBDA] = 2.0 * W @ L @ Ps
        out[PSI] = L.T @ W @ L
        out[THETA] = W
        return out

    @staticmethod
    def cell_values(grads: dict[int, np.ndarray], mat: np.ndarray, r: np.ndarray, c: np.ndarray) -> np.ndarray:
        """Gradient of F_g with respect to parameters sitting in the given cells (one cell each;
        an off-diagonal symmetric cell counts twice)."""
        v = np.zeros(mat.size, dtype=np.result_type(*(a.dtype for a in grads.values())))
        for k in (LAMBDA, THETA, PSI):
            s = mat == k
            if s.any():
                v[s] = grads[k][r[s], c[s]]
                if k in (THETA, PSI):
                    v[s] *= np.where(r[s] != c[s], 2.0, 1.0)
        for k in (NU, ALPHA):
            s = mat == k
            if s.any():
                v[s] = grads[k][r[s]]
        return v

    def gradient(self, theta: np.ndarray) -> np.ndarray:
        """dF/dtheta."""
        grad = np.zeros(self.npar, dtype=np.result_type(theta.dtype, float))
        for g in range(self.G):
            grad += self.group_gradient(theta, g)
        return grad

    def group_gradient(self, theta: np.ndarray, g: int) -> np.ndarray:
        """Group g's term of dF/dtheta (weighted by N_g/N; complex-safe)."""
        cell = self.cells[g]
        if cell["pid"].size == 0:
            return np.zeros(self.npar)
        gr = self.matrix_gradients(theta, g)
        v = self.cell_values(gr, cell["mat"], cell["r"], cell["c"])
        return self.w[g] * _bincount(cell["pid"], v, self.npar)

    def derivatives(
        self, theta: np.ndarray, g: int, mat: np.ndarray, r: np.ndarray, c: np.ndarray, col: np.ndarray, ncol: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """dSigma_g (ncol, p, p) and dmu_g (ncol, p) for parameters made of the given cells (the
        dense form of :meth:`cell_factors`, kept as its reference)."""
        L, T, Ps, nu, al = self.matrices(theta, g)
        p = self.p
        D = np.zeros((ncol, p, p))
        Dm = np.zeros((ncol, p))
        s = mat == LAMBDA
        if s.any():
            C = L @ Ps
            DL = np.zeros((ncol, p, p))
            np.add.at(DL, (col[s], r[s]), C[:, c[s]].T)
            D += DL + DL.transpose(0, 2, 1)
            if self.meanstructure:
                np.add.at(Dm, (col[s], r[s]), al[c[s]])
        s = mat == PSI
        if s.any():
            a = L[:, r[s]].T
            b = L[:, c[s]].T
            outer = a[:, :, None] * b[:, None, :]
            off = (r[s] != c[s])[:, None, None]
            np.add.at(D, col[s], outer + np.where(off, outer.transpose(0, 2, 1), 0.0))
        s = mat == THETA
        if s.any():
            np.add.at(D, (col[s], r[s], c[s]), 1.0)
            o = s & (r != c)
            if o.any():
                np.add.at(D, (col[o], c[o], r[o]), 1.0)
        if self.meanstructure:
            s = mat == NU
            if s.any():
                np.add.at(Dm, (col[s], r[s]), 1.0)
            s = mat == ALPHA
            if s.any():
                np.add.at(Dm, col[s], L[:, r[s]].T)
        return D, Dm

    def cell_factors(
        self, theta: np.ndarray, g: int, mat: np.ndarray, r: np.ndarray, c: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Each cell's dSigma_g written as ``u v' + v u'`` (U, V: p x n) and its dmu_g (n x p).

        Loading (i, k): u = e_i, v = (Lambda Psi)_k; factor covariance (k, l): u = Lambda_k,
        v = Lambda_l (v = Lambda_k / 2 on the diagonal); residual covariance (i, j): u = e_i,
        v = e_j (e_i / 2 on the diagonal). Then ``1/2 tr(P dS_s P dS_t) = (u_s'P u_t)(v_s'P v_t) +
        (u_s'P v_t)(v_s'P u_t)``: the information without p x p matrices per parameter."""
        L, T, Ps, nu, al = self.matrices(theta, g)
        p, n = self.p, mat.size
        U = np.zeros((p, n))
        V = np.zeros((p, n))
        Dm = np.zeros((n, p))
        idx = np.arange(n)
        s = mat == LAMBDA
        if s.any():
            U[r[s], idx[s]] = 1.0
            V[:, idx[s]] = (L @ Ps)[:, c[s]]
            if self.meanstructure:
                Dm[idx[s], r[s]] = al[c[s]]
        s = mat == PSI
        if s.any():
            U[:, idx[s]] = L[:, r[s]]
            V[:, idx[s]] = L[:, c[s]] * np.where(r[s] == c[s], 0.5, 1.0)
        s = mat == THETA
        if s.any():
            U[r[s], idx[s]] = 1.0
            V[c[s], idx[s]] = np.where(r[s] == c[s], 0.5, 1.0)
        if self.meanstructure:
            s = mat == NU
            if s.any():
                Dm[idx[s], r[s]] = 1.0
            s = mat == ALPHA
            if s.any():
                Dm[idx[s], :] = L[:, r[s]].T
        return U, V, Dm

    def group_information(self, theta: np.ndarray, g: int) -> tuple[np.ndarray, np.ndarray, dict]:
        """Unweighted information of group g over its own parameters (local order ``gpids[g]``)."""
        cell = self.cells[g]
        q = self.gpids[g].size
        sigma, _ = self.implied(theta, g)
        P = self._inv(sigma)
        U, V, Dm = self.cell_factors(theta, g, cell["mat"], cell["r"], cell["c"])
        PU, PV = P @ U, P @ V
        UV = U.T @ PV
        icell = (U.T @ PU) * (V.T @ PV) + UV * UV.T
        if self.meanstructure:
            icell += Dm @ P @ Dm.T
        A = np.zeros((cell["mat"].size, q))
        A[np.arange(cell["mat"].size), cell["col"]] = 1.0
        info = A.T @ icell @ A
        info = (info + info.T) / 2
        return info, self.gpids[g], {"P": P, "U": U, "V": V, "PU": PU, "PV": PV, "Dm": Dm, "A": A,
                                     "sigma": sigma}

    def cross_information(
        self, theta: np.ndarray, g: int, mat: np.ndarray, r: np.ndarray, c: np.ndarray, pieces: dict
    ) -> tuple[np.ndarray, np.ndarray]:
        """Unweighted information between new single-cell parameters of group g and the group's
        free parameters (n x q, local order), and the new parameters' own information (n)."""
        P, Uf, Vf, PU, PV, Dmf, A = (pieces[k] for k in ("P", "U", "V", "PU", "PV", "Dm", "A"))
        U, V, Dm = self.cell_factors(theta, g, mat, r, c)
        cross = (U.T @ PU) * (V.T @ PV) + (U.T @ PV) * (V.T @ PU)
        PUc, PVc = P @ U, P @ V
        uv = np.einsum("ij,ij->j", U, PVc)
        own = np.einsum("ij,ij->j", U, PUc) * np.einsum("ij,ij->j", V, PVc) + uv * uv
        if self.meanstructure:
            cross += Dm @ P @ Dmf.T
            own += np.einsum("ij,ij->i", Dm @ P, Dm)
        return cross @ A, own

    def own_block(self, theta: np.ndarray, g: int, mat: np.ndarray, r: np.ndarray, c: np.ndarray,
                  pieces: dict) -> np.ndarray:
        """Unweighted information among new single-cell parameters of group g (n x n)."""
        P = pieces["P"]
        U, V, Dm = self.cell_factors(theta, g, mat, r, c)
        UV = U.T @ P @ V
        icell = (U.T @ P @ U) * (V.T @ P @ V) + UV * UV.T
        if self.meanstructure:
            icell += Dm @ P @ Dm.T
        return icell

    def information(self, theta: np.ndarray) -> np.ndarray:
        """Expected information of one observation (lavaan's ``information.expected``), reduced."""
        info = np.zeros((self.npar, self.npar))
        for g in range(self.G):
            if self.gpids[g].size == 0:
                continue
            ig, up, _ = self.group_information(theta, g)
            info[np.ix_(up, up)] += self.w[g] * ig
        return info


class FitState:
    """Result of :func:`fit_ml`."""

    def __init__(self, theta: np.ndarray, fmin: float, converged: bool, iterations: int, message: str):
        self.theta = theta
        self.fmin = fmin
        self.converged = converged
        self.iterations = iterations
        self.message = message


def start_values(spec: Spec) -> np.ndarray:
    """Starting values: loadings from the leading eigenvector of each factor's indicator block,
    residual variances what the loadings leave (kept within 10-90% of the observed variance),
    factor covariances from loading-weighted composites, zero residual covariances, sample means as
    intercepts; parameters shared across groups averaged. Only where the optimiser starts: the
    estimates do not depend on them."""
    tab = spec.table
    p, m = spec.p, spec.m
    acc = np.zeros(spec.npar)
    cnt = np.zeros(spec.npar)
    for g in range(spec.G):
        S = spec.S[g]
        rows = [r for r in tab.rows if r.group == g]
        lam = np.zeros((p, m))
        psi = np.zeros(m)
        for k in range(m):
            ind = [r for r in rows if r.mat == LAMBDA and r.c == k]
            idx = [r.r for r in ind]
            if not idx:
                psi[k] = 1.0
                continue
            sub = S[np.ix_(idx, idx)]
            if len(idx) >= 2:
                ev, vec = np.linalg.eigh(sub)
                v = vec[:, -1] * math.sqrt(max(ev[-1], 1e-8))
                if v.sum() < 0:
                    v = -v
                # shrink toward common variance
                v = v * 0.9
            else:
                v = np.array([math.sqrt(max(sub[0, 0], 1e-8)) * 0.8])
            fixed = [(j, r) for j, r in enumerate(ind) if not r.free and r.value != 0]
            psi_row = [r for r in rows if r.mat == PSI and r.r == k and r.c == k]
            if fixed:
                j, r = fixed[0]
                scale = v[j] / r.value if abs(v[j]) > 1e-8 else 1.0
                v = v / scale
                psi[k] = scale**2
            else:
                if psi_row and not psi_row[0].free:
                    pv = psi_row[0].value
                    psi[k] = pv
                    if pv > 0:
                        v = v / math.sqrt(pv)
                else:
                    psi[k] = 1.0
            for j, r in enumerate(ind):
                lam[r.r, k] = v[j]
        comm = (lam**2 * psi[None, :]).sum(axis=1)
        # factor covariances from the correlation of (loading-weighted) composites, attenuated
        psicov = np.zeros((m, m))
        comp = []
        for k in range(m):
            wk = lam[:, k]
            comp.append(wk if np.any(wk != 0) else None)
        for k in range(m):
            for l in range(k):
                if comp[k] is None or comp[l] is None:
                    continue
                vk = comp[k] @ S @ comp[k]
                vl = comp[l] @ S @ comp[l]
                if vk <= 0 or vl <= 0:
                    continue
                rho = float(comp[k] @ S @ comp[l] / math.sqrt(vk * vl))
                rho = max(min(rho, 0.9), -0.9)
                psicov[k, l] = psicov[l, k] = rho * math.sqrt(abs(psi[k] * psi[l]))
        for r in rows:
            if not r.free:
                continue
            if r.mat == LAMBDA:
                val = lam[r.r, r.c]
            elif r.mat == PSI:
                val = psi[r.r] if r.r == r.c else psicov[r.r, r.c]
            elif r.mat == THETA:
                if r.r == r.c:
                    sv = S[r.r, r.r]
                    val = min(max(sv - comm[r.r], 0.1 * sv), 0.9 * sv)
                else:
                    val = 0.0
            elif r.mat == NU:
                val = spec.xbar[g][r.r]
            else:
                val = 0.0
            if math.isfinite(r.value):
                val = r.value
            acc[r.pid] += val
            cnt[r.pid] += 1
    return acc / np.maximum(cnt, 1)


def _newton_step(info: np.ndarray, grad: np.ndarray, cache: dict | None = None) -> np.ndarray:
    """-info^-1 grad, with eigenvalues floored at 1e-10 of the largest (a locally unidentified
    direction at the current point, e.g. at start values, is not followed blindly). ``cache`` keeps
    the eigendecomposition of an information matrix used for several steps."""
    try:
        if cache is not None and cache.get("info") is info:
            ev, vec = cache["eig"]
        else:
            ev, vec = np.linalg.eigh(info)
            if cache is not None:
                cache.update(info=info, eig=(ev, vec))
    except np.linalg.LinAlgError:
        return np.full(grad.shape, np.nan)
    top = ev[-1] if ev.size else 1.0
    if not np.isfinite(top) or top <= 0:
        return np.full(grad.shape, np.nan)
    ev = np.maximum(ev, 1e-10 * top)
    return -(vec @ ((vec.T @ grad) / ev))


_MAX_NEWTON = 40


def _numerical_hessian(spec: Spec, theta: np.ndarray) -> np.ndarray:
    """Hessian of F by central differences of the analytic gradient (or the specification's
    own exact Hessian when it has one)."""
    if hasattr(spec, "hessian"):
        return spec.hessian(theta)
    k = theta.size
    H = np.empty((k, k))
    for j in range(k):
        h = 1e-5 * max(1.0, abs(theta[j]))
        e = np.zeros(k)
        e[j] = h
        H[:, j] = (spec.gradient(theta + e) - spec.gradient(theta - e)) / (2 * h)
    return (H + H.T) / 2


def fit_ml(spec: Spec, theta0: np.ndarray | None = None, *, max_iter: int = 1000) -> FitState:
    """Minimise F by Fisher scoring with step halving, finished by Newton steps when scoring
    converges slowly (badly fitting models)."""
    theta = start_values(spec) if theta0 is None else np.asarray(theta0, dtype=float).copy()
    if spec.npar == 0:
        return FitState(theta, spec.fmin(theta), True, 0, "no free parameters")
    f = spec.fmin(theta)
    if not math.isfinite(f):
        # fall back to a diagonal start: residual variances = observed variances
        for g in range(spec.G):
            for r in spec.table.rows:
                if r.group == g and r.free and r.mat == THETA and r.r == r.c:
                    theta[r.pid] = spec.S[g][r.r, r.r]
        f = spec.fmin(theta)
        if not math.isfinite(f):
            return FitState(theta, f, False, 0, "the model-implied covariance matrix is not positive definite at the start")
    prev_dec = math.inf
    slow = 0
    newton = 0  # Newton iterations taken (0: still Fisher scoring)
    # under FIML the expected information costs far more than the gradient: it is kept from one
    # iteration to the next and recomputed only when progress slows (same optimum, fewer evaluations)
    reuse = getattr(spec, "costly_information", False)
    info, info_age, eig_cache = None, 0, {}
    for it in range(1, max_iter + 1):
        grad = spec.gradient(theta)
        if info is None or not reuse:
            info, info_age = 2.0 * spec.information(theta), 0
        step = _newton_step(info, grad, eig_cache)
        if not np.all(np.isfinite(step)):
            return FitState(theta, f, False, it, "the information matrix is singular")
        dec = float(-grad @ step)
        if dec < 0:  # not a descent direction: use the gradient
            step = -grad / max(np.abs(np.diag(info)).max(), 1e-12)
            dec = float(-grad @ step)
        small_step = np.max(np.abs(step) / (1.0 + np.abs(theta))) < 1e-11
        if dec < 1e-28 or small_step:
            return FitState(theta, spec.fmin(theta), True, it, "converged")
        # Fisher scoring converges linearly, slowly when the model fits badly: switch to Newton
        # steps on a numerical Hessian (of the analytic gradient) once progress per step stalls
        if reuse and info_age > 0 and dec > 0.3 * prev_dec:
            # slow with an old information matrix: refresh it before judging the pace
            info = 2.0 * spec.information(theta)
            info_age = 0
            step = _newton_step(info, grad, eig_cache)
            dec = float(-grad @ step)
            if not np.all(np.isfinite(step)) or dec < 0:
                step = -grad / max(np.abs(np.diag(info)).max(), 1e-12)
                dec = float(-grad @ step)
        info_age += 1
        slow = slow + 1 if dec > 0.3 * prev_dec else 0
        prev_dec = dec
        if newton or (slow >= 5 and it >= 10):
            newton += 1
            if newton > _MAX_NEWTON:
                break
            H = _numerical_hessian(spec, theta)
            try:
                c = linalg.cho_factor(H, lower=True, check_finite=False)
                nstep = -linalg.cho_solve(c, grad, check_finite=False)
                ndec = float(-grad @ nstep)
                if np.all(np.isfinite(nstep)) and ndec > 0:
                    step, dec = nstep, ndec
            except (linalg.LinAlgError, ValueError):
                pass  # not convex here: keep the scoring step
        if dec < 1e-12:
            # in the quadratic basin F can no longer resolve progress: take full steps
            cand = theta + step
            fc = spec.fmin(cand)
            if math.isfinite(fc) and fc <= f + 1e-12 * max(1.0, abs(f)):
                theta, f = cand, fc
                continue
        t = 1.0
        while True:
            cand = theta + t * step
            fc = spec.fmin(cand)
            if math.isfinite(fc) and fc <= f - 1e-4 * t * dec:
                break
            t *= 0.5
            if t < 1e-12:
                break
        if t < 1e-12:
            # no progress possible: converged only if the decrement is already tiny
            ok = dec < 1e-14
            return FitState(theta, f, ok, it, "converged" if ok else "line search failed")
        theta, f = cand, fc
    grad = spec.gradient(theta)
    return FitState(theta, f, False, it,
                    f"no convergence after {it} iterations (max |gradient| = {np.max(np.abs(grad)):.2e})")


# --------------------------------------------------------------------------------------------------
# score tests: modification indices and released equality constraints
# --------------------------------------------------------------------------------------------------


def _candidate_cells(spec: Spec, g: int) -> dict[str, np.ndarray]:
    """All cells of group g that are not free parameters: fixed or absent parameters that a
    modification index could free."""
    p, m = spec.p, spec.m
    fk = spec.free_key[g]
    mats, rs, cs = [], [], []
    for k in range(m):
        for i in range(p):
            if (LAMBDA, i, k) not in fk:
                mats.append(LAMBDA), rs.append(i), cs.append(k)
    for j in range(p):
        for i in range(j, p):
            if (THETA, i, j) not in fk:
                mats.append(THETA), rs.append(i), cs.append(j)
    for j in range(m):
        for i in range(j, m):
            if (PSI, i, j) not in fk:
                mats.append(PSI), rs.append(i), cs.append(j)
    if spec.meanstructure:
        for i in range(p):
            if (NU, i, 0) not in fk:
                mats.append(NU), rs.append(i), cs.append(0)
        for k in range(m):
            if (ALPHA, k, 0) not in fk:
                mats.append(ALPHA), rs.append(k), cs.append(0)
    return {"mat": np.asarray(mats, dtype=int), "r": np.asarray(rs, dtype=int), "c": np.asarray(cs, dtype=int)}


def direction_scores(
    spec: Spec, theta: np.ndarray, g: int, mat: np.ndarray, r: np.ndarray, c: np.ndarray, col: np.ndarray, ncol: int,
    pieces: dict | None = None, grads: dict | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For new parameters of group g made of the given cells (cell -> parameter ``col``): the
    gradient of lavaan's objective (F/2, group-weighted), their cross-information with the
    model's free parameters (ncol x npar) and their own information block (ncol x ncol); all per
    observation. ``pieces`` (from :meth:`Spec.group_information`) and ``grads`` (from
    :meth:`Spec.matrix_gradients`) may be passed when already computed at theta."""
    wg = spec.w[g]
    if grads is None:
        grads = spec.matrix_gradients(theta, g)
    dx = 0.5 * wg * np.bincount(col, weights=spec.cell_values(grads, mat, r, c), minlength=ncol)
    if pieces is None:
        _, _, pieces = spec.group_information(theta, g)
    An = np.zeros((mat.size, ncol))
    An[np.arange(mat.size), col] = 1.0
    cross_cells, _ = spec.cross_information(theta, g, mat, r, c, pieces)
    cross = np.zeros((ncol, spec.npar))
    cross[:, spec.gpids[g]] = wg * (An.T @ cross_cells)
    own = wg * (An.T @ spec.own_block(theta, g, mat, r, c, pieces) @ An)
    return dx, cross, own


def modification_indices(spec: Spec, theta: np.ndarray, info_inv: np.ndarray) -> list[dict]:
    """Score test (modification index) of freeing each fixed or absent parameter, one at a time:
    ``mi = N dx^2 / V``, ``epc = -dx / V`` with ``V = I_cc - I_cR I_RR^-1 I_Rc`` (Sorbom 1989),
    ``dx`` the gradient of F/2 and I the expected information of one observation; V below
    eps^(1/3) (a parameter that cannot be freed) gives NaN, as lavaan's ``modindices``."""
    out = []
    for g in range(spec.G):
        cand = _candidate_cells(spec, g)
        n = cand["mat"].size
        if n == 0:
            continue
        mat, r, c = cand["mat"], cand["r"], cand["c"]
        wg = spec.w[g]
        _, _, pieces = spec.group_information(theta, g)
        grads = spec.matrix_gradients(theta, g)
        dx = 0.5 * wg * spec.cell_values(grads, mat, r, c)
        cross_loc, own = spec.cross_information(theta, g, mat, r, c, pieces)
        up = spec.gpids[g]
        cross = wg * cross_loc
        V = wg * own - np.sum((cross @ info_inv[np.ix_(up, up)]) * cross, axis=1)
        for t in range(n):
            if V[t] >= _EPS3:
                mi, epc = spec.N * dx[t] ** 2 / V[t], -dx[t] / V[t]
            else:
                mi = epc = math.nan
            out.append({"group": g, "mat": int(mat[t]), "r": int(r[t]), "c": int(c[t]), "mi": mi, "epc": epc})
    return out


def release_test(
    spec: Spec, theta: np.ndarray, info_inv: np.ndarray, pid: int, release: list[int] | None = None,
    cache: dict | None = None,
) -> tuple[float, int]:
    """Score test of releasing the equality constraints on free parameter ``pid``: its copies in
    the groups ``release`` (default: all groups holding it but the first) get their own value
    (multivariate, df = number of released copies). ``cache``: a dict kept between calls at the
    same theta and info_inv (several tests of one model) to reuse per-group pieces."""
    if cache is None:
        cache = {}
    groups = [g for g in range(spec.G) if np.any(spec.cells[g]["pid"] == pid)]
    if len(groups) < 2:
        return math.nan, 0
    rel = groups[1:] if release is None else [g for g in release if g in groups]
    if not rel or len(rel) >= len(groups):
        raise ValueError("release: give groups holding the parameter, leaving at least one")
    dxs, crosses, owns = [], [], []
    for g in rel:
        cell = spec.cells[g]
        s = cell["pid"] == pid
        mat, r, c = cell["mat"][s], cell["r"][s], cell["c"][s]
        col = np.zeros(mat.size, dtype=int)
        if ("pieces", g) not in cache:
            cache[("pieces", g)] = spec.group_information(theta, g)[2]
            cache[("grads", g)] = spec.matrix_gradients(theta, g)
        dx, cross, own = direction_scores(spec, theta, g, mat, r, c, col, 1, cache[("pieces", g)],
                                          cache[("grads", g)])
        dxs.append(dx[0])
        crosses.append(cross[0])
        owns.append(own[0, 0])
    k = len(dxs)
    # T = N s' I_aug^-1 s over the model's parameters and the released copies; at the exact
    # constrained optimum the model's own gradient is zero and T = N dx' V^-1 dx with
    # V = I_cc - I_cR I_RR^-1 I_Rc (the form lavTestScore evaluates, gradient included)
    if "I_rr" not in cache:
        cache["g_red"] = 0.5 * spec.gradient(theta)
        cache["I_rr"] = np.linalg.inv(info_inv)
    g_red, I_rr = cache["g_red"], cache["I_rr"]
    dx = np.asarray(dxs)
    cross = np.vstack(crosses)
    aug = np.block([[I_rr, cross.T], [cross, np.diag(owns)]])
    s = np.concatenate([g_red, dx])
    try:
        stat = float(spec.N * s @ np.linalg.solve(aug, s))
    except np.linalg.LinAlgError:
        stat = float(spec.N * s @ np.linalg.pinv(aug) @ s)
    return stat, k


_EPS3 = float(np.finfo(float).eps) ** (1.0 / 3.0)


def _bincount(idx: np.ndarray, v: np.ndarray, n: int) -> np.ndarray:
    """np.bincount with (possibly complex) weights."""
    if np.iscomplexobj(v):
        return np.bincount(idx, weights=v.real, minlength=n) + 1j * np.bincount(idx, weights=v.imag, minlength=n)
    return np.bincount(idx, weights=v, minlength=n)


# --------------------------------------------------------------------------------------------------
# full-information maximum likelihood for incomplete data
# --------------------------------------------------------------------------------------------------
#
# Casewise likelihood (Arbuckle, 1996; Enders, 2010, ch. 4): case i with observed variables o_i
# contributes  -1/2 [p_i log 2pi + log|Sigma_oo| + d_o' Sigma_oo^-1 d_o],  d = y - mu.  Everything is
# computed from K = Sigma^-1 and the missing block m of each pattern (k = |m| values, few for data
# missing here and there):
#
#     Sigma_oo^-1 (embedded, zero rows/columns at m) = K - K[:, m] C K[m, :],  C = K_mm^-1
#                                                    = Sigma_mm - Sigma_mo Sigma_oo^-1 Sigma_om
#     log|Sigma_oo| = log|Sigma| + log|K_mm|
#     d_o' Sigma_oo^-1 d_o = d'K d - z' C z,  z = (K d)_m  (d zero at m)
#
# (the inverse of a partitioned matrix). The completed residual r = d with r_m = -C z is
# E(y - mu | y_o) and C = Cov(y_m | y_o): the E-step of the EM algorithm (Dempster, Laird & Rubin,
# 1977). The gradient of the observed-data log-likelihood is the complete-data gradient at the
# E-step moments (Louis, 1982; Jamshidian & Bentler, 1999):
#
#     dF_g/dSigma = K - K S~ K,   dF_g/dmu = -2 K rbar,   S~ = (sum_i r_i r_i' + sum_i C_i) / N_g
#
# so one Sigma inverse per group and one k x k inverse per distinct pattern are all each
# evaluation needs; the cases are handled as arrays grouped by the number of missing values.


class _Block:
    """Cases with k missing values: ``cases`` (rows), ``pats`` (distinct patterns: missing
    positions, npat x k), ``pos`` (pattern of each case), ``freq`` (cases per pattern)."""

    __slots__ = ("k", "cases", "pats", "pos", "freq", "obs_pats")

    def __init__(self, k, cases, pats, pos, freq, obs_pats):
        self.k, self.cases, self.pats, self.pos, self.freq, self.obs_pats = k, cases, pats, pos, freq, obs_pats


class Patterns:
    """Missing-data patterns of one group's data (rows: cases with at least one observed value)."""

    def __init__(self, y: np.ndarray):
        y = np.asarray(y, dtype=float)
        self.y = y
        self.n, self.p = y.shape
        obs = ~np.isnan(y)
        self.obs = obs
        self.obsf = obs.astype(float)
        self.y0 = np.where(obs, y, 0.0)
        self.p_case = obs.sum(axis=1)
        if np.any(self.p_case == 0):
            raise ValueError("Patterns: every case needs at least one observed value")
        self.log2pi_total = float(self.p_case.sum()) * math.log(2 * math.pi)
        uniq, inv, freq = np.unique(obs, axis=0, return_inverse=True, return_counts=True)
        inv = np.asarray(inv).reshape(-1)
        self.npatterns = int(uniq.shape[0])
        kk = self.p - uniq.sum(axis=1)
        self.complete = np.flatnonzero(kk[inv] == 0)
        self.blocks: list[_Block] = []
        for k in sorted(set(kk.tolist()) - {0}):
            pids = np.flatnonzero(kk == k)
            pats = np.array([np.flatnonzero(~uniq[j]) for j in pids], dtype=int).reshape(len(pids), k)
            opats = np.array([np.flatnonzero(uniq[j]) for j in pids], dtype=int).reshape(len(pids), self.p - k)
            local = np.full(uniq.shape[0], -1)
            local[pids] = np.arange(pids.size)
            cases = np.flatnonzero(kk[inv] == k)
            self.blocks.append(_Block(k, cases, pats, local[inv[cases]], freq[pids].astype(float), opats))
        self.coverage = (self.obsf.T @ self.obsf) / self.n

    def estep(self, sigma: np.ndarray, mu: np.ndarray, *, logdet: bool = False):
        """E-step at (Sigma, mu): K = Sigma^-1, completed residuals r (n x p), the summed
        conditional covariances M (p x p), each case's d_o' Sigma_oo^-1 d_o and, with ``logdet``,
        sum_i log|Sigma_oo,i|. Complex-safe (no Cholesky) unless ``logdet``."""
        K = np.linalg.inv(sigma)
        K = (K + K.T) / 2
        D = self.y0 - mu[None, :] * self.obsf
        ZK = D @ K
        quad = np.einsum("ij,ij->i", ZK, D)
        r = D.copy()
        M = np.zeros_like(K)
        ld = 0.0
        if logdet:
            sign, ldS = np.linalg.slogdet(sigma)
            ld = self.n * ldS
        for b in self.blocks:
            Kmm = K[b.pats[:, :, None], b.pats[:, None, :]]
            C = np.linalg.inv(Kmm)
            mi = b.pats[b.pos]
            z = ZK[b.cases[:, None], mi]
            x = np.einsum("nij,nj->ni", C[b.pos], z)
            quad[b.cases] -= np.einsum("ni,ni->n", z, x)
            r[b.cases[:, None], mi] = -x
            flat = (b.pats[:, :, None] * self.p + b.pats[:, None, :]).ravel()
            M += _bincount(flat, (b.freq[:, None, None] * C).ravel(), self.p * self.p).reshape(self.p, self.p)
            if logdet:
                ld += float(b.freq @ np.linalg.slogdet(Kmm)[1])
        return K, r, M, quad, ld

    def m2ll(self, sigma: np.ndarray, mu: np.ndarray) -> float:
        """-2 log-likelihood without the 2 pi terms (lavaan's ``minus.two, log2pi = FALSE``);
        inf when Sigma is not positive definite."""
        try:
            np.linalg.cholesky(sigma)
        except np.linalg.LinAlgError:
            return math.inf
        _, _, _, quad, ld = self.estep(sigma, mu, logdet=True)
        return float(ld + quad.sum())

    def loglik(self, sigma: np.ndarray, mu: np.ndarray) -> float:
        """Casewise log-likelihood (with the 2 pi terms)."""
        return -0.5 * (self.m2ll(sigma, mu) + self.log2pi_total)

    def independence_loglik(self) -> float:
        """Log-likelihood of the independence model (free means and variances) under FIML: the
        likelihood factors over variables, each fitted by its observed values' mean and ML
        variance."""
        out = 0.0
        for j in range(self.p):
            v = self.y[self.obs[:, j], j]
            n = v.size
            var = float(np.mean((v - v.mean()) ** 2))
            out += -0.5 * n * (math.log(2 * math.pi) + math.log(var) + 1.0)
        return out


class H1:
    """The unrestricted model of one group fitted by EM: ``mu``, ``sigma``, ``fx`` (-2 logl / N
    without 2 pi terms), ``logl``, ``iterations``, ``converged``."""

    def __init__(self, mu, sigma, fx, logl, iterations, converged):
        self.mu, self.sigma, self.fx, self.logl = mu, sigma, fx, logl
        self.iterations, self.converged = iterations, converged


def em_h1(pat: Patterns, *, tol: float = 1e-5, max_iter: int = 500) -> H1:
    """Saturated mean vector and covariance matrix by EM (Dempster, Laird & Rubin, 1977), with
    the conventions of lavaan's ``lav_mvnorm_missing_h1_estimate_moments``: start at the
    available-case means and (ML) variances with zero covariances, stop when no mean or
    covariance changes by ``tol`` or more (lavaan's ``em.h1.tol``, ``em.h1.iter.max``), add
    1e-8 x the largest variance to the diagonal when an eigenvalue falls below 1e-6."""
    y = pat.y
    n, p = pat.n, pat.p
    with np.errstate(invalid="ignore"):
        mu = np.nanmean(y, axis=0)
        var = np.nanmean((y - mu) ** 2, axis=0)
    var = np.where(np.isfinite(var) & (var != 0), var, 1.0)
    sigma = np.diag(var)
    tri = np.tril_indices(p)
    it, conv = 0, False
    for it in range(1, max_iter + 1):
        _, r, M, _, _ = pat.estep(sigma, mu)
        rbar = r.mean(axis=0)
        mu_new = mu + rbar
        s_new = (r.T @ r + M) / n - np.outer(rbar, rbar)
        s_new = (s_new + s_new.T) / 2
        if np.linalg.eigvalsh(s_new)[0] < 1e-6:
            s_new[np.diag_indices(p)] += np.max(np.diag(s_new)) * 1e-8
        delta = max(np.max(np.abs(mu_new - mu)), np.max(np.abs((s_new - sigma)[tri])))
        mu, sigma = mu_new, s_new
        if delta < tol:
            conv = True
            break
    m2 = pat.m2ll(sigma, mu)
    return H1(mu, sigma, m2 / n, -0.5 * (m2 + pat.log2pi_total), it, conv)


def _qform_factors(K: np.ndarray, sigma: np.ndarray, pat: Patterns) -> tuple[float, list]:
    """Sigma_oo^-1 of every pattern as ``s0 K + s1 a'a`` with a = Linv X[idx] (X = K. or X):
    ``K - K_.m K_mm^-1 K_m.`` (downdate, s0 = 1, s1 = -1) when fewer values are missing than
    observed, else ``E_o Sigma_oo^-1 E_o'`` (direct, s0 = 0, s1 = 1). Returns the number of cases
    whose matrix contains K once (complete cases and downdates) and one entry per pattern block."""
    n0 = float(pat.complete.size)
    out = []
    p = pat.p
    for b in pat.blocks:
        if b.k <= p - b.k:
            Kmm = K[b.pats[:, :, None], b.pats[:, None, :]]
            Linv = np.linalg.inv(np.linalg.cholesky(Kmm))
            out.append((True, b.freq, b.pats, Linv))
            n0 += float(b.freq.sum())
        else:
            Soo = sigma[b.obs_pats[:, :, None], b.obs_pats[:, None, :]]
            Linv = np.linalg.inv(np.linalg.cholesky(Soo))
            out.append((False, b.freq, b.obs_pats, Linv))
    return n0, out


_CHUNK = 4_000_000  # elements of a Khatri-Rao chunk


def _fiml_block(pp: dict, F1: tuple, F2: tuple | None = None) -> np.ndarray:
    """Expected information between two sets of single-cell parameters, averaged over the
    group's cases: ``1/N sum_i [1/2 tr(Q_i dS_s Q_i dS_t) + dmu_s' Q_i dmu_t]`` with Q_i the
    embedded Sigma_oo^-1 of case i and ``dS = u v' + v u'`` (see :meth:`Spec.cell_factors`):
    ``(u_s'Q u_t)(v_s'Q v_t) + (u_s'Q v_t)(v_s'Q u_t) + dmu_s'Q dmu_t``. With Q = s0 K + s1 a'a
    the sum over patterns splits into terms in K, pattern sums of a'a, and one product of
    symmetric Khatri-Rao rows ``a_u[j] a_v[l] + a_v[j] a_u[l]`` (j <= l) for the Hadamard
    products of two pattern terms. ``F2 = None``: only the diagonal of F1's block with itself."""
    diag = F2 is None
    U1, V1, D1 = F1
    U2, V2, D2 = F1 if diag else F2
    n1, n2 = U1.shape[1], U2.shape[1]
    out = np.zeros(n1 if diag else (n1, n2))
    # covariance cells (dS != 0) and mean cells (dmu != 0); a loading is both
    c1 = np.flatnonzero(np.any(U1 != 0, axis=0) | np.any(V1 != 0, axis=0))
    m1 = np.flatnonzero(np.any(D1 != 0, axis=1))
    c2 = c1 if diag else np.flatnonzero(np.any(U2 != 0, axis=0) | np.any(V2 != 0, axis=0))
    m2 = m1 if diag else np.flatnonzero(np.any(D2 != 0, axis=1))
    if c1.size and c2.size:
        blk = _fiml_cov_part(pp, U1[:, c1], V1[:, c1], None if diag else U2[:, c2], None if diag else V2[:, c2])
        if diag:
            out[c1] += blk
        else:
            out[np.ix_(c1, c2)] += blk
    if m1.size and m2.size:
        blk = _fiml_mean_part(pp, D1[m1].T, None if diag else D2[m2].T)
        if diag:
            out[m1] += blk
        else:
            out[np.ix_(m1, m2)] += blk
    return out / pp["n"]


def _fiml_mean_part(pp: dict, X1: np.ndarray, X2: np.ndarray | None) -> np.ndarray:
    """sum_i x_s' Q_i x_t (X: p x n; X2 None: diagonal only)."""
    K, n0 = pp["K"], pp["n0"]
    diag = X2 is None
    KX2 = K @ (X1 if diag else X2)
    out = n0 * (np.einsum("ij,ij->j", X1, KX2) if diag else X1.T @ KX2)
    KX1 = KX2 if diag else K @ X1
    for down, freq, idx, Linv in pp["factors"]:
        a1 = Linv @ (KX1 if down else X1)[idx]
        a2 = a1 if diag else Linv @ (KX2 if down else X2)[idx]
        fw = (-freq if down else freq)[:, None, None]
        if diag:
            out += np.einsum("pkn,pkn->n", fw * a1, a2)
        else:
            out += (fw * a1).reshape(-1, a1.shape[2]).T @ a2.reshape(-1, a2.shape[2])
    return out


_TRIU: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}


def _triu(k: int):
    if k not in _TRIU:
        j, l = np.triu_indices(k)
        _TRIU[k] = (j, l, np.where(j == l, 0.5, 1.0))
    return _TRIU[k]


def _fiml_cov_part(pp: dict, U1, V1, U2, V2) -> np.ndarray:
    """sum_i [(u_s'Q_i u_t)(v_s'Q_i v_t) + (u_s'Q_i v_t)(v_s'Q_i u_t)] (U2 None: diagonal only)."""
    K, n0 = pp["K"], pp["n0"]
    diag = U2 is None
    KU1, KV1 = K @ U1, K @ V1
    if diag:
        U2, V2, KU2, KV2 = U1, V1, KU1, KV1
        ip = lambda A, B: np.einsum("ij,ij->j", A, B)  # noqa: E731
    else:
        KU2, KV2 = K @ U2, K @ V2
        ip = lambda A, B: A.T @ B  # noqa: E731
    UKU, VKV, UKV, VKU = ip(U1, KU2), ip(V1, KV2), ip(U1, KV2), ip(V1, KU2)
    out = n0 * (UKU * VKV + UKV * VKU)
    n1, n2 = U1.shape[1], U2.shape[1]
    SUU = np.zeros(n1 if diag else (n1, n2))
    SVV, SUV, SVU, ZZ = (np.zeros_like(SUU) for _ in range(4))
    for down, freq, idx, Linv in pp["factors"]:
        kk = idx.shape[1]
        j, l, half = _triu(kk)
        step = max(1, int(_CHUNK // max(kk * kk * max(n1, n2), 1)))
        X1 = np.concatenate([KU1, KV1] if down else [U1, V1], axis=1)
        X2 = X1 if diag else np.concatenate([KU2, KV2] if down else [U2, V2], axis=1)
        for s in range(0, freq.size, step):
            f, ix, Li = freq[s:s + step], idx[s:s + step], Linv[s:s + step]
            a1 = Li @ X1[ix]  # (npat, k, 2 n1): [a_u | a_v]
            a2 = a1 if diag else Li @ X2[ix]
            fw = f[:, None, None]
            aU1, aV1 = a1[:, :, :n1], a1[:, :, n1:]
            aU2, aV2 = a2[:, :, :n2], a2[:, :, n2:]
            z2 = aU2[:, j, :] * aV2[:, l, :] + aV2[:, j, :] * aU2[:, l, :]
            z1 = z2 if diag else aU1[:, j, :] * aV1[:, l, :] + aV1[:, j, :] * aU1[:, l, :]
            z1 = z1 * (fw * half[None, :, None])
            if diag:
                ZZ += np.einsum("prn,prn->n", z1, z2)
                if down:
                    sq = np.einsum("pkn,pkn->n", fw * a1, a1)
                    SUU -= sq[:n1]
                    SVV -= sq[n1:]
                    SUV -= np.einsum("pkn,pkn->n", fw * aU1, aV1)
            else:
                ZZ += z1.reshape(-1, n1).T @ z2.reshape(-1, n2)
                if down:
                    big = (fw * a1).reshape(-1, 2 * n1).T @ a2.reshape(-1, 2 * n2)
                    SUU -= big[:n1, :n2]
                    SUV -= big[:n1, n2:]
                    SVU -= big[n1:, :n2]
                    SVV -= big[n1:, n2:]
        if diag:
            SVU = SUV
    return out + UKU * SVV + SUU * VKV + UKV * SVU + SUV * VKU + ZZ


class FimlSpec(Spec):
    """A parameter table compiled against incomplete raw data: full-information ML.

    ``F = sum_g (N_g/N) [-2 logl_g(theta) / N_g - fx_g]`` with fx_g the same at the EM estimates
    of the unrestricted model (lavaan's ``estimator.FIML``), so that ``chisq = N F``. ``S``,
    ``xbar`` hold the EM moments (used for start values and residuals)."""

    costly_information = True  # per pattern: fit_ml keeps it between iterations

    def __init__(self, table: Table, patterns: list[Patterns], h1: list[H1]):
        super().__init__(table, [h.sigma for h in h1], [h.mu for h in h1], [pt.n for pt in patterns])
        if not table.meanstructure:
            raise ValueError("full-information ML needs a mean structure")
        self.patterns = patterns
        self.h1 = h1

    def group_m2ll(self, theta: np.ndarray, g: int) -> float:
        sigma, mu = self.implied(theta, g)
        if not (np.all(np.isfinite(sigma)) and np.all(np.isfinite(mu))):
            return math.inf
        return self.patterns[g].m2ll(sigma, mu)

    def group_f(self, theta: np.ndarray, g: int) -> float:
        """-2 (logl_g - logl_g(H1)) / N_g."""
        return self.group_m2ll(theta, g) / self.nobs[g] - self.h1[g].fx

    def fmin(self, theta: np.ndarray) -> float:
        tot = 0.0
        for g in range(self.G):
            fg = self.group_f(theta, g)
            if not math.isfinite(fg):
                return math.inf
            tot += self.w[g] * fg
        return tot

    def loglik(self, theta: np.ndarray, g: int) -> float:
        return -0.5 * (self.group_m2ll(theta, g) + self.patterns[g].log2pi_total)

    def score_matrices(self, L, T, Ps, nu, al, g):
        sigma = L @ Ps @ L.T + T
        mu = nu + L @ al
        pat = self.patterns[g]
        K, r, M, _, _ = pat.estep(sigma, mu)
        rbar = r.mean(axis=0)
        Smu = (r.T @ r + M) / pat.n
        W = K - K @ Smu @ K
        return (W + W.T) / 2, K @ rbar

    def hessian(self, theta: np.ndarray) -> np.ndarray:
        """Hessian of F: complex-step derivatives (Squire & Trapp, 1998) of the analytic
        gradient, one column per parameter and group holding it -- exact to rounding."""
        k = self.npar
        H = np.zeros((k, k))
        h = 1e-20
        base = theta.astype(complex)
        for g in range(self.G):
            for j in self.gpids[g]:
                tc = base.copy()
                tc[j] += 1j * h
                H[:, j] += self.group_gradient(tc, g).imag / h
        return (H + H.T) / 2

    def _pattern_pieces(self, theta: np.ndarray, g: int) -> dict:
        sigma, _ = self.implied(theta, g)
        K = self._inv(sigma)
        n0, fac = _qform_factors(K, sigma, self.patterns[g])
        return {"K": K, "n0": n0, "factors": fac, "n": float(self.patterns[g].n)}

    def group_information(self, theta: np.ndarray, g: int) -> tuple[np.ndarray, np.ndarray, dict]:
        """Expected information of group g under FIML (lavaan's ``information = "expected"``
        with ``h1.information = "structured"``: per pattern, at the model's moments)."""
        cell = self.cells[g]
        q = self.gpids[g].size
        pp = self._pattern_pieces(theta, g)
        U, V, Dm = self.cell_factors(theta, g, cell["mat"], cell["r"], cell["c"])
        icell = _fiml_block(pp, (U, V, Dm), (U, V, Dm))
        A = np.zeros((cell["mat"].size, q))
        A[np.arange(cell["mat"].size), cell["col"]] = 1.0
        info = A.T @ icell @ A
        info = (info + info.T) / 2
        return info, self.gpids[g], {"pp": pp, "U": U, "V": V, "Dm": Dm, "A": A}

    def cross_information(self, theta, g, mat, r, c, pieces):
        U, V, Dm = self.cell_factors(theta, g, mat, r, c)
        cross = _fiml_block(pieces["pp"], (U, V, Dm), (pieces["U"], pieces["V"], pieces["Dm"]))
        own = _fiml_block(pieces["pp"], (U, V, Dm))
        return cross @ pieces["A"], own

    def own_block(self, theta, g, mat, r, c, pieces):
        U, V, Dm = self.cell_factors(theta, g, mat, r, c)
        return _fiml_block(pieces["pp"], (U, V, Dm), (U, V, Dm))
