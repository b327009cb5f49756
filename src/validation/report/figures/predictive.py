"""Figures of the ``predictive`` stage: ROC curves, Kaplan-Meier curves by risk band with the
numbers at risk, and the observed outcome rate per risk band; and the data behind them.

Plot functions take plain numbers (never case data) and return a matplotlib Figure; write it with
:func:`save_svg` (re-exported from :mod:`validation.report.figures`), which keeps reruns
byte-identical. Counts shown in a figure go through :func:`count_label`, so a count of fewer than
``k`` cases is printed as ``<k`` and never as the number itself. :func:`roc_points` and
:func:`km_steps` shape the estimators' curves for drawing; :func:`predictive_figures`,
:func:`roc_csv` and :func:`km_csv` turn the stage's metrics and those curves into the figures and
the ``dvc plots`` data, which the stage writes.
"""

from __future__ import annotations

import csv
import io
from typing import Any, Iterator, Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

from validation.report.figures import roc_curves, save_svg
from validation.report.html import human
from validation.stats.survival import KmCurve

__all__ = ["save_svg", "count_label", "roc_figure", "km_figure", "calibration_figure", "decision_curve", "thin",
           "roc_points",
           "km_steps", "operating_points", "predictive_figures", "roc_csv", "km_csv"]

_BAND_COLOURS = ("#4393c3", "#f4a582", "#b2182b", "#762a83", "#1b7837")


def count_label(n: int | str | None, k: int) -> str:
    """A count for a figure: ``"<k"`` when 0 < n < k (small cells are not shown), a published
    suppression marker (``"<k"``, ``"*"``) as it is, else the number."""
    if n is None:
        return "-"
    if isinstance(n, str):
        return n
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
    for i, name in enumerate(names):
        t, s = (np.asarray(v, dtype=float) for v in curves[name])
        ax.step(t, s, where="post", lw=1.3, color=_BAND_COLOURS[i % len(_BAND_COLOURS)], label=name)
    tmax = max([float(np.max(curves[n][0])) for n in names if len(curves[n][0])] + [float(max(risk_times or [1]))])
    ax.set_xlim(0, tmax * 1.02)
    ax.set_ylim(0.0, 1.005)                  # from 0: a cut axis makes small differences look large
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
    ax.errorbar(x[both], r[both], yerr=np.vstack([r[both] - lo[both], hi[both] - r[both]]), fmt="none", ecolor="black",
                elinewidth=1.0, capsize=3)
    labels = [f"{b}\n{count_label(e, k)} / {count_label(c, k)}" for b, e, c in zip(bands, events, n)]
    ax.set_xticks(x, labels)
    top = np.nanmax(np.concatenate([hi[np.isfinite(hi)], r[ok], [0.05]]))
    ax.set_ylim(0, min(1.0, top * 1.15))
    ax.set_ylabel(ylabel)
    ax.set_xlabel("band (events / cases)")
    ax.set_title(title, loc="left")
    return fig


# ---------------------------------------------------------------------------------------------
# figure data: curves shaped for drawing, figures and CSV from the stage's metrics


def thin(k: int, max_points: int) -> np.ndarray:
    """Indices of at most ``max_points`` of ``k`` points, evenly spread, both ends kept."""
    if k <= max_points:
        return np.arange(k)
    return np.unique(np.round(np.linspace(0, k - 1, max_points)).astype(int))


def roc_points(sensitivity: np.ndarray, specificity: np.ndarray, max_points: int) -> tuple[list, list]:
    """(false-positive rate, sensitivity) of an ROC curve's thresholds, thinned to at most
    ``max_points`` and sorted for drawing (and for ``roc.csv``)."""
    idx = thin(sensitivity.size, max_points)
    fpr, tpr = 1.0 - specificity[idx], sensitivity[idx]
    order = np.lexsort((tpr, fpr))
    return [float(v) for v in fpr[order]], [float(v) for v in tpr[order]]


def km_steps(curve: KmCurve, risk_days: Sequence[int], days_per_year: float) -> dict[str, Any]:
    """One Kaplan-Meier curve shaped for :func:`km_figure`: ``years`` and ``survival`` at the event
    times (from (0, 1), the last time kept), ``at_risk`` at each of ``risk_days`` (None after the
    last follow-up), and the curve's ``events`` and ``n``."""
    keep = curve.n_event > 0
    keep[-1] = True
    at = curve.at_times
    risk_days = list(risk_days)
    at_risk: list[int | None] = [None] * len(risk_days)
    for t, n_risk in zip(at.time.tolist(), at.n_risk.tolist()):
        at_risk[risk_days.index(int(round(t)))] = int(n_risk)
    return {"years": np.concatenate([[0.0], curve.time[keep] / days_per_year]),
            "survival": np.concatenate([[1.0], curve.survival[keep]]),
            "at_risk": at_risk, "events": curve.n_events, "n": curve.n}


def operating_points(cutoffs: Mapping | None) -> dict[str, tuple[float, float]]:
    """(1 - specificity, sensitivity) at each threshold of a cut-off table, by its label."""
    pts: dict[str, tuple[float, float]] = {}
    if not cutoffs or "not_estimable" in cutoffs:
        return pts
    for lab, se, sp in zip(cutoffs["labels"], cutoffs["sensitivity"]["estimate"], cutoffs["specificity"]["estimate"]):
        if se is not None and sp is not None:
            pts[lab] = (1.0 - sp, se)
    return pts


def decision_curve(thresholds: Sequence[float], panels: Sequence[tuple[str, Sequence[float | None], Sequence[float]]],
                   title: str) -> plt.Figure:
    """Net benefit of acting on the model's predicted risk, of treating everyone and of treating no
    one, across decision thresholds (Vickers & Elkin 2006): one panel per base rate, each
    ``(label, model, treat_all)``, on its own scale; withheld points are left out."""
    t = np.asarray(thresholds, dtype=float)
    fig, axes = plt.subplots(1, len(panels), figsize=(3.0 * len(panels) + 0.6, 3.4), squeeze=False)
    for i, (ax, (label, model, treat_all)) in enumerate(zip(axes[0], panels)):
        m = np.array([np.nan if v is None else v for v in model], dtype=float)
        ax.plot(t, m, "o-", ms=2.5, color="#b2182b", label="risk total (logistic model)")
        ax.plot(t, np.asarray(treat_all, dtype=float), "--", color="#4393c3", label="treat everyone")
        ax.axhline(0.0, color="#57606a", lw=1, label="treat no one")
        top = np.nanmax(np.concatenate([m[np.isfinite(m)], [float(treat_all[0]) if len(treat_all) else 0.0],
                                        [1e-4]]))
        ax.set_ylim(-0.2 * top, 1.15 * top)
        ax.set_xlabel("threshold risk for acting")
        if i == 0:
            ax.set_ylabel("net benefit")
        ax.set_title(label, loc="left", fontsize=9)
        ax.grid(color="#d0d7de", lw=0.5)
    axes[0][0].legend(frameon=False, fontsize=7)
    fig.suptitle(title, x=0.01, ha="left", fontsize=10)
    fig.tight_layout()
    return fig


def _roc_legend(name: str, auc: Mapping) -> str:
    """A curve's legend: the predictor with its AUC and interval, or the name alone when declined."""
    name = human(name)
    if "auc" not in auc:
        return name
    return f"{name}: AUC {auc['auc']:.2f} [{auc['ci']['lower']:.2f}, {auc['ci']['upper']:.2f}]"


def predictive_figures(outcomes: Mapping[str, Mapping], roc: Mapping[str, Mapping[str, tuple[list, list]]],
                       km: Mapping[str, Mapping[str, Mapping] | None], risk_years: Sequence[float], k: int,
                       marked_predictor: str) -> Iterator[tuple[str, plt.Figure]]:
    """The figures of each outcome as (file name, Figure), one at a time so each can be saved and
    closed before the next is drawn: ROC curves (when any curve was drawn) with the operating points
    of ``marked_predictor``'s cut-offs, Kaplan-Meier curves by band and the observed rate by band
    (when the bands were estimable).

    ``outcomes`` is the metrics' ``outcomes``; ``roc`` maps outcome -> predictor -> the
    :func:`roc_points` of the plotted predictors; ``km`` maps outcome -> band -> :func:`km_steps`
    (None when the bands were declined); numbers at risk are shown at ``risk_years``. Every title
    gives the events and cases, counts below ``k`` printed as ``<k``.
    """
    lab = count_label
    for outcome, block in outcomes.items():
        head = f"{outcome} recidivism: {lab(block['events'], k)} events in {lab(block['n'], k)} cases"
        curves = {_roc_legend(name, block["predictors"][name]["auc"]): curve
                  for name, curve in roc.get(outcome, {}).items()}
        if curves:
            points = operating_points(block["predictors"].get(marked_predictor, {}).get("cutoffs"))
            yield f"roc_{outcome}.svg", roc_figure(curves, f"ROC, {head}", points)
        cal = block["predictors"].get("risk_total", {}).get("calibration")
        if isinstance(cal, Mapping) and "net_benefit" in cal:
            panels = [("base rate of this sample", cal["net_benefit"], cal["net_benefit_all"])]
            panels += [(f"base rate {100 * c['base_rate']:g}%", c["net_benefit"], c["net_benefit_all"])
                       for c in cal.get("at_base_rates") or []]
            yield f"decision_{outcome}.svg", decision_curve(cal["thresholds"], panels, f"Decision curve, {head}")
        bands = km.get(outcome)
        if bands is None:
            continue
        # the published (protected) counts by band, not the curve's own
        published = dict(zip(block["bands"].get("bands") or [], zip(block["bands"].get("events_by_band") or [],
                                                                    block["bands"].get("n_by_band") or [])))
        names = {band: f"{band}: {lab(published.get(band, (s['events'], s['n']))[0], k)} events / "
                       f"{lab(published.get(band, (s['events'], s['n']))[1], k)}" for band, s in bands.items()}
        lines = {names[band]: (s["years"], s["survival"]) for band, s in bands.items()}
        at_risk = {names[band]: s["at_risk"] for band, s in bands.items()}
        yield f"km_{outcome}.svg", km_figure(lines, f"Kaplan-Meier by summary risk, {head}", risk_years, at_risk, k)
        cal = block["bands"].get("calibration", {})
        if "rate" in cal:
            yield f"calibration_{outcome}.svg", calibration_figure(
                cal["bands"], cal["rate"], cal["lower"], cal["upper"], cal["events"], cal["n"],
                f"Observed rate by summary risk, {head}", k,
                ylabel=f"{outcome} recidivism rate ({cal['level']:.0%} CI)")


def _csv_text(rows: list[list]) -> str:
    """Rows as CSV text (floats at full precision, as repr writes them)."""
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    return buf.getvalue()


def roc_csv(roc: Mapping[str, Mapping[str, tuple[list, list]]]) -> str:
    """``roc.csv``: ``outcome, predictor, fpr, tpr``, one row per point of each plotted curve."""
    rows: list[list] = [["outcome", "predictor", "fpr", "tpr"]]
    for outcome, curves in roc.items():
        for name, (fpr, tpr) in curves.items():
            rows += [[outcome, name, x, y] for x, y in zip(fpr, tpr)]
    return _csv_text(rows)


def km_csv(km: Mapping[str, Mapping[str, Mapping] | None]) -> str:
    """``km.csv``: ``outcome, band, time_years, survival``, one row per step of each band's curve."""
    rows: list[list] = [["outcome", "band", "time_years", "survival"]]
    for outcome, bands in km.items():
        for band, s in (bands or {}).items():
            rows += [[outcome, band, a, b] for a, b in zip(s["years"].tolist(), s["survival"].tolist())]
    return _csv_text(rows)
