"""Stage ``fairness``: does the battery predict equally well for every group? (params.yaml: ``fairness``)

For each grouping variable (site, SQ language, sex, age band; blank values left out and counted) and the
configured outcome within the horizon: Cleary's differential prediction (logistic, and Cox on the whole
follow-up), calibration of the pooled model's predicted risks in each group, discrimination per group, error
rates at the operational cut-offs with the decomposition of the FPR gap, and score differences. Each group is
graded by its events (``fairness.tiers``; the first tier is at least the disclosure threshold): counts only,
estimates without tests, tests flagged as low-powered, everything. Holm's adjustment runs within each family
(one variable, one analysis). Equal prediction is claimed only by two one-sided tests against the margins
named in the params. Writes ``reports/metrics/fairness.json`` and ``reports/figures/fairness/``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import expit

from validation.battery.disclosure import Undisclosable, protect_or_withhold, protect_table
from validation.pipeline.common import load_instruments
from validation.pipeline.config import Config, FairnessConfig
from validation.pipeline.inputs import clean_inputs, read_clean
from validation.pipeline.outputs import atomic_outputs
from validation.pipeline.progress import progress
from validation.pipeline.provenance import provenance
from validation.pipeline.sites import pooling_instead
from validation.pipeline.stages.predictive import RISK_TOTAL, SUMMARY, cutoff_specs, predictors
from validation.report.fairness import outcome_view
from validation.report.figures import fairness as plots
from validation.report.figures import save_svg
from validation.stats.fairness import (TIER_NAMES, calibration_by_group, differential_prediction,
                                       differential_prediction_cox, discrimination_by_group, error_rates_by_group,
                                       equivalence_tost, score_differences)
from validation.stats.predictive import holm
from validation.stats.results import NotEstimable, to_dict

METRICS = "reports/metrics/fairness.json"
FIG = "reports/figures/fairness"


def analysis_frame(t: dict[str, pd.DataFrame], vera, sq, config: Config,
                   outcome: str | None = None) -> tuple[pd.DataFrame, dict[str, Any]]:
    """One row per case with the score, the summary judgement, the grouping variables and the outcome within
    the horizon (``y``: an event by ``horizon_days``; cases followed less long without an event are left out
    of ``y``'s analyses, ``in_horizon`` False), plus the whole follow-up for the Cox models."""
    p, st = config.fairness, config.predictive
    frame, _ = predictors(t, vera, sq, st.not_rated_rule, st.min_rated)
    cases = t["cases"][["case_id", "site", "sex", "age_band"]]
    sq1 = t["sq_responses"]
    sq1 = sq1[sq1["occasion"] == 1][["case_id", "language"]] if "language" in sq1.columns else \
        pd.DataFrame({"case_id": [], "language": []})
    o = t["outcomes"]
    o = o[o["outcome"] == (outcome or p.outcomes[0])][["case_id", "event", "time_days"]]
    d = frame.merge(cases, on="case_id", how="left").merge(sq1, on="case_id", how="left").merge(o, on="case_id")
    d = d[d[p.score].notna()].copy()
    d["y"] = ((d["event"] == 1) & (d["time_days"] <= p.horizon_days)).astype(int)
    d["in_horizon"] = (d["time_days"] >= p.horizon_days) | (d["y"] == 1)
    for g in ("site", "language", "sex", "age_band"):
        d[g] = d[g].astype("string").replace("", pd.NA) if g in d.columns else pd.NA
    cuts = cutoff_specs(vera, st)
    flags = {f"{p.score} {lab}": (d[p.score] >= thr).astype(int)
             for thr, lab in zip(cuts[RISK_TOTAL]["thresholds"], cuts[RISK_TOTAL]["labels"])} \
        if p.score == RISK_TOTAL else {}
    top = len(vera.summary.codes)
    flags[f"summary judgement {vera.summary.codes[-1]}"] = (d[SUMMARY] == top).astype("Int64")
    for name, f in flags.items():
        d[f"flag: {name}"] = f
    return d, {"flags": list(flags), "n_cases": int(len(d))}


def _pooled_risk(d: pd.DataFrame, score: str) -> tuple[pd.Series, np.ndarray]:
    """The pooled model's predicted risk within the horizon: logistic regression of ``y`` on the score."""
    import statsmodels.api as sm

    x = np.column_stack([np.ones(len(d)), d[score].to_numpy(float)])
    fit = sm.GLM(d["y"].to_numpy(float), x, family=sm.families.Binomial()).fit()
    beta = np.asarray(fit.params, dtype=float)
    return pd.Series(1 / (1 + np.exp(-(x @ beta))), index=d.index), beta


def _safe(fn, *args, **kwargs) -> tuple[Any, str | None]:
    try:
        return fn(*args, **kwargs), None
    except NotEstimable as exc:
        return None, str(exc)


def _published_counts(table: pd.DataFrame, k: int) -> dict[str, dict[str, Any]]:
    """n and events per group with small counts hidden so that no total gives one back (events and
    non-events as a two-way table with both margins; when that cannot be protected, every group's events
    are withheld and only the group sizes, protected as a line with their total, are shown)."""
    cells = {str(g): {"events": int(r["events"]), "non_events": int(r["non_events"])} for g, r in table.iterrows()}
    try:
        shown = protect_table(cells, k, row_totals=True, column_totals=True)
    except Undisclosable:
        sizes = protect_or_withhold({str(g): int(r["n"]) for g, r in table.iterrows()}, k, total=True)
        return {str(g): {"n": sizes.get(str(g), "withheld"), "events": "withheld", "tier": r["tier"],
                         "counts_hidden": True} for g, r in table.iterrows()}
    out = {}
    for g, r in table.iterrows():
        s = shown[str(g)]
        hidden = any(isinstance(v, str) for v in s.values())
        out[str(g)] = {"n": int(r["n"]) if int(r["n"]) >= k else f"<{k}",
                       "events": s["events"], "tier": r["tier"], "counts_hidden": hidden}
    return out


def _cleary_block(dp, untested: list[str]) -> dict[str, Any]:
    """Cleary's model of one variable's testable groups: the tests, both models' coefficients (each group
    term with its Wald p-value; :func:`adjust` adds Holm's and the flags), the magnitudes."""
    from scipy.stats import norm

    def rows(table: pd.DataFrame, prefix: str) -> dict:
        return {n: {**dict(r), **({"p": float(2 * norm.sf(abs(r["estimate"] / r["se"])))}
                                  if n.startswith(prefix) else {})} for n, r in table.iterrows()}

    return {"tests": {n: dict(r) for n, r in dp.tests.iterrows()}, "firth": dp.firth,
            "notes": list(dp.notes) + ([f"not in the tests (too few events for a test): {', '.join(untested)}"]
                                       if untested else []),
            "coefficients": rows(dp.coefficients, "score:group"), "common_slope": rows(dp.common_slope, "group"),
            "magnitude": {str(gr): dict(r) for gr, r in dp.magnitude.iterrows()},
            "groups_tested": [str(gr) for gr in dp.groups.index if dp.groups.loc[gr, "tier"] != TIER_NAMES[0]]}


def adjust(variables: dict[str, dict], family: str, alpha: float) -> None:
    """Holm's adjustment within each family of tests, and the groups Cleary's model flags, in place.

    A family is one analysis of one grouping variable (``family="variable"``) or of every grouping variable
    of the outcome at once (``"outcome"``). Analyses: the group terms of the common-slope model (intercept
    differences), the interaction terms (slope differences), each of Miller's calibration tests over the
    testable groups, the DeLong comparisons with the reference. A group is flagged for an intercept (slope)
    difference where the variable's intercept (slope) likelihood-ratio test rejects at ``alpha`` and the
    group's term does after the adjustment."""
    def families(items: list[tuple[str, Any, float]]) -> dict[Any, float]:
        out: dict[Any, float] = {}
        groups: dict[str, list[tuple[Any, float]]] = {}
        for var, key, pv in items:
            groups.setdefault(var if family == "variable" else "all", []).append(((var, key), pv))
        for members in groups.values():
            adj = holm(np.array([pv for _, pv in members], dtype=float)).adjusted
            out.update({key: float(a) for (key, _), a in zip(members, adj)})
        return out

    for b in variables.values():
        if "tests" in (b.get("cleary") or {}):
            b["cleary"]["flagged"] = []
    for kind, table, prefix in (("intercept", "common_slope", "group"), ("slope", "coefficients", "score:group")):
        items = [(var, t, r["p"]) for var, b in variables.items() if "tests" in (b.get("cleary") or {})
                 for t, r in b["cleary"][table].items() if t.startswith(prefix)]
        adjusted = families(items)
        for var, b in variables.items():
            c = b.get("cleary") or {}
            if "tests" not in c:
                continue
            for t, r in c[table].items():
                if (var, t) not in adjusted:
                    continue
                r["p_holm"] = adjusted[(var, t)]
                if c["tests"][kind]["p"] < alpha and r["p_holm"] < alpha:
                    group = t[len(prefix):]
                    c["flagged"].append({"group": group, "kind": kind, "term": t, "estimate": float(r["estimate"]),
                                         "p_holm": r["p_holm"], "magnitude": c["magnitude"].get(group)})
    for test in ("p_citl", "p_slope", "p_joint"):
        items = [(var, gr, r[test]) for var, b in variables.items()
                 for gr, r in ((b.get("calibration") or {}).get("by_group") or {}).items()
                 if r.get("tier") in TIER_NAMES[2:] and r.get(test) is not None]
        adjusted = families(items)
        for var, b in variables.items():
            for gr, r in ((b.get("calibration") or {}).get("by_group") or {}).items():
                r[f"{test}_holm"] = adjusted.get((var, gr))
    items = [(var, gr, r["p"]) for var, b in variables.items()
             for gr, r in ((b.get("discrimination") or {}).get("comparisons") or {}).items()]
    adjusted = families(items)
    for var, b in variables.items():
        for gr, r in ((b.get("discrimination") or {}).get("comparisons") or {}).items():
            r["p_holm"] = adjusted[(var, gr)]


def _safe_bands(bands: pd.DataFrame, k: int, hidden: set[str]) -> list[dict]:
    """The observed rate per band of the groups whose every band has k or more cases, events and non-events
    (one small band left out would come back from the group's total less the others) and whose counts are
    not hidden."""
    out = []
    for gr, rows in bands.groupby("group", sort=False):
        small = (rows["n"] < k) | (rows["events"] < k) | (rows["n"] - rows["events"] < k)
        if str(gr) in hidden or small.any():
            continue
        out.extend(dict(r) for _, r in rows.iterrows())
    return out


def variable_block(d: pd.DataFrame, var: str, p: FairnessConfig, flags: list[str], k: int, seed: int) -> dict:
    """Every analysis of one grouping variable."""
    tiers = (max(p.tiers[0], k), p.tiers[1], p.tiers[2])
    sub = d[d[var].notna()]
    block: dict[str, Any] = {"n_blank": int(d[var].isna().sum())}
    h = sub[sub["in_horizon"]]
    if h[var].nunique() < 2:
        block["not_estimable"] = f"fewer than two {var} groups with data"
        return block
    ref = p.reference.get(var)
    levels = set(h[var].astype(str))
    if ref is not None and ref not in levels:
        block["note"] = f"the configured reference {ref!r} is not among the groups; the largest is used"
        ref = None
    y, s, g = h["y"].to_numpy(int), h[p.score].to_numpy(float), h[var].astype(str).to_numpy()
    disc, why = _safe(discrimination_by_group, y, s, g, ref, p.ci, tiers=tiers,
                      time=sub.loc[h.index, "time_days"].to_numpy(float), event=sub.loc[h.index, "event"].to_numpy(int))
    if disc is None:
        block["not_estimable"] = why
        return block
    reference = disc.reference
    block["reference"] = reference
    block["groups"] = _published_counts(disc.table[["n", "events", "non_events", "tier"]], k)
    # a group whose events are hidden publishes no figure that gives them back (a rate, an O/E)
    hidden = {gr for gr, r in block["groups"].items() if r["counts_hidden"]}
    block["discrimination"] = {
        "by_group": {str(gr): {c: r[c] for c in ("auc", "ci_lower", "ci_upper", "c", "c_lower", "c_upper", "note")
                               if c in r.index} for gr, r in disc.table.iterrows()},
        "comparisons": {str(gr): dict(r) for gr, r in disc.comparisons.iterrows()},
        "equivalence": {str(gr): equivalence_tost(r["difference"], abs(r["difference"] / r["statistic"])
                                       if r["statistic"] else np.nan, p.equivalence_auc, p.ci)
                        for gr, r in disc.comparisons.iterrows()},
        "heterogeneity": None if disc.heterogeneity is None else {
            "q": disc.heterogeneity.q, "q_df": disc.heterogeneity.q_df, "q_p": disc.heterogeneity.q_pvalue,
            "tau2": disc.heterogeneity.tau2, "pooled_logit": disc.heterogeneity.estimate,
            "pi_logit": [disc.heterogeneity.pi.lower, disc.heterogeneity.pi.upper],
            "pooled_auc": expit(disc.heterogeneity.estimate),
            "pi_auc": [expit(disc.heterogeneity.pi.lower), expit(disc.heterogeneity.pi.upper)]}}
    # Cleary's tests among the groups with enough events for a test; the others have estimates only
    tiers_of = {str(gr): r["tier"] for gr, r in disc.table.iterrows()}
    testable = [gr for gr, tier in tiers_of.items() if tier in TIER_NAMES[2:]]
    untested = [gr for gr, tier in tiers_of.items() if tier not in TIER_NAMES[2:]]
    if reference in testable and len(testable) >= 2:
        keep = np.isin(g, testable)
        dp, why = _safe(differential_prediction, y[keep], s[keep], g[keep], reference, p.ci, n_boot=p.n_boot,
                        random_state=seed, tiers=tiers)
        block["cleary"] = {"not_estimable": why} if dp is None else _cleary_block(dp, untested)
    else:
        block["cleary"] = {"no_test": "fewer than two groups (the reference among them) have the events a test "
                                      f"needs ({tiers[1]} events and non-events)", "untested": untested}
    # the Cox version over the whole follow-up, among the groups whose events over it allow a test
    ev = sub.groupby(sub[var].astype(str))["event"].agg(["sum", "size"])
    cox_groups = [str(gr) for gr, r in ev.iterrows() if min(r["sum"], r["size"] - r["sum"]) >= tiers[1]]
    if reference in cox_groups and len(cox_groups) >= 2:
        keep = sub[var].astype(str).isin(cox_groups).to_numpy()
        cox, why = _safe(differential_prediction_cox, sub["time_days"].to_numpy(float)[keep],
                         sub["event"].to_numpy(int)[keep], sub[p.score].to_numpy(float)[keep],
                         sub[var].astype(str).to_numpy()[keep], reference, p.ci, tiers=tiers)
        block["cleary_cox"] = {"not_estimable": why} if cox is None else {
            "tests": {n: dict(r) for n, r in cox.tests.iterrows()}, "groups_tested": cox_groups,
            "by_group": {str(gr): dict(r) for gr, r in cox.by_group.iterrows()}, "notes": list(cox.notes)}
    else:
        block["cleary_cox"] = {"no_test": "fewer than two groups (the reference among them) have the events over "
                                          f"the whole follow-up a test needs ({tiers[1]})"}
    risk = h["risk"].to_numpy(float)
    cal, why = _safe(calibration_by_group, y, risk, g, p.ci, bands=list(p.bands), tiers=tiers)
    if cal is None:
        block["calibration"] = {"not_estimable": why}
    else:
        table = cal.table
        block["calibration"] = {
            "by_group": {str(gr): {**{c: r[c] for c in table.columns
                                      if c not in ("n", "events", "non_events", "expected")
                                      and not (str(gr) in hidden and c.startswith("oe"))},
                                   "equivalence_citl": equivalence_tost(r.get("citl", np.nan),
                                                             (r.get("citl_upper", np.nan) - r.get("citl_lower", np.nan))
                                                             / (2 * 1.959963984540054), p.equivalence_citl, p.ci)}
                         for gr, r in table.iterrows()},
            "bands": _safe_bands(cal.bands, k, hidden)}
    errors = {}
    for flag in flags:
        f = h[f"flag: {flag}"]
        ok = f.notna().to_numpy()
        res, why = _safe(error_rates_by_group, y[ok], f.to_numpy()[ok].astype(int), g[ok], reference, p.ci,
                         tiers=tiers)
        if res is None:
            errors[flag] = {"not_estimable": why}
            continue
        # the four rates of a group give its confusion table back with its size and base rate: one small
        # cell withholds all four (and the base rate when the events are hidden)
        small = set()
        for gr, rows in res.table.groupby(level="group", sort=False):
            cells = rows.xs(gr, level="group")
            confusion = [int(cells.loc[m, "k"]) for m in ("FPR", "FNR", "PPV", "NPV")]
            if str(gr) in hidden or any(0 < c < k for c in confusion):
                small |= {(gr, m) for m in ("FPR", "FNR", "PPV", "NPV")}
            base = cells.loc["base rate"]
            if str(gr) in hidden or 0 < base["k"] < k or 0 < base["n"] - base["k"] < k:
                small.add((gr, "base rate"))
        withheld = {"estimate": None, "ci_lower": None, "ci_upper": None,
                    "note": f"withheld: the rate would give back a count below {k}"}
        errors[flag] = {
            "rates": {f"{gr} | {m}": {**{c: r[c] for c in ("estimate", "ci_lower", "ci_upper", "tier", "note")},
                                      **(withheld if (gr, m) in small else {})}
                      for (gr, m), r in res.table.iterrows()},
            "differences": {f"{gr} | {m}": {**dict(r), **({"difference": None, "ci_lower": None, "ci_upper": None,
                                                          "note": withheld["note"]}
                                                         if (gr, m) in small or (reference, m) in small else {})}
                            for (gr, m), r in res.differences.iterrows()},
            "decomposition": {str(gr): (dict(r) if not any((who, m) in small for who in (gr, reference)
                                                          for m in ("base rate", "FPR", "FNR", "PPV"))
                                        else {"note": withheld["note"]})
                              for gr, r in res.decomposition.iterrows()}}
    block["error_rates"] = errors
    high = f"flag: {flags[-1]}"
    okh = sub[high].notna()
    sd, why = _safe(score_differences, sub.loc[okh, p.score].to_numpy(float), sub.loc[okh, high].to_numpy(int),
                    sub.loc[okh, var].astype(str).to_numpy(), reference, p.ci)
    def shares_safe(r) -> bool:
        return not (0 < r["flagged"] < k or 0 < r["n"] - r["flagged"] < k)

    block["score_differences"] = {"not_estimable": why} if sd is None else {
        str(gr): {c: r[c] for c in ("mean", "d", "d_lower", "d_upper") if c in r.index}
        | ({c: r[c] for c in ("share_flagged", "flagged_difference", "flagged_lower", "flagged_upper") if c in r.index}
           if shares_safe(r) and shares_safe(sd.table.loc[sd.reference]) else {"share_flagged": None,
                                                                              "note": "share withheld: a count "
                                                                                      f"below {k}"})
        for gr, r in sd.table.iterrows() if r["n"] >= k}
    return block


def run(root: Path, config: Config) -> None:
    if pooling_instead(root, config, "fairness", METRICS, [FIG], sections=("instruments", "predictive", "fairness")):
        return
    p = config.fairness
    k = int(config.predictive.k_suppress)
    vera, sq = load_instruments(root, config)
    t = read_clean(root, config)
    blocks, ranges = {}, {}
    bar = progress(len(p.outcomes) * len(p.groups), "[fairness]", "variable")
    for outcome in p.outcomes:
        d, info = analysis_frame(t, vera, sq, config, outcome)
        h = d[d["in_horizon"]]
        d["risk"] = np.nan
        risk, beta = _pooled_risk(h, p.score)
        d.loc[h.index, "risk"] = risk
        print(f"[fairness] {outcome}: {len(h)} cases followed {p.horizon_days:g} days or with an event "
              f"({int(h['y'].sum())} events); groups: {', '.join(p.groups)}", flush=True)
        variables = {}
        for i, var in enumerate(p.groups):
            bar.set_postfix_str(f"{outcome}: {var}")
            variables[var] = variable_block(d, var, p, info["flags"], k, int(p.seed) + i)
            bar.update(1)
        adjust(variables, p.multiplicity, 1 - p.ci)
        events = int(h["y"].sum())
        blocks[outcome] = {"n": int(len(h)), "events": events if events >= k else f"<{k}",
                           "pooled_model": {"intercept": float(beta[0]), "slope": float(beta[1])},
                           "variables": variables}
        ranges[outcome] = (float(h[p.score].min()), float(h[p.score].max()))
    bar.close()
    metrics = to_dict({
        "provenance": provenance(root, "fairness", config, clean_inputs(root, config),
                                 ("instruments", "predictive", "fairness")),
        "method": {"outcomes": list(p.outcomes), "groups": list(p.groups), "horizon_days": p.horizon_days,
                   "score": p.score, "ci": p.ci, "tiers": list(p.tiers), "k_suppress": k, "flags": info["flags"],
                   "equivalence": {"auc": p.equivalence_auc, "citl": p.equivalence_citl},
                   "multiplicity": "Holm within each family: one analysis of "
                                   + ("one grouping variable" if p.multiplicity == "variable"
                                      else "every grouping variable") + " of one outcome"},
        "outcomes": blocks,
    })
    with atomic_outputs(root) as out:
        out.write_json(METRICS, metrics)
        fig_dir = out.folder(FIG)
        for outcome in p.outcomes:
            for name, fig in plots.fairness_figures(outcome_view(metrics, outcome), ranges[outcome]):
                save_svg(fig, fig_dir / f"{name[:-4]}_{outcome}.svg")
    print(f"[fairness] wrote {METRICS} and {FIG}/", flush=True)
