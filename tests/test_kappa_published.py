"""Cohen's weighted kappa with the Fleiss-Cohen-Everitt (1969) variance against SAS and irrCAC, from
contingency tables, and Conger's kappa against irrCAC (tests/reference/published/kappa.json)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from validation.stats import NotEstimable, cohen_kappa, conger_kappa

REF = json.loads((Path(__file__).parent / "reference" / "published" / "kappa.json").read_text(encoding="utf-8"))
WEIGHTS = {"none": None, "linear": "linear", "quadratic": "quadratic"}


@pytest.mark.parametrize("name", ["abstractors", "table10", "diagnosis"])
def test_weighted_kappa_variance_matches_sas_and_irrcac(name):
    ref = REF[name]
    for key, expected in ref.items():
        if key == "table":
            continue
        res = cohen_kappa(table=ref["table"], weights=WEIGHTS[key])
        digits = 7 if len(str(expected["kappa"])) > 7 else 4
        assert res.kappa == pytest.approx(expected["kappa"], abs=0.5 * 10 ** -digits), (name, key)
        assert res.se == pytest.approx(expected["se"], abs=0.5 * 10 ** -digits), (name, key)
        if "ci" in expected:
            assert (res.ci.lower, res.ci.upper) == pytest.approx(expected["ci"], abs=5e-5), (name, key)


def test_psych_variance_is_kept_as_an_option_that_says_what_it_is():
    table = REF["abstractors"]["table"]
    psych = cohen_kappa(table=table, weights="quadratic", variance="psych")
    assert psych.se == 0.0 and "psych" in psych.ci.method          # the degenerate interval the issue shows
    default = cohen_kappa(table=table, weights="quadratic")
    assert default.se > 0.03 and "psych" not in default.ci.method
    # unweighted, the two variances coincide
    assert cohen_kappa(table=table, variance="psych").se == pytest.approx(cohen_kappa(table=table).se, abs=1e-15)


def test_table_and_raw_ratings_give_the_same_kappa():
    table = np.array(REF["diagnosis"]["table"])
    r1 = np.repeat(np.arange(4), table.sum(axis=1))
    r2 = np.concatenate([np.repeat(np.arange(4), row) for row in table])
    for w in (None, "linear", "quadratic"):
        a, b = cohen_kappa(r1, r2, weights=w), cohen_kappa(table=table, weights=w)
        assert (a.kappa, a.se) == pytest.approx((b.kappa, b.se), abs=1e-14)
    labelled = cohen_kappa(table=pd.DataFrame(table, index=list("ABCD"), columns=list("ABCD")))
    assert labelled.levels == ("A", "B", "C", "D")


def test_table_input_is_checked():
    with pytest.raises(ValueError, match="square"):
        cohen_kappa(table=[[1, 2, 3]])
    with pytest.raises(ValueError, match="whole counts"):
        cohen_kappa(table=[[1, -2], [3, 4]])
    with pytest.raises(ValueError, match="not both"):
        cohen_kappa([1, 2], [1, 2], table=[[1, 0], [0, 1]])
    with pytest.raises(ValueError, match="variance must be"):
        cohen_kappa(table=[[1, 0], [0, 1]], variance="sas")
    with pytest.raises(NotEstimable):
        cohen_kappa(table=[[0, 0], [0, 0]])


def test_conger_kappa_matches_irrcac():
    raw = pd.DataFrame(REF["raw4raters"]["ratings"], dtype=float)
    ref = REF["raw4raters"]["conger"]
    u = conger_kappa(raw)
    assert u.p_agreement == pytest.approx(ref["none"]["pa"], abs=5e-8)
    assert u.p_chance == pytest.approx(ref["none"]["pe"], abs=5e-8)
    assert u.estimate == pytest.approx(ref["none"]["kappa"], abs=5e-6)
    assert u.se == pytest.approx(ref["none"]["se"], abs=5e-6)
    assert u.p_one_sided == pytest.approx(ref["none"]["p"], rel=1e-6)
    assert (round(u.ci.lower, 3), u.ci.upper) == tuple(ref["none"]["ci"])
    for key in ("linear", "quadratic"):
        res = conger_kappa(raw, weights=key)
        assert round(res.estimate, 3) == ref[key]["kappa"] and round(res.se, 3) == ref[key]["se"]
        assert round(res.ci.lower, 3) == ref[key]["ci_lower"]


def test_conger_is_cohen_for_two_complete_raters():
    rng = np.random.default_rng(5)
    a = rng.integers(1, 4, 80)
    b = np.where(rng.random(80) < 0.7, a, rng.integers(1, 4, 80))
    for w in (None, "linear", "quadratic"):
        assert conger_kappa(pd.DataFrame({"a": a, "b": b}), weights=w).estimate == pytest.approx(
            cohen_kappa(a, b, weights=w).kappa, abs=1e-12)


def test_every_agreement_function_accepts_a_contingency_table():
    from validation.stats import (agreement_detail, brennan_prediger, fleiss_kappa_generalized, gwet_ac,
                                  krippendorff_alpha, percent_agreement, ratings_from_table)
    table = REF["abstractors"]["table"]
    pairs = ratings_from_table(table)
    assert len(pairs) == 100 and pd.crosstab(pairs["rater 1"], pairs["rater 2"]).to_numpy().tolist() == table
    for fn in (gwet_ac, percent_agreement, fleiss_kappa_generalized, brennan_prediger, conger_kappa):
        assert fn(table=table, weights="quadratic").estimate == pytest.approx(
            fn(pairs, weights="quadratic").estimate, abs=1e-15), fn.__name__
    assert krippendorff_alpha(table=table, ci=None).alpha == pytest.approx(
        krippendorff_alpha(pairs, ci=None).alpha, abs=1e-15)
    assert agreement_detail(table=table).kappa == pytest.approx(cohen_kappa(table=table).kappa, abs=1e-15)
    with pytest.raises(ValueError, match="not both"):
        gwet_ac(pairs, table=table)
    with pytest.raises(ValueError, match="table="):
        gwet_ac()
