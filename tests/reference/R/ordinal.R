# Reference values for the ordinal (WLSMV) structural models of validation.stats: sample statistics
# (thresholds, polychoric correlations, their asymptotic covariance Gamma) and fitted models.
#
# Usage (from the repository root):  Rscript tests/reference/R/ordinal.R
#
# Reads tests/reference/ordinal/ordinal.csv (two groups g1, g2 of 450 and 400 cases, items y1..y8
# with 3 categories; the shared synthetic ordinal battery) and writes
#   tests/reference/ordinal/g1_missing.csv  group g1 with 5% of the values set missing (seed 1)
#   tests/reference/ordinal/sampstats.json  per case (g1; the two groups; g1 with missing values, pairwise):
#        nobs, thresholds, the polychoric matrix, Gamma (lavInspect(fit, "gamma")) and its row labels
#
# R 4.2.2, lavaan 0.6-14, jsonlite.
suppressMessages({library(lavaan); library(jsonlite)})

ref <- "tests/reference/ordinal"
if (!dir.exists(ref)) stop("run from the repository root")
d <- read.csv(file.path(ref, "ordinal.csv"))
items <- paste0("y", 1:8)
model <- "F1 =~ y1 + y2 + y3 + y4\nF2 =~ y5 + y6 + y7 + y8"

sampstats <- function(fit) {
  gam <- lavInspect(fit, "gamma")
  if (!is.list(gam)) gam <- list(gam)
  th <- lavInspect(fit, "sampstat")
  if (!is.null(th$th)) th <- list(th)
  lapply(seq_along(gam), function(g) list(
    nobs = lavInspect(fit, "nobs")[[g]],
    thresholds = unname(as.numeric(th[[g]]$th)),
    polychoric = unname(unclass(th[[g]]$cov)),
    gamma = unname(unclass(gam[[g]])),
    gamma_labels = rownames(gam[[g]])))
}

set.seed(1)
dm <- d[d$group == "g1", items]
dm[matrix(runif(nrow(dm) * ncol(dm)) < 0.05, nrow(dm))] <- NA
write.csv(dm, file.path(ref, "g1_missing.csv"), row.names = FALSE, na = "")

one <- cfa(model, data = d[d$group == "g1", items], ordered = TRUE, estimator = "WLSMV")
two <- cfa(model, data = d, group = "group", ordered = TRUE, estimator = "WLSMV")
pairwise <- cfa(model, data = dm, ordered = TRUE, estimator = "WLSMV", missing = "pairwise")
out <- list(meta = list(r_version = R.version.string, lavaan = as.character(packageVersion("lavaan"))),
            g1 = sampstats(one), two_groups = sampstats(two), g1_missing_pairwise = sampstats(pairwise))
write_json(out, file.path(ref, "sampstats.json"), digits = NA, auto_unbox = TRUE, pretty = TRUE, matrix = "rowmajor")
