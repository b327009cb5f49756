"""The data contract: read the four tables of a site, refuse what breaks the contract, type the rest.

:func:`load_tables` reads ``cases``, ``vera_ratings``, ``sq_responses`` and ``outcomes`` from one
folder (each as ``NAME.csv`` or ``NAME.parquet``), and the optional rater-training tables
``training_ratings`` and ``vignette_key`` when they are there, checks every rule of
``docs/data_contract.md`` and returns :class:`CleanTables`, or raises one :class:`ContractError`
listing every problem found in every table (file, spreadsheet row, column, value found, value
expected, rule).

How the rules are checked:

* every cell is read as text (nothing is guessed: ``NR``, ``""`` and codes survive as written)
  and compared after stripping surrounding spaces;
* the cell rules of each column (codes, whole numbers, ranges, formats, required values) and the
  column rules (required columns present, no unknown column) are a :mod:`pandera` schema built from
  the instrument definitions and validated lazily, so all failures are collected at once;
* cross-table references, duplicate keys, identifier-like column names and cell values, and
  k-anonymity are plain pandas checks; so are the training tables' own cross-table rules (every
  rated vignette has a key, the key rates everything, a vignette belongs to one set, a trainee to
  one arm).

Each rule is evaluated once per *distinct* value of a column (``pandas.factorize``), so 100,000
cases with 150,000 rating forms x 51 columns, 100,000 SQ administrations and 200,000 outcome rows
validate in a few seconds.

Readings of the contract where it leaves room (documented here and in the tests):

* codes of the instrument scales (indicators, additional indicators, summary) match in any case
  (``h``, ``High``, ``PRESENT``); the case attributes (``sex``, ``age_band``, ``ideology``) and
  ``role`` must be written exactly as listed;
* a whole number may carry a zero decimal part (``3.0``, as spreadsheet and pandas exports write
  integer columns with gaps); ``3.5`` or ``x`` is not a whole number;
* rows whose cells are all blank (blank lines included) are skipped, and keep their number;
* duplicate keys compare values after defaults (a blank ``occasion`` is occasion 1);
* values that look like a date, an e-mail address or a telephone number are listed *masked*
  (digits as ``9``, letters as ``x``) so that the listing itself never carries them.

Exports from spreadsheets and statistics packages (see ``docs/data_contract.md``). Read, because
the intent is unambiguous (what was done is noted in the error text and the data-quality summary):

* the encoding: UTF-8 (with or without a byte-order mark), UTF-16 with a byte-order mark, and --
  when the bytes are not UTF-8 -- Windows-1252 (cp1252, a superset of Latin-1 for text); nothing
  else is guessed;
* the field separator, from the header row: ``,``, ``;``, tab or ``|``;
* title rows above the header: lines with at most one filled cell above a line whose first cell is
  a column of the table (rows keep their spreadsheet numbers);
* columns without a name that are entirely empty (a delimiter at the end of every line);
* invisible characters: zero-width spaces and joiners, byte-order marks and soft hyphens are
  removed, non-breaking spaces become spaces (so they are stripped at the ends, and refused inside
  a code like any space);
* numbers: the Unicode minus sign, a zero decimal part (``3.0``, ``3,0``; codes too: ``2.0`` is the
  rating code ``2``), and thousands separators where they cannot be a decimal separator (``1,234`` in
  a comma-separated file, ``1,234,567``, ``1.234,0``).

Refused with the fix: a workbook or data file saved under a ``.csv`` name (``.xlsx``, ``.xls``,
``.sav``, Parquet), text with NUL bytes (UTF-16 without a byte-order mark), bytes that are neither
UTF-8 nor cp1252 or a mixture of encodings, rows above the header that are not a title, a column
without a name that holds values, a number whose ``,`` or ``.`` may be a thousands or a decimal
separator (``1,234`` or ``1.000`` where fields are separated by ``;`` or tabs), a month or day
count that looks like an Excel serial date, and rating columns of another instrument definition
of the same folder (named, with the ``instruments.vera`` setting that reads them).
"""

from __future__ import annotations

import csv
import difflib
import io
import re
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd
import pandera.pandas as pa
import pyarrow as pyarrow
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from validation.battery.anonymity import rater_labels
from validation.battery.disclosure import (COMPLEMENTARY, Undisclosable, marker, protect_or_withhold, protect_table,
                                         withheld)
from validation.battery.design import describe_rating_design
from validation.battery.instruments import InstrumentError, Questionnaire, ResponseScale, SPJInstrument, load_instrument
from validation.stats.results import NotEstimable, to_dict

__all__ = [
    "TABLES",
    "OPTIONAL_TABLES",
    "RULES",
    "Problem",
    "ContractError",
    "CleanTables",
    "load_tables",
    "quality_summary",
]

TABLES = ("cases", "vera_ratings", "sq_responses", "outcomes")
#: read when present: trainees' ratings of case vignettes, and the vignettes' key (reference) ratings
OPTIONAL_TABLES = ("training_ratings", "vignette_key")
TRAINING_ARMS = ("trained", "control")
SEX = ("F", "M", "X")
AGE_BANDS = ("18-24", "25-34", "35-44", "45+")
IDEOLOGIES = ("jihadist", "right-wing", "left-wing", "separatist", "other")
ROLES = ("independent", "consensus")
QUASI_IDENTIFIERS = ("site", "sex", "age_band", "ideology")
NOT_RATED_FLAG = 0.10
LISTED_PER_GROUP = 50     # rows listed in str(ContractError) per (file, column, rule)
STORED_PER_GROUP = 1000   # problems kept in ContractError.problems per (file, column, rule)
INT32_MAX = 2**31 - 1

#: rule id -> one-line hint on how to fix it
RULES: dict[str, str] = {
    "missing_table": "put the table in the folder as NAME.csv (UTF-8, comma-separated, header row) "
                     "or NAME.parquet",
    "both_formats": "keep one file per table: delete either the .csv or the .parquet copy",
    "wrong_file_type": "export the table as CSV text (in Excel: File > Save As > 'CSV UTF-8 (comma "
                       "delimited)'; in SPSS: File > Save As > 'Comma delimited (*.csv)') or as Parquet: "
                       "renaming a workbook or data file to .csv does not convert it",
    "not_utf8": "save the file again as UTF-8 (in Excel: Save As > 'CSV UTF-8 (comma delimited)')",
    "unparseable": "export the table again as CSV (fields separated by commas, semicolons or tabs) with "
                   "the header as the first row and as many fields on every row as in the header",
    "empty_table": "the table has no data rows: export it again with its rows",
    "missing_column": "add the column with exactly this name (see docs/data_contract.md); optional "
                      "columns may be left out",
    "unknown_column": "rename the column to its name in the contract (check for typos) or delete it",
    "wrong_instrument": "set instruments.vera in params.yaml to the instrument definition the ratings were "
                        "made with (named in the problem), or export the ratings of the configured one",
    "duplicate_column": "keep one column of each name",
    "identifier_column": "delete the column: direct identifiers must never leave the site; keep only "
                         "the pseudonymous case_id",
    "identifier_value": "delete the value: dates, e-mail addresses and telephone numbers must never "
                        "leave the site (use months_since_first, not dates)",
    "missing_value": "fill in the value: the column is required on every row",
    "bad_format": "write the value in the format stated (letters, digits and the characters allowed only)",
    "unknown_code": "use one of the codes listed, or blank where blank is allowed",
    "not_whole_number": "write a whole number (e.g. 3): no decimals, words or units",
    "thousands_separator": "write whole numbers without a thousands separator (in Excel: Format Cells > "
                           "Number, untick 'Use 1000 Separator', then export again): where fields are "
                           "separated by ';' or tabs, a ',' or '.' before three digits may be a thousands "
                           "separator or a decimal comma or point",
    "excel_date": "the column counts months or days, not dates: a date formatted as a number shows as "
                  "its Excel serial number (days since 1900); replace the dates by the count the column "
                  "asks for and format the column as Number",
    "out_of_range": "correct the number into the range stated",
    "duplicate_key": "each key may occur once: delete the repeated row or correct its key",
    "unknown_case": "add the case to cases, or correct the case_id so that it matches cases exactly",
    "unknown_vignette": "add the vignette's key ratings to vignette_key, or correct the vignette_id so that "
                        "it matches vignette_key exactly",
    "key_not_rated": "fill in the key's rating: a vignette's key rates every indicator, additional "
                     "indicator and the summary judgement (blank or a not-rated code is no key)",
    "vignette_set": "a vignette belongs to one parallel set: correct vignette_set so that the vignette has "
                    "the same set in vignette_key and on every rating of it",
    "trainee_arm": "a trainee belongs to one arm: correct arm so that it is the same on every row of the "
                   "trainee",
    "k_anonymity": "coarsen a category (e.g. a wider age band) or blank sex, age_band or ideology for "
                   "these cases (local suppression); change no more than needed",
}


# ---------------------------------------------------------------------------------------------
# problems


@dataclass(frozen=True)
class Problem:
    """One breach of the contract.

    ``row`` is the spreadsheet row (header = 1, first data row = 2; Parquet rows are numbered the
    same way), ``None`` for a problem of the whole file or column. ``value`` is the text found
    (``""`` for blank; masked for identifier-like values), ``None`` when there is no cell.
    """

    file: str
    row: int | None
    column: str | None
    value: str | None
    expected: str
    rule: str

    @property
    def message(self) -> str:
        """One readable line: where, what was found, what was expected, and the rule id."""
        where = []
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(f"column '{self.column}'")
        loc = ", ".join(where) or "file"
        found = f"found '{self.value}'; " if self.value is not None else ""
        return f"{self.file}, {loc}: {found}expected {self.expected} [{self.rule}]"


def _table_order(file: str) -> tuple[int, str]:
    stem = file.split(".")[0]
    every = TABLES + OPTIONAL_TABLES
    return (every.index(stem) if stem in every else len(every), file)


class ContractError(ValueError):
    """The tables break the data contract.

    Attributes
    ----------
    problems : list of :class:`Problem`, in file order, then by row. At most ``STORED_PER_GROUP``
        (1000) are kept per (file, column, rule); ``counts`` holds the exact numbers.
    counts : dict mapping (file, column, rule) to the exact number of problems.
    n_problems : exact total number of problems.

    notes : dict mapping a file name to what was done to read it (an encoding other than UTF-8,
        the field separator, title rows skipped, ...), for files read in a way worth knowing.

    ``str()`` lists every problem grouped by file, then row (at most 50 rows per file, column and
    rule, then a "... and N more rows" line), then how the files were read (when any note), followed
    by a one-line hint for each rule broken.
    """

    def __init__(self, problems: Iterable[Problem], counts: Mapping[tuple, int] | None = None,
                 folder: str | Path | None = None, notes: Mapping[str, Sequence[str]] | None = None):
        probs = list(problems)
        seq = {id(p): i for i, p in enumerate(probs)}
        probs.sort(key=lambda p: (_table_order(p.file), p.row is not None, p.row or 0, seq[id(p)]))
        self.problems: list[Problem] = probs
        self.counts: dict[tuple, int] = (dict(counts) if counts is not None
                                         else dict(Counter((p.file, p.column, p.rule) for p in probs)))
        self.n_problems: int = int(sum(self.counts.values()))
        self.folder = None if folder is None else str(folder)
        self.notes: dict[str, list[str]] = {f: list(v) for f, v in (notes or {}).items() if v}
        super().__init__(self._render())

    def to_records(self) -> list[dict]:
        """The stored problems as plain dicts (file, row, column, value, expected, rule) for JSON."""
        return [asdict(p) for p in self.problems]

    def _render(self) -> str:
        files = sorted({k[0] for k in self.counts}, key=_table_order)
        where = f" in {self.folder}" if self.folder else ""
        lines = [f"The tables{where} break the data contract (docs/data_contract.md): "
                 f"{self.n_problems} problem(s) in {len(files)} file(s). "
                 "Rows are numbered as a spreadsheet shows them (header = row 1)."]
        for f in files:
            n_file = sum(v for k, v in self.counts.items() if k[0] == f)
            lines.append("")
            lines.append(f"{f}: {n_file} problem(s)")
            shown: Counter = Counter()
            for p in self.problems:
                if p.file != f:
                    continue
                g = (p.file, p.column, p.rule)
                shown[g] += 1
                if shown[g] <= LISTED_PER_GROUP:
                    lines.append("  " + p.message)
            for g, n in self.counts.items():
                if g[0] != f:
                    continue
                listed = min(shown[g], LISTED_PER_GROUP)
                if n > listed:
                    col = f" in column '{g[1]}'" if g[1] is not None else ""
                    lines.append(f"  ... and {n - listed} more rows with {g[2]}{col} ({n} in all)")
        if self.notes:
            lines.append("")
            lines.append("How the files were read:")
            for f in sorted(self.notes, key=_table_order):
                for note in self.notes[f]:
                    lines.append(f"  - {f}: {note}")
        rules = [r for r in RULES if any(k[2] == r for k in self.counts)]
        rules += sorted({k[2] for k in self.counts} - set(RULES))
        lines.append("")
        lines.append("How to fix:")
        for r in rules:
            lines.append(f"  [{r}] {RULES.get(r, 'see docs/data_contract.md')}")
        return "\n".join(lines)


class _Collector:
    """Collects problems, keeping at most STORED_PER_GROUP per (file, column, rule) and exact counts."""

    def __init__(self) -> None:
        self.items: list[Problem] = []
        self.counts: Counter = Counter()
        self.notes: dict[str, list[str]] = {}

    def note(self, file: str, text: str) -> None:
        """Record how a file was read (not a problem)."""
        self.notes.setdefault(file, []).append(text)

    def add(self, file: str, row: int | None, column: str | None, value: str | None,
            expected: str, rule: str) -> None:
        key = (file, column, rule)
        self.counts[key] += 1
        if self.counts[key] <= STORED_PER_GROUP:
            self.items.append(Problem(file, None if row is None else int(row), column,
                                      None if value is None else str(value), expected, rule))

    def add_rows(self, file: str, rows: Sequence[int], column: str | None, values: Sequence[Any],
                 expected: str | Sequence[str], rule: str) -> None:
        n = len(rows)
        if n == 0:
            return
        key = (file, column, rule)
        room = max(0, STORED_PER_GROUP - self.counts[key])
        self.counts[key] += n
        exp = [expected] * n if isinstance(expected, str) else list(expected)
        for r, v, e in list(zip(rows, values, exp))[:room]:
            self.items.append(Problem(file, int(r), column, None if v is None else str(v), e, rule))

    def __bool__(self) -> bool:
        return bool(self.counts)


@dataclass(frozen=True)
class CleanTables:
    """The four tables, typed as the contract says (see :func:`load_tables`), and the optional
    rater-training tables (``None`` when the folder has none).

    ``reading`` maps a file name to notes on how it was read, for files read in a way worth knowing
    (an encoding other than UTF-8, a separator other than ',', title rows skipped, empty unnamed
    columns ignored, invisible characters removed); files read plainly have no entry.
    """

    cases: pd.DataFrame
    vera_ratings: pd.DataFrame
    sq_responses: pd.DataFrame
    outcomes: pd.DataFrame
    reading: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    training_ratings: pd.DataFrame | None = None
    vignette_key: pd.DataFrame | None = None


# ---------------------------------------------------------------------------------------------
# column rules


_KEY = re.compile(r"[A-Za-z0-9_-]{1,64}")
_SITE = re.compile(r"[A-Za-z0-9_-]{1,32}")
_LANG = re.compile(r"[a-z]{2,3}")
_OUTCOME = re.compile(r"[a-z][a-z0-9_-]{0,63}")
_INT = re.compile(r"[+-]?[0-9]+")
_ONE_SEP = re.compile(r"([+-]?)([0-9]+)([.,])([0-9]*)")
_GROUPED = re.compile(r"([+-]?)([0-9]{1,3}(?:([.,])[0-9]{3})(?:\3[0-9]{3})*)(?:([.,])([0-9]*))?")
_DECIMAL = re.compile(r"[+-]?[0-9]+[.,][0-9]+")
_NUMERIC_START = re.compile(r"[+\-\u2212]?[0-9]")
# Excel serial numbers of the dates 1950-01-01 .. 2099-12-31: as a count of months (1,522+ years)
# or of follow-up days (50+ years) they are not credible, as a date shown as a number they are
EXCEL_SERIAL_MIN, EXCEL_SERIAL_MAX = 18264, 73050

Parsed = tuple[str | None, Any]   # (rule broken or None, typed value or None)


@dataclass(frozen=True)
class _Col:
    name: str
    required: bool                  # the column must be present
    parse: Callable[[str], Parsed]  # stripped text -> (rule broken, typed value)
    expected: str
    rules: tuple[str, ...]          # the rules parse can report, in check order
    dtype: str                      # clean dtype: "string", "Int8", "Int32", "int64", "Float64"
    extra: tuple[tuple[str, str], ...] = ()   # (rule, text added to ``expected`` for that rule)

    def expected_for(self, rule: str) -> str:
        more = dict(self.extra).get(rule)
        return f"{self.expected}; {more}" if more else self.expected


_THOUSANDS_TEXT = ("written without a thousands separator (with ';' or tabs between fields, a ',' or "
                   "'.' before three digits may be a thousands separator or a decimal comma or point: "
                   "write 1234, not 1,234 or 1.234)")


def _whole(s: str, sep: str) -> Parsed:
    """Read a stripped cell as a whole number: ``(None, n)``, else ``("not_whole_number", None)``
    or ``("thousands_separator", None)`` when a ',' or '.' may be a thousands or a decimal separator.

    The Unicode minus reads as '-'; a zero decimal part (``3.0``, ``3,00``) is a whole number. A
    single ',' or '.' before exactly three digits (``1,234``, ``1.000``) is a thousands separator
    or a decimal one: in a comma-separated file (where decimal commas are not written) ',' groups
    thousands and '.' is the decimal point; where fields are separated otherwise (';', tab, '|',
    which locales with a decimal comma use) it is ambiguous and refused. Several groups
    (``1,234,567``) or both separators (``1.234,0``) are unambiguous.
    """
    if "\u2212" in s:
        s = s.replace("\u2212", "-")
    if _INT.fullmatch(s):
        return None, int(s)
    m = _ONE_SEP.fullmatch(s)
    if m is not None:
        sign, ip, c, frac = m.groups()
        dec = int(sign + ip) if frac.strip("0") == "" else None
        grouped = len(ip) <= 3 and len(frac) == 3 and not ip.startswith("0")
        if grouped:
            if sep != ",":
                return "thousands_separator", None
            if c == ",":
                return None, int(sign + ip + frac)
        return (None, dec) if dec is not None else ("not_whole_number", None)
    m = _GROUPED.fullmatch(s)
    if m is not None:
        sign, intpart, g, d, frac = m.groups()
        if d != g:   # several groups, or a decimal separator other than the grouping one
            if d is not None and frac.strip("0") != "":
                return "not_whole_number", None
            return None, int(sign + intpart.replace(g, ""))
    return "not_whole_number", None


def _p_pattern(pattern: re.Pattern, required: bool) -> Callable[[str], Parsed]:
    def parse(s: str) -> Parsed:
        if s == "":
            return ("missing_value", None) if required else (None, None)
        return (None, s) if pattern.fullmatch(s) else ("bad_format", None)
    return parse


def _p_choice(options: Mapping[str, Any], *, fold_case: bool, blank: Parsed,
              sep: str = ",") -> Callable[[str], Parsed]:
    """Codes from ``options``; numeric codes (``1``) also match as numbers (``1.0``, ``1,0``)."""
    table = {(k.upper() if fold_case else k): v for k, v in options.items()}
    numeric = {int(k): v for k, v in table.items() if _INT.fullmatch(k)}

    def parse(s: str) -> Parsed:
        if s == "":
            return blank
        key = s.upper() if fold_case else s
        if key in table:
            return None, table[key]
        if numeric and _NUMERIC_START.match(s):
            rule, v = _whole(s, sep)
            if rule is None and v in numeric:
                return None, numeric[v]
        return "unknown_code", None
    return parse


def _p_whole(lo: int, hi: int, blank: Parsed, sep: str = ",", serial: bool = False) -> Callable[[str], Parsed]:
    def parse(s: str) -> Parsed:
        if s == "":
            return blank
        rule, v = _whole(s, sep)
        if serial:
            if v is None and rule == "not_whole_number" and _DECIMAL.fullmatch(s):
                f = float(s.replace(",", "."))   # a date and time shown as a number
                if EXCEL_SERIAL_MIN <= f < EXCEL_SERIAL_MAX + 1:
                    return "excel_date", None
            if v is not None and EXCEL_SERIAL_MIN <= v <= EXCEL_SERIAL_MAX:
                return "excel_date", None
        if rule is not None:
            return rule, None
        if v < lo or v > hi:
            return "out_of_range", None
        return None, v
    return parse


def _p_event(sep: str = ",") -> Callable[[str], Parsed]:
    def parse(s: str) -> Parsed:
        if s == "":
            return "missing_value", None
        rule, v = _whole(s, sep)
        if rule is not None or v not in (0, 1):
            return "unknown_code", None
        return None, v
    return parse


def _p_required_text(s: str) -> Parsed:
    return ("missing_value", None) if s == "" else (None, s)


def _scale_col(name: str, scale: ResponseScale, values: Mapping[str, Any], blank_meaning: str,
               dtype: str, sep: str = ",") -> _Col:
    """A column coded on an instrument scale: codes and aliases in any case; not-rated codes."""
    options: dict[str, Any] = {}
    for code in scale.codes:
        options[code] = values[code]
    for alias, code in scale.aliases.items():
        options[alias] = values[code]
    blank_ok = any(n.strip() == "" for n in scale.not_rated)
    for n in scale.not_rated:
        if n.strip():
            options[n.strip()] = None
    spellings = list(scale.codes) + [a for a in scale.aliases if a not in scale.codes]
    nr = [n.strip() for n in scale.not_rated if n.strip()]
    blank_txt = "blank" + "".join(f"/{n}" for n in nr)
    if blank_ok:
        expected = f"one of {', '.join(spellings)} (any case), or {blank_txt} ({blank_meaning})"
    else:
        nr_txt = f", or {'/'.join(nr)} ({blank_meaning})" if nr else ""
        expected = f"one of {', '.join(spellings)} (any case){nr_txt}"
    blank: Parsed = (None, None) if blank_ok else ("unknown_code", None)
    return _Col(name, True, _p_choice(options, fold_case=True, blank=blank, sep=sep), expected,
                ("unknown_code",), dtype)


def _int_dtype(values: Iterable[float]) -> str:
    vals = list(values)
    if all(float(v).is_integer() and -128 <= v <= 127 for v in vals):
        return "Int8"
    return "Float64"


_WHOLE_RULES = ("not_whole_number", "thousands_separator", "out_of_range")
_COUNT_RULES = ("not_whole_number", "thousands_separator", "excel_date", "out_of_range")
_EXCEL_DATE_TEXT = ("the value looks like an Excel serial date (a date shown as a number of days since "
                    "1900, here 1950-2099), and this column holds {what}, not dates: {fix}")


def _columns(table: str, vera: SPJInstrument, sq: Questionnaire, sep: str = ",") -> list[_Col]:
    """The contract's columns of a table, for these instruments (``sep``: the file's field
    separator, which decides whether a ',' or '.' before three digits is a thousands separator)."""
    thousands = (("thousands_separator", _THOUSANDS_TEXT),)
    case_ref = _Col("case_id", True, _p_required_text,
                    "the case_id of a case in cases (required)", ("missing_value",), "string")
    occasion = _Col("occasion", False, _p_whole(1, INT32_MAX, (None, 1), sep),
                    "a whole number >= 1, or blank (= 1)", _WHOLE_RULES, "int64", thousands)
    vignette_ref = _Col("vignette_id", True, _p_pattern(_KEY, True),
                        "a vignette key of 1-64 characters from letters, digits, '-' and '_' (required)",
                        ("missing_value", "bad_format"), "string")
    vignette_set = _Col("vignette_set", True, _p_pattern(_SITE, True),
                        "the vignette's parallel set, 1-32 characters from letters, digits, '-' and '_' "
                        "(e.g. A or B; required)", ("missing_value", "bad_format"), "string")
    if table == "cases":
        return [
            _Col("case_id", True, _p_pattern(_KEY, True),
                 "a pseudonymous key of 1-64 characters from letters, digits, '-' and '_' (required)",
                 ("missing_value", "bad_format"), "string"),
            _Col("site", True, _p_pattern(_SITE, True),
                 "a site code of 1-32 characters from letters, digits, '-' and '_' (required)",
                 ("missing_value", "bad_format"), "string"),
            _Col("sex", False, _p_choice({c: c for c in SEX}, fold_case=False, blank=(None, None)),
                 f"one of {', '.join(SEX)}, or blank", ("unknown_code",), "string"),
            _Col("age_band", False, _p_choice({c: c for c in AGE_BANDS}, fold_case=False, blank=(None, None)),
                 f"one of {', '.join(AGE_BANDS)}, or blank", ("unknown_code",), "string"),
            _Col("ideology", False, _p_choice({c: c for c in IDEOLOGIES}, fold_case=False, blank=(None, None)),
                 f"one of {', '.join(IDEOLOGIES)}, or blank", ("unknown_code",), "string"),
        ]
    if table == "vera_ratings":
        cols = [
            case_ref,
            _Col("rater_id", True, _p_pattern(_KEY, True),
                 "a pseudonymous rater key of 1-64 characters from letters, digits, '-' and '_' (required)",
                 ("missing_value", "bad_format"), "string"),
            occasion,
            _Col("role", False, _p_choice({r: r for r in ROLES}, fold_case=False, blank=(None, "independent")),
                 "independent or consensus, or blank (= independent)", ("unknown_code",), "string"),
            _Col("months_since_first", False, _p_whole(0, INT32_MAX, (None, None), sep, serial=True),
                 "a whole number of months >= 0, or blank", _COUNT_RULES, "Int32",
                 thousands + (("excel_date", _EXCEL_DATE_TEXT.format(
                     what="the number of months since the first assessment",
                     fix="write that number of months (in Excel: =DATEDIF(first_date, this_date, \"m\"), "
                         "formatted as Number)")),)),
        ]
        return cols + _rating_columns(vera, sep)
    if table == "training_ratings":
        return [
            _Col("trainee_id", True, _p_pattern(_KEY, True),
                 "a pseudonymous trainee key of 1-64 characters from letters, digits, '-' and '_' (required)",
                 ("missing_value", "bad_format"), "string"),
            vignette_ref,
            _Col("occasion", True, _p_whole(1, INT32_MAX, ("missing_value", None), sep),
                 "a whole number >= 1 (1 = before the training, 2 = after, more allowed; required)",
                 ("missing_value",) + _WHOLE_RULES, "int64", thousands),
            vignette_set,
            _Col("arm", False, _p_choice({a: a for a in TRAINING_ARMS}, fold_case=False,
                                         blank=("missing_value", None)),
                 f"{' or '.join(TRAINING_ARMS)} (required on every row when the column is there; leave the "
                 "column out when there is no control arm)", ("missing_value", "unknown_code"), "string"),
        ] + _rating_columns(vera, sep)
    if table == "vignette_key":
        return [vignette_ref, vignette_set] + _rating_columns(vera, sep)
    if table == "sq_responses":
        cols = [
            case_ref,
            occasion,
            _Col("language", False, _p_pattern(_LANG, False),
                 "an ISO 639 language code of 2-3 lower-case letters (e.g. en, tl, id, ar, fr), or blank",
                 ("bad_format",), "string"),
        ]
        lo, hi = sq.response_min, sq.response_max
        item_dtype = "Int8" if -128 <= lo and hi <= 127 else "Int32"
        for item in sq.items:
            cols.append(_Col(item, True, _p_whole(lo, hi, (None, None), sep),
                             f"a whole number from {lo} to {hi}, or blank (missing)",
                             _WHOLE_RULES, item_dtype, thousands))
        return cols
    if table == "outcomes":
        return [
            case_ref,
            _Col("outcome", True, _p_pattern(_OUTCOME, True),
                 "a lower-case outcome name of letters, digits, '_' or '-' starting with a letter "
                 "(e.g. extremist, violent, any; required)", ("missing_value", "bad_format"), "string"),
            _Col("event", True, _p_event(sep),
                 "0 (no event during follow-up) or 1 (event) (required)",
                 ("missing_value", "unknown_code"), "Int8"),
            _Col("time_days", True, _p_whole(0, INT32_MAX, ("missing_value", None), sep, serial=True),
                 "a whole number of days >= 0 (required: missing follow-up times are refused)",
                 ("missing_value",) + _COUNT_RULES, "Int32",
                 thousands + (("excel_date", _EXCEL_DATE_TEXT.format(
                     what="the number of days from the start of follow-up to the event or its end",
                     fix="write that number of days (in Excel: =end_date - start_date, formatted as "
                         "Number)")),)),
        ]
    raise ValueError(f"unknown table {table!r}; expected one of {TABLES + OPTIONAL_TABLES}")


def _rating_columns(vera: SPJInstrument, sep: str = ",") -> list[_Col]:
    """The instrument's rating columns (indicators, additional indicators, summary), the same in
    every table that holds ratings: one instrument definition, one not-rated rule."""
    cols = []
    ind_dtype = _int_dtype(vera.rating.scores.values())
    for item in vera.indicators:
        cols.append(_scale_col(item, vera.rating, vera.rating.scores, "not rated", ind_dtype, sep))
    if vera.additional_scale is not None:
        add_dtype = _int_dtype(vera.additional_scale.scores.values())
        for item in vera.additional:
            cols.append(_scale_col(item, vera.additional_scale, vera.additional_scale.scores,
                                   "not rated", add_dtype, sep))
    order = {c: float(i + 1) for i, c in enumerate(vera.summary.codes)}
    cols.append(_scale_col(vera.summary_column, vera.summary, order,
                           "only when no judgement was made", "Int8", sep))
    return cols


_KEYS = {
    "cases": ("case_id",),
    "vera_ratings": ("case_id", "rater_id", "occasion"),
    "sq_responses": ("case_id", "occasion"),
    "outcomes": ("case_id", "outcome"),
    "training_ratings": ("trainee_id", "vignette_id", "occasion"),
    # a vignette listed twice in different sets is a vignette_set problem, not a duplicate
    "vignette_key": ("vignette_id", "vignette_set"),
}


# ---------------------------------------------------------------------------------------------
# identifiers


_ID_TOKENS = {
    "name", "names", "firstname", "lastname", "surname", "surnames", "forename", "forenames",
    "fullname", "givenname", "familyname", "middlename", "maidenname", "nickname", "initials",
    "dob", "birth", "birthdate", "birthday", "birthplace", "born",
    "address", "addresses", "addr", "street", "postcode", "postcodes", "zip", "zipcode", "postal",
    "phone", "telephone", "tel", "mobile", "cellphone", "fax", "whatsapp",
    "email", "emails", "mail",
    "ssn", "nin", "nino", "passport", "prisoner", "inmate", "nric", "tin", "dni", "nhs",
    "notes", "note", "comment", "comments", "remark", "remarks", "freetext", "narrative",
    "description", "observation", "observations",
}
_ID_PAIRS = (
    {"national", "id"}, {"national", "number"}, {"national", "no"}, {"national", "insurance"},
    {"id", "number"}, {"id", "no"}, {"id", "card"}, {"free", "text"}, {"post", "code"},
    {"social", "security"}, {"booking", "number"}, {"case", "number"}, {"file", "number"},
    {"record", "number"}, {"date", "of"},
)


def _name_tokens(name: str) -> list[str]:
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
    return [t.rstrip("0123456789") for t in re.split(r"[^A-Za-z0-9]+", spaced.lower()) if t]


def _is_identifier_name(name: str) -> bool:
    """Whether a column name looks like a direct identifier (names, birth dates, addresses,
    telephone, e-mail, ID numbers, free text)."""
    tokens = [t for t in _name_tokens(name) if t]
    tset = set(tokens)
    if tset & _ID_TOKENS:
        return True
    if any(t.endswith("name") or t.startswith("email") or t.startswith("phone") for t in tokens):
        return True
    if any(pair <= tset for pair in _ID_PAIRS):
        return True
    joined = "".join(tokens)
    return any(w in joined for w in ("dateofbirth", "birthdate", "emailaddress", "phonenumber",
                                     "nationalid", "freetext", "postcode", "zipcode", "passport"))


_MONTH = (r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
          r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)")
_DATE_YMD = re.compile(r"([0-9]{4})[-/.]([0-9]{1,2})[-/.]([0-9]{1,2})"
                       r"(?:[ T][0-9]{1,2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?(?:Z|[+-][0-9]{2}:?[0-9]{2})?)?")
_DATE_DMY = re.compile(r"([0-9]{1,2})[-/.]([0-9]{1,2})[-/.]([0-9]{4}|[0-9]{2})")
_DATE_NAMED = re.compile(
    rf"[0-9]{{1,2}}(?:st|nd|rd|th)?[ /.-]*{_MONTH}\.?[ ,/.-]*[0-9]{{2,4}}"
    rf"|{_MONTH}\.?[ /.-]*[0-9]{{1,2}}(?:st|nd|rd|th)?,?[ /.-]*[0-9]{{4}}", re.IGNORECASE)
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
_PHONE_CHARS = re.compile(r"\+?[0-9 ().\-/]+")
# a cell can only look like a date, e-mail or telephone number if it has one of these
_MAYBE_IDENTIFIER = re.compile(rf"[@+(]|[0-9][-/. ]+[0-9]|{_MONTH}", re.IGNORECASE)


def _identifier_kind(s: str) -> str | None:
    """'date', 'e-mail address' or 'telephone number' when a (stripped) cell looks like one."""
    if not s or _MAYBE_IDENTIFIER.search(s) is None:
        return None
    if "@" in s and _EMAIL.search(s):
        return "e-mail address"
    m = _DATE_YMD.fullmatch(s)
    if m and 1800 <= int(m.group(1)) <= 2100 and 1 <= int(m.group(2)) <= 12 and 1 <= int(m.group(3)) <= 31:
        return "date"
    m = _DATE_DMY.fullmatch(s)
    if m:
        a, b = int(m.group(1)), int(m.group(2))
        if 1 <= a <= 31 and 1 <= b <= 31 and min(a, b) <= 12:
            return "date"
    if _DATE_NAMED.fullmatch(s):
        return "date"
    if _PHONE_CHARS.fullmatch(s):
        groups = re.findall(r"[0-9]+", s)
        digits = sum(len(g) for g in groups)
        if 7 <= digits <= 15:
            if s.startswith("+") and digits >= 8:
                return "telephone number"
            if "(" in s and ")" in s and len(groups) >= 2:
                return "telephone number"
            if len(groups) >= 2 and digits >= 9:
                return "telephone number"
    return None


def _mask(s: str) -> str:
    return re.sub(r"[^\W\d_]", "x", re.sub(r"[0-9]", "9", s))


# ---------------------------------------------------------------------------------------------
# reading


@dataclass
class _Raw:
    table: str
    file: str
    df: pd.DataFrame | None      # every cell a str, index = spreadsheet row numbers
    header: list[str]
    sep: str = ","               # the field separator of a CSV file


# invisible characters: removed; non-breaking and other fixed-width spaces: a space
_INVISIBLE = {0x200B: None, 0x200C: None, 0x200D: None, 0x2060: None, 0xFEFF: None, 0x00AD: None,
              0x00A0: " ", 0x2007: " ", 0x202F: " "}


def _visible(s: str) -> str:
    """The text without zero-width characters, byte-order marks and soft hyphens, and with
    non-breaking spaces as spaces (ASCII text is returned as it is)."""
    return s if s.isascii() else s.translate(_INVISIBLE)


def _arrow_to_text(col: "pyarrow.ChunkedArray") -> np.ndarray:
    """A Parquet column as text: integral floats without '.0', nulls as ''."""
    t = col.type
    if pyarrow.types.is_dictionary(t):
        col = col.cast(t.value_type)
        t = col.type
    if pyarrow.types.is_floating(t):
        f = col.to_numpy(zero_copy_only=False).astype(float)
        codes, uniq = pd.factorize(f, use_na_sentinel=True)
        txt = np.array([(str(int(u)) if float(u).is_integer() and abs(u) < 1e15 else repr(float(u)))
                        for u in uniq] + [""], dtype=object)
        return txt[codes]
    if not (pyarrow.types.is_string(t) or pyarrow.types.is_large_string(t)):
        try:
            col = pc.cast(col, pyarrow.string())
        except (pyarrow.ArrowInvalid, pyarrow.ArrowNotImplementedError):
            vals = col.to_pylist()
            return np.array(["" if v is None else str(v) for v in vals], dtype=object)
    col = pc.fill_null(col, "")
    return np.asarray(col.to_numpy(zero_copy_only=False), dtype=object)


# files that are not CSV text, by their first bytes: (magic, what it is, how to fix)
_MAGIC = (
    (b"PK\x03\x04", "an Excel workbook (.xlsx: a ZIP file)",
     "open it in Excel and Save As 'CSV UTF-8 (comma delimited)'"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an Excel 97-2003 workbook (.xls)",
     "open it in Excel and Save As 'CSV UTF-8 (comma delimited)'"),
    (b"$FL2", "an SPSS data file (.sav)",
     "open it in SPSS and use File > Save As > 'Comma delimited (*.csv)' with variable names in the "
     "first row"),
    (b"$FL3", "an SPSS data file (.zsav)",
     "open it in SPSS and use File > Save As > 'Comma delimited (*.csv)' with variable names in the "
     "first row"),
    (b"PAR1", "a Parquet file", "rename it {table}.parquet"),
)


def _wrong_file_type(raw: bytes, table: str, path: Path, out: _Collector) -> bool:
    """Report a workbook or data file saved under a .csv (or .parquet) name; True if reported."""
    for magic, what, fix in _MAGIC:
        if raw.startswith(magic):
            if path.suffix == ".parquet" and magic == b"PAR1":
                return False
            kind = "CSV text" if path.suffix == ".csv" else "a Parquet file"
            found = " ".join(f"{b:02X}" for b in magic[:4])
            out.add(path.name, None, None, f"first bytes {found}: {what}",
                    f"{kind}: this is {what} saved with a {path.suffix} name: {fix.format(table=table)}",
                    "wrong_file_type")
            return True
    return False


def _read_parquet(table: str, path: Path, out: _Collector) -> _Raw | None:
    file = path.name
    with open(path, "rb") as fh:
        head = fh.read(8)
    if _wrong_file_type(head, table, path, out):
        return None
    try:
        tab = pq.read_table(path)
    except Exception as exc:  # pyarrow raises several types for damaged files
        out.add(file, None, None, None, f"a readable Parquet file (reading failed: {exc})", "unparseable")
        return None
    data = {}
    header = []
    for i, n in enumerate(tab.column_names):
        if n.startswith("__index_level_"):
            continue
        header.append(_visible(n).strip())
        data[(i, n)] = _arrow_to_text(tab.column(i))
    df = pd.DataFrame({k: v for k, v in data.items()})
    df.columns = pd.Index(header, dtype=object) if data else pd.Index([], dtype=object)
    df.index = pd.RangeIndex(2, 2 + tab.num_rows)
    return _Raw(table, file, df, header)


_UTF8_SEQUENCE = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}")


def _decode_problems(raw: bytes, file: str, offset: int, out: _Collector, why: str) -> None:
    """One not_utf8 problem per line holding bytes that are not UTF-8 (byte offset and line)."""
    for line_no, line in enumerate(raw.split(b"\n"), start=1):
        try:
            line.decode("utf-8")
        except UnicodeDecodeError as e:
            bad = line[e.start:e.end]
            out.add(file, line_no, None, "".join(f"\\x{b:02x}" for b in bad),
                    f"UTF-8 text (byte 0x{bad[:1].hex().upper()} at byte offset {offset + e.start} "
                    f"of the file, on line {line_no}, is not UTF-8{why})", "not_utf8")
        offset += len(line) + 1


def _decode(raw: bytes, file: str, out: _Collector) -> tuple[str, bytes | None] | None:
    """The text of a CSV file and, when they can be handed to the parser as they are, its UTF-8
    bytes (else None: the text is encoded again). None (and problems reported) if undecodable.

    The rule, deterministic: a UTF-8 byte-order mark or valid UTF-8 is UTF-8; a UTF-16 byte-order
    mark is UTF-16; other bytes that hold NUL are refused (UTF-16 without a byte-order mark, or not
    text); bytes that are not UTF-8 are Windows-1252 (cp1252) when they decode as such and hold no
    UTF-8 sequence (a mixture of encodings is refused), else refused.
    """
    if raw.startswith(b"\xef\xbb\xbf"):
        body = raw[3:]
        try:
            return body.decode("utf-8"), body
        except UnicodeDecodeError:
            _decode_problems(body, file, 3, out, " although the file starts with the UTF-8 byte-order mark")
            return None
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        endian = "little" if raw.startswith(b"\xff\xfe") else "big"
        try:
            text = raw.decode("utf-16")
        except UnicodeDecodeError as e:
            out.add(file, None, None, None,
                    f"UTF-8 text (the file starts with a UTF-16 byte-order mark, but byte offset {e.start} "
                    "is not UTF-16)", "not_utf8")
            return None
        out.note(file, f"read as UTF-16 ({endian}-endian, from its byte-order mark)")
        return text, None
    if b"\x00" in raw:
        at = raw.index(b"\x00")
        out.add(file, None, None, f"a NUL byte at byte offset {at}",
                "CSV text (the file holds NUL bytes: it is UTF-16 text without a byte-order mark, or "
                "not text at all): save it as 'CSV UTF-8 (comma delimited)'", "wrong_file_type")
        return None
    try:
        return raw.decode("utf-8"), raw
    except UnicodeDecodeError:
        pass
    if _UTF8_SEQUENCE.search(raw) is not None:
        _decode_problems(raw, file, 0, out, ": the file mixes UTF-8 with another encoding")
        return None
    try:
        text = raw.decode("cp1252")
    except UnicodeDecodeError:
        _decode_problems(raw, file, 0, out, ", and the file is not Windows-1252 (cp1252) either")
        return None
    out.note(file, "read as Windows-1252 (cp1252), as it is not UTF-8: check that accented letters "
                   "read right, or save it as 'CSV UTF-8'")
    return text, None


_SEPARATORS = (",", ";", "\t", "|")
_SEP_NAME = {",": "','", ";": "';'", "\t": "tabs", "|": "'|'"}
_HEADER_SEARCH = 10   # lines searched for the header below title rows


def _split(line: str, sep: str) -> list[str]:
    try:
        return [_visible(h).strip() for h in next(csv.reader([line], delimiter=sep))]
    except (csv.Error, StopIteration):
        return []


def _header_sep(line: str, known: set[str]) -> str | None:
    """The separator with which ``line`` is a header (two fields or more, the first a column of
    the table), preferring the one naming the most known columns; None if none."""
    best: tuple[int, str] | None = None
    for sep in _SEPARATORS:
        fields = _split(line, sep)
        if len(fields) >= 2 and fields[0] in known:
            n = sum(f in known for f in fields)
            if best is None or n > best[0]:
                best = (n, sep)
    return None if best is None else best[1]


def _find_header(text: str, file: str, known: set[str], out: _Collector) -> tuple[int, str] | None:
    """(0-based line of the header, field separator), or None (a problem reported)."""
    lines = [ln.rstrip("\r") for ln in text.split("\n", _HEADER_SEARCH + 1)[:_HEADER_SEARCH + 1]]
    for i, line in enumerate(lines):
        sep = _header_sep(line, known)
        if sep is None:
            continue
        if i == 0:
            return 0, sep
        above = [[f for f in _split(ln, sep) if f] for ln in lines[:i]]
        if all(len(a) <= 1 for a in above):
            return i, sep
        busy = [n + 1 for n, a in enumerate(above) if len(a) > 1]
        out.add(file, 1, None, None,
                f"the header as the first row: row {i + 1} looks like the header (it starts with "
                f"'{_split(line, sep)[0]}'), but row(s) {', '.join(map(str, busy))} above it hold values "
                f"in several cells, so they are not a title: delete rows 1-{i}", "unparseable")
        return None
    # no header recognised: the first line is taken as the header (its names are checked later)
    first = lines[0]
    if len(_split(first, ",")) > 1:
        return 0, ","
    seps = [s for s in _SEPARATORS[1:] if len(_split(first, s)) > 1]
    if len(seps) == 1:
        return 0, seps[0]
    if len(seps) > 1:
        out.add(file, 1, None, None,
                f"one field separator in the header (it holds {' and '.join(_SEP_NAME[s] for s in seps)})",
                "unparseable")
        return None
    cells = [f for f in _split(first, ",") if f]
    if len(cells) == 1 and cells[0] not in known and len(lines) > 1:
        out.add(file, 1, None, None,
                f"a header row naming the columns ({', '.join(sorted(known)[:3])}, ...) on row 1: row 1 "
                f"holds a single cell, and no header was found in the first {_HEADER_SEARCH + 1} rows",
                "unparseable")
        return None
    return 0, ","


def _read_csv(table: str, path: Path, known: set[str], out: _Collector) -> _Raw | None:
    file = path.name
    raw = path.read_bytes()
    if _wrong_file_type(raw[:8], table, path, out):
        return None
    decoded = _decode(raw, file, out)
    if decoded is None:
        return None
    text, data = decoded
    if not text.strip():
        out.add(file, None, None, None, "a header row and at least one data row (the file is empty)",
                "empty_table")
        return None
    if "\r" in text and "\n" not in text:   # classic Mac line ends (Excel "CSV (Macintosh)")
        text, data = text.replace("\r", "\n"), None
        out.note(file, "line ends of a carriage return only (classic Mac) read as line breaks")
    found = _find_header(text, file, known, out)
    if found is None:
        return None
    skip, sep = found
    if sep != ",":
        out.note(file, f"fields separated by {_SEP_NAME[sep]}")
    if skip:
        out.note(file, f"{skip} title row(s) above the header skipped: the header is row {skip + 1}, "
                       "and rows keep their spreadsheet numbers")
    lines = text.split("\n", skip + 1)
    header = _split(lines[skip].rstrip("\r"), sep)
    if not any(header):
        shown = lines[skip].rstrip("\r")
        shown = shown if len(shown) <= 80 else shown[:77] + "..."
        out.add(file, skip + 1, None, shown, "a header row naming the columns", "unparseable")
        return None
    if data is None:
        data = text.encode("utf-8")
    # unique internal names for the parser; duplicates are reported and dropped afterwards
    internal = [f"{i}\x00{h}" for i, h in enumerate(header)]
    bad_rows: list[tuple[int | None, int, int]] = []

    def on_invalid(row: Any) -> str:
        bad_rows.append((row.number, row.expected_columns, row.actual_columns))
        return "skip"

    try:
        tab = pacsv.read_csv(
            io.BytesIO(data),
            read_options=pacsv.ReadOptions(column_names=internal, skip_rows=skip + 1, use_threads=False),
            parse_options=pacsv.ParseOptions(delimiter=sep, invalid_row_handler=on_invalid,
                                             ignore_empty_lines=False, newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(column_types={n: pyarrow.string() for n in internal},
                                                 null_values=[], strings_can_be_null=False,
                                                 quoted_strings_can_be_null=False),
        )
    except (pyarrow.ArrowInvalid, ValueError) as exc:
        out.add(file, None, None, None, f"values separated by {_SEP_NAME[sep]} ({exc})", "unparseable")
        return None
    what = "comma" if sep == "," else _SEP_NAME[sep]
    for number, exp, act in bad_rows:
        out.add(file, number, None, f"{act} field(s)",
                f"{exp} fields, as many as in the header (a stray or missing {what}, or a line break "
                "inside a value)", "unparseable")
    n_total = tab.num_rows + len(bad_rows)
    bad_numbers = {b[0] for b in bad_rows if b[0] is not None}
    first_row = skip + 2
    rows = [r for r in range(first_row, first_row + n_total) if r not in bad_numbers][: tab.num_rows]
    df = pd.DataFrame({i: np.asarray(tab.column(i).to_numpy(zero_copy_only=False), dtype=object)
                       for i in range(len(internal))})
    df.columns = pd.Index(header, dtype=object)
    df.index = pd.Index(rows, dtype=np.int64)
    return _Raw(table, file, df, header, sep)


def _find(folder: Path, table: str, out: _Collector, optional: bool = False) -> Path | None:
    """The table's file, or None (a missing table is a problem unless ``optional``; two copies always)."""
    csv_p, pq_p = folder / f"{table}.csv", folder / f"{table}.parquet"
    has_csv, has_pq = csv_p.is_file(), pq_p.is_file()
    if has_csv and has_pq:
        out.add(csv_p.name, None, None, f"{csv_p.name}, {pq_p.name}",
                f"exactly one of {csv_p.name} or {pq_p.name}", "both_formats")
        return None
    if not has_csv and not has_pq:
        if optional:
            return None
        near = sorted(p.name for p in folder.iterdir()
                      if p.is_file() and p.name.split(".")[0].lower() == table
                      and p.name not in (csv_p.name, pq_p.name))
        hint = ""
        if near:
            text_like = [n for n in near if n.lower().endswith((".txt", ".tsv", ".csv"))]
            how = (f"rename {text_like[0]} to {csv_p.name} (text separated by commas, semicolons or tabs "
                   "is read)" if text_like else "export it as CSV UTF-8 or Parquet with this exact name")
            hint = f" (found {', '.join(near)}: {how})"
        out.add(csv_p.name, None, None, None, f"{csv_p.name} or {pq_p.name} in the folder{hint}",
                "missing_table")
        return None
    return csv_p if has_csv else pq_p


# ---------------------------------------------------------------------------------------------
# checking one table


@dataclass
class _Parsed:
    codes: np.ndarray           # per row: index into the distinct values
    rule_idx: np.ndarray        # per distinct value: 0 = ok, i + 1 = rules[i] broken
    values: list                # per distinct value: typed value (None = blank / not rated)
    uniques_stripped: list

    def status(self) -> np.ndarray:
        return self.rule_idx[self.codes]

    def typed(self) -> np.ndarray:
        return np.asarray(self.values + [None], dtype=object)[self.codes]


def _parse_column(codes: np.ndarray, uniq: np.ndarray, col: _Col) -> _Parsed:
    """Apply a column's rule to each distinct cell (stripped), and spread the result to the rows."""
    stripped = [str(u).strip() for u in uniq]
    rule_idx = np.zeros(len(uniq), dtype=np.int8)
    values: list = []
    for i, s in enumerate(stripped):
        rule, value = col.parse(s)
        if rule is not None:
            rule_idx[i] = col.rules.index(rule) + 1
            value = None
        values.append(value)
    return _Parsed(np.asarray(codes, dtype=np.int64), rule_idx, values, stripped)


def _allowed_text(table: str, cols: list[_Col], vera: SPJInstrument, sq: Questionnaire) -> str:
    if table in ("vera_ratings", "training_ratings", "vignette_key"):
        rating = set(vera.columns)
        fixed = [c.name for c in cols if c.name not in rating]
        parts = [f"{', '.join(fixed)}", f"the {vera.name} indicators ({vera.indicators[0]}..{vera.indicators[-1]})"]
        if vera.additional:
            parts.append(f"additional indicators ({vera.additional[0]}..{vera.additional[-1]})")
        parts.append(vera.summary_column)
        return ", ".join(parts)
    if table == "sq_responses":
        return f"case_id, occasion, language and the {sq.name} items ({sq.items[0]}..{sq.items[-1]})"
    return ", ".join(c.name for c in cols)


class _Checked:
    """One table read and checked; keeps what the cross-table checks and typing need."""

    def __init__(self, raw: _Raw, cols: list[_Col]):
        self.raw = raw
        self.cols = cols
        self.df: pd.DataFrame = raw.df  # type: ignore[assignment]
        self.present: list[_Col] = []
        self.parsed: dict[str, _Parsed] = {}


def _check_table(raw: _Raw, vera: SPJInstrument, sq: Questionnaire, out: _Collector,
                 memo: dict[str, str | None], alts: "_Alternatives | None" = None) -> _Checked | None:
    file, table = raw.file, raw.table
    cols = _columns(table, vera, sq, raw.sep)
    by_name = {c.name: c for c in cols}
    df = raw.df
    assert df is not None

    def blank_rows(j: int) -> np.ndarray:
        codes, uniq = pd.factorize(df.iloc[:, j].to_numpy(dtype=object), use_na_sentinel=False)
        return np.array([_visible(str(u)).strip() == "" for u in uniq] + [True], dtype=bool)[codes]

    # columns without a name: ignored when entirely empty (a delimiter at the end of every line),
    # refused when they hold values; duplicate column names: report, keep the first
    seen: set[str] = set()
    keep = []
    n_empty = 0
    for i, h in enumerate(raw.header):
        if h == "":
            empty = blank_rows(i)
            if empty.all():
                n_empty += 1
            else:
                out.add(file, None, f"(column {i + 1}, no name)", None,
                        f"a name in the header for every column that holds values: column {i + 1} has no "
                        f"name but holds values (from row {int(df.index[~empty][0])} on): name it as in the "
                        "contract, or delete it", "unknown_column")
        elif h in seen:
            out.add(file, None, h, None, "each column name once", "duplicate_column")
        else:
            seen.add(h)
            keep.append(i)
    if n_empty:
        out.note(file, f"{n_empty} empty column(s) without a name ignored (a separator at the end of the lines)")
    if len(keep) < df.shape[1]:
        df = df.iloc[:, keep]
    names = list(df.columns)

    # every rule is evaluated on the distinct cells of a column, invisible characters removed
    factors = {}
    n_invisible = 0
    copied = False
    for n in names:
        codes, uniq = pd.factorize(df[n].to_numpy(dtype=object), use_na_sentinel=False)
        changed = [i for i, u in enumerate(uniq) if not str(u).isascii() and _visible(str(u)) != u]
        if changed:
            n_invisible += int(np.bincount(codes, minlength=len(uniq))[changed].sum())
            fixed = np.asarray(uniq, dtype=object).copy()
            fixed[changed] = [_visible(str(uniq[i])) for i in changed]
            if not copied:
                df, copied = df.copy(), True
            df[n] = fixed[codes]
            codes, uniq = pd.factorize(df[n].to_numpy(dtype=object), use_na_sentinel=False)
        factors[n] = (np.asarray(codes, dtype=np.int64), np.asarray(uniq, dtype=object))
    if n_invisible:
        out.note(file, f"invisible characters (zero-width spaces, byte-order marks, soft hyphens) removed, "
                       f"or non-breaking spaces read as spaces, in {n_invisible} cell(s)")

    # drop rows that are entirely blank (they keep their numbers)
    blank = np.ones(len(df), dtype=bool)
    for n, (codes, uniq) in factors.items():
        blank &= np.array([str(u).strip() == "" for u in uniq] + [True], dtype=bool)[codes]
    if names and blank.any():
        df = df.loc[~blank]
        factors = {n: (codes[~blank], uniq) for n, (codes, uniq) in factors.items()}
    if len(df) == 0:
        out.add(file, None, None, None, "at least one data row below the header (the table has none)",
                "empty_table")
        return None

    checked = _Checked(raw, cols)
    checked.df = df
    id_cols = {n for n in names if n not in by_name and _is_identifier_name(n)}
    checked.present = [by_name[n] for n in names if n in by_name]
    checked.parsed = {c.name: _parse_column(*factors[c.name], c) for c in checked.present}

    def make_check(name: str, k: int) -> Callable[[pd.Series], pd.Series]:
        def check(s: pd.Series) -> pd.Series:
            return pd.Series(checked.parsed[name].status() != k, index=s.index)
        return check

    # column and cell rules: a pandera schema, validated lazily; a column gets the checks of the
    # rules that some distinct value of it breaks (the others cannot fail: pandera's cost is per check)
    schema_cols = {}
    for c in cols:
        broken = set(np.unique(checked.parsed[c.name].rule_idx).tolist()) if c.name in checked.parsed else set()
        checks = [pa.Check(make_check(c.name, i + 1), name=rule, error=f"{rule}: {c.expected}",
                           ignore_na=False)
                  for i, rule in enumerate(c.rules) if i + 1 in broken]
        schema_cols[c.name] = pa.Column(None, checks=checks, required=c.required, nullable=True)
    schema = pa.DataFrameSchema(schema_cols, strict=True, name=table)
    failures = None
    try:
        schema.validate(df, lazy=True)
    except pa.errors.SchemaErrors as exc:
        failures = exc.failure_cases

    # cells that look like dates, e-mails or telephone numbers, in any column
    id_cells: dict[str, np.ndarray] = {}
    id_kind: dict[str, np.ndarray] = {}
    for n in names:
        if n in id_cols:
            continue
        codes, uniq = factors[n]
        kinds = []
        for u in uniq:
            t = str(u).strip()
            if t not in memo:
                memo[t] = _identifier_kind(t)
            kinds.append(memo[t])
        kind_arr = np.array(kinds + [None], dtype=object)
        has = np.array([k is not None for k in kinds] + [False], dtype=bool)
        flag = has[codes]
        if flag.any():
            id_cells[n] = flag
            id_kind[n] = kind_arr[codes]

    # rating columns of another instrument definition: one problem naming it, instead of a
    # missing or unknown column for each indicator the two do not share
    explained: set[str] = set()
    if table in ("vera_ratings", "training_ratings", "vignette_key") and alts is not None:
        match = alts.match(set(names))
        if match is not None:
            alt, alt_path = match
            explained = set(vera.columns) ^ set(alt.columns)
            out.add(file, None, None,
                    f"the {len(alt.indicators)} indicator columns of {alt.name} "
                    f"({alt.indicators[0]}..{alt.indicators[-1]})",
                    f"the rating columns of {vera.name}, the configured instrument "
                    f"({_setting_path(vera.path)}): these columns are {alt.name}'s ({alt_path}): set "
                    f"instruments.vera: {alt_path} in params.yaml, or export the {vera.name} ratings",
                    "wrong_instrument")

    allowed = _allowed_text(table, cols, vera, sq)
    cell_fail: dict[str, pd.DataFrame] = {}
    if failures is not None:
        frame = failures[failures["schema_context"] != "Column"]
        for _, f in frame.iterrows():
            check = str(f["check"])
            name = str(f["failure_case"])
            if name in explained and check in ("column_in_dataframe", "column_in_schema"):
                continue
            if check == "column_in_dataframe":
                out.add(file, None, name, None, f"a column named '{name}' (required)", "missing_column")
            elif check == "column_in_schema":
                if name in id_cols:
                    out.add(file, None, name, None,
                            "no such column: its name looks like a direct identifier (names, dates of "
                            "birth, addresses, telephone, e-mail, ID numbers or free text), and such "
                            "data must never leave the site", "identifier_column")
                else:
                    near = difflib.get_close_matches(name, [c.name for c in cols], n=1, cutoff=0.75)
                    near_txt = f"; did you mean '{near[0]}'?" if near else ""
                    out.add(file, None, name, None, f"one of the columns of {table}: {allowed}{near_txt}",
                            "unknown_column")
            else:
                out.add(file, None, None if pd.isna(f["column"]) else str(f["column"]), None,
                        f"a table that passes the check {check}", "unparseable")
        cells = failures[failures["schema_context"] == "Column"]
        for name, g in cells.groupby("column", sort=False):
            cell_fail[str(name)] = g

    rows_all = df.index.to_numpy()
    for n in names:
        if n in id_cells:
            flag = id_cells[n]
            codes, uniq = factors[n]
            vals = [_mask(str(uniq[c]).strip()) for c in codes[flag]]
            out.add_rows(file, rows_all[flag], n, vals,
                         [f"no {k} (dates, e-mail addresses and telephone numbers must never leave the site)"
                          for k in id_kind[n][flag]], "identifier_value")
        if n not in cell_fail or n not in by_name:
            continue
        c = by_name[n]
        g = cell_fail[n]
        rows = g["index"].to_numpy(dtype=np.int64)
        checks = g["check"].astype(str)
        rule_of = checks.map({u: u.split(":", 1)[0] for u in checks.unique()}).to_numpy()
        vals = g["failure_case"].to_numpy(dtype=object)
        keep_mask = np.ones(len(g), dtype=bool)
        if n in id_cells:
            flag_by_row = pd.Series(id_cells[n], index=rows_all)
            keep_mask = ~flag_by_row.reindex(rows).to_numpy(dtype=bool)
        order = np.argsort(rows, kind="stable")
        for rule in c.rules:
            sel = order[(rule_of[order] == rule) & keep_mask[order]]
            shown = vals[sel]
            if rule == "excel_date":   # a date in disguise: listed masked, like other dates
                shown = np.array([_mask(str(v).strip()) for v in shown], dtype=object)
            out.add_rows(file, rows[sel], n, shown, c.expected_for(rule), rule)
    return checked


def _setting_path(path: str | Path) -> str:
    """An instrument definition's path as params.yaml writes it (relative to the project): kept when
    relative, else its folder's name and its file name (``instruments/vera2.yaml``)."""
    p = Path(path)
    return p.as_posix() if not p.is_absolute() else f"{p.parent.name}/{p.name}"


class _Alternatives:
    """The instrument definitions other than the configured one that the columns of vera_ratings
    are compared with when they do not match it: those given, else the other YAML definitions of
    the configured one's folder (loaded only when needed; unreadable ones are passed over)."""

    def __init__(self, vera: SPJInstrument, given: Sequence[SPJInstrument | str | Path] | None):
        self.vera = vera
        self.given = given
        self._found: list[tuple[SPJInstrument, str]] | None = None

    def _candidates(self) -> list[tuple[SPJInstrument, str]]:
        if self._found is not None:
            return self._found
        own = Path(self.vera.path)
        sources: list[SPJInstrument | Path]
        if self.given is not None:
            sources = [g if isinstance(g, SPJInstrument) else Path(g) for g in self.given]
        elif self.vera.path and own.is_file():
            folder = own.parent
            sources = sorted(p for p in (*folder.glob("*.yaml"), *folder.glob("*.yml"))
                             if p.resolve() != own.resolve())
        else:
            sources = []
        found = []
        for src in sources:
            if isinstance(src, Path):
                try:
                    inst = load_instrument(src)
                except (InstrumentError, OSError, ValueError):
                    continue
                if self.given is None:   # a sibling: its path as the configured one is written
                    where = (own.parent / src.name).as_posix() if not own.is_absolute() else \
                        f"{own.parent.name}/{src.name}"
                else:
                    where = _setting_path(src)
            else:
                inst, where = src, _setting_path(src.path)
            if isinstance(inst, SPJInstrument) and set(inst.columns) != set(self.vera.columns):
                found.append((inst, where))
        self._found = found
        return found

    def match(self, present: set[str]) -> tuple[SPJInstrument, str] | None:
        """The definition whose rating columns are all present while none of the configured
        one's own columns is (the largest if several), or None; only looked for when a rating
        column of the configured instrument is missing."""
        cfg = set(self.vera.columns)
        if cfg <= present:
            return None
        hits = [(inst, where) for inst, where in self._candidates()
                if set(inst.columns) <= present and not ((cfg - set(inst.columns)) & present)]
        if not hits:
            return None
        return max(hits, key=lambda h: len(h[0].columns))


def _key_frame(ch: _Checked, key: Sequence[str]) -> pd.DataFrame | None:
    """Typed key values of the rows whose key parts are all valid (defaults applied)."""
    df = ch.df
    parts = {}
    ok = np.ones(len(df), dtype=bool)
    for k in key:
        if k in ch.parsed:
            p = ch.parsed[k]
            vals = p.typed()
            ok &= (p.status() == 0) & pd.notna(vals) & (vals != None)  # noqa: E711
            parts[k] = vals
        elif k == "occasion":
            parts[k] = np.ones(len(df), dtype=object)
        else:
            return None
    kf = pd.DataFrame(parts, index=df.index)
    return kf.loc[ok]


def _duplicates(ch: _Checked, out: _Collector) -> None:
    key = _KEYS[ch.raw.table]
    kf = _key_frame(ch, key)
    if kf is None or len(kf) == 0:
        return
    dup = kf.duplicated(keep="first").to_numpy()
    if not dup.any():
        return
    group = kf.groupby(list(key), sort=False).ngroup().to_numpy()
    first_row = pd.Series(kf.index.to_numpy()).groupby(group).transform("first").to_numpy()
    rows = kf.index.to_numpy()[dup]
    firsts = first_row[dup]
    vals = [", ".join(str(v) for v in t) for t in kf.loc[dup].itertuples(index=False, name=None)]
    col = ", ".join(key)
    label = key[0] if len(key) == 1 else f"({', '.join(key)})"
    out.add_rows(ch.raw.file, rows, col, vals,
                 [f"a unique {label}: the same key is already on row {int(r)}" for r in firsts],
                 "duplicate_key")


def _unknown_cases(ch: _Checked, case_ids: set[str], cases_file: str, out: _Collector) -> None:
    p = ch.parsed.get("case_id")
    if p is None:
        return
    known = np.array([s in case_ids for s in p.uniques_stripped] + [True], dtype=bool)
    ok = (p.rule_idx == 0)
    bad_u = ~known[:-1] & ok
    if not bad_u.any():
        return
    bad = np.append(bad_u, False)[p.codes]
    rows = ch.df.index.to_numpy()[bad]
    vals = ch.df["case_id"].to_numpy(dtype=object)[bad]
    out.add_rows(ch.raw.file, rows, "case_id", vals, f"a case_id listed in {cases_file}", "unknown_case")


def _first_of_group(kf: pd.DataFrame, by: str, what: str) -> pd.DataFrame:
    """For each valid row of ``kf`` (typed values, index = spreadsheet rows): the ``what`` of the first
    row with the same ``by``, and that row's number (``first`` and ``first_row``)."""
    first = kf.groupby(by, sort=False)[what].transform("first")
    first_row = pd.Series(kf.index.to_numpy(), index=kf.index).groupby(kf[by], sort=False).transform("first")
    return pd.DataFrame({"first": first, "first_row": first_row})


def _training_checks(ratings: _Checked | None, key: _Checked | None, key_absent: bool,
                     rating_columns: Sequence[str], out: _Collector) -> None:
    """The training tables' cross-row and cross-table rules: the key rates everything, a vignette
    belongs to one set (in the key, in the ratings, and the same in both), every rated vignette has
    a key, and a trainee belongs to one arm. Rows whose cells already broke a rule are left out."""
    key_set: dict[str, tuple[str, int]] = {}    # vignette -> (its set in the key, the key's row)
    if key is not None:
        file = key.raw.file
        for name in rating_columns:
            p = key.parsed.get(name)
            if p is None:
                continue
            col = next(c for c in key.cols if c.name == name)
            blank = np.array([v is None for v in p.values] + [False], dtype=bool)
            bad = blank[p.codes] & (p.status() == 0)
            if bad.any():
                vals = np.array(p.uniques_stripped + [""], dtype=object)[p.codes[bad]]
                out.add_rows(file, key.df.index.to_numpy()[bad], name, vals,
                             f"the key's rating, {col.expected.split(', or ')[0]}: the key of a vignette "
                             "rates every indicator, additional indicator and the summary", "key_not_rated")
        kf = _key_frame(key, ("vignette_id", "vignette_set"))
        if kf is not None and len(kf):
            g = _first_of_group(kf, "vignette_id", "vignette_set")
            other = (kf["vignette_set"] != g["first"]).to_numpy()
            out.add_rows(file, kf.index.to_numpy()[other], "vignette_set", kf["vignette_set"].to_numpy()[other],
                         [f"vignette_set {s}: vignette {v} is in set {s} on row {int(r)} (a vignette belongs "
                          "to one set)" for v, s, r in zip(kf["vignette_id"].to_numpy()[other],
                                                           g["first"].to_numpy()[other],
                                                           g["first_row"].to_numpy()[other])],
                         "vignette_set")
            firsts = kf.loc[~other]
            key_set = {str(v): (str(s), int(r)) for r, v, s in
                       zip(firsts.index, firsts["vignette_id"], firsts["vignette_set"])}
    if ratings is None:
        return
    file = ratings.raw.file
    if key_absent:
        out.add(f"{OPTIONAL_TABLES[1]}.csv", None, None, None,
                f"{OPTIONAL_TABLES[1]}.csv or {OPTIONAL_TABLES[1]}.parquet in the folder: {file} is scored "
                "against the key ratings of its vignettes", "missing_table")
    kf = _key_frame(ratings, ("vignette_id",))
    if kf is not None and len(kf) and key is not None:
        known = kf["vignette_id"].map(lambda v: str(v) in key_set).to_numpy(dtype=bool)
        kf_id = _key_frame(key, ("vignette_id",))
        listed = set() if kf_id is None else {str(v) for v in kf_id["vignette_id"]}
        # a vignette whose key rows are all broken is listed there; here only the unlisted ones
        unknown = ~known & ~kf["vignette_id"].map(lambda v: str(v) in listed).to_numpy(dtype=bool)
        out.add_rows(file, kf.index.to_numpy()[unknown], "vignette_id", kf["vignette_id"].to_numpy()[unknown],
                     f"a vignette_id listed in {key.raw.file}", "unknown_vignette")
    kf = _key_frame(ratings, ("vignette_id", "vignette_set"))
    if kf is not None and len(kf):
        vid = kf["vignette_id"].astype(str).to_numpy()
        vset = kf["vignette_set"].astype(str).to_numpy()
        in_key = np.array([v in key_set for v in vid], dtype=bool)
        wrong_key = in_key & np.array([key_set.get(v, ("", 0))[0] != s for v, s in zip(vid, vset)], dtype=bool)
        out.add_rows(file, kf.index.to_numpy()[wrong_key], "vignette_set", vset[wrong_key],
                     [f"vignette_set {key_set[v][0]}, the set of vignette {v} in {key.raw.file} (row "  # type: ignore[union-attr]
                      f"{key_set[v][1]})" for v in vid[wrong_key]], "vignette_set")
        rest = kf.loc[~in_key]   # vignettes without a usable key: one set across the ratings
        if len(rest):
            g = _first_of_group(rest, "vignette_id", "vignette_set")
            other = (rest["vignette_set"] != g["first"]).to_numpy()
            out.add_rows(file, rest.index.to_numpy()[other], "vignette_set", rest["vignette_set"].to_numpy()[other],
                         [f"vignette_set {s}: vignette {v} is rated as set {s} on row {int(r)} (a vignette "
                          "belongs to one set)" for v, s, r in zip(rest["vignette_id"].to_numpy()[other],
                                                                   g["first"].to_numpy()[other],
                                                                   g["first_row"].to_numpy()[other])],
                         "vignette_set")
    kf = _key_frame(ratings, ("trainee_id", "arm")) if "arm" in ratings.parsed else None
    if kf is not None and len(kf):
        g = _first_of_group(kf, "trainee_id", "arm")
        other = (kf["arm"] != g["first"]).to_numpy()
        out.add_rows(file, kf.index.to_numpy()[other], "arm", kf["arm"].to_numpy()[other],
                     [f"arm {a}, as on row {int(r)} of this trainee (a trainee belongs to one arm)"
                      for a, r in zip(g["first"].to_numpy()[other], g["first_row"].to_numpy()[other])],
                     "trainee_arm")


def _k_anonymity(ch: _Checked, k: int, out: _Collector) -> None:
    df = ch.df
    qi = {}
    for c in QUASI_IDENTIFIERS:
        qi[c] = (df[c].astype(str).str.strip().to_numpy(dtype=object) if c in df.columns
                 else np.full(len(df), "", dtype=object))
    q = pd.DataFrame(qi, index=df.index)
    size = q.groupby(list(QUASI_IDENTIFIERS), sort=False)["site"].transform("size").to_numpy()
    small = size < k
    if not small.any():
        return
    rows = df.index.to_numpy()[small]
    combos = q.loc[small]

    def show(v: str) -> str:
        if v == "":
            return "(blank)"
        return _mask(v) if _identifier_kind(v) else v

    vals = [", ".join(f"{c}={show(v)}" for c, v in zip(QUASI_IDENTIFIERS, t))
            for t in combos.itertuples(index=False, name=None)]
    exp = [f"a combination of {' x '.join(QUASI_IDENTIFIERS)} shared by at least {k} cases "
           f"(this one is shared by {int(n)})" for n in size[small]]
    out.add_rows(ch.raw.file, rows, ", ".join(QUASI_IDENTIFIERS), vals, exp, "k_anonymity")


# ---------------------------------------------------------------------------------------------
# typing


def _typed_column(ch: _Checked, col: _Col, default: Any = None) -> pd.Series:
    """The clean column: typed values of the distinct cells, spread back to the rows."""
    n = len(ch.df)
    p = ch.parsed.get(col.name)
    if col.dtype == "string":
        vals = p.typed() if p is not None else np.full(n, default, dtype=object)
        if default is not None:
            vals = np.where(pd.isna(vals), default, vals)
        return pd.Series(pd.array(vals.tolist(), dtype="string"), name=col.name)
    if p is not None:
        u = np.array([np.nan if v is None else float(v) for v in p.values] + [np.nan], dtype=float)
        f = u[p.codes]
    else:
        f = np.full(n, np.nan if default is None else float(default), dtype=float)
    mask = np.isnan(f)
    if col.dtype == "int64":
        return pd.Series(np.where(mask, default if default is not None else 0, f).astype(np.int64),
                         name=col.name)
    if col.dtype == "Float64":
        return pd.Series(pd.arrays.FloatingArray(np.where(mask, 0.0, f), mask), name=col.name)
    np_dtype = {"Int8": np.int8, "Int32": np.int32}[col.dtype]
    return pd.Series(pd.arrays.IntegerArray(np.where(mask, 0, f).astype(np_dtype), mask), name=col.name)


def _clean(ch: _Checked) -> pd.DataFrame:
    defaults = {"occasion": 1, "role": "independent"}
    data = {c.name: _typed_column(ch, c, defaults.get(c.name)) for c in ch.cols}
    return pd.DataFrame(data)


# ---------------------------------------------------------------------------------------------
# the public API


def _check_k(k: Any) -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k_anonymity must be a whole number >= 1 (1 switches the check off), found {k!r}")
    return int(k)


def load_tables(folder: str | Path, vera: SPJInstrument, sq: Questionnaire, *,
                k_anonymity: int = 5,
                alternatives: Sequence[SPJInstrument | str | Path] | None = None) -> CleanTables:
    """Read the four tables from ``folder``, check them against the data contract, and type them.

    Parameters
    ----------
    folder : the folder holding ``cases``, ``vera_ratings``, ``sq_responses`` and ``outcomes``, and
        optionally the rater-training tables ``training_ratings`` and ``vignette_key``, each as ``.csv`` (UTF-8, comma-separated, header row; exports of spreadsheets and statistics
        packages are read where their intent is unambiguous, see the module docstring) or
        ``.parquet``.
    vera, sq : the instrument definitions (:func:`validation.instruments.load_instrument`); they
        give the indicator, additional indicator, summary and item columns and their codes.
    k_anonymity : smallest number of cases that may share a combination of
        ``site x sex x age_band x ideology`` (blank is a value of its own); 1 switches it off.
    alternatives : other structured-judgement definitions (instruments or paths of YAML files) to
        compare the columns of ``vera_ratings`` with when they do not match ``vera``; by default
        the other definitions in the folder of ``vera.path``. When one matches, a single
        ``wrong_instrument`` problem names it and the ``instruments.vera`` setting that reads it.

    Returns
    -------
    CleanTables
        ``cases`` (strings, blank as null); ``vera_ratings`` (``occasion`` int64 defaulting to 1,
        ``role`` string defaulting to ``independent``, ``months_since_first`` Int32, indicators as
        their instrument scores, additional indicators 0/1 and the summary 1, 2, 3 in the order
        of its codes, all nullable Int8 with not rated as null); ``sq_responses`` (items nullable
        Int8 as given, ``language`` string); ``outcomes`` (``event`` Int8, ``time_days`` Int32);
        ``training_ratings`` (``trainee_id``, ``vignette_id``, ``vignette_set``, ``arm`` strings --
        ``arm`` null when the column is left out --, ``occasion`` int64, the rating columns as in
        ``vera_ratings``) and ``vignette_key`` (``vignette_id``, ``vignette_set``, the rating
        columns), each ``None`` when the folder does not hold it. Rows keep file order; entirely blank rows are dropped. ``reading`` holds notes on files
        read in a way worth knowing (encoding, separator, title rows, ...).

    Raises
    ------
    ContractError
        listing every problem of every table (nothing is returned when there is any).
    FileNotFoundError
        if ``folder`` is not a folder.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder} is not a folder; expected a folder holding the four tables "
                                f"({', '.join(TABLES)}) as .csv or .parquet")
    if not isinstance(vera, SPJInstrument):
        raise ValueError(f"vera must be an SPJInstrument, found {type(vera).__name__}")
    if not isinstance(sq, Questionnaire):
        raise ValueError(f"sq must be a Questionnaire, found {type(sq).__name__}")
    k = _check_k(k_anonymity)

    out = _Collector()
    alts = _Alternatives(vera, alternatives)
    memo: dict[str, str | None] = {}   # identifier-like look of each distinct cell
    checked: dict[str, _Checked | None] = {}
    for table in TABLES:
        path = _find(folder, table, out)
        raw = None
        if path is not None:
            if path.suffix == ".csv":
                raw = _read_csv(table, path, {c.name for c in _columns(table, vera, sq)}, out)
            else:
                raw = _read_parquet(table, path, out)
        checked[table] = _check_table(raw, vera, sq, out, memo, alts) if raw is not None else None
    absent = set()
    for table in OPTIONAL_TABLES:
        path = _find(folder, table, out, optional=True)
        if path is None:
            if not (folder / f"{table}.csv").is_file():   # both copies are a problem, not absence
                absent.add(table)
            continue
        if path.suffix == ".csv":
            raw = _read_csv(table, path, {c.name for c in _columns(table, vera, sq)}, out)
        else:
            raw = _read_parquet(table, path, out)
        checked[table] = _check_table(raw, vera, sq, out, memo, alts) if raw is not None else None

    cases = checked["cases"]
    for table, ch in checked.items():
        if ch is not None:
            _duplicates(ch, out)
    if cases is not None and "case_id" in cases.df.columns:
        ids = set(cases.parsed["case_id"].uniques_stripped) - {""}
        for table in TABLES[1:]:
            ch = checked[table]
            if ch is not None:
                _unknown_cases(ch, ids, cases.raw.file, out)
    if cases is not None and k > 1:
        _k_anonymity(cases, k, out)
    if not set(OPTIONAL_TABLES) <= absent:
        _training_checks(checked.get(OPTIONAL_TABLES[0]), checked.get(OPTIONAL_TABLES[1]),
                         OPTIONAL_TABLES[1] in absent, vera.columns, out)

    if out:
        raise ContractError(out.items, out.counts, folder, out.notes)
    clean = {t: _clean(checked[t]) for t in TABLES}  # type: ignore[arg-type]
    for t in OPTIONAL_TABLES:
        clean[t] = _clean(checked[t]) if checked.get(t) is not None else None  # type: ignore[arg-type]
    reading = {f: tuple(v) for f, v in sorted(out.notes.items(), key=lambda kv: _table_order(kv[0]))}
    return CleanTables(**clean, reading=reading)


# ---------------------------------------------------------------------------------------------
# data-quality summary


def _counts(values: pd.Series) -> dict[str, int]:
    s = values.astype("string").fillna("(blank)")
    vc = s.value_counts(sort=False)
    return {str(k): int(vc[k]) for k in sorted(vc.index, key=str)}


def _suppress(counts: Mapping[str, int], k: int) -> dict[str, int | str]:
    """Counts of one variable whose total is published: primary and complementary suppression,
    or the breakdown withheld when no pattern protects it."""
    return protect_or_withhold(counts, k, total=True)


def _rate(x: pd.DataFrame | pd.Series) -> float | None:
    n = x.size
    return float(x.isna().to_numpy().sum() / n) if n else None


def _training_summary(ratings: pd.DataFrame, k: int) -> dict[str, Any]:
    """Counts of the rater-training ratings, with no trainee key: trainees by arm, forms by occasion,
    vignettes by set, and the trainees who missed an occasion (normal in a course: they stay in
    the data and are left out of the before/after comparison only). Counts of 1 to k-1 trainees are
    suppressed, and the forms' counts withheld when they would give such a count back (each trainee rates
    the vignettes of a set)."""
    trainee = ratings["trainee_id"].astype(str)
    occasions = sorted(int(o) for o in ratings["occasion"].unique())
    seen = ratings.groupby(trainee, sort=False)["occasion"].nunique()
    arm = ratings.groupby(trainee, sort=False)["arm"].first()
    vignettes = ratings.drop_duplicates("vignette_id")
    missed = int((seen < len(occasions)).sum())
    small = 0 < missed < k
    why = f"withheld: it would give back a count of fewer than {k} trainees"
    return {
        "n_trainees": int(trainee.nunique()),
        "n_forms": why if small else int(len(ratings)),
        "trainees_by_arm": _suppress(_counts(arm), k),
        "forms_by_occasion": why if small else {
            str(o): int(n) for o, n in sorted(ratings["occasion"].value_counts().items())},
        "n_vignettes": int(len(vignettes)),
        "vignettes_by_set": _counts(vignettes["vignette_set"]),
        "occasions": occasions,
        "trainees_missing_an_occasion": marker(k) if small else missed,
        "missing_occasion": "a trainee who missed an occasion stays in the data and is left out of the "
                            "before/after comparison only",
    }


def quality_summary(tables: CleanTables, vera: SPJInstrument, sq: Questionnaire, *,
                    k_anonymity: int = 5) -> dict:
    """A JSON-ready summary of the clean tables, with no case or rater key in it.

    Contents: ``cases`` (n, by site, sex, age band, ideology, and site x each attribute);
    ``vera_ratings`` (forms by occasion, role and rater -- raters named ``rater 1``, ``rater 2``,
    ... in the sorted order of their keys --, cases rated by site, and the not-rated rate of each
    indicator, additional indicator and the summary, pooled per kind, with those above 10%
    flagged); ``sq_responses`` (by occasion, language and site, the missing rate of each item,
    flagged above 10%); ``outcomes`` (per outcome: n, events, base rate = events / n, follow-up
    median, min and max in years of 365.25 days); ``rating_design``
    (:func:`validation.design.describe_rating_design` on the independent ratings of occasion 1,
    cases as targets, raters nested in sites or not; the raters of the largest fully crossed block
    are named with the same ``rater N`` labels, and the block's keys are left out); ``training``
    when the folder has rater-training ratings (trainees by arm, forms by occasion, vignettes by
    set, and how many trainees missed an occasion; no trainee key).

    Counts of cases (or of SQ administrations, one per case and occasion) in a cell of case
    attributes that are below ``k_anonymity`` are replaced by the string ``"<k"``; totals are kept.

    When a file was read in a way worth knowing (an encoding other than UTF-8, a separator other
    than ',', title rows skipped, ...: ``tables.reading``), a ``reading`` entry lists it by file.
    """
    if not isinstance(tables, CleanTables):
        raise ValueError(f"tables must be the CleanTables of load_tables, found {type(tables).__name__}")
    k = _check_k(k_anonymity)
    cases, vr, sqr, oc = tables.cases, tables.vera_ratings, tables.sq_responses, tables.outcomes
    site_of = dict(zip(cases["case_id"].astype(str), cases["site"].astype(str)))

    case_block: dict[str, Any] = {"n": int(len(cases))}
    for attr in ("site",) + QUASI_IDENTIFIERS[1:]:
        if attr in cases.columns:
            case_block[f"by_{attr}"] = _suppress(_counts(cases[attr]), k)
    for attr in QUASI_IDENTIFIERS[1:]:
        if attr in cases.columns:
            cross = {str(site): _counts(g[attr]) for site, g in cases.groupby(cases["site"].astype(str), sort=True)}
            # each site's total and each category's total are published beside the table
            try:
                case_block[f"site_x_{attr}"] = protect_table(cross, k)
            except Undisclosable:
                case_block[f"site_x_{attr}"] = withheld(k)

    label = rater_labels(vr["rater_id"])
    raters = list(label)
    per_rater = vr["rater_id"].value_counts()
    rated_site = pd.Series([site_of.get(c, "(unknown)") for c in vr["case_id"].astype(str)])
    cases_by_site = (pd.DataFrame({"site": rated_site, "case": vr["case_id"].astype(str).to_numpy()})
                     .drop_duplicates().groupby("site")["case"].size())

    ind, add, summ = vera.indicators, vera.additional, vera.summary_column
    nr_ind = {c: _rate(vr[c]) for c in ind}
    nr_add = {c: _rate(vr[c]) for c in add}
    nr_sum = _rate(vr[summ])
    flagged = [c for c, r in {**nr_ind, **nr_add, summ: nr_sum}.items() if r is not None and r > NOT_RATED_FLAG]
    ratings_block = {
        "n_forms": int(len(vr)),
        "n_cases": int(vr["case_id"].nunique()),
        "n_raters": len(raters),
        # keys that sign independent forms (the raters of the agreement study) and keys that sign
        # consensus forms only (the teams recording the agreed rating of a double-rated case)
        "n_raters_independent": int(vr.loc[vr["role"] == "independent", "rater_id"].nunique()),
        "n_consensus_teams": int(len(set(vr.loc[vr["role"] == "consensus", "rater_id"])
                                     - set(vr.loc[vr["role"] == "independent", "rater_id"]))),
        "by_occasion": {str(o): int(n) for o, n in sorted(vr["occasion"].value_counts().items())},
        "by_role": _counts(vr["role"]),
        "by_rater": {label[r]: int(per_rater[r]) for r in raters},
        "cases_by_site": _suppress({str(s): int(n) for s, n in sorted(cases_by_site.items())}, k),
        "not_rated": {
            "threshold": NOT_RATED_FLAG,
            "indicators": nr_ind,
            "additional": nr_add,
            "summary": nr_sum,
            "overall": {"indicators": _rate(vr[ind]) if ind else None,
                        "additional": _rate(vr[add]) if add else None,
                        "summary": nr_sum},
            "flagged": flagged,
        },
    }

    items = sq.items
    miss = {c: _rate(sqr[c]) for c in items}
    sq_site = pd.Series([site_of.get(c, "(unknown)") for c in sqr["case_id"].astype(str)], dtype=object)
    sq_block = {
        "n": int(len(sqr)),
        "n_cases": int(sqr["case_id"].nunique()),
        "by_occasion": {str(o): int(n) for o, n in sorted(sqr["occasion"].value_counts().items())},
        "by_language": _suppress(_counts(sqr["language"]), k),
        "by_site": _suppress(_counts(sq_site), k),
        "missing": {
            "threshold": NOT_RATED_FLAG,
            "items": miss,
            "overall": _rate(sqr[items]) if items else None,
            "flagged": [c for c, r in miss.items() if r is not None and r > NOT_RATED_FLAG],
        },
    }

    out_block: dict[str, Any] = {"n_rows": int(len(oc)), "by_outcome": {}}
    for name, g in oc.groupby(oc["outcome"].astype(str), sort=True):
        ev = g["event"].astype("Int64")
        years = g["time_days"].astype(float) / 365.25
        events = int(ev.sum())
        small = 0 < events < k or 0 < len(g) - events < k
        out_block["by_outcome"][str(name)] = {
            "n": int(len(g)),
            "events": f"<{k}" if 0 < events < k else (COMPLEMENTARY if small else events),
            "base_rate": None if small else float(events / len(g)),     # with n it gives the count back
            "follow_up_years": {"median": float(years.median()), "min": float(years.min()),
                                "max": float(years.max())},
        }

    sel = vr[(vr["role"] == "independent") & (vr["occasion"] == 1)]
    design_block: dict[str, Any] = {"selection": "independent ratings, occasion 1; targets are cases"}
    try:
        d = describe_rating_design(
            pd.DataFrame({"case": sel["case_id"].astype(str).to_numpy(),
                          "rater": sel["rater_id"].astype(str).to_numpy(),
                          "site": [site_of.get(c, "(unknown)") for c in sel["case_id"].astype(str)]}),
            "case", "rater", group="site")
        pub = d.public_dict()
        pub["block_raters"] = ([label[r] for r in d.block_rater_keys] if d.block_raters is not None
                               else None)
        design_block.update(pub)
    except NotEstimable as exc:
        design_block["not_estimable"] = str(exc)

    summary: dict[str, Any] = {
        "k_anonymity": k,
        "suppression": f"counts of cases below {k} are shown as '<{k}'",
        "instruments": {"vera": {"name": vera.name, "version": vera.version},
                        "sq": {"name": sq.name, "version": sq.version, "placeholder": sq.placeholder}},
    }
    if tables.reading:
        summary["reading"] = {f: list(v) for f, v in tables.reading.items()}
    summary.update({
        "cases": case_block,
        "vera_ratings": ratings_block,
        "sq_responses": sq_block,
        "outcomes": out_block,
        "rating_design": design_block,
    })
    if tables.training_ratings is not None:
        summary["training"] = _training_summary(tables.training_ratings, k)
    return to_dict(summary)
