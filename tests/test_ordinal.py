"""Ordinal structural models (WLSMV) against lavaan 0.6-14: tests/reference/ordinal, written by
tests/reference/R/ordinal.R.

lavaan's polychoric correlations stop short of the exact root of their score by up to about 3e-8 (its
optimiser's stopping rule); this package solves to the root, so correlations and what follows from them
agree to about 1e-7, everything else to rounding."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from validation.stats._polychoric import _cells, ordinal_moments

REF = Path(__file__).parent / "reference" / "ordinal"
SAMPSTATS = json.loads((REF / "sampstats.json").read_text())
ITEMS = [f"y{i}" for i in range(1, 9)]


def _codes(frame: pd.DataFrame) -> np.ndarray:
    return frame[ITEMS].to_numpy(dtype=float) - 1.0


def _cases():
    data = pd.read_csv(REF / "ordinal.csv")
    yield "g1", _codes(data[data["group"] == "g1"]), SAMPSTATS["g1"][0]
    for g, ref in zip(("g1", "g2"), SAMPSTATS["two_groups"]):
        yield f"two_groups {g}", _codes(data[data["group"] == g]), ref
    yield "g1 missing, pairwise", _codes(pd.read_csv(REF / "g1_missing.csv")), SAMPSTATS["g1_missing_pairwise"][0]


@pytest.mark.parametrize("name, codes, ref", list(_cases()), ids=lambda v: v if isinstance(v, str) else "")
def test_sample_statistics_as_lavaan(name, codes, ref):
    m = ordinal_moments(codes, 3)
    assert m["n"] == ref["nobs"]
    assert np.concatenate(m["thresholds"]) == pytest.approx(ref["thresholds"], abs=1e-12)
    assert m["rho"] == pytest.approx(np.array(ref["polychoric"]), abs=1e-7)
    gamma = np.array(ref["gamma"])
    assert m["gamma"] == pytest.approx(gamma, abs=1e-7 * np.abs(gamma).max())
    # element order: thresholds item by item, then the correlations y1~~y2, y1~~y3, ..., y7~~y8
    iu, ju = np.triu_indices(len(ITEMS), 1)
    labels = [f"{ITEMS[i]}|t{t}" for i in range(len(ITEMS)) for t in (1, 2)]
    labels += [f"{ITEMS[i]}~~{ITEMS[j]}" for i, j in zip(iu, ju)]
    assert labels == ref["gamma_labels"]


def test_polychoric_correlations_are_the_exact_root_of_their_score():
    codes = _codes(pd.read_csv(REF / "ordinal.csv").query("group == 'g1'"))
    m = ordinal_moments(codes, 3)
    iu, ju = np.triu_indices(len(ITEMS), 1)
    tau = np.array([np.r_[t, [np.inf] * (2 - len(t))] for t in m["thresholds"]])
    P, D = _cells(tau[iu], tau[ju], m["rho"][iu, ju], 1)
    tabs = np.zeros_like(P)
    for q, (i, j) in enumerate(zip(iu, ju)):
        ok = ~np.isnan(codes[:, i]) & ~np.isnan(codes[:, j])
        np.add.at(tabs[q], (codes[ok, i].astype(int), codes[ok, j].astype(int)), 1.0)
    score = (tabs * D / P).sum(axis=(1, 2))
    assert np.abs(score).max() < 1e-8


def test_empty_rows_are_left_out_and_counted_once():
    codes = _codes(pd.read_csv(REF / "g1_missing.csv"))
    with_empty = np.vstack([codes, np.full((3, len(ITEMS)), np.nan)])
    a, b = ordinal_moments(codes, 3), ordinal_moments(with_empty, 3)
    assert a["n"] == b["n"] == len(codes)
    assert np.array_equal(a["gamma"], b["gamma"])
