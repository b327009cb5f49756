"""Figures of the ``predictive`` stage: ROC curves, Kaplan-Meier curves by risk band with the
numbers at risk, and the observed outcome rate per risk band.

Plot functions take plain numbers (never case data) and return a matplotlib Figure; write it with
:func:`save_svg` (re-exported from :mod:`validation.figures`), which keeps reruns byte-identical.
Counts shown in a figure go through :func:`count_label`, so a count of fewer than ``k`` cases is
printed as ``<k`` and never as the number itself.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

from validation.report.figures import roc_curves, save_svg

__all__ = ["save_svg", "count_label", "roc_figure", "km_figure", "calibration_figure"]

_BAND_COLOURS = ("#4393c3", "#f4a582", "#b2182b", "#762a83", "#1b7837")


def count_label(n: int | None, k: int) -> str:
    """A count for a figure: ``"<k"`` when 0 < n < k (small cells are not shown), else the number."""
    if n is None:
        return "-"
    n = int(n)
    return f"<{k}" if 0 < n < k else f"{n:,}"


def roc_figure(curves: Mapping[str, tuple[Sequence[float], Sequence[float]]], title: str,
               points: Mapping[str, tuple[float, float]] | None = None) -> plt.Figure:
    """ROC curves with the chance line and marked operating points (e.g. the bands of a summary
    judgement).

    ``curves`` maps a legend label to (false-positive rate, sensitivity), both sorted ascending.
    The points of a curve are joined by straight segments: between two adjacent thresholds the
    empirical curve is the straight line of the trapezoidal rule, which is what the AUC (ties
    counting one half) measures.
    """
    fig = roc_curves(curves, title, points)
    for line in fig.axes[0].lines:
        if str(line.get_drawstyle()).startswith("steps"):
            line.set_drawstyle("default")
    return fig


def km_figure(curves: Mapping[str, tuple[Sequence[float], Sequence[float]]], title: str,
              risk_times: Sequence[float], at_risk: Mapping[str, Sequence[int | None]], k: int,
              xlabel: str = "years since assessment", ylabel: str = "event-free (Kaplan-Meier)") -> plt.Figure:
    """Kaplan-Meier step curves, one per band, with the numbers at risk in a table under the plot.

    ``curves`` maps a band label (legend text) to (times, survival) at the steps, starting at
    (0, 1); ``at_risk`` maps the same labels to the numbers at risk at ``risk_times`` (None where a
    time lies after the band's last follow-up). Counts below ``k`` are printed as ``<k``.
    """
    names = list(curves)
    fig = plt.figure(figsize=(5.6, 3.6 + 0.18 * len(names)))
    gs = fig.add_gridspec(2, 1, height_ratios=[4.0, 0.35 + 0.22 * len(names)], hspace=0.42)
    ax = fig.add_subplot(gs[0])
    tab = fig.add_subplot(gs[1], sharex=ax)
    lowest = 1.0
    for i, name in enumerate(names):
        t, s = (np.asarray(v, dtype=float) for v in curves[name])
        ax.step(t, s, where="post", lw=1.3, color=_BAND_COLOURS[i % len(_BAND_COLOURS)], label=name)
        if s.size:
            lowest = min(lowest, float(np.nanmin(s)))
    tmax = max([float(np.max(curves[n][0])) for n in names if len(curves[n][0])] + [float(max(risk_times or [1]))])
    ax.set_xlim(0, tmax * 1.02)
    ax.set_ylim(max(0.0, min(0.8, lowest - 0.05)), 1.005)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, loc="left")
    ax.legend(frameon=False, fontsize=7, loc="lower left")
    tab.set_ylim(-0.5, len(names) - 0.5)
    tab.axis("off")
    for i, name in enumerate(names):
        y = len(names) - 1 - i
        tab.text(-0.07, y, name.split(":")[0], transform=tab.get_yaxis_transform(), ha="right", va="center",
                 fontsize=7, color=_BAND_COLOURS[i % len(_BAND_COLOURS)])
        for x, n in zip(risk_times, at_risk.get(name, [])):
            tab.text(x, y, count_label(n, k), ha="center", va="center", fontsize=7)
    tab.set_title("number at risk", loc="left", fontsize=7)
    return fig


def calibration_figure(bands: Sequence[str], rate: Sequence[float | None], lower: Sequence[float | None],
                       upper: Sequence[float | None], events: Sequence[int], n: Sequence[int], title: str,
                       k: int, ylabel: str = "observed rate") -> plt.Figure:
    """Observed outcome rate per band with its interval, the events and cases written under each bar
    (counts below ``k`` as ``<k``)."""
    m = len(bands)
    fig, ax = plt.subplots(figsize=(0.9 * m + 2.4, 3.2))
    x = np.arange(m)
    r = np.array([np.nan if v is None else v for v in rate], dtype=float)
    lo = np.array([np.nan if v is None else v for v in lower], dtype=float)
    hi = np.array([np.nan if v is None else v for v in upper], dtype=float)
    ok = np.isfinite(r)
    ax.bar(x[ok], r[ok], width=0.6, color=[_BAND_COLOURS[i % len(_BAND_COLOURS)] for i in np.flatnonzero(ok)])
    both = ok & np.isfinite(lo) & np.isfinite(hi)
    ax.errorbar(x[both], r[both], yerr=[r[both] - lo[both], hi[both] - r[both]], fmt="none", ecolor="black",
                elinewidth=1.0, capsize=3)
    labels = [f"{b}\n{count_label(e, k)} / {count_label(c, k)}" for b, e, c in zip(bands, events, n)]
    ax.set_xticks(x, labels)
    top = np.nanmax(np.concatenate([hi[np.isfinite(hi)], r[ok], [0.05]]))
    ax.set_ylim(0, min(1.0, top * 1.15))
    ax.set_ylabel(ylabel)
    ax.set_xlabel("band (events / cases)")
    ax.set_title(title, loc="left")
    return fig
