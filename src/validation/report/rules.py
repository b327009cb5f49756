"""The report's policy: the ``report:`` section's schema, whose defaults are the only ones (cut-offs
with their sources, interpretation bands, the invariance requirement, limitation rules).

The verdict a cut-off gives is made in one place, :mod:`validation.report.verdicts`.
"""

from __future__ import annotations

import copy
import math
import re
from typing import Annotated, Any, Literal, Mapping

from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt, StrictStr, model_validator

from validation.report.html import is_num

LEVELS = ("configural", "metric", "partial scalar", "scalar")


class _Policy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Threshold(_Policy):
    """A published cut-off: exactly one of ``min`` (acceptable at or above) and ``max`` (at or
    below), and the reference it comes from."""

    min: StrictFloat | None = None
    max: StrictFloat | None = None
    source: StrictStr

    @model_validator(mode="after")
    def _one_side(self) -> "Threshold":
        if (self.min is None) == (self.max is None):
            raise ValueError("needs exactly one of 'min' or 'max'")
        return self


def _t(side: str, value: float, source: str) -> Threshold:
    return Threshold(**{side: value, "source": source})


_HB = "Hu & Bentler (1999), Struct Equ Modeling 6:1-55"


class Thresholds(_Policy):
    alpha: Threshold = _t("min", 0.70, "Nunnally & Bernstein (1994), Psychometric Theory, 3rd ed.")
    omega: Threshold = _t("min", 0.70, "Nunnally & Bernstein (1994), the cut-off used for alpha")
    icc: Threshold = _t("min", 0.75, "Koo & Li (2016), J Chiropr Med 15:155-163: good or excellent")
    kappa: Threshold = _t("min", 0.60, "Landis & Koch (1977), Biometrics 33:159-174: substantial or better")
    cfi: Threshold = _t("min", 0.95, _HB)
    tli: Threshold = _t("min", 0.95, _HB)
    rmsea: Threshold = _t("max", 0.06, _HB)
    srmr: Threshold = _t("max", 0.08, _HB)
    auc: Threshold = _t("min", 0.639, "Rice & Harris (2005), Law Hum Behav 29:615-620: medium effect, "
                                      "Cohen's d = 0.5")


class AucBands(_Policy):
    source: StrictStr = "Rice & Harris (2005): AUC equivalents of Cohen's d = 0.2, 0.5, 0.8"
    limits: dict[str, StrictFloat] = {"small": 0.556, "medium": 0.639, "large": 0.714}


class InvarianceRequirement(_Policy):
    required: Literal[LEVELS] = "scalar"  # type: ignore[valid-type]
    source: StrictStr = ("Chen (2007), Struct Equ Modeling 14:464-504: change in CFI >= -0.01 and in "
                         "RMSEA <= 0.015 from the less constrained model")


class LimitationRules(_Policy):
    """Conditions listed in the limitations box."""

    min_events: Annotated[StrictInt, Field(ge=0)] = 20
    max_ci_width: Annotated[StrictFloat, Field(gt=0)] = 0.20
    min_n: Annotated[StrictInt, Field(ge=0)] = 100
    min_cfa_n: Annotated[StrictInt, Field(ge=0)] = 200
    min_targets: Annotated[StrictInt, Field(ge=0)] = 30


class NextStudy(_Policy):
    """Aims of the next study planned in closed form beside the inconclusive key figures (section
    "Planning the next study"): a precise C statistic, indicator agreement, a prediction model."""

    c_width: Annotated[StrictFloat, Field(gt=0, lt=1)] = 0.10        # Riley et al. (2021): C's 95% interval this wide
    kappa_planned: Annotated[StrictFloat, Field(gt=-1, lt=1)] = 0.80  # present/absent indicators: the kappa
                                                                      # anticipated, tested against the kappa cut-off
    alpha: Annotated[StrictFloat, Field(gt=0, lt=1)] = 0.05
    power: Annotated[StrictFloat, Field(gt=0, lt=1)] = 0.80
    nagelkerke: Annotated[StrictFloat, Field(gt=0, lt=1)] = 0.15      # Riley et al. (2020): anticipated Nagelkerke R2
                                                                      # of a new model without a previous one
    shrinkage: Annotated[StrictFloat, Field(gt=0, lt=1)] = 0.90


class Bands(_Policy):
    """Interpretation bands: ``name: [low, high]`` in increasing, adjoining order; ``closed: left``
    reads [low, high), ``right`` (low, high]; the outer limits belong to the outer bands."""

    source: Annotated[StrictStr, Field(min_length=1)]
    closed: Literal["left", "right"]
    limits: dict[str, tuple[StrictFloat, StrictFloat]]

    @model_validator(mode="after")
    def _adjoining(self) -> "Bands":
        ranges = list(self.limits.values())
        ok = len(ranges) >= 2 and all(lo < hi for lo, hi in ranges) and all(
            abs(ranges[i][1] - ranges[i + 1][0]) < 1e-12 for i in range(len(ranges) - 1))
        if not ok:
            raise ValueError("limits: expected name: [low, high] ranges in increasing, adjoining order")
        return self

    def band(self, value: float | None) -> str | None:
        """The name of the band holding ``value``."""
        if value is None or not math.isfinite(value):
            return None
        names = list(self.limits)
        ranges = list(self.limits.values())
        for name, (lo, hi) in zip(names, ranges):
            if (lo <= value < hi) if self.closed == "left" else (lo < value <= hi):
                return name
        return names[0] if value <= ranges[0][0] else names[-1]

    def interpret(self, estimate: float | None, ci: Mapping | None) -> dict:
        """The band of an estimate and of its interval bounds (Koo & Li 2016 advise reading the
        interval, not only the point)."""
        out = {"band": self.band(estimate)}
        if ci and ci.get("lower") is not None and ci.get("upper") is not None:
            lo, hi = self.band(ci["lower"]), self.band(ci["upper"])
            out["band_ci"] = lo if lo == hi else f"{lo} to {hi}"
        return out

    def text(self) -> str:
        """The bands in words, with their source."""
        parts = []
        items = list(self.limits.items())
        for i, (name, (lo, hi)) in enumerate(items):
            op = "[" if self.closed == "left" or i == 0 else "("
            cl = ")" if self.closed == "left" and i < len(items) - 1 else "]"
            parts.append(f"{name} {op}{lo:g}, {hi:g}{cl}")
        return f"{self.source}: " + ", ".join(parts)


# what an intended use can require: each names a group of key figures of the executive summary
CRITERIA = {
    "reliability": "internal consistency (omega) of every VERA-2R domain and SQ scale",
    "structure": "the hypothesised SQ factor structure (parallel analysis and CFA fit)",
    "invariance": "the same measurement model in every group: the SQ across sites and languages, VERA-2R across sites",
    "agreement_totals": "inter-rater agreement on the domain and risk totals (ICC)",
    "agreement_judgement": "inter-rater agreement on the summary risk judgement (weighted kappa)",
    "agreement_indicators": "inter-rater agreement on the individual risk indicators (weighted kappa)",
    "discrimination": "discrimination of recidivism by the summary judgement and the risk total (AUC)",
}


class IntendedUse(_Policy):
    """A use the battery is validated for: the words the bottom line opens with, and the criteria
    (keys of :data:`CRITERIA`) whose key figures must all meet their cut-offs; ``outcomes``
    restricts ``discrimination`` to these outcomes (empty: every outcome)."""

    label: Annotated[StrictStr, Field(min_length=1)]
    criteria: Annotated[list[Literal[tuple(CRITERIA)]], Field(min_length=1)]  # type: ignore[valid-type]
    outcomes: list[StrictStr] = []


def _default_uses() -> dict[str, IntendedUse]:
    return {
        "case_management": IntendedUse(
            label="to structure professional judgement in case management",
            criteria=["reliability", "agreement_totals", "agreement_judgement"]),
        "release_decisions": IntendedUse(
            label="to inform release or detention decisions",
            criteria=["reliability", "structure", "invariance", "agreement_totals", "agreement_judgement",
                      "agreement_indicators", "discrimination"],
            outcomes=["extremist", "violent"]),
    }


class ReportConfig(_Policy):
    """The ``report:`` section of ``params.yaml``: cut-offs with their sources, verdict rules,
    limitation rules. Its defaults are the only ones."""

    k_suppress: Annotated[StrictInt, Field(ge=1)] = 5
    baseline: StrictStr | None = "previous"
    change_tolerance: Annotated[StrictFloat, Field(ge=0)] = 1e-9
    icc_source: Literal["reml", "crossed_block"] = "reml"
    thresholds: Thresholds = Thresholds()
    auc_bands: AucBands = AucBands()
    invariance: InvarianceRequirement = InvarianceRequirement()
    indicator_fail_share: Annotated[StrictFloat, Field(ge=0, le=1)] = 0.20
    limitations: LimitationRules = LimitationRules()
    next_study: NextStudy = NextStudy()
    intended_uses: dict[StrictStr, IntendedUse] = Field(default_factory=_default_uses)

    @classmethod
    def from_params(cls, p: Mapping | None) -> "ReportConfig":
        """The section ``p`` over the defaults (a threshold given without its source keeps the
        default source)."""
        if p is not None and not isinstance(p, Mapping):
            raise TypeError(f"report parameters must be a mapping, got {type(p).__name__}")
        out = cls().model_dump(exclude_none=True)

        def _merge(dst: dict, src: Mapping) -> None:
            for key, value in src.items():
                if isinstance(value, Mapping) and isinstance(dst.get(key), dict) and key not in ("limits", "intended_uses"):
                    if {"min", "max"} & set(value):
                        dst[key].pop("min", None)
                        dst[key].pop("max", None)
                    _merge(dst[key], value)
                else:
                    dst[key] = copy.deepcopy(value)

        _merge(out, p or {})
        return cls.model_validate(out)

    def as_dict(self) -> dict:
        """Plain values, as the report's sections read them (a threshold has only its side)."""
        d = self.model_dump()
        d["thresholds"] = {k: {s: v for s, v in t.items() if v is not None} for k, t in d["thresholds"].items()}
        return d


def merge_params(p: Mapping | None) -> dict:
    """The report parameters: ``p`` (the ``report:`` section of params.yaml) over the defaults of
    :class:`ReportConfig`, checked, as plain values."""
    return ReportConfig.from_params(p).as_dict()


DEFAULTS: dict[str, Any] = ReportConfig().as_dict()


def cutoff_text(x: float) -> str:
    """A cut-off with at least two decimals: 0.7 -> 0.70, 0.639 -> 0.639."""
    s = f"{float(x):.4f}".rstrip("0")
    return s + "0" * max(0, 2 - len(s.split(".")[1]))


def threshold_text(threshold: Mapping) -> str:
    """``≥ 0.70`` or ``≤ 0.06``."""
    if "min" in threshold:
        return f"\u2265 {cutoff_text(threshold['min'])}"
    return f"\u2264 {cutoff_text(threshold['max'])}"


def short_source(source: str) -> str:
    """``"Koo & Li (2016), J Chiropr Med ..."`` -> ``"Koo & Li (2016)"``."""
    m = re.match(r"^[^()]*\(\d{4}[a-z]?\)", source or "")
    return m.group(0) if m else (source or "")


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


# Heterogeneity across sites in words: the Cochrane Handbook's rough guide to I2 (Deeks, Higgins &
# Altman, Cochrane Handbook for Systematic Reviews of Interventions, section 10.10.2), its upper ends.
I2_WORDS = ((40.0, "might not be important"), (60.0, "may be moderate"), (90.0, "may be substantial"),
            (100.0, "is considerable"))
I2_SOURCE = "Cochrane Handbook, section 10.10.2"


def heterogeneity_words(i2: Any) -> str:
    """I2 (percent) in words.

    Examples
    --------
    >>> heterogeneity_words(23.9)
    'might not be important'
    """
    if not isinstance(i2, (int, float)) or i2 != i2:
        return "cannot be judged"
    return next(words for upper, words in I2_WORDS if i2 <= upper)
