"""Instrument definitions: YAML files that say which items an instrument has.

An instrument is data, not code. A definition names item codes, the domain or scale each
belongs to, the response codes and their order, reverse-keyed items, the protective domain,
and the summary judgement. :func:`load_instrument` reads a YAML file, checks it and returns
a frozen :class:`SPJInstrument` (VERA-2R, VERA-2) or :class:`Questionnaire` (SQ).

A malformed definition raises :class:`InstrumentError` listing every problem at once, each
naming the file and the place in it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import yaml

__all__ = [
    "InstrumentError",
    "ResponseScale",
    "Domain",
    "SPJInstrument",
    "Questionnaire",
    "load_instrument",
]

_CODE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


class InstrumentError(ValueError):
    """A malformed instrument definition; ``problems`` lists every fault found."""

    def __init__(self, path: str | Path, problems: list[str]):
        self.path = str(path)
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(
            f"{self.path}: instrument definition has {len(self.problems)} problem(s):\n{lines}"
        )


@dataclass(frozen=True)
class ResponseScale:
    """Ordered categorical response codes with their scores, aliases and not-rated codes."""

    codes: tuple[str, ...]
    scores: Mapping[str, float]
    aliases: Mapping[str, str] = field(default_factory=dict)
    not_rated: tuple[str, ...] = ("",)

    def normalise(self, raw: str) -> str | None:
        """Map a raw cell to its canonical code, ``None`` for not rated; raise KeyError if unknown."""
        s = raw.strip()
        if s in self.not_rated or s.upper() in {n.upper() for n in self.not_rated}:
            return None
        if s in self.codes:
            return s
        for key in (s, s.lower()):
            if key in self.aliases:
                return self.aliases[key]
        upper = {c.upper(): c for c in self.codes}
        if s.upper() in upper:
            return upper[s.upper()]
        lower = {a.lower(): c for a, c in self.aliases.items()}
        if s.lower() in lower:
            return lower[s.lower()]
        raise KeyError(s)

    def accepted(self) -> list[str]:
        """Every spelling accepted, for error messages."""
        out = list(self.codes) + [a for a in self.aliases if a not in self.codes]
        return out + [f"{n!r} (not rated)" if n == "" else f"{n} (not rated)" for n in self.not_rated]


@dataclass(frozen=True)
class Domain:
    code: str
    label: str
    items: tuple[str, ...]
    protective: bool = False


@dataclass(frozen=True)
class SPJInstrument:
    """A structured professional judgement tool (VERA-2R, VERA-2)."""

    name: str
    version: str
    path: str
    rating: ResponseScale
    domains: tuple[Domain, ...]
    additional_scale: ResponseScale | None
    additional_groups: tuple[Domain, ...]
    summary_column: str
    summary: ResponseScale

    kind = "spj"

    @property
    def indicators(self) -> list[str]:
        return [i for d in self.domains for i in d.items]

    @property
    def additional(self) -> list[str]:
        return [i for g in self.additional_groups for i in g.items]

    @property
    def risk_domains(self) -> list[Domain]:
        return [d for d in self.domains if not d.protective]

    @property
    def protective_domains(self) -> list[Domain]:
        return [d for d in self.domains if d.protective]

    def domain_of(self, item: str) -> str:
        for d in (*self.domains, *self.additional_groups):
            if item in d.items:
                return d.code
        raise KeyError(item)

    @property
    def columns(self) -> list[str]:
        """The rating columns a ``vera_ratings`` table must have."""
        return [*self.indicators, *self.additional, self.summary_column]


@dataclass(frozen=True)
class Questionnaire:
    """A self-report questionnaire (SQ) with integer responses in ``[min, max]``."""

    name: str
    version: str
    path: str
    response_min: int
    response_max: int
    scales: tuple[Domain, ...]
    reverse_keyed: tuple[str, ...]
    placeholder: bool

    kind = "questionnaire"

    @property
    def items(self) -> list[str]:
        return [i for s in self.scales for i in s.items]

    @property
    def columns(self) -> list[str]:
        return self.items

    def scale_of(self, item: str) -> str:
        for s in self.scales:
            if item in s.items:
                return s.code
        raise KeyError(item)


# ---------------------------------------------------------------------------------------------
# loading and checking


def _scale(spec: Any, where: str, problems: list[str], *, need_scores: bool = True) -> ResponseScale | None:
    if not isinstance(spec, Mapping):
        problems.append(f"{where}: expected a mapping with 'codes', found {type(spec).__name__}")
        return None
    codes = [str(c) for c in (spec.get("codes") or [])]
    if not codes:
        problems.append(f"{where}.codes: expected a non-empty list of response codes")
    dups = sorted({c for c in codes if codes.count(c) > 1})
    for c in dups:
        problems.append(f"{where}.codes: duplicate response code {c!r}")
    scores_raw = spec.get("scores")
    scores: dict[str, float] = {}
    if scores_raw is None:
        if need_scores:
            problems.append(f"{where}.scores: expected a score for each code {codes}")
        scores = {c: float(i + 1) for i, c in enumerate(codes)}
    elif not isinstance(scores_raw, Mapping):
        problems.append(f"{where}.scores: expected a mapping code -> number")
    else:
        for k, v in scores_raw.items():
            k = str(k)
            if k not in codes:
                problems.append(f"{where}.scores: unknown response code {k!r} (codes are {codes})")
            try:
                scores[k] = float(v)
            except (TypeError, ValueError):
                problems.append(f"{where}.scores.{k}: expected a number, found {v!r}")
        for c in codes:
            if c not in scores:
                problems.append(f"{where}.scores: no score for response code {c!r}")
        ordered = [scores[c] for c in codes if c in scores]
        if not dups and len(ordered) == len(codes) and any(b <= a for a, b in zip(ordered, ordered[1:])):
            problems.append(f"{where}.scores: scores must increase in the order of the codes {codes}")
    aliases_raw = spec.get("aliases") or {}
    aliases: dict[str, str] = {}
    if not isinstance(aliases_raw, Mapping):
        problems.append(f"{where}.aliases: expected a mapping alias -> code")
    else:
        for k, v in aliases_raw.items():
            k, v = str(k), str(v)
            if v not in codes:
                problems.append(f"{where}.aliases.{k}: unknown response code {v!r} (codes are {codes})")
            if k in codes and k != v:
                problems.append(f"{where}.aliases.{k}: alias is itself a different response code")
            aliases[k] = v
    not_rated = tuple(str(x) for x in (spec.get("not_rated") or [""]))
    for n in not_rated:
        if n in codes or n in aliases:
            problems.append(f"{where}.not_rated: {n!r} is also a response code or alias")
    return ResponseScale(tuple(codes), scores, aliases, not_rated)


def _groups(spec: Any, where: str, problems: list[str], seen: dict[str, str]) -> list[Domain]:
    out: list[Domain] = []
    if not isinstance(spec, list) or not spec:
        problems.append(f"{where}: expected a non-empty list")
        return out
    codes_seen: set[str] = set()
    for n, g in enumerate(spec):
        w = f"{where}[{n}]"
        if not isinstance(g, Mapping):
            problems.append(f"{w}: expected a mapping with 'code' and 'items'")
            continue
        code = str(g.get("code", ""))
        if not code:
            problems.append(f"{w}.code: missing")
        elif code in codes_seen:
            problems.append(f"{w}.code: duplicate domain code {code!r}")
        codes_seen.add(code)
        items = [str(i) for i in (g.get("items") or [])]
        if not items:
            problems.append(f"{w}.items: expected a non-empty list of item codes")
        for it in items:
            if not _CODE.match(it):
                problems.append(f"{w}.items: item code {it!r} must start with a letter and hold only letters, digits, '_'")
            if it in seen:
                problems.append(f"{w}.items: item {it!r} is in two domains ({seen[it]!r} and {code!r})")
            else:
                seen[it] = code
        out.append(Domain(code, str(g.get("label", code)), tuple(items), bool(g.get("protective", False))))
    return out


def load_instrument(path: str | Path) -> SPJInstrument | Questionnaire:
    """Read and check one instrument definition (YAML).

    Raises
    ------
    InstrumentError
        naming the file and every problem found in it.
    FileNotFoundError
        if the file does not exist.
    """
    path = Path(path)
    try:
        spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise InstrumentError(path, [f"not valid YAML: {exc}"]) from None
    if not isinstance(spec, Mapping):
        raise InstrumentError(path, ["expected a mapping at the top level"])
    problems: list[str] = []
    kind = spec.get("kind")
    name = str(spec.get("name", ""))
    if not name:
        problems.append("name: missing")
    version = str(spec.get("version", ""))
    seen: dict[str, str] = {}
    if kind == "spj":
        rating = _scale(spec.get("rating"), "rating", problems)
        domains = _groups(spec.get("domains"), "domains", problems, seen)
        if domains and not any(d.protective for d in domains):
            problems.append("domains: no domain is marked 'protective: true'")
        add = spec.get("additional")
        add_scale, add_groups = None, []
        if add is not None:
            add_scale = _scale(add, "additional", problems)
            add_groups = _groups(add.get("groups") if isinstance(add, Mapping) else None,
                                 "additional.groups", problems, seen)
        summ = spec.get("summary")
        summary, summary_col = None, "summary_risk"
        if not isinstance(summ, Mapping):
            problems.append("summary: expected a mapping with 'column' and 'codes'")
        else:
            summary_col = str(summ.get("column", "summary_risk"))
            if summary_col in seen:
                problems.append(f"summary.column: {summary_col!r} is also an item code")
            summary = _scale(summ, "summary", problems, need_scores=False)
        if problems:
            raise InstrumentError(path, problems)
        return SPJInstrument(name, version, str(path), rating, tuple(domains), add_scale,
                             tuple(add_groups), summary_col, summary)
    if kind == "questionnaire":
        resp = spec.get("response") or {}
        lo, hi = resp.get("min"), resp.get("max")
        if not (isinstance(lo, int) and isinstance(hi, int) and lo < hi):
            problems.append(f"response: expected integers min < max, found min={lo!r}, max={hi!r}")
        scales = _groups(spec.get("scales"), "scales", problems, seen)
        rev = [str(r) for r in (spec.get("reverse_keyed") or [])]
        for r in rev:
            if r not in seen:
                problems.append(f"reverse_keyed: {r!r} is not an item of any scale")
        for r in sorted({r for r in rev if rev.count(r) > 1}):
            problems.append(f"reverse_keyed: {r!r} listed twice")
        if problems:
            raise InstrumentError(path, problems)
        return Questionnaire(name, version, str(path), lo, hi, tuple(scales), tuple(rev),
                             bool(spec.get("placeholder", False)))
    problems.append(f"kind: expected 'spj' or 'questionnaire', found {kind!r}")
    raise InstrumentError(path, problems)
