"""Tests of validation.contract: the data contract of docs/data_contract.md.

* the valid baseline (tests/broken_inputs/_valid/) loads, and its clean tables hold the values the
  contract prescribes, recomputed here cell by cell from the CSV text with a plain mapping;
* every fault folder of tests/broken_inputs/ raises a ContractError listing exactly the problems of
  its expected.json (see tests/broken_inputs/_build.py, which wrote the corpus), and every folder
  of an export that is read (expected.json "reads_as_valid") loads equal to the baseline;
* exports from spreadsheets and statistics packages: numbers, encodings, separators, title rows,
  instrument versions;
* Parquet input loads like CSV; the data-quality summary holds exact counts (hand-counted from the
  baseline) and no case or rater key.
"""

from __future__ import annotations

import csv
import json
import shutil
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from validation.battery.contract import (
    RULES,
    STORED_PER_GROUP,
    CleanTables,
    ContractError,
    Problem,
    _identifier_kind,
    _is_identifier_name,
    _whole,
    load_tables,
    quality_summary,
)
from validation.battery.instruments import load_instrument

ROOT = Path(__file__).resolve().parents[1]
CORPUS = Path(__file__).resolve().parent / "broken_inputs"
VALID = CORPUS / "_valid"
FAULTS = sorted(p.name for p in CORPUS.iterdir() if p.is_dir() and not p.name.startswith("_"))
TABLE_FILES = ("cases.csv", "vera_ratings.csv", "sq_responses.csv", "outcomes.csv")


def _spec(fault: str) -> dict:
    return json.loads((CORPUS / fault / "expected.json").read_text(encoding="utf-8"))


READ = [f for f in FAULTS if _spec(f).get("reads_as_valid")]
REFUSED = [f for f in FAULTS if f not in READ]


@pytest.fixture(scope="module")
def vera():
    return load_instrument(ROOT / "instruments" / "vera2r.yaml")


@pytest.fixture(scope="module")
def sq():
    return load_instrument(ROOT / "instruments" / "sq.yaml")


@pytest.fixture(scope="module")
def clean(vera, sq) -> CleanTables:
    return load_tables(VALID, vera, sq)


def read_rows(name: str) -> list[dict[str, str]]:
    with open(VALID / name, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def assemble(tmp_path: Path, fault: str) -> tuple[Path, dict]:
    spec = json.loads((CORPUS / fault / "expected.json").read_text(encoding="utf-8"))
    folder = tmp_path / fault
    folder.mkdir()
    for f in VALID.iterdir():
        if f.name not in spec["remove"]:
            shutil.copy(f, folder / f.name)
    for f in (CORPUS / fault).iterdir():
        if f.name != "expected.json":
            shutil.copy(f, folder / f.name)
    return folder, spec


# ---------------------------------------------------------------------------------------------
# the corpus itself


def test_corpus_covers_the_contract():
    assert len(REFUSED) >= 25 and len(READ) >= 10
    rules = Counter()
    for f in FAULTS:
        spec = json.loads((CORPUS / f / "expected.json").read_text(encoding="utf-8"))
        assert bool(spec["problems"]) != bool(spec.get("reads_as_valid")), f
        rules.update(p["rule"] for p in spec["problems"])
        files = {p.name for p in (CORPUS / f).iterdir()} - {"expected.json"}
        for name in files:  # a fault folder holds only what differs from the baseline
            if (VALID / name).exists():
                assert (VALID / name).read_bytes() != (CORPUS / f / name).read_bytes(), (f, name)
    assert set(RULES) <= set(rules), set(RULES) - set(rules)


# ---------------------------------------------------------------------------------------------
# the valid baseline and its clean tables


LMH = {"L": 1, "LOW": 1, "1": 1, "M": 2, "MODERATE": 2, "2": 2, "H": 3, "HIGH": 3, "3": 3}
ZERO_ONE = {"0": 0, "ABSENT": 0, "1": 1, "PRESENT": 1}


def test_baseline_types(clean):
    c, v, s, o = clean.cases, clean.vera_ratings, clean.sq_responses, clean.outcomes
    assert list(c.columns) == ["case_id", "site", "sex", "age_band", "ideology"]
    assert all(str(t) == "string" for t in c.dtypes)
    assert list(v.columns[:5]) == ["case_id", "rater_id", "occasion", "role", "months_since_first"]
    assert v["occasion"].dtype == np.int64
    assert str(v["role"].dtype) == "string"
    assert str(v["months_since_first"].dtype) == "Int32"
    assert all(str(t) == "Int8" for t in v.dtypes.iloc[5:])
    assert v.shape == (22, 5 + 34 + 11 + 1)
    assert s["occasion"].dtype == np.int64 and str(s["language"].dtype) == "string"
    assert all(str(t) == "Int8" for t in s.dtypes.iloc[3:]) and s.shape == (13, 3 + 66)
    assert str(o["event"].dtype) == "Int8" and str(o["time_days"].dtype) == "Int32"
    assert [len(c), len(o)] == [12, 24]
    for df in (c, v, s, o):
        assert list(df.index) == list(range(len(df)))


def test_baseline_cases_values(clean):
    rows = read_rows("cases.csv")
    c = clean.cases
    for col in c.columns:
        expect = [r[col] if r[col] != "" else None for r in rows]
        got = [None if pd.isna(x) else x for x in c[col]]
        assert got == expect, col
    assert c["ideology"].isna().sum() == 6 and c["age_band"].isna().all()


def test_baseline_rating_values(clean, vera):
    rows = read_rows("vera_ratings.csv")
    v = clean.vera_ratings
    assert list(v["occasion"]) == [int(r["occasion"] or 1) for r in rows]
    assert list(v["role"]) == [r["role"] or "independent" for r in rows]
    assert [None if pd.isna(x) else int(x) for x in v["months_since_first"]] == \
        [int(r["months_since_first"]) if r["months_since_first"] else None for r in rows]
    for item in vera.indicators:
        expect = [None if r[item].upper() in ("", "NR") else LMH[r[item].upper()] for r in rows]
        assert [None if pd.isna(x) else int(x) for x in v[item]] == expect, item
    for item in vera.additional:
        expect = [None if r[item] == "" else ZERO_ONE[r[item].upper()] for r in rows]
        assert [None if pd.isna(x) else int(x) for x in v[item]] == expect, item
    summ = {"L": 1, "LOW": 1, "M": 2, "MODERATE": 2, "H": 3, "HIGH": 3}
    expect = [None if r["summary_risk"] == "" else summ[r["summary_risk"].upper()] for r in rows]
    assert [None if pd.isna(x) else int(x) for x in v["summary_risk"]] == expect
    # spot checks on spellings of the first form: '', moderate, 3, l, ..., absent, Present
    first = v.iloc[0]
    assert pd.isna(first["BA1"]) and (first["BA2"], first["BA3"], first["BA4"]) == (2, 3, 1)
    assert (first["CH1"], first["PH3"]) == (0, 1)
    assert pd.isna(v.loc[21, "summary_risk"]) and v.loc[5, "P6"] is pd.NA


def test_baseline_sq_and_outcome_values(clean, sq):
    rows = read_rows("sq_responses.csv")
    s = clean.sq_responses
    assert list(s["occasion"]) == [int(r["occasion"] or 1) for r in rows]
    for item in sq.items:
        expect = [None if r[item] == "" else int(float(r[item])) for r in rows]
        assert [None if pd.isna(x) else int(x) for x in s[item]] == expect, item
    assert s.loc[4, "SQ66"] == int(float(rows[4]["SQ66"]))  # written '3.0' in the file
    orows = read_rows("outcomes.csv")
    o = clean.outcomes
    assert list(o["event"]) == [int(r["event"]) for r in orows]
    assert list(o["time_days"]) == [int(r["time_days"]) for r in orows]
    assert list(o["outcome"]) == [r["outcome"] for r in orows]


def test_parquet_loads_like_csv(tmp_path, clean, vera, sq):
    # Parquet as a site would write it: pandas' own type guesses (floats for integer columns
    # with gaps, integers, strings), nulls for blanks
    for name in TABLE_FILES:
        df = pd.read_csv(VALID / name)
        df.to_parquet(tmp_path / name.replace(".csv", ".parquet"), index=False)
    assert pd.read_parquet(tmp_path / "sq_responses.parquet")["SQ01"].dtype == float
    got = load_tables(tmp_path, vera, sq)
    for t in ("cases", "vera_ratings", "sq_responses", "outcomes"):
        pd.testing.assert_frame_equal(getattr(got, t), getattr(clean, t), obj=t)


def test_mixed_formats_bom_and_crlf(tmp_path, clean, vera, sq):
    pd.read_csv(VALID / "cases.csv", dtype=str, keep_default_na=False).to_parquet(tmp_path / "cases.parquet")
    for name in TABLE_FILES[1:]:
        text = (VALID / name).read_text(encoding="utf-8").replace("\n", "\r\n")
        (tmp_path / name).write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    got = load_tables(tmp_path, vera, sq)
    for t in ("cases", "vera_ratings", "sq_responses", "outcomes"):
        pd.testing.assert_frame_equal(getattr(got, t), getattr(clean, t), obj=t)


def test_blank_rows_are_skipped_and_keep_their_numbers(tmp_path, clean, vera, sq):
    for f in VALID.iterdir():
        shutil.copy(f, tmp_path / f.name)
    lines = (VALID / "outcomes.csv").read_text(encoding="utf-8").split("\n")
    lines.insert(3, ",,,")
    lines.insert(3, "")
    lines[8] = lines[8].replace("extremist", "Extremist")   # was row 7, now row 9
    (tmp_path / "outcomes.csv").write_text("\n".join(lines), encoding="utf-8")
    with pytest.raises(ContractError) as exc:
        load_tables(tmp_path, vera, sq)
    assert [(p.row, p.column, p.value, p.rule) for p in exc.value.problems] == \
        [(9, "outcome", "Extremist", "bad_format")]


# ---------------------------------------------------------------------------------------------
# the broken inputs


def key(p: dict | Problem) -> tuple:
    d = p if isinstance(p, dict) else p.__dict__
    return (d["file"], d["row"], d["column"], d["value"], d["rule"])


def check_notes(got: dict, spec: dict) -> None:
    """Exactly the files of spec["notes"] have notes, holding each fragment listed."""
    want = spec.get("notes", {})
    assert set(got) == set(want), (got, want)
    for f, fragments in want.items():
        joined = " | ".join(got[f])
        for frag in fragments:
            assert frag in joined, (f, frag, joined)


@pytest.mark.parametrize("fault", REFUSED)
def test_fault_lists_exactly_its_problems(tmp_path, fault, vera, sq):
    folder, spec = assemble(tmp_path, fault)
    with pytest.raises(ContractError) as exc:
        load_tables(folder, vera, sq, k_anonymity=spec.get("k_anonymity", 5))
    err = exc.value
    check_notes(err.notes, spec)
    for f, notes in err.notes.items():
        for note in notes:
            assert f"  - {f}: {note}" in str(err)
    assert Counter(key(p) for p in err.problems) == Counter(key(p) for p in spec["problems"])
    assert err.n_problems == len(spec["problems"])
    text = str(err)
    by_key = {key(p): p for p in err.problems}
    for want in spec["problems"]:
        p = by_key[key(want)]
        assert want["text"] in p.expected, (want, p.expected)
        line = p.message
        assert line in text
        assert line.startswith(f"{want['file']}, ")
        if want["row"] is not None:
            assert f"row {want['row']}" in line
        if want["column"] is not None:
            assert f"column '{want['column']}'" in line
        if want["value"] is not None:
            assert f"found '{want['value']}'" in line
        assert f"expected {p.expected}" in line
        assert f"[{want['rule']}] {RULES[want['rule']]}" in text
    # the machine-readable listing holds the same
    recs = err.to_records()
    assert Counter(key(r) for r in recs) == Counter(key(p) for p in spec["problems"])
    assert set(recs[0]) == {"file", "row", "column", "value", "expected", "rule"}
    json.dumps(recs)


@pytest.mark.parametrize("fault", READ)
def test_export_is_read_as_the_baseline(tmp_path, fault, clean, vera, sq):
    """Exports whose intent is unambiguous load, with the very values of the baseline, and the
    data-quality summary says how the files were read."""
    folder, spec = assemble(tmp_path, fault)
    got = load_tables(folder, vera, sq)
    for t in ("cases", "vera_ratings", "sq_responses", "outcomes"):
        pd.testing.assert_frame_equal(getattr(got, t), getattr(clean, t), obj=f"{fault}: {t}")
    check_notes(dict(got.reading), spec)
    summary = quality_summary(got, vera, sq)
    if spec.get("notes"):
        assert summary["reading"] == {f: list(v) for f, v in got.reading.items()}
    else:
        assert "reading" not in summary
    base = quality_summary(clean, vera, sq)
    assert {k: v for k, v in summary.items() if k != "reading"} == base


def test_listing_is_grouped_by_file_then_row(tmp_path, vera, sq):
    folder, _ = assemble(tmp_path, "several_faults")
    with pytest.raises(ContractError) as exc:
        load_tables(folder, vera, sq)
    text = str(exc.value)
    heads = [text.index(f"{f}: ") for f in TABLE_FILES]
    assert heads == sorted(heads)
    assert text.index("row 5, column 'BA1'") < text.index("row 20, column 'rater_id'")
    assert "6 problem(s) in 4 file(s)" in text
    assert text.rstrip().splitlines()[-1].startswith("  [")


def test_long_listings_are_capped_but_counted(tmp_path, vera, sq):
    for f in VALID.iterdir():
        shutil.copy(f, tmp_path / f.name)
    rows = read_rows("sq_responses.csv")
    header = list(rows[0])
    n = 0
    with open(tmp_path / "sq_responses.csv", "w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, header, lineterminator="\n")
        w.writeheader()
        for occ in range(1, 101):          # 12 cases x 100 occasions = 1200 rows
            for r in rows[:12]:
                w.writerow({**r, "occasion": str(occ), "SQ05": "9", "SQ06": "0" if occ <= 5 else r["SQ06"]})
                n += 1
    with pytest.raises(ContractError) as exc:
        load_tables(tmp_path, vera, sq)
    err = exc.value
    assert n == 1200
    assert err.counts[("sq_responses.csv", "SQ05", "out_of_range")] == 1200
    assert err.counts[("sq_responses.csv", "SQ06", "out_of_range")] == 60
    assert err.n_problems == 1260
    assert sum(p.column == "SQ05" for p in err.problems) == STORED_PER_GROUP
    assert sum(p.column == "SQ06" for p in err.problems) == 60
    text = str(err)
    assert "... and 1150 more rows with out_of_range in column 'SQ05' (1200 in all)" in text
    assert "... and 10 more rows with out_of_range in column 'SQ06' (60 in all)" in text
    assert text.count("column 'SQ05'") == 51
    assert "1260 problem(s) in 1 file(s)" in text


def test_k_anonymity_argument(tmp_path, vera, sq):
    folder, _ = assemble(tmp_path, "k_anonymity")
    load_tables(folder, vera, sq, k_anonymity=1)  # 1 switches the check off
    for bad in (0, -1, 2.5, True, "5"):
        with pytest.raises(ValueError, match="k_anonymity must be a whole number >= 1"):
            load_tables(VALID, vera, sq, k_anonymity=bad)


def test_folder_and_instrument_arguments(tmp_path, vera, sq):
    with pytest.raises(FileNotFoundError, match="is not a folder"):
        load_tables(tmp_path / "nowhere", vera, sq)
    with pytest.raises(ValueError, match="vera must be an SPJInstrument"):
        load_tables(VALID, sq, sq)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="sq must be a Questionnaire"):
        load_tables(VALID, vera, vera)  # type: ignore[arg-type]


def test_missing_table_names_a_near_miss(tmp_path, vera, sq):
    for f in VALID.iterdir():
        shutil.copy(f, tmp_path / f.name)
    (tmp_path / "cases.csv").rename(tmp_path / "cases.xlsx")
    with pytest.raises(ContractError) as exc:
        load_tables(tmp_path, vera, sq)
    (p,) = exc.value.problems
    assert p.rule == "missing_table" and "found cases.xlsx" in p.expected


def test_legacy_instrument_uses_its_own_columns(tmp_path, sq):
    """The columns come from the instrument: VERA-2 data fail VERA-2R and pass VERA-2."""
    vera2 = load_instrument(ROOT / "instruments" / "vera2.yaml")
    for f in VALID.iterdir():
        shutil.copy(f, tmp_path / f.name)
    header = ["case_id", "rater_id", *vera2.indicators, vera2.summary_column]
    with open(tmp_path / "vera_ratings.csv", "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(header)
        for i, r in enumerate(read_rows("cases.csv")):
            w.writerow([r["case_id"], "RTR-A", *(["M"] * len(vera2.indicators)), "h"])
    got = load_tables(tmp_path, vera2, sq)
    assert got.vera_ratings.shape == (12, 5 + 31 + 1)
    assert (got.vera_ratings["summary_risk"] == 3).all()
    assert (got.vera_ratings["occasion"] == 1).all() and (got.vera_ratings["role"] == "independent").all()


# ---------------------------------------------------------------------------------------------
# identifier look-alikes


@pytest.mark.parametrize("name", [
    "name", "Name", "first_name", "firstName", "LastName", "surname", "full name", "rater_name",
    "dob", "DOB", "date_of_birth", "DateOfBirth", "birth_year", "birthdate",
    "address", "address_line1", "street", "postcode", "post_code", "zip", "ZipCode",
    "phone", "tel", "telephone_no", "mobile", "phone_number", "email", "e-mail", "EmailAddress",
    "national_id", "NationalID", "nin", "ssn", "passport", "passport_no", "prisoner_number",
    "inmate_id", "id_number", "notes", "Note", "comments", "remarks", "free_text", "freetext",
])
def test_identifier_column_names(name):
    assert _is_identifier_name(name)


@pytest.mark.parametrize("name", ["region", "BA01", "score", "site_code", "cohort", "wave", "risk",
                                  "language_code", "occasion_2", "summary", "rating_date"])
def test_ordinary_column_names(name):
    assert not _is_identifier_name(name)


@pytest.mark.parametrize("value, kind", [
    ("1985-03-02", "date"), ("1985/3/2", "date"), ("02/03/1985", "date"), ("2.3.85", "date"),
    ("31-12-1999", "date"), ("1985-03-02T10:15:00", "date"), ("2 March 1985", "date"),
    ("March 2, 1985", "date"), ("02-Mar-1985", "date"),
    ("someone@example.org", "e-mail address"), ("contact: a.b@mail.co.uk", "e-mail address"),
    ("+63 917 123 4567", "telephone number"), ("+639171234567", "telephone number"),
    ("(02) 8123 4567", "telephone number"), ("0917 123 4567", "telephone number"),
    ("020-7946-0958", "telephone number"),
])
def test_identifier_values(value, kind):
    assert _identifier_kind(value) == kind


@pytest.mark.parametrize("value", ["18-24", "45+", "PSN-001", "PH-1", "3.5", "-6", "1234567", "1.0",
                                   "C-2023-01", "moderate", "separatist", "12/40", "", "NR",
                                   "2021-13-45", "555-1234"])
def test_ordinary_values(value):
    assert _identifier_kind(value) is None


# ---------------------------------------------------------------------------------------------
# Problem and ContractError


def test_problem_message_and_error_api():
    p = Problem("vera_ratings.csv", 7, "BA3", "X", "one of L, M, H", "unknown_code")
    assert p.message == "vera_ratings.csv, row 7, column 'BA3': found 'X'; expected one of L, M, H [unknown_code]"
    q = Problem("cases.csv", None, "site", None, "a column named 'site' (required)", "missing_column")
    assert q.message == "cases.csv, column 'site': expected a column named 'site' (required) [missing_column]"
    err = ContractError([p, q])
    assert isinstance(err, ValueError)
    assert [r["file"] for r in err.to_records()] == ["cases.csv", "vera_ratings.csv"]
    assert err.n_problems == 2 and err.counts[("vera_ratings.csv", "BA3", "unknown_code")] == 1
    assert "[unknown_code] " + RULES["unknown_code"] in str(err)


# ---------------------------------------------------------------------------------------------
# the data-quality summary


def test_quality_summary_counts(clean, vera, sq):
    s = quality_summary(clean, vera, sq)
    json.dumps(s, allow_nan=False)
    c = s["cases"]
    assert c["n"] == 12
    assert c["by_site"] == {"ID-2": 6, "PH-1": 6}
    assert c["by_sex"] == {"(blank)": 6, "M": 6}
    assert c["by_age_band"] == {"(blank)": 12}
    assert c["by_ideology"] == {"(blank)": 6, "jihadist": 6}
    assert c["site_x_sex"] == {"ID-2": {"(blank)": 6}, "PH-1": {"M": 6}}
    # one rater count everywhere: 3 keys rate independently, 1 signs only a consensus form
    assert (s["vera_ratings"]["n_raters"], s["vera_ratings"]["n_raters_independent"],
            s["vera_ratings"]["n_consensus_teams"]) == (4, 3, 1)
    v = s["vera_ratings"]
    assert (v["n_forms"], v["n_cases"], v["n_raters"]) == (22, 12, 4)
    assert v["by_occasion"] == {"1": 21, "2": 1}
    assert v["by_role"] == {"consensus": 1, "independent": 21}
    # keys sorted: RTR-A (8 forms + 1 on occasion 2), RTR-B, RTR-C, TEAM-1
    assert v["by_rater"] == {"rater 1": 9, "rater 2": 6, "rater 3": 6, "rater 4": 1}
    assert v["cases_by_site"] == {"ID-2": 6, "PH-1": 6}
    nr = v["not_rated"]
    assert nr["indicators"]["BA1"] == pytest.approx(3 / 22, abs=1e-15)
    assert nr["indicators"]["P6"] == pytest.approx(1 / 22, abs=1e-15)
    assert nr["indicators"]["BA2"] == 0.0
    assert nr["additional"]["MD5"] == pytest.approx(5 / 22, abs=1e-15)
    assert nr["summary"] == pytest.approx(1 / 22, abs=1e-15)
    assert nr["overall"]["indicators"] == pytest.approx(4 / (22 * 34), abs=1e-15)
    assert nr["overall"]["additional"] == pytest.approx(5 / (22 * 11), abs=1e-15)
    assert nr["flagged"] == ["BA1", "MD5"]
    q = s["sq_responses"]
    assert (q["n"], q["n_cases"]) == (13, 12)
    assert q["by_occasion"] == {"1": 12, "2": 1}
    assert q["by_language"] == {"en": "<5", "id": "*", "tl": 7}
    assert q["by_site"] == {"ID-2": 6, "PH-1": 7}
    assert q["missing"]["items"]["SQ01"] == pytest.approx(2 / 13, abs=1e-15)
    assert q["missing"]["items"]["SQ33"] == pytest.approx(1 / 13, abs=1e-15)
    assert q["missing"]["overall"] == pytest.approx(3 / (13 * 66), abs=1e-15)
    assert q["missing"]["flagged"] == ["SQ01"]
    o = s["outcomes"]["by_outcome"]
    assert s["outcomes"]["n_rows"] == 24
    # 2 and 4 events of 12: shown as <5, and the base rate, which with n gives the count back, withheld
    assert (o["extremist"]["n"], o["extremist"]["events"], o["extremist"]["base_rate"]) == (12, "<5", None)
    assert (o["any"]["n"], o["any"]["events"], o["any"]["base_rate"]) == (12, "<5", None)
    # extremist: days 400, 1491, 1521, 1551, 1200, 1611, ..., 1791 (1461 + 30 i for the others)
    ext = sorted([400, 1200] + [1461 + 30 * i for i in range(12) if i not in (0, 4)])
    fu = o["extremist"]["follow_up_years"]
    assert fu["median"] == pytest.approx((ext[5] + ext[6]) / 2 / 365.25, abs=1e-12)
    assert fu["min"] == pytest.approx(400 / 365.25, abs=1e-12)
    assert fu["max"] == pytest.approx(1791 / 365.25, abs=1e-12)
    anyfu = o["any"]["follow_up_years"]
    assert anyfu["min"] == pytest.approx(90 / 365.25, abs=1e-12)
    assert anyfu["max"] == pytest.approx(2000 / 365.25, abs=1e-12)


def test_quality_summary_rating_design(clean, vera, sq):
    d = quality_summary(clean, vera, sq)["rating_design"]
    # independent ratings of occasion 1: RTR-A cases 1-8, RTR-B cases 1-6, RTR-C cases 7-12
    assert d["design"] == "incomplete (partially crossed)"
    assert (d["n_targets"], d["n_raters"], d["n_ratings"]) == (12, 3, 20)
    assert (d["ratings_per_target_min"], d["ratings_per_target_median"], d["ratings_per_target_max"]) == (1, 2.0, 2)
    assert d["n_targets_multi_rated"] == 8
    assert d["fully_crossed"] is False
    assert (d["n_groups"], d["raters_nested_in_group"]) == (2, False)
    assert (d["block_n_raters"], d["block_n_targets"]) == (2, 6)
    assert d["block_raters"] == ["rater 1", "rater 2"]
    assert "block_target_keys" not in d and "block_rater_keys" not in d


def test_quality_summary_has_no_keys_and_suppresses_small_cells(clean, vera, sq):
    s = quality_summary(clean, vera, sq, k_anonymity=7)
    dumped = json.dumps(s)
    keys = set(clean.cases["case_id"]) | set(clean.vera_ratings["rater_id"])
    assert keys and not any(k in dumped for k in keys)
    assert "PSN" not in dumped and "RTR" not in dumped and "TEAM" not in dumped
    assert s["cases"]["n"] == 12
    # two sites of 6 under k = 7 with the total 12 printed: both would be 6, so the breakdown is withheld
    assert set(s["cases"]["by_site"]) == {"withheld"}
    assert set(s["vera_ratings"]["cases_by_site"]) == {"withheld"}
    assert s["cases"]["site_x_sex"] == {"ID-2": {"(blank)": "<7", "M": "*"}, "PH-1": {"(blank)": "*", "M": "<7"}}
    assert s["sq_responses"]["by_site"] == {"ID-2": "<7", "PH-1": "*"}
    assert s["sq_responses"]["by_language"] == {"en": "<7", "id": "<7", "tl": 7}
    assert s["k_anonymity"] == 7


def test_quality_summary_design_not_estimable(clean, vera, sq):
    ratings = clean.vera_ratings.assign(role=pd.array(["consensus"] * 22, dtype="string"))
    s = quality_summary(CleanTables(clean.cases, ratings, clean.sq_responses, clean.outcomes), vera, sq)
    assert s["rating_design"]["not_estimable"].startswith("not estimable: no ratings")


# ---------------------------------------------------------------------------------------------
# exports from spreadsheets and statistics packages (the corpus holds one folder per case; these
# pin the finer points)


@pytest.mark.parametrize("text, sep, expected", [
    ("1234", ",", (None, 1234)), ("-5", ",", (None, -5)), ("\u22125", ",", (None, -5)),
    ("3.0", ",", (None, 3)), ("3.", ",", (None, 3)), ("3,0", ";", (None, 3)), ("3,00", ",", (None, 3)),
    ("3.5", ",", ("not_whole_number", None)), ("3,5", ";", ("not_whole_number", None)),
    # one ',' or '.' before three digits: decided by the file's separator, else ambiguous
    ("1,234", ",", (None, 1234)), ("1.000", ",", (None, 1)), ("1.234", ",", ("not_whole_number", None)),
    ("1,234", ";", ("thousands_separator", None)), ("1.234", ";", ("thousands_separator", None)),
    ("1.000", "\t", ("thousands_separator", None)), ("0.000", ";", (None, 0)),
    ("0,500", ";", ("not_whole_number", None)),
    # several groups, or both separators: unambiguous
    ("1,234,567", ";", (None, 1234567)), ("1.234.567", ",", (None, 1234567)), ("1.234,0", ";", (None, 1234)),
    ("1,234.00", ";", (None, 1234)), ("1,234.5", ",", ("not_whole_number", None)),
    ("1,23,456", ",", ("not_whole_number", None)), ("x", ",", ("not_whole_number", None)),
    ("", ",", ("not_whole_number", None)),
])
def test_whole_number_grammar(text, sep, expected):
    assert _whole(text, sep) == expected


def copy_valid(folder: Path) -> None:
    for f in VALID.iterdir():
        shutil.copy(f, folder / f.name)


def write_rows(path: Path, rows: list[list[str]], sep: str = ",") -> None:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh, delimiter=sep, lineterminator="\n").writerows(rows)


def test_wrong_instrument_the_other_way_and_with_explicit_alternatives(tmp_path, sq, vera):
    vera2 = load_instrument(ROOT / "instruments" / "vera2.yaml")
    copy_valid(tmp_path)   # VERA-2R ratings, VERA-2 configured: the sibling vera2r.yaml is named
    with pytest.raises(ContractError) as exc:
        load_tables(tmp_path, vera2, sq)
    (p,) = exc.value.problems
    assert p.rule == "wrong_instrument" and p.value == "the 34 indicator columns of VERA-2R (BA1..P6)"
    assert "set instruments.vera: instruments/vera2r.yaml in params.yaml" in p.expected
    assert "instruments.vera: instruments/vera2.yaml" not in p.expected.split("these columns")[1]
    # an explicit list replaces the folder; with none, every column is listed as before
    with pytest.raises(ContractError) as exc:
        load_tables(tmp_path, vera2, sq, alternatives=[ROOT / "instruments" / "vera2r.yaml"])
    assert [q.rule for q in exc.value.problems] == ["wrong_instrument"]
    with pytest.raises(ContractError) as exc:
        load_tables(tmp_path, vera2, sq, alternatives=[])
    rules = Counter(q.rule for q in exc.value.problems)
    assert set(rules) == {"missing_column", "unknown_column"} and rules["unknown_column"] > 20
    # an instrument given by a relative path: the setting is written the same way
    rel = SPJInstrumentAt(vera2, "instruments/vera2.yaml")
    with pytest.raises(ContractError) as exc:
        load_tables(tmp_path, rel, sq, alternatives=[vera])
    assert "these columns are VERA-2R's (instruments/vera2r.yaml)" in exc.value.problems[0].expected


def SPJInstrumentAt(inst, path: str):
    import dataclasses
    return dataclasses.replace(inst, path=path)


def test_wrong_instrument_keeps_the_other_problems(tmp_path, vera, sq):
    copy_valid(tmp_path)
    vera2 = load_instrument(ROOT / "instruments" / "vera2.yaml")
    rows = read_rows("vera_ratings.csv")
    header = ["case_id", "rater_id", "occasion", "region", *vera2.indicators, "summary_risk"]
    body = [[r["case_id"], r["rater_id"], r["occasion"], "North", *(["H"] * len(vera2.indicators)),
             r["summary_risk"]] for r in rows]
    body[3][4] = "Z"   # BA1 (shared by both versions) on row 5
    write_rows(tmp_path / "vera_ratings.csv", [header] + body)
    with pytest.raises(ContractError) as exc:
        load_tables(tmp_path, vera, sq)
    got = sorted((q.rule, q.column, q.row) for q in exc.value.problems)
    assert got == [("unknown_code", "BA1", 5), ("unknown_column", "region", None), ("wrong_instrument", None, None)]


def test_utf16_big_endian_and_codes_in_a_semicolon_file(tmp_path, clean, vera, sq):
    copy_valid(tmp_path)
    rows = list(csv.reader((VALID / "vera_ratings.csv").read_text(encoding="utf-8").splitlines()))
    for r in rows[1:]:   # numeric codes with a decimal comma, as a ';' locale writes them
        for j, v in enumerate(r):
            if v in ("0", "1", "2", "3") and j >= 5:
                r[j] = v + ",0"
    text = "\n".join(";".join(r) for r in rows) + "\n"
    (tmp_path / "vera_ratings.csv").write_bytes(text.encode("utf-16-be").join([b"\xfe\xff", b""]))
    got = load_tables(tmp_path, vera, sq)
    pd.testing.assert_frame_equal(got.vera_ratings, clean.vera_ratings)
    assert got.reading["vera_ratings.csv"] == ("read as UTF-16 (big-endian, from its byte-order mark)",
                                               "fields separated by ';'")


def test_header_with_two_separators_and_a_lone_title(tmp_path, vera, sq):
    copy_valid(tmp_path)
    (tmp_path / "cases.csv").write_text("id;site\tsex\nPSN-001;PH-1\tM\n", encoding="utf-8")
    (tmp_path / "outcomes.csv").write_text("Outcomes of 2024\nnothing here\n", encoding="utf-8")
    with pytest.raises(ContractError) as exc:
        load_tables(tmp_path, vera, sq)
    by_file = {q.file: q for q in exc.value.problems if q.file in ("cases.csv", "outcomes.csv")}
    assert by_file["cases.csv"].rule == "unparseable" and "one field separator" in by_file["cases.csv"].expected
    assert by_file["outcomes.csv"].rule == "unparseable" and by_file["outcomes.csv"].row == 1
    assert "holds a single cell" in by_file["outcomes.csv"].expected


def test_tab_text_with_another_name_and_a_workbook_named_parquet(tmp_path, vera, sq):
    copy_valid(tmp_path)
    (tmp_path / "outcomes.csv").rename(tmp_path / "outcomes.txt")
    (tmp_path / "cases.csv").unlink()
    (tmp_path / "cases.parquet").write_bytes(b"PK\x03\x04" + bytes(60))
    with pytest.raises(ContractError) as exc:
        load_tables(tmp_path, vera, sq)
    by_file = {q.file: q for q in exc.value.problems}
    assert by_file["outcomes.csv"].rule == "missing_table"
    assert "rename outcomes.txt to outcomes.csv" in by_file["outcomes.csv"].expected
    assert by_file["cases.parquet"].rule == "wrong_file_type"
    assert "saved with a .parquet name" in by_file["cases.parquet"].expected


def test_invisible_characters_in_parquet_count_for_k_anonymity(tmp_path, clean, vera, sq):
    copy_valid(tmp_path)
    cases = pd.read_csv(VALID / "cases.csv", dtype=str, keep_default_na=False)
    cases.loc[0, "site"] = "PH-1\u200b"      # would be a group of its own if not removed
    cases.loc[1, "case_id"] = "PSN-\u00a0002".replace("\u00a0", "\u2060")
    cases.to_parquet(tmp_path / "cases.parquet", index=False)
    (tmp_path / "cases.csv").unlink()
    got = load_tables(tmp_path, vera, sq)
    pd.testing.assert_frame_equal(got.cases, clean.cases)
    assert "in 2 cell(s)" in got.reading["cases.parquet"][0]


def test_excel_serial_window(tmp_path, vera, sq):
    copy_valid(tmp_path)
    rows = list(csv.reader((VALID / "outcomes.csv").read_text(encoding="utf-8").splitlines()))
    rows[1][3], rows[2][3], rows[3][3] = "18263", "18264", "73050"   # 1949-12-31, 1950-01-01, 2099-12-31
    write_rows(tmp_path / "outcomes.csv", rows)
    with pytest.raises(ContractError) as exc:
        load_tables(tmp_path, vera, sq)
    assert [(q.row, q.rule, q.value) for q in exc.value.problems] == [(3, "excel_date", "99999"),
                                                                        (4, "excel_date", "99999")]


def test_classic_mac_line_ends(tmp_path, clean, vera, sq):
    copy_valid(tmp_path)
    (tmp_path / "outcomes.csv").write_bytes((VALID / "outcomes.csv").read_bytes().replace(b"\n", b"\r"))
    got = load_tables(tmp_path, vera, sq)
    pd.testing.assert_frame_equal(got.outcomes, clean.outcomes)
    assert got.reading == {"outcomes.csv": ("line ends of a carriage return only (classic Mac) read as line breaks",)}
