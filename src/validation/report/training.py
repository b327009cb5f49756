"""The report's section "Rater training and certification", its key figures and its summary.json block,
from ``reports/metrics/training.json`` alone."""

from __future__ import annotations

from typing import Any, Mapping

from validation.report import html as H
from validation.report import view as V
from validation.report import verdicts as VD
from validation.report.summary import KeyFigure, g

EXACT = "exact, indicators"
DECISION_WORDS = (("certified", "certified"), ("not yet", "not yet"), ("undecided", "undecided"))


def _rule_min(m: Mapping, measure: str) -> tuple[float | None, str]:
    for rule in g(m, "method", "rules") or []:
        if rule.get("measure") == measure and rule.get("min") is not None:
            return float(rule["min"]), str(rule.get("source", ""))
    return None, ""


def training_key_figures(m: Mapping) -> list[KeyFigure]:
    """The course's exact agreement on the indicators at each occasion (against the certification cut-off) and
    the training effect beyond practice (against no effect)."""
    if not isinstance(m, Mapping) or "course" not in m:
        return []
    cut, source = _rule_min(m, EXACT)
    out = []
    for occ, block in (m.get("course") or {}).items():
        e = block.get(EXACT) or {}
        if not H.is_num(e.get("estimate")):
            continue
        v = VD.judge(e["estimate"], e.get("ci_lower"), e.get("ci_upper"), minimum=cut) if cut is not None else \
            VD.Verdict(VD.NE, "no certification cut-off for exact agreement")
        when = {"1": "before", "2": "after"}.get(str(occ), f"occasion {occ}")
        out.append(KeyFigure("training", f"course exact agreement with the key, {when} training", e["estimate"],
                             e.get("ci_lower"), e.get("ci_upper"), g(m, "method", "ci"), m.get("n_trainees"),
                             "trainees", threshold=f"\u2265 {cut:g}" if cut is not None else "", source=source,
                             verdict=v.outcome, reason=v.reason, anchor="training", cutoff=cut))
    effect = g(m, "change", "effects", "training beyond practice")
    if isinstance(effect, Mapping) and H.is_num(effect.get("estimate")):
        v = VD.judge(effect["estimate"], effect.get("ci_lower"), effect.get("ci_upper"), minimum=0.0, null_value=0.0)
        out.append(KeyFigure("training", "training effect beyond practice (difference in differences)",
                             effect["estimate"], effect.get("ci_lower"), effect.get("ci_upper"), g(m, "method", "ci"),
                             m.get("n_trainees"), "trainees", threshold="> 0", source="against the control arm",
                             verdict=v.outcome, reason=v.reason, anchor="training", null_value=0.0))
    return out


def training_summary(m: Mapping) -> dict | None:
    """The summary.json block: trainees certified, not yet and undecided (small counts suppressed)."""
    if not isinstance(m, Mapping) or "certification" not in m:
        return None
    c = m["certification"]
    return {"n_trainees": c.get("n_trainees"), "decisions": c.get("counts"), "rules": g(m, "method", "rules")}


def _ci(e: Mapping | None) -> str:
    if not isinstance(e, Mapping) or not H.is_num(e.get("estimate")):
        return H.DASH
    return f"{H.num(e['estimate'])} [{H.num(e.get('ci_lower'))}, {H.num(e.get('ci_upper'))}]"


def training_section(m: Mapping, figs: Mapping[str, str], fig: Any, k: int) -> V.Section:
    title = V.Heading(2, V.line("Rater training and certification"))
    if not isinstance(m, Mapping) or not m or "not_run" in m:
        why = (m or {}).get("not_run", "the training metrics are missing")
        return V.section("training", title, V.Para(V.line(f"Not run: {why}.")))
    c = m.get("certification") or {}
    counts = c.get("counts") or {}
    n = c.get("n_trainees")
    words = "; ".join(f"{counts.get(key, H.DASH)} {word}" for key, word in DECISION_WORDS)
    failing = c.get("failing") or {}
    out: list[Any] = [title, V.Para(V.line(
        V.b(f"Ready to rate real cases: {counts.get('certified', H.DASH)} of {n} trainees certified"),
        f" ({words}), each judged on the last occasion attended by the four-outcome rule: certified when every "
        "rule's interval lies on its right side, not yet when one lies wholly on the wrong side, undecided "
        "when an interval straddles its cut-off."
        + (" Rules failed most: " + ", ".join(f"{name} ({cnt})" for name, cnt in failing.items()) + "."
           if failing else "")
        + (f" An undecided trainee needs about {H.num(c['more_vignettes_median'], 0)} more vignettes (median)."
           if c.get("more_vignettes_median") else "")))]
    rules = g(m, "method", "rules") or []
    out.append(V.table(["rule", "cut-off", "source"], [
        [r["measure"], (f"\u2265 {r['min']:g}" if "min" in r else f"\u2264 {r['max']:g}" if "max" in r
                        else f"|x| \u2264 {r['max_abs']:g}"), r.get("source", "")] for r in rules], 1,
        also_left=(2,)))
    out.append(fig(figs, "training/caterpillar.svg", "Each trainee's exact agreement with the key on the last "
                   "occasion, with its interval (bootstrap over vignettes), coloured by decision; the dashed line "
                   "is the certification cut-off"))
    course = m.get("course") or {}
    measures = ["exact, indicators", "exact, additional indicators", "exact, summary judgement", "weighted kappa",
                "AC2", "severity", "centrality"]
    out += [V.Heading(3, V.line("The course against the key")),
            V.table(["measure", *[f"occasion {o}" for o in course]],
                    [[name, *[_ci(course[o].get(name)) for o in course]] for name in measures], 1)]
    change = m.get("change")
    if change:
        eff = change.get("effects") or {}
        out += [V.Heading(3, V.line("Before and after")),
                V.Para(V.line("Each trainee rates one vignette set before and the parallel set after "
                              "(counterbalanced); practice, the sets' difference and training beyond practice are "
                              "separated by the two-period crossover model; intervals from a bootstrap over trainees "
                              "and vignettes." + (f" {change['note']}." if change.get("note") else "")
                              + f" Trainees who missed an occasion: {change.get('n_missed')} (left out of this "
                              "comparison only).")),
                V.table(["term", "estimate [CI]"], [[t, _ci(e)] for t, e in eff.items()], 1),
                fig(figs, "training/before_after.svg", "Mean exact agreement before and after training, by arm")]
    inds = m.get("indicators") or {}
    flagged = [(i, r) for i, r in inds.items() if r.get("systematic")]
    hardest = sorted(inds.items(), key=lambda ir: ir[1].get("share") if H.is_num(ir[1].get("share")) else 1)[:5]
    out += [V.Heading(3, V.line("The indicators")),
            V.Para(V.line("Hardest indicators (share of ratings matching the key on the last occasion): "
                          + ", ".join(f"{i} {H.num(r.get('share'))}" for i, r in hardest) + ". "
                          + ("Misses systematically one way (exact binomial test on the misses where the key is "
                             "'moderate', Holm-adjusted): "
                             + ", ".join(f"{i} ({r['systematic']})" for i, r in flagged) + "."
                             if flagged else "No indicator's misses lean one way beyond chance (Holm-adjusted)."))),
            fig(figs, "training/indicators.svg", "Share of trainees matching the key, indicator by vignette")]
    out += _facets_block(m.get("facets"), figs, fig)
    oc = m.get("operating_characteristics") or []
    if oc:
        vignettes = sorted({r["vignettes"] for r in oc})
        accuracies = sorted({r["true_exact"] for r in oc})
        cell = {(r["true_exact"], r["vignettes"]): r["p_certified"] for r in oc}
        out += [V.Heading(3, V.line("How many vignettes certification needs")),
                V.Para(V.line("The probability that the rule on the indicators' exact agreement certifies a trainee "
                              "of a given true exact agreement who rates a given number of vignettes (its interval "
                              f"wholly above the cut-off; {oc[0]['replicates']} simulated trainees a cell on the "
                              "synthetic generator). A trainee at the cut-off stays undecided however many "
                              "vignettes: the interval narrows around the cut-off.")),
                V.table(["true exact agreement", *[f"{v} vignettes" for v in vignettes]],
                        [[H.num(a, 2), *[H.num(cell.get((a, v)), 2) for v in vignettes]] for a in accuracies], 1),
                fig(figs, "training/operating.svg", "Probability of certification against the true exact "
                    "agreement, one line per number of vignettes")]
    return V.section("training", *[b for b in out if b is not None])


def _sd(r: Mapping) -> str:
    if H.is_num(r.get("ci_lower")):
        return f"{H.num(r['sd'])} [{H.num(r['ci_lower'])}, {H.num(r['ci_upper'])}]"
    return f"{H.num(r.get('sd'))} (on its boundary: no interval)"


def _facets_block(f: Mapping | None, figs: Mapping[str, str], fig: Any) -> list[Any]:
    """Severity and indicator shift on one scale: the model's SDs, the indicators whose shift is off 0, the
    trainees whose severity is."""
    if not isinstance(f, Mapping):
        return []
    head = V.Heading(3, V.line("Severity and indicator shift on one scale"))
    if "not_estimable" in f:
        return [head, V.Para(V.line(f"The mixed model is {f['not_estimable']}."))]
    sds = f.get("sds") or {}
    inds = f.get("indicators") or {}
    up = [i for i, r in inds.items() if H.is_num(r.get("ci_lower")) and r["ci_lower"] > 0]
    down = [i for i, r in inds.items() if H.is_num(r.get("ci_upper")) and r["ci_upper"] < 0]
    off = f.get("trainees_off_zero") or {}
    return [head,
            V.Para(V.line(
                "A cumulative-link mixed model of every rating on each trainee's last occasion, the key's rating as a "
                "fixed effect and trainee, vignette and indicator as crossed random effects (fitted as R's "
                "ordinal::clmm fits it), puts each trainee's severity and each indicator's shift on one logit "
                "scale: above 0, rated higher than the key predicts. Standard deviations: "
                + "; ".join(f"{name} {_sd(r)}" for name, r in sds.items())
                + ". Indicators over-rated by the course (interval above 0): " + (", ".join(up) or "none")
                + "; under-rated: " + (", ".join(down) or "none")
                + f". Trainees rating higher than the key beyond their interval: {off.get('above', H.DASH)}; "
                f"lower: {off.get('below', H.DASH)}. Misses with no direction do not move these effects: the "
                "share matching above shows them.")),
            fig(figs, "training/facets.svg", "Each trainee's severity and each indicator's shift on one logit "
                "scale, with their intervals (conditional variances of the mixed model)")]


def feedback_sheet(trainee: str, mine: Mapping[str, Mapping], course: Mapping[str, Mapping], decision: Any,
                   misses: list[tuple[str, str, str, str]], occasion: Any) -> str:
    """One trainee's feedback page: their decision and the criterion behind it, their agreement with the key
    per measure beside the course's, and the indicators they rated otherwise than the key (vignette,
    indicator, the key's rating, theirs). Names nobody but the trainee, by pseudonym."""
    from validation.report.render import render_page

    verdict = decision.decision
    why = ("every rule met" if verdict == VD.CERTIFIED else
           "not met: " + ", ".join(decision.failing) if verdict == VD.NOT_YET else
           "undecided: " + ", ".join(decision.undecided)
           + (f"; about {decision.more_vignettes} more vignettes would decide it" if decision.more_vignettes else ""))
    rows = [[name, _ci(mine.get(name)), _ci(course.get(name))] for name in mine]
    sections = [
        V.section("decision", V.Heading(2, V.line("Decision")),
                  V.Para(V.line(V.b(f"{verdict}"), f" ({why}), on occasion {occasion}."))),
        V.section("agreement", V.Heading(2, V.line("Your agreement with the key")),
                  V.table(["measure", "you [CI]", "the course [CI]"], rows, 1),
                  V.Para(V.line("Severity above 0: you rate higher than the key; centrality: the share of "
                                "'moderate' where the key says low or high."), "muted")),
        V.section("misses", V.Heading(2, V.line("Where you differed from the key")),
                  V.table(["vignette", "indicator", "the key", "you"], [list(m) for m in misses], 2)
                  if misses else V.Para(V.line("Nowhere: every rating matched the key."))),
    ]
    return render_page(f"Rater training: feedback for {trainee}", V.line(
        "Your ratings of the course's case vignettes against the expert key. Intervals: bootstrap over vignettes."),
        None, [("decision", "Decision"), ("agreement", "Your agreement"), ("misses", "Where you differed")], sections)
