"""The "Across sites" page: the pooled key figures of site bundles, each with its forest plot, how it
was pooled, the heterogeneity in words and the sites outside the prediction interval."""

from __future__ import annotations

from typing import Any, Mapping

from validation.report import html as H
from validation.report import view as V
from validation.report.figures.across_sites import forest_svg
from validation.report.render import render_page
from validation.report.rules import I2_SOURCE, heterogeneity_words
from validation.report.verdicts import NULL_VALUES


def _pct(rec: Mapping) -> str:
    """The level of a record's intervals in percent."""
    return f"{100 * float(rec.get('ci_level') or 0.95):g}%"


def _outside(rec: Mapping) -> list[str]:
    lo, hi = rec.get("pi_lower"), rec.get("pi_upper")
    if lo is None or hi is None:
        return []
    return [s["site"] for s in rec.get("site_estimates") or [] if not lo <= s["estimate"] <= hi]


def _figure_blocks(i: int, rec: Mapping) -> list:
    fid = f"pooled-{i + 1}"
    ci = f"{H.num(rec['estimate'])} [{H.num(rec.get('ci_lower'))}, {H.num(rec.get('ci_upper'))}]"
    blocks: list[Any] = [V.Heading(3, V.line(rec["label"]), fid)]
    if rec["pooling"] == "exact":
        how = (f"Exact: the {rec['k_sites']} sites' sufficient statistics added up give the figure of all "
               f"{H.num(rec.get('n'))} cases together, as if the data had been pooled.")
    else:
        how = (f"Random-effects meta-analysis of {rec['k_sites']} sites ({rec.get('method', 'REML')}, on the "
               f"{rec.get('scale')} scale): tau\u00b2 = {H.num(rec.get('tau2'), sci=False)}, I\u00b2 = "
               f"{H.num(rec.get('i2'), 0)}%: heterogeneity {heterogeneity_words(rec.get('i2'))} ({I2_SOURCE}); "
               f"Q p = {H.pval(rec.get('q_p'))}. A new site's true value lies in "
               f"[{H.num(rec.get('pi_lower'))}, {H.num(rec.get('pi_upper'))}] ({_pct(rec)} prediction interval).")
        outside = _outside(rec)
        if outside:
            how += f" Outside the prediction interval: {', '.join(outside)}."
    badge = V.badge(rec["verdict"]) if rec.get("verdict") else V.muted(rec.get("reason", ""))
    blocks.append(V.Para(V.line(V.b(ci), " ", badge, " ", how)))
    if rec.get("site_estimates"):
        svg = forest_svg(rec, NULL_VALUES.get(rec["kind"]))
        blocks.append(V.Figure(H.svg_clean(svg, fid + "-forest"),
                               f"{rec['label']}: each site's estimate (squares sized by weight) with its {_pct(rec)} "
                               "interval, the pooled estimate (diamond) and the prediction interval (dashed)",
                               fid + "-forest"))
    return blocks


FIT_ROWS = (("cfi", "CFI"), ("tli", "TLI"), ("rmsea", "RMSEA"), ("srmr", "SRMR"), ("chisq", "chi-square"),
            ("df", "df"))


def _model_blocks(pooled: Mapping) -> list:
    """The SQ model fitted to the sites' pooled moments and its standardised loadings pooled by meta-analysis."""
    blocks: list[Any] = []
    for m in pooled.get("models") or []:
        if "fit" not in m:
            blocks.append(V.Para(V.line(f"{m['label']}: {m.get('not_estimable')} ({m.get('note')}).")))
            continue
        fit = m["fit"]
        rows = [[name, H.num(fit.get(key), 0 if key == "df" else 3)
                 + (f" [{H.num(fit.get('rmsea.ci.lower'))}, {H.num(fit.get('rmsea.ci.upper'))}] (90% CI)"
                    if key == "rmsea" else "")] for key, name in FIT_ROWS]
        how = "full-information ML" if m.get("missing") == "ml" else "ML"
        blocks += [V.Para(V.line(f"{m['label']}, {how} on the {m['k_sites']} sites' moments of {H.num(m['n'])} "
                                 f"cases: exact, the fit of those cases together; {m.get('note')}.")),
                   V.table(["fit measure", "value"], rows, 1)]
    for grouping, inv in (pooled.get("invariance") or {}).items():
        if "steps" in inv:
            rows = [[st["name"], H.num(st["fit"].get("cfi")), H.num(st["fit"].get("rmsea")),
                     H.num(st.get("delta_cfi")), H.pval(st.get("pvalue")),
                     H.DASH if st.get("holds") is None else ("holds" if st["holds"] else "does not hold")]
                    for st in inv["steps"]]
            blocks += [V.Para(V.line(f"Invariance across {grouping}s ({', '.join(inv['groups'])}), {inv['how']}: "
                                     f"{inv['level']} reached.")),
                       V.table(["step", "CFI", "RMSEA", "change in CFI", "p of the difference", "criteria"], rows, 1)]
        else:
            blocks.append(V.Para(V.line(f"Invariance across {grouping}s, {inv.get('how', '')}: "
                                        f"{inv.get('not_estimable')}.")))
    loads = pooled.get("loadings") or []
    if loads:
        rows = [[r["factor"], r["item"], f"{H.num(r['estimate'])} [{H.num(r['ci_lower'])}, {H.num(r['ci_upper'])}]",
                 H.num(r.get("i2"), 0), H.num(r.get("k_sites"))] for r in loads]
        blocks += [V.Para(V.line(f"Standardised loadings: each site's full-information ML loading pooled by random-effects "
                                 f"meta-analysis on Fisher's z ({_pct(loads[0])} intervals).")),
                   V.table(["factor", "item", "loading [CI]", "I\u00b2 %", "sites"], rows, 2)]
    return blocks


def _cutoff_blocks(pooled: Mapping) -> list:
    """Sensitivity and specificity at the cut-offs, exact from the sites' counts of events at each score."""
    rows = []
    for t in pooled.get("cutoffs") or []:
        sens, spec = t.get("sensitivity") or {}, t.get("specificity") or {}
        for i, label in enumerate(t.get("labels") or []):
            rows.append([f"{t['outcome']}: {PREDICTOR_NAMES.get(t['predictor'], t['predictor'])} {label}",
                         _with_ci(sens, i), _with_ci(spec, i)])
    if not rows:
        return []
    return [V.Para(V.line("Exact: the sites' counts of events and non-events at each score added up give the table "
                          "of all their cases together (Wilson intervals).")),
            V.table(["cut-off", "sensitivity [CI]", "specificity [CI]"], rows, 1)]


PREDICTOR_NAMES = {"risk_total": "risk total", "summary_risk": "summary judgement"}


def _with_ci(block: Mapping, i: int) -> str:
    est, lo, hi = (block.get(key) or [None] * (i + 1) for key in ("estimate", "lower", "upper"))
    return f"{H.num(est[i])} [{H.num(lo[i])}, {H.num(hi[i])}]"


def across_sites_page(pooled: Mapping) -> str:
    """The HTML page of a pooled summary (:func:`validation.pipeline.bundle.pool_bundles`)."""
    recs = list(pooled["key_figures"])
    exact = sum(r["pooling"] == "exact" for r in recs)
    summary_rows = [[r["label"], f"{H.num(r['estimate'])} [{H.num(r.get('ci_lower'))}, {H.num(r.get('ci_upper'))}]",
                     r["pooling"], H.num(r.get("i2"), 0) if r["pooling"] != "exact" else H.DASH,
                     V.badge(r["verdict"]) if r.get("verdict") else H.DASH] for r in recs]
    intro = V.line(f"{len(pooled['sites'])} site bundles ({', '.join(pooled['sites'])}); {exact} of {len(recs)} "
                   "figures pooled exactly from the sites' sufficient statistics, the others by random-effects "
                   "meta-analysis.")
    withheld = [V.line(f"{site}: {w}") for site, ws in pooled.get("withheld", {}).items() for w in ws]
    model_blocks = _model_blocks(pooled)
    cutoff_blocks = _cutoff_blocks(pooled)
    sections = [
        V.section("across-sites", V.Heading(2, V.line("Across sites")),
                  V.table(["figure", f"estimate [{_pct(recs[0] if recs else {})} CI]", "pooling", "I\u00b2 %", "verdict"],
                          summary_rows, 1,
                          also_left=(2, 4))),
        V.section("figures", V.Heading(2, V.line("Each figure")),
                  [b for i, r in enumerate(recs) for b in _figure_blocks(i, r)]),
        *([V.section("model", V.Heading(2, V.line("The SQ factor model")), model_blocks)] if model_blocks else []),
        *([V.section("cutoffs", V.Heading(2, V.line("Cut-offs")), cutoff_blocks)] if cutoff_blocks else []),
        V.section("withheld", V.Heading(2, V.line("What the sites withheld")),
                  V.Para(V.line("No count of 1 to k-1 cases left a site; the tables holding one were withheld "
                                "whole and their figures pooled by meta-analysis.")),
                  V.Bullets(tuple(withheld)) if withheld else V.Para(V.line("Nothing."))),
    ]
    toc = [("across-sites", "Across sites"), ("figures", "Each figure"),
           *([("model", "The SQ factor model")] if model_blocks else []),
           *([("cutoffs", "Cut-offs")] if cutoff_blocks else []), ("withheld", "What the sites withheld")]
    return render_page("Validation across sites", intro, None, toc, sections)


def no_bundles_page() -> str:
    """The page when nothing is pooled (``sites.source: local``)."""
    return render_page("Validation across sites", V.line("No site bundles are pooled: sites.source is local in "
                                                         "params.yaml, and the report shows the local folder's figures."),
                       None, [], [V.section("across-sites", V.Heading(2, V.line("Across sites")),
                                            V.Para(V.line("Nothing pooled. To pool site bundles, put them under "
                                                          "data/bundles/, list them in sites.bundles and set "
                                                          "sites.source: bundles.")))])


def across_sites_section(pooled: Any) -> V.Section | None:
    """The report's section on pooled site bundles (None when nothing was pooled)."""
    if not isinstance(pooled, Mapping) or pooled.get("source") != "bundles":
        return None
    recs = list(pooled.get("key_figures") or [])
    rows = [[r["label"], f"{H.num(r['estimate'])} [{H.num(r.get('ci_lower'))}, {H.num(r.get('ci_upper'))}]",
             r["pooling"], H.num(r.get("k_sites")), H.num(r.get("i2"), 0) if r["pooling"] != "exact" else H.DASH,
             V.badge(r["verdict"]) if r.get("verdict") else H.DASH] for r in recs]
    exact = sum(r["pooling"] == "exact" for r in recs)
    return V.section(
        "across-sites", V.Heading(2, V.line("Across sites")),
        V.Para(V.line(f"{len(pooled.get('sites') or [])} site bundles pooled ({', '.join(pooled.get('sites') or [])}): "
                      f"{exact} of {len(recs)} figures exactly, from the sites' sufficient statistics added up (equal "
                      "to the figure of all their cases together), the others by random-effects meta-analysis (REML; "
                      "tau\u00b2, I\u00b2 and the prediction interval in reports/metrics/pooled.json). Forest plots: "
                      "reports/across_sites.html.")),
        V.table(["figure", f"estimate [{_pct(recs[0] if recs else {})} CI]", "pooling", "sites", "I\u00b2 %",
                 "verdict"], rows, 1, also_left=(2, 5)))


def what_leaves_page(manifest: Mapping, parts: Mapping) -> str:
    """The page a site reads before it sends its bundle: what leaves, what was withheld and why, and the
    SHA-256 of every part."""
    c = manifest["counts"]
    rows = []
    for name, e in parts["reliability"].items():
        rows.append(["reliability", name, ("pairwise item sums (counts, sums, cross-products), " if "pairwise" in e else "")
                     + "alpha and omega with their precision"])
    for outcome, preds in parts["predictive"].items():
        for name, e in preds.items():
            what = ("nothing (too few events or non-events)" if e.get("withheld") else
                    ("events and non-events at each score, " if "counts" in e else "")
                    + "AUC, Harrell's C and hazard ratio with their variances")
            rows.append(["predictive", f"{outcome}: {name}", what])
    sr = parts["agreement"]["summary_risk"]
    rows.append(["agreement", "summary risk judgement",
                 "nothing (too few pairs)" if sr.get("withheld") else
                 ("rating table, " if "table" in sr else "") + "weighted kappa with its standard error"])
    for item, e in (parts["agreement"].get("indicators") or {}).items():
        rows.append(["agreement", f"indicator {item}",
                     "nothing (too few pairs)" if e.get("withheld") else
                     ("rating table, " if "table" in e else "") + "weighted kappa with its standard error"])
    sqs = (parts.get("structure") or {}).get("sq")
    if sqs:
        rows.append(["structure", "SQ items",
                     ("complete-case count, sums and cross-products, " if "moments" in sqs else "")
                     + ("each missing-data pattern's count, sums and cross-products, " if "pattern_moments" in sqs
                        else "")
                     + ("standardised loadings with their standard errors" if isinstance(sqs.get("std_loadings"), list)
                        else "no loadings (the site's model is not estimable)")])
    for code, e in (parts["agreement"].get("icc") or {}).items():
        rows.append(["agreement", f"ICC {code.replace('_', ' ')}",
                     "REML ICC (A,1) with the variance of its Fisher z" if "estimate" in e else "nothing (not estimable)"])
    sections = [
        V.section("leaves", V.Heading(2, V.line("What leaves the site")),
                  V.Para(V.line(f"Aggregates only: no case key, rater key, free text or date. From {c['cases']} cases, "
                                f"{c['rating_forms']} rating forms and {c['sq_administrations']} SQ administrations "
                                "(counts only).")),
                  V.table(["part", "figure", "what is sent"], rows, 3)),
        V.section("withheld", V.Heading(2, V.line("Withheld")),
                  V.Para(V.line("No count of 1 to k-1 cases leaves the site: a table holding one is withheld whole, "
                                "and its figure is pooled by meta-analysis from the site's estimate.")),
                  V.Bullets(tuple(V.line(w) for w in manifest["withheld"])) if manifest["withheld"]
                  else V.Para(V.line("Nothing."))),
        V.section("hashes", V.Heading(2, V.line("Integrity")),
                  V.Para(V.line("SHA-256 of every part (in manifest.json, whose own hash is in manifest.sha256); the "
                                "coordinating team refuses a bundle in which one byte changed.")),
                  V.table(["part", "SHA-256"], [[n, V.mono(h)] for n, h in manifest["parts"].items()], 2)),
    ]
    intro = V.line(f"Site bundle of {manifest['site']} ({manifest['format']}, validation {manifest['package_version']}); "
                   f"instruments {manifest['instruments']['vera']['name']} and {manifest['instruments']['sq']['name']}.")
    return render_page(f"What leaves site {manifest['site']}", intro, None,
                       [("leaves", "What leaves"), ("withheld", "Withheld"), ("hashes", "Integrity")], sections)
