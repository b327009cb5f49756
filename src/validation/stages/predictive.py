"""Stage ``predictive``: does the battery predict recidivism? AUC with DeLong intervals for every
predictor and outcome, declined below the minimum number of events, with ROC curves."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .. import figures
from ..predictive import roc_auc, roc_curve
from ..results import to_dict
from ..scoring import domain_totals, primary_ratings, scale_scores
from ._analysis import clean_inputs, estimate, read_clean
from ._common import atomic_outputs, load_instruments, provenance, section

FIG = "reports/figures/predictive"
PLOTTED = ("risk_total", "summary_risk")


def predictors(t: dict[str, pd.DataFrame], vera, sq, rule: str, min_rated: float) -> tuple[pd.DataFrame, dict]:
    """One row per case: VERA domain totals, risk total, summary judgement and SQ scale scores, and the
    direction of each (higher = higher risk, or lower for protective)."""
    prim = primary_ratings(t["vera_ratings"])
    tot = domain_totals(prim, vera, rule, min_rated)
    tot["summary_risk"] = prim[vera.summary_column].astype("Float64").to_numpy()
    tot.insert(0, "case_id", prim["case_id"].to_numpy())
    sq1 = t["sq_responses"][t["sq_responses"]["occasion"] == 1].reset_index(drop=True)
    sc = scale_scores(sq1, sq)
    sc.columns = [f"SQ {c}" for c in sc.columns]
    sc.insert(0, "case_id", sq1["case_id"].to_numpy())
    frame = tot.merge(sc, on="case_id", how="left")
    direction = {c: "higher" for c in frame.columns if c != "case_id"}
    for d in vera.protective_domains:
        direction[d.code] = "lower"
    return frame, direction


def run(root: Path, params: dict) -> None:
    p = section(params, "predictive")
    vera, sq = load_instruments(root, params)
    t = read_clean(root, params)
    min_events = int(p["min_events"])
    frame, direction = predictors(t, vera, sq, p.get("not_rated_rule", "prorate"), float(p.get("min_rated", 0.8)))
    outcomes = t["outcomes"]
    results, curves_rows, figs = {}, ["outcome,predictor,fpr,tpr"], {}
    for outcome in p["outcomes"]:
        o = outcomes[outcomes["outcome"] == outcome][["case_id", "event", "time_days"]]
        d = frame.merge(o, on="case_id", how="inner")
        n_events = int(d["event"].sum())
        block = {"n": int(len(d)), "events": n_events,
                 "base_rate": float(n_events / len(d)) if len(d) else None, "predictors": {}}
        curves = {}
        print(f"[predictive] {outcome}: {len(d)} cases, {n_events} events", flush=True)
        for name, dirn in direction.items():
            sub = d[["event", name]].dropna()
            y, s = sub["event"].astype(int).to_numpy(), sub[name].astype(float).to_numpy()
            ev, nonev = int(y.sum()), int(len(y) - y.sum())
            entry = {"direction": dirn, "n": int(len(y)), "events": ev, "non_events": nonev}
            if min(ev, nonev) < min_events:
                entry["not_estimable"] = (f"{ev} events and {nonev} non-events: fewer than the minimum of "
                                          f"{min_events}; counts reported, estimate declined")
            else:
                entry["auc"] = estimate(roc_auc, y, s, ci=p["ci"], direction=dirn)
                if name in PLOTTED:
                    rc = to_dict(roc_curve(y, s, direction=dirn))
                    fpr = [1 - x for x in rc["specificity"]]
                    tpr = list(rc["sensitivity"])
                    order = np.lexsort((tpr, fpr))
                    fpr, tpr = [fpr[i] for i in order], [tpr[i] for i in order]
                    curves[name] = (fpr, tpr)
                    curves_rows += [f"{outcome},{name},{x!r},{y_!r}" for x, y_ in zip(fpr, tpr)]
            block["predictors"][name] = entry
        results[outcome] = block
        if curves:
            figs[outcome] = curves

    metrics = {
        "provenance": provenance(root, "predictive", params, clean_inputs(root, params), ("instruments", "predictive")),
        "method": {
            "predictors": "VERA domain totals and risk total of one rating form per case (occasion 1; consensus "
                          "where made), the summary risk judgement (L=1, M=2, H=3), SQ scale means (occasion 1)",
            "direction": "fixed in advance: higher score = higher risk; protective domains: lower = higher risk",
            "auc": f"area under the ROC curve with DeLong {p['ci']:.0%} interval (as pROC ci.auc, method='delong')",
            "min_events": min_events,
        },
        "outcomes": results,
    }
    with atomic_outputs(root) as out:
        out.write_json("reports/metrics/predictive.json", metrics)
        fig_dir = out.folder(FIG)
        for outcome, curves in figs.items():
            fig = figures.roc_curves(curves, f"ROC: {outcome} recidivism")
            figures.save_svg(fig, fig_dir / f"roc_{outcome}.svg")
        out.write_text("reports/plots/roc.csv", "\n".join(curves_rows) + "\n")
    print("[predictive] wrote reports/metrics/predictive.json, " + FIG + "/ and reports/plots/roc.csv")
