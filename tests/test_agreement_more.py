"""validation.agreement for incomplete rating designs: Krippendorff's alpha, Gwet's AC1/AC2 and
related coefficients, two-rater agreement detail, SEM/SDC, Bland-Altman, REML ICCs.

References: tests/reference/textbook (Krippendorff 2011 worked example), the `krippendorff`
package (test-only dependency), irrCAC's published example on the same data, closed forms,
independent loop implementations written here, and R (lme4 / psych / base R) figures made by
tests/reference/R/agreement_more.R in tests/reference/agr2_*.
"""

from __future__ import annotations

import json
import math
from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from validation.stats.agreement import (
    _CrossedREML,
    agreement_detail,
    bland_altman,
    brennan_prediger,
    cohen_kappa,
    fleiss_kappa,
    fleiss_kappa_generalized,
    gwet_ac,
    icc,
    icc_reml,
    krippendorff_alpha,
    percent_agreement,
    sem_sdc,
)
from validation.stats.results import NotEstimable, to_dict

krippendorff = pytest.importorskip("krippendorff")

REF = Path(__file__).parent / "reference"
LEVELS = ["nominal", "ordinal", "interval", "ratio"]


def load(folder: str) -> dict:
    return json.loads((REF / folder / "reference.json").read_text())


def kripp_textbook() -> pd.DataFrame:
    return pd.read_csv(REF / "textbook" / "krippendorff_2011.csv").drop(columns="unit")


def random_ratings(seed: int, n_units: int, n_raters: int, n_cat: int, p_missing: float) -> np.ndarray:
    rng = np.random.default_rng(seed)
    truth = rng.integers(1, n_cat + 1, n_units)
    x = np.where(rng.random((n_units, n_raters)) < 0.6, truth[:, None], rng.integers(1, n_cat + 1, (n_units, n_raters)))
    x = x.astype(float)
    x[rng.random(x.shape) < p_missing] = np.nan
    return x


# ------------------------------------------------------------------------------ Krippendorff


def test_kripp_textbook_values():
    ref = load("textbook")["krippendorff_2011.csv"]["alpha"]
    x = kripp_textbook()
    for lv in LEVELS:
        res = krippendorff_alpha(x, level=lv, ci=None)
        assert round(res.alpha, 3) == ref[lv]
        assert res.n_units == 11 and res.n_units_unpairable == 1 and res.n_pairable == 40
        assert res.n_raters == 4 and res.ci is None
    # worked example: coincidence matrix of the nominal data (Krippendorff 2011, example C)
    res = krippendorff_alpha(x, level="nominal", ci=None)
    o = np.array(res.coincidence)
    expected = np.array(
        [[7, 4 / 3, 1 / 3, 1 / 3, 0], [4 / 3, 10, 4 / 3, 1 / 3, 0], [1 / 3, 4 / 3, 8, 1 / 3, 0],
         [1 / 3, 1 / 3, 1 / 3, 4, 0], [0, 0, 0, 0, 3]]
    )
    assert np.allclose(o, expected, atol=1e-12)
    assert res.values == (1, 2, 3, 4, 5)


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize(
    "seed, n_units, n_raters, n_cat, p_missing",
    [(1, 30, 2, 2, 0.0), (2, 50, 3, 5, 0.1), (3, 120, 6, 7, 0.4), (4, 15, 4, 3, 0.3), (5, 200, 3, 4, 0.05)],
)
def test_kripp_matches_krippendorff_package(level, seed, n_units, n_raters, n_cat, p_missing):
    x = random_ratings(seed, n_units, n_raters, n_cat, p_missing)
    ours = krippendorff_alpha(x, level=level, ci=None).alpha
    theirs = krippendorff.alpha(reliability_data=x.T, level_of_measurement=level)
    assert ours == pytest.approx(theirs, abs=1e-9)


@pytest.mark.parametrize("level", LEVELS)
def test_kripp_continuous_values_match_package(level):
    rng = np.random.default_rng(7)
    x = np.round(rng.gamma(4.0, 2.0, size=(60, 3)) + rng.normal(0, 1, size=(60, 1)) ** 2, 2)
    x[rng.random(x.shape) < 0.15] = np.nan
    ours = krippendorff_alpha(x, level=level, ci=None)
    assert ours.coincidence is None  # many distinct values: no matrix in the result
    theirs = krippendorff.alpha(reliability_data=x.T, level_of_measurement=level)
    assert ours.alpha == pytest.approx(theirs, abs=1e-9)


def test_kripp_text_categories_and_long_format():
    x = kripp_textbook()
    labels = {1: "a", 2: "b", 3: "c", 4: "d", 5: "e"}
    text = x.apply(lambda c: c.map(labels))
    nominal = krippendorff_alpha(x, "nominal", ci=None).alpha
    assert krippendorff_alpha(text, "nominal", ci=None).alpha == pytest.approx(nominal, abs=1e-15)
    ordinal = krippendorff_alpha(x, "ordinal", ci=None).alpha
    res = krippendorff_alpha(text, "ordinal", ci=None, levels=["a", "b", "c", "d", "e"])
    assert res.alpha == pytest.approx(ordinal, abs=1e-15)
    # reversed order: the same ordinal alpha (the metric is symmetric)
    rev = krippendorff_alpha(text, "ordinal", ci=None, levels=["e", "d", "c", "b", "a"]).alpha
    assert rev == pytest.approx(ordinal, abs=1e-12)
    long = x.assign(unit=range(len(x))).melt(id_vars="unit", var_name="coder", value_name="v").dropna()
    for lv in LEVELS:
        a = krippendorff_alpha(long.sample(frac=1, random_state=1), lv, ci=None, targets="unit", raters="coder", ratings="v")
        assert a.alpha == pytest.approx(krippendorff_alpha(x, lv, ci=None).alpha, abs=1e-14)


def test_kripp_two_coders_binary_closed_form():
    # Krippendorff (2011), example A: two coders, ten units, binary values -> alpha = 0.095
    a = [0, 1, 0, 0, 0, 0, 0, 0, 1, 0]
    b = [1, 1, 1, 0, 0, 1, 0, 0, 0, 0]
    res = krippendorff_alpha(np.column_stack([a, b]), "nominal", ci=None)
    # by hand: o_00 = 10, o_01 = o_10 = 4, o_11 = 2; n_0 = 14, n_1 = 6, n = 20
    assert np.allclose(np.array(res.coincidence), [[10, 4], [4, 2]])
    assert res.alpha == pytest.approx(1 - 19 * 8 / (2 * 14 * 6), abs=1e-15)
    assert round(res.alpha, 3) == 0.095


def _slow_unit_bootstrap(x: np.ndarray, level: str, n_boot: int, seed: int, ci: float) -> tuple[float, float]:
    """The unit bootstrap redone one replicate at a time with the krippendorff package, drawing
    the same units."""
    pairable = x[(~np.isnan(x)).sum(axis=1) >= 2]
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, pairable.shape[0], size=(n_boot, pairable.shape[0]))
    reps = []
    for d in draws:
        sample = pairable[d]
        if len(np.unique(sample[~np.isnan(sample)])) < 2:
            continue
        reps.append(krippendorff.alpha(reliability_data=sample.T, level_of_measurement=level))
    return tuple(np.quantile(reps, [(1 - ci) / 2, 1 - (1 - ci) / 2]))


@pytest.mark.parametrize("level", LEVELS)
def test_kripp_bootstrap_equals_replicate_by_replicate_recomputation(level):
    x = random_ratings(11, 40, 3, 4, 0.2)
    res = krippendorff_alpha(x, level=level, ci=0.9, n_boot=300, seed=123)
    lo, hi = _slow_unit_bootstrap(x, level, 300, 123, 0.9)
    assert res.ci.lower == pytest.approx(lo, abs=1e-9)
    assert res.ci.upper == pytest.approx(hi, abs=1e-9)
    assert res.ci.level == 0.9 and res.n_boot == 300
    assert res.ci.lower <= res.alpha <= res.ci.upper
    again = krippendorff_alpha(x, level=level, ci=0.9, n_boot=300, seed=123)
    assert again.ci == res.ci and again.p_below == res.p_below


def test_kripp_bootstrap_textbook_undefined_replicates_and_p_below():
    res = krippendorff_alpha(kripp_textbook(), "nominal", n_boot=500, seed=1)
    lo, hi = _slow_unit_bootstrap(kripp_textbook().to_numpy(dtype=float), "nominal", 500, 1, 0.95)
    assert (res.ci.lower, res.ci.upper) == pytest.approx((lo, hi), abs=1e-9)
    assert 0 <= res.p_below["0.667"] <= res.p_below["0.800"] <= 1
    json.dumps(to_dict(res))


def test_kripp_not_estimable_and_bad_arguments():
    with pytest.raises(NotEstimable, match="all pairable values are the same"):
        krippendorff_alpha(np.array([[1.0, 1.0], [1.0, 1.0], [2.0, np.nan]]), ci=None)
    with pytest.raises(NotEstimable, match="no unit was rated by at least 2"):
        krippendorff_alpha(np.array([[1.0, np.nan], [np.nan, 2.0]]), ci=None)
    with pytest.raises(ValueError, match="level must be one of"):
        krippendorff_alpha(kripp_textbook(), level="cardinal")
    text = pd.DataFrame({"a": ["x", "y", "x"], "b": ["x", "y", "y"]})
    with pytest.raises(ValueError, match="needs numeric ratings"):
        krippendorff_alpha(text, level="interval")
    with pytest.raises(ValueError, match="needs their order"):
        krippendorff_alpha(text, level="ordinal")
    with pytest.raises(ValueError, match=">= 0"):
        krippendorff_alpha(np.array([[-1.0, 2.0], [1.0, 2.0]]), level="ratio")
    with pytest.raises(ValueError, match="n_boot"):
        krippendorff_alpha(kripp_textbook(), n_boot=-1)
    with pytest.raises(ValueError, match="not among levels"):
        krippendorff_alpha(text, level="nominal", levels=["x"])
    with pytest.raises(TypeError, match="seed"):
        krippendorff_alpha(kripp_textbook(), seed="abc")


# -------------------------------------------------------------------- Gwet's AC1 and family


def test_gwet_family_published_example():
    # irrCAC's documented output for cac.raw4raters (the same 12 units x 4 raters as
    # Krippendorff's example), printed to 5 decimals
    x = kripp_textbook()
    ac1 = gwet_ac(x)
    assert ac1.coefficient == "AC1"
    assert ac1.p_agreement == pytest.approx(0.8181818, abs=1e-7)
    assert ac1.p_chance == pytest.approx(0.1903212, abs=1e-7)
    assert round(ac1.estimate, 5) == 0.77544 and round(ac1.se, 5) == 0.14295
    assert (round(ac1.ci.lower, 3), ac1.ci.upper) == (0.461, 1.0)
    fk = fleiss_kappa_generalized(x)
    assert fk.p_chance == pytest.approx(0.2387153, abs=1e-7)
    assert round(fk.estimate, 5) == 0.76117 and round(fk.se, 5) == 0.15302
    bp = brennan_prediger(x)
    assert round(bp.estimate, 5) == 0.77273 and round(bp.se, 5) == 0.14472
    pa = percent_agreement(x)
    assert pa.estimate == pytest.approx(9 / 11, abs=1e-15) and pa.p_chance == 0.0
    assert ac1.n_units == 12 and ac1.n_units_paired == 11 and ac1.n_ratings == 41


def _loop_coefficients(x: np.ndarray, kind: str, w: np.ndarray, cats: list) -> tuple[float, float]:
    """Gwet's (2014) formulas with explicit loops over units and categories, written out
    independently of the module."""
    q = len(cats)
    units = []
    for row in x:
        vals = [v for v in row if not (isinstance(v, float) and math.isnan(v))]
        if vals:
            units.append([sum(1 for v in vals if v == c) for c in cats])
    n = len(units)
    r = [sum(u) for u in units]
    n2 = sum(1 for ri in r if ri >= 2)
    pa_i = []
    for u, ri in zip(units, r):
        if ri >= 2:
            s = 0.0
            for k in range(q):
                rstar = sum(w[k][l_] * u[l_] for l_ in range(q))
                s += u[k] * (rstar - 1)
            pa_i.append(s / (ri * (ri - 1)))
        else:
            pa_i.append(None)
    pa = sum(p for p in pa_i if p is not None) / n2
    pi = [sum(u[k] / ri for u, ri in zip(units, r)) / n for k in range(q)]
    tw = sum(sum(row) for row in w)
    if kind == "ac":
        pe = tw / (q * (q - 1)) * sum(p * (1 - p) for p in pi)
    elif kind == "fleiss":
        pe = sum(w[k][l_] * pi[k] * pi[l_] for k in range(q) for l_ in range(q))
    elif kind == "bp":
        pe = tw / q**2
    else:
        pe = 0.0
    coef = (pa - pe) / (1 - pe)
    total = 0.0
    for u, ri, p in zip(units, r, pa_i):
        g = (n / n2) * (p - pe) / (1 - pe) if p is not None else 0.0
        if kind == "ac":
            pei = tw / (q * (q - 1)) * sum(u[k] / ri * (1 - pi[k]) for k in range(q))
        elif kind == "fleiss":
            pei = 0.0
            for k in range(q):
                pik = sum(w[l_][k] * pi[l_] for l_ in range(q))
                pki = sum(w[k][l_] * pi[l_] for l_ in range(q))
                pei += u[k] / ri * (pik + pki) / 2
        else:
            pei = pe
        if kind == "pa":
            gstar = (n / n2) * (p if p is not None else 0.0)
        else:
            gstar = g - 2 * (1 - coef) * (pei - pe) / (1 - pe)
        total += (gstar - coef) ** 2
    return coef, math.sqrt(total / (n * (n - 1)))


FUNCS = {"ac": gwet_ac, "fleiss": fleiss_kappa_generalized, "bp": brennan_prediger, "pa": percent_agreement}


@pytest.mark.parametrize("kind", list(FUNCS))
@pytest.mark.parametrize("weights", [None, "linear", "quadratic", "ordinal", "radical"])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_gwet_family_matches_loop_implementation(kind, weights, seed):
    x = random_ratings(seed, 25 + 10 * seed, 2 + seed, 4, 0.25)
    x[0, :] = np.nan  # a unit nobody rated
    x[1, 1:] = np.nan  # a unit with one rating
    res = FUNCS[kind](x, weights=weights)
    cats = [float(c) for c in res.levels]
    w = [list(row) for row in res.weight_matrix]
    coef, se = _loop_coefficients(x, kind, w, cats)
    assert res.estimate == pytest.approx(coef, abs=1e-12)
    assert res.se == pytest.approx(se, abs=1e-12)
    assert res.n_units == int((~np.isnan(x)).any(axis=1).sum())
    assert res.n_units_paired == int(((~np.isnan(x)).sum(axis=1) >= 2).sum())
    assert any("no rating at all" in m for m in res.warnings)


def test_gwet_weights_closed_forms():
    x = np.array([[1, 2], [2, 2], [3, 5], [5, 5], [2, 3]], dtype=float)
    lin = gwet_ac(x, weights="linear")
    assert lin.coefficient == "AC2" and lin.levels == (1.0, 2.0, 3.0, 5.0)
    w = np.array(lin.weight_matrix)
    vals = np.array([1, 2, 3, 5.0])
    assert np.allclose(w, 1 - np.abs(vals[:, None] - vals[None, :]) / 4)  # on the values, range 4
    quad = np.array(gwet_ac(x, weights="quadratic").weight_matrix)
    assert np.allclose(quad, 1 - (vals[:, None] - vals[None, :]) ** 2 / 16)
    ordw = np.array(gwet_ac(x, weights="ordinal").weight_matrix)  # on ranks 1..4
    m = np.abs(np.arange(4)[:, None] - np.arange(4)[None, :]) + 1
    assert np.allclose(ordw, 1 - m * (m - 1) / 2 / 6)
    # a custom matrix equal to the linear weights gives the same coefficient
    assert gwet_ac(x, weights=w).estimate == pytest.approx(lin.estimate, abs=1e-15)
    assert gwet_ac(x, weights=np.eye(4)).estimate == pytest.approx(gwet_ac(x).estimate, abs=1e-15)
    with pytest.raises(ValueError, match="weights must be"):
        gwet_ac(x, weights="cubic")
    with pytest.raises(ValueError, match="4 x 4"):
        gwet_ac(x, weights=np.eye(3))
    with pytest.raises(ValueError, match="diagonal"):
        gwet_ac(x, weights=np.zeros((4, 4)))


def test_gwet_two_raters_two_categories_closed_form():
    # table [[a, b], [c, d]] = [[40, 5], [3, 2]]: pa = 0.84, pi_1 = (45 + 43)/100 = 0.88
    r1 = [1] * 45 + [0] * 5
    r2 = [1] * 40 + [0] * 5 + [1] * 3 + [0] * 2
    x = np.column_stack([r1, r2]).astype(float)
    ac1 = gwet_ac(x)
    pe = 2 * 0.88 * 0.12
    assert ac1.p_chance == pytest.approx(pe, abs=1e-15)
    assert ac1.estimate == pytest.approx((0.84 - pe) / (1 - pe), abs=1e-14)
    # Brennan-Prediger with 2 categories is PABAK = 2 pa - 1
    assert brennan_prediger(x).estimate == pytest.approx(0.68, abs=1e-14)
    assert agreement_detail(r1, r2).pabak == pytest.approx(0.68, abs=1e-14)
    # Fleiss' generalized kappa on complete data is Fleiss (1971) kappa (Scott's pi for 2 raters)
    counts = np.column_stack([(x == 0).sum(axis=1), (x == 1).sum(axis=1)])
    assert fleiss_kappa_generalized(x).estimate == pytest.approx(fleiss_kappa(counts).kappa, abs=1e-14)


def test_gwet_long_and_text_input():
    x = kripp_textbook()
    labels = {1: "a", 2: "b", 3: "c", 4: "d", 5: "e"}
    text = x.apply(lambda c: c.map(labels))
    assert gwet_ac(text).estimate == pytest.approx(gwet_ac(x).estimate, abs=1e-15)
    long = x.assign(unit=range(len(x))).melt(id_vars="unit", var_name="coder", value_name="v").dropna()
    res = gwet_ac(long, targets="unit", raters="coder", ratings="v", weights="quadratic")
    assert res.estimate == pytest.approx(gwet_ac(x, weights="quadratic").estimate, abs=1e-15)
    json.dumps(to_dict(res))


def test_kappa_paradox_kappa_not_estimable_ac1_estimable():
    r1 = [0] * 20
    r2 = [0] * 20
    with pytest.raises(NotEstimable, match="kappa paradox"):
        cohen_kappa(r1, r2, levels=[0, 1])
    with pytest.raises(NotEstimable, match="single category"):
        cohen_kappa(r1, r2)
    x = np.column_stack([r1, r2]).astype(float)
    ac1 = gwet_ac(x, levels=[0, 1])
    assert ac1.estimate == 1.0 and ac1.p_chance == 0.0 and ac1.se == 0.0
    with pytest.raises(NotEstimable, match="kappa paradox"):
        fleiss_kappa_generalized(x, levels=[0, 1])
    # without levels the scale is unknown: AC1 takes chance agreement 0 and says so
    one = gwet_ac(x)
    assert one.estimate == 1.0 and any("single category" in w for w in one.warnings)
    d = agreement_detail(r1, r2, levels=[0, 1])
    assert d.kappa is None and "kappa paradox" in d.not_estimable["kappa"]
    assert d.p_observed == 1.0 and d.pabak == 1.0 and d.p_negative == 1.0 and d.p_positive is None
    assert d.prevalence_index == -1.0 and d.bias_index == 0.0
    with pytest.raises(NotEstimable, match="all pairable values are the same"):
        krippendorff_alpha(x, ci=None)
    # nearly all in one category: kappa collapses while agreement and AC1 stay high
    r1 = [0] * 18 + [1, 0]
    r2 = [0] * 18 + [0, 1]
    k = cohen_kappa(r1, r2)
    assert k.kappa < 0 and agreement_detail(r1, r2).p_observed == 0.9
    assert gwet_ac(np.column_stack([r1, r2]).astype(float)).estimate > 0.85


def test_gwet_not_estimable_and_bad_arguments():
    with pytest.raises(NotEstimable, match="at least 2 raters"):
        gwet_ac(np.array([[1.0, np.nan], [np.nan, 2.0]]))
    with pytest.raises(NotEstimable, match="no rating"):
        gwet_ac(np.full((3, 2), np.nan))
    with pytest.raises(NotEstimable, match="at least 2 rated units"):
        gwet_ac(np.array([[1.0, 2.0]]))
    with pytest.raises(ValueError, match="between 0 and 1"):
        gwet_ac(kripp_textbook(), ci=1.5)
    with pytest.raises(ValueError, match="not among levels"):
        gwet_ac(kripp_textbook(), levels=[1, 2, 3])


# ------------------------------------------------------------------------- agreement detail


def test_agreement_detail_two_by_two_closed_forms():
    a, b, c, d = 40, 6, 9, 15  # rows: rater 1 (positive, negative)
    r1 = [1] * (a + b) + [0] * (c + d)
    r2 = [1] * a + [0] * b + [1] * c + [0] * d
    res = agreement_detail(r1, r2)
    n = a + b + c + d
    po = Fraction(a + d, n)
    pe = Fraction((a + b) * (a + c) + (c + d) * (b + d), n * n)
    assert res.table == ((d, c), (b, a))  # levels (0, 1)
    assert res.positive == 1
    assert res.p_observed == pytest.approx(float(po), abs=1e-15)
    assert res.p_expected == pytest.approx(float(pe), abs=1e-15)
    kappa = (po - pe) / (1 - pe)
    assert res.kappa == pytest.approx(float(kappa), abs=1e-14)
    assert res.kappa == pytest.approx(cohen_kappa(r1, r2).kappa, abs=1e-14)
    assert res.p_positive == pytest.approx(2 * a / (2 * a + b + c), abs=1e-15)
    assert res.p_negative == pytest.approx(2 * d / (2 * d + b + c), abs=1e-15)
    pi_, bi_ = (a - d) / n, (b - c) / n
    assert res.prevalence_index == pytest.approx(pi_, abs=1e-15)
    assert res.bias_index == pytest.approx(bi_, abs=1e-15)
    assert res.pabak == pytest.approx(float(2 * po - 1), abs=1e-15)
    # Byrt, Bishop & Carlin (1993): kappa from PABAK, PI and BI
    assert res.kappa == pytest.approx((res.pabak - pi_**2 + bi_**2) / (1 - pi_**2 + bi_**2), abs=1e-14)
    pomax = Fraction(min(a + b, a + c) + min(c + d, b + d), n)
    assert res.kappa_max == pytest.approx(float((pomax - pe) / (1 - pe)), abs=1e-14)
    # the other category as positive swaps the specific agreements and the sign of PI
    sw = agreement_detail(r1, r2, positive=0)
    assert sw.p_positive == res.p_negative and sw.prevalence_index == pytest.approx(-pi_)
    json.dumps(to_dict(res))


def test_agreement_detail_categorical_lmh():
    x = pd.read_csv(REF / "agr_lmh" / "ratings.csv")
    res = agreement_detail(x.rater_a, x.rater_b, levels=["L", "M", "H"])
    k = cohen_kappa(x.rater_a, x.rater_b, levels=["L", "M", "H"])
    assert res.kappa == pytest.approx(k.kappa, abs=1e-14) and res.n == k.n and res.n_dropped == 4
    assert res.prevalence_index is None and res.bias_index is None and res.p_positive is None
    t = np.array(res.table)
    for i, lab in enumerate(["L", "M", "H"]):
        assert res.specific_agreement[lab] == pytest.approx(2 * t[i, i] / (t[i].sum() + t[:, i].sum()))
    assert res.pabak == pytest.approx((3 * res.p_observed - 1) / 2, abs=1e-15)
    both = x.dropna()
    assert res.pabak == pytest.approx(brennan_prediger(both, levels=["L", "M", "H"]).estimate, abs=1e-14)


def test_agreement_detail_errors():
    with pytest.raises(ValueError, match="same length"):
        agreement_detail([1, 0], [1])
    with pytest.raises(NotEstimable, match="no pair"):
        agreement_detail([1, None], [None, 0])
    with pytest.raises(NotEstimable, match="levels="):
        agreement_detail([1, 1], [1, 1])
    with pytest.raises(ValueError, match="positive"):
        agreement_detail([1, 0], [1, 0], positive=2)
    with pytest.raises(ValueError, match="two categories only"):
        agreement_detail([1, 0, 2], [1, 0, 2], positive=1)


# ------------------------------------------------------------------------ SEM / SDC, Bland-Altman


def test_sem_sdc_closed_form():
    res = sem_sdc(0.84, 5.0)
    assert res.sem == pytest.approx(2.0, abs=1e-15)
    assert res.sdc == pytest.approx(1.959963984540054 * math.sqrt(2) * 2.0, abs=1e-12)
    assert round(res.sdc, 2) == 5.54
    r90 = sem_sdc(0.84, 5.0, ci=0.90)
    assert r90.sdc == pytest.approx(1.6448536269514722 * math.sqrt(2) * 2.0, abs=1e-12)
    form = icc(pd.read_csv(REF / "textbook" / "shrout_fleiss_1979.csv"))["ICC2"]
    assert sem_sdc(form, 2.0).icc == form.icc
    assert sem_sdc(-0.2, 1.0).warnings
    with pytest.raises(ValueError, match="at most 1"):
        sem_sdc(1.2, 1.0)
    with pytest.raises(ValueError, match="> 0"):
        sem_sdc(0.5, 0.0)
    with pytest.raises(ValueError, match="finite"):
        sem_sdc(float("nan"), 1.0)


@pytest.mark.parametrize("key, level", [("ci95", 0.95), ("ci90", 0.90)])
def test_bland_altman_against_r(key, level):
    ref = load("agr2_bland_altman")[key]
    x = pd.read_csv(REF / "agr2_bland_altman" / "pairs.csv")
    ex = bland_altman(x.x1, x.x2, ci=level, loa=level)
    ap = bland_altman(x.x1, x.x2, ci=level, loa=level, interval_method="approximate")
    for res in (ex, ap):
        assert res.n == ref["n"]
        assert res.bias == pytest.approx(ref["bias"], abs=1e-12)
        assert res.sd == pytest.approx(ref["sd"], abs=1e-12)
        assert res.lower == pytest.approx(ref["lower_loa"], abs=1e-12)
        assert res.upper == pytest.approx(ref["upper_loa"], abs=1e-12)
        assert (res.bias_ci.lower, res.bias_ci.upper) == pytest.approx(ref["bias_ci"], abs=1e-12)
    assert (ap.lower_ci.lower, ap.lower_ci.upper) == pytest.approx(ref["approx"]["lower_ci"], abs=1e-12)
    assert (ap.upper_ci.lower, ap.upper_ci.upper) == pytest.approx(ref["approx"]["upper_ci"], abs=1e-12)
    # exact intervals: scipy's and R's noncentral t quantiles agree to ~1e-11 here
    assert (ex.lower_ci.lower, ex.lower_ci.upper) == pytest.approx(ref["exact"]["lower_ci"], abs=1e-9)
    assert (ex.upper_ci.lower, ex.upper_ci.upper) == pytest.approx(ref["exact"]["upper_ci"], abs=1e-9)
    # the exact interval is wider than the approximate one and not symmetric about the limit
    assert ex.upper_ci.upper - ex.upper_ci.lower > ap.upper_ci.upper - ap.upper_ci.lower


def test_bland_altman_closed_form_and_errors():
    res = bland_altman([3, 5, 7, 9, np.nan], [2, 3, 4, 5, 1], interval_method="approximate")
    d = np.array([1.0, 2, 3, 4])
    assert res.n == 4 and res.n_dropped == 1
    assert res.bias == 2.5 and res.sd == pytest.approx(d.std(ddof=1), abs=1e-15)
    z = 1.959963984540054
    assert res.upper == pytest.approx(2.5 + z * d.std(ddof=1), abs=1e-14)
    se = d.std(ddof=1) * math.sqrt(1 / 4 + z * z / 6)
    assert res.upper_ci.upper - res.upper == pytest.approx(3.182446305284263 * se, abs=1e-12)
    assert res.mean_of_means == pytest.approx(np.mean([2.5, 4, 5.5, 7]))
    with pytest.raises(NotEstimable, match="at least 3"):
        bland_altman([1, 2], [1, 3])
    with pytest.raises(NotEstimable, match="SD 0"):
        bland_altman([1, 2, 3], [0, 1, 2])
    with pytest.raises(ValueError, match="interval_method"):
        bland_altman([1, 2, 3], [1, 2, 4], interval_method="bootstrap")
    with pytest.raises(ValueError, match="numeric"):
        bland_altman(["a", "b", "c"], [1, 2, 3])
    with pytest.raises(ValueError, match="same length"):
        bland_altman([1, 2, 3], [1, 2])


# ------------------------------------------------------------------------------- REML ICC


def psych_forms(vt: float, vr: float, ve: float, k: float) -> dict[str, float]:
    """psych::ICC(lmer = TRUE): expected mean squares plugged into the ANOVA formulas."""
    n = 1.0  # cancels
    msb, msj, msw, mse = k * vt + ve, n * vr + ve, ve + vr, ve
    return {
        "ICC1": (msb - msw) / (msb + (k - 1) * msw),
        "ICC2": (msb - mse) / (msb + (k - 1) * mse + k * (msj - mse) / n),
        "ICC3": (msb - mse) / (msb + (k - 1) * mse),
        "ICC1k": (msb - msw) / msb,
        "ICC2k": (msb - mse) / (msb + (msj - mse) / n),
        "ICC3k": (msb - mse) / msb,
    }


def reml_case(folder: str):
    if folder in ("agr2_icc_pairs", "agr2_icc_oneway"):
        x = pd.read_csv(REF / folder / "ratings.csv")
        return x, {"targets": "target", "raters": "rater", "ratings": "score"}
    src = "synthetic_raters" if folder == "agr2_icc_synth" else folder
    return pd.read_csv(REF / src / "ratings.csv"), {}


@pytest.mark.parametrize("folder", ["agr2_icc_crossed", "agr2_icc_pairs", "agr2_icc_boundary", "agr2_icc_synth"])
def test_icc_reml_against_lme4_and_psych(folder):
    ref = load(folder)
    x, kw = reml_case(folder)
    res = icc_reml(x, ci=None, **kw)
    lm = ref["lme4"]
    assert res.n_targets == ref["n_targets"] and res.n_raters == ref["n_raters"] and res.n_ratings == ref["n_ratings"]
    # the REML optimum: ours is at least as low as lme4's (tight bobyqa) criterion
    assert res.reml_criterion == pytest.approx(lm["reml_criterion"], abs=1e-8)
    assert res.reml_criterion <= lm["reml_criterion"] + 1e-9
    assert res.var_targets == pytest.approx(lm["var_targets"], rel=2e-6)
    assert res.var_residual == pytest.approx(lm["var_residual"], rel=2e-6)
    assert res.var_raters == pytest.approx(lm["var_raters"], rel=2e-5, abs=1e-10)
    assert res.intercept == pytest.approx(lm["intercept"], abs=1e-6)
    expected = psych_forms(lm["var_targets"], lm["var_raters"], lm["var_residual"], ref["n_raters"])
    for f in ref["psych"]["forms"]:
        assert res[f["type"]].icc == pytest.approx(expected[f["type"]], abs=1e-6)
        # psych's own figures (lme4's default optimiser, less tight)
        assert res[f["type"]].icc == pytest.approx(f["icc"], abs=2e-5)
    assert res.var_targets == pytest.approx(ref["psych"]["var_targets"], rel=5e-5)
    assert set(res.forms) == {"ICC1", "ICC2", "ICC3", "ICC1k", "ICC2k", "ICC3k"} and not res.not_estimable
    json.dumps(to_dict(res))


def test_icc_reml_complete_balanced_equals_anova():
    x = pd.read_csv(REF / "synthetic_raters" / "ratings.csv")
    a = icc(x)
    res = icc_reml(x, ci=None)
    n, k = a.n_targets, a.n_raters
    # balanced complete data: REML = ANOVA (method of moments) estimates when these are >= 0
    assert res.var_residual == pytest.approx(a.ms_error, rel=1e-6)
    assert res.var_targets == pytest.approx((a.ms_targets - a.ms_error) / k, rel=1e-6)
    assert res.var_raters == pytest.approx((a.ms_raters - a.ms_error) / n, rel=1e-5)
    for nm in ("ICC2", "ICC3", "ICC2k", "ICC3k"):
        assert res[nm].icc == pytest.approx(a[nm].icc, abs=1e-7)
    assert res.design.startswith("complete crossed") and res.n_components == 1
    assert res["A,1"] is res["ICC2"]


def test_icc_reml_pairs_design_k_and_long_wide():
    ref = load("agr2_icc_pairs")
    x, kw = reml_case("agr2_icc_pairs")
    res = icc_reml(x, ci=None, **kw)
    assert res.design.startswith("incomplete crossed") and res.mean_ratings_per_target == 2.0
    assert any("k = 8" in w for w in res.warnings)
    two = icc_reml(x, ci=None, k=2, **kw)
    vt, vr, ve = ref["lme4"]["var_targets"], ref["lme4"]["var_raters"], ref["lme4"]["var_residual"]
    assert two["ICC2k"].icc == pytest.approx(vt / (vt + (vr + ve) / 2), abs=1e-6)
    assert two["ICC3k"].icc == pytest.approx(vt / (vt + ve / 2), abs=1e-6)
    assert two["ICC2"].icc == res["ICC2"].icc and two.k == 2.0
    wide = x.pivot(index="target", columns="rater", values="score")
    w = icc_reml(wide, ci=None)
    # the same optimum up to the optimiser's precision (the criterion is flat at its minimum)
    assert w.var_targets == pytest.approx(res.var_targets, rel=2e-6)
    assert w.reml_criterion == pytest.approx(res.reml_criterion, abs=1e-9)


def test_icc_reml_boundary():
    ref = load("agr2_icc_boundary")
    assert ref["lme4"]["singular"] is True and ref["lme4"]["var_raters"] == 0
    x, _ = reml_case("agr2_icc_boundary")
    res = icc_reml(x, ci=None)
    assert res.var_raters == 0.0 and res.boundary == ("var_raters",)
    assert res["ICC2"].icc == pytest.approx(res["ICC3"].icc, abs=1e-15)
    assert any("boundary" in w for w in res.warnings)


def test_icc_reml_raters_nested_one_way():
    ref = load("agr2_icc_oneway")
    x, kw = reml_case("agr2_icc_oneway")
    res = icc_reml(x, ci=None, **kw)
    assert res.design.startswith("raters nested in targets")
    assert set(res.forms) == {"ICC1", "ICC1k"}
    assert set(res.not_estimable) == {"ICC2", "ICC3", "ICC2k", "ICC3k"}
    with pytest.raises(KeyError, match="confounded"):
        res["ICC3"]
    assert res.var_raters is None
    assert res.var_targets == pytest.approx(ref["lme4"]["var_targets"], rel=2e-6)
    assert res.var_residual == pytest.approx(ref["lme4"]["var_residual"], rel=2e-6)
    assert res.reml_criterion == pytest.approx(ref["lme4"]["reml_criterion"], abs=1e-8)
    # balanced one-way: REML = one-way ANOVA, and ICC1 / ICC1k are psych's ANOVA figures
    a = ref["anova"]
    assert res.var_residual == pytest.approx(a["ms_within"], rel=1e-6)
    assert res.var_targets == pytest.approx((a["ms_between"] - a["ms_within"]) / 2, rel=1e-6)
    assert res["ICC1"].icc == pytest.approx(ref["psych_icc1"], abs=1e-7)
    assert res["ICC1k"].icc == pytest.approx(ref["psych_icc1k"], abs=1e-7)


def test_icc_reml_bootstrap_interval():
    x = pd.read_csv(REF / "synthetic_raters" / "ratings.csv")
    res = icc_reml(x, n_boot=400, seed=5)
    again = icc_reml(x, n_boot=400, seed=5)
    assert res.n_boot == 400 and res.n_boot_failed == 0 and res.level == 0.95
    for nm, f in res.forms.items():
        assert f.ci.lower < f.icc < f.ci.upper, nm
        assert again[nm].ci == f.ci
    # complete balanced data: the parametric-bootstrap interval of ICC3 is close to the exact
    # F-based interval of Shrout & Fleiss (1979)
    exact = icc(x)["ICC3"].ci
    assert res["ICC3"].ci.lower == pytest.approx(exact.lower, abs=0.05)
    assert res["ICC3"].ci.upper == pytest.approx(exact.upper, abs=0.05)
    assert icc_reml(x, ci=None).forms["ICC2"].ci is None


def test_icc_reml_batched_refit_matches_single_fit():
    x, _ = reml_case("agr2_icc_crossed")
    mat = x.to_numpy(dtype=float)
    ti, rj = np.nonzero(~np.isnan(mat))
    model = _CrossedREML(ti, rj, mat.shape[0], mat.shape[1], True)
    rng = np.random.default_rng(3)
    ys = 10 + rng.standard_normal((6, mat.shape[0]))[:, ti] + 0.6 * rng.standard_normal((6, mat.shape[1]))[:, rj]
    ys = ys + 0.7 * rng.standard_normal(ys.shape)
    ys[0] = 10 + rng.standard_normal(mat.shape[0])[ti] + 0.7 * rng.standard_normal(ti.shape[0])  # no rater effect
    th, dev, mu, s2, ok = model.fit_many(model.stats(ys), np.ones((6, 2)))
    assert ok.all()
    for b in range(6):
        th1, dev1, mu1, s21 = model.fit(model.stats(ys[b]), np.array([1.0, 1.0]))
        assert dev[b] == pytest.approx(dev1, abs=1e-6)
        assert th[b] ** 2 * s2[b] == pytest.approx(th1**2 * s21, abs=1e-4)


def test_icc_reml_disconnected_design_warns():
    rng = np.random.default_rng(9)
    x = np.full((20, 4), np.nan)
    x[:10, :2] = rng.normal(size=(10, 1)) + rng.normal(size=(10, 2))
    x[10:, 2:] = rng.normal(size=(10, 1)) + rng.normal(size=(10, 2))
    res = icc_reml(x, ci=None)
    assert res.n_components == 2 and any("disconnected" in w for w in res.warnings)


def test_icc_reml_not_estimable_and_bad_arguments():
    with pytest.raises(NotEstimable, match="single rating"):
        icc_reml(np.array([[1.0, np.nan], [np.nan, 2.0], [3.0, np.nan]]))
    with pytest.raises(NotEstimable, match="at least 2 rated targets"):
        icc_reml(np.array([[1.0, 2.0]]))
    with pytest.raises(NotEstimable, match="all ratings are equal"):
        icc_reml(np.full((4, 3), 2.0))
    x = pd.read_csv(REF / "synthetic_raters" / "ratings.csv")
    with pytest.raises(ValueError, match="k must be"):
        icc_reml(x, k=0.5)
    with pytest.raises(ValueError, match="n_boot"):
        icc_reml(x, n_boot=-3)
    with pytest.raises(ValueError, match="all three column names"):
        icc_reml(x, targets="r1")
    res = icc_reml(pd.concat([x, pd.DataFrame({"r1": [np.nan], "r2": [np.nan], "r3": [np.nan]})]), ci=None)
    assert res.n_targets == 60 and any("no rating at all" in w for w in res.warnings)
