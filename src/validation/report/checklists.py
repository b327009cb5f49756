"""Reporting checklists filled from the run: GRRAS for the agreement study (Kottner et al. 2011),
TRIPOD for the validation of the instrument's predictions (Collins et al. 2015; the items that apply
to validating an existing instrument) and the COSMIN measurement properties (Mokkink et al. 2010,
2018). Item texts are short paraphrases. An item is *filled* when the metrics of this run hold what it
asks for (with a link to where); otherwise it *needs the authors' input*.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Mapping

from validation.report import view as V
from validation.report.summary import g

FILLED, AUTHORS = "filled", "needs the authors' input"
PLACES = {"summary": "Key figures", "limitations": "Limitations", "data": "Data",
          "data-sites": "Data: sites", "data-participants": "Data: participants", "data-outcomes": "Data: follow-up",
          "reliability": "Reliability", "structure": "Factor structure", "invariance": "Invariance",
          "agreement": "Agreement", "agreement-domains": "Agreement: domain totals",
          "agreement-indicators": "Agreement: indicators", "agreement-intra": "Agreement: intra-rater",
          "predictive": "Predictive validity", "fairness": "Predictive fairness", "version": "Version"}


@dataclasses.dataclass(frozen=True)
class Item:
    number: str
    text: str
    status: str
    where: str = ""      # section anchor
    note: str = ""       # plain text


M = Mapping[str, Mapping]


def _has(d: Any) -> bool:
    return isinstance(d, Mapping) and bool(d) and "not_estimable" not in d


def _item(number: str, text: str, ok: bool, where: str = "", note: str = "", note_missing: str = "") -> Item:
    if ok:
        return Item(number, text, FILLED, where, note)
    return Item(number, text, AUTHORS, "", note_missing)


def _authors(number: str, text: str, note: str = "", where: str = "") -> Item:
    return Item(number, text, AUTHORS, where, note)


def grras(m: M) -> list[Item]:
    a = m.get("agreement") or {}
    d = a.get("design") or {}
    ins = g(m, "data_quality", "instruments") or {}
    grr = d.get("grras") or {}
    months = g(a, "intra_rater", "months_between") or {}
    icc_ok = any(_has(b) for b in (a.get("domain_icc") or {}).values())
    return [
        _authors("1", "Title or abstract says that inter- or intra-rater reliability or agreement was studied."),
        _item("2", "The instrument that was rated is named and described.", bool(ins), "data",
              "named with version: " + "; ".join(f"{v.get('name', '')} {v.get('version', '')}"
                                                  for v in ins.values() if isinstance(v, Mapping))
              + "; its description needs the authors", "instrument not recorded in the metrics"),
        _authors("3", "The population of cases the ratings are meant for is defined.",
                 "case characteristics are in the data section", "data-participants"),
        _authors("4", "The population of raters is defined (if raters are sampled)."),
        _authors("5", "What is known about the reliability of the instrument, and why this study was needed."),
        _item("6", "How the numbers of raters, cases and repeated ratings were chosen, and what they are.",
              bool(d), "agreement", (grr.get("item_6") or "") + "; how the sizes were chosen needs the authors",
              "no rating design in this run"),
        _authors("7", "How cases and raters were sampled."),
        _authors("8", "The rating procedure: interval between repeated ratings, information available to raters, "
                      "blinding.",
                 f"interval between occasions from the run: {months.get('min', '?')} to {months.get('max', '?')} "
                 "months; information and blinding need the authors" if months else "", "agreement-intra"
                 if months else ""),
        _item("9", "Whether the ratings were made independently of each other.",
              bool(g(a, "method", "inter_rater")), "agreement", str(g(a, "method", "inter_rater") or "")),
        _item("10", "The statistical analysis (coefficients, models, intervals).", bool(a.get("method")), "agreement",
              "method statement and details in the agreement section"),
        _item("11", "The actual numbers of raters, cases and replicate ratings analysed.", bool(d), "agreement",
              grr.get("item_11") or "design paragraph of the agreement section"),
        _authors("12", "Characteristics of the raters (training, experience) and of the cases.",
                 "case characteristics are in the data section; rater training needs the authors", "data-participants"),
        _item("13", "Reliability and agreement estimates with their uncertainty (intervals).", icc_ok,
              "agreement-domains", grr.get("item_13") or "every estimate with its interval",
              "no estimable agreement coefficient in this run"),
        _authors("14", "The practical relevance of the results is discussed.",
                 "the verdicts of the executive summary give a start", "summary"),
        _item("15", "Detailed results are available.", bool(a.get("indicators") or a.get("domain_icc")),
              "agreement-indicators", "tables per indicator here; every number in reports/metrics/agreement.json"),
    ]


def tripod(m: M) -> list[Item]:
    p = m.get("predictive") or {}
    dq = m.get("data_quality") or {}
    outs = p.get("outcomes") or {}
    any_auc = any(_has(g(e, "auc")) for b in outs.values() for e in (g(b, "predictors") or {}).values())
    bands = any(_has(g(b, "bands", "calibration")) for b in outs.values())
    rule = g(p, "provenance", "params", "predictive", "not_rated_rule")
    return [
        _authors("1", "Title identifies a validation of a risk-prediction instrument, its population and outcome."),
        _authors("2", "Structured summary of objectives, design, setting, participants, outcome, results."),
        _authors("3a", "Context and reasons for validating this instrument."),
        _authors("3b", "Objectives, stated as validation."),
        _item("3c", "TRIPOD+AI (2024): known health inequalities between groups, and how the model's performance "
              "was examined across groups (fairness).",
              _has(m.get("fairness")) and bool((m.get("fairness") or {}).get("outcomes")), "fairness",
              "discrimination, calibration, differential prediction and error rates by "
              + ", ".join(g(m, "fairness", "method", "groups") or []) + "; the inequalities to expect need the "
              "authors", "the fairness stage did not run"),
        _authors("4a", "Study design and data source (e.g. cohort, registry).",
                 "follow-up durations are in the data section", "data-outcomes"),
        _authors("4b", "Key dates: start and end of inclusion, end of follow-up.",
                 "follow-up durations (not dates) are in the data section", "data-outcomes"),
        _item("5a", "Setting: number and kind of sites.", bool(g(dq, "cases", "by_site")), "data-sites",
              "number of sites and cases per site; the kind of setting needs the authors"),
        _authors("5b", "Who was eligible."),
        _authors("6a", "Outcome definition and how and when it was assessed.",
                 "outcomes analysed: " + ", ".join(outs) if outs else ""),
        _authors("6b", "Whether outcome assessment was blind to the instrument's scores."),
        _item("7a", "Predictors: definition and when they were measured.", bool(g(p, "method", "predictors")),
              "predictive", str(g(p, "method", "predictors") or "")),
        _authors("7b", "Whether scoring the instrument was blind to the outcome."),
        _item("8", "Sample size: cases and events.", bool(outs), "data-outcomes",
              "cases and events per outcome; how the size was arrived at needs the authors"),
        _item("9", "How missing data were handled.", bool(rule), "predictive",
              f"not-rated rule '{rule}' for domain totals; not rated is never read as low" if rule else ""),
        _item("10c", "How the predictions were computed in the validation data.", bool(g(p, "method", "direction")),
              "predictive", str(g(p, "method", "direction") or "")),
        _item("10d", "Measures used to assess predictive performance.", bool(p.get("method")), "predictive",
              "discrimination (AUC, C), calibration by band, cut-off tables, Cox hazard ratios"),
        _item("10e", "Any updating of the instrument.", bool(p), "predictive",
              "none: the scores are used as defined, nothing re-estimated"),
        _item("11", "Risk groups, if any.", bands, "predictive", "summary risk bands L / M / H"),
        _authors("12", "Differences from the development study in setting, eligibility, outcome and predictors."),
        _item("13a", "Flow of participants, numbers with and without the outcome, follow-up.", bool(outs),
              "data-outcomes", "cases, events and follow-up per outcome; a flow diagram needs the authors"),
        _item("13b", "Participant characteristics, with missing data.", bool(g(dq, "cases", "by_sex")),
              "data-participants", "sex, age band, ideology with not-recorded counts"),
        _authors("13c", "Comparison with the development data on key variables."),
        _item("16", "Predictive performance with confidence intervals.", any_auc, "predictive",
              "AUC with DeLong and BCa intervals, C statistics, hazard ratios", "no AUC estimable in this run"),
        _item("17", "Results of any updating.", bool(p), "predictive", "not applicable: no updating"),
        _item("18", "Limitations (non-representative sample, few events, missing data).", True, "limitations",
              "found from the metrics; the authors' discussion is still needed"),
        _authors("19a", "Results compared with the development study's performance."),
        _authors("19b", "Overall interpretation, in the light of other evidence."),
        _authors("20", "Potential use and implications for practice and research."),
        _item("21", "Supplementary information (protocol, code, data access).", True, "version",
              "version, parameters and metrics files of this run"),
        _authors("22", "Funding and the role of funders."),
    ]


def cosmin(m: M) -> list[Item]:
    rel = m.get("reliability") or {}
    st = g(m, "structure", "sq") or {}
    a = m.get("agreement") or {}
    invs = st.get("invariance") or {}
    inv_ok = [grp for grp, inv in invs.items() if _has(inv)]
    inv_ne = {grp: str(inv.get("not_estimable")) for grp, inv in invs.items() if isinstance(inv, Mapping)
              and "not_estimable" in inv}
    icc_ok = any(_has(b) for b in (a.get("domain_icc") or {}).values())
    sem_ok = any(_has(g(b, "sem_sdc")) or _has(g(b, "bland_altman")) for b in (a.get("domain_icc") or {}).values())
    pred = any(_has(g(e, "auc")) for b in (g(m, "predictive", "outcomes") or {}).values()
               for e in (g(b, "predictors") or {}).values())
    return [
        _item("internal consistency", "Items of a scale measure the same construct (alpha, omega).",
              bool(g(rel, "vera", "domains") or g(rel, "sq", "scales")), "reliability",
              "alpha and omega per VERA domain and SQ scale, ordinal coefficients for VERA",
              "no reliability metrics in this run"),
        _item("structural validity", "Scores reflect the hypothesised dimensionality (EFA, CFA).",
              _has(st.get("cfa")) or _has(st.get("efa")), "structure",
              "parallel analysis, EFA and CFA of the hypothesised SQ scales; the VERA domain structure needs the authors",
              "no estimable factor model in this run"),
        _item("cross-cultural validity / measurement invariance",
              "Items work the same across groups such as sites and languages.", bool(inv_ok), "invariance",
              "multi-group CFA across " + ", ".join(f"{x}s" for x in inv_ok)
              + ("; not estimable across " + ", ".join(f"{x}s" for x in inv_ne) if inv_ne else ""),
              "not estimable here: " + "; ".join(f"{x}: {w}" for x, w in inv_ne.items()) if inv_ne else
              "not assessed in this run"),
        _item("reliability", "Scores of the same cases agree across raters and occasions.", icc_ok, "agreement",
              "inter-rater ICC and kappa; intra-rater stability" if g(a, "intra_rater") else "inter-rater ICC and kappa",
              "no estimable agreement coefficient in this run"),
        _item("measurement error", "Error of a score in its own units (SEM, smallest detectable change, limits of "
              "agreement).", sem_ok, "agreement-domains", "SEM, SDC and Bland-Altman limits per domain total",
              "not estimable in this run"),
        _item("criterion validity (predictive)", "Scores predict the later outcome they are meant to predict.", pred,
              "predictive", "AUC, C statistics and calibration against recidivism; recidivism records are an "
              "imperfect criterion", "no AUC estimable in this run"),
        _authors("content validity", "Items are relevant, comprehensive and comprehensible for the construct."),
        _authors("hypotheses testing for construct validity",
                 "Scores relate to other measures as hypothesised in advance."),
        _authors("responsiveness", "Scores detect change over time in the construct."),
    ]


CHECKLISTS: tuple[tuple[str, str, str, Callable[[M], list[Item]]], ...] = (
    ("grras", "GRRAS: reliability and agreement study",
     "Guidelines for Reporting Reliability and Agreement Studies, Kottner et al. (2011), J Clin Epidemiol "
     "64:96-106; 15 items", grras),
    ("tripod", "TRIPOD: validation of the instrument's predictions",
     "Transparent Reporting of a multivariable prediction model for Individual Prognosis Or Diagnosis, Collins et "
     "al. (2015), Ann Intern Med 162:55-63; the items that apply to validating an existing instrument", tripod),
    ("cosmin", "COSMIN measurement properties",
     "COnsensus-based Standards for the selection of health Measurement INstruments, Mokkink et al. (2010), "
     "J Clin Epidemiol 63:737-745, and Mokkink et al. (2018), Qual Life Res 27:1171-1179", cosmin),
)


def checklists(m: M) -> dict[str, list[Item]]:
    return {key: fn(m) for key, _, _, fn in CHECKLISTS}


def checklists_section(m: M) -> V.Section:
    out: list[V.Block] = [
        V.Heading(2, V.line("Reporting checklists")),
        V.Para(V.line("Filled from this run: ", V.b("filled"), " items link to where the report gives what the item "
                      "asks for; the others need the authors' input (design, populations, blinding, interpretation). "
                      "Item texts are short paraphrases; use the published checklists for the full wording."),
               "muted")]
    lists = checklists(m)
    for key, title, source, _ in CHECKLISTS:
        items = lists[key]
        n_f = sum(i.status == FILLED for i in items)
        out += [V.Heading(3, V.line(title), f"checklist-{key}"),
                V.Para(V.line(f"{source}. {n_f} of {len(items)} filled from the run."), "muted")]
        rows = [[i.number, i.text, V.badge(i.status), V.link(PLACES.get(i.where, i.where), i.where) if i.where else "",
                 i.note] for i in items]
        out.append(V.table(["item", "asks for", "status", "where", "note"], rows, left=5))
    return V.section("checklists", out)
