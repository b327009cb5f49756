"""Omega hierarchical (Schmid-Leiman) and ordinal alpha / omega against R (psych 2.2.9) and closed forms.

References: tests/reference/relx_* (written by tests/reference/R/reliability_more.R); the data of
relx_synthetic_items is tests/reference/synthetic_items/items.csv (shared data set).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from validation.stats.reliability import (
    OmegaHierarchicalResult,
    _boot_polychoric,
    _boot_weight_batches,
    omega_hierarchical,
    ordinal_alpha,
    ordinal_omega,
)
from validation.stats.results import NotEstimable, to_dict

REF = Path(__file__).parent / "reference"
TOL = 1e-6  # psych agrees to ~1e-11 where its optimiser path is the same
OPT_TOL = 1e-4  # where an optimiser's stopping point decides (R's and scipy's L-BFGS-B)
CLOSED_TOL = 5e-5  # exact structures recovered through optimisers with tolerances ~1e-5


def load(folder: str, data: str | None = None) -> tuple[pd.DataFrame, dict]:
    x = pd.read_csv(REF / (data or folder) / "items.csv")
    ref = json.loads((REF / folder / "reference.json").read_text())
    return x, ref


def exact_cor_data(r: np.ndarray, n: int, seed: int = 0) -> pd.DataFrame:
    """Continuous data whose sample correlation matrix is exactly ``r``."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, r.shape[0]))
    z -= z.mean(axis=0)
    lz = np.linalg.cholesky(z.T @ z / (n - 1))
    x = z @ np.linalg.inv(lz).T @ np.linalg.cholesky(r).T + 3.0
    return pd.DataFrame(x, columns=[f"x{j + 1}" for j in range(r.shape[0])])


def resample(x: pd.DataFrame, counts: np.ndarray) -> pd.DataFrame:
    return x.iloc[np.repeat(np.arange(len(x)), counts.astype(int))].reset_index(drop=True)


def boot_counts(n: int, n_boot: int, seed: int) -> np.ndarray:
    return np.concatenate(list(_boot_weight_batches(np.random.default_rng(seed), n, n_boot)))


# ------------------------------------------------------------------------------------------------
# omega hierarchical against psych::omega
# ------------------------------------------------------------------------------------------------


def check_omega_h(res: OmegaHierarchicalResult, ref: dict, tol: float) -> float:
    """Compare every figure with psych::omega's; return the largest absolute difference."""
    m = res.n_factors
    diffs = []
    for ours, theirs in [
        ("omega_h", "omega_h"), ("omega_total", "omega_total"), ("alpha", "alpha"),
        ("omega_limit", "omega_limit"), ("g6", "g6"), ("ecv", "ecv"),
    ]:
        diffs.append(abs(getattr(res, ours) - ref[theirs]))
    assert list(res.general_loadings.index) == [nm.rstrip("-") for nm in ref["item_names"]]
    pairs = [
        (res.general_loadings.to_numpy(), ref["g"]),
        (res.group_loadings.to_numpy(), ref["group"]),
        (res.communalities.to_numpy(), ref["h2"]),
        (res.uniquenesses.to_numpy(), ref["u2"]),
        (res.p2.to_numpy(), ref["p2"]),
        (res.oblique_loadings.to_numpy(), ref["oblique"]),
        (res.higher_order_loadings.to_numpy(), np.atleast_1d(ref["gloading"])),
    ]
    if m > 1:
        pairs.append((res.phi.to_numpy(), ref["phi"]))
    og = res.omega_group
    ref_og = np.array([ref["omega_group_total"], ref["omega_group_general"], ref["omega_group_group"]], float).T
    assert np.array_equal(np.isnan(og.to_numpy()), np.isnan(ref_og))
    pairs.append((og.to_numpy()[~np.isnan(ref_og)], ref_og[~np.isnan(ref_og)]))
    for ours, theirs in pairs:
        diffs.append(float(np.max(np.abs(np.asarray(ours, float) - np.asarray(theirs, float)))))
    flipped = tuple(nm.rstrip("-") for nm, key in zip(ref["item_names"], ref["key"]) if key < 0)
    assert res.flipped_items == flipped
    assert max(diffs) < tol, diffs
    return max(diffs)


BIFACTOR = [
    ("omega3", {}),
    ("omega3_poly", {"cor": "polychoric"}),
    ("omega3_ml", {"fm": "ml"}),
    ("omega3_promax", {"rotation": "promax"}),
    ("omega3_geomin", {"rotation": "geomin"}),
    ("omega2", {"n_factors": 2}),
    ("omega1", {"n_factors": 1}),
]


@pytest.mark.parametrize("key,kwargs", BIFACTOR, ids=[k for k, _ in BIFACTOR])
def test_omega_h_bifactor_against_psych(key, kwargs):
    x, ref = load("relx_bifactor")
    res = omega_hierarchical(x, **{"n_factors": 3, **kwargs})
    check_omega_h(res, ref[key], TOL)
    assert res.n == 500 and res.k == 12
    if res.n_factors == 3:
        assert res.group_items == {
            "F1*": ("b01", "b02", "b03", "b04"), "F2*": ("b09", "b10", "b11", "b12"),
            "F3*": ("b05", "b06", "b07", "b08"),
        }
    if res.n_factors == 2:
        assert any("set equal" in w for w in res.warnings)
    if res.n_factors == 1:
        assert res.rotation is None
        assert any("one factor" in w for w in res.warnings)


def test_omega_h_flips_reversed_items_as_psych():
    x, ref = load("relx_bifactor")
    xr = x.copy()
    xr[["b02", "b07"]] = 6 - xr[["b02", "b07"]]
    res = omega_hierarchical(xr, 3)
    check_omega_h(res, ref["omega3_reversed"], TOL)
    assert res.flipped_items == ("b02", "b07")
    assert any("reversed" in w for w in res.warnings)
    # flipping makes the result that of the items keyed the same way
    plain = omega_hierarchical(x, 3)
    assert res.omega_h == pytest.approx(plain.omega_h, abs=1e-12)
    assert res.omega_total == pytest.approx(plain.omega_total, abs=1e-12)
    noflip = omega_hierarchical(xr, 3, flip=False)
    check_omega_h(noflip, ref["omega3_reversed_noflip"], TOL)
    assert noflip.flipped_items == () and noflip.omega_h < plain.omega_h
    assert any("not reversed" in w for w in noflip.warnings)


def test_omega_h_shared_synthetic_items_two_factors():
    x, ref = load("relx_synthetic_items", "synthetic_items")
    res = omega_hierarchical(x, 2)
    check_omega_h(res, ref["omega2"], TOL)
    assert res.higher_order_loadings.iloc[0] == pytest.approx(math.sqrt(res.phi.iloc[0, 1]), abs=1e-14)


def test_omega_h_shared_synthetic_items_three_factors_empty_group():
    x, ref = load("relx_synthetic_items", "synthetic_items")
    res = omega_hierarchical(x, 3)
    # the higher-order fit to the 3 x 3 factor correlations is exact, so the optimisers stop at
    # slightly different points (R's and scipy's L-BFGS-B); everything before it agrees to 1e-12
    check_omega_h(res, ref["omega3"], OPT_TOL)
    assert np.max(np.abs(res.phi.to_numpy() - np.array(ref["omega3"]["phi"]))) < 1e-10
    assert res.omega_total == pytest.approx(ref["omega3"]["omega_total"], abs=1e-12)
    assert res.group_items["F3*"] == ()
    assert res.omega_group.loc["F3*"].isna().all()
    assert any("F3*" in w and "not estimable" in w for w in res.warnings)
    d = to_dict(res)
    assert d["omega_group"]["total"]["F3*"] is None
    json.dumps(d)


# ------------------------------------------------------------------------------------------------
# omega hierarchical: closed forms
# ------------------------------------------------------------------------------------------------


def test_omega_h_exact_higher_order_structure():
    """R = F Phi F' (unit diagonal) with independent clusters F and Phi = gamma gamma' (unit diagonal):
    the Schmid-Leiman loadings are g_i = f_i gamma_j, s_i = f_i sqrt(1 - gamma_j^2) and
    omega_h = (sum g)^2 / 1'R1, omega_t = 1 - sum(1 - f^2) / 1'R1."""
    f = np.array([.8, .7, .6, .5, .75, .65, .55, .7, .6, .7, .8, .5])
    grp = np.repeat([0, 1, 2], 4)
    gam = np.array([.8, .7, .6])
    F = np.zeros((12, 3))
    F[np.arange(12), grp] = f
    phi = np.outer(gam, gam)
    np.fill_diagonal(phi, 1.0)
    r = F @ phi @ F.T
    np.fill_diagonal(r, 1.0)
    res = omega_hierarchical(exact_cor_data(r, 300), 3)
    g = f * gam[grp]
    s = f * np.sqrt(1 - gam[grp] ** 2)
    vt = r.sum()
    np.testing.assert_allclose(res.general_loadings, g, atol=CLOSED_TOL)
    np.testing.assert_allclose(np.abs(res.group_loadings.to_numpy()).max(axis=1), s, atol=CLOSED_TOL)
    np.testing.assert_allclose(res.communalities, f**2, atol=CLOSED_TOL)
    assert res.omega_h == pytest.approx(g.sum() ** 2 / vt, abs=CLOSED_TOL)
    assert res.omega_total == pytest.approx(1 - (1 - f**2).sum() / vt, abs=CLOSED_TOL)
    assert res.ecv == pytest.approx((g**2).sum() / (f**2).sum(), abs=CLOSED_TOL)
    np.testing.assert_allclose(np.sort(res.higher_order_loadings), np.sort(gam), atol=CLOSED_TOL)
    # per group factor: items of one cluster
    for fac, members in res.group_items.items():
        idx = np.array([int(nm[1:]) - 1 for nm in members])
        assert len(set(grp[idx])) == 1 and len(idx) == 4
        vg = r[np.ix_(idx, idx)].sum()
        row = res.omega_group.loc[fac]
        assert row["general"] == pytest.approx(g[idx].sum() ** 2 / vg, abs=CLOSED_TOL)
        assert row["group"] == pytest.approx(s[idx].sum() ** 2 / vg, abs=CLOSED_TOL)


def test_omega_h_pure_general_factor_equals_omega_total():
    """A one-factor correlation matrix: omega_h = omega_total = (sum l)^2 / ((sum l)^2 + sum(1 - l^2))."""
    lam = np.array([.8, .7, .6, .5, .4, .65])
    r = np.outer(lam, lam)
    np.fill_diagonal(r, 1.0)
    res = omega_hierarchical(exact_cor_data(r, 200, seed=3), 1)
    target = lam.sum() ** 2 / (lam.sum() ** 2 + (1 - lam**2).sum())
    assert res.omega_h == pytest.approx(target, abs=CLOSED_TOL)
    assert res.omega_total == pytest.approx(target, abs=CLOSED_TOL)
    assert res.omega_h == pytest.approx(res.omega_total, abs=CLOSED_TOL)
    np.testing.assert_allclose(res.general_loadings, lam, atol=CLOSED_TOL)
    np.testing.assert_allclose(res.group_loadings.to_numpy().ravel(), 0.0, atol=1e-6)
    k = len(lam)
    assert res.alpha == pytest.approx(k / (k - 1) * (1 - k / r.sum()), abs=1e-12)


# ------------------------------------------------------------------------------------------------
# omega hierarchical: arguments and degenerate data
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"n_factors": 0}, "n_factors"),
        ({"n_factors": 2.0}, "n_factors"),
        ({"n_factors": True}, "n_factors"),
        ({"fm": "pa"}, "fm"),
        ({"rotation": "varimax"}, "rotation"),
        ({"cor": "spearman"}, "cor"),
        ({"flip": "yes"}, "flip"),
    ],
)
def test_omega_h_argument_errors(kwargs, match):
    x, _ = load("relx_bifactor")
    with pytest.raises(ValueError, match=match):
        omega_hierarchical(x, **kwargs)


def test_omega_h_not_estimable():
    x, _ = load("relx_bifactor")
    xc = x.assign(b05=3)
    with pytest.raises(NotEstimable, match="not estimable: .*b05"):
        omega_hierarchical(xc, 3)
    with pytest.raises(NotEstimable, match="degrees of freedom"):
        omega_hierarchical(x.iloc[:, :5], 3)
    with pytest.raises(NotEstimable, match="at least 3 items"):
        omega_hierarchical(x.iloc[:, :2], 1)
    with pytest.raises(NotEstimable, match="b05"):
        omega_hierarchical(xc, 3, cor="polychoric")


def test_omega_h_result_is_json_ready():
    x, _ = load("relx_bifactor")
    res = omega_hierarchical(x, 3)
    d = to_dict(res)
    json.dumps(d)
    assert d["general_loadings"]["b01"] == pytest.approx(res.general_loadings["b01"])
    table = res.to_frame()
    assert list(table.columns) == ["g", "F1*", "F2*", "F3*", "h2", "u2", "p2"]


# ------------------------------------------------------------------------------------------------
# ordinal alpha and omega against psych
# ------------------------------------------------------------------------------------------------

ORDINAL = [
    ("relx_ordinal3", None, None, ()),
    ("relx_ordinal3_missing", None, None, ("v07",)),
    ("relx_bifactor", None, "ordinal", ()),
    ("relx_synthetic_items", "synthetic_items", "ordinal_f1", ()),
]


def ordinal_case(folder, data, sub):
    x, ref = load(folder, data)
    if folder == "relx_synthetic_items":
        x = x.iloc[:, :5]
    return x, (ref[sub] if sub else ref)


@pytest.mark.parametrize("folder,data,sub,dropped", ORDINAL, ids=[c[0] for c in ORDINAL])
def test_ordinal_alpha_against_psych(folder, data, sub, dropped):
    x, ref = ordinal_case(folder, data, sub)
    res = ordinal_alpha(x, ci=None)
    assert list(res.polychoric.index) == ref["polychoric"]["items"]
    np.testing.assert_allclose(res.polychoric.to_numpy(), ref["polychoric"]["rho"], atol=TOL, rtol=0)
    a = ref["alpha"]
    assert a["raw_alpha"] == pytest.approx(a["std_alpha"], abs=1e-14)  # psych: raw = std on a correlation matrix
    assert res.alpha == pytest.approx(a["raw_alpha"], abs=TOL)
    assert res.average_r == pytest.approx(a["average_r"], abs=TOL)
    t = res.to_frame().astype(float)
    np.testing.assert_allclose(t["alpha_if_dropped"], a["alpha_if_dropped"], atol=TOL, rtol=0)
    np.testing.assert_allclose(t["r_drop"], a["r_drop"], atol=TOL, rtol=0)
    assert res.dropped_items == dropped and res.ci is None and res.n_boot is None
    assert all(any(nm in w and "left out" in w for w in res.warnings) for nm in dropped)


@pytest.mark.parametrize("folder,data,sub,dropped", ORDINAL, ids=[c[0] for c in ORDINAL])
def test_ordinal_omega_against_psych(folder, data, sub, dropped):
    x, ref = ordinal_case(folder, data, sub)
    res = ordinal_omega(x, ci=None)
    o = ref["omega"]
    assert res.omega == pytest.approx(o["omega"], abs=TOL)
    assert res.omega_observed == pytest.approx(o["omega_total_psych"], abs=TOL)
    np.testing.assert_allclose(res.loadings, o["loadings"], atol=TOL, rtol=0)
    np.testing.assert_allclose(res.communalities, o["communalities"], atol=TOL, rtol=0)
    assert res.dropped_items == dropped and res.heywood == ()


def test_ordinal_per_pair_thresholds_reported():
    x, _ = load("relx_ordinal3_missing")
    res = ordinal_alpha(x, ci=None)
    assert any("per pair" in w for w in res.warnings)
    assert res.n == int((~x.drop(columns="v07").isna().all(axis=1)).sum())


# ------------------------------------------------------------------------------------------------
# ordinal alpha and omega: closed forms
# ------------------------------------------------------------------------------------------------


def exchangeable_binary(k: int, reps: int) -> pd.DataFrame:
    """k binary items: with probability 0.4 all equal (0 or 1), else independent fair coins. Every pair's
    table is then exactly [[.35, .15], [.15, .35]], so every tetrachoric correlation is
    sin(2 pi (0.35 - 1/4)) (P(both 1) = 1/4 + asin(rho) / (2 pi), thresholds 0)."""
    rows = []
    for pattern in range(2**k):
        bits = [(pattern >> j) & 1 for j in range(k)]
        share = 0.6 / 2**k + (0.2 if len(set(bits)) == 1 else 0.0)
        rows += [bits] * round(share * reps)
    return pd.DataFrame(np.array(rows) + 1, columns=[f"d{j + 1}" for j in range(k)])


@pytest.mark.parametrize("k", [3, 4, 6])
def test_ordinal_closed_form_equal_tetrachorics(k):
    x = exchangeable_binary(k, 2**k * 25)
    rho = math.sin(2 * math.pi * 0.1)
    # Brent's tolerance (eps^0.25, as R's optimize) bounds the accuracy of each correlation
    a = ordinal_alpha(x, ci=None)
    np.testing.assert_allclose(a.polychoric.to_numpy()[np.triu_indices(k, 1)], rho, atol=1e-4)
    target = k * rho / (1 + (k - 1) * rho)  # alpha of k exchangeable items = Spearman-Brown
    assert a.alpha == pytest.approx(target, abs=1e-4)
    o = ordinal_omega(x, ci=None)
    assert o.omega == pytest.approx(target, abs=1e-4)  # one-factor fit is exact: omega = alpha
    assert o.omega_observed == pytest.approx(o.omega, abs=1e-6)
    np.testing.assert_allclose(o.loadings, math.sqrt(rho), atol=1e-4)


# ------------------------------------------------------------------------------------------------
# bootstrap intervals
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("folder", ["relx_ordinal3", "relx_ordinal3_missing"])
def test_bootstrap_polychoric_equals_replicate_by_replicate(folder):
    """The vectorised resampled polychoric matrices are those of validation.factor.polychoric on each
    resample (global thresholds in relx_ordinal3, per-pair thresholds in relx_ordinal3_missing)."""
    from validation.stats.factor import polychoric

    x, _ = load(folder)
    x = x.drop(columns=[c for c in x if x[c].nunique() < 2])
    xa = x.to_numpy(float)
    xa = xa[~np.isnan(xa).all(axis=1)]
    boot = _boot_polychoric(xa, 12, 4, 0.5)
    for b, counts in enumerate(boot_counts(len(xa), 12, 4)):
        ref = polychoric(pd.DataFrame(np.repeat(xa, counts.astype(int), axis=0), columns=x.columns)).rho
        np.testing.assert_allclose(boot[b], ref.to_numpy(), atol=1e-12, rtol=0)


def test_bootstrap_intervals_equal_replicate_by_replicate():
    x, _ = load("relx_ordinal3_missing")
    x = x.drop(columns="v07")
    n_boot = 15
    a = ordinal_alpha(x, n_boot=n_boot, seed=9)
    o = ordinal_omega(x, n_boot=n_boot, seed=9)
    counts = boot_counts(len(x.dropna(how="all")), n_boot, 9)
    xs = x.dropna(how="all").reset_index(drop=True)
    va = [ordinal_alpha(resample(xs, c), ci=None).alpha for c in counts]
    vo = [ordinal_omega(resample(xs, c), ci=None).omega for c in counts]
    assert (a.ci.lower, a.ci.upper) == pytest.approx(tuple(np.quantile(va, [0.025, 0.975])), abs=1e-12)
    # resamples are refitted by Newton's method to the exact minres optimum; the point-estimate
    # optimiser stops within ~1e-6 of it
    assert (o.ci.lower, o.ci.upper) == pytest.approx(tuple(np.quantile(vo, [0.025, 0.975])), abs=1e-5)
    assert a.n_boot == o.n_boot == n_boot


def test_bootstrap_deterministic_with_seed():
    x, _ = load("relx_ordinal3")
    for fn in (ordinal_alpha, ordinal_omega):
        r1 = fn(x, n_boot=60, seed=1)
        r2 = fn(x, n_boot=60, seed=1)
        r3 = fn(x, n_boot=60, seed=2)
        assert r1.ci == r2.ci and r1.ci != r3.ci
        assert r1.n_boot == 60 and r1.ci.level == 0.95
        assert r1.ci.method == "bootstrap percentile (60 of 60 replicates)"
        est = r1.alpha if fn is ordinal_alpha else r1.omega
        assert r1.ci.lower < est < r1.ci.upper
    narrow = ordinal_alpha(x, ci=0.5, n_boot=60, seed=1).ci
    wide = ordinal_alpha(x, ci=0.95, n_boot=60, seed=1).ci
    assert wide.lower < narrow.lower < narrow.upper < wide.upper


def test_bootstrap_failed_replicates_counted():
    """An item with two answers off its mode is constant in some resamples: those replicates are left out."""
    rng = np.random.default_rng(5)
    n = 30
    f = rng.normal(size=n)
    x = pd.DataFrame({f"v{j}": np.digitize(0.7 * f + 0.7 * rng.normal(size=n), [-0.4, 0.6]) + 1 for j in range(4)})
    x["rare"] = 1
    x.loc[[3, 17], "rare"] = 2
    res = ordinal_alpha(x, n_boot=200, seed=3)
    p_lost = (1 - 2 / n) ** n  # chance that a resample has neither of the two
    assert 200 * p_lost / 3 < 200 - res.n_boot < 200 * p_lost * 3
    assert res.ci.method == f"bootstrap percentile ({res.n_boot} of 200 replicates)"
    assert any("left out" in w for w in res.warnings)
    # the same resamples fail for omega
    assert ordinal_omega(x, n_boot=40, seed=3).n_boot == ordinal_alpha(x, n_boot=40, seed=3).n_boot < 40


def test_bootstrap_coverage_sanity():
    """Data from a latent one-factor model cut into three categories: the population polychoric matrix is
    lambda lambda' + diag(1 - lambda^2), which gives the population ordinal alpha and omega. The 95%
    intervals of 16 independent samples should mostly cover them (at 200 cases, 100 of 100 such
    samples gave 95% / 94% coverage)."""
    lam = np.array([.75, .65, .6, .5, .45])
    k = len(lam)
    pop_r = np.outer(lam, lam)
    np.fill_diagonal(pop_r, 1.0)
    pop_alpha = k / (k - 1) * (1 - k / pop_r.sum())
    pop_omega = lam.sum() ** 2 / (lam.sum() ** 2 + (1 - lam**2).sum())
    rng = np.random.default_rng(2024)
    cover_a = cover_o = 0
    width = []
    for rep in range(16):
        f = rng.normal(size=200)
        z = f[:, None] * lam + rng.normal(size=(200, k)) * np.sqrt(1 - lam**2)
        x = pd.DataFrame(np.digitize(z, [-0.2, 0.9]) + 1, columns=[f"v{j}" for j in range(k)])
        a = ordinal_alpha(x, n_boot=80, seed=rep)
        o = ordinal_omega(x, n_boot=80, seed=rep)
        cover_a += a.ci.lower <= pop_alpha <= a.ci.upper
        cover_o += o.ci.lower <= pop_omega <= o.ci.upper
        width.append(a.ci.upper - a.ci.lower)
    assert cover_a >= 13 and cover_o >= 13
    assert 0.03 < np.mean(width) < 0.2


# ------------------------------------------------------------------------------------------------
# ordinal: arguments and degenerate data
# ------------------------------------------------------------------------------------------------


def test_ordinal_degenerate_items():
    x, _ = load("relx_ordinal3")
    few = x.iloc[:, :2].assign(c1=2, c2=np.nan)
    res = ordinal_alpha(few, ci=None)
    assert res.dropped_items == ("c1", "c2") and res.k == 2
    assert any("single observed category (2)" in w for w in res.warnings)
    assert any("c2 was not answered" in w for w in res.warnings)
    with pytest.raises(NotEstimable, match=r"at least 3 items .* got 2 \(left out: c1, c2\)"):
        ordinal_omega(few, ci=None)
    with pytest.raises(NotEstimable, match="at least 2 items"):
        ordinal_alpha(x.iloc[:, :1].assign(c=1), ci=None)
    with pytest.raises(NotEstimable, match="more than max_categories"):
        ordinal_alpha(x.iloc[:, :3] * 3, ci=None, max_categories=5)
    with pytest.raises(ValueError, match="integer category codes"):
        ordinal_omega(x.iloc[:, :3] + 0.5, ci=None)
    with pytest.raises(NotEstimable, match="needs at least 3"):
        ordinal_alpha(x.iloc[:2], ci=None)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"ci": 1.5}, "ci"),
        ({"n_boot": 5}, "n_boot"),
        ({"correct": -1}, "correct"),
        ({"max_categories": 1}, "max_categories"),
    ],
)
def test_ordinal_argument_errors(kwargs, match):
    x, _ = load("relx_ordinal3")
    for fn in (ordinal_alpha, ordinal_omega):
        with pytest.raises(ValueError, match=match):
            fn(x, **kwargs)
    with pytest.raises(TypeError, match="DataFrame"):
        ordinal_alpha([[1, 2], [2, 1]])


def test_ordinal_results_are_json_ready():
    x, _ = load("relx_ordinal3")
    for res in (ordinal_alpha(x, n_boot=20, seed=1), ordinal_omega(x, n_boot=20, seed=1)):
        d = to_dict(res)
        json.dumps(d)
        assert d["ci"]["level"] == 0.95 and d["n_boot"] == 20
    arr = ordinal_alpha(x.to_numpy(), ci=None)
    assert arr.alpha == pytest.approx(ordinal_alpha(x, ci=None).alpha, abs=1e-15)
    assert list(arr.items) == [f"V{j + 1}" for j in range(x.shape[1])]
