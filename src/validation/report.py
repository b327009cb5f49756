"""The validation report: one self-contained HTML file built from the metrics and figures alone.

:func:`build_report` is a pure function of the metrics (parsed JSON) and the figures (SVG text):
it recomputes nothing and reads no data. CSS and figures are inline; there is no script and no
link to the network, so the file opens offline and prints cleanly.
"""

from __future__ import annotations

import html
import re
from typing import Any, Mapping

__all__ = ["build_report"]

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;max-width:980px;margin:2em auto;
padding:0 1em;color:#1b1b1b;line-height:1.45}
h1{font-size:1.6em;margin-bottom:.2em}h2{border-bottom:2px solid #2166ac;padding-bottom:.2em;margin-top:2em}
h3{margin-top:1.4em}table{border-collapse:collapse;margin:.6em 0;font-size:.9em}
th,td{border:1px solid #ccc;padding:.25em .6em;text-align:right}th{background:#f0f4f8}
td.l,th.l{text-align:left}.muted{color:#666;font-size:.85em}.ne{color:#8a4b00;font-style:italic}
.method{background:#f7f7f7;border-left:3px solid #999;padding:.3em .8em;font-size:.85em}
.figure{margin:1em 0}.figure svg{max-width:100%;height:auto}
.version td{text-align:left}.warn{background:#fff4e5;border-left:3px solid #e08e0b;padding:.5em 1em}
@media print{body{max-width:none;margin:0}h2{page-break-before:auto}.figure{page-break-inside:avoid}}
"""


def _e(x: Any) -> str:
    return html.escape(str(x))


def _num(x: Any, digits: int = 3) -> str:
    if x is None:
        return "&ndash;"
    if isinstance(x, bool):
        return str(x)
    if isinstance(x, int):
        return f"{x:,}"
    if isinstance(x, float):
        return f"{x:.{digits}f}"
    return _e(x)


def _ci(d: Mapping | None, digits: int = 2) -> str:
    if not d:
        return ""
    return f" [{_num(d.get('lower'), digits)}, {_num(d.get('upper'), digits)}]"


def _count(n: Any, k: int) -> str:
    """A count of cases, suppressed below k."""
    if isinstance(n, str):
        return _e(n)
    if n is None:
        return "&ndash;"
    return f"&lt;{k}" if 0 < int(n) < k else f"{int(n):,}"


def _ne(d: Mapping) -> str:
    why = re.sub(r"^(not estimable:\s*)+", "", str(d["not_estimable"]))
    return f'<span class="ne">not estimable: {_e(why)}</span>'


def _table(header: list[str], rows: list[list[str]], left: int = 1) -> str:
    th = "".join(f'<th class="{"l" if i < left else ""}">{h}</th>' for i, h in enumerate(header))
    body = "".join("<tr>" + "".join(f'<td class="{"l" if i < left else ""}">{c}</td>' for i, c in enumerate(r))
                   + "</tr>" for r in rows)
    return f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


def _svg(text: str | None, caption: str) -> str:
    if not text:
        return ""
    text = re.sub(r"<\?xml[^>]*\?>\s*", "", text)
    text = re.sub(r"<!DOCTYPE[^>]*>\s*", "", text)
    return f'<div class="figure">{text}<div class="muted">{_e(caption)}</div></div>'


def _method(m: Mapping | None) -> str:
    if not m:
        return ""
    items = "".join(f"<li><b>{_e(k)}</b>: {_e(v)}</li>" for k, v in m.items() if not isinstance(v, (dict, list)))
    return f'<div class="method"><ul>{items}</ul></div>'


def _estimate_cell(d: Mapping | None, key: str, digits: int = 3) -> str:
    if not d:
        return "&ndash;"
    if "not_estimable" in d:
        return _ne(d)
    return _num(d.get(key), digits) + _ci(d.get("ci"))


# ------------------------------------------------------------------------------------------------


def _version(metrics: Mapping[str, Mapping]) -> str:
    prov = next((m["provenance"] for m in metrics.values() if m and "provenance" in m), None)
    if not prov:
        return ""
    dq = metrics.get("data_quality", {}).get("provenance", {})
    pk = ", ".join(f"{k} {v}" for k, v in prov.get("packages", {}).items())
    rows = [["git commit", _e(prov.get("git_commit"))],
            ["code modified since commit", _e(prov.get("code_modified"))],
            ["input data (MD5)", _e(dq.get("data_md5", prov.get("data_md5")))],
            ["packages", _e(pk)]]
    return "<h2>Version</h2>" + _table(["", ""], rows, left=2)


def _data_section(dq: Mapping, k: int) -> str:
    if not dq:
        return ""
    out = ["<h2>Data</h2>"]
    cases, vr, sq = dq.get("cases", {}), dq.get("vera_ratings", {}), dq.get("sq_responses", {})
    sites = cases.get("by_site", {})
    sq_sites = sq.get("by_site", {})
    rows = [[_e(s), _count(n, k), _count(sq_sites.get(s), k)] for s, n in sites.items()]
    rows.append(["<b>all</b>", _count(cases.get("n"), k), _count(sq.get("n_cases"), k)])
    out.append("<h3>Cases per site</h3>" + _table(["site", "cases", "SQ administrations"], rows))
    if vr:
        occ = ", ".join(f"occasion {o}: {_num(n)}" for o, n in vr.get("by_occasion", {}).items())
        role = ", ".join(f"{r}: {_num(n)}" for r, n in vr.get("by_role", {}).items())
        out.append(f"<p>{_num(vr.get('n_forms'))} VERA rating forms by {_num(vr.get('n_raters'))} raters "
                   f"({occ}; {role}).</p>")
        nr = vr.get("not_rated", {})
        if nr.get("flagged"):
            rates = nr.get("indicators", {})
            flagged = ", ".join(f"{_e(i)} ({rates.get(i, 0):.0%})" for i in nr["flagged"])
            out.append(f'<p class="warn">Indicators not rated in more than {nr.get("threshold", 0):.0%} of forms: '
                       f"{flagged}.</p>")
    design = dq.get("rating_design")
    if isinstance(design, Mapping):
        out.append("<h3>Design of the rating study</h3>")
        out.append(f"<p><b>{_e(design.get('design', ''))}</b>. {_e(design.get('explanation', ''))}</p>")
    outc = dq.get("outcomes", {}).get("by_outcome", {})
    if outc:
        rows = [[_e(name), _count(o.get("n"), k), _count(o.get("events"), k), _num(o.get("base_rate")),
                 _num(o.get("follow_up_years", {}).get("median"), 1)] for name, o in outc.items()]
        out.append("<h3>Outcomes</h3>" + _table(["outcome", "cases", "events", "base rate",
                                                 "median follow-up (years)"], rows))
    return "\n".join(out)


def _reliability_section(m: Mapping) -> str:
    if not m:
        return ""
    out = ["<h2>Reliability</h2>", _method(m.get("method"))]
    rows = []
    for code, b in m.get("vera", {}).get("domains", {}).items():
        ov, od = b.get("overall", {}), b.get("ordinal", {})
        rows.append([_e(code), _e(b.get("label", "")), _num(b.get("k")), _num(ov.get("n")),
                     _estimate_cell(ov.get("alpha"), "alpha"), _estimate_cell(ov.get("omega"), "omega"),
                     _estimate_cell(od.get("alpha"), "alpha"), _estimate_cell(od.get("omega"), "omega")])
    out.append("<h3>VERA domains</h3>" + _table(["code", "name", "items", "n", "alpha [CI]", "omega [CI]",
                                                 "ordinal alpha [CI]", "ordinal omega [CI]"], rows, 2))
    sq = m.get("sq", {})
    rows = []
    for code, b in sq.get("scales", {}).items():
        ov = b.get("overall", {})
        rows.append([_e(code), _e(b.get("label", "")), _num(b.get("k")), _num(ov.get("n")),
                     _estimate_cell(ov.get("alpha"), "alpha"), _estimate_cell(ov.get("omega"), "omega")])
    out.append("<h3>SQ scales</h3>" + _table(["code", "name", "items", "n", "alpha [CI]", "omega [CI]"], rows, 2))
    oh = sq.get("omega_hierarchical")
    if oh:
        if "not_estimable" in oh:
            out.append(f"<p>Omega hierarchical of all SQ items: {_ne(oh)}</p>")
        else:
            out.append(f"<p>All SQ items: omega hierarchical {_num(oh.get('omega_h'))}, omega total "
                       f"{_num(oh.get('omega_total'))}, explained common variance of the general factor "
                       f"{_num(oh.get('ecv'))}.</p>")
    return "\n".join(out)


def _fit_row(name: str, fit: Mapping) -> list[str]:
    ci = {"lower": fit.get("rmsea.ci.lower"), "upper": fit.get("rmsea.ci.upper")}
    return [_e(name), _num(fit.get("chisq"), 1), _num(fit.get("df"), 0), _num(fit.get("pvalue")), _num(fit.get("cfi")),
            _num(fit.get("tli")), _num(fit.get("rmsea")) + _ci(ci, 3), _num(fit.get("srmr"))]


FIT_HEADER = ["model", "chi-square", "df", "p", "CFI", "TLI", "RMSEA [90% CI]", "SRMR"]


def _structure_section(m: Mapping, figs: Mapping[str, str]) -> str:
    if not m:
        return ""
    s = m.get("sq", {})
    rows = [["KMO (overall)", _estimate_cell(s.get("kmo"), "overall")],
            ["Bartlett chi-square", _estimate_cell(s.get("bartlett"), "chisq", 1)],
            ["factors suggested by parallel analysis", _estimate_cell(s.get("parallel_analysis"), "n_factors")],
            ["factors hypothesised", _num(s.get("hypothesised_factors"))]]
    out = ["<h2>Factor structure</h2>", _method(m.get("method")), _table(["", ""], rows),
           _svg(figs.get("structure/scree_sq.svg"), "Scree plot of the SQ items with the parallel-analysis curve"),
           _svg(figs.get("structure/efa_loadings_sq.svg"), "EFA loadings of the SQ items (scale in brackets)")]
    c = s.get("cfa", {})
    if c:
        out.append("<h3>Confirmatory factor analysis of the hypothesised structure</h3>")
        if "not_estimable" in c:
            out.append(f"<p>{_ne(c)}</p>")
        else:
            v = c.get("verdict", {})
            out.append(_table(FIT_HEADER, [_fit_row(f"{len(s.get('cfa', {}).get('std_loadings', []))} loadings, "
                                                    f"n = {c.get('n')}", c.get("fit", {}))]))
            out.append(f"<p>Against {_e(v.get('source', ''))}: <b>{'meets' if v.get('meets') else 'does not meet'}</b> "
                       "the cut-offs.</p>")
    for grouping, inv in s.get("invariance", {}).items():
        out.append(f"<h3>Measurement invariance across {_e(grouping)}s</h3>")
        if "not_estimable" in inv:
            out.append(f"<p>{_ne(inv)}</p>")
            continue
        rows = [_fit_row(st.get("name", ""), st.get("fit", {})) for st in inv.get("steps", [])]
        out.append(_table(FIT_HEADER, rows))
        freed = ", ".join(inv.get("freed_intercepts", [])) or "none"
        out.append(f"<p>Level reached: <b>{_e(inv.get('level'))}</b>; intercepts freed: {_e(freed)}.</p>")
    return "\n".join(out)


def _agreement_section(m: Mapping, figs: Mapping[str, str]) -> str:
    if not m:
        return ""
    out = ["<h2>Inter-rater agreement</h2>", _method(m.get("method"))]
    d = m.get("design", {})
    out.append(f"<p><b>{_e(d.get('design', ''))}</b>: {_num(d.get('n_targets'))} cases, {_num(d.get('n_raters'))} raters, "
               f"{_num(d.get('n_ratings'))} independent rating forms on occasion 1. {_e(d.get('explanation', ''))}</p>")
    rows = []
    for code, r in m.get("domain_icc", {}).items():
        if "not_estimable" in r:
            rows.append([_e(code), _ne(r), ""])
            continue
        forms = {f.get("type"): f for f in r.get("forms", [])} if isinstance(r.get("forms"), list) else r.get("forms", {})
        f2 = forms.get("ICC2", {}) if isinstance(forms, Mapping) else {}
        rows.append([_e(code), _num(f2.get("icc")) + _ci(f2.get("ci")), _num(r.get("n_targets"))])
    out.append("<h3>Domain totals (crossed block, ICC2 = A,1)</h3>" + _table(["domain", "ICC [CI]", "cases"], rows))
    out.append(_svg(figs.get("agreement/forest_domains.svg"), "ICC of domain totals with intervals and Koo & Li bands"))
    out.append(_svg(figs.get("agreement/forest_indicators.svg"), "Agreement by indicator with intervals"))
    out.append(_svg(figs.get("agreement/forest_additional.svg"), "Additional indicators: kappa against AC1"))
    out.append(_svg(figs.get("agreement/bland_altman_domains.svg"), "Bland-Altman plots of domain totals"))
    return "\n".join(out)


def _predictive_section(m: Mapping, figs: Mapping[str, str], k: int) -> str:
    if not m:
        return ""
    out = ["<h2>Predictive validity</h2>", _method(m.get("method"))]
    for outcome, b in m.get("outcomes", {}).items():
        rows = []
        for name, e in b.get("predictors", {}).items():
            if "not_estimable" in e:
                rows.append([_e(name), _count(e.get("events"), k), _count(e.get("n"), k), _ne(e), "", "", ""])
                continue
            cox = e.get("cox", {})
            hr = _ne(cox) if "not_estimable" in cox else (_num(cox.get("hr"), 2) + _ci(cox.get("hr_ci")) if cox else "")
            rows.append([_e(name), _count(e.get("events"), k), _count(e.get("n"), k),
                         _estimate_cell(e.get("auc"), "auc"),
                         _ci((e.get("auc_bootstrap") or {}).get("bca", {}).get("ci")).strip() or "&ndash;",
                         _estimate_cell(e.get("harrell_c"), "c"), hr])
        out.append(f"<h3>{_e(outcome)}: {_count(b.get('events'), k)} events in {_count(b.get('n'), k)} cases</h3>")
        out.append(_table(["predictor", "events", "n", "AUC [DeLong CI]", "bootstrap BCa CI", "Harrell's C [CI]",
                           "HR per SD [CI]"], rows))
        comp = b.get("comparisons", {})
        if comp.get("tests"):
            crow = []
            for t in comp["tests"]:
                dl = t.get("delong", {})
                if "not_estimable" in t or not dl:
                    crow.append([_e(t.get("label", "")), _ne(t) if "not_estimable" in t else "", "", ""])
                    continue
                crow.append([_e(t.get("label", "")), _num(dl.get("difference")) + _ci(dl.get("ci")),
                             _num(dl.get("p")), _num(t.get("p_holm", dl.get("p_holm")))])
            out.append(_table(["paired DeLong comparison", "AUC difference [CI]", "p", "p (Holm)"], crow))
        out.append(_svg(figs.get(f"predictive/roc_{outcome}.svg"), f"ROC curves, {outcome} recidivism"))
        out.append(_svg(figs.get(f"predictive/km_{outcome}.svg"),
                        f"Kaplan-Meier curves by summary risk band, {outcome} recidivism, numbers at risk below"))
        out.append(_svg(figs.get(f"predictive/calibration_{outcome}.svg"),
                        f"Observed {outcome} recidivism rate by summary risk band with Wilson intervals"))
    return "\n".join(out)


def build_report(metrics: Mapping[str, Mapping], figs: Mapping[str, str], *, k_suppress: int = 5,
                 title: str = "Validation report: VERA-2R + SQ battery") -> str:
    """The report as HTML text.

    Parameters
    ----------
    metrics : parsed metrics files by stage name (``data_quality``, ``reliability``, ``structure``,
        ``agreement``, ``predictive``)
    figs : SVG text by path relative to ``reports/figures`` (e.g. ``"structure/scree_sq.svg"``)
    k_suppress : counts of cases below this are shown as ``<k``
    """
    rel = metrics.get("reliability", {})
    placeholder = rel.get("sq", {}).get("placeholder_key")
    warn = ('<p class="warn">The SQ item key used here is a <b>placeholder</b>: scale results describe the '
            "placeholder structure, not the licensed questionnaire.</p>") if placeholder else ""
    body = "\n".join([
        f"<h1>{_e(title)}</h1>",
        '<p class="muted">Built from the pipeline\'s metrics and figures only. Counts of cases below '
        f"{k_suppress} are suppressed.</p>",
        warn,
        _data_section(metrics.get("data_quality", {}), k_suppress),
        _reliability_section(rel),
        _structure_section(metrics.get("structure", {}), figs),
        _agreement_section(metrics.get("agreement", {}), figs),
        _predictive_section(metrics.get("predictive", {}), figs, k_suppress),
        _version(metrics),
    ])
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{_e(title)}</title><style>{CSS}</style></head>\n<body>\n{body}\n</body></html>\n")
