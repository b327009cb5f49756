"""The instrument is a parameter: the whole chain of stages runs on legacy VERA-2 definitions too."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from validation.pipeline.stages import STAGES
from validation.pipeline.stages.__main__ import main

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture()
def legacy_project(tmp_path, monkeypatch) -> Path:
    for rel in ("params.yaml", "dvc.yaml"):
        shutil.copy(ROOT / rel, tmp_path / rel)
    shutil.copytree(ROOT / "instruments", tmp_path / "instruments")
    params = yaml.safe_load((tmp_path / "params.yaml").read_text())
    params["instruments"]["vera"] = "instruments/vera2.yaml"
    params["synthesize"].update(n_cases=200, crossed_cases=15)
    params["reliability"]["n_boot"] = 100
    params["structure"]["pa_iterations"] = 20
    params["training"].update(n_boot=200, oc_replicates=20, oc_accuracy=[0.75, 0.9], oc_vignettes=[3, 8])
    params["fairness"]["n_boot"] = 200
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_all_stages_run_on_vera2(legacy_project: Path):
    for stage in STAGES:
        assert main([stage]) == 0, stage
    rel = json.loads((legacy_project / "reports/metrics/reliability.json").read_text())
    assert rel["vera"]["instrument"] == "VERA-2"
    assert list(rel["vera"]["domains"]) == ["BA", "CI", "HC", "CM", "P"]
    agr = json.loads((legacy_project / "reports/metrics/agreement.json").read_text())
    assert agr["additional"] == {}
    assert (legacy_project / "reports/validation_report.html").stat().st_size > 0


def test_unknown_stage_and_missing_inputs_give_clear_messages(legacy_project: Path, capsys):
    assert main(["nonsense"]) == 2
    assert "usage: python -m validation.pipeline.stages" in capsys.readouterr().err
    assert main(["reliability"]) == 2
    err = capsys.readouterr().err
    assert "clean tables missing" in err and "run the validate stage first" in err


def test_missing_input_folder_says_how_to_fix(legacy_project: Path, capsys):
    params = yaml.safe_load((legacy_project / "params.yaml").read_text())
    params["validate"]["input_dir"] = "data/raw"
    (legacy_project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    assert main(["validate"]) == 2
    err = capsys.readouterr().err
    assert "'data/raw' is not a folder" in err and "docs/data_contract.md" in err
