"""Stage ``structure``: factorability and dimensionality of the SQ items (KMO, Bartlett, eigenvalues
with Horn's parallel analysis), with the scree plot."""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any, Mapping

import pandas as pd

from validation.stats.cfa import cfa, invariance, small_sample_fit
from validation.stats.factor import bartlett, efa, eigenvalues, kmo, parallel_analysis
from validation.stats.results import NotEstimable, to_dict
from validation.battery.scoring import primary_ratings, sq_keyed
from validation.pipeline.inputs import clean_inputs, estimate, read_clean
from validation.pipeline.common import load_instruments
from validation.pipeline.config import Config
from validation.pipeline.outputs import atomic_outputs
from validation.pipeline.provenance import provenance
from validation.pipeline.sites import pooling_instead
from validation.report.figures import save_svg
from validation.report.figures.structure import scree_csv, structure_figures
from validation.report.methods import structure_method

FIG = "reports/figures/structure"
FIT_KEYS = ("npar", "chisq", "df", "pvalue", "cfi", "tli", "rmsea", "rmsea.ci.lower", "rmsea.ci.upper", "srmr",
            "logl", "aic", "bic", "ntotal")


def measurement_model(sq) -> str:
    """The hypothesised SQ structure in lavaan syntax: one factor a scale (reverse-keyed items reflected)."""
    return "\n".join(f"{s.code} =~ " + " + ".join(s.items) for s in sq.scales)


def fit_summary(fit: dict) -> dict:
    return {k: fit.get(k) for k in FIT_KEYS}


def small_sample(fit: dict, model: str, n_groups: int) -> dict:
    """The model's chi-square, CFI, TLI and RMSEA corrected for sample size (Swain; Bartlett)."""
    n_items = len({i.strip() for line in model.splitlines() for i in line.split("=~")[1].split("+")})
    return {method: estimate(small_sample_fit, fit, n_items, model.count("=~"), method, n_groups=n_groups)
            for method in ("swain", "bartlett")}


def _cfa_block(model: str, items, p: dict) -> dict:
    try:
        res = cfa(model, items, missing=p.cfa_missing, modindices=p.modindices)
    except NotEstimable as exc:
        return {"not_estimable": str(exc)}
    d = to_dict(res)
    fit = fit_summary(d["fit"])
    loadings = [{"factor": q["lhs"], "item": q["rhs"], "std": q["std_all"], "se": q["std_se"]}
                for q in d["parameters"] if q["op"] == "=~"]
    return {"n": d["n"], "missing": d["missing"], "converged": d["converged"], "fit": fit,
            "small_sample": small_sample(d["fit"], model, 1),
            "std_loadings": loadings,
            "modification_indices": d["modification_indices"], "warnings": d["warnings"]}


ORDINAL_FIT_KEYS = ("npar", "chisq", "df", "chisq.scaled", "pvalue.scaled", "chisq.scaling.factor", "cfi.scaled",
                    "tli.scaled", "rmsea.scaled", "rmsea.ci.lower.scaled", "rmsea.ci.upper.scaled", "cfi.robust",
                    "tli.robust", "rmsea.robust", "srmr", "ntotal")


def _ordinal_block(model: str, items, p: dict) -> dict:
    """The model fitted to the items as ordinal (WLSMV): fit, standardized loadings, thresholds."""
    try:
        res = cfa(model, items, estimator="WLSMV", ordered=True, parameterization=p.parameterization,
                  missing=p.ordinal_missing)
    except NotEstimable as exc:
        return {"not_estimable": str(exc)}
    d = to_dict(res)
    return {"estimator": "WLSMV", "n": d["n"], "missing": d["missing"], "parameterization": p.parameterization,
            "fit": {k: d["fit"].get(k) for k in ORDINAL_FIT_KEYS},
            "std_loadings": [{"factor": q["lhs"], "item": q["rhs"], "std": q["std_all"], "se": q["std_se"]}
                             for q in d["parameters"] if q["op"] == "=~"],
            "warnings": d["warnings"]}


def compare_estimators(ml: dict, ordinal: dict) -> dict:
    """How the ordinal (WLSMV) model differs from the continuous (ML) one: standardized loadings item by
    item (WLSMV minus ML) and the fit indices side by side."""
    if "not_estimable" in ml or "not_estimable" in ordinal:
        return {"not_estimable": "one of the two models was not estimable"}
    a = {(x["factor"], x["item"]): x["std"] for x in ml["std_loadings"]}
    b = {(x["factor"], x["item"]): x["std"] for x in ordinal["std_loadings"]}
    diff = [b[k] - a[k] for k in a if k in b and a[k] is not None and b[k] is not None]
    return {"loadings_compared": len(diff), "mean_loading_difference": float(sum(diff) / len(diff)) if diff else None,
            "largest_loading_difference": max(diff, key=abs) if diff else None,
            "ml": {"cfi": ml["fit"].get("cfi"), "rmsea": ml["fit"].get("rmsea"), "srmr": ml["fit"].get("srmr")},
            "wlsmv": {"cfi": ordinal["fit"].get("cfi.scaled"), "rmsea": ordinal["fit"].get("rmsea.scaled"),
                      "srmr": ordinal["fit"].get("srmr")}}


def _ordinal_invariance_block(model: str, frame, group: str, p: dict) -> dict:
    sizes = frame[group].value_counts()
    keep = sorted(str(g) for g in sizes[sizes >= int(p.min_group_n)].index)
    dropped = {str(g): int(n) for g, n in sizes.items() if str(g) not in keep}
    if len(keep) < 2:
        return {"not_estimable": f"fewer than 2 {group} groups with at least {p.min_group_n} cases",
                "groups_dropped": dropped, "estimator": "WLSMV"}
    sub = frame[frame[group].astype(str).isin(keep)].copy()
    sub[group] = sub[group].astype(str)
    try:
        res = invariance(model, sub, group, criteria=p.invariance_criteria.model_dump(), estimator="WLSMV",
                         ordered=True, parameterization=p.parameterization, missing=p.ordinal_missing,
                         identification=p.ordinal_identification)
    except NotEstimable as exc:
        return {"not_estimable": str(exc), "groups_dropped": dropped, "estimator": "WLSMV"}
    d = to_dict(res)
    steps = [{k: st.get(k) for k in ("name", "equal", "group_partial", "compared_with", "chisq_diff", "df_diff",
                                      "pvalue", "delta_cfi", "delta_rmsea", "delta_srmr", "holds")}
             | {"fit": {k: st["fit"].get(k) for k in ORDINAL_FIT_KEYS}} for st in d["steps"]]
    return {"estimator": "WLSMV", "identification": p.ordinal_identification, "groups": d["groups"],
            "nobs": d["nobs"], "groups_dropped": dropped, "level": d["level"], "criteria": d["criteria"],
            "steps": steps, "score_tests": _pointing_tests(res), "warnings": d["warnings"]}


def _pointing_tests(res, top: int = 5) -> dict:
    """The largest score tests of the first constrained step that fails (else the last one): the
    thresholds or loadings whose equality across groups costs most fit."""
    constrained = list(zip(res.steps[1:], res.score_tests))
    if not constrained:
        return {}
    step, tests = next(((st, t) for st, t in constrained if st.holds is False), constrained[-1])
    return {"step": step.name, "step_holds": step.holds, "tests": [{"parameter": t.parameter, "group": t.group, "x2": t.x2, "pvalue": t.pvalue}
                                         for t in tests[:top]]}


def invariance_block(model: str, frame, group: str, p: dict, sizes: Mapping[str, int] | None = None) -> dict:
    """The SQ model's invariance across ``group``, the groups of fewer than ``min_group_n`` rows left out
    (``sizes``: the rows of each group, when ``frame`` does not hold them all, as for pooled moments)."""
    sizes = pd.Series(sizes) if sizes is not None else frame[group].value_counts()
    keep = sorted(str(g) for g in sizes[sizes >= int(p.min_group_n)].index)
    dropped = {str(g): int(n) for g, n in sizes.items() if str(g) not in keep}
    if len(keep) < 2:
        return {"not_estimable": f"fewer than 2 {group} groups with at least {p.min_group_n} cases",
                "groups_dropped": dropped}
    sub = frame[frame[group].astype(str).isin(keep)].copy()
    sub[group] = sub[group].astype(str)
    try:
        # only the steps' fit and tests are kept: the expected information spares each step its Hessian
        res = invariance(model, sub, group, criteria=p.invariance_criteria.model_dump(), missing=p.cfa_missing,
                         modindices=0, information="expected" if p.cfa_missing == "ml" else None)
    except NotEstimable as exc:
        return {"not_estimable": str(exc), "groups_dropped": dropped}
    d = to_dict(res)
    steps = [{k: st.get(k) for k in ("name", "equal", "group_partial", "compared_with", "chisq_diff", "df_diff",
                                      "pvalue", "delta_cfi", "delta_rmsea", "delta_srmr", "holds")}
             | {"fit": fit_summary(st["fit"])} for st in d["steps"]]
    steps[0]["small_sample"] = small_sample(d["steps"][0]["fit"], model, len(d["groups"]))  # the configural model
    return {"groups": d["groups"], "nobs": d["nobs"], "groups_dropped": dropped, "level": d["level"],
            "freed_intercepts": d["freed"], "criteria": d["criteria"], "steps": steps, "warnings": d["warnings"]}


def vera_model(vera) -> str:
    """The VERA-2R structure in lavaan syntax: one factor a domain, its indicators on it."""
    return "\n".join(f"{d.code} =~ " + " + ".join(d.items) for d in vera.domains)


def _vera_structure(vera, t: dict, p: dict) -> dict:
    """The five-domain model of the indicator ratings (one form a case), ordinal, and its invariance
    across sites."""
    if "WLSMV" not in p.estimators.vera:
        return {"not_estimable": "not fitted: WLSMV is not among structure.estimators.vera"}
    ratings = primary_ratings(t["vera_ratings"]).merge(t["cases"][["case_id", "site"]], on="case_id")
    items = [i for d in vera.domains for i in d.items]
    model = vera_model(vera)
    frame = ratings[items].astype(float)
    out = {"instrument": vera.name, "n": int(len(frame)), "k": len(items), "model": model,
           "cfa": _ordinal_block(model, frame, p)}
    out["invariance"] = {"site": _ordinal_invariance_block(model, frame.assign(site=ratings["site"].to_numpy()),
                                                           "site", p)}
    return out


JOB_LABELS = {"inv site": "SQ invariance across sites (ML)", "inv language": "SQ invariance across languages (ML)",
              "cfa": "SQ CFA (ML)", "sq ordinal": "SQ CFA (WLSMV, ordinal)",
              "vera": "VERA-2R domain model and its invariance across sites (WLSMV)"}


def _efa_block(items, sq, p) -> tuple[dict, Any, dict, dict]:
    """The EFA with as many factors as hypothesised scales, each factor named after the scale whose
    items load on it most (sum of loadings); the loadings, names and item scales feed the heat map."""
    loadings, names, scale_of = None, {}, {}
    n_fac = len(sq.scales)
    try:
        rotation = None if p.efa_rotation == "none" else p.efa_rotation
        res = efa(items, n_fac, method=p.efa_method, rotation=rotation, cor=p.efa_cor)
    except NotEstimable as exc:
        return {"not_estimable": str(exc)}, loadings, names, scale_of
    loadings = res.loadings
    scale_of = {i: sq.scale_of(i) for i in sq.items}
    for f in loadings.columns:
        sums = loadings[f].groupby(scale_of).sum()
        names[f] = f"{f} ({sums.idxmax()})"
    misplaced = [i for i in loadings.index
                 if names[loadings.loc[i].abs().idxmax()].split("(")[1][:-1] != scale_of[i]]
    return {**to_dict(res), "factor_names": names, "items_loading_off_scale": misplaced}, loadings, names, scale_of


def run(root: Path, config: Config) -> None:
    if pooling_instead(root, config, "structure", "reports/metrics/structure.json", [FIG], ["reports/plots/scree.csv"],
                       sections=("instruments", "structure")):
        return
    p = config.structure
    vera, sq = load_instruments(root, config)
    t = read_clean(root, config)
    sq1 = t["sq_responses"][t["sq_responses"]["occasion"] == 1].merge(t["cases"][["case_id", "site"]], on="case_id")
    items = sq_keyed(sq1, sq).astype(float)
    print(f"[structure] SQ: {len(items)} administrations x {items.shape[1]} items", flush=True)
    model = measurement_model(sq)
    frame = items.assign(site=sq1["site"].to_numpy(), language=sq1["language"].to_numpy())
    # the model fits are independent of one another: they run side by side in worker processes while
    # this one does the eigenvalues, the parallel analysis and the EFA
    jobs: dict[str, tuple] = {}
    if "ML" in p.estimators.sq:
        jobs["inv site"] = (invariance_block, model, frame, "site", p)
        jobs["inv language"] = (invariance_block, model, frame, "language", p)
        jobs["cfa"] = (_cfa_block, model, items, p)
    if "WLSMV" in p.estimators.sq:
        jobs["sq ordinal"] = (_ordinal_block, model, items, p)
    jobs["vera"] = (_vera_structure, vera, t, p)
    print(f"[structure] fitting {len(jobs)} model sets side by side: the SQ {len(sq.scales)}-factor model "
          f"({' and '.join(p.estimators.sq)}), its invariance across sites and languages (ML), the VERA-2R "
          f"{len(vera.domains)}-domain model (WLSMV) and its invariance across sites", flush=True)
    with ProcessPoolExecutor(max_workers=max(1, min(len(jobs), os.cpu_count() or 1))) as pool:
        futures = {name: pool.submit(*job) for name, job in jobs.items()}
        ev = estimate(eigenvalues, items)
        pa = estimate(parallel_analysis, items, n_iter=int(p.pa_iterations), quantile=float(p.pa_quantile),
                      seed=int(p.seed))
        efa_out, loadings, names, scale_of = _efa_block(items, sq, p)
        done = {}
        for f in as_completed(futures.values()):
            name = next(n for n, x in futures.items() if x is f)
            done[name] = f.result()
            print(f"[structure] done: {JOB_LABELS[name]} ({len(done)} of {len(futures)})", flush=True)
    cfa_out = done.get("cfa", {"not_estimable": "not fitted: ML is not among structure.estimators.sq"})
    inv = {grouping: done[f"inv {grouping}"] for grouping in ("site", "language") if f"inv {grouping}" in done}
    ordinal: dict = {}
    if "sq ordinal" in done:
        ordinal["cfa"] = {"model": model, **done["sq ordinal"]}
        if "ML" in p.estimators.sq:
            ordinal["compared_with_ml"] = compare_estimators(cfa_out, ordinal["cfa"])
    vera_out = done["vera"]

    metrics = {
        "provenance": provenance(root, "structure", config, clean_inputs(root, config), ("instruments", "structure")),
        "method": structure_method(p),
        "sq": {
            "instrument": sq.name, "placeholder_key": sq.placeholder, "n": int(len(items)), "k": int(items.shape[1]),
            "hypothesised_factors": len(sq.scales),
            "kmo": estimate(kmo, items),
            "bartlett": estimate(bartlett, items),
            "eigenvalues": ev,
            "parallel_analysis": pa,
            "efa": efa_out,
            "cfa": {"model": model, **cfa_out},
            "invariance": inv,
            "ordinal": ordinal,
        },
        "vera": vera_out,
    }
    with atomic_outputs(root) as out:
        out.write_json("reports/metrics/structure.json", metrics)
        fig_dir = out.folder(FIG)
        for name, fig in structure_figures(pa, loadings, names, scale_of, p.efa_method, p.efa_rotation):
            save_svg(fig, fig_dir / name)
        out.write_text("reports/plots/scree.csv", scree_csv(pa))
    print("[structure] wrote reports/metrics/structure.json, " + FIG + "/ and reports/plots/scree.csv")
