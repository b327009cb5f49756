"""validation.agreement against R (psych 2.2.9) and textbook values.

References live in tests/reference/: synthetic_raters and textbook (copies of the shared
reference sets), agr_* (made by tests/reference/R/agreement_predictive.R).
"""

from __future__ import annotations

import json
import math
from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from validation.stats.agreement import cohen_kappa, fleiss_kappa, icc
from validation.stats.results import NotEstimable, to_dict

REF = Path(__file__).parent / "reference"
FORMS = ["ICC1", "ICC2", "ICC3", "ICC1k", "ICC2k", "ICC3k"]
MW = {"ICC1": "one-way single", "ICC2": "A,1", "ICC3": "C,1", "ICC1k": "one-way average", "ICC2k": "A,k", "ICC3k": "C,k"}


def load(folder: str) -> dict:
    return json.loads((REF / folder / "reference.json").read_text())


def num(v):
    """A number from a reference JSON, where non-finite values are written as strings."""
    return float(v) if isinstance(v, str) else v


def check_icc(res, ref: dict, tol: float = 1e-9) -> None:
    assert res.n_targets == ref["n_targets"]
    assert res.n_raters == ref["n_raters"]
    for f in ref["forms"]:
        g = res[f["type"]]
        assert g.icc == pytest.approx(f["icc"], abs=tol)
        assert g.f == pytest.approx(f["F"], rel=tol)
        assert g.df1 == f["df1"] and g.df2 == f["df2"]
        assert g.p == pytest.approx(f["p"], rel=1e-7, abs=1e-300)
        assert g.ci.lower == pytest.approx(f["lower"], abs=tol)
        assert g.ci.upper == pytest.approx(f["upper"], abs=tol)
    assert res.ms_targets == pytest.approx(ref["ms_targets"], rel=1e-12)
    assert res.ms_raters == pytest.approx(ref["ms_raters"], rel=1e-12)
    assert res.ms_error == pytest.approx(ref["ms_error"], rel=1e-12)
    assert res.ms_within == pytest.approx(ref["ms_within"], rel=1e-12)


# ------------------------------------------------------------------------------------- ICC


def test_icc_shared_synthetic_raters():
    ref = load("synthetic_raters")
    x = pd.read_csv(REF / "synthetic_raters" / "ratings.csv")
    res = icc(x)
    assert list(res.forms) == FORMS
    for f in ref["icc"]:
        g = res[f["type"]]
        assert g.icc == pytest.approx(f["icc"], abs=1e-9)
        assert g.f == pytest.approx(f["F"], abs=1e-9)
        assert g.ci.lower == pytest.approx(f["lower"], abs=1e-9)
        assert g.ci.upper == pytest.approx(f["upper"], abs=1e-9)
        assert g.ci.level == 0.95
    assert res.n_targets == 60 and res.n_raters == 3 and res.n_targets_dropped == 0


def test_icc_synthetic_raters_df_p_ms_and_90_percent():
    ref = load("agr_synthetic_raters")
    x = pd.read_csv(REF / "synthetic_raters" / "ratings.csv")
    check_icc(icc(x), ref["icc"])
    res90 = icc(x, ci=0.90)
    check_icc(res90, ref["icc_90"])
    assert res90["ICC2"].ci.level == 0.90


def test_icc_shrout_fleiss_table():
    ref = load("textbook")["shrout_fleiss_1979.csv"]
    res = icc(pd.read_csv(REF / "textbook" / "shrout_fleiss_1979.csv"))
    for name in FORMS:
        assert res[name].icc == pytest.approx(ref["icc"][name], abs=1e-9)
        assert res[name].ci.lower == pytest.approx(ref["ci95"][name][0], abs=1e-9)
        assert res[name].ci.upper == pytest.approx(ref["ci95"][name][1], abs=1e-9)
    # the values printed in Shrout & Fleiss (1979), Table 4, to two decimals
    printed = {"ICC1": 0.17, "ICC2": 0.29, "ICC3": 0.71, "ICC1k": 0.44, "ICC2k": 0.62, "ICC3k": 0.91}
    for name, v in printed.items():
        assert round(res[name].icc, 2) == v


def test_icc_mcgraw_wong_names():
    res = icc(pd.read_csv(REF / "textbook" / "shrout_fleiss_1979.csv"))
    for sf, mw in MW.items():
        assert res[mw] is res[sf]
        assert res[sf].mcgraw_wong == mw and res[sf].name == sf
    with pytest.raises(KeyError, match="unknown ICC form"):
        res["ICC4"]


def test_icc_missing_ratings_wide_drops_incomplete_targets():
    ref = load("agr_5cat")
    x = pd.read_csv(REF / "agr_5cat" / "ratings.csv")
    assert x.isna().any().any()
    res = icc(x)
    check_icc(res, ref["icc"])
    assert res.n_targets_dropped == ref["icc"]["n_dropped"] == 12
    assert any("12 target(s) dropped" in w for w in res.warnings)
    check_icc(icc(x, ci=0.90), ref["icc_90"])


def test_icc_long_format_matches_wide_and_absent_cells_count_as_missing():
    ref = load("agr_5cat")
    x = pd.read_csv(REF / "agr_5cat" / "ratings.csv")
    long = x.assign(case=[f"c{i:02d}" for i in range(len(x))]).melt(
        id_vars="case", var_name="rater", value_name="score"
    )
    res = icc(long, targets="case", raters="rater", ratings="score")
    check_icc(res, ref["icc"])
    assert res.n_targets_dropped == 12
    # absent rows instead of blank ratings, shuffled
    sparse = long.dropna().sample(frac=1.0, random_state=3)
    res2 = icc(sparse, targets="case", raters="rater", ratings="score")
    check_icc(res2, ref["icc"])
    assert res2.n_targets_dropped == 12


def test_icc_negative_values():
    ref = load("agr_negative")
    x = pd.read_csv(REF / "agr_negative" / "ratings.csv")
    res = icc(x)
    check_icc(res, ref["icc"])
    assert res["ICC1"].icc < 0 and res["ICC3"].icc < 0


def test_icc_invariant_to_order_and_numpy_input():
    x = pd.read_csv(REF / "synthetic_raters" / "ratings.csv")
    a = icc(x)
    b = icc(x.iloc[::-1, ::-1].to_numpy())
    for name in FORMS:
        assert b[name].icc == pytest.approx(a[name].icc, abs=1e-12)
        assert b[name].ci.lower == pytest.approx(a[name].ci.lower, abs=1e-12)


def test_icc_raters_without_any_rating_are_ignored():
    x = pd.read_csv(REF / "synthetic_raters" / "ratings.csv").assign(r4=np.nan)
    res = icc(x)
    assert res.n_raters == 3 and res.raters_dropped == ("r4",) and res.n_targets_dropped == 0
    assert res["ICC2"].icc == pytest.approx(icc(x.drop(columns="r4"))["ICC2"].icc, abs=1e-15)


def test_icc_to_dict_is_json_ready():
    d = to_dict(icc(pd.read_csv(REF / "textbook" / "shrout_fleiss_1979.csv")))
    json.dumps(d)
    assert d["forms"]["ICC2"]["mcgraw_wong"] == "A,1"
    assert d["forms"]["ICC2"]["ci"]["level"] == 0.95
    frame = icc(pd.read_csv(REF / "textbook" / "shrout_fleiss_1979.csv")).to_frame()
    assert list(frame.index) == FORMS and frame.loc["ICC3", "mcgraw_wong"] == "C,1"


@pytest.mark.parametrize(
    "data, match",
    [
        (pd.DataFrame({"a": [1.0], "b": [2.0]}), "at least 2 fully rated targets"),
        (pd.DataFrame({"a": [1.0, 2.0, 3.0]}), "at least 2 raters"),
        (pd.DataFrame({"a": [2, 2, 2], "b": [2, 2, 2]}), "all ratings are equal"),
        (pd.DataFrame({"a": [1, 2, 3], "b": [2, 3, 4]}), "no residual variation"),
        (pd.DataFrame({"a": [1, np.nan, 3], "b": [np.nan, 3, 4]}), "2 dropped for missing"),
    ],
)
def test_icc_not_estimable(data, match):
    with pytest.raises(NotEstimable, match=match) as exc:
        icc(data)
    assert str(exc.value).startswith("not estimable:")


def test_icc_bad_arguments():
    x = pd.read_csv(REF / "synthetic_raters" / "ratings.csv")
    with pytest.raises(ValueError, match="all three column names"):
        icc(x, targets="r1")
    with pytest.raises(ValueError, match="between 0 and 1"):
        icc(x, ci=95)
    with pytest.raises(ValueError, match="numeric"):
        icc(pd.DataFrame({"a": ["x", "y"], "b": ["y", "z"]}))
    long = pd.DataFrame({"t": [1, 1, 2, 2, 2], "r": ["a", "b", "a", "b", "b"], "v": [1, 2, 3, 4, 5]})
    with pytest.raises(ValueError, match="at most once"):
        icc(long, targets="t", raters="r", ratings="v")
    with pytest.raises(ValueError, match="not in the data"):
        icc(long, targets="t", raters="rater", ratings="v")
    with pytest.raises(ValueError, match="finite"):
        icc(pd.DataFrame({"a": [1, np.inf, 3], "b": [1, 2, 3]}))


# ------------------------------------------------------------------------------- Cohen's kappa


def test_cohen_kappa_shared_synthetic_raters():
    ref = load("synthetic_raters")["cohen_r1_r2"]
    x = pd.read_csv(REF / "synthetic_raters" / "ratings.csv")
    u = cohen_kappa(x.r1, x.r2)
    q = cohen_kappa(x.r1, x.r2, weights="quadratic", variance="psych")
    lin = cohen_kappa(x.r1, x.r2, weights="linear")
    assert u.kappa == pytest.approx(ref["unweighted"], abs=1e-9)
    assert (u.ci.lower, u.ci.upper) == pytest.approx(ref["ci_unweighted"], abs=1e-9)
    assert q.kappa == pytest.approx(ref["weighted_quadratic"], abs=1e-9)
    assert (q.ci.lower, q.ci.upper) == pytest.approx(ref["ci_weighted"], abs=1e-9)
    # the shared reference passes psych disagreement weights (1 - linear agreement weights):
    # the same kappa as linear agreement weights
    assert lin.kappa == pytest.approx(ref["weighted_linear"], abs=1e-9)
    assert u.n == 60 and u.n_dropped == 0 and u.levels == (1, 2, 3)


def same_label(v, r: str) -> bool:
    """A category against R's label (R prints the number 1 as "1")."""
    if isinstance(v, str):
        return v == r
    return float(v) == float(r)


def check_kappa(r1, r2, ref: dict, ci: float = 0.95, levels=None, n_dropped: int | None = None) -> None:
    for w, key in [(None, "unweighted"), ("quadratic", "quadratic"), ("linear", "linear")]:
        k = cohen_kappa(r1, r2, weights=w, ci=ci, levels=levels, variance="psych")
        assert k.kappa == pytest.approx(ref[key]["kappa"], abs=1e-9), key
        assert k.variance == pytest.approx(ref[key]["var"], abs=1e-12), key
        assert k.se == pytest.approx(math.sqrt(ref[key]["var"]), abs=1e-10), key
        assert (k.ci.lower, k.ci.upper) == pytest.approx(ref[key]["ci"], abs=1e-9), key
        assert k.n == ref["n"]
        assert [same_label(v, r) for v, r in zip(k.levels, ref["levels"])] == [True] * len(ref["levels"])
        if n_dropped is not None:
            assert k.n_dropped == n_dropped


def test_cohen_kappa_variances_and_linear_interval():
    ref = load("agr_synthetic_raters")
    x = pd.read_csv(REF / "synthetic_raters" / "ratings.csv")
    check_kappa(x.r1, x.r2, ref["kappa_r1_r2"], n_dropped=0)
    check_kappa(x.r2, x.r3, ref["kappa_r2_r3"])
    # psych given disagreement weights: same kappa, a different (not Fleiss-Cohen-Everitt) variance
    dis = ref["kappa_r1_r2_disagreement_w"]
    lin = cohen_kappa(x.r1, x.r2, weights="linear", variance="psych")
    assert lin.kappa == pytest.approx(dis["kappa"], abs=1e-12)
    assert lin.variance == pytest.approx(ref["kappa_r1_r2"]["linear"]["var"], abs=1e-12)
    assert abs(lin.variance - dis["var"]) > 1e-3


def test_cohen_kappa_with_missing_ratings_and_levels():
    ref = load("agr_5cat")
    x = pd.read_csv(REF / "agr_5cat" / "ratings.csv")
    for a, b in [("r1", "r2"), ("r3", "r4"), ("r1", "r4")]:
        dropped = int((x[a].isna() | x[b].isna()).sum())
        assert dropped > 0
        check_kappa(x[a], x[b], ref[f"kappa_{a}_{b}"], n_dropped=dropped)
    check_kappa(x.r1, x.r2, ref["kappa_r1_r2_levels_0_6"], levels=range(7))
    check_kappa(x.r2, x.r3, ref["kappa_r2_r3_90"], ci=0.90)


def test_cohen_kappa_text_categories():
    ref = load("agr_lmh")
    x = pd.read_csv(REF / "agr_lmh" / "ratings.csv")
    check_kappa(x.rater_a, x.rater_b, ref["kappa_default_levels"], n_dropped=ref["n_pairs_dropped"])
    check_kappa(x.rater_a, x.rater_b, ref["kappa_lmh"], levels=["L", "M", "H"])
    k = cohen_kappa(x.rater_a.tolist(), x.rater_b.tolist(), levels=["L", "M", "H"])
    assert k.levels == ("L", "M", "H") and sum(map(sum, k.table)) == k.n


def test_cohen_kappa_closed_forms():
    # perfect agreement: kappa 1, variance 0
    k = cohen_kappa([1, 2, 3, 1, 2], [1, 2, 3, 1, 2], weights="quadratic")
    assert k.kappa == pytest.approx(1.0) and k.variance == pytest.approx(0.0, abs=1e-15)
    # 2 x 2 table [[20, 5], [10, 15]]: po = 0.7, pe = 0.5*0.6 + 0.5*0.4 = 0.5, kappa = 0.4
    r1 = [0] * 25 + [1] * 25
    r2 = [0] * 20 + [1] * 5 + [0] * 10 + [1] * 15
    k = cohen_kappa(r1, r2)
    assert k.kappa == pytest.approx(0.4, abs=1e-15)
    assert k.p_observed == pytest.approx(0.7) and k.p_expected == pytest.approx(0.5)
    assert k.table == ((20, 5), (10, 15))
    # with two categories every weighting is the same
    assert cohen_kappa(r1, r2, weights="linear").kappa == pytest.approx(0.4, abs=1e-15)


def test_cohen_kappa_to_dict_and_missing_markers():
    k = cohen_kappa([1, None, 2, 3, np.nan, 2], pd.Series([1, 2, 2, None, 1, 2], dtype="Int64"))
    assert k.n == 3 and k.n_dropped == 3
    json.dumps(to_dict(k))


def test_cohen_kappa_not_estimable_and_bad_arguments():
    with pytest.raises(NotEstimable, match="single category"):
        cohen_kappa([1, 1, 1], [1, 1, 1])
    with pytest.raises(NotEstimable, match="chance agreement is 1"):
        cohen_kappa([1, 1, 1], [1, 1, 1], levels=[1, 2])
    with pytest.raises(NotEstimable, match="no pair"):
        cohen_kappa([1, None], [None, 2])
    with pytest.raises(ValueError, match="same length"):
        cohen_kappa([1, 2], [1, 2, 3])
    with pytest.raises(ValueError, match="weights"):
        cohen_kappa([1, 2], [1, 2], weights="cubic")
    with pytest.raises(ValueError, match="not among levels"):
        cohen_kappa([1, 2, 4], [1, 2, 3], levels=[1, 2, 3])
    with pytest.raises(ValueError, match="repeat"):
        cohen_kappa([1, 2], [1, 2], levels=[1, 2, 2])


# ------------------------------------------------------------------------------- Fleiss' kappa


def test_fleiss_kappa_textbook():
    ref = load("textbook")["fleiss_wikipedia_counts.csv"]
    counts = pd.read_csv(REF / "textbook" / "fleiss_wikipedia_counts.csv")
    res = fleiss_kappa(counts)
    assert round(res.kappa, 3) == ref["kappa"] == 0.210
    # intermediate values of the worked example: P-bar = 0.378, P-e = 0.213,
    # p_j = 0.143, 0.200, 0.279, 0.150, 0.229
    assert round(res.p_observed, 3) == 0.378 and round(res.p_expected, 3) == 0.213
    assert [round(c.proportion, 3) for c in res.categories.values()] == [0.143, 0.200, 0.279, 0.150, 0.229]
    assert res.n_subjects == 10 and res.n_raters == 14
    json.dumps(to_dict(res))


def test_fleiss_kappa_matches_statsmodels():
    from statsmodels.stats.inter_rater import fleiss_kappa as sm_fleiss

    rng = np.random.default_rng(11)
    counts = rng.multinomial(6, [0.5, 0.3, 0.2], size=40)
    assert fleiss_kappa(counts).kappa == pytest.approx(sm_fleiss(counts, method="fleiss"), abs=1e-12)


def test_fleiss_kappa_closed_forms():
    rng = np.random.default_rng(5)
    counts = rng.multinomial(5, [0.4, 0.35, 0.25], size=30)
    res = fleiss_kappa(counts)
    p = counts.sum(axis=0) / counts.sum()
    pq = p * (1 - p)
    # Fleiss (1971): kappa is the p_j q_j weighted mean of the per-category kappas
    kj = np.array([c.kappa for c in res.categories.values()])
    assert res.kappa == pytest.approx(float(np.sum(pq * kj) / pq.sum()), abs=1e-12)
    # two categories: both per-category kappas equal the overall one
    two = fleiss_kappa(rng.multinomial(4, [0.6, 0.4], size=25))
    for c in two.categories.values():
        assert c.kappa == pytest.approx(two.kappa, abs=1e-12)
    # standard error by hand, exact arithmetic (Fleiss, Nee & Landis 1979)
    tab = [[3, 0, 1], [1, 2, 1], [0, 4, 0], [2, 1, 1], [0, 0, 4]]
    n_sub, m = len(tab), 4
    pj = [Fraction(sum(r[j] for r in tab), n_sub * m) for j in range(3)]
    spq = sum(x * (1 - x) for x in pj)
    num_ = spq**2 - sum(x * (1 - x) * ((1 - x) - x) for x in pj)
    var = Fraction(2, n_sub * m * (m - 1)) * num_ / spq**2
    res = fleiss_kappa(np.array(tab))
    assert res.se == pytest.approx(math.sqrt(float(var)), abs=1e-15)
    assert res.z == pytest.approx(res.kappa / res.se, abs=1e-12)
    for c in res.categories.values():
        assert c.se == pytest.approx(math.sqrt(2 / (n_sub * m * (m - 1))), abs=1e-15)
    assert res.ci.lower == pytest.approx(res.kappa - 1.959963984540054 * res.se, abs=1e-12)


def test_fleiss_kappa_unused_category_and_errors():
    res = fleiss_kappa(pd.DataFrame({"L": [2, 1, 0], "M": [1, 2, 3], "H": [0, 0, 0]}))
    assert res.unused_categories == ("H",) and set(res.categories) == {"L", "M"}
    with pytest.raises(ValueError, match="same number of ratings"):
        fleiss_kappa([[1, 2], [2, 2]])
    with pytest.raises(ValueError, match="whole numbers"):
        fleiss_kappa([[1.5, 1.5], [2, 1]])
    with pytest.raises(NotEstimable, match="one category"):
        fleiss_kappa([[3, 0], [3, 0]])
    with pytest.raises(NotEstimable, match="at least 2 ratings"):
        fleiss_kappa([[1, 0], [0, 1]])


# ------------------------------------------------------------- ordinal text categories, paradox


def test_cohen_kappa_ordinal_lmh_needs_levels_for_weights():
    ref = load("agr_lmh")
    x = pd.read_csv(REF / "agr_lmh" / "ratings.csv")
    # unweighted kappa does not depend on the order of the categories ...
    a = cohen_kappa(x.rater_a, x.rater_b)
    b = cohen_kappa(x.rater_a, x.rater_b, levels=["L", "M", "H"])
    assert a.kappa == pytest.approx(b.kappa, abs=1e-15) == pytest.approx(ref["kappa_lmh"]["unweighted"]["kappa"])
    # ... weighted kappa does: text order H < L < M is wrong for an L/M/H scale
    wa = cohen_kappa(x.rater_a, x.rater_b, weights="quadratic")
    wb = cohen_kappa(x.rater_a, x.rater_b, weights="quadratic", levels=["L", "M", "H"])
    assert wa.levels == ("H", "L", "M") and wb.levels == ("L", "M", "H")
    assert wb.kappa == pytest.approx(ref["kappa_lmh"]["quadratic"]["kappa"], abs=1e-9)
    assert abs(wa.kappa - wb.kappa) > 0.1
    # the weight matrix follows the given order: L and H are furthest apart
    assert wb.weight_matrix[0][2] == 0.0 and wb.weight_matrix[0][1] == 0.75


def test_cohen_kappa_paradox_message():
    with pytest.raises(NotEstimable, match="kappa paradox") as exc:
        cohen_kappa(["no"] * 12, ["no"] * 12, levels=["no", "yes"])
    assert "chance agreement is 1" in str(exc.value) and "gwet_ac" in str(exc.value)
    with pytest.raises(NotEstimable, match="kappa paradox"):
        cohen_kappa(["no"] * 12, ["no"] * 12)
