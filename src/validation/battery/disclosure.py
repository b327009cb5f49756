"""Disclosure control of published counts: primary and complementary cell suppression.

A published table of case counts is a set of cells and of published linear facts about them
(margins, totals, and rates whose denominator is published). Counts of 1 to k-1 cases are
suppressed (primary suppression); then every suppressed cell that the published facts still
determine -- e.g. the one suppressed cell of a row whose total is printed -- gets a partner:
the smallest published non-zero cell sharing a fact with it is suppressed too (complementary
suppression), until no suppressed cell can be solved for (Hundepool et al. 2012, ch. 4).

:func:`attack` plays the intruder: from everything published it bounds each suppressed cell by
linear programming (non-negative counts, every published fact an equation). A cell is disclosed
when its integer bounds meet. :func:`protect` suppresses until :func:`attack` finds nothing.

Suppressed cells are published as ``"<k"`` (primary) or ``"*"`` (complementary).

References
----------
Hundepool, A., Domingo-Ferrer, J., Franconi, L., Giessing, S., Schulte Nordholt, E., Spicer, K. &
de Wolf, P.-P. (2012). Statistical Disclosure Control. Wiley.

Examples
--------
Cases by site with the total printed: one small site would follow from the total, so the smallest
other site is hidden too.

>>> protect_line({"S1": 37, "S2": 3, "S3": 9}, k=5)
{'S1': 37, 'S2': '<5', 'S3': '*'}
"""

from __future__ import annotations

import math
from typing import Any, Hashable, Iterable, Mapping, Sequence

import numpy as np
from scipy.optimize import linprog

__all__ = ["COMPLEMENTARY", "Undisclosable", "withheld", "protect_or_withhold", "primary", "protect", "attack", "protect_line", "protect_table",
           "is_suppressed", "marker"]

COMPLEMENTARY = "*"

# a published linear fact: sum(coefficient * cell) = value
Fact = tuple[Mapping[Hashable, float], float]


class Undisclosable(ValueError):
    """No suppression pattern protects the table while its totals stay published."""


def marker(k: int) -> str:
    """How a primary-suppressed count is published."""
    return f"<{k}"


def is_suppressed(value: Any) -> bool:
    """Whether a published value stands for a suppressed count (``"<k"`` or ``"*"``)."""
    return isinstance(value, str) and (value == COMPLEMENTARY or value.startswith("<"))


def primary(n: Any, k: int) -> bool:
    """A count of 1 to k-1 cases."""
    return isinstance(n, (int, np.integer)) and not isinstance(n, bool) and 0 < int(n) < k


def attack(cells: Mapping[Hashable, int], hidden: Mapping[Hashable, str] | Iterable[Hashable],
           facts: Sequence[Fact]) -> dict:
    """Integer bounds ``(low, high)`` of each hidden cell from what is published.

    The intruder knows every cell not hidden, that counts are non-negative whole numbers, that a
    cell shown as ``"<k"`` holds 1 to k-1 cases, and each fact ``sum(c * cell) = value``. A cell
    with ``low == high`` is disclosed. ``hidden``: ``{cell: marker}`` (a bare collection of cells
    means markers that say nothing, as for cells never printed).
    """
    marks = dict(hidden) if isinstance(hidden, Mapping) else dict.fromkeys(hidden, "")
    unknown = [c for c in cells if c in marks]
    if not unknown:
        return {}
    index = {c: i for i, c in enumerate(unknown)}
    box = []
    for c in unknown:
        m = marks[c]
        box.append((1, int(m[1:]) - 1) if isinstance(m, str) and m.startswith("<") else (0, None))
    a_eq, b_eq = [], []
    for coefs, value in facts:
        row = np.zeros(len(unknown))
        rhs = float(value)
        touches = False
        for cell, coef in coefs.items():
            if cell in index:
                row[index[cell]] += coef
                touches = True
            else:
                rhs -= coef * float(cells[cell])
        if touches:
            a_eq.append(row)
            b_eq.append(rhs)
    out = {}
    for c, i in index.items():
        goal = np.zeros(len(unknown))
        goal[i] = 1.0
        ends = []
        for sign in (1.0, -1.0):
            res = linprog(sign * goal, A_eq=np.array(a_eq) if a_eq else None, b_eq=np.array(b_eq) if b_eq else None,
                          bounds=box, method="highs")
            if res.status == 3:                       # unbounded above
                ends.append(math.inf)
            elif res.status != 0:
                raise ValueError(f"the published facts are inconsistent: {res.message}")
            else:
                ends.append(sign * res.fun)
        low, high = ends
        out[c] = (math.ceil(low - 1e-7), math.inf if math.isinf(high) else math.floor(high + 1e-7))
    return out


def disclosed(cells: Mapping[Hashable, int], hidden: Mapping[Hashable, str] | Iterable[Hashable],
              facts: Sequence[Fact]) -> list:
    """The hidden cells that :func:`attack` pins to one value."""
    return [c for c, (lo, hi) in attack(cells, hidden, facts).items() if lo == hi]


def protect(cells: Mapping[Hashable, int], facts: Sequence[Fact], k: int,
            unpublished: Iterable[Hashable] = ()) -> dict[Hashable, str]:
    """Primary then complementary suppression: ``{cell: "<k" or "*"}`` for every cell to hide.

    ``unpublished``: cells that appear only through the facts (e.g. the non-events of a band whose
    size and events are printed); they are never printed, but an intruder may solve for them.
    Complementary cells are chosen one at a time: for a disclosed cell, the smallest published
    non-zero cell sharing a fact with it (ties by order), until :func:`attack` finds nothing.
    """
    if int(k) != k or k < 1:
        raise ValueError(f"k must be a whole number of at least 1, got {k!r}")
    unknown = set(unpublished)
    hidden = {c: marker(k) for c, n in cells.items() if primary(n, k) and c not in unknown}
    order = {c: i for i, c in enumerate(cells)}
    while True:
        leaks = [c for c in disclosed(cells, {**dict.fromkeys(unknown, ""), **hidden}, facts) if c in hidden]
        if not leaks:
            return hidden
        # a partner for a disclosed cell: a shown cell sharing a fact with it, else with any hidden
        # cell (the disclosure may run through a chain of facts)
        partners: list = []
        for pool in (leaks, list(hidden)):
            shown = [c for coefs, _ in facts if any(x in coefs for x in pool) for c in coefs
                     if c not in hidden and c not in unknown and c in cells]
            partners = [c for c in shown if int(cells[c]) > 0] or shown    # a 0 is a count too, if need be
            if partners:
                break
        if not partners:
            raise Undisclosable(f"cell {leaks[0]!r} cannot be protected at k = {k}: every cell sharing a "
                                "published total with it is already hidden; withhold the table or its totals")
        best = min(partners, key=lambda c: (int(cells[c]), order[c]))
        hidden[best] = COMPLEMENTARY


def protect_line(counts: Mapping[Hashable, int], k: int, total: bool = True) -> dict[Hashable, Any]:
    """The counts of one variable, suppressed; ``total``: their sum is published beside them.
    Raises :class:`Undisclosable` when no pattern protects them (e.g. two categories under k whose
    total is printed)."""
    cells = {c: int(n) for c, n in counts.items()}
    facts = [(dict.fromkeys(cells, 1.0), float(sum(cells.values())))] if total else []
    hidden = protect(cells, facts, k)
    return {c: hidden.get(c, n) for c, n in cells.items()}


def protect_table(table: Mapping[Hashable, Mapping[Hashable, int]], k: int, row_totals: bool = True,
                  column_totals: bool = True) -> dict[Hashable, dict[Hashable, Any]]:
    """A two-way table ``{row: {column: count}}`` suppressed, with its row and/or column totals
    published beside it (absent cells count as 0)."""
    cols = list(dict.fromkeys(c for row in table.values() for c in row))
    cells = {(r, c): int(table[r].get(c, 0)) for r in table for c in cols}
    facts: list[Fact] = []
    if row_totals:
        facts += [({(r, c): 1.0 for c in cols}, float(sum(cells[(r, c)] for c in cols))) for r in table]
    if column_totals:
        facts += [({(r, c): 1.0 for r in table}, float(sum(cells[(r, c)] for r in table))) for c in cols]
    hidden = protect(cells, facts, k)
    # a hidden zero is printed as hidden: leaving it out would print it as 0
    return {r: {c: hidden.get((r, c), cells[(r, c)])
                for c in [*table[r], *(c for c in cols if c not in table[r] and (r, c) in hidden)]}
            for r in table}


def withheld(k: int) -> dict[str, str]:
    """What is published instead of a breakdown that cannot be protected."""
    return {"withheld": f"too few cases to publish this breakdown with counts of fewer than {k} hidden"}


def protect_or_withhold(counts: Mapping[Hashable, int], k: int, total: bool = True) -> dict[Hashable, Any]:
    """:func:`protect_line`, or :func:`withheld` when the line cannot be protected."""
    try:
        return protect_line(counts, k, total)
    except Undisclosable:
        return withheld(k)
