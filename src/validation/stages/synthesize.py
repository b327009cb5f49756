"""Stage ``synthesize``: write the synthetic battery (the embedded default data set) and its truth."""

from __future__ import annotations

from pathlib import Path

from ..synthetic import SyntheticConfig, generate
from ._common import StageError, atomic_outputs, dumps, load_instruments, section

OUT = "data/synthetic"
TABLES = ("cases", "vera_ratings", "sq_responses", "outcomes")

README = """# Synthetic battery

Written by the `synthesize` stage from the `synthesize` section of `params.yaml`. Every person here
is invented. The four tables follow docs/data_contract.md; `truth.json` holds the values that
generated them (true loadings, rater variance and ICC, AUC of the latent risk), for the tests.
Do not edit: change the parameters and run `dvc repro`.
"""


def run(root: Path, params: dict) -> None:
    vera, sq = load_instruments(root, params)
    try:
        config = SyntheticConfig.from_params(section(params, "synthesize"))
    except ValueError as exc:
        raise StageError(f"params.yaml, section 'synthesize': {exc}") from None
    print(f"[synthesize] {config.n_cases} cases, {vera.name} + {sq.name}, seed {config.seed}")
    battery = generate(config, vera, sq)
    with atomic_outputs(root) as out:
        folder = out.folder(OUT)
        for name in TABLES:
            table = getattr(battery, name)
            table.to_csv(folder / f"{name}.csv", index=False, lineterminator="\n")
            print(f"[synthesize] {name}: {len(table)} rows")
        (folder / "truth.json").write_text(dumps(battery.truth), encoding="utf-8")
        (folder / "README.md").write_text(README, encoding="utf-8")
    print(f"[synthesize] wrote {OUT}/")
