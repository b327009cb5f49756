"""Planning the next study: closed forms for sample size and power (the functions of
:mod:`validation.stats.planning`, where they are defined and pinned to their sources)."""

from validation.stats.planning import (CStatisticSize, PredictionModelSize, alpha_n_for_width, auc_n_for_power,
                                       auc_n_for_width, auc_se_hanley_mcneil, events_for_c_width, icc_n_for_width,
                                       kappa_n, prediction_model_size, rmsea_n_for_power, rmsea_power,
                                       scaled_sample_size)

__all__ = ["icc_n_for_width", "alpha_n_for_width", "auc_se_hanley_mcneil", "auc_n_for_width", "auc_n_for_power",
           "scaled_sample_size", "rmsea_power", "rmsea_n_for_power", "kappa_n", "events_for_c_width", "CStatisticSize",
           "prediction_model_size", "PredictionModelSize"]
