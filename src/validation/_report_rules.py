"""The report's rules: default parameters (thresholds with their sources) and the verdict logic.

A verdict compares an estimate and its interval with a published cut-off:

* ``meets``: the whole interval lies on the acceptable side (``lower >= cut-off`` for a minimum,
  ``upper <= cut-off`` for a maximum);
* ``does not meet``: the whole interval lies on the other side (``upper < cut-off``, or
  ``lower > cut-off``);
* ``borderline``: the interval straddles the cut-off, so the data cannot tell;
* without an interval the point estimate alone decides (and the page says so);
* ``not estimable`` when the pipeline declined the estimate.
"""

from __future__ import annotations

import copy
import re
from typing import Any, Mapping

from ._report_html import is_num

MEETS, BORDERLINE, FAILS, NE = "meets", "borderline", "does not meet", "not estimable"
VERDICTS = (MEETS, BORDERLINE, FAILS, NE)

DEFAULTS: dict[str, Any] = {
    "k_suppress": 5,
    "baseline": "HEAD",
    "change_tolerance": 1e-9,
    "icc_source": "reml",
    "thresholds": {
        "alpha": {"min": 0.70, "source": "Nunnally & Bernstein (1994), Psychometric Theory, 3rd ed."},
        "omega": {"min": 0.70, "source": "Nunnally & Bernstein (1994), the cut-off used for alpha"},
        "icc": {"min": 0.75, "source": "Koo & Li (2016), J Chiropr Med 15:155-163: good or excellent"},
        "kappa": {"min": 0.60, "source": "Landis & Koch (1977), Biometrics 33:159-174: substantial or better"},
        "cfi": {"min": 0.95, "source": "Hu & Bentler (1999), Struct Equ Modeling 6:1-55"},
        "tli": {"min": 0.95, "source": "Hu & Bentler (1999), Struct Equ Modeling 6:1-55"},
        "rmsea": {"max": 0.06, "source": "Hu & Bentler (1999), Struct Equ Modeling 6:1-55"},
        "srmr": {"max": 0.08, "source": "Hu & Bentler (1999), Struct Equ Modeling 6:1-55"},
        "auc": {"min": 0.639, "source": "Rice & Harris (2005), Law Hum Behav 29:615-620: medium effect, "
                                        "Cohen's d = 0.5"},
    },
    "auc_bands": {"source": "Rice & Harris (2005): AUC equivalents of Cohen's d = 0.2, 0.5, 0.8",
                  "limits": {"small": 0.556, "medium": 0.639, "large": 0.714}},
    "invariance": {"required": "scalar",
                   "source": "Chen (2007), Struct Equ Modeling 14:464-504: change in CFI >= -0.01 and in "
                             "RMSEA <= 0.015 from the less constrained model"},
    "indicator_fail_share": 0.20,
    "limitations": {"min_events": 20, "max_ci_width": 0.20, "min_n": 100, "min_cfa_n": 200,
                    "min_targets": 30},
}

LEVELS = ("configural", "metric", "partial scalar", "scalar")


def merge_params(p: Mapping | None) -> dict:
    """The report parameters: ``p`` (the ``report:`` section of params.yaml) over :data:`DEFAULTS`."""
    out = copy.deepcopy(DEFAULTS)

    def _merge(dst: dict, src: Mapping) -> None:
        for key, value in src.items():
            if isinstance(value, Mapping) and isinstance(dst.get(key), dict):
                _merge(dst[key], value)
            else:
                dst[key] = copy.deepcopy(value)

    if p:
        if not isinstance(p, Mapping):
            raise TypeError(f"report parameters must be a mapping, got {type(p).__name__}")
        _merge(out, p)
    k = out["k_suppress"]
    if not isinstance(k, int) or isinstance(k, bool) or k < 1:
        raise ValueError(f"report.k_suppress must be a positive integer, got {k!r}")
    for name, t in out["thresholds"].items():
        if not isinstance(t, Mapping) or (("min" in t) == ("max" in t)):
            raise ValueError(f"report.thresholds.{name} needs exactly one of 'min' or 'max', got {t!r}")
    if out["icc_source"] not in ("reml", "crossed_block"):
        raise ValueError(f"report.icc_source must be 'reml' or 'crossed_block', got {out['icc_source']!r}")
    if out["invariance"]["required"] not in LEVELS:
        raise ValueError(f"report.invariance.required must be one of {LEVELS}, got {out['invariance']['required']!r}")
    return out


def verdict(value: Any, lower: Any = None, upper: Any = None, *, minimum: float | None = None,
            maximum: float | None = None) -> tuple[str, str]:
    """Verdict of an estimate against a cut-off, and the reason in words.

    Exactly one of ``minimum`` (acceptable at or above) and ``maximum`` (acceptable at or below).
    """
    if (minimum is None) == (maximum is None):
        raise ValueError("give exactly one of minimum= or maximum=")
    if not is_num(value):
        return NE, "no estimate"
    has_ci = is_num(lower) and is_num(upper)
    if minimum is not None:
        t = float(minimum)
        if not has_ci:
            return (MEETS, f"point estimate at or above {cutoff(t)} (no interval)") if value >= t else \
                (FAILS, f"point estimate below {cutoff(t)} (no interval)")
        if lower >= t:
            return MEETS, f"whole interval at or above {cutoff(t)}"
        if upper < t:
            return FAILS, f"whole interval below {cutoff(t)}"
        return BORDERLINE, f"interval straddles {cutoff(t)}"
    t = float(maximum)
    if not has_ci:
        return (MEETS, f"point estimate at or below {cutoff(t)} (no interval)") if value <= t else \
            (FAILS, f"point estimate above {cutoff(t)} (no interval)")
    if upper <= t:
        return MEETS, f"whole interval at or below {cutoff(t)}"
    if lower > t:
        return FAILS, f"whole interval above {cutoff(t)}"
    return BORDERLINE, f"interval straddles {cutoff(t)}"


def threshold_verdict(value: Any, lower: Any, upper: Any, threshold: Mapping) -> tuple[str, str]:
    return verdict(value, lower, upper, minimum=threshold.get("min"), maximum=threshold.get("max"))


def cutoff(x: float) -> str:
    """A cut-off with at least two decimals: 0.7 -> 0.70, 0.639 -> 0.639."""
    s = f"{float(x):.4f}".rstrip("0")
    return s + "0" * max(0, 2 - len(s.split(".")[1]))


def threshold_text(threshold: Mapping) -> str:
    return f"&ge; {cutoff(threshold['min'])}" if "min" in threshold else f"&le; {cutoff(threshold['max'])}"


def short_source(source: str) -> str:
    """``"Koo & Li (2016), J Chiropr Med ..."`` -> ``"Koo & Li (2016)"``."""
    m = re.match(r"^[^()]*\(\d{4}[a-z]?\)", source or "")
    return m.group(0) if m else (source or "")


def invariance_verdict(level: str | None, required: str) -> tuple[str, str]:
    """Level reached against the level required: at or above it meets; the partial form of the
    required level is borderline; anything lower does not meet."""
    if level not in LEVELS:
        return NE, "no level reached"
    if LEVELS.index(level) >= LEVELS.index(required):
        return MEETS, f"{level} invariance holds (required: {required})"
    if level == f"partial {required}":
        return BORDERLINE, f"only partial {required} invariance (some intercepts freed)"
    return FAILS, f"only {level} invariance (required: {required})"


def auc_band(value: Any, bands: Mapping) -> str:
    """Effect-size band of an AUC (Rice & Harris 2005 limits by default)."""
    if not is_num(value):
        return ""
    limits = sorted(bands.get("limits", {}).items(), key=lambda kv: kv[1])
    name = f"below {limits[0][0]}" if limits else ""
    for label, lim in limits:
        if value >= lim:
            name = label
    return name


def indicator_verdict(verdicts: list[str], fail_share: float) -> tuple[str, str]:
    """Many indicators, one verdict: meets when every estimable indicator meets; does not meet when
    more than ``fail_share`` of them do not meet; borderline otherwise."""
    est = [v for v in verdicts if v != NE]
    if not est:
        return NE, "no indicator estimable"
    n_fail = sum(v == FAILS for v in est)
    if all(v == MEETS for v in est):
        return MEETS, "every indicator meets"
    if n_fail / len(est) > fail_share:
        return FAILS, f"more than {fail_share:.0%} of the indicators do not meet"
    return BORDERLINE, f"some indicators borderline or below, at most {fail_share:.0%} do not meet"
