"""Tests of the optional rater-training tables of the data contract (``training_ratings`` and
``vignette_key``) and of the synthetic battery's training study.

* the valid training tables (tests/broken_inputs/_training/, added to _valid/) load typed like
  ``vera_ratings``, a trainee who missed an occasion is accepted and counted, the four tables are
  untouched, and a folder without them gives ``None``;
* each new rule reads file, row, column, found and expected (the fault folders training_* of
  tests/broken_inputs/ are checked exactly by tests/test_contract.py; here the messages themselves);
* the synthetic battery writes both tables by default, they pass the contract, its truth records
  every planted value, the planted effects show in the tables, and the four tables do not depend
  on the training knobs.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from validation.battery.contract import ContractError, load_tables, quality_summary
from validation.battery.instruments import load_instrument
from validation.battery.synthetic import SyntheticConfig, generate

ROOT = Path(__file__).resolve().parents[1]
CORPUS = Path(__file__).resolve().parent / "broken_inputs"
VALID = CORPUS / "_valid"
TRAINING = CORPUS / "_training"


@pytest.fixture(scope="module")
def vera():
    return load_instrument(ROOT / "instruments" / "vera2r.yaml")


@pytest.fixture(scope="module")
def sq():
    return load_instrument(ROOT / "instruments" / "sq.yaml")


def folder_with(tmp_path: Path, name: str = "site", **replace: pd.DataFrame | None) -> Path:
    """_valid/ plus the valid training tables; a table given as a frame replaces its CSV, None drops it."""
    folder = tmp_path / name
    shutil.copytree(VALID, folder)
    for f in TRAINING.iterdir():
        shutil.copy(f, folder / f.name)
    for table, frame in replace.items():
        (folder / f"{table}.csv").unlink()
        if frame is not None:
            frame.to_csv(folder / f"{table}.csv", index=False)
    return folder


def read(table: str) -> pd.DataFrame:
    return pd.read_csv(TRAINING / f"{table}.csv", dtype=str, keep_default_na=False)


def problems_of(folder: Path, vera, sq) -> list:
    with pytest.raises(ContractError) as exc:
        load_tables(folder, vera, sq)
    return exc.value.problems


# ---------------------------------------------------------------------------------------------
# the valid tables


def test_training_tables_load_typed_like_the_ratings(tmp_path, vera, sq):
    t = load_tables(folder_with(tmp_path), vera, sq)
    base = load_tables(VALID, vera, sq)
    for name in ("cases", "vera_ratings", "sq_responses", "outcomes"):
        pd.testing.assert_frame_equal(getattr(t, name), getattr(base, name))
    tr, key = t.training_ratings, t.vignette_key
    assert list(tr.columns) == ["trainee_id", "vignette_id", "occasion", "vignette_set", "arm", *vera.columns]
    assert list(key.columns) == ["vignette_id", "vignette_set", *vera.columns]
    assert tr["occasion"].dtype == np.int64 and str(tr["arm"].dtype) == "string"
    assert all(str(d) == "Int8" for d in tr.dtypes.iloc[5:]) and all(str(d) == "Int8" for d in key.dtypes.iloc[2:])
    raw = read("training_ratings")
    # the same codes as vera_ratings: L/M/H as 1/2/3, 0/1, the summary in the order of its codes
    assert tr["BA1"].tolist() == raw["BA1"].map({"L": 1, "M": 2, "H": 3}).tolist()
    assert tr["summary_risk"].tolist() == raw["summary_risk"].map({"L": 1, "M": 2, "H": 3}).tolist()
    assert tr[vera.additional[0]].tolist() == raw[vera.additional[0]].astype(int).tolist()
    assert base.training_ratings is None and base.vignette_key is None


def test_missed_occasion_is_accepted_and_counted(tmp_path, vera, sq):
    t = load_tables(folder_with(tmp_path), vera, sq)
    seen = t.training_ratings.groupby("trainee_id")["occasion"].nunique()
    assert seen["TRN-3"] == 1 and (seen.drop("TRN-3") == 2).all()
    s = quality_summary(t, vera, sq, k_anonymity=1)["training"]
    assert s["trainees_missing_an_occasion"] == 1
    assert s["n_trainees"] == 4 and s["trainees_by_arm"] == {"control": 1, "trained": 3}
    assert s["forms_by_occasion"] == {"1": 8, "2": 6} and s["vignettes_by_set"] == {"A": 2, "B": 2}
    # at k = 5 the one trainee who missed is a small count: suppressed, and the forms' counts that would
    # give it back (every trainee rates a set's vignettes) withheld
    small = quality_summary(t, vera, sq)["training"]
    assert small["trainees_missing_an_occasion"] == "<5"
    assert small["forms_by_occasion"].startswith("withheld") and small["n_forms"].startswith("withheld")
    assert small["trainees_by_arm"] != {"control": 1, "trained": 3}
    assert "left out of the before/after comparison only" in s["missing_occasion"]
    assert "TRN-" not in str(s)          # no trainee key in the summary
    assert "training" not in quality_summary(load_tables(VALID, vera, sq), vera, sq)


def test_arm_column_may_be_left_out_and_parquet_is_read(tmp_path, vera, sq):
    ratings = read("training_ratings").drop(columns="arm")
    folder = folder_with(tmp_path, training_ratings=None, vignette_key=None)
    ratings.to_parquet(folder / "training_ratings.parquet", index=False)
    read("vignette_key").to_parquet(folder / "vignette_key.parquet", index=False)
    t = load_tables(folder, vera, sq)
    assert t.training_ratings["arm"].isna().all() and len(t.training_ratings) == 14


def test_key_alone_is_checked(tmp_path, vera, sq):
    key = read("vignette_key")
    key.loc[0, "P1"] = ""
    got = problems_of(folder_with(tmp_path, training_ratings=None, vignette_key=key), vera, sq)
    assert [(p.file, p.row, p.column, p.rule) for p in got] == [("vignette_key.csv", 2, "P1", "key_not_rated")]


# ---------------------------------------------------------------------------------------------
# each new rule: file, row, column, found, expected


def test_rating_of_a_vignette_without_key(tmp_path, vera, sq):
    ratings = read("training_ratings")
    ratings.loc[2, "vignette_id"] = "VIG-C9"
    (p,) = problems_of(folder_with(tmp_path, training_ratings=ratings), vera, sq)
    assert p.message == ("training_ratings.csv, row 4, column 'vignette_id': found 'VIG-C9'; expected a "
                         "vignette_id listed in vignette_key.csv [unknown_vignette]")


def test_key_with_a_not_rated_indicator_or_summary(tmp_path, vera, sq):
    key = read("vignette_key")
    key.loc[1, "BA1"] = "NR"
    key.loc[2, "summary_risk"] = ""
    key.loc[3, vera.additional[0]] = ""
    got = {(p.row, p.column): p for p in problems_of(folder_with(tmp_path, vignette_key=key), vera, sq)}
    assert set(got) == {(3, "BA1"), (4, "summary_risk"), (5, vera.additional[0])}
    assert got[3, "BA1"].message == (
        "vignette_key.csv, row 3, column 'BA1': found 'NR'; expected the key's rating, one of L, M, H, low, "
        "moderate, high, 1, 2, 3 (any case): the key of a vignette rates every indicator, additional "
        "indicator and the summary [key_not_rated]")
    assert got[4, "summary_risk"].value == "" and got[5, vera.additional[0]].rule == "key_not_rated"


def test_vignette_in_two_sets(tmp_path, vera, sq):
    key = read("vignette_key")
    key = pd.concat([key, key.iloc[[0]].assign(vignette_set="B")], ignore_index=True)
    ratings = read("training_ratings")
    ratings.loc[2, "vignette_set"] = "A"          # VIG-B1, set B in the key
    got = problems_of(folder_with(tmp_path, training_ratings=ratings, vignette_key=key), vera, sq)
    assert [p.message for p in got] == [
        "training_ratings.csv, row 4, column 'vignette_set': found 'A'; expected vignette_set B, the set of "
        "vignette VIG-B1 in vignette_key.csv (row 4) [vignette_set]",
        "vignette_key.csv, row 6, column 'vignette_set': found 'B'; expected vignette_set A: vignette VIG-A1 "
        "is in set A on row 2 (a vignette belongs to one set) [vignette_set]",
    ]


def test_vignette_in_two_sets_within_the_ratings(tmp_path, vera, sq):
    ratings = read("training_ratings")
    ratings.loc[[0, 9], "vignette_id"] = "VIG-X"        # rows 2 (set A) and 11 (set A) ...
    ratings.loc[9, "vignette_set"] = "B"                 # ... the second now in set B
    got = problems_of(folder_with(tmp_path, training_ratings=ratings), vera, sq)
    assert {(p.row, p.column, p.rule) for p in got} == {
        (2, "vignette_id", "unknown_vignette"), (11, "vignette_id", "unknown_vignette"),
        (11, "vignette_set", "vignette_set")}
    (p,) = [p for p in got if p.rule == "vignette_set"]
    assert p.expected == "vignette_set A: vignette VIG-X is rated as set A on row 2 (a vignette belongs to one set)"


def test_duplicates_occasions_and_arms(tmp_path, vera, sq):
    ratings = read("training_ratings")
    ratings.loc[0, "occasion"] = "0"
    ratings.loc[3, "occasion"] = ""
    ratings.loc[4, "arm"] = "yes"
    ratings.loc[1, "arm"] = "control"
    ratings = pd.concat([ratings, ratings.iloc[[8]]], ignore_index=True)
    got = {p.message for p in problems_of(folder_with(tmp_path, training_ratings=ratings), vera, sq)}
    occasion = "a whole number >= 1 (1 = before the training, 2 = after, more allowed; required)"
    assert got == {
        f"training_ratings.csv, row 2, column 'occasion': found '0'; expected {occasion} [out_of_range]",
        f"training_ratings.csv, row 5, column 'occasion': found ''; expected {occasion} [missing_value]",
        "training_ratings.csv, row 6, column 'arm': found 'yes'; expected trained or control (required on "
        "every row when the column is there; leave the column out when there is no control arm) [unknown_code]",
        "training_ratings.csv, row 3, column 'arm': found 'control'; expected arm trained, as on row 2 of this "
        "trainee (a trainee belongs to one arm) [trainee_arm]",
        "training_ratings.csv, row 16, column 'trainee_id, vignette_id, occasion': found 'TRN-3, VIG-A1, 1'; "
        "expected a unique (trainee_id, vignette_id, occasion): the same key is already on row 10 [duplicate_key]",
    }


def test_ratings_without_key_and_identifying_trainee_ids(tmp_path, vera, sq):
    ratings = read("training_ratings")
    ratings.loc[0, "trainee_id"] = "j.doe@example.org"
    ratings.loc[1, "trainee_id"] = "12/03/1990"
    got = problems_of(folder_with(tmp_path, training_ratings=ratings, vignette_key=None), vera, sq)
    assert [p.message for p in got] == [
        "training_ratings.csv, row 2, column 'trainee_id': found 'x.xxx@xxxxxxx.xxx'; expected no e-mail address "
        "(dates, e-mail addresses and telephone numbers must never leave the site) [identifier_value]",
        "training_ratings.csv, row 3, column 'trainee_id': found '99/99/9999'; expected no date (dates, e-mail "
        "addresses and telephone numbers must never leave the site) [identifier_value]",
        "vignette_key.csv, file: expected vignette_key.csv or vignette_key.parquet in the folder: "
        "training_ratings.csv is scored against the key ratings of its vignettes [missing_table]",
    ]


def test_training_problems_are_listed_with_the_others(tmp_path, vera, sq):
    ratings = read("training_ratings")
    ratings.loc[0, "BA1"] = "4"
    folder = folder_with(tmp_path, training_ratings=ratings)
    (folder / "outcomes.csv").unlink()
    with pytest.raises(ContractError) as exc:
        load_tables(folder, vera, sq)
    text = str(exc.value)
    assert text.index("outcomes.csv: ") < text.index("training_ratings.csv: ")
    assert {p.rule for p in exc.value.problems} == {"missing_table", "unknown_code"}


# ---------------------------------------------------------------------------------------------
# the synthetic training study


@pytest.fixture(scope="module")
def battery(vera, sq):
    return generate(SyntheticConfig(truth_draws=2000), vera, sq)


def test_synthetic_training_tables_pass_the_contract(tmp_path, battery, vera, sq):
    tables = battery.tables()
    assert list(tables) == ["cases", "vera_ratings", "sq_responses", "outcomes", "training_ratings", "vignette_key"]
    for name, frame in tables.items():
        frame.to_csv(tmp_path / f"{name}.csv", index=False)
    t = load_tables(tmp_path, vera, sq)
    assert len(t.training_ratings) == 60 * 12 - 3 * 6 and len(t.vignette_key) == 12
    assert t.training_ratings[vera.columns].notna().all().all()      # every cell rated
    s = quality_summary(t, vera, sq)["training"]
    assert s["trainees_missing_an_occasion"] == "<5" and s["trainees_by_arm"] == {"control": 12, "trained": 48}
    assert s["n_forms"].startswith("withheld")


def test_synthetic_training_truth_is_recorded(battery, vera):
    tr = battery.truth["training"]
    cfg = SyntheticConfig()
    assert tr["n_trainees"] == 60 and tr["arms"] == {"trained": 48, "control": 12}
    assert [len(v) for v in tr["sets"].values()] == [6, 6]
    people = tr["trainees"]
    assert len(people) == 60 and len(tr["missed_occasion_2"]) == 3
    for arm in ("trained", "control"):                     # counterbalanced within each arm
        orders = [p["order"] for p in people.values() if p["arm"] == arm]
        assert orders.count("A-B") == orders.count("B-A")
    for p in people.values():
        assert cfg.trainee_accuracy[0] <= p["accuracy_before"] <= cfg.trainee_accuracy[1]
        rise = p["accuracy_after"] - p["accuracy_before"]
        planted = min(cfg.training_effect, 1 - p["accuracy_before"]) if p["arm"] == "trained" else 0.0
        assert rise == pytest.approx(planted)
        assert cfg.trainee_centrality[0] <= p["centrality"] <= cfg.trainee_centrality[1]
        assert {"severity", "missed_occasion_2"} <= set(p)
    assert len(tr["hard_indicators"]) == 3 and tr["over_rated_indicator"] in tr["hard_indicators"]
    assert set(tr["hard_indicators"]) <= set(vera.indicators)
    assert tr["training_effect"] == {"arm": "trained", "occasion": 2, "accuracy_rise": 0.08}


def test_synthetic_training_effects_show(battery, vera):
    """The planted effects are visible in the tables themselves, compared with the key."""
    tr, key = battery.training_ratings, battery.vignette_key.set_index("vignette_id")
    truth = battery.truth["training"]
    keyed = key.loc[tr["vignette_id"], vera.indicators].to_numpy()
    hit = tr[vera.indicators].to_numpy() == keyed
    trained = (tr["arm"] == "trained").to_numpy()
    occ2 = (tr["occasion"] == "2").to_numpy()
    rise_trained = hit[trained & occ2].mean() - hit[trained & ~occ2].mean()
    rise_control = hit[~trained & occ2].mean() - hit[~trained & ~occ2].mean()
    assert rise_trained > 0.04 and abs(rise_control) < 0.04
    hard = [vera.indicators.index(i) for i in truth["hard_indicators"]]
    easy = [j for j in range(len(vera.indicators)) if j not in hard]
    assert hit[:, hard].mean() < hit[:, easy].mean() - 0.15
    over = vera.indicators.index(truth["over_rated_indicator"])
    order = {c: k for k, c in enumerate(vera.rating.codes)}
    given = tr.iloc[:, 5 + over].map(order).to_numpy()
    wanted = pd.Series(keyed[:, over]).map(order).to_numpy()
    assert (given[given != wanted] > wanted[given != wanted]).mean() > 0.75   # most misses too high
    by_trainee = pd.Series(hit.mean(axis=1)).groupby(tr["trainee_id"].to_numpy()).mean()
    planted = pd.Series({t: p["accuracy_before"] for t, p in truth["trainees"].items()})
    assert np.corrcoef(by_trainee[planted.index], planted)[0, 1] > 0.8


def test_training_knobs_leave_the_four_tables_alone(vera, sq):
    small = dict(n_cases=150, crossed_cases=12, truth_draws=2000)
    a = generate(SyntheticConfig(**small), vera, sq)
    b = generate(SyntheticConfig(**small, n_trainees=0), vera, sq)
    c = generate(SyntheticConfig(**small, n_trainees=20, training_effect=0.2, vignettes_per_set=3,
                                 missed_occasion=1), vera, sq)
    assert set(b.tables()) == {"cases", "vera_ratings", "sq_responses", "outcomes"} and "training" not in b.truth
    for name in b.tables():
        assert a.tables()[name].to_csv(index=False) == b.tables()[name].to_csv(index=False) \
            == c.tables()[name].to_csv(index=False), name
    assert len(c.training_ratings) == 20 * 6 - 3 and c.truth["training"]["arms"] == {"trained": 16, "control": 4}


def test_training_knobs_are_checked():
    with pytest.raises(ValueError) as exc:
        SyntheticConfig(n_trainees=-1, vignettes_per_set=0, trainee_accuracy=(0.9, 0.6), control_share=1.0)
    text = str(exc.value)
    for name in ("n_trainees", "vignettes_per_set", "trainee_accuracy", "control_share"):
        assert f"{name}: expected" in text
