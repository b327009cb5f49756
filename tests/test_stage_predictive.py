"""The ``predictive`` stage on a small synthetic project: the metrics hold what the pure functions of
validation.predictive and validation.survival give on the same samples (which tests/test_predictive*.py
and tests/test_survival.py pin to pROC and survival), estimates are declined below min_events with the
counts reported, Holm's adjustment is that of holm() on the raw p-values, no key leaks, a rerun
writes identical bytes; and on a large generated battery the risk total predicts as the generator's
truth allows."""

from __future__ import annotations

import contextlib
import csv
import json
import math
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from validation.battery.disclosure import is_suppressed
from validation.pipeline.publish import protect_cutoffs, safe_roc_point


def shown_or_hidden(published, true, k=5) -> bool:
    """A published count is the true one, or a suppression marker (``<k`` only for 1 to k-1)."""
    if isinstance(published, list):
        return len(published) == len(true) and all(shown_or_hidden(a, b, k) for a, b in zip(published, true))
    if published == f"<{k}":
        return 0 < true < k
    return published == "*" or published == true
import yaml

from validation.battery.contract import load_tables
from validation.battery.instruments import load_instrument
from validation.report.figures.predictive import count_label, thin
from validation.stats.predictive import (band_calibration, cutoff_table, delong_test, harrell_c, holm, roc_auc,
                                   roc_curve)
from validation.stats.results import to_dict
from validation.battery.scoring import domain_totals, scale_scores
from validation.pipeline.stages import predictive as stage
from validation.pipeline.common import StageError
from validation.pipeline.config import PredictiveConfig
from validation.pipeline.stages.__main__ import main
from validation.stats.survival import cox, kaplan_meier, logrank, time_dependent_auc, uno_c
from validation.battery.synthetic import SyntheticConfig, generate

ROOT = Path(__file__).resolve().parents[1]
OUTPUTS = ("reports/metrics/predictive.json", "reports/figures/predictive", "reports/plots/roc.csv",
           "reports/plots/km.csv")
N_BOOT = 200


def _setup(dest: Path, **predictive) -> Path:
    for rel in ("params.yaml", "dvc.yaml"):
        shutil.copy(ROOT / rel, dest / rel)
    shutil.copytree(ROOT / "instruments", dest / "instruments")
    params = yaml.safe_load((dest / "params.yaml").read_text())
    params["synthesize"].update(n_cases=300, crossed_cases=20)
    params["predictive"].update(n_boot=N_BOOT, **predictive)
    (dest / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    return dest


def _run(root: Path, stage_name: str) -> int:
    with contextlib.chdir(root):
        return main([stage_name])


def _snapshot(root: Path) -> dict[str, bytes]:
    out = {}
    for rel in OUTPUTS:
        p = root / rel
        for f in ([p] if p.is_file() else sorted(q for q in p.rglob("*") if q.is_file())):
            out[str(f.relative_to(root))] = f.read_bytes()
    return out


def _set_params(root: Path, **predictive) -> None:
    params = yaml.safe_load((root / "params.yaml").read_text())
    params["predictive"].update(predictive)
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    root = _setup(tmp_path_factory.mktemp("predictive"))
    for name in ("synthesize", "validate", "predictive"):
        assert _run(root, name) == 0, name
    return root


@pytest.fixture(scope="module")
def metrics(project: Path) -> dict:
    return json.loads((project / "reports/metrics/predictive.json").read_text())


@pytest.fixture(scope="module")
def data(project: Path) -> dict:
    """The documented samples rebuilt from the clean tables: one rating form per case on occasion 1
    (consensus first), domain totals by the not-rated rule, SQ scale means on occasion 1."""
    params = yaml.safe_load((project / "params.yaml").read_text())
    p = params["predictive"]
    vera = load_instrument(project / params["instruments"]["vera"])
    sq = load_instrument(project / params["instruments"]["sq"])
    rat = pd.read_parquet(project / "data/clean/vera_ratings.parquet")
    sqr = pd.read_parquet(project / "data/clean/sq_responses.parquet")
    occ1 = rat[rat["occasion"] == 1].copy()
    occ1["_consensus_last"] = (occ1["role"] != "consensus").astype(int)
    occ1["_pos"] = np.arange(len(occ1))
    prim = occ1.sort_values(["case_id", "_consensus_last", "_pos"]).drop_duplicates("case_id").reset_index(drop=True)
    tot = domain_totals(prim, vera, p["not_rated_rule"], p["min_rated"])
    tot["summary_risk"] = prim[vera.summary_column].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    tot.insert(0, "case_id", prim["case_id"].to_numpy())
    s1 = sqr[sqr["occasion"] == 1].reset_index(drop=True)
    sc = scale_scores(s1, sq)
    sc.columns = [f"SQ {c}" for c in sc.columns]
    sc.insert(0, "case_id", s1["case_id"].to_numpy())
    frame = tot.merge(sc, on="case_id", how="left")
    return {"params": params, "p": p, "vera": vera, "sq": sq, "frame": frame,
            "outcomes": pd.read_parquet(project / "data/clean/outcomes.parquet"),
            "cases": pd.read_parquet(project / "data/clean/cases.parquet"), "ratings": rat,
            "truth": json.loads((project / "data/synthetic/truth.json").read_text())}


def _sample(data: dict, outcome: str, *cols: str) -> pd.DataFrame:
    o = data["outcomes"]
    o = o[o["outcome"] == outcome][["case_id", "event", "time_days"]]
    d = data["frame"].merge(o, on="case_id", how="inner")
    return d[["event", "time_days", *cols]].dropna()


def _vectors(data: dict, outcome: str, name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    sub = _sample(data, outcome, name)
    return (sub["event"].to_numpy(dtype=int), sub["time_days"].to_numpy(dtype=float),
            sub[name].to_numpy(dtype=float))


def _json(obj):
    """A result as it reads back from the metrics file."""
    return json.loads(json.dumps(to_dict(obj)))


def _estimated(metrics: dict):
    for outcome, b in metrics["outcomes"].items():
        for name, e in b["predictors"].items():
            if "auc" in e:
                yield outcome, name, e


# ---------------------------------------------------------------------------------------------
# structure


def test_structure(metrics, data):
    vera, sq, p = data["vera"], data["sq"], data["p"]
    assert {"provenance", "method", "outcomes"} <= set(metrics)
    assert metrics["provenance"]["stage"] == "predictive"
    assert metrics["provenance"]["params"]["predictive"]["n_boot"] == N_BOOT
    assert list(metrics["outcomes"]) == p["outcomes"]
    names = [d.code for d in vera.domains] + ["risk_total", "summary_risk"] + [f"SQ {s.code}" for s in sq.scales]
    for outcome, b in metrics["outcomes"].items():
        o = data["outcomes"][data["outcomes"]["outcome"] == outcome]
        assert b["n"] == len(o)
        assert b["events"] == int(o["event"].sum())
        assert b["base_rate"] == pytest.approx(b["events"] / b["n"], abs=1e-15)
        assert list(b["predictors"]) == names
        for name, e in b["predictors"].items():
            assert e["direction"] == ("lower" if name == "P" else "higher")
            assert e["n"] == e["events"] + e["non_events"]
            assert ("auc" in e) != ("not_estimable" in e)
            assert ("auc" in e) == (min(e["events"], e["non_events"]) >= p["min_events"])
        assert {"bands", "comparisons"} <= set(b)
    # at n = 300 the default battery has an estimable AUC for every outcome
    assert all("auc" in b["predictors"]["risk_total"] for b in metrics["outcomes"].values())


def test_counts_equal_the_samples(metrics, data):
    for outcome, b in metrics["outcomes"].items():
        for name, e in b["predictors"].items():
            y, _, _ = _vectors(data, outcome, name)
            assert (e["n"], e["events"], e["non_events"]) == (len(y), int(y.sum()), int(len(y) - y.sum())), name


# ---------------------------------------------------------------------------------------------
# values: the pure functions on the same vectors


def test_auc_equals_roc_auc_on_the_same_vectors(metrics, data):
    ci, seed = data["p"]["ci"], data["p"]["seed"]
    n = 0
    for outcome, name, e in _estimated(metrics):
        y, _, s = _vectors(data, outcome, name)
        assert e["auc"] == _json(roc_auc(y, s, ci=ci, direction=e["direction"]))
        for kind in ("percentile", "bca"):
            ref = _json(roc_auc(y, s, ci=ci, ci_method="bootstrap", direction=e["direction"], n_boot=N_BOOT,
                                seed=seed, boot_ci=kind))
            assert e["auc_bootstrap"][kind] == {"ci": ref["ci"], "bootstrap": ref["bootstrap"]}
        n += 1
    assert n >= 20


def test_roc_curve_thinned_from_roc_curve(metrics, data):
    max_points = data["p"]["roc_max_points"]
    for outcome, name, e in _estimated(metrics):
        y, _, s = _vectors(data, outcome, name)
        rc = roc_curve(y, s, direction=e["direction"])
        r = e["roc"]
        k = rc.thresholds.size
        assert r["n_thresholds"] == k and r["thinned"] == (k > max_points)
        idx = thin(k, max_points)
        # published: the thinned points whose 2x2 table holds no count of 1 to k-1 cases
        safe = [i for i in idx if safe_roc_point(rc.sensitivity[i], rc.specificity[i], e["events"], e["non_events"],
                                                 data["p"]["k_suppress"])]
        assert r["n_shown"] == len(safe) <= min(k, max_points)
        assert r["sensitivity"] == _json(rc.sensitivity[safe]) and r["specificity"] == _json(rc.specificity[safe])
        assert r["sensitivity"][0] == 1.0 and r["specificity"][-1] == 1.0   # both ends kept
        assert r["youden"] == [y for y in _json(rc.youden) if safe_roc_point(
            y["sensitivity"], y["specificity"], e["events"], e["non_events"], data["p"]["k_suppress"])]


def test_cutoff_tables(metrics, data):
    p, vera = data["p"], data["vera"]
    k_risk = sum(len(d.items) for d in vera.risk_domains)
    for outcome, name, e in _estimated(metrics):
        if name not in ("summary_risk", "risk_total"):
            assert "cutoffs" not in e
            continue
        y, _, s = _vectors(data, outcome, name)
        c = e["cutoffs"]
        if name == "summary_risk":
            thr = [2.0, 3.0]
            assert c["labels"] == [">=M", ">=H"]
        else:
            thr = [v * k_risk for v in p["risk_total_cutoffs"]]
            assert c["n_risk_indicators"] == k_risk and c["unit"] == "mean_rating"
        ref = _json(cutoff_table(y, s, thr, base_rates=p["base_rates"], ci=p["ci"], direction="higher"))
        for cell in ("tp", "fp", "fn", "tn"):
            assert shown_or_hidden(c[cell], ref[cell], p["k_suppress"])
        published = protect_cutoffs(ref, p["k_suppress"])      # what may be shown of the estimates
        assert {k: v for k, v in c.items() if k in ref} == {k: v for k, v in published.items() if k in ref}
        assert [br["base_rate"] for br in c["base_rates"]] == p["base_rates"]


def test_survival_figures(metrics, data):
    p = data["p"]
    for outcome, name, e in _estimated(metrics):
        y, t, s = _vectors(data, outcome, name)
        d = e["direction"]
        assert e["harrell_c"] == _json(harrell_c(t, y, s, ci=p["ci"], direction=d))
        # Uno's C at tau
        assert e["uno_c"]["tau_days"] == p["uno_tau_days"]
        assert e["uno_c"]["events_by_tau"] == int(((y == 1) & (t <= p["uno_tau_days"])).sum())
        if "c" in e["uno_c"]:
            ref = _json(uno_c(t, y, s, tau=p["uno_tau_days"], ci=p["ci"], direction=d))
            assert {k: v for k, v in e["uno_c"].items() if k in ref} == ref
        # Cox per SD
        sd = float(np.std(s, ddof=1))
        fit = cox(t, y, pd.DataFrame({name: s / sd}), ci=p["ci"])
        cx = e["cox"]
        assert cx["scale"] == sd and cx["per"].startswith(f"1 SD of {name}")
        assert cx["hr"] == fit.terms[0].hr and cx["coef"] == fit.terms[0].coef and cx["se"] == fit.terms[0].se
        assert cx["hr_ci"] == _json(fit.terms[0].hr_ci)
        assert cx["ph_test"]["p"] == float(fit.ph_test.p[0]) and cx["ph_test"]["chisq"] == float(fit.ph_test.chisq[0])
        assert cx["n_events"] == int(y.sum())
        # the per-unit hazard ratio is the per-SD one to the power 1/SD
        unit = cox(t, y, pd.DataFrame({name: s}), ci=p["ci"]).terms[0].hr
        assert math.log(unit) == pytest.approx(math.log(cx["hr"]) / sd, rel=1e-6)
        # time-dependent AUC, declined per horizon below min_events
        assert [h["horizon_days"] for h in e["time_dependent_auc"]] == p["horizons_days"]
        for h in e["time_dependent_auc"]:
            cases = int(((y == 1) & (t <= h["horizon_days"])).sum())
            controls = int((t > h["horizon_days"]).sum())
            assert shown_or_hidden([h["cases"], h["controls"]], [cases, controls], p["k_suppress"])
            if min(cases, controls) < p["min_events"]:
                assert "auc" not in h and f"{cases} events by" in h["not_estimable"]
            else:
                auc = float(time_dependent_auc(t, y, s, [h["horizon_days"]], direction=d).auc[0])
                assert h["auc"] == (round(auc, 2) if "auc_rounded" in h else auc)


def test_protective_domain_direction(metrics):
    for b in metrics["outcomes"].values():
        e = b["predictors"]["P"]
        if "auc" in e:
            assert e["auc"]["direction"] == "lower" and e["harrell_c"]["direction"] == "lower"


def test_bands_calibration_km_logrank(metrics, data):
    p, codes = data["p"], list(data["vera"].summary.codes)
    years = p["km_times_years"]
    for outcome, b in metrics["outcomes"].items():
        bb = b["bands"]
        sub = _sample(data, outcome, "summary_risk")
        y, t = sub["event"].to_numpy(dtype=int), sub["time_days"].to_numpy(dtype=float)
        code = sub["summary_risk"].to_numpy(dtype=float).astype(int)
        assert bb["bands"] == codes
        k = p["k_suppress"]
        assert shown_or_hidden(bb["n_by_band"], [int((code == i + 1).sum()) for i in range(len(codes))], k)
        assert shown_or_hidden(bb["events_by_band"], [int(((code == i + 1) & (y == 1)).sum()) for i in range(len(codes))], k)
        if "not_estimable" in bb:
            continue
        label = np.array(codes, dtype=object)[code - 1]
        cal, ref = bb["calibration"], _json(band_calibration(y, label, order=codes, ci=p["ci"]))
        assert {key: v for key, v in cal.items() if key not in ("n", "events", "rate", "lower", "upper")} == \
            {key: v for key, v in ref.items() if key not in ("n", "events", "rate", "lower", "upper")}
        for i in range(len(codes)):
            hidden = is_suppressed(cal["events"][i]) or is_suppressed(cal["n"][i])
            for key in ("rate", "lower", "upper"):
                assert cal[key][i] == (None if hidden else ref[key][i])
        assert bb["calibration"]["trend"]["p"] > 0
        lr = logrank(t, y, code)
        assert bb["logrank"]["chisq"] == lr.chisq and bb["logrank"]["p"] == lr.p
        assert bb["logrank"]["groups"] == codes
        assert all(o == e or is_suppressed(o) for o, e in zip(bb["logrank"]["observed"], _json(lr.observed)))
        km = kaplan_meier(t, y, group=code, times=[round(v * 365.25) for v in years], ci=p["ci"])
        for cv in km.curves:
            got = bb["kaplan_meier"]["curves"][codes[int(cv.group) - 1]]
            assert shown_or_hidden([got["n"], got["events"]], [cv.n, cv.n_events], k)
            assert shown_or_hidden(got["at_times"]["n_risk"], _json(cv.at_times.n_risk), k)
            assert got["at_times"]["survival"] == _json(cv.at_times.survival)
            assert got["at_times"]["n_risk"][0] == cv.n          # everyone at risk at time 0


def test_comparisons_paired_delong_and_holm(metrics, data):
    p = data["p"]
    sq_names = [f"SQ {s.code}" for s in data["sq"].scales]
    want = [("summary_risk", "risk_total")] + [("risk_total", n) for n in sq_names]
    for outcome, b in metrics["outcomes"].items():
        comp = b["comparisons"]
        assert [(c["a"], c["b"]) for c in comp["tests"]] == want
        raw = []
        for c in comp["tests"]:
            sub = _sample(data, outcome, c["a"], c["b"])
            y = sub["event"].to_numpy(dtype=int)
            assert (c["n"], c["events"]) == (len(y), int(y.sum()))     # cases having both
            if "not_estimable" in c:
                raw.append(np.nan)
                continue
            ref = _json(delong_test(y, sub[c["a"]].to_numpy(dtype=float), sub[c["b"]].to_numpy(dtype=float),
                                    ci=p["ci"], direction="higher"))
            assert c["delong"] == ref
            raw.append(ref["p"])
        adj = holm(raw)
        assert comp["n_tests"] == adj.n_tests == sum(np.isfinite(raw))
        got = [c.get("p_holm", np.nan) for c in comp["tests"]]
        np.testing.assert_array_equal(np.array(got, dtype=float), adj.adjusted)
        assert all(c["p_holm"] >= c["delong"]["p"] for c in comp["tests"] if "p_holm" in c)


def test_comparison_patterns():
    names = ["BA", "P", "risk_total", "summary_risk", "SQ a", "SQ b"]
    assert stage.comparison_pairs((("risk_total", "SQ *"), ("SQ *", "risk_total"), ("SQ *", "SQ *")), names) == [
        ("risk_total", "SQ a"), ("risk_total", "SQ b"), ("SQ a", "SQ b")]
    with pytest.raises(StageError, match="'HAC' matches no predictor"):
        stage.comparison_pairs((("HAC", "risk_total"),), names)


def test_comparison_of_a_protective_domain_orients_it():
    """A 'lower' predictor enters a paired test reflected, so its AUC is the one reported for it."""
    rng = np.random.default_rng(3)
    n = 400
    r = rng.standard_normal(n)
    y = (r + rng.standard_normal(n) > 1.2).astype(int)
    d = pd.DataFrame({"event": y, "A": r + rng.standard_normal(n), "P": -r + rng.standard_normal(n)})
    st = PredictiveConfig(outcomes=("x",), min_events=10)
    comp = stage.comparisons_block(d, [("A", "P")], {"A": "higher", "P": "lower"}, st)
    test = comp["tests"][0]["delong"]
    assert test["auc1"] == pytest.approx(roc_auc(y, d["A"], direction="higher").auc, abs=1e-15)
    assert test["auc2"] == pytest.approx(roc_auc(y, d["P"], direction="lower").auc, abs=1e-15)
    assert comp["tests"][0]["p_holm"] == test["p"]      # a single test: Holm changes nothing


# ---------------------------------------------------------------------------------------------
# declines, figures, privacy, determinism


@pytest.fixture(scope="module")
def declined(project: Path, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("declined")
    for rel in ("params.yaml", "dvc.yaml", "instruments", "data/clean"):
        (shutil.copytree if (project / rel).is_dir() else shutil.copy)(project / rel, root / rel)
    _set_params(root, min_events=60, outcomes=["extremist", "violent", "any", "not_recorded"])
    assert _run(root, "predictive") == 0
    return root


def test_declines_below_min_events_with_counts(declined: Path):
    m = json.loads((declined / "reports/metrics/predictive.json").read_text())
    ext = m["outcomes"]["extremist"]                     # about 5% of 300 cases: fewer than 60 events
    assert ext["events"] < 60
    for name, e in ext["predictors"].items():
        assert set(e) == {"direction", "n", "events", "non_events", "not_estimable"}, name
        assert e["not_estimable"].startswith(f"not estimable: {e['events']} events and {e['non_events']} non-events")
        assert "fewer than the minimum of 60" in e["not_estimable"]
    assert set(ext["bands"]) - {"suppressed"} == {"predictor", "bands", "n", "events", "non_events", "n_by_band",
                                                  "events_by_band", "not_estimable"}
    assert ext["comparisons"]["n_tests"] == 0
    assert all(set(c) == {"a", "b", "label", "n", "events", "non_events", "not_estimable"}
               for c in ext["comparisons"]["tests"])
    # no figure of a declined outcome, and no curve of it in the plot files
    figs = {f.name for f in (declined / "reports/figures/predictive").iterdir()}
    assert not any("extremist" in f for f in figs)
    assert "roc_any.svg" in figs and "km_any.svg" in figs and "calibration_any.svg" in figs
    for rel in ("reports/plots/roc.csv", "reports/plots/km.csv"):
        assert "extremist" not in (declined / rel).read_text()
    # an outcome nobody has a record of: counts 0, nothing estimated, no figure
    none = m["outcomes"]["not_recorded"]
    assert (none["n"], none["events"], none["base_rate"]) == (0, 0, None)
    assert none["not_estimable"] == "not estimable: no case with the outcome 'not_recorded' recorded"
    assert all("not_estimable" in e and e["n"] == 0 for e in none["predictors"].values())
    assert not any("not_recorded" in f for f in figs)
    # where estimable, a horizon with too few events is declined on its own
    tds = [h for b in m["outcomes"].values() for e in b["predictors"].values() for h in e.get("time_dependent_auc", [])]
    assert any("not_estimable" in h for h in tds) and any("auc" in h for h in tds)


def test_figures_and_plot_files(project: Path, metrics: dict):
    fig_dir = project / "reports/figures/predictive"
    for outcome, b in metrics["outcomes"].items():
        for kind in ("roc", "km", "calibration"):
            svg = (fig_dir / f"{kind}_{outcome}.svg").read_text()
            assert svg.lstrip().startswith("<?xml") and "</svg>" in svg
            assert f"{b['events']} events in {b['n']} cases" in svg     # the number of events beside it
        assert "number at risk" in (fig_dir / f"km_{outcome}.svg").read_text()
        shown = b["predictors"]["summary_risk"]["cutoffs"]["sensitivity"]["estimate"][0] is not None
        assert ("&gt;=M" in (fig_dir / f"roc_{outcome}.svg").read_text()) == shown   # marked unless withheld
    with open(project / "reports/plots/roc.csv", newline="") as fh:
        roc = list(csv.DictReader(fh))
    assert list(roc[0]) == ["outcome", "predictor", "fpr", "tpr"]
    assert {r["predictor"] for r in roc} == {"summary_risk", "risk_total", "SQ needs", "SQ narrative", "SQ network"}
    with open(project / "reports/plots/km.csv", newline="") as fh:
        km = pd.DataFrame(list(csv.DictReader(fh)))
    assert list(km.columns) == ["outcome", "band", "time_years", "survival"]
    km[["time_years", "survival"]] = km[["time_years", "survival"]].astype(float)
    for (outcome, band), g in km.groupby(["outcome", "band"], sort=False):
        assert g["time_years"].iloc[0] == 0.0 and g["survival"].iloc[0] == 1.0
        assert (np.diff(g["time_years"]) >= 0).all() and (np.diff(g["survival"]) <= 0).all()
        curve = metrics["outcomes"][outcome]["bands"]["kaplan_meier"]["curves"][band]
        at = curve["at_times"]
        for ty, sv in zip(at["time_years"], at["survival"]):     # the step function read at the yearly times
            assert g["survival"][g["time_years"] <= ty + 1e-12].iloc[-1] == pytest.approx(sv, abs=1e-15)


def test_small_counts_are_not_printed_in_figures():
    assert [count_label(n, 5) for n in (0, 1, 4, 5, 1234, None)] == ["0", "<5", "<5", "5", "1,234", "-"]


def test_no_keys_in_outputs(project: Path, data: dict):
    keys = set(data["cases"]["case_id"]) | set(data["ratings"]["rater_id"])
    pattern = re.compile(r"\b(" + "|".join(re.escape(k) for k in sorted(keys)) + r")\b")
    for rel, blob in _snapshot(project).items():
        text = blob.decode("utf-8")
        assert not pattern.search(text), rel
        assert "case_id" not in text, rel


def test_rerun_is_byte_identical(project: Path):
    before = _snapshot(project)
    assert _run(project, "predictive") == 0
    assert _snapshot(project) == before


def test_bad_parameters_stop_the_stage_with_a_message(declined: Path, capsys):
    before = _snapshot(declined)
    _set_params(declined, comparisons=[["risk_total", "SQ nothing"]])
    assert _run(declined, "predictive") == 2
    assert "'SQ nothing' matches no predictor" in capsys.readouterr().err
    _set_params(declined, comparisons=[], cox_per="decade")
    assert _run(declined, "predictive") == 2
    assert "predictive.cox_per: found 'decade', expected one of sd or unit" in capsys.readouterr().err
    _set_params(declined, cox_per="sd", base_rates=[0, 0.05])
    assert _run(declined, "predictive") == 2
    assert "predictive.base_rates.0: found 0, expected a value > 0" in capsys.readouterr().err
    assert _snapshot(declined) == before                  # the last good outputs stay


# ---------------------------------------------------------------------------------------------
# truth recovery on a large battery


def test_risk_total_predicts_as_the_truth_allows(tmp_path):
    """4,000 generated cases: the risk total discriminates `any` well above chance, its Cox hazard
    ratio per SD exceeds 1, and -- a noisy measure of the latent risk R -- it does not beat R's true
    AUC or log hazard ratio beyond sampling error. (The generator does not expose R per case, so the
    AUC of R itself cannot be checked against the truth here.)"""
    vera = load_instrument(ROOT / "instruments/vera2r.yaml")
    sq = load_instrument(ROOT / "instruments/sq.yaml")
    battery = generate(SyntheticConfig(n_cases=4000, seed=21, truth_draws=50_000), vera, sq)
    for name, table in battery.tables().items():
        table.to_csv(tmp_path / f"{name}.csv", index=False)
    t = load_tables(tmp_path, vera, sq)
    tables = {"vera_ratings": t.vera_ratings, "sq_responses": t.sq_responses}
    frame, direction = stage.predictors(tables, vera, sq, "prorate", 0.8)
    st = PredictiveConfig(outcomes=("any",), n_boot=100)
    o = t.outcomes[t.outcomes["outcome"] == "any"][["case_id", "event", "time_days"]]
    d = frame.merge(o, on="case_id")
    truth = battery.truth["outcomes"]["any"]
    entry, _ = stage.predictor_block("risk_total", "higher", d, st, None, False)
    auc = entry["auc"]
    assert entry["events"] > 1000
    assert 0.60 < auc["auc"] < truth["auc_R"] + 2 * auc["se"]
    assert auc["ci"]["lower"] > 0.6
    hr = entry["cox"]
    assert hr["hr"] > 1 and hr["hr_ci"]["lower"] > 1
    assert math.log(hr["hr"]) < truth["log_hr"] + 2 * hr["se"]
    assert entry["harrell_c"]["c"] > 0.6
    # the summary judgement's bands are ordered: the observed rate rises from L to H
    bands, _ = stage.bands_block(d, list(vera.summary.codes), st)
    rate = bands["calibration"]["rate"]
    assert rate[0] < rate[1] < rate[2]
    assert bands["calibration"]["trend"]["trend"] == "increasing" and bands["logrank"]["p"] < 1e-6
