"""Factor rotations used by :func:`validation.factor.efa`.

Each function takes an unrotated loading matrix A (items x factors, at least two factors) and returns
the rotated loadings, the factor correlations (identity for orthogonal rotations), whether the
iteration converged and the number of iterations. The iterations, starting points, tolerances and
stopping rules are those of the R functions named in each docstring, so the same input gives the
same rotated solution (not just another local optimum of the same criterion).

References
----------
Kaiser, H. F. (1958). The varimax criterion for analytic rotation in factor analysis.
Psychometrika, 23, 187-200.
Hendrickson, A. E., & White, P. O. (1964). Promax: a quick method for rotation to oblique simple
structure. British Journal of Statistical Psychology, 17, 65-70.
Jennrich, R. I. (2002). A simple general method for oblique rotation. Psychometrika, 67, 7-19.
Bernaards, C. A., & Jennrich, R. I. (2005). Gradient projection algorithms and software for
arbitrary rotation criteria in factor analysis. Educational and Psychological Measurement, 65,
676-696.
Jennrich, R. I., & Sampson, P. F. (1966). Rotation for simple loadings. Psychometrika, 31, 313-323
(direct quartimin, oblimin with gamma = 0).
Yates, A. (1987). Multivariate Exploratory Data Analysis. SUNY Press (geomin);
Browne, M. W. (2001). An overview of analytic rotation in exploratory factor analysis.
Multivariate Behavioral Research, 36, 111-150.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np

from validation.stats.results import NotEstimable

__all__ = ["Rotated", "varimax", "promax", "oblimin", "geomin", "ROTATIONS"]


@dataclasses.dataclass(frozen=True)
class Rotated:
    loadings: np.ndarray
    phi: np.ndarray
    converged: bool
    iterations: int
    orthogonal: bool


def _varimax(x: np.ndarray, normalize: bool = True, eps: float = 1e-5) -> tuple[np.ndarray, np.ndarray, bool, int]:
    """Kaiser's varimax by successive SVDs (as R's ``stats::varimax``): with Kaiser (row)
    normalisation, T_{t+1} = U V' from the SVD of B = X'(Z^3 - Z diag(Z'Z)/p), Z = X T_t; stop when
    the criterion sum(d) grows by less than a relative ``eps``, at most 1000 steps."""
    p, m = x.shape
    sc = np.sqrt((x * x).sum(axis=1)) if normalize else np.ones(p)
    xs = x / sc[:, None]
    tt = np.eye(m)
    d = 0.0
    converged = False
    it = 0
    for it in range(1, 1001):
        z = xs @ tt
        b = xs.T @ (z**3 - z * ((z * z).sum(axis=0) / p))
        u, s, vt = np.linalg.svd(b)
        tt = u @ vt
        dpast = d
        d = float(s.sum())
        if d < dpast * (1.0 + eps):
            converged = True
            break
    z = xs @ tt * sc[:, None]
    return z, tt, converged, it


def varimax(a: np.ndarray) -> Rotated:
    """Varimax with Kaiser normalisation (Kaiser, 1958). In R: ``stats::varimax(A)`` (what
    ``psych::fa(rotate = "varimax")`` calls)."""
    z, _, conv, it = _varimax(a)
    m = a.shape[1]
    return Rotated(z, np.eye(m), conv, it, True)


def promax(a: np.ndarray, m: float = 4.0) -> Rotated:
    r"""Promax (Hendrickson & White, 1964) on Kaiser-normalised loadings, as ``psych::fa(rotate = "promax")``.

    Rows of A are divided by :math:`\sqrt{h^2_i}`; varimax gives X with rotation :math:`T_v`; the
    target :math:`Q = X \circ |X|^{m-1}` is approximated by least squares, :math:`U = (X'X)^{-1} X'Q`,
    whose columns are rescaled by :math:`\sqrt{\operatorname{diag}((U'U)^{-1})}`; the loadings are
    :math:`X U` times :math:`\sqrt{h^2_i}` and, with :math:`W = T_v U`, the factor correlations
    :math:`\Phi = W^{-1} W^{-1\prime}`. In R: ``psych::kaiser(A, rotate = "Promax")`` (``psych::Promax``, m = 4).
    """
    h2 = (a * a).sum(axis=1)
    w = a / np.sqrt(h2)[:, None]
    x, tv, conv, it = _varimax(w)
    q = x * np.abs(x) ** (m - 1.0)
    u = np.linalg.lstsq(x, q, rcond=None)[0]
    try:
        d = np.diag(np.linalg.inv(u.T @ u))
        u = u * np.sqrt(d)[None, :]
        z = x @ u
        ui = np.linalg.inv(tv @ u)
    except np.linalg.LinAlgError:
        raise NotEstimable(
            "not estimable: the promax transformation is singular (the factors are exactly uncorrelated)"
        ) from None
    phi = ui @ ui.T
    return Rotated(z * np.sqrt(h2)[:, None], phi, conv, it, False)


def _quartimin(lam: np.ndarray) -> tuple[np.ndarray, float]:
    """Oblimin criterion with gamma = 0 (direct quartimin): f = sum_i sum_{j != l} l_ij^2 l_il^2 / 4,
    gradient L o (L^2 (11' - I))."""
    m = lam.shape[1]
    l2 = lam * lam
    x = l2 @ (np.ones((m, m)) - np.eye(m))
    return lam * x, float((l2 * x).sum() / 4.0)


def _geomin(lam: np.ndarray, delta: float = 0.01) -> tuple[np.ndarray, float]:
    """Geomin criterion: f = sum_i (prod_j (l_ij^2 + delta))^(1/m), gradient (2/m) l_ij / (l_ij^2 + delta) * p_i."""
    m = lam.shape[1]
    l2 = lam * lam + delta
    pro = np.exp(np.log(l2).sum(axis=1) / m)
    return (2.0 / m) * (lam / l2) * pro[:, None], float(pro.sum())


def _gpf_oblique(
    a: np.ndarray,
    criterion: Callable[[np.ndarray], tuple[np.ndarray, float]],
    eps: float = 1e-5,
    maxit: int = 1000,
) -> Rotated:
    r"""Gradient projection algorithm for oblique rotation (Jennrich, 2002; Bernaards & Jennrich, 2005).

    Loadings :math:`\Lambda = A (T')^{-1}` for a T with unit-length columns, starting at T = I; the
    gradient in T is :math:`G = -(\Lambda' G_q T^{-1})'`, projected as
    :math:`G_p = G - T \operatorname{diag}(\mathbf 1' (T \circ G))`; step size starting at 1, doubled
    before each line search and halved (at most 11 tries) until the criterion falls by more than
    :math:`\tfrac12 \|G_p\|^2 \alpha`; stop when :math:`\|G_p\|_F < \varepsilon`. Factor correlations
    :math:`\Phi = T'T`. In R: ``GPArotation::GPFoblq(A, method = ...)`` (normalize = FALSE, eps = 1e-5,
    maxit = 1000, Tmat = I).
    """
    m = a.shape[1]
    t = np.eye(m)
    al = 1.0
    lam = a @ np.linalg.inv(t).T
    gq, f = criterion(lam)
    g = -(lam.T @ gq @ np.linalg.inv(t)).T
    s = np.inf
    it = 0
    for it in range(maxit + 1):
        gp = g - t * (t * g).sum(axis=0)[None, :]
        s = float(np.sqrt((gp * gp).sum()))
        if s < eps:
            break
        al *= 2.0
        for _ in range(11):
            x = t - al * gp
            tt = x / np.sqrt((x * x).sum(axis=0))[None, :]
            tinv = np.linalg.inv(tt)
            lam = a @ tinv.T
            gqt, ft = criterion(lam)
            if f - ft > 0.5 * s * s * al:
                break
            al /= 2.0
        t = tt
        f = ft
        g = -(lam.T @ gqt @ tinv).T
    return Rotated(lam, t.T @ t, bool(s < eps), it, False)


def oblimin(a: np.ndarray) -> Rotated:
    """Direct oblimin with gamma = 0 (quartimin) by gradient projection. In R:
    ``GPArotation::oblimin(A)`` (what ``psych::fa(rotate = "oblimin")`` calls)."""
    return _gpf_oblique(a, _quartimin)


def geomin(a: np.ndarray, delta: float = 0.01) -> Rotated:
    """Oblique geomin (delta = 0.01) by gradient projection from the identity start. In R:
    ``GPArotation::geominQ(A)`` (``psych::fa(rotate = "geominQ")``)."""
    return _gpf_oblique(a, lambda lam: _geomin(lam, delta))


ROTATIONS: dict[str, Callable[[np.ndarray], Rotated]] = {
    "varimax": varimax,
    "promax": promax,
    "oblimin": oblimin,
    "geomin": geomin,
}
