"""Closed forms for planning the next study: the power of the RMSEA tests and the cases they need
(MacCallum, Browne & Sugawara 1996) against semTools::findRMSEApower / findRMSEAsamplesize
(tests/reference/R/planning.R); the interval-width formulas are pinned in tests/test_verdicts.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from validation.stats.planning import rmsea_n_for_power, rmsea_power

REF = json.loads((Path(__file__).parent / "reference" / "planning" / "rmsea.json").read_text())


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
