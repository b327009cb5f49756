"""Brent's (1973) zero-finding algorithm with R's ``uniroot`` conventions, shared by the estimators
that must find the same roots as R (the RMSEA interval, metafor's tau^2 searches)."""

from __future__ import annotations

import math
from typing import Callable

import numpy as np

_EPS = float(np.finfo(float).eps)
_R_TOL = _EPS**0.25  # default tolerance of R's uniroot()


def zeroin(f: Callable[[float], float], lower: float, upper: float, tol: float = _R_TOL, maxiter: int = 1000) -> float:
    """Root of ``f`` in [lower, upper] by Brent's (1973) method, with the conventions of R's
    ``uniroot`` (absolute tolerance ``tol``, default ``eps^0.25``), so that roots found to that
    tolerance are the same points R finds. Raises ``ValueError`` when f has the same sign at both ends.

    Examples
    --------
    >>> round(zeroin(lambda x: x * x - 2.0, 0.0, 2.0, tol=1e-12), 10)
    1.4142135624
    """
    a, b = float(lower), float(upper)
    fa, fb = f(a), f(b)
    if not (math.isfinite(fa) and math.isfinite(fb)):
        raise ValueError("f is not finite at an end point")
    if fa * fb > 0:
        raise ValueError("f() values at end points not of opposite sign")
    if fa == 0.0:
        return a
    if fb == 0.0:
        return b
    c, fc = a, fa
    for _ in range(maxiter + 1):
        prev = b - a
        if abs(fc) < abs(fb):
            a, b, c = b, c, b
            fa, fb, fc = fb, fc, fb
        tol_act = 2.0 * _EPS * abs(b) + tol / 2.0
        step = (c - b) / 2.0
        if abs(step) <= tol_act or fb == 0.0:
            return b
        if abs(prev) >= tol_act and abs(fa) > abs(fb):
            cb = c - b
            if a == c:  # secant
                t1 = fb / fa
                pn = cb * t1
                qd = 1.0 - t1
            else:  # inverse quadratic interpolation
                qd = fa / fc
                t1 = fb / fc
                t2 = fb / fa
                pn = t2 * (cb * qd * (qd - t1) - (b - a) * (t1 - 1.0))
                qd = (qd - 1.0) * (t1 - 1.0) * (t2 - 1.0)
            if pn > 0:
                qd = -qd
            else:
                pn = -pn
            if pn < (0.75 * cb * qd - abs(tol_act * qd) / 2.0) and pn < abs(prev * qd / 2.0):
                step = pn / qd
        if abs(step) < tol_act:
            step = tol_act if step > 0 else -tol_act
        a, fa = b, fb
        b += step
        fb = f(b)
        if (fb > 0 and fc > 0) or (fb < 0 and fc < 0):
            c, fc = a, fa
    return b
