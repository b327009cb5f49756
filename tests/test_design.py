"""Tests of validation.design.describe_rating_design on hand-made rating designs.

References: the counts and labels are read off each hand-made design; the largest fully crossed
block is checked against a brute-force enumeration of every rater subset (a closed form of the
definition: max over subsets S, |S| >= 2, of |targets rated by all of S| x |S|).
"""

from __future__ import annotations

import itertools
import json

import numpy as np
import pandas as pd
import pytest

from validation.battery.design import DESIGN_LABELS, InternalKeys, RatingDesign, describe_rating_design
from validation.stats.results import NotEstimable, to_dict


def long(pairs: list[tuple], group: dict | None = None) -> pd.DataFrame:
    df = pd.DataFrame(pairs, columns=["target", "rater"])
    if group is not None:
        df["group"] = df["target"].map(group)
    return df


def brute_force(df: pd.DataFrame) -> tuple[int, int, tuple]:
    """(product, n_targets, rater keys) of the best block by full enumeration, same tie rule."""
    raters = sorted(df["rater"].unique())
    sets = {r: set(df.loc[df["rater"] == r, "target"]) for r in raters}
    best = None
    for size in range(2, len(raters) + 1):
        for combo in itertools.combinations(range(len(raters)), size):
            common = set.intersection(*(sets[raters[i]] for i in combo))
            if not common:
                continue
            cand = (len(common) * size, len(common), combo)
            if best is None or cand[0] > best[0] or (cand[0] == best[0] and (
                    cand[1] > best[1] or (cand[1] == best[1] and cand[2] < best[2]))):
                best = cand
    assert best is not None
    return best[0], best[1], tuple(raters[i] for i in best[2])


def test_fully_crossed():
    df = long([(t, r) for t in "abcd" for r in ("x", "y", "z")])
    d = describe_rating_design(df, "target", "rater")
    assert d.design == "fully crossed"
    assert (d.n_targets, d.n_raters, d.n_ratings) == (4, 3, 12)
    assert (d.ratings_per_target_min, d.ratings_per_target_median, d.ratings_per_target_max) == (3, 3.0, 3)
    assert (d.ratings_per_rater_min, d.ratings_per_rater_median, d.ratings_per_rater_max) == (4, 4.0, 4)
    assert d.n_targets_multi_rated == 4
    assert d.fully_crossed is True
    assert d.raters_nested_in_group is None and d.n_groups is None
    assert (d.block_n_raters, d.block_n_targets, d.block_raters) == (3, 4, (1, 2, 3))
    assert set(d.block_target_keys) == set("abcd")
    assert tuple(d.block_rater_keys) == ("x", "y", "z")
    assert "Every one of the 3 raters rated every one of the 4 targets" in d.explanation


def test_nested_one_rater_per_target():
    df = long([("t1", "A"), ("t2", "A"), ("t3", "B"), ("t4", "B"), ("t5", "C")])
    d = describe_rating_design(df, "target", "rater")
    assert d.design == "nested (one rater per target)"
    assert d.n_targets_multi_rated == 0
    assert d.fully_crossed is False
    assert d.block_n_raters is None and d.block_raters is None and d.block_search is None
    assert len(d.block_target_keys) == 0
    assert "one rater only (3 raters in all)" in d.explanation


def test_single_rater_is_nested_not_crossed():
    df = long([("t1", "A"), ("t2", "A"), ("t3", "A")])
    d = describe_rating_design(df, "target", "rater")
    assert d.design == "nested (one rater per target)"
    assert d.fully_crossed is True  # trivially: the one rater rated every target
    assert d.block_raters is None
    assert "A single rater" in d.explanation


def test_incomplete_design_counts_and_block():
    # A and B rate t1..t5; C rates t1..t4; D rates t6, t7 with A.
    pairs = ([(f"t{i}", "A") for i in range(1, 8)] + [(f"t{i}", "B") for i in range(1, 6)]
             + [(f"t{i}", "C") for i in range(1, 5)] + [("t6", "D"), ("t7", "D"), ("t8", "D")])
    d = describe_rating_design(long(pairs), "target", "rater")
    assert d.design == "incomplete (partially crossed)"
    assert (d.n_targets, d.n_raters, d.n_ratings) == (8, 4, 19)
    # ratings per target: t1-t4: 3, t5: 2, t6-t7: 2, t8: 1 -> sorted 1,2,2,2,3,3,3,3, median 2.5
    assert (d.ratings_per_target_min, d.ratings_per_target_median, d.ratings_per_target_max) == (1, 2.5, 3)
    assert (d.ratings_per_rater_min, d.ratings_per_rater_median, d.ratings_per_rater_max) == (3, 4.5, 7)
    assert d.n_targets_multi_rated == 7
    # {A, B, C} x t1..t4 = 12 beats {A, B} x t1..t5 = 10
    assert (d.block_n_raters, d.block_n_targets, d.block_raters) == (3, 4, (1, 2, 3))
    assert sorted(d.block_target_keys) == ["t1", "t2", "t3", "t4"]
    assert d.block_search == "exact"
    assert "7 of the 8 targets were rated by two or more of the 4 raters" in d.explanation
    assert "4 targets rated by 3 raters" in d.explanation


def test_raters_nested_in_groups():
    group = {f"x{i}": "site-1" for i in range(4)} | {f"y{i}": "site-2" for i in range(3)}
    pairs = ([(f"x{i}", r) for i in range(4) for r in ("r1", "r2")]
             + [(f"y{i}", r) for i in range(3) for r in ("r3", "r4")])
    d = describe_rating_design(long(pairs, group), "target", "rater", group="group")
    assert d.raters_nested_in_group is True
    assert d.n_groups == 2
    assert d.design == "incomplete (partially crossed)"
    assert (d.block_n_raters, d.block_n_targets, d.block_raters) == (2, 4, (1, 2))
    assert "raters are nested in group (2 groups)" in d.explanation
    # one rater crossing the groups breaks the nesting
    pairs.append(("y0", "r1"))
    d2 = describe_rating_design(long(pairs, group), "target", "rater", group="group")
    assert d2.raters_nested_in_group is False


@pytest.mark.parametrize("seed", range(12))
def test_block_matches_brute_force(seed):
    rng = np.random.default_rng(seed)
    n_raters = int(rng.integers(3, 9))
    n_targets = int(rng.integers(5, 30))
    density = float(rng.uniform(0.2, 0.9))
    pairs = [(f"t{t:02d}", f"r{r}") for t in range(n_targets) for r in range(n_raters)
             if rng.random() < density]
    df = long(pairs)
    if df.groupby("target").size().max() < 2:
        pytest.skip("no target with two raters in this draw")
    d = describe_rating_design(df, "target", "rater")
    prod, n_t, rkeys = brute_force(df)
    assert d.block_n_targets * d.block_n_raters == prod
    assert d.block_n_targets == n_t
    assert tuple(d.block_rater_keys) == rkeys
    raters = sorted(df["rater"].unique())
    assert d.block_raters == tuple(raters.index(r) + 1 for r in rkeys)
    # the targets returned are exactly those rated by every rater of the block
    rated = df.groupby("target")["rater"].apply(set)
    expect = sorted(t for t, s in rated.items() if set(rkeys) <= s)
    assert sorted(d.block_target_keys) == expect


def test_ties_prefer_more_targets_then_lower_positions():
    # {a, b} x 3 targets = 6 = {c, d, e} x 2 targets; more targets wins
    pairs = ([(t, r) for t in ("t1", "t2", "t3") for r in ("a", "b")]
             + [(t, r) for t in ("t4", "t5") for r in ("c", "d", "e")])
    d = describe_rating_design(long(pairs), "target", "rater")
    assert (d.block_n_raters, d.block_n_targets, d.block_raters) == (2, 3, (1, 2))
    # two identical blocks: the lower positions win
    pairs = ([(t, r) for t in ("t1", "t2") for r in ("c", "d")]
             + [(t, r) for t in ("t3", "t4") for r in ("a", "b")])
    d = describe_rating_design(long(pairs), "target", "rater")
    assert d.block_raters == (1, 2)
    assert tuple(d.block_rater_keys) == ("a", "b")


def test_rater_positions_follow_sorted_keys():
    pairs = [("t1", "r2"), ("t2", "r2"), ("t1", "r10"), ("t2", "r10"), ("t3", "r1")]
    d = describe_rating_design(long(pairs), "target", "rater")
    # sorted keys: r1, r10, r2
    assert d.block_raters == (2, 3)
    assert tuple(d.block_rater_keys) == ("r10", "r2")


def test_integer_keys():
    pairs = [(t, r) for t in (10, 20, 30) for r in (2, 1)]
    d = describe_rating_design(long(pairs), "target", "rater")
    assert d.design == "fully crossed"
    assert tuple(d.block_rater_keys) == (1, 2)
    assert sorted(d.block_target_keys) == [10, 20, 30]


def test_greedy_search_beyond_twenty_raters_finds_planted_block():
    rng = np.random.default_rng(7)
    planted = [f"r{i:02d}" for i in (3, 8, 11, 17, 22)]
    pairs = [(f"p{t:02d}", r) for t in range(30) for r in planted]
    # sparse noise: every rater rates a few other targets, mostly alone
    for i in range(25):
        for t in rng.choice(200, size=6, replace=False):
            pairs.append((f"n{t:03d}", f"r{i:02d}"))
    df = long(pairs).drop_duplicates()
    d = describe_rating_design(df, "target", "rater")
    assert d.n_raters == 25
    assert d.block_search == "greedy"
    assert tuple(d.block_rater_keys) == tuple(planted)
    assert d.block_n_targets == 30
    assert d.block_raters == (4, 9, 12, 18, 23)


def test_internal_keys_never_reach_to_dict_or_repr():
    df = long([(f"secret-case-{t}", f"secret-rater-{r}") for t in range(3) for r in range(2)])
    d = describe_rating_design(df, "target", "rater")
    dumped = json.dumps(to_dict(d))
    assert "secret" not in dumped
    assert "secret" not in repr(d)
    assert to_dict(d)["block_target_keys"] == {"n": 3}
    assert "block_target_keys" not in d.public_dict()
    assert "block_rater_keys" not in d.public_dict()
    assert len(d.block_rater_keys) == 2
    assert isinstance(d.block_rater_keys, InternalKeys)
    assert d.design in DESIGN_LABELS
    assert isinstance(d, RatingDesign)


def test_argument_errors():
    df = long([("t1", "A"), ("t1", "B")])
    with pytest.raises(ValueError, match="target column 'case' is not in data"):
        describe_rating_design(df, "case", "rater")
    with pytest.raises(ValueError, match="must be a pandas DataFrame"):
        describe_rating_design([("t1", "A")], "target", "rater")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="must be different columns"):
        describe_rating_design(df, "target", "target")
    with pytest.raises(ValueError, match="1 missing value"):
        describe_rating_design(long([("t1", "A"), ("t2", None)]), "target", "rater")
    with pytest.raises(ValueError, match="each \\(target, rater\\) pair must occur once"):
        describe_rating_design(long([("t1", "A"), ("t1", "A")]), "target", "rater")
    with pytest.raises(ValueError, match="belong to more than one 'group'"):
        bad = long([("t1", "A"), ("t1", "B")])
        bad["group"] = ["g1", "g2"]
        describe_rating_design(bad, "target", "rater", group="group")
    with pytest.raises(NotEstimable, match="not estimable: no ratings"):
        describe_rating_design(long([]), "target", "rater")
