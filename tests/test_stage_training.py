"""The training stage on the pipeline's run: training.json, its figures, the report's section and the
summary.json block; trainees appear in nothing published (no pseudonym), small counts are suppressed."""

from __future__ import annotations

import json
import re
from pathlib import Path

from validation.report.verdicts import CERTIFIED, NOT_YET, UNDECIDED


def _read(project: Path, rel: str) -> str:
    return (project / rel).read_text(encoding="utf-8")


def test_training_stage_outputs(project: Path):
    m = json.loads(_read(project, "reports/metrics/training.json"))
    truth = json.loads(_read(project, "data/synthetic/truth.json"))["training"]
    assert m["n_trainees"] == truth["n_trainees"] and m["occasions"] == [1, 2]
    counts = m["certification"]["counts"]
    assert set(counts) == {CERTIFIED, NOT_YET, UNDECIDED}
    shown = [c for c in counts.values() if isinstance(c, int)]
    assert all(c == 0 or c >= 5 for c in shown)                           # small counts suppressed
    assert len(m["trainees_exact"]) == m["n_trainees"]
    assert all(set(r) == {"estimate", "ci_lower", "ci_upper", "decision"} for r in m["trainees_exact"])
    # the hard indicators are the ones matched least; the over-rated one is flagged too high
    hardest = sorted(m["indicators"], key=lambda i: m["indicators"][i]["share"])[:3]
    assert set(hardest) == set(truth["hard_indicators"])
    assert m["indicators"][truth["over_rated_indicator"]]["systematic"] == "too high"
    eff = m["change"]["effects"]
    assert eff["training beyond practice"]["ci_lower"] > 0
    assert eff["mean change, control"]["ci_lower"] <= 0 <= eff["mean change, control"]["ci_upper"]
    oc = {(r["true_exact"], r["vignettes"]): r["p_certified"] for r in m["operating_characteristics"]}
    assert set(oc) == {(0.75, 3), (0.75, 8), (0.9, 3), (0.9, 8)} and oc[(0.9, 8)] >= oc[(0.75, 8)]
    figs = {f.name for f in (project / "reports/figures/training").iterdir()}
    assert {"caterpillar.svg", "indicators.svg", "facets.svg", "before_after.svg", "operating.svg"} <= figs
    # severity and indicator shift: the over-rated indicator shifts most, above 0; trainees without pseudonyms
    facets = m["facets"]
    shift = {i: r["estimate"] for i, r in facets["indicators"].items()}
    assert max(shift, key=shift.get) == truth["over_rated_indicator"]
    assert facets["indicators"][truth["over_rated_indicator"]]["ci_lower"] > 0
    assert len(facets["trainees"]) == m["n_trainees"]
    assert [r["estimate"] for r in facets["trainees"]] == sorted(r["estimate"] for r in facets["trainees"])
    assert set(facets["sds"]) == {"trainee", "vignette", "indicator"}
    assert all(v == 0 or isinstance(v, str) or v >= 5 for v in facets["trainees_off_zero"].values())


def test_nothing_published_names_a_trainee(project: Path):
    for rel in ("reports/metrics/training.json", "reports/metrics/summary.json", "reports/metrics/data_quality.json",
                "reports/validation_report.html"):
        assert not re.search(r"TRN-\d+", _read(project, rel)), rel
    for svg in (project / "reports/figures/training").glob("*.svg"):
        assert "TRN-" not in svg.read_text(encoding="utf-8")


def test_report_and_summary_show_the_training(project: Path):
    html = _read(project, "reports/validation_report.html")
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))
    assert 'id="training"' in html and "Ready to rate real cases:" in text
    assert "How many vignettes certification needs" in text and "training beyond practice" in text
    assert "Severity and indicator shift on one scale" in text and "ordinal::clmm" in text
    summary = json.loads(_read(project, "reports/metrics/summary.json"))
    ids = {r["id"] for r in summary["key_figures"] if r["area"] == "training"}
    assert {"training_course_exact_agreement_with_the_key_before_training",
            "training_course_exact_agreement_with_the_key_after_training",
            "training_training_effect_beyond_practice_difference_in_differences"} == ids
    assert set(summary["training"]["decisions"]) == {CERTIFIED, NOT_YET, UNDECIDED}


def test_feedback_sheets_one_a_trainee_naming_only_that_trainee(project: Path, tmp_path: Path, monkeypatch):
    from click.testing import CliRunner

    from validation.cli import main

    monkeypatch.chdir(project)
    out = tmp_path / "sheets"
    res = CliRunner().invoke(main, ["training", str(project / "data/synthetic"), "--out", str(out)])
    assert res.exit_code == 0, res.output
    truth = json.loads(_read(project, "data/synthetic/truth.json"))["training"]
    sheets = sorted(out.glob("*.html"))
    assert [s.stem for s in sheets] == sorted(truth["trainees"])
    for sheet in sheets[:10]:
        html = sheet.read_text(encoding="utf-8")
        assert set(re.findall(r"TRN-\d+", html)) == {sheet.stem}         # no other trainee, no other key
        text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))
        assert re.search(r"Decision (certified|not yet|undecided)", text)
        assert "Your agreement with the key" in text and "Where you differed from the key" in text
    empty = tmp_path / "no_training"
    empty.mkdir()
    for name in ("cases", "vera_ratings", "sq_responses", "outcomes"):
        (empty / f"{name}.csv").write_bytes((project / "data/synthetic" / f"{name}.csv").read_bytes())
    res = CliRunner().invoke(main, ["training", str(empty), "--out", str(tmp_path / "x")])
    assert res.exit_code == 2 and "holds no rater-training tables" in res.output
