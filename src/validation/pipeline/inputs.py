"""Helpers shared by the analysis stages: reading the clean tables and recording estimates."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import pandas as pd

from validation.stats.results import NotEstimable, to_dict
from validation.pipeline.common import StageError
from validation.pipeline.config import Config

TABLES = ("cases", "vera_ratings", "sq_responses", "outcomes")


def clean_dir(root: Path, config: Config) -> Path:
    return root / config.validate.output_dir


def read_clean(root: Path, config: Config) -> dict[str, pd.DataFrame]:
    folder = clean_dir(root, config)
    missing = [t for t in TABLES if not (folder / f"{t}.parquet").exists()]
    if missing:
        raise StageError(f"clean tables missing in {folder} ({', '.join(missing)}): run the validate stage first "
                         "(dvc repro validate)")
    return {t: pd.read_parquet(folder / f"{t}.parquet") for t in TABLES}


TRAINING_TABLES = ("training_ratings", "vignette_key")


def read_training(root: Path, config: Config) -> dict[str, pd.DataFrame] | None:
    """The clean rater-training tables, or None when the input folder had none."""
    folder = clean_dir(root, config)
    if not all((folder / f"{t}.parquet").exists() for t in TRAINING_TABLES):
        return None
    return {t: pd.read_parquet(folder / f"{t}.parquet") for t in TRAINING_TABLES}


def clean_inputs(root: Path, config: Config) -> list[str]:
    folder = clean_dir(root, config)
    return [str((folder / f"{t}.parquet").relative_to(root)) for t in TABLES]


def estimate(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> dict:
    """Run a statistic; a degenerate input becomes ``{"not_estimable": why}`` instead of a crash."""
    try:
        return to_dict(fn(*args, **kwargs))
    except NotEstimable as exc:
        return {"not_estimable": str(exc)}


def by_group(frame: pd.DataFrame, column: str, min_n: int, fn: Callable[[pd.DataFrame], dict]) -> dict:
    """``fn`` on each group of ``frame`` by ``column``; groups smaller than ``min_n`` are declined."""
    out = {}
    for key, sub in frame.groupby(column, sort=True, dropna=True):
        if len(sub) < min_n:
            out[str(key)] = {"not_estimable": f"only {len(sub)} cases (fewer than the minimum of {min_n})", "n": len(sub)}
        else:
            out[str(key)] = fn(sub)
    return out
