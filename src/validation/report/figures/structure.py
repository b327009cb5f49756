"""Figures of the ``structure`` stage: the SQ scree plot with Horn's parallel analysis and the EFA
loadings heat map, and the scree data for ``dvc plots`` (plain numbers, never case data)."""

from __future__ import annotations

from typing import Iterator, Mapping

import pandas as pd

from validation.report.figures import heatmap, plt, scree

__all__ = ["structure_figures", "scree_csv"]


def structure_figures(parallel: Mapping, loadings: pd.DataFrame | None, factor_names: Mapping[str, str],
                      item_scales: Mapping[str, str], efa_method: str,
                      efa_rotation: str) -> Iterator[tuple[str, plt.Figure]]:
    """The structure figures as (file name, Figure), one at a time so each can be saved and closed
    before the next is drawn: the scree plot when the parallel analysis (``parallel``, its metrics)
    was estimable, and the heat map of the EFA ``loadings`` (items x factors) when the EFA was, its
    columns named by ``factor_names`` and each row by the hypothesised scale in ``item_scales``."""
    if "not_estimable" not in parallel:
        yield "scree_sq.svg", scree(parallel["observed_factor"], parallel["threshold_factor"],
                                    f"SQ scree: {parallel['n_factors']} factor(s) suggested by parallel analysis")
    if loadings is not None:
        yield "efa_loadings_sq.svg", heatmap(
            loadings.to_numpy(), list(loadings.index), [factor_names[f] for f in loadings.columns],
            f"SQ EFA loadings ({efa_method}, {efa_rotation})", row_groups=[item_scales[i] for i in loadings.index])


def scree_csv(parallel: Mapping) -> str:
    """``scree.csv``: ``factor, observed, parallel`` (the eigenvalues and the parallel-analysis
    threshold); the header alone when the parallel analysis was declined."""
    rows = ["factor,observed,parallel"]
    if "not_estimable" not in parallel:
        pairs = zip(parallel["observed_factor"], parallel["threshold_factor"])
        rows += [f"{i + 1},{o!r},{q!r}" for i, (o, q) in enumerate(pairs)]
    return "\n".join(rows) + "\n"
