"""On the synthetic battery the analyses recover the generator's truth (within sampling error)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from validation.battery.contract import load_tables
from validation.stats.factor import efa, parallel_analysis
from validation.battery.instruments import load_instrument
from validation.battery.synthetic import SyntheticConfig, generate

INSTRUMENTS = Path(__file__).resolve().parents[1] / "instruments"


@pytest.fixture(scope="module")
def battery(tmp_path_factory):
    vera = load_instrument(INSTRUMENTS / "vera2r.yaml")
    sq = load_instrument(INSTRUMENTS / "sq.yaml")
    b = generate(SyntheticConfig(n_cases=3000, seed=11), vera, sq)
    folder = tmp_path_factory.mktemp("battery")
    for name, table in b.tables().items():
        table.to_csv(folder / f"{name}.csv", index=False)
    return load_tables(folder, vera, sq), b.truth, vera, sq


def test_sq_polychoric_efa_recovers_true_loadings(battery):
    tables, truth, _, sq = battery
    items = tables.sq_responses[tables.sq_responses["occasion"] == 1][sq.items].astype(float)
    res = efa(items, 3, method="minres", rotation="oblimin", cor="polychoric")
    load = res.loadings
    true = pd.Series(truth["sq"]["loadings"])
    # each factor is the scale whose items load most on it; compare each item's loading on its own factor
    scale_of = {i: sq.scale_of(i) for i in sq.items}
    factor_of_scale = {}
    for f in load.columns:
        factor_of_scale[load[f].abs().groupby(scale_of).sum().idxmax()] = f
    assert sorted(factor_of_scale) == sorted(s.code for s in sq.scales)   # one factor a scale
    est = pd.Series({i: load.loc[i, factor_of_scale[scale_of[i]]] for i in sq.items})
    diff = (est - true[est.index]).abs()
    # n = 3000: the SE of a polychoric loading is about 0.015; the site intercept shift adds a little bias
    assert diff.mean() < 0.04, diff.sort_values().tail()
    assert diff.max() < 0.12, diff.sort_values().tail()
    # cross-loadings are small
    off = [abs(load.loc[i, f]) for i in sq.items for f in load.columns if f != factor_of_scale[scale_of[i]]]
    assert np.mean(off) < 0.06


def test_parallel_analysis_finds_three_sq_factors(battery):
    tables, _, _, sq = battery
    items = tables.sq_responses[tables.sq_responses["occasion"] == 1][sq.items].astype(float)
    assert parallel_analysis(items, n_iter=20, seed=3).n_factors == 3


def test_auc_of_latent_risk_matches_truth(battery):
    """The AUC of the generator's latent risk R lies within sampling error of the true AUC."""
    from validation.stats.predictive import roc_auc

    tables, truth, vera, sq = battery
    b = generate(SyntheticConfig(n_cases=3000, seed=11), vera, sq)
    assert b.latent is not None and list(b.latent.columns) == ["case_id", "R"]
    for outcome in ("extremist", "violent", "any"):
        o = tables.outcomes[tables.outcomes["outcome"] == outcome].merge(b.latent, on="case_id")
        res = roc_auc(o["event"].astype(int), o["R"])
        true = truth["outcomes"][outcome]["auc_R"]
        # three DeLong standard errors plus the Monte-Carlo error of the truth
        assert abs(res.auc - true) < 3 * res.se + 0.005, (outcome, res.auc, true, res.se)


def test_invariance_finds_the_planted_intercept_violation():
    """Across sites, scalar invariance fails and partial invariance frees exactly the planted items first."""
    from validation.stats.cfa import invariance
    from validation.battery.scoring import sq_keyed

    vera = load_instrument(INSTRUMENTS / "vera2r.yaml")
    sq = load_instrument(INSTRUMENTS / "sq.yaml")
    b = generate(SyntheticConfig(n_cases=2400, seed=5, sq_missing_rate=0.0, n_sites=2,
                                 outcome_slope_site="S2"), vera, sq)
    planted = b.truth["sq"]["intercept_violation"]
    sq1 = b.sq_responses[b.sq_responses["occasion"] == "1"].merge(b.cases[["case_id", "site"]], on="case_id")
    items = sq_keyed(sq1[sq.items].replace("", np.nan).astype(float), sq).astype(float)
    # the two scales that hold the planted items, 8 items each (the planted ones among them)
    scales = {s.code: list(s.items) for s in sq.scales}
    model_items = {}
    for item in planted["items"]:
        code = sq.scale_of(item)
        others = [i for i in scales[code] if i != item][:7]
        model_items[code] = [item, *others]
    model = "\n".join(f"{code} =~ " + " + ".join(its) for code, its in model_items.items())
    cols = [i for its in model_items.values() for i in its]
    frame = items[cols].assign(site=sq1["site"].to_numpy())
    res = invariance(model, frame, "site", modindices=0)
    steps = {s.name: s for s in res.steps}
    assert steps["metric"].holds
    assert not steps["scalar"].holds
    assert sorted(f.removesuffix("~1") for f in res.freed) == sorted(planted["items"])
