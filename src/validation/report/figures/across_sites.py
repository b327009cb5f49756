"""The across-sites figure: a forest plot of the sites' estimates, their weights, the pooled diamond
and the prediction interval."""

from __future__ import annotations

import io
import math
from typing import Mapping

import matplotlib.pyplot as plt
import numpy as np

from scipy.stats import norm

from validation.stats.meta import from_scale, to_scale


def forest_svg(rec: Mapping, null_value: float | None = None, cutoff: float | None = None) -> str:
    """SVG text of the forest plot of one pooled figure (sites with intervals at the figure's level, on its pooling
    scale, squares sized by weight; the pooled estimate as a diamond; the prediction interval as a bar)."""
    sites = list(rec.get("site_estimates") or [])
    scale = rec.get("scale", "identity")
    n = len(sites)
    fig, ax = plt.subplots(figsize=(6.0, 0.28 * (n + 3) + 0.9))
    y_sites = np.arange(n + 2, 2, -1) if n else np.array([])
    weights = rec.get("weights") or []
    z = float(norm.ppf(0.5 + float(rec.get("ci_level") or 0.95) / 2))   # the sites' intervals at the figure's level
    for i, (row, yv) in enumerate(zip(sites, y_sites)):
        zs, vz = to_scale(row["estimate"], row["variance"], scale)
        lo, hi = from_scale(zs - z * math.sqrt(vz), scale), from_scale(zs + z * math.sqrt(vz), scale)
        ax.hlines(yv, lo, hi, color="#4d4d4d", lw=1.0)
        size = 3.0 + (0.25 * weights[i] if i < len(weights) else 3.0)
        ax.plot(row["estimate"], yv, "s", ms=min(size, 12.0), color="#2166ac")
    est, lo, hi = rec["estimate"], rec.get("ci_lower"), rec.get("ci_upper")
    if lo is not None and hi is not None:
        ax.fill([lo, est, hi, est], [1.0, 1.25, 1.0, 0.75], color="#b2182b", zorder=3)
    if rec.get("pi_lower") is not None:
        ax.hlines(0.3, rec["pi_lower"], rec["pi_upper"], color="#b2182b", lw=2.0, linestyles="dashed")
    left, right = ax.get_xlim()
    for x, style in ((null_value, ":"), (cutoff, "--")):   # reference lines only where the data are
        if x is not None and left <= x <= right:
            ax.axvline(x, color="#777777", lw=0.8, ls=style)
    ax.set_xlim(left, right)
    labels = [r["site"] for r in sites] + [("pooled (exact)" if rec.get("pooling") == "exact" else "pooled"),
                                           "prediction interval" if rec.get("pi_lower") is not None else ""]
    ax.set_yticks(list(y_sites) + [1.0, 0.3], labels)
    ax.set_ylim(-0.3, n + 3)
    ax.set_xlabel(rec["label"])
    ax.set_title(rec["label"], loc="left")
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None}, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()
