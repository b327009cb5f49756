"""Stage plumbing: atomic outputs, canonical JSON, provenance without timestamps."""

from __future__ import annotations

import json
import math
import re

import pytest

from pathlib import Path

from validation.pipeline.config import load_config
from validation.pipeline.outputs import atomic_outputs, dumps
from validation.pipeline.provenance import code_identity, hash_paths, provenance

ROOT = Path(__file__).resolve().parents[1]


def test_atomic_outputs_commit_replaces_files_and_folders(tmp_path):
    (tmp_path / "reports").mkdir()
    (tmp_path / "reports/a.json").write_text("old")
    (tmp_path / "figs").mkdir()
    (tmp_path / "figs/old.svg").write_text("old")
    with atomic_outputs(tmp_path) as out:
        out.write_text("reports/a.json", "new")
        (out.folder("figs") / "new.svg").write_text("new")
    assert (tmp_path / "reports/a.json").read_text() == "new"
    assert sorted(p.name for p in (tmp_path / "figs").iterdir()) == ["new.svg"]
    assert not list(tmp_path.glob(".stage-*"))


def test_failed_stage_leaves_last_good_outputs(tmp_path):
    (tmp_path / "a.json").write_text("good")
    (tmp_path / "figs").mkdir()
    (tmp_path / "figs/x.svg").write_text("good")
    with pytest.raises(RuntimeError):
        with atomic_outputs(tmp_path) as out:
            out.write_text("a.json", "half-written")
            (out.folder("figs") / "y.svg").write_text("new")
            raise RuntimeError("the stage failed half-way")
    assert (tmp_path / "a.json").read_text() == "good"
    assert [p.name for p in (tmp_path / "figs").iterdir()] == ["x.svg"]
    assert not list(tmp_path.glob(".stage-*"))


def test_dumps_is_canonical_and_refuses_nan():
    assert dumps({"b": 1, "a": [1.5, None]}) == '{\n  "b": 1,\n  "a": [\n    1.5,\n    null\n  ]\n}\n'
    # NaN becomes null (a stage must say why beside it), never the invalid JSON token NaN
    assert json.loads(dumps({"x": math.nan})) == {"x": None}


def test_provenance_is_stable_and_has_no_timestamp(tmp_path):
    (tmp_path / "d.csv").write_text("a,b\n1,2\n")
    config = load_config(ROOT)
    for rel in (config.instruments.vera, config.instruments.sq):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes((ROOT / rel).read_bytes())
    p1 = provenance(tmp_path, "validate", config, ["d.csv"], ("validate",))
    p2 = provenance(tmp_path, "validate", config, ["d.csv"], ("validate",))
    assert p1 == p2
    assert p1["params"] == {"validate": config.validate.model_dump()} and len(p1["data_md5"]) == 32
    assert p1["code"] == code_identity("validate") and len(p1["code"]["sha256"]) == 64
    assert "git_commit" not in p1
    text = json.dumps(p1)
    assert not re.search(r"\d{4}-\d{2}-\d{2}|\d{2}:\d{2}:\d{2}", text)
    assert not any(k in p1 for k in ("time", "date", "timestamp", "created"))
    (tmp_path / "d.csv").write_text("a,b\n1,3\n")
    assert hash_paths(tmp_path, ["d.csv"]) != p1["data_md5"]


def test_code_identity_follows_the_stage_code_only():
    """Each stage's code hash covers the files it runs, so it differs between stages that run
    different modules and does not depend on git."""
    a, s = code_identity("agreement"), code_identity("structure")
    assert a["sha256"] != s["sha256"]
    assert a == code_identity("agreement")
