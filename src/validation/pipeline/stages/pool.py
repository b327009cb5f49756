"""Stage ``pool``: the site bundles of ``params.yaml: sites`` pooled into the key figures of all sites.

With ``sites.source: bundles`` it checks every bundle under ``data/bundles/`` (hashes, one instrument
definition, the same parameters) and writes ``reports/metrics/pooled.json`` (the key figures, each
``exact`` or ``random-effects``) and ``reports/across_sites.html`` (a forest plot a figure). With
``sites.source: local`` there is nothing to pool: both say so, and the report shows the local folder's
figures alone.
"""

from __future__ import annotations

from pathlib import Path

from validation.pipeline.bundle import BundleError, pool_bundles
from validation.pipeline.common import StageError
from validation.pipeline.config import BUNDLES_DIR, Config
from validation.pipeline.outputs import atomic_outputs
from validation.pipeline.provenance import provenance
from validation.report.across_sites import across_sites_page, no_bundles_page

METRICS = "reports/metrics/pooled.json"
PAGE = "reports/across_sites.html"


def run(root: Path, config: Config) -> None:
    s = config.sites
    if s.source == "local":
        pooled = {"source": "local", "note": "sites.source is local: the figures come from the folder of "
                                             "validate.input_dir; no bundle is pooled", "sites": [], "key_figures": []}
        page = no_bundles_page()
        print("[pool] sites.source is local: nothing to pool")
    else:
        paths = [root / BUNDLES_DIR / name for name in s.bundles]
        print(f"[pool] pooling {len(paths)} site bundles: {', '.join(s.bundles)}", flush=True)
        try:
            pooled = {"source": "bundles", **pool_bundles(paths, config.report.as_dict())}
        except BundleError as exc:
            raise StageError(str(exc)) from None
        page = across_sites_page(pooled)
        exact = sum(r["pooling"] == "exact" for r in pooled["key_figures"])
        print(f"[pool] {len(pooled['key_figures'])} figures: {exact} exact, "
              f"{len(pooled['key_figures']) - exact} by random-effects meta-analysis", flush=True)
    inputs = [Path(BUNDLES_DIR) / name / "manifest.json" for name in s.bundles] if s.source == "bundles" else []
    metrics = {"provenance": provenance(root, "pool", config, inputs, ("sites", "report")), **pooled}
    with atomic_outputs(root) as out:
        out.write_json(METRICS, metrics)
        out.write_text(PAGE, page)
    print(f"[pool] wrote {METRICS} and {PAGE}")
