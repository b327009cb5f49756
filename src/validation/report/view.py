"""What the report says, as data: the sections build these objects from the metrics and the Jinja2
templates in ``templates/`` turn them into HTML (autoescaped).

No HTML is written in Python: text is plain text (``"<5"``, not ``"&lt;5"``) and the template
escapes it. Inline emphasis, links and verdict badges are :class:`Run` pieces of a line; a page
is a list of :class:`Section` objects holding blocks (:class:`Heading`, :class:`Para`,
:class:`Bullets`, :class:`Table`, :class:`Figure`).

Examples
--------
>>> p = Para(line("n = ", b("<5"), " ", badge("meets")))
>>> [(r.text, r.style) for r in p.text]
[('n = ', ''), ('<5', 'b'), (' ', ''), ('meets', 'badge')]
"""

from __future__ import annotations

import dataclasses
from typing import Any, Iterable, Mapping, Sequence


__all__ = ["Run", "Line", "line", "b", "code", "mono", "muted", "ne", "link", "badge", "BR",
           "Heading", "Para", "Bullets", "Table", "Figure", "Section", "Block"]


@dataclasses.dataclass(frozen=True)
class Run:
    """A piece of a line: plain ``text`` with a ``style`` and, for a link, an ``href`` inside the page.

    Styles: ``""`` (plain), ``"b"`` (bold), ``"code"``, ``"mono"``, ``"muted"``, ``"ne"`` (not
    estimable), ``"badge"`` (a verdict; the text is the verdict), ``"br"`` (a line break).
    """

    text: str = ""
    style: str = ""
    href: str = ""


Line = tuple[Run, ...]


def line(*parts: Any) -> Line:
    """A line from pieces: strings become plain runs, runs are kept, lines and other tuples or lists
    of pieces are spliced in, None and empty strings are dropped."""
    out: list[Run] = []
    for p in parts:
        if p is None or p == "":
            continue
        if isinstance(p, Run):
            out.append(p)
        elif isinstance(p, (tuple, list)):
            out.extend(line(*p))
        else:
            out.append(Run(str(p)))
    return tuple(out)


def join(items: Iterable[Any], sep: str = ", ") -> Line:
    """The items (strings, runs or lines) separated by ``sep``."""
    out: list[Any] = []
    for i, item in enumerate(items):
        if i:
            out.append(sep)
        out.append(item)
    return line(*out)


def b(text: Any) -> Run:
    return Run(str(text), "b")


def code(text: Any) -> Run:
    return Run(str(text), "code")


def mono(text: Any) -> Run:
    return Run(str(text), "mono")


def muted(text: Any) -> Run:
    return Run(str(text), "muted")


def ne(why: Any) -> Run:
    """``not estimable: why`` (the reason as recorded, without a repeated prefix)."""
    text = str(why.get("not_estimable") if isinstance(why, Mapping) else why)
    while text.startswith("not estimable:"):
        text = text[len("not estimable:"):].lstrip()
    return Run(f"not estimable: {text}", "ne")


def link(text: Any, anchor: str) -> Run:
    return Run(str(text), "", f"#{anchor}")


def badge(verdict: str) -> Run:
    return Run(str(verdict), "badge")


BR = Run("", "br")


# ---------------------------------------------------------------------------------------------
# blocks


@dataclasses.dataclass(frozen=True)
class Heading:
    level: int
    text: Line
    id: str = ""
    cls: str = ""
    kind: str = "heading"


@dataclasses.dataclass(frozen=True)
class Para:
    """A paragraph; ``cls``: ``""``, ``"muted"``, ``"method"``, ``"warn"``, ``"tally"``, ``"alarm"``."""

    text: Line
    cls: str = ""
    kind: str = "para"


@dataclasses.dataclass(frozen=True)
class Bullets:
    items: tuple[Line, ...]
    cls: str = ""
    kind: str = "bullets"


@dataclasses.dataclass(frozen=True)
class Table:
    """A table. Cells are lines; the columns in ``left`` align left (text), the others right (numbers)."""

    header: tuple[Line, ...]
    rows: tuple[tuple[Line, ...], ...]
    left: frozenset[int] = frozenset({0})
    cls: str = ""
    kind: str = "table"


@dataclasses.dataclass(frozen=True)
class Figure:
    """An inline SVG figure, already made safe by :func:`validation.report.html.svg_clean`."""

    svg: str
    caption: str
    id: str
    kind: str = "figure"


Block = Heading | Para | Bullets | Table | Figure


@dataclasses.dataclass(frozen=True)
class Section:
    id: str
    blocks: tuple[Block, ...]
    cls: str = ""


def table(header: Sequence[Any], rows: Iterable[Sequence[Any]], left: int = 1, cls: str = "",
          also_left: Iterable[int] = ()) -> Table:
    """A :class:`Table` from header and rows of pieces (strings, runs or lines). The first ``left``
    columns and those in ``also_left`` (negative: from the end) align left."""
    header = [line(h) for h in header]
    n = len(header)
    lefts = frozenset(set(range(left)) | ({i % n for i in also_left} if n else set()))
    return Table(tuple(header), tuple(tuple(line(c) for c in r) for r in rows), lefts, cls)


def section(id: str, *blocks: Block | Iterable[Block] | None, cls: str = "") -> Section:
    """A section from blocks (None and empty lists are dropped, lists are flattened)."""
    out: list[Block] = []
    for blk in blocks:
        if blk is None:
            continue
        if isinstance(blk, (list, tuple)):
            out.extend(x for x in blk if x is not None)
        else:
            out.append(blk)
    return Section(id, tuple(out), cls)
