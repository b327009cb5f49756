# make_reference.R -- base-R reference values for validation.stats.calibration.
#
# Reads data.csv (score, event: 300 cases) and indices.csv (25 bootstrap resamples, one per row,
# 1-based case numbers, drawn once in Python and committed so that both sides use the same
# resamples) and writes values.json:
#   coef            glm(event ~ score, binomial) intercept and slope
#   brier, c        apparent Brier score and C statistic (AUC, ties one half) of its fitted risks
#   replicates      per resample: Brier and C optimism (resample - original), and the calibration
#                   intercept and slope of glm(event ~ lp) on the original cases, lp the refit's
#                   linear predictor
#   net_benefit     TP/n - FP/n * pt/(1 - pt) of the fitted risks at pt = 0.05, 0.10, 0.20, 0.30
#   at_base_rates   per base rate pi (0.01, 0.05, 0.20): the fitted risks carried to pi by Bayes' rule on
#                   the odds (odds' = odds * [pi / (1 - pi)] / [pihat / (1 - pihat)]), then
#                   pi * TPR - (1 - pi) * FPR * pt / (1 - pt) and treat-all pi - (1 - pi) * pt / (1 - pt),
#                   with the events and non-events treated
# Rerun: Rscript make_reference.R   (base R and jsonlite only)
suppressPackageStartupMessages(library(jsonlite))
d <- read.csv("data.csv")
idx <- as.matrix(read.csv("indices.csv", header = FALSE))
cstat <- function(p, y) {
  r <- rank(p); n1 <- sum(y == 1); n0 <- sum(y == 0)
  (sum(r[y == 1]) - n1 * (n1 + 1) / 2) / (n1 * n0)
}
fit <- glm(event ~ score, family = binomial, data = d)
p <- fitted(fit)
reps <- lapply(seq_len(nrow(idx)), function(b) {
  db <- d[idx[b, ], ]
  fb <- glm(event ~ score, family = binomial, data = db)
  lp <- coef(fb)[1] + coef(fb)[2] * d$score
  recal <- glm(d$event ~ lp, family = binomial)
  ptrain <- fitted(fb)
  ptest <- plogis(lp)
  list(brier_optimism = mean((db$event - ptrain)^2) - mean((d$event - ptest)^2),
       c_optimism = cstat(ptrain, db$event) - cstat(ptest, d$event),
       intercept = unname(coef(recal)[1]), slope = unname(coef(recal)[2]))
})
pts <- c(0.05, 0.10, 0.20, 0.30)
nb <- sapply(pts, function(t) {
  pos <- p >= t
  sum(pos & d$event == 1) / nrow(d) - sum(pos & d$event == 0) / nrow(d) * t / (1 - t)
})
pihat <- mean(d$event)
at_rate <- function(pi) {
  odds <- p / (1 - p) * (pi / (1 - pi)) / (pihat / (1 - pihat))
  shifted <- odds / (1 + odds)
  tp <- sapply(pts, function(t) sum(shifted >= t & d$event == 1))
  fp <- sapply(pts, function(t) sum(shifted >= t & d$event == 0))
  list(base_rate = pi, net_benefit = pi * tp / sum(d$event) - (1 - pi) * fp / sum(d$event == 0) * pts / (1 - pts),
       net_benefit_all = pi - (1 - pi) * pts / (1 - pts), treated_events = tp, treated_non_events = fp)
}
out <- list(R_version = R.version.string, coef = unname(coef(fit)), brier = mean((d$event - p)^2),
            c = cstat(p, d$event), replicates = reps, thresholds = pts, net_benefit = nb,
            at_base_rates = lapply(c(0.01, 0.05, 0.20), at_rate))
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE), "values.json")
