"""The design of a rating study: who rated what.

Which agreement coefficient a rating study supports depends on its design (Shrout & Fleiss, 1979;
McGraw & Wong, 1996): in a *fully crossed* design every rater rates every target and two-way models
apply; when each target has its own rater(s) the raters are *nested* in targets and only one-way
models apply; most field studies are *incomplete* (partially crossed), and a fully crossed block
can be cut out of them for the two-way analyses (Hallgren, 2012; Putka, Le, McCloy & Diaz, 2008).

:func:`describe_rating_design` is a pure function of a long table (one row per target and rater);
it knows nothing of any instrument.

References
----------
Shrout, P. E., & Fleiss, J. L. (1979). Intraclass correlations: uses in assessing rater
reliability. *Psychological Bulletin*, 86(2), 420-428.
McGraw, K. O., & Wong, S. P. (1996). Forming inferences about some intraclass correlation
coefficients. *Psychological Methods*, 1(1), 30-46.
Putka, D. J., Le, H., McCloy, R. A., & Diaz, T. (2008). Ill-structured measurement designs in
organizational research. *Journal of Applied Psychology*, 93(5), 959-981.
Hallgren, K. A. (2012). Computing inter-rater reliability for observational data: an overview
and tutorial. *Tutorials in Quantitative Methods for Psychology*, 8(1), 23-34.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Hashable, Iterator

import numpy as np
import pandas as pd

from validation.battery.anonymity import sorted_keys
from validation.stats.results import NotEstimable

__all__ = ["InternalKeys", "RatingDesign", "describe_rating_design", "DESIGN_LABELS"]

DESIGN_LABELS = ("fully crossed", "incomplete (partially crossed)", "nested (one rater per target)")
EXACT_MAX_RATERS = 20


@dataclass(frozen=True)
class InternalKeys:
    """Keys (targets or raters) kept for selecting rows inside a pipeline stage. INTERNAL USE ONLY.

    The keys are held outside the dataclass fields: :func:`validation.results.to_dict` and ``repr``
    show only their number ``n``, so a result written to a metrics file never carries a key.
    Iterate, or read :attr:`keys`, to get them.
    """

    n: int

    @classmethod
    def of(cls, keys: tuple[Hashable, ...]) -> "InternalKeys":
        obj = cls(len(keys))
        object.__setattr__(obj, "_keys", tuple(keys))
        return obj

    @property
    def keys(self) -> tuple[Hashable, ...]:
        return getattr(self, "_keys", ())

    def __iter__(self) -> Iterator[Hashable]:
        return iter(self.keys)

    def __len__(self) -> int:
        return self.n


@dataclass(frozen=True)
class RatingDesign:
    """Who rated what: the counts, the design label, and the largest fully crossed block.

    Raters are reported by their *position* (1, 2, ...) in the sorted order of their keys and
    targets by counts. The two ``block_*_keys`` fields hold the actual keys of the block for
    stages that must select it; they are for internal use only and show only their number in
    ``repr`` and in :func:`validation.results.to_dict`.
    """

    design: str
    explanation: str
    n_targets: int
    n_raters: int
    n_ratings: int
    ratings_per_target_min: int
    ratings_per_target_median: float
    ratings_per_target_max: int
    ratings_per_rater_min: int
    ratings_per_rater_median: float
    ratings_per_rater_max: int
    n_targets_multi_rated: int
    fully_crossed: bool
    n_groups: int | None
    raters_nested_in_group: bool | None
    block_n_raters: int | None
    block_n_targets: int | None
    block_raters: tuple[int, ...] | None
    block_search: str | None
    block_target_keys: InternalKeys = field(default_factory=lambda: InternalKeys.of(()),
                                            repr=False, compare=False,
                                            metadata={"internal": True})
    block_rater_keys: InternalKeys = field(default_factory=lambda: InternalKeys.of(()),
                                           repr=False, compare=False,
                                           metadata={"internal": True})

    def public_dict(self) -> dict[str, Any]:
        """The fields for a metrics file: everything except the internal key fields."""
        from validation.stats.results import to_dict

        return {k: to_dict(getattr(self, k)) for k in self.__dataclass_fields__
                if not self.__dataclass_fields__[k].metadata.get("internal")}


def _bitsets(t_codes: np.ndarray, r_codes: np.ndarray, n_targets: int, n_raters: int) -> list[int]:
    """One Python integer per rater whose bit t is set when the rater rated target t."""
    out = []
    order = np.argsort(r_codes, kind="stable")
    bounds = np.searchsorted(r_codes[order], np.arange(n_raters + 1))
    for r in range(n_raters):
        mask = np.zeros(n_targets, dtype=bool)
        mask[t_codes[order[bounds[r]:bounds[r + 1]]]] = True
        out.append(int.from_bytes(np.packbits(mask, bitorder="little").tobytes(), "little"))
    return out


def _better(cand: tuple[int, int, tuple[int, ...]], best: tuple[int, int, tuple[int, ...]] | None) -> bool:
    """Larger n_targets x n_raters; then more targets; then the lower rater positions."""
    if best is None:
        return True
    if cand[0] != best[0]:
        return cand[0] > best[0]
    if cand[1] != best[1]:
        return cand[1] > best[1]
    return cand[2] < best[2]


def _exact_block(bits: list[int]) -> tuple[int, int, tuple[int, ...], int] | None:
    """Branch and bound over rater subsets: the subset S (|S| >= 2) maximising
    |targets rated by all of S| x |S|. Returns (product, n_targets, raters, intersection)."""
    n = len(bits)
    order = sorted(range(n), key=lambda r: (-bits[r].bit_count(), r))
    best: list[Any] = [None, 0]

    def visit(start: int, chosen: tuple[int, ...], inter: int | None) -> None:
        for pos in range(start, n):
            r = order[pos]
            new = bits[r] if inter is None else inter & bits[r]
            c = new.bit_count()
            if c == 0:
                continue
            size = len(chosen) + 1
            members = chosen + (r,)
            if size >= 2:
                cand = (c * size, c, tuple(sorted(members)))
                if _better(cand, best[0]):
                    best[0], best[1] = cand, new
            bound = c * (size + n - pos - 1)
            if best[0] is None or bound >= best[0][0]:
                visit(pos + 1, members, new)

    visit(0, (), None)
    if best[0] is None:
        return None
    prod, c, members = best[0]
    return prod, c, members, best[1]


def _greedy_block(bits: list[int], max_starts: int = 50) -> tuple[int, int, tuple[int, ...], int] | None:
    """Greedy search: from each of the raters with most ratings, add at each step the rater that
    keeps most common targets, and keep the best product met on the way."""
    n = len(bits)
    starts = sorted(range(n), key=lambda r: (-bits[r].bit_count(), r))[:max_starts]
    best: tuple[int, int, tuple[int, ...]] | None = None
    best_inter = 0
    for s in starts:
        chosen = [s]
        inter = bits[s]
        while True:
            pick, pick_c, pick_inter = None, 0, 0
            for r in range(n):
                if r in chosen:
                    continue
                new = inter & bits[r]
                c = new.bit_count()
                if c > pick_c:
                    pick, pick_c, pick_inter = r, c, new
            if pick is None:
                break
            chosen.append(pick)
            inter = pick_inter
            cand = (pick_c * len(chosen), pick_c, tuple(sorted(chosen)))
            if _better(cand, best):
                best, best_inter = cand, inter
    if best is None:
        return None
    return best[0], best[1], best[2], best_inter


def describe_rating_design(data: pd.DataFrame, target: str, rater: str,
                           group: str | None = None) -> RatingDesign:
    """Describe the design of a rating study from a long table of ratings.

    Parameters
    ----------
    data : DataFrame with one row per (target, rater) pair (filter to one occasion and one kind
        of rating first: a pair may occur only once).
    target, rater : names of the columns holding the target (e.g. case) and rater keys.
    group : optional column holding a grouping of the targets (e.g. site); each target must belong
        to one group. Says whether raters are nested in groups (each rater rates targets of one
        group only).

    Returns
    -------
    RatingDesign
        ``n_targets``, ``n_raters``, ``n_ratings``; ratings per target and per rater (min, median,
        max); ``n_targets_multi_rated`` (targets with >= 2 raters); ``fully_crossed`` (every rater
        rated every target: ``n_ratings == n_targets * n_raters``); ``raters_nested_in_group``;
        the largest fully crossed block; and ``design``, one of ``"fully crossed"``,
        ``"incomplete (partially crossed)"``, ``"nested (one rater per target)"``, with a
        one-sentence ``explanation``.

    Notes
    -----
    The largest fully crossed block is the set S of at least two raters, with the targets rated by
    every rater in S, that maximises ``|targets| x |S|`` (the number of ratings in a complete
    two-way table, a maximum edge biclique of the target-rater graph). With up to 20 raters it is
    found exactly by branch and bound over rater subsets; with more, greedily (from each of the 50
    raters with most ratings, add the rater that keeps most common targets). Ties go to more
    targets, then to the lower rater positions. Raters are numbered 1, 2, ... in the sorted order
    of their keys.

    The design labels follow Shrout & Fleiss (1979) and McGraw & Wong (1996): one rater per target
    supports no agreement estimate; a fully crossed design supports two-way models (ICC2, ICC3);
    an incomplete design supports one-way models on all targets and two-way models on a fully
    crossed block (Putka et al., 2008; Hallgren, 2012).

    In R, with ``tab <- table(d$target, d$rater)``: ``rowSums(tab)`` are the ratings per target,
    ``sum(rowSums(tab) >= 2)`` is ``n_targets_multi_rated``, ``all(tab == 1)`` is
    ``fully_crossed``; the block is the largest wide table ``psych::ICC`` or ``irr::icc`` can take
    without missing cells (``sum(complete.cases(wide[, S]))`` targets for a set of rater columns S).

    Raises
    ------
    ValueError
        if a column is missing, keys are missing, a (target, rater) pair occurs twice, or a target
        belongs to two groups.
    NotEstimable
        if there are no ratings.
    """
    if not isinstance(data, pd.DataFrame):
        raise ValueError(f"data must be a pandas DataFrame, found {type(data).__name__}")
    for name, col in (("target", target), ("rater", rater), ("group", group)):
        if col is None and name == "group":
            continue
        if col not in data.columns:
            raise ValueError(f"{name} column {col!r} is not in data (columns: {list(data.columns)})")
    if target == rater:
        raise ValueError(f"target and rater must be different columns, both are {target!r}")
    cols = [target, rater] + ([group] if group is not None else [])
    d = data[cols]
    for col in cols:
        n_missing = int(d[col].isna().sum())
        if n_missing:
            raise ValueError(f"column {col!r} has {n_missing} missing value(s); expected a key on every row")
    if len(d) == 0:
        raise NotEstimable("not estimable: no ratings (the table has no rows)")
    dup = d.duplicated([target, rater])
    if dup.any():
        raise ValueError(
            f"each (target, rater) pair must occur once; {int(dup.sum())} row(s) repeat a pair "
            "(keep one occasion and one kind of rating first)")
    if group is not None:
        per_target = d.groupby(target, sort=False)[group].nunique()
        if (per_target > 1).any():
            raise ValueError(f"{int((per_target > 1).sum())} target(s) belong to more than one "
                             f"{group!r}; expected one group per target")

    target_keys = sorted_keys(d[target].to_numpy())
    rater_keys = sorted_keys(d[rater].to_numpy())
    t_index = {k: i for i, k in enumerate(target_keys)}
    r_index = {k: i for i, k in enumerate(rater_keys)}
    t_codes = d[target].map(t_index).to_numpy(dtype=np.int64)
    r_codes = d[rater].map(r_index).to_numpy(dtype=np.int64)
    n_t, n_r, n = len(target_keys), len(rater_keys), len(d)
    per_t = np.bincount(t_codes, minlength=n_t)
    per_r = np.bincount(r_codes, minlength=n_r)
    multi = int(np.sum(per_t >= 2))
    crossed = n == n_t * n_r

    n_groups: int | None = None
    nested: bool | None = None
    if group is not None:
        n_groups = int(d[group].nunique())
        nested = bool((d.groupby(rater, sort=False)[group].nunique() <= 1).all())

    block = None
    search: str | None = None
    if n_r >= 2 and multi > 0:
        if crossed:
            bits_all = (1 << n_t) - 1
            block = (n, n_t, tuple(range(n_r)), bits_all)
            search = "exact"
        else:
            bits = _bitsets(t_codes, r_codes, n_t, n_r)
            if n_r <= EXACT_MAX_RATERS:
                block, search = _exact_block(bits), "exact"
            else:
                block, search = _greedy_block(bits), "greedy"

    if block is not None:
        _, b_nt, b_r, b_bits = block
        b_raters = tuple(int(r) + 1 for r in b_r)
        mask = np.unpackbits(np.frombuffer(b_bits.to_bytes((n_t + 7) // 8, "little"), dtype=np.uint8),
                             bitorder="little")[:n_t].astype(bool)
        b_tkeys = tuple(k for k, m in zip(target_keys, mask) if m)
        b_rkeys = tuple(rater_keys[r] for r in b_r)
        b_nr = len(b_r)
    else:
        b_nt = b_nr = None
        b_raters = None
        b_tkeys, b_rkeys = (), ()

    if per_t.max() <= 1:
        label = "nested (one rater per target)"
        if n_r == 1:
            why = (f"A single rater rated all {n_t} targets once, so agreement between raters "
                   "cannot be estimated from these data.")
        else:
            why = (f"Each of the {n_t} targets was rated by one rater only ({n_r} raters in all), so "
                   "raters are nested in targets and agreement between raters cannot be estimated.")
    elif crossed:
        label = "fully crossed"
        why = (f"Every one of the {n_r} raters rated every one of the {n_t} targets, so rater and "
               "target effects can be separated (two-way models apply).")
    else:
        label = "incomplete (partially crossed)"
        nest = ""
        if nested and n_groups and n_groups > 1:
            nest = f", raters are nested in {group} ({n_groups} groups)"
        why = (f"{multi} of the {n_t} targets were rated by two or more of the {n_r} raters but not "
               f"every rater rated every target{nest}; the largest fully crossed block has "
               f"{b_nt} targets rated by {b_nr} raters.")

    return RatingDesign(
        design=label,
        explanation=why,
        n_targets=n_t,
        n_raters=n_r,
        n_ratings=n,
        ratings_per_target_min=int(per_t.min()),
        ratings_per_target_median=float(np.median(per_t)),
        ratings_per_target_max=int(per_t.max()),
        ratings_per_rater_min=int(per_r.min()),
        ratings_per_rater_median=float(np.median(per_r)),
        ratings_per_rater_max=int(per_r.max()),
        n_targets_multi_rated=multi,
        fully_crossed=bool(crossed),
        n_groups=n_groups,
        raters_nested_in_group=nested,
        block_n_raters=b_nr,
        block_n_targets=b_nt,
        block_raters=b_raters,
        block_search=search,
        block_target_keys=InternalKeys.of(b_tkeys),
        block_rater_keys=InternalKeys.of(b_rkeys),
    )
