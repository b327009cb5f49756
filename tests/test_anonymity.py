"""The one anonymisation rule (``validation.battery.anonymity``) and its use everywhere."""

from __future__ import annotations

import doctest
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from validation.battery import anonymity
from validation.battery.anonymity import anonymise, case_positions, rater_labels, sorted_keys

SRC = Path(__file__).resolve().parents[1] / "src" / "validation"


def test_module_examples_run():
    result = doctest.testmod(anonymity, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted >= 3 and result.failed == 0


def test_keys_sort_naturally_and_mixed_types_do_not_fail():
    assert sorted_keys(["R10", "R2", None, "R2"]) == ["R10", "R2"]
    assert sorted_keys([10, 2, 2]) == [2, 10]
    assert sorted_keys([3, "a", 1]) == [1, 3, "a"]          # int before str by type name
    assert case_positions(["C3", "C1", "C3"]) == {"C1": 0, "C3": 1}


def test_a_subset_keeps_the_names_of_the_full_table():
    full = pd.DataFrame({"case_id": ["C1", "C1", "C2", "C2"], "rater_id": ["B", "D", "A", "C"],
                         "role": ["independent", "independent", "consensus", "independent"]})
    labels = rater_labels(full["rater_id"])
    indep = full[full["role"] == "independent"]
    a = anonymise(indep, all_raters=full["rater_id"])
    assert a["rater"].tolist() == [labels[k] for k in indep["rater_id"]] == ["rater 2", "rater 4", "rater 3"]
    # numbered among the subset alone, rater C would have been "rater 2"
    assert anonymise(indep)["rater"].tolist() == ["rater 1", "rater 3", "rater 2"]


def test_refusals_say_what_to_pass():
    r = pd.DataFrame({"case_id": ["C1", None], "rater_id": ["X", "X"]})
    with pytest.raises(ValueError, match="without a case_id"):
        anonymise(r)
    with pytest.raises(ValueError, match="every rater key of the vera_ratings table"):
        anonymise(r.dropna(), all_raters=["Y"])


def test_no_other_module_names_raters():
    """Rater labels are made in one place: no other module formats ``rater N`` itself."""
    pattern = re.compile(r"""f["']rater \{""")
    offenders = [str(p.relative_to(SRC)) for p in SRC.rglob("*.py")
                 if p.name != "anonymity.py" and pattern.search(p.read_text(encoding="utf-8"))]
    assert offenders == []


def test_data_quality_and_the_stages_use_the_same_names():
    """A consensus-only rater whose key sorts first: the data-quality summary and the anonymised
    independent forms (as the agreement stage makes them) give every rater the same label."""
    from dataclasses import replace

    from validation.battery.contract import load_tables, quality_summary
    from validation.battery.instruments import load_instrument

    root = Path(__file__).resolve().parents[1]
    vera = load_instrument(root / "instruments" / "vera2r.yaml")
    sq = load_instrument(root / "instruments" / "sq.yaml")
    clean = load_tables(root / "tests" / "broken_inputs" / "_valid", vera, sq)
    extra = clean.vera_ratings.iloc[:2].assign(rater_id="A000", role="consensus")
    full = pd.concat([clean.vera_ratings, extra], ignore_index=True)
    by_rater = quality_summary(replace(clean, vera_ratings=full), vera, sq)["vera_ratings"]["by_rater"]
    assert by_rater["rater 1"] == 2                       # the consensus-only rater sorts first
    named_in_full = anonymise(full)
    assert named_in_full.groupby("rater").size().to_dict() == by_rater
    indep = full["role"] == "independent"
    named_in_subset = anonymise(full[indep], all_raters=full["rater_id"])
    assert named_in_subset["rater"].tolist() == named_in_full.loc[indep, "rater"].tolist()
