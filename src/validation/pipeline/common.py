"""What every stage shares: the stage error, the project folder and the instrument definitions."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from validation.battery.instruments import Questionnaire, SPJInstrument, load_instrument

if TYPE_CHECKING:  # annotations only
    from validation.pipeline.config import Config

__all__ = ["StageError", "project_root", "load_instruments"]

ROOT_MARKERS = ("dvc.yaml", "params.yaml")


class StageError(RuntimeError):
    """A stage cannot run; the message says why and how to fix it."""


def project_root(start: Path | None = None) -> Path:
    """The folder holding ``params.yaml`` and ``dvc.yaml`` (the current one, or a parent)."""
    here = (start or Path.cwd()).resolve()
    for p in (here, *here.parents):
        if all((p / m).exists() for m in ROOT_MARKERS):
            return p
    raise StageError(f"no params.yaml and dvc.yaml found in {here} or its parents: run stages from the project folder")


def load_instruments(root: Path, config: "Config") -> tuple[SPJInstrument, Questionnaire]:
    spec = config.instruments
    vera = load_instrument(root / spec.vera)
    sq = load_instrument(root / spec.sq)
    if not isinstance(vera, SPJInstrument):
        raise StageError(f"instruments.vera ({spec.vera}) is not a structured professional judgement tool")
    if not isinstance(sq, Questionnaire):
        raise StageError(f"instruments.sq ({spec.sq}) is not a questionnaire")
    return vera, sq
