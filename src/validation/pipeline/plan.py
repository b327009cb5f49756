"""Planning the next study by simulation: the battery's synthetic generator drawn again and again at each
point of a grid (cases, event rate, raters per case), each replicate analysed by the pipeline's own functions and judged
by the report's rule, on a Dask cluster.

Per grid cell and key figure: the share of replicates whose verdict is decided (meets or does not meet),
split into meets / does not meet / inconclusive / no evidence beyond chance, the mean interval width,
and the coverage of the figure's population value (the same figure on one large synthetic draw of the
cell, 20,000 cases).

Reproducible: replicate r of cell c draws its seed from ``numpy.random.SeedSequence(seed,
spawn_key=(c, r))``, so the results do not depend on the number of workers or the order in which
tasks finish; ``plan.json`` is written from the checkpoints (one JSON file a cell, written atomically),
so an interrupted run resumes where it stopped and writes the same bytes.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np

FIGURES = ("VERA-2R BA alpha", "summary risk judgement, weighted kappa", "AUC of the risk total")
POPULATION_CASES = 20_000
TRUTH_DRAWS = 1_000      # the generator's own Monte Carlo truths are not used here: keep them cheap


@dataclass(frozen=True)
class Cell:
    index: int
    n_cases: int
    event_rate: float | None = None        # base rate of the planned outcome; None: the battery's default
    raters_per_case: float | None = None   # mean independent raters a case, 1 + the share rated by a second
                                           # rater; None: the battery's default

    def key(self) -> str:
        rate = "default" if self.event_rate is None else f"{self.event_rate:g}"
        raters = "" if self.raters_per_case is None else f"-raters{self.raters_per_case:g}"
        return f"cell{self.index:03d}-n{self.n_cases}-rate{rate}{raters}"


def grid(n_cases: Sequence[int], event_rates: Sequence[float | None],
         raters_per_case: Sequence[float | None] = ()) -> list[Cell]:
    """The grid cells in a fixed order: cases, then event rate, then raters per case."""
    rates = list(event_rates) or [None]
    raters = list(raters_per_case) or [None]
    combos = [(n, r, k) for n in n_cases for r in rates for k in raters]
    return [Cell(i, int(n), r, k) for i, (n, r, k) in enumerate(combos)]


def replicate_seed(seed: int, cell: int, replicate: int) -> int:
    """The seed of one replicate: a child of the plan's seed keyed by (cell, replicate)."""
    return int(np.random.SeedSequence(seed, spawn_key=(cell, replicate)).generate_state(1)[0])


# ----------------------------------------------------------------------------------------------
# one replicate: generate, analyse, judge (runs on the workers)


def _battery(cell: Cell, n_cases: int, seed: int, outcome: str, vera, sq):
    from validation.battery.synthetic import SyntheticConfig, generate

    kw: dict[str, Any] = {"n_cases": n_cases, "seed": seed, "truth_draws": TRUTH_DRAWS}
    if cell.event_rate is not None:
        kw[f"base_rate_{outcome}"] = float(cell.event_rate)
    if cell.raters_per_case is not None:
        kw["second_rated_share"] = float(cell.raters_per_case) - 1.0
    return generate(SyntheticConfig(**kw), vera, sq)


def _tables(battery, vera, sq) -> dict:
    """The battery's tables through the data contract, as the pipeline reads them."""
    from validation.battery.contract import load_tables

    with tempfile.TemporaryDirectory() as tmp:
        for name, frame in battery.tables().items():
            frame.to_csv(Path(tmp) / f"{name}.csv", index=False)
        t = load_tables(tmp, vera, sq, k_anonymity=1)
    return {name: getattr(t, name) for name in ("cases", "vera_ratings", "sq_responses", "outcomes")}


def analyse(t: Mapping, vera, sq, ctx: Mapping) -> dict[str, dict]:
    """The planned key figures of one data set: estimate, interval and the report's verdict."""
    from validation.battery.anonymity import anonymise
    from validation.battery.scoring import primary_ratings
    from validation.pipeline.stages.agreement import first_two
    from validation.pipeline.stages.predictive import RISK_TOTAL, predictors
    from validation.report import verdicts as VD
    from validation.stats.agreement import cohen_kappa
    from validation.stats.predictive import roc_auc
    from validation.stats.reliability import cronbach_alpha
    from validation.stats.results import NotEstimable

    thr, ci = ctx["thresholds"], float(ctx["ci"])
    out: dict[str, dict] = {}

    def record(label, kind, est, lo, hi, n, k=None, events=None):
        v = VD.judge_estimate(kind, est, lo, hi, thr[kind], level=ci, n=n, k=k, events=events)
        out[label] = {"estimate": est, "lower": lo, "upper": hi, "verdict": v.outcome}

    try:
        items = primary_ratings(t["vera_ratings"])[list(vera.domains[0].items)].astype(float)
        a = cronbach_alpha(items, ci=ci)
        record(FIGURES[0], "alpha", a.alpha, a.ci.lower, a.ci.upper, a.n, k=a.k)
    except NotEstimable:
        out[FIGURES[0]] = {"verdict": "not estimable"}
    try:
        rat = t["vera_ratings"]
        indep = rat[rat["role"] == "independent"].reset_index(drop=True)
        anon = anonymise(indep, all_raters=rat["rater_id"])
        f1, f2 = first_two(anon[anon["occasion"] == 1].reset_index(drop=True))
        col = vera.summary_column
        ok = (f1[col].notna() & f2[col].notna()).to_numpy()
        kp = cohen_kappa(f1[col][ok].astype(int).to_numpy(), f2[col][ok].astype(int).to_numpy(), weights="quadratic",
                         levels=list(range(1, len(vera.summary.codes) + 1)), ci=ci)
        record(FIGURES[1], "kappa", kp.kappa, kp.ci.lower, kp.ci.upper, int(ok.sum()))
    except NotEstimable:
        out[FIGURES[1]] = {"verdict": "not estimable"}
    try:
        frame, direction = predictors(t, vera, sq, "prorate", 0.8)
        o = t["outcomes"][t["outcomes"]["outcome"] == ctx["outcome"]][["case_id", "event", "time_days"]].dropna()
        sub = frame.merge(o, on="case_id")[["event", RISK_TOTAL]].dropna()
        y = sub["event"].to_numpy(dtype=int)
        if min(int(y.sum()), int(len(y) - y.sum())) < int(ctx["min_events"]):
            raise NotEstimable("too few events")
        r = roc_auc(y, sub[RISK_TOTAL].to_numpy(dtype=float), ci=ci, direction=direction[RISK_TOTAL])
        record(FIGURES[2], "auc", r.auc, r.ci.lower, r.ci.upper, len(y), events=int(y.sum()))
    except NotEstimable:
        out[FIGURES[2]] = {"verdict": "not estimable"}
    return out


def run_batch(cell: Cell, first: int, last: int, ctx: Mapping) -> list[dict]:
    """Replicates ``first`` .. ``last - 1`` of a cell (one task: batched so scheduling stays cheap)."""
    vera, sq = ctx["vera"], ctx["sq"]
    out = []
    for r in range(first, last):
        seed = replicate_seed(int(ctx["seed"]), cell.index, r)
        t = _tables(_battery(cell, cell.n_cases, seed, ctx["outcome"], vera, sq), vera, sq)
        out.append({"replicate": r, "figures": analyse(t, vera, sq, ctx)})
    return out


def population_values(cell: Cell, ctx: Mapping) -> dict[str, float | None]:
    """The figures on one large draw of the cell's population (the values the intervals should cover)."""
    vera, sq = ctx["vera"], ctx["sq"]
    seed = replicate_seed(int(ctx["seed"]), cell.index, 10 ** 6)
    n = int(ctx.get("population_cases", POPULATION_CASES))
    t = _tables(_battery(cell, n, seed, ctx["outcome"], vera, sq), vera, sq)
    return {k: v.get("estimate") for k, v in analyse(t, vera, sq, ctx).items()}


# ----------------------------------------------------------------------------------------------
# summaries, checkpoints, the engine


def summarise(cell: Cell, replicates: list[dict], population: Mapping[str, float | None]) -> dict:
    """One cell of plan.json: per figure the shares of each verdict, the decided share, the mean
    interval width and the coverage of the population value."""
    from validation.report.verdicts import CHANCE, FAILS, INCONCLUSIVE, MEETS

    figures = {}
    for label in FIGURES:
        rows = [r["figures"].get(label, {}) for r in replicates]
        n = len(rows)
        verdicts = [row.get("verdict") for row in rows]
        est = [row for row in rows if row.get("lower") is not None]
        truth = population.get(label)
        covered = [row["lower"] <= truth <= row["upper"] for row in est] if truth is not None else []
        figures[label] = {
            "replicates": n,
            "decided": sum(v in (MEETS, FAILS) for v in verdicts) / n,
            "meets": sum(v == MEETS for v in verdicts) / n,
            "does_not_meet": sum(v == FAILS for v in verdicts) / n,
            "inconclusive": sum(v == INCONCLUSIVE for v in verdicts) / n,
            "no_evidence_beyond_chance": sum(v == CHANCE for v in verdicts) / n,
            "not_estimable": sum(v == "not estimable" for v in verdicts) / n,
            "mean_width": (sum(row["upper"] - row["lower"] for row in est) / len(est)) if est else None,
            "population_value": truth,
            "coverage": (sum(covered) / len(covered)) if covered else None,
        }
    return {"n_cases": cell.n_cases, "event_rate": cell.event_rate, "raters_per_case": cell.raters_per_case,
            "figures": figures}


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def _checkpoint(folder: Path, cell: Cell) -> Path:
    return folder / f"{cell.key()}.json"


def _load_checkpoint(path: Path, replicates: int) -> dict | None:
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError:
        return None
    return data if len(data.get("replicates", [])) == replicates else None


def run_plan(ctx: Mapping, cells: list[Cell], replicates: int, checkpoints: Path, *, workers: int = 2,
             scheduler: str | None = None, batch: int = 10, say: Callable[[str], None] = print,
             progress: Callable[[int, int], None] | None = None) -> dict:
    """Simulate every cell not yet checkpointed on a Dask cluster (a LocalCluster of ``workers``
    processes, or the scheduler at ``scheduler``) and return plan.json's content, built from the
    checkpoints."""
    from distributed import Client, LocalCluster, as_completed

    todo = [c for c in cells if _load_checkpoint(_checkpoint(checkpoints, c), replicates) is None]
    if todo:
        cluster = None
        if scheduler:
            client = Client(scheduler)
            say(f"[plan] engine: Dask, the scheduler at {scheduler} (dashboard {client.dashboard_link})")
        else:
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0")
            client = Client(cluster)
            say(f"[plan] engine: Dask LocalCluster, {workers} worker process(es) (dashboard {client.dashboard_link})")
        try:
            shared = client.scatter(dict(ctx), broadcast=True)
            tasks, owner = [], {}
            for c in todo:
                for first in range(0, replicates, batch):
                    fut = client.submit(run_batch, c, first, min(first + batch, replicates), shared, pure=False)
                    tasks.append(fut)
                    owner[fut.key] = c
                pop = client.submit(population_values, c, shared, pure=False)
                tasks.append(pop)
                owner[pop.key] = c
            got: dict[int, dict] = {c.index: {"replicates": [], "population": None} for c in todo}
            need = {c.index: -(-replicates // batch) + 1 for c in todo}
            done_tasks = 0
            for fut in as_completed(tasks):
                c = owner[fut.key]
                res = fut.result()
                if isinstance(res, list):
                    got[c.index]["replicates"].extend(res)
                else:
                    got[c.index]["population"] = res
                need[c.index] -= 1
                done_tasks += 1
                if progress:
                    progress(done_tasks, len(tasks))
                if need[c.index] == 0:
                    reps = sorted(got[c.index]["replicates"], key=lambda r: r["replicate"])
                    _write_atomic(_checkpoint(checkpoints, c), json.dumps(
                        {"cell": c.key(), "population": got[c.index]["population"], "replicates": reps},
                        sort_keys=True))
                    say(f"[plan] {c.key()}: {replicates} replicates done")
        finally:
            client.close()
            if cluster is not None:
                cluster.close()
    else:
        say("[plan] every cell is checkpointed already: nothing to simulate")
    out_cells = []
    for c in cells:
        data = _load_checkpoint(_checkpoint(checkpoints, c), replicates)
        out_cells.append(summarise(c, data["replicates"], data["population"]))
    return {"engine": "dask.distributed", "seed": int(ctx["seed"]), "replicates": replicates,
            "outcome": ctx["outcome"], "figures": list(FIGURES), "cells": out_cells,
            "method": "replicates of the synthetic battery at each grid cell (seed by cell and replicate), analysed "
                      "by the pipeline's functions and judged by the report's rule; decided = meets or does not meet; "
                      f"coverage of the figure on one draw of {int(ctx.get('population_cases', POPULATION_CASES)):,} "
                      "cases"}


def plan_context(root: Path, config, outcome: str | None = None) -> dict:
    """What every replicate needs: the instruments, thresholds, interval level, outcome, seed."""
    from validation.pipeline.common import load_instruments
    from validation.report.rules import merge_params

    vera, sq = load_instruments(root, config)
    p = config.planning
    return {"vera": vera, "sq": sq, "thresholds": merge_params(config.report.as_dict())["thresholds"],
            "ci": config.predictive.ci, "min_events": config.predictive.min_events,
            "outcome": outcome or p.outcome, "seed": int(p.seed)}


def dumps_plan(plan: Mapping) -> str:
    """plan.json's bytes: sorted keys, the floats as Python writes them (exact round trip)."""
    return json.dumps(plan, sort_keys=True, indent=2, allow_nan=False) + "\n"

