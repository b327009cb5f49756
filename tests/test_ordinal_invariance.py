"""Ordinal measurement invariance beyond lavaan's default sequence: the identification of Wu &
Estabrook (2016) against semTools::measEq.syntax models, the older loadings-first sequence, and the
score tests of the equality constraints against lavTestScore. References: tests/reference/R/ordinal_invariance.R."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from validation.stats.cfa import invariance

REF = Path(__file__).parent / "reference" / "ordinal"
INV = json.loads((REF / "invariance.json").read_text())
DATA = {"two_groups": pd.read_csv(REF / "ordinal.csv"), "three_groups": pd.read_csv(REF / "three_groups.csv")}
KEY = ("lhs", "op", "rhs", "group")


def _check_step(step, ref, lrt):
    for key, want in ref["fit"].items():
        assert step.fit[key] == pytest.approx(want, rel=1e-4, abs=1e-6), (step.name, key)
    mine = {(p.lhs, p.op, p.rhs, p.group): p for p in step.result.parameters}
    assert len(mine) == len(ref["params"])
    for row in ref["params"]:
        p = mine[tuple(row[k] for k in KEY)]
        where = (step.name, *[row[k] for k in KEY])
        assert p.est == pytest.approx(row["est"], rel=1e-4, abs=1e-5), where
        assert p.se == pytest.approx(row["se"], rel=1e-3, abs=1e-6), where
    assert step.df_diff == lrt["df_diff"]
    assert step.chisq_diff == pytest.approx(lrt["chisq_diff"], rel=1e-4, abs=1e-6), step.name
    if lrt["p"] is None:
        assert np.isnan(step.pvalue)
    else:
        assert step.pvalue == pytest.approx(lrt["p"], rel=1e-3, abs=1e-9), step.name


@pytest.mark.parametrize("case", ["two_groups", "three_groups"])
def test_wu_estabrook_steps_are_the_semtools_models(case):
    ref = INV[case]
    res = invariance(ref["model"], DATA[case], "group", estimator="WLSMV", ordered=True, std_lv=True,
                     identification="wu.estabrook")
    assert [s.name for s in res.steps] == ["configural", "thresholds", "thresholds and loadings",
                                           "thresholds, loadings and intercepts"]
    for step, ref_fit, lrt in zip(res.steps[1:], ref["wu_estabrook"]["fits"].values(), ref["wu_estabrook"]["lrt"]):
        _check_step(step, ref_fit, lrt)


def test_three_categories_make_equal_thresholds_an_equivalent_model_not_a_test():
    ref = INV["two_groups"]
    res = invariance(ref["model"], DATA["two_groups"], "group", estimator="WLSMV", ordered=True,
                     identification="wu.estabrook")
    conf, thr = res.steps[0], res.steps[1]
    assert thr.df_diff == 0 and thr.fit["chisq"] == pytest.approx(conf.fit["chisq"], rel=1e-7)
    assert thr.holds is True
    assert any("equivalent model, not a test" in w for w in res.warnings)
    # the intercepts then fail (p < 0.001): the level reached is equal thresholds and loadings
    assert res.steps[3].holds is False and res.level == "thresholds and loadings"


@pytest.mark.parametrize("case", ["two_groups", "three_groups"])
def test_loadings_first_sequence_as_lavaan(case):
    ref = INV[case]
    res = invariance(ref["model"], DATA[case], "group", estimator="WLSMV", ordered=True, sequence="loadings-first")
    assert [s.name for s in res.steps] == ["configural", "loadings", "loadings and thresholds"]
    for step, ref_fit, lrt in zip(res.steps[1:], ref["loadings_first"]["fits"].values(), ref["loadings_first"]["lrt"]):
        _check_step(step, ref_fit, lrt)


@pytest.mark.parametrize("case", ["two_groups", "three_groups"])
def test_score_tests_of_the_equality_constraints_as_lavtestscore(case):
    ref = INV[case]
    res = invariance(ref["model"], DATA[case], "group", estimator="WLSMV", ordered=True)
    for tests, name in zip(res.score_tests, ("thresholds", "thresholds_loadings")):
        mine = {(t.parameter, t.group): t for t in tests}
        rows = ref["score"][name]
        assert len(mine) == len(rows)
        for row in rows:
            t = mine[(f"{row['lhs']}{row['op']}{row['rhs']}", row["group"])]
            # lavaan stops its optimiser short of the minimum (about 1e-5 in the chi-square); a score
            # statistic near 0 carries that in its last digits
            assert t.x2 == pytest.approx(row["x2"], rel=3e-4, abs=1e-6), (name, row)
            assert t.df == 1
        assert [t.x2 for t in tests] == sorted((t.x2 for t in tests), reverse=True)


def test_score_tests_point_to_the_parameters_that_differ():
    # in group c the first threshold of x3 is 0.5 lower and x6 loads 0.4 instead of 0.7
    ref = INV["three_groups"]
    res = invariance(ref["model"], DATA["three_groups"], "group", estimator="WLSMV", ordered=True)
    first, second = res.score_tests[1][:2]
    assert (first.parameter, first.group) == ("F2=~x6", "c") and first.pvalue < 1e-6
    assert (second.parameter, second.group) == ("x3|t1", "c") and second.pvalue < 1e-3
    freed = invariance(ref["model"], DATA["three_groups"], "group", estimator="WLSMV", ordered=True,
                       group_partial=["F2=~x6", "x3|t1"])
    assert freed.steps[2].fit["chisq.scaled"] < res.steps[2].fit["chisq.scaled"] - 40


def test_sample_statistics_are_computed_once_for_the_whole_sequence(monkeypatch):
    from validation.stats import _polychoric

    calls = []
    real = _polychoric.ordinal_moments

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(_polychoric, "ordinal_moments", counting)
    ref = INV["three_groups"]
    res = invariance(ref["model"], DATA["three_groups"], "group", estimator="WLSMV", ordered=True,
                     identification="wu.estabrook")
    assert len(res.steps) == 4 and len(calls) == 3          # one call a group, not one a group a model


def test_bad_sequence_options_get_a_clear_message():
    ref = INV["two_groups"]
    kw = dict(estimator="WLSMV", ordered=True)
    with pytest.raises(ValueError, match="identification: expected 'lavaan' or 'wu.estabrook', got 'mplus'"):
        invariance(ref["model"], DATA["two_groups"], "group", identification="mplus", **kw)
    with pytest.raises(ValueError, match="sequence: expected"):
        invariance(ref["model"], DATA["two_groups"], "group", sequence="intercepts-first", **kw)
    with pytest.raises(ValueError, match="loadings-first' is the older sequence"):
        invariance(ref["model"], DATA["two_groups"], "group", sequence="loadings-first",
                   identification="wu.estabrook", **kw)
