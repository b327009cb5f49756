# Reference values for validation.stats.rater_training.indicator_misses: R's exact binomial test of the
# misses too high among all misses (p = 1/2, two-sided) and Holm's adjustment across the indicators.
#
# Usage (from the repository root):  Rscript tests/reference/R/rater_training.R
# Writes tests/reference/rater_training/misses.json. R 4.2.2, jsonlite.
suppressMessages(library(jsonlite))
out <- "tests/reference/rater_training"
if (!dir.exists(out)) stop("run from the repository root")
too_high <- c(8, 4, 0, 17, 3, 25, 9, 1, 12, 6)
too_low <- c(0, 4, 5, 2, 3, 4, 11, 0, 1, 6)
p <- mapply(function(h, l) if (h + l > 0) binom.test(h, h + l, 0.5)$p.value else 1, too_high, too_low)
write_json(list(too_high = too_high, too_low = too_low, p = p, p_holm = p.adjust(p, "holm")),
           file.path(out, "misses.json"), digits = NA, pretty = TRUE)
