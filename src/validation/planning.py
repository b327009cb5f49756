"""Planning the next study: closed forms for sample size and power (the functions of
:mod:`validation.stats.planning`, where they are defined and pinned to their sources)."""

from validation.stats.planning import (alpha_n_for_width, auc_n_for_width, auc_se_hanley_mcneil, icc_n_for_width,
                                       rmsea_n_for_power, rmsea_power, scaled_sample_size)

__all__ = ["icc_n_for_width", "alpha_n_for_width", "auc_se_hanley_mcneil", "auc_n_for_width", "scaled_sample_size",
           "rmsea_power", "rmsea_n_for_power"]
