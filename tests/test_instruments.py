"""Instrument definitions: the shipped ones load with the right structure; malformed ones are refused
with every problem named."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from validation.battery.instruments import InstrumentError, Questionnaire, SPJInstrument, load_instrument

INSTRUMENTS = Path(__file__).resolve().parents[1] / "instruments"


def test_vera2r_structure():
    v = load_instrument(INSTRUMENTS / "vera2r.yaml")
    assert isinstance(v, SPJInstrument)
    assert [d.code for d in v.domains] == ["BA", "SCI", "HAC", "CM", "P"]
    assert [len(d.items) for d in v.domains] == [7, 7, 6, 8, 6]
    assert len(v.indicators) == 34 and len(v.additional) == 11
    assert [g.code for g in v.additional_groups] == ["CH", "PH", "MD"]
    assert [d.code for d in v.protective_domains] == ["P"]
    assert v.summary_column == "summary_risk" and v.summary.codes == ("L", "M", "H")
    assert v.rating.scores == {"L": 1.0, "M": 2.0, "H": 3.0}
    assert v.domain_of("CM8") == "CM" and v.domain_of("MD5") == "MD"


def test_vera2_legacy_has_31_indicators():
    v = load_instrument(INSTRUMENTS / "vera2.yaml")
    assert len(v.indicators) == 31 and v.additional == []
    assert [d.code for d in v.protective_domains] == ["P"]


def test_sq_placeholder():
    q = load_instrument(INSTRUMENTS / "sq.yaml")
    assert isinstance(q, Questionnaire) and q.placeholder
    assert [len(s.items) for s in q.scales] == [22, 22, 22]
    assert [s.code for s in q.scales] == ["needs", "narrative", "network"]
    assert len(set(q.items)) == 66 and (q.response_min, q.response_max) == (1, 7)
    assert set(q.reverse_keyed) <= set(q.items) and len(q.reverse_keyed) == 6


@pytest.mark.parametrize("code,expected", [
    ("L", "L"), ("h", "H"), ("Low", "L"), ("moderate", "M"), ("3", "H"), ("", None), ("NR", None), ("nr", None),
])
def test_rating_aliases(code, expected):
    v = load_instrument(INSTRUMENTS / "vera2r.yaml")
    assert v.rating.normalise(code) == expected


def test_unknown_rating_raises_keyerror():
    v = load_instrument(INSTRUMENTS / "vera2r.yaml")
    with pytest.raises(KeyError):
        v.rating.normalise("4")


def _write(tmp_path: Path, spec: dict) -> Path:
    p = tmp_path / "bad.yaml"
    p.write_text(yaml.safe_dump(spec))
    return p


def _vera_spec() -> dict:
    return yaml.safe_load((INSTRUMENTS / "vera2r.yaml").read_text())


def test_item_in_two_domains(tmp_path):
    spec = _vera_spec()
    spec["domains"][1]["items"].append("BA3")
    with pytest.raises(InstrumentError) as e:
        load_instrument(_write(tmp_path, spec))
    assert "item 'BA3' is in two domains ('BA' and 'SCI')" in str(e.value)
    assert "bad.yaml" in str(e.value)


def test_unknown_response_code_and_duplicate_code_all_listed(tmp_path):
    spec = _vera_spec()
    spec["rating"]["codes"] = ["L", "M", "H", "H"]
    spec["rating"]["aliases"]["severe"] = "X"
    spec["rating"]["scores"]["Z"] = 4
    with pytest.raises(InstrumentError) as e:
        load_instrument(_write(tmp_path, spec))
    msg = str(e.value)
    assert "duplicate response code 'H'" in msg
    assert "aliases.severe: unknown response code 'X'" in msg
    assert "scores: unknown response code 'Z'" in msg
    assert len(e.value.problems) == 3


def test_duplicate_domain_code_and_missing_protective(tmp_path):
    spec = _vera_spec()
    spec["domains"][4]["protective"] = False
    spec["domains"][3]["code"] = "BA"
    with pytest.raises(InstrumentError) as e:
        load_instrument(_write(tmp_path, spec))
    msg = str(e.value)
    assert "duplicate domain code 'BA'" in msg and "no domain is marked 'protective: true'" in msg


def test_questionnaire_errors(tmp_path):
    spec = yaml.safe_load((INSTRUMENTS / "sq.yaml").read_text())
    spec["response"] = {"min": 7, "max": 1}
    spec["reverse_keyed"].append("SQ99")
    with pytest.raises(InstrumentError) as e:
        load_instrument(_write(tmp_path, spec))
    msg = str(e.value)
    assert "expected integers min < max, found min=7, max=1" in msg
    assert "'SQ99' is not an item of any scale" in msg


def test_unknown_kind_and_bad_yaml(tmp_path):
    with pytest.raises(InstrumentError, match="kind: expected 'spj' or 'questionnaire', found 'survey'"):
        load_instrument(_write(tmp_path, {"name": "X", "kind": "survey"}))
    p = tmp_path / "broken.yaml"
    p.write_text("name: [unclosed\n")
    with pytest.raises(InstrumentError, match="not valid YAML"):
        load_instrument(p)
