"""The configuration: one schema per ``params.yaml`` section, checked at the door.

:func:`load_config` reads ``params.yaml`` and returns a :class:`Config` of typed, frozen sections, or
raises :class:`ConfigError` listing every problem of every section at once, each as
``section.key: found X, expected Y``: a boolean where a number is expected, 4.9 for a whole number,
an unknown key, a missing section, a share outside (0, 1], an instrument file that does not exist.
Nothing runs before the whole file passes.

The schemas hold the only defaults of the pipeline: a stage reads its section from :class:`Config`
and never supplies a default of its own. Two sections take their schema from the layer that owns
the policy: ``synthesize`` is :class:`validation.battery.synthetic.SyntheticConfig` (the generator's
knobs), ``report`` is :class:`validation.report.rules.ReportConfig` (cut-offs, verdict rules and
bands, shared by the stages and the report); the interpretation bands of ``agreement`` are
:class:`validation.report.rules.Bands`.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, Mapping

import yaml
from pydantic import (BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt, StrictStr, ValidationError,
                      field_validator, model_validator)

from validation.battery.scoring import NOT_RATED_RULES
from validation.battery.synthetic import SyntheticConfig
from validation.report.rules import Bands, ReportConfig

__all__ = ["Config", "ConfigError", "load_config", "validate_params", "SECTIONS"]

Level = Annotated[StrictFloat, Field(gt=0, lt=1)]
Share = Annotated[StrictFloat, Field(gt=0, le=1)]
Seed = Annotated[StrictInt, Field(ge=0)]
NotRatedRule = Literal[NOT_RATED_RULES]  # type: ignore[valid-type]


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class InstrumentsConfig(Section):
    """Which instrument definitions a run uses (YAML files under ``instruments/``)."""

    vera: StrictStr = "instruments/vera2r.yaml"
    sq: StrictStr = "instruments/sq.yaml"


class ValidateConfig(Section):
    """Ingest: where the four tables are read from, where the clean ones go, the privacy rule."""

    input_dir: StrictStr = "data/synthetic"
    output_dir: StrictStr = "data/clean"
    k_anonymity: Annotated[StrictInt, Field(ge=1)] = 5


class ReliabilityConfig(Section):
    not_rated_rule: NotRatedRule = "prorate"
    min_rated: Share = 0.8
    ci: Level = 0.95
    ci_method: Literal["feldt", "bootstrap"] = "feldt"
    n_boot: Annotated[StrictInt, Field(ge=10)] = 2000
    ordinal_n_boot: Annotated[StrictInt, Field(ge=10)] = 500
    seed: Seed = 1
    min_cases: Annotated[StrictInt, Field(ge=2)] = 30
    omega_missing: Literal["ml", "listwise"] = "ml"


class InvarianceCriteria(Section):
    """Chen (2007): change from the less constrained model, and the chi-square difference test."""

    delta_cfi: Annotated[StrictFloat, Field(le=0)] = -0.01
    delta_rmsea: Annotated[StrictFloat, Field(ge=0)] = 0.015
    alpha: Level = 0.01


class Estimators(Section):
    """The factor models fitted to each instrument: ML treats the answers as continuous, WLSMV as
    ordinal (thresholds and polychoric correlations)."""

    sq: list[Literal["ML", "WLSMV"]] = ["ML", "WLSMV"]
    vera: list[Literal["WLSMV"]] = ["WLSMV"]

    @field_validator("sq", "vera")
    @classmethod
    def _not_empty_no_repeats(cls, v: list[str]) -> list[str]:
        if len(set(v)) != len(v):
            raise ValueError(f"each estimator once, got {v}")
        return v


class StructureConfig(Section):
    ci: Level = 0.95
    pa_iterations: Annotated[StrictInt, Field(ge=1)] = 100
    pa_quantile: Level = 0.95
    seed: Seed = 2
    efa_method: Literal["minres", "ml"] = "minres"
    efa_rotation: Literal["oblimin", "promax", "varimax", "geomin", "none"] = "oblimin"
    efa_cor: Literal["pearson", "polychoric"] = "pearson"
    cfa_missing: Literal["ml", "listwise"] = "ml"
    modindices: Annotated[StrictInt, Field(ge=0)] = 10
    min_group_n: Annotated[StrictInt, Field(ge=2)] = 140
    invariance_criteria: InvarianceCriteria = InvarianceCriteria()
    estimators: Estimators = Estimators()
    parameterization: Literal["delta", "theta"] = "delta"
    ordinal_missing: Literal["pairwise", "listwise"] = "pairwise"
    ordinal_identification: Literal["wu.estabrook", "lavaan"] = "wu.estabrook"


class AgreementBands(Section):
    icc: Bands = Bands(source="Koo & Li (2016), J Chiropr Med 15:155-163", closed="left",
                       limits={"poor": (-1.0, 0.5), "moderate": (0.5, 0.75), "good": (0.75, 0.9),
                               "excellent": (0.9, 1.0)})
    kappa: Bands = Bands(source="Landis & Koch (1977), Biometrics 33:159-174", closed="right",
                         limits={"poor": (-1.0, 0.0), "slight": (0.0, 0.2), "fair": (0.2, 0.4),
                                 "moderate": (0.4, 0.6), "substantial": (0.6, 0.8),
                                 "almost perfect": (0.8, 1.0)})


class AgreementConfig(Section):
    ci: Level = 0.95
    not_rated_rule: NotRatedRule = "prorate"
    min_rated: Share = 0.8
    min_targets: Annotated[StrictInt, Field(ge=3)] = 10
    n_boot: Annotated[StrictInt, Field(ge=0)] = 1000
    reml_n_boot: Annotated[StrictInt, Field(ge=0)] = 1000
    seed: Seed = 3
    gwet_weights: Literal["quadratic", "ordinal", "linear"] = "quadratic"
    sem_form: Literal["ICC1", "ICC2", "ICC3", "ICC1k", "ICC2k", "ICC3k"] = "ICC2"
    bands: AgreementBands = AgreementBands()


NonNegative = Annotated[StrictFloat, Field(ge=0)]


class PredictiveConfig(Section):
    ci: Level = 0.95
    min_events: Annotated[StrictInt, Field(ge=2)] = 10
    not_rated_rule: NotRatedRule = "prorate"
    min_rated: Share = 0.8
    outcomes: Annotated[tuple[StrictStr, ...], Field(min_length=1)] = ("extremist", "violent", "any")
    n_boot: Annotated[StrictInt, Field(ge=2)] = 2000
    calibration_n_boot: Annotated[StrictInt, Field(ge=0)] = 200
    seed: Seed = 4
    base_rates: Annotated[tuple[Level, ...], Field(min_length=1)] = (0.01, 0.05)
    risk_total_cutoffs: Annotated[tuple[StrictFloat, ...], Field(min_length=1)] = (1.5, 2.0, 2.5)
    risk_total_cutoff_unit: Literal["mean_rating", "total"] = "mean_rating"
    cox_per: Literal["sd", "unit"] = "sd"
    uno_tau_days: Annotated[StrictFloat, Field(gt=0)] = 1826.0
    horizons_days: Annotated[tuple[NonNegative, ...], Field(min_length=1)] = (365.0, 1096.0, 1826.0)
    km_times_years: Annotated[tuple[NonNegative, ...], Field(min_length=1)] = (0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0)
    comparisons: tuple[tuple[StrictStr, StrictStr], ...] = (("summary_risk", "risk_total"), ("risk_total", "SQ *"))
    roc_plot: tuple[StrictStr, ...] = ("summary_risk", "risk_total", "SQ *")
    roc_max_points: Annotated[StrictInt, Field(ge=2)] = 50
    roc_plot_max_points: Annotated[StrictInt, Field(ge=2)] = 500
    k_suppress: Annotated[StrictInt, Field(ge=1)] = 5


BUNDLES_DIR = "data/bundles"


class SitesConfig(Section):
    """Where the figures come from: the local folder (``validate.input_dir``, one site or many) or the
    site bundles under ``data/bundles/`` that the ``pool`` stage pools (see ``validation bundle``)."""

    source: Literal["local", "bundles"] = "local"
    bundles: tuple[StrictStr, ...] = ()

    @field_validator("bundles")
    @classmethod
    def _plain_names(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        bad = [b for b in v if not b or "/" in b or "\\" in b or b.startswith(".")]
        if bad:
            raise ValueError(f"bundle folders are plain names under data/bundles/, got {bad}")
        if len(set(v)) != len(v):
            raise ValueError(f"each bundle once, got {list(v)}")
        return v

    @model_validator(mode="after")
    def _bundles_named(self) -> "SitesConfig":
        if self.source == "bundles" and not self.bundles:
            raise ValueError("source: bundles needs the bundle folders listed in sites.bundles")
        return self


class PlanningConfig(Section):
    """Planning the next study by simulation (``validation plan``): the grid of case counts and event
    rates of the planned outcome, the replicates a cell, the seed, and the Dask engine."""

    run: StrictBool = False
    seed: Seed = 7
    replicates: Annotated[StrictInt, Field(ge=2)] = 200
    n_cases: Annotated[tuple[Annotated[StrictInt, Field(ge=50)], ...], Field(min_length=1)] = (300, 600, 1200)
    event_rates: tuple[Annotated[StrictFloat, Field(gt=0, lt=0.13)], ...] = ()
    raters_per_case: tuple[Annotated[StrictFloat, Field(ge=1, le=2)], ...] = ()
    outcome: Literal["extremist"] = "extremist"
    batch: Annotated[StrictInt, Field(ge=1)] = 10
    workers: Annotated[StrictInt, Field(ge=1)] = 2
    scheduler: StrictStr | None = None


class CertificationRule(Section):
    """One criterion a trainee must meet to be certified: a measure of
    :func:`validation.stats.rater_training.agreement_with_key` (``"weighted kappa|AC2"``: either of them)
    with exactly one of ``min``, ``max`` or ``max_abs`` (the absolute value at most), and its source."""

    measure: Annotated[StrictStr, Field(min_length=1)]
    min: StrictFloat | None = None
    max: StrictFloat | None = None
    max_abs: Annotated[StrictFloat, Field(gt=0)] | None = None
    source: Annotated[StrictStr, Field(min_length=1)]

    @model_validator(mode="after")
    def _one_bound(self) -> "CertificationRule":
        from validation.stats.rater_training import MEASURES

        if sum(b is not None for b in (self.min, self.max, self.max_abs)) != 1:
            raise ValueError(f"{self.measure}: give exactly one of min, max and max_abs")
        unknown = [m for m in self.measure.split("|") if m.strip() not in MEASURES]
        if unknown:
            raise ValueError(f"measure: found {unknown}, expected one of {', '.join(MEASURES)} (several joined by |)")
        return self


_NATIONAL = "exact-agreement rules of national scoring programmes for 3-point (0.80) and 2-point (0.90) items"


def _default_rules() -> tuple[CertificationRule, ...]:
    return (CertificationRule(measure="exact, indicators", min=0.80, source=_NATIONAL),
            CertificationRule(measure="exact, additional indicators", min=0.90, source=_NATIONAL),
            CertificationRule(measure="weighted kappa|AC2", min=0.60,
                              source="M\u00fcller & Wetzel (1998), J Psychiatr Res 32:151-160: PANSS rater training"),
            CertificationRule(measure="severity", max_abs=0.25,
                              source="a quarter of a category on the 1-3 scale (project default)"))


class TrainingConfig(Section):
    """Training and certifying VERA-2R raters on case vignettes (stage ``training``): the bootstrap over
    vignettes, the certification rules (each trainee judged on the last occasion attended by the
    four-outcome rule), and the grid of the rules' operating characteristics by simulation."""

    ci: Level = 0.95
    n_boot: Annotated[StrictInt, Field(ge=2)] = 2000
    seed: Seed = 9
    weights: Literal["quadratic", "linear"] = "quadratic"
    alpha: Level = 0.05                # Holm-adjusted level of the systematic-miss flags
    certification: Annotated[tuple[CertificationRule, ...], Field(min_length=1)] = Field(default_factory=_default_rules)
    oc_accuracy: Annotated[tuple[Annotated[StrictFloat, Field(gt=0, le=1)], ...], Field(min_length=1)] = (
        0.70, 0.75, 0.80, 0.85, 0.90)
    oc_vignettes: Annotated[tuple[Annotated[StrictInt, Field(ge=2)], ...], Field(min_length=1)] = (3, 5, 8, 12)
    oc_replicates: Annotated[StrictInt, Field(ge=10)] = 200


GROUPING_VARIABLES = ("site", "language", "sex", "age_band")
GroupingVariable = Literal["site", "language", "sex", "age_band"]


class FairnessConfig(Section):
    """Predictive fairness by group (stage ``fairness``): the grouping variables and the reference level of
    each (default: the largest group), the outcomes and the follow-up horizon (events within ``horizon_days``
    among cases followed that long or with an event), the risk bands of the observed / expected table, the
    event tiers (below the first: counts only; then estimates without tests; then tests flagged as
    low-powered; then everything; Collins, Ogundimu & Altman 2016 ask for 100 events), the equivalence
    margins (two one-sided tests: equal prediction is claimed only inside them), the multiplicity families
    (Holm's adjustment within one analysis of one grouping variable, ``variable``, or of all grouping variables
    of an outcome, ``outcome``), the bootstrap. The cut-offs judged are the predictive section's
    (``risk_total_cutoffs``) and the summary judgement's highest code."""

    ci: Level = 0.95
    groups: Annotated[tuple[GroupingVariable, ...], Field(min_length=1)] = GROUPING_VARIABLES
    reference: dict[GroupingVariable, StrictStr] = Field(default_factory=dict)
    outcomes: Annotated[tuple[StrictStr, ...], Field(min_length=1)] = ("any",)
    horizon_days: Annotated[StrictFloat, Field(gt=0)] = 1096.0
    score: StrictStr = "risk_total"
    bands: Annotated[tuple[Annotated[StrictFloat, Field(gt=0, lt=1)], ...], Field(min_length=1)] = (0.2, 0.4)
    tiers: tuple[Annotated[StrictInt, Field(ge=1)], Annotated[StrictInt, Field(ge=1)],
                 Annotated[StrictInt, Field(ge=1)]] = (5, 50, 100)
    equivalence_auc: Annotated[StrictFloat, Field(gt=0, lt=0.5)] = 0.05
    equivalence_citl: Annotated[StrictFloat, Field(gt=0)] = 0.2
    multiplicity: Literal["variable", "outcome"] = "variable"
    n_boot: Annotated[StrictInt, Field(ge=2)] = 2000
    seed: Seed = 11

    @field_validator("tiers")
    @classmethod
    def _increasing(cls, v: tuple[int, int, int]) -> tuple[int, int, int]:
        if not v[0] < v[1] < v[2]:
            raise ValueError(f"three increasing event counts, got {list(v)}")
        return v

    @field_validator("bands")
    @classmethod
    def _sorted(cls, v: tuple[float, ...]) -> tuple[float, ...]:
        if list(v) != sorted(set(v)):
            raise ValueError(f"increasing risks strictly between 0 and 1, got {list(v)}")
        return v


@dataclass(frozen=True)
class Config:
    """Every section of ``params.yaml``, typed (``validate`` is ``config.section("validate")``)."""

    instruments: InstrumentsConfig
    synthesize: SyntheticConfig
    validate: ValidateConfig
    reliability: ReliabilityConfig
    structure: StructureConfig
    agreement: AgreementConfig
    predictive: PredictiveConfig
    report: ReportConfig
    sites: SitesConfig = SitesConfig()
    planning: PlanningConfig = PlanningConfig()
    training: TrainingConfig = TrainingConfig()
    fairness: FairnessConfig = FairnessConfig()

    def section(self, name: str) -> Any:
        """A section by its name in ``params.yaml``."""
        if name not in SECTIONS:
            raise KeyError(f"params.yaml has no section {name!r}; the sections are {', '.join(SECTIONS)}")
        return getattr(self, name)

    def with_section(self, name: str, value: Any) -> "Config":
        """A copy with section ``name`` replaced (e.g. a command-line override)."""
        return dataclasses.replace(self, **{name: value})

    def as_params(self, name: str) -> Any:
        """A section as plain values, in the order of its schema (recorded in provenance)."""
        value = self.section(name)
        if isinstance(value, SyntheticConfig):
            return value.to_dict()
        if isinstance(value, ReportConfig):
            return value.as_dict()
        return value.model_dump(mode="json")


SECTIONS: dict[str, Any] = {"instruments": InstrumentsConfig, "synthesize": SyntheticConfig,
                            "validate": ValidateConfig, "reliability": ReliabilityConfig,
                            "structure": StructureConfig, "agreement": AgreementConfig,
                            "predictive": PredictiveConfig, "report": ReportConfig, "sites": SitesConfig,
                            "planning": PlanningConfig, "training": TrainingConfig, "fairness": FairnessConfig}


class ConfigError(ValueError):
    """``params.yaml`` breaks its schema; ``problems`` lists every fault as ``section.key: found X,
    expected Y``."""

    def __init__(self, problems: list[str], source: str = "params.yaml"):
        self.problems = problems
        super().__init__(f"{source}: {len(problems)} problem(s); nothing was run\n"
                         + "\n".join(f"  - {p}" for p in problems))


_EXPECTED = {
    "int_type": "a whole number", "int_from_float": "a whole number", "float_type": "a number",
    "string_type": "text", "bool_type": "true or false", "tuple_type": "a list", "list_type": "a list",
    "dict_type": "a mapping of keys to values", "model_type": "a mapping of keys to values",
    "model_attributes_type": "a mapping of keys to values",
}


def _found(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value)


def _expected(err: Mapping) -> str:
    kind, ctx = err["type"], err.get("ctx") or {}
    if kind in _EXPECTED:
        return _EXPECTED[kind]
    if kind == "literal_error":
        return "one of " + str(ctx.get("expected", "")).replace("'", "")
    bounds = {"greater_than": "> {gt}", "greater_than_equal": ">= {ge}", "less_than": "< {lt}",
              "less_than_equal": "<= {le}", "too_short": "at least {min_length} value(s)"}
    if kind in bounds:
        return "a value " + bounds[kind].format(**ctx) if kind != "too_short" else bounds[kind].format(**ctx)
    return str(err.get("msg", kind)).removeprefix("Value error, ")


def _known_keys(schema: Any, path: tuple) -> list[str]:
    """The keys a (nested) schema accepts at ``path``."""
    for key in path:
        field = getattr(schema, "model_fields", {}).get(key)
        schema = getattr(field, "annotation", None)
    return list(getattr(schema, "model_fields", {}))


def describe(exc: ValidationError, prefix: str, schema: Any = None) -> list[str]:
    """Pydantic's errors as ``prefix.key: found X, expected Y`` lines."""
    out = []
    for err in exc.errors():
        loc = ".".join(str(x) for x in (prefix, *err["loc"]) if x != "__root__")
        if err["type"] == "extra_forbidden":
            known = _known_keys(schema, tuple(err["loc"][:-1])) if schema is not None else []
            out.append(f"{loc}: found an unknown key, expected one of {', '.join(known)}" if known else
                       f"{loc}: found an unknown key, expected none of that name (a typing error?)")
        elif err["type"] == "missing":
            out.append(f"{loc}: found nothing, expected a value")
        else:
            out.append(f"{loc}: found {_found(err.get('input'))}, expected {_expected(err)}")
    return out


def _plain_problems(section: str, text: str) -> list[str]:
    """A schema's own ValueError text (one problem a line ``  - key: expected X, found Y``) as
    ``section.key: found Y, expected X`` lines."""
    out = []
    for line in text.splitlines():
        m = re.match(r"\s*- (\S+): expected (.*), found (.*)$", line)
        if m:
            out.append(f"{section}.{m.group(1)}: found {m.group(3)}, expected {m.group(2)}")
        elif (u := re.match(r"unknown .*?: (.*?); accepted keys are: (.*)$", line)):
            out += [f"{section}.{k.strip()}: found an unknown key, expected one of {u.group(2)}"
                    for k in u.group(1).split(",")]
    return out or [f"{section}: {text}"]


def validate_params(params: Any, root: Path | None = None) -> Config:
    """Check a parsed ``params.yaml`` against every section's schema; with ``root``, also check that
    the instrument definitions it names exist. Raises :class:`ConfigError` with every problem."""
    if not isinstance(params, Mapping):
        raise ConfigError([f"the file: found {type(params).__name__}, expected a mapping of sections"])
    problems: list[str] = []
    sections: dict[str, Any] = {}
    for name in sorted(set(params) - set(SECTIONS)):
        problems.append(f"{name}: found an unknown section, expected one of {', '.join(SECTIONS)}")
    for name, schema in SECTIONS.items():
        if name not in params:
            problems.append(f"{name}: found no section, expected a '{name}:' section")
            continue
        raw = params[name] if params[name] is not None else {}
        try:
            if schema is SyntheticConfig:
                sections[name] = SyntheticConfig.from_params(raw)
            elif schema is ReportConfig:
                sections[name] = ReportConfig.from_params(raw)
            else:
                sections[name] = schema.model_validate(raw)
        except ValidationError as exc:
            problems.extend(describe(exc, name, schema))
        except (TypeError, ValueError) as exc:
            problems.extend(_plain_problems(name, str(exc)))
    if root is not None and "sites" in sections and sections["sites"].source == "bundles":
        for name in sections["sites"].bundles:
            if not (root / BUNDLES_DIR / name / "manifest.json").is_file():
                problems.append(f"sites.bundles: found {name!r}, expected a site bundle in {BUNDLES_DIR}/{name}/ "
                                f"(none there; make it with `validation bundle DIR --out {BUNDLES_DIR}/{name}`)")
    if root is not None and "instruments" in sections:
        for key in ("vera", "sq"):
            rel = getattr(sections["instruments"], key)
            if not (root / rel).is_file():
                problems.append(f"instruments.{key}: found {rel!r}, expected an instrument definition file "
                                f"(none at {root / rel}; the definitions are in instruments/)")
    if problems:
        raise ConfigError(problems)
    return Config(**sections)


def load_config(root: Path) -> Config:
    """Read and check ``root/params.yaml``."""
    path = root / "params.yaml"
    try:
        params = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError([f"{path}: found no file, expected the pipeline's parameters"]) from None
    except yaml.YAMLError as exc:
        raise ConfigError([f"the file is not valid YAML: {exc}"]) from None
    return validate_params(params, root)
