"""The multi-site path through the pipeline: site bundles under data/bundles, ``sites.source: bundles``
in params.yaml, ``dvc repro`` pools them (stage ``pool``) and the report shows the pooled figures."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from conftest import run_in
from validation.pipeline.bundle import make_bundle, split_by_site
from validation.pipeline.config import load_config


def test_dvc_repro_pools_the_bundles_named_in_params(project: Path, tmp_path: Path):
    config = load_config(project)
    names = []
    for folder in split_by_site(project / "data" / "synthetic", tmp_path / "sites"):
        make_bundle(folder, project / "data" / "bundles" / folder.name, project, config)
        names.append(folder.name)
    params = yaml.safe_load((project / "params.yaml").read_text())
    params["sites"] = {"source": "bundles", "bundles": names + ["missing"]}
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    bad = run_in(["dvc", "repro", "pool"], project, check=False)
    assert bad.returncode != 0
    assert "sites.bundles: found 'missing', expected a site bundle in data/bundles/missing/" in bad.stdout + bad.stderr
    params["sites"]["bundles"] = names
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    local = {name: json.loads((project / f"reports/metrics/{name}.json").read_text())
             for name in ("reliability", "agreement", "summary")}
    run_in(["dvc", "repro", "report"], project)
    pooled = json.loads((project / "reports/metrics/pooled.json").read_text())
    assert pooled["source"] == "bundles" and pooled["sites"] == names and pooled["synthetic"] is True
    alpha = next(r for r in pooled["key_figures"] if r["label"] == "VERA-2R BA alpha")
    assert alpha["pooling"] == "exact"
    assert abs(alpha["estimate"] - local["reliability"]["vera"]["domains"]["BA"]["overall"]["alpha"]["alpha"]) < 1e-9
    # pool ran in place of the per-row stages: each wrote its outputs as not run
    for name in ("data_quality", "reliability", "structure", "agreement", "predictive"):
        m = json.loads((project / f"reports/metrics/{name}.json").read_text())
        assert m["not_run"].startswith("not run: sites.source is bundles") and set(m) == {"provenance", "not_run"}
    # the report and summary.json are built from the pooled figures, each saying how it was pooled
    summary = json.loads((project / "reports/metrics/summary.json").read_text())
    recs = {r["id"]: r for r in summary["key_figures"]}
    kappa = recs["agreement_summary_risk_judgement_weighted_kappa"]
    assert kappa["pooling"] in ("exact", "random-effects")
    if kappa["pooling"] == "exact":
        want = local["agreement"]["summary_risk"]["weighted_kappa"]["kappa"]
        assert abs(kappa["estimate"] - want) < 1e-9
    assert recs["agreement_icc_ba_reml"]["pooling"] == "random-effects"
    assert recs["structure_sq_cfa_cfi"]["pooling"] == "exact"           # the SQ model on the sites' summed moments
    assert recs["invariance_sq_invariance_across_sites"]["pooling"] == "exact"          # from the sites' moments
    assert recs["invariance_vera_2r_invariance_across_sites_ordinal"]["verdict"] == "not estimable"
    # the same ids as the local run's summary for what both give
    assert {"reliability_vera_2r_ba_omega", "agreement_icc_risk_total_reml"} <= (
        set(recs) & {r["id"] for r in local["summary"]["key_figures"]})
    assert any(i.startswith("predictive_") and "_auc_of_the_risk_total" in i for i in recs)
    uses = {u["id"]: u for u in summary["intended_uses"]}
    assert "VERA-2R invariance across sites (ordinal)" in uses["release_decisions"]["undecided"]
    report = (project / "reports/validation_report.html").read_text()
    assert 'id="across-sites"' in report and f"{len(names)} site bundles pooled" in report
    assert "random-effects meta-analysis of 4 sites" in report and "the site bundles of S1, S2, S3, S4 (pooled)" in report
    assert report.count("Not run here: the figures come from the site bundles") == 5
    assert "Validation across sites" in (project / "reports/across_sites.html").read_text()
    # a second repro changes nothing
    again = run_in(["dvc", "status"], project)
    assert "changed" not in again.stdout
