"""The validation report from hand-made metrics: verdicts at their boundaries, the limitations each
condition triggers, the reporting checklists, suppression of small counts, escaping, and a page
that is self-contained (no script, nothing from the network) and deterministic."""

from __future__ import annotations

import copy
import html
import math
import re

import pytest

from validation.report.checklists import AUTHORS, FILLED, checklists
from validation.report.html import counts_with_total, svg_clean
from validation.report.limits import limitations
from validation.report.rules import auc_band, cutoff_text, merge_params
from validation.report.verdicts import CHANCE, FAILS, INCONCLUSIVE, MEETS, NE
from validation.report.summary import key_figures
from validation.report.build import build_report


def ci(lo, hi, level=0.95):
    return {"lower": lo, "upper": hi, "level": level, "method": "test"}


def prov(sha="abc1234def" * 6 + "abcd", input_dir="data/raw"):
    return {"stage": "x", "code": {"version": "0.1.0", "sha256": sha, "files": 20}, "data_md5": "0" * 32,
            "inputs": ["data/clean/cases.parquet"],
            "params": {"validate": {"input_dir": input_dir}, "reliability": {"ci_method": "feldt", "n_boot": 10}},
            "packages": {"python": "3.11", "numpy": "2.3", "validation": "0.1.0"}}


def icc_form(icc, lo, hi, band="good"):
    return {"icc": icc, "ci": ci(lo, hi), "band": band}


def wkappa(k, lo, hi, n_pairs=120):
    return {"kappa": k, "ci": ci(lo, hi), "n_pairs": n_pairs, "band": "substantial"}


def predictor(auc, lo, hi, n=400, events=40):
    return {"direction": "higher", "n": n, "events": events, "non_events": n - events,
            "auc": {"auc": auc, "ci": ci(lo, hi)},
            "auc_bootstrap": {"bca": {"ci": ci(lo - 0.01, hi - 0.01)}},
            "harrell_c": {"c": auc - 0.01, "ci": ci(lo - 0.01, hi - 0.01)},
            "cox": {"hr": 1.8, "hr_ci": ci(1.3, 2.4), "ph_test": {"p": 0.4}}}


def clean_metrics() -> dict:
    """Metrics that trigger no limitation: real input, licensed key, large samples, narrow intervals."""
    return {
        "data_quality": {
            "provenance": prov(),
            "instruments": {"vera": {"name": "VERA-2R", "version": "2R"}, "sq": {"name": "SQ", "version": "1"}},
            "cases": {"n": 400, "by_site": {"S1": 250, "S2": 150}, "by_sex": {"F": 100, "M": 300}},
            "sq_responses": {"n": 390, "n_cases": 390, "by_site": {"S1": 240, "S2": 150},
                             "missing": {"threshold": 0.1, "overall": 0.02, "items": {"SQ01": 0.02}, "flagged": []}},
            "vera_ratings": {"n_forms": 500, "n_cases": 400, "n_raters": 6, "by_occasion": {"1": 500},
                             "by_role": {"independent": 500},
                             "not_rated": {"threshold": 0.1, "indicators": {"BA1": 0.02}, "flagged": [],
                                           "overall": {"indicators": 0.02}}},
            "rating_design": {"design": "fully crossed", "explanation": "every rater rated every case",
                              "n_ratings": 500, "n_targets": 400, "n_raters": 6},
            "outcomes": {"by_outcome": {"violent": {"n": 400, "events": 40, "base_rate": 0.1,
                                                    "follow_up_years": {"median": 3.0, "min": 0.5, "max": 6.0}}}},
        },
        "reliability": {
            "provenance": prov(), "method": {"alpha": "Cronbach's alpha"},
            "vera": {"instrument": "VERA-2R", "domains": {"BA": {"label": "Beliefs", "k": 7, "overall": {
                "n": 400, "alpha": {"alpha": 0.85, "ci": ci(0.82, 0.88), "n": 400},
                "omega": {"omega": 0.86, "ci": ci(0.83, 0.89), "n": 380}}}}},
            "sq": {"instrument": "SQ", "placeholder_key": False, "scales": {"needs": {"label": "Needs", "k": 22, "overall": {
                "n": 390, "alpha": {"alpha": 0.9, "ci": ci(0.88, 0.92), "n": 390},
                "omega": {"omega": 0.9, "ci": ci(0.88, 0.92), "n": 390}}}}},
        },
        "structure": {
            "provenance": prov(), "method": {"cfa": "ML CFA"},
            "sq": {"placeholder_key": False, "n": 390, "k": 66, "hypothesised_factors": 3,
                   "parallel_analysis": {"n_factors": 3, "n": 390},
                   "cfa": {"n": 390, "missing": "fiml", "fit": {"chisq": 100.0, "df": 80, "pvalue": 0.06, "cfi": 0.97,
                                                               "tli": 0.96, "rmsea": 0.03, "rmsea.ci.lower": 0.02,
                                                               "rmsea.ci.upper": 0.04, "srmr": 0.04}},
                   "invariance": {"site": {"groups": ["S1", "S2"], "nobs": {"S1": 240, "S2": 150}, "level": "scalar",
                                           "freed_intercepts": [], "groups_dropped": {}, "criteria": {"delta_cfi": -0.01},
                                           "steps": [{"name": "configural", "fit": {"cfi": 0.97}, "holds": None},
                                                     {"name": "metric", "fit": {"cfi": 0.968}, "delta_cfi": -0.002,
                                                      "delta_rmsea": 0.001, "holds": True},
                                                     {"name": "scalar", "fit": {"cfi": 0.965}, "delta_cfi": -0.003,
                                                      "delta_rmsea": 0.002, "holds": True}]}}},
        },
        "agreement": {
            "provenance": prov(), "method": {"inter_rater": "independent forms"},
            "design": {"design": "fully crossed", "n_targets": 400, "n_raters": 6, "n_ratings": 500,
                       "block_n_targets": 60, "block_n_raters": 3,
                       "grras": {"item_6": "6 raters, 400 cases", "item_11": "all included", "item_13": "intervals"}},
            "domain_icc": {"BA": {"label": "Beliefs", "n_targets": 60, "n_raters": 3,
                                  "forms": {"ICC2": icc_form(0.85, 0.8, 0.9)},
                                  "reml": {"n_targets": 400, "forms": {"ICC2": icc_form(0.84, 0.8, 0.88)}},
                                  "sem_sdc": {"reml": {"sem": 1.0, "sdc": 2.8}},
                                  "bland_altman": {"n": 100, "bias": 0.1, "bias_ci": ci(-0.1, 0.3), "lower": -2.0,
                                                   "upper": 2.2}}},
            "summary_risk": {"weighted_kappa": wkappa(0.75, 0.7, 0.8)},
            "indicators": {f"BA{i}": {"weighted_kappa": wkappa(0.8, 0.7, 0.9)} for i in range(1, 5)},
        },
        "predictive": {
            "provenance": prov(), "method": {"predictors": "domain totals", "direction": "higher = higher risk",
                                        "min_events": 10},
            "outcomes": {"violent": {"n": 400, "events": 40, "base_rate": 0.1, "predictors": {
                "risk_total": predictor(0.74, 0.68, 0.80), "summary_risk": predictor(0.72, 0.66, 0.78)}}},
        },
    }


def kinds(metrics, params=None) -> set[str]:
    p = merge_params(params)
    return {x.kind for x in limitations(metrics, key_figures(metrics, p), p, p["k_suppress"])}


# ---------------------------------------------------------------------------------------------
# bands (the verdict rule itself: tests/test_verdicts.py)


def test_auc_bands_and_cutoff_text():
    bands = merge_params(None)["auc_bands"]
    assert [auc_band(x, bands) for x in (0.5559, 0.556, 0.6389, 0.639, 0.714, 0.9)] == \
        ["below small", "small", "small", "medium", "large", "large"]
    assert cutoff_text(0.7) == "0.70" and cutoff_text(0.639) == "0.639" and cutoff_text(0.06) == "0.06"


def test_parameters_are_checked_at_the_door():
    with pytest.raises(ValueError, match="k_suppress"):
        merge_params({"k_suppress": 0})
    with pytest.raises(ValueError, match="exactly one of 'min' or 'max'"):
        merge_params({"thresholds": {"alpha": {"min": 0.7, "max": 0.9}}})
    with pytest.raises(ValueError, match="icc_source"):
        merge_params({"icc_source": "anova"})
    with pytest.raises(TypeError):
        build_report([], {})
    p = merge_params({"thresholds": {"alpha": {"min": 0.8}}})
    assert p["thresholds"]["alpha"]["min"] == 0.8 and p["thresholds"]["omega"]["min"] == 0.70


def test_key_figures_verdicts_from_the_metrics():
    m = clean_metrics()
    m["reliability"]["vera"]["domains"]["BA"]["overall"]["omega"] = {"omega": 0.72, "ci": ci(0.65, 0.79), "n": 380}
    m["agreement"]["summary_risk"]["weighted_kappa"] = wkappa(0.45, 0.35, 0.55)
    m["predictive"]["outcomes"]["violent"]["predictors"]["summary_risk"] = {
        "n": 400, "events": 8, "not_estimable": "not estimable: 8 events, fewer than 10"}
    m["structure"]["sq"]["cfa"]["fit"]["cfi"] = 0.93
    m["structure"]["sq"]["invariance"]["site"]["level"] = "partial scalar"
    figs = {f.label: f for f in key_figures(m, merge_params(None))}
    assert "VERA-2R BA alpha" not in figs          # reliability is summarised by omega
    omega = figs["VERA-2R BA omega"]
    assert omega.verdict == INCONCLUSIVE and omega.n == 380
    # the interval [0.65, 0.79] narrows to width 2 x 0.02 at 380 x (0.14 / 0.04)^2 = 4,655 cases
    assert omega.n_to_decide == 4655 and "about 4,655 cases would decide" in omega.reason
    assert figs["summary risk judgement, weighted kappa"].verdict == FAILS
    assert figs["violent: AUC of the summary judgement"].verdict == NE
    assert "8 events" in figs["violent: AUC of the summary judgement"].reason
    assert figs["violent: AUC of the risk total"].verdict == MEETS
    assert figs["SQ CFA CFI"].verdict == FAILS and "no interval" in figs["SQ CFA CFI"].reason
    assert figs["SQ CFA RMSEA"].verdict == MEETS and figs["SQ CFA RMSEA"].level == 0.90
    assert figs["SQ invariance across sites"].verdict == INCONCLUSIVE
    assert figs["SQ factors by parallel analysis"].verdict == MEETS
    icc = figs["ICC BA, REML"]
    assert (icc.value, icc.n, icc.verdict) == (0.84, 400, MEETS)
    block = {f.label: f for f in key_figures(m, merge_params({"icc_source": "crossed_block"}))}
    assert block["ICC BA, crossed block"].n == 60
    ind = figs["4 indicators, weighted kappa range"]
    assert ind.verdict == MEETS and "4 meet" in ind.reason and "0 of 4 point estimates below 0.60" in ind.reason


def test_configural_misfit_stops_the_invariance_verdict():
    m = clean_metrics()
    m["structure"]["sq"]["invariance"]["site"]["steps"][0]["fit"] = {"cfi": 0.861, "rmsea": 0.045, "srmr": 0.066}
    fig = {f.label: f for f in key_figures(m, merge_params(None))}["SQ invariance across sites"]
    assert fig.verdict == FAILS and fig.display == "not reached"
    assert "configural model does not fit (CFI 0.861 below 0.95)" in fig.reason


def test_chance_and_inconclusive_in_the_summary():
    m = clean_metrics()
    auc = m["predictive"]["outcomes"]["violent"]["predictors"]["risk_total"]["auc"]
    auc.update({"auc": 0.554, "ci": ci(0.443, 0.666)})
    m["agreement"]["summary_risk"]["weighted_kappa"] = wkappa(0.38, 0.06, 0.70)
    figs = {f.label: f for f in key_figures(m, merge_params(None))}
    assert figs["violent: AUC of the risk total"].verdict == CHANCE
    kappa = figs["summary risk judgement, weighted kappa"]
    assert kappa.verdict == INCONCLUSIVE and kappa.n_to_decide is not None


def test_summary_shows_numbers_verdicts_and_sources():
    m = clean_metrics()
    m["reliability"]["vera"]["domains"]["BA"]["overall"]["omega"] = {"omega": 0.72, "ci": ci(0.65, 0.79), "n": 380}
    html = build_report(m, {})
    summary = html[html.index('id="summary"'):html.index('id="data"')]
    assert "0.720 [0.650, 0.790]" in summary and "interval straddles 0.70" in summary
    assert summary.index("0.720 [0.650, 0.790]") < summary.index("interval straddles 0.70")     # numbers before words
    for source in ("Nunnally &amp; Bernstein (1994)", "Koo &amp; Li (2016)", "Landis &amp; Koch (1977)",
                   "Hu &amp; Bentler (1999)", "Chen (2007)", "Rice &amp; Harris (2005)"):
        assert source in summary, source
    assert 'class="v v-inconclusive">inconclusive<' in summary and 'class="v v-meets">meets<' in summary
    assert "0.030 [0.020, 0.040] <span class=\"muted\">90% CI</span>" in summary       # RMSEA: 90% interval


# ---------------------------------------------------------------------------------------------
# limitations: one per condition


def test_clean_metrics_trigger_no_limitation():
    assert kinds(clean_metrics()) == set()
    html = build_report(clean_metrics(), {})
    assert "No limitation was found" in html and "SYNTHETIC" not in html


def _synthetic(m):
    for part in m.values():
        part["provenance"]["params"]["validate"]["input_dir"] = "data/synthetic"


def _placeholder(m):
    m["reliability"]["sq"]["placeholder_key"] = True


def _few_events(m):
    m["predictive"]["outcomes"]["violent"]["events"] = 12


def _declined(m):
    m["predictive"]["outcomes"]["violent"]["predictors"]["summary_risk"] = {
        "n": 400, "events": 8, "not_estimable": "not estimable: 8 events"}


def _small_block(m):
    m["agreement"]["design"]["block_n_targets"] = 12


def _site_not_estimated(m):
    m["reliability"]["vera"]["domains"]["BA"]["by_site"] = {
        "S1": {"n": 250, "alpha": {"alpha": 0.85, "ci": ci(0.82, 0.88)}},
        "S2": {"n": 20, "not_estimable": "not estimable: 20 cases, fewer than 30"}}


def _small_cfa(m):
    m["structure"]["sq"]["cfa"]["n"] = 150


def _wide(m):
    m["predictive"]["outcomes"]["violent"]["predictors"]["risk_total"]["auc"]["ci"] = ci(0.60, 0.85)


def _noninvariant(m):
    m["structure"]["sq"]["invariance"]["site"]["level"] = "metric"


def _inv_not_estimable(m):
    m["structure"]["sq"]["invariance"]["site"] = {"not_estimable": "not estimable: too few cases",
                                                  "groups_dropped": {}}


def _not_rated(m):
    nr = m["data_quality"]["vera_ratings"]["not_rated"]
    nr["indicators"]["BA4"] = 0.25
    nr["flagged"] = ["BA4"]


def _sq_missing(m):
    miss = m["data_quality"]["sq_responses"]["missing"]
    miss["items"]["SQ07"] = 0.3
    miss["flagged"] = ["SQ07"]


def _omega_ne(m):
    m["reliability"]["vera"]["domains"]["BA"]["overall"]["omega"] = {"not_estimable": "not estimable: constant item"}


@pytest.mark.parametrize("change,kind,text", [
    (_synthetic, "synthetic", "SYNTHETIC DATA"),
    (_placeholder, "placeholder", "Placeholder SQ key"),
    (_few_events, "few_events", "violent: 12 events in 400 cases"),
    (_declined, "declined", "violent / summary_risk"),
    (_small_block, "small_sample", "12 cases x 3 raters"),
    (_small_cfa, "small_sample", "CFA on n = 150 of 390"),
    (_site_not_estimated, "small_sample", "BA not estimated by site S2"),
    (_wide, "wide_interval", "width 0.25"),
    (_noninvariant, "non_invariance", "only metric invariance"),
    (_inv_not_estimable, "non_invariance", "too few cases"),
    (_not_rated, "not_rated", "BA4 25.0%"),
    (_sq_missing, "sq_missing", "SQ07 30.0%"),
    (_omega_ne, "not_estimable", "constant item"),
])
def test_each_condition_triggers_its_limitation(change, kind, text):
    m = clean_metrics()
    change(m)
    assert kinds(m) == {kind}
    html = build_report(m, {})
    box = html[html.index('id="limitations"'):html.index('id="data"')]
    assert text in box


def test_synthetic_data_is_said_loudly_at_the_top():
    m = clean_metrics()
    _synthetic(m)
    html = build_report(m, {})
    alarm = html.index('class="alarm"')
    assert alarm < html.index('id="summary"')
    assert "no conclusion about the real battery" in html[alarm:alarm + 600]


def test_limitation_thresholds_are_parameters():
    m = clean_metrics()
    _few_events(m)          # 12 events
    assert "few_events" not in kinds(m, {"limitations": {"min_events": 10}})
    assert "wide_interval" in kinds(clean_metrics(), {"limitations": {"max_ci_width": 0.05}})


# ---------------------------------------------------------------------------------------------
# checklists


def test_checklists_filled_from_the_run():
    lists = checklists(clean_metrics())
    assert len(lists["grras"]) == 15
    grras = {i.number: i for i in lists["grras"]}
    assert {n for n, i in grras.items() if i.status == FILLED} == {"2", "6", "9", "10", "11", "13", "15"}
    assert grras["13"].where == "agreement-domains" and grras["1"].status == AUTHORS
    tripod = {i.number: i for i in lists["tripod"]}
    assert tripod["16"].status == FILLED and tripod["6b"].status == AUTHORS and tripod["5a"].where == "data-sites"
    cosmin = {i.number: i for i in lists["cosmin"]}
    for prop in ("internal consistency", "structural validity", "cross-cultural validity / measurement invariance",
                 "reliability", "measurement error", "criterion validity (predictive)"):
        assert cosmin[prop].status == FILLED, prop
    assert cosmin["content validity"].status == AUTHORS


def test_checklist_items_need_the_authors_when_the_run_lacks_them():
    m = clean_metrics()
    _inv_not_estimable(m)
    for e in m["predictive"]["outcomes"]["violent"]["predictors"].values():
        e["auc"] = {"not_estimable": "not estimable: one class"}
    m["agreement"]["domain_icc"]["BA"] = {"not_estimable": "not estimable: no crossed block"}
    lists = checklists(m)
    assert {i.number: i.status for i in lists["tripod"]}["16"] == AUTHORS
    assert {i.number: i.status for i in lists["grras"]}["13"] == AUTHORS
    cosmin = {i.number: i for i in lists["cosmin"]}
    inv = cosmin["cross-cultural validity / measurement invariance"]
    assert inv.status == AUTHORS and "too few cases" in inv.note
    assert cosmin["measurement error"].status == AUTHORS
    html = build_report(m, {})
    section = html[html.index('id="checklists"'):html.index('id="changes"')]
    assert "needs the authors&#39; input" in section and 'href="#data-sites"' in section


# ---------------------------------------------------------------------------------------------
# privacy, escaping, self-containment


def test_small_counts_are_suppressed_with_a_complementary_cell():
    assert counts_with_total({"S1": 37, "S2": 3, "S3": 9}, 5) == {"S1": "37", "S2": "<5", "S3": "*"}
    assert counts_with_total({"S1": 37, "S2": 3, "S3": 2}, 5) == {"S1": "37", "S2": "<5", "S3": "<5"}
    assert counts_with_total({"S1": 37, "S2": 0}, 5) == {"S1": "37", "S2": "0"}
    m = clean_metrics()
    dq = m["data_quality"]
    dq["cases"].update(n=40, by_site={"S1": 28, "S2": 3, "S3": 9})
    dq["outcomes"]["by_outcome"]["violent"].update(n=40, events=3, base_rate=0.075)
    m["predictive"]["outcomes"]["violent"]["predictors"]["risk_total"]["cutoffs"] = {
        "labels": [">=20"], "tp": [3], "fp": [10], "fn": [37], "tn": [350],
        "sensitivity": {"estimate": [0.075], "lower": [0.03], "upper": [0.2]},
        "specificity": {"estimate": [0.97], "lower": [0.95], "upper": [0.98]},
        "ppv": {"estimate": [0.23], "lower": [0.08], "upper": [0.5]},
        "npv": {"estimate": [0.9], "lower": [0.87], "upper": [0.93]}}
    html = build_report(m, {}, k_suppress=5)
    sites = html[html.index('id="data-sites"'):html.index('id="data-participants"')]
    assert "<td>&lt;5</td>" in sites and "<td>*</td>" in sites
    assert ">3<" not in sites and ">9<" not in sites
    outcomes = html[html.index('id="data-outcomes"'):]
    assert "0.075" not in outcomes[:outcomes.index("</table>")]            # base rate would reveal the count
    cut = html[html.index("risk total: cut-offs"):]
    cut = cut[:cut.index("</table>")]
    assert "&lt;5 / 10 / 37 / 350" in cut and "0.075 [" not in cut and "withheld" in cut
    assert "0.970 [0.950, 0.980]" in cut


def test_metrics_text_is_escaped():
    m = clean_metrics()
    m["reliability"]["vera"]["domains"]["BA"]["label"] = "Beliefs <&> attitudes"
    m["predictive"]["outcomes"] = {"<script>alert(1)</script>": m["predictive"]["outcomes"]["violent"]}
    m["structure"]["sq"]["cfa"] = {"not_estimable": "not estimable: <b>bold</b> & co"}
    html = build_report(m, {}, title="A <title> & more")
    assert "Beliefs &lt;&amp;&gt; attitudes" in html
    assert "<script" not in html.lower() and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "not estimable: &lt;b&gt;bold&lt;/b&gt; &amp; co" in html
    assert "<title>A &lt;title&gt; &amp; more</title>" in html


SVG = ('<?xml version="1.0" encoding="utf-8"?>\n<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" '
       '"http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">\n<svg xmlns="http://www.w3.org/2000/svg" '
       'xmlns:xlink="http://www.w3.org/1999/xlink" onload="alert(1)"><metadata><rdf:RDF/></metadata>'
       '<defs><style type="text/css">*{stroke-linecap: butt}</style><path id="m1" d="M0 0"/>'
       '<clipPath id="c1"><rect/></clipPath></defs><script>alert(2)</script>'
       '<use xlink:href="#m1" clip-path="url(#c1)"/><a href="https://example.org/x"><text>t</text></a>'
       '<image href="//cdn.example.org/i.png"/><rect style="fill:url(https://example.org/p.svg#g)"/></svg>')


def test_figures_are_inline_safe_and_their_ids_do_not_clash():
    html = build_report(clean_metrics(), {"structure/scree_sq.svg": SVG, "structure/efa_loadings_sq.svg": SVG})
    assert "<?xml" not in html and "<!DOCTYPE svg" not in html and "<metadata" not in html
    assert "<script" not in html.lower() and "onload" not in html and "alert(" not in html
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", html, re.I)
    assert "example.org" not in html and "url(http" not in html
    ids = re.findall(r'\bid="([^"]+)"', html)
    assert len(ids) == len(set(ids)), "duplicate ids"
    assert html.count('xlink:href="#fig1-m1"') == 1 and html.count('xlink:href="#fig2-m1"') == 1
    assert "url(#fig2-c1)" in html and "#fig1 *{stroke-linecap" in html
    raster = svg_clean('<svg><image xlink:href="data:image/png;base64,iVBORw0KGgo="/>'
                       '<image href="data:text/html;base64,PHNjcmlwdD4="/></svg>', "f")
    assert 'xlink:href="data:image/png;base64,iVBORw0KGgo="' in raster and "text/html" not in raster
    assert re.search(r'<figure class="figure" id="fig1"><svg[^>]*>.*?</svg><figcaption class="muted">Scree plot[^<]*'
                     r"</figcaption></figure>", html, re.S)


def test_page_is_self_contained_linked_and_deterministic():
    m = clean_metrics()
    html = build_report(m, {"structure/scree_sq.svg": SVG})
    assert html.startswith("<!DOCTYPE html>") and html.rstrip().endswith("</html>")
    assert "<script" not in html.lower() and "<link" not in html.lower() and "@import" not in html
    assert "url(http" not in html and "@font-face" not in html
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:|//|file:|ftp:)""", html, re.I)
    assert "@media print" in html and "break-inside:avoid" in html
    ids = set(re.findall(r'\bid="([^"]+)"', html))
    for target in re.findall(r'href="#([^"]+)"', html):
        assert target in ids, f"link to missing anchor #{target}"
    for section in ("summary", "limitations", "data", "reliability", "structure", "agreement", "predictive",
                    "checklists", "changes", "version"):
        assert section in ids
    assert html == build_report(copy.deepcopy(m), {"structure/scree_sq.svg": SVG})
    assert not re.search(r"\b20\d\d-\d\d-\d\d\b", html)        # no date


def test_version_section_states_code_hash_data_hash_parameters_and_packages():
    html = build_report(clean_metrics(), {}, params={"k_suppress": 7},
                        version={"validation": "0.1.0", "code_sha256": "0123456789abcdef" * 4,
                                 "data_dvc_md5": "feedbeef.dir", "baseline": "HEAD"})
    v = html[html.index('id="version"'):]
    for text in ("0123456789abcdef" * 4, "feedbeef.dir", "0" * 32, "n_boot = 10", "k_suppress = 7", "numpy", "2.3",
                 "validation", "data/raw", "abc1234defab"):
        assert text in v, text
    assert "Version: validation 0.1.0" in html[:html.index('id="summary"')]
    assert "report built at git commit" not in v              # content, never a commit: reruns do not drift
    assert "software: validation 0.1.0 on Python 3.11" in html


def test_missing_metrics_leave_sections_saying_so():
    html = build_report({}, {})
    for part in ("data-quality summary is missing", "reliability metrics are missing",
                 "structure metrics are missing", "agreement metrics are missing", "predictive metrics are missing",
                 "No baseline was given"):
        assert part in html, part


def test_invariance_steps_are_tabled():
    html = build_report(clean_metrics(), {})
    sec = html[html.index('id="invariance-site"'):html.index('id="agreement"')]
    assert "S1 (n = 240)" in sec and "<b>scalar</b>" in sec and "-0.003" in sec and sec.count("holds") == 2


# ---------------------------------------------------------------------------------------------
# the bottom line


def test_bottom_line_opens_the_report_with_a_verdict_per_use():
    from validation.report.bottom_line import FIT, NOT_FIT, NOT_YET, judge_uses

    m = clean_metrics()
    p = merge_params(None)
    uses = {u.id: u for u in judge_uses(key_figures(m, p), p)}
    assert set(uses) == {"case_management", "release_decisions"}
    assert uses["case_management"].verdict == FIT and not uses["case_management"].missing
    html = build_report(m, {})
    assert re.search(r"<h2[^>]*>([^<]*)</h2>", html).group(1) == "Bottom line"
    lead = html[html.index('id="bottom-line"'):html.index('id="summary"')]
    assert lead.index('id="bottom-line"') < lead.index('id="limitations"')       # limitations beside it
    assert "To structure professional judgement in case management: " in lead

    # one ICC whose whole interval is below the cut-off: not fit, numbers first
    m["agreement"]["domain_icc"]["BA"]["reml"]["forms"]["ICC2"].update({"icc": 0.62, "ci": ci(0.55, 0.70)})
    uses = {u.id: u for u in judge_uses(key_figures(m, p), p)}
    assert uses["case_management"].verdict == NOT_FIT
    lead = build_report(m, {})
    lead = lead[lead.index('id="bottom-line"'):lead.index('id="limitations"')]
    assert "Fails: ICC BA, REML 0.620 [0.550, 0.700] (whole interval below 0.75)" in re.sub(r"<[^>]+>", "", lead)

    # an inconclusive kappa and too few events: not yet, saying what is missing
    m = clean_metrics()
    m["agreement"]["summary_risk"]["weighted_kappa"] = wkappa(0.62, 0.50, 0.74)
    uses = {u.id: u for u in judge_uses(key_figures(m, p), p)}
    assert uses["case_management"].verdict == NOT_YET
    m["predictive"]["outcomes"]["violent"]["events"] = 12
    for e in m["predictive"]["outcomes"]["violent"]["predictors"].values():
        e["events"] = 12
    release = {u.id: u for u in judge_uses(key_figures(m, p), p)}["release_decisions"]
    assert any("violent recidivism rests on 12 events" in x for x in release.missing)


def test_intended_uses_are_parameters_checked_at_the_door():
    from validation.report.bottom_line import judge_uses
    from validation.report.rules import ReportConfig

    p = merge_params({"intended_uses": {"research": {"label": "for research only", "criteria": ["reliability"]}}})
    assert list(p["intended_uses"]) == ["research"]                 # replaces the defaults, not merged
    assert [u.verdict for u in judge_uses(key_figures(clean_metrics(), p), p)] == ["fit for use"]
    with pytest.raises(Exception, match="criteria"):
        ReportConfig.from_params({"intended_uses": {"x": {"label": "x", "criteria": ["charisma"]}}})


def test_invariance_section_explains_a_configural_misfit_and_what_groups_need():
    m = clean_metrics()
    inv = m["structure"]["sq"]["invariance"]["site"]
    inv["steps"][0]["fit"] = {"cfi": 0.861, "tli": 0.856, "rmsea": 0.045, "srmr": 0.066}
    inv["groups_dropped"] = {"S3": 124}
    m["structure"]["provenance"] = prov() | {"params": {"structure": {"min_group_n": 140}}}
    html = build_report(m, {})
    text = re.sub(r"<[^>]+>", "", html[html.index('id="invariance"'):html.index('id="agreement"')])
    assert "No invariance step is reached: the configural model misses the fit cut-offs (CFI 0.861 below 0.95" in text
    assert "Swain 1975" in text and "parcels" in text and "ordinal" in text
    assert "S3 (n = 124). Each needs at least 140 cases (structure.min_group_n) to be tested: S3 16 more." in text
    assert "{" not in text and "e-0" not in text                       # no Python dicts, no 2.5e-04
    assert "Corrected here" not in text                                # nothing computed: nothing claimed
    inv["steps"][0]["small_sample"] = {
        "swain": {"factor": 0.968, "cfi": 0.872, "tli": 0.868, "rmsea": 0.042},
        "bartlett": {"not_estimable": "not estimable: the bartlett factor is not positive"}}
    text = re.sub(r"<[^>]+>", "", build_report(m, {}))
    assert "Corrected here: with Swain&#39;s correction (factor 0.968) CFI 0.872, TLI 0.868, RMSEA 0.042." in text
    assert "Bartlett&#39;s correction" not in text and "The verdict stays on the uncorrected fit" in text


def test_invariance_criteria_in_words():
    from validation.report.sections import _criteria_text
    assert _criteria_text({"delta_cfi": -0.01, "delta_rmsea": 0.015, "alpha": 0.01}) == (
        "change in CFI at least -0.01, in RMSEA at most 0.015, intercepts freed one at a time at p < 0.01")


def _comparison(a, b, diff, lo, hi, p_holm, events=40):
    return {"a": a, "b": b, "label": f"{a} vs {b}", "n": 400, "events": events, "p_holm": p_holm,
            "delong": {"auc1": 0.70, "auc2": 0.70 - diff, "difference": diff, "p": p_holm / 2,
                       "ci": ci(lo, hi)}}


def test_bottom_line_sets_the_summary_judgement_against_the_risk_total():
    from validation.report.bottom_line import judgement_vs_total
    from validation.report.build import summary

    m = clean_metrics()
    # stored the other way round (total first): the judgement's difference is the negative
    m["predictive"]["outcomes"]["violent"]["comparisons"] = {"tests": [
        _comparison("risk_total", "summary_risk", 0.08, 0.04, 0.12, 0.0004),
        _comparison("risk_total", "SQ needs", 0.2, 0.1, 0.3, 0.001)]}
    rows = judgement_vs_total(m["predictive"])
    assert len(rows) == 1
    r = rows[0]
    assert r["difference"] == pytest.approx(-0.08) and (r["ci_lower"], r["ci_upper"]) == pytest.approx((-0.12, -0.04))
    assert (r["auc_judgement"], r["auc_total"]) == pytest.approx((0.62, 0.70))
    page = re.sub(r"<[^>]+>", "", build_report(m, {}))
    head = page[:page.index("Limitations found")]
    assert "Summary judgement against the risk total" in head
    assert "difference -0.080 [-0.120, -0.040], Holm-adjusted p &lt; 0.001" in head
    assert "The risk total discriminates better for violent recidivism" in head
    assert summary(m)["judgement_vs_total"] == [{"outcome": "violent", "difference": pytest.approx(-0.08),
                                                 "ci_lower": pytest.approx(-0.12), "ci_upper": pytest.approx(-0.04),
                                                 "p_holm": 0.0004}]

    m["predictive"]["outcomes"]["violent"]["comparisons"]["tests"][0] = _comparison(
        "summary_risk", "risk_total", -0.04, -0.07, -0.01, 0.06)
    page = re.sub(r"<[^>]+>", "", build_report(m, {}))
    assert "Holm-adjusted p = 0.060" in page and "No difference holds after the Holm adjustment" in page


def test_ordinal_models_are_shown_and_judged_on_their_scaled_fit():
    m = clean_metrics()
    fit = {"chisq": 90.0, "df": 80, "chisq.scaled": 95.0, "pvalue.scaled": 0.12, "cfi.scaled": 0.99, "tli.scaled": 0.99,
           "rmsea.scaled": 0.02, "rmsea.ci.lower.scaled": 0.0, "rmsea.ci.upper.scaled": 0.04, "srmr": 0.05,
           "cfi.robust": 0.97, "rmsea.robust": 0.04}
    loads = [{"factor": "needs", "item": "SQ01", "std": 0.7, "se": 0.03}]
    m["structure"]["sq"]["cfa"]["std_loadings"] = [{"factor": "needs", "item": "SQ01", "std": 0.62, "se": 0.03}]
    m["structure"]["sq"]["ordinal"] = {
        "cfa": {"estimator": "WLSMV", "n": 390, "fit": fit, "std_loadings": loads},
        "compared_with_ml": {"loadings_compared": 1, "mean_loading_difference": 0.08, "largest_loading_difference": 0.08,
                             "ml": {"cfi": 0.97}, "wlsmv": {"cfi": 0.99}}}
    steps = [{"name": "configural", "fit": dict(fit, **{"cfi.scaled": 0.90}), "holds": None},
             {"name": "thresholds", "fit": fit, "chisq_diff": 5.0, "pvalue": 0.4, "delta_cfi": 0.0, "delta_rmsea": 0.0,
              "holds": True},
             {"name": "thresholds and loadings", "fit": fit, "chisq_diff": 6.0, "pvalue": 0.3, "delta_cfi": 0.0,
              "delta_rmsea": 0.0, "holds": True}]
    m["structure"]["vera"] = {"instrument": "VERA-2R", "cfa": {"estimator": "WLSMV", "n": 400, "fit": fit},
                              "invariance": {"site": {"estimator": "WLSMV", "groups": ["S1", "S2"],
                                                      "nobs": {"S1": 250, "S2": 150}, "level": "thresholds and loadings",
                                                      "criteria": {"delta_cfi": -0.01, "alpha": 0.01}, "steps": steps}}}
    text = re.sub(r"<[^>]+>", " ", build_report(m, {}))
    assert "Ordinal models (WLSMV)" in text and "VERA-2R across sites (ordinal)" in text
    assert "on average 0.080 higher than under ML" in text
    figs = {f.label: f for f in key_figures(m, merge_params(None))}
    inv = figs["VERA-2R invariance across sites (ordinal)"]
    # the configural model's scaled CFI 0.90 misses 0.95: no step is reached, whatever the steps say
    assert inv.verdict == FAILS and "configural model does not fit (CFI 0.900 below 0.95" in inv.reason
    steps[0]["fit"] = fit
    assert {f.label: f for f in key_figures(m, merge_params(None))}[inv.label].verdict == MEETS
    # under Wu & Estabrook the intercepts are a step of their own: thresholds and loadings is only metric
    block = m["structure"]["vera"]["invariance"]["site"]
    block["identification"] = "wu.estabrook"
    block["score_tests"] = {"step": "thresholds and loadings", "step_holds": False,
                            "tests": [{"parameter": "CM=~CM2", "group": "S2", "x2": 12.34, "pvalue": 0.0004}]}
    v = {f.label: f for f in key_figures(m, merge_params(None))}[inv.label]
    assert v.verdict == FAILS and "only thresholds and loadings invariance" in v.reason
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", build_report(m, {})))
    assert "Identification of Wu &amp; Estabrook (2016)" in text
    assert "they point to the parameters to leave free" in text and "CM=~CM2 S2 12.3" in text


def test_planning_section_gives_the_cases_that_would_decide_each_inconclusive_figure():
    from validation.report.summary import KeyFigure, planning_section
    from validation.report.render import render_section
    from validation.report.verdicts import INCONCLUSIVE, MEETS

    figs = [KeyFigure("predictive", "extremist: AUC of the risk total", 0.692, 0.583, 0.800, 0.95, 570,
                      threshold="\u2265 0.639", verdict=INCONCLUSIVE, n_to_decide=2515, n_method="Hanley & McNeil 1982"),
            KeyFigure("agreement", "ICC CM, REML", 0.701, 0.632, 0.762, 0.95, 567, verdict=INCONCLUSIVE,
                      n_to_decide=414, n_method="Bonett 2002, 2 raters a case"),
            KeyFigure("reliability", "VERA-2R BA omega", 0.88, 0.87, 0.90, 0.95, 600, verdict=MEETS)]
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", render_section(planning_section(figs, 5))))
    assert "2 key figure(s) are inconclusive" in text and "VERA-2R BA omega" not in text
    assert "2,515 1,945 Hanley &amp; McNeil 1982" in text
    assert "none by the closed form: this interval is wider than it predicts" in text
    assert "No key figure is inconclusive" in render_section(planning_section(figs[2:], 5))


def test_bottom_line_says_how_many_more_cases_would_decide_an_undecided_figure():
    from validation.report.bottom_line import bottom_line_section, judge_uses
    from validation.report.render import render_section
    from validation.report.summary import KeyFigure
    from validation.report.verdicts import INCONCLUSIVE

    fig = KeyFigure("agreement", "ICC BA, REML", 0.743, 0.667, 0.801, 0.95, 550, verdict=INCONCLUSIVE,
                    n_to_decide=17144, criterion="agreement_totals")
    uses = judge_uses([fig], merge_params(None))
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", render_section(bottom_line_section(uses, 5, False, []))))
    assert "ICC BA, REML 0.743 [0.667, 0.801], about 16,594 more cases would decide it" in text


def test_planning_section_sizes_the_next_studys_other_aims_by_their_closed_forms():
    from validation.report.render import render_section
    from validation.report.summary import next_study_rows, planning_section
    from validation.stats.planning import events_for_c_width, kappa_n, prediction_model_size

    m = {"agreement": {"additional": {"CH1": {"kappa": {"table": [[160, 10], [10, 20]]}},     # prevalence 0.15
                                      "CH2": {"kappa": {"table": [[140, 20], [20, 20]]}}}},   # prevalence 0.20
         "predictive": {"outcomes": {"violent": {"base_rate": 0.2, "predictors": {
             "BA": {}, "SCI": {}, "SQ needs": {}, "risk_total": {"harrell_c": {"c": 0.7}}, "summary_risk": {}}}}}}
    rows = next_study_rows(m, merge_params(None))
    text = html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ",
                                                     render_section(planning_section([], 5, next_study=rows)))))
    # Donner & Eliasziw at the median prevalence 0.175, kappa 0.8 against the cut-off 0.6
    assert f"median prevalence 0.17) {kappa_n(0.6, 0.8, 0.175):,} cases rated by two raters" in text
    c = events_for_c_width(0.7, 0.2, 0.1)
    assert f"Harrell's C of the risk total (0.700) to a 95% interval of width 0.1 {c.n:,} cases, {c.events} events" in text
    # three predictors (the composites are not parameters), Nagelkerke 0.15 as Cox-Snell at prevalence 0.2
    max_r2 = 1 - (0.2 ** 0.2 * 0.8 ** 0.8) ** 2
    pm = prediction_model_size(3, 0.15 * max_r2, 0.2)
    assert "from the 3 configured predictors (BA, SCI, SQ needs)" in text
    assert f"{pm.n:,} cases, {math.ceil(pm.events)} events" in text
    # a cut-off below the planned kappa gives no indicator row; no base rate, no outcome rows
    p = merge_params({"next_study": {"kappa_planned": 0.5}})
    m["predictive"]["outcomes"]["violent"]["base_rate"] = None
    assert next_study_rows(m, p) == []
