"""Stage ``predictive``: does the battery predict recidivism?

For each outcome and each predictor (every VERA domain total, the risk total, the summary risk
judgement, every SQ scale mean): the AUC with DeLong and stratified-bootstrap intervals, the ROC
curve, cut-off tables with predictive values at chosen base rates, Harrell's and Uno's C, the Cox
hazard ratio with its proportional-hazards check and the time-dependent AUC at chosen horizons;
for the summary judgement's bands the observed rate per band with a trend test and Kaplan-Meier
curves with the log-rank test; paired DeLong comparisons between predictors with Holm's
correction. Below ``min_events`` events (or non-events) an estimate is declined and only the counts
are reported. The statistics are the pure functions of :mod:`validation.stats.predictive` and
:mod:`validation.stats.survival`, the method statements come from :mod:`validation.report.methods`
and the figures and plot data from :mod:`validation.report.figures.predictive`; this module only
selects the samples, calls them and writes the results.
"""

from __future__ import annotations

import fnmatch
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd

from validation.report.figures import predictive as plots
from validation.stats.predictive import band_calibration, cutoff_table, delong_test, harrell_c, holm, roc_auc, roc_curve
from validation.stats.results import NotEstimable, to_dict
from validation.battery.instruments import SPJInstrument
from validation.battery.scoring import domain_totals, primary_ratings, scale_scores
from validation.stats.survival import cox, kaplan_meier, logrank, time_dependent_auc, uno_c
from validation.pipeline.inputs import clean_inputs, estimate, read_clean
from validation.pipeline.common import StageError, load_instruments
from validation.pipeline.config import Config, PredictiveConfig
from validation.pipeline.outputs import atomic_outputs
from validation.pipeline.progress import progress
from validation.pipeline.publish import protect_curve, protect_outcome
from validation.stats.calibration import logistic_calibration
from validation.pipeline.provenance import provenance
from validation.pipeline.sites import pooling_instead
from validation.report.methods import predictive_method

FIG = "reports/figures/predictive"
METRICS = "reports/metrics/predictive.json"
ROC_CSV = "reports/plots/roc.csv"
KM_CSV = "reports/plots/km.csv"
DAYS_PER_YEAR = 365.25
SUMMARY = "summary_risk"
RISK_TOTAL = "risk_total"


# ---------------------------------------------------------------------------------------------
# predictors


def predictors(t: dict[str, pd.DataFrame], vera, sq, rule: str, min_rated: float) -> tuple[pd.DataFrame, dict]:
    """One row per case: VERA domain totals, risk total, summary judgement and SQ scale scores, and the
    direction of each (higher = higher risk, or lower for protective)."""
    prim = primary_ratings(t["vera_ratings"])
    tot = domain_totals(prim, vera, rule, min_rated)
    tot[SUMMARY] = prim[vera.summary_column].astype("Float64").to_numpy()
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


def expand(patterns: tuple[str, ...] | list[str], names: list[str], what: str) -> list[str]:
    """Predictor names matching each pattern (``fnmatch``: ``SQ *`` = every SQ scale), in the
    predictors' order, without repeats; a pattern matching nothing stops the stage."""
    out: list[str] = []
    for pat in patterns:
        hit = [n for n in names if fnmatch.fnmatchcase(n, pat)]
        if not hit:
            raise StageError(f"predictive.{what}: {pat!r} matches no predictor; predictors are {names}")
        out += [n for n in hit if n not in out]
    return out


def comparison_pairs(pairs: tuple[tuple[str, str], ...], names: list[str]) -> list[tuple[str, str]]:
    """The [a, b] patterns of ``predictive.comparisons`` expanded into distinct ordered pairs."""
    out: list[tuple[str, str]] = []
    for a_pat, b_pat in pairs:
        for a in expand([a_pat], names, "comparisons"):
            for b in expand([b_pat], names, "comparisons"):
                if a != b and (a, b) not in out and (b, a) not in out:
                    out.append((a, b))
    return out


def _risk(score: np.ndarray, direction: str) -> np.ndarray:
    """The score oriented so that higher means higher risk."""
    return score if direction == "higher" else -score


def _declined(ev: int, nonev: int, min_events: int) -> str:
    return (f"not estimable: {ev} events and {nonev} non-events, fewer than the minimum of {min_events}; "
            "counts reported, estimate declined")


# ---------------------------------------------------------------------------------------------
# per predictor


def _roc_block(y: np.ndarray, s: np.ndarray, dirn: str, max_points: int,
               plot_points: int) -> tuple[dict, tuple[list, list]]:
    """The ROC curve thinned to at most ``max_points`` thresholds for the metrics, and its points
    for the figure and roc.csv (:func:`~validation.report.figures.predictive.roc_points`)."""
    rc = roc_curve(y, s, direction=dirn)
    k = rc.thresholds.size
    idx = plots.thin(k, max_points)   # the same even spread as the figure's points
    sens, spec = rc.sensitivity[idx], rc.specificity[idx]
    block = {
        "n_thresholds": int(k),
        "n_shown": int(idx.size),
        "thinned": bool(idx.size < k),
        "threshold": rc.thresholds[idx],
        "sensitivity": sens,
        "specificity": spec,
        "youden": rc.youden,
        "note": "thresholds in pROC order (specificity rising); the end thresholds -inf / +inf "
                "(everyone positive / negative) are written as null",
    }
    return to_dict(block), plots.roc_points(rc.sensitivity, rc.specificity, plot_points)


def _cox_block(time: np.ndarray, event: np.ndarray, s: np.ndarray, name: str, st: PredictiveConfig) -> dict:
    if st.cox_per == "sd":
        scale = float(np.std(s, ddof=1))
        per = f"1 SD of {name} ({scale:.4g} points, sample SD of the cases used)"
    else:
        scale, per = 1.0, f"1 point of {name}"
    if not scale > 0:
        return {"not_estimable": f"not estimable: {name} is constant among the cases used", "per": per}
    try:
        fit = cox(time, event, pd.DataFrame({name: s / scale}), ci=st.ci)
    except NotEstimable as exc:
        return {"not_estimable": str(exc), "per": per}
    term = fit.terms[0]
    zph = fit.ph_test
    return to_dict({
        "per": per,
        "scale": scale,
        "hr": term.hr,
        "hr_ci": term.hr_ci,
        "coef": term.coef,
        "se": term.se,
        "z": term.z,
        "p": term.p,
        "ph_test": {"chisq": zph.chisq[0], "df": zph.df[0], "p": zph.p[0], "transform": zph.transform,
                    "method": zph.method},
        "lr_test": fit.lr_test,
        "n": fit.n,
        "n_events": fit.n_events,
        "ties": fit.ties,
        "method": fit.method,
        "warnings": fit.warnings,
    })


def _td_auc_block(time: np.ndarray, event: np.ndarray, s: np.ndarray, dirn: str, st: PredictiveConfig) -> list[dict]:
    out = []
    for h in st.horizons_days:
        cases = int(((event == 1) & (time <= h)).sum())
        controls = int((time > h).sum())
        entry: dict[str, Any] = {"horizon_days": h, "horizon_years": round(h / DAYS_PER_YEAR, 4),
                                 "cases": cases, "controls": controls,
                                 "censored": int(((event == 0) & (time <= h)).sum())}
        if min(cases, controls) < st.min_events:
            entry["not_estimable"] = (f"not estimable: {cases} events by {h:g} days and {controls} cases followed "
                                      f"beyond, fewer than the minimum of {st.min_events}")
        else:
            try:
                r = time_dependent_auc(time, event, s, [h], direction=dirn)
                entry["auc"] = float(r.auc[0])
            except NotEstimable as exc:
                entry["not_estimable"] = str(exc)
        out.append(entry)
    return out


def _uno_block(time: np.ndarray, event: np.ndarray, s: np.ndarray, dirn: str, st: PredictiveConfig) -> dict:
    used = int(((event == 1) & (time <= st.uno_tau_days)).sum())
    if used < st.min_events:
        return {"tau_days": st.uno_tau_days, "events_by_tau": used,
                "not_estimable": f"not estimable: {used} events by tau = {st.uno_tau_days:g} days, fewer than "
                                 f"the minimum of {st.min_events}"}
    return {"tau_days": st.uno_tau_days, "events_by_tau": used,
            **estimate(uno_c, time, event, s, tau=st.uno_tau_days, ci=st.ci, direction=dirn)}


def _bootstrap(y: np.ndarray, s: np.ndarray, dirn: str, st: PredictiveConfig) -> dict:
    out = {}
    for kind in ("percentile", "bca"):
        r = estimate(roc_auc, y, s, ci=st.ci, ci_method="bootstrap", direction=dirn, n_boot=st.n_boot,
                     seed=st.seed, boot_ci=kind)
        out[kind] = r if "not_estimable" in r else {"ci": r["ci"], "bootstrap": r["bootstrap"]}
    return out


def cutoff_specs(vera: SPJInstrument, st: PredictiveConfig) -> dict[str, dict]:
    """The cut-offs of the summary judgement (each code above the lowest) and of the risk total (``st``'s,
    per indicator or as totals), with their labels."""
    codes = list(vera.summary.codes)
    n_risk_items = sum(len(dm.items) for dm in vera.risk_domains)
    mult = n_risk_items if st.risk_total_cutoff_unit == "mean_rating" else 1
    return {
        SUMMARY: {"thresholds": [float(i + 1) for i in range(1, len(codes))],
                  "labels": [f">={c}" for c in codes[1:]]},
        RISK_TOTAL: {"thresholds": [c * mult for c in st.risk_total_cutoffs],
                     "labels": [f">={c:g}" + (" per indicator" if mult != 1 else "") for c in st.risk_total_cutoffs],
                     "extra": {"unit": st.risk_total_cutoff_unit, "cutoffs": list(st.risk_total_cutoffs),
                               "n_risk_indicators": n_risk_items}},
    }


def _cutoffs(y: np.ndarray, s: np.ndarray, dirn: str, thresholds: list[float], labels: list[str],
             st: PredictiveConfig, extra: Mapping | None = None) -> dict:
    r = estimate(cutoff_table, y, s, thresholds, base_rates=st.base_rates, ci=st.ci, direction=dirn)
    return {"labels": labels, **(extra or {}), **r}


def predictor_block(name: str, dirn: str, d: pd.DataFrame, st: PredictiveConfig, cut: Mapping | None,
                    want_curve: bool) -> tuple[dict, tuple[list, list] | None]:
    """Everything about one predictor for one outcome; the ROC curve for the figure when asked."""
    sub = d[["event", "time_days", name]].dropna()
    y = sub["event"].to_numpy(dtype=int)
    time = sub["time_days"].to_numpy(dtype=float)
    s = sub[name].to_numpy(dtype=float)
    ev, nonev = int(y.sum()), int(len(y) - y.sum())
    entry: dict[str, Any] = {"direction": dirn, "n": int(len(y)), "events": ev, "non_events": nonev}
    if min(ev, nonev) < st.min_events:
        entry["not_estimable"] = _declined(ev, nonev, st.min_events)
        return entry, None
    entry["auc"] = estimate(roc_auc, y, s, ci=st.ci, direction=dirn)
    entry["auc_bootstrap"] = _bootstrap(y, s, dirn, st)
    curve = None
    try:
        entry["roc"], curve = _roc_block(y, s, dirn, st.roc_max_points, st.roc_plot_max_points)
    except NotEstimable as exc:
        entry["roc"] = {"not_estimable": str(exc)}
    if cut is not None:
        entry["cutoffs"] = _cutoffs(y, s, dirn, cut["thresholds"], cut["labels"], st, cut.get("extra"))
    if name == RISK_TOTAL:
        entry["calibration"] = estimate(logistic_calibration, y, _risk(s, dirn), n_boot=st.calibration_n_boot,
                                        seed=st.seed, base_rates=st.base_rates)
    entry["harrell_c"] = estimate(harrell_c, time, y, s, ci=st.ci, direction=dirn)
    entry["uno_c"] = _uno_block(time, y, s, dirn, st)
    entry["cox"] = _cox_block(time, y, s, name, st)
    entry["time_dependent_auc"] = _td_auc_block(time, y, s, dirn, st)
    return entry, (curve if want_curve else None)


# ---------------------------------------------------------------------------------------------
# per outcome: bands of the summary judgement, comparisons


def bands_block(d: pd.DataFrame, codes: list[str], st: PredictiveConfig) -> tuple[dict, dict | None]:
    """Observed rate per band of the summary judgement, Kaplan-Meier curves by band and the
    log-rank test; also each band's Kaplan-Meier steps for the figure and km.csv (None when
    declined)."""
    sub = d[["event", "time_days", SUMMARY]].dropna()
    y = sub["event"].to_numpy(dtype=int)
    time = sub["time_days"].to_numpy(dtype=float)
    code = sub[SUMMARY].to_numpy(dtype=float).astype(int)
    label = np.array(codes, dtype=object)[code - 1]
    ev, nonev = int(y.sum()), int(len(y) - y.sum())
    n_k = [int((code == i + 1).sum()) for i in range(len(codes))]
    e_k = [int(((code == i + 1) & (y == 1)).sum()) for i in range(len(codes))]
    block: dict[str, Any] = {"predictor": SUMMARY, "bands": codes, "n": int(len(y)), "events": ev,
                             "non_events": nonev, "n_by_band": n_k, "events_by_band": e_k}
    if min(ev, nonev) < st.min_events:
        block["not_estimable"] = _declined(ev, nonev, st.min_events)
        return block, None
    block["calibration"] = estimate(band_calibration, y, label, order=codes, ci=st.ci)
    risk_days = [round(yr * DAYS_PER_YEAR) for yr in st.km_times_years]
    km = kaplan_meier(time, y, group=code, times=risk_days, ci=st.ci)
    curves, steps = {}, {}
    for cv in km.curves:
        lab = codes[int(cv.group) - 1]
        at = cv.at_times
        curves[lab] = to_dict({
            "n": cv.n, "events": cv.n_events,
            "at_times": {"time_days": at.time, "time_years": at.time / DAYS_PER_YEAR, "n_risk": at.n_risk,
                         "n_event": at.n_event, "survival": at.survival, "lower": at.lower, "upper": at.upper,
                         "times_dropped_days": at.times_dropped},
        })
        steps[lab] = plots.km_steps(cv, risk_days, DAYS_PER_YEAR)
    block["kaplan_meier"] = {"method": km.method, "conf_type": km.conf_type, "level": km.level,
                             "times_years": list(st.km_times_years), "curves": curves,
                             "warnings": list(km.warnings)}
    try:
        lr = logrank(time, y, code)
        block["logrank"] = to_dict({
            "groups": [codes[int(g) - 1] for g in lr.groups], "n": lr.n, "observed": lr.observed,
            "expected": lr.expected, "chisq": lr.chisq, "df": lr.df, "p": lr.p, "method": lr.method,
            "warnings": lr.warnings,
        })
    except NotEstimable as exc:
        block["logrank"] = {"not_estimable": str(exc)}
    return block, steps


def comparisons_block(d: pd.DataFrame, pairs: list[tuple[str, str]], direction: Mapping[str, str],
                      st: PredictiveConfig) -> dict:
    """Paired DeLong tests between predictors on the cases having both, Holm-adjusted across the
    tests of the outcome (declined tests do not count)."""
    tests = []
    for a, b in pairs:
        sub = d[["event", a, b]].dropna()
        y = sub["event"].to_numpy(dtype=int)
        ev, nonev = int(y.sum()), int(len(y) - y.sum())
        entry: dict[str, Any] = {"a": a, "b": b, "label": f"{a} vs {b}", "n": int(len(y)), "events": ev,
                                 "non_events": nonev}
        if min(ev, nonev) < st.min_events:
            entry["not_estimable"] = _declined(ev, nonev, st.min_events)
        else:
            s1 = _risk(sub[a].to_numpy(dtype=float), direction[a])
            s2 = _risk(sub[b].to_numpy(dtype=float), direction[b])
            entry["delong"] = estimate(delong_test, y, s1, s2, ci=st.ci, direction="higher")
        tests.append(entry)
    raw = [t["delong"]["p"] if "delong" in t and "p" in t["delong"] else np.nan for t in tests]
    adj = holm(raw) if tests else None
    for t, p_adj in zip(tests, adj.adjusted if adj is not None else []):
        if "delong" in t and "p" in t["delong"]:
            t["p_holm"] = float(p_adj)
    return {
        "method": "DeLong et al. (1988) paired test (as pROC roc.test, paired = TRUE) on the cases having both "
                  "scores, each score oriented so that higher means higher risk; p_holm: Holm (1979) "
                  "adjustment across the estimable tests of this outcome",
        "n_tests": int(adj.n_tests) if adj is not None else 0,
        "tests": tests,
    }


# ---------------------------------------------------------------------------------------------
# the stage


def run(root: Path, config: Config) -> None:
    if pooling_instead(root, config, "predictive", METRICS, [FIG], [ROC_CSV, KM_CSV],
                       sections=("instruments", "predictive")):
        return
    st = config.predictive
    vera, sq = load_instruments(root, config)
    t = read_clean(root, config)
    frame, direction = predictors(t, vera, sq, st.not_rated_rule, st.min_rated)
    names = list(direction)
    pairs = comparison_pairs(st.comparisons, names)
    plotted = expand(st.roc_plot, names, "roc_plot") if st.roc_plot else []
    codes = list(vera.summary.codes)
    n_risk_items = sum(len(dm.items) for dm in vera.risk_domains)
    cuts = cutoff_specs(vera, st)

    outcomes = t["outcomes"]
    results: dict[str, Any] = {}
    roc_by_outcome: dict[str, dict] = {}   # outcome -> predictor -> (fpr, tpr) of the plotted curves
    km_by_outcome: dict[str, dict | None] = {}   # outcome -> band -> Kaplan-Meier steps (None: declined)
    bar = progress(len(st.outcomes) * len(names), "[predictive]", "estimate")
    for outcome in st.outcomes:
        o = outcomes[outcomes["outcome"] == outcome][["case_id", "event", "time_days"]].dropna()
        d = frame.merge(o, on="case_id", how="inner")
        n_events = int(d["event"].sum())
        block: dict[str, Any] = {"n": int(len(d)), "events": n_events,
                                 "base_rate": float(n_events / len(d)) if len(d) else None, "predictors": {}}
        if not len(d):
            block["not_estimable"] = f"not estimable: no case with the outcome {outcome!r} recorded"
        roc_by_outcome[outcome] = {}
        for name in names:
            bar.set_postfix_str(f"{outcome}: {name}")
            entry, curve = predictor_block(name, direction[name], d, st, cuts.get(name), name in plotted)
            block["predictors"][name] = entry
            if curve is not None:
                roc_by_outcome[outcome][name] = protect_curve(curve, entry["events"], entry["non_events"],
                                                              st.k_suppress)
            bar.update(1)
        block["bands"], km_by_outcome[outcome] = bands_block(d, codes, st)
        block["comparisons"] = comparisons_block(d, pairs, direction, st)
        results[outcome] = protect_outcome(block, st.k_suppress)    # what is published: small counts hidden
    bar.close()

    metrics = {
        "provenance": provenance(root, "predictive", config, clean_inputs(root, config), ("instruments", "predictive")),
        "method": predictive_method(st, n_risk_items),
        "outcomes": results,
    }
    with atomic_outputs(root) as out:
        out.write_json(METRICS, metrics)
        fig_dir = out.folder(FIG)
        for name, fig in plots.predictive_figures(results, roc_by_outcome, km_by_outcome, list(st.km_times_years),
                                                  st.k_suppress, SUMMARY):
            plots.save_svg(fig, fig_dir / name)
        out.write_text(ROC_CSV, plots.roc_csv(roc_by_outcome))
        out.write_text(KM_CSV, plots.km_csv(km_by_outcome))
    print(f"[predictive] wrote {METRICS}, {FIG}/, {ROC_CSV} and {KM_CSV}")
