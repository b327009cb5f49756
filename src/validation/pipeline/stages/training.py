"""Stage ``training``: trainee raters' ratings of case vignettes against the expert key (params.yaml:
``training``), when the input folder has the rater-training tables.

Writes ``reports/metrics/training.json``: per occasion the course's agreement with the key (every trainee's
ratings pooled, intervals from a bootstrap over vignettes); each trainee's certification on the last
occasion attended, by the four-outcome rule (published as counts by decision, small ones suppressed, and
the trainees' agreement without their pseudonyms, for the caterpillar plot); the indicators (share
matching, systematic misses, the indicator x vignette shares); the change from before to after with
practice, the vignette sets and training beyond practice separated; and the certification rule's
operating characteristics by simulation on the synthetic generator. Figures in ``reports/figures/training``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from validation.battery.disclosure import protect_or_withhold
from validation.battery.synthetic import SyntheticConfig, training_tables
from validation.pipeline.common import StageError, load_instruments
from validation.pipeline.config import Config, TrainingConfig
from validation.pipeline.inputs import clean_dir, read_training
from validation.pipeline.outputs import atomic_outputs
from validation.pipeline.progress import progress
from validation.pipeline.provenance import provenance
from validation.pipeline.sites import pooling_instead
from validation.report.figures import save_svg
from validation.report.figures import training as plots
from validation.report.verdicts import CERTIFIED, NOT_YET, UNDECIDED, certify
from validation.stats.rater_training import (OVERALL, agreement_with_key, indicator_misses, rater_facets,
                                              training_change)
from validation.stats.results import NotEstimable

METRICS = "reports/metrics/training.json"
OC_METRICS = "reports/metrics/training_oc.json"      # written by the training_oc stage
FIG = "reports/figures/training"
DECISIONS = (CERTIFIED, NOT_YET, UNDECIDED)


def _codes(vera) -> dict[str, int]:
    """The instrument's rating codes as scores (low / moderate / high; the summary in the order of its codes)."""
    out = {str(c).lower(): int(s) for c, s in vera.rating.scores.items()}
    out.update({str(c).lower(): i + 1 for i, c in enumerate(vera.summary.codes)})
    return out


def _estimates(rows: pd.DataFrame) -> dict[str, tuple[float, float, float]]:
    return {m: (r["estimate"], r["ci_lower"], r["ci_upper"]) for m, r in rows.set_index("measure").iterrows()}


def _rules(p: TrainingConfig) -> list[dict]:
    return [r.model_dump(exclude_none=True) for r in p.certification]


def certification(ratings: pd.DataFrame, key: pd.DataFrame, vera, p: TrainingConfig, seed: int,
                  detail: bool = True, rules: list[dict] | None = None) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Each trainee's agreement with the key on one occasion's vignettes, and their certification by
    ``rules`` (default: the configured ones; ``detail``: also the agreement per domain and on the summary)."""
    ind, add, summ = list(vera.indicators), list(vera.additional), vera.summary_column
    cols = ind + add + ([summ] if detail else [])
    domains = {d.code: [i for i in d.items if i in ind] for d in vera.domains} if detail else None
    res = agreement_with_key(ratings[cols + ["trainee_id"]], key[cols], additional=add,
                             summary=summ if detail else None, domains=domains, weights=p.weights, ci=p.ci,
                             n_boot=p.n_boot, random_state=seed, codes=_codes(vera))
    decisions = {}
    for tid, rows in res.table[res.table["trainee_id"] != OVERALL].groupby("trainee_id"):
        n_vig = int(rows["n_vignettes"].iloc[0])
        decisions[tid] = certify(_estimates(rows), rules if rules is not None else _rules(p), n_vig)
    return res.table, decisions


def operating_characteristics(vera, p: TrainingConfig) -> list[dict]:
    """The probability that the rule on the indicators' exact agreement certifies a trainee of each true
    exact agreement who rates each number of vignettes: trainees simulated by the synthetic generator (no
    severity, centrality or hard indicators), judged by the configured rules on ``exact, indicators`` (the
    measure the true value is of; the other rules depend on other true values)."""
    exact_rules = [r for r in _rules(p) if r["measure"] == "exact, indicators"]
    if not exact_rules:
        return []
    cells = [(a, v) for a in p.oc_accuracy for v in p.oc_vignettes]
    bar = progress(len(cells), "[training] operating characteristics", "cell")
    out = []
    for i, (acc, n_vig) in enumerate(cells):
        cfg = SyntheticConfig(seed=int(p.seed) * 1000 + i, n_trainees=int(p.oc_replicates), control_share=0.0,
                              vignettes_per_set=int(n_vig), trainee_accuracy=(float(acc), float(acc)),
                              trainee_severity_sd=0.0, trainee_centrality=(0.0, 0.0), n_hard_indicators=0,
                              training_effect=0.0, missed_occasion=0, truth_draws=1000)
        ratings, key, _ = training_tables(cfg, vera)
        first = ratings[ratings["occasion"] == "1"].set_index("vignette_id")
        _, decisions = certification(first, key.set_index("vignette_id"), vera, p, int(p.seed) + i, detail=False,
                                     rules=exact_rules)
        share = float(np.mean([d.decision == CERTIFIED for d in decisions.values()]))
        undecided = float(np.mean([d.decision == UNDECIDED for d in decisions.values()]))
        out.append({"true_exact": float(acc), "vignettes": int(n_vig), "replicates": int(p.oc_replicates),
                    "p_certified": share, "p_undecided": undecided})
        bar.update(1)
    bar.close()
    return out


def _operating_characteristics(root: Path, config: Config, vera) -> list[dict]:
    """The training_oc stage's simulation when it was made with the current parameters (as ``dvc repro``
    guarantees), else the simulation run here."""
    import json

    path = root / OC_METRICS
    if path.is_file():
        made = json.loads(path.read_text(encoding="utf-8"))
        used = (made.get("provenance") or {}).get("params") or {}
        if used.get("training") == config.as_params("training") and used.get("instruments") == \
                config.as_params("instruments"):
            return made["operating_characteristics"]
    print(f"[training] {OC_METRICS} is missing or was made with other parameters: simulating here", flush=True)
    return operating_characteristics(vera, config.training)


def run(root: Path, config: Config) -> None:
    if pooling_instead(root, config, "training", METRICS, [FIG], sections=("instruments", "training")):
        return
    p = config.training
    vera, _ = load_instruments(root, config)
    tables = read_training(root, config)
    inputs = [str((clean_dir(root, config) / f"{t}.parquet").relative_to(root))
              for t in ("training_ratings", "vignette_key")] if tables is not None else []
    prov = provenance(root, "training", config, inputs, ("instruments", "training"))
    if tables is None:
        with atomic_outputs(root) as out:
            out.write_json(METRICS, {"provenance": prov, "not_run": "the input folder has no rater-training tables "
                                                                  "(training_ratings, vignette_key)"})
            (out.folder(FIG) / "README.md").write_text("# training: no rater-training tables\n", encoding="utf-8")
        print("[training] no rater-training tables: nothing to analyse")
        return
    k = int(config.report.k_suppress)
    ratings = tables["training_ratings"].set_index("vignette_id")
    ratings.index.name = "vignette"
    key = tables["vignette_key"].set_index("vignette_id")
    key.index.name = "vignette"
    occasions = sorted(int(o) for o in ratings["occasion"].unique())
    print(f"[training] {ratings['trainee_id'].nunique()} trainees, {len(key)} vignettes, occasions "
          f"{', '.join(map(str, occasions))}", flush=True)
    measures = ["exact, indicators", "exact, additional indicators", "exact, summary judgement", "weighted kappa",
                "AC2", "severity", "centrality"]
    course, last_rows, last_decisions = {}, {}, {}
    last_of = ratings.groupby("trainee_id")["occasion"].max()
    for occ in occasions:
        table, decisions = certification(ratings[ratings["occasion"] == occ], key, vera, p, int(p.seed) + occ)
        course[str(occ)] = _course_from(table, measures)
        for tid, d in decisions.items():
            if last_of[tid] == occ:
                last_decisions[tid] = d
                last_rows[tid] = table[table["trainee_id"] == tid]
    counts = {d: sum(x.decision == d for x in last_decisions.values()) for d in DECISIONS}
    failing: dict[str, int] = {}
    for d in last_decisions.values():
        for name in d.failing:
            failing[name] = failing.get(name, 0) + 1
    more = [d.more_vignettes for d in last_decisions.values() if d.decision == UNDECIDED and d.more_vignettes]
    exact = sorted(((float(r.set_index("measure").loc["exact, indicators", "estimate"]),
                     float(r.set_index("measure").loc["exact, indicators", "ci_lower"]),
                     float(r.set_index("measure").loc["exact, indicators", "ci_upper"]),
                     last_decisions[tid].decision) for tid, r in last_rows.items()))
    last = ratings[ratings["occasion"] == occasions[-1]]
    ind = list(vera.indicators)
    levels = sorted({int(s) for s in vera.rating.scores.values()})
    misses = indicator_misses(last[ind], key[ind], levels=levels, alpha=p.alpha, ci=p.ci, codes=_codes(vera))
    facets = _facets(ratings[ratings["occasion"] == ratings["trainee_id"].map(last_of)], key, ind, vera, p, k)
    change = None
    if len(occasions) >= 2:
        change = training_change(ratings.reset_index(), key, ind, ci=p.ci, n_boot=p.n_boot,
                                 random_state=int(p.seed) + 100, codes=_codes(vera))
    print("[training] certification: " + ", ".join(f"{counts[d]} {d}" for d in DECISIONS), flush=True)
    oc = _operating_characteristics(root, config, vera)
    n_trainees = len(last_decisions)
    metrics = {
        "provenance": prov,
        "method": {"bootstrap": f"{p.n_boot} replicates over vignettes (expanded percentile, Hesterberg 2015; BCa)",
                   "weights": p.weights, "ci": p.ci,
                   "certification": "each trainee on the last occasion attended: certified when every rule's "
                                    "interval lies on its right side, not yet when one lies wholly on the wrong "
                                    "side, undecided otherwise",
                   "rules": _rules(p)},
        "n_trainees": n_trainees, "n_vignettes": int(len(key)), "occasions": occasions,
        "course": course,
        "certification": {"counts": protect_or_withhold(counts, k, total=True), "n_trainees": n_trainees,
                          "failing": protect_or_withhold(failing, k, total=False) if failing else {},
                          "more_vignettes_median": float(np.median(more)) if len(more) >= k else None},
        "trainees_exact": [{"estimate": e, "ci_lower": lo, "ci_upper": hi, "decision": d} for e, lo, hi, d in exact],
        "indicators": {i: {c: (None if pd.isna(v) else (v.item() if hasattr(v, "item") else v))
                           for c, v in row.items()} for i, row in misses.table.iterrows()},
        "heatmap": {"vignettes": [str(v) for v in misses.by_vignette.columns],
                    "indicators": list(misses.by_vignette.index),
                    "share": misses.by_vignette.to_numpy().round(6).tolist()},
        "change": None if change is None else {
            "effects": {t: dict(r) for t, r in change.effects.iterrows()}, "note": change.note,
            "n_missed": change.n_missed if not 0 < change.n_missed < k else f"<{k}",
            "by_arm": {arm: {"before": float(g["before"].mean()), "after": float(g["after"].mean()),
                             "n": int(len(g)) if len(g) >= k else f"<{k}"}
                       for arm, g in change.trainees.groupby("arm")}},
        "facets": facets,
        "operating_characteristics": oc,
    }
    with atomic_outputs(root) as out:
        out.write_json(METRICS, metrics)
        fig_dir = out.folder(FIG)
        for name, fig in plots.training_figures(metrics, p):
            save_svg(fig, fig_dir / name)
    print(f"[training] wrote {METRICS} and {FIG}/", flush=True)


def _facets(last: pd.DataFrame, key: pd.DataFrame, ind: list[str], vera, p: TrainingConfig,
            k: int) -> dict[str, Any]:
    """Trainee severity and indicator shift on one logit scale (the cumulative-link mixed model of each
    trainee's ratings on the last occasion they attended, as certification judges them): the SDs and
    coefficients, every indicator's shift, and the trainees' severities sorted, without pseudonyms (only counts
    and the distribution are published)."""
    print("[training] severity and indicator shift: cumulative-link mixed model", flush=True)
    try:
        res = rater_facets(last[ind + ["trainee_id"]], key[ind], ind, ci=p.ci, codes=_codes(vera))
    except NotEstimable as exc:
        return {"not_estimable": str(exc)}

    def rows(frame: pd.DataFrame) -> list[dict]:
        return [{"estimate": float(r["effect"]), "ci_lower": float(r["ci_lower"]), "ci_upper": float(r["ci_upper"])}
                for _, r in frame.iterrows()]

    trainees = res.trainees.sort_values("effect")
    fit = res.fit
    return {
        "method": "rating ~ key + (1 | trainee) + (1 | vignette) + (1 | indicator), cumulative logit, Laplace "
                  "approximation (as ordinal::clmm); effects are conditional modes with conditional-variance "
                  "intervals, above 0 rating higher than the key predicts",
        "n_ratings": fit.n, "log_likelihood": fit.log_likelihood,
        "sds": {f: {c: (None if pd.isna(v) else float(v)) for c, v in r.items() if c != "n_levels"}
                for f, r in fit.sds.iterrows()},
        "coefficients": {t: {c: float(v) for c, v in r.items()} for t, r in fit.coefficients.iterrows()},
        "indicators": {i: {"estimate": float(r["effect"]), "ci_lower": float(r["ci_lower"]),
                           "ci_upper": float(r["ci_upper"])} for i, r in res.indicators.iterrows()},
        "trainees": rows(trainees),
        "trainees_off_zero": {side: (n if not 0 < n < k else f"<{k}") for side, n in (
            ("above", int((trainees["ci_lower"] > 0).sum())), ("below", int((trainees["ci_upper"] < 0).sum())))},
    }


def _course_from(table: pd.DataFrame, measures: list[str]) -> dict[str, dict]:
    rows = table[table["trainee_id"] == OVERALL].set_index("measure")
    return {m: {k: (None if pd.isna(v) else (v.item() if hasattr(v, "item") else v))
                for k, v in rows.loc[m].items() if k != "trainee_id"}
            for m in measures if m in rows.index}


def feedback_sheets(folder: Path, out: Path, root: Path, config: Config) -> list[Path]:
    """One HTML feedback sheet per trainee of ``folder``'s training tables (checked by the data contract),
    judged on the last occasion each attended: ``out/<pseudonym>.html``. Returns the sheets written."""
    from validation.battery.contract import load_tables
    from validation.report.training import feedback_sheet

    vera, sq = load_instruments(root, config)
    tables = load_tables(folder, vera, sq, k_anonymity=config.validate.k_anonymity)
    if tables.training_ratings is None or tables.vignette_key is None:
        raise StageError(f"{folder} holds no rater-training tables (training_ratings and vignette_key)")
    p = config.training
    ratings = tables.training_ratings.set_index("vignette_id")
    ratings.index.name = "vignette"
    key = tables.vignette_key.set_index("vignette_id")
    key.index.name = "vignette"
    last_of = ratings.groupby("trainee_id")["occasion"].max()
    codes = list(vera.rating.codes)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for occ in sorted(last_of.unique()):
        sub = ratings[(ratings["occasion"] == occ) & ratings["trainee_id"].map(last_of).eq(occ)]
        table, decisions = certification(sub, key, vera, p, int(p.seed) + int(occ))
        course = table[table["trainee_id"] == OVERALL].set_index("measure")
        for tid, decision in decisions.items():
            mine = table[table["trainee_id"] == tid].set_index("measure")
            rated = sub[sub["trainee_id"] == tid]
            misses = [(str(v), item, codes[int(key.loc[v, item]) - 1], codes[int(r[item]) - 1])
                      for v, r in rated.iterrows() for item in vera.indicators
                      if pd.notna(r[item]) and r[item] != key.loc[v, item]]
            page = feedback_sheet(str(tid), {m: dict(mine.loc[m]) for m in mine.index},
                                  {m: dict(course.loc[m]) for m in course.index}, decision, misses, occ)
            path = out / f"{tid}.html"
            path.write_text(page, encoding="utf-8")
            written.append(path)
    return written
