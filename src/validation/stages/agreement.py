"""Stage ``agreement``: inter-rater agreement on VERA (indicators, domain totals, additional indicators,
summary judgement) and intra-rater stability across occasions, on independent ratings only."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .. import figures
from ..agreement import cohen_kappa, icc
from ..design import describe_rating_design
from ..scoring import domain_totals
from ._analysis import clean_inputs, estimate, read_clean
from ._common import atomic_outputs, load_instruments, provenance, section

FIG = "reports/figures/agreement"
KAPPA_BANDS = {"slight": (-0.2, 0.2), "fair": (0.2, 0.4), "moderate": (0.4, 0.6), "substantial": (0.6, 0.8),
               "almost perfect": (0.8, 1.0)}
KAPPA_BANDS_SOURCE = "Landis & Koch (1977)"


def _first_two(ratings: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """For each case rated by two or more raters, its first two rating forms in file order."""
    r = ratings.assign(_pos=np.arange(len(ratings)))
    r = r.sort_values(["case_id", "_pos"], kind="stable")
    rank = r.groupby("case_id").cumcount()
    both = r.groupby("case_id")["rater_id"].transform("size") >= 2
    first = r[(rank == 0) & both].set_index("case_id")
    second = r[(rank == 1) & both].set_index("case_id").loc[first.index]
    return first, second


def _pair_coefficient(a: pd.Series, b: pd.Series, weights, levels, min_targets: int) -> dict:
    ok = a.notna() & b.notna()
    n_pairs, n_not_rated = int(ok.sum()), int((~ok).sum())
    if n_pairs < min_targets:
        return {"not_estimable": f"only {n_pairs} pairs rated by both raters (fewer than {min_targets})",
                "n_pairs": n_pairs, "n_not_rated": n_not_rated}
    res = estimate(cohen_kappa, a[ok].astype(int).to_numpy(), b[ok].astype(int).to_numpy(), weights=weights,
                   levels=levels)
    return {**res, "n_pairs": n_pairs, "n_not_rated": n_not_rated}


def run(root: Path, params: dict) -> None:
    p = section(params, "agreement")
    vera, _ = load_instruments(root, params)
    t = read_clean(root, params)
    min_t = int(p["min_targets"])
    rat = t["vera_ratings"].merge(t["cases"][["case_id", "site"]], on="case_id")
    indep1 = rat[(rat["role"] == "independent") & (rat["occasion"] == 1)].reset_index(drop=True)
    design = describe_rating_design(indep1, "case_id", "rater_id", group="site")
    design_out = design.public_dict()

    # Domain totals in the largest fully crossed block: ICC (all six forms)
    totals = pd.concat([indep1[["case_id", "rater_id"]], domain_totals(indep1, vera, p["not_rated_rule"],
                                                                       float(p["min_rated"]))], axis=1)
    block = totals[totals["case_id"].isin(list(design.block_target_keys)) & totals["rater_id"].isin(list(design.block_rater_keys))]
    icc_out = {}
    for code in [d.code for d in vera.domains] + ["risk_total"]:
        wide = block.pivot(index="case_id", columns="rater_id", values=code)
        wide.columns = [f"rater {i + 1}" for i in range(wide.shape[1])]
        icc_out[code] = estimate(icc, wide, ci=p["ci"]) if len(wide) >= min_t else {
            "not_estimable": f"only {len(wide)} cases in the crossed block (fewer than {min_t})"}
    print(f"[agreement] {design.design}; crossed block: {design.block_n_targets} cases x {design.block_n_raters} raters",
          flush=True)

    # Indicators, additional indicators and the summary judgement: first two independent ratings per case
    a, b = _first_two(indep1)
    levels = sorted(vera.rating.scores.values())
    indicators = {i: _pair_coefficient(a[i], b[i], "quadratic", levels, min_t) for i in vera.indicators}
    additional = {i: _pair_coefficient(a[i], b[i], None, [0, 1], min_t) for i in vera.additional}
    summary = _pair_coefficient(a[vera.summary_column], b[vera.summary_column], "quadratic", [1, 2, 3], min_t)

    # Intra-rater: the same rater on occasions 1 and 2
    indep = rat[rat["role"] == "independent"]
    o1 = indep[indep["occasion"] == 1].set_index(["case_id", "rater_id"])
    o2 = indep[indep["occasion"] == 2].set_index(["case_id", "rater_id"])
    common = o1.index.intersection(o2.index)
    tt1 = domain_totals(o1.loc[common], vera, p["not_rated_rule"], float(p["min_rated"]))
    tt2 = domain_totals(o2.loc[common], vera, p["not_rated_rule"], float(p["min_rated"]))
    retest = {}
    for code in tt1.columns:
        wide = pd.DataFrame({"occasion 1": tt1[code].to_numpy(), "occasion 2": tt2[code].to_numpy()})
        retest[code] = estimate(icc, wide, ci=p["ci"]) if len(wide) >= min_t else {
            "not_estimable": f"only {len(wide)} cases reassessed by the same rater (fewer than {min_t})"}

    metrics = {
        "provenance": provenance(root, "agreement", params, clean_inputs(root, params), ("instruments", "agreement")),
        "method": {
            "inter_rater": "independent ratings on occasion 1; consensus ratings excluded",
            "domain_totals": f"ICC (Shrout & Fleiss 1979; McGraw & Wong 1996), F-based {p['ci']:.0%} intervals, "
                             f"on the largest fully crossed block; totals by the '{p['not_rated_rule']}' rule",
            "indicators": "Cohen's kappa with quadratic weights on the first two independent ratings of each "
                          "double-rated case; not-rated ratings excluded and counted",
            "additional": "Cohen's kappa (unweighted)",
            "summary": "Cohen's kappa with quadratic weights",
            "intra_rater": "ICC of domain totals between occasions 1 and 2 for the same rater",
            "bands": {"kappa": KAPPA_BANDS_SOURCE},
            "min_targets": min_t,
        },
        "design": design_out,
        "domain_icc": icc_out,
        "indicators": indicators,
        "additional": additional,
        "summary_risk": summary,
        "intra_rater": {"n_cases": int(len(common)), "domain_icc": retest},
    }
    with atomic_outputs(root) as out:
        out.write_json("reports/metrics/agreement.json", metrics)
        fig_dir = out.folder(FIG)
        labels, est, lo, hi = [], [], [], []
        for name, r in {**indicators, **additional, "summary_risk": summary}.items():
            labels.append(name)
            ok = "not_estimable" not in r
            est.append(r["kappa"] if ok else np.nan)
            lo.append(r["ci"]["lower"] if ok else np.nan)
            hi.append(r["ci"]["upper"] if ok else np.nan)
        fig = figures.forest(labels, est, lo, hi, "VERA inter-rater agreement by indicator",
                             f"Cohen's kappa (weighted for ordinal indicators), bands: {KAPPA_BANDS_SOURCE}",
                             bands=KAPPA_BANDS)
        figures.save_svg(fig, fig_dir / "forest_indicators.svg")
    print("[agreement] wrote reports/metrics/agreement.json and " + FIG + "/")
