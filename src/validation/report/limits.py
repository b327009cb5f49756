"""The limitations box: written from the metrics alone, one entry per condition found."""

from __future__ import annotations

import dataclasses
from pathlib import PurePosixPath
from typing import Mapping

from validation.report import html as H
from validation.report import view as V
from validation.report.verdicts import MEETS, NE
from validation.report.summary import KeyFigure, g


@dataclasses.dataclass(frozen=True)
class Limitation:
    kind: str       # synthetic | placeholder | few_events | declined | small_sample | wide_interval |
                    # non_invariance | not_rated | sq_missing | not_estimable
    text: V.Line

    @property
    def plain(self) -> str:
        """The limitation as plain text."""
        return "".join(r.text for r in self.text)


def input_dir(metrics: Mapping) -> str | None:
    return g(metrics, "data_quality", "provenance", "params", "validate", "input_dir")


def input_source(metrics: Mapping) -> V.Line:
    """Where the figures come from, in words: the input folder, or the site bundles pooled."""
    if g(metrics, "pooled", "source") == "bundles":
        return V.line(f"the site bundles of {', '.join(g(metrics, 'pooled', 'sites') or [])} (pooled)")
    return V.line("the folder ", V.code(input_dir(metrics)))


def is_synthetic(metrics: Mapping) -> bool:
    if g(metrics, "pooled", "source") == "bundles":
        return bool(g(metrics, "pooled", "synthetic"))
    d = input_dir(metrics)
    return bool(d) and any("synthetic" in part.lower() for part in PurePosixPath(str(d)).parts)


def is_placeholder(metrics: Mapping) -> bool:
    return bool(g(metrics, "reliability", "sq", "placeholder_key") or g(metrics, "structure", "sq", "placeholder_key")
                or g(metrics, "data_quality", "instruments", "sq", "placeholder"))


def _provenances(metrics: Mapping) -> dict[str, Mapping]:
    return {name: m["provenance"] for name, m in metrics.items()
            if isinstance(m, Mapping) and isinstance(m.get("provenance"), Mapping)}


def _link(anchor: str, text: str = "see") -> V.Line:
    return V.line(" (", V.link(text, anchor), ")")


def limitations(metrics: Mapping[str, Mapping], figs: list[KeyFigure], p: Mapping, k: int) -> list[Limitation]:
    lim = p["limitations"]
    out: list[Limitation] = []
    if is_synthetic(metrics):
        out.append(Limitation("synthetic", V.line(
            V.b("SYNTHETIC DATA."), " The input is ", input_source(metrics), ": every number in "
            "this report describes simulated cases. No conclusion about the real battery follows from it.")))
    if is_placeholder(metrics):
        out.append(Limitation("placeholder", V.line(
            V.b("Placeholder SQ key."), " The SQ item-to-scale key is a placeholder: SQ reliability, structure, "
            "invariance and SQ predictors describe the placeholder structure, not the licensed questionnaire.",
            _link("reliability"))))

    # events and declined estimates
    pred = metrics.get("predictive") or {}
    few = []
    for outcome, b in (g(pred, "outcomes") or {}).items():
        ev = g(b, "events")
        if H.is_num(ev) and ev < lim["min_events"]:
            few.append(f"{outcome}: {H.count(ev, k)} events in {H.count(g(b, 'n'), k)} cases")
    if few:
        out.append(Limitation("few_events", V.line(
            V.b("Few events"), f" (fewer than {lim['min_events']}): " + "; ".join(few)
            + ". AUCs, hazard ratios and cut-off tables are imprecise; read the interval, not the point estimate.",
            _link("predictive"))))
    declined = []
    for outcome, b in (g(pred, "outcomes") or {}).items():
        for name, e in (g(b, "predictors") or {}).items():
            if isinstance(e, Mapping) and "not_estimable" in e:
                declined.append(f"{outcome} / {name} ({H.count(e.get('events'), k)} events)")
            elif isinstance(g(e, "auc"), Mapping) and "not_estimable" in e["auc"]:
                declined.append(f"{outcome} / {name} AUC")
    if declined:
        out.append(Limitation("declined", V.line(
            V.b("Estimates declined"), " for too few events or non-events (minimum "
            f"{g(pred, 'method', 'min_events') or '?'}): " + "; ".join(declined) + ".", _link("predictive"))))

    # small samples
    small = []
    rel = metrics.get("reliability") or {}
    for part, key in (("vera", "domains"), ("sq", "scales")):
        for code, b in (g(rel, part, key) or {}).items():
            n = g(b, "overall", "n")
            if H.is_num(n) and n < lim["min_n"]:
                small.append(f"reliability of {code}: n = {H.count(n, k)} (< {lim['min_n']})")
            for grouping in ("by_site", "by_language"):
                skipped = [str(gname) for gname, e in (g(b, grouping) or {}).items()
                           if isinstance(e, Mapping) and ("not_estimable" in e or "not_estimable" in (e.get("alpha") or {}))]
                if skipped:
                    small.append(f"reliability of {code} not estimated {grouping.replace('_', ' ')} "
                                 f"{', '.join(skipped)}")
    cfa = g(metrics, "structure", "sq", "cfa")
    if isinstance(cfa, Mapping) and H.is_num(cfa.get("n")) and cfa["n"] < lim["min_cfa_n"]:
        total = g(metrics, "structure", "sq", "n")
        small.append(f"CFA on n = {H.count(cfa['n'], k)}" + (f" of {H.count(total, k)}" if H.is_num(total) else "")
                     + f" cases (< {lim['min_cfa_n']}; {cfa.get('missing', '')})")
    for grouping, inv in (g(metrics, "structure", "sq", "invariance") or {}).items():
        dropped = g(inv, "groups_dropped") or {}
        if dropped:
            small.append(f"invariance across {grouping}s leaves out "
                         + ", ".join(f"{gname} (n = {H.count(n, k)})" for gname, n in dropped.items()))
    agr = metrics.get("agreement") or {}
    bt = g(agr, "design", "block_n_targets")
    if H.is_num(bt) and bt < lim["min_targets"]:
        small.append(f"fully crossed agreement block: {H.count(bt, k)} cases x {H.num(g(agr, 'design', 'block_n_raters'))} "
                     f"raters (< {lim['min_targets']} cases; Koo & Li 2016 advise at least 30 cases and 3 raters)")
    icc_small = [f"{code} {H.count(b.get('n_targets'), k)}" for code, b in (g(agr, "domain_icc") or {}).items()
                 if isinstance(b, Mapping) and H.is_num(b.get("n_targets")) and b["n_targets"] < lim["min_targets"]]
    if icc_small:
        small.append("crossed-block ICC on fewer than " + str(lim["min_targets"]) + " scorable cases: "
                     + ", ".join(icc_small))
    pairs = g(agr, "summary_risk", "weighted_kappa", "n_pairs")
    if H.is_num(pairs) and pairs < lim["min_targets"]:
        small.append(f"summary judgement kappa on {H.count(pairs, k)} pairs")
    intra = g(agr, "intra_rater", "n_cases")
    if H.is_num(intra) and intra < lim["min_targets"]:
        small.append(f"intra-rater stability on {H.count(intra, k)} reassessed cases")
    if small:
        out.append(Limitation("small_sample", V.line(V.b("Small samples:"), " " + "; ".join(small) + ".")))

    # imprecision
    wide = [f for f in figs if f.width is not None and f.width > lim["max_ci_width"]]
    if wide:
        out.append(Limitation("wide_interval", V.line(
            V.b("Wide intervals"), f" (wider than {lim['max_ci_width']:g}): ",
            V.join((V.line(V.link(f.label, f.anchor), f" {H.num(f.lower)} to {H.num(f.upper)} "
                           f"(width {H.num(f.width, 2)})") for f in wide), "; "), ".")))

    # invariance
    noninv = [f for f in figs if f.area == "invariance" and f.verdict != MEETS]
    if noninv:
        out.append(Limitation("non_invariance", V.line(
            V.b("Measurement invariance not shown"), f" (required: {p['invariance']['required']}): ",
            V.join((V.line(V.link(f.label, f.anchor), ": ",
                           f.reason if f.verdict != NE else f"not estimable ({f.reason})") for f in noninv), "; "),
            ". Scale means may not be comparable across these groups.")))

    # missingness
    dq = metrics.get("data_quality") or {}
    nr = g(dq, "vera_ratings", "not_rated") or {}
    if nr.get("flagged"):
        rates = {**(nr.get("additional") or {}), **(nr.get("indicators") or {})}
        out.append(Limitation("not_rated", V.line(
            V.b("Indicators often not rated"), f" (more than {H.pct(nr.get('threshold'), 0)} of forms): "
            + ", ".join(f"{i} {H.pct(rates.get(i))}" for i in nr["flagged"])
            + ". Their totals rest on prorating; ask why raters could not rate them.", _link("data-missing"))))
    miss = g(dq, "sq_responses", "missing") or {}
    if miss.get("flagged"):
        items = miss.get("items") or {}
        out.append(Limitation("sq_missing", V.line(
            V.b("SQ items often unanswered"), f" (more than {H.pct(miss.get('threshold'), 0)}): "
            + ", ".join(f"{i} {H.pct(items.get(i))}" for i in miss["flagged"]) + ".", _link("data-missing"))))

    # estimates declined elsewhere (not already covered)
    ne = [f for f in figs if f.verdict == NE and f.area not in ("invariance", "predictive")]
    if ne:
        out.append(Limitation("not_estimable", V.line(
            V.b("Not estimable:"), " ", V.join((V.line(V.link(f.label, f.anchor), f" ({f.reason})") for f in ne), "; "),
            ".")))

    return out


def limitations_section(items: list[Limitation]) -> V.Section:
    body: V.Block = (V.Bullets(tuple(x.text for x in items)) if items else
                     V.Para(V.line("No limitation was found by the automatic checks. The authors still need to "
                                   "discuss the design.")))
    return V.section("limitations", V.Heading(3, V.line("Limitations found in the metrics")), body,
                     V.Para(V.line("Checked automatically from the metrics: synthetic input, placeholder key, events, "
                                   "declined estimates, sample sizes, interval widths, invariance, not-rated and "
                                   "unanswered items, code provenance. The thresholds are report parameters (see "
                                   "Version)."), "muted"),
                     cls="box limits")


def alarm(metrics: Mapping) -> V.Line | None:
    if not is_synthetic(metrics):
        return None
    return V.line("SYNTHETIC DATA: the input is ", input_source(metrics), ". This report demonstrates the "
                  "analysis on simulated cases; no conclusion about the real battery follows from it.")
