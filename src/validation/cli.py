"""``validation``: the command line of the validation platform.

    validation check DIR          check a site's four tables against the data contract (no DVC)
    validation run                run the pipeline (dvc repro) and print the report's path
    validation report             rebuild the report (optionally against another baseline)
    validation summary            print the key figures of reports/metrics/summary.json
    validation split DIR --out D  one folder per site, as separate sites' exports would be
    validation bundle DIR --out B a site's bundle: aggregates only, for pooling across countries
    validation pool B... --out D  check and pool site bundles into D/summary.json
    validation plan --out D       plan the next study by simulation on Dask (D/plan.json)
    validation training DIR --out D   one feedback sheet a trainee (rater training against the key)
    validation --version

Exit codes: 0 done; 2 the input or the parameters break their contract (every problem listed);
1 anything else went wrong (the message says what).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import click

from validation import __version__
from validation.battery.contract import ContractError, load_tables
from validation.battery.instruments import InstrumentError, Questionnaire, SPJInstrument, load_instrument
from validation.pipeline.common import StageError, project_root
from validation.pipeline.config import ConfigError, InstrumentsConfig, ValidateConfig, load_config

REPORT = "reports/validation_report.html"
SUMMARY = "reports/metrics/summary.json"
EXIT_INVALID = 2


def _fail(message: str, code: int = 1) -> None:
    click.echo(message, err=True)
    sys.exit(code)


def _project(required: bool = True) -> Path | None:
    try:
        return project_root()
    except StageError as exc:
        if required:
            _fail(f"{exc}\n(cd into the project folder, the one holding params.yaml and dvc.yaml)", EXIT_INVALID)
        return None


def _config(root: Path):
    try:
        return load_config(root)
    except ConfigError as exc:
        _fail(str(exc), EXIT_INVALID)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, "--version", "-V", prog_name="validation",
                      message="%(prog)s %(version)s")
def main() -> None:
    """Validation of the VERA-2R + SQ risk-assessment battery: reliability, factor structure,
    rater agreement and predictive validity, as a reproducible DVC pipeline.

    Start with `validation check DIR` on a site's export, then `validation run`. Parameters live
    in params.yaml (one section a stage); the report is reports/validation_report.html.
    """


@main.command()
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the problems as JSON (a list of records).")
@click.option("--vera", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="VERA definition to check against [default: instruments.vera of params.yaml, "
                   "else instruments/vera2r.yaml].")
@click.option("--sq", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="SQ definition to check against [default: instruments.sq of params.yaml, "
                   "else instruments/sq.yaml].")
@click.option("--k-anonymity", "k", type=click.IntRange(min=1), default=None,
              help="Smallest number of cases that may share site x sex x age band x ideology "
                   "[default: validate.k_anonymity of params.yaml, else 5].")
def check(folder: Path, as_json: bool, vera: Path | None, sq: Path | None, k: int | None) -> None:
    """Check the four tables in FOLDER against the data contract, without DVC.

    FOLDER holds cases, vera_ratings, sq_responses and outcomes (.csv or .parquet; see
    docs/data_contract.md). Exit 0 when every table is valid; exit 2 with every problem listed
    (file, row, column, value found, value expected). Nothing is written.
    """
    root = _project(required=False)
    config = _config(root) if root is not None else None
    instruments = config.instruments if config else InstrumentsConfig()
    base = root if root is not None else Path.cwd()
    vera_path = vera or base / instruments.vera
    sq_path = sq or base / instruments.sq
    k_anon = k if k is not None else (config.validate.k_anonymity if config else ValidateConfig().k_anonymity)
    try:
        vera_def, sq_def = load_instrument(vera_path), load_instrument(sq_path)
    except (InstrumentError, OSError) as exc:
        _fail(f"cannot read the instrument definitions: {exc}", EXIT_INVALID)
    if not isinstance(vera_def, SPJInstrument) or not isinstance(sq_def, Questionnaire):
        _fail(f"{vera_path} must define a structured professional judgement tool and {sq_path} a "
              "questionnaire", EXIT_INVALID)
    try:
        tables = load_tables(folder, vera_def, sq_def, k_anonymity=k_anon)
    except ContractError as exc:
        if as_json:
            click.echo(json.dumps({"folder": str(folder), "valid": False, "n_problems": exc.n_problems,
                                   "problems": exc.to_records()}, indent=2, ensure_ascii=False))
        else:
            click.echo(str(exc), err=True)
            click.echo(f"\n{exc.n_problems} problem(s) in {folder}: fix them in the export and check again.",
                       err=True)
        sys.exit(EXIT_INVALID)
    counts = {"cases": len(tables.cases), "vera_ratings": len(tables.vera_ratings),
              "sq_responses": len(tables.sq_responses), "outcomes": len(tables.outcomes)}
    if as_json:
        click.echo(json.dumps({"folder": str(folder), "valid": True, "n_problems": 0, "problems": [],
                               "rows": counts}, indent=2))
    else:
        click.echo(f"{folder}: valid against {vera_def.name} and {sq_def.name} (k = {k_anon}): "
                   + ", ".join(f"{n:,} {t.replace('_', ' ')}" for t, n in counts.items()))


def _dvc() -> str:
    here = Path(sys.executable).parent / "dvc"
    found = str(here) if here.exists() else shutil.which("dvc")
    if not found:
        _fail("dvc is not installed in this environment: run `make repro` (it sets up .venv), or "
              "`pip install -e .` in the project folder")
    return found


@main.command()
@click.option("--force", is_flag=True, help="Rerun every stage, even those whose inputs did not change.")
@click.argument("stages", nargs=-1)
def run(force: bool, stages: tuple[str, ...]) -> None:
    """Run the pipeline (dvc repro) and print the report's path.

    Checks params.yaml first: a problem there stops the run before any stage, with every problem
    listed. STAGES (optional) limits the run to those stages and what they depend on.
    """
    root = _project()
    _config(root)
    env = dict(os.environ, DVC_NO_ANALYTICS="1")
    cmd = [_dvc(), "repro", *(["--force"] if force else []), *stages]
    code = subprocess.run(cmd, cwd=root, env=env).returncode
    if code != 0:
        _fail(f"\nthe pipeline stopped (dvc repro exited {code}); the message above says why. Outputs of "
              "the stages that finished are in place; the failed stage wrote nothing.", code)
    click.echo(f"\nReport: {root / REPORT}")


@main.command()
@click.option("--baseline", metavar="REV", default=None,
              help="Git revision whose committed metrics the 'changes since' section compares with "
                   "[default: report.baseline of params.yaml]; 'none' for no comparison.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help=f"Where to write the report [default: {REPORT}].")
def report(baseline: str | None, out: Path | None) -> None:
    """Rebuild the validation report from the current metrics and figures.

    Reads only reports/metrics and reports/figures (run `validation run` first). With another
    baseline than params.yaml's, the page differs from the one DVC recorded: `dvc status` then
    lists the report as changed.
    """
    from validation.pipeline.stages import report as report_stage

    root = _project()
    config = _config(root)
    if baseline is not None:
        config = config.with_section("report", config.report.model_copy(update={"baseline": baseline}))
    target = out.resolve() if out is not None else root / REPORT
    try:
        report_stage.run(root, config, out=os.path.relpath(target, root))
    except StageError as exc:
        _fail(f"[report] stopped: {exc}", EXIT_INVALID)
    click.echo(f"Report: {target}")


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print the key-figure records as JSON.")
def summary(as_json: bool) -> None:
    """Print the key figures of the last run, one a line: estimate [CI], n, cut-off, verdict.

    Reads reports/metrics/summary.json (run `validation run` first). To see what moved since a
    commit, use `dvc metrics diff REV`.
    """
    from validation.report.summary import summary_table

    root = _project()
    path = root / SUMMARY
    if not path.exists():
        _fail(f"{SUMMARY} does not exist yet: run `validation run` (or `make repro`) first", EXIT_INVALID)
    try:
        records = json.loads(path.read_text(encoding="utf-8"))["key_figures"]
    except (ValueError, KeyError, TypeError) as exc:
        _fail(f"{SUMMARY} is not a summary written by the report stage ({exc}): rerun `validation run --force report`",
              EXIT_INVALID)
    click.echo(json.dumps(records, indent=2) if as_json else summary_table(records))


def _bundle_fail(exc: Exception) -> None:
    _fail(str(exc), EXIT_INVALID)


@main.command()
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder to write one sub-folder per site into.")
def split(folder: Path, out: Path) -> None:
    """Split FOLDER's four tables (CSV) into one folder per site, as separate sites' exports would be
    (for instance to try the multi-site path on the synthetic battery: data/synthetic)."""
    from validation.pipeline.bundle import BundleError, split_by_site

    try:
        folders = split_by_site(folder, out)
    except BundleError as exc:
        _bundle_fail(exc)
    for f in folders:
        click.echo(str(f))


@main.command()
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="The bundle's folder (new or empty).")
@click.option("--site", default=None, help="The site's label [default: the one site of FOLDER's cases].")
def bundle(folder: Path, out: Path, site: str | None) -> None:
    """Make a site bundle of FOLDER: check the tables against the data contract, run the analyses and
    write only aggregates to OUT (sufficient statistics for exact pooling, the site's estimates with
    their variances, a manifest with the SHA-256 of every part). No case key, rater key, free text or
    date leaves; a table with a count of 1 to k-1 cases is withheld whole. Prints what leaves the site
    (also in OUT/what_leaves.txt). Exit 2 when the tables break the contract or nothing can leave.
    """
    from validation.pipeline.bundle import BundleError, make_bundle

    root = _project()
    config = _config(root)
    try:
        make_bundle(folder, out, root, config, site)
    except ContractError as exc:
        click.echo(str(exc), err=True)
        _fail(f"\n{exc.n_problems} problem(s) in {folder}: fix them in the export; no bundle was written.",
              EXIT_INVALID)
    except BundleError as exc:
        _bundle_fail(exc)
    click.echo((out / "what_leaves.txt").read_text(encoding="utf-8"))
    click.echo(f"Bundle: {out}")


@main.command()
@click.argument("bundles", nargs=-1, required=True, type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder for the pooled summary.json.")
def pool(bundles: tuple[Path, ...], out: Path) -> None:
    """Check BUNDLES (every SHA-256, one instrument definition, the same parameters) and pool them into
    OUT/summary.json and the page OUT/across_sites.html (a forest plot for each figure): each key figure exact from the added sufficient statistics where every site sent
    them whole, else by random-effects meta-analysis (tau2, I2, Q, prediction interval). Exit 2 with the
    reason when a bundle was changed or the bundles do not fit together.
    """
    from validation.pipeline.bundle import BundleError, pool_bundles
    from validation.pipeline.outputs import dumps

    root = _project(required=False)
    config = _config(root) if root is not None else None
    try:
        pooled = pool_bundles(list(bundles), config.report.model_dump() if config is not None else None)
    except BundleError as exc:
        _bundle_fail(exc)
    from validation.report.across_sites import across_sites_page

    out.mkdir(parents=True, exist_ok=True)
    (out / "summary.json").write_text(dumps(pooled), encoding="utf-8")
    (out / "across_sites.html").write_text(across_sites_page(pooled), encoding="utf-8")
    for r in pooled["key_figures"]:
        ci = (f" [{r['ci_lower']:.3f}, {r['ci_upper']:.3f}]" if r.get("ci_lower") is not None else "")
        extra = (f", tau2 {r['tau2']:.4f}, I2 {r['i2']:.0f}%" if r["pooling"] == "random-effects" else "")
        click.echo(f"{r['label']:45s} {r['estimate']:.3f}{ci}  {r['pooling']}{extra}  "
                   f"{r['verdict'] or 'not judged (no cut-off)'}")
    click.echo(f"Pooled {len(bundles)} bundles ({', '.join(pooled['sites'])}): {out / 'summary.json'}, "
               f"{out / 'across_sites.html'}")


@main.command()
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder for plan.json and the checkpoints (a rerun resumes from them).")
@click.option("--replicates", type=click.IntRange(min=2), default=None,
              help="Synthetic batteries a grid cell [default: planning.replicates of params.yaml].")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Worker processes of the local Dask cluster [default: planning.workers].")
@click.option("--scheduler", default=None, metavar="ADDRESS",
              help="Run on an existing Dask scheduler (tcp://host:8786) instead of a local cluster "
                   "[default: planning.scheduler].")
@click.option("--n-cases", "n_cases", multiple=True, type=click.IntRange(min=50),
              help="Case counts of the grid (repeat the option) [default: planning.n_cases].")
def plan(out: Path, replicates: int | None, workers: int | None, scheduler: str | None,
         n_cases: tuple[int, ...]) -> None:
    """Plan the next study by simulation: at each grid cell (cases x event rate x raters per case,
    params.yaml's planning section) draw REPLICATES synthetic batteries, analyse each with the pipeline's functions, judge it by
    the report's rule, and write OUT/plan.json: per cell and key figure the share of decided verdicts,
    the mean interval width and the coverage of the population value. Runs on Dask (a LocalCluster of
    WORKERS processes, or SCHEDULER); the same plan.json for any number of workers; a stopped run
    resumes from OUT/checkpoints.
    """
    from validation.pipeline.plan import dumps_plan, grid, plan_context, run_plan
    from validation.pipeline.progress import progress

    root = _project()
    config = _config(root)
    p = config.planning
    reps = replicates or p.replicates
    cells = grid(list(n_cases) or list(p.n_cases), list(p.event_rates), list(p.raters_per_case))
    ckpt = out / "checkpoints"
    meta = {"replicates": reps, "seed": p.seed, "cells": [c.key() for c in cells]}
    if (out / "plan_inputs.json").is_file() and json.loads((out / "plan_inputs.json").read_text()) != meta:
        _fail(f"{out} holds the checkpoints of another plan (other grid, seed or replicates): use a new --out",
              EXIT_INVALID)
    out.mkdir(parents=True, exist_ok=True)
    (out / "plan_inputs.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    bar = progress(1, "[plan]", "task")

    def tick(done: int, total: int) -> None:
        bar.total = total
        bar.update(1)

    result = run_plan(plan_context(root, config), cells, reps, ckpt, workers=workers or p.workers,
                      scheduler=scheduler or p.scheduler, batch=p.batch, say=click.echo, progress=tick)
    bar.close()
    (out / "plan.json").write_text(dumps_plan(result), encoding="utf-8")
    click.echo(f"Plan: {out / 'plan.json'} ({len(cells)} cells x {reps} replicates, engine Dask)")


@main.command()
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder for the feedback sheets, one HTML page a trainee (FOLDER/<pseudonym>.html).")
def training(folder: Path, out: Path) -> None:
    """Write one feedback sheet per trainee of FOLDER's rater-training tables (training_ratings and
    vignette_key, checked by the data contract): the trainee's certification on the last occasion attended
    (params.yaml: training.certification), their agreement with the key per measure beside the course's,
    and every indicator they rated otherwise than the key. A sheet names its trainee by pseudonym only.
    Exit 2 when the tables break the contract or there are none.
    """
    from validation.pipeline.common import StageError
    from validation.pipeline.stages.training import feedback_sheets

    root = _project()
    config = _config(root)
    try:
        sheets = feedback_sheets(folder, out, root, config)
    except ContractError as exc:
        click.echo(str(exc), err=True)
        _fail(f"\n{exc.n_problems} problem(s) in {folder}: fix them; no sheet was written.", EXIT_INVALID)
    except StageError as exc:
        _fail(str(exc), EXIT_INVALID)
    click.echo(f"Feedback sheets: {len(sheets)} in {out}")


if __name__ == "__main__":  # pragma: no cover
    main()
