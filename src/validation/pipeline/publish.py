"""Disclosure control of the predictive metrics before they are written (the committed metrics, the
plots data and the figures all come from what this returns).

Every table of case counts gets primary and complementary suppression
(:mod:`validation.battery.disclosure`) against the totals published beside it, and every rate,
interval or derived figure computed from a suppressed cell is withheld (a rate and its denominator
give the count back):

* each cut-off's 2x2 table (TP, FP, FN, TN, with the events and non-events published) and its
  sensitivity, specificity, PPV, NPV, likelihood ratios, DOR, number needed to detain and the PPV
  and NPV at the configured base rates;
* the events by summary-risk band (with the band sizes and the events total published), the
  observed rate per band with its interval, and the log-rank observed counts;
* the Kaplan-Meier numbers at risk and events at the tabulated times (counts of 1 to k-1 cases);
* the cases, controls and censored of each time-dependent AUC horizon (their sum is the n), and the
  AUC of a horizon with a hidden count rounded to 2 decimals (its full digits are concordant pairs
  over cases x controls, which would give the count back);
* ROC points whose 2x2 table holds a count of 1 to k-1 (dropped from the metrics, the figure and
  roc.csv; the ends (0, 0) and (1, 1) stay);
* the net benefit of the decision curve at thresholds where such a count is treated or not.
"""

from __future__ import annotations

import copy
from typing import Any, Mapping, Sequence

from validation.battery.disclosure import marker, primary, protect, protect_line

__all__ = ["protect_outcome", "protect_cutoffs", "safe_roc_point", "CUTOFF_RATES"]

# the cells each published figure of a cut-off is computed from
CUTOFF_RATES = {"sensitivity": ("tp", "fn"), "specificity": ("tn", "fp"), "ppv": ("tp", "fp"),
                "npv": ("tn", "fn"), "nnd": ("tp", "fp"), "lr_positive": ("tp", "fp", "fn", "tn"),
                "lr_negative": ("tp", "fp", "fn", "tn"), "dor": ("tp", "fp", "fn", "tn")}
_INTERVAL = ("estimate", "lower", "upper")


def _withhold(block: Any, i: int) -> None:
    """Blank position ``i`` of a parallel-array estimate block (estimate, lower, upper)."""
    if isinstance(block, dict):
        for key in _INTERVAL:
            if isinstance(block.get(key), list) and i < len(block[key]):
                block[key][i] = None


def protect_cutoffs(c: dict, k: int) -> dict:
    """A cut-off block with each threshold's 2x2 table suppressed and the figures it feeds withheld."""
    if not isinstance(c, dict) or "not_estimable" in c or "tp" not in c:
        return c
    c = copy.deepcopy(c)
    events, nonevents = c.get("n_events"), c.get("n_nonevents")
    hidden_any = []
    for i in range(len(c["tp"])):
        cells = {name: int(c[name][i]) for name in ("tp", "fp", "fn", "tn")}
        facts = [({"tp": 1.0, "fn": 1.0}, float(events)), ({"fp": 1.0, "tn": 1.0}, float(nonevents))]
        hidden = protect(cells, facts, k)
        for name, mark in hidden.items():
            c[name][i] = mark
        for rate, needs in CUTOFF_RATES.items():
            if any(name in hidden for name in needs):
                _withhold(c.get(rate), i)
        if hidden:
            hidden_any.append(i)
            for b in c.get("base_rates") or []:
                _withhold(b.get("ppv"), i)
                _withhold(b.get("npv"), i)
    if hidden_any:
        c["suppressed"] = (f"counts of 1 to {k - 1} cases shown as {marker(k)}, a second cell hidden (*) where the "
                           "totals would give it back; figures computed from a hidden cell are withheld (null)")
    return c


def safe_roc_point(sensitivity: float, specificity: float, events: int, nonevents: int, k: int) -> bool:
    """Whether the 2x2 table behind an ROC point holds no count of 1 to k-1 cases."""
    tp = round(sensitivity * events)
    fp = round((1 - specificity) * nonevents)
    return not any(primary(int(n), k) for n in (tp, events - tp, fp, nonevents - fp))


def _protect_roc(roc: dict, events: int, nonevents: int, k: int) -> dict:
    if not isinstance(roc, dict) or "not_estimable" in roc or "sensitivity" not in roc:
        return roc
    roc = copy.deepcopy(roc)
    keep = [i for i, (se, sp) in enumerate(zip(roc["sensitivity"], roc["specificity"]))
            if safe_roc_point(se, sp, events, nonevents, k)]
    dropped = len(roc["sensitivity"]) - len(keep)
    for key in ("threshold", "sensitivity", "specificity"):
        roc[key] = [roc[key][i] for i in keep]
    roc["n_shown"] = len(keep)
    roc["youden"] = [y for y in roc.get("youden") or []
                     if safe_roc_point(y["sensitivity"], y["specificity"], events, nonevents, k)]
    if dropped:
        roc["suppressed"] = f"{dropped} point(s) whose 2x2 table holds a count of 1 to {k - 1} cases left out"
    return roc


def _protect_td_auc(rows: list, k: int) -> list:
    out = []
    for r in rows:
        r = dict(r)
        counts = {key: r[key] for key in ("cases", "controls", "censored") if isinstance(r.get(key), int)}
        r.update(protect_line(counts, k, total=True))
        if isinstance(r.get("auc"), float) and any(isinstance(r.get(key), str) for key in counts):
            # the AUC's full digits would give cases x controls back (it is a count of pairs over it)
            r["auc"] = round(r["auc"], 2)
            r["auc_rounded"] = "to 2 decimals: its full digits would give a hidden count back"
        out.append(r)
    return out


def _protect_bands(b: dict, k: int) -> dict:
    """Events by summary-risk band against the band sizes and the events total."""
    if not isinstance(b, dict) or "events_by_band" not in b:
        return b
    b = copy.deepcopy(b)
    n_k, e_k = b["n_by_band"], b["events_by_band"]
    sizes = protect_line(dict(enumerate(n_k)), k, total=True)
    cells = {("e", i): int(e) for i, e in enumerate(e_k)} | {("f", i): int(n - e) for i, (n, e) in enumerate(zip(n_k, e_k))}
    facts = [({("e", i): 1.0 for i in range(len(e_k))}, float(sum(e_k))),
             ({("f", i): 1.0 for i in range(len(e_k))}, float(sum(n_k) - sum(e_k)))]
    facts += [({("e", i): 1.0, ("f", i): 1.0}, float(n)) for i, n in enumerate(n_k) if not isinstance(sizes[i], str)]
    hidden = protect(cells, facts, k, unpublished=[("f", i) for i in range(len(e_k))])
    hide = {i for (kind, i) in hidden} | {i for i, v in sizes.items() if isinstance(v, str)}
    b["n_by_band"] = [sizes[i] for i in range(len(n_k))]
    b["events_by_band"] = [hidden.get(("e", i), e) for i, e in enumerate(e_k)]
    cal = b.get("calibration")
    if isinstance(cal, dict) and "events" in cal:
        cal["n"] = list(b["n_by_band"])
        cal["events"] = list(b["events_by_band"])
        for i in hide:
            for key in ("rate", "lower", "upper"):
                cal[key][i] = None
    lr = b.get("logrank")
    if isinstance(lr, dict) and "observed" in lr:
        lr["n"] = list(b["n_by_band"])
        lr["observed"] = [b["events_by_band"][i] if i in hide else o for i, o in enumerate(lr["observed"])]
        lr["expected"] = [None if i in hide else e for i, e in enumerate(lr["expected"])]
    km = b.get("kaplan_meier")
    if isinstance(km, dict):
        for i, (label, cv) in enumerate((km.get("curves") or {}).items()):
            if i in hide:
                cv["n"], cv["events"] = b["n_by_band"][i], b["events_by_band"][i]
            at = cv.get("at_times") or {}
            for key in ("n_risk", "n_event"):
                if isinstance(at.get(key), list):
                    at[key] = [marker(k) if primary(v, k) else v for v in at[key]]
    if hide:
        b["suppressed"] = (f"counts of 1 to {k - 1} cases shown as {marker(k)}, a second cell hidden (*) where the "
                           "totals would give it back; rates of a band with a hidden count are withheld (null)")
    return b


def _protect_decision_curve(cal: dict, k: int) -> dict:
    """The net benefit at each threshold is TP/n - FP/n * pt/(1 - pt): withheld where the treated or
    untreated events or non-events number 1 to k-1 (whole counts solve that equation); the counts
    themselves are not published."""
    if "net_benefit" not in cal:
        return cal
    events, n = cal["events"], cal["n"]

    def withhold(curve: dict) -> dict:
        curve = dict(curve)
        tp, fp = curve.pop("treated_events"), curve.pop("treated_non_events")
        keep = [not any(primary(int(c), k) for c in (a, events - a, b, n - events - b)) for a, b in zip(tp, fp)]
        curve["net_benefit"] = [v if ok else None for v, ok in zip(curve["net_benefit"], keep)]
        if not all(keep):
            curve["suppressed"] = (f"net benefit withheld at {keep.count(False)} threshold(s) where 1 to {k - 1} "
                                   "events or non-events are treated or untreated")
        return curve

    cal = withhold(cal)
    if isinstance(cal.get("at_base_rates"), list):
        cal["at_base_rates"] = [withhold(c) for c in cal["at_base_rates"]]
    return cal


def protect_outcome(block: Mapping, k: int) -> dict:
    """One outcome's predictive metrics with every count table protected (see the module notes)."""
    out = copy.deepcopy(dict(block))
    for e in (out.get("predictors") or {}).values():
        if not isinstance(e, dict) or "not_estimable" in e:
            continue
        events, nonevents = e.get("events"), e.get("non_events")
        if "cutoffs" in e:
            e["cutoffs"] = protect_cutoffs(e["cutoffs"], k)
        if "roc" in e and isinstance(events, int) and isinstance(nonevents, int):
            e["roc"] = _protect_roc(e["roc"], events, nonevents, k)
        if isinstance(e.get("time_dependent_auc"), list):
            e["time_dependent_auc"] = _protect_td_auc(e["time_dependent_auc"], k)
        if isinstance(e.get("calibration"), dict):
            e["calibration"] = _protect_decision_curve(e["calibration"], k)
    if "bands" in out:
        out["bands"] = _protect_bands(out["bands"], k)
    return out


def protect_curve(points: Sequence[Sequence[float]], events: int, nonevents: int, k: int) -> tuple[list, list]:
    """The (false-positive rate, sensitivity) points of an ROC figure without the unsafe ones."""
    fpr, tpr = points
    keep = [i for i, (x, y) in enumerate(zip(fpr, tpr)) if safe_roc_point(y, 1 - x, events, nonevents, k)]
    return [fpr[i] for i in keep], [tpr[i] for i in keep]
