# Reference values for the incomplete-design parts of validation.agreement: REML intraclass
# correlations (icc_reml) and Bland-Altman limits of agreement (bland_altman).
#
# Usage (from the repository root):  Rscript tests/reference/R/agreement_more.R
#
# Creates, with fixed seeds, the data sets and writes reference.json beside each:
#   tests/reference/agr2_icc_crossed/ratings.csv   40 targets x 4 raters (wide), ~20% of ratings missing
#   tests/reference/agr2_icc_pairs/ratings.csv     60 targets, 8 raters, each target rated by 2 of them
#                                                  (long: target, rater, score)
#   tests/reference/agr2_icc_boundary/ratings.csv  30 targets x 3 raters (wide), raters without any
#                                                  systematic difference, ~10% missing (rater variance
#                                                  estimated at its boundary 0)
#   tests/reference/agr2_icc_oneway/ratings.csv    30 targets, each rated by 2 raters of its own
#                                                  (long: target, rater, score): raters nested in targets
#   tests/reference/agr2_bland_altman/pairs.csv    35 paired measurements (x1, x2)
# and the REML/psych figures for the complete copy tests/reference/synthetic_raters/ratings.csv
# (written to tests/reference/agr2_icc_synth/reference.json).
#
# ICC figures: psych::ICC(wide, lmer = TRUE), which fits lme4::lmer(values ~ 1 + (1 | id) + (1 | items))
# by REML and plugs the variance components into the ANOVA formulas. The variance components,
# the intercept and the REML criterion come from that lme4 fit.
# Bland-Altman: base R -- bias, SD of the differences, limits bias -/+ z * SD with z = qnorm(0.975);
# approximate intervals (Bland & Altman 1986/1999) with SE(limit) = SD * sqrt(1/n + z^2 / (2 (n - 1)))
# and t quantiles on n - 1 df; exact intervals (Carkeet 2015) from quantiles of the noncentral t
# distribution on n - 1 df with noncentrality z * sqrt(n).
#
# Non-finite numbers are written as the strings "Inf", "-Inf", "NaN", "NA".
suppressMessages({library(psych); library(lme4); library(jsonlite)})

ref_root <- "tests/reference"
if (!dir.exists(ref_root)) stop("run from the repository root")

versions <- list(r = R.version.string, psych = as.character(packageVersion("psych")),
                 lme4 = as.character(packageVersion("lme4")),
                 Matrix = as.character(packageVersion("Matrix")))

write_ref <- function(out, folder) {
  dir.create(file.path(ref_root, folder), showWarnings = FALSE)
  out$versions <- versions
  writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE, na = "string"),
             file.path(ref_root, folder, "reference.json"))
  cat("wrote", file.path(ref_root, folder, "reference.json"), "\n")
}

ctrl <- lmerControl(optimizer = "bobyqa", optCtrl = list(rhobeg = 0.2, rhoend = 1e-12, maxfun = 1e5),
                    check.conv.singular = "ignore")

# REML fit of the crossed model on a wide table, as psych::ICC(lmer = TRUE) does it
reml_ref <- function(wide) {
  wide <- as.data.frame(wide)
  ic <- suppressMessages(psych::ICC(wide, lmer = TRUE))
  r <- ic$results
  long <- data.frame(values = unlist(wide), items = rep(colnames(wide), each = nrow(wide)),
                     id = rep(paste0("S", seq_len(nrow(wide))), ncol(wide)))
  m <- lmer(values ~ 1 + (1 | id) + (1 | items), data = long, na.action = na.omit, REML = TRUE,
            control = ctrl)
  vc <- as.data.frame(VarCorr(m))
  list(call = "psych::ICC(wide, lmer = TRUE); lme4::lmer(values ~ 1 + (1 | id) + (1 | items), REML = TRUE)",
       n_targets = nrow(wide), n_raters = ncol(wide), n_ratings = sum(!is.na(wide)),
       psych = list(
         var_targets = ic$lme["ID", "variance"], var_raters = ic$lme["Items", "variance"],
         var_residual = ic$lme["Residual", "variance"],
         forms = lapply(seq_len(nrow(r)), function(i) list(type = r$type[i], icc = r$ICC[i]))),
       lme4 = list(
         var_targets = vc$vcov[vc$grp == "id"], var_raters = vc$vcov[vc$grp == "items"],
         var_residual = vc$vcov[vc$grp == "Residual"], intercept = unname(fixef(m)[1]),
         reml_criterion = unname(REMLcrit(m)), singular = isSingular(m),
         theta = unname(getME(m, "theta"))))
}

# agr2_icc_crossed: 40 targets x 4 raters, 20% missing
set.seed(20240701)
n <- 40; k <- 4
x <- outer(rnorm(n, sd = 1.0), rep(1, k)) + outer(rep(1, n), rnorm(k, sd = 0.6)) +
  matrix(rnorm(n * k, sd = 0.7), n, k) + 10
x <- round(x, 2)
x[sample(n * k, round(0.2 * n * k))] <- NA
colnames(x) <- paste0("r", 1:k)
x <- as.data.frame(x)
dir.create(file.path(ref_root, "agr2_icc_crossed"), showWarnings = FALSE)
write.csv(x, file.path(ref_root, "agr2_icc_crossed", "ratings.csv"), row.names = FALSE, na = "")
out <- reml_ref(x)
out$data <- "ratings.csv: 40 targets x 4 raters (r1..r4), blank = not rated (20%)"
write_ref(out, "agr2_icc_crossed")

# agr2_icc_pairs: 60 targets, 8 raters, 2 ratings per target
set.seed(20240702)
n <- 60; k <- 8
tv <- rnorm(n, sd = 1.0); rv <- rnorm(k, sd = 0.5)
long <- do.call(rbind, lapply(seq_len(n), function(i) {
  j <- sort(sample(k, 2))
  data.frame(target = sprintf("t%02d", i), rater = paste0("R", j),
             score = round(5 + tv[i] + rv[j] + rnorm(2, sd = 0.6), 2))
}))
dir.create(file.path(ref_root, "agr2_icc_pairs"), showWarnings = FALSE)
write.csv(long, file.path(ref_root, "agr2_icc_pairs", "ratings.csv"), row.names = FALSE)
wide <- matrix(NA_real_, n, k, dimnames = list(NULL, paste0("R", 1:k)))
wide[cbind(match(long$target, sprintf("t%02d", 1:n)), match(long$rater, paste0("R", 1:k)))] <- long$score
out <- reml_ref(wide)
out$data <- "ratings.csv (long): target, rater, score; 60 targets, 8 raters R1..R8, 2 ratings per target"
write_ref(out, "agr2_icc_pairs")

# agr2_icc_boundary: no rater effect at all -> rater variance at 0
set.seed(20240703)
n <- 30; k <- 3
x <- outer(rnorm(n, sd = 1.0), rep(1, k)) + matrix(rnorm(n * k, sd = 0.8), n, k)
x <- x - outer(rep(1, n), colMeans(x)) + outer(rep(1, n), c(0.02, -0.01, -0.01))
x <- round(x, 2)
x[sample(n * k, 9)] <- NA
colnames(x) <- c("a", "b", "c")
x <- as.data.frame(x)
dir.create(file.path(ref_root, "agr2_icc_boundary"), showWarnings = FALSE)
write.csv(x, file.path(ref_root, "agr2_icc_boundary", "ratings.csv"), row.names = FALSE, na = "")
out <- reml_ref(x)
out$data <- "ratings.csv: 30 targets x 3 raters (a, b, c), blank = not rated"
write_ref(out, "agr2_icc_boundary")

# agr2_icc_oneway: each target rated by 2 raters of its own (raters nested in targets)
set.seed(20240704)
n <- 30
long <- data.frame(target = rep(sprintf("t%02d", 1:n), each = 2), rater = sprintf("R%02d", 1:(2 * n)))
long$score <- round(rep(rnorm(n, sd = 1.2), each = 2) + rnorm(2 * n, sd = 0.9) + 3, 2)
dir.create(file.path(ref_root, "agr2_icc_oneway"), showWarnings = FALSE)
write.csv(long, file.path(ref_root, "agr2_icc_oneway", "ratings.csv"), row.names = FALSE)
m1 <- lmer(score ~ 1 + (1 | target), data = long, REML = TRUE, control = ctrl)
vc <- as.data.frame(VarCorr(m1))
a1 <- anova(lm(score ~ target, data = long))
write_ref(list(
  data = "ratings.csv (long): target, rater, score; 30 targets, 60 raters, each rater rates one target",
  call = "lme4::lmer(score ~ 1 + (1 | target), REML = TRUE); psych::ICC on the 30 x 2 table of the two ratings",
  lme4 = list(var_targets = vc$vcov[vc$grp == "target"], var_residual = vc$vcov[vc$grp == "Residual"],
              intercept = unname(fixef(m1)[1]), reml_criterion = unname(REMLcrit(m1))),
  anova = list(ms_between = a1[1, "Mean Sq"], ms_within = a1[2, "Mean Sq"]),
  psych_icc1 = suppressMessages(psych::ICC(matrix(long$score, ncol = 2, byrow = TRUE), lmer = FALSE))$results["Single_raters_absolute", "ICC"],
  psych_icc1k = suppressMessages(psych::ICC(matrix(long$score, ncol = 2, byrow = TRUE), lmer = FALSE))$results["Average_raters_absolute", "ICC"]),
  "agr2_icc_oneway")

# agr2_icc_synth: complete 60 x 3 table (copy of the shared synthetic_raters data)
x <- read.csv(file.path(ref_root, "synthetic_raters", "ratings.csv"))
out <- reml_ref(x)
out$data <- "../synthetic_raters/ratings.csv: 60 targets x 3 raters, complete"
write_ref(out, "agr2_icc_synth")

# agr2_bland_altman
set.seed(20240705)
n <- 35
truth <- rnorm(n, 100, 15)
pairs <- data.frame(x1 = round(truth + rnorm(n, sd = 4), 1), x2 = round(truth + 1.5 + rnorm(n, sd = 5), 1))
dir.create(file.path(ref_root, "agr2_bland_altman"), showWarnings = FALSE)
write.csv(pairs, file.path(ref_root, "agr2_bland_altman", "pairs.csv"), row.names = FALSE)
ba <- function(x1, x2, level) {
  d <- x1 - x2; n <- length(d); b <- mean(d); s <- sd(d)
  z <- qnorm(1 - (1 - level) / 2)
  tq <- qt(1 - (1 - level) / 2, n - 1)
  se_b <- s / sqrt(n); se_l <- s * sqrt(1 / n + z^2 / (2 * (n - 1)))
  lo <- b - z * s; hi <- b + z * s
  # exact: limit = bias + s * T / sqrt(n), T ~ noncentral t(n - 1, z sqrt(n))
  a <- (1 - level) / 2
  qlo <- qt(a, n - 1, ncp = z * sqrt(n)); qhi <- qt(1 - a, n - 1, ncp = z * sqrt(n))
  list(level = level, n = n, bias = b, sd = s, z = z, lower_loa = lo, upper_loa = hi,
       bias_ci = c(b - tq * se_b, b + tq * se_b),
       approx = list(se_limit = se_l, lower_ci = c(lo - tq * se_l, lo + tq * se_l),
                     upper_ci = c(hi - tq * se_l, hi + tq * se_l)),
       exact = list(lower_ci = c(b - s * qhi / sqrt(n), b - s * qlo / sqrt(n)),
                    upper_ci = c(b + s * qlo / sqrt(n), b + s * qhi / sqrt(n))))
}
write_ref(list(data = "pairs.csv: 35 paired measurements x1, x2 (differences x1 - x2)",
               call = "base R: mean, sd, qnorm, qt (with ncp for the exact intervals)",
               ci95 = ba(pairs$x1, pairs$x2, 0.95), ci90 = ba(pairs$x1, pairs$x2, 0.90)),
          "agr2_bland_altman")
