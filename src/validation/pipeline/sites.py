"""Where the figures come from (``params.yaml: sites``): with ``source: bundles`` the per-row stages do not
run on a local folder; each writes its outputs as "not run" so that DVC's graph holds, and the ``pool``
stage's pooled figures are the report's."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from validation.pipeline.config import Config
from validation.pipeline.outputs import atomic_outputs
from validation.pipeline.provenance import provenance

NOT_RUN = ("not run: sites.source is bundles, so the figures come from the pooled site bundles (stage pool, "
           "reports/metrics/pooled.json); set sites.source: local to analyse the folder of validate.input_dir")


def pooling_instead(root: Path, config: Config, stage: str, metrics: str, folders: Sequence[str] = (),
                    files: Sequence[str] = (), sections: Sequence[str] = ()) -> bool:
    """With ``sites.source: bundles``, write ``stage``'s outputs as not run (the metrics file says why, each
    folder holds a README saying it, each file is empty) and return True; else return False."""
    if config.sites.source != "bundles":
        return False
    with atomic_outputs(root) as out:
        out.write_json(metrics, {"provenance": provenance(root, stage, config, [], tuple(sections)),
                                 "not_run": NOT_RUN})
        for folder in folders:
            (out.folder(folder) / "README.md").write_text(f"# {stage}: {NOT_RUN}\n", encoding="utf-8")
        for f in files:
            out.write_text(f, "")
    print(f"[{stage}] {NOT_RUN}", flush=True)
    return True
