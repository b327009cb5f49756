"""The report's sections (data, reliability, factor structure and invariance, agreement, predictive
validity, version): tables, figures and a one-line method statement each, from the metrics alone."""

from __future__ import annotations

import json
import re
from typing import Any, Mapping

from validation.report import html as H
from validation.report.rules import auc_band, threshold_verdict
from validation.report.summary import g

Figs = Mapping[str, str]


def cap(text: Any) -> str:
    """Escaped text with its first letter capitalised (a sentence taken from the metrics)."""
    t = str(text or "")
    return H.esc(t[:1].upper() + t[1:])


def slug(text: Any) -> str:
    return re.sub(r"[^a-z0-9]+", "-", str(text).lower()).strip("-") or "x"


class FigureCounter:
    """Gives each inline figure a unique id prefix."""

    def __init__(self) -> None:
        self.n = 0

    def __call__(self, figs: Figs, name: str, caption: str) -> str:
        if not figs.get(name):
            return ""
        self.n += 1
        return H.svg_inline(figs[name], caption, f"fig{self.n}")


def software(prov: Mapping | None) -> str:
    pk = g(prov, "packages") or {}
    if not pk:
        return "software: not recorded"
    main = f"validation {g(prov, 'code', 'version') or '(version not recorded)'}"
    rest = ", ".join(f"{name} {pk[name]}" for name in ("numpy", "scipy", "pandas", "matplotlib")
                     if name in pk)
    return f"software: {main} on Python {pk.get('python', '?')} ({rest})"


def method_line(text: str, prov: Mapping | None) -> str:
    """The one-line method statement of a section: estimators, intervals, software (``text`` is HTML)."""
    return f'<p class="method"><b>Method.</b> {text[:1].upper()}{text[1:]}; {H.esc(software(prov))}.</p>'


def method_details(m: Mapping | None) -> str:
    if not isinstance(m, Mapping) or not m:
        return ""
    items = "".join(f"<li><b>{H.esc(k)}</b>: {H.esc(v)}</li>" for k, v in m.items()
                    if not isinstance(v, (dict, list)))
    return f'<div class="method"><ul>{items}</ul></div>'


def _cell(d: Any, key: str, thr: Mapping | None = None) -> str:
    """Estimate [CI] of a result dict, its verdict badge when a threshold is given, or why not."""
    if not isinstance(d, Mapping):
        return H.DASH
    if "not_estimable" in d:
        return H.not_estimable(d)
    if not H.is_num(d.get(key)):
        return H.DASH
    s = H.est(d[key], d.get("ci"))
    if thr is not None:
        s += " " + H.badge(threshold_verdict(d[key], g(d, "ci", "lower"), g(d, "ci", "upper"), thr)[0])
    return s


# ---------------------------------------------------------------------------------------------
# data


def _margin_table(title: str, cells: Mapping[str, Any], total: Any, k: int) -> list[list[str]]:
    shown = H.counts_with_total(cells, k)
    rows = []
    for cat, n in cells.items():
        hidden = shown[cat] in ("*",) or H.suppressed(n, k)
        share = "" if hidden or not H.is_num(total) or not total else H.pct(n / total)
        rows.append([H.esc(title), H.esc(cat), shown[cat], share])
    return rows


def data_section(dq: Mapping, k: int) -> str:
    out = ['<section id="data"><h2>Data</h2>']
    if not dq:
        out.append("<p>The data-quality summary is missing.</p></section>")
        return "\n".join(out)
    prov = dq.get("provenance") or {}
    src = g(prov, "params", "validate", "input_dir") or "?"
    out.append(method_line(f"counts from the validate stage's data-quality summary of the input folder "
                           f"<code>{H.esc(src)}</code> (contract checks passed); counts of fewer than {k} cases "
                           "suppressed, with a complementary cell where a total would reveal them", prov))
    ins = dq.get("instruments") or {}
    if ins:
        rows = [[H.esc(key), H.esc(v.get("name", "")), H.esc(v.get("version", "")),
                 "placeholder key" if v.get("placeholder") else ""] for key, v in ins.items() if isinstance(v, Mapping)]
        out.append("<h3>Instruments</h3>" + H.table(["", "name", "version", ""], rows, left=4))
    cases, vr, sq = dq.get("cases") or {}, dq.get("vera_ratings") or {}, dq.get("sq_responses") or {}
    sites = cases.get("by_site") or {}
    if sites:
        c_cases = H.counts_with_total(sites, k)
        sq_sites = sq.get("by_site") or {}
        c_sq = H.counts_with_total(sq_sites, k) if sq_sites else {}
        rows = [[H.esc(s), c_cases[s], c_sq.get(s, H.DASH)] for s in sites]
        rows.append(["<b>all</b>", H.count(cases.get("n"), k), H.count(sq.get("n"), k)])
        out.append('<h3 id="data-sites">Sites</h3>' + H.table(["site", "cases", "SQ administrations"], rows))
    chars = []
    for key, title in (("by_sex", "sex"), ("by_age_band", "age band"), ("by_ideology", "ideology")):
        if cases.get(key):
            chars += _margin_table(title, cases[key], cases.get("n"), k)
    if chars:
        out.append('<h3 id="data-participants">Participants</h3>'
                   + H.table(["characteristic", "category", "cases", "share"], chars, left=2)
                   + '<p class="muted">(blank): not recorded. * suppressed so that a suppressed cell cannot be '
                     "recovered from the total.</p>")
    if vr:
        occ = ", ".join(f"occasion {H.esc(o)}: {H.count(n, k)}" for o, n in (vr.get("by_occasion") or {}).items())
        role = ", ".join(f"{H.esc(r)}: {H.count(n, k)}" for r, n in (vr.get("by_role") or {}).items())
        d = dq.get("rating_design") or {}
        per_rater = ""
        if H.is_num(d.get("ratings_per_rater_min")):
            per_rater = (f" Independent forms on occasion 1 per rater: {H.num(d['ratings_per_rater_min'])} to "
                         f"{H.num(d['ratings_per_rater_max'])} (median {H.num(d.get('ratings_per_rater_median'), 1)}).")
        sq_occ = ", ".join(f"occasion {H.esc(o)}: {H.count(n, k)}" for o, n in (sq.get("by_occasion") or {}).items())
        sq_lang = ", ".join(f"{H.esc(x)}: {H.count(n, k)}" for x, n in (sq.get("by_language") or {}).items())
        out.append('<h3 id="data-raters">Raters and occasions</h3>'
                   f"<p>VERA: {H.count(vr.get('n_forms'), k)} rating forms of {H.count(vr.get('n_cases'), k)} cases "
                   f"by {H.num(vr.get('n_raters'))} raters ({occ}; {role}).{per_rater}</p>"
                   f"<p>SQ: {H.count(sq.get('n'), k)} administrations to {H.count(sq.get('n_cases'), k)} cases "
                   f"({sq_occ}; languages {sq_lang}).</p>")
    d = dq.get("rating_design")
    if isinstance(d, Mapping) and d:
        out.append('<h3 id="data-design">Design of the rating study</h3>'
                   f"<p><b>{cap(d.get('design', ''))}</b> ({H.esc(d.get('selection', ''))}). "
                   f"{cap(d.get('explanation', ''))} {H.count(d.get('n_ratings'), k)} ratings of "
                   f"{H.count(d.get('n_targets'), k)} cases by {H.num(d.get('n_raters'))} raters; "
                   f"{H.count(d.get('n_targets_multi_rated'), k)} cases rated more than once "
                   f"({H.num(d.get('ratings_per_target_min'))} to {H.num(d.get('ratings_per_target_max'))} ratings "
                   "a case)"
                   + ("" if "crossed block" in str(d.get("explanation", "")) else
                      f"; largest fully crossed block: {H.count(d.get('block_n_targets'), k)} cases x "
                      f"{H.num(d.get('block_n_raters'))} raters") + ".</p>")
    nr = vr.get("not_rated") or {}
    miss = sq.get("missing") or {}
    if nr or miss:
        out.append('<h3 id="data-missing">Missingness</h3>')
    if nr:
        ov = nr.get("overall") or {}
        flagged = set(nr.get("flagged") or [])
        rates = {**(nr.get("indicators") or {}), **(nr.get("additional") or {})}
        listing = ", ".join((f"<b>{H.esc(i)} {H.pct(r)}</b>" if i in flagged else f"{H.esc(i)} {H.pct(r)}")
                            for i, r in rates.items())
        out.append(f"<p>VERA forms with an indicator not rated: risk indicators {H.pct(ov.get('indicators'))}, "
                   f"additional indicators {H.pct(ov.get('additional'))}, summary judgement "
                   f"{H.pct(ov.get('summary'))} of cells. By indicator (bold: above "
                   f"{H.pct(nr.get('threshold'), 0)}): {listing}.</p>")
    if miss:
        flagged = miss.get("flagged") or []
        items = miss.get("items") or {}
        high = sorted(items.items(), key=lambda kv: -kv[1] if H.is_num(kv[1]) else 0)[:5]
        out.append(f"<p>SQ items unanswered: {H.pct(miss.get('overall'))} of cells; "
                   + (f"above {H.pct(miss.get('threshold'), 0)}: " + ", ".join(
                       f"<b>{H.esc(i)} {H.pct(items.get(i))}</b>" for i in flagged) if flagged else
                      f"no item above {H.pct(miss.get('threshold'), 0)}")
                   + "; highest: " + ", ".join(f"{H.esc(i)} {H.pct(r)}" for i, r in high) + ".</p>")
    outc = g(dq, "outcomes", "by_outcome") or {}
    if outc:
        rows = []
        for name, o in outc.items():
            fu = o.get("follow_up_years") or {}
            hide = H.suppressed(o.get("events"), k)
            rows.append([H.esc(name), H.count(o.get("n"), k), H.count(o.get("events"), k),
                         H.DASH if hide else H.num(o.get("base_rate")),
                         f"{H.num(fu.get('median'), 1)} ({H.num(fu.get('min'), 1)} to {H.num(fu.get('max'), 1)})"])
        out.append('<h3 id="data-outcomes">Follow-up and base rates</h3>'
                   + H.table(["outcome", "cases", "events", "base rate", "follow-up, years: median (range)"], rows))
    out.append("</section>")
    return "\n".join(out)


# ---------------------------------------------------------------------------------------------
# reliability


def _group_table(blocks: Mapping, grouping: str, k: int) -> str:
    groups: list[str] = []
    for b in blocks.values():
        for gname in (g(b, grouping) or {}):
            if gname not in groups:
                groups.append(gname)
    if not groups:
        return ""
    rows = []
    for code, b in blocks.items():
        row = [H.esc(code)]
        for gname in groups:
            e = g(b, grouping, gname) or {}
            a = e.get("alpha") if isinstance(e, Mapping) else None
            if isinstance(e, Mapping) and "not_estimable" in e:
                row.append(H.not_estimable(e))
            elif isinstance(a, Mapping) and "not_estimable" not in a:
                row.append(H.est(a.get("alpha"), a.get("ci")) + f' <span class="muted">n={H.count(e.get("n"), k)}</span>')
            elif isinstance(a, Mapping):
                row.append(H.not_estimable(a))
            else:
                row.append(H.DASH)
        rows.append(row)
    return H.table(["", *[H.esc(x) for x in groups]], rows)


def reliability_section(m: Mapping, figs: Figs, t: Mapping, fig: FigureCounter, k: int) -> str:
    out = ['<section id="reliability"><h2>Reliability</h2>']
    if not m:
        out.append("<p>The reliability metrics are missing.</p></section>")
        return "\n".join(out)
    meth = m.get("method") or {}
    out.append(method_line("Cronbach's alpha with " + H.esc(g(m, "provenance", "params", "reliability", "ci_method")
                                                           or "its") +
                           " interval and McDonald's omega total (one-factor ML) with bootstrap percentile interval; "
                           "ordinal alpha and omega on polychoric correlations for the 3-point VERA indicators; "
                           f"cut-off {t['alpha'].get('min', '')} ({H.esc(t['alpha'].get('source', ''))})",
                           m.get("provenance")))
    out.append(method_details(meth))
    doms = g(m, "vera", "domains") or {}
    rows = []
    for code, b in doms.items():
        ov, od = b.get("overall") or {}, b.get("ordinal") or {}
        rows.append([H.esc(code), H.esc(b.get("label", "")), H.num(b.get("k")), H.count(ov.get("n"), k),
                     _cell(ov.get("alpha"), "alpha", t["alpha"]), _cell(ov.get("omega"), "omega", t["omega"]),
                     _cell(od.get("alpha"), "alpha"), _cell(od.get("omega"), "omega")])
    if rows:
        out.append(f"<h3>{H.esc(g(m, 'vera', 'instrument') or 'VERA')} domains</h3>"
                   + H.table(["code", "name", "items", "n", "alpha [CI]", "omega [CI]", "ordinal alpha [CI]",
                              "ordinal omega [CI]"], rows, 2))
        tab = _group_table(doms, "by_site", k)
        if tab:
            out.append("<h4>Alpha by site</h4>" + tab)
    scales = g(m, "sq", "scales") or {}
    rows = []
    for code, b in scales.items():
        ov = b.get("overall") or {}
        rows.append([H.esc(code), H.esc(b.get("label", "")), H.num(b.get("k")), H.count(ov.get("n"), k),
                     _cell(ov.get("alpha"), "alpha", t["alpha"]), _cell(ov.get("omega"), "omega", t["omega"])])
    if rows:
        out.append(f"<h3>{H.esc(g(m, 'sq', 'instrument') or 'SQ')} scales</h3>"
                   + H.table(["code", "name", "items", "n", "alpha [CI]", "omega [CI]"], rows, 2))
        for grouping, title in (("by_site", "site"), ("by_language", "language")):
            tab = _group_table(scales, grouping, k)
            if tab:
                out.append(f"<h4>Alpha by {title}</h4>" + tab)
    oh = g(m, "sq", "omega_hierarchical")
    if isinstance(oh, Mapping):
        if "not_estimable" in oh:
            out.append(f"<p>Omega hierarchical of all SQ items: {H.not_estimable(oh)}</p>")
        else:
            out.append(f"<p>All SQ items (n = {H.count(g(m, 'sq', 'n_cases'), k)}): omega hierarchical "
                       f"{H.num(oh.get('omega_h'))}, omega total {H.num(oh.get('omega_total'))}, explained common "
                       f"variance of the general factor {H.num(oh.get('ecv'))} (no interval).</p>")
    for name in sorted(figs):
        if name.startswith("reliability/item_total_"):
            what = name.split("item_total_", 1)[1].rsplit(".", 1)[0].replace("_", " ")
            out.append(fig(figs, name, f"Item-rest correlations and alpha if the item is dropped: {what}"))
    out.append("</section>")
    return "\n".join(out)


# ---------------------------------------------------------------------------------------------
# structure


def _fit_row(name: str, fit: Mapping, t: Mapping | None = None) -> list[str]:
    fit = fit or {}
    ci = {"lower": fit.get("rmsea.ci.lower"), "upper": fit.get("rmsea.ci.upper")}

    def b(key: str, lo: Any = None, hi: Any = None) -> str:
        if t is None or not H.is_num(fit.get(key)):
            return ""
        return " " + H.badge(threshold_verdict(fit[key], lo, hi, t[key])[0])

    return [H.esc(name), H.num(fit.get("chisq"), 1), H.num(fit.get("df"), 0), H.pval(fit.get("pvalue")),
            H.num(fit.get("cfi")) + b("cfi"), H.num(fit.get("tli")) + b("tli"),
            H.num(fit.get("rmsea")) + H.ci(ci) + b("rmsea", ci["lower"], ci["upper"]),
            H.num(fit.get("srmr")) + b("srmr")]


FIT_HEADER = ["model", "chi-square", "df", "p", "CFI", "TLI", "RMSEA [90% CI]", "SRMR"]


def structure_section(m: Mapping, figs: Figs, p: Mapping, fig: FigureCounter, k: int) -> str:
    out = ['<section id="structure"><h2>Factor structure and invariance</h2>']
    if not m:
        out.append("<p>The structure metrics are missing.</p></section>")
        return "\n".join(out)
    t = p["thresholds"]
    s = m.get("sq") or {}
    meth = m.get("method") or {}
    out.append(method_line(
        f"{H.esc(meth.get('efa', 'EFA'))}; parallel analysis (Horn 1965); "
        f"{H.esc(meth.get('cfa', 'maximum likelihood CFA'))}, RMSEA with 90% interval; fit cut-offs "
        f"{H.esc(t['cfi'].get('source', ''))}; invariance by {H.esc(p['invariance']['source'])}", m.get("provenance")))
    out.append(method_details(meth))
    pa = s.get("parallel_analysis")
    bart = s.get("bartlett") or {}
    rows = [["cases, items", f"{H.count(s.get('n'), k)}, {H.num(s.get('k'))}"],
            ["KMO (overall)", _cell(s.get("kmo"), "overall")],
            ["Bartlett's test", H.not_estimable(bart) if "not_estimable" in bart else
             f"chi-square {H.num(bart.get('chisq'), 1)}, df {H.num(bart.get('df'))}, p {H.pval(bart.get('p'))}"],
            ["factors suggested by parallel analysis", _cell(pa, "n_factors")],
            ["factors hypothesised", H.num(s.get("hypothesised_factors"))]]
    out.append("<h3>Factorability and number of factors</h3>" + H.table(["", ""], rows))
    out.append(fig(figs, "structure/scree_sq.svg", "Scree plot of the SQ items with the parallel-analysis curve"))
    efa = s.get("efa")
    if isinstance(efa, Mapping):
        if "not_estimable" in efa:
            out.append(f"<p>EFA: {H.not_estimable(efa)}</p>")
        elif efa.get("items_loading_off_scale") is not None:
            off = efa["items_loading_off_scale"]
            out.append(f"<p>EFA: {len(off)} item(s) load most on a factor other than their hypothesised scale"
                       + (": " + H.esc(", ".join(off)) if off else "") + ".</p>")
    out.append(fig(figs, "structure/efa_loadings_sq.svg", "EFA loadings of the SQ items (hypothesised scale in brackets)"))
    c = s.get("cfa")
    out.append('<h3 id="cfa">Confirmatory factor analysis of the hypothesised structure</h3>')
    if not isinstance(c, Mapping):
        out.append("<p>Not run.</p>")
    elif "not_estimable" in c:
        out.append(f"<p>{H.not_estimable(c)}</p>")
    else:
        out.append(H.table(FIT_HEADER, [_fit_row(f"hypothesised, n = {H.count(c.get('n'), k)}", c.get("fit"), t)]))
        out.append(f'<p class="muted">{H.esc(c.get("missing", ""))}. Cut-offs: CFI and TLI '
                   f"{t['cfi'].get('min', '')}, RMSEA {t['rmsea'].get('max', '')}, SRMR {t['srmr'].get('max', '')} "
                   f"({H.esc(t['cfi'].get('source', ''))}).</p>")
        lo = c.get("std_loadings") or []
        by_f: dict[str, list[float]] = {}
        for q in lo:
            if H.is_num(q.get("std")):
                by_f.setdefault(str(q.get("factor")), []).append(q["std"])
        if by_f:
            out.append(H.table(["factor", "items", "standardised loadings: min", "median", "max"],
                               [[H.esc(f), H.num(len(v)), H.num(min(v)), H.num(sorted(v)[len(v) // 2]), H.num(max(v))]
                                for f, v in by_f.items()]))
        mi = c.get("modification_indices") or []
        if mi:
            out.append("<h4>Largest modification indices</h4>" + H.table(
                ["parameter", "MI", "standardised EPC"],
                [[H.esc(f"{q.get('lhs')} {q.get('op')} {q.get('rhs')}"), H.num(q.get("mi"), 1), H.num(q.get("sepc_all"))]
                 for q in mi[:10]]))
        for w in c.get("warnings") or []:
            out.append(f'<p class="warn">{H.esc(w)}</p>')
    out.append('<h3 id="invariance">Measurement invariance</h3>')
    invs = s.get("invariance") or {}
    if not invs:
        out.append("<p>Not run.</p>")
    for grouping, inv in invs.items():
        out.append(f'<h4 id="invariance-{slug(grouping)}">Across {H.esc(grouping)}s</h4>')
        dropped = (inv or {}).get("groups_dropped") or {}
        if dropped:
            out.append("<p>Left out (too few cases): " + ", ".join(
                f"{H.esc(gname)} (n = {H.count(n, k)})" for gname, n in dropped.items()) + ".</p>")
        if not isinstance(inv, Mapping) or "not_estimable" in inv:
            out.append(f"<p>{H.not_estimable(inv or {})}</p>")
            continue
        nobs = inv.get("nobs") or {}
        if nobs:
            out.append("<p>Groups: " + ", ".join(f"{H.esc(gname)} (n = {H.count(n, k)})" for gname, n in nobs.items())
                       + ".</p>")
        rows = []
        for st in inv.get("steps") or []:
            row = _fit_row(st.get("name", ""), st.get("fit") or {})
            row += [H.num(st.get("delta_cfi")), H.num(st.get("delta_rmsea")),
                    H.DASH if st.get("holds") is None else ("holds" if st.get("holds") else "fails")]
            rows.append(row)
        out.append(H.table(FIT_HEADER + ["&Delta;CFI", "&Delta;RMSEA", "step"], rows))
        freed = ", ".join(inv.get("freed_intercepts") or []) or "none"
        out.append(f"<p>Level reached: <b>{H.esc(inv.get('level'))}</b>; intercepts freed: {H.esc(freed)}. "
                   f"Criteria: {H.esc(inv.get('criteria', ''))} (Chen 2007).</p>")
    out.append("</section>")
    return "\n".join(out)


# ---------------------------------------------------------------------------------------------
# agreement


def _icc_cell(f: Any, t: Mapping | None = None) -> str:
    if not isinstance(f, Mapping):
        return H.DASH
    s = _cell(f, "icc", t)
    if f.get("band"):
        s += f' <span class="muted">{H.esc(f["band"])}</span>'
    return s


def agreement_section(m: Mapping, figs: Figs, p: Mapping, fig: FigureCounter, k: int) -> str:
    out = ['<section id="agreement"><h2>Inter-rater agreement</h2>']
    if not m:
        out.append("<p>The agreement metrics are missing.</p></section>")
        return "\n".join(out)
    t = p["thresholds"]
    meth = m.get("method") or {}
    out.append(method_line(
        "ICC2 (A,1; two-way random, absolute agreement, single rater) of the domain totals by ANOVA on the fully "
        "crossed block (F-based interval) and by REML on all ratings (parametric-bootstrap interval); weighted "
        "kappa (normal interval), Krippendorff's alpha (unit bootstrap) and Gwet's AC2 (t interval) per indicator; "
        f"bands {H.esc(g(m, 'bands', 'icc', 'source') or t['icc']['source'])} and "
        f"{H.esc(g(m, 'bands', 'kappa', 'source') or t['kappa']['source'])}", m.get("provenance")))
    out.append(method_details(meth))
    d = m.get("design") or {}
    if d:
        out.append(f"<p><b>{H.esc(d.get('design', ''))}</b>: {H.count(d.get('n_targets'), k)} cases, "
                   f"{H.num(d.get('n_raters'))} raters, {H.count(d.get('n_ratings'), k)} independent rating forms on "
                   f"occasion 1 ({H.count(d.get('n_consensus_forms_excluded'), k)} consensus forms left out). "
                   f"{cap(d.get('explanation', ''))}"
                   + (f" Supports: {H.esc(d['supports'])}." if d.get("supports") else "") + "</p>")
    rows = []
    for code, b in (m.get("domain_icc") or {}).items():
        if not isinstance(b, Mapping) or "not_estimable" in b:
            rows.append([H.esc(code), H.not_estimable(b or {}), "", "", "", ""])
            continue
        ba = b.get("bland_altman") or {}
        sem = g(b, "sem_sdc", "reml" if p["icc_source"] == "reml" else "crossed_block") or \
            g(b, "sem_sdc", "crossed_block") or {}
        rows.append([H.esc(b.get("label", code)),
                     _icc_cell(g(b, "forms", "ICC2"), t["icc"]) +
                     f'<br><span class="muted">{H.count(b.get("n_targets"), k)} cases x {H.num(b.get("n_raters"))} raters</span>',
                     _icc_cell(g(b, "reml", "forms", "ICC2"), t["icc"]) +
                     f'<br><span class="muted">{H.count(g(b, "reml", "n_targets"), k)} cases</span>'
                     if isinstance(b.get("reml"), Mapping) and "not_estimable" not in b["reml"] else
                     (H.not_estimable(b["reml"]) if isinstance(b.get("reml"), Mapping) else H.DASH),
                     f"{H.num(sem.get('sem'), 2)} / {H.num(sem.get('sdc'), 2)}" if sem else H.DASH,
                     (H.est(ba.get("bias"), ba.get("bias_ci"), 2) + f"<br>LoA {H.num(ba.get('lower'), 2)} to "
                      f"{H.num(ba.get('upper'), 2)}" if H.is_num(ba.get("bias")) else
                      (H.not_estimable(ba) if "not_estimable" in ba else H.DASH)),
                     H.count(ba.get("n_pairs", ba.get("n")), k)])
    if rows:
        out.append('<h3 id="agreement-domains">Domain totals</h3>' + H.table(
            ["domain", "ICC2 crossed block [CI]", "ICC2 REML, all ratings [CI]", "SEM / SDC", "Bland-Altman bias [CI]",
             "pairs"], rows))
        out.append(f'<p class="muted">The executive summary uses the {"REML" if p["icc_source"] == "reml" else "crossed-block"} '
                   "ICC (report parameter icc_source). SEM = SD sqrt(1 - ICC2); SDC = 1.96 sqrt(2) SEM (de Vet et al. "
                   "2006); LoA: 95% limits of agreement.</p>")
    out.append(fig(figs, "agreement/forest_domains.svg", "ICC of the domain totals with intervals and Koo & Li bands"))
    sr = m.get("summary_risk")
    if isinstance(sr, Mapping):
        out.append('<h3 id="agreement-summary">Summary risk judgement</h3>' + H.table(
            ["", "weighted kappa [CI]", "Krippendorff's alpha [CI]", "Gwet's AC2 [CI]", "pairs", "not rated"],
            [["summary risk (L/M/H)", _cell(sr.get("weighted_kappa"), "kappa", t["kappa"]),
              _cell(sr.get("krippendorff_alpha"), "alpha"), _cell(sr.get("gwet_ac2"), "estimate"),
              H.count(g(sr, "weighted_kappa", "n_pairs"), k), H.count(sr.get("n_not_rated"), k)]]))
    inds = m.get("indicators") or {}
    if inds:
        rows = []
        for code, ind in inds.items():
            wk = ind.get("weighted_kappa") or {}
            rows.append([H.esc(code), H.count(wk.get("n_pairs", ind.get("n_cases_pairable")), k),
                         _cell(wk, "kappa", t["kappa"]) + (f' <span class="muted">{H.esc(wk["band"])}</span>'
                                                            if wk.get("band") else ""),
                         _cell(ind.get("krippendorff_alpha"), "alpha"), _cell(ind.get("gwet_ac2"), "estimate"),
                         H.count(ind.get("n_not_rated"), k)])
        out.append('<h3 id="agreement-indicators">Risk indicators</h3>' + H.table(
            ["indicator", "pairs", "weighted kappa [CI]", "Krippendorff's alpha [CI]", "Gwet's AC2 [CI]",
             "ratings not rated"], rows))
        out.append(fig(figs, "agreement/forest_indicators.svg", "Agreement by indicator with intervals"))
    add = m.get("additional") or {}
    if add:
        rows = []
        for code, a in add.items():
            det = a.get("detail") or {}
            rows.append([H.esc(code), H.count(g(a, "kappa", "n_pairs"), k), _cell(a.get("kappa"), "kappa"),
                         _cell(a.get("gwet_ac1"), "estimate"), H.num(det.get("pabak")),
                         H.num(det.get("p_positive")), H.num(det.get("p_negative")), H.num(det.get("prevalence_index"))])
        out.append('<h3 id="agreement-additional">Additional indicators (present / absent)</h3>' + H.table(
            ["indicator", "pairs", "kappa [CI]", "AC1 [CI]", "PABAK", "positive agreement", "negative agreement",
             "prevalence index"], rows)
            + '<p class="muted">With a rare category kappa can be low although raters mostly agree (the kappa '
              "paradox, Feinstein &amp; Cicchetti 1990): read kappa with AC1 and the specific agreements.</p>")
        out.append(fig(figs, "agreement/forest_additional.svg", "Additional indicators: kappa against AC1"))
    out.append(fig(figs, "agreement/bland_altman_domains.svg", "Bland-Altman plots of the domain totals"))
    ir = m.get("intra_rater")
    if isinstance(ir, Mapping) and ir:
        out.append('<h3 id="agreement-intra">Intra-rater stability</h3>')
        if "not_estimable" in ir:
            out.append(f"<p>{H.not_estimable(ir)}</p>")
        else:
            mb = ir.get("months_between") or {}
            out.append(f"<p>{H.count(ir.get('n_cases'), k)} cases reassessed by the same rater, "
                       f"{H.num(mb.get('min'), 0)} to {H.num(mb.get('max'), 0)} months apart (median "
                       f"{H.num(mb.get('median'), 0)}). {cap(ir.get('sample', ''))}.</p>")
            rows = [[H.esc(code), _icc_cell(g(b, "forms", "ICC2")) if isinstance(b, Mapping) and "not_estimable" not in b
                     else H.not_estimable(b or {}), H.count(g(b, "n_targets"), k)]
                    for code, b in (ir.get("domain_icc") or {}).items()]
            rows.append(["summary risk, weighted kappa", _cell(ir.get("summary_risk"), "kappa"),
                         H.count(g(ir, "summary_risk", "n_pairs"), k)])
            out.append(H.table(["", "ICC2 [CI] / kappa [CI]", "cases"], rows))
    out.append("</section>")
    return "\n".join(out)


# ---------------------------------------------------------------------------------------------
# predictive validity


def _prop(block: Mapping, i: int, numerator: Any, k: int) -> str:
    """``estimate [lower, upper]`` at position i of a parallel-array block; suppressed with its count."""
    if H.suppressed(numerator, k):
        return "suppressed"
    v = g(block, "estimate", i)
    return H.est(v, {"lower": g(block, "lower", i), "upper": g(block, "upper", i)})


def _cutoff_table(name: str, c: Mapping, k: int) -> str:
    if not isinstance(c, Mapping) or "not_estimable" in c:
        return f"<p>{H.esc(name)} cut-offs: {H.not_estimable(c or {})}</p>" if isinstance(c, Mapping) else ""
    rows = []
    for i, label in enumerate(c.get("labels") or []):
        tp, fp, fn, tn = (g(c, key, i) for key in ("tp", "fp", "fn", "tn"))
        rows.append([H.esc(label), " / ".join(H.count(x, k) for x in (tp, fp, fn, tn)),
                     _prop(c.get("sensitivity") or {}, i, tp, k), _prop(c.get("specificity") or {}, i, tn, k),
                     _prop(c.get("ppv") or {}, i, tp, k), _prop(c.get("npv") or {}, i, tn, k),
                     H.est(g(c, "lr_positive", "estimate", i), {"lower": g(c, "lr_positive", "lower", i),
                                                                 "upper": g(c, "lr_positive", "upper", i)}, 2)])
    br = []
    for b in c.get("base_rates") or []:
        for i, label in enumerate(c.get("labels") or []):
            br.append([H.esc(label), H.pct(b.get("base_rate"), 0), _prop(b.get("ppv") or {}, i, None, k),
                       _prop(b.get("npv") or {}, i, None, k)])
    s = (f"<h4>{H.esc(name)}: cut-offs</h4>" + H.table(
        ["positive at", "TP / FP / FN / TN", "sensitivity [CI]", "specificity [CI]", "PPV [CI]", "NPV [CI]",
         "LR+ [CI]"], rows))
    if br:
        s += H.table(["positive at", "base rate", "PPV [CI]", "NPV [CI]"], br)
    return s


def predictive_section(m: Mapping, figs: Figs, p: Mapping, fig: FigureCounter, k: int) -> str:
    out = ['<section id="predictive"><h2>Predictive validity</h2>']
    if not m:
        out.append("<p>The predictive metrics are missing.</p></section>")
        return "\n".join(out)
    t = p["thresholds"]["auc"]
    meth = m.get("method") or {}
    out.append(method_line(
        "empirical AUC with DeLong 95% interval and stratified bootstrap BCa interval; Harrell's and Uno's C with "
        "infinitesimal-jackknife intervals; Cox model per SD (Efron ties, Wald interval); Wilson intervals for "
        f"proportions; AUC cut-off {t.get('min', '')} ({H.esc(t.get('source', ''))})", m.get("provenance")))
    out.append(method_details(meth))
    for outcome, b in (m.get("outcomes") or {}).items():
        sid = f"predictive-{slug(outcome)}"
        base = "" if H.suppressed(b.get("events"), k) else f", base rate {H.num(b.get('base_rate'))}"
        out.append(f'<h3 id="{sid}">{H.esc(outcome)}: {H.count(b.get("events"), k)} events in '
                   f"{H.count(b.get('n'), k)} cases{base}</h3>")
        rows = []
        for name, e in (b.get("predictors") or {}).items():
            if not isinstance(e, Mapping):
                continue
            if "not_estimable" in e:
                rows.append([H.esc(name), H.count(e.get("events"), k), H.count(e.get("n"), k), H.not_estimable(e),
                             "", "", "", "", ""])
                continue
            a = e.get("auc") or {}
            cox = e.get("cox") or {}
            hr = H.not_estimable(cox) if "not_estimable" in cox else (
                H.est(cox.get("hr"), cox.get("hr_ci"), 2) + (f'<br><span class="muted">PH p {H.pval(g(cox, "ph_test", "p"))}</span>'
                                                            if g(cox, "ph_test", "p") is not None else "")
                if cox else H.DASH)
            band = auc_band(a.get("auc"), p["auc_bands"]) if "not_estimable" not in a else ""
            rows.append([H.esc(name), H.count(e.get("events"), k), H.count(e.get("n"), k),
                         _cell(a, "auc", t) + (f' <span class="muted">{H.esc(band)}</span>' if band else ""),
                         H.ci(g(e, "auc_bootstrap", "bca", "ci")).strip() or H.DASH,
                         _cell(e.get("harrell_c"), "c"), _cell(e.get("uno_c"), "c"), hr])
        out.append(H.table(["predictor", "events", "n", "AUC [DeLong CI]", "BCa CI", "Harrell's C [CI]",
                            "Uno's C [CI]", "HR per SD [CI]"], rows))
        comp = b.get("comparisons") or {}
        if comp.get("tests"):
            crow = []
            for tst in comp["tests"]:
                dl = tst.get("delong") or {}
                if "not_estimable" in tst or not dl or "not_estimable" in dl:
                    crow.append([H.esc(tst.get("label", "")), H.not_estimable(tst if "not_estimable" in tst else dl)
                                 if ("not_estimable" in tst or "not_estimable" in dl) else H.DASH, "", "", ""])
                    continue
                crow.append([H.esc(tst.get("label", "")), H.count(tst.get("events"), k),
                             H.est(dl.get("difference"), dl.get("ci")), H.pval(dl.get("p")), H.pval(tst.get("p_holm"))])
            out.append("<h4>Paired comparisons</h4>" + H.table(
                ["comparison (same cases)", "events", "AUC difference [CI]", "p", "p (Holm)"], crow))
        preds = b.get("predictors") or {}
        for key, name in (("summary_risk", "summary judgement"), ("risk_total", "risk total")):
            c = g(preds, key, "cutoffs")
            if c is not None:
                out.append(_cutoff_table(name, c, k))
        bands = b.get("bands") or {}
        cal = bands.get("calibration") or {}
        if cal.get("bands"):
            rows = []
            for i, band in enumerate(cal["bands"]):
                ev = g(cal, "events", i)
                rate = "suppressed" if H.suppressed(ev, k) else H.est(g(cal, "rate", i), {
                    "lower": g(cal, "lower", i), "upper": g(cal, "upper", i)})
                rows.append([H.esc(band), H.count(g(cal, "n", i), k), H.count(ev, k), rate])
            trend = cal.get("trend") or {}
            lr = bands.get("logrank") or {}
            out.append("<h4>Observed rate by summary risk band</h4>" + H.table(
                ["band", "cases", "events", "rate [Wilson CI]"], rows)
                + f"<p>Trend test (Cochran-Armitage): chi-square {H.num(trend.get('chisq'), 2)}, p {H.pval(trend.get('p'))}; "
                  f"log-rank across bands: chi-square {H.num(lr.get('chisq'), 2)} on {H.num(lr.get('df'))} df, "
                  f"p {H.pval(lr.get('p'))}.</p>")
        td = g(preds, "risk_total", "time_dependent_auc")
        if isinstance(td, list) and td:
            out.append("<h4>Risk total: time-dependent AUC (no interval)</h4>" + H.table(
                ["horizon (years)", "cases with event", "controls", "AUC"],
                [[H.num(x.get("horizon_years"), 1), H.count(x.get("cases"), k), H.count(x.get("controls"), k),
                  H.num(x.get("auc")) if "not_estimable" not in x else H.not_estimable(x)] for x in td]))
        out.append(fig(figs, f"predictive/roc_{outcome}.svg", f"ROC curves, {outcome} recidivism"))
        out.append(fig(figs, f"predictive/km_{outcome}.svg",
                       f"Kaplan-Meier curves by summary risk band, {outcome} recidivism, numbers at risk below"))
        out.append(fig(figs, f"predictive/calibration_{outcome}.svg",
                       f"Observed {outcome} recidivism rate by summary risk band with Wilson intervals"))
    out.append("</section>")
    return "\n".join(out)


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


def version_section(metrics: Mapping[str, Mapping], version: Mapping | None, p: Mapping) -> str:
    out = ['<section id="version"><h2>Version</h2>']
    v = version or {}
    provs = {name: m["provenance"] for name, m in metrics.items()
             if isinstance(m, Mapping) and isinstance(m.get("provenance"), Mapping)}
    dq = provs.get("data_quality") or {}
    rows = [["package version", H.esc(v.get("validation", "not recorded"))],
            ["report code, SHA-256", f'<span class="mono">{H.esc(v.get("code_sha256", "not recorded"))}</span>'],
            ["input data folder", H.esc(g(dq, "params", "validate", "input_dir") or "?")],
            ["input data, DVC hash (dvc.lock)", H.esc(v.get("data_dvc_md5") or "dvc.lock absent or without it")],
            ["input data, content MD5 (provenance)", H.esc(dq.get("data_md5", "?"))],
            ["baseline for changes", H.esc(v.get("baseline", p.get("baseline", "")))]]
    out.append(H.table(["", ""], rows, left=2, cls="version"))
    if provs:
        out.append("<h3>Provenance of each stage's metrics</h3>" + H.table(
            ["metrics", "package version", "code SHA-256 (first 12)", "data MD5", "inputs"],
            [[H.esc(n), H.esc(g(pv, "code", "version") or "?"),
              f'<span class="mono">{H.esc(str(g(pv, "code", "sha256") or "?")[:12])}</span>',
              f'<span class="mono">{H.esc(pv.get("data_md5", "?"))}</span>', H.esc(", ".join(map(str, pv.get("inputs") or [])))]
             for n, pv in provs.items()], left=5))
        out.append('<p class="muted">Each stage records the SHA-256 of the source files it runs (its import '
                   "closure), not a git commit: the same code gives the same record in any clone, and DVC reruns "
                   "a stage exactly when one of those files, its data or its parameters change.</p>")
        params: dict[str, Any] = {}
        for pv in provs.values():
            for sec, val in (pv.get("params") or {}).items():
                params.setdefault(sec, val)
        params["report"] = v.get("report_params") or p
        rows = [[H.esc(sec), "; ".join(f"{H.esc(key)} = {H.esc(_show(val))}" for key, val in _flat(vals))]
                for sec, vals in params.items()]
        out.append("<h3>Parameters</h3>" + H.table(["section", "values"], rows, left=2, cls="kv"))
        pk: dict[str, dict[str, str]] = {}
        for n, pv in provs.items():
            for name, ver in (pv.get("packages") or {}).items():
                pk.setdefault(name, {})[n] = str(ver)
        rows = [[H.esc(name), H.esc(", ".join(sorted(set(vs.values()))))
                 + (' <span class="ne">differs between stages</span>' if len(set(vs.values())) > 1 else "")]
                for name, vs in pk.items()]
        out.append("<h3>Package versions</h3>" + H.table(["package", "version"], rows, left=2, cls="kv"))
    out.append("</section>")
    return "\n".join(out)
