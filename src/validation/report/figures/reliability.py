"""Figures of the ``reliability`` stage: the corrected item-total correlations of each VERA domain
and SQ scale, drawn from the stage's metrics (plain numbers, never case data)."""

from __future__ import annotations

from typing import Iterator, Mapping

from validation.report.figures import item_bars, plt

__all__ = ["reliability_figures"]


def reliability_figures(blocks: Mapping[str, Mapping[str, Mapping]]) -> Iterator[tuple[str, plt.Figure]]:
    """Item-rest correlation bars as (file name, Figure), one at a time so each can be saved and
    closed before the next is drawn.

    ``blocks`` maps an instrument's short name (``vera``, ``sq``) to its domains or scales as in the
    metrics (code -> block with ``overall.alpha.items``); a block whose alpha was declined has no
    figure.
    """
    for group, by_code in blocks.items():
        for code, block in by_code.items():
            alpha = block["overall"]["alpha"]
            if "not_estimable" in alpha:
                continue
            labels = list(alpha["items"])
            values = [it["r_drop"] for it in alpha["items"].values()]
            yield f"item_total_{group}_{code}.svg", item_bars(
                labels, values, f"{group.upper()} {code}: corrected item-total correlation",
                "item-rest correlation (r.drop)", reference=0.3,
                reference_label="0.30: Nunnally & Bernstein (1994)")
