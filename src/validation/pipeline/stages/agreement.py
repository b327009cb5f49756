"""Stage ``agreement``: inter-rater agreement of the VERA ratings and intra-rater stability.

Reads the clean ``vera_ratings`` and ``cases`` tables, calls the pure functions of
:mod:`validation.stats.agreement`, takes the method statements from :mod:`validation.report.methods`
and the figures and plot data from :mod:`validation.report.figures.agreement`, and writes
``reports/metrics/agreement.json``, the figures in ``reports/figures/agreement/`` and
``reports/plots/agreement_forest.csv`` atomically.

Samples
-------
* **Inter-rater**: independent rating forms on occasion 1 only; consensus forms are left out
  (they are not independent) and counted.
* **Pairs**: for two-rater statistics (weighted / Cohen's kappa, agreement detail, Bland-Altman)
  the first two independent forms of each case rated by two or more raters, in file order.
* **All ratings**: Krippendorff's alpha, Gwet's AC1/AC2 and the REML ICC use every independent
  occasion-1 rating, any number of raters per case.
* **Crossed block**: the largest fully crossed block of cases x raters
  (:func:`validation.design.describe_rating_design`) for the ANOVA ICCs with F-based intervals.
* **Intra-rater**: the same rater's independent forms of the same case on occasions 1 and 2.

"Not rated" is missing, never low: a pair or a rating with a not-rated cell is left out and
counted (``n_pairs_not_rated``, ``n_not_rated``); a domain total that the not-rated rule cannot
form (too few rated indicators) is left out and counted (``n_not_scorable``). With fewer usable
pairs or cases than ``min_targets`` a coefficient is declined
(``{"not_estimable": "only N pairs ..."}``).

The output holds no case or rater key: cases are counted, raters named by position
(``rater 1``, ``rater 2``, ... in the sorted order of their keys) before any statistic sees them.

Output keys: ``provenance``, ``method``, ``bands``, ``design``, ``domain_icc`` (per domain total
and ``risk_total``: the crossed-block ICC at the top level -- ``forms``, ``n_targets``, ... --
plus ``reml``, ``supported_forms``, ``sem_sdc``, ``bland_altman``), ``indicators``,
``additional``, ``summary_risk``, ``intra_rater``.
"""

from __future__ import annotations

import math
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd

from validation.report.figures import agreement as plots
from validation.stats.agreement import (agreement_detail, bland_altman, cohen_kappa, gwet_ac, icc, icc_reml,
                                        krippendorff_alpha, rater_effects, sem_sdc)
from validation.battery.anonymity import anonymise
from validation.battery.design import describe_rating_design
from validation.battery.instruments import SPJInstrument
from validation.battery.scoring import domain_totals
from validation.pipeline.inputs import clean_inputs, estimate, read_clean
from validation.pipeline.common import StageError, load_instruments
from validation.pipeline.config import Config
from validation.pipeline.outputs import atomic_outputs
from validation.pipeline.progress import progress
from validation.pipeline.provenance import provenance
from validation.pipeline.sites import pooling_instead
from validation.report.methods import agreement_method, interpretation_bands, rating_design

FIG = "reports/figures/agreement"
METRICS = "reports/metrics/agreement.json"
# plot data for `dvc plots show` / `dvc plots diff` (declared under `plots:` in dvc.yaml)
FOREST_CSV = "reports/plots/agreement_forest.csv"
# sub-stream numbers of the seed (one per use, never renumber: results would change)
_STREAM_KRIPP, _STREAM_REML = 1, 2


# ---------------------------------------------------------------------------------------------
# samples (no keys leave this section: cases become integer codes, raters "rater N")


def first_two(forms: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """For each case with two or more forms, its first and second form in file order (two frames
    aligned row by row, indexed by ``target``)."""
    r = forms.assign(_pos=np.arange(len(forms)))
    r = r.sort_values(["target", "_pos"], kind="stable")
    rank = r.groupby("target", sort=False).cumcount().to_numpy()
    size = r.groupby("target", sort=False)["target"].transform("size").to_numpy()
    first = r[(rank == 0) & (size >= 2)].set_index("target").drop(columns="_pos")
    second = r[(rank == 1) & (size >= 2)].set_index("target").drop(columns="_pos").loc[first.index]
    return first, second


def _rng(seed: int, stream: int, k: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(stream, k)))


# ---------------------------------------------------------------------------------------------
# coefficients with their counts


def _estimate(fn, *args: Any, **kwargs: Any) -> dict:
    """:func:`estimate`, with a result's own ``not_estimable`` mapping (the parts of an estimate
    the data cannot give) renamed ``not_estimable_parts``: in the metrics a ``not_estimable`` key
    always means that the whole coefficient was declined."""
    res = estimate(fn, *args, **kwargs)
    if isinstance(res.get("not_estimable"), Mapping):
        res = {("not_estimable_parts" if k == "not_estimable" else k): v for k, v in res.items()}
    return res


def _ok(res: Mapping | None) -> bool:
    """Whether a result holds an estimate (was not declined)."""
    return bool(res) and "not_estimable" not in res


def _decline(why: str, counts: dict) -> dict:
    return {"not_estimable": why, **counts}


def _slim(d: dict, drop: tuple[str, ...]) -> dict:
    return {k: v for k, v in d.items() if k not in drop}


def pair_kappa(a: pd.Series, b: pd.Series, weights: str | None, levels: list, p: Mapping,
               what: str = "pairs rated by both raters") -> dict:
    """Cohen's (weighted) kappa of paired ratings; pairs with a not-rated side are left out and
    counted; declined below ``min_targets`` usable pairs."""
    ok = (a.notna() & b.notna()).to_numpy()
    counts = {"n_pairs": int(ok.sum()), "n_pairs_not_rated": int((~ok).sum()),
              "n_ratings_not_rated": int(a.isna().sum() + b.isna().sum())}
    if counts["n_pairs"] < p.min_targets:
        return _decline(f"only {counts['n_pairs']} {what} (fewer than min_targets = {p.min_targets})",
                        counts)
    res = _estimate(cohen_kappa, a[ok].astype(int).to_numpy(), b[ok].astype(int).to_numpy(), weights=weights,
                    levels=levels, ci=p.ci)
    if _ok(res):
        res = _slim(res, ("weight_matrix",))
        res.update(p.bands.kappa.interpret(res["kappa"], res["ci"]))
    return {**res, **counts}


def _long_counts(forms: pd.DataFrame, col: str) -> dict:
    """Forms, ratings, not-rated cells, cases with a rating and cases with two or more."""
    return _all_counts(forms, [col])[col]


def _all_counts(forms: pd.DataFrame, cols: list[str]) -> dict[str, dict]:
    """:func:`_long_counts` of several columns at once."""
    rated = forms[cols].notna()
    per_target = rated.groupby(forms["target"].to_numpy()).sum()
    n_rated = rated.sum()
    one, two = (per_target >= 1).sum(), (per_target >= 2).sum()
    return {c: {"n_forms": int(len(forms)), "n_ratings": int(n_rated[c]), "n_not_rated": int(len(forms) - n_rated[c]),
                "n_cases_rated": int(one[c]), "n_cases_pairable": int(two[c])} for c in cols}


def multi_alpha(forms: pd.DataFrame, col: str, levels: list, p: Mapping, k: int,
                counts: dict | None = None) -> dict:
    """Krippendorff's ordinal alpha on all forms (any number of raters per case, not rated =
    missing) with its unit-bootstrap interval. ``counts``: those of :func:`_long_counts`, if known."""
    counts = dict(counts) if counts is not None else _long_counts(forms, col)
    if counts["n_cases_pairable"] < p.min_targets:
        return _decline(f"only {counts['n_cases_pairable']} cases rated by two or more raters "
                        f"(fewer than min_targets = {p.min_targets})", counts)
    data = forms[["target", "rater", col]]
    res = _estimate(krippendorff_alpha, data, level="ordinal", ci=p.ci, n_boot=p.n_boot,
                    seed=_rng(p.seed, _STREAM_KRIPP, k), targets="target", raters="rater", ratings=col,
                    levels=levels)
    if _ok(res):
        res = _slim(res, ("coincidence",))
        res.update(p.bands.kappa.interpret(res["alpha"], res["ci"]))
    return {**res, **counts}


def multi_gwet(forms: pd.DataFrame, col: str, weights: str | None, levels: list, p: Mapping,
               counts: dict | None = None) -> dict:
    """Gwet's AC1 (``weights=None``) or AC2 on all forms, not rated = missing."""
    counts = dict(counts) if counts is not None else _long_counts(forms, col)
    if counts["n_cases_pairable"] < p.min_targets:
        return _decline(f"only {counts['n_cases_pairable']} cases rated by two or more raters "
                        f"(fewer than min_targets = {p.min_targets})", counts)
    res = _estimate(gwet_ac, forms[["target", "rater", col]], weights=weights, ci=p.ci, levels=levels,
                    targets="target", raters="rater", ratings=col)
    if _ok(res):
        res = _slim(res, ("weight_matrix",))
        res.update(p.bands.kappa.interpret(res["estimate"], res["ci"]))
    return {**res, **counts}


def pair_detail(a: pd.Series, b: pd.Series, levels: list, p: Mapping) -> dict:
    """Observed / specific agreement, prevalence and bias indices, PABAK of the pairs."""
    ok = (a.notna() & b.notna()).to_numpy()
    counts = {"n_pairs": int(ok.sum()), "n_pairs_not_rated": int((~ok).sum())}
    if counts["n_pairs"] < p.min_targets:
        return _decline(f"only {counts['n_pairs']} pairs rated by both raters (fewer than min_targets = "
                        f"{p.min_targets})", counts)
    res = _estimate(agreement_detail, a[ok].astype(int).to_numpy(), b[ok].astype(int).to_numpy(), levels=levels,
                    positive=levels[-1])
    return {**res, **counts}


def _totals_sd(values: np.ndarray) -> float | None:
    v = values[np.isfinite(values)]
    return float(np.std(v, ddof=1)) if v.size >= 2 else None


def _sem(icc_res: Mapping, sd: float | None, p: Mapping, form: str) -> dict:
    if not _ok(icc_res):
        return {"not_estimable": "the ICC behind it is not estimable"}
    f = icc_res.get("forms", {}).get(form)
    if f is None:
        return {"not_estimable": f"the design does not support {form}"}
    if sd is None or not sd > 0:
        return {"not_estimable": "the totals have no spread (SD 0)"}
    if f["icc"] is None or f["icc"] > 1:
        return {"not_estimable": f"{form} is undefined"}
    out = _estimate(sem_sdc, f["icc"], sd, ci=p.ci)
    return {"icc_form": form, **out}


def _bland_altman(x1: np.ndarray, x2: np.ndarray, p: Mapping, what: str) -> dict:
    ok = np.isfinite(x1) & np.isfinite(x2)
    counts = {"n_pairs": int(ok.sum()), "n_pairs_not_scorable": int((~ok).sum())}
    if counts["n_pairs"] < p.min_targets:
        return _decline(f"only {counts['n_pairs']} {what} with both totals (fewer than min_targets = "
                        f"{p.min_targets})", counts)
    return {**_estimate(bland_altman, x1[ok], x2[ok], ci=p.ci, interval_method="exact"), **counts}


def crossed_icc(wide: pd.DataFrame, p: Mapping) -> dict:
    """The six ANOVA ICCs of a complete cases x raters table, F-based intervals; cases whose
    total is not scorable for some rater are left out and counted."""
    complete = wide.notna().all(axis=1)
    counts = {"n_cases_block": int(len(wide)), "n_raters_block": int(wide.shape[1]),
              "n_not_scorable": int((~complete).sum())}
    n_ok = int(complete.sum())
    if wide.shape[1] < 2:
        return _decline("no fully crossed block: no two raters rated the same cases", counts)
    if n_ok < p.min_targets:
        return _decline(f"only {n_ok} cases in the fully crossed block with every rater's total "
                        f"(fewer than min_targets = {p.min_targets})", counts)
    res = _estimate(icc, wide[complete], ci=p.ci)
    if _ok(res):
        for form in res["forms"].values():
            form.update(p.bands.icc.interpret(form["icc"], form["ci"]))
        res["supported_forms"] = (f"fully crossed block of {res['n_targets']} cases x {res['n_raters']} raters: "
                                  "all six forms (one-way ICC1/ICC1k, two-way random ICC2/ICC2k, two-way "
                                  "mixed ICC3/ICC3k)")
    return {**res, **counts}


def reml_icc(long: pd.DataFrame, col: str, p: Mapping, k: int) -> dict:
    """REML ICCs of all independent ratings (the incomplete design), parametric-bootstrap
    interval; forms the design cannot support are listed with the reason."""
    scorable = long[col].notna()
    per_target = scorable.groupby(long["target"]).sum()
    counts = {"n_forms": int(len(long)), "n_not_scorable": int((~scorable).sum()),
              "n_cases_multi_rated": int((per_target >= 2).sum())}
    if counts["n_cases_multi_rated"] < p.min_targets:
        return _decline(f"only {counts['n_cases_multi_rated']} cases with two or more scorable totals "
                        f"(fewer than min_targets = {p.min_targets})", counts)
    data = long.loc[scorable, ["target", "rater", col]]
    res = _estimate(icc_reml, data, targets="target", raters="rater", ratings=col, ci=p.ci,
                    n_boot=p.reml_n_boot, seed=_rng(p.seed, _STREAM_REML, k))
    if _ok(res):
        for form in res["forms"].values():
            form.update(p.bands.icc.interpret(form["icc"], form["ci"]))
        forms = ", ".join(res["forms"])
        nots = "; ".join(f"{f}: {why}" for f, why in res["not_estimable_parts"].items())
        res["supported_forms"] = (f"{res['design']}: {forms}" + (f" (not: {nots})" if nots else "")
                                  + f"; average-measure forms refer to k = {res['k']:g} raters, a case has "
                                  f"{res['mean_ratings_per_target']:.2f} ratings on average")
        res["rater_effects"] = _estimate(rater_effects, data, targets="target", raters="rater", ratings=col,
                                         ci=p.ci)
    return {**res, **counts}


def _reml_sd(res: Mapping) -> float | None:
    if not _ok(res):
        return None
    v = res["var_targets"] + (res["var_raters"] or 0.0) + res["var_residual"]
    return math.sqrt(v) if v > 0 else None


# ---------------------------------------------------------------------------------------------
# the stage


def run(root: Path, config: Config) -> None:
    if pooling_instead(root, config, "agreement", METRICS, [FIG], [FOREST_CSV], sections=("instruments", "agreement")):
        return
    p = config.agreement
    vera, _ = load_instruments(root, config)
    t = read_clean(root, config)
    rat = t["vera_ratings"]
    missing = [c for c in (*vera.indicators, *vera.additional, vera.summary_column) if c not in rat.columns]
    if missing:
        raise StageError(f"clean vera_ratings lack the columns {missing[:5]} of {vera.name}: rerun the validate "
                         "stage with the same instrument")
    rat = rat.merge(t["cases"][["case_id", "site"]], on="case_id", how="left", sort=False)
    occ1 = rat[rat["occasion"] == 1]
    indep1 = occ1[occ1["role"] == "independent"].reset_index(drop=True)
    n_consensus = int((occ1["role"] == "consensus").sum())
    if indep1.empty:
        raise StageError("no independent rating forms on occasion 1: inter-rater agreement needs them")
    design = describe_rating_design(indep1, "case_id", "rater_id", group="site")
    indep = rat[rat["role"] == "independent"].reset_index(drop=True)
    anon = anonymise(indep, all_raters=rat["rater_id"])   # every independent form, keys replaced
    anon1 = anon[anon["occasion"] == 1].reset_index(drop=True)
    block_cases = indep1["case_id"].isin(list(design.block_target_keys)).to_numpy()
    block_raters = indep1["rater_id"].isin(list(design.block_rater_keys)).to_numpy()
    in_block = block_cases & block_raters        # aligned with anon1 (same rows, same order)

    rule, min_rated = p.not_rated_rule, float(p.min_rated)
    codes = [d.code for d in vera.domains] + ["risk_total"]
    labels = {d.code: d.label for d in vera.domains} | {"risk_total": "risk total (all risk domains)"}
    totals1 = pd.concat([anon1[["target", "rater"]], domain_totals(anon1, vera, rule, min_rated)], axis=1)
    block_text = (f"crossed block {design.block_n_targets} cases x {design.block_n_raters} raters"
                  if design.block_n_targets else "no crossed block")
    print(f"[agreement] {design.design}: {design.n_targets} cases, {design.n_raters} raters, "
          f"{design.n_ratings} independent forms; {block_text}", flush=True)

    # REML fits (the slow part: a refit per bootstrap replicate) run in threads while the
    # indicators are computed; each has its own seed, so the results do not depend on scheduling.
    workers = max(1, min(len(codes), os.cpu_count() or 1))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        reml_jobs = {c: pool.submit(reml_icc, totals1[["target", "rater", c]].copy(), c, p, k)
                     for k, c in enumerate(codes)}
        indicators, additional, summary = _items(vera, anon1, p)
        reml = {c: f.result() for c, f in reml_jobs.items()}

    # Domain totals: crossed block, REML, SEM / SDC, Bland-Altman on the first two forms
    block = totals1[in_block]
    a_tot, b_tot = first_two(totals1)
    domain_icc: dict[str, dict] = {}
    ba_panels = []
    for c in codes:
        wide = block.pivot(index="target", columns="rater", values=c)
        wide = wide[sorted(wide.columns, key=lambda s: int(s.split()[-1]))]
        res = crossed_icc(wide, p)
        block_sd = _totals_sd(wide[wide.notna().all(axis=1)].to_numpy(dtype=float).ravel())
        x1, x2 = a_tot[c].to_numpy(dtype=float), b_tot[c].to_numpy(dtype=float)
        ba = _bland_altman(x1, x2, p, "double-rated cases")
        domain_icc[c] = {
            "label": labels[c],
            **res,
            "reml": reml[c],
            "sem_sdc": {"crossed_block": _sem(res, block_sd, p, p.sem_form),
                        "reml": _sem(reml[c], _reml_sd(reml[c]), p, p.sem_form)},
            "bland_altman": ba,
        }
        ba_panels.append(plots.bland_altman_panel(f"{c}: {labels[c]}" if c != "risk_total" else "risk total",
                                                  x1, x2, ba))

    intra = _intra_rater(vera, anon, codes, p)
    per_rater = anon1.groupby("rater", sort=False).size()
    ratings_per_rater = {r: int(per_rater[r]) for r in sorted(per_rater.index, key=lambda s: int(s.split()[-1]))}
    metrics = {
        "provenance": provenance(root, "agreement", config, clean_inputs(root, config), ("instruments", "agreement")),
        "method": agreement_method(p),
        "bands": interpretation_bands({"icc": p.bands.icc, "kappa": p.bands.kappa}),
        "design": rating_design(design, ratings_per_rater, n_consensus, intra["n_cases"], int(len(occ1))),
        "domain_icc": domain_icc,
        "indicators": indicators,
        "additional": additional,
        "summary_risk": summary,
        "intra_rater": intra,
    }
    with atomic_outputs(root) as out:
        out.write_json(METRICS, metrics)
        fig_dir = out.folder(FIG)
        for name, fig in plots.agreement_figures(metrics, vera.indicators, vera.additional, ba_panels, p.bands.kappa,
                                                 p.bands.icc, p.ci, p.gwet_weights):
            plots.save_svg(fig, fig_dir / name)
        out.write_text(FOREST_CSV, plots.forest_csv(metrics, vera.indicators, p.gwet_weights))
    print(f"[agreement] wrote {METRICS} and {FIG}/", flush=True)


def _items(vera: SPJInstrument, anon1: pd.DataFrame, p: Mapping) -> tuple[dict, dict, dict]:
    """Indicators (ordinal), additional indicators (present / absent) and the summary judgement."""
    a, b = first_two(anon1)
    levels = sorted({int(v) for v in vera.rating.scores.values()})
    add_levels = (sorted({int(v) for v in vera.additional_scale.scores.values()})
                  if vera.additional and vera.additional_scale is not None else [0, 1])
    sum_levels = list(range(1, len(vera.summary.codes) + 1))
    items = [*vera.indicators, *vera.additional, vera.summary_column]
    indicators: dict[str, dict] = {}
    additional: dict[str, dict] = {}
    summary: dict = {}
    counts = _all_counts(anon1, items)
    bar = progress(len(items), "[agreement] indicators", "item")
    for k, item in enumerate(items):
        bar.update(1)
        forms = anon1[["target", "rater", item]]
        if item in vera.additional:
            additional[item] = {
                "group": vera.domain_of(item),
                **counts[item],
                "kappa": pair_kappa(a[item], b[item], None, add_levels, p),
                "gwet_ac1": multi_gwet(forms, item, None, add_levels, p, counts[item]),
                "detail": pair_detail(a[item], b[item], add_levels, p),
            }
            continue
        lv = sum_levels if item == vera.summary_column else levels
        block = {
            **counts[item],
            "weighted_kappa": pair_kappa(a[item], b[item], "quadratic", lv, p),
            "krippendorff_alpha": multi_alpha(forms, item, lv, p, k, counts[item]),
            "gwet_ac2": multi_gwet(forms, item, p.gwet_weights, lv, p, counts[item]),
        }
        if item == vera.summary_column:
            summary = block
        else:
            indicators[item] = {"domain": vera.domain_of(item), **block}
    return indicators, additional, summary


def _intra_rater(vera: SPJInstrument, anon: pd.DataFrame, codes: list[str], p: Mapping) -> dict:
    """The same rater on occasions 1 and 2: domain-total ICCs (occasions as the two columns), SEM /
    SDC, Bland-Altman of the change, and weighted kappa of each indicator and the summary."""
    o1 = anon[anon["occasion"] == 1].set_index(["target", "rater"])
    o2 = anon[anon["occasion"] == 2].set_index(["target", "rater"])
    common = o1.index.intersection(o2.index, sort=False).sort_values()
    f1, f2 = o1.loc[common], o2.loc[common]
    rule, min_rated = p.not_rated_rule, float(p.min_rated)
    t1 = domain_totals(f1, vera, rule, min_rated)
    t2 = domain_totals(f2, vera, rule, min_rated)
    months = pd.to_numeric(f2["months_since_first"], errors="coerce").dropna().to_numpy(dtype=float)
    out: dict[str, Any] = {
        "n_cases": int(len(common)),
        "sample": "independent forms of the same case by the same rater on occasions 1 and 2",
        "months_between": ({"min": float(months.min()), "median": float(np.median(months)),
                            "max": float(months.max())} if months.size else None),
    }
    dom = {}
    for c in codes:
        wide = pd.DataFrame({"occasion 1": t1[c].to_numpy(dtype=float), "occasion 2": t2[c].to_numpy(dtype=float)})
        complete = wide.notna().all(axis=1)
        n_ok = int(complete.sum())
        counts = {"n_pairs": n_ok, "n_not_scorable": int((~complete).sum())}
        if n_ok < p.min_targets:
            res = _decline(f"only {n_ok} cases reassessed by the same rater with both totals (fewer than "
                           f"min_targets = {p.min_targets})", counts)
        else:
            res = {**_estimate(icc, wide[complete], ci=p.ci), **counts}
            if _ok(res):
                for form in res["forms"].values():
                    form.update(p.bands.icc.interpret(form["icc"], form["ci"]))
        sd = _totals_sd(wide[complete].to_numpy(dtype=float).ravel())
        dom[c] = {**res, "sem_sdc": _sem(res, sd, p, p.sem_form),
                  "bland_altman": _bland_altman(wide["occasion 1"].to_numpy(), wide["occasion 2"].to_numpy(), p,
                                                "cases reassessed by the same rater")}
    out["domain_icc"] = dom
    levels = sorted({int(v) for v in vera.rating.scores.values()})
    what = "cases reassessed by the same rater with both ratings"
    out["indicators"] = {i: pair_kappa(f1[i], f2[i], "quadratic", levels, p, what) for i in vera.indicators}
    out["summary_risk"] = pair_kappa(f1[vera.summary_column], f2[vera.summary_column], "quadratic",
                                     list(range(1, len(vera.summary.codes) + 1)), p, what)
    return out
