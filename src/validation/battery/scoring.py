"""Scoring of the battery: domain totals, reverse keys, scale scores and not-rated rules.

Works on the clean tables of :mod:`validation.contract` (indicator scores as nullable integers,
not rated as missing). Not rated is a known unknown, never read as low: a domain total is either
*prorated* (the mean of the rated indicators times the number of indicators, when at least
``min_rated`` of them are rated) or *complete case* (only when every indicator is rated).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from validation.battery.instruments import Questionnaire, SPJInstrument

__all__ = [
    "NOT_RATED_RULES",
    "domain_totals",
    "sq_keyed",
    "scale_scores",
    "primary_ratings",
]

NOT_RATED_RULES = ("prorate", "complete")
Rule = Literal["prorate", "complete"]


def _total(block: pd.DataFrame, rule: Rule, min_rated: float) -> pd.Series:
    x = block.to_numpy(dtype=float, na_value=np.nan)
    k = x.shape[1]
    rated = np.sum(~np.isnan(x), axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.nansum(x, axis=1) / rated
    if rule == "complete":
        ok = rated == k
        total = np.where(ok, np.nansum(x, axis=1), np.nan)
    elif rule == "prorate":
        ok = rated >= np.ceil(min_rated * k - 1e-9)
        total = np.where(ok & (rated > 0), mean * k, np.nan)
    else:
        raise ValueError(f"not-rated rule must be one of {NOT_RATED_RULES}, found {rule!r}")
    return pd.Series(total, index=block.index)


def domain_totals(ratings: pd.DataFrame, vera: SPJInstrument, rule: Rule = "prorate",
                  min_rated: float = 0.8) -> pd.DataFrame:
    """Domain totals of each rating form, plus ``risk_total`` (all non-protective domains).

    Parameters
    ----------
    ratings : clean ``vera_ratings`` table (indicator scores, not rated = missing)
    rule : ``"prorate"`` (mean of rated indicators x number of indicators, if at least
        ``min_rated`` of them are rated) or ``"complete"`` (sum, only if all are rated)
    min_rated : share of a domain's indicators that must be rated for a prorated total

    Returns a frame with one column per domain code and ``risk_total``, indexed like ``ratings``.
    """
    if not 0 < min_rated <= 1:
        raise ValueError(f"min_rated must be in (0, 1], found {min_rated!r}")
    out = {d.code: _total(ratings[list(d.items)], rule, min_rated) for d in vera.domains}
    risk_items = [i for d in vera.risk_domains for i in d.items]
    out["risk_total"] = _total(ratings[risk_items], rule, min_rated)
    return pd.DataFrame(out, index=ratings.index)


def sq_keyed(responses: pd.DataFrame, sq: Questionnaire) -> pd.DataFrame:
    """SQ items with reverse-keyed items reflected (``min + max - x``), missing kept missing."""
    x = responses[sq.items].astype("Float64")
    for item in sq.reverse_keyed:
        x[item] = sq.response_min + sq.response_max - x[item]
    return x


def scale_scores(responses: pd.DataFrame, sq: Questionnaire, min_answered: float = 0.8) -> pd.DataFrame:
    """Mean of the answered (keyed) items of each scale, when at least ``min_answered`` are answered."""
    keyed = sq_keyed(responses, sq)
    out = {}
    for s in sq.scales:
        x = keyed[list(s.items)].to_numpy(dtype=float, na_value=np.nan)
        answered = np.sum(~np.isnan(x), axis=1)
        with np.errstate(invalid="ignore"):
            mean = np.nanmean(np.where(answered[:, None] > 0, x, 0.0), axis=1)
        ok = answered >= np.ceil(min_answered * x.shape[1] - 1e-9)
        out[s.code] = np.where(ok & (answered > 0), mean, np.nan)
    return pd.DataFrame(out, index=responses.index)


def primary_ratings(ratings: pd.DataFrame, occasion: int = 1) -> pd.DataFrame:
    """One rating form per case on ``occasion``: the consensus rating where a team made one,
    otherwise the case's first independent rating in file order."""
    r = ratings[ratings["occasion"] == occasion]
    order = (r["role"] != "consensus").astype(int)
    r = r.assign(_o=order.to_numpy(), _pos=np.arange(len(r)))
    r = r.sort_values(["case_id", "_o", "_pos"], kind="stable")
    return r.drop_duplicates("case_id").drop(columns=["_o", "_pos"]).reset_index(drop=True)
