"""Closed forms for planning the next study, each against R on a grid and against its paper's example:

* the power of the RMSEA tests and the cases they need (MacCallum, Browne & Sugawara 1996) against
  semTools::findRMSEApower / findRMSEAsamplesize (tests/reference/R/planning.R);
* kappa_n (Donner & Eliasziw 1992) against kappaSize::PowerBinary, events_for_c_width (Newcombe 2006,
  Riley et al. 2021) against pmvalsampsize's C-statistic criterion, prediction_model_size (Riley et al.
  2020) against pmsampsize, auc_n_for_power (Obuchowski & McClish 1997) against pROC::power.roc.test
  (tests/reference/R/planning_closed_forms.R);
* the interval-width formulas (Bonett 2002, Hanley & McNeil 1982) are pinned in tests/test_verdicts.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import math

from validation.stats.planning import (auc_n_for_power, events_for_c_width, kappa_n, prediction_model_size,
                                       rmsea_n_for_power, rmsea_power)

REF = json.loads((Path(__file__).parent / "reference" / "planning" / "rmsea.json").read_text())
CLOSED = json.loads((Path(__file__).parent / "reference" / "planning" / "closed_forms.json").read_text())


@pytest.mark.parametrize("row", REF["power"], ids=lambda r: f"{r['rmsea0']}-{r['rmsea1']}-df{r['df']}-n{r['n']}-g{r['groups']}")
def test_rmsea_power_as_semtools(row):
    got = rmsea_power(row["df"], row["n"], row["rmsea0"], row["rmsea1"], row["alpha"], groups=row["groups"])
    assert got == pytest.approx(row["power"], rel=1e-6, abs=1e-9)


@pytest.mark.parametrize("row", REF["n"], ids=lambda r: f"{r['rmsea0']}-{r['rmsea1']}-df{r['df']}-g{r['groups']}")
def test_rmsea_n_for_power_as_semtools(row):
    n = rmsea_n_for_power(row["df"], row["rmsea0"], row["rmsea1"], row["power"], row["alpha"], groups=row["groups"])
    g = row["groups"]
    # the definition: the smallest whole n per group whose power exceeds the target
    assert rmsea_power(row["df"], n * g, row["rmsea0"], row["rmsea1"], groups=g) > row["power"]
    assert n == 2 or rmsea_power(row["df"], (n - 1) * g, row["rmsea0"], row["rmsea1"], groups=g) <= row["power"]
    total = row["n"] * g
    if total <= 500:
        # semTools searches the totals 5..500 one by one (then in steps of 500) and divides by the groups
        assert (n - 1) * g < total <= n * g
    else:
        assert total >= n * g - g


def test_rmsea_arguments_are_checked():
    with pytest.raises(ValueError, match="different values"):
        rmsea_power(10, 200, 0.05, 0.05)
    with pytest.raises(ValueError, match="df must be a whole number"):
        rmsea_power(0, 200, 0.05, 0.08)
    with pytest.raises(ValueError, match="power must lie in"):
        rmsea_n_for_power(10, 0.05, 0.08, power=1.2)


@pytest.mark.parametrize("row", CLOSED["kappa"],
                         ids=lambda r: f"{r['kappa0']}-{r['kappa1']}-p{r['prevalence']}-a{r['alpha']}-pw{r['power']}")
def test_kappa_n_as_kappasize(row):
    # kappaSize finds lambda by bisection to 1e-5 in probability; the sizes agree once rounded up
    assert kappa_n(row["kappa0"], row["kappa1"], row["prevalence"], row["alpha"], row["power"]) == row["n"]


def test_kappa_n_is_symmetric_in_prevalence_and_checks_its_arguments():
    assert kappa_n(0.4, 0.6, 0.3) == kappa_n(0.4, 0.6, 0.7) == 191
    with pytest.raises(ValueError, match="kappa0 and kappa1 must differ"):
        kappa_n(0.4, 0.4, 0.3)
    with pytest.raises(ValueError, match="smallest kappa possible"):
        kappa_n(-0.9, 0.4, 0.1)
    with pytest.raises(ValueError, match="prevalence must lie in"):
        kappa_n(0.4, 0.6, 0.0)


@pytest.mark.parametrize("row", CLOSED["c_statistic"], ids=lambda r: f"c{r['c']}-p{r['prevalence']}-w{r['width']}")
def test_events_for_c_width_as_pmvalsampsize(row):
    got = events_for_c_width(row["c"], row["prevalence"], row["width"])
    assert got.n == row["n"]
    assert got.events == math.ceil(row["n"] * row["prevalence"] - 1e-9)
    assert got.se == pytest.approx(row["se"], rel=1e-12)


def test_events_for_c_width_worked_example_of_riley_2021():
    # Riley et al. (2021), Stat Med 40:4230, the C-statistic criterion of their example: 4,252 cases, 77 events
    r = events_for_c_width(0.8, 0.018, 0.1)
    assert (r.n, r.events) == (4252, 77)
    assert 2 * 1.959964 * r.se <= 0.1


@pytest.mark.parametrize("row", CLOSED["prediction_model"], ids=lambda r: f"{r['type']}-P{r['parameters']}-r{r['r2_cs']}")
def test_prediction_model_size_as_pmsampsize(row):
    if row["type"] == "binary":
        got = prediction_model_size(row["parameters"], row["r2_cs"], row["prevalence"])
        assert list(got.criteria.values()) == row["criteria"]
    else:
        got = prediction_model_size(row["parameters"], row["r2_cs"], rate=row["rate"], mean_followup=row["mean_followup"])
        # pmsampsize's third survival criterion is the larger of the first two (it reports a precision)
        assert list(got.criteria.values()) == row["criteria"][:2]
    assert got.n == row["n"]
    assert got.events == pytest.approx(row["events"], rel=1e-12)
    assert got.events_per_parameter == pytest.approx(row["epp"], abs=1e-12)
    assert got.max_r2_cs == pytest.approx(row["max_r2_cs"], rel=1e-12)


def test_prediction_model_size_worked_examples_of_riley_2020():
    # Riley et al. (2020), BMJ 368:m441: the binary example (662 cases, optimism binding) and the
    # time-to-event example (5,143 cases, 692 events, shrinkage binding)
    b = prediction_model_size(24, 0.288, 0.174)
    assert (b.n, b.binding, math.ceil(b.events)) == (662, "optimism", 116)
    s = prediction_model_size(30, 0.051, rate=0.065, mean_followup=2.07)
    assert (s.n, s.binding, round(s.events)) == (5143, "shrinkage", 692)
    with pytest.raises(ValueError, match="not below the largest Cox-Snell"):
        prediction_model_size(10, 0.7, 0.174)
    with pytest.raises(ValueError, match="not both"):
        prediction_model_size(10, 0.1, 0.2, rate=0.1, mean_followup=2)


@pytest.mark.parametrize("row", CLOSED["auc_power"],
                         ids=lambda r: f"auc{r['auc']}-k{r['ratio']}-pw{r['power']}-{r['alternative']}")
def test_auc_n_for_power_as_proc(row):
    got = auc_n_for_power(row["auc"], row["ratio"], row["alpha"], row["power"], row["alternative"])
    assert got == math.ceil(row["ncases"] - 1e-9)
