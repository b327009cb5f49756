"""Writes the broken-input corpus: ``_valid/`` (a small battery that passes the data contract)
and one folder per fault holding only the file(s) that differ from ``_valid/`` plus
``expected.json``; ``_training/`` holds the optional rater-training tables, valid (trainee TRN-3
missed occasion 2), for the tests to add to ``_valid/`` (the problems ``validation.contract.load_tables`` must list, exactly).

Run from the project folder:  python tests/broken_inputs/_build.py
The output is committed; the tests read it and never run this script.

expected.json: {"description": ..., "remove": [files of _valid/ to leave out], "k_anonymity": k
(optional), "problems": [{"file", "row", "column", "value", "rule", "text"}], "notes": {file:
[fragments]} (optional)} where "text" is a fragment of the problem's expected-value text and
"notes" fragments of how a file was read (ContractError.notes, CleanTables.reading; exactly these
files have notes).

Some folders are exports that are *read*, not refused (spreadsheet and statistics-package quirks
whose intent is unambiguous): their expected.json has "reads_as_valid": true and no problems, and
the tables must load equal to those of _valid/.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import zipfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
VALID = HERE / "_valid"
TRAINING = HERE / "_training"   # the optional training tables, valid (to add to _valid/)


def _instrument(name: str) -> dict:
    return yaml.safe_load((ROOT / "instruments" / name).read_text(encoding="utf-8"))


VERA = _instrument("vera2r.yaml")
VERA2 = _instrument("vera2.yaml")
SQ = _instrument("sq.yaml")
INDICATORS = [i for d in VERA["domains"] for i in d["items"]]
ADDITIONAL = [i for g in VERA["additional"]["groups"] for i in g["items"]]
ITEMS = [i for s in SQ["scales"] for i in s["items"]]

CASES = [f"PSN-{i:03d}" for i in range(1, 13)]


# ---------------------------------------------------------------------------------------------
# the valid baseline


def baseline() -> dict[str, list[list[str]]]:
    cases = [["case_id", "site", "sex", "age_band", "ideology"]]
    for i, c in enumerate(CASES):
        if i < 6:
            cases.append([c, "PH-1", "M", "", ""])
        else:
            cases.append([c, "ID-2", "", "", "jihadist"])

    # rating forms: RTR-A rates cases 1-8, RTR-B cases 1-6, RTR-C cases 7-12 (occasion 1,
    # independent); TEAM-1 a consensus rating of case 1; RTR-A rates case 2 again on occasion 2
    forms = ([(c, "RTR-A", "", "", "") for c in CASES[:8]]
             + [(c, "RTR-B", "1", "independent", "0") for c in CASES[:6]]
             + [(c, "RTR-C", "1", "", "") for c in CASES[6:]]
             + [(CASES[0], "TEAM-1", "1", "consensus", "0"), (CASES[1], "RTR-A", "2", "independent", "6")])
    spell = {"L": ["L", "low", "1", "l"], "M": ["M", "moderate", "2", "m"], "H": ["H", "high", "3", "h"]}
    ratings = [["case_id", "rater_id", "occasion", "role", "months_since_first",
                *INDICATORS, *ADDITIONAL, "summary_risk"]]
    for f, (case, rater, occ, role, months) in enumerate(forms):
        row = [case, rater, occ, role, months]
        for j, item in enumerate(INDICATORS):
            code = "LMH"[(f + j) % 3]
            v = spell[code][(f * 7 + j) % 11 % 4] if (f * 7 + j) % 11 < 4 else code
            if item == "BA1" and f < 3:
                v = ""          # BA1 not rated on 3 of 22 forms
            if item == "P6" and f == 5:
                v = "NR"        # P6 not rated on 1 form
            row.append(v)
        for j, item in enumerate(ADDITIONAL):
            v = "01"[(f + j) % 2]
            if (f + j) % 5 == 0:
                v = {"0": "absent", "1": "Present"}[v]
            if item == "MD5" and f < 5:
                v = ""          # MD5 not rated on 5 of 22 forms
            row.append(v)
        summ = ["L", "M", "H", "high", "Moderate", "low"][f % 6]
        row.append("" if f == 21 else summ)
        ratings.append(row)

    sq = [["case_id", "occasion", "language", *ITEMS]]
    administrations = [(c, "1") for c in CASES] + [(CASES[1], "2")]
    for r, (case, occ) in enumerate(administrations):
        idx = CASES.index(case)
        lang = "tl" if idx < 6 else ("en" if idx == 11 else "id")
        row = [case, "" if r % 2 else occ, lang]
        for j, item in enumerate(ITEMS):
            v = str(1 + (r * 3 + j) % 7)
            if item == "SQ01" and r < 2:
                v = ""          # SQ01 missing on 2 of 13 administrations
            if item == "SQ33" and r == 3:
                v = ""
            if item == "SQ66" and r == 4:
                v = v + ".0"    # a whole number with a zero decimal part
            row.append(v)
        if occ == "2":
            row[1] = "2"
        sq.append(row)

    outcomes = [["case_id", "outcome", "event", "time_days"]]
    ext_events = {0: 400, 4: 1200}
    any_events = {0: 300, 4: 1100, 8: 90, 9: 2000}
    for i, c in enumerate(CASES):
        follow = 1461 + 30 * i
        outcomes.append([c, "extremist", "1" if i in ext_events else "0", str(ext_events.get(i, follow))])
    for i, c in enumerate(CASES):
        follow = 1461 + 30 * i
        outcomes.append([c, "any", "1" if i in any_events else "0", str(any_events.get(i, follow))])
    return {"cases.csv": cases, "vera_ratings.csv": ratings, "sq_responses.csv": sq, "outcomes.csv": outcomes}


def to_text(rows: list[list[str]], sep: str = ",", eol: str = "\n") -> str:
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=sep, lineterminator=eol)
    w.writerows(rows)
    return buf.getvalue()


def to_csv(rows: list[list[str]]) -> bytes:
    return to_text(rows).encode("utf-8")


def xlsx_bytes() -> bytes:
    """A tiny ZIP archive with the first part of an .xlsx (fixed time stamps: reproducible)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        info = zipfile.ZipInfo("[Content_Types].xml", date_time=(2024, 1, 1, 0, 0, 0))
        z.writestr(info, '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.'
                         'openxmlformats.org/package/2006/content-types"/>')
    return buf.getvalue()


def to_parquet(rows: list[list[str]], types: dict[str, pa.DataType] | None = None) -> bytes:
    header, body = rows[0], rows[1:]
    cols = {}
    for j, name in enumerate(header):
        vals = [r[j] for r in body]
        t = (types or {}).get(name)
        if t is not None and pa.types.is_integer(t):
            cols[name] = pa.array([None if v == "" else int(v) for v in vals], type=t)
        else:
            cols[name] = pa.array([None if v == "" else v for v in vals], type=pa.string())
    buf = io.BytesIO()
    pq.write_table(pa.table(cols), buf)
    return buf.getvalue()


# ---------------------------------------------------------------------------------------------
# the faults

def copy(rows: list[list[str]]) -> list[list[str]]:
    return [list(r) for r in rows]


def edit(rows: list[list[str]], row: int, column: str, value: str) -> list[list[str]]:
    """Set the cell at spreadsheet ``row`` (header = 1) of ``column``."""
    rows[row - 1][rows[0].index(column)] = value
    return rows


def drop_column(rows: list[list[str]], column: str) -> list[list[str]]:
    j = rows[0].index(column)
    return [r[:j] + r[j + 1:] for r in rows]


def add_column(rows: list[list[str]], column: str, values: list[str]) -> list[list[str]]:
    return [rows[0] + [column]] + [r + [v] for r, v in zip(rows[1:], values)]


def P(file: str, row: int | None, column: str | None, value: str | None, rule: str, text: str) -> dict:
    return {"file": file, "row": row, "column": column, "value": value, "rule": rule, "text": text}


C, V, S, O = "cases.csv", "vera_ratings.csv", "sq_responses.csv", "outcomes.csv"
TR, VK = "training_ratings.csv", "vignette_key.csv"


def training() -> dict[str, list[list[str]]]:
    """The optional rater-training tables, valid: four trainees (TRN-4 in the control arm) rate two
    parallel sets of two vignettes, set A before and B after or the reverse; TRN-3 missed occasion 2."""
    vignettes = [("VIG-A1", "A"), ("VIG-A2", "A"), ("VIG-B1", "B"), ("VIG-B2", "B")]
    rating = [*INDICATORS, *ADDITIONAL, "summary_risk"]
    key = [["vignette_id", "vignette_set", *rating]]
    for v, (vid, vset) in enumerate(vignettes):
        key.append([vid, vset] + ["LMH"[(v + j) % 3] for j in range(len(INDICATORS))]
                   + ["01"[(v + j) % 2] for j in range(len(ADDITIONAL))] + ["LMH"[v % 3]])
    ratings = [["trainee_id", "vignette_id", "occasion", "vignette_set", "arm", *rating]]
    for t, (trainee, arm) in enumerate([("TRN-1", "trained"), ("TRN-2", "trained"), ("TRN-3", "trained"),
                                        ("TRN-4", "control")]):
        first, second = ("A", "B") if t % 2 == 0 else ("B", "A")
        for occ, vset in (("1", first), ("2", second)):
            if trainee == "TRN-3" and occ == "2":
                continue
            for v, (vid, s) in enumerate(vignettes):
                if s != vset:
                    continue
                ratings.append([trainee, vid, occ, vset, arm]
                               + ["LMH"[(v + j + t * (j % 5 == 0)) % 3] for j in range(len(INDICATORS))]
                               + ["01"[(v + j) % 2] for j in range(len(ADDITIONAL))] + ["LMH"[(v + t) % 3]])
    return {TR: ratings, VK: key}


def faults(base: dict[str, list[list[str]]]) -> list[dict]:
    b = {k: copy(v) for k, v in base.items()}
    F: list[dict] = []

    def add(name: str, description: str, files: dict, problems: list[dict], remove=(), k=None,
            notes: dict | None = None):
        F.append({"name": name, "description": description, "files": files, "remove": list(remove),
                  "k": k, "problems": problems, "notes": notes or {}})

    def read(name: str, description: str, files: dict, notes: dict | None = None):
        """An export that is read: the tables equal those of _valid/."""
        F.append({"name": name, "description": description, "files": files, "remove": [],
                  "k": None, "problems": [], "notes": notes or {}, "reads_as_valid": True})

    # --- files ---------------------------------------------------------------------------
    add("missing_table", "outcomes is in neither format", {},
        [P(O, None, None, None, "missing_table", "outcomes.csv or outcomes.parquet")], remove=[O])
    add("both_formats", "cases is there as CSV and as Parquet", {"cases.parquet": to_parquet(b[C])},
        [P(C, None, None, "cases.csv, cases.parquet", "both_formats", "exactly one of cases.csv or cases.parquet")])
    dos = to_csv(edit(edit(copy(b[C]), 5, "site", "Zürich"), 9, "site", "Zürich")).decode("utf-8")
    dos_bytes = dos.encode("cp437")            # DOS code page 437: ü is 0x81, undefined in cp1252
    off1 = dos_bytes.index(b"Z\x81") + 1
    off2 = dos_bytes.index(b"Z\x81", off1) + 1
    add("not_utf8", "cases saved in DOS code page 437 (site 'Zürich' on rows 5 and 9): byte 0x81 is "
        "neither UTF-8 nor Windows-1252, so nothing is guessed", {C: dos_bytes},
        [P(C, 5, None, "\\x81", "not_utf8", f"byte offset {off1} of the file, on line 5, is not UTF-8, "
           "and the file is not Windows-1252 (cp1252) either"),
         P(C, 9, None, "\\x81", "not_utf8", f"byte offset {off2}")])
    accents = edit(edit(copy(b[C]), 5, "ideology", "séparatiste"), 9, "ideology", "jihadisté")
    add("cp1252_accents", "cases saved from Excel as 'CSV (comma delimited)' in Windows-1252, with "
        "two accented (French) ideology codes: the file is read as cp1252 (the error says so), and "
        "the codes are refused as codes, shown as written",
        {C: to_text(accents).encode("cp1252")},
        [P(C, 5, "ideology", "séparatiste", "unknown_code", "jihadist, right-wing, left-wing, separatist"),
         P(C, 9, "ideology", "jihadisté", "unknown_code", "jihadist, right-wing, left-wing, separatist"),
         P(C, 5, "site, sex, age_band, ideology", "site=PH-1, sex=M, age_band=(blank), ideology=séparatiste",
           "k_anonymity", "shared by 1"),
         P(C, 9, "site, sex, age_band, ideology", "site=ID-2, sex=(blank), age_band=(blank), ideology=jihadisté",
           "k_anonymity", "shared by 1")],
        notes={C: ["Windows-1252 (cp1252)"]})
    mixed = to_csv(edit(copy(b[C]), 5, "ideology", "séparatiste")).split(b"\n")
    mixed[8] = mixed[8].replace(b"jihadist", "jihadisté".encode("cp1252"))
    mixed_bytes = b"\n".join(mixed)
    add("mixed_encoding", "cases edited in two programs: row 5 holds 'é' in UTF-8, row 9 in Windows-1252; "
        "a mixture is not guessed", {C: mixed_bytes},
        [P(C, 9, None, "\\xe9", "not_utf8", f"byte offset {mixed_bytes.index(bytes([0xE9]))}")])
    add("utf16_without_bom", "sq_responses saved as UTF-16 without a byte-order mark (NUL bytes)",
        {S: to_text(b[S]).encode("utf-16-le")},
        [P(S, None, None, "a NUL byte at byte offset 1", "wrong_file_type",
           "it is UTF-16 text without a byte-order mark")])
    add("xlsx_renamed", "cases.csv is an Excel workbook (.xlsx, a ZIP file) renamed to .csv",
        {C: xlsx_bytes()},
        [P(C, None, None, "first bytes 50 4B 03 04: an Excel workbook (.xlsx: a ZIP file)", "wrong_file_type",
           "this is an Excel workbook (.xlsx: a ZIP file) saved with a .csv name: open it in Excel and "
           "Save As 'CSV UTF-8 (comma delimited)'")])
    add("xls_renamed", "vera_ratings.csv is an old Excel workbook (.xls, an OLE file) renamed to .csv",
        {V: bytes.fromhex("D0CF11E0A1B11AE1") + bytes(504)},
        [P(V, None, None, "first bytes D0 CF 11 E0: an Excel 97-2003 workbook (.xls)", "wrong_file_type",
           "this is an Excel 97-2003 workbook (.xls) saved with a .csv name: open it in Excel and Save As")])
    add("sav_renamed", "sq_responses.csv is an SPSS data file (.sav) renamed to .csv",
        {S: b"$FL2@(#) IBM SPSS STATISTICS 64-bit Linux 29.0.0" + bytes(128)},
        [P(S, None, None, "first bytes 24 46 4C 32: an SPSS data file (.sav)", "wrong_file_type",
           "this is an SPSS data file (.sav) saved with a .csv name: open it in SPSS")])
    add("empty_table", "sq_responses has a header and no rows", {S: to_csv(b[S][:1])},
        [P(S, None, None, None, "empty_table", "the table has none")])
    add("empty_file", "outcomes.csv is a file of zero bytes", {O: b""},
        [P(O, None, None, None, "empty_table", "the file is empty")])
    add("blank_rows_only", "vera_ratings has a header and blank lines only", {V: to_csv(b[V][:1]) + b"\n\n"},
        [P(V, None, None, None, "empty_table", "the table has none")])
    add("ragged_rows", "outcomes: row 5 has an extra field, row 8 lacks one",
        {O: to_csv([r + ["x"] if i == 4 else (r[:-1] if i == 7 else r) for i, r in enumerate(b[O])])},
        [P(O, 5, None, "5 field(s)", "unparseable", "4 fields, as many as in the header"),
         P(O, 8, None, "3 field(s)", "unparseable", "4 fields, as many as in the header")])
    sq_comma = copy(b[S])
    sq_comma = [[v.replace(".", ",") for v in r] for r in sq_comma]   # the '3.0' of row 6 as '3,0'
    read("semicolon_separated", "cases and sq_responses exported by Excel in a locale with a decimal "
         "comma: ';' separates the fields, and the whole number '3.0' of sq_responses row 6 is '3,0'",
         {C: to_text(b[C], ";").encode("utf-8"), S: to_text(sq_comma, ";").encode("utf-8")},
         notes={C: ["separated by ';'"], S: ["separated by ';'"]})
    read("tab_separated", "outcomes exported as tab-separated text", {O: to_text(b[O], "\t").encode("utf-8")},
         notes={O: ["separated by tabs"]})
    read("utf8_bom", "cases saved by Excel as 'CSV UTF-8' (a byte-order mark, CRLF line ends)",
         {C: b"\xef\xbb\xbf" + to_text(b[C], eol="\r\n").encode("utf-8")})
    read("utf16_tab", "vera_ratings saved by Excel as 'Unicode Text': UTF-16 (little-endian, with a "
         "byte-order mark), tab-separated, CRLF line ends",
         {V: to_text(b[V], "\t", "\r\n").encode("utf-16")},
         notes={V: ["UTF-16 (little-endian", "separated by tabs"]})
    cp_nbsp = [[(v + "\u00a0" if v in ("PH-1", "M") else v) for v in r] for r in copy(b[C])]
    read("cp1252_nbsp", "cases saved as Windows-1252 with non-breaking spaces (byte 0xA0) after the "
         "site PH-1 and the sex M (pasted from a web page)", {C: to_text(cp_nbsp).encode("cp1252")},
         notes={C: ["Windows-1252 (cp1252)", "non-breaking spaces read as spaces, in 12 cell(s)"]})
    title = [["VERA-2R ratings export"] + [""] * (len(b[V][0]) - 1), [""] * len(b[V][0])]
    read("title_row", "vera_ratings with a title row (padded with commas) and a blank row above the header",
         {V: to_csv(title + copy(b[V]))},
         notes={V: ["2 title row(s) above the header skipped: the header is row 3"]})
    read("trailing_delimiter", "outcomes written with a ',' at the end of every line (an empty column "
         "without a name)", {O: to_csv([r + [""] for r in b[O]])},
         notes={O: ["1 empty column(s) without a name ignored"]})
    inv = copy(b[V])
    inv[0] = ["BA1\u200b" if h == "BA1" else h for h in inv[0]]      # zero-width space in a name
    edit(inv, 2, "case_id", "PSN-\u200b001")                        # zero-width space inside a key
    edit(inv, 3, "rater_id", "RTR\ufeff-A")                         # a byte-order mark inside a key
    edit(inv, 4, "BA2", "\u00a0" + inv[3][inv[0].index("BA2")] + "\u00a0")   # non-breaking spaces
    edit(inv, 5, "summary_risk", "\u200b" + inv[4][inv[0].index("summary_risk")])
    read("invisible_characters", "vera_ratings with zero-width spaces, a byte-order mark and "
         "non-breaking spaces inside codes, keys and a column name", {V: to_csv(inv)},
         notes={V: ["invisible characters", "in 4 cell(s)"]})
    dec = copy(b[V])
    for r in dec[1:]:
        for j, v in enumerate(r):
            if v.isdigit():
                r[j] = v + ".0"            # occasion, months, numeric codes as pandas writes floats
    out_dec = [b[O][0]] + [[c, o, e + ".0", t + ".0"] for c, o, e, t in b[O][1:]]
    read("codes_as_decimals", "numbers and numeric codes written with a zero decimal part (1.0), as "
         "pandas writes integer columns with gaps: occasion, months, indicator and additional codes, "
         "event and time_days", {V: to_csv(dec), O: to_csv(out_dec)})
    out_k = [b[O][0]] + [[c, o, e, f"{int(t):,}"] for c, o, e, t in b[O][1:]]
    read("thousands_comma_file", "outcomes with thousands separators in time_days ('1,491', quoted) in a "
         "comma-separated file: ',' cannot be a decimal comma there", {O: to_csv(out_k)})
    out_t = edit(edit(copy(b[O]), 3, "time_days", "1.491"), 4, "time_days", "1,521")
    add("thousands_separator", "outcomes separated by ';' with '1.491' and '1,521' in time_days: a "
        "thousands separator or a decimal one, ambiguous", {O: to_text(out_t, ";").encode("utf-8")},
        [P(O, 3, "time_days", "1.491", "thousands_separator", "write 1234, not 1,234 or 1.234"),
         P(O, 4, "time_days", "1,521", "thousands_separator", "may be a thousands separator or a decimal")],
        notes={O: ["separated by ';'"]})
    add("title_row_numbering", "outcomes with a title row: the header is row 2, and a fault on the "
        "7th line is reported on row 7",
        {O: to_csv([["Outcomes", "", "", ""]] + edit(copy(b[O]), 6, "time_days", "-30"))},
        [P(O, 7, "time_days", "-30", "out_of_range", "a whole number of days >= 0")],
        notes={O: ["1 title row(s) above the header skipped: the header is row 2"]})
    add("rows_above_header", "sq_responses with two rows above the header that are not a title "
        "(several filled cells each)",
        {S: to_csv([["Export of", "SQ responses"], ["Version", "placeholder"]] + copy(b[S]))},
        [P(S, 1, None, None, "unparseable", "row 3 looks like the header (it starts with 'case_id'), but "
           "row(s) 1, 2 above it hold values in several cells")])
    add("unnamed_column_values", "cases exported by pandas with its row index: a first column without "
        "a name that holds values", {C: to_csv([[""] + b[C][0]] + [[str(i)] + r for i, r in enumerate(b[C][1:])])},
        [P(C, None, "(column 1, no name)", None, "unknown_column", "column 1 has no name but holds values "
           "(from row 2 on)")])
    c_nb = copy(b[C])
    for r in range(2, 8):
        edit(c_nb, r, "site", "PH\u00a01")
    add("nbsp_inside_code", "a non-breaking space inside the site code is a space: refused like 'PH 1'",
        {C: to_csv(c_nb)},
        [P(C, r, "site", "PH 1", "bad_format", "1-32 characters") for r in range(2, 8)],
        notes={C: ["non-breaking spaces read as spaces, in 6 cell(s)"]})
    add("unicode_minus", "negative numbers written with the Unicode minus sign (U+2212): read as minus, "
        "then refused as negative",
        {V: to_csv(edit(copy(b[V]), 23, "months_since_first", "\u22126")),
         O: to_csv(edit(copy(b[O]), 6, "time_days", "\u221230"))},
        [P(V, 23, "months_since_first", "\u22126", "out_of_range", "a whole number of months >= 0"),
         P(O, 6, "time_days", "\u221230", "out_of_range", "a whole number of days >= 0")])
    add("excel_serial_dates", "dates formatted as numbers (Excel serial dates) in months_since_first "
        "and time_days: listed masked, like dates",
        {V: to_csv(edit(edit(copy(b[V]), 3, "months_since_first", "44270"), 4, "months_since_first", "44270.5")),
         O: to_csv(edit(copy(b[O]), 4, "time_days", "44301"))},
        [P(V, 3, "months_since_first", "99999", "excel_date", "looks like an Excel serial date"),
         P(V, 4, "months_since_first", "99999.9", "excel_date", "=DATEDIF(first_date, this_date"),
         P(O, 4, "time_days", "99999", "excel_date", "=end_date - start_date")])
    out_rows = edit(copy(b[O]), 4, "time_days", "-5")
    add("parquet_table", "outcomes as Parquet with integer columns, a negative time on row 4",
        {"outcomes.parquet": to_parquet(out_rows, {"event": pa.int8(), "time_days": pa.int32()})},
        [P("outcomes.parquet", 4, "time_days", "-5", "out_of_range", "a whole number of days >= 0")],
        remove=[O])

    # --- columns ---------------------------------------------------------------------------
    add("missing_column", "vera_ratings lacks summary_risk and cases lacks site",
        {V: to_csv(drop_column(b[V], "summary_risk")), C: to_csv(drop_column(b[C], "site"))},
        [P(V, None, "summary_risk", None, "missing_column", "a column named 'summary_risk'"),
         P(C, None, "site", None, "missing_column", "a column named 'site'")])
    add("unknown_column", "cases has a column the contract does not know",
        {C: to_csv(add_column(b[C], "region", ["North"] * 12))},
        [P(C, None, "region", None, "unknown_column", "one of the columns of cases")])
    add("typo_column", "vera_ratings spells BA1 as BA01",
        {V: to_csv([["BA01" if h == "BA1" else h for h in b[V][0]]] + b[V][1:])},
        [P(V, None, "BA01", None, "unknown_column", "did you mean 'BA1'?"),
         P(V, None, "BA1", None, "missing_column", "a column named 'BA1'")])
    add("duplicate_column", "cases has the column sex twice",
        {C: to_csv([r + [r[2]] for r in b[C]])},
        [P(C, None, "sex", None, "duplicate_column", "each column name once")])
    add("identifier_column_name", "cases has a column of names",
        {C: to_csv(add_column(b[C], "name", [f"Person {i}" for i in range(12)]))},
        [P(C, None, "name", None, "identifier_column", "must never leave the site")])
    add("identifier_columns", "date_of_birth in cases, firstName in sq_responses, phone_number in outcomes",
        {C: to_csv(add_column(b[C], "date_of_birth", [f"1985-03-{i + 1:02d}" for i in range(12)])),
         S: to_csv(add_column(b[S], "firstName", ["Ana"] * 13)),
         O: to_csv(add_column(b[O], "phone_number", ["+63 917 123 4567"] * 24))},
        [P(C, None, "date_of_birth", None, "identifier_column", "looks like a direct identifier"),
         P(S, None, "firstName", None, "identifier_column", "looks like a direct identifier"),
         P(O, None, "phone_number", None, "identifier_column", "looks like a direct identifier")])
    dates = [f"2019-0{i % 9 + 1}-15" if i in (2, 5, 9) else "" for i in range(12)]
    add("dates_in_unknown_column", "cases has an assessment_date column with three dates",
        {C: to_csv(add_column(b[C], "assessment_date", dates))},
        [P(C, None, "assessment_date", None, "unknown_column", "one of the columns of cases"),
         P(C, 4, "assessment_date", "9999-99-99", "identifier_value", "no date"),
         P(C, 7, "assessment_date", "9999-99-99", "identifier_value", "no date"),
         P(C, 11, "assessment_date", "9999-99-99", "identifier_value", "no date")])

    # --- identifier values -------------------------------------------------------------------
    v = edit(edit(copy(b[V]), 5, "months_since_first", "2021-03-15"), 11, "months_since_first", "0917 123 4567")
    add("identifier_values", "a date and a telephone number in months_since_first, an e-mail in language, "
        "a date in time_days",
        {V: to_csv(v), S: to_csv(edit(copy(b[S]), 4, "language", "someone@example.org")),
         O: to_csv(edit(copy(b[O]), 3, "time_days", "02/03/1985"))},
        [P(V, 5, "months_since_first", "9999-99-99", "identifier_value", "no date"),
         P(V, 11, "months_since_first", "9999 999 9999", "identifier_value", "no telephone number"),
         P(S, 4, "language", "xxxxxxx@xxxxxxx.xxx", "identifier_value", "no e-mail address"),
         P(O, 3, "time_days", "99/99/9999", "identifier_value", "no date")])

    # --- cases -----------------------------------------------------------------------------
    def rename_case(rows, old, new):
        return [[new if (j == 0 and x == old) else x for j, x in enumerate(r)] for r in rows]
    files = {}
    for f in (C, V, S, O):
        files[f] = to_csv(rename_case(rename_case(b[f], "PSN-003", "PSN 003"), "PSN-005", "PSN#005"))
    add("bad_case_id", "two case_ids with characters outside letters, digits, '-', '_' (in every table)", files,
        [P(C, 4, "case_id", "PSN 003", "bad_format", "1-64 characters from letters, digits"),
         P(C, 6, "case_id", "PSN#005", "bad_format", "1-64 characters from letters, digits")])
    add("duplicate_case_id", "PSN-004 twice in cases", {C: to_csv(b[C] + [["PSN-004", "PH-1", "M", "", ""]])},
        [P(C, 14, "case_id", "PSN-004", "duplicate_key", "already on row 5")])
    c = copy(b[C])
    for r in range(2, 8):
        edit(c, r, "site", "PH 1")
    add("bad_site", "site written with a space", {C: to_csv(c)},
        [P(C, r, "site", "PH 1", "bad_format", "1-32 characters") for r in range(2, 8)])
    c = edit(edit(edit(copy(b[C]), 2, "sex", "Q"), 8, "age_band", "18-25"), 9, "ideology", "Islamist")
    add("bad_case_attributes", "sex, age_band and ideology outside their codes: each is also a "
        "quasi-identifier combination of 1, and leaves the other four cases of ID-2 a combination of 4", {C: to_csv(c)},
        [P(C, 2, "sex", "Q", "unknown_code", "one of F, M, X, or blank"),
         P(C, 8, "age_band", "18-25", "unknown_code", "18-24, 25-34, 35-44, 45+"),
         P(C, 9, "ideology", "Islamist", "unknown_code", "jihadist, right-wing"),
         P(C, 2, "site, sex, age_band, ideology", "site=PH-1, sex=Q, age_band=(blank), ideology=(blank)",
           "k_anonymity", "shared by 1"),
         P(C, 8, "site, sex, age_band, ideology", "site=ID-2, sex=(blank), age_band=18-25, ideology=jihadist",
           "k_anonymity", "shared by 1"),
         P(C, 9, "site, sex, age_band, ideology", "site=ID-2, sex=(blank), age_band=(blank), ideology=Islamist",
           "k_anonymity", "shared by 1")]
        # the four other cases of ID-2 are left as a combination of 4
        + [P(C, r, "site, sex, age_band, ideology", "site=ID-2, sex=(blank), age_band=(blank), ideology=jihadist",
             "k_anonymity", "shared by 4") for r in range(10, 14)])
    add("k_anonymity", "one case of PH-1 is the only woman", {C: to_csv(edit(copy(b[C]), 3, "sex", "F"))},
        [P(C, 3, "site, sex, age_band, ideology", "site=PH-1, sex=F, age_band=(blank), ideology=(blank)",
           "k_anonymity", "shared by at least 5 cases (this one is shared by 1)")])
    add("k_anonymity_param", "k = 7: both combinations of the baseline (6 cases each) are too small", {},
        [P(C, r, "site, sex, age_band, ideology",
           ("site=PH-1, sex=M, age_band=(blank), ideology=(blank)" if r <= 7
            else "site=ID-2, sex=(blank), age_band=(blank), ideology=jihadist"),
           "k_anonymity", "shared by at least 7 cases (this one is shared by 6)") for r in range(2, 14)],
        k=7)

    # --- vera_ratings ------------------------------------------------------------------------
    add("unknown_indicator_code", "indicator codes outside the scale",
        {V: to_csv(edit(edit(copy(b[V]), 6, "BA3", "X"), 7, "SCI2", "very high"))},
        [P(V, 6, "BA3", "X", "unknown_code", "one of L, M, H, low, moderate, high, 1, 2, 3 (any case), or blank/NR"),
         P(V, 7, "SCI2", "very high", "unknown_code", "blank/NR (not rated)")])
    add("indicator_out_of_scale", "numeric indicator codes outside 1-3",
        {V: to_csv(edit(edit(copy(b[V]), 3, "HAC1", "4"), 8, "CM2", "0"))},
        [P(V, 3, "HAC1", "4", "unknown_code", "1, 2, 3 (any case)"),
         P(V, 8, "CM2", "0", "unknown_code", "1, 2, 3 (any case)")])
    add("bad_additional", "additional indicators outside 0/1/absent/present (NR is not a code here)",
        {V: to_csv(edit(edit(edit(copy(b[V]), 5, "CH1", "2"), 9, "PH3", "yes"), 10, "MD1", "NR"))},
        [P(V, 5, "CH1", "2", "unknown_code", "one of 0, 1, absent, present (any case), or blank (not rated)"),
         P(V, 9, "PH3", "yes", "unknown_code", "absent, present"),
         P(V, 10, "MD1", "NR", "unknown_code", "absent, present")])
    add("bad_summary", "summary codes outside L/M/H (NR and digits are not summary codes)",
        {V: to_csv(edit(edit(edit(copy(b[V]), 4, "summary_risk", "NR"), 6, "summary_risk", "very high"),
                        7, "summary_risk", "3"))},
        [P(V, 4, "summary_risk", "NR", "unknown_code", "one of L, M, H, low, moderate, high (any case), or blank"),
         P(V, 6, "summary_risk", "very high", "unknown_code", "only when no judgement was made"),
         P(V, 7, "summary_risk", "3", "unknown_code", "L, M, H")])
    add("bad_occasion", "occasion 0, a word and a fraction",
        {V: to_csv(edit(edit(edit(copy(b[V]), 3, "occasion", "0"), 5, "occasion", "first"), 6, "occasion", "1.5"))},
        [P(V, 3, "occasion", "0", "out_of_range", "a whole number >= 1"),
         P(V, 5, "occasion", "first", "not_whole_number", "a whole number >= 1"),
         P(V, 6, "occasion", "1.5", "not_whole_number", "a whole number >= 1")])
    add("bad_role", "role outside independent/consensus (exact spelling)",
        {V: to_csv(edit(edit(copy(b[V]), 10, "role", "self"), 11, "role", "Consensus"))},
        [P(V, 10, "role", "self", "unknown_code", "independent or consensus"),
         P(V, 11, "role", "Consensus", "unknown_code", "independent or consensus")])
    add("bad_months", "negative months and months as a word",
        {V: to_csv(edit(edit(copy(b[V]), 23, "months_since_first", "-6"), 12, "months_since_first", "six"))},
        [P(V, 23, "months_since_first", "-6", "out_of_range", "a whole number of months >= 0"),
         P(V, 12, "months_since_first", "six", "not_whole_number", "a whole number of months >= 0")])
    v2_cols = [i for d in VERA2["domains"] for i in d["items"]]
    v2 = [b[V][0][:5] + v2_cols + ["summary_risk"]]
    for r in b[V][1:]:
        row = dict(zip(b[V][0], r))
        v2.append(r[:5] + [row.get(i, "M") for i in v2_cols] + [row["summary_risk"]])
    add("wrong_instrument_version", "VERA-2 ratings (31 indicators: CI, HC, CM9, no additional "
        "indicators) while VERA-2R is configured: one problem naming VERA-2 and instruments.vera",
        {V: to_csv(v2)},
        [P(V, None, None, "the 31 indicator columns of VERA-2 (BA1..P6)", "wrong_instrument",
           "these columns are VERA-2's (instruments/vera2.yaml): set instruments.vera: "
           "instruments/vera2.yaml in params.yaml")])
    dup = list(b[V][3])
    dup[2] = "1"
    add("duplicate_rating_key", "row 24 repeats (PSN-003, RTR-A, occasion 1) of row 4 (occasion blank = 1)",
        {V: to_csv(b[V] + [dup])},
        [P(V, 24, "case_id, rater_id, occasion", "PSN-003, RTR-A, 1", "duplicate_key", "already on row 4")])
    add("rating_unknown_case", "ratings of cases not in cases (case_id is case-sensitive)",
        {V: to_csv(edit(edit(copy(b[V]), 7, "case_id", "PSN-999"), 9, "case_id", "psn-008"))},
        [P(V, 7, "case_id", "PSN-999", "unknown_case", "a case_id listed in cases.csv"),
         P(V, 9, "case_id", "psn-008", "unknown_case", "a case_id listed in cases.csv")])
    add("missing_values", "a blank rater_id, a blank outcome and an upper-case outcome name",
        {V: to_csv(edit(copy(b[V]), 11, "rater_id", "")),
         O: to_csv(edit(edit(copy(b[O]), 6, "outcome", ""), 7, "outcome", "Violent"))},
        [P(V, 11, "rater_id", "", "missing_value", "(required)"),
         P(O, 6, "outcome", "", "missing_value", "lower-case outcome name"),
         P(O, 7, "outcome", "Violent", "bad_format", "lower-case outcome name")])
    lines = to_csv(edit(edit(copy(b[V]), 6, "BA2", "Z"), 9, "rater_id", "RTR A")).split(b"\n")
    lines.insert(5, b"")
    add("blank_line_numbering", "a blank line after row 5 keeps its number: the faults are on rows 7 and 10",
        {V: b"\n".join(lines)},
        [P(V, 7, "BA2", "Z", "unknown_code", "blank/NR (not rated)"),
         P(V, 10, "rater_id", "RTR A", "bad_format", "1-64 characters")])

    # --- sq_responses ------------------------------------------------------------------------
    add("sq_out_of_range", "SQ responses outside 1-7",
        {S: to_csv(edit(edit(edit(copy(b[S]), 3, "SQ05", "8"), 6, "SQ10", "0"), 7, "SQ20", "-1"))},
        [P(S, 3, "SQ05", "8", "out_of_range", "a whole number from 1 to 7, or blank"),
         P(S, 6, "SQ10", "0", "out_of_range", "from 1 to 7"),
         P(S, 7, "SQ20", "-1", "out_of_range", "from 1 to 7")])
    s = edit(edit(edit(edit(copy(b[S]), 2, "SQ07", "3.5"), 4, "SQ08", "x"), 5, "SQ09", " 4 "), 8, "SQ11", "2.0")
    add("sq_non_integer", "SQ responses that are not whole numbers (' 4 ' and '2.0' are accepted)",
        {S: to_csv(s)},
        [P(S, 2, "SQ07", "3.5", "not_whole_number", "a whole number from 1 to 7"),
         P(S, 4, "SQ08", "x", "not_whole_number", "a whole number from 1 to 7")])
    add("bad_language", "languages that are not ISO 639 codes in lower case",
        {S: to_csv(edit(edit(edit(copy(b[S]), 2, "language", "English"), 3, "language", "EN"), 4, "language", "e"))},
        [P(S, 2, "language", "English", "bad_format", "2-3 lower-case letters"),
         P(S, 3, "language", "EN", "bad_format", "2-3 lower-case letters"),
         P(S, 4, "language", "e", "bad_format", "2-3 lower-case letters")])
    dup = list(b[S][5])
    dup[1] = ""
    add("duplicate_sq_key", "row 15 repeats (PSN-005, occasion 1) of row 6 (occasion blank = 1)",
        {S: to_csv(b[S] + [dup])},
        [P(S, 15, "case_id, occasion", "PSN-005, 1", "duplicate_key", "already on row 6")])

    # --- outcomes ----------------------------------------------------------------------------
    add("event_not_01", "event 2, yes and blank",
        {O: to_csv(edit(edit(edit(copy(b[O]), 3, "event", "2"), 4, "event", "yes"), 5, "event", ""))},
        [P(O, 3, "event", "2", "unknown_code", "0 (no event during follow-up) or 1 (event)"),
         P(O, 4, "event", "yes", "unknown_code", "0 (no event during follow-up) or 1"),
         P(O, 5, "event", "", "missing_value", "0 (no event during follow-up) or 1")])
    add("negative_time", "a negative follow-up time", {O: to_csv(edit(copy(b[O]), 6, "time_days", "-30"))},
        [P(O, 6, "time_days", "-30", "out_of_range", "a whole number of days >= 0")])
    add("missing_time", "a blank and an NA follow-up time",
        {O: to_csv(edit(edit(copy(b[O]), 7, "time_days", ""), 8, "time_days", "NA"))},
        [P(O, 7, "time_days", "", "missing_value", "missing follow-up times are refused"),
         P(O, 8, "time_days", "NA", "not_whole_number", "a whole number of days >= 0")])
    add("outcome_unknown_case", "an outcome of a case not in cases",
        {O: to_csv(edit(copy(b[O]), 10, "case_id", "PSN-013"))},
        [P(O, 10, "case_id", "PSN-013", "unknown_case", "a case_id listed in cases.csv")])
    add("duplicate_outcome_key", "(PSN-002, extremist) twice",
        {O: to_csv(b[O] + [["PSN-002", "extremist", "0", "1491"]])},
        [P(O, 26, "case_id, outcome", "PSN-002, extremist", "duplicate_key", "already on row 3")])

    # --- the optional rater-training tables ----------------------------------------------------
    t = training()
    add("training_without_key", "training ratings without the vignettes' key", {TR: to_csv(t[TR])},
        [P(VK, None, None, None, "missing_table", "training_ratings.csv is scored against the key")])
    add("training_unknown_vignette", "a rating of vignette VIG-C9, which has no key",
        {TR: to_csv(edit(copy(t[TR]), 4, "vignette_id", "VIG-C9")), VK: to_csv(t[VK])},
        [P(TR, 4, "vignette_id", "VIG-C9", "unknown_vignette", "a vignette_id listed in vignette_key.csv")])
    add("training_key_not_rated", "the key leaves BA1 of VIG-A2 not rated and VIG-B1 without a summary",
        {TR: to_csv(t[TR]), VK: to_csv(edit(edit(copy(t[VK]), 3, "BA1", "NR"), 4, "summary_risk", ""))},
        [P(VK, 3, "BA1", "NR", "key_not_rated", "the key of a vignette rates every indicator"),
         P(VK, 4, "summary_risk", "", "key_not_rated", "the key's rating, one of L, M, H")])
    add("training_vignette_sets", "VIG-A1 listed again in set B of the key; a rating of VIG-B1 as set A",
        {TR: to_csv(edit(copy(t[TR]), 4, "vignette_set", "A")),
         VK: to_csv(t[VK] + [["VIG-A1", "B"] + t[VK][1][2:]])},
        [P(VK, 6, "vignette_set", "B", "vignette_set", "vignette VIG-A1 is in set A on row 2"),
         P(TR, 4, "vignette_set", "A", "vignette_set", "vignette_set B, the set of vignette VIG-B1 in "
           "vignette_key.csv (row 4)")])
    add("training_bad_values", "occasion 0 and blank, arm 'yes', TRN-1 in the control arm on one row, "
        "a repeated (trainee, vignette, occasion)",
        {TR: to_csv(edit(edit(edit(edit(copy(t[TR]), 2, "occasion", "0"), 5, "occasion", ""),
                              6, "arm", "yes"), 3, "arm", "control") + [list(t[TR][9])]),
         VK: to_csv(t[VK])},
        [P(TR, 2, "occasion", "0", "out_of_range", "1 = before the training, 2 = after"),
         P(TR, 5, "occasion", "", "missing_value", "1 = before the training, 2 = after"),
         P(TR, 6, "arm", "yes", "unknown_code", "trained or control"),
         P(TR, 3, "arm", "control", "trainee_arm", "arm trained, as on row 2 of this trainee"),
         P(TR, 16, "trainee_id, vignette_id, occasion", "TRN-3, VIG-A1, 1", "duplicate_key", "already on row 10")])

    # --- several at once ---------------------------------------------------------------------
    add("several_faults", "faults in all four files, all listed",
        {C: to_csv(add_column(b[C], "notes", ["seen twice"] * 12)),
         V: to_csv(edit(edit(copy(b[V]), 5, "BA1", "4"), 20, "rater_id", "")),
         S: to_csv(edit(copy(b[S]), 8, "SQ12", "9")),
         O: to_csv(edit(copy(b[O]), 2, "time_days", "-1") + [["PSN-099", "any", "0", "100"]])},
        [P(C, None, "notes", None, "identifier_column", "must never leave the site"),
         P(V, 5, "BA1", "4", "unknown_code", "1, 2, 3 (any case)"),
         P(V, 20, "rater_id", "", "missing_value", "(required)"),
         P(S, 8, "SQ12", "9", "out_of_range", "from 1 to 7"),
         P(O, 2, "time_days", "-1", "out_of_range", "a whole number of days >= 0"),
         P(O, 26, "case_id", "PSN-099", "unknown_case", "a case_id listed in cases.csv")])
    return F


def main() -> None:
    base = baseline()
    for p in HERE.iterdir():
        if p.is_dir() and not p.name.startswith("__"):
            shutil.rmtree(p)
    VALID.mkdir()
    for name, rows in base.items():
        (VALID / name).write_bytes(to_csv(rows))
    TRAINING.mkdir()
    for name, rows in training().items():
        (TRAINING / name).write_bytes(to_csv(rows))
    names = set()
    n_read = 0
    for f in faults(base):
        assert f["name"] not in names, f["name"]
        names.add(f["name"])
        n_read += bool(f.get("reads_as_valid"))
        d = HERE / f["name"]
        d.mkdir()
        for fname, data in f["files"].items():
            (d / fname).write_bytes(data)
        spec = {"description": f["description"], "remove": f["remove"], "problems": f["problems"]}
        if f.get("reads_as_valid"):
            spec["reads_as_valid"] = True
        if f["notes"]:
            spec["notes"] = f["notes"]
        if f["k"] is not None:
            spec["k_anonymity"] = f["k"]
        (d / "expected.json").write_text(json.dumps(spec, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {VALID.relative_to(ROOT)} and {len(names)} folders ({len(names) - n_read} refused, "
          f"{n_read} read)")


if __name__ == "__main__":
    main()
