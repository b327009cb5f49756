"""The report's section "Predictive fairness", its key figures and its summary.json block, from
``reports/metrics/fairness.json`` alone. The bottom line comes first: which groups show a difference, which
are equal within the named margins, and which cannot be tested and why. No group is called "fair" because a
test did not reject."""

from __future__ import annotations

import dataclasses
from typing import Any, Mapping

from validation.report import html as H
from validation.report import view as V
from validation.report import verdicts as VD
from validation.report.summary import KeyFigure, g

TESTABLE = ("low power", "full")


def outcome_view(m: Mapping, outcome: str) -> dict:
    """One outcome's analyses shaped as a whole metrics file of one outcome: its ``n``, ``events`` and
    ``variables``, with the method (and the outcome's pooled model) under ``method``."""
    block = (m.get("outcomes") or {}).get(outcome) or {}
    return {**{k: v for k, v in m.items() if k != "outcomes"}, **block,
            "method": {**(m.get("method") or {}), "outcome": outcome, "pooled_model": block.get("pooled_model")}}


def _outcomes(m: Mapping) -> list[str]:
    return list((m.get("outcomes") or {}) if isinstance(m, Mapping) else [])
CRITERIA = (
    "Three criteria compete. Calibration within groups (a given score means the same risk in every group), "
    "balance of error rates (equal false positive and false negative rates) and equal predictive values cannot "
    "all hold when base rates differ, except for a perfect predictor (Kleinberg, Mullainathan & Raghavan 2016; "
    "Chouldechova 2017). The platform puts calibration within groups first: a risk assessment informs decisions "
    "about one person, and the risk a score stands for should not depend on the group the person belongs to. "
    "Error rates are reported beside it with the decomposition of each FPR gap into the parts owed to the base "
    "rate, the PPV and the FNR, so that a reader who weighs the criteria otherwise sees the cost. Differences "
    "in mean scores are differences in scores, not evidence of bias (Skeem & Lowenkamp 2016).")


def _ci(v: Any, lo: Any, hi: Any, digits: int = 2) -> str:
    if not H.is_num(v):
        return H.DASH
    if H.is_num(lo) and H.is_num(hi):
        return f"{H.num(v, digits)} [{H.num(lo, digits)}, {H.num(hi, digits)}]"
    return H.num(v, digits)


def _events_text(r: Mapping) -> str:
    return str(r.get("events"))


def findings(m: Mapping) -> tuple[list[str], list[str]]:
    """The differences shown (Cleary's model: the group's intercept or slope differs from the reference's,
    where the variable's joint test rejects and the term does after Holm's adjustment, in testable groups),
    with the size as the mean difference in predicted risk over the group's cases; and the groups that
    cannot be tested, each as a sentence fragment."""
    shown, untestable = [], []
    for var, b in (m.get("variables") or {}).items():
        groups = b.get("groups") or {}
        low = [(gr, r) for gr, r in groups.items() if r.get("tier") not in TESTABLE]
        if low:
            events = [_events_text(r) for _, r in low]
            untestable.append(f"{var}: {len(low)} of {len(groups)} groups not testable "
                              f"(events {', '.join(events)}; tests need {_tier_min(m)} or more)")
        for f in g(b, "cleary", "flagged") or []:
            size = f.get("magnitude") or {}
            if f["kind"] == "intercept":
                word = "over-predicts" if f["estimate"] < 0 else "under-predicts"
                what = f"the pooled risk {word} at the same score"
            else:
                word = "weaker" if f["estimate"] < 0 else "stronger"
                what = f"the score's slope is {word} than in {b.get('reference')}"
            by = (f"; the group's own model minus the pooled one, mean predicted risk "
                  f"{_ci(size.get('estimate'), size.get('ci_lower'), size.get('ci_upper'))}" if size else "")
            shown.append(f"{var} {f['group']}: {what} (Holm-adjusted p {H.pval(f['p_holm'])}{by})")
    return shown, untestable


def _tier_min(m: Mapping) -> int:
    tiers = g(m, "method", "tiers") or [5, 50, 100]
    return int(tiers[1])


def fairness_key_figures(m: Mapping) -> list[KeyFigure]:
    """Per outcome, grouping variable and testable group: the calibration-in-the-large of the pooled model's
    risk (0: calibrated), judged by :func:`validation.report.verdicts.equal_within` against the margin named
    in the params."""
    outcomes = _outcomes(m)
    out = []
    for outcome in outcomes:
        for f in _key_figures_one(outcome_view(m, outcome)):
            out.append(f if len(outcomes) == 1 else dataclasses.replace(f, label=f"{f.label} ({outcome})"))
    return out


def _key_figures_one(m: Mapping) -> list[KeyFigure]:
    if "variables" not in m:
        return []
    margin = g(m, "method", "equivalence", "citl")
    out = []
    for var, b in m["variables"].items():
        groups = b.get("groups") or {}
        for gr, r in (g(b, "calibration", "by_group") or {}).items():
            if r.get("tier") not in TESTABLE:
                continue
            eq = r.get("equivalence_citl") or {}
            v = VD.equal_within(r.get("citl"), r.get("citl_lower"), r.get("citl_upper"), float(margin or 0.2),
                                eq.get("equivalent"))
            out.append(KeyFigure("fairness", f"calibration-in-the-large, {var} {gr}", r.get("citl"),
                                 r.get("citl_lower"), r.get("citl_upper"), g(m, "method", "ci"),
                                 (groups.get(gr) or {}).get("n"), "cases", threshold=f"0 (\u00b1{margin:g})",
                                 source="Miller, Hui & Tierney 1991; margin in params (fairness.equivalence_citl)",
                                 verdict=v.outcome, reason=v.reason, anchor="fairness", null_value=0.0))
    return out


def fairness_summary(m: Mapping) -> dict | None:
    """The summary.json block: per outcome and grouping variable the reference, each group's tier, and the
    differences shown; the groups that cannot be tested."""
    if not _outcomes(m):
        return None
    out = {"horizon_days": g(m, "method", "horizon_days"), "outcomes": {}}
    for outcome in _outcomes(m):
        v = outcome_view(m, outcome)
        shown, untestable = findings(v)
        out["outcomes"][outcome] = {
            "variables": {var: {"reference": b.get("reference"),
                                "tiers": {gr: r.get("tier") for gr, r in (b.get("groups") or {}).items()}}
                          for var, b in (v.get("variables") or {}).items()},
            "differences": shown, "not_testable": untestable}
    return out


def _group_rows(m: Mapping) -> list[list[str]]:
    rows = []
    for var, b in (m.get("variables") or {}).items():
        for gr, r in (b.get("groups") or {}).items():
            rows.append([var, f"{gr}{' (reference)' if gr == b.get('reference') else ''}", str(r.get("n")),
                         str(r.get("events")), str(r.get("tier"))])
        if b.get("n_blank"):
            rows.append([var, "blank (left out)", str(b["n_blank"]), H.DASH, H.DASH])
    return rows


def _cleary_rows(m: Mapping) -> list[list[str]]:
    rows = []
    for var, b in (m.get("variables") or {}).items():
        c = b.get("cleary") or {}
        if "no_test" in c:
            rows.append([var, "no test", c["no_test"], "", ""])
            continue
        if "tests" not in c:
            rows.append([var, "not estimable", c.get("not_estimable", ""), "", ""])
            continue
        t = c["tests"]
        status = "tested: " + ", ".join(c.get("groups_tested") or [])
        rows.append([var, status, *[f"\u03c7\u00b2 {H.num(t[n]['statistic'], 2)} (df {t[n]['df']}), "
                                    f"p {H.pval(t[n]['p'])}" for n in ("slope", "intercept", "joint")]])
    return rows


def _cox_rows(m: Mapping) -> list[list[str]]:
    rows = []
    for var, b in (m.get("variables") or {}).items():
        c = b.get("cleary_cox") or {}
        if "tests" not in c:
            rows.append([var, "no test", c.get("no_test") or c.get("not_estimable", ""), "", ""])
            continue
        t = c["tests"]
        ph = "; ".join(f"{gr} {H.pval(r.get('ph_p'))}" for gr, r in (c.get("by_group") or {}).items())
        rows.append([var, *[f"\u03c7\u00b2 {H.num(t[n]['statistic'], 2)}, p {H.pval(t[n]['p'])}"
                            for n in ("slope", "intercept", "slope, stratified")], ph])
    return rows


def _score_rows(m: Mapping) -> list[list[str]]:
    rows = []
    for var, b in (m.get("variables") or {}).items():
        for gr, r in (b.get("score_differences") or {}).items():
            if not isinstance(r, Mapping):
                continue
            rows.append([var, gr, H.num(r.get("mean"), 2), _ci(r.get("d"), r.get("d_lower"), r.get("d_upper")),
                         H.pct(r.get("share_flagged")) if H.is_num(r.get("share_flagged")) else "withheld",
                         _ci(r.get("flagged_difference"), r.get("flagged_lower"), r.get("flagged_upper"))])
    return rows


def _calibration_rows(m: Mapping) -> list[list[str]]:
    rows = []
    for var, b in (m.get("variables") or {}).items():
        for gr, r in (g(b, "calibration", "by_group") or {}).items():
            if r.get("note"):
                rows.append([var, gr, str(r.get("tier")), r["note"], "", "", ""])
                continue
            eq = r.get("equivalence_citl") or {}
            v = VD.equal_within(r.get("citl"), r.get("citl_lower"), r.get("citl_upper"),
                                float(eq.get("margin") or 0.2), eq.get("equivalent"))
            rows.append([var, gr, str(r.get("tier")), _ci(r.get("citl"), r.get("citl_lower"), r.get("citl_upper")),
                         _ci(r.get("slope"), r.get("slope_lower"), r.get("slope_upper")),
                         _ci(r.get("oe"), r.get("oe_lower"), r.get("oe_upper")),
                         (f"p {H.pval(r.get('p_joint_holm'))} (Holm); {v.outcome}" if r.get("tier") in TESTABLE
                          else "no test (imprecise)")])
    return rows


def _error_rows(m: Mapping) -> list[list[str]]:
    rows = []
    for var, b in (m.get("variables") or {}).items():
        for flag, e in (b.get("error_rates") or {}).items():
            rates = e.get("rates") or {}
            for gr in (b.get("groups") or {}):
                def cell(measure: str) -> str:
                    r = rates.get(f"{gr} | {measure}") or {}
                    note = str(r.get("note") or "")
                    return _ci(r.get("estimate"), r.get("ci_lower"), r.get("ci_upper")) if not note \
                        else "withheld" if note.startswith("withheld") else "not estimable"
                dec = (e.get("decomposition") or {}).get(gr) or {}
                split = (f"log FPR ratio {H.num(dec.get('log FPR ratio'), 2)} = base rate "
                         f"{H.num(dec.get('base rate'), 2)} + PPV {H.num(dec.get('PPV'), 2)} + FNR "
                         f"{H.num(dec.get('FNR'), 2)}") if H.is_num(dec.get("log FPR ratio")) else ""
                rows.append([var, flag, gr, cell("base rate"), cell("FPR"), cell("FNR"), cell("PPV"), split])
    return rows


def _heterogeneity(m: Mapping) -> V.Para | None:
    """Per grouping variable with two or more testable groups: Cochran's Q on the logit AUCs, tau^2 and the
    random-effects pooled AUC with the prediction interval for a new group (issue 13's engine)."""
    parts = []
    for var, b in (m.get("variables") or {}).items():
        h = g(b, "discrimination", "heterogeneity")
        if not isinstance(h, Mapping) or not H.is_num(h.get("pooled_auc")):
            continue
        lo, hi = h.get("pi_auc") or [None, None]
        parts.append(f"{var}: pooled AUC {H.num(h['pooled_auc'], 2)} (prediction interval for a new group "
                     f"{H.num(lo, 2)} to {H.num(hi, 2)}), \u03c4\u00b2 {H.num(h.get('tau2'), 3)} on the "
                     f"logit scale, Q {H.num(h.get('q'), 2)} (df {h.get('q_df')}), p {H.pval(h.get('q_p'))}")
    if not parts:
        return None
    return V.Para(V.line("Heterogeneity of the AUC across the testable groups (random effects, REML, on logit "
                         "AUC): " + "; ".join(parts) + "."))


def fairness_section(m: Mapping, figs: Mapping[str, str], fig: Any, k: int) -> V.Section:
    title = V.Heading(2, V.line("Predictive fairness"))
    if not isinstance(m, Mapping) or not m or "not_run" in m or not _outcomes(m):
        why = (m or {}).get("not_run", "the fairness metrics are missing") if isinstance(m, Mapping) else \
            "the fairness metrics are missing"
        return V.section("fairness", title, V.Para(V.line(f"Not run: {why}.")))
    outcomes = _outcomes(m)
    out: list[Any] = [title]
    for outcome in outcomes:
        out += _outcome_blocks(outcome_view(m, outcome), outcome, figs, fig, heading=len(outcomes) > 1)
    out += [V.Heading(3, V.line("Which criterion comes first")), V.Para(V.line(CRITERIA))]
    return V.section("fairness", *[blk for blk in out if blk is not None])


def _outcome_blocks(m: Mapping, outcome: str, figs: Mapping[str, str], fig: Any, heading: bool) -> list[Any]:
    shown, untestable = findings(m)
    method = m.get("method") or {}
    horizon = method.get("horizon_days")
    tested = [var for var, b in (m.get("variables") or {}).items() if "tests" in (b.get("cleary") or {})]
    if shown:
        bottom = "Differences shown: " + "; ".join(shown) + "."
    elif tested:
        bottom = (f"No difference in prediction shown among the groups tested ({', '.join(tested)}); a test "
                  "that does not reject is not evidence of equal prediction (see the equivalence verdicts below).")
    else:
        bottom = ("No grouping variable has two groups with the events a test needs: no difference can be shown "
                  "or ruled out yet.")
    tiers = method.get("tiers") or [5, 50, 100]
    return [
        V.Heading(3, V.line(f"Outcome: {outcome}")) if heading else None,
        V.Para(V.line(V.b("Bottom line. "), bottom, (" Not testable: " + "; ".join(untestable) + "."
                                                      if untestable else ""))),
        V.Para(V.line(
            f"Outcome {outcome!r} within {H.num(horizon, 0)} days among the {m.get('n')} cases followed that long "
            f"or with an event ({m.get('events')} events); score: {method.get('score')}; risks predicted by the "
            f"pooled logistic model of the outcome on the score. A group with fewer than {tiers[0]} events or "
            f"non-events has counts only; below {tiers[1]}, estimates without tests; below {tiers[2]}, tests "
            "flagged as low-powered (Collins, Ogundimu & Altman 2016 ask for 100 events). Holm's adjustment within "
            "each grouping variable and analysis."), "method"),
        V.table(["variable", "group", "n", "events", "tier"], _group_rows(m), 2),
        fig(figs, f"fairness/discrimination_{outcome}.svg", "The AUC and Harrell's C of the score within each "
            "group, with their intervals (DeLong; infinitesimal jackknife)"),
        _heterogeneity(m),
        V.Heading(3, V.line("Differential prediction (Cleary)")),
        V.Para(V.line("Logistic regression of the outcome on the score, the group and their interaction: the "
                      "likelihood-ratio test of the interaction (different slopes), of the group given a common "
                      "slope (different intercepts) and of both (Potthoff).")),
        V.table(["variable", "status", "slope", "intercept", "joint"], _cleary_rows(m), 3),
        fig(figs, f"fairness/risk_curves_{outcome}.svg", "Predicted risk against the risk total in each group "
            "(group-specific logistic models) beside the pooled model (dashed)"),
        V.Heading(3, V.line("Calibration of the pooled model in each group")),
        V.table(["variable", "group", "tier", "calibration-in-the-large", "slope", "O/E", "Miller's test; verdict"],
                _calibration_rows(m), 3),
        fig(figs, f"fairness/calibration_{outcome}.svg", "Observed rate against the mean predicted risk by band, "
            "per group (bands with fewer cases or events than the disclosure threshold left out)"),
        V.Heading(3, V.line("Error rates at the operational cut-offs")),
        V.table(["variable", "cut-off", "group", "base rate", "FPR", "FNR", "PPV", "FPR gap split"],
                _error_rows(m), 3, also_left=(-1,)),
        V.Heading(3, V.line("Time to the outcome (Cox)")),
        V.Para(V.line("The same questions on the whole follow-up, among the groups with the events a test needs: "
                      "Cox models of score and group with and without their interaction, the interaction again "
                      "with a baseline hazard per group (stratified), and each group's proportional-hazards check "
                      "(Grambsch & Therneau, p per group).")),
        V.table(["variable", "slope", "intercept", "slope, stratified", "proportional hazards (p)"], _cox_rows(m), 1,
                also_left=(-1,)) if _cox_rows(m) else None,
        V.Heading(3, V.line("Differences in scores, not evidence of bias")),
        V.Para(V.line("Mean risk total and the share flagged at the summary judgement's top code, against the "
                      "reference group: groups can differ in risk, so a difference in scores is not a difference "
                      "in what a score means (Skeem & Lowenkamp 2016).")),
        V.table(["variable", "group", "mean", "Cohen's d [CI]", "share flagged", "difference [CI]"], _score_rows(m),
                2),
    ]
