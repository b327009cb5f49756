"""Figures of the pipeline: small, deterministic SVG files (same data -> same bytes).

Plot functions take plain numbers (never raw case data) and return a matplotlib Figure;
:func:`save_svg` writes it without a date and with a fixed id salt, so reruns are byte-identical.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Mapping, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

plt.rcParams.update({
    "svg.hashsalt": "validation",
    "svg.fonttype": "none",
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "figure.dpi": 100,
})

__all__ = ["save_svg", "item_bars", "scree", "forest", "roc_curves", "heatmap"]


def save_svg(fig: plt.Figure, path: str | Path) -> None:
    fig.savefig(path, format="svg", metadata={"Date": None, "Creator": None}, bbox_inches="tight")
    plt.close(fig)


def item_bars(labels: Sequence[str], values: Sequence[float], title: str, xlabel: str,
              reference: float | None = None, reference_label: str = "") -> plt.Figure:
    """Horizontal bars, one per item (e.g. corrected item-total correlations), with a dashed
    reference line named by ``reference_label`` (its source)."""
    n = len(labels)
    fig, ax = plt.subplots(figsize=(5.5, 0.16 * n + 1.0))  # two 22-item figures fit one printed page
    v = np.asarray(values, dtype=float)
    y = np.arange(n)[::-1]
    ax.barh(y, np.nan_to_num(v), color=["#b2182b" if (reference is not None and x < reference) else "#2166ac"
                                         for x in np.nan_to_num(v)])
    ax.set_yticks(y, labels)
    if reference is not None:
        ax.axvline(reference, color="grey", lw=0.8, ls="--", label=reference_label or None)
        if reference_label:
            ax.legend(loc="lower right", frameon=False, fontsize=8)
    ax.set_xlabel(xlabel)
    ax.set_title(title, loc="left")
    return fig


def scree(observed: Sequence[float], parallel: Sequence[float] | None, title: str) -> plt.Figure:
    """Eigenvalues against their rank, with the parallel-analysis curve when given."""
    fig, ax = plt.subplots(figsize=(5.5, 3.4))
    x = np.arange(1, len(observed) + 1)
    ax.plot(x, observed, "o-", ms=3, color="#2166ac", label="observed")
    if parallel is not None:
        ax.plot(x[: len(parallel)], parallel, "--", color="#b2182b", label="parallel analysis (95th percentile)")
    ax.axhline(1.0, color="grey", lw=0.6, ls=":")
    ax.set_xlabel("factor / component")
    ax.set_ylabel("eigenvalue")
    ax.set_title(title, loc="left")
    ax.legend(frameon=False)
    return fig


def forest(labels: Sequence[str], est: Sequence[float], lower: Sequence[float], upper: Sequence[float],
           title: str, xlabel: str, bands: Mapping[str, tuple[float, float]] | None = None,
           xlim: tuple[float, float] = (-0.2, 1.0)) -> plt.Figure:
    """Point estimates with intervals, one row each, over shaded interpretation bands."""
    n = len(labels)
    fig, ax = plt.subplots(figsize=(6.0, 0.22 * n + 1.2))
    y = np.arange(n)[::-1]
    if bands:
        shades = ["#f7f7f7", "#e0e0e0", "#cccccc", "#b0b0b0"]
        for i, (name, (lo, hi)) in enumerate(bands.items()):
            ax.axvspan(lo, hi, color=shades[i % len(shades)], lw=0, zorder=0)
            ax.text((lo + hi) / 2, n - 0.2, name, ha="center", va="bottom", fontsize=7, color="#444444")
    e = np.asarray(est, dtype=float)
    lo = np.asarray(lower, dtype=float)
    hi = np.asarray(upper, dtype=float)
    ok = np.isfinite(e)
    ax.hlines(y[ok], lo[ok], hi[ok], color="#2166ac", lw=1.2, zorder=2)
    ax.plot(e[ok], y[ok], "o", ms=3.5, color="#2166ac", zorder=3)
    ax.set_yticks(y, labels)
    ax.set_xlim(*xlim)
    ax.set_ylim(-0.8, n + 0.6)
    ax.set_xlabel(xlabel)
    ax.set_title(title, loc="left")
    return fig


def roc_curves(curves: Mapping[str, tuple[Sequence[float], Sequence[float]]], title: str,
               points: Mapping[str, tuple[float, float]] | None = None) -> plt.Figure:
    """ROC curves (false-positive rate, sensitivity) with the chance line and marked points."""
    fig, ax = plt.subplots(figsize=(4.6, 4.4))
    ax.plot([0, 1], [0, 1], color="grey", lw=0.8, ls="--", label="chance")
    for name, (fpr, tpr) in curves.items():
        ax.step(fpr, tpr, where="post", lw=1.3, label=name)
    for name, (fx, fy) in (points or {}).items():
        ax.plot([fx], [fy], "o", ms=5, color="black")
        ax.annotate(name, (fx, fy), textcoords="offset points", xytext=(5, -10), fontsize=7)
    ax.set_xlabel("1 - specificity")
    ax.set_ylabel("sensitivity")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.01)
    ax.set_aspect("equal")
    ax.set_title(title, loc="left")
    ax.legend(frameon=False, fontsize=7, loc="lower right")
    return fig


def heatmap(values, row_labels: Sequence[str], col_labels: Sequence[str], title: str,
            row_groups: Sequence[str] | None = None, vmax: float = 1.0, rows_per_panel: int = 34) -> plt.Figure:
    """A loadings-style heat map (diverging colours centred on 0), with an optional group label per
    row; long tables are split into side-by-side panels of ``rows_per_panel`` rows so that the
    labels stay legible when the figure is printed on A4 (8-point labels, 7-point values)."""
    v = np.asarray(values, dtype=float)
    n, m = v.shape
    labels = [f"{r}  ({g})" for r, g in zip(row_labels, row_groups)] if row_groups is not None else list(row_labels)
    panels = max(1, math.ceil(n / rows_per_panel))
    per = math.ceil(n / panels)
    width = 1.9 + 0.7 * m + (0.5 if row_groups is not None else 0)
    fig, axes = plt.subplots(1, panels, figsize=(width * panels + 0.6, 0.2 * per + 1.3), squeeze=False,
                             gridspec_kw={"wspace": 1.1})     # room for the next panel's labels
    im = None
    for p, ax in enumerate(axes[0]):
        rows = range(p * per, min(n, (p + 1) * per))
        block = v[list(rows)]
        im = ax.imshow(block, cmap="RdBu_r", vmin=-vmax, vmax=vmax, aspect="auto")
        ax.set_yticks(np.arange(len(rows)), [labels[i] for i in rows], fontsize=8)
        ax.set_xticks(np.arange(m), [str(c).replace(" (", "\n(") for c in col_labels], fontsize=8)
        ax.xaxis.tick_top()
        for i in range(len(rows)):
            for j in range(m):
                if abs(block[i, j]) >= 0.3:
                    ax.text(j, i, f"{block[i, j]:.2f}", ha="center", va="center", fontsize=7,
                            color="white" if abs(block[i, j]) > 0.6 else "black")
    fig.colorbar(im, ax=list(axes[0]), fraction=0.03, pad=0.02)
    fig.suptitle(title + ("  (loadings of at least 0.30 printed)"), x=0.01, ha="left", fontsize=10)
    return fig
