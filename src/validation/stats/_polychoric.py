"""Numerical core of the polychoric correlation (used by :func:`validation.factor.polychoric`).

* :func:`bvn_cdf` -- the standard bivariate normal distribution function through Owen's T function
  (Owen, 1956), vectorised, with infinite limits.
* :func:`brent_minimize` -- Brent's (1973) derivative-free minimiser (golden section with parabolic
  interpolation), run for many independent problems at once; the same steps, tolerance and stopping
  rule as R's ``optimize``.
* :func:`polychoric_core` -- the two-step estimate of every pair's correlation.
* :func:`cor_smooth` -- eigenvalue smoothing of a correlation matrix that is not positive definite.

References
----------
Owen, D. B. (1956). Tables for computing bivariate normal probabilities. Annals of Mathematical
Statistics, 27, 1075-1090.
Brent, R. P. (1973). Algorithms for Minimization without Derivatives. Prentice-Hall, ch. 5.
Olsson, U. (1979). Maximum likelihood estimation of the polychoric correlation coefficient.
Psychometrika, 44, 443-460.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from scipy.special import ndtr, ndtri, owens_t

__all__ = ["bvn_cdf", "brent_minimize", "polychoric_core", "cor_smooth"]

_DBL_EPS = float(np.finfo(float).eps)
# R's optimize() default tolerance, .Machine$double.eps^0.25
BRENT_TOL = _DBL_EPS**0.25


def bvn_cdf(h: np.ndarray, k: np.ndarray, rho: np.ndarray) -> np.ndarray:
    r"""P(X <= h, Y <= k) for standard bivariate normal (X, Y) with correlation ``rho`` (|rho| < 1).

    For finite h, k (Owen, 1956, eq. 2.1):

    .. math::

        \Phi_2(h, k; \rho) = \tfrac12 \Phi(h) + \tfrac12 \Phi(k) - T(h, a_h) - T(k, a_k) - \beta,
        \quad a_h = \frac{k - \rho h}{h \sqrt{1 - \rho^2}}, \ a_k = \frac{h - \rho k}{k \sqrt{1 - \rho^2}},

    with :math:`\beta = 0` if :math:`hk > 0` or (:math:`hk = 0` and :math:`h + k \ge 0`), else 1/2, and
    T Owen's function. h = 0 is the limit h -> 0+ (T(0, +-inf) = +-1/4); h = k = 0 gives
    1/4 + asin(rho) / (2 pi). Infinite limits give 0 or the univariate margins.
    """
    h, k, rho = np.broadcast_arrays(np.asarray(h, float), np.asarray(k, float), np.asarray(rho, float))
    out = np.empty(h.shape)
    neg = (h == -np.inf) | (k == -np.inf)
    hinf = h == np.inf
    kinf = k == np.inf
    out[neg] = 0.0
    m = ~neg & hinf
    out[m] = ndtr(k[m])
    m = ~neg & ~hinf & kinf
    out[m] = ndtr(h[m])
    fin = ~(neg | hinf | kinf)
    if fin.any():
        hf, kf, rf = h[fin], k[fin], rho[fin]
        s = np.sqrt((1.0 - rf) * (1.0 + rf))
        hz = hf == 0.0
        kz = kf == 0.0
        with np.errstate(divide="ignore", invalid="ignore"):
            ah = (kf - rf * hf) / (hf * s)
            ak = (hf - rf * kf) / (kf * s)
        th = np.where(hz, 0.25 * np.sign(kf), owens_t(np.where(hz, 1.0, hf), np.where(hz, 0.0, ah)))
        tk = np.where(kz, 0.25 * np.sign(hf), owens_t(np.where(kz, 1.0, kf), np.where(kz, 0.0, ak)))
        hk = hf * kf
        beta = np.where((hk > 0) | ((hk == 0) & (hf + kf >= 0)), 0.0, 0.5)
        val = 0.5 * ndtr(hf) + 0.5 * ndtr(kf) - th - tk - beta
        both = hz & kz
        val[both] = 0.25 + np.arcsin(rf[both]) / (2.0 * math.pi)
        out[fin] = val
    return out


def brent_minimize(
    f: Callable[[np.ndarray, np.ndarray], np.ndarray],
    m: int,
    lower: float = -1.0,
    upper: float = 1.0,
    tol: float = BRENT_TOL,
) -> tuple[np.ndarray, np.ndarray, int]:
    """Minimise ``m`` one-dimensional functions on ``[lower, upper]`` at once (Brent, 1973).

    ``f(x, idx)`` returns the values of problems ``idx`` (an index array) at the points ``x``.
    Each problem follows Brent's procedure *localmin* exactly: start at the golden section point
    ``lower + c (upper - lower)``, c = (3 - sqrt 5) / 2; per step try the parabola through the three
    best points, else a golden section step; never evaluate closer than ``tol1 = sqrt(eps) |x| + tol / 3``
    to x or to the ends; stop when ``|x - (a + b)/2| <= 2 tol1 - (b - a)/2``. This is also the algorithm
    and default tolerance (``tol = eps^0.25``) of R's ``optimize``, so the same function gives the
    same points. Returns (minimisers, their function values, number of rounds).
    """
    c = 0.5 * (3.0 - math.sqrt(5.0))
    eps = math.sqrt(_DBL_EPS)
    tol3 = tol / 3.0
    a = np.full(m, float(lower))
    b = np.full(m, float(upper))
    x = a + c * (b - a)
    v = x.copy()
    w = x.copy()
    d = np.zeros(m)
    e = np.zeros(m)
    fx = np.asarray(f(x.copy(), np.arange(m)), float)
    fv = fx.copy()
    fw = fx.copy()
    active = np.ones(m, dtype=bool)
    rounds = 0
    while True:
        xm = 0.5 * (a + b)
        tol1 = eps * np.abs(x) + tol3
        t2 = 2.0 * tol1
        active &= ~(np.abs(x - xm) <= t2 - 0.5 * (b - a))
        idx = np.flatnonzero(active)
        if idx.size == 0:
            break
        rounds += 1
        A, B, X, V, W = a[idx], b[idx], x[idx], v[idx], w[idx]
        FX, FV, FW = fx[idx], fv[idx], fw[idx]
        D, E, XM, T1, T2 = d[idx], e[idx], xm[idx], tol1[idx], t2[idx]
        p = np.zeros(idx.size)
        q = np.zeros(idx.size)
        r = np.zeros(idx.size)
        fit = np.abs(E) > T1  # try a parabola through x, w, v
        if fit.any():
            rr = (X - W) * (FX - FV)
            qq = (X - V) * (FX - FW)
            pp = (X - V) * qq - (X - W) * rr
            qq = 2.0 * (qq - rr)
            pp = np.where(qq > 0, -pp, pp)
            qq = np.abs(qq)
            p = np.where(fit, pp, p)
            q = np.where(fit, qq, q)
            r = np.where(fit, E, r)
            E = np.where(fit, D, E)
        golden = (np.abs(p) >= np.abs(0.5 * q * r)) | (p <= q * (A - X)) | (p >= q * (B - X))
        with np.errstate(divide="ignore", invalid="ignore"):
            Dpar = p / q
        U = X + Dpar
        near_end = (U - A < T2) | (B - U < T2)
        Dpar = np.where(near_end, np.where(X >= XM, -T1, T1), Dpar)
        Egold = np.where(X < XM, B - X, A - X)
        E = np.where(golden, Egold, E)
        D = np.where(golden, c * Egold, Dpar)
        U = np.where(np.abs(D) >= T1, X + D, np.where(D > 0, X + T1, X - T1))
        FU = np.asarray(f(U.copy(), idx), float)
        better = FU <= FX
        # f(u) <= f(x): u becomes the best point
        nA = np.where(better, np.where(U < X, A, X), np.where(U < X, U, A))
        nB = np.where(better, np.where(U < X, X, B), np.where(U < X, B, U))
        to_w = ~better & ((FU <= FW) | (W == X))
        to_v = ~better & ~to_w & ((FU <= FV) | (V == X) | (V == W))
        nV = np.where(better, W, np.where(to_w, W, np.where(to_v, U, V)))
        nFV = np.where(better, FW, np.where(to_w, FW, np.where(to_v, FU, FV)))
        nW = np.where(better, X, np.where(to_w, U, W))
        nFW = np.where(better, FX, np.where(to_w, FU, FW))
        nX = np.where(better, U, X)
        nFX = np.where(better, FU, FX)
        a[idx], b[idx], v[idx], fv[idx], w[idx], fw[idx], x[idx], fx[idx] = nA, nB, nV, nFV, nW, nFW, nX, nFX
        d[idx], e[idx] = D, E
    return x, fx, rounds


def _cell_probabilities(rc: np.ndarray, cc: np.ndarray, rho: np.ndarray) -> np.ndarray:
    """Cell probabilities of the discretised bivariate normal: ``rc`` (m x R-1) and ``cc`` (m x C-1)
    thresholds, ``rho`` (m,) -> (m x R x C), by differencing the distribution function."""
    m = rho.shape[0]
    inf = np.full((m, 1), np.inf)
    hr = np.concatenate([-inf, rc, inf], axis=1)
    hc = np.concatenate([-inf, cc, inf], axis=1)
    F = bvn_cdf(hr[:, :, None], hc[:, None, :], rho[:, None, None])
    return F[:, 1:, 1:] - F[:, :-1, 1:] - F[:, 1:, :-1] + F[:, :-1, :-1]


def _neg_loglik(rho: np.ndarray, rc: np.ndarray, cc: np.ndarray, tab: np.ndarray) -> np.ndarray:
    """-sum(p_ij log P_ij(rho)) over cells with P_ij > 0 (cells the model gives no mass are left out)."""
    P = _cell_probabilities(rc, cc, rho)
    ok = P > 0
    lp = np.log(np.where(ok, P, 1.0))
    ok &= np.isfinite(lp)
    return -(np.where(ok, tab * lp, 0.0)).sum(axis=(1, 2))


def polychoric_core(codes: np.ndarray, ncat: int, global_tau: bool, correct: float = 0.5) -> dict:
    """Two-step polychoric correlations of integer-coded items.

    Parameters
    ----------
    codes : (n x k) float array of category codes 0..ncat-1, NaN = missing.
    ncat : number of categories (the same coding for every item).
    global_tau : thresholds of each item from its own marginal proportions (all its answers), used
        for every pair; else per pair from the pair's table after dropping empty rows and columns and
        replacing empty cells by ``correct`` counts.
    correct : continuity correction for empty cells (only used when ``global_tau`` is False).

    Returns
    -------
    dict with ``rho`` (k x k), ``tau`` (k x ncat-1 item thresholds), ``fixed`` (number of corrected
    cells), ``bad`` (pairs whose correlation is undefined), ``rounds`` (Brent rounds).
    """
    n, k = codes.shape
    obs = ~np.isnan(codes)
    onehot = np.zeros((n, k, ncat), dtype=np.float32)  # counts below 2^24 are exact in float32
    ii, jj = np.nonzero(obs)
    onehot[ii, jj, codes[ii, jj].astype(int)] = 1.0
    counts = onehot.sum(axis=0, dtype=np.float64)  # k x ncat
    nobs = counts.sum(axis=1)
    cum = np.cumsum(counts / nobs[:, None], axis=1)[:, :-1]
    ccount = np.cumsum(counts, axis=1)[:, :-1]
    # exactly -inf / +inf below the lowest / from the highest category an item uses
    tau = np.where(ccount >= nobs[:, None], np.inf, ndtri(np.clip(cum, 0.0, 1.0)))
    flat = onehot.reshape(n, k * ncat)
    big = (flat.T @ flat).astype(np.float64)  # every pair's contingency table at once
    iu, ju = np.triu_indices(k, 1)
    # pair (row item = the later item i, column item = the earlier item j), as the tables are formed
    ri, ci = ju, iu
    tabs = big.reshape(k, ncat, k, ncat)[ri, :, ci, :]  # (pairs x ncat x ncat)
    tot = tabs.sum(axis=(1, 2))
    npair = ri.size
    bad = np.zeros(npair, dtype=bool)
    bad |= tot == 0
    fixed = 0
    with np.errstate(invalid="ignore", divide="ignore"):
        tab = tabs / np.where(tot > 0, tot, 1.0)[:, None, None]
    if global_tau:
        rc = tau[ri]
        cc = tau[ci]
    else:
        rows_used = tab.sum(axis=2) > 0
        cols_used = tab.sum(axis=1) > 0
        bad |= (rows_used.sum(axis=1) < 2) | (cols_used.sum(axis=1) < 2)
        kept = rows_used[:, :, None] & cols_used[:, None, :]
        zero = kept & (tab == 0)
        if correct > 0:
            fixed = int(zero[~bad].any(axis=(1, 2)).sum())
            tab = np.where(zero, correct / np.where(tot > 0, tot, 1.0)[:, None, None], tab)
        rc = _pair_thresholds(tab.sum(axis=2), rows_used)
        cc = _pair_thresholds(tab.sum(axis=1), cols_used)
        bad |= np.isnan(rc).any(axis=1) | np.isnan(cc).any(axis=1)
    good = np.flatnonzero(~bad)
    rho_pairs = np.full(npair, np.nan)
    rounds = 0
    if good.size:
        rcg, ccg, tabg = rc[good], cc[good], tab[good]

        def objective(x: np.ndarray, idx: np.ndarray) -> np.ndarray:
            return _neg_loglik(x, rcg[idx], ccg[idx], tabg[idx])

        xmin, _, rounds = brent_minimize(objective, good.size)
        rho_pairs[good] = xmin
    rho = np.eye(k)
    rho[iu, ju] = rho_pairs
    rho[ju, iu] = rho_pairs
    return {
        "rho": rho,
        "tau": tau,
        "fixed": fixed,
        "bad": [(int(iu[p]), int(ju[p])) for p in np.flatnonzero(bad)],
        "rounds": rounds,
    }


def _pair_thresholds(margin: np.ndarray, used: np.ndarray) -> np.ndarray:
    """Thresholds of the used categories of a pair's (corrected) margin, on the full category grid:
    cuts below the first used category are -inf, cuts from the last used category on are +inf, so the
    unused categories become empty intervals."""
    cum = np.cumsum(margin, axis=1)[:, :-1]
    ncut = cum.shape[1]
    last = used.shape[1] - 1 - np.argmax(used[:, ::-1], axis=1)  # index of the last used category
    with np.errstate(invalid="ignore"):
        t = ndtri(np.where(cum > 1.0, np.nan, cum))
    after = np.arange(ncut)[None, :] >= last[:, None]
    return np.where(after, np.inf, t)


def cor_smooth(r: np.ndarray, eig_tol: float = 1e-12) -> tuple[np.ndarray, bool]:
    """Smooth a correlation matrix that is not positive definite (smallest eigenvalue below machine
    epsilon): eigenvalues below ``eig_tol`` become ``100 eig_tol``, all are rescaled to sum to k, the
    matrix is rebuilt and rescaled to unit diagonal. Returns (matrix, whether it was smoothed).

    In R: ``psych::cor.smooth(r)``.
    """
    w, v = np.linalg.eigh(r)
    if w.min() >= _DBL_EPS:
        return r, False
    w = np.where(w < eig_tol, 100.0 * eig_tol, w)
    w = w * r.shape[0] / w.sum()
    s = (v * w) @ v.T
    d = 1.0 / np.sqrt(np.diag(s))
    s = s * np.outer(d, d)
    return (s + s.T) / 2.0, True
