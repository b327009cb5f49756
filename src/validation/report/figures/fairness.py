"""The predictive-fairness figures, from ``fairness.json`` alone: the AUC and Harrell's C of each group (a
forest plot per grouping variable), each group's predicted risk against the score beside the pooled model's
(the curves of Cleary's interaction model), and the observed against the predicted risk by band."""

from __future__ import annotations

from typing import Any, Iterator, Mapping

import matplotlib.pyplot as plt
import numpy as np

PALETTE = ("#0969da", "#cf222e", "#1a7f37", "#9a6700", "#8250df", "#57606a", "#bc4c00", "#116329")


def _estimable(v: Mapping) -> bool:
    return all(isinstance(v.get(k), (int, float)) for k in ("auc", "ci_lower", "ci_upper"))


def forest(metrics: Mapping) -> plt.Figure:
    """Per grouping variable, each group's AUC (and Harrell's C) with its interval."""
    variables = [(var, b) for var, b in (metrics.get("variables") or {}).items() if "discrimination" in b]
    rows: list[tuple[str, Mapping]] = []
    for var, b in variables:
        for g, v in b["discrimination"]["by_group"].items():
            rows.append((f"{var}: {g}", v))
    fig, ax = plt.subplots(figsize=(6.4, 0.28 * max(len(rows), 4) + 0.9))
    y = np.arange(len(rows))[::-1]
    for yi, (label, v) in zip(y, rows):
        if _estimable(v):
            err = np.array([[v["auc"] - v["ci_lower"]], [v["ci_upper"] - v["auc"]]])
            ax.errorbar([v["auc"]], [yi + 0.12], xerr=err, fmt="o", ms=3.5, color=PALETTE[0], lw=1,
                        label="AUC" if yi == y[0] else None)
        if all(isinstance(v.get(k), (int, float)) for k in ("c", "c_lower", "c_upper")):
            err = np.array([[v["c"] - v["c_lower"]], [v["c_upper"] - v["c"]]])
            ax.errorbar([v["c"]], [yi - 0.12], xerr=err, fmt="s", ms=3, color=PALETTE[1], lw=1,
                        label="Harrell's C" if yi == y[0] else None)
    ax.set_yticks(y, [label + ("" if _estimable(v) else " (not estimable)") for label, v in rows], fontsize=7)
    ax.axvline(0.5, color="#57606a", lw=0.8, ls="--")
    ax.set_xlabel("AUC / Harrell's C (0.5: no discrimination)")
    ax.set_title("Discrimination within each group", loc="left")
    if rows:
        ax.legend(fontsize=7, frameon=False, loc="lower right")
    return fig


def risk_curves(metrics: Mapping, score_range: tuple[float, float]) -> plt.Figure:
    """Per grouping variable, the predicted risk against the score in each group (Cleary's interaction
    model) beside the pooled model's curve."""
    variables = [(var, b) for var, b in (metrics.get("variables") or {}).items()
                 if "coefficients" in (b.get("cleary") or {})]
    pooled = (metrics.get("method") or {}).get("pooled_model") or {}
    n = max(len(variables), 1)
    fig, axes = plt.subplots(1, n, figsize=(3.0 * n + 0.6, 2.9), sharey=True, squeeze=False)
    s = np.linspace(score_range[0], score_range[1], 101)
    for ax, (var, b) in zip(axes[0], variables):
        coef = {k: v["estimate"] for k, v in b["cleary"]["coefficients"].items()}
        groups = [b["reference"]] + [k[len("group"):] for k in coef if k.startswith("group")]
        for i, g in enumerate(groups):
            a0 = coef["(Intercept)"] + coef.get(f"group{g}", 0.0)
            a1 = coef["score"] + coef.get(f"score:group{g}", 0.0)
            ax.plot(s, 1 / (1 + np.exp(-(a0 + a1 * s))), color=PALETTE[i % len(PALETTE)], lw=1.2, label=str(g))
        if pooled:
            ax.plot(s, 1 / (1 + np.exp(-(pooled["intercept"] + pooled["slope"] * s))), color="#24292f", lw=1.6,
                    ls="--", label="pooled")
        ax.set_title(var, loc="left", fontsize=9)
        ax.set_xlabel("risk total")
        ax.legend(fontsize=6, frameon=False)
    axes[0][0].set_ylabel("predicted risk within the horizon")
    if not variables:
        axes[0][0].text(0.5, 0.5, "no grouping variable could be modelled", ha="center", transform=axes[0][0].transAxes)
    return fig


def calibration_bands(metrics: Mapping) -> plt.Figure:
    """Observed against predicted risk by band, per group (bands with fewer cases or events than the
    disclosure threshold are not shown)."""
    variables = [(var, b) for var, b in (metrics.get("variables") or {}).items()
                 if (b.get("calibration") or {}).get("bands")]
    n = max(len(variables), 1)
    fig, axes = plt.subplots(1, n, figsize=(3.0 * n + 0.6, 2.9), sharey=True, squeeze=False)
    for ax, (var, b) in zip(axes[0], variables):
        groups = sorted({r["group"] for r in b["calibration"]["bands"]}, key=str)
        for i, g in enumerate(groups):
            pts = [r for r in b["calibration"]["bands"] if r["group"] == g]
            x = np.array([r["predicted"] for r in pts])
            yv = np.array([r["observed"] for r in pts])
            lo = np.array([r["ci_lower"] for r in pts])
            hi = np.array([r["ci_upper"] for r in pts])
            ax.errorbar(x, yv, yerr=np.vstack([yv - lo, hi - yv]), fmt="o", ms=3, lw=0.8,
                        color=PALETTE[i % len(PALETTE)], label=str(g))
        ax.plot([0, 1], [0, 1], color="#57606a", lw=0.8, ls="--")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.set_title(var, loc="left", fontsize=9)
        ax.set_xlabel("predicted risk (band mean)")
        ax.legend(fontsize=6, frameon=False)
    axes[0][0].set_ylabel("observed rate")
    return fig


def fairness_figures(metrics: Mapping, score_range: tuple[float, float]) -> Iterator[tuple[str, Any]]:
    yield "discrimination.svg", forest(metrics)
    yield "risk_curves.svg", risk_curves(metrics, score_range)
    yield "calibration.svg", calibration_bands(metrics)
