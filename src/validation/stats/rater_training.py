"""Trainee raters against an expert key: how closely each trainee's ratings of case vignettes match the
key's (the authors' consensus rating of each vignette), with intervals from a bootstrap over vignettes.

Ratings of the indicators of one vignette are not independent (a trainee who misreads the vignette
misreads several indicators), so every interval resamples whole vignettes (a cluster bootstrap; Davison &
Hinkley 1997, sec. 3.8) and reports the percentile interval, expanded for the few vignettes a course has
(Hesterberg 2015: the plain percentile interval under-covers with few resampled units), and the BCa interval
(Efron 1987), the acceleration from the jackknife over vignettes. The share of exact agreement also gets the Wilson interval (Wilson 1927),
which treats the ratings as independent, for comparison: it is too narrow when misses cluster in vignettes.

"Within one category" is not offered: on a 3-point scale a trainee who always says "moderate" is within one
category of every key rating, so the measure cannot tell a rater from a rule.

References
----------
Davison, A. C., & Hinkley, D. V. (1997). Bootstrap Methods and Their Application. Cambridge University Press.
Efron, B. (1987). Better bootstrap confidence intervals. JASA, 82, 171-185.
Hesterberg, T. C. (2015). What teachers should know about the bootstrap: resampling in the undergraduate
statistics curriculum. The American Statistician, 69, 371-386.
Gwet, K. L. (2014). Handbook of Inter-Rater Reliability, 4th ed. Advanced Analytics.
Wilson, E. B. (1927). Probable inference, the law of succession, and statistical inference. JASA, 22, 209-212.
"""

from __future__ import annotations

import dataclasses
from statistics import NormalDist
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd
from scipy.stats import binomtest, norm
from scipy.stats import t as t_dist
from statsmodels.stats.proportion import proportion_confint

from validation.stats._checks import check_level, check_random_state
from validation.stats.results import NotEstimable

__all__ = ["agreement_with_key", "AgreementWithKey", "indicator_misses", "IndicatorMisses", "training_change",
           "TrainingChange", "rater_facets", "RaterFacets", "DEFAULT_CODES"]

DEFAULT_CODES: dict[str, int] = {"low": 1, "moderate": 2, "high": 3, "absent": 0, "present": 1}
# the measures of agreement_with_key (besides "exact, domain X" for each domain)
MEASURES = ("exact, indicators", "exact, additional indicators", "exact, summary judgement", "weighted kappa",
            "AC2", "severity", "centrality")
OVERALL = "all trainees"
MODERATE = 2
_STD_NORMAL = NormalDist()        # its cdf and quantile are exact and far cheaper than scipy's per call


@dataclasses.dataclass(frozen=True)
class AgreementWithKey:
    """Agreement of trainees with the key: one row per trainee and measure in ``table`` (the trainee
    ``"all trainees"`` pools every trainee's ratings), columns ``trainee_id, measure, estimate, ci_lower,
    ci_upper`` (bootstrap percentile, expanded for few vignettes), ``bca_lower, bca_upper``, ``wilson_lower, wilson_upper`` (exact
    agreement only), ``n_vignettes, n_ratings`` and ``note`` (why a figure is missing)."""

    table: pd.DataFrame
    level: float
    n_boot: int
    weights: str | None
    method: str

    def measure(self, name: str) -> pd.DataFrame:
        """The rows of one measure, indexed by trainee."""
        return self.table[self.table["measure"] == name].set_index("trainee_id")


def _scores(frame: pd.DataFrame, codes: Mapping[str, int], what: str) -> pd.DataFrame:
    """Numbers from numbers or the instrument's codes (case-insensitive); blanks stay missing."""
    out = {}
    for col in frame.columns:
        s = frame[col]
        if pd.api.types.is_numeric_dtype(s):
            out[col] = s.astype(float)
            continue
        text = s.astype("string").str.strip().str.lower()
        mapped = text.map(lambda v: codes.get(v, v) if isinstance(v, str) else v)
        num = pd.to_numeric(mapped, errors="coerce")
        bad = text.notna() & (text != "") & num.isna()
        if bad.any():
            found = sorted(set(text[bad].astype(str)))[:5]
            raise ValueError(f"{what}, column {col}: found {found}, expected numbers or the codes "
                             f"{sorted(codes)}")
        out[col] = num.astype(float)
    return pd.DataFrame(out, index=frame.index)


def _weights(q: int, weights: str | None) -> np.ndarray:
    k = np.arange(q)
    d = np.abs(k[:, None] - k[None, :]) / max(q - 1, 1)
    if weights == "quadratic":
        return 1.0 - d ** 2
    if weights == "linear":
        return 1.0 - d
    if weights is None:
        return np.eye(q)
    raise ValueError(f"weights: expected 'quadratic', 'linear' or None, got {weights!r}")


def _kappa_ac2(tables: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weighted kappa (Cohen 1968) and Gwet's AC2 of the trainee against the key from contingency tables
    (..., q, q): the same formulas as the project's cohen_kappa and gwet_ac for two raters, every unit
    rated by both, vectorised over the tables."""
    q = w.shape[0]
    n = tables.sum(axis=(-2, -1))
    with np.errstate(invalid="ignore", divide="ignore"):
        p = tables / n[..., None, None]
        rows, cols = p.sum(axis=-1), p.sum(axis=-2)
        po = np.einsum("...kl,kl->...", p, w)
        pe_k = np.einsum("...k,...l,kl->...", rows, cols, w)
        kappa = (po - pe_k) / (1.0 - pe_k)
        pi = (rows + cols) / 2.0
        pe_g = w.sum() / (q * (q - 1)) * np.sum(pi * (1.0 - pi), axis=-1)
        ac2 = (po - pe_g) / (1.0 - pe_g)
    return kappa, ac2


def _expanded(level: float, n_clusters: int) -> list[float]:
    """The quantiles of Hesterberg's (2015) expanded percentile interval: the bootstrap's percentile
    interval is too narrow with few resampled units (its spread is (n - 1) / n of the variance, and the
    normal quantile ignores that the spread is estimated); the levels are widened to
    ``Phi(-sqrt(n / (n - 1)) t_{n-1})``. With many units it is the ordinary percentile interval."""
    n = max(int(n_clusters), 2)
    tail = float(norm.cdf(-np.sqrt(n / (n - 1.0)) * t_dist.ppf(0.5 + level / 2, n - 1)))
    return [tail, 1.0 - tail]


def _bca(boot: np.ndarray, estimate: float, jack: np.ndarray, level: float) -> tuple[float, float, str]:
    """BCa interval from the bootstrap distribution and the leave-one-vignette-out jackknife."""
    boot = boot[np.isfinite(boot)]
    if boot.size == 0 or not np.isfinite(estimate):
        return np.nan, np.nan, "BCa not estimable: no finite bootstrap value"
    share = float(np.mean(boot < estimate))
    if share in (0.0, 1.0):
        return np.nan, np.nan, "BCa not estimable: the estimate lies at the edge of its bootstrap distribution"
    jack = jack[np.isfinite(jack)]
    d = jack.mean() - jack if jack.size else np.zeros(0)
    s2 = float(np.sum(d ** 2))
    a = float(np.sum(d ** 3) / (6.0 * s2 ** 1.5)) if s2 > 0 else 0.0
    z0 = _STD_NORMAL.inv_cdf(share)
    alpha = (1.0 - level) / 2.0
    adjusted = []
    for zq in (_STD_NORMAL.inv_cdf(alpha), _STD_NORMAL.inv_cdf(1.0 - alpha)):
        adjusted.append(_STD_NORMAL.cdf(z0 + (z0 + zq) / (1.0 - a * (z0 + zq))))
    lo, hi = np.quantile(boot, adjusted)
    return float(lo), float(hi), ""


@dataclasses.dataclass
class _Cluster:
    """Per-vignette sums of one trainee (or all trainees), the bootstrap's resampling units."""

    sums: dict[str, tuple[np.ndarray, np.ndarray]]   # measure -> (numerator, denominator) per vignette
    tables: np.ndarray                                # vignette x q x q: trainee x key on the indicators
    n_ratings: dict[str, int]


def _cluster(r: pd.DataFrame, key: pd.DataFrame, indicators: list[str], domains: Mapping[str, Sequence[str]],
             additional: list[str], summary: str | None, levels: list[float]) -> _Cluster:
    cols_all = list(r.columns)
    position = {c: i for i, c in enumerate(cols_all)}
    X, Y = r.to_numpy(float), key.loc[r.index, cols_all].to_numpy(float)

    def arrays(cols: list[str]) -> tuple[np.ndarray, np.ndarray]:
        idx = [position[c] for c in cols]
        return X[:, idx], Y[:, idx]

    sums: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    n_ratings: dict[str, int] = {}
    # rows (a trainee's rating of a vignette) summed by vignette: the bootstrap resamples whole vignettes
    _, vignette = np.unique(r.index.astype(str), return_inverse=True)
    vignette = np.asarray(vignette).reshape(-1)
    nv = int(vignette.max()) + 1

    def by_vignette(values: np.ndarray) -> np.ndarray:
        out = np.zeros(nv)
        np.add.at(out, vignette, values)
        return out

    def share(name: str, cols: list[str]) -> None:
        if not cols:
            return
        x, y = arrays(cols)
        rated = ~np.isnan(x)
        sums[name] = (by_vignette((rated & (x == y)).sum(axis=1).astype(float)),
                      by_vignette(rated.sum(axis=1).astype(float)))
        n_ratings[name] = int(rated.sum())

    share("exact, indicators", indicators)
    for code, cols in domains.items():
        share(f"exact, domain {code}", [c for c in cols if c in indicators])
    share("exact, additional indicators", additional)
    if summary is not None:
        share("exact, summary judgement", [summary])
    x, y = arrays(indicators)
    rated = ~np.isnan(x)
    sums["severity"] = (by_vignette(np.where(rated, x - y, 0.0).sum(axis=1)),
                        by_vignette(rated.sum(axis=1).astype(float)))
    n_ratings["severity"] = int(rated.sum())
    extreme = rated & (y != MODERATE)
    sums["centrality"] = (by_vignette((extreme & (x == MODERATE)).sum(axis=1).astype(float)),
                          by_vignette(extreme.sum(axis=1).astype(float)))
    n_ratings["centrality"] = int(extreme.sum())
    q = len(levels)
    ix = np.searchsorted(levels, np.where(rated, x, levels[0]))
    iy = np.searchsorted(levels, y)
    tables = np.zeros((nv, q, q))
    v = np.repeat(vignette[:, None], len(indicators), axis=1)
    np.add.at(tables, (v[rated], ix[rated], iy[rated]), 1.0)
    n_ratings["weighted kappa"] = n_ratings["AC2"] = int(rated.sum())
    return _Cluster(sums, tables, n_ratings)


def agreement_with_key(
    ratings: pd.DataFrame,
    key: pd.DataFrame,
    *,
    indicators: Sequence[str] | None = None,
    domains: Mapping[str, Sequence[str]] | None = None,
    additional: Sequence[str] = (),
    summary: str | None = None,
    weights: str | None = "quadratic",
    cluster: str = "vignette",
    ci: float = 0.95,
    n_boot: int = 2000,
    random_state: Any = None,
    codes: Mapping[str, int] | None = None,
) -> AgreementWithKey:
    """How closely trainees rate case vignettes as the expert key does, per trainee and over all trainees.

    Parameters
    ----------
    ratings : DataFrame
        One row per vignette a trainee rated, indexed by vignette (or with a column ``cluster``), one
        column an indicator; with a ``trainee_id`` column for many trainees. Scores (1-3 for low /
        moderate / high, 0-1 for absent / present) or the codes in ``codes``; blank = not rated.
    key : DataFrame
        The key's rating of every vignette, indexed by vignette (or with a column ``cluster``), the same
        indicator columns; no blank.
    indicators : sequence of str
        The ordinal indicators (default: every column of ``key`` not in ``additional`` or ``summary``).
    domains : mapping of str to sequence of str
        Indicators by domain, for the exact agreement per domain.
    additional : sequence of str
        The present / absent indicators (their exact agreement is reported on its own).
    summary : str
        The summary judgement's column (vignettes rated exactly as the key).
    weights : ``"quadratic"``, ``"linear"`` or None
        Weights of kappa and AC2 on the ordinal indicators (Gwet 2014, ch. 3).
    cluster : str
        The vignette identifier: the index name or a column of both frames.
    ci : float
        Level of every interval.
    n_boot : int
        Bootstrap replicates (whole vignettes resampled).
    random_state : None, int or numpy Generator
        The bootstrap's random numbers (see :func:`validation.stats._checks.check_random_state`).
    codes : mapping of str to int
        Rating codes as numbers (default :data:`DEFAULT_CODES`: low 1, moderate 2, high 3, absent 0,
        present 1).

    Returns
    -------
    AgreementWithKey
        Measures: ``exact, indicators`` (share of the ordinal indicators' ratings equal to the key),
        ``exact, domain X``, ``exact, additional indicators``, ``exact, summary judgement``, ``weighted
        kappa`` and ``AC2`` (the trainee and the key as two raters of the (vignette, indicator) units, from
        their contingency table: the same values as the project's
        :func:`~validation.stats.agreement.cohen_kappa` and :func:`~validation.stats.agreement.gwet_ac`,
        which are pinned to irrCAC), ``severity`` (mean of trainee - key on the 1-3
        scale: above 0 rates too high) and ``centrality`` (share of "moderate" where the key says low or
        high).

    Examples
    --------
    Two trainees, three vignettes, four indicators; trainee B rates every "high" as "moderate":

    >>> import pandas as pd
    >>> key = pd.DataFrame({"i1": [1, 3, 2], "i2": [3, 3, 1], "i3": [2, 1, 3], "i4": [1, 2, 3]},
    ...                    index=pd.Index(["v1", "v2", "v3"], name="vignette"))
    >>> b = key.replace(3, 2)
    >>> ratings = pd.concat([key.assign(trainee_id="A"), b.assign(trainee_id="B")])
    >>> res = agreement_with_key(ratings, key, n_boot=200, random_state=1)
    >>> res.measure("exact, indicators")["estimate"].round(3).to_dict()
    {'A': 1.0, 'B': 0.583, 'all trainees': 0.792}
    >>> b_rows = res.table[res.table["trainee_id"] == "B"].set_index("measure")["estimate"]
    >>> round(float(b_rows["severity"]), 3), round(float(b_rows["centrality"]), 3)   # 5 of 9 low or high keys
    (-0.417, 0.556)
    """
    level = check_level(ci)
    if int(n_boot) != n_boot or n_boot < 2:
        raise ValueError(f"n_boot must be a whole number of at least 2, got {n_boot!r}")
    rng = check_random_state(random_state)
    codes = dict(DEFAULT_CODES if codes is None else codes)
    ratings, key = _indexed(ratings, cluster, "ratings"), _indexed(key, cluster, "key")
    if key.index.duplicated().any():
        raise ValueError(f"key: vignette(s) {sorted(set(key.index[key.index.duplicated()].astype(str)))[:5]} appear "
                         "more than once; expected one key row a vignette")
    additional = list(additional)
    cols = [c for c in key.columns if c != "trainee_id"]
    indicators = list(indicators) if indicators is not None else [c for c in cols if c not in additional
                                                                   and c != summary]
    wanted = indicators + additional + ([summary] if summary else [])
    for frame, what in ((ratings, "ratings"), (key, "key")):
        missing = [c for c in wanted if c not in frame.columns]
        if missing:
            raise ValueError(f"{what}: column(s) {missing[:5]} missing; expected every indicator of the key")
    if not indicators:
        raise ValueError("indicators: at least one ordinal indicator is needed")
    key = _scores(key[wanted], codes, "key")
    if key.isna().any().any():
        where = key.isna().stack()
        first = where[where].index[:3].tolist()
        raise ValueError(f"key: not-rated cells at (vignette, column) {first}; expected the key's rating of every "
                         "indicator")
    unknown = sorted(set(ratings.index.astype(str)) - set(key.index.astype(str)))
    if unknown:
        raise ValueError(f"ratings: vignette(s) {unknown[:5]} have no key; expected only vignettes of the key")
    trainee = ratings["trainee_id"].astype(str) if "trainee_id" in ratings.columns else pd.Series(
        "trainee", index=ratings.index)
    scores = _scores(ratings[wanted], codes, "ratings")
    levels = sorted(set(np.unique(key[indicators].to_numpy())) | set(np.unique(scores[indicators].dropna().to_numpy())))
    w = _weights(len(levels), weights)
    doms = {c: list(v) for c, v in (domains or {}).items()}

    # trainees grouped by the vignettes they rated (one draw of vignette weights a group), then all trainees
    by_vignettes: dict[tuple[str, ...], list[tuple[str, pd.DataFrame]]] = {}
    for t in sorted(trainee.unique()):
        r = scores[trainee.to_numpy() == t]
        if r.index.duplicated().any():
            raise ValueError(f"ratings: trainee {t} rated vignette(s) "
                             f"{sorted(set(r.index[r.index.duplicated()].astype(str)))[:5]} more than once")
        r = r.sort_index()
        by_vignettes.setdefault(tuple(r.index.astype(str)), []).append((t, r))
    rows: list[dict] = []
    for members in by_vignettes.values():
        rows += _group_rows([t for t, _ in members], [r for _, r in members], key, indicators, doms, additional,
                            summary, levels, w, level, int(n_boot), rng)
    rows.sort(key=lambda row: row["trainee_id"])
    if len(by_vignettes) > 1 or sum(len(m) for m in by_vignettes.values()) > 1:
        rows += _group_rows([OVERALL], [scores], key, indicators, doms, additional, summary, levels, w, level,
                            int(n_boot), rng)
    table = pd.DataFrame(rows, columns=["trainee_id", "measure", "estimate", "ci_lower", "ci_upper", "bca_lower",
                                        "bca_upper", "wilson_lower", "wilson_upper", "n_vignettes", "n_ratings",
                                        "note"])
    method = (f"bootstrap over vignettes ({n_boot} replicates; expanded percentile (Hesterberg 2015) and BCa), "
              "Wilson interval beside the exact agreement")
    return AgreementWithKey(table, level, int(n_boot), weights, method)


def _indexed(frame: pd.DataFrame, cluster: str, what: str) -> pd.DataFrame:
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"{what}: expected a DataFrame, got {type(frame).__name__}")
    if cluster in frame.columns:
        return frame.set_index(cluster)
    return frame


def _group_rows(tids: list[str], frames: list[pd.DataFrame], key: pd.DataFrame, indicators: list[str],
                domains: Mapping[str, list[str]], additional: list[str], summary: str | None, levels: list[float],
                w: np.ndarray, level: float, n_boot: int, rng: np.random.Generator) -> list[dict]:
    """The rows of trainees who rated the same vignettes, their bootstraps vectorised: one draw of vignette
    weights serves them all (each trainee's replicates resample that trainee's vignettes)."""
    clusters = [_cluster(r, key, indicators, domains, additional, summary, levels) for r in frames]
    nv = clusters[0].tables.shape[0]
    counts = rng.multinomial(nv, np.full(nv, 1.0 / nv), size=n_boot).astype(float)
    jack_w = 1.0 - np.eye(nv)
    point, boot, jack = {}, {}, {}
    with np.errstate(invalid="ignore", divide="ignore"):
        for name in clusters[0].sums:
            num = np.stack([c.sums[name][0] for c in clusters])          # trainees x vignettes
            den = np.stack([c.sums[name][1] for c in clusters])
            point[name] = num.sum(axis=1) / den.sum(axis=1)
            boot[name] = (counts @ num.T) / (counts @ den.T)              # replicates x trainees
            jack[name] = (jack_w @ num.T) / (jack_w @ den.T)
    tables = np.stack([c.tables for c in clusters])                       # trainees x vignettes x q x q
    point["weighted kappa"], point["AC2"] = _kappa_ac2(tables.sum(axis=1), w)
    boot["weighted kappa"], boot["AC2"] = _kappa_ac2(np.einsum("bv,tvkl->btkl", counts, tables), w)
    jack["weighted kappa"], jack["AC2"] = _kappa_ac2(np.einsum("jv,tvkl->jtkl", jack_w, tables), w)
    quantiles = _expanded(level, nv)
    out = []
    for name in point:
        with np.errstate(invalid="ignore"):
            lows, highs = np.nanquantile(np.where(np.isfinite(boot[name]), boot[name], np.nan), quantiles, axis=0) \
                if n_boot else (np.full(len(tids), np.nan),) * 2
        for t, tid in enumerate(tids):
            est = float(point[name][t])
            blo, bhi, why = _bca(boot[name][:, t], est, jack[name][:, t] if nv > 1 else np.zeros(0), level)
            note = why
            if not np.isfinite(est):
                note = ("not estimable: the trainee and the key use one category only (chance agreement 1)"
                        if name in ("weighted kappa", "AC2") else "not estimable: no rating for this measure")
            wl = wh = np.nan
            if name.startswith("exact") and name in clusters[t].sums:
                num, den = clusters[t].sums[name]
                if den.sum() > 0:
                    wl, wh = proportion_confint(num.sum(), den.sum(), alpha=1 - level, method="wilson")
            out.append({"trainee_id": tid, "measure": name, "estimate": est, "ci_lower": float(lows[t]),
                        "ci_upper": float(highs[t]), "bca_lower": blo, "bca_upper": bhi, "wilson_lower": float(wl),
                        "wilson_upper": float(wh), "n_vignettes": nv, "n_ratings": clusters[t].n_ratings.get(name, 0),
                        "note": note})
    return out


@dataclasses.dataclass(frozen=True)
class IndicatorMisses:
    """Per indicator (``table``): the trainees' ratings matching the key (``share`` with its Wilson interval,
    ``n_ratings``), the misses too high and too low (all, and where the key is an inner code), the exact
    binomial test of too high against too low where the key is an inner code (``p``, two-sided) and its
    Holm-adjusted ``p_holm``, and ``systematic`` (``"too high"``, ``"too low"`` or
    ``""``) where ``p_holm`` is below ``alpha``; ``by_vignette``: the share matching of each indicator
    (rows) on each vignette (columns), for a heat map."""

    table: pd.DataFrame
    by_vignette: pd.DataFrame
    alpha: float
    level: float


def indicator_misses(ratings: pd.DataFrame, key: pd.DataFrame, indicators: Sequence[str] | None = None, *,
                     levels: Sequence[float] | None = None, cluster: str = "vignette", alpha: float = 0.05,
                     ci: float = 0.95, codes: Mapping[str, int] | None = None) -> IndicatorMisses:
    """Which indicators the trainees rate as the key does, and whether their misses lean one way.

    A miss too high is a rating above the key's. Where the key is an inner code ("moderate") a miss can go
    either way, and under no systematic tendency it is as likely too high as too low: the exact binomial
    test of the too-high misses among those misses (p = 1/2, two-sided, as R's ``binom.test``), Holm-adjusted
    across the indicators tested (Holm 1979). Misses where the key is the lowest or highest code can go one
    way only and test nothing (they are counted in ``too_high`` and ``too_low``, not in ``too_high_inner``
    and ``too_low_inner``); a present / absent indicator has no inner code and no test (``p`` NaN).

    Parameters
    ----------
    ratings, key, cluster, codes
        As :func:`agreement_with_key` (``ratings`` long, every trainee's rows).
    indicators : sequence of str
        The indicators to examine (default: every column of ``key``), on one rating scale.
    levels : sequence of float
        The scale's scores (default: every score given or keyed), whose inner ones are tested.
    alpha : float
        Holm-adjusted level below which misses are called systematic.
    ci : float
        Level of the Wilson interval of each share.

    Examples
    --------
    Ten trainees rate one vignette; on i1 eight say "high" where the key says "moderate":

    >>> import pandas as pd
    >>> key = pd.DataFrame({"i1": [2], "i2": [2]}, index=pd.Index(["v1"], name="vignette"))
    >>> ratings = pd.DataFrame({"i1": [3] * 8 + [2] * 2, "i2": [1, 3] * 4 + [2] * 2},
    ...                        index=pd.Index(["v1"] * 10, name="vignette"))
    >>> res = indicator_misses(ratings, key)
    >>> [(i, float(r.share), int(r.too_high), int(r.too_low), r.systematic) for i, r in res.table.iterrows()]
    [('i1', 0.2, 8, 0, 'too high'), ('i2', 0.2, 4, 4, '')]
    >>> round(float(res.table.loc["i1", "p"]), 4)       # binom.test(8, 8): 2 x 0.5^8
    0.0078
    """
    level = check_level(ci)
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must lie in (0, 1), got {alpha!r}")
    codes = dict(DEFAULT_CODES if codes is None else codes)
    ratings, key = _indexed(ratings, cluster, "ratings"), _indexed(key, cluster, "key")
    cols = list(indicators) if indicators is not None else [c for c in key.columns if c != "trainee_id"]
    missing = [c for c in cols if c not in ratings.columns or c not in key.columns]
    if missing:
        raise ValueError(f"column(s) {missing[:5]} missing from the ratings or the key")
    unknown = sorted(set(ratings.index.astype(str)) - set(key.index.astype(str)))
    if unknown:
        raise ValueError(f"ratings: vignette(s) {unknown[:5]} have no key; expected only vignettes of the key")
    x = _scores(ratings[cols], codes, "ratings")
    y = _scores(key[cols], codes, "key").loc[x.index]
    y.index = x.index
    rated = x.notna()
    match = (x == y) & rated
    high = (x > y) & rated
    low = (x < y) & rated
    scale = sorted(levels) if levels is not None else sorted(
        set(np.unique(x.stack().to_numpy())) | set(np.unique(y.to_numpy())))
    rows = []
    for c in cols:
        n, m = int(rated[c].sum()), int(match[c].sum())
        hi, lo = int(high[c].sum()), int(low[c].sum())
        # a miss can go either way only where the key is an inner code: at the lowest code every miss is
        # too high, at the highest too low, whatever the trainees' leaning; those misses test nothing
        inner = rated[c] & (y[c] > scale[0]) & (y[c] < scale[-1])
        hi_in, lo_in = int((high[c] & inner).sum()), int((low[c] & inner).sum())
        wl, wh = proportion_confint(m, n, alpha=1 - level, method="wilson") if n else (np.nan, np.nan)
        p = binomtest(hi_in, hi_in + lo_in, 0.5).pvalue if hi_in + lo_in else np.nan
        rows.append({"indicator": c, "share": m / n if n else np.nan, "wilson_lower": wl, "wilson_upper": wh,
                     "n_ratings": n, "too_high": hi, "too_low": lo, "too_high_inner": hi_in, "too_low_inner": lo_in,
                     "p": float(p)})
    table = pd.DataFrame(rows).set_index("indicator")
    table["p_holm"] = _holm(table["p"].to_numpy())
    table["systematic"] = np.where(table["p_holm"] < alpha, np.where(
        table["too_high_inner"] > table["too_low_inner"], "too high", "too low"), "")
    by_vignette = (match.groupby(level=0).sum() / rated.groupby(level=0).sum()).T
    return IndicatorMisses(table, by_vignette, float(alpha), level)


def _holm(p: np.ndarray) -> np.ndarray:
    """Holm's adjustment of the tests there are (NaN: no test, not counted)."""
    from statsmodels.stats.multitest import multipletests

    out = np.full(p.shape, np.nan)
    ok = np.isfinite(p)
    if ok.any():
        out[ok] = multipletests(p[ok], method="holm")[1]
    return out


@dataclasses.dataclass(frozen=True)
class TrainingChange:
    """Before and after training. ``trainees``: each trainee's exact agreement on the indicators at the
    first and the last occasion, the change, the arm and the order of the vignette sets. ``effects``: per
    term (``mean change, <arm>``, ``practice``, ``set <B> - <A>``, ``training beyond practice``) the
    estimate and its percentile interval from a bootstrap over trainees (within arm) and vignettes (within
    set). ``note`` says what cannot be told apart; ``n_missed`` counts trainees without both occasions."""

    trainees: pd.DataFrame
    effects: pd.DataFrame
    note: str
    n_missed: int
    level: float
    n_boot: int


def training_change(ratings: pd.DataFrame, key: pd.DataFrame, indicators: Sequence[str], *,
                    cluster: str = "vignette", occasion: str = "occasion", vignette_set: str = "vignette_set",
                    arm: str = "arm", trained: str = "trained", ci: float = 0.95, n_boot: int = 2000,
                    random_state: Any = None, codes: Mapping[str, int] | None = None) -> TrainingChange:
    """The change in trainees' exact agreement with the key from the first to the last occasion, with the
    vignette sets' difference and practice separated from training.

    Each trainee rates one set of vignettes before and the parallel set after (counterbalanced: half A then
    B, half B then A). A trainee's change ``d = after - before`` is modelled as
    ``d = practice + set_effect x order + training x [trained]`` (order +1 for A then B, -1 for B then A; the
    first-differenced two-period crossover, Jones & Kenward 2014), fitted by least squares over the trainees
    with both occasions: ``practice`` is the control arm's change net of the sets, ``training`` the trained
    arm's change beyond it (the difference in differences). Without a control arm practice and training
    cannot be told apart: one term, ``practice and training``, is estimated, and ``note`` says so. Trainees
    who missed an occasion are counted and left out of this comparison only.

    Parameters
    ----------
    ratings : DataFrame
        Long: ``trainee_id``, ``occasion``, ``vignette_set``, optionally ``arm``, the vignette (index or
        column ``cluster``) and the indicator columns.
    key : DataFrame
        The key's ratings, as :func:`agreement_with_key`.
    indicators : sequence of str
        The indicators whose exact agreement is compared.
    arm, trained : str
        The arm column (absent: every trainee trained) and its value for the trained arm.
    ci, n_boot, random_state, codes
        As :func:`agreement_with_key`.

    Examples
    --------
    Four trained trainees and four controls, two sets of two vignettes; the trained improve by a third:

    >>> import numpy as np, pandas as pd
    >>> key = pd.DataFrame({"i1": [1, 2, 3, 1], "i2": [3, 2, 1, 2], "i3": [2, 2, 3, 3]},
    ...                    index=pd.Index(["a1", "a2", "b1", "b2"], name="vignette"))
    >>> sets = {"a1": "A", "a2": "A", "b1": "B", "b2": "B"}
    >>> rows = []
    >>> for t in range(8):
    ...     arm = "trained" if t < 4 else "control"
    ...     order = ("A", "B") if t % 2 == 0 else ("B", "A")
    ...     for occ, st in enumerate(order, start=1):
    ...         for v in [v for v in key.index if sets[v] == st]:
    ...             r = key.loc[v].copy()
    ...             if not (arm == "trained" and occ == 2):
    ...                 r["i1"] = 2 if r["i1"] != 2 else 1       # one miss in three before (and for controls)
    ...             rows.append({"trainee_id": f"T{t}", "occasion": occ, "vignette_set": st, "arm": arm,
    ...                          "vignette": v, **r})
    >>> res = training_change(pd.DataFrame(rows), key, ["i1", "i2", "i3"], n_boot=200, random_state=1)
    >>> (res.effects["estimate"].round(3) + 0.0).to_dict()
    {'mean change, control': 0.0, 'mean change, trained': 0.333, 'practice': 0.0, 'set B - A': 0.0, 'training beyond practice': 0.333}
    """
    level = check_level(ci)
    if int(n_boot) != n_boot or n_boot < 2:
        raise ValueError(f"n_boot must be a whole number of at least 2, got {n_boot!r}")
    rng = check_random_state(random_state)
    codes = dict(DEFAULT_CODES if codes is None else codes)
    data = ratings.reset_index() if cluster not in ratings.columns else ratings.copy()
    for col in ("trainee_id", occasion, vignette_set, cluster):
        if col not in data.columns:
            raise ValueError(f"ratings: column {col!r} missing; expected trainee_id, {occasion}, {vignette_set} and "
                             f"the vignette ({cluster})")
    key = _indexed(key, cluster, "key")
    cols = list(indicators)
    x = _scores(data[cols], codes, "ratings").to_numpy(float)
    keyed = _scores(key[cols], codes, "key")
    keyed.index = keyed.index.astype(str)
    unknown = sorted(set(data[cluster].astype(str)) - set(keyed.index))
    if unknown:
        raise ValueError(f"ratings: vignette(s) {unknown[:5]} have no key; expected only vignettes of the key")
    y = keyed.loc[data[cluster].astype(str)].to_numpy(float)
    rated = ~np.isnan(x)
    data = data.assign(n_match=(rated & (x == y)).sum(axis=1), n_rated=rated.sum(axis=1))
    if arm not in data.columns:
        data[arm] = trained
    first, last = data.groupby("trainee_id")[occasion].transform("min"), data.groupby("trainee_id")[occasion].transform("max")
    both = data.groupby("trainee_id")[occasion].transform("nunique") >= 2
    n_missed = int(data.loc[~both, "trainee_id"].nunique())
    data = data[both & ((data[occasion] == first) | (data[occasion] == last))].copy()
    data["when"] = np.where(data[occasion] == data.groupby("trainee_id")[occasion].transform("min"), 0, 1)
    sets = sorted(data[vignette_set].astype(str).unique())
    if len(sets) != 2:
        raise NotEstimable(f"not estimable: the before / after comparison needs two parallel vignette sets, found "
                           f"{len(sets)} ({', '.join(sets)})")
    # per (trainee, when) and vignette: matches and ratings; vignettes are resampled within their set
    vig = {st: sorted(data.loc[data[vignette_set].astype(str) == st, cluster].astype(str).unique()) for st in sets}
    col_of = {st: {v: i for i, v in enumerate(vs)} for st, vs in vig.items()}
    trainees = sorted(data["trainee_id"].astype(str).unique())
    arms = data.groupby("trainee_id")[arm].first().astype(str)
    order_first = data[data["when"] == 0].groupby("trainee_id")[vignette_set].first().astype(str)
    sign = np.array([1.0 if order_first[t] == sets[0] else -1.0 for t in trainees])
    is_trained = np.array([arms[t] == trained for t in trainees])
    sums = {(when, st): (np.zeros((len(trainees), len(vig[st]))), np.zeros((len(trainees), len(vig[st]))))
            for when in (0, 1) for st in sets}
    t_index = {t: i for i, t in enumerate(trainees)}
    for when, st, tid, v, m_, n_ in zip(data["when"], data[vignette_set].astype(str), data["trainee_id"].astype(str),
                                        data[cluster].astype(str), data["n_match"], data["n_rated"]):
        m, n = sums[(int(when), st)]
        m[t_index[tid], col_of[st][v]] += m_
        n[t_index[tid], col_of[st][v]] += n_

    def shares(wv: Mapping[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """Before and after shares of every trainee (replicates x trainees) at vignette weights ``wv``."""
        out = []
        for when in (0, 1):
            num = sum(np.einsum("bv,tv->bt", wv[st], sums[(when, st)][0]) for st in sets)
            den = sum(np.einsum("bv,tv->bt", wv[st], sums[(when, st)][1]) for st in sets)
            with np.errstate(invalid="ignore", divide="ignore"):
                out.append(num / den)
        return out[0], out[1]

    controls = bool((~is_trained).any())
    design = np.column_stack([np.ones(len(trainees)), sign] + ([is_trained.astype(float)] if controls else []))
    terms = (["practice", f"set {sets[1]} - {sets[0]}", "training beyond practice"] if controls
             else ["practice and training", f"set {sets[1]} - {sets[0]}"])

    def effects(before: np.ndarray, after: np.ndarray, tw: np.ndarray) -> np.ndarray:
        """Per replicate: the mean change of each arm and the model's terms, trainees weighted by ``tw``."""
        d = after - before
        res = []
        for arm_mask in ((~is_trained), is_trained):
            wa = tw * arm_mask
            with np.errstate(invalid="ignore", divide="ignore"):
                res.append(np.sum(wa * d, axis=1) / wa.sum(axis=1))
        coefs = []
        for b in range(d.shape[0]):
            sw = np.sqrt(tw[b])
            beta = np.linalg.lstsq(design * sw[:, None], d[b] * sw, rcond=None)[0]
            coefs.append(beta)
        return np.column_stack(res + [np.array(coefs)])

    ones = {st: np.ones((1, len(vig[st]))) for st in sets}
    before, after = shares(ones)
    point = effects(before, after, np.ones((1, len(trainees))))[0]
    wv = {st: rng.multinomial(len(vig[st]), np.full(len(vig[st]), 1.0 / len(vig[st])), size=n_boot).astype(float)
          for st in sets}
    tw = np.zeros((n_boot, len(trainees)))
    for arm_mask in ((~is_trained), is_trained):
        idx = np.flatnonzero(arm_mask)
        if idx.size:
            tw[:, idx] = rng.multinomial(idx.size, np.full(idx.size, 1.0 / idx.size), size=n_boot)
    bb, ba = shares(wv)
    boot = effects(bb, ba, tw)
    names = [f"mean change, {'control'}", f"mean change, {trained}"] + terms
    rows = []
    for j, name in enumerate(names):
        b = boot[:, j][np.isfinite(boot[:, j])]
        lo, hi = np.quantile(b, [(1 - level) / 2, (1 + level) / 2]) if b.size else (np.nan, np.nan)
        rows.append({"term": name, "estimate": float(point[j]), "ci_lower": float(lo), "ci_upper": float(hi)})
    effects_table = pd.DataFrame(rows).set_index("term")
    if not controls:
        effects_table = effects_table.drop(index="mean change, control")
    note = ("" if controls else "no control arm: practice and training cannot be told apart; the change is their sum")
    per = pd.DataFrame({"trainee_id": trainees, "arm": [arms[t] for t in trainees],
                        "order": [f"{sets[0]} then {sets[1]}" if s > 0 else f"{sets[1]} then {sets[0]}" for s in sign],
                        "before": before[0], "after": after[0], "change": after[0] - before[0]}).set_index("trainee_id")
    return TrainingChange(per, effects_table, note, n_missed, level, int(n_boot))


@dataclasses.dataclass(frozen=True)
class RaterFacets:
    """Trainee severity, indicator and vignette shifts on one logit scale, from
    :func:`~validation.stats.clmm.cumulative_link_mixed`. ``trainees``, ``indicators``, ``vignettes``: per
    level the conditional mode ``effect`` (above 0: rated higher than the key predicts), its conditional
    ``sd``, the interval and ``n`` ratings; ``fit``: the whole model (thresholds, the key's coefficients,
    the three standard deviations)."""

    trainees: pd.DataFrame
    indicators: pd.DataFrame
    vignettes: pd.DataFrame
    fit: Any


def rater_facets(ratings: pd.DataFrame, key: pd.DataFrame, indicators: Sequence[str], *,
                 cluster: str = "vignette", ci: float = 0.95, codes: Mapping[str, int] | None = None) -> RaterFacets:
    """Rater severity and indicator shift on one scale: the cumulative-link mixed model
    ``rating ~ key + (1 | trainee) + (1 | vignette) + (1 | indicator)`` of every rating of the indicators.

    The key's rating enters as a factor (its categories against the lowest), so the random effects are what
    remains once the key is known: a trainee's effect is their severity (above 0, rating higher than the key
    across vignettes and indicators), an indicator's effect its shift (above 0, over-rated by the course as a
    whole), a vignette's effect its own pull; all in logits of the cumulative odds, one scale, each with its
    interval from the conditional variance (as a many-facet Rasch model puts rater severity and item
    difficulty on one scale, Linacre 1989; here as crossed random effects, so a trainee with few ratings is
    shrunk toward 0). Accuracy without a direction (random misses) does not move these effects: the share
    matching (:func:`indicator_misses`) shows it.

    Parameters
    ----------
    ratings, key, cluster, codes
        As :func:`indicator_misses`: ``ratings`` long, with ``trainee_id``; ``key`` one row per vignette.
    indicators : sequence of str
        The indicators, on one rating scale (at least two categories used).
    ci : float
        Level of the intervals.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(3)
    >>> ind = [f"i{j}" for j in range(8)]
    >>> key = pd.DataFrame(rng.integers(1, 4, (4, 8)), columns=ind,
    ...                    index=pd.Index([f"v{v}" for v in range(4)], name="vignette"))
    >>> rows = []
    >>> for t in range(12):
    ...     shift = 1.0 if t == 0 else 0.0          # trainee t0 rates a notch high now and then
    ...     for v in key.index:
    ...         latent = 2.5 * (key.loc[v].to_numpy() - 2) + shift + rng.logistic(0, 0.7, 8)
    ...         scores = np.digitize(latent, [-1.5, 1.5]) + 1
    ...         rows.append({"trainee_id": f"t{t}", "vignette": v, **dict(zip(ind, scores))})
    >>> res = rater_facets(pd.DataFrame(rows), key, ind)
    >>> res.trainees["effect"].idxmax()
    't0'
    """
    from validation.stats.clmm import cumulative_link_mixed

    codes = dict(DEFAULT_CODES if codes is None else codes)
    ratings, key = _indexed(ratings, cluster, "ratings"), _indexed(key, cluster, "key")
    cols = list(indicators)
    missing = [c for c in cols if c not in ratings.columns or c not in key.columns]
    if missing:
        raise ValueError(f"column(s) {missing[:5]} missing from the ratings or the key")
    if "trainee_id" not in ratings.columns:
        raise ValueError("ratings: expected a trainee_id column")
    x = _scores(ratings[cols], codes, "ratings")
    y = _scores(key[cols], codes, "key")
    long = x.set_axis(pd.MultiIndex.from_arrays([ratings["trainee_id"].astype(str), ratings.index.astype(str)],
                                                names=["trainee", "vignette"])).stack(future_stack=True)
    long = long.rename("rating").reset_index().rename(columns={"level_2": "indicator"})
    long = long[long["rating"].notna()]
    if (long["rating"] % 1).any():
        raise ValueError("ratings: expected whole-number scores on one rating scale")
    long["rating"] = long["rating"].astype(int)
    key_long = y.set_axis(y.index.astype(str)).stack(future_stack=True)
    long["key"] = key_long.reindex(pd.MultiIndex.from_arrays([long["vignette"], long["indicator"]])).to_numpy()
    if long["key"].isna().any():
        raise ValueError("ratings: some rated vignette or indicator has no key rating")
    levels = sorted(int(v) for v in long["key"].unique())
    dummies = []
    for lev in levels[1:]:
        name = f"key {lev}"
        long[name] = (long["key"] == lev).astype(float)
        dummies.append(name)
    fit = cumulative_link_mixed(long, "rating", dummies, ["trainee", "vignette", "indicator"], ci=ci)
    return RaterFacets(fit.effects["trainee"], fit.effects["indicator"].reindex(
        [c for c in cols if c in fit.effects["indicator"].index]), fit.effects["vignette"], fit)
