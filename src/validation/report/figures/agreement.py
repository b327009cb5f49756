"""Figures of the agreement stage: coefficient forests over interpretation bands, Bland-Altman panels,
and the data behind them.

The drawing functions build on :mod:`validation.report.figures` (:func:`~validation.report.figures.forest`
draws the first series and the bands, :func:`~validation.report.figures.save_svg` writes
deterministic SVG); they take plain numbers -- estimates, interval bounds, means and differences of
totals -- never case or rater keys, and return a matplotlib Figure. :func:`agreement_figures` and
:func:`forest_csv` read the stage's metrics and give the figures and the ``dvc plots`` data; the
stage writes them.
"""

from __future__ import annotations

import csv
import io
import math
from typing import Iterator, Mapping, Sequence

import numpy as np

from validation.report.figures import forest, plt, save_svg
from validation.report.rules import Bands

__all__ = ["clip_bands", "coefficient_forest", "bland_altman_panels", "save_svg", "bland_altman_panel",
           "agreement_figures", "forest_csv"]

# one marker and colour per series, in order (the first is the one figures.forest draws)
_STYLES = (("o", "#2166ac"), ("s", "#d6604d"), ("^", "#1b7837"), ("D", "#762a83"), ("v", "#8c510a"))
_POINT_STYLES = (("x", "#444444"), ("+", "#b35806"), ("1", "#542788"))
# vertical offsets within a row: the first series on the row, the next below, above, ...
_OFFSETS = (0.0, -0.26, 0.26, -0.13, 0.13)


def clip_bands(bands: Mapping[str, tuple[float, float]], xlim: tuple[float, float]) -> dict[str, tuple[float, float]]:
    """The bands cut to the visible range ``xlim``; bands wholly outside it are left out (so their
    labels are not drawn outside the axes)."""
    out = {}
    for name, (lo, hi) in bands.items():
        a, b = max(float(lo), xlim[0]), min(float(hi), xlim[1])
        if b > a:
            out[name] = (a, b)
    return out


def coefficient_forest(labels: Sequence[str],
                       series: Mapping[str, tuple[Sequence[float], Sequence[float], Sequence[float]]],
                       title: str, xlabel: str,
                       bands: Mapping[str, tuple[float, float]] | None = None,
                       points: Mapping[str, Sequence[float]] | None = None,
                       xlim: tuple[float, float] = (-0.2, 1.0)) -> plt.Figure:
    """One row per label, one marker and interval per series (vertically offset), over bands.

    Parameters
    ----------
    labels : row labels (top to bottom)
    series : name -> (estimates, lower bounds, upper bounds), each as long as ``labels``; NaN
        (a coefficient that was not estimable) draws nothing. The first series sits on the row,
        the next ones just below and above it; five series and point sets together at most.
    title, xlabel : texts of the figure
    bands : interpretation bands name -> (low, high), shaded behind (clipped to ``xlim``)
    points : name -> values drawn as markers without an interval (e.g. observed agreement)
    xlim : the visible range of the coefficient
    """
    if not series:
        raise ValueError("series: expected at least one series of estimates")
    if len(series) > len(_STYLES):
        raise ValueError(f"series: at most {len(_STYLES)} series, got {len(series)}")
    n = len(labels)
    names = list(series)
    for name, triple in series.items():
        if len(triple) != 3 or any(len(v) != n for v in triple):
            raise ValueError(f"series {name!r}: expected (estimates, lower, upper), each of length {n}")
    for name, vals in (points or {}).items():
        if len(vals) != n:
            raise ValueError(f"points {name!r}: expected {n} values, got {len(vals)}")
    k = len(series) + len(points or {})
    if k > len(_OFFSETS):
        raise ValueError(f"at most {len(_OFFSETS)} series and point sets together, got {k}")
    first_est, first_lo, first_hi = series[names[0]]
    base = forest(labels, first_est, first_lo, first_hi, title, xlabel,
                  bands=clip_bands(bands, xlim) if bands else None, xlim=xlim)
    ax = base.axes[0]
    for line in ax.lines:  # the estimates of the first series, for the legend
        if line.get_marker() == "o":
            line.set_label(names[0])
    y = np.arange(n)[::-1].astype(float)
    for i, name in enumerate(names[1:], start=1):
        est, lo, hi = (np.asarray(v, dtype=float) for v in series[name])
        marker, colour = _STYLES[i]
        ok = np.isfinite(est)
        yy = y[ok] + _OFFSETS[i]
        lo_ok, hi_ok = lo[ok], hi[ok]
        has_ci = np.isfinite(lo_ok) & np.isfinite(hi_ok)
        ax.hlines(yy[has_ci], lo_ok[has_ci], hi_ok[has_ci], color=colour, lw=1.0, zorder=2)
        ax.plot(est[ok], yy, marker, ms=3.2, color=colour, zorder=3, label=name, ls="none")
    for j, (name, vals) in enumerate((points or {}).items()):
        v = np.asarray(vals, dtype=float)
        ok = np.isfinite(v)
        marker, colour = _POINT_STYLES[j % len(_POINT_STYLES)]
        ax.plot(v[ok], y[ok] + _OFFSETS[len(series) + j], marker, ms=4.0, color=colour, zorder=3,
                label=name, ls="none")
    if k > 1:
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, fontsize=7)
    return base


def bland_altman_panels(panels: Sequence[Mapping], title: str, ncols: int = 3) -> plt.Figure:
    """Bland-Altman plots, one panel per measure, in a grid.

    Each panel is a mapping with ``label``, ``mean`` and ``diff`` (the pairs' means and
    differences, plain numbers), ``bias``, ``lower`` and ``upper`` (the limits of agreement) and
    optionally ``bias_ci``, ``lower_ci``, ``upper_ci`` as (low, high) pairs, drawn as bands; a
    panel with ``not_estimable`` (a sentence) shows that sentence instead.
    """
    if not panels:
        raise ValueError("panels: expected at least one panel")
    if ncols < 1:
        raise ValueError(f"ncols: expected an integer >= 1, got {ncols}")
    n = len(panels)
    ncols = min(ncols, n)
    nrows = int(np.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.1 * ncols, 2.6 * nrows), squeeze=False)
    for idx, ax in enumerate(axes.ravel()):
        if idx >= n:
            ax.set_visible(False)
            continue
        p = panels[idx]
        ax.set_title(str(p.get("label", "")), loc="left", fontsize=8.5)
        if p.get("not_estimable"):
            ax.text(0.5, 0.5, "not estimable:\n" + str(p["not_estimable"]), ha="center", va="center",
                    fontsize=7, wrap=True, transform=ax.transAxes, color="#8a4b00")
            ax.set_xticks([])
            ax.set_yticks([])
            continue
        m = np.asarray(p["mean"], dtype=float)
        d = np.asarray(p["diff"], dtype=float)
        ok = np.isfinite(m) & np.isfinite(d)
        for key, value_key, colour in (("bias_ci", "bias", "#2166ac"), ("lower_ci", "lower", "#b2182b"),
                                       ("upper_ci", "upper", "#b2182b")):
            ci = p.get(key)
            if ci is not None and all(np.isfinite(ci)):
                ax.axhspan(ci[0], ci[1], color=colour, alpha=0.12, lw=0, zorder=0)
            ax.axhline(float(p[value_key]), color=colour, lw=1.0, ls="-" if value_key == "bias" else "--", zorder=1)
        ax.axhline(0.0, color="grey", lw=0.6, ls=":", zorder=1)
        ax.plot(m[ok], d[ok], "o", ms=2.4, color="#333333", alpha=0.55, mec="none", zorder=2)
        ax.set_xlabel("mean of the two ratings", fontsize=7.5)
        ax.set_ylabel("difference (first - second)", fontsize=7.5)
        ax.tick_params(labelsize=7)
        lo, hi = float(p["lower"]), float(p["upper"])
        ax.set_title(f"{p.get('label', '')}\nbias {float(p['bias']):.2f}, limits of agreement [{lo:.2f}, {hi:.2f}]",
                     loc="left", fontsize=8)
    fig.suptitle(title, x=0.01, ha="left", fontsize=9.5)
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------------------------------------
# figure data from the stage's metrics


def _estimated(res: Mapping | None) -> bool:
    """Whether a result holds an estimate (was not declined)."""
    return bool(res) and "not_estimable" not in res


def _with_interval(res: Mapping, key: str) -> tuple[float, float, float]:
    """(estimate, lower, upper) of ``res[key]`` and ``res["ci"]``; NaN where declined or missing."""
    if not _estimated(res) or res.get(key) is None:
        return (np.nan, np.nan, np.nan)
    ci = res.get("ci") or {}
    lo, hi = ci.get("lower"), ci.get("upper")
    return (float(res[key]), np.nan if lo is None else float(lo), np.nan if hi is None else float(hi))


def _series(rows: Sequence[Mapping], key: str, field: str) -> tuple[list, list, list]:
    """One forest series: estimates, lower and upper bounds of ``row[key][field]`` over the rows."""
    vals = [_with_interval(r.get(key, {}), field) for r in rows]
    return [v[0] for v in vals], [v[1] for v in vals], [v[2] for v in vals]


def _icc_form(res: Mapping, form: str) -> tuple[float, float, float]:
    """(estimate, lower, upper) of one ICC form of an ICC result; NaN where declined or unsupported."""
    if not _estimated(res):
        return (np.nan, np.nan, np.nan)
    f = res.get("forms", {}).get(form)
    return _with_interval(f, "icc") if f else (np.nan, np.nan, np.nan)


def bland_altman_panel(label: str, first: np.ndarray, second: np.ndarray, result: Mapping) -> dict:
    """A panel for :func:`bland_altman_panels`: the means and differences of the pairs where both
    totals are finite, with the bias, limits and their intervals of ``result`` (the Bland-Altman
    entry of the metrics), or its ``not_estimable`` sentence when declined."""
    panel: dict = {"label": label}
    if not _estimated(result):
        panel["not_estimable"] = result["not_estimable"]
        return panel
    ok = np.isfinite(first) & np.isfinite(second)
    panel.update(mean=(first[ok] + second[ok]) / 2.0, diff=first[ok] - second[ok], bias=result["bias"],
                 lower=result["lower"], upper=result["upper"],
                 bias_ci=(result["bias_ci"]["lower"], result["bias_ci"]["upper"]),
                 lower_ci=(result["lower_ci"]["lower"], result["lower_ci"]["upper"]),
                 upper_ci=(result["upper_ci"]["lower"], result["upper_ci"]["upper"]))
    return panel


def agreement_figures(metrics: Mapping, indicators: Sequence[str], additional: Sequence[str],
                      bland_altman: Sequence[Mapping], kappa_bands: Bands, icc_bands: Bands, ci: float,
                      gwet_weights: str) -> Iterator[tuple[str, plt.Figure]]:
    """The agreement figures as (file name, Figure), one at a time so each can be saved and closed
    before the next is drawn: the indicator forest, the additional-indicator forest (when there
    are additional indicators), the domain-total ICC forest and the Bland-Altman panels.

    ``metrics`` is the stage's metrics (``indicators``, ``summary_risk``, ``additional``,
    ``domain_icc``, ``intra_rater``); ``indicators`` and ``additional`` the instrument's item codes in
    order; ``bland_altman`` the panels of :func:`bland_altman_panel`; ``ci`` the interval level and
    ``gwet_weights`` the weights of Gwet's AC2, both for the labels.
    """
    kb = {n: tuple(r) for n, r in kappa_bands.limits.items()}
    ib = {n: tuple(r) for n, r in icc_bands.limits.items()}
    rows = [metrics["indicators"][i] for i in indicators] + [metrics["summary_risk"]]
    labels = list(indicators) + ["summary risk"]
    yield "forest_indicators.svg", coefficient_forest(
        labels,
        {"weighted kappa (pairs)": _series(rows, "weighted_kappa", "kappa"),
         "Krippendorff's ordinal alpha": _series(rows, "krippendorff_alpha", "alpha"),
         f"Gwet's AC2 ({gwet_weights})": _series(rows, "gwet_ac2", "estimate")},
        "VERA inter-rater agreement by indicator", f"coefficient with {ci:.0%} interval; bands: {kappa_bands.source}",
        bands=kb)
    if additional:
        rows = [metrics["additional"][i] for i in additional]
        observed = [r["detail"]["p_observed"] if _estimated(r["detail"]) else np.nan for r in rows]
        pabak = [r["detail"]["pabak"] if _estimated(r["detail"]) else np.nan for r in rows]
        yield "forest_additional.svg", coefficient_forest(
            list(additional),
            {"Cohen's kappa (pairs)": _series(rows, "kappa", "kappa"),
             "Gwet's AC1": _series(rows, "gwet_ac1", "estimate")},
            "Additional indicators: kappa against AC1 (the kappa paradox)",
            f"coefficient with {ci:.0%} interval; bands: {kappa_bands.source}", bands=kb,
            points={"observed agreement (pairs)": observed, "PABAK (pairs)": pabak})
    dom = metrics["domain_icc"]
    codes = list(dom)
    intra = metrics["intra_rater"]["domain_icc"]
    series = {"crossed block ICC2 (A,1), F interval": [_icc_form(dom[c], "ICC2") for c in codes],
              "REML ICC2 (A,1), all ratings": [_icc_form(dom[c]["reml"], "ICC2") for c in codes],
              "intra-rater ICC2 (A,1), occasions 1-2": [_icc_form(intra.get(c, {}), "ICC2") for c in codes]}
    yield "forest_domains.svg", coefficient_forest(
        [c if c != "risk_total" else "risk total" for c in codes],
        {k: ([v[0] for v in vals], [v[1] for v in vals], [v[2] for v in vals]) for k, vals in series.items()},
        "VERA domain totals: intraclass correlation", f"ICC with {ci:.0%} interval; bands: {icc_bands.source}",
        bands=ib)
    yield "bland_altman_domains.svg", bland_altman_panels(
        bland_altman, "VERA domain totals: Bland-Altman, first two independent ratings")
    effects = (dom.get("risk_total") or {}).get("reml", {}).get("rater_effects")
    if _estimated(effects):
        yield "rater_severity.svg", caterpillar(effects, "Rater severity on the risk total",
                                                f"rater effect (points) with {ci:.0%} interval; 0 = the average rater")


def caterpillar(effects: Mapping, title: str, xlabel: str) -> plt.Figure:
    """Rater effects sorted from the most lenient to the most severe, each with its interval, and
    the line of the average rater; the raters whose interval excludes 0 are drawn in full colour."""
    order = np.argsort(effects["effect"])
    names = [effects["raters"][i] for i in order]
    est = np.array(effects["effect"])[order]
    lo = np.array([effects["ci"][i]["lower"] for i in order])
    hi = np.array([effects["ci"][i]["upper"] for i in order])
    off = (lo > 0) | (hi < 0)
    fig, ax = plt.subplots(figsize=(6.2, 0.45 * len(names) + 1.3))
    y = np.arange(len(names))
    ax.axvline(0.0, color="#57606a", lw=1)
    for i in y:
        colour = "#b2182b" if off[i] else "#8c959f"
        ax.plot([lo[i], hi[i]], [i, i], color=colour, lw=2)
        ax.plot(est[i], i, "o", color=colour, ms=6)
    ax.set_yticks(y, names)
    ax.set_xlabel(xlabel)
    ax.set_title(f"{title}: {int(off.sum())} of {len(names)} raters off 0", loc="left")
    ax.grid(axis="x", color="#d0d7de", lw=0.6)
    fig.tight_layout()
    return fig


def forest_csv(metrics: Mapping, indicators: Sequence[str], gwet_weights: str) -> str:
    """The data of the indicator forest (``forest_indicators.svg``) as CSV text: one row per indicator
    (and the summary judgement) and coefficient -- ``indicator, coefficient, estimate, lower, upper``
    and ``label`` (``"<indicator>: <coefficient>"``, one bar per row in ``dvc plots``). Aggregates
    only; a declined coefficient or interval bound is an empty cell."""
    rows = [metrics["indicators"][i] for i in indicators] + [metrics["summary_risk"]]
    labels = list(indicators) + ["summary risk"]
    coefs = (("weighted kappa (pairs)", "weighted_kappa", "kappa"),
             ("Krippendorff's ordinal alpha", "krippendorff_alpha", "alpha"),
             (f"Gwet's AC2 ({gwet_weights})", "gwet_ac2", "estimate"))
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["indicator", "coefficient", "estimate", "lower", "upper", "label"])
    for name, key, field in coefs:
        for label, row in zip(labels, rows):
            vals = ["" if not math.isfinite(v) else repr(float(v)) for v in _with_interval(row.get(key, {}), field)]
            w.writerow([label, name, *vals, f"{label}: {name}"])
    return buf.getvalue()
