"""validation.predictive beyond AUC/DeLong basics: bootstrap intervals, the unpaired DeLong test,
Holm's adjustment, cutoff tables and band calibration, and the vectorised Harrell's C.

References: tests/reference/pred_main and pred_small, made by tests/reference/R/predictive_more.R
(pROC 1.18.0, survival 3.5-3, boot), and closed forms / slow direct implementations below.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import validation.stats.predictive as pred
from validation.stats.predictive import (
    _bootstrap_aucs,
    _bootstrap_count_chunks,
    _bootstrap_index_chunks,
    _placements,
    band_calibration,
    cutoff_table,
    delong_test_unpaired,
    harrell_c,
    holm,
    roc_auc,
)
from validation.stats.results import NotEstimable, to_dict

REF = Path(__file__).parent / "reference"


def load(folder: str) -> dict:
    return json.loads((REF / folder / "reference.json").read_text())


def num(v) -> float:
    if isinstance(v, str):
        return {"Inf": math.inf, "-Inf": -math.inf, "NaN": math.nan, "NA": math.nan}[v]
    return float(v)


@pytest.fixture(scope="module")
def main():
    return pd.read_csv(REF / "pred_main" / "data.csv")


@pytest.fixture(scope="module")
def ref():
    return load("pred_main")


# ------------------------------------------------------------------------------ bootstrap AUC


def slow_auc(x: np.ndarray, y: np.ndarray) -> float:
    """AUC of events x against non-events y by all pairwise comparisons, in exact integers."""
    gt = int((x[:, None] > y[None, :]).sum())
    eq = int((x[:, None] == y[None, :]).sum())
    return (2 * gt + eq) / (2.0 * x.size * y.size)


def slow_replicates(y, s, n_boot, seed, direction="higher"):
    """The replicates of roc_auc(..., ci_method="bootstrap", seed=seed), one by one, from the
    same resamples: the same resample indices (distinct scores more than N/8), or the same
    counts per distinct score expanded back into resampled scores (tied scores)."""
    ev = np.asarray(y) == 1
    s = np.asarray(s, dtype=float)
    if direction == "lower":
        s = -s
    x, z = s[ev], s[~ev]
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    values = np.unique(s)
    out = []
    if values.size <= pred._BOOT_COUNTS_MAX_SHARE * s.size:
        a = np.array([(x == v).sum() for v in values])
        b = np.array([(z == v).sum() for v in values])
        for c1, c0 in _bootstrap_count_chunks(rng, n_boot, a, b):
            for r in range(c1.shape[0]):
                assert c1[r].sum() == x.size and c0[r].sum() == z.size
                out.append(slow_auc(np.repeat(values, c1[r]), np.repeat(values, c0[r])))
        return np.array(out)
    for ie, inn in _bootstrap_index_chunks(rng, n_boot, x.size, z.size):
        for r in range(ie.shape[0]):
            out.append(slow_auc(x[ie[r]], z[inn[r]]))
    return np.array(out)


@pytest.mark.parametrize("path", ["counts", "indices"])
def test_bootstrap_replicates_equal_slow_reference(monkeypatch, main, path):
    # counts per distinct score (tied scores) or resample indices, forced on the same data
    monkeypatch.setattr(pred, "_BOOT_COUNTS_MAX_SHARE", 1.0 if path == "counts" else 0.0)
    for col, direction in (("score", "higher"), ("score2", "higher"), ("score", "lower")):
        ev = main.y.to_numpy() == 1
        s = main[col].to_numpy(dtype=float)
        fast = _bootstrap_aucs(ev, s, direction, 700, np.random.default_rng(np.random.SeedSequence(5)))
        slow = slow_replicates(main.y, s, 700, 5, direction)
        assert np.array_equal(fast, slow)
        r = roc_auc(main.y, s, ci_method="bootstrap", n_boot=700, seed=5, direction=direction)
        assert r.bootstrap.quantile_levels == pytest.approx((0.025, 0.975), abs=1e-15)
        assert (r.ci.lower, r.ci.upper) == tuple(np.quantile(slow, r.bootstrap.quantile_levels))
        assert r.bootstrap.median == np.median(slow)
        assert r.bootstrap.sd == pytest.approx(np.std(slow, ddof=1), rel=1e-12)


def test_bootstrap_default_path_choice(main):
    # integer score (21 values, 400 cases): counts; a continuous score: indices
    rng = np.random.default_rng(4)
    cont = main.score + rng.normal(scale=0.01, size=len(main))
    for s in (main.score, cont):
        ev = main.y.to_numpy() == 1
        fast = _bootstrap_aucs(ev, s.to_numpy(dtype=float), "higher", 50, np.random.default_rng(np.random.SeedSequence(2)))
        assert np.array_equal(fast, slow_replicates(main.y, s, 50, 2))


@pytest.mark.parametrize("path", ["counts", "indices"])
def test_bootstrap_chunks_cover_many_replicates(monkeypatch, main, path):
    monkeypatch.setattr(pred, "_BOOT_CHUNK_DRAWS", 1000)  # a few replicates per chunk
    monkeypatch.setattr(pred, "_BOOT_COUNTS_MAX_SHARE", 1.0 if path == "counts" else 0.0)
    ev = main.y.to_numpy() == 1
    s = main.score2.to_numpy(dtype=float)
    fast = _bootstrap_aucs(ev, s, "higher", 9, np.random.default_rng(np.random.SeedSequence(1)))
    slow = slow_replicates(main.y, s, 9, 1)
    assert np.array_equal(fast, slow)


def test_bootstrap_replicates_match_sklearn(monkeypatch, main):
    from sklearn.metrics import roc_auc_score

    monkeypatch.setattr(pred, "_BOOT_COUNTS_MAX_SHARE", 0.0)
    ev = main.y.to_numpy() == 1
    s = main.score2.to_numpy(dtype=float)
    x, z = s[ev], s[~ev]
    fast = _bootstrap_aucs(ev, s, "higher", 20, np.random.default_rng(np.random.SeedSequence(9)))
    rng = np.random.default_rng(np.random.SeedSequence(9))
    k = 0
    for ie, inn in _bootstrap_index_chunks(rng, 20, x.size, z.size):
        for b in range(ie.shape[0]):
            lab = np.r_[np.ones(x.size), np.zeros(z.size)]
            assert fast[k] == pytest.approx(roc_auc_score(lab, np.r_[x[ie[b]], z[inn[b]]]), abs=1e-14)
            k += 1


@pytest.mark.parametrize("key, col, sign, direction", [("boot_score", "score", 1, "higher"),
                                                        ("boot_score2_lower", "score2", -1, "lower")])
def test_bootstrap_close_to_proc_and_boot(main, ref, key, col, sign, direction):
    """Monte-Carlo agreement with pROC's percentile interval and boot's BCa interval.

    pROC and boot draw different random numbers, so the intervals agree only within Monte-Carlo
    error: with 10,000 replicates on each side, the difference of an endpoint has a standard
    deviation of about 0.04 bootstrap sd (quantile of 2.5%: sqrt(2 * .025 * .975 / 1e4) /
    phi(1.96) = 0.038). The tolerance, 0.15 bootstrap sd (about 0.0045 AUC here), is almost four
    standard deviations; the differences seen for seeds 0-4 were at most 0.075 sd.
    """
    r = ref[key]
    s = sign * main[col]
    tol = 0.15 * r["boot_sd"]
    p = roc_auc(main.y, s, ci_method="bootstrap", n_boot=10_000, seed=2024, direction=direction)
    assert p.auc == pytest.approx(r["auc"], abs=1e-12)
    assert abs(p.ci.lower - r["percentile"][0]) < tol and abs(p.ci.upper - r["percentile"][1]) < tol
    assert abs(p.bootstrap.median - r["median"]) < tol
    assert p.bootstrap.sd == pytest.approx(r["boot_sd"], rel=0.05)
    b = roc_auc(main.y, s, ci_method="bootstrap", n_boot=10_000, seed=2024, direction=direction, boot_ci="bca")
    assert abs(b.ci.lower - r["bca"][0]) < tol and abs(b.ci.upper - r["bca"][1]) < tol
    # the acceleration uses exactly boot's stratified jackknife influence values / class size
    ev = main.y.to_numpy() == 1
    auc, v10, v01 = _placements(ev, s.to_numpy(dtype=float), direction)
    infl = np.empty(ev.size)
    infl[ev] = (v10 - auc) / ev.sum()
    infl[~ev] = (v01 - auc) / (~ev).sum()
    assert np.max(np.abs(infl - np.array(r["jackknife_influence_scaled"]))) < 1e-12
    a_r = np.sum(np.array(r["jackknife_influence_scaled"]) ** 3) / (
        6 * np.sum(np.array(r["jackknife_influence_scaled"]) ** 2) ** 1.5)
    assert b.bootstrap.acceleration == pytest.approx(a_r, abs=1e-12)


def test_bca_against_direct_formula_and_slow_jackknife():
    rng = np.random.default_rng(17)
    y = rng.integers(0, 2, 90)
    y[:3] = 1
    s = rng.integers(0, 7, 90) + y
    b = roc_auc(y, s, ci_method="bootstrap", n_boot=400, seed=3, boot_ci="bca", ci=0.9)
    reps = slow_replicates(y, s, 400, 3)
    auc = slow_auc(s[y == 1].astype(float), s[y == 0].astype(float))
    # slow jackknife: recompute the AUC leaving out each observation, within its class
    infl = []
    for cls in (1, 0):
        idx = np.flatnonzero(y == cls)
        loo = []
        for i in idx:
            keep = np.ones(y.size, bool)
            keep[i] = False
            loo.append(slow_auc(s[keep & (y == 1)].astype(float), s[keep & (y == 0)].astype(float)))
        loo = np.array(loo)
        infl.append((idx.size - 1) * (loo.mean() - loo) / idx.size)
    infl = np.concatenate(infl)
    a = np.sum(infl**3) / (6 * np.sum(infl**2) ** 1.5)
    assert b.bootstrap.acceleration == pytest.approx(a, abs=1e-13)
    z0 = stats.norm.ppf(np.mean(reps < auc))
    assert b.bootstrap.z0 == pytest.approx(z0, abs=1e-13)
    za = stats.norm.ppf([0.05, 0.95])
    lv = stats.norm.cdf(z0 + (z0 + za) / (1 - a * (z0 + za)))
    assert b.bootstrap.quantile_levels == pytest.approx(tuple(lv), abs=1e-13)
    assert (b.ci.lower, b.ci.upper) == pytest.approx(tuple(np.quantile(reps, lv)), abs=1e-14)
    assert b.ci.level == 0.9 and "BCa" in b.ci.method
    # variance and se stay DeLong's
    d = roc_auc(y, s)
    assert b.variance == d.variance and b.se == d.se and b.auc == d.auc
    assert b.bootstrap.bias == pytest.approx(reps.mean() - auc, abs=1e-14)


def test_bootstrap_deterministic_with_seed(main):
    a = roc_auc(main.y, main.score, ci_method="bootstrap", n_boot=300, seed=7)
    b = roc_auc(main.y, main.score, ci_method="bootstrap", n_boot=300, seed=7)
    c = roc_auc(main.y, main.score, ci_method="bootstrap", n_boot=300, seed=8)
    assert a == b
    assert (a.ci.lower, a.ci.upper) != (c.ci.lower, c.ci.upper)
    free = roc_auc(main.y, main.score, ci_method="bootstrap", n_boot=300)
    again = roc_auc(main.y, main.score, ci_method="bootstrap", n_boot=300, seed=free.bootstrap.seed)
    assert (free.ci.lower, free.ci.upper) == (again.ci.lower, again.ci.upper)
    d = to_dict(a)
    json.dumps(d)
    assert d["bootstrap"]["n_boot"] == 300 and d["bootstrap"]["interval"] == "percentile"
    assert roc_auc(main.y, main.score).bootstrap is None


def test_bootstrap_degenerate_and_arguments():
    y = [0, 0, 0, 1, 1, 1]
    s = [1, 2, 3, 4, 5, 6]
    with pytest.raises(NotEstimable, match="BCa"):
        roc_auc(y, s, ci_method="bootstrap", seed=1, boot_ci="bca")  # every replicate AUC is 1
    r = roc_auc(y, s, ci_method="bootstrap", n_boot=50, seed=1)
    assert (r.ci.lower, r.ci.upper) == (1.0, 1.0)
    with pytest.raises(ValueError, match="n_boot"):
        roc_auc(y, s, ci_method="bootstrap", n_boot=1)
    with pytest.raises(ValueError, match="boot_ci"):
        roc_auc(y, s, ci_method="bootstrap", boot_ci="basic")
    with pytest.raises(ValueError, match="seed"):
        roc_auc(y, s, ci_method="bootstrap", seed=-3)


# ------------------------------------------------------------------------ unpaired DeLong test


@pytest.mark.parametrize("key, col, direction", [("unpaired_score", "score", "higher"),
                                                  ("unpaired_score2", "score2", "higher"),
                                                  ("unpaired_score_lower", "score", "lower")])
def test_unpaired_delong_against_proc(main, ref, key, col, direction):
    r = ref[key]
    a, b = main[main.site == "A"], main[main.site == "B"]
    t = delong_test_unpaired(a.y, a[col], b.y, b[col], direction=direction)
    assert t.auc1 == pytest.approx(r["auc1"], abs=1e-12)
    assert t.auc2 == pytest.approx(r["auc2"], abs=1e-12)
    assert t.variance1 == pytest.approx(r["var1"], abs=1e-14)
    assert t.variance2 == pytest.approx(r["var2"], abs=1e-14)
    assert t.statistic == pytest.approx(r["statistic"], abs=1e-10)
    assert t.df == pytest.approx(r["df"], abs=1e-8)
    assert t.p == pytest.approx(r["p"], abs=1e-12)
    assert t.se == pytest.approx(math.sqrt(r["var1"] + r["var2"]), abs=1e-14)
    q = stats.t.ppf(0.975, r["df"])
    assert (t.ci.lower, t.ci.upper) == pytest.approx((t.difference - q * t.se, t.difference + q * t.se), abs=1e-12)
    assert (t.n_events1, t.n_nonevents1) == (int(a.y.sum()), int((a.y == 0).sum()))
    json.dumps(to_dict(t))


def test_unpaired_degenerate():
    with pytest.raises(NotEstimable, match="sample 2"):
        delong_test_unpaired([0, 0, 1, 1], [1, 2, 3, 4], [0, 0, 0, 1], [1, 2, 3, 4])
    with pytest.raises(NotEstimable, match="zero variance"):
        delong_test_unpaired([0, 0, 1, 1], [1, 2, 3, 4], [0, 0, 1, 1], [1, 2, 3, 4])
    t = delong_test_unpaired([0, 0, 1, 1, None], [1, 3, 2, 4, 5], [0, 0, 1, 1], [1, 2, 3, 4])
    assert t.n_dropped1 == 1 and any("sample 1" in w for w in t.warnings)


# ------------------------------------------------------------------------------------- Holm


@pytest.mark.parametrize("key", ["holm", "holm2"])
def test_holm_against_p_adjust(ref, key):
    r = ref[key]
    h = holm([num(v) for v in r["p"]])
    expect = np.array([num(v) for v in r["adjusted"]])
    assert np.array_equal(np.isnan(h.adjusted), np.isnan(expect))
    fin = ~np.isnan(expect)
    assert np.max(np.abs(h.adjusted[fin] - expect[fin])) < 1e-15
    assert h.n_tests == int(fin.sum())


def test_holm_closed_form_and_arguments():
    h = holm(pd.Series([0.04, 0.01, 0.03]))
    # sorted 0.01, 0.03, 0.04 -> 3 * 0.01, max(0.03, 2 * 0.03), max(0.06, 1 * 0.04)
    assert h.adjusted.tolist() == pytest.approx([0.06, 0.03, 0.06])
    assert holm([]).adjusted.size == 0
    assert holm([0.9, 0.8]).adjusted.tolist() == [1.0, 1.0]
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        holm([0.5, 1.2])


# ------------------------------------------------------------------------------ cutoff table


def check_cutoff_rows(t, rows):
    for i, row in enumerate(rows):
        assert t.thresholds[i] == row["threshold"]
        assert (t.tp[i], t.fp[i], t.fn[i], t.tn[i]) == (row["tp"], row["fp"], row["fn"], row["tn"])
        for name in ("sensitivity", "specificity", "ppv", "npv"):
            m = getattr(t, name)
            assert m.estimate[i] == pytest.approx(num(row[name]), abs=1e-15)
            lo, hi = (num(v) for v in row[f"{name}_ci"])
            assert m.lower[i] == pytest.approx(lo, abs=1e-13)
            assert m.upper[i] == pytest.approx(hi, abs=1e-13)


def test_cutoff_wilson_against_prop_test(main, ref):
    t = cutoff_table(main.y, main.score, [6, 8, 10, 13, 16, 20])
    check_cutoff_rows(t, ref["cutoff_score"]["rows"])
    t90 = cutoff_table(main.y, main.score, [8, 13], ci=0.90)
    check_cutoff_rows(t90, ref["cutoff_score_90"]["rows"])
    lo = cutoff_table(main.y, main.score2, [-1, 0, 0.5], direction="lower")
    check_cutoff_rows(lo, ref["cutoff_score2_lower"]["rows"])
    assert "Wilson" in t.sensitivity.method


def test_cutoff_closed_forms():
    # 2x2 at t = 5: TP 8, FN 2, FP 3, TN 17
    y = np.r_[np.ones(10), np.zeros(20)]
    s = np.r_[[6] * 8, [1] * 2, [7] * 3, [2] * 17]
    t = cutoff_table(y, s, [5], base_rates=(0.02, 0.3), ci=0.95)
    z = stats.norm.ppf(0.975)
    tp, fn, fp, tn = 8, 2, 3, 17
    assert (t.tp[0], t.fn[0], t.fp[0], t.tn[0]) == (tp, fn, fp, tn)
    se, sp = tp / 10, tn / 20
    # Wilson by its formula
    for m, x, n in ((t.sensitivity, tp, 10), (t.specificity, tn, 20), (t.ppv, tp, 11), (t.npv, tn, 19)):
        p = x / n
        c = (p + z**2 / (2 * n)) / (1 + z**2 / n)
        h = z * math.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / (1 + z**2 / n)
        assert (m.lower[0], m.upper[0]) == pytest.approx((c - h, c + h), abs=1e-14)
    # likelihood ratios and DOR, log method
    lrp, lrn, dor = se / (1 - sp), (1 - se) / sp, tp * tn / (fp * fn)
    s_p = math.sqrt(1 / tp - 1 / 10 + 1 / fp - 1 / 20)
    s_n = math.sqrt(1 / fn - 1 / 10 + 1 / tn - 1 / 20)
    s_d = math.sqrt(1 / tp + 1 / fp + 1 / fn + 1 / tn)
    for m, est, sd in ((t.lr_positive, lrp, s_p), (t.lr_negative, lrn, s_n), (t.dor, dor, s_d)):
        assert m.estimate[0] == pytest.approx(est, rel=1e-14)
        assert (m.lower[0], m.upper[0]) == pytest.approx((est * math.exp(-z * sd), est * math.exp(z * sd)), rel=1e-13)
    # number needed to detain
    assert t.nnd.estimate[0] == pytest.approx(11 / 8)
    assert (t.nnd.lower[0], t.nnd.upper[0]) == pytest.approx((1 / t.ppv.upper[0], 1 / t.ppv.lower[0]))
    # base rates: Bayes, logit interval (Mercaldo et al. 2007)
    for br, pi in zip(t.base_rates, (0.02, 0.3)):
        ppv = pi * se / (pi * se + (1 - pi) * (1 - sp))
        npv = (1 - pi) * sp / ((1 - pi) * sp + pi * (1 - se))
        assert br.base_rate == pi
        assert br.ppv.estimate[0] == pytest.approx(ppv, rel=1e-14)
        assert br.npv.estimate[0] == pytest.approx(npv, rel=1e-14)
        v_p = (1 - se) / (10 * se) + sp / (20 * (1 - sp))
        v_n = se / (10 * (1 - se)) + (1 - sp) / (20 * sp)
        lp = math.log(ppv / (1 - ppv))
        ln = math.log(npv / (1 - npv))
        ex = lambda v: 1 / (1 + math.exp(-v))  # noqa: E731
        assert (br.ppv.lower[0], br.ppv.upper[0]) == pytest.approx(
            (ex(lp - z * math.sqrt(v_p)), ex(lp + z * math.sqrt(v_p))), rel=1e-13)
        assert (br.npv.lower[0], br.npv.upper[0]) == pytest.approx(
            (ex(ln - z * math.sqrt(v_n)), ex(ln + z * math.sqrt(v_n))), rel=1e-13)
        # at the sample's own prevalence, Bayes gives back the sample PPV and NPV
    own = cutoff_table(y, s, [5], base_rates=(1 / 3,))
    assert own.base_rates[0].ppv.estimate[0] == pytest.approx(8 / 11, rel=1e-14)
    assert own.base_rates[0].npv.estimate[0] == pytest.approx(17 / 19, rel=1e-14)
    # adjusted logit: Agresti-Coull-adjusted Se, Sp and sizes
    a = cutoff_table(y, s, [5], base_rates=(0.3,), base_rate_ci="adjusted-logit")
    z2 = z * z
    sa, pa, ma, na = (tp + z2 / 2) / (10 + z2), (tn + z2 / 2) / (20 + z2), 10 + z2, 20 + z2
    c = math.log(0.3 / 0.7) + math.log(sa / (1 - pa))
    v = (1 - sa) / (ma * sa) + pa / (na * (1 - pa))
    assert (a.base_rates[0].ppv.lower[0], a.base_rates[0].ppv.upper[0]) == pytest.approx(
        (1 / (1 + math.exp(-(c - z * math.sqrt(v)))), 1 / (1 + math.exp(-(c + z * math.sqrt(v))))), rel=1e-13)
    assert a.base_rates[0].ppv.estimate[0] == t.base_rates[1].ppv.estimate[0]
    frame = t.to_frame()
    assert {"sensitivity_lower", "nnd_upper", "ppv_at_0.02", "npv_at_0.3_upper"} <= set(frame.columns)
    json.dumps(to_dict(t))


def test_cutoff_zero_cells_and_haldane():
    y = np.r_[np.ones(5), np.zeros(5)]
    s = np.r_[[3, 3, 2, 2, 1], [0, 0, 1, 0, 0]]
    t = cutoff_table(y, s, [2, 4])  # at 2: FP = 0; at 4: nobody positive
    assert t.lr_positive.estimate[0] == math.inf and math.isnan(t.lr_positive.lower[0])
    assert math.isnan(t.ppv.estimate[1]) and math.isnan(t.ppv.lower[1])
    assert any("zero cell" in w for w in t.warnings) and any("PPV undefined" in w for w in t.warnings)
    assert any("adjusted-logit" in w for w in t.warnings)
    h = cutoff_table(y, s, [2], haldane=True)
    tp, fp, fn, tn = 4.5, 0.5, 1.5, 5.5
    assert h.lr_positive.estimate[0] == pytest.approx((tp / 6) / (fp / 6))
    assert h.dor.estimate[0] == pytest.approx(tp * tn / (fp * fn))
    assert any("0.5 added" in w for w in h.warnings)
    a = cutoff_table(y, s, [2], base_rate_ci="adjusted-logit")
    assert np.isfinite(a.base_rates[0].ppv.lower[0]) and np.isfinite(a.base_rates[0].ppv.upper[0])


def test_cutoff_arguments():
    with pytest.raises(NotEstimable, match="both outcome classes"):
        cutoff_table([1, 1], [1, 2], [1])
    with pytest.raises(ValueError, match="thresholds"):
        cutoff_table([0, 1], [1, 2], [])
    with pytest.raises(ValueError, match="base_rates"):
        cutoff_table([0, 1], [1, 2], [1], base_rates=(0.0,))
    with pytest.raises(ValueError, match="base_rate_ci"):
        cutoff_table([0, 1], [1, 2], [1], base_rate_ci="wald")
    with pytest.raises(ValueError, match="direction"):
        cutoff_table([0, 1], [1, 2], [1], direction="auto")


# --------------------------------------------------------------------------- band calibration


def check_band(b, r, tol=1e-13):
    assert b.n.tolist() == r["n"] and b.events.tolist() == r["events"]
    assert b.rate == pytest.approx(np.array(r["events"]) / np.array(r["n"]), abs=1e-15)
    for i, (lo, hi) in enumerate(r["ci"]):
        assert (b.lower[i], b.upper[i]) == pytest.approx((num(lo), num(hi)), abs=tol)
    assert b.trend.chisq == pytest.approx(r["chisq"], abs=1e-10)
    assert b.trend.p == pytest.approx(r["p"], abs=1e-13)


def test_band_calibration_against_r(main, ref):
    check_band(band_calibration(main.y, main.band), ref["band"])
    check_band(band_calibration(main.y, main.band, ci=0.90), ref["band_90"])
    b = main[main.site == "B"]
    cal = band_calibration(b.y, b.band, order=["L", "M", "H"])
    check_band(cal, ref["band_site_b"])
    assert cal.trend.trend == "increasing" and cal.trend.df == 1
    frame = band_calibration(main.y, main.band).to_frame()
    assert frame.band.tolist() == ["L", "M", "H"]
    json.dumps(to_dict(cal))


def test_band_calibration_empty_band_and_edge_cases():
    r = load("pred_small")["band_empty"]
    d = pd.read_csv(REF / "pred_small" / "bands_empty.csv")
    b = band_calibration(d.y, d.band)
    assert b.n.tolist() == [5, 0, 6] and math.isnan(b.rate[1]) and math.isnan(b.lower[1])
    assert any("no case in band" in w for w in b.warnings)
    assert b.trend.chisq == pytest.approx(r["chisq"], abs=1e-12) and b.trend.p == pytest.approx(r["p"], abs=1e-14)
    for i, j in ((0, 0), (2, 1)):
        assert (b.lower[i], b.upper[i]) == pytest.approx(tuple(r["ci"][j]), abs=1e-13)
    # reversed scores flip the sign of the trend, not its size
    rev = band_calibration(d.y, d.band, scores=[3, 2, 1])
    assert rev.trend.trend == "decreasing" and rev.trend.chisq == pytest.approx(b.trend.chisq)
    none = band_calibration([0, 0, 0], ["L", "M", "H"])
    assert none.trend is None and "both outcomes" in none.trend_not_estimable
    one = band_calibration([0, 1, None], ["L", "L", "H"])
    assert one.trend is None and "two non-empty bands" in one.trend_not_estimable and one.n_dropped == 1
    with pytest.raises(ValueError, match="not in order"):
        band_calibration([0, 1], ["L", "X"])
    with pytest.raises(ValueError, match="scores"):
        band_calibration([0, 1], ["L", "H"], scores=[1, 2])


# ------------------------------------------------------------------------- Harrell's C (fast)


def test_harrell_fast_against_r(main, ref):
    for key, col in (("harrell_score", "score"), ("harrell_score2", "score2")):
        r = ref[key]
        h = harrell_c(main.time, main.event, main[col])
        assert h.c == pytest.approx(r["c"], abs=1e-12)
        assert h.se == pytest.approx(r["se"], abs=1e-12)
        cnt = r["count"]
        assert (h.concordant, h.discordant, h.tied_risk) == (cnt["concordant"], cnt["discordant"], cnt["tied.x"])
        assert h.tied_time == cnt["tied.y"] + cnt["tied.xy"]


def test_harrell_fast_matches_pairwise_on_heavy_ties():
    """Pairwise definition on data with many time ties, censor/event ties and score ties."""
    rng = np.random.default_rng(21)
    n = 260
    time = rng.integers(1, 12, n).astype(float)
    event = rng.integers(0, 2, n)
    score = rng.integers(0, 4, n).astype(float)
    conc = disc = tie = tt = 0
    ci = np.zeros(n)
    di = np.zeros(n)
    ti = np.zeros(n)
    for i in range(n):
        for j in range(n):
            if i == j or not event[i]:
                continue
            if event[j] and time[j] == time[i] and i < j:
                tt += 1
            if time[i] < time[j] or (time[i] == time[j] and not event[j]):
                if score[i] > score[j]:
                    conc += 1
                    ci[[i, j]] += 1
                elif score[i] < score[j]:
                    disc += 1
                    di[[i, j]] += 1
                else:
                    tie += 1
                    ti[[i, j]] += 1
    npair = conc + disc + tie
    d = (conc - disc) / npair
    var = np.sum(((ci - di) - d * (ci + di + ti)) ** 2) / npair**2 / 4
    h = harrell_c(time, event, score)
    assert (h.concordant, h.discordant, h.tied_risk, h.tied_time) == (conc, disc, tie, tt)
    assert h.c == pytest.approx((conc + tie / 2) / npair, abs=1e-15)
    assert h.variance == pytest.approx(var, abs=1e-16)
