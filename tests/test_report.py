"""The report is built from metrics alone: self-contained, no script, no network, small counts suppressed."""

from __future__ import annotations

import re

from validation.report import build_report

METRICS = {
    "data_quality": {
        "provenance": {"git_commit": "abc123", "data_md5": "0" * 32, "packages": {"numpy": "2.3"}},
        "cases": {"n": 40, "by_site": {"S1": 37, "S2": 3}},
        "sq_responses": {"n_cases": 38, "by_site": {"S1": 35, "S2": 3}},
        "vera_ratings": {"n_forms": 50, "n_raters": 3, "by_occasion": {"1": 50}, "by_role": {"independent": 50},
                         "not_rated": {"threshold": 0.1, "indicators": {"BA4": 0.2}, "flagged": ["BA4"]}},
        "outcomes": {"by_outcome": {"extremist": {"n": 40, "events": 2, "base_rate": 0.05,
                                                  "follow_up_years": {"median": 3.2}}}},
    },
    "reliability": {"sq": {"placeholder_key": True, "scales": {}}, "vera": {"domains": {
        "BA": {"label": "Beliefs <&> attitudes", "k": 7, "overall": {
            "n": 40, "alpha": {"alpha": 0.8123, "ci": {"lower": 0.7, "upper": 0.9}},
            "omega": {"not_estimable": "not estimable: a Heywood case"}}}}}},
    "structure": {},
    "agreement": {},
    "predictive": {"outcomes": {"extremist": {"n": 40, "events": 2, "predictors": {
        "risk_total": {"n": 40, "events": 2, "not_estimable": "2 events: fewer than 10"}}}}},
}


def test_report_is_self_contained_and_suppresses_small_counts():
    html = build_report(METRICS, {"structure/scree_sq.svg": '<?xml version="1.0"?><svg><g/></svg>'}, k_suppress=5)
    assert html.startswith("<!DOCTYPE html>") and html.rstrip().endswith("</html>")
    assert "<script" not in html.lower()
    assert not re.search(r"(src|href)=[\"']?(https?:)?//", html)
    # S2 has 3 cases and the outcome 2 events: shown as <5, never as the number
    assert "<td class=\"\">&lt;5</td>" in html
    assert ">3<" not in html and ">2<" not in html
    assert "0.812 [0.70, 0.90]" in html
    assert "not estimable: a Heywood case" in html
    assert "Beliefs &lt;&amp;&gt; attitudes" in html          # escaped
    assert "placeholder" in html and "BA4 (20%)" in html
    assert "abc123" in html


def test_report_inlines_svg_without_xml_header():
    html = build_report({**METRICS, "structure": {"sq": {"kmo": {"overall": 0.9}}}},
                        {"structure/scree_sq.svg": '<?xml version="1.0"?>\n<svg id="s"><g/></svg>'})
    assert '<svg id="s">' in html and "<?xml" not in html
