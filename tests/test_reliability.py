"""validation.reliability against R (psych 2.2.9, lavaan 0.6-14) and closed forms.

References: tests/reference/synthetic_items (shared), tests/reference/rel_* (written by
tests/reference/R/reliability_factor.R).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from validation.stats.reliability import (
    AlphaResult,
    OmegaResult,
    _boot_weight_batches,
    cronbach_alpha,
    item_statistics,
    omega,
)
from validation.stats.results import NotEstimable, to_dict

REF = Path(__file__).parent / "reference"
RTOL = 1e-10  # closed-form statistics: R and numpy agree to rounding
OMEGA_ATOL = 1e-5  # optimiser-based: lavaan stops at its own tolerance


def load(folder: str, data: str | None = None) -> tuple[pd.DataFrame, dict]:
    x = pd.read_csv(REF / (data or folder) / "items.csv")
    ref = json.loads((REF / folder / "reference.json").read_text())
    return x, ref


def exact_cov_data(sigma: np.ndarray, n: int, seed: int = 0, means: float = 4.0) -> pd.DataFrame:
    """Data whose sample covariance (divisor n - 1) is exactly ``sigma``."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, sigma.shape[0]))
    z -= z.mean(axis=0)
    lz = np.linalg.cholesky(z.T @ z / (n - 1))
    x = z @ np.linalg.inv(lz).T @ np.linalg.cholesky(sigma).T + means
    return pd.DataFrame(x, columns=[f"x{j + 1}" for j in range(sigma.shape[0])])


def item_table(res: AlphaResult) -> dict[str, np.ndarray]:
    f = res.to_frame().astype(float)
    return {c: f[c].to_numpy() for c in f.columns}


def check_alpha(res: AlphaResult, ref: dict) -> None:
    assert res.alpha == pytest.approx(ref["raw_alpha"], rel=RTOL)
    assert res.std_alpha == pytest.approx(ref["std_alpha"], rel=RTOL)
    if "average_r" in ref:
        assert res.average_r == pytest.approx(ref["average_r"], rel=RTOL)
    assert res.ci.method == "feldt" and res.ci.level == 0.95
    np.testing.assert_allclose([res.ci.lower, res.ci.upper], ref["feldt_ci"], rtol=RTOL)
    t = item_table(res)
    np.testing.assert_allclose(t["r_drop"], ref["r_drop"], rtol=RTOL)
    np.testing.assert_allclose(t["alpha_if_dropped"], ref["alpha_if_dropped"], rtol=RTOL)
    if "std_alpha_if_dropped" in ref:
        np.testing.assert_allclose(t["std_alpha_if_dropped"], ref["std_alpha_if_dropped"], rtol=RTOL)
    if "items" in ref:
        assert list(res.items) == ref["items"]
        assert res.k == ref["k"]
    if "feldt_n" in ref:
        assert res.n == ref["feldt_n"]


def check_omega(res: OmegaResult, ref: dict) -> None:
    assert res.omega == pytest.approx(ref["omega"], abs=OMEGA_ATOL)
    f = res.to_frame().astype(float)
    np.testing.assert_allclose(f["loading"], ref["loadings"], atol=1e-4)
    np.testing.assert_allclose(f["residual_variance"], ref["residual_variances"], atol=1e-4)
    np.testing.assert_allclose(f["std_loading"], ref["std_loadings"], atol=1e-4)
    assert res.chisq == pytest.approx(ref["chisq"], rel=1e-6, abs=1e-8)
    assert res.df == ref["df"]
    assert res.n == ref["n"]


# ------------------------------------------------------------------------------------------------
# shared reference: synthetic_items
# ------------------------------------------------------------------------------------------------


def test_alpha_shared_synthetic_items():
    x, ref = load("synthetic_items")
    check_alpha(cronbach_alpha(x[["q1", "q2", "q3", "q4", "q5"]]), ref["alpha_f1"])
    assert cronbach_alpha(x).alpha == pytest.approx(ref["alpha_all"]["raw_alpha"], rel=RTOL)


def test_alpha_more_synthetic_items():
    x, ref = load("rel_synthetic_items", "synthetic_items")
    check_alpha(cronbach_alpha(x.iloc[:, :5]), ref["alpha_f1"])
    check_alpha(cronbach_alpha(x), ref["alpha_all"])


def test_omega_synthetic_items_against_lavaan():
    x, ref = load("rel_synthetic_items", "synthetic_items")
    check_omega(omega(x.iloc[:, :5], ci=None), ref["omega_f1"])
    check_omega(omega(x.iloc[:, 5:], ci=None), ref["omega_f2"])


def test_shared_omega_f1_is_marker_scaled_without_factor_variance():
    """The shared reference's omega_f1 (0.79514) applies (sum lambda)^2 / ((sum lambda)^2 + sum theta)
    to lavaan's default marker-variable loadings (first loading 1) and so leaves out the factor
    variance. Omega itself is 0.79158 (lavaan with std.lv = TRUE, pinned above); the same fit,
    rescaled to the marker metric, gives the shared number."""
    x, ref = load("synthetic_items")
    res = omega(x[["q1", "q2", "q3", "q4", "q5"]], ci=None)
    f = res.to_frame().astype(float)
    lam_marker = f["loading"].to_numpy() / f["loading"].iloc[0]
    shared = lam_marker.sum() ** 2 / (lam_marker.sum() ** 2 + f["residual_variance"].sum())
    assert shared == pytest.approx(ref["omega_f1"]["omega"], abs=OMEGA_ATOL)
    assert res.omega == pytest.approx(0.791580045801049, abs=OMEGA_ATOL)


# ------------------------------------------------------------------------------------------------
# R references written by tests/reference/R/reliability_factor.R
# ------------------------------------------------------------------------------------------------


def test_alpha_missing_pairwise_as_psych():
    x, ref = load("rel_missing")
    assert x.isna().to_numpy().sum() == ref["n_missing_cells"]
    res = cronbach_alpha(x)
    check_alpha(res, ref["alpha"])
    assert res.n_complete == ref["n_complete_rows"]
    assert res.missing.startswith("pairwise")


def test_alpha_missing_listwise_as_psych_on_na_omit():
    x, ref = load("rel_missing")
    res = cronbach_alpha(x, missing="listwise")
    check_alpha(res, ref["alpha_listwise"])
    assert res.n == res.n_complete == ref["n_complete_rows"]
    assert res.missing.startswith("listwise")


def test_omega_missing_uses_complete_cases():
    x, ref = load("rel_missing")
    res = omega(x, ci=None)
    check_omega(res, ref["omega"])
    assert res.n == ref["n_complete_rows"] < len(x)
    assert "complete cases" in res.missing
    assert res.omega == omega(x.dropna(), ci=None).omega


def test_alpha_5pt():
    x, ref = load("rel_5pt")
    check_alpha(cronbach_alpha(x), ref["alpha"])


def test_omega_5pt():
    x, ref = load("rel_5pt")
    res = omega(x, ci=None)
    check_omega(res, ref["omega"])
    assert not res.heywood and res.warnings == ()


def test_alpha_constant_item_left_out_as_psych():
    x, ref = load("rel_5pt")
    res = cronbach_alpha(x.assign(const=3))
    check_alpha(res, ref["alpha_with_constant_item"])
    assert res.dropped_items == ("const",)
    assert any("const" in w and "no variance" in w for w in res.warnings)


def test_alpha_two_items_as_psych():
    x, ref = load("rel_5pt")
    check_alpha(cronbach_alpha(x.iloc[:, :2]), ref["alpha_two_items"])


def test_omega_heywood_case_as_lavaan():
    x, ref = load("rel_heywood")
    res = omega(x, ci=None)
    check_omega(res, ref["omega"])
    assert res.heywood
    assert res.items["i01"].residual_variance < 0
    assert any("Heywood" in w and "i01" in w for w in res.warnings)


# ------------------------------------------------------------------------------------------------
# closed forms
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("k,v,c", [(4, 2.0, 0.8), (7, 1.5, 0.3), (12, 1.0, 0.05)])
def test_parallel_items_closed_form(k, v, c):
    """k parallel items (variance v, covariance c): alpha = k c / (v + (k-1) c) = omega, and
    standardized alpha is Spearman-Brown with r = c / v."""
    sigma = np.full((k, k), c) + np.eye(k) * (v - c)
    n = 250
    x = exact_cov_data(sigma, n)
    expected = k * c / (v + (k - 1) * c)
    r = c / v
    res = cronbach_alpha(x)
    assert res.alpha == pytest.approx(expected, rel=1e-12)
    assert res.std_alpha == pytest.approx(k * r / (1 + (k - 1) * r), rel=1e-12)
    assert res.average_r == pytest.approx(r, rel=1e-12)
    # dropping one item leaves k-1 parallel items
    t = item_table(res)
    np.testing.assert_allclose(t["alpha_if_dropped"], (k - 1) * c / (v + (k - 2) * c), rtol=1e-12)
    rest_var = (k - 1) * v + (k - 1) * (k - 2) * c
    np.testing.assert_allclose(t["r_drop"], (k - 1) * c / np.sqrt(v * rest_var), rtol=1e-12)
    om = omega(x, ci=None)
    assert om.omega == pytest.approx(expected, abs=1e-9)
    assert om.chisq == pytest.approx(0.0, abs=1e-8)
    # ML covariance has divisor n: loadings sqrt(c (n-1)/n), residuals (v - c)(n-1)/n
    f = om.to_frame().astype(float)
    np.testing.assert_allclose(f["loading"], np.sqrt(c * (n - 1) / n), rtol=1e-7)
    np.testing.assert_allclose(f["residual_variance"], (v - c) * (n - 1) / n, rtol=1e-7)


def test_congeneric_omega_closed_form():
    lam = np.array([0.9, 0.7, 1.2, 0.4, 0.6])
    theta = np.array([0.5, 0.8, 0.6, 1.1, 0.3])
    x = exact_cov_data(np.outer(lam, lam) + np.diag(theta), 400, seed=3)
    res = omega(x, ci=None)
    assert res.omega == pytest.approx(lam.sum() ** 2 / (lam.sum() ** 2 + theta.sum()), abs=1e-9)
    np.testing.assert_allclose(res.to_frame()["std_loading"].astype(float), lam / np.sqrt(lam**2 + theta), rtol=1e-7)


def test_feldt_interval_formula():
    """Feldt et al. (1987): 1 - (1 - alpha) F(n-1, (n-1)(k-1)) quantiles; level follows ``ci``."""
    from scipy import stats

    x, _ = load("rel_5pt")
    res = cronbach_alpha(x, ci=0.90)
    n, k = len(x), x.shape[1]
    lo = 1 - (1 - res.alpha) * stats.f.ppf(0.95, n - 1, (n - 1) * (k - 1))
    hi = 1 - (1 - res.alpha) * stats.f.ppf(0.05, n - 1, (n - 1) * (k - 1))
    assert (res.ci.lower, res.ci.upper, res.ci.level) == pytest.approx((lo, hi, 0.90), rel=1e-12)
    assert cronbach_alpha(x, ci=None).ci is None


# ------------------------------------------------------------------------------------------------
# bootstrap
# ------------------------------------------------------------------------------------------------


def naive_boot_alpha(x: pd.DataFrame, n_boot: int, seed: int) -> np.ndarray:
    """One replicate at a time, from the same resampling counts, with pandas' pairwise covariance."""
    rng = np.random.default_rng(seed)
    w = np.concatenate(list(_boot_weight_batches(rng, len(x), n_boot)))
    out = []
    k = x.shape[1]
    for counts in w:
        xb = x.iloc[np.repeat(np.arange(len(x)), counts.astype(int))]
        c = xb.cov().to_numpy()
        out.append(k / (k - 1) * (1 - np.trace(c) / c.sum()))
    return np.array(out)


@pytest.mark.parametrize("folder", ["rel_5pt", "rel_missing"])
def test_bootstrap_alpha_equals_replicate_by_replicate(folder):
    x, _ = load(folder)
    res = cronbach_alpha(x, ci_method="bootstrap", n_boot=60, seed=11)
    naive = naive_boot_alpha(x, 60, 11)
    lo, hi = np.quantile(naive, [0.025, 0.975])
    assert res.ci.lower == pytest.approx(lo, rel=1e-10)
    assert res.ci.upper == pytest.approx(hi, rel=1e-10)
    assert res.n_boot == 60 and res.ci.method.startswith("bootstrap percentile")


def test_bootstrap_alpha_deterministic_and_sensible():
    x, _ = load("rel_missing")
    a = cronbach_alpha(x, ci_method="bootstrap", seed=5)
    b = cronbach_alpha(x, ci_method="bootstrap", seed=5)
    c = cronbach_alpha(x, ci_method="bootstrap", seed=6)
    assert a.ci == b.ci and a.ci != c.ci
    assert a.n_boot == 2000
    assert a.ci.lower < a.alpha < a.ci.upper
    feldt = cronbach_alpha(x).ci
    assert abs(a.ci.lower - feldt.lower) < 0.02 and abs(a.ci.upper - feldt.upper) < 0.02


def test_bootstrap_omega():
    x, _ = load("rel_5pt")
    res = omega(x, n_boot=40, seed=2)
    again = omega(x, n_boot=40, seed=2)
    assert res.ci == again.ci and res.n_boot == 40
    assert res.ci.lower < res.omega < res.ci.upper
    # the vectorised refits agree with fitting each resample on its own
    rng = np.random.default_rng(2)
    w = np.concatenate(list(_boot_weight_batches(rng, len(x), 40)))
    vals = [omega(x.iloc[np.repeat(np.arange(len(x)), c.astype(int))], ci=None).omega for c in w]
    lo, hi = np.quantile(vals, [0.025, 0.975])
    assert (res.ci.lower, res.ci.upper) == pytest.approx((lo, hi), abs=1e-8)


# ------------------------------------------------------------------------------------------------
# inputs, degenerate data, output
# ------------------------------------------------------------------------------------------------


def test_array_and_nullable_input():
    x, ref = load("rel_missing")
    arr = cronbach_alpha(x.to_numpy())
    assert list(arr.items)[:2] == ["V1", "V2"]
    assert arr.alpha == pytest.approx(ref["alpha"]["raw_alpha"], rel=RTOL)
    nullable = cronbach_alpha(x.astype("Int64"))
    assert nullable.alpha == pytest.approx(ref["alpha"]["raw_alpha"], rel=RTOL)


def test_empty_rows_not_counted():
    x, ref = load("rel_5pt")
    blank = pd.concat([x, pd.DataFrame(np.nan, index=range(5), columns=x.columns)], ignore_index=True)
    res = cronbach_alpha(blank)
    assert res.n == len(x)
    assert res.alpha == pytest.approx(ref["alpha"]["raw_alpha"], rel=RTOL)


@pytest.mark.parametrize(
    "data,match",
    [
        (pd.DataFrame({"a": [1.0, 2, 3, 4]}), "at least 2 items"),
        (pd.DataFrame({"a": [1.0, 2], "b": [2.0, 1]}), "alpha needs at least 3"),
        (pd.DataFrame({"a": [3.0] * 5, "b": [1.0, 2, 3, 4, 5]}), "fewer than 2 items with variance.*a"),
        (pd.DataFrame({"a": [1.0, 2, 3, 4], "b": [7.0, 6, 5, 4]}), "total score has no variance"),
        (pd.DataFrame({"a": [1.0, 2, 3, np.nan, np.nan, 4], "b": [np.nan, np.nan, 3, 1, 2, 5]}), "answered a and b"),
    ],
)
def test_alpha_not_estimable(data, match):
    with pytest.raises(NotEstimable, match=match):
        cronbach_alpha(data)


def test_alpha_listwise_too_few_complete_cases():
    data = pd.DataFrame({"a": [1.0, 2, 3, np.nan, 5], "b": [2.0, np.nan, 3, 1, 2], "c": [1.0, 2, np.nan, 3, 4]})
    with pytest.raises(NotEstimable, match="complete case"):
        cronbach_alpha(data, missing="listwise")


def test_negative_item_warning():
    x, _ = load("rel_5pt")
    res = cronbach_alpha(x.assign(i01=6 - x["i01"]))
    assert any("i01" in w and "negatively" in w for w in res.warnings)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"ci": 1.5}, "ci must be a confidence level"),
        ({"ci_method": "wald"}, "ci_method"),
        ({"missing": "mean"}, "missing"),
        ({"ci_method": "bootstrap", "n_boot": 0}, "n_boot"),
    ],
)
def test_alpha_argument_errors(kwargs, match):
    x, _ = load("rel_5pt")
    with pytest.raises(ValueError, match=match):
        cronbach_alpha(x, **kwargs)


def test_input_errors():
    with pytest.raises(ValueError, match="column 'b'.*numeric"):
        cronbach_alpha(pd.DataFrame({"a": [1, 2, 3], "b": ["x", "y", "z"]}))
    with pytest.raises(ValueError, match="infinite"):
        cronbach_alpha(pd.DataFrame({"a": [1.0, 2, 3], "b": [1.0, np.inf, 2]}))
    with pytest.raises(TypeError, match="DataFrame"):
        cronbach_alpha([[1, 2], [3, 4]])


@pytest.mark.parametrize(
    "data,match",
    [
        (pd.DataFrame({"a": [1.0, 2, 3, 4], "b": [2.0, 1, 4, 3]}), "at least 3 items"),
        (pd.DataFrame({"a": [1.0, 2, 3, 4, 5], "b": [2.0, 1, 4, 3, 5], "c": [3.0] * 5}), "without variance.*c"),
        (pd.DataFrame({"a": [1.0, 2, 3], "b": [2.0, 1, 4], "c": [1.0, 3, 2]}), "more cases than items"),
    ],
)
def test_omega_not_estimable(data, match):
    with pytest.raises(NotEstimable, match=match):
        omega(data)


def test_omega_singular_covariance():
    x, _ = load("rel_5pt")
    with pytest.raises(NotEstimable, match="singular"):
        omega(x.assign(total=x.sum(axis=1)), ci=None)


def test_results_are_json_ready():
    x, _ = load("rel_missing")
    for res in (
        cronbach_alpha(x, ci_method="bootstrap", n_boot=50, seed=1),
        omega(x, n_boot=20, seed=1),
        item_statistics(x, scale=(1, 7)),
    ):
        d = to_dict(res)
        json.dumps(d)
    d = to_dict(cronbach_alpha(x))
    assert set(d["items"]["i01"]) == {"r_drop", "alpha_if_dropped", "std_alpha_if_dropped"}
    assert d["ci"]["method"] == "feldt"


# ------------------------------------------------------------------------------------------------
# item statistics
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("folder,scale", [("rel_missing", (1, 7)), ("rel_5pt", (1, 5))])
def test_item_statistics_against_r(folder, scale):
    x, ref = load(folder)
    res = item_statistics(x, scale=scale)
    f = res.to_frame()
    d = ref["describe"]
    np.testing.assert_array_equal(f["n"].astype(int), d["n"])
    np.testing.assert_allclose(f["mean"].astype(float), d["mean"], rtol=RTOL)
    np.testing.assert_allclose(f["sd"].astype(float), d["sd"], rtol=RTOL)
    np.testing.assert_allclose(f["floor_rate"].astype(float), d["floor"], rtol=RTOL, atol=1e-15)
    np.testing.assert_allclose(f["ceiling_rate"].astype(float), d["ceiling"], rtol=RTOL, atol=1e-15)
    np.testing.assert_allclose(f["missing_rate"].astype(float), d["missing"], rtol=RTOL, atol=1e-15)
    assert res.scale == scale and res.scale_source == "given" and res.n_cases == len(x)


def test_item_statistics_edge_cases():
    data = pd.DataFrame(
        {
            "a": [1.0, 2, 3, 4, 5, 1],
            "b": [3.0, 3, 3, 3, 3, np.nan],
            "c": [np.nan] * 6,
            "d": [2.0, np.nan, np.nan, np.nan, np.nan, np.nan],
        }
    )
    res = item_statistics(data, low_variance_sd=0.5)
    assert res.scale == (1.0, 5.0) and res.scale_source.startswith("observed")
    a, b, c, d = (res.items[k] for k in "abcd")
    assert a.floor_rate == pytest.approx(2 / 6) and a.ceiling_rate == pytest.approx(1 / 6)
    assert not a.low_variance and a.not_estimable is None
    assert b.sd == 0.0 and b.low_variance and b.missing_rate == pytest.approx(1 / 6)
    assert c.n == 0 and c.missing_rate == 1.0 and c.low_variance and "nobody" in c.not_estimable
    assert d.n == 1 and d.mean == 2.0 and "once" in d.not_estimable
    json.dumps(to_dict(res))
    with pytest.raises(ValueError, match="outside the scale"):
        item_statistics(data, scale=(2, 5))
    with pytest.raises(ValueError, match="scale"):
        item_statistics(data, scale=(5, 1))
    with pytest.raises(ValueError, match="low_variance_sd"):
        item_statistics(data, low_variance_sd=-1)


# --------------------------------------------------------------------------------------------------
# omega from full-information ML (missing="ml"): lavaan's defined parameter, tests/reference/omega_fiml
# (written by tests/reference/R/omega_fiml.R)
# --------------------------------------------------------------------------------------------------

FIML_REF = json.loads((REF / "omega_fiml" / "reference.json").read_text())


def fiml_items(name: str) -> pd.DataFrame:
    if name == "cfa_fiml_hs":
        return pd.read_csv(REF / name / "data.csv")[[f"x{j}" for j in range(1, 7)]]
    x = pd.read_csv(REF / name / "items.csv")
    return x[FIML_REF[name]["items"]]


@pytest.mark.parametrize("name", ["rel_missing", "relx_ordinal3_missing", "cfa_fiml_hs", "rel_5pt"])
def test_omega_fiml_as_lavaan_defined_parameter(name):
    ref = FIML_REF[name]
    res = omega(fiml_items(name), missing="ml")
    assert res.n == ref["ntotal"] and res.df == ref["df"]
    assert res.omega == pytest.approx(ref["omega"], abs=1e-6)
    assert res.se == pytest.approx(ref["se"], abs=1e-7)
    assert res.ci.lower == pytest.approx(ref["ci_lower"], abs=1e-6)
    assert res.ci.upper == pytest.approx(ref["ci_upper"], abs=1e-6)
    assert res.ci.level == 0.95 and res.ci.method.startswith("Wald, delta-method")
    assert res.chisq == pytest.approx(ref["chisq"], abs=1e-5)
    for item, lam in ref["loadings"].items():
        assert res.items[item].loading == pytest.approx(lam, abs=1e-5)
        assert res.items[item].residual_variance == pytest.approx(ref["residuals"][item], abs=1e-5)
    assert res.missing.startswith("full information ML") and res.n_boot is None


def test_omega_fiml_counts_every_case_that_listwise_drops():
    x = fiml_items("rel_missing")
    full, listwise = omega(x, missing="ml", ci=None), omega(x, ci=None)
    assert full.n == len(x) > listwise.n == len(x.dropna())
    assert full.ci is None and full.se == pytest.approx(FIML_REF["rel_missing"]["se"], abs=1e-7)


def test_omega_fiml_on_complete_data_equals_complete_case_ml():
    x = fiml_items("rel_5pt")
    assert omega(x, missing="ml", ci=None).omega == pytest.approx(omega(x, ci=None).omega, abs=1e-7)


def test_omega_fiml_not_estimable_names_the_item():
    x = pd.read_csv(REF / "relx_ordinal3_missing" / "items.csv")  # v07 is constant
    with pytest.raises(NotEstimable, match=r"without variance: v07"):
        omega(x, missing="ml")
    with pytest.raises(NotEstimable, match="at least 3 items"):
        omega(x[["v01", "v02"]], missing="ml")
    with pytest.raises(ValueError, match="missing: expected"):
        omega(x, missing="pairwise")


def test_omega_fiml_keeps_the_callers_row_labels_in_its_notes():
    x = fiml_items("cfa_fiml_hs")
    x.index = [f"case{i}" for i in range(len(x))]
    res = omega(x, missing="ml")
    assert any("rows case16, case229" in w for w in res.warnings)


def test_cfa_vcov_is_the_covariance_of_the_estimates_and_stays_out_of_json():
    from validation.stats.cfa import cfa

    res = cfa("F =~ x1 + x2 + x3 + x4 + x5 + x6", fiml_items("cfa_fiml_hs"), std_lv=True, missing="ml")
    v = res.vcov
    free = [p for p in res.parameters if p.free]
    assert list(v.index) == [f"{p.lhs}{p.op}{p.rhs}" for p in free] == list(v.columns)
    assert np.allclose(v.to_numpy(), v.to_numpy().T)
    assert np.sqrt(np.diag(v)) == pytest.approx([p.se for p in free], rel=1e-12)
    assert "vcov" not in to_dict(res) and "parameters" in to_dict(res)
