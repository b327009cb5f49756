"""The one anonymisation rule: how case and rater keys become the labels that may be published.

Every published artefact (the metrics, the report, the notebooks' outputs) names raters ``rater 1``,
``rater 2``, ... and cases by an integer position, never by their keys. The rule is the same
everywhere so that ``rater 3`` in the data-quality summary is ``rater 3`` in the agreement results
and in a notebook:

- keys are ordered by :func:`sorted_keys` (their natural order; by type name and text when the keys
  mix types that do not compare);
- raters are numbered over **every** rater key of the ``vera_ratings`` table (every role and
  occasion), so a subset -- the independent forms of occasion 1, one site -- keeps the names;
- cases are numbered from 0 over the case keys of the table being anonymised.

Examples
--------
>>> rater_labels(["R7", "R2", "R7", None])
{'R2': 'rater 1', 'R7': 'rater 2'}
>>> import pandas as pd
>>> forms = pd.DataFrame({"case_id": ["C9", "C1"], "rater_id": ["R7", "R2"], "BA1": [2, 0]})
>>> anonymise(forms)
   target    rater  BA1
0       1  rater 2    2
1       0  rater 1    0
"""

from __future__ import annotations

from typing import Any, Iterable

import numpy as np
import pandas as pd

__all__ = ["sorted_keys", "rater_labels", "case_positions", "anonymise"]


def sorted_keys(values: Iterable[Any]) -> list:
    """The distinct non-missing keys in their natural order (type name, then text, when mixed)."""
    uniq = list(pd.unique(pd.Series(list(values), dtype=object).dropna()))
    try:
        return sorted(uniq)
    except TypeError:
        return sorted(uniq, key=lambda v: (type(v).__name__, str(v)))


def rater_labels(keys: Iterable[Any]) -> dict[Any, str]:
    """``{key: "rater N"}`` numbering the distinct rater keys in :func:`sorted_keys` order.

    Give every rater key of the ``vera_ratings`` table, so that every artefact uses the same names.
    """
    return {k: f"rater {i + 1}" for i, k in enumerate(sorted_keys(keys))}


def case_positions(keys: Iterable[Any]) -> dict[Any, int]:
    """``{key: position}`` numbering the distinct case keys from 0 in :func:`sorted_keys` order."""
    return {k: i for i, k in enumerate(sorted_keys(keys))}


def anonymise(ratings: pd.DataFrame, all_raters: Iterable[Any] | None = None) -> pd.DataFrame:
    """The rating forms with ``case_id`` and ``rater_id`` replaced by ``target`` (the case's position,
    :func:`case_positions`) and ``rater`` (:func:`rater_labels`, numbered over ``all_raters`` when
    given -- every rater key of the full table -- so that a subset keeps the same names).

    The row order and every other column are kept.
    """
    for col in ("case_id", "rater_id"):
        if col not in ratings.columns:
            raise ValueError(f"anonymise: expected a '{col}' column, found {list(ratings.columns)}")
    labels = rater_labels(ratings["rater_id"] if all_raters is None else all_raters)
    unknown = set(ratings["rater_id"].dropna()) - set(labels)
    if unknown:
        raise ValueError(f"anonymise: {len(unknown)} rater key(s) of the table are not among all_raters; "
                         "pass every rater key of the vera_ratings table")
    if ratings["case_id"].isna().any():
        raise ValueError("anonymise: the table has forms without a case_id; run the validate stage first")
    position = case_positions(ratings["case_id"])
    out = ratings.drop(columns=["case_id", "rater_id"]).copy()
    out.insert(0, "target", ratings["case_id"].map(position).to_numpy(dtype=np.int64))
    out.insert(1, "rater", ratings["rater_id"].map(labels).to_numpy(dtype=object))
    return out
