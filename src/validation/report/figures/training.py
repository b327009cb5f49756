"""The rater-training figures: each trainee's agreement with the key (a caterpillar plot), the indicators
on each vignette (a heat map), trainee severity and indicator shift on one scale, before and after by arm,
and the certification rule's operating characteristics."""

from __future__ import annotations

from typing import Any, Iterator, Mapping

import matplotlib.pyplot as plt
import numpy as np

COLOURS = {"certified": "#1a7f37", "not yet": "#cf222e", "undecided": "#9a6700"}


def _cutoff(p: Any, measure: str) -> float | None:
    for rule in p.certification:
        if rule.measure == measure and rule.min is not None:
            return float(rule.min)
    return None


def caterpillar(metrics: Mapping, p: Any) -> plt.Figure:
    """Each trainee's exact agreement on the indicators with its interval, sorted, coloured by decision."""
    rows = metrics.get("trainees_exact") or []
    fig, ax = plt.subplots(figsize=(6.4, 3.2))
    x = np.arange(len(rows))
    for decision, colour in COLOURS.items():
        sel = [i for i, r in enumerate(rows) if r["decision"] == decision]
        if not sel:
            continue
        est = np.array([rows[i]["estimate"] for i in sel])
        lo = np.array([rows[i]["ci_lower"] for i in sel])
        hi = np.array([rows[i]["ci_upper"] for i in sel])
        ax.errorbar(x[sel], est, yerr=np.vstack([est - lo, hi - est]), fmt="o", ms=3, lw=0.8, color=colour,
                    label=decision)
    cut = _cutoff(p, "exact, indicators")
    if cut is not None:
        ax.axhline(cut, color="#57606a", lw=0.8, ls="--")
    ax.set_xticks([])
    ax.set_xlabel("trainees, by their agreement (last occasion)")
    ax.set_ylabel("exact agreement with the key")
    ax.set_title("Each trainee against the key, with the certification cut-off", loc="left")
    ax.legend(fontsize=7, frameon=False)
    return fig


def heatmap(metrics: Mapping) -> plt.Figure:
    """The share of trainees matching the key, vignette (rows) by indicator (columns), last occasion."""
    h = metrics.get("heatmap") or {}
    share = np.array(h.get("share") or [[np.nan]], dtype=float).T
    fig, ax = plt.subplots(figsize=(6.8, 2.9))
    im = ax.imshow(share, aspect="auto", cmap="viridis", vmin=0, vmax=1)
    ax.set_xticks(range(len(h.get("indicators") or [])), h.get("indicators") or [], fontsize=5, rotation=90)
    ax.set_yticks(range(len(h.get("vignettes") or [])), h.get("vignettes") or [], fontsize=5)
    ax.set_title("Share of trainees matching the key", loc="left")
    fig.colorbar(im, ax=ax, shrink=0.8, label="share matching")
    return fig


def before_after(metrics: Mapping) -> plt.Figure:
    """The mean exact agreement before and after, by arm."""
    by_arm = ((metrics.get("change") or {}).get("by_arm")) or {}
    fig, ax = plt.subplots(figsize=(4.2, 3.0))
    for arm, v in sorted(by_arm.items()):
        ax.plot([0, 1], [v["before"], v["after"]], "o-", label=arm)
    ax.set_xticks([0, 1], ["before", "after"])
    ax.set_ylabel("mean exact agreement")
    ax.set_title("Before and after, by arm", loc="left")
    ax.legend(fontsize=7, frameon=False)
    return fig


def operating(metrics: Mapping) -> plt.Figure:
    """The probability of certification against the true exact agreement, one line per number of vignettes."""
    oc = metrics.get("operating_characteristics") or []
    fig, ax = plt.subplots(figsize=(5.0, 3.2))
    for n in sorted({r["vignettes"] for r in oc}):
        pts = sorted((r["true_exact"], r["p_certified"]) for r in oc if r["vignettes"] == n)
        ax.plot([a for a, _ in pts], [b for _, b in pts], "o-", ms=3, label=f"{n} vignettes")
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("true exact agreement of the trainee")
    ax.set_ylabel("probability certified")
    ax.set_title("Operating characteristics of the certification rule", loc="left")
    ax.legend(fontsize=7, frameon=False)
    return fig


def facets(metrics: Mapping) -> plt.Figure:
    """Trainee severity (sorted) and each indicator's shift on one logit scale, with their intervals."""
    f = metrics.get("facets") or {}
    trainees = f.get("trainees") or []
    inds = sorted((f.get("indicators") or {}).items(), key=lambda kv: kv[1]["estimate"])
    fig, (left, right) = plt.subplots(1, 2, figsize=(7.2, 3.4), sharey=True, width_ratios=[1, 1.6])
    for ax, rows in ((left, trainees), (right, [v for _, v in inds])):
        est = np.array([r["estimate"] for r in rows])
        lo = np.array([r["ci_lower"] for r in rows])
        hi = np.array([r["ci_upper"] for r in rows])
        ax.errorbar(np.arange(len(rows)), est, yerr=np.vstack([est - lo, hi - est]), fmt="o", ms=2.5, lw=0.7,
                    color="#0969da")
        ax.axhline(0, color="#57606a", lw=0.8, ls="--")
    left.set_xticks([])
    left.set_xlabel("trainees, by severity")
    left.set_ylabel("logits (above 0: rated higher than the key)")
    left.set_title("Trainee severity", loc="left")
    right.set_xticks(range(len(inds)), [i for i, _ in inds], fontsize=5, rotation=90)
    right.set_title("Indicator shift", loc="left")
    return fig


def training_figures(metrics: Mapping, p: Any) -> Iterator[tuple[str, plt.Figure]]:
    yield "caterpillar.svg", caterpillar(metrics, p)
    yield "indicators.svg", heatmap(metrics)
    if (metrics.get("facets") or {}).get("trainees"):
        yield "facets.svg", facets(metrics)
    if metrics.get("change"):
        yield "before_after.svg", before_after(metrics)
    yield "operating.svg", operating(metrics)
