"""Stage ``structure``: factorability and dimensionality of the SQ items (KMO, Bartlett, eigenvalues
with Horn's parallel analysis), with the scree plot."""

from __future__ import annotations

from pathlib import Path

from .. import figures
from ..factor import bartlett, efa, eigenvalues, kmo, parallel_analysis
from ..results import NotEstimable, to_dict
from ..scoring import sq_keyed
from ._analysis import clean_inputs, estimate, read_clean
from ._common import atomic_outputs, load_instruments, provenance, section

FIG = "reports/figures/structure"


def run(root: Path, params: dict) -> None:
    p = section(params, "structure")
    _, sq = load_instruments(root, params)
    t = read_clean(root, params)
    sq1 = t["sq_responses"][t["sq_responses"]["occasion"] == 1]
    items = sq_keyed(sq1, sq).astype(float)
    print(f"[structure] SQ: {len(items)} administrations x {items.shape[1]} items", flush=True)
    ev = estimate(eigenvalues, items)
    pa = estimate(parallel_analysis, items, n_iter=int(p["pa_iterations"]), quantile=float(p["pa_quantile"]),
                  seed=int(p["seed"]))
    efa_out, efa_fig = {}, None
    n_fac = len(sq.scales)
    try:
        rotation = None if str(p["efa_rotation"]).lower() == "none" else p["efa_rotation"]
        res = efa(items, n_fac, method=p["efa_method"], rotation=rotation, cor=p["efa_cor"])
    except NotEstimable as exc:
        efa_out = {"not_estimable": str(exc)}
    else:
        load = res.loadings
        # name each factor after the hypothesised scale whose items load on it most (sum of loadings)
        scale_of = {i: sq.scale_of(i) for i in sq.items}
        names = {}
        for f in load.columns:
            sums = load[f].groupby(scale_of).sum()
            names[f] = f"{f} ({sums.idxmax()})"
        misplaced = [i for i in load.index if names[load.loc[i].abs().idxmax()].split("(")[1][:-1] != scale_of[i]]
        efa_out = {**to_dict(res), "factor_names": names, "items_loading_off_scale": misplaced}
        efa_fig = (load.to_numpy(), list(load.index), [names[f] for f in load.columns],
                   [scale_of[i] for i in load.index])
    metrics = {
        "provenance": provenance(root, "structure", params, clean_inputs(root, params), ("instruments", "structure")),
        "method": {
            "sample": "SQ occasion 1, reverse-keyed items reflected, pairwise-complete Pearson correlations",
            "kmo": "Kaiser-Meyer-Olkin measure of sampling adequacy (as psych::KMO)",
            "bartlett": "Bartlett's test of sphericity (as psych::cortest.bartlett)",
            "parallel_analysis": f"Horn's parallel analysis, {p['pa_iterations']} random normal data sets, "
                                 f"{p['pa_quantile']:.0%} quantile",
            "efa": f"exploratory factor analysis with as many factors as hypothesised scales: {p['efa_method']} "
                   f"on {p['efa_cor']} correlations, {p['efa_rotation']} rotation (as psych::fa)",
        },
        "sq": {
            "instrument": sq.name, "placeholder_key": sq.placeholder, "n": int(len(items)), "k": int(items.shape[1]),
            "hypothesised_factors": len(sq.scales),
            "kmo": estimate(kmo, items),
            "bartlett": estimate(bartlett, items),
            "eigenvalues": ev,
            "parallel_analysis": pa,
            "efa": efa_out,
        },
    }
    with atomic_outputs(root) as out:
        out.write_json("reports/metrics/structure.json", metrics)
        fig_dir = out.folder(FIG)
        rows = ["factor,observed,parallel"]
        if "not_estimable" not in pa:
            obs, par = pa["observed_factor"], pa["threshold_factor"]
            fig = figures.scree(obs, par, f"SQ scree: {pa['n_factors']} factor(s) suggested by parallel analysis")
            figures.save_svg(fig, fig_dir / "scree_sq.svg")
            rows += [f"{i + 1},{o!r},{q!r}" for i, (o, q) in enumerate(zip(obs, par))]
        out.write_text("reports/plots/scree.csv", "\n".join(rows) + "\n")
        if efa_fig is not None:
            v, rl, cl, groups = efa_fig
            fig = figures.heatmap(v, rl, cl, f"SQ EFA loadings ({p['efa_method']}, {p['efa_rotation']})", row_groups=groups)
            figures.save_svg(fig, fig_dir / "efa_loadings_sq.svg")
    print("[structure] wrote reports/metrics/structure.json, " + FIG + "/ and reports/plots/scree.csv")
