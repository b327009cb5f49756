"""The executive summary: key figures read from the metrics, each with its interval, n, the cut-off
it is judged against (with the cut-off's source) and the verdict."""

from __future__ import annotations

import dataclasses
import math
import re
import statistics
from typing import Any, Mapping

from validation.report import html as H
from validation.report import view as V
from validation.report import verdicts as VD
from validation.report.rules import auc_band, short_source, threshold_text
from validation.stats.planning import events_for_c_width, kappa_n, prediction_model_size
from validation.report.verdicts import FAILS, INCONCLUSIVE, MEETS, NE, NULL_VALUES, OUTCOMES

AREAS = (("reliability", "Reliability", "reliability"),
         ("structure", "Factor structure", "structure"),
         ("invariance", "Measurement invariance", "invariance"),
         ("agreement", "Inter-rater agreement", "agreement"),
         ("predictive", "Predictive validity", "predictive"),
         ("training", "Rater training", "training"),
         ("fairness", "Predictive fairness", "fairness"))


@dataclasses.dataclass(frozen=True)
class KeyFigure:
    """One line of the executive summary."""

    area: str
    label: str                      # plain text (escaped when rendered)
    value: Any = None               # the estimate (a number), or None
    lower: Any = None
    upper: Any = None
    level: Any = None               # interval level, e.g. 0.95
    n: Any = None                   # count of cases (suppressed below k when rendered)
    n_text: str = ""                # plain text after n, e.g. "events 28"
    events: Any = None              # count of events (suppressed below k)
    threshold: str = ""             # plain text, e.g. "≥ 0.7"
    source: str = ""                # plain text
    verdict: str = NE
    reason: str = ""                # plain text
    display: str = ""               # text replacing the estimate cell (for non-numeric figures)
    note: str = ""                  # plain text, e.g. an interpretation band
    anchor: str = ""
    cutoff: Any = None              # the cut-off as a number (None where it is not numeric)
    null_value: Any = None          # the value of no effect (AUC 0.5, kappa 0, ICC 0, ...), if any
    n_to_decide: Any = None         # inconclusive: the cases that would decide, if the estimate held
    n_method: str = ""              # ... and the closed form behind that number
    criterion: str = ""             # the group of the bottom line it counts for (report.rules.CRITERIA)
    outcome: str = ""               # predictive figures: the outcome
    pooling: str = ""               # from site bundles: "exact" or "random-effects" ("" for one folder's data)

    @property
    def width(self) -> float | None:
        if H.is_num(self.lower) and H.is_num(self.upper):
            return float(self.upper) - float(self.lower)
        return None


def g(d: Any, *keys: Any) -> Any:
    """``d[k1][k2]...`` or None when any step is missing."""
    for k in keys:
        if isinstance(d, Mapping):
            d = d.get(k)
        elif isinstance(d, (list, tuple)) and isinstance(k, int) and -len(d) <= k < len(d):
            d = d[k]
        else:
            return None
    return d


def _ne_reason(d: Any) -> str:
    return str(g(d, "not_estimable") or "missing from the metrics").replace("not estimable: ", "")


def cutoff_of(thr: Mapping) -> Any:
    return thr.get("min", thr.get("max"))


def _coef(area: str, label: str, d: Any, key: str, thr: Mapping, anchor: str, n_key: str = "n",
          note: str = "", n: Any = None, n_text: str = "", kind: str | None = None, k: Any = None,
          events: Any = None, criterion: str = "", outcome: str = "") -> KeyFigure:
    """The key figure of the coefficient ``d[key]`` judged by the one rule (its kind -- ``key``
    unless given -- sets the value of no effect and the sample-size formula)."""
    kind = kind or key
    common = {"cutoff": cutoff_of(thr), "null_value": NULL_VALUES.get(kind), "criterion": criterion,
              "outcome": outcome}
    if not isinstance(d, Mapping) or "not_estimable" in d or not H.is_num(d.get(key)):
        return KeyFigure(area, label, threshold=threshold_text(thr), source=thr.get("source", ""), verdict=NE,
                         reason=_ne_reason(d), anchor=anchor, n=n, n_text=n_text, events=events, **common)
    lo, hi = g(d, "ci", "lower"), g(d, "ci", "upper")
    n = n if n is not None else d.get(n_key)
    v = VD.judge_estimate(kind, d[key], lo, hi, thr, level=g(d, "ci", "level"), n=n, k=k, events=events)
    return KeyFigure(area, label, d[key], lo, hi, g(d, "ci", "level"), n, n_text, events, threshold_text(thr),
                     thr.get("source", ""), v.outcome, v.reason, note=note, anchor=anchor,
                     n_to_decide=v.n_to_decide, n_method=v.n_method, **common)


def reliability_figures(m: Mapping, p: Mapping) -> list[KeyFigure]:
    """Omega total of each VERA domain and SQ scale. The summary judges reliability by omega alone
    (McDonald 1999): alpha assumes equal loadings, adds nothing when they are equal and understates
    reliability when they are not; it stays, with its verdict, in the Reliability section."""
    t = p["thresholds"]
    out = []
    for part, key, default in (("vera", "domains", "VERA"), ("sq", "scales", "SQ")):
        for code, b in (g(m, part, key) or {}).items():
            name = f"{g(m, part, 'instrument') or default} {code}"
            omega = g(b, "overall", "omega")
            out.append(_coef("reliability", f"{name} omega", omega, "omega", t["omega"], "reliability",
                             criterion="reliability"))
    return out


def structure_figures(m: Mapping, p: Mapping) -> list[KeyFigure]:
    t = p["thresholds"]
    s = g(m, "sq") or {}
    out = []
    pa, hyp = s.get("parallel_analysis"), s.get("hypothesised_factors")
    if isinstance(pa, Mapping):
        if "not_estimable" in pa or not H.is_num(pa.get("n_factors")):
            out.append(KeyFigure("structure", "SQ factors by parallel analysis", verdict=NE, reason=_ne_reason(pa),
                                 threshold=f"= {H.num(hyp)} hypothesised", source="Horn (1965)", anchor="structure"))
        else:
            ok = pa["n_factors"] == hyp
            out.append(KeyFigure("structure", "SQ factors by parallel analysis", pa["n_factors"], n=pa.get("n"),
                                 threshold=f"= {H.num(hyp)} hypothesised", source="Horn (1965)",
                                 verdict=MEETS if ok else FAILS,
                                 reason="as many factors as hypothesised scales" if ok else
                                 f"{pa['n_factors']} factors suggested, {hyp} hypothesised",
                                 display=H.num(pa["n_factors"]), anchor="structure"))
    c = s.get("cfa")
    if isinstance(c, Mapping):
        if "not_estimable" in c:
            out.append(KeyFigure("structure", "SQ CFA of the hypothesised model", verdict=NE, reason=_ne_reason(c),
                                 source=t["cfi"].get("source", ""), anchor="cfa"))
        else:
            fit = c.get("fit") or {}
            for key, label in (("cfi", "CFI"), ("tli", "TLI"), ("rmsea", "RMSEA"), ("srmr", "SRMR")):
                lo = fit.get("rmsea.ci.lower") if key == "rmsea" else None
                hi = fit.get("rmsea.ci.upper") if key == "rmsea" else None
                if not H.is_num(fit.get(key)):
                    out.append(KeyFigure("structure", f"SQ CFA {label}", verdict=NE, reason="not in the fit measures",
                                         threshold=threshold_text(t[key]), source=t[key].get("source", ""),
                                         anchor="cfa"))
                    continue
                v = VD.judge_estimate(key, fit[key], lo, hi, t[key], level=0.90, n=c.get("n"))
                out.append(KeyFigure("structure", f"SQ CFA {label}", fit[key], lo, hi, 0.90 if lo is not None else None,
                                     c.get("n"), threshold=threshold_text(t[key]), source=t[key].get("source", ""),
                                     verdict=v.outcome, reason=v.reason, anchor="cfa", cutoff=cutoff_of(t[key]),
                                     n_to_decide=v.n_to_decide, n_method=v.n_method))
    return out


def invariance_figures(m: Mapping, p: Mapping) -> list[KeyFigure]:
    req = p["invariance"]["required"]
    fit_t = {key: p["thresholds"][key] for key in ("cfi", "tli", "rmsea", "srmr")}
    out = []
    blocks = [(f"SQ invariance across {grouping}s", inv, f"invariance-{grouping}")
              for grouping, inv in (g(m, "sq", "invariance") or {}).items()]
    blocks += [(f"VERA-2R invariance across {grouping}s (ordinal)", inv, f"invariance-vera-{grouping}")
               for grouping, inv in (g(m, "vera", "invariance") or {}).items()]
    for label, inv, anchor in blocks:
        ordinal = isinstance(inv, Mapping) and inv.get("estimator") == "WLSMV"
        if not isinstance(inv, Mapping) or "not_estimable" in inv:
            out.append(KeyFigure("invariance", label, verdict=NE, reason=_ne_reason(inv), threshold=f"{req}",
                                 source=p["invariance"]["source"], anchor=anchor))
            continue
        level = inv.get("level")
        v = VD.invariance(level, req, configural_fit(inv), fit_t, ordinal=ordinal,
                          identification=inv.get("identification", "lavaan"))
        nobs = inv.get("nobs") or {}
        n = sum(x for x in nobs.values() if H.is_num(x)) if isinstance(nobs, Mapping) else None
        groups = inv.get("groups") or list(nobs)
        out.append(KeyFigure("invariance", label, n=n or None, n_text=f"{len(groups)} groups",
                             threshold=f"{req}", source=p["invariance"]["source"], verdict=v.outcome, reason=v.reason,
                             display="not reached" if VD.fit_misses(configural_fit(inv), fit_t) else str(level),
                             anchor=anchor))
    return out


SCALED = {"cfi": "cfi.scaled", "tli": "tli.scaled", "rmsea": "rmsea.scaled", "rmsea.ci.lower": "rmsea.ci.lower.scaled",
          "rmsea.ci.upper": "rmsea.ci.upper.scaled", "chisq": "chisq.scaled", "pvalue": "pvalue.scaled"}


def judged_fit(fit: Mapping | None, estimator: str | None) -> Mapping:
    """The fit measures a verdict reads: an ordinal (WLSMV) model's scaled indices under the plain names."""
    fit = fit or {}
    if estimator != "WLSMV":
        return fit
    return {**fit, **{plain: fit.get(scaled) for plain, scaled in SCALED.items()}}


def configural_fit(inv: Mapping) -> Mapping:
    """The fit measures of the configural step of an invariance result (empty when absent); an ordinal
    model's scaled indices under the plain names."""
    for st in inv.get("steps") or []:
        if isinstance(st, Mapping) and st.get("name") == "configural":
            return judged_fit(st.get("fit"), inv.get("estimator"))
    return {}


def icc_of(b: Mapping, source: str) -> tuple[Mapping | None, Any, str]:
    """The single-rater absolute-agreement ICC (ICC2 = A,1) of a domain: from the REML fit on all
    ratings, or the ANOVA on the fully crossed block; falls back to the other when declined."""
    reml = g(b, "reml", "forms", "ICC2")
    block = g(b, "forms", "ICC2")
    reml_ok = isinstance(reml, Mapping) and H.is_num(reml.get("icc"))
    block_ok = isinstance(block, Mapping) and H.is_num(block.get("icc"))
    if (source == "reml" and reml_ok) or (reml_ok and not block_ok):
        return reml, g(b, "reml", "n_targets"), "REML"
    if block_ok:
        return block, b.get("n_targets"), "crossed block"
    return None, None, ""


def agreement_figures(m: Mapping, p: Mapping) -> list[KeyFigure]:
    t = p["thresholds"]
    out = []
    for code, b in (g(m, "domain_icc") or {}).items():
        label = f"ICC {code}" if code != "risk_total" else "ICC risk total"
        if not isinstance(b, Mapping) or "not_estimable" in b:
            out.append(KeyFigure("agreement", label, verdict=NE, reason=_ne_reason(b), criterion="agreement_totals",
                                 threshold=threshold_text(t["icc"]),
                                 source=t["icc"]["source"], anchor="agreement-domains"))
            continue
        f, n, where = icc_of(b, p["icc_source"])
        if f is None:
            out.append(KeyFigure("agreement", label, verdict=NE, reason=_ne_reason(b.get("reml") or b),
                                 criterion="agreement_totals",
                                 threshold=threshold_text(t["icc"]), source=t["icc"]["source"],
                                 anchor="agreement-domains"))
            continue
        raters = 2 if where == "REML" else b.get("n_raters")     # REML: planned as two raters a case
        kf = _coef("agreement", f"{label}, {where}", f, "icc", t["icc"], "agreement-domains",
                   n=n, n_text="cases", note="ICC2 = A,1" + (f"; Koo & Li band: {f['band']}" if f.get("band") else ""),
                   k=raters, criterion="agreement_totals")
        out.append(kf)
    wk = g(m, "summary_risk", "weighted_kappa")
    if wk is not None:
        out.append(_coef("agreement", "summary risk judgement, weighted kappa", wk, "kappa", t["kappa"],
                         "agreement-summary", n_key="n_pairs", n_text="pairs", criterion="agreement_judgement",
                         note=f"Landis & Koch band: {wk.get('band')}" if isinstance(wk, Mapping) and wk.get("band")
                         else ""))
    kappas = []
    for code, ind in (g(m, "indicators") or {}).items():
        wkd = g(ind, "weighted_kappa")
        if isinstance(wkd, Mapping) and H.is_num(wkd.get("kappa")):
            kappas.append((code, wkd["kappa"], g(wkd, "ci", "lower"), g(wkd, "ci", "upper"),
                           wkd.get("n_pairs", wkd.get("n"))))
    if g(m, "indicators"):
        out.append(indicator_range_figure(kappas, len(g(m, "indicators")), p))
    return out


def indicator_range_figure(kappas: list[tuple], n_ind: int, p: Mapping, pooling: str = "") -> KeyFigure:
    """One key figure for the indicators' weighted kappas (``(code, kappa, lower, upper, n)`` each, of
    ``n_ind`` indicators): their range and median, judged by the share that does not meet."""
    t = p["thresholds"]
    if not kappas:
        return KeyFigure("agreement", "indicators, weighted kappa range", verdict=NE, criterion="agreement_indicators",
                         reason="no indicator kappa estimable", anchor="agreement-indicators", pooling=pooling)
    vs = [VD.judge_estimate("kappa", est, lo, hi, t["kappa"], n=n).outcome for _, est, lo, hi, n in kappas]
    vals = [est for _, est, _, _, _ in kappas]
    lo_code = min(kappas, key=lambda c: c[1])[0]
    hi_code = max(kappas, key=lambda c: c[1])[0]
    outcomes = vs + [NE] * (n_ind - len(kappas))
    v = VD.many(outcomes, float(p["indicator_fail_share"]))
    below = sum(x < t["kappa"]["min"] for x in vals) if "min" in t["kappa"] else 0
    return KeyFigure(
        "agreement", f"{n_ind} indicators, weighted kappa range", criterion="agreement_indicators",
        threshold=threshold_text(t["kappa"]) + " each", source=t["kappa"]["source"], verdict=v.outcome,
        reason=f"{v.reason}: {VD.tally(outcomes)}; {below} of {n_ind} point estimates below "
               f"{VD.cutoff_text(t['kappa']['min'])}" if "min" in t["kappa"] else f"{v.reason}: {VD.tally(outcomes)}",
        display=f"{H.num(min(vals))} ({lo_code}) to {H.num(max(vals))} ({hi_code}); "
                f"median {H.num(statistics.median(vals))}",
        anchor="agreement-indicators", pooling=pooling)


PREDICTIVE_KEYS = (("risk_total", "risk total"), ("summary_risk", "summary judgement"))


def predictive_figures(m: Mapping, p: Mapping) -> list[KeyFigure]:
    t = p["thresholds"]["auc"]
    out = []
    for outcome, b in (g(m, "outcomes") or {}).items():
        preds = g(b, "predictors") or {}
        for key, name in PREDICTIVE_KEYS:
            if key not in preds:
                continue
            e = preds[key]
            label = f"{outcome}: AUC of the {name}"
            events, n = g(e, "events"), g(e, "n")
            if not isinstance(e, Mapping) or "not_estimable" in e or not H.is_num(g(e, "auc", "auc")):
                why = _ne_reason(e if isinstance(e, Mapping) and "not_estimable" in e else g(e, "auc"))
                out.append(KeyFigure("predictive", label, n=n, events=events, threshold=threshold_text(t),
                                     criterion="discrimination", outcome=outcome,
                                     source=t["source"], verdict=NE, reason=why, anchor=f"predictive-{outcome}"))
                continue
            out.append(_coef("predictive", label, e["auc"], "auc", t, f"predictive-{outcome}", n=n, events=events,
                             criterion="discrimination", outcome=outcome,
                             note=f"Rice & Harris band: {auc_band(e['auc']['auc'], p['auc_bands'])}"))
    return out


def _in(criterion: str, figs: list[KeyFigure]) -> list[KeyFigure]:
    return [f if f.criterion else dataclasses.replace(f, criterion=criterion) for f in figs]


POOLED_CRITERIA = {"omega": "reliability", "icc": "agreement_totals", "kappa": "agreement_judgement",
                   "auc": "discrimination"}
NOT_POOLED = "the site bundles carry no SQ item moments (bundles of an earlier format, or too few complete cases)"
NOT_INVARIANCE = ("the ordinal (WLSMV) models are not fitted from site bundles: their weight matrix needs the "
                  "ratings themselves")


def from_bundles(metrics: Mapping[str, Mapping]) -> bool:
    """Whether the figures come from pooled site bundles (``sites.source: bundles``)."""
    return g(metrics, "pooled", "source") == "bundles"


def pooled_key_figures(pooled: Mapping, p: Mapping) -> list[KeyFigure]:
    """The key figures of pooled site bundles (``reports/metrics/pooled.json``), judged by the one rule:
    omega, the REML ICCs, the weighted kappas (the indicators' as one range), the AUCs and the SQ model's fit
    and the SQ invariance across sites and languages, each from the sites' moments; the ordinal VERA-2R
    invariance is not estimable from bundles, with the reason."""
    t = p["thresholds"]
    out: list[KeyFigure] = []
    indicators = []
    for r in pooled.get("key_figures") or []:
        kind = r.get("kind")
        if kind not in POOLED_CRITERIA:
            continue                      # alpha is in the Across sites section; C and hazard ratios have no cut-off
        how = "exact" if r.get("pooling") == "exact" else "random-effects"
        note = (f"pooled exactly from {r.get('k_sites')} sites" if how == "exact" else
                f"random-effects meta-analysis of {r.get('k_sites')} sites, I\u00b2 {H.num(r.get('i2'), 0)}%")
        if r.get("indicator"):
            indicators.append((r["indicator"], r["estimate"], r.get("ci_lower"), r.get("ci_upper"), r.get("n")))
            continue
        criterion = POOLED_CRITERIA[kind]
        v = VD.judge_estimate(kind, r["estimate"], r.get("ci_lower"), r.get("ci_upper"), t[kind],
                              level=r.get("ci_level"), n=r.get("n"), k=r.get("k"), events=r.get("events"))
        outcome = r["label"].split(":")[0] if kind == "auc" else ""
        out.append(KeyFigure(r.get("area", ""), r["label"], r["estimate"], r.get("ci_lower"), r.get("ci_upper"),
                             r.get("ci_level"), r.get("n"), "pairs" if kind == "kappa" else "", r.get("events"),
                             threshold_text(t[kind]), t[kind].get("source", ""), v.outcome, v.reason, note=note,
                             anchor="across-sites", cutoff=cutoff_of(t[kind]), null_value=NULL_VALUES.get(kind),
                             n_to_decide=v.n_to_decide, n_method=v.n_method, criterion=criterion, outcome=outcome,
                             pooling=how))
    if indicators:
        exact = all(r.get("pooling") == "exact" for r in pooled["key_figures"] if r.get("indicator"))
        out.append(dataclasses.replace(
            indicator_range_figure(indicators, len(indicators), p, "exact" if exact else "random-effects"),
            anchor="across-sites", note="each pooled exactly from the sites' rating tables" if exact else
            "pooled from the sites' rating tables where whole, else by random-effects meta-analysis"))
    model = next((m for m in pooled.get("models") or [] if m.get("kind") == "cfa"), None)
    if model is not None:
        block = {"n": model.get("n"), "fit": model["fit"]} if "fit" in model else {"not_estimable": model.get(
            "not_estimable")}
        out += [dataclasses.replace(f, criterion="structure", pooling="exact", anchor="across-sites",
                                    note=f"pooled exactly: {model.get('note')}")
                for f in structure_figures({"sq": {"cfa": block}}, p)]
    else:
        out.append(KeyFigure("structure", "SQ CFA of the hypothesised model", verdict=NE, reason=NOT_POOLED,
                             criterion="structure", anchor="across-sites", source=t["cfi"].get("source", "")))
    inv = pooled.get("invariance") or {}
    if inv:
        for f in invariance_figures({"sq": {"invariance": inv}}, p):
            how = inv.get(f.label.rsplit(" ", 1)[-1].rstrip("s"), {}).get("how", "")
            out.append(dataclasses.replace(f, criterion="invariance", pooling="exact", anchor="across-sites",
                                           note=f"pooled exactly: {how}" if how else ""))
    else:
        out.append(KeyFigure("invariance", "SQ invariance across sites and languages", verdict=NE,
                             reason=NOT_POOLED, criterion="invariance", anchor="across-sites",
                             source=p["invariance"]["source"]))
    out.append(KeyFigure("invariance", "VERA-2R invariance across sites (ordinal)", verdict=NE,
                         reason=NOT_INVARIANCE, criterion="invariance", anchor="across-sites",
                         source=p["invariance"]["source"]))
    order = [a for a, _, _ in AREAS]
    return sorted(out, key=lambda f: order.index(f.area) if f.area in order else len(order))


def key_figures(metrics: Mapping[str, Mapping], p: Mapping) -> list[KeyFigure]:
    """The executive summary's key figures, each judged by the one rule and tagged with the
    bottom-line criterion it counts for: those of the pooled site bundles when the figures come from
    them (``sites.source: bundles``), else those of the stages' metrics."""
    if from_bundles(metrics):
        return pooled_key_figures(metrics["pooled"], p)
    return (reliability_figures(metrics.get("reliability") or {}, p)
            + _in("structure", structure_figures(metrics.get("structure") or {}, p))
            + _in("invariance", invariance_figures(metrics.get("structure") or {}, p))
            + agreement_figures(metrics.get("agreement") or {}, p)
            + predictive_figures(metrics.get("predictive") or {}, p))


def record_id(area: str, label: str) -> str:
    """The stable id of a key figure in summary.json: its area and label, lower case, words joined by _.

    Examples
    --------
    >>> record_id("predictive", "extremist: AUC of the risk total")
    'predictive_extremist_auc_of_the_risk_total'
    """
    return re.sub(r"[^a-z0-9]+", "_", f"{area} {label}".lower()).strip("_")


def summary_records(figs: list[KeyFigure], k: int) -> list[dict]:
    """The key figures as the records of ``reports/metrics/summary.json``: one flat record each,
    under stable ids, with counts below ``k`` suppressed (None)."""
    out, seen = [], set()
    for f in figs:
        base = record_id(f.area, f.label)
        fid, i = base, 2
        while fid in seen:
            fid, i = f"{base}_{i}", i + 1
        seen.add(fid)
        n = int(f.n) if H.is_num(f.n) else None
        out.append({
            "id": fid, "area": f.area, "label": f.label,
            "estimate": float(f.value) if H.is_num(f.value) else None,
            "ci_lower": float(f.lower) if H.is_num(f.lower) else None,
            "ci_upper": float(f.upper) if H.is_num(f.upper) else None,
            "ci_level": float(f.level) if H.is_num(f.level) else None,
            "n": n if n is None or n >= k else None,
            "null_value": f.null_value, "cutoff": f.cutoff, "cutoff_source": f.source or None,
            "verdict": f.verdict,
            **({"pooling": f.pooling} if f.pooling else {}),
        })
    return out


def summary_table(records: list[Mapping]) -> str:
    """The records of ``summary.json`` as a plain-text table, one key figure a line (what
    ``validation summary`` prints; ``dvc metrics show`` puts every figure in one wide row)."""
    rows = [("key figure", "estimate [CI]", "n", "cut-off", "verdict")]
    for r in records:
        v = r.get("estimate")
        est = H.num(int(v)) if H.is_num(v) and float(v).is_integer() and r.get("ci_lower") is None else H.num(v)
        if H.is_num(r.get("ci_lower")) and H.is_num(r.get("ci_upper")):
            est += f" [{H.num(r['ci_lower'])}, {H.num(r['ci_upper'])}]"
        cut = H.num(r["cutoff"]) if H.is_num(r.get("cutoff")) else ""
        rows.append((str(r.get("label", r.get("id", ""))), est, H.num(r.get("n")) if r.get("n") is not None else "",
                     cut, str(r.get("verdict", ""))))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) if i in (0, 4) else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))).rstrip()
             for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# rendering


def _n_cell(f: KeyFigure, k: int) -> V.Line:
    if f.n is None and f.events is None:
        return V.line(f.n_text or H.DASH)
    s = V.line(H.count(f.n, k) if f.n is not None else "")
    if f.n_text:
        s += V.line(" ", V.muted(f.n_text))
    if f.events is not None:
        s += V.line(V.BR, f"{H.count(f.events, k)} events")
    return s


def _estimate_cell(f: KeyFigure) -> V.Line:
    if f.display:
        return V.line(f.display)
    if not H.is_num(f.value):
        return V.line(V.Run("not estimable", "ne"))
    s = H.num(f.value)
    if H.is_num(f.lower) and H.is_num(f.upper):
        s += f" [{H.num(f.lower)}, {H.num(f.upper)}]"
        if H.is_num(f.level) and abs(float(f.level) - 0.95) > 1e-9:
            return V.line(s, " ", V.muted(f"{float(f.level):.0%} CI"))
    return V.line(s)


def tally(figs: list[KeyFigure]) -> V.Line:
    counts = {v: sum(f.verdict == v for f in figs) for v in OUTCOMES}
    return V.join((V.line(V.badge(v), f" {c}") for v, c in counts.items() if c), ", ")


def summary_section(figs: list[KeyFigure], k: int, p: Mapping, changes_line: V.Line = ()) -> V.Section:
    out: list[Any] = [
        V.Heading(2, V.line("Key figures")),
        V.Para(V.line("Key figures first: estimate [95% interval unless stated], n, the cut-off and the verdict. ",
                      V.b("no evidence beyond chance"), ": the interval contains the value of no effect (AUC 0.5, "
                      "kappa 0, ICC 0), whatever the cut-off; ",
                      V.b("meets"), ": the whole interval is on the acceptable side of the cut-off; ",
                      V.b("does not meet"), ": the whole interval is on the other side; ",
                      V.b("inconclusive"), ": the interval straddles the cut-off, so the data cannot decide -- the "
                      "reason gives the cases that would decide if the estimate held (Bonett 2002 for ICC and alpha, "
                      "Hanley & McNeil 1982 for AUC, otherwise width shrinking as 1/sqrt(n)). Without an interval "
                      "(fit indices) the point estimate decides (the reason says so). Reliability is judged by omega total (McDonald 1999); alpha, which "
                      "assumes equal loadings, is in the Reliability section. Sources of the cut-offs are listed "
                      "below the tables."),
               "muted")]
    if changes_line:
        out.append(V.Para(changes_line))
    sources: list[str] = []
    for area, title, anchor in AREAS:
        rows = [f for f in figs if f.area == area]
        if not rows:
            continue
        out += [V.Heading(3, V.line(V.link(title, anchor))), V.Para(tally(rows), "tally")]
        body = []
        for f in rows:
            if f.source and f.source not in sources:
                sources.append(f.source)
            reason = f.reason + (f"; {f.note}" if f.note else "")
            cut = V.line(f.threshold, (" ", V.muted(short_source(f.source))) if f.source else ())
            body.append([V.link(f.label, f.anchor), _estimate_cell(f), _n_cell(f, k), cut, V.badge(f.verdict),
                         V.muted(reason)])
        out.append(V.table(["key figure", "estimate [CI]", "n", "cut-off", "verdict", "why"], body,
                           also_left=(3, 5)))
    if sources:
        out.append(V.Para(V.line(V.b("Sources of the cut-offs"), " (report parameters, see Version): "
                                 + "; ".join(sources) + "."), "muted"))
    return V.section("summary", out)


def _simulated(label: str, plan: Mapping | None) -> str:
    """The simulation's share of decided verdicts for a key figure at each simulated case count."""
    if not isinstance(plan, Mapping) or not plan.get("run"):
        return "not run"
    outcome = plan.get("outcome", "")
    name = next((f for f in plan.get("figures") or [] if label in (f, f"{outcome}: {f}")), None)
    if name is None:
        return "not simulated"
    return "; ".join(f"n {c['n_cases']:,}: {100 * c['figures'][name]['decided']:.0f}%"
                     + (f" (rate {c['event_rate']:g})" if c.get("event_rate") is not None else "")
                     + (f" ({c['raters_per_case']:g} raters a case)" if c.get("raters_per_case") is not None else "")
                     for c in plan.get("cells") or [])


COMPOSITES = ("risk_total", "summary_risk")     # predictors built from others: not parameters of a new model


def _additional_prevalence(agreement: Mapping) -> float | None:
    """The median share of 'present' among the paired ratings of the present / absent indicators."""
    shares = []
    for ind in (g(agreement, "additional") or {}).values():
        table = g(ind, "kappa", "table")
        if isinstance(table, list) and len(table) == 2:
            n = sum(map(sum, table))
            if n:
                shares.append((2 * table[1][1] + table[0][1] + table[1][0]) / (2 * n))
    return statistics.median(shares) if shares else None


def next_study_rows(metrics: Mapping[str, Mapping], p: Mapping) -> list[list[str]]:
    """The next study's other aims in closed form (``report.next_study``): Harrell's C of the risk total
    to a given width (Newcombe 2006), agreement on the present / absent indicators (Donner & Eliasziw
    1992) and the minimum sample size of a prediction model from the configured predictors (Riley et
    al. 2020), each outcome at the base rate observed."""
    ns, rows = p["next_study"], []
    kappa_cut = p["thresholds"]["kappa"].get("min")
    prevalence = _additional_prevalence(metrics.get("agreement") or {})
    if kappa_cut is not None and prevalence is not None and 0 < prevalence < 1 and ns["kappa_planned"] > kappa_cut:
        n = kappa_n(kappa_cut, ns["kappa_planned"], prevalence, ns["alpha"], ns["power"])
        rows.append([f"a present / absent indicator: kappa {ns['kappa_planned']:g} shown above "
                     f"{kappa_cut:g} (median prevalence {prevalence:.2f})",
                     f"{H.num(n, 0)} cases rated by two raters", "Donner & Eliasziw 1992, power "
                     f"{ns['power']:g}, two-sided alpha {ns['alpha']:g}"])
    for outcome, b in (g(metrics, "predictive", "outcomes") or {}).items():
        rate, c = b.get("base_rate"), g(b, "predictors", "risk_total", "harrell_c", "c")
        if not (H.is_num(rate) and 0 < rate < 1):
            continue
        if H.is_num(c) and 0.5 < c < 1:
            r = events_for_c_width(c, rate, ns["c_width"])
            rows.append([f"{outcome}: Harrell's C of the risk total ({H.num(c)}) to a 95% interval of width "
                         f"{ns['c_width']:g}", f"{H.num(r.n, 0)} cases, {H.num(r.events, 0)} events",
                         "Newcombe 2006 SE, as Riley et al. 2021"])
        params = [name for name in (b.get("predictors") or {}) if name not in COMPOSITES]
        if params:
            try:
                m = prediction_model_size(len(params), _r2_cs_for(ns["nagelkerke"], rate), rate,
                                          shrinkage=ns["shrinkage"])
            except ValueError:
                continue
            rows.append([f"{outcome}: a prediction model from the {len(params)} configured predictors "
                         f"({', '.join(params)}), anticipated Nagelkerke R\u00b2 {ns['nagelkerke']:g}",
                         f"{H.num(m.n, 0)} cases, {H.num(math.ceil(m.events), 0)} events "
                         f"({m.events_per_parameter:.1f} a parameter)",
                         f"Riley et al. 2020 ({m.binding} criterion binds)"])
    return rows


def _r2_cs_for(nagelkerke: float, prevalence: float) -> float:
    """The Cox-Snell R^2 of a Nagelkerke R^2 at a prevalence (Nagelkerke = Cox-Snell / its maximum)."""
    max_r2 = 1 - math.exp(2 * (prevalence * math.log(prevalence) + (1 - prevalence) * math.log(1 - prevalence)))
    return nagelkerke * max_r2


def planning_section(figs: list[KeyFigure], k: int, plan: Mapping | None = None, figure: Any = None,
                     next_study: list[list[str]] | None = None) -> V.Section:
    """"Planning the next study": for each inconclusive key figure, the cases that would decide it if the
    estimate held, from the closed form of its kind (Bonett 2002 for ICC and alpha, Hanley & McNeil 1982
    for AUC, else the 1/sqrt(n) scaling of the interval); the simulation on the battery's generator is
    ``validation plan``."""
    rows = []
    for f in figs:
        if f.verdict != INCONCLUSIVE:
            continue
        more = (int(f.n_to_decide) - int(f.n)) if H.is_num(f.n_to_decide) and H.is_num(f.n) else None
        if more is None:
            more_text = H.DASH
        elif more > 0:
            more_text = H.num(more, 0)
        else:   # the closed form's design (e.g. every case rated by the same raters) is not this study's
            more_text = "none by the closed form: this interval is wider than it predicts"
        rows.append([f.label, H.est(f.value, {"lower": f.lower, "upper": f.upper}), H.count(f.n, k), f.threshold,
                     H.num(f.n_to_decide, 0) if H.is_num(f.n_to_decide) else H.DASH, more_text,
                     f.n_method or H.DASH, _simulated(f.label, plan)])
    blocks: list[Any] = [V.Heading(2, V.line("Planning the next study"))]
    if not rows:
        blocks.append(V.Para(V.line("No key figure is inconclusive: each is decided by the cases at hand.")))
    else:
        blocks += [
            V.Para(V.line(f"{len(rows)} key figure(s) are inconclusive: the interval straddles the cut-off. If the "
                          "estimate held, an interval narrow enough to exclude the cut-off needs about this many "
                          "cases (or pairs) in all; the closed form named beside each gives it. A study is planned "
                          "on the probability of a decided verdict, not on one estimate: `validation plan` simulates "
                          "it on the battery's synthetic generator, case counts by event rates (params.yaml, planning).")),
            V.table(["key figure", "estimate [CI]", "cases now", "cut-off", "cases to decide", "more cases",
                     "closed form", "simulated: share decided"], rows, 1, also_left=(3, 6, 7))]
    if next_study:
        blocks += [V.Para(V.line("The next study's other aims, in closed form (params.yaml, report: next_study), "
                                 "at the base rates observed:")),
                   V.table(["aim", "needs", "closed form"], next_study, 1, also_left=(1, 2))]
    if isinstance(plan, Mapping) and plan.get("run"):
        blocks.append(V.Para(V.line(f"Simulated: {plan.get('replicates')} synthetic batteries at each grid cell, each "
                                    "analysed as the pipeline does and judged by the report's rule (Dask); "
                                    "plan.json holds the interval widths and the coverage of the population value.")))
    if figure is not None:
        blocks.append(figure)
    return V.section("planning", *blocks)
