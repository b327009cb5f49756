"""The validation report: one self-contained HTML file built from the metrics and figures alone.

:func:`build_report` is a pure function of the metrics (parsed JSON), the figures (SVG text), the
report parameters, the baseline's metrics and the version information: it recomputes nothing and
reads no data or file. CSS and figures are inline; there is no script and no link to the network,
so the file opens offline and prints cleanly to PDF. The page holds no timestamp: the same inputs
give the same bytes.

Order of the page: the bottom line (a verdict per intended use) beside the limitations found in
the metrics, the key figures (intervals, n, verdicts against cut-offs with their sources), then data, reliability, factor structure and
invariance, agreement and predictive validity, the reporting checklists (GRRAS, TRIPOD, COSMIN),
changes since the baseline and the version.
"""

from __future__ import annotations

from typing import Mapping

from validation.report import view as V
from validation.report.across_sites import across_sites_section
from validation.report.bottom_line import bottom_line_section, judge_uses, judgement_vs_total
from validation.report.changes import changes_section, compare, flatten
from validation.report.checklists import checklists, checklists_section
from validation.report.limits import alarm, is_synthetic, limitations, limitations_section
from validation.report.render import render_page
from validation.report.rules import DEFAULTS, merge_params
from validation.report.fairness import fairness_key_figures, fairness_section, fairness_summary
from validation.report.training import training_key_figures, training_section, training_summary
from validation.report.verdicts import judge
from validation.report.sections import (FigureCounter, agreement_section, data_section, predictive_section,
                                        reliability_section, structure_section, version_section)
from validation.report.summary import (from_bundles, g, key_figures, next_study_rows, planning_section,
                                      summary_records, summary_section)

__all__ = ["build_report", "summary", "key_figures", "limitations", "checklists", "compare", "flatten", "judge",
           "merge_params", "DEFAULTS"]

TOC = (("bottom-line", "Bottom line"), ("limitations", "Limitations"), ("summary", "Key figures"), ("data", "Data"),
       ("reliability", "Reliability"), ("structure", "Factor structure and invariance"),
       ("agreement", "Inter-rater agreement"), ("predictive", "Predictive validity"),
       ("training", "Rater training"), ("fairness", "Predictive fairness"), ("planning", "Planning the next study"), ("checklists", "Reporting checklists"), ("changes", "Changes since the baseline"), ("version", "Version"))


def build_report(metrics: Mapping[str, Mapping], figs: Mapping[str, str], *, k_suppress: int | None = None,
                 params: Mapping | None = None, baseline: Mapping | None = None, version: Mapping | None = None,
                 title: str = "Validation report: VERA-2R + SQ battery") -> str:
    """The report as HTML text.

    Parameters
    ----------
    metrics : parsed metrics files by stage name (``data_quality``, ``reliability``, ``structure``,
        ``agreement``, ``predictive``); a missing one leaves its section saying so.
    figs : SVG text by path relative to ``reports/figures`` (e.g. ``"structure/scree_sq.svg"``).
    k_suppress : counts of cases below this are shown as ``<k`` (overrides ``params["k_suppress"]``).
    params : the ``report:`` section of params.yaml (cut-offs with sources, limitation thresholds,
        ...), merged over :data:`DEFAULTS`.
    baseline : ``{"revision": str, "commit": str | None, "metrics": {stage: dict | None},
        "note": str | None}``: the baseline's metrics for "changes since"; None: no baseline.
    version : ``{"validation", "code_sha256", "data_dvc_md5", "baseline", "report_params"}``:
        what the stage knows of the checkout (shown in the Version section).
    title : page title.

    Returns
    -------
    str : the HTML document.
    """
    if not isinstance(metrics, Mapping):
        raise TypeError(f"metrics must be a mapping of stage name to parsed metrics, got {type(metrics).__name__}")
    if not isinstance(figs, Mapping):
        raise TypeError(f"figs must be a mapping of figure path to SVG text, got {type(figs).__name__}")
    p = merge_params(params)
    if k_suppress is not None:
        p = merge_params({**(params or {}), "k_suppress": k_suppress})
    k = int(p["k_suppress"])
    metrics = {name: (m if isinstance(m, Mapping) else {}) for name, m in metrics.items()}
    figures = all_key_figures(metrics, p)
    lims = limitations(metrics, figures, p, k)
    changes, digest = changes_section(metrics, baseline, k, float(p["change_tolerance"]))
    fig = FigureCounter()
    intro = V.line(f"Built from the pipeline's metrics and figures only (nothing recomputed). Counts of fewer than {k} "
                   f"cases are suppressed (shown as <{k}); where a printed total would reveal one, a second cell is "
                   "hidden too (*); a rate is hidden with its count. ", _version_line(metrics, version))
    uses = judge_uses(figures, p)
    pooled = across_sites_section(metrics.get("pooled"))
    if from_bundles(metrics):       # the per-row stages did not run: the pooled figures are the report's
        details = [pooled_instead_section(anchor, title) for anchor, title in DETAILS]
        details.append(training_section(metrics.get("training") or {}, figs, fig, k))
        details.append(fairness_section(metrics.get("fairness") or {}, figs, fig, k))
    else:
        details = [data_section(metrics.get("data_quality") or {}, k),
                   reliability_section(metrics.get("reliability") or {}, figs, p["thresholds"], fig, k),
                   structure_section(metrics.get("structure") or {}, figs, p, fig, k),
                   agreement_section(metrics.get("agreement") or {}, figs, p, fig, k),
                   predictive_section(metrics.get("predictive") or {}, figs, p, fig, k),
                   training_section(metrics.get("training") or {}, figs, fig, k),
                   fairness_section(metrics.get("fairness") or {}, figs, fig, k)]
    sections = [
        (bottom_line_section(uses, k, is_synthetic(metrics), judgement_vs_total(metrics.get("predictive") or {})),
         limitations_section(lims)),
        summary_section(figures, k, p, digest),
        *([pooled] if pooled is not None else []),
        *details,
        planning_section(figures, k, metrics.get("plan"),
                         fig(figs, "plan/decided.svg", "Probability of a decided verdict (meets or does not meet) "
                             "against the number of cases, by simulation on the battery's generator")
                         if g(metrics, "plan", "run") else None, next_study_rows(metrics, p)),
        checklists_section(metrics),
        changes,
        version_section(metrics, {**(version or {}), "report_params": (version or {}).get("report_params", p)}, p),
    ]
    toc = list(TOC)
    if pooled is not None:
        toc.insert(toc.index(("summary", "Key figures")) + 1, ("across-sites", "Across sites"))
    return render_page(title, intro, alarm(metrics), toc, sections)


def summary(metrics: Mapping[str, Mapping], *, params: Mapping | None = None) -> dict:
    """``reports/metrics/summary.json``: the executive summary's key figures, one record each
    (``id, area, label, estimate, ci_lower, ci_upper, ci_level, n, null_value, cutoff,
    cutoff_source, verdict``), judged by the same rules as the report; ``judgement_vs_total``, the paired
    comparison of the summary judgement with the risk total per outcome; and ``estimates``, each
    figure's estimate by id, the view that ``dvc metrics show`` and ``dvc metrics diff`` print (DVC
    does not read lists)."""
    p = merge_params(params)
    metrics = {name: (m if isinstance(m, Mapping) else {}) for name, m in metrics.items()}
    figures = all_key_figures(metrics, p)
    records = summary_records(figures, int(p["k_suppress"]))
    comparisons = [{key: r[key] for key in ("outcome", "difference", "ci_lower", "ci_upper", "p_holm")}
                   for r in judgement_vs_total(metrics.get("predictive") or {})]
    out = {"intended_uses": [u.record() for u in judge_uses(figures, p)], "key_figures": records,
           "judgement_vs_total": comparisons, "estimates": {r["id"]: r["estimate"] for r in records}}
    trained = training_summary(metrics.get("training") or {})
    if trained is not None:
        out["training"] = trained
    fair = fairness_summary(metrics.get("fairness") or {})
    if fair is not None:
        out["fairness"] = fair
    return out


def all_key_figures(metrics: Mapping[str, Mapping], p: Mapping) -> list:
    """The key figures of the validation (or of the pooled site bundles), of the rater training and of the
    predictive fairness."""
    return (key_figures(metrics, p) + training_key_figures(metrics.get("training") or {})
            + fairness_key_figures(metrics.get("fairness") or {}))


DETAILS = (("data", "Data"), ("reliability", "Reliability"), ("structure", "Factor structure and invariance"),
           ("agreement", "Inter-rater agreement"), ("predictive", "Predictive validity"))


def pooled_instead_section(anchor: str, title: str) -> V.Section:
    """A detail section of a report built from site bundles: the case-level analysis was not run here."""
    return V.section(anchor, V.Heading(2, V.line(title)),
                     V.Para(V.line("Not run here: the figures come from the site bundles (sites.source: bundles in "
                                   "params.yaml); each site's analysis stayed at the site. The pooled figures are in ",
                                   V.link("Across sites", "across-sites"), " and in the key figures above.")))


def _version_line(metrics: Mapping[str, Mapping], version: Mapping | None) -> V.Line:
    v = version or {}
    soft = v.get("validation") or next((m["provenance"]["code"].get("version") for m in metrics.values()
                                        if isinstance(g(m, "provenance", "code"), Mapping)), None)
    if not soft:
        return ()
    return V.line(f"Version: validation {soft} (", V.link("details", "version"), ").")
