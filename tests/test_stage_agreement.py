"""The ``agreement`` stage on a small synthetic project: the metrics hold what the pure functions of
validation.agreement give on the same samples (which tests/test_agreement*.py pin to R), counts of
not-rated ratings are right, small samples are declined, no key leaks, the crossed-block ICC
recovers the generator's true ICC, and a rerun writes identical bytes."""

from __future__ import annotations

import contextlib
import json
import math
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from validation.stats.agreement import (agreement_detail, bland_altman, cohen_kappa, gwet_ac, icc, icc_reml,
                                  krippendorff_alpha, sem_sdc)
from validation.battery.design import describe_rating_design
from validation.battery.instruments import load_instrument
from validation.battery.scoring import domain_totals
from validation.pipeline.stages import agreement as stage
from validation.pipeline.stages.__main__ import main

ROOT = Path(__file__).resolve().parents[1]
OUTPUTS = ("reports/metrics/agreement.json", "reports/figures/agreement")
FIGURES = ("forest_indicators.svg", "forest_additional.svg", "forest_domains.svg", "bland_altman_domains.svg")


def _setup(dest: Path, **agreement) -> Path:
    for rel in ("params.yaml", "dvc.yaml"):
        shutil.copy(ROOT / rel, dest / rel)
    shutil.copytree(ROOT / "instruments", dest / "instruments")
    params = yaml.safe_load((dest / "params.yaml").read_text())
    params["synthesize"].update(n_cases=240, crossed_cases=60)
    params["agreement"].update(n_boot=200, reml_n_boot=20, **agreement)
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


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    root = _setup(tmp_path_factory.mktemp("agreement"))
    for name in ("synthesize", "validate", "agreement"):
        assert _run(root, name) == 0, name
    return root


@pytest.fixture(scope="module")
def metrics(project: Path) -> dict:
    return json.loads((project / "reports/metrics/agreement.json").read_text())


@pytest.fixture(scope="module")
def data(project: Path) -> dict:
    """The clean tables and the samples the stage is documented to use, rebuilt here."""
    params = yaml.safe_load((project / "params.yaml").read_text())
    vera = load_instrument(project / params["instruments"]["vera"])
    rat = pd.read_parquet(project / "data/clean/vera_ratings.parquet")
    cases = pd.read_parquet(project / "data/clean/cases.parquet")
    occ1 = rat[rat["occasion"] == 1]
    indep1 = occ1[occ1["role"] == "independent"].reset_index(drop=True)
    # first two independent occasion-1 forms of each multi-rated case, in file order
    rank = indep1.groupby("case_id", sort=False).cumcount()
    size = indep1.groupby("case_id", sort=False)["case_id"].transform("size")
    first = indep1[(rank == 0) & (size >= 2)].set_index("case_id")
    second = indep1[(rank == 1) & (size >= 2)].set_index("case_id").loc[first.index]
    p = params["agreement"]
    totals = domain_totals(indep1, vera, p["not_rated_rule"], p["min_rated"])
    return {"vera": vera, "rat": rat, "cases": cases, "occ1": occ1, "indep1": indep1, "first": first,
            "second": second, "p": p, "totals": totals,
            "truth": json.loads((project / "data/synthetic/truth.json").read_text())}


def _close(a, b, tol=1e-10):
    assert a == pytest.approx(b, rel=tol, abs=tol)


# ---------------------------------------------------------------------------------------------
# structure and design


def test_structure_and_design(metrics, data):
    for key in ("provenance", "method", "bands", "design", "domain_icc", "indicators", "additional",
                "summary_risk", "intra_rater"):
        assert key in metrics, key
    vera, indep1 = data["vera"], data["indep1"]
    assert list(metrics["indicators"]) == vera.indicators
    assert list(metrics["additional"]) == vera.additional
    assert list(metrics["domain_icc"]) == [d.code for d in vera.domains] + ["risk_total"]
    d = metrics["design"]
    ref = describe_rating_design(indep1.merge(data["cases"][["case_id", "site"]], on="case_id"),
                                 "case_id", "rater_id", group="site")
    for k, v in ref.public_dict().items():
        assert d[k] == v, k
    assert d["design"] == "incomplete (partially crossed)"
    assert d["n_ratings"] == len(indep1)
    assert d["n_consensus_forms_excluded"] == int((data["occ1"]["role"] == "consensus").sum()) > 0
    assert d["n_forms_occasion1"] == len(data["occ1"])
    keys = sorted(indep1["rater_id"].unique())
    counts = indep1["rater_id"].value_counts()
    assert d["ratings_per_rater"] == {f"rater {i + 1}": int(counts[k]) for i, k in enumerate(keys)}
    for item in ("item_6", "item_11", "item_13"):
        assert d["grras"][item]
    assert str(d["n_raters"]) in d["grras"]["item_11"]
    # bands named with their source, in the method block too
    assert metrics["bands"]["icc"]["source"].startswith("Koo & Li (2016)")
    assert metrics["bands"]["kappa"]["source"].startswith("Landis & Koch (1977)")
    assert metrics["method"]["bands_icc"].startswith("Koo & Li (2016)")
    assert "Landis & Koch (1977)" in metrics["method"]["bands_kappa"]


# ---------------------------------------------------------------------------------------------
# domain totals


def _block(data: dict) -> tuple[pd.DataFrame, dict]:
    indep1 = data["indep1"]
    design = describe_rating_design(indep1, "case_id", "rater_id")
    sel = indep1["case_id"].isin(list(design.block_target_keys)) & indep1["rater_id"].isin(
        list(design.block_rater_keys))
    tot = pd.concat([indep1[["case_id", "rater_id"]], data["totals"]], axis=1)[sel]
    return tot, {"n_cases": design.block_n_targets, "n_raters": design.block_n_raters}


def test_crossed_block_icc_equals_icc_on_the_same_block(metrics, data):
    tot, size = _block(data)
    for code, m in metrics["domain_icc"].items():
        wide = tot.pivot(index="case_id", columns="rater_id", values=code)
        complete = wide.notna().all(axis=1)
        ref = icc(wide[complete], ci=data["p"]["ci"])
        assert m["n_cases_block"] == size["n_cases"] and m["n_raters_block"] == size["n_raters"]
        assert m["n_not_scorable"] == int((~complete).sum())
        assert m["n_targets"] == ref.n_targets == int(complete.sum())
        for name, f in ref.forms.items():
            _close(m["forms"][name]["icc"], f.icc)
            _close(m["forms"][name]["ci"]["lower"], f.ci.lower)
            _close(m["forms"][name]["ci"]["upper"], f.ci.upper)
            _close(m["forms"][name]["f"], f.f)
        assert "all six forms" in m["supported_forms"]
        # SEM / SDC from ICC2 and the SD of the block's totals
        sd = float(np.std(wide[complete].to_numpy(dtype=float).ravel(), ddof=1))
        sem = sem_sdc(ref["ICC2"].icc, sd, ci=data["p"]["ci"])
        _close(m["sem_sdc"]["crossed_block"]["sem"], sem.sem)
        _close(m["sem_sdc"]["crossed_block"]["sdc"], sem.sdc)
        # Koo & Li band of the point estimate
        v = m["forms"]["ICC2"]["icc"]
        band = "poor" if v < 0.5 else "moderate" if v < 0.75 else "good" if v < 0.9 else "excellent"
        assert m["forms"]["ICC2"]["band"] == band


def test_crossed_block_icc_recovers_the_true_icc(metrics, data):
    """The generator's population ICC(A,1) of each domain total lies within sampling error of the
    crossed-block ICC2: inside the 95% interval widened by half (a two-sided level of about 99.7%)."""
    truth = data["truth"]["vera"]["domains"]
    for code, t in truth.items():
        m = metrics["domain_icc"][code]
        f = m["forms"]["ICC2"]
        half = (f["ci"]["upper"] - f["ci"]["lower"]) / 2.0
        assert abs(f["icc"] - t["icc_a1"]) <= 1.5 * half, (code, f["icc"], t["icc_a1"], f["ci"])
        assert f["ci"]["lower"] - 0.5 * half <= t["icc_a1"] <= f["ci"]["upper"] + 0.5 * half
        # the REML estimate on all ratings as well
        r = m["reml"]["forms"]["ICC2"]
        assert abs(r["icc"] - t["icc_a1"]) < 0.15, (code, r["icc"], t["icc_a1"])


def test_reml_icc_equals_icc_reml_on_all_ratings(metrics, data):
    indep1 = data["indep1"]
    tot = pd.concat([indep1[["case_id", "rater_id"]], data["totals"]], axis=1)
    for code, m in metrics["domain_icc"].items():
        r = m["reml"]
        ok = tot[code].notna()
        ref = icc_reml(tot[ok], targets="case_id", raters="rater_id", ratings=code, ci=None)
        assert r["n_forms"] == len(tot) and r["n_not_scorable"] == int((~ok).sum())
        assert r["n_ratings"] == ref.n_ratings and r["n_targets"] == ref.n_targets
        for comp in ("var_targets", "var_raters", "var_residual"):
            assert r[comp] == pytest.approx(getattr(ref, comp), rel=1e-4)
        for name, f in ref.forms.items():
            assert r["forms"][name]["icc"] == pytest.approx(f.icc, abs=1e-5)
            lo, hi = r["forms"][name]["ci"]["lower"], r["forms"][name]["ci"]["upper"]
            assert lo <= hi
        assert r["n_boot"] + r["n_boot_failed"] == data["p"]["reml_n_boot"]
        assert r["supported_forms"].startswith("incomplete crossed")
        sd = math.sqrt(r["var_targets"] + r["var_raters"] + r["var_residual"])
        _close(m["sem_sdc"]["reml"]["sem"], sem_sdc(r["forms"]["ICC2"]["icc"], sd).sem)
        # the sampling does not touch the point estimate: its own "not_estimable" is renamed
        assert "not_estimable" not in r and r["not_estimable_parts"] == {}


def test_bland_altman_on_the_first_two_ratings(metrics, data):
    t1 = domain_totals(data["first"], data["vera"], data["p"]["not_rated_rule"], data["p"]["min_rated"])
    t2 = domain_totals(data["second"], data["vera"], data["p"]["not_rated_rule"], data["p"]["min_rated"])
    for code, m in metrics["domain_icc"].items():
        ba = m["bland_altman"]
        x1, x2 = t1[code].to_numpy(), t2[code].to_numpy()
        ok = np.isfinite(x1) & np.isfinite(x2)
        ref = bland_altman(x1[ok], x2[ok], ci=data["p"]["ci"])
        assert ba["n_pairs"] == ref.n and ba["n_pairs_not_scorable"] == int((~ok).sum())
        for k in ("bias", "sd", "lower", "upper"):
            _close(ba[k], getattr(ref, k))
        _close(ba["upper_ci"]["upper"], ref.upper_ci.upper)


# ---------------------------------------------------------------------------------------------
# indicators, additional indicators, summary


def test_indicator_kappas_equal_cohen_kappa_on_the_same_pairs(metrics, data):
    a, b = data["first"], data["second"]
    for item in data["vera"].indicators:
        m = metrics["indicators"][item]["weighted_kappa"]
        ok = a[item].notna() & b[item].notna()
        ref = cohen_kappa(a.loc[ok, item].astype(int), b.loc[ok, item].astype(int), weights="quadratic",
                          levels=[1, 2, 3], ci=data["p"]["ci"])
        _close(m["kappa"], ref.kappa)
        _close(m["se"], ref.se)
        _close(m["ci"]["lower"], ref.ci.lower)
        assert m["table"] == [list(r) for r in ref.table]
        # not rated: left out and counted, never scored as low
        assert m["n_pairs"] == ref.n == int(ok.sum())
        assert m["n_pairs_not_rated"] == int((~ok).sum())
        assert m["n_ratings_not_rated"] == int(a[item].isna().sum() + b[item].isna().sum())
        assert m["n_pairs"] + m["n_pairs_not_rated"] == metrics["design"]["n_targets_multi_rated"]
    s = metrics["summary_risk"]["weighted_kappa"]
    col = data["vera"].summary_column
    ok = a[col].notna() & b[col].notna()
    _close(s["kappa"], cohen_kappa(a.loc[ok, col].astype(int), b.loc[ok, col].astype(int), weights="quadratic",
                                   levels=[1, 2, 3]).kappa)


def test_alpha_and_ac2_use_all_independent_ratings(metrics, data):
    indep1 = data["indep1"]
    for k, item in enumerate(data["vera"].indicators[:6] + [data["vera"].summary_column]):
        m = metrics["summary_risk"] if item == data["vera"].summary_column else metrics["indicators"][item]
        rated = indep1[item].notna()
        assert m["n_forms"] == len(indep1)
        assert m["n_ratings"] == int(rated.sum()) and m["n_not_rated"] == int((~rated).sum())
        per_case = rated.groupby(indep1["case_id"]).sum()
        assert m["n_cases_pairable"] == int((per_case >= 2).sum())
        long = indep1[["case_id", "rater_id", item]]
        ref = krippendorff_alpha(long, level="ordinal", ci=None, targets="case_id", raters="rater_id", ratings=item,
                                 levels=[1, 2, 3])
        al = m["krippendorff_alpha"]
        _close(al["alpha"], ref.alpha)
        assert al["n_units"] == ref.n_units == m["n_cases_pairable"]
        assert al["ci"]["lower"] <= al["alpha"] <= al["ci"]["upper"]
        assert al["n_boot"] == data["p"]["n_boot"]
        g = gwet_ac(long, weights="quadratic", targets="case_id", raters="rater_id", ratings=item, levels=[1, 2, 3],
                    ci=data["p"]["ci"])
        _close(m["gwet_ac2"]["estimate"], g.estimate)
        _close(m["gwet_ac2"]["ci"]["upper"], g.ci.upper)
        assert m["gwet_ac2"]["coefficient"] == "AC2"


def test_additional_indicators_kappa_ac1_and_detail(metrics, data):
    a, b, indep1 = data["first"], data["second"], data["indep1"]
    for item in data["vera"].additional:
        m = metrics["additional"][item]
        ok = a[item].notna() & b[item].notna()
        x, y = a.loc[ok, item].astype(int), b.loc[ok, item].astype(int)
        ref = cohen_kappa(x, y, levels=[0, 1], ci=data["p"]["ci"])
        _close(m["kappa"]["kappa"], ref.kappa)
        assert m["kappa"]["weights"] == "none"
        det = agreement_detail(x, y, levels=[0, 1], positive=1)
        for k in ("p_observed", "pabak", "p_positive", "p_negative", "prevalence_index", "bias_index"):
            _close(m["detail"][k], getattr(det, k))
        assert m["detail"]["n_pairs"] == int(ok.sum())
        g = gwet_ac(indep1[["case_id", "rater_id", item]], targets="case_id", raters="rater_id", ratings=item,
                    levels=[0, 1])
        _close(m["gwet_ac1"]["estimate"], g.estimate)
        assert m["gwet_ac1"]["coefficient"] == "AC1"


def test_landis_koch_bands(metrics):
    def lk(v):
        return ("poor" if v <= 0 else "slight" if v <= 0.2 else "fair" if v <= 0.4 else "moderate" if v <= 0.6
                else "substantial" if v <= 0.8 else "almost perfect")

    for m in metrics["indicators"].values():
        for coef, key in (("weighted_kappa", "kappa"), ("krippendorff_alpha", "alpha"), ("gwet_ac2", "estimate")):
            r = m[coef]
            assert r["band"] == lk(r[key])
            assert r["band_ci"].split(" to ")[0] == lk(r["ci"]["lower"])


def test_band_edges():
    from validation.report.rules import Bands
    spec_l = Bands(source="s", closed="left", limits={"a": [-1.0, 0.5], "b": [0.5, 1.0]})
    spec_r = Bands(source="s", closed="right", limits={"a": [-1.0, 0.5], "b": [0.5, 1.0]})
    assert spec_l.band(0.5) == "b" and spec_r.band(0.5) == "a"
    assert spec_l.band(1.0) == "b" and spec_r.band(-1.0) == "a"
    assert spec_l.band(-3.0) == "a" and spec_l.band(None) is None
    assert spec_l.interpret(0.4, {"lower": 0.2, "upper": 0.7}) == {"band": "a", "band_ci": "a to b"}


# ---------------------------------------------------------------------------------------------
# intra-rater


def test_intra_rater_same_rater_across_occasions(metrics, data):
    rat, vera, p = data["rat"], data["vera"], data["p"]
    ind = rat[rat["role"] == "independent"]
    o1 = ind[ind["occasion"] == 1].set_index(["case_id", "rater_id"])
    o2 = ind[ind["occasion"] == 2].set_index(["case_id", "rater_id"])
    common = o1.index.intersection(o2.index)
    ir = metrics["intra_rater"]
    assert ir["n_cases"] == len(common) == metrics["design"]["n_cases_reassessed_same_rater"] > 0
    t1 = domain_totals(o1.loc[common], vera, p["not_rated_rule"], p["min_rated"])
    t2 = domain_totals(o2.loc[common], vera, p["not_rated_rule"], p["min_rated"])
    for code, m in ir["domain_icc"].items():
        wide = pd.DataFrame({"o1": t1[code].to_numpy(), "o2": t2[code].to_numpy()}).dropna()
        ref = icc(wide, ci=p["ci"])
        assert m["n_pairs"] == len(wide)
        _close(m["forms"]["ICC2"]["icc"], ref["ICC2"].icc)
        _close(m["forms"]["ICC3"]["ci"]["lower"], ref["ICC3"].ci.lower)
    item = vera.indicators[0]
    ok = o1.loc[common, item].notna().to_numpy() & o2.loc[common, item].notna().to_numpy()
    ref = cohen_kappa(o1.loc[common, item].to_numpy()[ok].astype(int), o2.loc[common, item].to_numpy()[ok].astype(int),
                      weights="quadratic", levels=[1, 2, 3])
    _close(ir["indicators"][item]["kappa"], ref.kappa)
    assert ir["indicators"][item]["n_pairs_not_rated"] == int((~ok).sum())


# ---------------------------------------------------------------------------------------------
# privacy, figures, determinism


def test_no_case_or_rater_key_in_any_output(project, data):
    texts = [(project / "reports/metrics/agreement.json").read_text()]
    texts += [(project / "reports/figures/agreement" / f).read_text() for f in FIGURES]
    keys = set(data["rat"]["case_id"]) | set(data["rat"]["rater_id"])
    assert len(keys) > 100
    for text in texts:
        leaked = [k for k in keys if k in text]
        assert not leaked, leaked[:5]


def test_figures_are_svg(project):
    for f in FIGURES:
        text = (project / "reports/figures/agreement" / f).read_text()
        assert text.lstrip().startswith("<?xml") and "<svg" in text
        assert "Date" not in text


def test_rerun_writes_identical_bytes(project):
    before = _snapshot(project)
    assert _run(project, "agreement") == 0
    assert _snapshot(project) == before


def test_small_samples_are_declined_with_counts(project, tmp_path):
    """With min_targets above every sample size each coefficient is declined, saying how many
    pairs or cases there were, and the stage still writes its metrics and figures."""
    root = _setup(tmp_path, min_targets=100_000)
    shutil.copytree(project / "data", root / "data")
    assert _run(root, "agreement") == 0
    m = json.loads((root / "reports/metrics/agreement.json").read_text())
    k = m["indicators"]["BA1"]["weighted_kappa"]
    assert k["not_estimable"] == f"only {k['n_pairs']} pairs rated by both raters (fewer than min_targets = 100000)"
    assert "kappa" not in k and k["n_pairs"] > 0
    al = m["indicators"]["BA1"]["krippendorff_alpha"]
    assert al["not_estimable"].startswith(f"only {al['n_cases_pairable']} cases rated by two or more raters")
    for code, d in m["domain_icc"].items():
        assert d["not_estimable"].startswith("only ") and "forms" not in d
        assert d["reml"]["not_estimable"].startswith("only ")
        assert d["bland_altman"]["not_estimable"].startswith("only ")
        assert d["sem_sdc"]["crossed_block"]["not_estimable"]
    assert m["additional"]["CH1"]["detail"]["not_estimable"].startswith("only ")
    assert m["intra_rater"]["domain_icc"]["BA"]["not_estimable"].startswith("only ")
    assert m["summary_risk"]["gwet_ac2"]["not_estimable"].startswith("only ")
    for f in FIGURES:
        assert (root / "reports/figures/agreement" / f).stat().st_size > 0


def test_invalid_params_are_refused_before_any_work(tmp_path, capsys):
    root = _setup(tmp_path, gwet_weights="cubic", min_targets=1)
    assert _run(root, "agreement") == 2
    err = capsys.readouterr().err
    assert "agreement.gwet_weights" in err and "agreement.min_targets" in err
    assert not (root / "reports").exists()


def test_plot_helpers(tmp_path):
    from validation.report.figures import agreement as plots

    assert plots.clip_bands({"poor": (-1.0, 0.0), "fair": (0.0, 0.5), "far": (2.0, 3.0)}, (-0.2, 1.0)) == {
        "poor": (-0.2, 0.0), "fair": (0.0, 0.5)}
    nan = float("nan")
    series = {"a": ([0.5, nan], [0.3, nan], [0.7, nan]), "b": ([0.4, 0.6], [nan, 0.5], [nan, 0.7])}
    paths = []
    for i in range(2):
        fig = plots.coefficient_forest(["x", "y"], series, "t", "coefficient", bands={"low": (-1.0, 0.5)},
                                       points={"p": [0.9, nan]})
        paths.append(tmp_path / f"f{i}.svg")
        plots.save_svg(fig, paths[-1])
    assert paths[0].read_bytes() == paths[1].read_bytes()
    with pytest.raises(ValueError, match="each of length 2"):
        plots.coefficient_forest(["x", "y"], {"a": ([0.5], [0.3], [0.7])}, "t", "x")
    fig = plots.bland_altman_panels(
        [{"label": "A", "mean": [1.0, 2.0, 3.0], "diff": [0.1, -0.2, 0.0], "bias": 0.0, "lower": -0.3, "upper": 0.3,
          "bias_ci": (-0.1, 0.1)},
         {"label": "B", "not_estimable": "only 2 pairs"}], "BA")
    assert len([ax for ax in fig.axes if ax.get_visible()]) == 2
    plots.save_svg(fig, tmp_path / "ba.svg")
    with pytest.raises(ValueError, match="at least one panel"):
        plots.bland_altman_panels([], "BA")
