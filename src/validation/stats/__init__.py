"""The statistics layer: pure estimators on pandas / numpy, no file I/O, no knowledge of the battery.

The public functions are re-exported here, so a notebook writes

    >>> from validation.stats import icc, cronbach_alpha, roc_auc

Each returns a frozen dataclass (estimate, interval, n, method) that :func:`to_dict` turns into plain
JSON-ready values; degenerate data raises :class:`NotEstimable` with the reason. Submodules:
:mod:`~validation.stats.reliability`, :mod:`~validation.stats.factor`, :mod:`~validation.stats.cfa`,
:mod:`~validation.stats.agreement`, :mod:`~validation.stats.predictive`, :mod:`~validation.stats.survival`,
:mod:`~validation.stats.meta`.

Submodules load on first use (PEP 562), so a pipeline stage that needs one estimator runs only that
module's code, and its DVC dependencies stay exact.
"""

from __future__ import annotations

import importlib
from typing import Any

_SUBMODULE_OF: dict[str, str] = {
    "NotEstimable": "results",
    "Interval": "results",
    "to_dict": "results",
    "icc_n_for_width": "planning",
    "alpha_n_for_width": "planning",
    "auc_se_hanley_mcneil": "planning",
    "auc_n_for_width": "planning",
    "scaled_sample_size": "planning",
    "rmsea_power": "planning",
    "rmsea_n_for_power": "planning",
    "logistic_calibration": "calibration",
    "net_benefit": "calibration",
    "net_benefit_at_base_rate": "calibration",
    "DecisionCurve": "calibration",
    "cronbach_alpha": "reliability",
    "omega": "reliability",
    "item_statistics": "reliability",
    "omega_hierarchical": "reliability",
    "ordinal_alpha": "reliability",
    "ordinal_omega": "reliability",
    "categorical_omega": "reliability",
    "green_yang_omega": "reliability",
    "kmo": "factor",
    "bartlett": "factor",
    "eigenvalues": "factor",
    "parallel_analysis": "factor",
    "efa": "factor",
    "polychoric": "factor",
    "invariance": "cfa",
    "random_effects": "meta",
    "small_sample_fit": "cfa",
    "krippendorff_alpha": "agreement",
    "gwet_ac": "agreement",
    "percent_agreement": "agreement",
    "fleiss_kappa_generalized": "agreement",
    "brennan_prediger": "agreement",
    "agreement_detail": "agreement",
    "sem_sdc": "agreement",
    "bland_altman": "agreement",
    "icc_reml": "agreement",
    "icc": "agreement",
    "cohen_kappa": "agreement",
    "conger_kappa": "agreement",
    "rater_effects": "agreement",
    "ratings_from_table": "agreement",
    "fleiss_kappa": "agreement",
    "roc_auc": "predictive",
    "delong_test": "predictive",
    "delong_test_unpaired": "predictive",
    "holm": "predictive",
    "roc_curve": "predictive",
    "cutoff_table": "predictive",
    "band_calibration": "predictive",
    "harrell_c": "predictive",
    "kaplan_meier": "survival",
    "logrank": "survival",
    "cox": "survival",
    "uno_c": "survival",
    "time_dependent_auc": "survival",
    "agreement_with_key": "rater_training",
    "indicator_misses": "rater_training",
    "rater_facets": "rater_training",
    "cumulative_link_mixed": "clmm",
    "training_change": "rater_training",
    "differential_prediction": "fairness",
    "calibration_by_group": "fairness",
    "error_rates_by_group": "fairness",
    "discrimination_by_group": "fairness",
    "score_differences": "fairness",
    "differential_prediction_cox": "fairness",
    "equivalence_tost": "fairness",
    "cox_stratified": "survival",
}

__all__ = sorted(_SUBMODULE_OF)


def __getattr__(name: str) -> Any:
    module = _SUBMODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module("." + module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
