"""Rater severity (``validation.stats.rater_effects``) against lme4: the conditional modes of the
rater effects and their conditional SDs of ``lmer(y ~ 1 + (1 | target) + (1 | rater))``
(tests/reference/rater_effects/, made by make_reference.R with lme4 1.1-31)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from validation.stats import NotEstimable, rater_effects

REF = Path(__file__).parent / "reference" / "rater_effects"
VALUES = json.loads((REF / "values.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", ["ratings", "ratings_small"])
def test_matches_lme4(name):
    ref = VALUES[name]
    d = pd.read_csv(REF / ref["file"])
    res = rater_effects(d, "target", "rater", "y")
    tight = ref["tight_optimizer_check"]          # lme4 refitted to the exact optimum (bobyqa, rhoend 1e-12)
    for rater, effect, sd in zip(res.raters, res.effect, res.sd):
        assert effect == pytest.approx(tight["rater_modes"][rater], abs=1e-6), rater
        assert sd == pytest.approx(tight["rater_cond_sd"][rater], abs=1e-6), rater
        # lme4's default optimizer stops a little short of the optimum
        assert effect == pytest.approx(ref["rater_modes"][rater], abs=1e-4), rater
    assert res.var_raters == pytest.approx(tight["variance"]["rater"], rel=1e-5)
    assert res.intercept == pytest.approx(tight["intercept"], abs=1e-6)
    assert sorted(res.raters) == sorted(ref["rater_modes"])
    assert dict(zip(res.raters, res.n_ratings)) == ref["ratings_per_rater"]
    # the interval is the mode +/- 1.96 conditional SDs; off zero counts the intervals excluding 0
    off = sum((e - 1.959963984540054 * s > 0) or (e + 1.959963984540054 * s < 0) for e, s in zip(res.effect, res.sd))
    assert res.n_off_zero == off


def test_declines_a_design_without_crossing():
    nested = pd.DataFrame({"t": [1, 2, 3, 4], "r": ["A", "B", "C", "D"], "y": [1.0, 2.0, 3.0, 4.0]})
    with pytest.raises(NotEstimable, match="rater effects need"):
        rater_effects(nested, "t", "r", "y")


def test_zero_rater_variance_gives_zero_effects():
    rng = np.random.default_rng(3)
    rows = [(t, r, 10 + a + rng.normal(0, 1)) for t, a in enumerate(rng.normal(0, 3, 40)) for r in ("A", "B", "C")]
    d = pd.DataFrame(rows, columns=["t", "r", "y"])
    res = rater_effects(d, "t", "r", "y")
    if res.var_raters == 0:
        assert res.effect == (0.0, 0.0, 0.0) and res.n_off_zero == 0
    else:
        assert all(abs(e) < 3 * s for e, s in zip(res.effect, res.sd))
