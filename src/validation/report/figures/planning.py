"""The planning figure: the probability of a decided verdict against the number of cases."""

from __future__ import annotations

from typing import Mapping

import matplotlib.pyplot as plt


def decided_figure(plan: Mapping) -> plt.Figure:
    """One line a key figure (and event rate and raters per case): the share of replicates whose verdict is decided (meets or
    does not meet) at each case count of the grid; a note when the simulation was not run."""
    fig, ax = plt.subplots(figsize=(6.0, 3.2))
    cells = plan.get("cells") or []
    if not plan.get("run") or not cells:
        ax.text(0.5, 0.5, "simulation not run (planning.run: false)", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        return fig
    def design(c: Mapping) -> tuple:
        return c.get("event_rate"), c.get("raters_per_case")

    designs = sorted({design(c) for c in cells}, key=lambda d: tuple(-1 if v is None else v for v in d))
    for label in plan.get("figures") or []:
        for rate, raters in designs:
            pts = sorted((c["n_cases"], c["figures"][label]["decided"]) for c in cells if design(c) == (rate, raters))
            name = label + (f", event rate {rate:g}" if rate is not None else "") + (
                f", {raters:g} raters a case" if raters is not None else "")
            ax.plot([x for x, _ in pts], [y for _, y in pts], "o-", ms=3, label=name)
    ax.axhline(0.8, color="#777777", lw=0.8, ls="--")
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("cases")
    ax.set_ylabel("share of replicates decided")
    ax.set_title("Probability of a decided verdict (simulated)", loc="left")
    ax.legend(fontsize=7, frameon=False)
    return fig
