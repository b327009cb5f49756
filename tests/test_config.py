"""The configuration is checked at the door: one schema per params.yaml section, the only defaults,
every problem listed at once as ``section.key: found X, expected Y``."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from validation.battery.synthetic import SyntheticConfig
from validation.pipeline.config import SECTIONS, ConfigError, load_config, validate_params
from validation.report.rules import ReportConfig

ROOT = Path(__file__).resolve().parents[1]
PARAMS = yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))


def problems(params: dict) -> list[str]:
    with pytest.raises(ConfigError) as err:
        validate_params(params, ROOT)
    return err.value.problems


def test_committed_params_pass_and_are_typed():
    config = load_config(ROOT)
    assert config.validate.k_anonymity == 5 and isinstance(config.validate.k_anonymity, int)
    assert config.predictive.comparisons == (("summary_risk", "risk_total"), ("risk_total", "SQ *"))
    assert config.agreement.bands.kappa.band(0.65) == "substantial"
    assert config.agreement.bands.icc.band(0.75) == "good"  # closed left: [0.75, 0.9)


@pytest.mark.parametrize("section, key, value, expected", [
    ("validate", "k_anonymity", True, "validate.k_anonymity: found true, expected a whole number"),
    ("validate", "k_anonymity", 4.9, "validate.k_anonymity: found 4.9, expected a whole number"),
    ("reliability", "min_rated", 1.5, "reliability.min_rated: found 1.5, expected a value <= 1"),
    ("reliability", "ci", 0.0, "reliability.ci: found 0.0, expected a value > 0"),
    ("structure", "efa_rotation", "quartimax", "structure.efa_rotation: found 'quartimax', expected one of"),
    ("agreement", "seed", "one", "agreement.seed: found 'one', expected a whole number"),
    ("predictive", "base_rates", [0.01, 1.2], "predictive.base_rates.1: found 1.2, expected a value < 1"),
    ("synthesize", "n_cases", 4.9, "synthesize.n_cases: found 4.9, expected an integer"),
    ("synthesize", "n_cases", True, "synthesize.n_cases: found True, expected an integer"),
    ("report", "k_suppress", 0, "report.k_suppress: found 0, expected a value >= 1"),
])
def test_a_bad_value_is_named_with_found_and_expected(section, key, value, expected):
    params = copy.deepcopy(PARAMS)
    params[section][key] = value
    found = problems(params)
    assert any(p.startswith(expected) for p in found), found


def test_unknown_key_missing_section_and_bad_file_all_listed_at_once():
    params = copy.deepcopy(PARAMS)
    params["structure"]["efa_rotaton"] = "oblimin"
    del params["predictive"]
    params["instruments"]["vera"] = "instruments/vera9.yaml"
    params["agreement"]["bands"]["icc"]["closed"] = "both"
    params["extra"] = {}
    found = problems(params)
    assert len(found) == 5, found
    assert any(p.startswith("structure.efa_rotaton: found an unknown key, expected one of ci, ") for p in found)
    assert "predictive: found no section, expected a 'predictive:' section" in found
    assert any(p.startswith("instruments.vera: found 'instruments/vera9.yaml', expected an instrument") for p in found)
    assert any(p.startswith("agreement.bands.icc.closed: found 'both', expected one of left or right") for p in found)
    assert any(p.startswith("extra: found an unknown section") for p in found)


def test_bands_must_adjoin():
    params = copy.deepcopy(PARAMS)
    params["agreement"]["bands"]["kappa"]["limits"]["fair"] = [0.25, 0.4]
    assert any("agreement.bands.kappa" in p and "adjoining" in p for p in problems(params))


def test_schemas_hold_the_defaults_params_yaml_repeats():
    """params.yaml writes every setting out; each value there equals its schema's default, so the
    schemas are the one place the defaults live (a change of default shows here)."""
    config = load_config(ROOT)
    for name, schema in SECTIONS.items():
        if schema is SyntheticConfig:
            default = SyntheticConfig().to_dict()
        elif schema is ReportConfig:
            default = ReportConfig().as_dict()
        else:
            default = schema().model_dump(mode="json")
        current = config.as_params(name)
        for key, value in current.items():
            if key in (PARAMS[name] or {}):
                assert value == default[key], f"{name}.{key}: params.yaml {value!r} differs from the default {default[key]!r}"


def test_stage_refuses_bad_params_before_any_work(tmp_path):
    import subprocess
    import sys
    (tmp_path / "dvc.yaml").write_text("stages: {}\n")
    params = copy.deepcopy(PARAMS)
    params["validate"]["k_anonymity"] = True
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    r = subprocess.run([sys.executable, "-m", "validation.pipeline.stages", "synthesize"], cwd=tmp_path,
                       capture_output=True, text=True)
    assert r.returncode == 2
    assert "validate.k_anonymity: found true, expected a whole number" in r.stderr
    assert not (tmp_path / "data").exists()


def test_structure_estimators_are_checked_at_the_door():
    from validation.pipeline.config import validate_params

    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["structure"]["estimators"] = {"sq": ["ML", "WLSMV"], "vera": ["ML"]}
    with pytest.raises(Exception, match="vera"):
        validate_params(params)
    params["structure"]["estimators"] = {"sq": ["ML", "ML"], "vera": ["WLSMV"]}
    with pytest.raises(Exception, match="each estimator once"):
        validate_params(params)
    params["structure"]["estimators"] = {"sq": ["WLSMV"], "vera": ["WLSMV"]}
    params["structure"]["parameterization"] = "theta"
    assert validate_params(params).structure.estimators.sq == ["WLSMV"]
