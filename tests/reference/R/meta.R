# Reference values for validation.stats.meta.random_effects: metafor's rma() and predict() for every
# tau^2 estimator (REML, DL, PM, ML) with the z and Knapp-Hartung tests, the fixed-effect model, and the
# Q-profile interval of tau^2 (confint), on three data sets:
#   bcg        metafor's dat.bcg (Colditz et al. 1994), log risk ratios from escalc(measure = "RR")
#   synthetic  six site AUCs with their DeLong variances (as ../shared/reference/reference_meta.R)
#   boundary   five homogeneous estimates: tau^2 at 0 for every estimator
#
# Usage (from the repository root):  Rscript tests/reference/R/meta.R
# Writes tests/reference/meta/{bcg,synthetic,boundary}.json. R 4.2.2, metafor 3.8-1, jsonlite.
suppressMessages({library(metafor); library(jsonlite)})
out <- "tests/reference/meta"
if (!dir.exists(out)) stop("run from the repository root")
one <- function(yi, vi) {
  res <- list()
  for (m in c("REML", "DL", "PM", "ML")) {
    f <- rma(yi, vi, method = m)
    p <- predict(f)
    res[[m]] <- list(estimate = as.numeric(f$b), se = f$se, ci = c(f$ci.lb, f$ci.ub), pval = f$pval, tau2 = f$tau2,
                     tau2_se = f$se.tau2, I2 = f$I2, H2 = f$H2, Q = f$QE, Q_df = f$k - 1, Q_p = f$QEp,
                     pi = c(p$pi.lb, p$pi.ub),
                     tau2_ci_qprofile = unname(confint(f)$random["tau^2", c("ci.lb", "ci.ub")]))
    fk <- rma(yi, vi, method = m, test = "knha")
    pk <- predict(fk)
    res[[paste0(m, "_knha")]] <- list(estimate = as.numeric(fk$b), se = fk$se, ci = c(fk$ci.lb, fk$ci.ub),
                                      pval = fk$pval, pi = c(pk$pi.lb, pk$pi.ub))
  }
  fe <- rma(yi, vi, method = "FE")
  res$FE <- list(estimate = as.numeric(fe$b), se = fe$se, ci = c(fe$ci.lb, fe$ci.ub), pval = fe$pval, Q = fe$QE,
                 I2 = fe$I2, H2 = fe$H2)
  res
}
save <- function(name, source, yi, vi) {
  x <- list(source = source, metafor = as.character(packageVersion("metafor")), yi = as.numeric(yi),
            vi = as.numeric(vi), results = one(yi, vi))
  writeLines(toJSON(x, auto_unbox = TRUE, digits = NA, pretty = TRUE), file.path(out, paste0(name, ".json")))
}
dat <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
save("bcg", "metafor dat.bcg (Colditz et al. 1994), escalc(measure = 'RR')", dat$yi, dat$vi)
save("synthetic", "six synthetic site AUCs with DeLong variances", c(0.71, 0.64, 0.78, 0.69, 0.58, 0.74),
     c(0.0021, 0.0034, 0.0029, 0.0017, 0.0041, 0.0025))
save("boundary", "five homogeneous estimates (tau^2 = 0)", c(0.50, 0.52, 0.49, 0.51, 0.50),
     c(0.010, 0.012, 0.009, 0.011, 0.010))
