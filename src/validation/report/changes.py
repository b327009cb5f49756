"""Changes since a baseline: flatten two sets of metrics into named values (estimates with their
intervals where the metrics give one), and list every value that moved.

A move is *beyond sampling error* when the two intervals do not overlap (baseline upper bound below
the current lower bound, or the reverse). Non-overlap of two 95% intervals is a conservative test
(roughly p < 0.01 for independent estimates with similar standard errors; Schenker & Gentleman
2001, Am Stat 55:182-186); overlapping intervals do not show that nothing changed.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Iterator, Mapping

from validation.report import html as H
from validation.report import view as V

# item-level detail, curves, matrices and raw tables: their headline estimates are compared instead
SKIP_KEYS = frozenset({
    "provenance", "method", "polychoric", "roc", "kaplan_meier", "table", "items", "loadings", "communalities",
    "general_loadings", "std_loadings", "modification_indices", "eigenvalues", "efa", "by_rater",
    "ratings_per_rater", "block_raters", "bootstrap", "p_below", "at_times", "grras", "thresholds", "bands",
    "criteria", "site_x_sex", "site_x_age_band", "site_x_ideology", "observed_factor", "observed_component",
    "mean_factor", "mean_component", "threshold_factor", "threshold_component", "values", "levels"})
# technical by-products of an estimate (its variance, test statistic, settings): not listed
SKIP_LEAVES = frozenset({
    "level", "se", "variance", "z", "f", "df1", "df2", "seed", "n_boot", "n_iter", "quantile", "d_observed",
    "d_expected", "concordant", "discordant", "tied_risk", "tied_time", "logl", "aic", "bic", "npar",
    "reml_criterion", "intercept", "coef", "scale", "p_one_sided", "k_anonymity", "threshold", "tau", "tau_days",
    "min_cases_per_group", "min_targets", "min_events", "mean_of_means", "ms_targets", "ms_raters", "ms_error",
    "ms_within", "df_targets", "df_raters", "df_error", "df_within", "horizon_days", "horizon_years", "low_variance_sd",
    "n_boot_failed", "n_boot_undefined", "omega_observed", "z0", "acceleration", "ntotal"})
ESTIMATE_KEYS = ("alpha", "omega", "icc", "kappa", "auc", "c", "estimate", "difference", "omega_h", "rate")
PAIRED = (("hr", "hr_ci"), ("bias", "bias_ci"), ("lower", "lower_ci"), ("upper", "upper_ci"))
NOT_CASE_COUNTS = frozenset({
    "n_boot", "n_iter", "n_factors", "n_components", "n_raters", "n_thresholds", "n_shown", "n_tests",
    "n_risk_indicators", "n_groups", "n_raters_block", "block_n_raters", "k", "df", "n_dropped_items"})
CASE_COUNT_KEYS = frozenset({"events", "non_events", "tp", "fp", "fn", "tn", "cases", "controls", "censored",
                             "events_by_tau", "ntotal"})
CASE_COUNT_PARENTS = frozenset({"by_site", "by_sex", "by_age_band", "by_ideology", "cases_by_site", "by_occasion",
                                "by_role", "by_language", "groups_dropped", "nobs"})


@dataclasses.dataclass(frozen=True)
class Entry:
    """One named value of a metrics file, with its interval when the metrics give one."""

    value: float
    lower: float | None = None
    upper: float | None = None
    is_count: bool = False


@dataclasses.dataclass(frozen=True)
class Change:
    stage: str
    path: str
    old: Entry | None
    new: Entry | None
    status: str          # beyond | within | no interval | added | removed

    @property
    def delta(self) -> float | None:
        if self.old is None or self.new is None:
            return None
        return self.new.value - self.old.value


def _is_count(path: tuple[str, ...], value: Any) -> bool:
    if not isinstance(value, int) or isinstance(value, bool):
        return False
    key = path[-1]
    parent = path[-2] if len(path) > 1 else ""
    if key in NOT_CASE_COUNTS:
        return False
    return (key == "n" or key.startswith("n_") or key in CASE_COUNT_KEYS or parent in CASE_COUNT_PARENTS
            or parent.startswith("site_x_"))


def _num(x: Any) -> bool:
    return H.is_num(x)


def _interval(d: Any) -> tuple[float, float] | None:
    if isinstance(d, Mapping) and _num(d.get("lower")) and _num(d.get("upper")):
        return float(d["lower"]), float(d["upper"])
    return None


def _walk(d: Any, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], Entry]]:
    if not isinstance(d, Mapping):
        return
    used: set[str] = set()
    # an estimate with its interval
    iv = _interval(d.get("ci"))
    if iv is not None:
        for key in ESTIMATE_KEYS:
            if _num(d.get(key)):
                yield path + (key,), Entry(float(d[key]), *iv)
                used.update({key, "ci"})
                break
        else:
            used.add("ci")      # an interval of an estimate reported elsewhere (bootstrap of an AUC)
    for key, ci_key in PAIRED:
        iv = _interval(d.get(ci_key))
        if _num(d.get(key)) and iv is not None:
            yield path + (key,), Entry(float(d[key]), *iv)
            used.update({key, ci_key})
    if _num(d.get("rmsea")) and _num(d.get("rmsea.ci.lower")) and _num(d.get("rmsea.ci.upper")):
        yield path + ("rmsea",), Entry(float(d["rmsea"]), float(d["rmsea.ci.lower"]), float(d["rmsea.ci.upper"]))
        used.update({"rmsea", "rmsea.ci.lower", "rmsea.ci.upper"})
    # parallel arrays: estimate (or rate) with lower and upper, one entry per position
    est_key = "estimate" if isinstance(d.get("estimate"), list) else "rate" if isinstance(d.get("rate"), list) else None
    if est_key and isinstance(d.get("lower"), list) and isinstance(d.get("upper"), list):
        for i, (v, lo, hi) in enumerate(zip(d[est_key], d["lower"], d["upper"])):
            if _num(v):
                yield path + (f"{est_key}[{i}]",), Entry(float(v), float(lo) if _num(lo) else None,
                                                         float(hi) if _num(hi) else None)
        used.update({est_key, "lower", "upper"})
    for key, v in d.items():
        key = str(key)
        if key in used or key in SKIP_KEYS:
            continue
        if isinstance(v, Mapping):
            yield from _walk(v, path + (key,))
        elif isinstance(v, list):
            if v and all(isinstance(x, Mapping) for x in v):
                for i, x in enumerate(v):
                    name = x.get("name") or x.get("label") or x.get("base_rate")
                    yield from _walk(x, path + (f"{key}[{name if name is not None else i}]",))
        elif _num(v) and key not in SKIP_LEAVES:
            yield path + (key,), Entry(float(v), is_count=_is_count(path + (key,), v))


def flatten(doc: Mapping) -> dict[str, Entry]:
    """Named values of one metrics file: ``"a / b / c"`` paths to :class:`Entry`."""
    return {" / ".join(p): e for p, e in _walk(doc, ())}


def _moved(a: float, b: float, tol: float) -> bool:
    return abs(a - b) > tol * max(1.0, abs(a), abs(b))


def compare(current: Mapping[str, Mapping], baseline: Mapping[str, Mapping | None], tol: float = 1e-9) -> list[Change]:
    """Every value that moved, appeared or disappeared between ``baseline`` and ``current``."""
    out: list[Change] = []
    for stage, doc in current.items():
        base = baseline.get(stage)
        if not isinstance(base, Mapping) or not isinstance(doc, Mapping):
            continue
        new, old = flatten(doc), flatten(base)
        for path, e in new.items():
            o = old.get(path)
            if o is None:
                out.append(Change(stage, path, None, e, "added"))
                continue
            if not _moved(o.value, e.value, tol):
                continue
            if None in (o.lower, o.upper, e.lower, e.upper):
                status = "no interval"
            else:
                status = "beyond" if (o.upper < e.lower or e.upper < o.lower) else "within"
            out.append(Change(stage, path, o, e, status))
        for path, o in old.items():
            if path not in new:
                out.append(Change(stage, path, o, None, "removed"))
    return out


def _diff_dicts(a: Any, b: Any, prefix: str = "") -> list[tuple[str, Any, Any]]:
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        out = []
        for key in list(a) + [k for k in b if k not in a]:
            out += _diff_dicts(a.get(key), b.get(key), f"{prefix}{key}.")
        return out
    if a != b:
        return [(prefix.rstrip("."), a, b)]
    return []


def _code(prov: Mapping) -> str | None:
    """The code a stage ran, as "version, SHA-256 prefix" (None for metrics recorded without it)."""
    code = prov.get("code")
    if not isinstance(code, Mapping):
        return None
    return f"{code.get('version')}, {str(code.get('sha256'))[:12]}"


def input_changes(current: Mapping[str, Mapping], baseline: Mapping[str, Mapping | None]) -> list[tuple[str, str, Any, Any]]:
    """Provenance that changed: commit, code flag, data hash, parameters, package versions."""
    out = []
    for stage, doc in current.items():
        base = baseline.get(stage)
        pn, po = (doc or {}).get("provenance"), (base or {}).get("provenance") if isinstance(base, Mapping) else None
        if not isinstance(pn, Mapping) or not isinstance(po, Mapping):
            continue
        for key, old, new in (("code", _code(po), _code(pn)), ("data_md5", po.get("data_md5"), pn.get("data_md5"))):
            if old != new:
                out.append((stage, key, old, new))
        for path, a, b in _diff_dicts(po.get("params") or {}, pn.get("params") or {}):
            out.append((stage, f"params.{path}", a, b))
        for path, a, b in _diff_dicts(po.get("packages") or {}, pn.get("packages") or {}):
            out.append((stage, f"packages.{path}", a, b))
    return out


# ---------------------------------------------------------------------------------------------
# rendering


def _val(e: Entry | None, k: int, hide: bool) -> str:
    if e is None:
        return H.DASH
    if hide:
        return f"<{k}" if 0 < e.value < k else "*"
    if e.is_count:
        return H.count(int(e.value), k)
    v = H.num(e.value) if not float(e.value).is_integer() or e.lower is not None else H.num(int(e.value))
    if e.lower is not None and e.upper is not None:
        v += f" [{H.num(e.lower)}, {H.num(e.upper)}]"
    return v


def _hidden(c: Change, k: int) -> bool:
    """A count change where either side is below k: both sides and the change are suppressed."""
    ents = [e for e in (c.old, c.new) if e is not None]
    return any(e.is_count for e in ents) and any(0 < e.value < k for e in ents)


def _delta(c: Change, k: int) -> str:
    d = c.delta
    if d is None:
        return H.DASH
    if _hidden(c, k):
        return "*"
    if c.new is not None and c.new.is_count:
        return f"{int(d):+,}"
    return f"{d:+.3f}" if abs(d) >= 5e-4 or d == 0 else f"{d:+.1e}"


STATUS = {"beyond": "beyond sampling error", "within": "within sampling error", "no interval": "no interval",
          "added": "new", "removed": "gone"}


def changes_section(current: Mapping[str, Mapping], baseline: Mapping | None, k: int,
                    tol: float) -> tuple[V.Section, V.Line]:
    """The "changes since" section and the one-line digest for the executive summary."""
    title = V.Heading(2, V.line("Changes since the baseline"))
    if not baseline:
        return V.section("changes", title, V.Para(V.line("No baseline was given, so no change is listed."))), ()
    where = V.code(baseline.get("revision") or "?")
    docs = baseline.get("metrics") or {}
    present = {s: d for s, d in docs.items() if isinstance(d, Mapping)}
    if not present or baseline.get("note"):
        note = baseline.get("note") or "the metrics are absent at that revision"
        return (V.section("changes", title, V.Para(V.line(f"No baseline: {note}. Baseline revision ", where,
                                                          ". Nothing to compare."))),
                V.line("No baseline to compare with (", V.link("why", "changes"), ")."))
    missing = [s for s in current if s not in present]
    changes = compare(current, present, tol)
    compared = sum(len(flatten(current[s])) for s in present if isinstance(current.get(s), Mapping))
    n = {s: sum(c.status == s for c in changes) for s in STATUS}
    moved = n["beyond"] + n["within"] + n["no interval"]
    out: list[V.Block] = [title, V.Para(V.line(
        "Baseline ", where, f". Of {compared:,} values compared, ", V.b(f"{moved:,} moved"), ": ",
        V.b(f"{n['beyond']:,} beyond sampling error"), f", {n['within']:,} within it, {n['no interval']:,} without an "
        f"interval to judge; {n['added']:,} new and {n['removed']:,} gone.")),
        V.Para(V.line(
            "Rule: a move is ", V.b("beyond sampling error"), " when the baseline and current intervals do not "
            "overlap (baseline upper bound below the current lower bound, or the reverse); this is conservative "
            "(about p < 0.01 for independent estimates with similar standard errors; Schenker & Gentleman 2001), "
            "and overlapping intervals do not show that nothing changed. Estimates from the same data are not "
            f"independent, so read the rule as a screen. Moves smaller than {tol:g} (relative) count as rounding. "
            "Item-level detail, curves and raw tables are not compared; their headline estimates are. Counts of "
            f"fewer than {k} cases are suppressed, with the change. The baseline is resolved when the report is "
            "built: a report committed together with its metrics compares with the commit before."), "muted")]
    if missing:
        out.append(V.Para(V.line(f"Not in the baseline: {', '.join(missing)}.")))
    inputs = input_changes(current, present)
    if inputs:
        out += [V.Heading(3, V.line("Inputs that changed")),
                V.table(["stage", "what", "baseline", "current"], [[s, key, str(a), str(b)] for s, key, a, b in inputs],
                        left=2)]
    est_rows = sorted((c for c in changes if c.status in ("beyond", "within")),
                      key=lambda c: (c.status != "beyond", -abs(c.delta or 0), c.stage, c.path))
    if est_rows:
        out += [V.Heading(3, V.line("Estimates with intervals that moved")), V.table(
            ["stage", "metric", "baseline [CI]", "current [CI]", "change", "judgement"],
            [[c.stage, c.path, _val(c.old, k, False), _val(c.new, k, False), _delta(c, k),
              V.badge(STATUS[c.status]) if c.status == "beyond" else STATUS[c.status]] for c in est_rows],
            left=2, also_left=(-1,))]
    other = sorted((c for c in changes if c.status not in ("beyond", "within")),
                   key=lambda c: (c.status, c.stage, c.path))
    if other:
        out += [V.Heading(3, V.line("Other values that moved, appeared or disappeared")), V.table(
            ["stage", "metric", "baseline", "current", "change", ""],
            [[c.stage, c.path, _val(c.old, k, _hidden(c, k)), _val(c.new, k, _hidden(c, k)), _delta(c, k),
              STATUS[c.status]] for c in other], left=2, also_left=(-1,))]
    if not changes and not inputs:
        out.append(V.Para(V.line("Nothing moved.")))
    digest = V.line("Since baseline ", where, f": {moved:,} values moved, ",
                    V.b(f"{n['beyond']:,} beyond sampling error"), " (", V.link("changes", "changes"), ").")
    return V.section("changes", out), digest
