"""Stage ``synthesize``: write the synthetic battery (the embedded default data set) and its truth."""

from __future__ import annotations

from pathlib import Path

from validation.battery.synthetic import generate
from validation.pipeline.common import load_instruments
from validation.pipeline.config import Config
from validation.pipeline.outputs import atomic_outputs, dumps

OUT = "data/synthetic"

README = """# Synthetic battery

Written by the `synthesize` stage from the `synthesize` section of `params.yaml`. Every person here
is invented. The four tables, and the optional rater-training tables (`training_ratings`,
`vignette_key`), follow docs/data_contract.md; `truth.json` holds the values that generated them
(true loadings, rater variance and ICC, AUC of the latent risk, the trainees' accuracy, severity and
centrality and the training effect), for the tests.
Do not edit: change the parameters and run `dvc repro`.
"""


def run(root: Path, config: Config) -> None:
    vera, sq = load_instruments(root, config)
    settings = config.synthesize
    print(f"[synthesize] {settings.n_cases} cases, {vera.name} + {sq.name}, seed {settings.seed}")
    battery = generate(settings, vera, sq)
    with atomic_outputs(root) as out:
        folder = out.folder(OUT)
        for name, table in battery.tables().items():
            table.to_csv(folder / f"{name}.csv", index=False, lineterminator="\n")
            print(f"[synthesize] {name}: {len(table)} rows")
        (folder / "truth.json").write_text(dumps(battery.truth), encoding="utf-8")
        (folder / "README.md").write_text(README, encoding="utf-8")
    print(f"[synthesize] wrote {OUT}/")
