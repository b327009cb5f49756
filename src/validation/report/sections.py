"""The report's sections (data, reliability, factor structure and invariance, agreement, predictive
validity, version): tables, figures and a one-line method statement each, from the metrics alone."""

from __future__ import annotations

import dataclasses
import json
import math
import re
from typing import Any, Mapping

from validation.report import html as H
from validation.report import view as V
from validation.report import verdicts as VD
from validation.report.rules import auc_band
from validation.report.summary import configural_fit, g, judged_fit

Figs = Mapping[str, str]


def cap(text: Any) -> str:
    """Text with its first letter capitalised (a sentence taken from the metrics)."""
    t = str(text or "")
    return t[:1].upper() + t[1:]


def slug(text: Any) -> str:
    return re.sub(r"[^a-z0-9]+", "-", str(text).lower()).strip("-") or "x"


class FigureCounter:
    """Gives each inline figure a unique id prefix."""

    def __init__(self) -> None:
        self.n = 0

    def __call__(self, figs: Figs, name: str, caption: str) -> V.Figure | None:
        if not figs.get(name):
            return None
        self.n += 1
        fid = f"fig{self.n}"
        return V.Figure(H.svg_clean(figs[name], fid), caption, fid)


def software(prov: Mapping | None) -> str:
    pk = g(prov, "packages") or {}
    if not pk:
        return "software: not recorded"
    main = f"validation {g(prov, 'code', 'version') or '(version not recorded)'}"
    rest = ", ".join(f"{name} {pk[name]}" for name in ("numpy", "scipy", "pandas", "matplotlib")
                     if name in pk)
    return f"software: {main} on Python {pk.get('python', '?')} ({rest})"


def method_line(text: V.Line, prov: Mapping | None) -> V.Para:
    """The one-line method statement of a section: estimators, intervals, software."""
    first = text[0] if text else V.Run()
    text = (dataclasses.replace(first, text=first.text[:1].upper() + first.text[1:]),) + tuple(text[1:])
    return V.Para(V.line(V.b("Method."), " ", text, f"; {software(prov)}."), "method")


def method_details(m: Mapping | None) -> V.Bullets | None:
    if not isinstance(m, Mapping) or not m:
        return None
    return V.Bullets(tuple(V.line(V.b(k), f": {v}") for k, v in m.items() if not isinstance(v, (dict, list))),
                     "method")


def _cell(d: Any, key: str, thr: Mapping | None = None, *, kind: str | None = None, n: Any = None,
          k: Any = None, events: Any = None) -> V.Line:
    """Estimate [CI] of a result dict, its verdict badge when a threshold is given (the one rule,
    :func:`validation.report.verdicts.judge_estimate`; ``kind`` defaults to ``key``), or why not."""
    if not isinstance(d, Mapping):
        return V.line(H.DASH)
    if "not_estimable" in d:
        return V.line(V.ne(d["not_estimable"]))
    if not H.is_num(d.get(key)):
        return V.line(H.DASH)
    s = V.line(H.est(d[key], d.get("ci")))
    if thr is not None:
        v = VD.judge_estimate(kind or key, d[key], g(d, "ci", "lower"), g(d, "ci", "upper"), thr,
                              level=g(d, "ci", "level"), n=n if n is not None else d.get("n"), k=k, events=events)
        s += V.line(" ", V.badge(v.outcome))
    return s


# ---------------------------------------------------------------------------------------------
# data


def _margin_table(title: str, cells: Mapping[str, Any], total: Any, k: int) -> list[list[str]]:
    if "withheld" in cells:
        return [[title, "withheld", "", ""]]
    shown = H.counts_with_total(cells, k)
    rows = []
    for cat, n in cells.items():
        hidden = shown[cat] in ("*",) or H.suppressed(n, k)
        share = "" if hidden or not H.is_num(total) or not total else H.pct(n / total)
        rows.append([title, cat, shown[cat], share])
    return rows


def _who_rated(vr: Mapping) -> str:
    """The rater count in words, the same everywhere: raters who rate independently (the agreement
    study's raters) and consensus teams."""
    ind, teams = vr.get("n_raters_independent"), vr.get("n_consensus_teams")
    if not H.is_num(ind) or not H.is_num(teams):
        return f"{H.num(vr.get('n_raters'))} raters"
    text = f"{H.num(ind)} raters rating independently"
    if teams:
        text += (f" and {H.num(teams)} consensus team{'s' if teams != 1 else ''} (keys that sign only the agreed "
                 "rating of a double-rated case; that form is the case's rating for scoring and prediction and is "
                 "left out of inter-rater agreement)")
    return text


def data_section(dq: Mapping, k: int) -> V.Section:
    title = V.Heading(2, V.line("Data"))
    if not dq:
        return V.section("data", title, V.Para(V.line("The data-quality summary is missing.")))
    out: list[V.Block] = [title]
    prov = dq.get("provenance") or {}
    src = g(prov, "params", "validate", "input_dir") or "?"
    out.append(method_line(V.line("counts from the validate stage's data-quality summary of the input folder ",
                                  V.code(src), f" (contract checks passed); counts of fewer than {k} cases "
                                  "suppressed, with a complementary cell where a total would reveal them"), prov))
    ins = dq.get("instruments") or {}
    if ins:
        rows = [[key, v.get("name", ""), v.get("version", ""), "placeholder key" if v.get("placeholder") else ""]
                for key, v in ins.items() if isinstance(v, Mapping)]
        out += [V.Heading(3, V.line("Instruments")), V.table(["", "name", "version", ""], rows, left=4)]
    cases, vr, sq = dq.get("cases") or {}, dq.get("vera_ratings") or {}, dq.get("sq_responses") or {}
    sites = cases.get("by_site") or {}
    if sites:
        c_cases = H.counts_with_total(sites, k)
        sq_sites = sq.get("by_site") or {}
        c_sq = H.counts_with_total(sq_sites, k) if sq_sites else {}
        rows = [[s, c_cases.get(s, H.DASH), c_sq.get(s, H.DASH)] for s in sites if s != "withheld"]
        if "withheld" in sites:
            rows.insert(0, [V.muted(f"by site: withheld (too few cases to hide counts of fewer than {k})"), "", ""])
        rows.append([V.b("all"), H.count(cases.get("n"), k), H.count(sq.get("n"), k)])
        out += [V.Heading(3, V.line("Sites"), "data-sites"),
                V.table(["site", "cases", "SQ administrations"], rows)]
    chars = []
    for key, title_ in (("by_sex", "sex"), ("by_age_band", "age band"), ("by_ideology", "ideology")):
        if cases.get(key):
            chars += _margin_table(title_, cases[key], cases.get("n"), k)
    if chars:
        out += [V.Heading(3, V.line("Participants"), "data-participants"),
                V.table(["characteristic", "category", "cases", "share"], chars, left=2),
                V.Para(V.line("(blank): not recorded. * suppressed so that a suppressed cell cannot be "
                              "recovered from the total."), "muted")]
    if vr:
        occ = "; ".join([", ".join(f"occasion {o}: {H.count(n, k)}" for o, n in (vr.get("by_occasion") or {}).items()),
                         ", ".join(f"{r}: {H.count(n, k)}" for r, n in (vr.get("by_role") or {}).items())])
        d = dq.get("rating_design") or {}
        per_rater = ""
        if H.is_num(d.get("ratings_per_rater_min")):
            per_rater = (f" Independent forms on occasion 1 per rater: {H.num(d['ratings_per_rater_min'])} to "
                         f"{H.num(d['ratings_per_rater_max'])} (median {H.num(d.get('ratings_per_rater_median'), 1)}).")
        sq_occ = ", ".join(f"occasion {o}: {H.count(n, k)}" for o, n in (sq.get("by_occasion") or {}).items())
        sq_lang = ", ".join(f"{x}: {H.count(n, k)}" for x, n in (sq.get("by_language") or {}).items())
        out += [V.Heading(3, V.line("Raters and occasions"), "data-raters"),
                V.Para(V.line(f"VERA: {H.count(vr.get('n_forms'), k)} rating forms of {H.count(vr.get('n_cases'), k)} "
                              f"cases by {_who_rated(vr)} ({occ}).{per_rater}")),
                V.Para(V.line(f"SQ: {H.count(sq.get('n'), k)} administrations to {H.count(sq.get('n_cases'), k)} "
                              f"cases ({sq_occ}; languages {sq_lang})."))]
    d = dq.get("rating_design")
    if isinstance(d, Mapping) and d:
        block = ("" if "crossed block" in str(d.get("explanation", "")) else
                 f"; largest fully crossed block: {H.count(d.get('block_n_targets'), k)} cases x "
                 f"{H.num(d.get('block_n_raters'))} raters")
        out += [V.Heading(3, V.line("Design of the rating study"), "data-design"),
                V.Para(V.line(V.b(cap(d.get("design", ""))), f" ({d.get('selection', '')}). ",
                              f"{cap(d.get('explanation', ''))} {H.count(d.get('n_ratings'), k)} ratings of "
                              f"{H.count(d.get('n_targets'), k)} cases by {H.num(d.get('n_raters'))} raters; "
                              f"{H.count(d.get('n_targets_multi_rated'), k)} cases rated more than once "
                              f"({H.num(d.get('ratings_per_target_min'))} to "
                              f"{H.num(d.get('ratings_per_target_max'))} ratings a case){block}."))]
    nr = vr.get("not_rated") or {}
    miss = sq.get("missing") or {}
    if nr or miss:
        out.append(V.Heading(3, V.line("Missingness"), "data-missing"))
    if nr:
        ov = nr.get("overall") or {}
        flagged = set(nr.get("flagged") or [])
        rates = {**(nr.get("indicators") or {}), **(nr.get("additional") or {})}
        listing = V.join(V.b(f"{i} {H.pct(r)}") if i in flagged else f"{i} {H.pct(r)}" for i, r in rates.items())
        out.append(V.Para(V.line(
            f"VERA forms with an indicator not rated: risk indicators {H.pct(ov.get('indicators'))}, "
            f"additional indicators {H.pct(ov.get('additional'))}, summary judgement "
            f"{H.pct(ov.get('summary'))} of cells. By indicator (bold: above "
            f"{H.pct(nr.get('threshold'), 0)}): ", listing, ".")))
    if miss:
        flagged = miss.get("flagged") or []
        items = miss.get("items") or {}
        high = sorted(items.items(), key=lambda kv: -kv[1] if H.is_num(kv[1]) else 0)[:5]
        above = (V.line(f"above {H.pct(miss.get('threshold'), 0)}: ",
                        V.join(V.b(f"{i} {H.pct(items.get(i))}") for i in flagged)) if flagged else
                 V.line(f"no item above {H.pct(miss.get('threshold'), 0)}"))
        out.append(V.Para(V.line(f"SQ items unanswered: {H.pct(miss.get('overall'))} of cells; ", above,
                                 "; highest: " + ", ".join(f"{i} {H.pct(r)}" for i, r in high) + ".")))
    outc = g(dq, "outcomes", "by_outcome") or {}
    if outc:
        rows = []
        for name, o in outc.items():
            fu = o.get("follow_up_years") or {}
            hide = H.suppressed(o.get("events"), k)
            rows.append([name, H.count(o.get("n"), k), H.count(o.get("events"), k),
                         H.DASH if hide else H.num(o.get("base_rate")),
                         f"{H.num(fu.get('median'), 1)} ({H.num(fu.get('min'), 1)} to {H.num(fu.get('max'), 1)})"])
        out += [V.Heading(3, V.line("Follow-up and base rates"), "data-outcomes"),
                V.table(["outcome", "cases", "events", "base rate", "follow-up, years: median (range)"], rows)]
    return V.section("data", out)


# ---------------------------------------------------------------------------------------------
# reliability


def _n_used(d: Any, n_row: Any, k: int) -> V.Line:
    """How an estimate handled missing answers, with the cases it rests on when fewer than the row's n."""
    if not isinstance(d, Mapping) or "not_estimable" in d:
        return ()
    how = str(d.get("missing", "")).split(":")[0]
    n = d.get("n")
    parts = ([f"n = {H.count(n, k)}"] if H.is_num(n) and n != n_row else []) + ([how] if how else [])
    return V.line(V.BR, V.muted(", ".join(parts))) if parts else ()


def _group_table(blocks: Mapping, grouping: str, k: int) -> V.Table | None:
    groups: list[str] = []
    for b in blocks.values():
        for gname in (g(b, grouping) or {}):
            if gname not in groups:
                groups.append(gname)
    if not groups:
        return None
    rows = []
    for code, b in blocks.items():
        row = [V.line(code)]
        for gname in groups:
            e = g(b, grouping, gname) or {}
            a = e.get("alpha") if isinstance(e, Mapping) else None
            if isinstance(e, Mapping) and "not_estimable" in e:
                row.append(V.line(V.ne(e["not_estimable"])))
            elif isinstance(a, Mapping) and "not_estimable" not in a:
                row.append(V.line(H.est(a.get("alpha"), a.get("ci")), " ", V.muted(f"n={H.count(e.get('n'), k)}")))
            elif isinstance(a, Mapping):
                row.append(V.line(V.ne(a["not_estimable"])))
            else:
                row.append(V.line(H.DASH))
        rows.append(row)
    return V.table(["", *groups], rows)


def reliability_section(m: Mapping, figs: Figs, t: Mapping, fig: FigureCounter, k: int) -> V.Section:
    title = V.Heading(2, V.line("Reliability"))
    if not m:
        return V.section("reliability", title, V.Para(V.line("The reliability metrics are missing.")))
    out: list[Any] = [title]
    meth = m.get("method") or {}
    out.append(method_line(V.line(
        "Cronbach's alpha with " + str(g(m, "provenance", "params", "reliability", "ci_method") or "its")
        + " interval and McDonald's omega total (one-factor ML) with "
        + ("delta-method interval, every case by full-information ML; "
           if g(m, "provenance", "params", "reliability", "omega_missing") == "ml" else
           "bootstrap percentile interval of the complete cases; ")
        + "ordinal alpha and omega on polychoric correlations for the 3-point VERA indicators; categorical omega "
        "(Green & Yang 2009) of the summed category scores from a one-factor WLSMV model; the key figures show "
        "omega total of the linear one-factor model; "
        f"cut-off {t['alpha'].get('min', '')} ({t['alpha'].get('source', '')})"), m.get("provenance")))
    out.append(method_details(meth))
    doms = g(m, "vera", "domains") or {}
    rows = []
    for code, b in doms.items():
        ov, od = b.get("overall") or {}, b.get("ordinal") or {}
        rows.append([code, b.get("label", ""), H.num(b.get("k")), H.count(ov.get("n"), k),
                     _cell(ov.get("alpha"), "alpha", t["alpha"], k=b.get("k")) + _n_used(ov.get("alpha"), ov.get("n"), k),
                     _cell(ov.get("omega"), "omega", t["omega"]) + _n_used(ov.get("omega"), ov.get("n"), k),
                     _cell(od.get("alpha"), "alpha") + _n_used(od.get("alpha"), ov.get("n"), k),
                     _cell(od.get("omega"), "omega") + _n_used(od.get("omega"), ov.get("n"), k),
                     _cell(od.get("categorical_omega"), "omega")])
    if rows:
        out += [V.Heading(3, V.line(f"{g(m, 'vera', 'instrument') or 'VERA'} domains")),
                V.table(["code", "name", "items", "n", "alpha [CI]", "omega [CI]", "ordinal alpha [CI]",
                         "ordinal omega [CI]", "categorical omega [CI]"], rows, 2)]
        tab = _group_table(doms, "by_site", k)
        if tab:
            out += [V.Heading(4, V.line("Alpha by site")), tab]
    scales = g(m, "sq", "scales") or {}
    rows = []
    for code, b in scales.items():
        ov = b.get("overall") or {}
        rows.append([code, b.get("label", ""), H.num(b.get("k")), H.count(ov.get("n"), k),
                     _cell(ov.get("alpha"), "alpha", t["alpha"], k=b.get("k")) + _n_used(ov.get("alpha"), ov.get("n"), k),
                     _cell(ov.get("omega"), "omega", t["omega"]) + _n_used(ov.get("omega"), ov.get("n"), k),
                     _cell(b.get("categorical_omega"), "omega")])
    if rows:
        out += [V.Heading(3, V.line(f"{g(m, 'sq', 'instrument') or 'SQ'} scales")),
                V.table(["code", "name", "items", "n", "alpha [CI]", "omega [CI]", "categorical omega [CI]"], rows, 2)]
        for grouping, what in (("by_site", "site"), ("by_language", "language")):
            tab = _group_table(scales, grouping, k)
            if tab:
                out += [V.Heading(4, V.line(f"Alpha by {what}")), tab]
    oh = g(m, "sq", "omega_hierarchical")
    if isinstance(oh, Mapping):
        if "not_estimable" in oh:
            out.append(V.Para(V.line("Omega hierarchical of all SQ items: ", V.ne(oh["not_estimable"]))))
        else:
            out.append(V.Para(V.line(
                f"All SQ items (n = {H.count(g(m, 'sq', 'n_cases'), k)}): omega hierarchical "
                f"{H.num(oh.get('omega_h'))}, omega total {H.num(oh.get('omega_total'))}, explained common "
                f"variance of the general factor {H.num(oh.get('ecv'))} (no interval).")))
    for name in sorted(figs):
        if name.startswith("reliability/item_total_"):
            what = name.split("item_total_", 1)[1].rsplit(".", 1)[0].replace("_", " ")
            out.append(fig(figs, name, f"Corrected item-total (item-rest) correlations, {what}; the dashed line "
                                       "marks 0.30 (Nunnally & Bernstein 1994), items below it in red"))
    return V.section("reliability", out)


# ---------------------------------------------------------------------------------------------
# structure


def _fit_row(name: str, fit: Mapping, t: Mapping | None = None) -> list[V.Line]:
    fit = fit or {}
    ci = {"lower": fit.get("rmsea.ci.lower"), "upper": fit.get("rmsea.ci.upper")}

    def with_badge(key: str, text: str, lo: Any = None, hi: Any = None) -> V.Line:
        if t is None or not H.is_num(fit.get(key)):
            return V.line(text)
        return V.line(text, " ", V.badge(VD.judge_estimate(key, fit[key], lo, hi, t[key], level=0.90).outcome))

    return [V.line(name), V.line(H.num(fit.get("chisq"), 1)), V.line(H.num(fit.get("df"), 0)),
            V.line(H.pval(fit.get("pvalue"))), with_badge("cfi", H.num(fit.get("cfi"))),
            with_badge("tli", H.num(fit.get("tli"))),
            with_badge("rmsea", H.num(fit.get("rmsea")) + H.ci(ci), ci["lower"], ci["upper"]),
            with_badge("srmr", H.num(fit.get("srmr")))]


FIT_HEADER = ["model", "chi-square", "df", "p", "CFI", "TLI", "RMSEA [90% CI]", "SRMR"]


def _groups_line(lead: str, counts: Mapping, k: int) -> V.Para:
    return V.Para(V.line(lead + ", ".join(f"{gname} (n = {H.count(n, k)})" for gname, n in counts.items()) + "."))


def structure_section(m: Mapping, figs: Figs, p: Mapping, fig: FigureCounter, k: int) -> V.Section:
    title = V.Heading(2, V.line("Factor structure and invariance"))
    if not m:
        return V.section("structure", title, V.Para(V.line("The structure metrics are missing.")))
    out: list[Any] = [title]
    t = p["thresholds"]
    s = m.get("sq") or {}
    meth = m.get("method") or {}
    out.append(method_line(V.line(
        f"{meth.get('efa', 'EFA')}; parallel analysis (Horn 1965); "
        f"{meth.get('cfa', 'maximum likelihood CFA')}, RMSEA with 90% interval; fit cut-offs "
        f"{t['cfi'].get('source', '')}; invariance by {p['invariance']['source']}"), m.get("provenance")))
    out.append(method_details(meth))
    pa = s.get("parallel_analysis")
    bart = s.get("bartlett") or {}
    rows = [["cases, items", f"{H.count(s.get('n'), k)}, {H.num(s.get('k'))}"],
            ["KMO (overall)", _cell(s.get("kmo"), "overall")],
            ["Bartlett's test", V.ne(bart["not_estimable"]) if "not_estimable" in bart else
             f"chi-square {H.num(bart.get('chisq'), 1)}, df {H.num(bart.get('df'))}, p {H.pval(bart.get('p'))}"],
            ["factors suggested by parallel analysis", _cell(pa, "n_factors")],
            ["factors hypothesised", H.num(s.get("hypothesised_factors"))]]
    out += [V.Heading(3, V.line("Factorability and number of factors")), V.table(["", ""], rows)]
    out.append(fig(figs, "structure/scree_sq.svg", "Scree plot of the SQ items with the parallel-analysis curve"))
    efa = s.get("efa")
    if isinstance(efa, Mapping):
        if "not_estimable" in efa:
            out.append(V.Para(V.line("EFA: ", V.ne(efa["not_estimable"]))))
        elif efa.get("items_loading_off_scale") is not None:
            off = efa["items_loading_off_scale"]
            out.append(V.Para(V.line(f"EFA: {len(off)} item(s) load most on a factor other than their hypothesised "
                                     "scale" + (": " + ", ".join(off) if off else "") + ".")))
    out.append(fig(figs, "structure/efa_loadings_sq.svg", "EFA loadings of the SQ items (hypothesised scale in brackets)"))
    c = s.get("cfa")
    out.append(V.Heading(3, V.line("Confirmatory factor analysis of the hypothesised structure"), "cfa"))
    if not isinstance(c, Mapping):
        out.append(V.Para(V.line("Not run.")))
    elif "not_estimable" in c:
        out.append(V.Para(V.line(V.ne(c["not_estimable"]))))
    else:
        out.append(V.table(FIT_HEADER, [_fit_row(f"hypothesised, n = {H.count(c.get('n'), k)}", c.get("fit"), t)]))
        out.append(V.Para(V.line(
            f"{c.get('missing', '')}. Cut-offs: CFI and TLI {t['cfi'].get('min', '')}, RMSEA "
            f"{t['rmsea'].get('max', '')}, SRMR {t['srmr'].get('max', '')} ({t['cfi'].get('source', '')})."), "muted"))
        lo = c.get("std_loadings") or []
        by_f: dict[str, list[float]] = {}
        for q in lo:
            if H.is_num(q.get("std")):
                by_f.setdefault(str(q.get("factor")), []).append(q["std"])
        if by_f:
            out.append(V.table(["factor", "items", "standardised loadings: min", "median", "max"],
                               [[f, H.num(len(v)), H.num(min(v)), H.num(sorted(v)[len(v) // 2]), H.num(max(v))]
                                for f, v in by_f.items()]))
        mi = c.get("modification_indices") or []
        if mi:
            out += [V.Heading(4, V.line("Largest modification indices")), V.table(
                ["parameter", "MI", "standardised EPC"],
                [[f"{q.get('lhs')} {q.get('op')} {q.get('rhs')}", H.num(q.get("mi"), 1), H.num(q.get("sepc_all"))]
                 for q in mi[:10]])]
        for w in c.get("warnings") or []:
            out.append(V.Para(V.line(w), "warn"))
    out.append(V.Heading(3, V.line("Measurement invariance"), "invariance"))
    invs = s.get("invariance") or {}
    if not invs:
        out.append(V.Para(V.line("Not run.")))
    for grouping, inv in invs.items():
        out.append(V.Heading(4, V.line(f"Across {grouping}s"), f"invariance-{slug(grouping)}"))
        dropped = (inv or {}).get("groups_dropped") or {}
        min_n = g(m, "provenance", "params", "structure", "min_group_n")
        if dropped:
            need = "" if not H.is_num(min_n) else (
                f" Each needs at least {min_n} cases (structure.min_group_n) to be tested: "
                + ", ".join(f"{gname} {int(min_n) - int(n)} more" if H.is_num(n) else f"{gname} more"
                            for gname, n in dropped.items()) + ".")
            out.append(V.Para(V.line("Left out (too few cases): "
                                     + ", ".join(f"{gname} (n = {H.count(n, k)})" for gname, n in dropped.items())
                                     + "." + need)))
        if not isinstance(inv, Mapping) or "not_estimable" in inv:
            out.append(V.Para(V.line(V.ne((inv or {}).get("not_estimable", "missing from the metrics")))))
            continue
        nobs = inv.get("nobs") or {}
        if nobs:
            out.append(_groups_line("Groups: ", nobs, k))
        rows = []
        for st in inv.get("steps") or []:
            row = _fit_row(st.get("name", ""), st.get("fit") or {})
            row += [H.num(st.get("delta_cfi"), sci=False), H.num(st.get("delta_rmsea"), sci=False),
                    H.DASH if st.get("holds") is None else ("holds" if st.get("holds") else "fails")]
            rows.append(row)
        out.append(V.table(FIT_HEADER + ["\u0394CFI", "\u0394RMSEA", "step"], rows))
        freed = ", ".join(inv.get("freed_intercepts") or []) or "none"
        misses = VD.fit_misses(configural_fit(inv), {key: t[key] for key in ("cfi", "tli", "rmsea", "srmr")})
        if misses:
            out.append(V.Para(V.line(V.b("No invariance step is reached: "), _misfit_text(m, inv, misses, k)), "warn"))
        else:
            out.append(V.Para(V.line("Level reached: ", V.b(inv.get("level")), f"; intercepts freed: {freed}. "
                                     f"Criteria: {_criteria_text(inv.get('criteria'))} (Chen 2007).")))
    out += _ordinal_blocks(m, p, k)
    return V.section("structure", out)


def _ordinal_blocks(m: Mapping, p: Mapping, k: int) -> list:
    """The ordinal (WLSMV) models: the SQ model beside its ML fit, the VERA-2R five-domain model, and the
    VERA-2R invariance sequence across sites."""
    t = p["thresholds"]
    sq_ord = g(m, "sq", "ordinal", "cfa")
    vera = g(m, "vera") or {}
    if not isinstance(sq_ord, Mapping) and not vera:
        return []
    out: list[Any] = [V.Heading(3, V.line("Ordinal models (WLSMV)"), "ordinal")]
    rows = []
    ml = g(m, "sq", "cfa")
    if isinstance(ml, Mapping) and "fit" in ml:
        rows.append(_fit_row(f"SQ, ML (continuous), n = {H.count(ml.get('n'), k)}", ml.get("fit"), t))
    for name, c in (("SQ", sq_ord), (str(vera.get("instrument") or "VERA-2R") + " five domains", vera.get("cfa"))):
        if not isinstance(c, Mapping):
            continue
        if "not_estimable" in c:
            rows.append([V.line(f"{name}, WLSMV"), V.line(V.ne(c["not_estimable"])), "", "", "", "", "", ""])
        else:
            rows.append(_fit_row(f"{name}, WLSMV (ordinal), n = {H.count(c.get('n'), k)}",
                                 judged_fit(c.get("fit"), "WLSMV"), t))
    out.append(V.table(FIT_HEADER, rows))
    robust = []
    for name, c in (("SQ", sq_ord), ("VERA-2R", vera.get("cfa"))):
        fit = (c or {}).get("fit") if isinstance(c, Mapping) else None
        if isinstance(fit, Mapping) and H.is_num(fit.get("cfi.robust")):
            robust.append(f"{name} CFI {H.num(fit['cfi.robust'])}, RMSEA {H.num(fit.get('rmsea.robust'))}")
    out.append(V.Para(V.line(
        "WLSMV treats each answer as a category of a latent normal response: thresholds and polychoric "
        "correlations (Muthen 1984), diagonally weighted least squares with robust standard errors, and the "
        "chi-square scaled and shifted (Asparouhov & Muthen 2010), as lavaan's estimator = \"WLSMV\". The table "
        "shows its scaled chi-square, CFI, TLI and RMSEA." + (" Robust indices (Savalei 2021): " + "; ".join(robust)
                                                             + "." if robust else "")), "muted"))
    cmp_ = g(m, "sq", "ordinal", "compared_with_ml")
    if isinstance(cmp_, Mapping) and H.is_num(cmp_.get("mean_loading_difference")):
        out.append(V.Para(V.line(
            f"Treated as ordinal, the SQ's standardised loadings are on average {H.num(cmp_['mean_loading_difference'])} "
            f"{'higher' if cmp_['mean_loading_difference'] >= 0 else 'lower'} than under ML (largest difference "
            f"{H.num(cmp_.get('largest_loading_difference'))}, {H.num(cmp_.get('loadings_compared'))} loadings): ML "
            "on ordinal answers pulls loadings towards zero. CFI "
            f"{H.num(g(cmp_, 'ml', 'cfi'))} (ML) against {H.num(g(cmp_, 'wlsmv', 'cfi'))} (WLSMV, scaled).")))
    for grouping, inv in (vera.get("invariance") or {}).items():
        out.append(V.Heading(4, V.line(f"{vera.get('instrument') or 'VERA-2R'} across {grouping}s (ordinal)"),
                             f"invariance-vera-{slug(grouping)}"))
        dropped = (inv or {}).get("groups_dropped") or {}
        if dropped:
            out.append(V.Para(V.line("Left out (too few cases): "
                                     + ", ".join(f"{gname} (n = {H.count(n, k)})" for gname, n in dropped.items())
                                     + ".")))
        if not isinstance(inv, Mapping) or "not_estimable" in inv:
            out.append(V.Para(V.line(V.ne((inv or {}).get("not_estimable", "missing from the metrics")))))
            continue
        if inv.get("nobs"):
            out.append(_groups_line("Groups: ", inv["nobs"], k))
        rows = []
        for st in inv.get("steps") or []:
            row = _fit_row(st.get("name", ""), judged_fit(st.get("fit"), "WLSMV"))
            row += [H.num(st.get("chisq_diff"), 1) if H.is_num(st.get("chisq_diff")) else H.DASH,
                    H.pval(st.get("pvalue")), H.num(st.get("delta_cfi"), sci=False),
                    H.num(st.get("delta_rmsea"), sci=False),
                    H.DASH if st.get("holds") is None else ("holds" if st.get("holds") else "fails")]
            rows.append(row)
        out.append(V.table(FIT_HEADER + ["\u0394chi-square (scaled)", "p", "\u0394CFI", "\u0394RMSEA", "step"], rows))
        out.append(V.Para(V.line(
            "Level reached: ", V.b(inv.get("level")), ". ", _ordinal_identification_text(inv.get("identification")),
            " Each model is compared with the one before by the scaled and shifted chi-square difference (Satorra "
            f"2000) and the change in the scaled CFI and RMSEA: {_ordinal_criteria_text(inv.get('criteria'))} (Chen "
            "2007). The verdict rests on this ordinal model.")))
        out += _score_test_blocks(inv.get("score_tests"), k)
    return out


def _ordinal_identification_text(identification: Any) -> str:
    """How the ordinal invariance steps are identified, in words."""
    if identification == "wu.estabrook":
        return ("Identification of Wu & Estabrook (2016): with equal thresholds the scales and intercepts of the "
                "latent responses are free in all groups but the first and the factor means stay 0; the last step "
                "holds the intercepts equal and frees the factor means. With three categories equal thresholds are an "
                "equivalent model (0 df), not a test.")
    return ("lavaan's identification: equal thresholds free the scales of the latent responses and the factor means "
            "in all groups but the first, and keep the intercepts at 0.")


def _score_test_blocks(score: Any, k: int) -> list:
    """The score tests that point to the thresholds or loadings to leave free."""
    if not isinstance(score, Mapping) or not score.get("tests"):
        return []
    rows = [[t.get("parameter", ""), str(t.get("group", "")), H.num(t.get("x2"), 1), H.pval(t.get("pvalue"))]
            for t in score["tests"]]
    use = ("the step holds, so none needs to be left free; the largest are shown for the record"
           if score.get("step_holds") else "they point to the parameters to leave free for partial invariance")
    return [V.Para(V.line(f"Score tests of the equality constraints of the step \u201c{score.get('step')}\u201d, "
                          "largest first (releasing one constraint in one group; one df each, as lavaan's "
                          f"lavTestScore): {use}.")),
            V.table(["parameter", "group", "chi-square (1 df)", "p"], rows)]


def _ordinal_criteria_text(c: Any) -> str:
    """The criteria of an ordinal invariance step in words."""
    if not isinstance(c, Mapping):
        return str(c or "")
    parts = []
    if H.is_num(c.get("delta_cfi")):
        parts.append(f"scaled CFI falls by at most {abs(c['delta_cfi']):g}")
    if H.is_num(c.get("delta_rmsea")):
        parts.append(f"scaled RMSEA rises by at most {c['delta_rmsea']:g}")
    if H.is_num(c.get("alpha")):
        parts.append(f"the difference test is not significant at p < {c['alpha']:g}")
    return ", ".join(parts)


def _criteria_text(c: Any) -> str:
    """The invariance criteria in words: ``change in CFI at least -0.01, in RMSEA at most 0.015``."""
    if not isinstance(c, Mapping):
        return str(c or "")
    parts = []
    if H.is_num(c.get("delta_cfi")):
        parts.append(f"change in CFI at least {c['delta_cfi']:g}")
    if H.is_num(c.get("delta_rmsea")):
        parts.append(f"in RMSEA at most {c['delta_rmsea']:g}")
    if H.is_num(c.get("alpha")):
        parts.append(f"intercepts freed one at a time at p < {c['alpha']:g}")
    return ", ".join(parts)


def _misfit_text(m: Mapping, inv: Mapping, misses: list[str], k: int) -> str:
    """Why the configural model misfits while the single-group model fits, and what to try."""
    single = g(m, "sq", "cfa", "fit", "cfi")
    nobs = [n for n in (inv.get("nobs") or {}).values() if H.is_num(n)]
    items = g(m, "sq", "k")
    sizes = f"{H.count(min(nobs), k)} to {H.count(max(nobs), k)} cases a group" if nobs else "the cases of each group"
    return (f"the configural model misses the fit cut-offs ({', '.join(misses)})"
            + (f", although the single-group model fits (CFI {H.num(single)})" if H.is_num(single) else "")
            + f". The configural model estimates every loading, intercept and residual of the {H.num(items)} items "
            f"again in each of {len(nobs)} groups from {sizes}; with so few cases for so many items the maximum-"
            "likelihood chi-square is inflated (Kenny & McCoach 2003; Herzog & Boomsma 2009), which pulls CFI and TLI "
            "down. The level of invariance is therefore not judged. Alternatives: the ordinal (WLSMV) model of the "
            "items; a small-sample correction of the chi-square (Swain 1975; Bartlett 1950; compared by Herzog & "
            "Boomsma 2009); or item parcels, fewer indicators per factor (Little et al. 2002)."
            + _small_sample_text(((inv.get("steps") or [{}])[0]).get("small_sample"), misses))


def _small_sample_text(corrections: Any, misses: list[str]) -> str:
    """What the small-sample corrections of the configural chi-square give, and whether that fits."""
    if not isinstance(corrections, Mapping):
        return ""
    parts = []
    for method, name in (("swain", "Swain's"), ("bartlett", "Bartlett's")):
        c = corrections.get(method)
        if not isinstance(c, Mapping) or "not_estimable" in c or not H.is_num(c.get("cfi")):
            continue
        parts.append(f"with {name} correction (factor {H.num(c.get('factor'))}) CFI {H.num(c['cfi'])}, TLI "
                     f"{H.num(c.get('tli'))}, RMSEA {H.num(c.get('rmsea'))}")
    if not parts:
        return ""
    return (" Corrected here: " + "; ".join(parts) + ". The verdict stays on the uncorrected fit: these corrections "
            "were derived for one group and are offered as a sensitivity check, not a rescue.")


# ---------------------------------------------------------------------------------------------
# agreement


def _icc_cell(f: Any, t: Mapping | None = None, n: Any = None, raters: Any = None) -> V.Line:
    if not isinstance(f, Mapping):
        return V.line(H.DASH)
    s = _cell(f, "icc", t, n=n, k=raters)
    if f.get("band"):
        s += V.line(" ", V.muted(f["band"]))
    return s


def _ne_or(d: Any, fallback: Any = H.DASH) -> V.Line:
    return V.line(V.ne(d["not_estimable"])) if isinstance(d, Mapping) and "not_estimable" in d else V.line(fallback)


def _severity_blocks(m: Mapping, figs: Figs, fig: FigureCounter, k: int) -> list:
    """Rater severity on the risk total: who rates higher or lower than the average rater."""
    reml = g(m, "domain_icc", "risk_total", "reml") or {}
    e = reml.get("rater_effects")
    if not isinstance(e, Mapping):
        return []
    head = V.Heading(3, V.line("Rater severity"), "agreement-severity")
    if "not_estimable" in e:
        return [head, V.Para(V.line("Rater effects on the risk total: ", V.ne(e["not_estimable"])))]
    effects = list(zip(e["raters"], e["effect"], e["ci"], e["n_ratings"]))
    hi = max(effects, key=lambda x: x[1])
    lo = min(effects, key=lambda x: x[1])
    sd_t = math.sqrt(reml["var_targets"]) if H.is_num(reml.get("var_targets")) else None
    text = (f"On the risk total, {e['n_off_zero']} of {len(effects)} raters' effects have an interval that excludes "
            f"0. The most severe, {hi[0]}, rates {H.num(hi[1], 1)} points [{H.num(hi[2]['lower'], 1)}, "
            f"{H.num(hi[2]['upper'], 1)}] above the average rater; the most lenient, {lo[0]}, "
            f"{H.num(-lo[1], 1)} [{H.num(-lo[2]['upper'], 1)}, {H.num(-lo[2]['lower'], 1)}] below"
            + (f", where cases differ by an SD of {H.num(sd_t, 1)} points" if sd_t else "")
            + ". A case's total depends on who rated it: train towards the anchors, or average two raters.")
    rows = [[name, H.count(n, k), H.est(eff, ci, 2)] for name, eff, ci, n in sorted(effects, key=lambda x: -x[1])]
    return [head, V.Para(V.line(text)),
            V.table(["rater", "ratings", "effect on the risk total [CI]"], rows),
            V.Para(V.line("Conditional modes of the rater effects of the REML fit with their conditional SDs "
                          "(as lme4's ranef with condVar); positive: rates higher than the average rater."), "muted"),
            fig(figs, "agreement/rater_severity.svg", "Rater severity on the risk total with intervals")]


def agreement_section(m: Mapping, figs: Figs, p: Mapping, fig: FigureCounter, k: int) -> V.Section:
    title = V.Heading(2, V.line("Inter-rater agreement"))
    if not m:
        return V.section("agreement", title, V.Para(V.line("The agreement metrics are missing.")))
    out: list[Any] = [title]
    t = p["thresholds"]
    meth = m.get("method") or {}
    out.append(method_line(V.line(
        "ICC2 (A,1; two-way random, absolute agreement, single rater) of the domain totals by ANOVA on the fully "
        "crossed block (F-based interval) and by REML on all ratings (parametric-bootstrap interval); weighted "
        "kappa (normal interval), Krippendorff's alpha (unit bootstrap) and Gwet's AC2 (t interval) per indicator; "
        f"bands {g(m, 'bands', 'icc', 'source') or t['icc']['source']} and "
        f"{g(m, 'bands', 'kappa', 'source') or t['kappa']['source']}"), m.get("provenance")))
    out.append(method_details(meth))
    d = m.get("design") or {}
    if d:
        out.append(V.Para(V.line(
            V.b(d.get("design", "")),
            f": {H.count(d.get('n_targets'), k)} cases, {H.num(d.get('n_raters'))} raters, "
            f"{H.count(d.get('n_ratings'), k)} independent rating forms on occasion 1 "
            f"({H.count(d.get('n_consensus_forms_excluded'), k)} consensus forms left out). "
            f"{cap(d.get('explanation', ''))}" + (f" Supports: {d['supports']}." if d.get("supports") else ""))))
    rows = []
    for code, b in (m.get("domain_icc") or {}).items():
        if not isinstance(b, Mapping) or "not_estimable" in b:
            rows.append([code, _ne_or(b or {"not_estimable": "missing from the metrics"}), "", "", "", ""])
            continue
        ba = b.get("bland_altman") or {}
        sem = g(b, "sem_sdc", "reml" if p["icc_source"] == "reml" else "crossed_block") or \
            g(b, "sem_sdc", "crossed_block") or {}
        reml = b.get("reml")
        if isinstance(reml, Mapping) and "not_estimable" not in reml:
            reml_cell = _icc_cell(g(b, "reml", "forms", "ICC2"), t["icc"], g(b, "reml", "n_targets"), 2) + V.line(
                V.BR, V.muted(f"{H.count(g(b, 'reml', 'n_targets'), k)} cases"))
        else:
            reml_cell = _ne_or(reml)
        rows.append([b.get("label", code),
                     _icc_cell(g(b, "forms", "ICC2"), t["icc"], b.get("n_targets"), b.get("n_raters")) + V.line(
                         V.BR, V.muted(f"{H.count(b.get('n_targets'), k)} cases x {H.num(b.get('n_raters'))} raters")),
                     reml_cell,
                     f"{H.num(sem.get('sem'), 2)} / {H.num(sem.get('sdc'), 2)}" if sem else H.DASH,
                     (V.line(H.est(ba.get("bias"), ba.get("bias_ci"), 2), V.BR,
                             f"LoA {H.num(ba.get('lower'), 2)} to {H.num(ba.get('upper'), 2)}")
                      if H.is_num(ba.get("bias")) else _ne_or(ba)),
                     H.count(ba.get("n_pairs", ba.get("n")), k)])
    if rows:
        out += [V.Heading(3, V.line("Domain totals"), "agreement-domains"), V.table(
            ["domain", "ICC2 crossed block [CI]", "ICC2 REML, all ratings [CI]", "SEM / SDC", "Bland-Altman bias [CI]",
             "pairs"], rows),
            V.Para(V.line(f"The key figures use the {'REML' if p['icc_source'] == 'reml' else 'crossed-block'} "
                          "ICC (report parameter icc_source). SEM = SD sqrt(1 - ICC2); SDC = 1.96 sqrt(2) SEM (de Vet "
                          "et al. 2006); LoA: 95% limits of agreement."), "muted")]
    out.append(fig(figs, "agreement/forest_domains.svg", "ICC of the domain totals with intervals and Koo & Li bands"))
    out += _severity_blocks(m, figs, fig, k)
    sr = m.get("summary_risk")
    if isinstance(sr, Mapping):
        out += [V.Heading(3, V.line("Summary risk judgement"), "agreement-summary"), V.table(
            ["", "weighted kappa [CI]", "Krippendorff's alpha [CI]", "Gwet's AC2 [CI]", "pairs", "not rated"],
            [["summary risk (L/M/H)", _cell(sr.get("weighted_kappa"), "kappa", t["kappa"],
                                            n=g(sr, "weighted_kappa", "n_pairs")),
              _cell(sr.get("krippendorff_alpha"), "alpha"), _cell(sr.get("gwet_ac2"), "estimate"),
              H.count(g(sr, "weighted_kappa", "n_pairs"), k), H.count(sr.get("n_not_rated"), k)]])]
    inds = m.get("indicators") or {}
    if inds:
        rows = []
        for code, ind in inds.items():
            wk = ind.get("weighted_kappa") or {}
            rows.append([code, H.count(wk.get("n_pairs", ind.get("n_cases_pairable")), k),
                         _cell(wk, "kappa", t["kappa"], n=wk.get("n_pairs"))
                         + (V.line(" ", V.muted(wk["band"])) if wk.get("band") else ()),
                         _cell(ind.get("krippendorff_alpha"), "alpha"), _cell(ind.get("gwet_ac2"), "estimate"),
                         H.count(ind.get("n_not_rated"), k)])
        out += [V.Heading(3, V.line("Risk indicators"), "agreement-indicators"), V.table(
            ["indicator", "pairs", "weighted kappa [CI]", "Krippendorff's alpha [CI]", "Gwet's AC2 [CI]",
             "ratings not rated"], rows),
            fig(figs, "agreement/forest_indicators.svg", "Agreement by indicator with intervals")]
    add = m.get("additional") or {}
    if add:
        rows = []
        for code, a in add.items():
            det = a.get("detail") or {}
            rows.append([code, H.count(g(a, "kappa", "n_pairs"), k), _cell(a.get("kappa"), "kappa"),
                         _cell(a.get("gwet_ac1"), "estimate"), H.num(det.get("pabak")),
                         H.num(det.get("p_positive")), H.num(det.get("p_negative")), H.num(det.get("prevalence_index"))])
        out += [V.Heading(3, V.line("Additional indicators (present / absent)"), "agreement-additional"), V.table(
            ["indicator", "pairs", "kappa [CI]", "AC1 [CI]", "PABAK", "positive agreement", "negative agreement",
             "prevalence index"], rows),
            V.Para(V.line("With a rare category kappa can be low although raters mostly agree (the kappa paradox, "
                          "Feinstein & Cicchetti 1990): read kappa with AC1 and the specific agreements."), "muted"),
            fig(figs, "agreement/forest_additional.svg", "Additional indicators: kappa against AC1")]
    out.append(fig(figs, "agreement/bland_altman_domains.svg", "Bland-Altman plots of the domain totals"))
    ir = m.get("intra_rater")
    if isinstance(ir, Mapping) and ir:
        out.append(V.Heading(3, V.line("Intra-rater stability"), "agreement-intra"))
        if "not_estimable" in ir:
            out.append(V.Para(V.line(V.ne(ir["not_estimable"]))))
        else:
            mb = ir.get("months_between") or {}
            out.append(V.Para(V.line(
                f"{H.count(ir.get('n_cases'), k)} cases reassessed by the same rater, "
                f"{H.num(mb.get('min'), 0)} to {H.num(mb.get('max'), 0)} months apart (median "
                f"{H.num(mb.get('median'), 0)}). {cap(ir.get('sample', ''))}.")))
            rows = [[H.human(code), _icc_cell(g(b, "forms", "ICC2")) if isinstance(b, Mapping) and "not_estimable" not in b
                     else _ne_or(b or {"not_estimable": "missing from the metrics"}), H.count(g(b, "n_targets"), k)]
                    for code, b in (ir.get("domain_icc") or {}).items()]
            rows.append(["summary risk, weighted kappa", _cell(ir.get("summary_risk"), "kappa"),
                         H.count(g(ir, "summary_risk", "n_pairs"), k)])
            out.append(V.table(["", "ICC2 [CI] / kappa [CI]", "cases"], rows))
    return V.section("agreement", out)


# ---------------------------------------------------------------------------------------------
# predictive validity


def _prop(block: Mapping, i: int, numerator: Any, k: int) -> str:
    """``estimate [lower, upper]`` at position i of a parallel-array block; withheld with a hidden count."""
    v = g(block, "estimate", i)
    if H.suppressed(numerator, k) or isinstance(numerator, str) or (block and v is None):
        return "withheld"
    return H.est(v, {"lower": g(block, "lower", i), "upper": g(block, "upper", i)})


def _ratio(block: Any, i: int) -> str:
    """A ratio (LR, DOR, NND) at position i with its interval, or withheld."""
    v = g(block, "estimate", i)
    if not isinstance(block, Mapping):
        return H.DASH
    if v is None:
        return "withheld"
    return H.est(v, {"lower": g(block, "lower", i), "upper": g(block, "upper", i)}, 2)


def _cutoff_tables(name: str, c: Any, k: int) -> list[V.Block]:
    if not isinstance(c, Mapping):
        return []
    if "not_estimable" in c:
        return [V.Para(V.line(f"{name} cut-offs: ", V.ne(c["not_estimable"])))]
    rows = []
    for i, label in enumerate(c.get("labels") or []):
        tp, fp, fn, tn = (g(c, key, i) for key in ("tp", "fp", "fn", "tn"))
        rows.append([label, " / ".join(H.count(x, k) for x in (tp, fp, fn, tn)),
                     _prop(c.get("sensitivity") or {}, i, tp, k), _prop(c.get("specificity") or {}, i, tn, k),
                     _prop(c.get("ppv") or {}, i, tp, k), _prop(c.get("npv") or {}, i, tn, k),
                     *(_ratio(c.get(key), i) for key in ("lr_positive", "lr_negative", "dor", "nnd"))])
    out: list[V.Block] = [V.Heading(4, V.line(f"{name}: cut-offs")), V.table(
        ["positive at", "TP / FP / FN / TN", "sensitivity [CI]", "specificity [CI]", "PPV [CI]", "NPV [CI]",
         "LR+ [CI]", "LR\u2212 [CI]", "DOR [CI]", "NND [CI]"], rows),
        V.Para(V.line("LR+ and LR\u2212: likelihood ratios of a positive and a negative result; DOR: diagnostic odds "
                      "ratio; NND: number needed to detain, 1/PPV, the people detained for one who would have "
                      "reoffended (in this sample's base rate; at other base rates see below)."), "muted")]
    br = []
    for b in c.get("base_rates") or []:
        for i, label in enumerate(c.get("labels") or []):
            br.append([label, H.pct(b.get("base_rate"), 0), _prop(b.get("ppv") or {}, i, None, k),
                       _prop(b.get("npv") or {}, i, None, k)])
    if br:
        out.append(V.table(["positive at", "base rate", "PPV [CI]", "NPV [CI]"], br))
    return out


def _predictor_row(name: str, e: Mapping, p: Mapping, t: Mapping, k: int) -> list[Any]:
    if "not_estimable" in e:
        return [name, H.count(e.get("events"), k), H.count(e.get("n"), k), V.ne(e["not_estimable"]),
                "", "", "", "", ""]
    a = e.get("auc") or {}
    cox = e.get("cox") or {}
    if "not_estimable" in cox:
        hr = V.line(V.ne(cox["not_estimable"]))
    elif cox:
        hr = V.line(H.est(cox.get("hr"), cox.get("hr_ci"), 2))
        if g(cox, "ph_test", "p") is not None:
            hr += V.line(V.BR, V.muted(f"PH p {H.pval(g(cox, 'ph_test', 'p'))}"))
    else:
        hr = V.line(H.DASH)
    band = auc_band(a.get("auc"), p["auc_bands"]) if "not_estimable" not in a else ""
    return [name, H.count(e.get("events"), k), H.count(e.get("n"), k),
            _cell(a, "auc", t, n=e.get("n"), events=e.get("events")) + (V.line(" ", V.muted(band)) if band else ()),
            H.ci(g(e, "auc_bootstrap", "bca", "ci")).strip() or H.DASH,
            _cell(e.get("harrell_c"), "c"), _cell(e.get("uno_c"), "c"), hr]


NET_BENEFIT_SHOWN = (0.05, 0.10, 0.20, 0.30)  # threshold risks of the net-benefit table


def _net_benefit_table(c: Mapping) -> list:
    """Net benefit of acting on the risk total against acting on everyone, at a few threshold risks,
    in this sample and at each configured base rate."""
    ts = [round(float(v), 6) for v in c.get("thresholds") or []]
    cols = [t for t in NET_BENEFIT_SHOWN if t in ts]
    if not cols:
        return []
    curves = [("this sample", c)] + [(f"base rate {100 * b['base_rate']:g}%", b) for b in c.get("at_base_rates") or []]
    rows = []
    for label, curve in curves:
        row = [label]
        for t in cols:
            i = ts.index(t)
            nb, nb_all = curve["net_benefit"][i], curve["net_benefit_all"][i]
            row.append(V.line(H.num(nb, 4) if H.is_num(nb) else V.muted("withheld"), " ",
                              V.muted(f"(everyone {H.num(nb_all, 4)})")))
        rows.append(row)
    return [V.table(["net benefit", *[f"threshold {100 * t:g}%" for t in cols]], rows),
            V.Para(V.line("Net benefit counts the events caught less the non-events acted on, weighted by the odds "
                          "of the threshold risk: 0.01 is one net event caught per 100 people assessed. At another "
                          "base rate the predicted risks are carried there by Bayes' rule (Saerens et al. 2002) and "
                          "the sample's sensitivity and specificity kept. Withheld: a small count would follow."),
                   "muted")]


def _risk_model_blocks(c: Any, outcome: str, figs: Figs, fig: FigureCounter) -> list:
    """The risk total as a logistic risk model: calibration, Brier score and C, apparent and
    corrected for optimism, and the decision curve."""
    if not isinstance(c, Mapping):
        return []
    head = V.Heading(4, V.line("Risk total as a risk model: calibration and net benefit"))
    if "not_estimable" in c:
        return [head, V.Para(V.line(V.ne(c["not_estimable"])))]
    rows = [[name, H.num(g(c, key, "apparent"), 4 if key == "brier" else 3),
             H.num(g(c, key, "corrected"), 4 if key == "brier" else 3)]
            for key, name in (("slope", "calibration slope"), ("intercept", "calibration intercept"),
                              ("brier", "Brier score"), ("c", "C statistic"))]
    slope = g(c, "slope", "corrected")
    reading = ("" if not H.is_num(slope) else
               f" A corrected slope of {H.num(slope, 2)} means that in new cases the predicted risks would be "
               + ("too extreme (shrink them)" if slope < 0.9 else "too modest (they spread too little)" if slope > 1.1
                  else "about right in spread") + ".")
    return [head, V.table(["", "apparent", f"corrected for optimism ({c.get('n_boot')} bootstrap refits)"], rows),
            *_net_benefit_table(c),
            V.Para(V.line("A logistic model of the outcome on the risk total, checked as Harrell et al. (1996) "
                          "advise: the slope and intercept of the outcome on the model's linear predictor (1 and 0 "
                          "on the cases it was fitted to), the Brier score (mean squared error of the predicted "
                          "risks) and C." + reading + " The decision curve (Vickers & Elkin 2006) weighs the events "
                          "caught against the non-events treated at each threshold risk for acting."), "muted"),
            fig(figs, f"predictive/decision_{outcome}.svg",
                f"Decision curve, {outcome} recidivism: net benefit of acting on the risk total's predicted risk, "
                "of acting on everyone and on no one, in this sample and at the configured base rates")]


def predictive_section(m: Mapping, figs: Figs, p: Mapping, fig: FigureCounter, k: int) -> V.Section:
    title = V.Heading(2, V.line("Predictive validity"))
    if not m:
        return V.section("predictive", title, V.Para(V.line("The predictive metrics are missing.")))
    out: list[Any] = [title]
    t = p["thresholds"]["auc"]
    meth = m.get("method") or {}
    out.append(method_line(V.line(
        "empirical AUC with DeLong 95% interval and stratified bootstrap BCa interval; Harrell's and Uno's C with "
        "infinitesimal-jackknife intervals; Cox model per SD (Efron ties, Wald interval); Wilson intervals for "
        f"proportions; AUC cut-off {t.get('min', '')} ({t.get('source', '')})"), m.get("provenance")))
    out.append(method_details(meth))
    for outcome, b in (m.get("outcomes") or {}).items():
        base = "" if H.suppressed(b.get("events"), k) else f", base rate {H.num(b.get('base_rate'))}"
        out.append(V.Heading(3, V.line(f"{outcome}: {H.count(b.get('events'), k)} events in "
                                       f"{H.count(b.get('n'), k)} cases{base}"), f"predictive-{slug(outcome)}"))
        rows = [_predictor_row(H.human(name), e, p, t, k) for name, e in (b.get("predictors") or {}).items()
                if isinstance(e, Mapping)]
        out.append(V.table(["predictor", "events", "n", "AUC [DeLong CI]", "BCa CI", "Harrell's C [CI]",
                            "Uno's C [CI]", "HR per SD [CI]"], rows))
        comp = b.get("comparisons") or {}
        if comp.get("tests"):
            crow = []
            for tst in comp["tests"]:
                dl = tst.get("delong") or {}
                if "not_estimable" in tst or "not_estimable" in dl:
                    crow.append([H.human(tst.get("label", "")), _ne_or(tst if "not_estimable" in tst else dl), "", "", ""])
                elif not dl:
                    crow.append([H.human(tst.get("label", "")), H.DASH, "", "", ""])
                else:
                    crow.append([H.human(tst.get("label", "")), H.count(tst.get("events"), k),
                                 H.est(dl.get("difference"), dl.get("ci")), H.pval(dl.get("p")),
                                 H.pval(tst.get("p_holm"))])
            out += [V.Heading(4, V.line("Paired comparisons")), V.table(
                ["comparison (same cases)", "events", "AUC difference [CI]", "p", "p (Holm)"], crow)]
        preds = b.get("predictors") or {}
        for key, name in (("summary_risk", "summary judgement"), ("risk_total", "risk total")):
            out += _cutoff_tables(name, g(preds, key, "cutoffs"), k)
        out += _risk_model_blocks(g(preds, "risk_total", "calibration"), outcome, figs, fig)
        bands = b.get("bands") or {}
        cal = bands.get("calibration") or {}
        if cal.get("bands"):
            rows = []
            for i, band in enumerate(cal["bands"]):
                ev = g(cal, "events", i)
                rate = "withheld" if H.suppressed(ev, k) or g(cal, "rate", i) is None else H.est(g(cal, "rate", i), {
                    "lower": g(cal, "lower", i), "upper": g(cal, "upper", i)})
                rows.append([band, H.count(g(cal, "n", i), k), H.count(ev, k), rate])
            trend = cal.get("trend") or {}
            lr = bands.get("logrank") or {}
            out += [V.Heading(4, V.line("Observed rate by summary risk band")),
                    V.table(["band", "cases", "events", "rate [Wilson CI]"], rows),
                    V.Para(V.line(
                        f"Trend test (Cochran-Armitage): chi-square {H.num(trend.get('chisq'), 2)}, p "
                        f"{H.pval(trend.get('p'))}; log-rank across bands: chi-square {H.num(lr.get('chisq'), 2)} on "
                        f"{H.num(lr.get('df'))} df, p {H.pval(lr.get('p'))}."))]
        td = g(preds, "risk_total", "time_dependent_auc")
        if isinstance(td, list) and td:
            out += [V.Heading(4, V.line("Risk total: time-dependent AUC (no interval)")), V.table(
                ["horizon (years)", "cases with event", "controls", "AUC"],
                [[H.num(x.get("horizon_years"), 1), H.count(x.get("cases"), k), H.count(x.get("controls"), k),
                  H.num(x.get("auc")) if "not_estimable" not in x else V.ne(x["not_estimable"])] for x in td])]
        out.append(fig(figs, f"predictive/roc_{outcome}.svg", f"ROC curves, {outcome} recidivism"))
        out.append(fig(figs, f"predictive/km_{outcome}.svg",
                       f"Kaplan-Meier curves by summary risk band, {outcome} recidivism, numbers at risk below"))
        out.append(fig(figs, f"predictive/calibration_{outcome}.svg",
                       f"Observed {outcome} recidivism rate by summary risk band with Wilson intervals"))
    return V.section("predictive", out)


# ---------------------------------------------------------------------------------------------
# version


def _flat(d: Any, prefix: str = "") -> list[tuple[str, Any]]:
    if isinstance(d, Mapping):
        out = []
        for key, v in d.items():
            out += _flat(v, f"{prefix}{key}.")
        return out
    return [(prefix.rstrip("."), d)]


def _show(v: Any) -> str:
    return json.dumps(v, ensure_ascii=False) if isinstance(v, (list, dict)) else str(v)


def version_section(metrics: Mapping[str, Mapping], version: Mapping | None, p: Mapping) -> V.Section:
    out: list[Any] = [V.Heading(2, V.line("Version"))]
    v = version or {}
    provs = {name: m["provenance"] for name, m in metrics.items()
             if isinstance(m, Mapping) and isinstance(m.get("provenance"), Mapping)}
    dq = provs.get("data_quality") or {}
    rows = [["package version", v.get("validation", "not recorded")],
            ["report code, SHA-256", V.mono(v.get("code_sha256", "not recorded"))],
            ["input data folder", g(dq, "params", "validate", "input_dir") or "?"],
            ["input data, DVC hash (dvc.lock)", v.get("data_dvc_md5") or "dvc.lock absent or without it"],
            ["input data, content MD5 (provenance)", dq.get("data_md5", "?")],
            ["baseline for changes", v.get("baseline", p.get("baseline", ""))]]
    out.append(V.table(["", ""], rows, left=2, cls="version"))
    if provs:
        out += [V.Heading(3, V.line("Provenance of each stage's metrics")), V.table(
            ["metrics", "package version", "code SHA-256 (first 12)", "data MD5", "inputs"],
            [[n, g(pv, "code", "version") or "?", V.mono(str(g(pv, "code", "sha256") or "?")[:12]),
              V.mono(pv.get("data_md5", "?")), ", ".join(map(str, pv.get("inputs") or []))]
             for n, pv in provs.items()], left=5),
            V.Para(V.line("Each stage records the SHA-256 of the source files it runs (its import closure), not a "
                          "git commit: the same code gives the same record in any clone, and DVC reruns a stage "
                          "exactly when one of those files, its data or its parameters change."), "muted")]
        params: dict[str, Any] = {}
        for pv in provs.values():
            for sec, val in (pv.get("params") or {}).items():
                params.setdefault(sec, val)
        params["report"] = v.get("report_params") or p
        rows = [[sec, "; ".join(f"{key} = {_show(val)}" for key, val in _flat(vals))] for sec, vals in params.items()]
        out += [V.Heading(3, V.line("Parameters")), V.table(["section", "values"], rows, left=2, cls="kv")]
        pk: dict[str, dict[str, str]] = {}
        for n, pv in provs.items():
            for name, ver in (pv.get("packages") or {}).items():
                pk.setdefault(name, {})[n] = str(ver)
        rows = [[name, ", ".join(sorted(set(vs.values()))),
                 (" ", V.Run("differs between stages", "ne")) if len(set(vs.values())) > 1 else ""]
                for name, vs in pk.items()]
        rows = [[r[0], V.line(r[1], *r[2])] for r in rows]
        out += [V.Heading(3, V.line("Package versions")), V.table(["package", "version"], rows, left=2, cls="kv")]
    return V.section("version", out)
