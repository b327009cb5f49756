"""Trainees against an expert key (validation.stats.rater_training.agreement_with_key): the point estimates
are the project's kappa and AC2 (pinned to irrCAC in tests/test_agreement*.py), the exact-agreement share,
severity and centrality are their closed forms, and every interval resamples whole vignettes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.proportion import proportion_confint

from validation.stats.agreement import cohen_kappa, gwet_ac
from validation.stats.rater_training import OVERALL, _cluster, _kappa_ac2, _weights, agreement_with_key

ITEMS = [f"i{j}" for j in range(1, 13)]


def _course(seed: int = 3, trainees: int = 6, vignettes: int = 8):
    rng = np.random.default_rng(seed)
    idx = pd.Index([f"v{v}" for v in range(vignettes)], name="vignette")
    key = pd.DataFrame(rng.integers(1, 4, (vignettes, len(ITEMS))), index=idx, columns=ITEMS)
    key["add1"] = rng.integers(0, 2, vignettes)
    key["summary_risk"] = rng.integers(1, 4, vignettes)
    frames = []
    for t in range(trainees):
        r = key.copy().astype(float)
        miss = rng.random(r[ITEMS].shape) > 0.55 + 0.06 * t
        r.loc[:, ITEMS] = np.where(miss, rng.integers(1, 4, miss.shape), r[ITEMS])
        r.iloc[0, 2] = np.nan                                   # a not-rated indicator
        frames.append(r.assign(trainee_id=f"T{t}"))
    return pd.concat(frames), key


def test_point_estimates_are_the_project_kappa_ac2_and_closed_forms():
    ratings, key = _course()
    res = agreement_with_key(ratings, key, additional=["add1"], summary="summary_risk",
                             domains={"A": ITEMS[:6], "B": ITEMS[6:]}, n_boot=50, random_state=1)
    for tid, r in ratings.groupby("trainee_id"):
        x, y = r[ITEMS].to_numpy(float).ravel(), key.loc[r.index, ITEMS].to_numpy(float).ravel()
        ok = ~np.isnan(x)
        got = res.table[res.table["trainee_id"] == tid].set_index("measure")
        assert got.loc["weighted kappa", "estimate"] == pytest.approx(cohen_kappa(x[ok], y[ok], weights="quadratic").kappa, rel=1e-12)
        assert got.loc["AC2", "estimate"] == pytest.approx(
            gwet_ac(np.column_stack([x[ok], y[ok]]), weights="quadratic").estimate, rel=1e-12)
        assert got.loc["exact, indicators", "estimate"] == pytest.approx(np.mean(x[ok] == y[ok]), rel=1e-15)
        assert got.loc["severity", "estimate"] == pytest.approx(np.mean(x[ok] - y[ok]), rel=1e-13)
        extreme = ok & (y != 2)
        assert got.loc["centrality", "estimate"] == pytest.approx(np.mean(x[extreme] == 2), rel=1e-15)
        assert got.loc["exact, summary judgement", "estimate"] == np.mean(r["summary_risk"] == key["summary_risk"])
        half = r[ITEMS[:6]].to_numpy(float).ravel(), key.loc[r.index, ITEMS[:6]].to_numpy(float).ravel()
        rated = ~np.isnan(half[0])
        assert got.loc["exact, domain A", "estimate"] == pytest.approx(np.mean(half[0][rated] == half[1][rated]))
        lo, hi = proportion_confint(int(np.sum(x[ok] == y[ok])), int(ok.sum()), alpha=0.05, method="wilson")
        assert (got.loc["exact, indicators", "wilson_lower"], got.loc["exact, indicators", "wilson_upper"]) == (lo, hi)
        assert got.loc["exact, indicators", "n_ratings"] == ok.sum() and got.loc["AC2", "n_vignettes"] == 8


def test_the_bootstraps_kappa_and_ac2_are_the_same_statistics_as_the_point_estimates():
    """The replicates use kappa and AC2 computed from the vignettes' tables: at the observed weights they
    equal the project's functions, so the intervals are of the same statistics."""
    ratings, key = _course(seed=5)
    levels = [1.0, 2.0, 3.0]
    for weights in ("quadratic", "linear", None):
        w = _weights(3, weights)
        for _, r in ratings.groupby("trainee_id"):
            cl = _cluster(r[ITEMS], key[ITEMS], ITEMS, {}, [], None, levels)
            kappa, ac2 = _kappa_ac2(cl.tables.sum(axis=0), w)
            x, y = r[ITEMS].to_numpy(float).ravel(), key.loc[r.index, ITEMS].to_numpy(float).ravel()
            ok = ~np.isnan(x)
            assert kappa == pytest.approx(cohen_kappa(x[ok], y[ok], weights=weights).kappa, rel=1e-12)
            ref = gwet_ac(np.column_stack([x[ok], y[ok]]), weights=weights or "identity").estimate
            assert ac2 == pytest.approx(ref, rel=1e-12)


def test_intervals_resample_whole_vignettes():
    # a trainee right on every indicator of four vignettes and wrong on all of the other four: by vignette
    # the share is 0 or 1, so the bootstrap interval is far wider than the Wilson interval of 48 ratings
    idx = pd.Index([f"v{v}" for v in range(8)], name="vignette")
    key = pd.DataFrame(1, index=idx, columns=ITEMS[:6])
    r = key.copy()
    r.iloc[4:] = 3
    res = agreement_with_key(r, key, n_boot=4000, random_state=2)
    row = res.measure("exact, indicators").iloc[0]
    assert row["estimate"] == 0.5
    assert row["ci_upper"] - row["ci_lower"] > 1.8 * (row["wilson_upper"] - row["wilson_lower"])
    # the same share of misses spread evenly over the vignettes: no variation between vignettes, no width
    even = key.copy()
    even.iloc[:, :3] = 3
    flat = agreement_with_key(even, key, n_boot=500, random_state=2).measure("exact, indicators").iloc[0]
    assert flat["estimate"] == flat["ci_lower"] == flat["ci_upper"] == 0.5
    assert flat["note"].startswith("BCa not estimable")


def test_the_overall_row_pools_trainees_and_resamples_vignettes():
    ratings, key = _course(trainees=4)
    res = agreement_with_key(ratings, key[ITEMS], indicators=ITEMS, n_boot=200, random_state=4)
    overall = res.measure("exact, indicators").loc[OVERALL]
    x = ratings[ITEMS].to_numpy(float)
    y = key.loc[ratings.index, ITEMS].to_numpy(float)
    ok = ~np.isnan(x)
    assert overall["estimate"] == pytest.approx(np.mean(x[ok] == y[ok]))
    assert overall["n_vignettes"] == 8 and overall["n_ratings"] == ok.sum()
    assert overall["ci_lower"] < overall["estimate"] < overall["ci_upper"]
    # reproducible from the seed
    again = agreement_with_key(ratings, key[ITEMS], indicators=ITEMS, n_boot=200, random_state=4)
    pd.testing.assert_frame_equal(res.table, again.table)


def test_codes_and_clear_errors():
    ratings, key = _course(trainees=1)
    words = ratings[ITEMS].replace({1.0: "Low", 2.0: "moderate", 3.0: "HIGH"}).assign(trainee_id="T0")
    a = agreement_with_key(words, key[ITEMS], n_boot=20, random_state=1).table
    b = agreement_with_key(ratings[ITEMS + ["trainee_id"]], key[ITEMS], n_boot=20, random_state=1).table
    pd.testing.assert_frame_equal(a, b)
    bad_key = key[ITEMS].astype(float)
    bad_key.iloc[1, 3] = np.nan
    with pytest.raises(ValueError, match=r"key: not-rated cells at \(vignette, column\) \[\('v1', 'i4'\)\]"):
        agreement_with_key(ratings[ITEMS], bad_key, n_boot=20)
    other = ratings[ITEMS].rename(index={"v3": "v99"})
    with pytest.raises(ValueError, match=r"ratings: vignette\(s\) \['v99'\] have no key"):
        agreement_with_key(other, key[ITEMS], n_boot=20)
    with pytest.raises(ValueError, match=r"column i2: found \['often'\], expected numbers or the codes"):
        agreement_with_key(ratings[ITEMS].assign(i2="often"), key[ITEMS], n_boot=20)


def test_indicator_misses_tests_as_r_binom_test_and_p_adjust():
    import json
    from pathlib import Path

    from validation.stats.rater_training import indicator_misses

    ref = json.loads((Path(__file__).parent / "reference" / "rater_training" / "misses.json").read_text())
    # one vignette keyed "moderate" on every indicator; per indicator the misses too high (3) and too low (1)
    # of R's counts, and 5 ratings matching
    cols = [f"i{j}" for j in range(len(ref["too_high"]))]
    n = max(h + lo for h, lo in zip(ref["too_high"], ref["too_low"])) + 5
    data = {}
    for c, h, lo in zip(cols, ref["too_high"], ref["too_low"]):
        data[c] = [3] * h + [1] * lo + [2] * (n - h - lo)
    ratings = pd.DataFrame(data, index=pd.Index(["v1"] * n, name="vignette"))
    key = pd.DataFrame({c: [2] for c in cols}, index=pd.Index(["v1"], name="vignette"))
    res = indicator_misses(ratings, key)
    np.testing.assert_allclose(res.table["p"], ref["p"], rtol=1e-10)
    np.testing.assert_allclose(res.table["p_holm"], ref["p_holm"], rtol=1e-10)
    assert list(res.table["too_high"]) == ref["too_high"] and list(res.table["too_low"]) == ref["too_low"]
    flagged = {c: s for c, s in res.table["systematic"].items() if s}
    want = {c: ("too high" if h > lo else "too low")
            for c, h, lo, p in zip(cols, ref["too_high"], ref["too_low"], ref["p_holm"]) if p < 0.05}
    assert flagged == want and flagged
    assert res.by_vignette.loc["i0", "v1"] == pytest.approx((n - 8) / n)


def _planted_course(practice: int, set_b: int, training: int, controls: bool = True):
    """12 indicators on 2 vignettes a set (24 ratings an occasion), every key 'moderate'; a trainee matches
    12 + set_b (on set B) + practice (after) + training (after, trained arm) of the 24."""
    cols = [f"i{j}" for j in range(12)]
    vig = {"A": ["a1", "a2"], "B": ["b1", "b2"]}
    key = pd.DataFrame(2, index=pd.Index(vig["A"] + vig["B"], name="vignette"), columns=cols)
    rows = []
    for t in range(12):
        arm = "control" if controls and t >= 8 else "trained"
        order = ("A", "B") if t % 2 == 0 else ("B", "A")
        for occ, st in enumerate(order, start=1):
            hits = 12 + (set_b if st == "B" else 0) + (practice if occ == 2 else 0) + (
                training if occ == 2 and arm == "trained" else 0)
            flat = [2] * hits + [3] * (24 - hits)
            for i, v in enumerate(vig[st]):
                rows.append({"trainee_id": f"T{t:02d}", "occasion": occ, "vignette_set": st, "arm": arm,
                             "vignette": v, **dict(zip(cols, flat[12 * i:12 * (i + 1)]))})
    rows.append({"trainee_id": "T99", "occasion": 1, "vignette_set": "A", "arm": "trained", "vignette": "a1",
                 **{c: 2 for c in cols}})                       # missed the second occasion
    return pd.DataFrame(rows), key, cols


def test_training_change_recovers_planted_practice_set_and_training_effects():
    from validation.stats.rater_training import training_change

    ratings, key, cols = _planted_course(practice=2, set_b=1, training=4)
    res = training_change(ratings, key, cols, n_boot=300, random_state=5)
    est = res.effects["estimate"]
    assert est["practice"] == pytest.approx(2 / 24, abs=1e-12)
    assert est["set B - A"] == pytest.approx(1 / 24, abs=1e-12)
    assert est["training beyond practice"] == pytest.approx(4 / 24, abs=1e-12)
    assert est["mean change, trained"] == pytest.approx(6 / 24, abs=1e-12)
    assert est["mean change, control"] == pytest.approx(2 / 24, abs=1e-12)
    assert res.n_missed == 1 and "T99" not in res.trainees.index and res.note == ""
    assert (res.effects["ci_lower"] <= est + 1e-12).all() and (est <= res.effects["ci_upper"] + 1e-12).all()
    assert set(res.trainees["order"]) == {"A then B", "B then A"}


def test_without_a_control_arm_practice_and_training_are_one_term():
    from validation.stats.rater_training import training_change

    ratings, key, cols = _planted_course(practice=2, set_b=1, training=4, controls=False)
    res = training_change(ratings.drop(columns="arm"), key, cols, n_boot=100, random_state=5)
    assert "practice and training cannot be told apart" in res.note
    assert list(res.effects.index) == ["mean change, trained", "practice and training", "set B - A"]
    assert res.effects.loc["practice and training", "estimate"] == pytest.approx(6 / 24, abs=1e-12)
    assert res.effects.loc["set B - A", "estimate"] == pytest.approx(1 / 24, abs=1e-12)


def test_the_synthetic_courses_planted_truth_is_recovered(synthetic_course):
    """On the synthetic default: the three planted hard indicators match least and only the over-rated one
    is flagged; each trainee's expected exact agreement lies in its interval for at least 90% of trainees;
    the training effect is recovered in the trained arm and none in the control arm."""
    from validation.stats.rater_training import indicator_misses, training_change

    ratings, key, ind, truth, t = synthetic_course
    misses = indicator_misses(ratings[ind], key[ind], levels=[1, 2, 3])
    assert set(misses.table["share"].nsmallest(3).index) == set(truth["hard_indicators"])
    assert list(misses.table.index[misses.table["systematic"] != ""]) == [truth["over_rated_indicator"]]
    assert misses.table.loc[truth["over_rated_indicator"], "systematic"] == "too high"
    covered = []
    for occasion, when in ((1, "before"), (2, "after")):
        sub = ratings[ratings["occasion"] == occasion]
        res = agreement_with_key(sub[ind + ["trainee_id"]], key[ind], n_boot=1000, random_state=occasion)
        for tid, row in res.measure("exact, indicators").drop(index=OVERALL).iterrows():
            planted = truth["trainees"][tid][f"expected_exact_{when}"]
            covered.append(row["ci_lower"] <= planted <= row["ci_upper"])
    assert np.mean(covered) >= 0.90, np.mean(covered)
    change = training_change(t.training_ratings.rename(columns={"vignette_id": "vignette"}), key, ind,
                             n_boot=1000, random_state=1)
    planted = np.mean([v["expected_exact_after"] - v["expected_exact_before"] for v in truth["trainees"].values()
                       if v["arm"] == "trained" and not v["missed_occasion_2"]])
    did = change.effects.loc["training beyond practice"]
    assert did["ci_lower"] > 0 and did["ci_lower"] <= planted <= did["ci_upper"]
    control = change.effects.loc["mean change, control"]
    assert control["ci_lower"] <= 0 <= control["ci_upper"]
    assert change.n_missed == len(truth["missed_occasion_2"])
