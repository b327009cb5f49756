"""The one verdict rule: an estimate and its interval against a published cut-off.

:func:`judge` is the only place a verdict is made; the report's tables, the executive summary,
the bottom line and ``summary.json`` all call it. Five outcomes:

* ``no evidence beyond chance``: the interval contains the value of no effect (AUC 0.5, kappa 0,
  ICC 0, hazard ratio 1), whatever the cut-off -- checked first;
* ``meets``: the whole interval lies on the acceptable side of the cut-off;
* ``does not meet``: the whole interval lies on the other side;
* ``inconclusive``: the interval straddles the cut-off; the verdict carries the sample size at which
  an interval around the same estimate would exclude the cut-off (:mod:`validation.stats.planning`);
* ``not estimable``: the pipeline declined the estimate.

Without an interval (fit indices) the point estimate decides and the reason says so: imprecision is
never rewarded, since a wider interval can only move a verdict towards ``inconclusive`` or
``no evidence beyond chance``.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Mapping

from validation.report.html import is_num
from validation.report.rules import LEVELS, cutoff_text
from validation.stats.planning import alpha_n_for_width, auc_n_for_width, icc_n_for_width, scaled_sample_size

MEETS, INCONCLUSIVE, FAILS, CHANCE, NE = (
    "meets", "inconclusive", "does not meet", "no evidence beyond chance", "not estimable")
OUTCOMES = (MEETS, INCONCLUSIVE, FAILS, CHANCE, NE)

# how many cases would decide: width -> n (None when no formula applies)
SampleSize = Callable[[float], "int | None"]


@dataclasses.dataclass(frozen=True)
class Verdict:
    """An outcome, the reason in words, and for an inconclusive verdict the sample size that
    would decide it (``n_to_decide``) with the formula used (``n_method``)."""

    outcome: str
    reason: str
    n_to_decide: int | None = None
    n_method: str = ""


def judge(value: Any, lower: Any = None, upper: Any = None, *, minimum: float | None = None,
          maximum: float | None = None, null_value: float | None = None,
          sample_size: SampleSize | None = None, sample_size_method: str = "") -> Verdict:
    """The verdict of an estimate with interval ``[lower, upper]`` against a cut-off.

    Exactly one of ``minimum`` (acceptable at or above) and ``maximum`` (at or below).
    ``null_value``: the value of no effect; an interval holding it gives ``no evidence beyond
    chance``. ``sample_size(width)``: the cases needed for an interval of that total width, used
    for ``inconclusive`` with width ``2 |value - cut-off|``.

    Examples
    --------
    >>> judge(0.554, 0.443, 0.666, minimum=0.639, null_value=0.5).outcome
    'no evidence beyond chance'
    >>> judge(0.38, 0.06, 0.70, minimum=0.60, null_value=0.0).outcome
    'inconclusive'
    >>> judge(0.43, 0.30, 0.56, minimum=0.60, null_value=0.0).outcome
    'does not meet'
    >>> judge(0.88, 0.86, 0.90, minimum=0.70).reason
    'whole interval at or above 0.70'
    """
    if (minimum is None) == (maximum is None):
        raise ValueError("give exactly one of minimum= or maximum=")
    if not is_num(value):
        return Verdict(NE, "no estimate")
    value = float(value)
    has_ci = is_num(lower) and is_num(upper)
    upward = minimum is not None
    t = float(minimum if upward else maximum)
    side, other = ("at or above", "below") if upward else ("at or below", "above")
    if not has_ci:
        ok = value >= t if upward else value <= t
        return (Verdict(MEETS, f"point estimate {side} {cutoff_text(t)} (no interval)") if ok else
                Verdict(FAILS, f"point estimate {other} {cutoff_text(t)} (no interval)"))
    lo, hi = float(lower), float(upper)
    if is_num(null_value) and lo <= float(null_value) <= hi:
        return Verdict(CHANCE, f"interval contains {cutoff_text(float(null_value))}, the value of no effect")
    if (lo >= t) if upward else (hi <= t):
        return Verdict(MEETS, f"whole interval {side} {cutoff_text(t)}")
    if (hi < t) if upward else (lo > t):
        return Verdict(FAILS, f"whole interval {other} {cutoff_text(t)}")
    n = None
    if sample_size is not None and value != t:
        try:
            n = sample_size(2 * abs(value - t))
        except (ValueError, ZeroDivisionError, OverflowError):
            n = None
    reason = f"interval straddles {cutoff_text(t)}"
    if n is not None:
        reason += f"; about {n:,} cases would decide if the estimate held ({sample_size_method})"
    elif value == t:
        reason += "; the estimate sits on the cut-off, so no sample size decides it"
    return Verdict(INCONCLUSIVE, reason, n, sample_size_method if n is not None else "")


def judge_threshold(value: Any, lower: Any, upper: Any, threshold: Mapping, **kwargs: Any) -> Verdict:
    """:func:`judge` with the cut-off of a threshold mapping (``min`` or ``max``)."""
    return judge(value, lower, upper, minimum=threshold.get("min"), maximum=threshold.get("max"), **kwargs)


def many(verdicts: list[Verdict | str], fail_share: float) -> Verdict:
    """Many coefficients (the indicators of an instrument), one verdict: ``meets`` when every
    estimable one meets; ``does not meet`` when more than ``fail_share`` of them do not meet or
    show no agreement beyond chance; ``inconclusive`` otherwise."""
    outcomes = [v.outcome if isinstance(v, Verdict) else v for v in verdicts]
    est = [v for v in outcomes if v != NE]
    if not est:
        return Verdict(NE, "none estimable")
    bad = sum(v in (FAILS, CHANCE) for v in est)
    if all(v == MEETS for v in est):
        return Verdict(MEETS, "every one meets")
    if bad / len(est) > fail_share:
        return Verdict(FAILS, f"more than {fail_share:.0%} do not meet or show nothing beyond chance")
    return Verdict(INCONCLUSIVE, f"some inconclusive, at most {fail_share:.0%} do not meet")


def tally(outcomes: list[str]) -> str:
    """``"3 meet, 2 inconclusive, 1 does not meet"`` (outcomes in the rule's order, zeros left out)."""
    words = {MEETS: ("meets", "meet"), INCONCLUSIVE: ("inconclusive", "inconclusive"),
             FAILS: ("does not meet", "do not meet"), CHANCE: ("no evidence beyond chance",) * 2,
             NE: ("not estimable",) * 2}
    parts = []
    for o in OUTCOMES:
        c = outcomes.count(o)
        if c:
            parts.append(f"{c} {words[o][0] if c == 1 else words[o][1]}")
    return ", ".join(parts)


# the value of no effect of each kind of coefficient (absent: none, e.g. fit indices)
NULL_VALUES = {"alpha": 0.0, "omega": 0.0, "icc": 0.0, "kappa": 0.0, "ac": 0.0, "krippendorff": 0.0,
               "auc": 0.5, "c": 0.5, "hr": 1.0}


def _sample_size(kind: str, value: float, lower: float, upper: float, level: float, n: Any, k: Any,
                 events: Any) -> tuple[SampleSize | None, str]:
    """How many cases give an interval of a given width, for this kind of coefficient."""
    if kind == "alpha" and is_num(k) and k >= 2:
        return (lambda w: alpha_n_for_width(value, int(k), w, level)), "Bonett 2002"
    if kind == "icc" and is_num(k) and k >= 2:
        return (lambda w: icc_n_for_width(value, int(k), w, level)), f"Bonett 2002, {int(k)} raters a case"
    if kind in ("auc", "c") and is_num(n) and is_num(events) and 0 < events < n and 0 < value < 1:
        return (lambda w: auc_n_for_width(value, events / n, w, level)), "Hanley & McNeil 1982"
    if is_num(n) and n >= 1 and upper > lower:
        return (lambda w: scaled_sample_size(int(n), upper - lower, w)), "interval width shrinking as 1/sqrt(n)"
    return None, ""


def judge_estimate(kind: str, value: Any, lower: Any, upper: Any, threshold: Mapping, *, level: Any = 0.95,
                   n: Any = None, k: Any = None, events: Any = None) -> Verdict:
    """:func:`judge` for a coefficient of a known ``kind`` (``alpha``, ``omega``, ``icc``,
    ``kappa``, ``auc``, ``c``, ``hr``, a fit index...): its value of no effect and its formula for
    the sample size that would decide. ``n``: cases (or pairs) behind the interval; ``k``: items
    (alpha) or raters a case (ICC); ``events``: events among the ``n`` (AUC, C)."""
    lvl = float(level) if is_num(level) and 0 < level < 1 else 0.95
    size, method = (None, "")
    if is_num(value) and is_num(lower) and is_num(upper):
        size, method = _sample_size(kind, float(value), float(lower), float(upper), lvl, n, k, events)
    return judge_threshold(value, lower, upper, threshold, null_value=NULL_VALUES.get(kind),
                           sample_size=size, sample_size_method=method)


def fit_misses(fit: Mapping | None, fit_thresholds: Mapping | None) -> list[str]:
    """The fit cut-offs a model misses, in words (``["CFI 0.861 below 0.95"]``; empty: it fits)."""
    misses = []
    for key, thr in (fit_thresholds or {}).items():
        value = (fit or {}).get(key)
        if not is_num(value) or not isinstance(thr, Mapping):
            continue
        if "min" in thr and value < thr["min"]:
            misses.append(f"{key.upper()} {value:.3f} below {cutoff_text(thr['min'])}")
        elif "max" in thr and value > thr["max"]:
            misses.append(f"{key.upper()} {value:.3f} above {cutoff_text(thr['max'])}")
    return misses


# the ordinal (WLSMV) sequence on the ladder of the continuous one: equal thresholds and loadings is strong
# (scalar) invariance; equal thresholds alone constrains no loading, so it is not yet metric
# the ordinal steps and the continuous level each one stands for, by identification: lavaan's equal
# thresholds also hold the intercepts at 0, so its thresholds-and-loadings model is the scalar one; under
# Wu & Estabrook (2016) the intercepts are a step of their own
ORDINAL_LEVELS = {
    "lavaan": {"configural": "configural", "thresholds": "configural", "thresholds and loadings": "scalar"},
    "wu.estabrook": {"configural": "configural", "thresholds": "configural", "thresholds and loadings": "metric",
                     "thresholds, loadings and intercepts": "scalar"},
}


def invariance(level: str | None, required: str, configural_fit: Mapping | None = None,
               fit_thresholds: Mapping | None = None, ordinal: bool = False,
               identification: str = "wu.estabrook") -> Verdict:
    """The level of measurement invariance reached against the level required, gated on the fit of
    the configural model: when it misses a fit cut-off (CFI, TLI, RMSEA, SRMR of ``fit_thresholds``)
    no later step is reached, whatever the changes in fit between steps say.

    At or above the required level meets; the partial form of the required level is inconclusive
    (some intercepts freed); anything lower does not meet. An ordinal sequence's step stands for the
    level given by ``ORDINAL_LEVELS`` under its ``identification``.

    Examples
    --------
    >>> t = {"cfi": {"min": 0.95}, "rmsea": {"max": 0.06}}
    >>> invariance("partial scalar", "scalar", {"cfi": 0.861, "rmsea": 0.045}, t).reason
    'the configural model does not fit (CFI 0.861 below 0.95), so no invariance step is reached'
    """
    misses = fit_misses(configural_fit, fit_thresholds)
    if misses:
        return Verdict(FAILS, f"the configural model does not fit ({', '.join(misses)}), so no invariance step "
                              "is reached")
    if ordinal:
        named = level
        level = ORDINAL_LEVELS[identification].get(str(level))
        if level is None:
            return Verdict(NE, "no level reached")
        if LEVELS.index(level) >= LEVELS.index(required):
            return Verdict(MEETS, f"equal {named} across groups (ordinal model; required: {required})")
        return Verdict(FAILS, f"only {named} invariance (ordinal model; required: {required})")
    if level not in LEVELS:
        return Verdict(NE, "no level reached")
    if LEVELS.index(level) >= LEVELS.index(required):
        return Verdict(MEETS, f"{level} invariance holds (required: {required})")
    if level == f"partial {required}":
        return Verdict(INCONCLUSIVE, f"only partial {required} invariance (some intercepts freed)")
    return Verdict(FAILS, f"only {level} invariance (required: {required})")


CERTIFIED, NOT_YET, UNDECIDED = "certified", "not yet", "undecided"


@dataclasses.dataclass(frozen=True)
class Certification:
    """A trainee's decision: ``certified`` (every criterion's interval on the right side), ``not yet`` (an
    interval wholly on the wrong side: ``failing`` names those criteria), ``undecided`` (an interval straddles
    its cut-off: ``more_vignettes``, the further vignettes that would decide it if the estimates held, or
    None when an estimate sits on its cut-off), with each criterion's verdict in ``criteria``."""

    decision: str
    failing: tuple[str, ...]
    undecided: tuple[str, ...]
    more_vignettes: int | None
    criteria: tuple[tuple[str, Verdict], ...]


def certify(estimates: Mapping[str, tuple[Any, Any, Any]], rules: list[Mapping], n_vignettes: int) -> Certification:
    """A trainee's certification by the four-outcome rule: each rule (``measure`` with ``min``, ``max`` or
    ``max_abs``) judged on the measure's estimate and interval ``(estimate, lower, upper)``; a rule whose
    ``measure`` lists several (``"weighted kappa|AC2"``) meets when any of them meets. ``n_vignettes``: the
    vignettes behind the intervals (their width shrinks as 1/sqrt of the vignettes).

    Examples
    --------
    >>> rules = [{"measure": "exact, indicators", "min": 0.80}, {"measure": "severity", "max_abs": 0.25}]
    >>> c = certify({"exact, indicators": (0.83, 0.76, 0.89), "severity": (0.05, -0.10, 0.20)}, rules, 6)
    >>> c.decision, c.undecided, c.more_vignettes      # (0.89 - 0.76) / (2 x 0.03): 4.7 times as many
    ('undecided', ('exact, indicators',), 23)
    >>> certify({"exact, indicators": (0.70, 0.62, 0.77), "severity": (0.05, -0.10, 0.20)}, rules, 6).failing
    ('exact, indicators',)
    """
    verdicts: list[tuple[str, Verdict]] = []
    for rule in rules:
        options = [m.strip() for m in str(rule["measure"]).split("|")]
        judged = [(m, _judge_rule(rule, *estimates.get(m, (None, None, None)), n_vignettes)) for m in options]
        best = next((v for v in judged if v[1].outcome == MEETS), None) or next(
            (v for v in judged if v[1].outcome == INCONCLUSIVE), None) or judged[0]
        verdicts.append((str(rule["measure"]) if len(options) > 1 else best[0], best[1]))
    failing = tuple(name for name, v in verdicts if v.outcome in (FAILS, NE))
    undecided = tuple(name for name, v in verdicts if v.outcome == INCONCLUSIVE)
    if failing:
        return Certification(NOT_YET, failing, undecided, None, tuple(verdicts))
    if undecided:
        needs = [v.n_to_decide for name, v in verdicts if v.outcome == INCONCLUSIVE]
        more = None if any(n is None for n in needs) else max(0, max(needs) - int(n_vignettes))
        return Certification(UNDECIDED, (), undecided, more, tuple(verdicts))
    return Certification(CERTIFIED, (), (), None, tuple(verdicts))


def _judge_rule(rule: Mapping, value: Any, lower: Any, upper: Any, n_vignettes: int) -> Verdict:
    if not (is_num(value) and is_num(lower) and is_num(upper)):
        return Verdict(NE, "no estimate with an interval")
    size = (lambda w: scaled_sample_size(int(n_vignettes), float(upper) - float(lower), w)) \
        if upper > lower and n_vignettes >= 1 else None
    method = "interval width shrinking as 1/sqrt(vignettes)"
    if "max_abs" in rule:       # |value| <= c: the interval inside [-c, c]; wholly beyond either end fails
        c = float(rule["max_abs"])
        if -c <= lower and upper <= c:
            return Verdict(MEETS, f"whole interval within \u00b1{c:g}")
        if lower > c or upper < -c:
            return Verdict(FAILS, f"whole interval beyond \u00b1{c:g}")
        edge = c if value >= 0 else -c          # the nearer end decides
        n = size(2 * abs(value - edge)) if size and value != edge else None
        return Verdict(INCONCLUSIVE, f"interval straddles \u00b1{c:g}", n, method if n is not None else "")
    return judge(value, lower, upper, minimum=rule.get("min"), maximum=rule.get("max"), sample_size=size,
                 sample_size_method=method)


def equal_within(value: Any, lower: Any, upper: Any, margin: float, equivalent: bool | None) -> Verdict:
    """A group's difference from equal prediction (a calibration-in-the-large, an AUC difference): ``does
    not meet`` when its interval excludes 0 (a difference shown); ``meets`` only when two one-sided tests
    place it within +-``margin`` (``equivalent``: the stage's TOST); ``inconclusive`` otherwise: a test that
    did not reject shows no equality.

    Examples
    --------
    >>> equal_within(-0.45, -0.70, -0.20, 0.2, False).outcome
    'does not meet'
    >>> equal_within(0.03, -0.08, 0.14, 0.2, True).reason
    'equal within \u00b10.2 by two one-sided tests'
    >>> equal_within(0.05, -0.30, 0.40, 0.2, False).outcome
    'inconclusive'
    """
    if not (is_num(value) and is_num(lower) and is_num(upper)):
        return Verdict(NE, "no estimate with an interval")
    if lower > 0 or upper < 0:
        return Verdict(FAILS, "interval excludes 0: a difference")
    if equivalent:
        return Verdict(MEETS, f"equal within \u00b1{margin:g} by two one-sided tests")
    return Verdict(INCONCLUSIVE, f"no difference shown, nor equality within \u00b1{margin:g}")
