# Reference values for ordinal measurement invariance in validation.stats: the identification of
# Wu & Estabrook (2016), the older loadings-first sequence, and score tests of the equality constraints.
#
# Usage (from the repository root):  Rscript tests/reference/R/ordinal_invariance.R
#
# Data: tests/reference/ordinal/ordinal.csv (two groups, items y1..y8 with 3 categories) and a
# three-group set written here, tests/reference/ordinal/three_groups.csv (seed 7; 4 categories; in
# group c the first threshold of x3 is 0.5 lower and the loading of x6 is 0.4 instead of 0.7).
# Writes tests/reference/ordinal/invariance.json with, per data set:
#   wu_estabrook: semTools::measEq.syntax(ID.fac = "std.lv", ID.cat = "Wu.Estabrook.2016") models for
#       group.equal "thresholds", c("thresholds", "loadings"), c("thresholds", "loadings", "intercepts"),
#       fitted by lavaan WLSMV: fitMeasures, parameterEstimates, and lavTestLRT of each against the one before
#       (the first against lavaan's configural model)
#   loadings_first: lavaan group.equal = "loadings", then c("loadings", "thresholds"), with lavTestLRT
#   score: lavTestScore univariate tests of the lavaan group.equal = "thresholds" and
#       c("thresholds", "loadings") models, each constraint named by the parameter it frees (lhs, op, rhs, group)
#
# R 4.2.2, lavaan 0.6-14, semTools 0.5-6, jsonlite.
suppressMessages({library(lavaan); library(semTools); library(jsonlite)})

ref <- "tests/reference/ordinal"
if (!dir.exists(ref)) stop("run from the repository root")

set.seed(7)
sim_group <- function(n, label, shift_t1 = 0, load6 = 0.7) {
  f <- MASS::mvrnorm(n, c(0, 0), matrix(c(1, 0.4, 0.4, 1), 2))
  lam <- cbind(c(rep(0.7, 4), rep(0, 4)), c(rep(0, 4), 0.7, load6, 0.7, 0.7))
  y <- f %*% t(lam) + matrix(rnorm(n * 8, sd = 0.7), n)
  cut <- matrix(c(-0.8, 0.1, 0.9), 8, 3, byrow = TRUE)
  cut[3, 1] <- cut[3, 1] + shift_t1
  x <- sapply(1:8, function(j) findInterval(y[, j], cut[j, ]) + 1)
  colnames(x) <- paste0("x", 1:8)
  data.frame(group = label, x)
}
three <- rbind(sim_group(500, "a"), sim_group(450, "b"), sim_group(400, "c", shift_t1 = -0.5, load6 = 0.4))
write.csv(three, file.path(ref, "three_groups.csv"), row.names = FALSE)

fm <- c("npar", "chisq", "df", "pvalue", "chisq.scaled", "df.scaled", "pvalue.scaled", "chisq.scaling.factor",
        "cfi.scaled", "tli.scaled", "rmsea.scaled", "srmr")
fit_ref <- function(fit) {
  pe <- parameterEstimates(fit)
  labs <- lavInspect(fit, "group.label")
  list(fit = as.list(fitMeasures(fit, fm)),
       params = data.frame(lhs = pe$lhs, op = pe$op, rhs = pe$rhs, group = labs[pe$group], est = pe$est, se = pe$se))
}
lrt <- function(a, b) {
  t <- lavTestLRT(a, b)
  list(chisq_diff = t[2, "Chisq diff"], df_diff = t[2, "Df diff"], p = t[2, "Pr(>Chisq)"])
}
score_ref <- function(fit) {
  s <- lavTestScore(fit, warn = FALSE)$uni
  pt <- parTable(fit)
  labs <- lavInspect(fit, "group.label")
  at <- match(s$rhs, pt$plabel)
  data.frame(lhs = pt$lhs[at], op = pt$op[at], rhs = pt$rhs[at], group = labs[pt$group[at]], x2 = s$X2)
}

cases <- function(d, model, items) {
  wlsmv <- function(...) cfa(..., data = d, group = "group", ordered = items, estimator = "WLSMV")
  conf <- wlsmv(model)
  we <- lapply(list(thresholds = "thresholds", thresholds_loadings = c("thresholds", "loadings"),
                    thresholds_loadings_intercepts = c("thresholds", "loadings", "intercepts")), function(eq)
    wlsmv(as.character(measEq.syntax(model, data = d, group = "group", ordered = items, parameterization = "delta",
                                     ID.fac = "std.lv", ID.cat = "Wu.Estabrook.2016", group.equal = eq))))
  ld <- wlsmv(model, group.equal = "loadings")
  ldth <- wlsmv(model, group.equal = c("loadings", "thresholds"))
  thr <- wlsmv(model, group.equal = "thresholds")
  list(model = model,
       configural = fit_ref(conf),
       wu_estabrook = list(fits = lapply(we, fit_ref),
                           lrt = list(lrt(conf, we[[1]]), lrt(we[[1]], we[[2]]), lrt(we[[2]], we[[3]]))),
       loadings_first = list(fits = list(loadings = fit_ref(ld), loadings_thresholds = fit_ref(ldth)),
                             lrt = list(lrt(conf, ld), lrt(ld, ldth))),
       score = list(thresholds = score_ref(thr), thresholds_loadings = score_ref(ldth)))
}

two <- read.csv(file.path(ref, "ordinal.csv"))
out <- list(meta = list(r_version = R.version.string, lavaan = as.character(packageVersion("lavaan")),
                        semTools = as.character(packageVersion("semTools"))),
            two_groups = cases(two, "F1 =~ y1 + y2 + y3 + y4\nF2 =~ y5 + y6 + y7 + y8", paste0("y", 1:8)),
            three_groups = cases(three, "F1 =~ x1 + x2 + x3 + x4\nF2 =~ x5 + x6 + x7 + x8", paste0("x", 1:8)))
write_json(out, file.path(ref, "invariance.json"), digits = NA, auto_unbox = TRUE, pretty = TRUE, na = "null")
