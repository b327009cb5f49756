"""The bottom line: one verdict per intended use (``report.intended_uses`` in params.yaml), from the
key figures of the criteria that use requires.

* **not fit**: a required key figure does not meet its cut-off, or shows nothing beyond chance;
* **not yet**: none fails, but some are inconclusive, not estimable or missing -- more evidence
  could decide;
* **fit for use**: every required key figure meets its cut-off.

Each paragraph gives the numbers first, then which criteria fail and what evidence is missing.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Mapping

from validation.report import html as H
from validation.report import view as V
from validation.report.rules import CRITERIA
from validation.report.summary import KeyFigure
from validation.report.verdicts import CHANCE, FAILS, INCONCLUSIVE, MEETS, NE

FIT, NOT_YET, NOT_FIT = "fit for use", "not yet", "not fit"


@dataclasses.dataclass(frozen=True)
class UseVerdict:
    """The verdict for one intended use and the key figures behind it."""

    id: str
    label: str
    verdict: str
    failing: tuple[KeyFigure, ...]
    undecided: tuple[KeyFigure, ...]
    meeting: tuple[KeyFigure, ...]
    missing: tuple[str, ...]

    def record(self) -> dict[str, Any]:
        """The verdict as a plain record (for ``summary.json``): no numbers, the key-figure labels."""
        return {"id": self.id, "label": self.label, "verdict": self.verdict,
                "failing": [f.label for f in self.failing], "undecided": [f.label for f in self.undecided],
                "missing": list(self.missing)}


def _required(figs: list[KeyFigure], criterion: str, outcomes: list[str]) -> list[KeyFigure]:
    out = [f for f in figs if f.criterion == criterion]
    if criterion == "discrimination" and outcomes:
        out = [f for f in out if f.outcome in outcomes]
    return out


def judge_uses(figs: list[KeyFigure], p: Mapping, min_events: int | None = None) -> list[UseVerdict]:
    """One :class:`UseVerdict` per intended use of the report parameters ``p``."""
    min_events = int(p["limitations"]["min_events"]) if min_events is None else min_events
    out = []
    for use_id, use in (p.get("intended_uses") or {}).items():
        failing, undecided, meeting, missing = [], [], [], []
        for criterion in use["criteria"]:
            chosen = _required(figs, criterion, list(use.get("outcomes") or []))
            if not chosen:
                missing.append(f"no key figure for {CRITERIA[criterion]}")
            for outcome in use.get("outcomes") or []:
                if criterion == "discrimination" and not any(f.outcome == outcome for f in chosen):
                    missing.append(f"no discrimination figure for {outcome} recidivism")
            for f in chosen:
                if f.verdict in (FAILS, CHANCE):
                    failing.append(f)
                elif f.verdict == MEETS:
                    meeting.append(f)
                else:
                    undecided.append(f)
                    if f.verdict == NE:
                        missing.append(f"{f.label}: not estimable ({f.reason})")
            if criterion == "discrimination":
                few = sorted({(f.outcome, int(f.events)) for f in chosen
                              if H.is_num(f.events) and f.events < min_events})
                missing += [f"discrimination for {o} recidivism rests on {e} events (fewer than {min_events})"
                            for o, e in few]
        verdict = NOT_FIT if failing else (NOT_YET if undecided or missing else FIT)
        out.append(UseVerdict(use_id, use["label"], verdict, tuple(failing), tuple(undecided), tuple(meeting),
                              tuple(dict.fromkeys(missing))))
    return out


def _figure_text(f: KeyFigure, k: int) -> str:
    """``label estimate [lower, upper]`` (numbers first), with its events when it has them."""
    if f.display:
        value = f.display
    elif H.is_num(f.value):
        value = H.num(f.value) + (f" [{H.num(f.lower)}, {H.num(f.upper)}]"
                                  if H.is_num(f.lower) and H.is_num(f.upper) else "")
    else:
        value = "not estimable"
    events = f", {H.count(f.events, k)} events" if H.is_num(f.events) else ""
    return f"{f.label} {value}{events}"


def _list(figs: tuple[KeyFigure, ...], k: int, with_reason: bool, more: bool = False) -> str:
    parts = []
    for f in figs:
        text = _figure_text(f, k)
        if with_reason and f.reason:
            text += f" ({f.reason})"
        if more and H.is_num(f.n_to_decide) and H.is_num(f.n) and f.n_to_decide > f.n:
            text += f", about {int(f.n_to_decide) - int(f.n):,} more cases would decide it"
        parts.append(text)
    return "; ".join(parts)


JUDGEMENT, TOTAL = "summary_risk", "risk_total"


def judgement_vs_total(predictive: Mapping) -> list[dict[str, Any]]:
    """The paired DeLong comparison of the summary risk judgement with the risk total, one record an
    outcome that has it (``outcome, auc_judgement, auc_total, difference`` = judgement - total,
    ``ci_lower, ci_upper, ci_level, p, p_holm, events``); Holm across the tests of that outcome."""
    out = []
    for outcome, b in ((predictive or {}).get("outcomes") or {}).items():
        for tst in (b.get("comparisons") or {}).get("tests") or []:
            pair = (tst.get("a"), tst.get("b"))
            dl = tst.get("delong") or {}
            if {*pair} != {JUDGEMENT, TOTAL} or "not_estimable" in tst or not H.is_num(dl.get("difference")):
                continue
            sign = 1.0 if pair[0] == JUDGEMENT else -1.0
            ci = dl.get("ci") or {}
            lo, hi = sorted((sign * ci["lower"], sign * ci["upper"])) if H.is_num(ci.get("lower")) else (None, None)
            aucs = (dl.get("auc1"), dl.get("auc2")) if sign > 0 else (dl.get("auc2"), dl.get("auc1"))
            out.append({"outcome": outcome, "auc_judgement": aucs[0], "auc_total": aucs[1],
                        "difference": sign * dl["difference"], "ci_lower": lo, "ci_upper": hi,
                        "ci_level": ci.get("level"), "p": dl.get("p"), "p_holm": tst.get("p_holm"),
                        "events": tst.get("events")})
    return out


def _comparison_para(rows: list[dict[str, Any]], k: int) -> V.Para | None:
    if not rows:
        return None
    parts = [f"{r['outcome']} recidivism AUC {H.num(r['auc_judgement'])} vs {H.num(r['auc_total'])}, difference "
             f"{H.num(r['difference'])} [{H.num(r['ci_lower'])}, {H.num(r['ci_upper'])}], Holm-adjusted p "
             f"{'< 0.001' if H.is_num(r['p_holm']) and r['p_holm'] < 0.001 else '= ' + H.pval(r['p_holm'])} "
             f"({H.count(r['events'], k)} events)" for r in rows]
    alpha = 1 - float(rows[0]["ci_level"] or 0.95)
    better = {"the risk total": [], "the summary judgement": []}
    for r in rows:
        if H.is_num(r["p_holm"]) and r["p_holm"] < alpha:
            better["the risk total" if r["difference"] < 0 else "the summary judgement"].append(r["outcome"])
    found = [f"{who} discriminates better for {' and '.join(outcomes)} recidivism"
             for who, outcomes in better.items() if outcomes]
    reading = (" " + "; ".join(found)[:1].upper() + "; ".join(found)[1:] + f" (Holm-adjusted p < {alpha:g})."
               if found else f" No difference holds after the Holm adjustment (p < {alpha:g}): these data cannot "
               "tell the judgement and the total apart, which is not evidence that they are equal.")
    reading += " The intervals are not adjusted for the several tests of an outcome; the Holm p is."
    return V.Para(V.line(V.b("Summary judgement against the risk total"), " (same cases, paired DeLong test): ",
                         "; ".join(parts) + "." + reading), "use")


def bottom_line_section(uses: list[UseVerdict], k: int, synthetic: bool,
                        comparisons: list[dict[str, Any]] | None = None) -> V.Section:
    """The report's opening section: a short paragraph per intended use, then the summary judgement
    against the risk total (:func:`judgement_vs_total`)."""
    out: list[V.Block] = [V.Heading(2, V.line("Bottom line"), cls="first")]
    if synthetic:
        out.append(V.Para(V.line(V.b("Synthetic data."), " These verdicts show what the analysis concludes on "
                                 "simulated cases; they say nothing about the real battery."), "warn"))
    if not uses:
        out.append(V.Para(V.line("No intended use is named (report.intended_uses in params.yaml), so no verdict "
                                 "is given.")))
    for u in uses:
        parts: list[Any] = [V.b(f"{u.label[:1].upper()}{u.label[1:]}: "), V.badge(u.verdict), ". "]
        if u.failing:
            parts += [V.b("Fails: "), _list(u.failing, k, True) + ". "]
        undecided = tuple(f for f in u.undecided if f.verdict == INCONCLUSIVE)
        if undecided:
            parts += [V.b("Undecided: "), _list(undecided, k, False, more=True)
                  + ": each interval straddles its cut-off (the cases to decide: section Planning the next study). "]
        if u.meeting:
            names = sorted({CRITERIA[f.criterion].split(" (")[0] for f in u.meeting})
            parts += [V.b("Meets: "), f"{len(u.meeting)} key figure{'s' if len(u.meeting) != 1 else ''} "
                      f"({'; '.join(names)}). "]
        if u.missing:
            parts += [V.b("Missing evidence: "), "; ".join(u.missing) + "."]
        out.append(V.Para(V.line(*parts), "use"))
    para = _comparison_para(comparisons or [], k)
    if para is not None:
        out.append(para)
    out.append(V.Para(V.line(
        V.b("fit for use"), ": every required key figure meets its cut-off; ", V.b("not yet"), ": none fails, "
        "but some are inconclusive or missing; ", V.b("not fit"), ": a required key figure does not meet its "
        "cut-off or shows nothing beyond chance. The uses and the criteria each requires are report "
        "parameters (intended_uses)."), "muted"))
    return V.section("bottom-line", out)
