"""Stage ``validate``: check the four tables against the data contract and write clean typed tables.

On any breach it lists every problem (file, row, column, value found, value expected), writes them to
``reports/validation_problems.json`` (and ``.txt``), exits non-zero, and writes no clean table.
"""

from __future__ import annotations

from pathlib import Path

from validation.battery.contract import ContractError, load_tables, quality_summary
from validation.pipeline.common import StageError, load_instruments
from validation.pipeline.config import Config
from validation.pipeline.outputs import atomic_outputs, dumps
from validation.pipeline.provenance import provenance
from validation.pipeline.sites import pooling_instead

PROBLEMS_JSON = Path("reports/validation_problems.json")
PROBLEMS_TXT = Path("reports/validation_problems.txt")
TABLES = ("cases", "vera_ratings", "sq_responses", "outcomes")
TRAINING_TABLES = ("training_ratings", "vignette_key")     # optional: written when the folder has them


def run(root: Path, config: Config) -> None:
    if pooling_instead(root, config, "validate", "reports/metrics/data_quality.json", [config.validate.output_dir],
                       sections=("instruments", "validate")):
        return
    vera, sq = load_instruments(root, config)
    p = config.validate
    src = root / p.input_dir
    if not src.is_dir():
        raise StageError(
            f"validate.input_dir = {p.input_dir!r} is not a folder. Put the four tables there "
            "(cases, vera_ratings, sq_responses, outcomes as .csv or .parquet; see docs/data_contract.md), "
            "or set validate.input_dir back to data/synthetic in params.yaml.")
    k = p.k_anonymity
    print(f"[validate] reading {p.input_dir}/ against {vera.name} and {sq.name} (k = {k})")
    try:
        tables = load_tables(src, vera, sq, k_anonymity=k)
    except ContractError as exc:
        (root / PROBLEMS_JSON).parent.mkdir(parents=True, exist_ok=True)
        (root / PROBLEMS_JSON).write_text(dumps({"input_dir": p.input_dir, "n_problems": exc.n_problems,
                                                 "problems": exc.to_records()}), encoding="utf-8")
        (root / PROBLEMS_TXT).write_text(str(exc) + "\n", encoding="utf-8")
        raise StageError(f"{exc}\n\n[validate] {exc.n_problems} problem(s); nothing was written downstream. "
             f"The list is also in {PROBLEMS_JSON} and {PROBLEMS_TXT}.")
    for stale in (PROBLEMS_JSON, PROBLEMS_TXT):
        (root / stale).unlink(missing_ok=True)
    summary = quality_summary(tables, vera, sq, k_anonymity=k)
    inputs = sorted(str(f.relative_to(root)) for f in src.iterdir() if f.stem in TABLES + TRAINING_TABLES)
    with atomic_outputs(root) as out:
        folder = out.folder(p.output_dir)
        for name in TABLES + TRAINING_TABLES:
            if getattr(tables, name) is not None:
                getattr(tables, name).to_parquet(folder / f"{name}.parquet", index=False)
        out.write_json("reports/metrics/data_quality.json",
                       {"provenance": provenance(root, "validate", config, inputs, ("instruments", "validate")),
                        **summary})
    print(f"[validate] {len(tables.cases)} cases, {len(tables.vera_ratings)} rating forms, "
          f"{len(tables.sq_responses)} SQ administrations, {len(tables.outcomes)} outcome rows: all valid")
    print(f"[validate] wrote {p.output_dir}/ and reports/metrics/data_quality.json")
