"""Small shared vocabulary of the statistics layer: results as frozen dataclasses, turned into
plain JSON-ready dicts, and the "not estimable" signal for degenerate data."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np

__all__ = ["NotEstimable", "Interval", "to_dict"]


class NotEstimable(ValueError):
    """The data cannot support the estimate (a constant item, one outcome class, too few events...).

    The message says why; stages record ``{"not_estimable": str(exc)}`` instead of a number.
    """


@dataclasses.dataclass(frozen=True)
class Interval:
    """A confidence interval: ``lower``, ``upper``, its ``level`` and the ``method`` that made it."""

    lower: float
    upper: float
    level: float
    method: str


def to_dict(obj: Any) -> Any:
    """Turn a result (dataclasses, numpy values, pandas objects, nested containers) into plain
    Python values for JSON. NaN and infinities become ``None``: a stage that finds one must say
    why in a ``not_estimable`` field next to it. A field declared with ``metadata={"serialize": False}``
    (a matrix for further computation, not for reading) is left out."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_dict(getattr(obj, f.name)) for f in dataclasses.fields(obj)
                if f.metadata.get("serialize", True)}
    if isinstance(obj, dict):
        return {str(k): to_dict(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_dict(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return [to_dict(v) for v in obj.tolist()]
    if hasattr(obj, "to_dict") and hasattr(obj, "index"):  # pandas Series / DataFrame
        return to_dict(obj.to_dict())
    if isinstance(obj, (np.bool_, bool)):
        return bool(obj)
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        f = float(obj)
        return f if math.isfinite(f) else None
    return obj
