"""Helpers for the notebooks in ``notebooks/``: find the project, make sure the pipeline's outputs
exist, and load them.

A notebook starts with::

    from validation.notebook import load_outputs
    out = load_outputs()

:func:`load_outputs` finds the project folder (the one holding ``dvc.yaml`` and ``params.yaml``: the
current folder or a parent, so it works from ``notebooks/``), runs the pipeline (``dvc repro``) when
its clean tables or metrics are missing -- as on a fresh clone -- and returns the clean tables, the
instruments named in ``params.yaml``, the parameters and the parsed metrics as an :class:`Outputs`.
When the outputs exist nothing is run, so notebooks run one after the other build the pipeline at
most once; a lock file makes notebooks started at the same time wait for one another.

The clean tables hold case and rater keys. Notebooks must not print them: :func:`anonymise` replaces
them by a case position and ``rater N`` (the one rule of :mod:`validation.battery.anonymity`, the naming of
every metrics file), and
:func:`suppress` prints small counts as ``<k``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Sequence

import numpy as np
import pandas as pd
import yaml

from validation.battery.anonymity import anonymise, rater_labels
from validation.battery.disclosure import Undisclosable, protect_or_withhold, protect_table
from validation.battery.instruments import Questionnaire, SPJInstrument, load_instrument

__all__ = [
    "TABLES",
    "METRICS",
    "OutputsUnavailable",
    "Outputs",
    "find_root",
    "expected_outputs",
    "missing_outputs",
    "pipeline_command",
    "pipeline_env",
    "run_pipeline",
    "ensure_outputs",
    "load_outputs",
    "stale_metrics",
    "rater_labels",
    "anonymise",
    "suppress",
    "ci_text",
    "by_position",
]

TABLES = ("cases", "vera_ratings", "sq_responses", "outcomes")
METRICS = ("data_quality", "reliability", "structure", "agreement", "predictive")
OPTIONAL_TABLES = ("training_ratings", "vignette_key")    # loaded when the input folder has them
OPTIONAL_METRICS = ("training",)
ROOT_MARKERS = ("dvc.yaml", "params.yaml")
LOCK_MESSAGE = "Unable to acquire lock"   # what dvc prints while another dvc process holds the repository
LOCK_FILE = Path(".dvc") / "tmp" / "notebook-outputs.lock"

Runner = Callable[[Sequence[str], Path, Mapping[str, str]], "tuple[int, str]"]


class OutputsUnavailable(RuntimeError):
    """The pipeline's outputs are missing and could not be made; the message says why and what to do."""


# ---------------------------------------------------------------------------------------------
# the project folder and its outputs


def _search(start: Path) -> Path | None:
    here = start.resolve()
    for p in (here, *here.parents):
        if all((p / m).is_file() for m in ROOT_MARKERS):
            return p
    return None


def find_root(start: str | Path | None = None) -> Path:
    """The project folder: the first of ``start`` and its parents holding ``dvc.yaml`` and
    ``params.yaml``.

    Without ``start``: from the current folder upwards, then from this package's source folder (an
    editable install inside the project), so a notebook finds the project wherever its kernel was
    started. Raises :class:`OutputsUnavailable` when no folder qualifies.
    """
    if start is not None:
        found = _search(Path(start))
        if found is None:
            raise OutputsUnavailable(f"no dvc.yaml and params.yaml in {Path(start).resolve()} or its parents: "
                                     "start from the project folder or one of its subfolders")
        return found
    for base in (Path.cwd(), Path(__file__).parent):
        found = _search(base)
        if found is not None:
            return found
    raise OutputsUnavailable(f"no dvc.yaml and params.yaml in {Path.cwd().resolve()} or its parents: open the "
                             "notebook from the project's notebooks/ folder (make lab)")


def _params(root: Path) -> dict:
    with open(root / "params.yaml", encoding="utf-8") as fh:
        params = yaml.safe_load(fh) or {}
    if not isinstance(params, dict):
        raise OutputsUnavailable(f"{root / 'params.yaml'}: expected a mapping of sections")
    return params


def _clean_dir(params: Mapping) -> str:
    return str((params.get("validate") or {}).get("output_dir", "data/clean"))


def expected_outputs(params: Mapping) -> list[str]:
    """The files a notebook needs, relative to the project folder: the clean tables (in
    ``validate.output_dir``) and the metrics of every stage."""
    folder = _clean_dir(params)
    return ([f"{folder}/{t}.parquet" for t in TABLES]
            + [f"reports/metrics/{m}.json" for m in METRICS])


def missing_outputs(root: str | Path, params: Mapping | None = None) -> list[str]:
    """The expected outputs (see :func:`expected_outputs`) that do not exist or are empty."""
    root = Path(root)
    params = _params(root) if params is None else params
    out = []
    for rel in expected_outputs(params):
        p = root / rel
        if not p.is_file() or p.stat().st_size == 0:
            out.append(rel)
    return out


# ---------------------------------------------------------------------------------------------
# running the pipeline


def _stream(cmd: Sequence[str], cwd: Path, env: Mapping[str, str]) -> tuple[int, str]:
    """Run ``cmd``, echoing its output (stdout and stderr) line by line; its exit code and output."""
    lines: list[str] = []
    with subprocess.Popen(list(cmd), cwd=cwd, env=dict(env), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, errors="replace") as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            print(line, end="", flush=True)
        code = proc.wait()
    return code, "".join(lines)


def pipeline_command() -> list[str]:
    """``dvc repro`` through this interpreter (the project's environment, whatever the PATH)."""
    return [sys.executable, "-m", "dvc", "repro"]


def pipeline_env(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of ``make repro``: analytics off, this interpreter's folder first on the PATH
    (the stages run ``python -m validation.pipeline.stages``), a file-only matplotlib backend."""
    env = dict(os.environ if base is None else base)
    bin_dir = str(Path(sys.executable).parent)
    env["PATH"] = bin_dir + os.pathsep + env.get("PATH", "")
    env["DVC_NO_ANALYTICS"] = "1"
    env["MPLBACKEND"] = "Agg"
    env["PYTHONHASHSEED"] = "0"
    return env


def run_pipeline(root: str | Path, *, runner: Runner | None = None, retries: int = 10,
                 wait_seconds: float = 15.0) -> None:
    """Run ``dvc repro`` in ``root``, printing what it does.

    While another dvc process holds the repository lock, waits ``wait_seconds`` and tries again, up
    to ``retries`` times. Raises :class:`OutputsUnavailable` with the end of dvc's output when it
    fails. ``runner(cmd, cwd, env) -> (exit code, output)`` runs the command (default: a subprocess
    whose output is echoed as it comes).
    """
    root = Path(root)
    runner = runner or _stream
    cmd = pipeline_command()
    env = pipeline_env()
    for attempt in range(retries + 1):
        print(f"[notebook] running the pipeline in {root}: DVC_NO_ANALYTICS=1 dvc repro", flush=True)
        code, output = runner(cmd, root, env)
        if code == 0:
            print("[notebook] pipeline finished", flush=True)
            return
        if LOCK_MESSAGE in output and attempt < retries:
            print(f"[notebook] another dvc process holds the repository; retrying in {wait_seconds:g} s",
                  flush=True)
            time.sleep(wait_seconds)
            continue
        tail = "\n".join(output.strip().splitlines()[-25:])
        hint = "" if (root / ".git").exists() else (" (no .git folder here: `make repro` initialises a "
                                                    "git repository, which dvc needs)")
        raise OutputsUnavailable(f"dvc repro failed in {root} (exit code {code}){hint}; run `make repro` there "
                                 f"to see the whole log. Last lines:\n{tail}")
    raise OutputsUnavailable(f"dvc repro could not acquire the repository lock in {root} after {retries} retries")


@contextmanager
def _lock(root: Path) -> Iterator[None]:
    """An exclusive lock on a file in ``.dvc/tmp`` (git-ignored): notebooks started at the same time
    check and build the outputs one after the other. No-op where ``fcntl`` is unavailable."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    path = root / LOCK_FILE
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fh = open(path, "a+")
    except OSError:  # read-only checkout: run unlocked
        yield
        return
    with fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def ensure_outputs(root: str | Path | None = None, *, refresh: bool = False, runner: Runner | None = None,
                   retries: int = 10, wait_seconds: float = 15.0) -> bool:
    """Make sure the clean tables and metrics exist; run ``dvc repro`` when any is missing, or always
    with ``refresh=True`` (which brings outputs up to date after a change of ``params.yaml``; dvc
    reruns only what changed). Returns whether the pipeline was run."""
    root = find_root(root)
    with _lock(root):
        missing = missing_outputs(root)
        if not missing and not refresh:
            return False
        if missing:
            shown = ", ".join(missing[:4]) + (f" and {len(missing) - 4} more" if len(missing) > 4 else "")
            print(f"[notebook] pipeline outputs missing ({shown})", flush=True)
        run_pipeline(root, runner=runner, retries=retries, wait_seconds=wait_seconds)
        still = missing_outputs(root)
        if still:
            raise OutputsUnavailable(f"dvc repro ran but these outputs are still missing: {', '.join(still)}")
        return True


# ---------------------------------------------------------------------------------------------
# loading


@dataclass(frozen=True)
class Outputs:
    """What the pipeline made, for a notebook.

    ``tables``: the clean tables (``cases``, ``vera_ratings``, ``sq_responses``, ``outcomes``; they
    hold case and rater keys -- never print them); ``vera``, ``sq``: the instruments named in
    ``params.yaml``; ``params``: the parameters; ``metrics``: each stage's metrics JSON by stage name;
    ``ran_pipeline``: whether this call ran ``dvc repro``.
    """

    root: Path
    params: dict
    tables: dict[str, pd.DataFrame]
    vera: SPJInstrument
    sq: Questionnaire
    metrics: dict[str, dict]
    ran_pipeline: bool = False
    stale: tuple[str, ...] = field(default=())

    @property
    def cases(self) -> pd.DataFrame:
        return self.tables["cases"]

    @property
    def vera_ratings(self) -> pd.DataFrame:
        return self.tables["vera_ratings"]

    @property
    def sq_responses(self) -> pd.DataFrame:
        return self.tables["sq_responses"]

    @property
    def outcomes(self) -> pd.DataFrame:
        return self.tables["outcomes"]

    @property
    def training(self) -> tuple[pd.DataFrame, pd.DataFrame] | None:
        """The rater-training ratings and the vignette key, both indexed by vignette (None without them)."""
        if not all(t in self.tables for t in OPTIONAL_TABLES):
            return None
        ratings = self.tables["training_ratings"].set_index("vignette_id")
        key = self.tables["vignette_key"].set_index("vignette_id")
        ratings.index.name = key.index.name = "vignette"
        return ratings, key

    @property
    def figures(self) -> Path:
        """The folder of the pipeline's figures (``reports/figures``)."""
        return self.root / "reports" / "figures"

    def section(self, name: str) -> dict:
        """One section of ``params.yaml`` (an empty dict when absent)."""
        return dict(self.params.get(name) or {})


def stale_metrics(metrics: Mapping[str, Mapping], params: Mapping) -> list[str]:
    """The metrics made with parameters other than those ``params.yaml`` holds now (their
    ``provenance.params`` sections differ): the pipeline has not been rerun since a change."""
    out = []
    for name, doc in metrics.items():
        used = (doc.get("provenance") or {}).get("params") or {}
        if any(used.get(s) != params.get(s) for s in used):
            out.append(name)
    return out


def _as_recorded(params: Mapping, root: Path) -> Mapping:
    """``params.yaml``'s sections as a stage's provenance records them: checked by the configuration schema,
    every field spelled out with its default (a section that fails the check is compared as written)."""
    from validation.pipeline.config import SECTIONS, ConfigError, validate_params

    try:
        config = validate_params(dict(params), root)
    except ConfigError:
        return params
    return {s: config.as_params(s) for s in SECTIONS}


def _instruments(root: Path, params: Mapping) -> tuple[SPJInstrument, Questionnaire]:
    spec = params.get("instruments") or {}
    if "vera" not in spec or "sq" not in spec:
        raise OutputsUnavailable("params.yaml: the 'instruments' section must name 'vera' and 'sq'")
    vera, sq = load_instrument(root / spec["vera"]), load_instrument(root / spec["sq"])
    if not isinstance(vera, SPJInstrument):
        raise OutputsUnavailable(f"instruments.vera ({spec['vera']}) is not a structured professional judgement tool")
    if not isinstance(sq, Questionnaire):
        raise OutputsUnavailable(f"instruments.sq ({spec['sq']}) is not a questionnaire")
    return vera, sq


def load_outputs(start: str | Path | None = None, *, refresh: bool = False, run: bool = True,
                 runner: Runner | None = None, quiet: bool = False) -> Outputs:
    """Find the project, run the pipeline if its outputs are missing, and load them.

    Parameters
    ----------
    start : folder to search the project from (default: the current folder, see :func:`find_root`)
    refresh : run ``dvc repro`` even when the outputs exist (a no-op when they are up to date)
    run : ``False`` never runs the pipeline: missing outputs raise :class:`OutputsUnavailable`
    runner : how to run the command (see :func:`run_pipeline`; for tests)
    quiet : print nothing when all is well

    Returns
    -------
    Outputs
        with ``stale`` naming the metrics made with other parameters than ``params.yaml`` holds now
        (a warning is printed: rerun with ``refresh=True``).
    """
    root = find_root(start)
    if run:
        ran = ensure_outputs(root, refresh=refresh, runner=runner)
    else:
        ran = False
        missing = missing_outputs(root)
        if missing:
            raise OutputsUnavailable(f"pipeline outputs missing in {root}: {', '.join(missing)}; run `make repro` "
                                     "or load_outputs(run=True)")
    params = _params(root)
    vera, sq = _instruments(root, params)
    folder = root / _clean_dir(params)
    tables = {t: pd.read_parquet(folder / f"{t}.parquet") for t in TABLES}
    tables.update({t: pd.read_parquet(folder / f"{t}.parquet") for t in OPTIONAL_TABLES
                   if (folder / f"{t}.parquet").is_file()})
    metrics = {}
    for m in (*METRICS, *OPTIONAL_METRICS):
        path = root / "reports" / "metrics" / f"{m}.json"
        if m in OPTIONAL_METRICS and not path.is_file():
            continue
        with open(path, encoding="utf-8") as fh:
            metrics[m] = json.load(fh)
    stale = tuple(stale_metrics(metrics, _as_recorded(params, root)))
    if stale:
        print(f"[notebook] warning: {', '.join(stale)} metrics were made with other parameters than params.yaml "
              "holds now; load_outputs(refresh=True) reruns the stages that changed", flush=True)
    if not quiet:
        print(f"[notebook] project {root.name}: {len(tables['cases'])} cases, {vera.name} and {sq.name}"
              + (" (placeholder key)" if sq.placeholder else "") + f"; clean tables from {_clean_dir(params)}/",
              flush=True)
    return Outputs(root=root, params=params, tables=tables, vera=vera, sq=sq, metrics=metrics, ran_pipeline=ran,
                   stale=stale)


# ---------------------------------------------------------------------------------------------
# no keys on screen


def suppress(counts: Any, k: int = 5, totals: bool = True) -> Any:
    """Counts for display with counts of 1 to k-1 hidden, as text (a table of strings comes back).

    A number: ``<k`` when 0 < n < k. A Series or a DataFrame: the rule of every published artefact
    (:mod:`validation.battery.disclosure`): with ``totals`` (their sums are visible, or can be
    added up by a reader), a second cell is hidden (``*``) wherever the totals would give a hidden
    one back; a table that cannot be protected comes back as ``withheld``.
    """
    if k < 1:
        raise ValueError(f"suppress: k must be a whole number >= 1, found {k!r}")

    def one(v: Any) -> Any:
        if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA:
            return ""
        if isinstance(v, str):
            return v
        v = int(v)
        return f"<{k}" if 0 < v < k else str(v)

    def missing(v: Any) -> bool:
        return v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v))

    if isinstance(counts, pd.DataFrame):
        cells = {r: {c: int(v) for c, v in row.items() if not missing(v)} for r, row in counts.iterrows()}
        try:
            shown = protect_table(cells, k, row_totals=totals, column_totals=totals)
        except Undisclosable:
            return counts.apply(lambda col: col.map(lambda v: "" if missing(v) else "withheld"))
        return pd.DataFrame({c: [one(shown[r].get(c)) if not missing(counts.at[r, c]) else ""
                                 for r in counts.index] for c in counts.columns}, index=counts.index)
    if isinstance(counts, pd.Series):
        line = {i: int(v) for i, v in counts.items() if not missing(v)}
        shown = protect_or_withhold(line, k, total=totals)
        if "withheld" in shown and "withheld" not in line:
            return counts.map(lambda v: "" if missing(v) else "withheld")
        return pd.Series([one(shown.get(i)) if not missing(v) else "" for i, v in counts.items()],
                         index=counts.index, dtype=object)
    return one(counts)


def ci_text(block: Mapping | None, key: str, digits: int = 2) -> str:
    """``"0.81 [0.78, 0.84]"`` from a metrics block holding ``key`` and a ``ci`` mapping (``lower``,
    ``upper``); ``"not estimable"`` when the block was declined or the value is missing."""
    if not block or "not_estimable" in block or block.get(key) is None:
        return "not estimable"
    text = f"{float(block[key]):.{digits}f}"
    ci = block.get("ci") or {}
    if ci.get("lower") is not None and ci.get("upper") is not None:
        text += f" [{float(ci['lower']):.{digits}f}, {float(ci['upper']):.{digits}f}]"
    return text


def by_position(labels: Any) -> list:
    """Labels such as ``rater 10``, ``rater 2`` sorted by their number (``rater 2`` first)."""
    def key(s: Any) -> tuple:
        tail = str(s).rsplit(" ", 1)[-1]
        return (0, int(tail), "") if tail.isdigit() else (1, 0, str(s))
    return sorted(labels, key=key)
