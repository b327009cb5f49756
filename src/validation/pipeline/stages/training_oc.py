"""Stage ``training_oc``: the certification rule's operating characteristics by simulation on the synthetic
generator (params.yaml: ``training``). They depend on the rules and the simulation grid, not on the course's
data, so DVC runs this once per change of the training parameters and the ``training`` stage reads the
result instead of simulating on every run. Writes ``reports/metrics/training_oc.json``."""

from __future__ import annotations

from pathlib import Path

from validation.pipeline.common import load_instruments
from validation.pipeline.config import Config
from validation.pipeline.outputs import atomic_outputs
from validation.pipeline.provenance import provenance
from validation.pipeline.stages.training import OC_METRICS, operating_characteristics


def run(root: Path, config: Config) -> None:
    vera, _ = load_instruments(root, config)
    oc = operating_characteristics(vera, config.training)
    with atomic_outputs(root) as out:
        out.write_json(OC_METRICS, {"provenance": provenance(root, "training_oc", config, [],
                                                             ("instruments", "training")),
                                    "operating_characteristics": oc})
    print(f"[training_oc] wrote {OC_METRICS}", flush=True)
