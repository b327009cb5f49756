"""Stage ``reliability``: internal consistency of every VERA domain and SQ scale, overall and by site
and language (Cronbach's alpha with its interval, McDonald's omega, item statistics)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from validation.stats.reliability import (categorical_omega, cronbach_alpha, item_statistics, omega, omega_hierarchical,
                                         ordinal_alpha, ordinal_omega)
from validation.battery.scoring import primary_ratings, sq_keyed
from validation.pipeline.inputs import by_group, clean_inputs, estimate, read_clean
from validation.pipeline.common import StageError, load_instruments
from validation.pipeline.config import Config
from validation.pipeline.outputs import atomic_outputs
from validation.pipeline.provenance import provenance
from validation.pipeline.sites import pooling_instead
from validation.report.figures import save_svg
from validation.report.figures.reliability import reliability_figures
from validation.report.methods import reliability_method

FIG = "reports/figures/reliability"


MISSING = {"prorate": "pairwise", "complete": "listwise"}


def _consistency(items: pd.DataFrame, p: dict, scale: tuple[int, int]) -> dict:
    return {
        "n": int(len(items)),
        "alpha": estimate(cronbach_alpha, items, ci=p.ci, ci_method=p.ci_method, n_boot=p.n_boot,
                          seed=p.seed, missing=MISSING[p.not_rated_rule]),
        "omega": estimate(omega, items, ci=p.ci, n_boot=p.n_boot, seed=p.seed, missing=p.omega_missing),
        "items": estimate(item_statistics, items, scale=scale),
    }


def _alpha_only(items: pd.DataFrame, p: dict) -> dict:
    return {"n": int(len(items)), "alpha": estimate(cronbach_alpha, items, ci=p.ci, ci_method="feldt",
                                                    missing=MISSING[p.not_rated_rule])}


def run(root: Path, config: Config) -> None:
    if pooling_instead(root, config, "reliability", "reports/metrics/reliability.json", [FIG],
                       sections=("instruments", "reliability")):
        return
    p = config.reliability
    if p.not_rated_rule not in MISSING:
        raise StageError(f"reliability.not_rated_rule must be one of {sorted(MISSING)}, found {p.not_rated_rule!r}")
    vera, sq = load_instruments(root, config)
    t = read_clean(root, config)
    min_n = int(p.min_cases)

    ratings = primary_ratings(t["vera_ratings"]).merge(t["cases"][["case_id", "site"]], on="case_id")
    vmin, vmax = min(vera.rating.scores.values()), max(vera.rating.scores.values())
    domains = {}
    for d in vera.domains:
        print(f"[reliability] VERA {d.code} ({len(d.items)} indicators)", flush=True)
        x = ratings[list(d.items)].astype("Float64")
        domains[d.code] = {
            "label": d.label, "protective": d.protective, "k": len(d.items),
            "overall": _consistency(x, p, (vmin, vmax)),
            "ordinal": {
                "alpha": estimate(ordinal_alpha, x, ci=p.ci, n_boot=int(p.ordinal_n_boot), seed=p.seed),
                "omega": estimate(ordinal_omega, x, ci=p.ci, n_boot=int(p.ordinal_n_boot), seed=p.seed),
                "categorical_omega": estimate(categorical_omega, x.astype(float), ci=p.ci),
            },
            "by_site": by_group(ratings, "site", min_n, lambda s, d=d: _alpha_only(s[list(d.items)].astype("Float64"), p)),
        }

    sq1 = t["sq_responses"][t["sq_responses"]["occasion"] == 1].merge(t["cases"][["case_id", "site"]], on="case_id")
    keyed = pd.concat([sq_keyed(sq1, sq), sq1[["site", "language"]]], axis=1)
    scales = {}
    for s in sq.scales:
        print(f"[reliability] SQ {s.code} ({len(s.items)} items)", flush=True)
        cols = list(s.items)
        scales[s.code] = {
            "label": s.label, "k": len(cols),
            "overall": _consistency(keyed[cols], p, (sq.response_min, sq.response_max)),
            "categorical_omega": estimate(categorical_omega, keyed[cols].astype(float), ci=p.ci),
            "by_site": by_group(keyed, "site", min_n, lambda g, c=cols: _alpha_only(g[c], p)),
            "by_language": by_group(keyed, "language", min_n, lambda g, c=cols: _alpha_only(g[c], p)),
        }

    print("[reliability] SQ omega hierarchical", flush=True)
    all_sq = keyed[sq.items]
    sq_general = estimate(omega_hierarchical, all_sq, n_factors=len(sq.scales), fm="minres", rotation="oblimin")

    metrics = {
        "provenance": provenance(root, "reliability", config, clean_inputs(root, config),
                                 ("instruments", "reliability")),
        "method": reliability_method(p),
        "vera": {"instrument": vera.name, "n_cases": int(len(ratings)), "domains": domains},
        "sq": {"instrument": sq.name, "placeholder_key": sq.placeholder, "n_cases": int(len(keyed)), "scales": scales,
               "omega_hierarchical": sq_general},
    }

    with atomic_outputs(root) as out:
        out.write_json("reports/metrics/reliability.json", metrics)
        fig_dir = out.folder(FIG)
        for name, fig in reliability_figures({"vera": domains, "sq": scales}):
            save_svg(fig, fig_dir / name)
    print("[reliability] wrote reports/metrics/reliability.json and " + FIG + "/")
