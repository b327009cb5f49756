"""Cumulative-link (proportional-odds) mixed model with crossed random intercepts, fitted by the Laplace
approximation of the marginal likelihood: the model of R's ``ordinal::clmm`` (Christensen 2019) with the logit
link, flexible thresholds and one random intercept per grouping factor.

For a rating :math:`y_i` in ordered categories :math:`1..J`,

.. math::  P(y_i \\le j) = \\operatorname{logit}^{-1}\\bigl(\\theta_j - x_i'\\beta
   - \\textstyle\\sum_k s_k u_{k,g_k(i)}\\bigr), \\qquad u_{k,l} \\sim N(0, 1),

so a positive random effect :math:`b_{k,l} = s_k u_{k,l}` moves ratings up. The random effects are
integrated out by the Laplace approximation (Pinheiro & Bates 1995; Tierney & Kadane 1986): for given
parameters the mode :math:`\\hat u` of the joint log density is found by Newton's method, and

.. math::  -\\log L \\approx -\\sum_i \\log \\pi_i(\\hat u) + \\tfrac12 \\hat u'\\hat u + \\tfrac12 \\log\\det H,
   \\qquad H = I + S Z' \\Phi Z S,

with :math:`\\Phi` the observed information of each rating in its linear predictor. The outer problem
(thresholds, coefficients, standard deviations :math:`s_k \\ge 0`) is solved by L-BFGS-B on the exact gradient of
the approximation (the implicit function theorem carries the mode's dependence on the parameters; the log
determinant needs each rating's leverage and the third derivative of its log probability); standard errors come
from the inverse of the Hessian, by central differences of that gradient (a standard deviation below 1e-3
counts as on its boundary and is left out, as ``clmm`` does). The random effects
are the conditional modes :math:`\\hat b` with conditional variances :math:`s_k^2 (H^{-1})_{ll}`, as
``ranef`` and ``condVar`` of a ``clmm`` fit. The Hessian of crossed factors is dense but small (one row per
level), so it is formed from weighted cross-tabulations and factored by Cholesky.

References
----------
Christensen, R. H. B. (2019). Cumulative link models for ordinal regression with the R package ordinal.
Pinheiro, J. C., & Bates, D. M. (1995). Approximations to the log-likelihood function in the nonlinear
mixed-effects model. Journal of Computational and Graphical Statistics, 4, 12-35.
Tierney, L., & Kadane, J. B. (1986). Accurate approximations for posterior moments and marginal densities.
JASA, 81, 82-86.
"""

from __future__ import annotations

import dataclasses
from typing import Sequence

import numpy as np
import pandas as pd
from scipy.linalg import cho_factor, cho_solve, LinAlgError
from scipy.optimize import minimize
from scipy.stats import norm

from validation.stats._blas import single_thread
from validation.stats._checks import check_level
from validation.stats.results import NotEstimable

__all__ = ["cumulative_link_mixed", "CumulativeLinkMixed"]

_BOUNDARY_SD = 1e-3        # as ordinal's paratBoundary2: such an SD is left out of the Hessian


@dataclasses.dataclass(frozen=True)
class CumulativeLinkMixed:
    """A fitted cumulative-link mixed model.

    ``coefficients``: one row per threshold (``"1|2"``, ...) and per fixed effect, with ``estimate``, ``se``,
    ``ci_lower``, ``ci_upper`` (Wald). ``sds``: per grouping factor the standard deviation of its random
    intercept with ``se`` and an interval from the Wald interval of its logarithm (none on the boundary).
    ``effects``: per grouping factor a DataFrame indexed by level with the conditional mode ``effect``, its
    conditional ``sd`` and the interval ``effect +- z sd`` (conditional on the estimated parameters), and
    ``n`` ratings. ``log_likelihood`` is the Laplace approximation; ``vcov`` the covariance of the
    parameters not on a boundary, in the order of ``coefficients`` then ``sds``."""

    coefficients: pd.DataFrame
    sds: pd.DataFrame
    effects: dict[str, pd.DataFrame]
    log_likelihood: float
    n: int
    categories: tuple
    level: float
    converged: bool
    vcov: pd.DataFrame = dataclasses.field(metadata={"serialize": False})
    method: str = "Laplace approximation (as ordinal::clmm), logit link, flexible thresholds"


class _Design:
    """The data of one fit, coded once: category index, fixed-effect matrix, and per grouping factor the
    level of each row; everything the objective needs for any parameter value."""

    def __init__(self, y: np.ndarray, x: np.ndarray, groups: list[np.ndarray], n_levels: list[int],
                 n_cat: int):
        self.y, self.x, self.groups, self.n_levels, self.n_cat = y, x, groups, n_levels, n_cat
        self.offsets = np.concatenate([[0], np.cumsum(n_levels)]).astype(int)
        self.q = int(self.offsets[-1])
        self.p = x.shape[1]
        self.n_theta = n_cat - 1
        self.pairs = [(a, b) for a in range(len(groups)) for b in range(a + 1, len(groups))]
        self.pair_index = [groups[a] * n_levels[b] + groups[b] for a, b in self.pairs]
        self.u_start = np.zeros(self.q)

    def split(self, par: np.ndarray):
        return par[:self.n_theta], par[self.n_theta:self.n_theta + self.p], par[self.n_theta + self.p:]

    def linear(self, theta: np.ndarray, beta: np.ndarray, sd: np.ndarray, u: np.ndarray):
        """eta1, eta2 per row: the upper and lower cut-point of the rating's category (+-inf at the ends)
        minus the linear predictor."""
        shift = self.x @ beta if self.p else np.zeros(len(self.y))
        for k, g in enumerate(self.groups):
            shift += sd[k] * u[self.offsets[k]:self.offsets[k + 1]][g]
        th = np.concatenate([[-np.inf], theta, [np.inf]])
        return th[self.y + 1] - shift, th[self.y] - shift

    @staticmethod
    def tails(eta1: np.ndarray, eta2: np.ndarray):
        """The logistic cdf F and its complement G = 1 - F at both cut-points, each from its own exponential so
        that neither loses digits in its small tail (exact at +-inf)."""
        with np.errstate(over="ignore"):
            return (1 / (1 + np.exp(-eta1)), 1 / (1 + np.exp(eta1)),
                    1 / (1 + np.exp(-eta2)), 1 / (1 + np.exp(eta2)))

    def pieces(self, eta1: np.ndarray, eta2: np.ndarray):
        """Probability of each rating, d log pi / d eta (as phi1 = (f1 - f2) / pi) and the observed information
        phi2."""
        F1, G1, F2, G2 = self.tails(eta1, eta2)
        pi = np.where(eta2 > 0, G2 - G1, F1 - F2)        # the difference of the two small tails
        f1, f2 = F1 * G1, F2 * G2
        with np.errstate(divide="ignore", invalid="ignore"):
            phi1 = (f1 - f2) / pi
            phi2 = phi1 ** 2 - (f1 * (G1 - F1) - f2 * (G2 - F2)) / pi
        return pi, phi1, phi2

    def gradient_u(self, sd: np.ndarray, u: np.ndarray, phi1: np.ndarray) -> np.ndarray:
        g = u.copy()
        for k, grp in enumerate(self.groups):
            g[self.offsets[k]:self.offsets[k + 1]] += sd[k] * np.bincount(grp, phi1, self.n_levels[k])
        return g

    def hessian_u(self, sd: np.ndarray, phi2: np.ndarray) -> np.ndarray:
        h = np.eye(self.q)
        o = self.offsets
        for k, grp in enumerate(self.groups):
            idx = np.arange(o[k], o[k + 1])
            h[idx, idx] += sd[k] ** 2 * np.bincount(grp, phi2, self.n_levels[k])
        for (a, b), index in zip(self.pairs, self.pair_index):
            block = sd[a] * sd[b] * np.bincount(index, phi2, self.n_levels[a] * self.n_levels[b]).reshape(
                self.n_levels[a], self.n_levels[b])
            h[o[a]:o[a + 1], o[b]:o[b + 1]] = block
            h[o[b]:o[b + 1], o[a]:o[a + 1]] = block.T
        return h

    def mode(self, par: np.ndarray, tol: float = 1e-12, max_iter: int = 100):
        """Newton's method for the conditional mode of u from ``u_start`` (step halving while the objective
        rises, as clmm's update.u, until the gradient is small enough for the full step to be safe); returns
        (negative log-likelihood at the mode, u, Cholesky of H) or None where the parameters are invalid.

        Every evaluation near one point starts from the same ``u_start`` and runs to the rounding floor (the
        gradient no longer falls quadratically), so the objective is a smooth function of the parameters, as
        finite differences need."""
        theta, beta, sd = self.split(par)
        if np.any(np.diff(theta) <= 0) or not np.all(np.isfinite(par)):
            return None
        u = self.u_start.copy()

        def at(u):
            pi, phi1, phi2 = self.pieces(*self.linear(theta, beta, sd, u))
            if np.any(~(pi > 0)):
                return np.inf, None, None
            return float(-np.log(pi).sum() + 0.5 * u @ u), phi1, phi2

        nll, phi1, phi2 = at(u)
        if not np.isfinite(nll):
            return None
        chol = None
        previous = np.inf
        for _ in range(max_iter):
            grad = self.gradient_u(sd, u, phi1)
            try:
                chol = cho_factor(self.hessian_u(sd, phi2), lower=True)
            except LinAlgError:
                return None
            size = np.max(np.abs(grad))
            if size < tol or (size < 1e-6 and size > previous / 4):   # converged, or at the rounding floor
                break
            previous = size
            step = cho_solve(chol, grad)
            factor = 1.0
            trial = u - step
            tried = at(trial)
            if size > 1e-4:          # far from the mode: halve the step until the objective falls
                for _ in range(60):
                    if tried[0] <= nll + 1e-13 * abs(nll):     # within rounding of the sum
                        break
                    factor /= 2
                    trial = u - factor * step
                    tried = at(trial)
                else:
                    break
            if not np.isfinite(tried[0]):
                return None
            u, (nll, phi1, phi2) = trial, tried
        else:
            chol = cho_factor(self.hessian_u(sd, phi2), lower=True)
        return nll, u, chol

    def gradient(self, par: np.ndarray, move_start: bool = False) -> tuple[float, np.ndarray]:
        """The Laplace objective and its exact gradient in the parameters.

        With f(u) the joint negative log density, H its Hessian in u and u-hat the mode,
        dL/dpsi = df/dpsi + 1/2 tr(H^-1 dH/dpsi), where dH/dpsi moves with psi directly and through
        du-hat/dpsi = -H^-1 d(grad_u f)/dpsi (implicit function theorem). Each rating enters H through phi2,
        so the trace needs only each row's leverage c_i = z_i' S H^-1 S z_i and the partial derivatives of
        phi1 and phi2 in the two cut-points; the u-hat part is one extra solve (an adjoint vector).
        ``move_start``: later evaluations start from this mode (an optimiser's next point is near)."""
        fit = self.mode(par)
        if fit is None:
            return np.inf, np.zeros_like(par)
        nll, u, chol = fit
        if move_start:
            self.u_start = u
        value = nll + float(np.log(np.diag(chol[0])).sum())
        theta, beta, sd = self.split(par)
        eta1, eta2 = self.linear(theta, beta, sd, u)
        F1, G1, F2, G2 = self.tails(eta1, eta2)
        pi = np.where(eta2 > 0, G2 - G1, F1 - F2)
        f1, f2 = F1 * G1, F2 * G2                       # density, its derivative g and second derivative h
        d1, d2 = G1 - F1, G2 - F2
        g1, g2 = f1 * d1, f2 * d2
        h1 = f1 * (d1 * d1 - 2 * f1)
        h2 = f2 * (d2 * d2 - 2 * f2)
        a1, a2 = f1 / pi, -f2 / pi                      # d log pi / d eta1, d eta2
        phi1 = a1 + a2
        phi2 = phi1 ** 2 - (g1 - g2) / pi
        q1 = g1 / pi - phi1 * f1 / pi                   # d phi1 / d eta1, d eta2
        q2 = -g2 / pi + phi1 * f2 / pi
        p1 = 2 * phi1 * q1 - h1 / pi + (g1 - g2) * f1 / pi ** 2   # d phi2 / d eta1, d eta2
        p2 = 2 * phi1 * q2 + h2 / pi - (g1 - g2) * f2 / pi ** 2
        hinv = cho_solve(chol, np.eye(self.q))
        K, o = len(self.groups), self.offsets
        rows = [o[k] + g for k, g in enumerate(self.groups)]
        w = [sum(sd[m] * hinv[rows[k], rows[m]] for m in range(K)) for k in range(K)]   # w_k per row
        c = sum(sd[k] * w[k] for k in range(K)) if K else np.zeros(len(self.y))
        # the part through u-hat, 1/2 (S Z' v)' H^-1 d(grad_u f)/dpsi with v = c (p1 + p2), by one adjoint
        # solve; per row, its weight on d(grad_u f)/dpsi is A_i = sum_m s_m adj[level of row i in factor m]
        szv = np.zeros(self.q)
        for k, g in enumerate(self.groups):
            szv[o[k]:o[k + 1]] = sd[k] * np.bincount(g, c * (p1 + p2), self.n_levels[k])
        adj = cho_solve(chol, szv)
        A = sum(sd[m] * adj[rows[m]] for m in range(K)) if K else np.zeros(len(self.y))
        grad = np.empty(len(par))
        n_th = self.n_theta
        # a threshold moves eta1 of the rows in the category below it and eta2 of the rows in the one above
        upper = np.bincount(self.y, -a1 + 0.5 * (c * p1 + q1 * A), self.n_cat)
        lower = np.bincount(self.y, -a2 + 0.5 * (c * p2 + q2 * A), self.n_cat)
        grad[:n_th] = upper[:-1] + lower[1:]
        # a coefficient or an SD moves eta1 and eta2 together, by -x_j or -u_k
        e = phi1 - 0.5 * (c * (p1 + p2) + (q1 + q2) * A)
        if self.p:
            grad[n_th:n_th + self.p] = e @ self.x
        for k, g in enumerate(self.groups):
            uk = u[o[k]:o[k + 1]][g]
            grad[n_th + self.p + k] = float(e @ uk + phi2 @ w[k] + 0.5 * (phi1 @ adj[rows[k]]))
        return value, grad

    def recentre(self, par: np.ndarray) -> None:
        """Start the Newton iterations of the evaluations around ``par`` from its mode."""
        fit = self.mode(par)
        if fit is not None:
            self.u_start = fit[1]


def _moved(x: np.ndarray, j: int, h: float) -> np.ndarray:
    y = x.copy()
    y[j] += h
    return y


def _hessian_from_gradient(design: _Design, par: np.ndarray, free: np.ndarray, delta: float = 1e-5) -> np.ndarray:
    """Central differences of the exact gradient over the parameters off their boundary, symmetrised."""
    idx = np.flatnonzero(free)
    h = np.empty((len(idx), len(idx)))
    for col, j in enumerate(idx):
        step = delta * max(1.0, abs(par[j]))
        design.recentre(par)
        up = design.gradient(_moved(par, j, step))[1]
        down = design.gradient(_moved(par, j, -step))[1]
        h[:, col] = (up - down)[idx] / (2 * step)
    design.recentre(par)
    return (h + h.T) / 2


def _start(y: np.ndarray, n_cat: int) -> np.ndarray:
    """Thresholds at the logits of the cumulative shares (a model with no predictors)."""
    cum = np.cumsum(np.bincount(y, minlength=n_cat))[:-1] / len(y)
    return np.log(cum / (1 - cum))


@single_thread
def cumulative_link_mixed(data: pd.DataFrame, response: str, fixed: Sequence[str] = (),
                          random: Sequence[str] = (), *, ci: float = 0.95) -> CumulativeLinkMixed:
    """Fit ``response ~ fixed + (1 | random_1) + (1 | random_2) + ...`` as a cumulative-logit mixed model.

    Parameters
    ----------
    data : DataFrame
        One row per rating.
    response : str
        An ordered column: its sorted distinct values are the categories (at least two); a pandas ordered
        Categorical keeps its own order.
    fixed : sequence of str
        Numeric columns entering the linear predictor (make dummies of a factor first). No intercept: the
        thresholds take its place.
    random : sequence of str
        Grouping factors, each with a random intercept; crossed or nested, as the data have them.
    ci : float
        Level of the Wald intervals and of the random effects' intervals.

    Returns
    -------
    CumulativeLinkMixed

    Notes
    -----
    In R: ``ordinal::clmm(factor(response) ~ fixed + (1 | g1) + (1 | g2), data, link = "logit")``;
    ``coef``, ``sqrt(diag(vcov))``, ``VarCorr``, ``ranef`` and ``condVar`` match it at the optimum (pinned
    to a fit with tight tolerances; ``clmm``'s default inner tolerance, 1e-4 on the gradient, leaves it
    about 1e-5 short).

    Examples
    --------
    Six raters rate ten cases on a 3-point scale; rater R6 rates high:

    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(1)
    >>> d = pd.DataFrame([(c, r) for c in range(10) for r in range(6)], columns=["case", "rater"])
    >>> latent = rng.normal(0, 1, 10)[d["case"]] + np.where(d["rater"] == 5, 1.5, 0) + rng.logistic(0, 1, 60)
    >>> d["rating"] = np.digitize(latent, [-1, 1]) + 1
    >>> fit = cumulative_link_mixed(d, "rating", random=["case", "rater"])
    >>> fit.coefficients.index.tolist()
    ['1|2', '2|3']
    >>> int(fit.effects["rater"]["effect"].idxmax())
    5
    """
    level = check_level(ci)
    fixed, random = list(fixed), list(random)
    missing = [c for c in [response, *fixed, *random] if c not in data.columns]
    if missing:
        raise ValueError(f"column(s) {missing} not in the data")
    d = data[[response, *fixed, *random]].dropna()
    if len(d) == 0:
        raise NotEstimable("not estimable: no complete rows")
    resp = d[response]
    if isinstance(resp.dtype, pd.CategoricalDtype) and resp.cat.ordered:
        present = [c for c in resp.cat.categories if (resp == c).any()]
    else:
        present = sorted(resp.unique())
    if len(present) < 2:
        raise NotEstimable(f"not estimable: the response takes one value only ({present[0]!r})")
    y = pd.Categorical(resp, categories=present).codes.astype(np.int64)
    x = d[fixed].to_numpy(float) if fixed else np.empty((len(d), 0))
    if fixed and np.linalg.matrix_rank(np.column_stack([np.ones(len(d)), x])) < x.shape[1] + 1:
        raise NotEstimable("not estimable: the fixed effects are collinear with each other or the thresholds")
    groups, labels = [], []
    for g in random:
        codes, uniques = pd.factorize(d[g], sort=True)
        groups.append(codes.astype(np.int64))
        labels.append(uniques)
    design = _Design(y, x, groups, [len(lab) for lab in labels], len(present))
    n_sd = len(random)
    start = np.concatenate([_start(y, len(present)), np.zeros(design.p), np.ones(n_sd)])

    def value_and_gradient(par):
        value, grad = design.gradient(par, move_start=True)
        return (value, grad) if np.isfinite(value) else (1e300, np.zeros_like(par))

    # the objective is even in each SD (u and -u are the same model), so the SDs are optimised over the real
    # line and their absolute values reported: a bound at 0 would hold an optimiser that reached it, as 0 is
    # always a stationary point
    opt = minimize(value_and_gradient, start, jac=True, method="L-BFGS-B",
                   options={"maxiter": 1000, "ftol": 1e-15, "gtol": 1e-9})
    par = opt.x.copy()
    par[design.n_theta + design.p:] = np.abs(par[design.n_theta + design.p:])
    design.recentre(par)
    fit = design.mode(par)
    if fit is None:
        raise NotEstimable("not estimable: the optimiser found no finite likelihood (a category empty for "
                           "every level of a factor, or complete separation)")
    nll, u, chol = fit
    value = nll + float(np.log(np.diag(chol[0])).sum())
    theta, beta, sd = design.split(par)
    names = [f"{present[j]}|{present[j + 1]}" for j in range(design.n_theta)] + fixed
    sd_names = list(random)
    free = np.concatenate([np.ones(design.n_theta + design.p, bool), sd >= _BOUNDARY_SD])
    hess = _hessian_from_gradient(design, par, free)
    try:
        cov = np.linalg.inv(hess)
        if np.any(np.diag(cov) <= 0):
            raise LinAlgError
    except LinAlgError:
        cov = np.full(hess.shape, np.nan)
    se_all = np.full(len(par), np.nan)
    se_all[free] = np.sqrt(np.diag(cov))
    z = float(norm.ppf(0.5 + level / 2))
    est = np.concatenate([theta, beta])
    se_fe = se_all[:len(est)]
    coefficients = pd.DataFrame({"estimate": est, "se": se_fe, "ci_lower": est - z * se_fe,
                                 "ci_upper": est + z * se_fe}, index=pd.Index(names, name="term"))
    se_sd = se_all[len(est):]
    with np.errstate(divide="ignore", invalid="ignore"):
        log_half = z * se_sd / sd
    sds = pd.DataFrame({"sd": sd, "se": se_sd, "ci_lower": np.where(free[len(est):], sd * np.exp(-log_half), np.nan),
                        "ci_upper": np.where(free[len(est):], sd * np.exp(log_half), np.nan),
                        "n_levels": design.n_levels}, index=pd.Index(sd_names, name="factor"))
    hinv_diag = np.diag(cho_solve(chol, np.eye(design.q)))
    effects = {}
    for k, g in enumerate(random):
        sl = slice(design.offsets[k], design.offsets[k + 1])
        b = sd[k] * u[sl]
        cond_sd = sd[k] * np.sqrt(hinv_diag[sl])
        effects[g] = pd.DataFrame({"effect": b, "sd": cond_sd, "ci_lower": b - z * cond_sd,
                                   "ci_upper": b + z * cond_sd,
                                   "n": np.bincount(groups[k], minlength=design.n_levels[k])},
                                  index=pd.Index(labels[k], name=g))
    free_names = [n for n, keep in zip(names + sd_names, free) if keep]
    return CumulativeLinkMixed(coefficients, sds, effects, -value, int(len(d)), tuple(present), level,
                               bool(opt.success), pd.DataFrame(cov, index=free_names, columns=free_names))
