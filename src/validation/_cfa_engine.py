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

Parameter vectors ``theta`` may be complex (used by complex-step differentiation).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import linalg

from validation._cfa_syntax import ALPHA, LAMBDA, NU, PSI, THETA, Table

__all__ = ["Spec", "FitState", "fit_ml"]


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

    def matrix_gradients(self, theta: np.ndarray, g: int) -> dict[int, np.ndarray]:
        """dF_g / d(cell) for every matrix cell (symmetric cells: per single cell)."""
        L, T, Ps, nu, al = self.matrices(theta, g)
        sigma = L @ Ps @ L.T + T
        P = self._inv(sigma)
        W = P - P @ self.S[g] @ P
        out = {}
        if self.meanstructure:
            mu = nu + L @ al
            w = P @ (self.xbar[g] - mu)
            W = W - np.outer(w, w)
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
        v = np.zeros(mat.size)
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
        grad = np.zeros(self.npar)
        for g in range(self.G):
            cell = self.cells[g]
            if cell["pid"].size == 0:
                continue
            gr = self.matrix_gradients(theta, g)
            v = self.cell_values(gr, cell["mat"], cell["r"], cell["c"])
            grad += self.w[g] * np.bincount(cell["pid"], weights=v, minlength=self.npar)
        return grad

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


def _newton_step(info: np.ndarray, grad: np.ndarray) -> np.ndarray:
    """-info^-1 grad, with eigenvalues floored at 1e-10 of the largest (a locally unidentified
    direction at the current point, e.g. at start values, is not followed blindly)."""
    try:
        ev, vec = np.linalg.eigh(info)
    except np.linalg.LinAlgError:
        return np.full(grad.shape, np.nan)
    top = ev[-1] if ev.size else 1.0
    if not np.isfinite(top) or top <= 0:
        return np.full(grad.shape, np.nan)
    ev = np.maximum(ev, 1e-10 * top)
    return -(vec @ ((vec.T @ grad) / ev))


_MAX_NEWTON = 40


def _numerical_hessian(spec: Spec, theta: np.ndarray) -> np.ndarray:
    """Hessian of F by central differences of the analytic gradient."""
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
    for it in range(1, max_iter + 1):
        grad = spec.gradient(theta)
        info = 2.0 * spec.information(theta)
        step = _newton_step(info, grad)
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
    pieces: dict | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For new parameters of group g made of the given cells (cell -> parameter ``col``): the
    gradient of lavaan's objective (F/2, group-weighted), their cross-information with the
    model's free parameters (ncol x npar) and their own information block (ncol x ncol); all per
    observation."""
    wg = spec.w[g]
    grads = spec.matrix_gradients(theta, g)
    dx = 0.5 * wg * np.bincount(col, weights=spec.cell_values(grads, mat, r, c), minlength=ncol)
    if pieces is None:
        _, _, pieces = spec.group_information(theta, g)
    An = np.zeros((mat.size, ncol))
    An[np.arange(mat.size), col] = 1.0
    cross_cells, _ = spec.cross_information(theta, g, mat, r, c, pieces)
    cross = np.zeros((ncol, spec.npar))
    cross[:, spec.gpids[g]] = wg * (An.T @ cross_cells)
    P = pieces["P"]
    U, V, Dm = spec.cell_factors(theta, g, mat, r, c)
    UV = U.T @ P @ V
    icell = (U.T @ P @ U) * (V.T @ P @ V) + UV * UV.T
    if spec.meanstructure:
        icell += Dm @ P @ Dm.T
    own = wg * (An.T @ icell @ An)
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
    spec: Spec, theta: np.ndarray, info_inv: np.ndarray, pid: int, release: list[int] | None = None
) -> tuple[float, int]:
    """Score test of releasing the equality constraints on free parameter ``pid``: its copies in
    the groups ``release`` (default: all groups holding it but the first) get their own value
    (multivariate, df = number of released copies)."""
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
        dx, cross, own = direction_scores(spec, theta, g, mat, r, c, col, 1)
        dxs.append(dx[0])
        crosses.append(cross[0])
        owns.append(own[0, 0])
    k = len(dxs)
    # T = N s' I_aug^-1 s over the model's parameters and the released copies; at the exact
    # constrained optimum the model's own gradient is zero and T = N dx' V^-1 dx with
    # V = I_cc - I_cR I_RR^-1 I_Rc (the form lavTestScore evaluates, gradient included)
    g_red = 0.5 * spec.gradient(theta)
    dx = np.asarray(dxs)
    cross = np.vstack(crosses)
    I_rr = np.linalg.inv(info_inv)
    aug = np.block([[I_rr, cross.T], [cross, np.diag(owns)]])
    s = np.concatenate([g_red, dx])
    try:
        stat = float(spec.N * s @ np.linalg.solve(aug, s))
    except np.linalg.LinAlgError:
        stat = float(spec.N * s @ np.linalg.pinv(aug) @ s)
    return stat, k


_EPS3 = float(np.finfo(float).eps) ** (1.0 / 3.0)
