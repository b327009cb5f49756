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
    run_in(["dvc", "repro", "report"], project)
    pooled = json.loads((project / "reports/metrics/pooled.json").read_text())
    assert pooled["source"] == "bundles" and pooled["sites"] == names
    rel = json.loads((project / "reports/metrics/reliability.json").read_text())
    alpha = next(r for r in pooled["key_figures"] if r["label"] == "VERA-2R BA alpha")
    assert alpha["pooling"] == "exact"
    assert abs(alpha["estimate"] - rel["vera"]["domains"]["BA"]["overall"]["alpha"]["alpha"]) < 1e-9
    report = (project / "reports/validation_report.html").read_text()
    assert 'id="across-sites"' in report and f"{len(names)} site bundles pooled" in report
    assert "Validation across sites" in (project / "reports/across_sites.html").read_text()
    # a second repro changes nothing
    again = run_in(["dvc", "status"], project)
    assert "changed" not in again.stdout
