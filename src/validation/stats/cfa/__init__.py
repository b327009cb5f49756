"""Confirmatory factor analysis and measurement invariance by maximum likelihood.

Pure functions on a table of item scores (or on summary statistics), numbers equal to
``lavaan`` 0.6-14 with its defaults for ``lavaan::cfa``:

* :func:`cfa` -- a (multi-group) measurement model in lavaan syntax: estimates with standard errors
  from the expected information, the standardized solution (``std.all``) with delta-method
  standard errors, the fit measures of ``fitMeasures`` and the largest modification indices;
  equality constraints across groups as lavaan's ``group.equal`` / ``group.partial``;
* :func:`invariance` -- the configural / metric / scalar sequence (Meredith, 1993) with
  likelihood-ratio tests, changes in CFI and RMSEA judged against stated criteria (Cheung &
  Rensvold, 2002; Chen, 2007) and, when scalar invariance fails, a search for partial scalar
  invariance that frees one intercept at a time, the one with the largest score test first
  (Byrne, Shavelson & Muthen, 1989).

Estimation is normal-theory maximum likelihood on the biased covariance matrix (divisor N), as
lavaan's ``likelihood = "normal"``; the fit function, the information matrix and the optimiser
are described in :mod:`validation._cfa_engine`, the fit measures in :mod:`validation._cfa_fit`.

Incomplete data: ``missing="listwise"`` (the default) keeps the complete cases;
``missing="ml"`` is full-information maximum likelihood as lavaan's ``missing = "ml"``
(Arbuckle, 1996; Enders, 2010): the casewise likelihood of the observed values, the unrestricted
model fitted by EM for the chi-square, SRMR and the saturated log-likelihood, the independence
baseline with free means and variances fitted by FIML, standard errors from the observed
information, modification indices and score tests from the expected (pattern-wise) information.

Every result is a frozen dataclass; :func:`validation.results.to_dict` turns it into plain JSON
values. Degenerate input raises :class:`validation.results.NotEstimable`.

References
----------
Joreskog, K. G. (1969). A general approach to confirmatory maximum likelihood factor analysis.
Psychometrika, 34, 183-202.
Rosseel, Y. (2012). lavaan: An R package for structural equation modeling. Journal of Statistical
Software, 48(2), 1-36.
Meredith, W. (1993). Measurement invariance, factor analysis and factorial invariance.
Psychometrika, 58, 525-543.
Sorbom, D. (1989). Model modification. Psychometrika, 54, 371-384.
Bentler, P. M. (1990). Comparative fit indexes in structural models. Psychological Bulletin, 107, 238-246.
Steiger, J. H. (1990). Structural model evaluation and modification: an interval estimation approach.
Multivariate Behavioral Research, 25, 173-180.
Browne, M. W., & Cudeck, R. (1993). Alternative ways of assessing model fit. In K. A. Bollen &
J. S. Long (Eds.), Testing structural equation models (pp. 136-162). Sage.
Hu, L., & Bentler, P. M. (1999). Cutoff criteria for fit indexes in covariance structure analysis.
Structural Equation Modeling, 6, 1-55.
Cheung, G. W., & Rensvold, R. B. (2002). Evaluating goodness-of-fit indexes for testing measurement
invariance. Structural Equation Modeling, 9, 233-255.
Chen, F. F. (2007). Sensitivity of goodness of fit indexes to lack of measurement invariance.
Structural Equation Modeling, 14, 464-504.
Byrne, B. M., Shavelson, R. J., & Muthen, B. (1989). Testing for the equivalence of factor covariance
and mean structures: the issue of partial measurement invariance. Psychological Bulletin, 105, 456-466.
Arbuckle, J. L. (1996). Full information estimation in the presence of incomplete data. In G. A.
Marcoulides & R. E. Schumacker (Eds.), Advanced structural equation modeling (pp. 243-277). Erlbaum.
Enders, C. K. (2010). Applied missing data analysis. Guilford.
Dempster, A. P., Laird, N. M., & Rubin, D. B. (1977). Maximum likelihood from incomplete data via the
EM algorithm. Journal of the Royal Statistical Society B, 39, 1-38.
Kenward, M. G., & Molenberghs, G. (1998). Likelihood based frequentist inference when data are
missing at random. Statistical Science, 13, 236-247.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from validation.stats.cfa import _engine as _eng
from validation.stats.cfa import _fit
from validation.stats.cfa import _ordinal as _ord
from validation.stats.cfa._syntax import (
    EQUAL_CHOICES,
    LAMBDA,
    NU,
    PSI,
    THETA,
    Table,
    parameter_table,
    parse_model,
)
from validation.stats.cfa._syntax import _names as _model_names
from validation.stats.cfa.small_sample import SmallSampleFit, small_sample_fit
from validation.stats._blas import single_thread as _single_thread
from validation.stats.results import NotEstimable

__all__ = [
    "SmallSampleFit",
    "small_sample_fit",
    "Parameter",
    "ModificationIndex",
    "CFAResult",
    "cfa",
    "ScoreTest",
    "InvarianceStep",
    "InvarianceResult",
    "invariance",
    "DEFAULT_CRITERIA",
]

DEFAULT_CRITERIA: dict[str, float] = {"delta_cfi": -0.01, "delta_rmsea": 0.015}
_EPS = float(np.finfo(float).eps)
MISSING_CHOICES = ("listwise", "ml")
_MAIN_MEASURES = (
    "chisq", "df", "pvalue", "baseline.chisq", "baseline.df", "cfi", "tli", "rmsea", "rmsea.ci.lower",
    "rmsea.ci.upper", "rmsea.pvalue", "srmr", "logl", "unrestricted.logl", "npar", "aic", "bic", "bic2", "ntotal",
)


# --------------------------------------------------------------------------------------------------
# results
# --------------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Parameter:
    """One row of the parameter table (lavaan's ``parameterEstimates`` joined with
    ``standardizedSolution``).

    Attributes
    ----------
    lhs, op, rhs : the parameter in lavaan syntax (``op`` one of ``=~``, ``~~``, ``~1``).
    group : group label (``None`` for a single group).
    label : user label, or ``.pN.`` for a parameter held equal across groups.
    free : False for a fixed parameter (then ``se`` is 0 and ``z``, ``pvalue`` are NaN).
    est, se, z, pvalue : estimate, standard error (expected information; observed information
        under ``missing="ml"``), Wald z, two-sided p.
    std_all, std_se, std_z, std_pvalue : completely standardized estimate (``std.all``) with its
        delta-method standard error, z and p.
    """

    lhs: str
    op: str
    rhs: str
    group: str | None
    label: str
    free: bool
    est: float
    se: float
    z: float
    pvalue: float
    std_all: float
    std_se: float
    std_z: float
    std_pvalue: float


@dataclasses.dataclass(frozen=True)
class ModificationIndex:
    """Score test of freeing one fixed parameter (lavaan's ``modindices``): ``mi`` (chi-square,
    1 df), expected parameter change ``epc`` and its standardized versions."""

    lhs: str
    op: str
    rhs: str
    group: str | None
    mi: float
    epc: float
    sepc_lv: float
    sepc_all: float


@dataclasses.dataclass(frozen=True)
class CFAResult:
    """A fitted measurement model.

    Attributes
    ----------
    model : the model syntax as given.
    fit : fit measures named as ``lavaan::fitMeasures`` (``chisq``, ``df``, ``pvalue``,
        ``baseline.chisq``, ``baseline.df``, ``cfi``, ``tli``, ``rmsea``, ``rmsea.ci.lower``,
        ``rmsea.ci.upper``, ``rmsea.pvalue``, ``srmr``, ``logl``, ``unrestricted.logl``, ``npar``,
        ``aic``, ``bic``, ``bic2``, ``ntotal`` and the other indices lavaan prints).
    parameters : every parameter, fixed and free, in lavaan's order (group by group).
    modification_indices : the largest modification indices, sorted decreasingly.
    n : cases used (all groups); nobs : cases per group; groups : group labels in order.
    equal, group_partial, std_lv, meanstructure : the options of the fit.
    converged, iterations : of the Fisher-scoring optimiser.
    estimator : ``"ML"``; missing : how missing values were handled, in words (listwise deletion
        or full information ML, with the number of cases, missing values and patterns).
    warnings : Heywood cases, non-positive-definite matrices and anything a reader should know.
    information : the information matrix behind the standard errors: ``"observed"`` (the default with
        full information ML, as lavaan) or ``"expected"``.
    vcov : sampling covariance matrix of the free parameters (lavaan's ``vcov``), rows and columns
        named ``lhs op rhs`` (``.gN`` appended in group N > 1); a parameter held equal across groups
        appears once a group, as in lavaan. For delta-method standard errors of functions of the
        estimates; not written by :func:`~validation.stats.results.to_dict`.
    pairwise_n : WLSMV: per group, the cases each pair of items was answered by (the diagonal: each
        item's), behind each polychoric correlation; not written by ``to_dict``.
    """

    model: str
    fit: dict[str, float]
    parameters: tuple[Parameter, ...]
    modification_indices: tuple[ModificationIndex, ...]
    n: int
    nobs: dict[str, int]
    groups: tuple[str, ...]
    equal: tuple[str, ...]
    group_partial: tuple[str, ...]
    std_lv: bool
    meanstructure: bool
    converged: bool
    iterations: int
    estimator: str
    missing: str
    warnings: tuple[str, ...] = ()
    information: str = "expected"
    vcov: pd.DataFrame | None = dataclasses.field(default=None, repr=False, compare=False,
                                                  metadata={"serialize": False})
    pairwise_n: dict[str, pd.DataFrame] | None = dataclasses.field(default=None, repr=False, compare=False,
                                                                   metadata={"serialize": False})

    def to_frame(self) -> pd.DataFrame:
        """Parameters as a DataFrame (one row per parameter)."""
        return pd.DataFrame([dataclasses.asdict(p) for p in self.parameters])

    def modindices_frame(self) -> pd.DataFrame:
        """Modification indices as a DataFrame."""
        cols = [f.name for f in dataclasses.fields(ModificationIndex)]
        return pd.DataFrame([dataclasses.asdict(m) for m in self.modification_indices], columns=cols)

    def loadings(self, standardized: bool = True) -> pd.DataFrame:
        """Loadings (items x factors; groups stacked) -- standardized (``std.all``) by default."""
        rows = [p for p in self.parameters if p.op == "=~"]
        df = pd.DataFrame(
            {"group": [p.group for p in rows], "factor": [p.lhs for p in rows], "item": [p.rhs for p in rows],
             "value": [p.std_all if standardized else p.est for p in rows]}
        )
        idx = ["group", "item"] if len(self.groups) > 1 else ["item"]
        return df.pivot_table(index=idx, columns="factor", values="value", sort=False)


# --------------------------------------------------------------------------------------------------
# input
# --------------------------------------------------------------------------------------------------


@dataclasses.dataclass
class _Sample:
    groups: list[str]
    cov: list[np.ndarray]
    mean: list[np.ndarray]
    nobs: list[int]
    missing: str
    from_data: bool
    patterns: list[_eng.Patterns] | None = None  # full-information ML: the incomplete data
    h1: list[_eng.H1] | None = None  # ... and the unrestricted model fitted by EM
    notes: tuple[str, ...] = ()


def _check_equal(equal: Any, name: str = "equal") -> tuple[str, ...]:
    if equal is None:
        return ()
    if isinstance(equal, str):
        equal = (equal,)
    out = tuple(str(e) for e in equal)
    bad = [e for e in out if e not in EQUAL_CHOICES]
    if bad:
        raise ValueError(f"{name}: unknown constraint(s) {bad}; expected any of {list(EQUAL_CHOICES)}")
    return out


def _check_information(information: str | None, missing: str) -> str | None:
    """lavaan's ``information``: the matrix behind the standard errors of an ML fit."""
    if information is None:
        return None
    if information not in ("observed", "expected"):
        raise ValueError(f"information: expected 'observed' or 'expected', got {information!r}")
    if information == "observed" and missing != "ml":
        raise ValueError("information='observed' is computed for full information ML (missing='ml'); complete "
                         "data use the expected information (lavaan's default)")
    return information


def _check_partial(partial: Any) -> tuple[str, ...]:
    if partial is None:
        return ()
    if isinstance(partial, str):
        partial = (partial,)
    out = []
    for p in partial:
        s = str(p).replace(" ", "")
        if not any(op in s for op in ("=~", "~~", "~1", "|t")):
            raise ValueError(f"group_partial: {p!r} is not a parameter in lavaan syntax (e.g. 'x3~1', 'F=~x2', "
                             "'x3|t1')")
        out.append(s)
    return tuple(out)


def _numeric_block(df: pd.DataFrame, cols: list[str], what: str) -> np.ndarray:
    for c in cols:
        s = df[c]
        if not (pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s)):
            raise ValueError(f"{what}: column {c!r} has dtype {s.dtype}; expected numeric scores (missing as NaN)")
    return df[cols].to_numpy(dtype=float, na_value=np.nan)


def _model_block(data: Any, ov: list[str], group: str | None, rows_are: str) -> np.ndarray:
    """The model's observed variables of ``data`` as numbers, after checking the frame, its columns and
    the group column."""
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"data: expected a pandas DataFrame (rows = cases, columns = {rows_are}), "
                        f"got {type(data).__name__}")
    cols = [str(c) for c in data.columns]
    absent = [v for v in ov if v not in cols]
    if absent:
        raise ValueError(f"data: the model's observed variable(s) {absent} are not columns of data")
    if group is not None and group not in cols:
        raise ValueError(f"group: {group!r} is not a column of data")
    return _numeric_block(data, ov, "data")


def _sample_from_data(data: Any, ov: list[str], group: str | None, missing: str) -> _Sample:
    x = _model_block(data, ov, group, "variables")
    n_all = x.shape[0]
    if np.isinf(x).any():
        raise ValueError("data: infinite values in the model's variables; expected finite scores (missing as NaN)")
    if group is not None:
        gcol = data[group]
        keep_g = gcol.notna().to_numpy()
        if pd.api.types.is_float_dtype(gcol) and np.all(np.mod(gcol[keep_g], 1) == 0):
            gcol = gcol.astype("Int64")  # 1.0 -> "1", as R's as.character(1)
        glab_all = gcol.astype(str).to_numpy()
    else:
        keep_g = np.ones(n_all, dtype=bool)
        glab_all = np.full(n_all, "", dtype=object)
    if missing == "ml":
        return _sample_fiml(x, glab_all, keep_g, group, ov, list(data.index))
    complete = ~np.isnan(x).any(axis=1) & keep_g
    n_used = int(complete.sum())
    if n_used == 0:
        raise NotEstimable("not estimable: no case has a value on every observed variable of the model")
    if group is not None:
        labels = list(dict.fromkeys(glab_all[keep_g].tolist()))  # order of first appearance, as lavaan
    else:
        labels = [""]
    covs, means, nobs = [], [], []
    for lab in labels:
        sel = complete & (glab_all == lab) if group is not None else complete
        xg = x[sel]
        ng = xg.shape[0]
        where = f" in group {lab!r}" if group is not None else ""
        if ng < 2:
            raise NotEstimable(f"not estimable: {ng} complete case(s){where}; a covariance matrix needs at least 2")
        m = xg.mean(axis=0)
        xc = xg - m
        s = xc.T @ xc / ng
        const = [ov[j] for j in np.flatnonzero(np.diag(s) <= 0)]
        if const:
            raise NotEstimable(f"not estimable: variable(s) without variance{where}: {', '.join(const)}")
        covs.append(s)
        means.append(m)
        nobs.append(ng)
    if n_used < n_all:
        how = f"listwise deletion: {n_used} of {n_all} cases have a value on every observed variable"
        if group is not None and not keep_g.all():
            how += f" and a group ({int((~keep_g).sum())} without group)"
    else:
        how = f"complete data: all {n_all} cases used"
    return _Sample(labels, covs, means, nobs, how, True)


def _sample_fiml(x: np.ndarray, glab_all: np.ndarray, keep_g: np.ndarray, group: str | None, ov: list[str],
                 index: list) -> _Sample:
    """Incomplete data for full-information ML: per group the cases with at least one observed
    value, their missing-data patterns and the unrestricted model fitted by EM."""
    observed = ~np.isnan(x)
    nonempty = observed.any(axis=1)
    use = keep_g & nonempty
    empty = np.flatnonzero(keep_g & ~nonempty)
    if not use.any():
        raise NotEstimable("not estimable: no case has a value on any observed variable of the model")
    labels = list(dict.fromkeys(glab_all[keep_g].tolist())) if group is not None else [""]
    notes: list[str] = []
    if empty.size:
        shown = ", ".join(str(index[i]) for i in empty[:20]) + (", ..." if empty.size > 20 else "")
        notes.append(f"{empty.size} case(s) without any value on the model's variables were dropped (rows {shown})")
    pats, h1s, covs, means, nobs = [], [], [], [], []
    for lab in labels:
        sel = use & (glab_all == lab) if group is not None else use
        xg = x[sel]
        ng = xg.shape[0]
        where = f" in group {lab!r}" if group is not None else ""
        if ng < 2:
            raise NotEstimable(f"not estimable: {ng} case(s) with observed values{where}; at least 2 are needed")
        nvar = (~np.isnan(xg)).sum(axis=0)
        none = [ov[j] for j in np.flatnonzero(nvar == 0)]
        if none:
            raise NotEstimable(f"not estimable: variable(s) without any observed value{where}: {', '.join(none)}")
        with np.errstate(invalid="ignore"):
            var = np.nanvar(xg, axis=0)
        const = [ov[j] for j in np.flatnonzero(~(var > 0))]
        if const:
            raise NotEstimable(f"not estimable: variable(s) without variance{where}: {', '.join(const)}")
        pat = _eng.Patterns(xg)
        cov = pat.coverage
        low = np.argwhere(np.tril(cov, -1) + np.triu(np.ones_like(cov)) < 0.1)
        if low.size:
            pairs = ", ".join(f"{ov[i]}-{ov[j]}" for i, j in low[:10]) + (", ..." if len(low) > 10 else "")
            if np.tril(cov, -1)[tuple(low.T)].min() == 0:
                notes.append(f"pair(s) of variables never observed together{where} ({pairs}): their covariance in "
                             "the unrestricted model is not identified; chi-square based fit measures are doubtful")
            else:
                notes.append(f"pair(s) of variables observed together in fewer than 10% of the cases{where} ({pairs})")
        h1 = _eng.em_h1(pat)
        sd = np.sqrt(np.diag(h1.sigma))
        ev = np.linalg.eigvalsh(h1.sigma / np.outer(sd, sd))[0]
        if ev < 1e-7:
            raise NotEstimable(
                f"not estimable: the covariance matrix of the unrestricted model{where} (fitted by EM) is singular "
                f"(smallest eigenvalue of its correlation matrix {ev:.2e}); a variable is a linear combination of "
                "others or there are too few cases"
            )
        if not h1.converged:
            notes.append(f"EM for the unrestricted model{where} stopped after {h1.iterations} iterations without "
                         "reaching its tolerance (1e-5)")
        pats.append(pat)
        h1s.append(h1)
        covs.append(h1.sigma)
        means.append(h1.mu)
        nobs.append(ng)
    n_used = int(sum(nobs))
    n_inc = int(sum(np.sum(pt.p_case < pt.p) for pt in pats))
    frac = float(sum(np.isnan(pt.y).sum() for pt in pats)) / (n_used * len(ov))
    how = (f"full information ML: {n_used} cases, {n_inc} with missing values ({frac:.1%} of the values missing), "
           f"{sum(pt.npatterns for pt in pats)} missing-data pattern(s)")
    if empty.size:
        how += f"; {empty.size} case(s) without values dropped"
    if group is not None and not keep_g.all():
        how += f"; {int((~keep_g).sum())} case(s) without group dropped"
    return _Sample(labels, covs, means, nobs, how, True, pats, h1s, tuple(notes))


def _as_cov(obj: Any, ov: list[str], what: str) -> np.ndarray:
    if isinstance(obj, pd.DataFrame):
        idx = [str(c) for c in obj.index]
        cols = [str(c) for c in obj.columns]
        absent = [v for v in ov if v not in cols or v not in idx]
        if absent:
            raise ValueError(f"{what}: the model's observed variable(s) {absent} are not rows/columns of the covariance matrix")
        s = obj.copy()
        s.index, s.columns = idx, cols
        m = s.loc[ov, ov].to_numpy(dtype=float)
    else:
        raise TypeError(f"{what}: expected a DataFrame with variable names as index and columns, got {type(obj).__name__}")
    if not np.all(np.isfinite(m)):
        raise ValueError(f"{what}: the covariance matrix has missing or infinite values")
    if not np.allclose(m, m.T, rtol=1e-10, atol=1e-12 * np.abs(m).max()):
        raise ValueError(f"{what}: the covariance matrix is not symmetric")
    return (m + m.T) / 2


def _as_mean(obj: Any, ov: list[str], what: str) -> np.ndarray:
    if isinstance(obj, Mapping) and not isinstance(obj, pd.Series):
        obj = pd.Series(obj)
    if isinstance(obj, pd.Series):
        s = obj.copy()
        s.index = [str(i) for i in s.index]
        absent = [v for v in ov if v not in s.index]
        if absent:
            raise ValueError(f"{what}: the model's observed variable(s) {absent} have no mean")
        return s.loc[ov].to_numpy(dtype=float)
    raise TypeError(f"{what}: expected a Series (or dict) of means named by variable, got {type(obj).__name__}")


def _sample_from_moments(sample_cov: Any, sample_mean: Any, sample_nobs: Any, ov: list[str], rescale: bool) -> _Sample:
    multi = isinstance(sample_cov, Mapping)
    if multi:
        labels = [str(k) for k in sample_cov.keys()]
        covs_in = list(sample_cov.values())
        if sample_mean is not None:
            if not isinstance(sample_mean, Mapping) or [str(k) for k in sample_mean.keys()] != labels:
                raise ValueError("sample_mean: with one covariance matrix per group, give a dict of means with the same group keys")
            means_in = list(sample_mean.values())
        else:
            means_in = [None] * len(labels)
        if isinstance(sample_nobs, Mapping):
            if [str(k) for k in sample_nobs.keys()] != labels:
                raise ValueError("sample_nobs: expected the same group keys as sample_cov")
            n_in = list(sample_nobs.values())
        elif isinstance(sample_nobs, Sequence) and not isinstance(sample_nobs, str):
            n_in = list(sample_nobs)
        else:
            raise ValueError("sample_nobs: with one covariance matrix per group, give one N per group (dict or list)")
        if len(n_in) != len(labels):
            raise ValueError(f"sample_nobs: {len(n_in)} N's for {len(labels)} groups")
    else:
        labels = [""]
        covs_in = [sample_cov]
        means_in = [sample_mean]
        if isinstance(sample_nobs, Mapping) or (isinstance(sample_nobs, Sequence) and not isinstance(sample_nobs, str)):
            raise ValueError("sample_nobs: expected a single N for a single covariance matrix")
        n_in = [sample_nobs]
    covs, means, nobs = [], [], []
    for lab, c, m, n in zip(labels, covs_in, means_in, n_in):
        if n is None or isinstance(n, bool) or not float(n).is_integer() or int(n) < 2:
            raise ValueError(f"sample_nobs: expected a whole number of cases >= 2, got {n!r}")
        n = int(n)
        what = "sample_cov" + (f"[{lab!r}]" if multi else "")
        s = _as_cov(c, ov, what)
        if rescale:
            s = s * (n - 1) / n
        const = [ov[j] for j in np.flatnonzero(np.diag(s) <= 0)]
        if const:
            raise NotEstimable(f"not estimable: variable(s) without variance in {what}: {', '.join(const)}")
        covs.append(s)
        means.append(_as_mean(m, ov, "sample_mean" + (f"[{lab!r}]" if multi else "")) if m is not None else np.zeros(len(ov)))
        nobs.append(n)
    how = "summary statistics" + (" (covariance rescaled by (N-1)/N)" if rescale else "")
    return _Sample(labels, covs, means, nobs, how, False)


def _check_sample_pd(sample: _Sample, ov: list[str]) -> None:
    for lab, s in zip(sample.groups, sample.cov):
        ev = np.linalg.eigvalsh(s / np.sqrt(np.outer(np.diag(s), np.diag(s))))
        if ev[0] <= 1e-10:
            where = f" of group {lab!r}" if lab else ""
            raise NotEstimable(
                f"not estimable: the sample covariance matrix{where} is not positive definite (smallest "
                f"eigenvalue of the correlation matrix {ev[0]:.2e}); a variable is a linear combination of "
                "others or there are too few cases"
            )


# --------------------------------------------------------------------------------------------------
# estimation
# --------------------------------------------------------------------------------------------------


@dataclasses.dataclass
class _Fitted:
    model: str
    table: Table
    spec: _eng.Spec
    sample: _Sample
    theta: np.ndarray
    state: _eng.FitState
    info: np.ndarray
    info_inv: np.ndarray
    equal: tuple[str, ...]
    partial: tuple[str, ...]
    std_lv: bool
    fit: dict[str, float]
    score_info_inv: np.ndarray | None = None  # information behind score tests when not info_inv
    notes: tuple[str, ...] = ()
    information: str = "expected"             # behind the standard errors

    @property
    def mi_info_inv(self) -> np.ndarray:
        return self.info_inv if self.score_info_inv is None else self.score_info_inv


def _estimate(
    model: str,
    sample: _Sample,
    formulas,
    *,
    equal: tuple[str, ...],
    partial: tuple[str, ...],
    std_lv: bool,
    meanstructure: bool,
    theta0: np.ndarray | None = None,
    at: Mapping[tuple, float] | None = None,
    information: str | None = None,
) -> _Fitted:
    G = len(sample.groups)
    table = parameter_table(formulas, ngroups=G, meanstructure=meanstructure, std_lv=std_lv, equal=equal, partial=partial)
    if partial:
        keys = {r.key for r in table.rows}
        unknown = [p for p in partial if p not in keys]
        if unknown:
            raise ValueError(f"group_partial: {unknown} are not parameters of the model")
    p = len(table.ov)
    moments = G * (p * (p + 1) // 2 + (p if table.meanstructure else 0))
    df = moments - table.npar
    if df < 0:
        raise NotEstimable(
            f"not estimable: the model is not identified: {table.npar} free parameters but only {moments} "
            "sample moments (negative degrees of freedom)"
        )
    fiml = sample.patterns is not None
    if fiml:
        spec = _eng.FimlSpec(table, sample.patterns, sample.h1)
    else:
        spec = _eng.Spec(table, sample.cov, sample.mean, sample.nobs)
    if at is None:
        state = _eng.fit_ml(spec, theta0)
    else:
        state = _eng.FitState(_theta_from(table, sample, at), math.nan, True, 0, "evaluated at given estimates")
        state.fmin = spec.fmin(state.theta)
    if not state.converged:
        raise NotEstimable(f"not estimable: the maximum-likelihood fit did not converge ({state.message})")
    theta = state.theta
    info = spec.information(theta)
    # identification: the information matrix must be of full rank at the solution
    if table.npar:
        d = np.sqrt(np.abs(np.diag(info)))
        d = np.where(d > 0, d, 1.0)
        ev, vec = np.linalg.eigh(info / np.outer(d, d))  # free of the variables' scales
        if ev[0] <= 1e-10 * max(ev[-1], 1e-300):
            involved = np.flatnonzero(np.abs(vec[:, 0]) > 0.1)
            names = []
            for pid in involved:
                r = next(r for r in table.rows if r.pid == pid)
                gl = f" [{sample.groups[r.group]}]" if G > 1 else ""
                names.append(f"{r.lhs} {r.op} {r.rhs}".strip() + gl)
            raise NotEstimable(
                "not estimable: the model is not identified (singular information matrix); parameters involved: "
                + ", ".join(names)
            )
        info_inv = np.linalg.inv(info)
        info_inv = (info_inv + info_inv.T) / 2
    else:
        info_inv = np.zeros((0, 0))
    score_info_inv = None
    notes: list[str] = []
    information = information or ("observed" if fiml else "expected")
    if fiml:
        # standard errors from the observed information (lavaan's default with missing = "ml");
        # score tests and modification indices from the expected one (as modindices/lavTestScore)
        score_info_inv = info_inv
        if table.npar and information == "observed":
            info = spec.hessian(theta) / 2
            try:
                info_inv = np.linalg.inv(info)
                info_inv = (info_inv + info_inv.T) / 2
                if np.linalg.eigvalsh(info)[0] <= 0:
                    notes.append("the observed information matrix is not positive definite: standard errors are "
                                 "not trustworthy")
            except np.linalg.LinAlgError:
                info_inv = np.full_like(info, np.nan)
                notes.append("the observed information matrix is singular: no standard errors")
    fit = _fit_measures_fiml(spec, theta) if fiml else _fit_measures(spec, theta)
    return _Fitted(model, table, spec, sample, theta, state, info, info_inv, equal, partial, std_lv, fit,
                   score_info_inv, tuple(notes), information)


def _theta_from(table: Table, sample: _Sample, at: Mapping[tuple, float]) -> np.ndarray:
    """Parameter vector from estimates keyed by (lhs, op, rhs, group label or None)."""
    theta = np.full(table.npar, np.nan)
    G = len(sample.groups)
    for r in table.rows:
        if r.free and math.isnan(theta[r.pid]):
            key = (r.lhs, r.op, r.rhs, sample.groups[r.group] if G > 1 else None)
            if key not in at:
                raise KeyError(f"no estimate given for {key}")
            theta[r.pid] = float(at[key])
    return theta


def _fitted_at(model: str, data: pd.DataFrame | None = None, *, estimates: Mapping[tuple, float], group: str | None = None,
               equal: Sequence[str] = (), group_partial: Sequence[str] = (), std_lv: bool = False,
               sample_cov=None, sample_mean=None, sample_nobs=None, meanstructure: bool | None = None,
               missing: str = "listwise") -> _Fitted:
    """The model evaluated at given estimates instead of fitted (used to check every derived
    quantity against another program at that program's own estimates)."""
    formulas, sample, ms = _prepare(model, data, group, sample_cov, sample_mean, sample_nobs, missing, True)
    ms = ms if meanstructure is None else bool(meanstructure)
    return _estimate(model, sample, formulas, equal=_check_equal(equal), partial=_check_partial(group_partial),
                     std_lv=std_lv, meanstructure=ms, at=estimates)


def _fit_measures(spec: _eng.Spec, theta: np.ndarray) -> dict[str, float]:
    G, p = spec.G, spec.p
    F = spec.fmin(theta)
    N = spec.N
    chisq = N * F
    ms = spec.meanstructure
    moments = G * (p * (p + 1) // 2 + (p if ms else 0))
    df = moments - spec.npar
    base = 0.0
    for g in range(G):
        base += spec.nobs[g] * (np.log(np.diag(spec.S[g])).sum() - spec.logdetS[g])
    bdf = G * p * (p - 1) // 2
    logl = 0.0
    ulogl = 0.0
    sig, mus = [], []
    l2pi = math.log(2 * math.pi)
    for g in range(G):
        sigma, mu = spec.implied(theta, g)
        sig.append(sigma)
        mus.append(mu)
        ng = spec.nobs[g]
        sign, ld = np.linalg.slogdet(sigma)
        P = np.linalg.inv(sigma)
        d = spec.xbar[g] - mu
        logl += -ng / 2 * (p * l2pi + ld + np.trace(spec.S[g] @ P) + d @ P @ d)
        ulogl += -ng / 2 * (p * l2pi + spec.logdetS[g] + p)
    res = _fit.residual_summaries(spec.S, spec.xbar, sig, mus, spec.nobs, ms)
    fm = _fit.fit_measures(
        chisq=chisq, df=df, npar=spec.npar, fmin=F / 2, baseline_chisq=base, baseline_df=bdf, logl=logl,
        unrestricted_logl=ulogl, ntotal=int(N), ngroups=G, residuals=res,
    )
    return fm


def _fit_measures_fiml(spec: _eng.FimlSpec, theta: np.ndarray) -> dict[str, float]:
    """Fit measures under full-information ML, as lavaan computes them with missing = "ml":
    chisq = sum_g max(2 (logl_g(H1) - logl_g), 0) against the unrestricted model fitted by EM,
    the baseline (independence) model with free means and variances fitted by FIML, SRMR on the
    residuals from the EM moments."""
    G, p = spec.G, spec.p
    N = spec.N
    fg = [spec.group_f(theta, g) for g in range(G)]
    F = float(sum(spec.w[g] * max(fg[g], 0.0) for g in range(G)))
    chisq = N * F
    moments = G * (p * (p + 1) // 2 + p)
    df = moments - spec.npar
    ulogl = float(sum(h.logl for h in spec.h1))
    logl = float(sum(-0.5 * (spec.nobs[g] * (fg[g] + spec.h1[g].fx) + spec.patterns[g].log2pi_total)
                     for g in range(G)))
    base = float(sum(max(2.0 * (spec.h1[g].logl - spec.patterns[g].independence_loglik()), 0.0) for g in range(G)))
    bdf = G * p * (p - 1) // 2
    sig, mus = [], []
    for g in range(G):
        sigma, mu = spec.implied(theta, g)
        sig.append(sigma)
        mus.append(mu)
    res = _fit.residual_summaries(spec.S, spec.xbar, sig, mus, spec.nobs, True)
    return _fit.fit_measures(
        chisq=chisq, df=df, npar=spec.npar, fmin=F / 2, baseline_chisq=base, baseline_df=bdf, logl=logl,
        unrestricted_logl=ulogl, ntotal=int(N), ngroups=G, residuals=res,
    )


def _std_values(fitted: _Fitted, theta: np.ndarray) -> np.ndarray:
    """std.all of every row of the table (complex-safe)."""
    spec, table = fitted.spec, fitted.table
    rows = table.rows
    cplx = np.iscomplexobj(theta)
    out = np.empty(len(rows), dtype=complex if cplx else float)
    per = [spec.matrices(theta, g) for g in range(spec.G)]
    cache = []
    for g, (L, T, Ps, nu, al) in enumerate(per):
        ov2 = np.sum((L @ Ps) * L, axis=1) + np.diag(T)
        eta2 = np.diag(Ps).copy()
        th = np.diag(T)
        if cplx:
            sgn_o = np.where(ov2.real < 0, -1.0, 1.0)
            sgn_e = np.where(eta2.real < 0, -1.0, 1.0)
            ov = np.sqrt(ov2 * sgn_o)
            eta = np.sqrt(eta2 * sgn_e)
            rv = np.sqrt(th * np.where(th.real < 0, -1.0, 1.0))
            rvl = np.sqrt(eta2 * sgn_e)
        else:
            ov2 = np.where(np.abs(ov2) < _EPS, np.nan, ov2)
            ov = np.sqrt(np.where(ov2 < 0, np.nan, ov2))
            eta = np.sqrt(np.where(eta2 < 0, np.nan, eta2))
            rv = np.sqrt(np.abs(th))
            rvl = np.sqrt(np.abs(eta2))
        cache.append((L, T, Ps, nu, al, ov2, ov, eta, rv, rvl))
    for i, r in enumerate(rows):
        L, T, Ps, nu, al, ov2, ov, eta, rv, rvl = cache[r.group]
        if r.mat == LAMBDA:
            est = L[r.r, r.c]
            out[i] = est * eta[r.c] / ov[r.r]
        elif r.mat == THETA:
            est = T[r.r, r.c]
            out[i] = est / ov2[r.r] if r.r == r.c else est / rv[r.r] / rv[r.c]
        elif r.mat == PSI:
            est = Ps[r.r, r.c]
            out[i] = est / eta[r.r] / eta[r.c] if r.r == r.c else est / rvl[r.r] / rvl[r.c]
        elif r.mat == NU:
            out[i] = nu[r.r] / ov[r.r]
        else:
            out[i] = al[r.r] / eta[r.r]
    return out


def _std_solution(fitted: _Fitted) -> tuple[np.ndarray, np.ndarray]:
    theta = fitted.theta
    std = _std_values(fitted, theta)
    k = theta.size
    if k == 0:
        return std, np.zeros_like(std)
    J = np.empty((std.size, k))
    for j in range(k):
        h = 1e-20 * max(1.0, abs(theta[j]))
        tc = theta.astype(complex)
        tc[j] += 1j * h
        J[:, j] = _std_values(fitted, tc).imag / h
    V = fitted.info_inv / fitted.spec.N
    var = np.einsum("ij,jk,ik->i", J, V, J)
    with np.errstate(invalid="ignore"):
        se = np.sqrt(np.where(var < 0, np.nan, var))
    se = np.where(se < _EPS**0.25, 0.0, se)
    return std, se


def _z_p(est: np.ndarray, se: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(se > 0, est / np.where(se > 0, se, 1.0), np.nan)
    p = 2 * (1 - stats.norm.cdf(np.abs(z)))
    return z, p


def _group_name(fitted: _Fitted, g: int) -> str | None:
    return fitted.sample.groups[g] if fitted.spec.G > 1 else None


def _post_checks(fitted: _Fitted) -> list[str]:
    spec, theta = fitted.spec, fitted.theta
    warns: list[str] = []
    for g in range(spec.G):
        L, T, Ps, nu, al = spec.matrices(theta, g)
        where = f" (group {fitted.sample.groups[g]})" if spec.G > 1 else ""
        neg = [fitted.table.ov[i] for i in np.flatnonzero(np.diag(T) < 0)]
        if neg:
            warns.append(f"Heywood case{where}: negative residual variance of {', '.join(neg)}; the solution is improper")
        negl = [fitted.table.lv[k] for k in np.flatnonzero(np.diag(Ps) < 0)]
        if negl:
            warns.append(f"negative factor variance{where}: {', '.join(negl)}; the solution is improper")
        if Ps.size and np.linalg.eigvalsh(Ps)[0] <= 0 and not negl:
            warns.append(f"the covariance matrix of the factors{where} is not positive definite (a factor correlation beyond +/-1)")
        if not neg and T.size and np.linalg.eigvalsh(T)[0] < 0:
            warns.append(f"the residual covariance matrix{where} is not positive definite")
        v = np.diag(spec.S[g])
        if v.max() > 1000 * v.min():
            warns.append(f"observed variances differ by a factor above 1000{where}; consider rescaling the variables")
    return list(fitted.sample.notes) + warns + list(fitted.notes)


def _modindices(fitted: _Fitted, top: int | None) -> tuple[ModificationIndex, ...]:
    spec, table, theta = fitted.spec, fitted.table, fitted.theta
    if top == 0:
        return ()
    raw = _eng.modification_indices(spec, theta, fitted.mi_info_inv)
    ov, lv = table.ov, table.lv
    # existing (fixed) rows keep their own lhs/rhs and their place in lavaan's order
    where: dict[tuple[int, int, int, int], tuple[int, str, str]] = {}
    for i, r in enumerate(table.rows):
        if not r.free:
            where[(r.group, r.mat, r.r, r.c if r.mat in (LAMBDA, THETA, PSI) else 0)] = (i, r.lhs, r.rhs)
    nrows = len(table.rows)
    per = []
    for g in range(spec.G):
        L, T, Ps, nu, al = spec.matrices(theta, g)
        ov2 = np.sum((L @ Ps) * L, axis=1) + np.diag(T)
        with np.errstate(invalid="ignore"):
            eta = np.sqrt(np.where(np.diag(Ps) < 0, np.nan, np.diag(Ps)))
            ovs = np.sqrt(np.where(ov2 < 0, np.nan, ov2))
        per.append((T, Ps, ov2, eta, ovs, np.sqrt(np.abs(np.diag(T))), np.sqrt(np.abs(np.diag(Ps)))))
    out = []
    for k, m in enumerate(raw):
        if not math.isfinite(m["mi"]):
            continue
        g, mat, r, c = m["group"], m["mat"], m["r"], m["c"]
        key = (g, mat, r, c)
        if key in where:
            order, lhs, rhs = where[key]
        else:
            order = nrows + k
            if mat == LAMBDA:
                lhs, rhs = lv[c], ov[r]
            elif mat == THETA:
                lhs, rhs = ov[c], ov[r]
            elif mat == PSI:
                lhs, rhs = lv[c], lv[r]
            else:
                lhs, rhs = (ov[r] if mat == NU else lv[r]), ""
        op = "=~" if mat == LAMBDA else ("~~" if mat in (THETA, PSI) else "~1")
        T, Ps, ov2, eta, ovs, rv, rvl = per[g]
        epc = m["epc"]
        a = abs(epc)
        sg = np.sign(epc)
        if mat == LAMBDA:
            lvv, allv = a * eta[c], a * eta[c] / ovs[r]
        elif mat == THETA:
            if r == c:
                est = T[r, r]
                if abs(est) < math.sqrt(_EPS):
                    lvv = allv = 0.0
                    sg = 1.0
                else:
                    lvv, allv = abs(est), abs(est) / ov2[r]
            else:
                lvv, allv = a, a / rv[r] / rv[c]
        elif mat == PSI:
            if r == c:
                est = Ps[r, r]
                if abs(est) < math.sqrt(_EPS):
                    lvv = allv = 0.0
                    sg = 1.0
                else:
                    lvv = allv = abs(est) / eta[r] / eta[r]
            else:
                lvv = allv = a / rvl[r] / rvl[c]
        elif mat == NU:
            lvv, allv = a, a / ovs[r]
        else:
            lvv = allv = a / eta[r]
        out.append((order, ModificationIndex(lhs, op, rhs, _group_name(fitted, g), float(m["mi"]), float(epc),
                                             float(sg * lvv), float(sg * allv))))
    out.sort(key=lambda t: (-t[1].mi, t[0]))
    res = tuple(m for _, m in out)
    return res if top is None else res[:top]


def _build_result(fitted: _Fitted, modindices: int | None) -> CFAResult:
    spec, table, theta = fitted.spec, fitted.table, fitted.theta
    V = fitted.info_inv / spec.N
    est = np.array([theta[r.pid] if r.free else r.value for r in table.rows], dtype=float)
    with np.errstate(invalid="ignore"):
        se = np.array([math.sqrt(V[r.pid, r.pid]) if r.free and V[r.pid, r.pid] >= 0 else (0.0 if not r.free else math.nan)
                       for r in table.rows])
    z, p = _z_p(est, se)
    std, std_se = _std_solution(fitted)
    sz, sp = _z_p(std, std_se)
    shared = {}
    for r in table.rows:
        if r.free:
            shared.setdefault(r.pid, []).append(r)
    params = []
    for i, r in enumerate(table.rows):
        label = r.label
        if not label and r.free and len(shared[r.pid]) > 1:
            label = shared[r.pid][0].plabel
        params.append(
            Parameter(r.lhs, r.op, r.rhs, _group_name(fitted, r.group), label, r.free, float(est[i]), float(se[i]),
                      float(z[i]), float(p[i]), float(std[i]), float(std_se[i]), float(sz[i]), float(sp[i]))
        )
    warns = _post_checks(fitted)
    std_load = [pp for pp in params if pp.op == "=~" and abs(pp.std_all) > 1]
    if std_load:
        warns.append("standardized loading(s) above 1: " + ", ".join(f"{pp.lhs}=~{pp.rhs}" for pp in std_load))
    mis = _modindices(fitted, modindices)
    nobs = {lab: int(n) for lab, n in zip(fitted.sample.groups, fitted.sample.nobs)}
    free_rows = [r for r in table.rows if r.free]
    names = [f"{r.lhs}{r.op}{r.rhs}" + (f".g{r.group + 1}" if r.group else "") for r in free_rows]
    pids = [r.pid for r in free_rows]
    vcov = pd.DataFrame(V[np.ix_(pids, pids)], index=names, columns=names)
    return CFAResult(
        model=fitted.model,
        fit=dict(fitted.fit),
        parameters=tuple(params),
        modification_indices=mis,
        n=int(spec.N),
        nobs=nobs,
        groups=tuple(fitted.sample.groups),
        equal=fitted.equal,
        group_partial=fitted.partial,
        std_lv=fitted.std_lv,
        meanstructure=spec.meanstructure,
        converged=fitted.state.converged,
        iterations=fitted.state.iterations,
        estimator="ML",
        missing=fitted.sample.missing,
        warnings=tuple(warns),
        information=fitted.information,
        vcov=vcov,
    )


def _prepare(model, data, group, sample_cov, sample_mean, sample_nobs, missing, sample_cov_rescale):
    formulas = parse_model(model)
    ov, lv = _model_names(formulas)
    clash = sorted(set(ov) & set(lv))
    if clash:
        raise ValueError(f"model syntax: {clash} used both as factor and as observed variable")
    if missing not in MISSING_CHOICES:
        raise ValueError(
            f"missing: expected 'listwise' (complete cases) or 'ml' (full information ML), got {missing!r}"
        )
    if missing == "ml" and data is None:
        raise ValueError("missing='ml': full information ML needs the raw data (data=), not summary statistics")
    if data is not None:
        if sample_cov is not None or sample_mean is not None or sample_nobs is not None:
            raise ValueError("give either data or sample_cov/sample_mean/sample_nobs, not both")
        if lv and isinstance(data, pd.DataFrame) and any(v in [str(c) for c in data.columns] for v in lv):
            bad = [v for v in lv if v in [str(c) for c in data.columns]]
            raise ValueError(f"model syntax: factor name(s) {bad} are also columns of data; rename the factor(s)")
        sample = _sample_from_data(data, ov, group, missing)
        ms_default = group is not None or any(f.op == "~1" for f in formulas) or missing == "ml"
    else:
        if sample_cov is None:
            raise ValueError("expected data (a DataFrame) or sample_cov with sample_nobs")
        if group is not None:
            raise ValueError("group: with summary statistics give one covariance matrix per group (a dict) instead")
        if sample_nobs is None:
            raise ValueError("sample_nobs: required with sample_cov")
        sample = _sample_from_moments(sample_cov, sample_mean, sample_nobs, ov, bool(sample_cov_rescale))
        ms_default = sample_mean is not None or any(f.op == "~1" for f in formulas)
    _check_sample_pd(sample, ov)
    return formulas, sample, ms_default


@_single_thread
def cfa(
    model: str,
    data: pd.DataFrame | None = None,
    *,
    group: str | None = None,
    equal: Sequence[str] = (),
    group_partial: Sequence[str] = (),
    sample_cov: pd.DataFrame | Mapping[str, pd.DataFrame] | None = None,
    sample_mean: pd.Series | Mapping[str, Any] | None = None,
    sample_nobs: int | Mapping[str, int] | Sequence[int] | None = None,
    std_lv: bool = False,
    meanstructure: bool | None = None,
    missing: str | None = None,
    sample_cov_rescale: bool = True,
    modindices: int | None = 10,
    estimator: str = "ML",
    ordered: Sequence[str] | bool | None = None,
    parameterization: str = "delta",
    information: str | None = None,
) -> CFAResult:
    """Confirmatory factor analysis by maximum likelihood (or, for ordinal items, WLSMV), as ``lavaan::cfa``.

    Parameters
    ----------
    model : str
        Model in lavaan syntax: ``F1 =~ x1 + x2 + x3`` (first loading fixed to 1 unless
        ``std_lv``), ``x1 ~~ x2`` (residual covariance), ``F1 ~~ 0*F2``, ``x1 ~ 1``; modifiers
        ``1*x``, ``NA*x``, labels ``a*x`` (equal labels = equal parameters), ``c(...)`` per group;
        ``#`` comments.
    data : DataFrame, optional
        Item scores (rows = cases); missing values as NaN, handled as ``missing`` says.
    group : str, optional
        Column of ``data`` holding the group; groups are taken in order of first appearance.
    equal : sequence of str
        Parameters held equal across groups (lavaan ``group.equal``): ``"loadings"``,
        ``"intercepts"``, ``"means"``, ``"residuals"``, ``"residual.covariances"``,
        ``"lv.variances"``, ``"lv.covariances"``. With equal intercepts the factor means are free in
        all groups but the first; with ``std_lv`` and equal loadings the factor variances are free
        in all groups but the first.
    group_partial : sequence of str
        Parameters exempted from ``equal`` (lavaan ``group.partial``), e.g. ``("x3~1", "F1=~x2")``.
    sample_cov, sample_mean, sample_nobs
        Summary statistics instead of ``data``: a covariance DataFrame (or a dict of them, one per
        group), means (Series or dict; a dict of them per group), and N (int, or one per group).
        As lavaan's ``sample.cov.rescale = TRUE``, the covariance is taken as unbiased (divisor
        N - 1) and multiplied by (N - 1)/N; ``sample_cov_rescale=False`` uses it as given.
    std_lv : bool
        Identify factors by fixing their variances to 1 instead of the first loadings.
    meanstructure : bool, optional
        Default as lavaan: a mean structure when there are groups, when means are given, or when
        the model has intercepts.
    missing : str or None
        ``"listwise"`` (the default under ML): complete cases only. ``"ml"``: full-information maximum
        likelihood on every case with at least one observed value (cases without any are dropped, with
        a warning); always with a mean structure; needs ``data``. Under WLSMV ``"pairwise"`` (its
        default: thresholds from each item's answers, each polychoric correlation from the cases
        answering both items, as lavaan's ``missing = "pairwise"``) or ``"listwise"``.
    modindices : int or None
        How many of the largest modification indices to keep (``None`` all, 0 none; ML only).
    estimator : ``"ML"`` or ``"WLSMV"``
        ``"WLSMV"``: every indicator ordinal; thresholds and polychoric correlations with their
        asymptotic covariance (Muthen 1984), diagonally weighted least squares, robust standard errors
        and the scaled-and-shifted chi-square (Asparouhov & Muthen 2010) with ``chisq.scaled``,
        ``cfi.scaled``, ``rmsea.scaled`` and Savalei's (2021) ``cfi.robust``, ``tli.robust``,
        ``rmsea.robust``, as ``lavaan::cfa(..., ordered = TRUE, estimator = "WLSMV")``. Thresholds
        appear as parameters ``item | t1``, ``item | t2``...; each item's categories are its distinct
        values, in order.
    ordered : sequence of str or True
        The ordinal indicators (WLSMV): all of the model's indicators.
    parameterization : ``"delta"`` or ``"theta"``
        WLSMV: the scales of the latent responses (delta, lavaan's default) or their residual
        variances (theta) are the parameters.
    information : ``"observed"`` or ``"expected"``, optional
        ML: the information matrix behind the standard errors, as lavaan's ``information``. With
        ``missing="ml"`` the default is the observed one (the Hessian, lavaan's default); the expected
        one (per missing-data pattern, at the model's moments) is cheaper when only the fit is needed.
        Complete data always use the expected one.

    Returns
    -------
    CFAResult

    Raises
    ------
    NotEstimable
        A variable without variance, a non-positive-definite sample covariance matrix, too few
        cases, an unidentified model (negative degrees of freedom or a singular information
        matrix) or a fit that does not converge. A Heywood case (negative residual variance) or a
        non-positive-definite factor covariance matrix gives a warning instead.

    Notes
    -----
    Estimation minimises the normal-theory ML discrepancy (Joreskog, 1969)
    ``F = sum_g N_g/N [log|Sigma_g| + tr(S_g Sigma_g^-1) - log|S_g| - p + (m_g - mu_g)' Sigma_g^-1 (m_g - mu_g)]``
    with S_g the covariance with divisor N_g; ``chisq = N F``. Standard errors come from the
    inverse expected information, standardized standard errors from the delta method. RMSEA is
    ``sqrt(max(chisq/(N df) - 1/N, 0)) * sqrt(G)``, its 90% interval from the non-central
    chi-square (Browne & Cudeck, 1993; Steiger, 1998); CFI ``1 - max(chisq - df, 0) / max(chisq -
    df, chisq_0 - df_0, 0)`` against the independence model (Bentler, 1990); SRMR as lavaan's
    ``srmr`` (Bentler's, with mean residuals when there is a mean structure, averaged over groups
    with weights N_g/N); modification indices are score tests (Sorbom, 1989).

    Full information ML (``missing="ml"``; Arbuckle, 1996; Enders, 2010) maximises
    ``logl = sum_i -1/2 [p_i log(2 pi) + log|Sigma_oi| + (y_oi - mu_oi)' Sigma_oi^-1 (y_oi - mu_oi)]``
    over each case's observed variables o_i, computed per missing-data pattern from Sigma^-1 by
    partitioned-inverse updates. ``chisq = 2 (logl_H1 - logl)`` (per group, floored at 0) with
    the unrestricted model H1 fitted by EM (Dempster, Laird & Rubin, 1977) exactly as lavaan does
    it (start, tolerance 1e-5 on the moments, at most 500 iterations), so that chisq and
    ``unrestricted.logl`` are lavaan's; the baseline is the independence model with free means
    and variances (fitted by FIML: each variable's observed values); SRMR compares the model with
    the EM moments. Standard errors come from the observed information (the Hessian of -logl/N,
    by complex-step differentiation of the analytic gradient; lavaan's default ``information =
    "observed"`` for missing = "ml"), which is the valid choice when data are missing at random
    (Kenward & Molenberghs, 1998); modification indices and score tests use the expected
    information summed over patterns, as lavaan's ``modindices`` and ``lavTestScore`` do by
    default. lavaan's FIML-corrected "robust" CFI/TLI/RMSEA (``cfi.robust``, ``rmsea.robust``,
    ...) are not computed.

    In R: ``fit <- lavaan::cfa(model, data, group = "g", group.equal = c("loadings"))``, then
    ``fitMeasures(fit)``, ``parameterEstimates(fit)``, ``standardizedSolution(fit)``,
    ``modindices(fit, sort. = TRUE)``; summary statistics: ``cfa(model, sample.cov = S,
    sample.nobs = N)``; full information ML: ``cfa(model, data, missing = "ml")``.

    Examples
    --------
    Two correlated factors (r = 0.4) with three items each, 300 simulated cases:

    >>> import numpy as np
    >>> import pandas as pd
    >>> from validation.stats.cfa import cfa
    >>> rng = np.random.default_rng(2)
    >>> z = rng.normal(size=(300, 2))
    >>> f = np.column_stack([z[:, 0], 0.4 * z[:, 0] + np.sqrt(0.84) * z[:, 1]])  # correlated 0.4
    >>> data = pd.DataFrame({f"x{j + 1}": 0.7 * f[:, j // 3] + rng.normal(scale=0.6, size=300)
    ...                      for j in range(6)})
    >>> model = '''
    ... F1 =~ x1 + x2 + x3
    ... F2 =~ x4 + x5 + x6
    ... '''
    >>> res = cfa(model, data)
    >>> fit = res.fit
    >>> print(f"chisq = {fit['chisq']:.3f}, df = {fit['df']:.0f}, CFI = {fit['cfi']:.3f}, "
    ...       f"RMSEA = {fit['rmsea']:.3f}, SRMR = {fit['srmr']:.3f}")
    chisq = 7.754, df = 8, CFI = 1.000, RMSEA = 0.000, SRMR = 0.027
    >>> for p in res.parameters:  # loadings (first fixed to 1) and the factor covariance
    ...     if p.op == "=~" or (p.op == "~~" and p.lhs != p.rhs):
    ...         print(f"{p.lhs} {p.op} {p.rhs}: {p.est:.3f} (std.all {p.std_all:.3f})")
    F1 =~ x1: 1.000 (std.all 0.776)
    F1 =~ x2: 0.879 (std.all 0.726)
    F1 =~ x3: 1.020 (std.all 0.798)
    F2 =~ x4: 1.000 (std.all 0.738)
    F2 =~ x5: 1.068 (std.all 0.779)
    F2 =~ x6: 1.079 (std.all 0.786)
    F1 ~~ F2: 0.196 (std.all 0.389)
    """
    if group is not None and not isinstance(group, str):
        raise TypeError(f"group: expected a column name (str), got {type(group).__name__}")
    equal_t = _check_equal(equal)
    partial_t = _check_partial(group_partial)
    if str(estimator).upper() == "WLSMV":
        if sample_cov is not None or sample_mean is not None or sample_nobs is not None:
            raise ValueError("estimator='WLSMV' needs the raw item answers (data=), not summary statistics")
        if information is not None:
            raise ValueError("information: WLSMV standard errors are the robust sandwich; leave information unset")
        return _cfa_wlsmv(model, data, group, equal_t, partial_t, bool(std_lv), missing or "pairwise",
                          parameterization, ordered)[0]
    if str(estimator).upper() != "ML":
        raise ValueError(f"estimator: expected 'ML' or 'WLSMV', got {estimator!r}")
    if ordered:
        raise ValueError("ordered: ordinal items need estimator='WLSMV'")
    if "thresholds" in equal_t:
        raise ValueError("equal: only ordinal items have thresholds (estimator='WLSMV')")
    missing = missing or "listwise"
    if modindices is not None and (isinstance(modindices, bool) or not isinstance(modindices, int) or modindices < 0):
        raise ValueError(f"modindices: expected a whole number >= 0 or None, got {modindices!r}")
    formulas, sample, ms_default = _prepare(model, data, group, sample_cov, sample_mean, sample_nobs, missing,
                                            sample_cov_rescale)
    G = len(sample.groups)
    if (equal_t or partial_t) and G < 2:
        raise ValueError("equal / group_partial: constraints across groups need group= (or one covariance matrix per group)")
    ms = ms_default if meanstructure is None else bool(meanstructure)
    if missing == "ml" and not ms:
        raise ValueError("meanstructure: full information ML (missing='ml') always has a mean structure")
    if ms and not sample.from_data and sample_mean is None:
        raise ValueError("sample_mean: a mean structure needs the sample means")
    if any(e in ("intercepts", "means") for e in equal_t) and not ms:
        raise ValueError("equal: equal intercepts or means need a mean structure (means of the groups)")
    fitted = _estimate(model, sample, formulas, equal=equal_t, partial=partial_t, std_lv=bool(std_lv), meanstructure=ms,
                       information=_check_information(information, missing))
    return _build_result(fitted, modindices)


# --------------------------------------------------------------------------------------------------
# measurement invariance
# --------------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ScoreTest:
    """Score test of releasing the equality constraints of one parameter across groups (lavaan
    ``lavTestScore``; one df per released group)."""

    parameter: str
    x2: float
    df: int
    pvalue: float
    group: str | None = None


@dataclasses.dataclass(frozen=True)
class InvarianceStep:
    """One model of the invariance sequence and its comparison with the model before it.

    Attributes
    ----------
    name : ``"configural"``, ``"metric"``, ``"scalar"`` or ``"partial scalar"``.
    equal, group_partial : constraints of the model (lavaan ``group.equal`` / ``group.partial``).
    fit : fit measures of the model (as :attr:`CFAResult.fit`).
    compared_with : the less constrained model it is compared with (``None`` for configural).
    chisq_diff, df_diff, pvalue : likelihood-ratio (chi-square difference) test (lavTestLRT).
    delta_cfi, delta_rmsea, delta_srmr : change in the index (this model minus the other).
    holds : verdict under the criteria (``None`` for configural).
    result : the full fit.
    """

    name: str
    equal: tuple[str, ...]
    group_partial: tuple[str, ...]
    fit: dict[str, float]
    compared_with: str | None
    chisq_diff: float
    df_diff: int
    pvalue: float
    delta_cfi: float
    delta_rmsea: float
    delta_srmr: float
    holds: bool | None
    result: CFAResult


@dataclasses.dataclass(frozen=True)
class InvarianceResult:
    """Measurement invariance across groups.

    Attributes
    ----------
    steps : configural, metric, scalar and, when scalar fails and ``partial`` is on, one
        ``"partial scalar"`` model per intercept freed (the last is the one reached, or the last
        one tried).
    level : highest level that holds: ``"configural"`` (the configural model is only fitted,
        not judged), ``"metric"``, ``"partial scalar"`` or ``"scalar"``.
    freed : intercepts freed for partial scalar invariance, in the order freed.
    score_tests : ML: score tests of the intercept constraints at each freeing round; WLSMV: one tuple
        per constrained step, the test of releasing each equality constraint in each group, largest first.
    criteria : the criteria used.
    groups, nobs : the groups and their cases.
    warnings : anything a reader should know.
    """

    steps: tuple[InvarianceStep, ...]
    level: str
    freed: tuple[str, ...]
    score_tests: tuple[tuple[ScoreTest, ...], ...]
    criteria: dict[str, float]
    groups: tuple[str, ...]
    nobs: dict[str, int]
    warnings: tuple[str, ...] = ()

    def to_frame(self) -> pd.DataFrame:
        """One row per model: main fit measures and comparisons."""
        rows = []
        for s in self.steps:
            d = {"model": s.name}
            for k in ("chisq", "df", "pvalue", "chisq.scaled", "cfi", "tli", "cfi.scaled", "rmsea", "rmsea.ci.lower",
                      "rmsea.ci.upper", "rmsea.scaled", "srmr", "aic", "bic"):
                if k in s.fit:
                    d[k] = s.fit[k]
            d.update(chisq_diff=s.chisq_diff, df_diff=s.df_diff, p_diff=s.pvalue, delta_cfi=s.delta_cfi,
                     delta_rmsea=s.delta_rmsea, delta_srmr=s.delta_srmr, holds=s.holds)
            rows.append(d)
        return pd.DataFrame(rows)


def _lrt(free: dict, constrained: dict) -> tuple[float, int, float]:
    d = constrained["chisq"] - free["chisq"]
    ddf = int(round(constrained["df"] - free["df"]))
    p = float(stats.chi2.sf(d, ddf)) if ddf > 0 else math.nan
    return float(d), ddf, p


def _verdict(free: dict, constrained: dict, crit: dict[str, float]) -> tuple[bool, float, float, float, float, int, float]:
    d, ddf, p = _lrt(free, constrained)
    dcfi = constrained["cfi"] - free["cfi"]
    drmsea = constrained["rmsea"] - free["rmsea"]
    dsrmr = constrained["srmr"] - free["srmr"]
    return _holds(crit, dcfi, drmsea, dsrmr, p), dcfi, drmsea, dsrmr, d, ddf, p


def _holds(crit: Mapping[str, float], dcfi: float, drmsea: float, dsrmr: float, p: float) -> bool:
    """Whether an invariance step meets every criterion given (changes in fit, difference test)."""
    ok = True
    if "delta_cfi" in crit:
        ok &= dcfi >= crit["delta_cfi"]
    if "delta_rmsea" in crit:
        ok &= drmsea <= crit["delta_rmsea"]
    if "delta_srmr" in crit:
        ok &= dsrmr <= crit["delta_srmr"]
    if "alpha" in crit:
        ok &= not (p < crit["alpha"])
    return bool(ok)


@_single_thread
def invariance(
    model: str,
    data: pd.DataFrame,
    group: str,
    criteria: Mapping[str, float] | None = None,
    *,
    std_lv: bool = False,
    partial: bool = True,
    min_invariant: int = 2,
    missing: str | None = None,
    modindices: int | None = 10,
    estimator: str = "ML",
    ordered: Sequence[str] | bool | None = None,
    parameterization: str = "delta",
    group_partial: Sequence[str] = (),
    identification: str = "lavaan",
    sequence: str = "thresholds-first",
    information: str | None = None,
) -> InvarianceResult:
    """Configural, metric and scalar invariance of a measurement model across groups (or, for
    ordinal items with ``estimator="WLSMV"``, configural, equal thresholds, and equal thresholds and
    loadings).

    Parameters
    ----------
    model : str
        Measurement model in lavaan syntax (see :func:`cfa`).
    data : DataFrame
        Item scores with a group column.
    group : str
        Name of the group column.
    criteria : dict, optional
        Largest acceptable change from the less constrained model: ``delta_cfi`` (default -0.01:
        CFI may drop by at most .01), ``delta_rmsea`` (default 0.015: RMSEA may rise by at most
        .015); optional ``delta_srmr`` and ``alpha`` (the chi-square difference test must not be
        significant at that level). All given criteria must hold.
    std_lv : bool
        Identify factors by their variances (see :func:`cfa`).
    partial : bool
        When scalar invariance fails, free intercepts one at a time -- the one whose equality
        constraint has the largest score test first -- until the criteria hold against the metric
        model (partial scalar invariance).
    min_invariant : int
        Intercepts that must stay equal on each factor; freeing stops before a factor would keep
        fewer (at least 1 is needed to identify the factor means).
    missing : str
        ``"listwise"`` or ``"ml"`` (full information ML, see :func:`cfa`).
    modindices : int or None
        Modification indices kept in each model's result.
    estimator, ordered, parameterization : str, sequence, str
        ``estimator="WLSMV"`` with every indicator ordinal (see :func:`cfa`): the sequence is
        configural, ``thresholds`` (equal thresholds; the latent-response scales, or residual variances
        under ``parameterization="theta"``, and the factor means are free in all groups but the first)
        and ``thresholds and loadings``, as lavaan's ``group.equal`` identifies them; each compared with
        the one before by the scaled-and-shifted chi-square difference (Satorra 2000, as lavTestLRT) and
        by the change in the scaled CFI and RMSEA. ``missing`` is then ``"pairwise"`` (default) or
        ``"listwise"``.
    information : ``"observed"`` or ``"expected"``, optional
        ML with ``missing="ml"``: the information behind each model's standard errors (see :func:`cfa`);
        ``"expected"`` saves the observed-information Hessian of every step when only the fit and the
        tests are wanted. The fit, the difference tests and the score tests do not depend on it.
    group_partial : sequence of str
        WLSMV: parameters left free across groups in the constrained models (``"y3|t1"``, ``"F=~y3"``).
    identification : ``"lavaan"`` or ``"wu.estabrook"``
        WLSMV: ``"lavaan"`` (default) identifies each step as lavaan's ``group.equal`` does: with equal
        thresholds the latent-response intercepts stay 0 and the factor means are free, so the
        ``thresholds`` step also equates the intercepts. ``"wu.estabrook"`` follows Wu & Estabrook (2016),
        as ``semTools::measEq.syntax(ID.cat = "Wu.Estabrook.2016")``: with equal thresholds the intercepts
        of the other groups are free and the factor means 0, and a fourth step, ``thresholds, loadings and
        intercepts``, equates the intercepts and frees the means (the same model as lavaan's thresholds and
        loadings). With three categories the ``thresholds`` step is then an equivalent model (0 df), not a
        test.
    sequence : ``"thresholds-first"`` or ``"loadings-first"``
        WLSMV: the order of the constraints. ``"loadings-first"`` is the older sequence (configural,
        ``loadings``, ``loadings and thresholds``; lavaan's identification), kept for comparison with
        published analyses; thresholds-first is the one Wu & Estabrook (2016) justify.

    Returns
    -------
    InvarianceResult

    Notes
    -----
    Configural: the same pattern in each group; metric (weak): equal loadings; scalar (strong):
    equal loadings and intercepts, factor means free in all groups but the first (Meredith, 1993).
    Each model is compared with the one before by the chi-square difference test and by the change
    in CFI and RMSEA (Cheung & Rensvold, 2002; Chen, 2007). For WLSMV, ``score_tests`` holds, for each
    constrained step, the score test of releasing each equality constraint in each group (lavaan's
    ``lavTestScore`` univariate tests; the ordinary statistic, as lavaan gives for WLSMV), largest first:
    they point to the thresholds or loadings to leave free (``group_partial``). Score tests of the intercept
    constraints are computed from the expected information at the constrained estimates. With
    ``missing="ml"`` every model is fitted by full information ML on the same cases, the
    chi-square differences are likelihood-ratio tests between FIML fits (the EM-fitted
    unrestricted model cancels) and the score tests use the pattern-wise expected information.

    In R: ``fits <- lapply(list(NULL, "loadings", c("loadings", "intercepts")), function(e)
    lavaan::cfa(model, data, group = "g", group.equal = e))``; ``lavTestLRT(fits[[1]], fits[[2]],
    fits[[3]])``; ``lavTestScore(fits[[3]])`` for the intercept constraints;
    ``cfa(..., group.partial = c("x3~1"))`` for partial invariance; add ``missing = "ml"`` to each
    call for full information ML.

    Examples
    --------
    One factor, four items, two sites of 250 simulated cases; at site B item y3 reads 0.8 higher
    at the same level of the factor (a non-invariant intercept):

    >>> import numpy as np
    >>> import pandas as pd
    >>> from validation.stats import invariance
    >>> rng = np.random.default_rng(2)
    >>> sites = []
    >>> for site, shift in (("A", 0.0), ("B", 0.8)):
    ...     f = rng.normal(size=250)
    ...     d = pd.DataFrame({f"y{j}": 0.8 * f + rng.normal(scale=0.6, size=250) for j in range(1, 5)})
    ...     d["y3"] += shift
    ...     sites.append(d.assign(site=site))
    >>> data = pd.concat(sites, ignore_index=True)
    >>> res = invariance("F =~ y1 + y2 + y3 + y4", data, group="site")
    >>> for step in res.steps:
    ...     print(f"{step.name:<15} CFI {step.fit['cfi']:.3f}  holds: {step.holds}")
    configural      CFI 1.000  holds: None
    metric          CFI 1.000  holds: True
    scalar          CFI 0.885  holds: False
    partial scalar  CFI 1.000  holds: True
    >>> res.level, res.freed  # y3's intercept is freed first: it has the largest score test
    ('partial scalar', ('y3~1',))
    """
    if str(estimator).upper() == "WLSMV":
        if information is not None:
            raise ValueError("information: WLSMV standard errors are the robust sandwich; leave information unset")
        return _invariance_wlsmv(model, data, group, criteria, std_lv=std_lv, missing=missing or "pairwise",
                                 parameterization=parameterization, ordered=ordered, group_partial=group_partial,
                                 identification=identification, sequence=sequence)
    missing = missing or "listwise"
    crit = dict(DEFAULT_CRITERIA if criteria is None else criteria)
    bad = [k for k in crit if k not in ("delta_cfi", "delta_rmsea", "delta_srmr", "alpha")]
    if bad:
        raise ValueError(f"criteria: unknown key(s) {bad}; expected delta_cfi, delta_rmsea, delta_srmr, alpha")
    for k, v in crit.items():
        if not isinstance(v, (int, float)) or isinstance(v, bool) or not math.isfinite(v):
            raise ValueError(f"criteria: {k} must be a finite number, got {v!r}")
    if not isinstance(group, str):
        raise TypeError(f"group: expected a column name (str), got {type(group).__name__}")
    if not isinstance(min_invariant, int) or min_invariant < 1:
        raise ValueError(f"min_invariant: expected a whole number >= 1, got {min_invariant!r}")
    formulas, sample, _ = _prepare(model, data, group, None, None, None, missing, True)
    if len(sample.groups) < 2:
        raise NotEstimable(f"not estimable: invariance needs at least 2 groups; {group!r} has {len(sample.groups)}")
    kw = dict(std_lv=bool(std_lv), meanstructure=True, information=_check_information(information, missing))
    warns: list[str] = list(sample.notes)
    conf = _estimate(model, sample, formulas, equal=(), partial=(), **kw)
    met = _estimate(model, sample, formulas, equal=("loadings",), partial=(), **kw)
    sca = _estimate(model, sample, formulas, equal=("loadings", "intercepts"), partial=(), **kw)

    def step(name, f: _Fitted, prev: _Fitted | None, prev_name: str | None) -> InvarianceStep:
        res = _build_result(f, modindices)
        if prev is None:
            return InvarianceStep(name, f.equal, f.partial, dict(f.fit), None, math.nan, 0, math.nan, math.nan,
                                  math.nan, math.nan, None, res)
        ok, dcfi, drm, dsr, d, ddf, p = _verdict(prev.fit, f.fit, crit)
        return InvarianceStep(name, f.equal, f.partial, dict(f.fit), prev_name, d, ddf, p, dcfi, drm, dsr, ok, res)

    steps = [step("configural", conf, None, None), step("metric", met, conf, "configural"),
             step("scalar", sca, met, "metric")]
    metric_ok = bool(steps[1].holds)
    scalar_ok = bool(steps[2].holds)
    freed: list[str] = []
    rounds: list[tuple[ScoreTest, ...]] = []
    level = "configural"
    if metric_ok:
        level = "metric"
    else:
        warns.append("metric invariance does not hold under the criteria; the scalar models assume equal loadings")
    if scalar_ok and metric_ok:
        level = "scalar"
    if not scalar_ok and partial:
        current = sca
        table = sca.table
        ind_of: dict[str, list[str]] = {}
        for r in table.rows:
            if r.op == "=~" and r.group == 0:
                ind_of.setdefault(r.lhs, []).append(r.rhs)
        reached = False
        while True:
            tests = _intercept_tests(current)
            rounds.append(tuple(tests))
            cands = []
            for t in sorted(tests, key=lambda t: -t.x2):
                item = t.parameter.split("~1")[0]
                left_ok = all(
                    sum(1 for x in inds if x != item and f"{x}~1" not in freed) >= min_invariant
                    for inds in ind_of.values() if item in inds
                )
                if left_ok and math.isfinite(t.x2):
                    cands.append(t)
            if not cands:
                break
            choice = cands[0]
            freed.append(choice.parameter)
            try:
                current = _estimate(model, sample, formulas, equal=("loadings", "intercepts"), partial=tuple(freed),
                                    **kw)
            except NotEstimable as exc:
                warns.append(f"partial scalar model freeing {', '.join(freed)}: {exc}")
                freed.pop()
                break
            steps.append(step("partial scalar", current, met, "metric"))
            if steps[-1].holds:
                reached = True
                break
        if reached and metric_ok:
            level = "partial scalar"
        if not reached:
            warns.append(
                "partial scalar invariance not reached: no further intercept can be freed while keeping "
                f"{min_invariant} equal intercept(s) per factor"
            )
        elif not metric_ok:
            warns.append("partial scalar invariance holds against the metric model, but metric invariance does not")
    return InvarianceResult(
        steps=tuple(steps),
        level=level,
        freed=tuple(freed),
        score_tests=tuple(rounds),
        criteria=crit,
        groups=tuple(sample.groups),
        nobs={lab: int(n) for lab, n in zip(sample.groups, sample.nobs)},
        warnings=tuple(warns),
    )


def _intercept_tests(f: _Fitted) -> list[ScoreTest]:
    """Score tests of releasing each equality-constrained observed intercept."""
    out = []
    seen = set()
    cache: dict = {}
    for r in f.table.rows:
        if r.op == "~1" and r.lhs in f.table.ov and r.free and r.group == 0 and r.pid not in seen:
            sharing = [q for q in f.table.rows if q.pid == r.pid]
            if len({q.group for q in sharing}) < 2:
                continue
            seen.add(r.pid)
            x2, k = _eng.release_test(f.spec, f.theta, f.mi_info_inv, r.pid, cache=cache)
            out.append(ScoreTest(f"{r.lhs}~1", x2, k, float(stats.chi2.sf(x2, k)) if k else math.nan))
    return out


# --------------------------------------------------------------------------------------------------
# ordinal indicators: WLSMV (diagonally weighted least squares, robust corrections)
# --------------------------------------------------------------------------------------------------

ORDINAL_MISSING = ("pairwise", "listwise")
PARAMETERIZATIONS = ("delta", "theta")
IDENTIFICATIONS = (_ord.LAVAAN_ID, _ord.WU_ESTABROOK_ID)
SEQUENCES = ("thresholds-first", "loadings-first")


@dataclasses.dataclass
class _OrdinalSample:
    groups: list[str]
    stats: list[_ord.GroupStats]
    n_thresholds: dict[str, int]
    levels: dict[str, list]
    missing: str
    pair_n: list[np.ndarray]
    notes: list[str]


def _ordinal_sample(data: Any, ov: list[str], group: str | None, missing: str) -> _OrdinalSample:
    """Recode each item to categories 0..K-1 (its distinct values over all groups, in order), check
    them, and compute each group's thresholds, polychoric correlations and their asymptotic
    covariance (pairwise for missing answers; listwise on request)."""
    from validation.stats._polychoric import ordinal_moments

    x = _model_block(data, ov, group, "items")
    if group is not None:
        gcol = data[group]
        keep = gcol.notna().to_numpy()
        if pd.api.types.is_float_dtype(gcol) and np.all(np.mod(gcol[keep], 1) == 0):
            gcol = gcol.astype("Int64")
        glab = gcol.astype(str).to_numpy()
        labels = list(dict.fromkeys(glab[keep].tolist()))
    else:
        keep = np.ones(x.shape[0], dtype=bool)
        glab = np.full(x.shape[0], "", dtype=object)
        labels = [""]
    x = x[keep]
    glab = glab[keep]
    if missing == "listwise":
        complete = ~np.isnan(x).any(axis=1)
        x, glab = x[complete], glab[complete]
    codes = np.full_like(x, np.nan)
    levels: dict[str, list] = {}
    problems: list[str] = []
    for j, item in enumerate(ov):
        seen = np.unique(x[~np.isnan(x[:, j]), j])
        levels[item] = seen.tolist()
        if seen.size < 2:
            problems.append(f"{item} has {'no answer' if seen.size == 0 else f'only one category ({seen[0]:g})'}")
            continue
        codes[:, j] = np.where(np.isnan(x[:, j]), np.nan, np.searchsorted(seen, np.nan_to_num(x[:, j])))
    if problems:
        raise NotEstimable("not estimable: an ordinal item needs answers in at least two categories: "
                           + "; ".join(problems))
    ncat = max(len(v) for v in levels.values())
    stats, pair_n, notes = [], [], []
    for lab in labels:
        where = f" in group {lab!r}" if group is not None else ""
        cg = codes[glab == lab]
        empty = []
        for j, item in enumerate(ov):
            freq = np.bincount(cg[~np.isnan(cg[:, j]), j].astype(int), minlength=len(levels[item]))
            if (freq == 0).any():
                gone = [f"{levels[item][c]:g}" for c in np.flatnonzero(freq == 0)]
                empty.append(f"{item}: category {', '.join(gone)} has no answer{where} (frequencies "
                             f"{', '.join(str(int(v)) for v in freq)})")
        if empty:
            raise NotEstimable("not estimable: every category of an item must be used in every group: "
                               + "; ".join(empty) + ". Merge a rare category with its neighbour, or leave the group out")
        m = ordinal_moments(cg, ncat)
        if m["n"] < 2:
            raise NotEstimable(f"not estimable: {m['n']} case(s) with answers{where}")
        iu, ju = np.triu_indices(len(ov), 1)
        s = np.concatenate([np.concatenate(m["thresholds"]), m["rho"][iu, ju]])
        stats.append(_ord.GroupStats(s, m["gamma"], int(m["n"]), m["thresholds"], m["rho"]))
        obs = (~np.isnan(cg[~np.isnan(cg).all(axis=1)])).astype(float)
        pair_n.append(obs.T @ obs)
        ev = float(np.linalg.eigvalsh(m["rho"])[0])
        if ev < math.sqrt(np.finfo(float).eps):
            notes.append(f"the polychoric correlation matrix{where} is not positive definite (smallest eigenvalue "
                         f"{ev:.2e}); it is used as it is (as lavaan does) and the robust fit indices are not formed")
        if m["unconverged"]:
            notes.append(f"{len(m['unconverged'])} polychoric correlation(s){where} did not converge")
        notes += [f"{n_}{where}" for n_ in m["notes"]]
        big = [f"{ov[i]}-{ov[j]}" for i, j in zip(iu, ju) if abs(m["rho"][i, j]) > 0.99]
        if big:
            notes.append(f"polychoric correlation(s) of (nearly) 1{where}: {', '.join(big)}")
    n_used = sum(st.n for st in stats)
    if missing == "pairwise":
        low = min(float(pn[np.triu_indices(len(ov), 1)].min()) for pn in pair_n)
        how = (f"pairwise: thresholds from each item's answers, each polychoric correlation from the cases answering "
               f"both items ({int(low)} to {int(max(float(pn.max()) for pn in pair_n))} a pair); {n_used} cases")
    else:
        how = f"listwise: {n_used} cases answered every item"
    return _OrdinalSample(labels, stats, {item: len(levels[item]) - 1 for item in ov}, levels, how, pair_n, notes)


def _std_vector(spec: _ord.OrdinalSpec, X: np.ndarray) -> np.ndarray:
    """Completely standardized values of every row (latent responses with variance 1 / Delta^2)."""
    out = []
    for g in range(spec.G):
        _, mt = spec.implied(X, g)
        L, P, T, D, al = mt[_ord.LAMBDA], mt[_ord.PSI], mt[_ord.THETA], mt[_ord.SCALE], mt[_ord.ALPHA]
        C = mt["C"]
        sd_lv = np.sqrt(np.einsum("bii->bi", P))
        for r in spec.table.rows:
            if r.group != g:
                continue
            if r.op == "=~":
                v = L[:, r.r, r.c] * sd_lv[:, r.c] * D[:, r.r]
            elif r.op == "|":
                v = mt[_ord.TAU][:, r.r] * D[:, spec.item_of[r.r]]
            elif r.op == "~~" and r.mat == _ord.PSI:
                v = P[:, r.r, r.c] / (sd_lv[:, r.r] * sd_lv[:, r.c])
            elif r.op == "~~" and r.r == r.c:
                v = 1.0 - C[:, r.r, r.r] * D[:, r.r] ** 2
            elif r.op == "~~":
                v = T[:, r.r, r.c] * D[:, r.r] * D[:, r.c]
            elif r.op == "~1" and r.mat == _ord.ALPHA:
                v = al[:, r.r] / sd_lv[:, r.r]
            elif r.op == "~1" and r.mat == _ord.NU:
                v = mt[_ord.NU][:, r.r] * D[:, r.r]
            elif r.op == "~*~":
                v = D[:, r.r] / D[:, r.r]
            else:
                v = np.zeros(X.shape[0], dtype=X.dtype)
            out.append(v)
    return np.stack(out, axis=1)


def _derived_value(spec: _ord.OrdinalSpec, theta: np.ndarray, r) -> float:
    """Residual variances (delta) and scales (theta) follow from the unit variance of the responses."""
    _, mt = spec.implied(theta[None, :].astype(float), r.group)
    C, D = mt["C"][0], mt[_ord.SCALE][0]
    if r.op == "~*~":
        return float(D[r.r])
    return float(1.0 / D[r.r] ** 2 - C[r.r, r.r])


@_single_thread
def _cfa_wlsmv(model: str, data: Any, group: str | None, equal: tuple[str, ...], partial: tuple[str, ...],
               std_lv: bool, missing: str, parameterization: str, ordered: Any, *,
               identification: str = _ord.LAVAAN_ID, sample: _OrdinalSample | None = None
               ) -> tuple[CFAResult, Any]:
    """Fit one ordinal model; ``sample`` (the groups' thresholds, polychorics and Gamma) is computed
    here unless the caller passes the one it computed for an earlier model on the same data."""
    formulas = parse_model(model)
    ov, lv = _model_names(formulas)
    if ordered is not True:
        listed = [str(v) for v in (ordered or [])]
        continuous = [v for v in ov if v not in listed]
        if continuous:
            raise ValueError(f"ordered: WLSMV here treats every indicator as ordinal; also list {continuous} "
                             "(or pass ordered=True)")
    if missing not in ORDINAL_MISSING:
        raise ValueError(f"missing: expected 'pairwise' or 'listwise' for ordinal items, got {missing!r}")
    if parameterization not in PARAMETERIZATIONS:
        raise ValueError(f"parameterization: expected 'delta' or 'theta', got {parameterization!r}")
    if identification not in IDENTIFICATIONS:
        raise ValueError(f"identification: expected 'lavaan' or 'wu.estabrook', got {identification!r}")
    if sample is None:
        sample = _ordinal_sample(data, ov, group, missing)
    G = len(sample.groups)
    if (equal or partial) and G < 2:
        raise ValueError("equal / group_partial: constraints across groups need group=")
    table = _ord.ordinal_table(formulas, ngroups=G, std_lv=std_lv, equal=equal, partial=partial,
                               n_thresholds=sample.n_thresholds, parameterization=parameterization,
                               identification=identification)
    spec = _ord.OrdinalSpec(table, sample.stats, parameterization)
    df = sum(st.s.size for st in sample.stats) - spec.npar
    if df < 0:
        raise NotEstimable(f"not estimable: the model is not identified: {spec.npar} free parameters but only "
                           f"{df + spec.npar} sample statistics (negative degrees of freedom)")
    state = _ord.fit_dwls(spec)
    if not state.converged:
        raise NotEstimable(f"not estimable: the DWLS fit did not converge in {state.iterations} iterations")
    try:
        inf = _ord.inference(spec, state.theta)
    except np.linalg.LinAlgError:
        raise NotEstimable("not estimable: the model is not identified (singular information matrix)") from None
    shared_thresholds = G > 1 and any(r.op == "|" and r.group > 0 and r.eq_label == r.key for r in table.rows)
    why_not = ("robust fit indices are not formed when thresholds are held equal across groups (as lavaan)"
               if shared_thresholds else
               next((n_ for n_ in sample.notes if "not positive definite" in n_), None))
    fit = _ord.fit_measures(spec, state.theta, inf, why_not)
    V = inf.vcov
    est, se = [], []
    for r in table.rows:
        if r.free:
            est.append(float(state.theta[r.pid]))
            se.append(math.sqrt(V[r.pid, r.pid]) if V[r.pid, r.pid] >= 0 else math.nan)
        else:
            est.append(_derived_value(spec, state.theta, r) if math.isnan(r.value) else r.value)
            se.append(0.0)
    est_a, se_a = np.array(est), np.array(se)
    z, p = _z_p(est_a, np.where(se_a > 0, se_a, np.nan))
    X = state.theta[None, :] + 1j * 1e-20 * np.eye(spec.npar)
    std = _std_vector(spec, state.theta[None, :].astype(complex)).real[0]
    J = _std_vector(spec, X).imag / 1e-20                      # npar x rows
    std_se = np.sqrt(np.maximum(np.einsum("ir,ij,jr->r", J, V, J), 0.0))
    fixed_std = np.array([not r.free and r.op not in ("=~",) and not (r.op == "~~" and r.mat == _ord.PSI) for r in table.rows])
    std_se = np.where(fixed_std & (std_se < 1e-12), 0.0, std_se)
    sz, sp = _z_p(std, np.where(std_se > 0, std_se, np.nan))
    shared: dict[int, list] = {}
    for r in table.rows:
        if r.free:
            shared.setdefault(r.pid, []).append(r)
    params = []
    for i, r in enumerate(table.rows):
        label = r.label or (shared[r.pid][0].plabel if r.free and len(shared[r.pid]) > 1 else "")
        params.append(Parameter(r.lhs, r.op, r.rhs, sample.groups[r.group] if G > 1 else None, label, r.free,
                                float(est_a[i]), float(se_a[i]), float(z[i]), float(p[i]), float(std[i]),
                                float(std_se[i]), float(sz[i]), float(sp[i])))
    warns = list(sample.notes)
    for g in range(G):
        for item in ov:
            t = [pp.est for pp in params if pp.op == "|" and pp.lhs == item and (G == 1 or pp.group == sample.groups[g])]
            if any(b <= a for a, b in zip(t, t[1:])):
                warns.append(f"the thresholds of {item}{f' in group {sample.groups[g]!r}' if G > 1 else ''} are not "
                             "increasing")
    neg = [f"{pp.lhs}{f' [{pp.group}]' if pp.group else ''}" for pp in params
           if pp.op == "~~" and pp.lhs == pp.rhs and pp.lhs in ov and pp.est < 0]
    if neg:
        warns.append("negative residual variance(s) of the latent responses (Heywood case): " + ", ".join(neg))
    free_rows = [r for r in table.rows if r.free]
    names = [f"{r.lhs}{r.op}{r.rhs}" + (f".g{r.group + 1}" if r.group else "") for r in free_rows]
    pids = [r.pid for r in free_rows]
    result = CFAResult(
        model=model, fit=fit, parameters=tuple(params), modification_indices=(), n=int(spec.N),
        nobs={lab: st.n for lab, st in zip(sample.groups, sample.stats)}, groups=tuple(sample.groups),
        equal=equal, group_partial=partial, std_lv=bool(std_lv), meanstructure=True, converged=True,
        iterations=state.iterations, estimator="WLSMV", missing=sample.missing, warnings=tuple(warns),
        vcov=pd.DataFrame(V[np.ix_(pids, pids)], index=names, columns=names),
        pairwise_n={lab: pd.DataFrame(pn.astype(int), index=ov, columns=ov)
                    for lab, pn in zip(sample.groups, sample.pair_n)},
    )
    return result, (spec, state, inf, sample)


def _ordinal_steps(identification: str, sequence: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """The models of the ordinal invariance sequence: name and the constraints across groups."""
    if sequence == "loadings-first":
        return (("configural", ()), ("loadings", ("loadings",)), ("loadings and thresholds", ("thresholds", "loadings")))
    steps = (("configural", ()), ("thresholds", ("thresholds",)), ("thresholds and loadings", ("thresholds", "loadings")))
    if identification == _ord.WU_ESTABROOK_ID:
        steps += (("thresholds, loadings and intercepts", ("thresholds", "loadings", "intercepts")),)
    return steps


def _invariance_wlsmv(model: str, data: Any, group: str, criteria: Mapping[str, float] | None, *, std_lv: bool,
                      missing: str, parameterization: str, ordered: Any, group_partial: Sequence[str],
                      identification: str, sequence: str) -> InvarianceResult:
    crit = dict(DEFAULT_CRITERIA if criteria is None else criteria)
    bad = [k for k in crit if k not in ("delta_cfi", "delta_rmsea", "delta_srmr", "alpha")]
    if bad:
        raise ValueError(f"criteria: unknown key(s) {bad}; expected delta_cfi, delta_rmsea, delta_srmr, alpha")
    if not isinstance(group, str):
        raise TypeError(f"group: expected a column name (str), got {type(group).__name__}")
    if identification not in IDENTIFICATIONS:
        raise ValueError(f"identification: expected 'lavaan' or 'wu.estabrook', got {identification!r}")
    if sequence not in SEQUENCES:
        raise ValueError(f"sequence: expected 'thresholds-first' or 'loadings-first', got {sequence!r}")
    if sequence == "loadings-first" and identification != _ord.LAVAAN_ID:
        raise ValueError("sequence='loadings-first' is the older sequence with lavaan's identification; "
                         "use identification='lavaan'")
    partial_t = _check_partial(group_partial)
    fits = []
    sample = None
    for name, equal in _ordinal_steps(identification, sequence):
        res, internals = _cfa_wlsmv(model, data, group, equal, partial_t if equal else (), bool(std_lv), missing,
                                    parameterization, ordered, identification=identification, sample=sample)
        if len(res.groups) < 2:
            raise NotEstimable(f"not estimable: invariance needs at least 2 groups; {group!r} has {len(res.groups)}")
        sample = sample or internals[3]
        fits.append((name, equal, res, internals))
    steps, tests = [], []
    for i, (name, equal, res, (spec, state, inf, _)) in enumerate(fits):
        if i == 0:
            steps.append(InvarianceStep(name, equal, (), dict(res.fit), None, math.nan, 0, math.nan, math.nan,
                                        math.nan, math.nan, None, res))
            continue
        pname, _, pres, (pspec, pstate, pinf, _) = fits[i - 1]
        d, ddf, p, _, _ = _ord.satorra_2000(pspec, pstate.theta, pinf, spec, state.theta, inf)
        dcfi = res.fit["cfi.scaled"] - pres.fit["cfi.scaled"]
        drm = res.fit["rmsea.scaled"] - pres.fit["rmsea.scaled"]
        dsr = res.fit["srmr"] - pres.fit["srmr"]
        # Wu & Estabrook (2016): with three categories equal thresholds are an equivalent model, not a test
        ok = True if ddf == 0 else _holds(crit, dcfi, drm, dsr, p)
        steps.append(InvarianceStep(name, equal, res.group_partial, dict(res.fit), pname, d, ddf, p, dcfi, drm, dsr,
                                    bool(ok), res))
        released = _ord.release_tests(spec, state.theta)
        tests.append(tuple(sorted(
            (ScoreTest(f"{r.lhs}{r.op}{r.rhs}", x2, 1, float(stats.chi2.sf(x2, 1)) if math.isfinite(x2) else math.nan,
                       res.groups[r.group]) for r, x2 in released),
            key=lambda t: -t.x2 if math.isfinite(t.x2) else math.inf)))
    level = "configural"
    for st_ in steps[1:]:
        if not st_.holds:
            break
        level = st_.name
    warns = list(fits[0][2].warnings)
    if partial_t:
        warns.append("left free across groups: " + ", ".join(partial_t))
    if any(st_.df_diff == 0 for st_ in steps[1:]):
        warns.append("equal thresholds are an equivalent model, not a test, when every item has three categories "
                     "(Wu & Estabrook 2016)")
    first = fits[0][2]
    return InvarianceResult(tuple(steps), level, tuple(partial_t), tuple(tests), crit, first.groups, dict(first.nobs),
                            tuple(warns))
