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
#   tests/reference/ordinal/fits.json  WLSMV fits: g1 (delta and theta parameterization), g1 with missing
#        values (pairwise), the two groups configural, group.equal = "thresholds" and c("thresholds",
#        "loadings"), and std.lv: fitMeasures, parameterEstimates (lhs, op, rhs, group, est, se),
#        standardizedSolution (est.std, se) and lavTestLRT between the invariance steps
#   tests/reference/ordinal/omega.json  semTools::compRelSEM(fit, ord.scale = TRUE) (Green & Yang 2009) of the
#        two-factor g1 fit and of one-factor fits of y1..y4 and y5..y8 (g1; g1 with missing values, pairwise)
#
# R 4.2.2, lavaan 0.6-14, semTools 0.5-6, jsonlite.
suppressMessages({library(lavaan); library(semTools); library(jsonlite)})

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

fm <- c("npar", "chisq", "df", "pvalue", "chisq.scaled", "df.scaled", "pvalue.scaled", "chisq.scaling.factor",
        "baseline.chisq", "baseline.df", "baseline.chisq.scaled", "cfi", "tli", "cfi.scaled", "tli.scaled",
        "rmsea", "rmsea.ci.lower", "rmsea.ci.upper", "rmsea.scaled", "rmsea.ci.lower.scaled", "rmsea.ci.upper.scaled",
        "cfi.robust", "tli.robust", "rmsea.robust", "srmr")
fit_ref <- function(fit) {
  pe <- parameterEstimates(fit)
  ss <- standardizedSolution(fit)
  grp <- if (is.null(pe$group)) rep(1L, nrow(pe)) else pe$group
  labs <- lavInspect(fit, "group.label")
  list(fit = as.list(fitMeasures(fit, fm)),
       params = data.frame(lhs = pe$lhs, op = pe$op, rhs = pe$rhs,
                           group = if (length(labs)) labs[grp] else NA, est = pe$est, se = pe$se,
                           std = ss$est.std, std_se = ss$se))
}
g1 <- d[d$group == "g1", items]
conf <- cfa(model, data = d, group = "group", ordered = TRUE, estimator = "WLSMV")
thr <- cfa(model, data = d, group = "group", ordered = TRUE, estimator = "WLSMV", group.equal = "thresholds")
met <- cfa(model, data = d, group = "group", ordered = TRUE, estimator = "WLSMV",
           group.equal = c("thresholds", "loadings"))
lrt <- function(a, b) { t <- lavTestLRT(a, b); list(chisq_diff = t[2, "Chisq diff"], df_diff = t[2, "Df diff"],
                                                  p = t[2, "Pr(>Chisq)"]) }
fits <- list(
  meta = out$meta, model = model,
  g1 = fit_ref(one),
  g1_theta = fit_ref(cfa(model, data = g1, ordered = TRUE, estimator = "WLSMV", parameterization = "theta")),
  g1_std_lv = fit_ref(cfa(model, data = g1, ordered = TRUE, estimator = "WLSMV", std.lv = TRUE)),
  g1_missing_pairwise = fit_ref(pairwise),
  configural = fit_ref(conf), thresholds = fit_ref(thr), thresholds_loadings = fit_ref(met),
  lrt = list(configural_thresholds = lrt(conf, thr), thresholds_loadings = lrt(thr, met)))
write_json(fits, file.path(ref, "fits.json"), digits = NA, auto_unbox = TRUE, pretty = TRUE, na = "null")


one_factor <- function(x, cols) {
  fit <- cfa(paste("F =~", paste(cols, collapse = " + ")), data = x[, cols], ordered = TRUE, estimator = "WLSMV",
             missing = "pairwise")
  list(items = cols, omega = unname(compRelSEM(fit, ord.scale = TRUE)[["F"]]))
}
omegas <- list(meta = out$meta,
  two_factor_g1 = as.list(compRelSEM(one, ord.scale = TRUE)),
  one_factor = list(g1_y1_y4 = one_factor(g1, items[1:4]), g1_y5_y8 = one_factor(g1, items[5:8]),
                    g1_missing_y1_y4 = one_factor(dm, items[1:4]), g1_all = one_factor(g1, items)))
write_json(omegas, file.path(ref, "omega.json"), digits = NA, auto_unbox = TRUE, pretty = TRUE)
