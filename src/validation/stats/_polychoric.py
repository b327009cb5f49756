"""Numerical core of the polychoric correlation (used by :func:`validation.factor.polychoric`).

* :func:`bvn_cdf` -- the standard bivariate normal distribution function through Owen's T function
  (Owen, 1956), vectorised, with infinite limits.
* :func:`brent_minimize` -- Brent's (1973) derivative-free minimiser (golden section with parabolic
  interpolation), run for many independent problems at once; the same steps, tolerance and stopping
  rule as R's ``optimize``.
* :func:`polychoric_core` -- the two-step estimate of every pair's correlation.
* :func:`cor_smooth` -- eigenvalue smoothing of a correlation matrix that is not positive definite.
* :func:`ordinal_moments` -- the first stage of an ordinal structural model: thresholds, polychoric
  correlations at the exact root of their score, and the asymptotic covariance matrix of both from the
  casewise scores (Muthen 1984), as lavaan computes them for ``estimator = "WLSMV"``.

References
----------
Owen, D. B. (1956). Tables for computing bivariate normal probabilities. Annals of Mathematical
Statistics, 27, 1075-1090.
Brent, R. P. (1973). Algorithms for Minimization without Derivatives. Prentice-Hall, ch. 5.
Olsson, U. (1979). Maximum likelihood estimation of the polychoric correlation coefficient.
Psychometrika, 44, 443-460.
Muthen, B. (1984). A general structural equation model with dichotomous, ordered categorical, and
continuous latent variable indicators. Psychometrika, 49, 115-132.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from scipy.special import ndtr, ndtri, owens_t

__all__ = ["bvn_cdf", "bvn_pdf", "brent_minimize", "polychoric_core", "cor_smooth", "item_thresholds", "pair_tables",
           "polychoric_exact", "ordinal_moments"]

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


# --------------------------------------------------------------------------------------------------
# the sample statistics of ordinal structural models: thresholds, polychoric correlations solved to
# the exact root, and their asymptotic covariance matrix (Muthen 1984)
# --------------------------------------------------------------------------------------------------

_SQRT_EPS = math.sqrt(_DBL_EPS)  # cell probabilities below this are floored (and their cases carry no score)
_RHO_BOUND = 0.999


def bvn_pdf(h: np.ndarray, k: np.ndarray, rho: np.ndarray) -> np.ndarray:
    """The standard bivariate normal density, 0 where either argument is infinite."""
    h, k, rho = np.broadcast_arrays(np.asarray(h, float), np.asarray(k, float), np.asarray(rho, float))
    fin = np.isfinite(h) & np.isfinite(k)
    hh, kk = np.where(fin, h, 0.0), np.where(fin, k, 0.0)
    r2 = 1.0 - rho * rho
    v = np.exp(-0.5 * (hh * hh - 2.0 * rho * hh * kk + kk * kk) / r2) / (2.0 * math.pi * np.sqrt(r2))
    return np.where(fin, v, 0.0)


def _bvn_pdf_drho(h: np.ndarray, k: np.ndarray, rho: np.ndarray) -> np.ndarray:
    """d/d rho of the bivariate normal density, 0 where either argument is infinite."""
    h, k, rho = np.broadcast_arrays(np.asarray(h, float), np.asarray(k, float), np.asarray(rho, float))
    fin = np.isfinite(h) & np.isfinite(k)
    hh, kk = np.where(fin, h, 0.0), np.where(fin, k, 0.0)
    r2 = 1.0 - rho * rho
    g = (hh * kk * r2 - rho * (hh * hh - 2.0 * rho * hh * kk + kk * kk) + rho * r2) / (r2 * r2)
    return np.where(fin, bvn_pdf(hh, kk, rho) * g, 0.0)


def _corners(F: np.ndarray) -> np.ndarray:
    """Cell values from a function on the (R+1) x (C+1) grid of bounds (last two axes)."""
    return F[..., 1:, 1:] - F[..., :-1, 1:] - F[..., 1:, :-1] + F[..., :-1, :-1]


def _grid(rc: np.ndarray, cc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    m = rc.shape[0]
    inf = np.full((m, 1), np.inf)
    return np.concatenate([-inf, rc, inf], axis=1), np.concatenate([-inf, cc, inf], axis=1)


def _cells(rc: np.ndarray, cc: np.ndarray, rho: np.ndarray, order: int) -> list[np.ndarray]:
    """Cell probabilities (floored at sqrt(eps)) and, up to ``order``, their first and second
    derivatives in rho, for every pair at once (m x R x C)."""
    hr, hc = _grid(rc, cc)
    a, b, r = hr[:, :, None], hc[:, None, :], rho[:, None, None]
    out = [np.maximum(_corners(bvn_cdf(a, b, np.broadcast_to(r, np.broadcast_shapes(a.shape, b.shape)))),
                      _SQRT_EPS)]
    if order >= 1:
        out.append(_corners(bvn_pdf(a, b, r)))
    if order >= 2:
        out.append(_corners(_bvn_pdf_drho(a, b, r)))
    return out


def item_thresholds(counts: np.ndarray) -> np.ndarray:
    """Thresholds of each item from its category counts (k x ncat): the normal quantiles of the
    cumulative proportions, +inf from the item's last category on (the univariate probit MLE)."""
    nobs = counts.sum(axis=1)
    cum = np.cumsum(counts, axis=1)[:, :-1]
    with np.errstate(invalid="ignore", divide="ignore"):
        tau = ndtri(np.clip(cum / nobs[:, None], 0.0, 1.0))
    return np.where(cum >= nobs[:, None], np.inf, tau)


def pair_tables(codes: np.ndarray, ncat: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Category counts of every item (k x ncat) and the contingency table of every pair (i < j, in
    ``np.triu_indices`` order: rows = item i, columns = item j), from the cases observing both.
    ``codes``: (n x k) floats 0..ncat-1, NaN = missing. Returns (counts, tables, i, j)."""
    n, k = codes.shape
    obs = ~np.isnan(codes)
    onehot = np.zeros((n, k, ncat), dtype=np.float32)  # counts below 2^24 are exact in float32
    ii, jj = np.nonzero(obs)
    onehot[ii, jj, codes[ii, jj].astype(int)] = 1.0
    counts = onehot.sum(axis=0, dtype=np.float64)
    flat = onehot.reshape(n, k * ncat)
    big = (flat.T @ flat).astype(np.float64).reshape(k, ncat, k, ncat)
    iu, ju = np.triu_indices(k, 1)
    return counts, big[iu, :, ju, :], iu, ju


def _two_by_two(tab: np.ndarray, rt: np.ndarray, ct: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """The 2 x 2 rules (Olsson 1979; as lavaan): one empty cell gets 0.5 moved in, the margins kept;
    two empty cells give rho = +-1; independence gives 0; thresholds both 0 give the closed form.
    Returns (adjusted tables, rho where decided else NaN, notes)."""
    tab = tab.copy()
    rho = np.full(tab.shape[0], np.nan)
    notes: list[str] = []
    for q in range(tab.shape[0]):
        t = tab[q, :2, :2]
        zeros = int((t == 0).sum())
        if zeros == 1:
            diag = t[0, 0] == 0 or t[1, 1] == 0
            sign = 1.0 if diag else -1.0
            t += sign * np.array([[0.5, -0.5], [-0.5, 0.5]])
        elif zeros >= 2:
            rho[q] = 1.0 if t[0, 0] > 0 else -1.0
            notes.append(f"two empty cells in a 2 x 2 table: correlation set to {rho[q]:+.0f}")
            continue
        if t[0, 0] * t[1, 1] == t[0, 1] * t[1, 0]:
            rho[q] = 0.0
        elif rt[q, 0] == 0.0 and ct[q, 0] == 0.0:
            rho[q] = -math.cos(2.0 * math.pi * t[0, 0] / t.sum())
    return tab, rho, notes


def polychoric_exact(tabs: np.ndarray, rc: np.ndarray, cc: np.ndarray, start: np.ndarray,
                     tol: float = 1e-12, max_iter: int = 100) -> tuple[np.ndarray, np.ndarray]:
    """Two-step polychoric correlations at the exact root of the score (Olsson 1979), every pair at
    once: Newton steps on the log-likelihood sum(n log pi(rho)) with the thresholds fixed, halved
    while the likelihood falls, within [-0.999, 0.999]. Returns (rho, converged)."""
    m = tabs.shape[0]
    rho = np.clip(np.nan_to_num(start), -_RHO_BOUND, _RHO_BOUND)
    done = np.zeros(m, dtype=bool)

    def loglik(r: np.ndarray, idx: np.ndarray) -> np.ndarray:
        (P,) = _cells(rc[idx], cc[idx], r, 0)
        return (tabs[idx] * np.log(P)).sum(axis=(1, 2))

    for _ in range(max_iter):
        idx = np.flatnonzero(~done)
        if idx.size == 0:
            break
        P, D, D2 = _cells(rc[idx], cc[idx], rho[idx], 2)
        use = tabs[idx] * (P > _SQRT_EPS)  # floored cells drop out of the derivatives
        grad = (use * D / P).sum(axis=(1, 2))
        hess = (use * D2 / P).sum(axis=(1, 2)) - (use * (D / P) ** 2).sum(axis=(1, 2))
        newton = np.where(hess < 0, -grad / np.where(hess < 0, hess, -1.0), np.sign(grad) * 0.1)
        base = loglik(rho[idx], idx)
        step = newton
        new = np.clip(rho[idx] + step, -_RHO_BOUND, _RHO_BOUND)
        for _half in range(30):
            worse = loglik(new, idx) < base - 1e-12 * np.abs(base)
            if not worse.any():
                break
            step = np.where(worse, step / 2.0, step)
            new = np.clip(rho[idx] + step, -_RHO_BOUND, _RHO_BOUND)
        moved = np.abs(new - rho[idx])
        rho[idx] = new
        done[idx[moved <= tol]] = True
    return rho, done


def ordinal_moments(codes: np.ndarray, ncat: int) -> dict:
    """Thresholds, polychoric correlations and their asymptotic covariance matrix of one group's
    ordinal items, as the first stage of diagonally weighted least squares (Muthen 1984).

    ``codes``: (n x k) floats 0..K_j-1 (each item's categories numbered from 0), NaN = missing:
    thresholds from each item's answers, correlations from each pair's joint answers (pairwise),
    cases without any answer left out. Returns a dict with ``thresholds`` (list of arrays),
    ``rho`` (k x k), ``gamma`` (the asymptotic covariance of (thresholds in item order, correlations in
    ``np.triu_indices`` order) times n: N W, W = B^-1 S'S B^-T from the casewise scores S and the
    outer-product Jacobian B), ``n``, ``zero_cells`` (pairs (i, j) whose table has an empty cell),
    ``unconverged`` (pairs) and ``notes``.
    """
    codes = codes[~np.isnan(codes).all(axis=1)]
    n, k = codes.shape
    counts, tabs, iu, ju = pair_tables(codes, ncat)
    tau = item_thresholds(counts)                             # k x (ncat - 1), +inf past an item's categories
    ncats = (counts > 0).sum(axis=1).astype(int)
    notes: list[str] = []
    rc, cc = tau[iu], tau[ju]
    is22 = (ncats[iu] == 2) & (ncats[ju] == 2)
    fit_tabs = tabs.copy()
    decided = np.full(iu.size, np.nan)
    if is22.any():
        sub, rho22, notes22 = _two_by_two(tabs[is22], rc[is22], cc[is22])
        fit_tabs[is22] = sub
        decided[is22] = rho22
        notes += notes22
    # start: the Pearson correlation of the codes over the pair's joint answers (0 when undefined)
    obs = ~np.isnan(codes)
    x = np.nan_to_num(codes)
    o = obs.astype(float)
    nij = o.T @ o
    sx, sxx = x.T @ o, (x * x).T @ o                    # sums of item i over cases observing j
    sxy = x.T @ x
    with np.errstate(invalid="ignore", divide="ignore"):
        cov = sxy - sx * sx.T / nij
        var_i = sxx - sx * sx / nij
        pear = cov / np.sqrt(var_i * var_i.T)
    start = np.where(np.isfinite(pear[iu, ju]) & (np.abs(pear[iu, ju]) < 1), pear[iu, ju], 0.0)
    free = np.isnan(decided)
    rho_pairs = decided.copy()
    unconverged: list[tuple[int, int]] = []
    if free.any():
        r, ok = polychoric_exact(fit_tabs[free], rc[free], cc[free], start[free])
        rho_pairs[free] = r
        unconverged = [(int(iu[q]), int(ju[q])) for q in np.flatnonzero(free)[~ok]]
    zero_cells = [(int(iu[q]), int(ju[q])) for q in range(iu.size)
                  if (tabs[q][: ncats[iu[q]], : ncats[ju[q]]] == 0).any()]
    rho = np.eye(k)
    rho[iu, ju] = rho_pairs
    rho[ju, iu] = rho_pairs
    gamma = _muthen_gamma(codes, obs, tau, ncats, iu, ju, rho_pairs, tabs)
    return {"thresholds": [tau[j, : ncats[j] - 1] for j in range(k)], "rho": rho, "gamma": gamma, "n": n,
            "zero_cells": zero_cells, "unconverged": unconverged, "notes": notes}


def _muthen_gamma(codes, obs, tau, ncats, iu, ju, rho_pairs, tabs) -> np.ndarray:
    """N B^-1 (S'S) B^-T: S the casewise scores of the thresholds (univariate probit) and of the
    correlations (bivariate, thresholds fixed), B the block-triangular outer-product Jacobian of
    those estimating equations (its (2,1) block pairs each correlation's scores with the bivariate
    threshold scores of its two items)."""
    n, k = codes.shape
    c = np.where(obs, codes, 0).astype(int)
    offs = np.r_[0, np.cumsum(ncats - 1)]
    T, P = int(offs[-1]), iu.size
    S = np.zeros((n, T + P))
    phi_tau = np.where(np.isfinite(tau), np.exp(-0.5 * np.where(np.isfinite(tau), tau, 0.0) ** 2)
                       / math.sqrt(2 * math.pi), 0.0)
    inf = np.full((k, 1), np.inf)
    bounds = np.concatenate([-inf, tau, inf], axis=1)        # k x (ncat + 1)
    for j in range(k):
        kj = ncats[j] - 1
        cj = c[:, j]
        prob = ndtr(bounds[j, cj + 1]) - ndtr(bounds[j, cj])
        for t in range(kj):
            S[:, offs[j] + t] = np.where(obs[:, j], ((cj == t) * phi_tau[j, t] - (cj == t + 1) * phi_tau[j, t])
                                         / prob, 0.0)
    # per-cell bivariate scores of every pair, then looked up for each case
    P_, D_ = _cells(tau[iu], tau[ju], rho_pairs, 1)
    good_cell = P_ > _SQRT_EPS
    s_rho_cell = np.where(good_cell, D_ / P_, 0.0)                            # m x R x C
    both = obs[:, iu] & obs[:, ju]                                           # n x m
    ci, cj_ = c[:, iu], c[:, ju]
    q_idx = np.arange(P)[None, :]
    S[:, T:] = np.where(both, s_rho_cell[q_idx, ci, cj_], 0.0)
    # B: A11 block diagonal (the items' own blocks of S'S), A22 diagonal, A21 from the bivariate threshold scores
    B = np.zeros((T + P, T + P))
    St = S[:, :T]
    a11 = St.T @ St
    for j in range(k):
        sl = slice(offs[j], offs[j + 1])
        B[sl, sl] = a11[sl, sl]
    B[T + np.arange(P), T + np.arange(P)] = np.einsum("nq,nq->q", S[:, T:], S[:, T:])
    # bivariate threshold scores per cell: d log pi_rs / d tau^(i)_t and / d tau^(j)_t
    hr, hc = _grid(tau[iu], tau[ju])
    rr = np.sqrt(1.0 - rho_pairs * rho_pairs)[:, None, None]
    rq = rho_pairs[:, None, None]

    def dx(x: np.ndarray, upper: np.ndarray, lower: np.ndarray) -> np.ndarray:
        fin = np.isfinite(x)
        xx = np.where(fin, x, 0.0)
        v = np.exp(-0.5 * xx * xx) / math.sqrt(2 * math.pi) * (ndtr((upper - rq * xx) / rr) - ndtr((lower - rq * xx) / rr))
        return np.where(fin, v, 0.0)

    # row item i: derivative of the cell (r, s) with respect to its upper bound a_r and lower bound a_{r-1}
    a_up, a_lo = hr[:, 1:, None], hr[:, :-1, None]
    b_up, b_lo = hc[:, None, 1:], hc[:, None, :-1]
    di_up = dx(a_up, b_up, b_lo)                    # m x R x C: d pi_rs / d a_r
    di_lo = dx(a_lo, b_up, b_lo)                    # d pi_rs / d a_{r-1} (with a minus sign)
    dj_up = dx(b_up, a_up, a_lo)
    dj_lo = dx(b_lo, a_up, a_lo)
    w = np.where(good_cell, tabs * s_rho_cell / P_, 0.0)            # sum over cases of s_rho / pi per cell
    # threshold t of the row item: cells with r = t gain d/d a_t (their upper bound), cells with r = t + 1
    # lose it (their lower bound); the same by columns for the column item
    row_up, row_lo = (w * di_up).sum(axis=2), (w * di_lo).sum(axis=2)      # m x R
    col_up, col_lo = (w * dj_up).sum(axis=1), (w * dj_lo).sum(axis=1)      # m x C
    ncut = tau.shape[1]
    val_i = row_up[:, :ncut] - row_lo[:, 1:ncut + 1]
    val_j = col_up[:, :ncut] - col_lo[:, 1:ncut + 1]
    t_idx = np.arange(ncut)[None, :]
    q_rows = np.broadcast_to(T + np.arange(P)[:, None], (P, ncut))
    for item, val in ((iu, val_i), (ju, val_j)):
        ok = t_idx < (ncats[item] - 1)[:, None]
        B[q_rows[ok], (offs[item][:, None] + t_idx)[ok]] = val[ok]
    # N B^-1 (S'S) B^-T = N Z'Z with Z = S B^-T, formed block by block (B^-1 is block lower triangular)
    a11inv = np.linalg.inv(B[:T, :T])
    d = np.diag(B)[T:]
    Z = np.empty_like(S)
    Z[:, :T] = St @ a11inv.T
    Z[:, T:] = S[:, T:] / d - Z[:, :T] @ (B[T:, :T] / d[:, None]).T
    return n * (Z.T @ Z)
