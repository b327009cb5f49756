"""The planning figure: the probability of a decided verdict against the number of cases."""

from __future__ import annotations

from typing import Mapping

import matplotlib.pyplot as plt


def decided_figure(plan: Mapping) -> plt.Figure:
    """One line a key figure (and event rate): the share of replicates whose verdict is decided (meets or
    does not meet) at each case count of the grid; a note when the simulation was not run."""
    fig, ax = plt.subplots(figsize=(6.0, 3.2))
    cells = plan.get("cells") or []
    if not plan.get("run") or not cells:
        ax.text(0.5, 0.5, "simulation not run (planning.run: false)", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        return fig
    rates = sorted({c["event_rate"] for c in cells}, key=lambda r: -1 if r is None else r)
    for label in plan.get("figures") or []:
        for rate in rates:
            pts = sorted((c["n_cases"], c["figures"][label]["decided"]) for c in cells if c["event_rate"] == rate)
            name = label if rate is None else f"{label}, event rate {rate:g}"
            ax.plot([x for x, _ in pts], [y for _, y in pts], "o-", ms=3, label=name)
    ax.axhline(0.8, color="#777777", lw=0.8, ls="--")
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("cases")
    ax.set_ylabel("share of replicates decided")
    ax.set_title("Probability of a decided verdict (simulated)", loc="left")
    ax.legend(fontsize=7, frameon=False)
    return fig
