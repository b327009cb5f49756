"""Site bundles and pooling across sites: the synthetic battery split by site, one bundle a site, the
bundles pooled; exact figures equal the full-data run's, changed bundles are refused, and no bundle
holds a case or rater key."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from validation.cli import main
from validation.pipeline.bundle import make_bundle, pool_bundles, split_by_site
from validation.pipeline.config import load_config


@pytest.fixture(scope="module")
def sites(project: Path, tmp_path_factory) -> list[Path]:
    return split_by_site(project / "data" / "synthetic", tmp_path_factory.mktemp("sites"))


def _bundles(project: Path, sites: list[Path], out: Path, k: int | None = None) -> list[Path]:
    config = load_config(project)
    # fewer REML bootstrap refits than the default 1,000: the tests check how the sites' ICCs are pooled
    config = config.with_section("agreement", config.agreement.model_copy(update={"reml_n_boot": 200}))
    if k is not None:
        config = config.with_section("validate", config.validate.model_copy(update={"k_anonymity": k}))
    paths = []
    for folder in sites:
        make_bundle(folder, out / folder.name, project, config)
        paths.append(out / folder.name)
    return paths


@pytest.fixture(scope="module")
def bundles(project: Path, sites: list[Path], tmp_path_factory) -> list[Path]:
    return _bundles(project, sites, tmp_path_factory.mktemp("bundles"))


@pytest.fixture(scope="module")
def whole(project: Path, sites: list[Path], tmp_path_factory) -> list[Path]:
    """Bundles at k = 1: no count is small, so every table and every missing-data pattern leaves whole."""
    return _bundles(project, sites, tmp_path_factory.mktemp("whole"), k=1)


def _metrics(project: Path, name: str) -> dict:
    return json.loads((project / "reports" / "metrics" / f"{name}.json").read_text())


def _full_figure(project: Path, rec: dict) -> tuple[float, float, float] | None:
    """The same figure in the full-data run's metrics."""
    if rec["kind"] == "alpha":
        inst, code = rec["label"].removesuffix(" alpha").split(" ", 1)
        rel = _metrics(project, "reliability")
        block = rel["vera"]["domains"][code] if inst == "VERA-2R" else rel["sq"]["scales"][code]
        a = block["overall"]["alpha"]
        return a["alpha"], a["ci"]["lower"], a["ci"]["upper"]
    if rec["kind"] == "auc":
        outcome, what = rec["label"].split(": AUC of the ")
        key = {"risk total": "risk_total", "summary judgement": "summary_risk"}[what]
        a = _metrics(project, "predictive")["outcomes"][outcome]["predictors"][key].get("auc")
        return (a["auc"], a["ci"]["lower"], a["ci"]["upper"]) if a and "auc" in a else None
    if rec["kind"] == "kappa":
        ag = _metrics(project, "agreement")
        a = ag["indicators"][rec["indicator"]] if rec.get("indicator") else ag["summary_risk"]
        a = a["weighted_kappa"]
        return (a["kappa"], a["ci"]["lower"], a["ci"]["upper"]) if "kappa" in a else None
    return None


def test_exact_figures_equal_the_full_data_run(project, bundles):
    pooled = pool_bundles(bundles)
    exact = [r for r in pooled["key_figures"] if r["pooling"] == "exact"]
    kinds = {r["kind"] for r in exact}
    assert "alpha" in kinds
    for rec in exact:
        want = _full_figure(project, rec)
        assert want is not None, rec["label"]
        np.testing.assert_allclose([rec["estimate"], rec["ci_lower"], rec["ci_upper"]], want, rtol=0, atol=1e-9,
                                   err_msg=rec["label"])
    # what could not leave whole is pooled by meta-analysis, with its heterogeneity
    meta = [r for r in pooled["key_figures"] if r["pooling"] == "random-effects"]
    assert meta and all({"tau2", "i2", "q", "q_p", "pi_lower", "pi_upper", "k_sites"} <= set(r) for r in meta)
    assert all(r["k_sites"] >= 2 for r in meta)


def test_without_small_cells_every_figure_is_exact(project, whole):
    """k = 1 (no count is small): every table leaves whole, and alpha, the AUCs with their DeLong
    intervals and the weighted kappas (summary judgement and every indicator) of the pooled bundles equal
    the full-data run's to 1e-9."""
    pooled = pool_bundles(whole)
    checked = set()
    for rec in pooled["key_figures"]:
        if rec["kind"] in ("omega", "icc", "c", "hr"):
            assert rec["pooling"] == "random-effects"      # omega, REML ICC, C and Cox models cannot be pooled exactly
            continue
        assert rec["pooling"] == "exact", rec["label"]
        want = _full_figure(project, rec)
        if want is None:                                   # declined in the full run (too few events)
            continue
        np.testing.assert_allclose([rec["estimate"], rec["ci_lower"], rec["ci_upper"]], want, rtol=0, atol=1e-9,
                                   err_msg=rec["label"])
        checked.add(rec["kind"] + (" indicator" if rec.get("indicator") else ""))
    assert checked == {"alpha", "auc", "kappa", "kappa indicator"}


def test_no_bundle_holds_a_case_or_rater_key(project, sites, bundles):
    keys = set()
    for folder in sites:
        keys |= set(pd.read_csv(folder / "cases.csv", dtype=str)["case_id"])
        keys |= set(pd.read_csv(folder / "vera_ratings.csv", dtype=str)["rater_id"])
    assert keys
    for bundle in bundles:
        for f in bundle.rglob("*"):
            if f.is_file():
                text = f.read_bytes()
                found = [k for k in keys if k.encode() in text]
                assert not found, f"{f} holds {found[:3]}"


def test_a_bundle_changed_by_one_byte_is_refused(bundles, tmp_path):
    import shutil

    runner = CliRunner()
    for target in ("parts/predictive.json", "manifest.json"):
        copy = tmp_path / target.replace("/", "_")
        shutil.copytree(bundles[0], copy)
        f = copy / target
        data = bytearray(f.read_bytes())
        i = data.index(b"0.")              # a digit inside a figure
        data[i] = ord("1")
        f.write_bytes(bytes(data))
        res = runner.invoke(main, ["pool", str(copy), *map(str, bundles[1:]), "--out", str(tmp_path / "out")])
        assert res.exit_code == 2, res.output
        assert "does not match its SHA-256" in res.output and "changed after it was made" in res.output
        assert not (tmp_path / "out" / "summary.json").exists()


def test_bundles_that_do_not_fit_together_are_refused(bundles, tmp_path):
    from validation.pipeline.bundle import BundleError

    with pytest.raises(BundleError, match="appear in more than one bundle"):
        pool_bundles([bundles[0], bundles[0]])
    with pytest.raises(BundleError, match="not a site bundle"):
        pool_bundles([tmp_path])


def test_bundle_and_pool_from_the_command_line(project, sites, tmp_path, monkeypatch):
    monkeypatch.chdir(project)
    runner = CliRunner()
    res = runner.invoke(main, ["bundle", str(sites[0]), "--out", str(tmp_path / "b")])
    assert res.exit_code == 0, res.output
    assert "What leaves the site: aggregates only" in res.output and (tmp_path / "b" / "what_leaves.txt").exists()
    page = (tmp_path / "b" / "what_leaves.html").read_text()
    manifest = json.loads((tmp_path / "b" / "manifest.json").read_text())
    assert f"What leaves site {manifest['site']}" in page and manifest["parts"]["predictive"] in page
    assert all(w.split(":")[0] in page for w in manifest["withheld"])
    res = runner.invoke(main, ["bundle", str(sites[0]), "--out", str(tmp_path / "b")])
    assert res.exit_code == 2 and "not empty" in res.output
    both = tmp_path / "both"
    both.mkdir()
    for name in ("cases", "vera_ratings", "sq_responses", "outcomes"):
        pd.concat([pd.read_csv(s / f"{name}.csv", dtype=str) for s in sites[:2]]).to_csv(both / f"{name}.csv",
                                                                                          index=False)
    res = runner.invoke(main, ["bundle", str(both), "--out", str(tmp_path / "c")])
    assert res.exit_code == 2 and "a bundle is one site's; name it with --site" in res.output
    for s in sites[1:]:
        assert runner.invoke(main, ["bundle", str(s), "--out", str(tmp_path / s.name)]).exit_code == 0
    res = runner.invoke(main, ["pool", str(tmp_path / "b"), *[str(tmp_path / s.name) for s in sites[1:]],
                               "--out", str(tmp_path / "pooled")])
    assert res.exit_code == 0, res.output
    pooled = json.loads((tmp_path / "pooled" / "summary.json").read_text())
    page = (tmp_path / "pooled" / "across_sites.html").read_text()
    assert "Validation across sites" in page and page.count("<svg") == sum(
        1 for r in pooled["key_figures"] if r.get("site_estimates"))
    assert {r["pooling"] for r in pooled["key_figures"]} <= {"exact", "random-effects"}
    judged = [r for r in pooled["key_figures"] if r["kind"] not in ("c", "hr")]
    assert all(r["verdict"] for r in judged)
    assert all(r["verdict"] is None and "no cut-off" in r["reason"] for r in pooled["key_figures"] if r not in judged)


def test_hazard_ratios_and_c_are_pooled_on_their_log_and_logit_scales(bundles):
    from validation.pipeline.bundle import read_bundle
    from validation.stats.meta import random_effects

    pooled = pool_bundles(bundles)
    parts = [read_bundle(b) for b in bundles]
    for outcome, label in (("any", "risk total"),):
        rec = next(r for r in pooled["key_figures"] if r["label"] == f"{outcome}: hazard ratio per SD of the {label}")
        sites = [(m["site"], p["predictive"][outcome]["risk_total"]["cox_per_sd"]) for m, p in parts]
        sites = [(s, h) for s, h in sites if "log_hr" in h]
        res = random_effects([h["log_hr"] for _, h in sites], [h["variance_log"] for _, h in sites])
        assert rec["estimate"] == pytest.approx(np.exp(res.estimate), rel=1e-12)
        assert [rec["ci_lower"], rec["ci_upper"]] == pytest.approx(np.exp([res.ci.lower, res.ci.upper]), rel=1e-12)
        assert rec["k_sites"] == len(sites) and rec["pooling"] == "random-effects"
        c = next(r for r in pooled["key_figures"] if r["label"] == f"{outcome}: Harrell's C of the {label}")
        assert 0.5 < c["estimate"] < 1 and c["scale"] == "logit"


def test_icc_and_omega_are_pooled_on_fisher_z_and_bonett_scales(project, bundles):
    from validation.pipeline.bundle import read_bundle
    from validation.stats.meta import random_effects

    pooled = pool_bundles(bundles)
    parts = [read_bundle(b)[1] for b in bundles]
    full = _metrics(project, "agreement")["domain_icc"]
    for code in ("BA", "risk_total"):
        label = f"ICC {code}, REML" if code != "risk_total" else "ICC risk total, REML"
        rec = next(r for r in pooled["key_figures"] if r["label"] == label)
        sites = [p["agreement"]["icc"][code] for p in parts if "estimate" in p["agreement"]["icc"][code]]
        res = random_effects([np.arctanh(e["estimate"]) for e in sites], [e["variance_z"] for e in sites])
        assert rec["scale"] == "fisher_z" and rec["k_sites"] == len(sites) >= 2
        assert [rec["estimate"], rec["ci_lower"], rec["ci_upper"]] == pytest.approx(
            np.tanh([res.estimate, res.ci.lower, res.ci.upper]), rel=1e-12)
        # near the full-data REML ICC (the same cases, rated within their sites)
        assert abs(rec["estimate"] - full[code]["reml"]["forms"]["ICC2"]["icc"]) < 0.05
    for rec in (r for r in pooled["key_figures"] if r["kind"] in ("omega", "alpha", "icc", "kappa", "auc")):
        assert rec["ci_lower"] <= rec["estimate"] <= rec["ci_upper"], rec["label"]
        if rec["pooling"] == "random-effects":
            assert rec["pi_lower"] <= rec["estimate"] <= rec["pi_upper"], rec["label"]


def test_the_sq_model_from_pooled_moments_equals_its_fit_to_the_complete_cases_together(project, sites, bundles):
    from validation.battery.contract import load_tables
    from validation.battery.scoring import sq_keyed
    from validation.pipeline.common import load_instruments
    from validation.pipeline.stages.structure import measurement_model
    from validation.stats.cfa import cfa
    from validation.stats.results import to_dict

    pooled = pool_bundles(bundles)
    model = next(m for m in pooled["models"] if m["kind"] == "cfa")
    config = load_config(project)
    vera, sq = load_instruments(project, config)
    t = load_tables(project / "data" / "synthetic", vera, sq, k_anonymity=config.validate.k_anonymity)
    sq1 = t.sq_responses[t.sq_responses["occasion"] == 1]
    complete = sq_keyed(sq1, sq).astype(float).dropna()
    want = to_dict(cfa(measurement_model(sq), complete, missing="listwise", modindices=None))["fit"]
    assert model["pooling"] == "exact" and model["n"] == len(complete) and model["k_sites"] == len(bundles)
    for key, value in model["fit"].items():
        assert value == pytest.approx(want[key], rel=1e-9, abs=1e-12), key
    # the sites' missing-data patterns with fewer than k cases stay home: the note says FIML is not possible
    assert "complete cases of every site (listwise)" in model["note"]
    assert "full-information ML across sites is not possible" in model["note"]
    # loadings: each site's standardised loading where its FIML fit is estimable (else the reason is sent),
    # pooled on Fisher's z from two sites on
    from validation.pipeline.bundle import read_bundle

    site_loadings = [read_bundle(b)[1]["structure"]["sq"]["std_loadings"] for b in bundles]
    assert all(isinstance(x, list) or x["not_estimable"].startswith("not estimable") for x in site_loadings)
    fitted = sum(isinstance(x, list) for x in site_loadings)
    assert (len(pooled["loadings"]) > 0) == (fitted >= 2)
    assert all(r["scale"] == "fisher_z" and r["k_sites"] >= 2 for r in pooled["loadings"])


def test_cutoff_tables_from_pooled_counts_equal_the_full_data_run(project, whole):
    """Every figure equal to the full-data run's, and the same small counts suppressed (both at k = 5)."""
    pooled = pool_bundles(whole)
    full = _metrics(project, "predictive")["outcomes"]
    assert pooled["cutoffs"]
    for t in pooled["cutoffs"]:
        want = full[t["outcome"]]["predictors"][t["predictor"]]["cutoffs"]
        assert t["pooling"] == "exact" and t["labels"] == want["labels"]
        assert [t[c] for c in ("tp", "fp", "fn", "tn")] == [want[c] for c in ("tp", "fp", "fn", "tn")]
        for block in ("sensitivity", "specificity", "ppv", "npv", "lr_positive"):
            for key in ("estimate", "lower", "upper"):
                got, exp = t[block][key], want[block][key]
                assert [g is None for g in got] == [e is None for e in exp]        # withheld alike
                np.testing.assert_allclose([g for g in got if g is not None], [e for e in exp if e is not None],
                                           rtol=1e-12, atol=1e-12, err_msg=f"{t['outcome']} {t['predictor']} {block} {key}")


def test_with_every_missing_data_pattern_whole_the_sq_model_is_the_full_data_fiml_fit(project, whole):
    """k = 1: each site sends every pattern's moments; full-information ML on rows carrying them gives the
    full-data run's FIML fit of the SQ model (structure.json), and its invariance across sites and across
    languages (each language's patterns summed over the sites)."""
    pooled = pool_bundles(whole)
    model = next(m for m in pooled["models"] if m["kind"] == "cfa")
    want = _metrics(project, "structure")["sq"]["cfa"]
    assert model["missing"] == "ml" and want["missing"].startswith("full information ML")
    assert model["n"] == want["n"]
    for key, value in model["fit"].items():
        assert value == pytest.approx(want["fit"][key], rel=1e-8, abs=1e-10), key
    for grouping, want in _metrics(project, "structure")["sq"]["invariance"].items():
        got = pooled["invariance"][grouping]
        assert got["how"].startswith("full-information ML") and got["pooling"] == "exact"
        if "not_estimable" in want:                  # too few groups of min_group_n here: declined alike
            assert got["not_estimable"] == want["not_estimable"] and got["groups_dropped"] == want["groups_dropped"]
            continue
        assert (got["groups"], got["groups_dropped"], got["level"], got["freed_intercepts"]) == (
            want["groups"], want["groups_dropped"], want["level"], want["freed_intercepts"])
        for a, b in zip(got["steps"], want["steps"], strict=True):
            assert a["name"] == b["name"] and a["holds"] == b["holds"]
            for key, value in a["fit"].items():
                assert value == pytest.approx(b["fit"][key], rel=1e-8, abs=1e-10), (grouping, a["name"], key)
            for key in ("chisq_diff", "delta_cfi", "delta_rmsea", "pvalue"):
                assert a[key] == pytest.approx(b[key], rel=1e-6, abs=1e-10, nan_ok=True), (grouping, a["name"], key)


def test_invariance_from_bundles_says_why_when_the_moments_are_too_few(bundles):
    pooled = pool_bundles(bundles)
    for grouping in ("site", "language"):
        block = pooled["invariance"][grouping]
        assert block["how"] == "complete cases (listwise)"       # k = 5: small missing-data patterns stay home
        assert block.get("not_estimable") or "steps" in block
