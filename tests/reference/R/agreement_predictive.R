# Reference values for validation.agreement and validation.predictive.
#
# Usage (from the repository root):  Rscript tests/reference/R/agreement_predictive.R
#
# Creates, with fixed seeds, the data sets
#   tests/reference/agr_5cat/ratings.csv      50 targets x 4 raters, 5 ordered categories, ~8% ratings missing
#   tests/reference/agr_negative/ratings.csv  20 targets x 3 raters, pure noise (negative ICCs)
#   tests/reference/agr_lmh/ratings.csv       80 cases x 2 raters, text categories L/M/H, some blanks
#   tests/reference/roc_ties/roc.csv          500 cases: outcome y, heavily tied integer scores s1, s2
#                                             (s2 with 6 missing), s3 (protective: AUC < 0.5 as "<"),
#                                             follow-up time (tied, censored)
#   tests/reference/roc_small/*.csv           tiny hand-made cases (Youden tie, perfect separation,
#                                             near-tied scores)
# and writes reference.json beside each. It also writes figures for the copies of the shared data
# sets: tests/reference/agr_synthetic_raters/reference.json (from synthetic_raters/ratings.csv) and
# tests/reference/roc_synthetic/reference.json (from synthetic_roc/roc.csv).
#
# Non-finite numbers are written as the strings "Inf", "-Inf", "NaN", "NA".
#
# R 4.2.2, psych 2.2.9, pROC 1.18.0, survival 3.5-3, jsonlite.
suppressMessages({library(psych); library(pROC); library(survival); library(jsonlite)})

ref_root <- "tests/reference"
if (!dir.exists(ref_root)) stop("run from the repository root")

versions <- list(r = R.version.string, psych = as.character(packageVersion("psych")),
                 pROC = as.character(packageVersion("pROC")),
                 survival = as.character(packageVersion("survival")))

write_ref <- function(out, folder) {
  dir.create(file.path(ref_root, folder), showWarnings = FALSE)
  out$versions <- versions
  writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE, na = "string"),
             file.path(ref_root, folder, "reference.json"))
  cat("wrote", file.path(ref_root, folder, "reference.json"), "\n")
}

# ---------------------------------------------------------------------------------------------
# agreement
# ---------------------------------------------------------------------------------------------

icc_ref <- function(x, alpha = 0.05) {
  xc <- na.omit(x)
  ic <- psych::ICC(xc, lmer = FALSE, alpha = alpha)
  r <- ic$results
  list(call = sprintf("psych::ICC(na.omit(x), lmer = FALSE, alpha = %s)", alpha),
       n_targets = ic$n.obs, n_raters = ic$n.judge, n_dropped = nrow(x) - nrow(xc),
       forms = lapply(seq_len(nrow(r)), function(i)
         list(type = r$type[i], icc = r$ICC[i], F = r$F[i], df1 = r$df1[i], df2 = r$df2[i], p = r$p[i],
              lower = r$`lower bound`[i], upper = r$`upper bound`[i])),
       ms_targets = ic$stats["MS", 1], ms_raters = ic$stats["MS", 2], ms_error = ic$stats["MS", 3],
       ms_within = ic$MSW)
}

lin_w <- function(c) 1 - abs(outer(1:c, 1:c, "-")) / (c - 1)

kappa_ref <- function(x, levels = NULL, alpha = 0.05) {
  ck <- psych::cohen.kappa(x, levels = levels, alpha = alpha)
  c <- nrow(ck$agree)
  ckl <- psych::cohen.kappa(x, w = lin_w(c), levels = levels, alpha = alpha)
  list(call = sprintf("psych::cohen.kappa(x, levels = %s, alpha = %s); linear: w = 1 - |i - j| / (c - 1)",
                      deparse(levels), alpha),
       n = ck$n.obs, levels = colnames(ck$agree),
       unweighted = list(kappa = ck$kappa, var = ck$var.kappa, ci = unname(ck$confid[1, c(1, 3)])),
       quadratic = list(kappa = ck$weighted.kappa, var = ck$var.weighted, ci = unname(ck$confid[2, c(1, 3)])),
       linear = list(kappa = ckl$weighted.kappa, var = ckl$var.weighted, ci = unname(ckl$confid[2, c(1, 3)])))
}

# agr_5cat: 50 targets x 4 raters, 5 categories, some ratings missing
set.seed(20240611)
n <- 50
true <- rnorm(n)
bias <- c(-0.3, 0, 0.2, 0.45)
x <- sapply(1:4, function(j) findInterval(true + bias[j] + rnorm(n, sd = 0.7), c(-1.3, -0.45, 0.45, 1.3)) + 1L)
colnames(x) <- paste0("r", 1:4)
x[sample(length(x), 16)] <- NA
x <- as.data.frame(x)
dir.create(file.path(ref_root, "agr_5cat"), showWarnings = FALSE)
write.csv(x, file.path(ref_root, "agr_5cat", "ratings.csv"), row.names = FALSE, na = "")
out <- list(data = "ratings.csv: 50 targets x 4 raters (r1..r4), categories 1-5, blank = not rated",
            icc = icc_ref(x), icc_90 = icc_ref(x, alpha = 0.10),
            kappa_r1_r2 = kappa_ref(x[, c("r1", "r2")]),
            kappa_r3_r4 = kappa_ref(x[, c("r3", "r4")]),
            kappa_r1_r4 = kappa_ref(x[, c("r1", "r4")]),
            kappa_r1_r2_levels_0_6 = kappa_ref(x[, c("r1", "r2")], levels = 0:6),
            kappa_r2_r3_90 = kappa_ref(x[, c("r2", "r3")], alpha = 0.10))
write_ref(out, "agr_5cat")

# agr_negative: noise only; the seed is the first from 1 giving negative ICC1 and ICC3
for (seed in 1:1000) {
  set.seed(seed)
  x <- as.data.frame(matrix(round(rnorm(60, 10, 2), 2), 20, 3, dimnames = list(NULL, c("a", "b", "c"))))
  r <- psych::ICC(x, lmer = FALSE)$results
  if (r$ICC[1] < 0 && r$ICC[3] < 0) break
}
dir.create(file.path(ref_root, "agr_negative"), showWarnings = FALSE)
write.csv(x, file.path(ref_root, "agr_negative", "ratings.csv"), row.names = FALSE)
write_ref(list(data = "ratings.csv: 20 targets x 3 raters (a, b, c), continuous noise", seed = seed,
               icc = icc_ref(x)), "agr_negative")

# agr_lmh: two raters, text categories, blanks
set.seed(7)
lat <- rnorm(80)
cut3 <- function(z) c("L", "M", "H")[findInterval(z, c(-0.5, 0.6)) + 1]
x <- data.frame(rater_a = cut3(lat + rnorm(80, sd = 0.6)), rater_b = cut3(lat + 0.2 + rnorm(80, sd = 0.6)))
x$rater_a[c(3, 17, 40)] <- NA
x$rater_b[c(17, 55)] <- NA
dir.create(file.path(ref_root, "agr_lmh"), showWarnings = FALSE)
write.csv(x, file.path(ref_root, "agr_lmh", "ratings.csv"), row.names = FALSE, na = "")
write_ref(list(data = "ratings.csv: 80 cases, rater_a and rater_b, categories L/M/H, blank = not rated",
               n_pairs_dropped = sum(is.na(x$rater_a) | is.na(x$rater_b)),
               kappa_default_levels = kappa_ref(x),
               kappa_lmh = kappa_ref(x, levels = c("L", "M", "H"))), "agr_lmh")

# further figures for the shared synthetic_raters data
x <- read.csv(file.path(ref_root, "synthetic_raters", "ratings.csv"))
write_ref(list(data = "../synthetic_raters/ratings.csv",
               icc = icc_ref(x), icc_90 = icc_ref(x, alpha = 0.10),
               kappa_r1_r2 = kappa_ref(x[, 1:2]), kappa_r2_r3 = kappa_ref(x[, 2:3]),
               kappa_r1_r2_disagreement_w = {
                 ck <- psych::cohen.kappa(x[, 1:2], w = 1 - lin_w(3))
                 list(call = "psych::cohen.kappa(x, w = 1 - linear agreement weights)",
                      kappa = ck$weighted.kappa, var = ck$var.weighted)
               }),
          "agr_synthetic_raters")

# ---------------------------------------------------------------------------------------------
# predictive
# ---------------------------------------------------------------------------------------------

auc_ref <- function(y, s, direction, conf.level = 0.95) {
  r <- roc(y, s, levels = c(0, 1), direction = direction, quiet = TRUE)
  ci <- ci.auc(r, method = "delong", conf.level = conf.level)
  list(call = sprintf("roc(y, s, levels = c(0, 1), direction = '%s'); ci.auc(method = 'delong', conf.level = %s)",
                      direction, conf.level),
       auc = as.numeric(auc(r)), var = var(r), ci = c(ci[1], ci[3]),
       n_events = length(r$cases), n_nonevents = length(r$controls))
}

coords_ref <- function(y, s, direction) {
  r <- roc(y, s, levels = c(0, 1), direction = direction, quiet = TRUE)
  co <- coords(r, "all", ret = c("threshold", "sensitivity", "specificity", "ppv", "npv"), transpose = FALSE)
  be <- coords(r, "best", best.method = "youden", ret = c("threshold", "sensitivity", "specificity", "youden"),
               transpose = FALSE)
  list(call = sprintf("coords(roc(y, s, levels = c(0, 1), direction = '%s'), 'all' / 'best' youden)", direction),
       threshold = co$threshold, threshold_hex = sprintf("%a", co$threshold),
       sensitivity = co$sensitivity, specificity = co$specificity, ppv = co$ppv, npv = co$npv,
       youden = list(threshold = be$threshold, sensitivity = be$sensitivity, specificity = be$specificity,
                     youden = be$youden))
}

test_ref <- function(y, s1, s2, direction = "<", conf.level = 0.95) {
  r1 <- roc(y, s1, levels = c(0, 1), direction = direction, quiet = TRUE)
  r2 <- roc(y, s2, levels = c(0, 1), direction = direction, quiet = TRUE)
  t <- roc.test(r1, r2, method = "delong", paired = TRUE, conf.level = conf.level)
  list(call = sprintf("roc.test(r1, r2, method = 'delong', paired = TRUE, conf.level = %s)", conf.level),
       z = unname(t$statistic), p = t$p.value, conf_int = as.numeric(t$conf.int),
       auc1 = unname(t$estimate[1]), auc2 = unname(t$estimate[2]))
}

conc_ref <- function(time, event, s, reverse) {
  cc <- concordance(Surv(time, event) ~ s, reverse = reverse)
  list(call = sprintf("concordance(Surv(time, event) ~ s, reverse = %s)", reverse),
       c = cc$concordance, var = cc$var, se = sqrt(cc$var), count = as.list(cc$count), n = cc$n)
}

# roc_ties: 500 cases, heavily tied integer scores
set.seed(4242)
n <- 500
y <- rbinom(n, 1, 0.25)
s1 <- pmin(pmax(round(rnorm(n, 4 + 1.1 * y, 2)), 0), 10)
s2 <- pmin(pmax(round(0.5 * s1 + rnorm(n, 0.8 * y, 1.5)), 0), 6)
s2[sample(n, 6)] <- NA
s3 <- pmin(pmax(round(rnorm(n, 3 - 0.6 * y, 1.5)), 0), 6)
ev_time <- ceiling(rexp(n, ifelse(y == 1, 1 / 400, 1 / 3000)) / 30) * 30
follow <- sample(c(720, 1080, 1440), n, replace = TRUE)
time <- pmin(ev_time, follow)
event <- as.integer(ev_time <= follow)
d <- data.frame(y = y, s1 = s1, s2 = s2, s3 = s3, time = time, event = event)
dir.create(file.path(ref_root, "roc_ties"), showWarnings = FALSE)
write.csv(d, file.path(ref_root, "roc_ties", "roc.csv"), row.names = FALSE, na = "")
cc <- complete.cases(d$s2)
write_ref(list(
  data = "roc.csv: 500 cases; y outcome (0/1); integer scores s1 (0-10), s2 (0-6, 6 blanks), s3 (0-6, lower for events); time (days, tied) and event (0/1) for the survival figures",
  auc_s1 = auc_ref(y, s1, "<"), auc_s1_90 = auc_ref(y, s1, "<", 0.90), auc_s1_lower = auc_ref(y, s1, ">"),
  auc_s2 = auc_ref(y, s2, "<"), auc_s3 = auc_ref(y, s3, "<"), auc_s3_lower = auc_ref(y, s3, ">"),
  test_s1_s2 = test_ref(y, s1, s2), test_s1_s3 = test_ref(y, s1, s3), test_s1_s2_90 = test_ref(y, s1, s2, "<", 0.90),
  test_s1_s3_lower = test_ref(y, s1, s3, ">"),
  n_complete_s1_s2 = sum(cc),
  coords_s1 = coords_ref(y, s1, "<"), coords_s1_lower = coords_ref(y, s1, ">"),
  coords_s2 = coords_ref(y, s2, "<"), coords_s3 = coords_ref(y, s3, "<"),
  harrell_s1 = conc_ref(time, event, s1, TRUE), harrell_s3 = conc_ref(time, event, s3, TRUE),
  harrell_s1_lower = conc_ref(time, event, s1, FALSE),
  harrell_s2 = conc_ref(time[cc], event[cc], s2[cc], TRUE)), "roc_ties")

# roc_small: hand-made edge cases
dir.create(file.path(ref_root, "roc_small"), showWarnings = FALSE)
tie <- data.frame(y = c(0, 1, 0, 1), s = c(1, 2, 3, 4))
perfect <- data.frame(y = c(0, 0, 0, 1, 1, 1), s = c(1, 2, 2, 5, 6, 6), s_other = c(1, 1, 2, 3, 3, 4))
near <- data.frame(y = c(0, 1, 0, 1, 0, 1, 1), s = c(1, 1 + .Machine$double.eps, 2, 3, 3, 1.7e308, 1.75e308))
write.csv(tie, file.path(ref_root, "roc_small", "youden_tie.csv"), row.names = FALSE)
write.csv(perfect, file.path(ref_root, "roc_small", "perfect.csv"), row.names = FALSE)
writeLines(c("y,s", sprintf("%d,%.17g", near$y, near$s)), file.path(ref_root, "roc_small", "near_ties.csv"))
write_ref(list(
  data = "youden_tie.csv (Youden maximum at two thresholds), perfect.csv (complete separation by s and s_other), near_ties.csv (scores one ulp apart, and near the largest double)",
  youden_tie = list(auc = auc_ref(tie$y, tie$s, "<"), coords = coords_ref(tie$y, tie$s, "<"),
                    coords_lower = coords_ref(tie$y, tie$s, ">")),
  perfect = list(auc = auc_ref(perfect$y, perfect$s, "<"), coords = coords_ref(perfect$y, perfect$s, "<"),
                 test = test_ref(perfect$y, perfect$s, perfect$s_other)),
  near_ties = list(auc = auc_ref(near$y, near$s, "<"), coords = coords_ref(near$y, near$s, "<"),
                   coords_lower = coords_ref(near$y, near$s, ">"))), "roc_small")

# further figures for the shared synthetic_roc data
d <- read.csv(file.path(ref_root, "synthetic_roc", "roc.csv"))
write_ref(list(data = "../synthetic_roc/roc.csv",
               auc_s1 = auc_ref(d$y, d$s1, "<"), auc_s2 = auc_ref(d$y, d$s2, "<"),
               test_s1_s2 = test_ref(d$y, d$s1, d$s2),
               coords_s1 = coords_ref(d$y, d$s1, "<"), coords_s2 = coords_ref(d$y, d$s2, "<"),
               harrell_s1 = conc_ref(d$time, d$y, d$s1, TRUE),
               harrell_s2 = conc_ref(d$time, d$y, d$s2, TRUE)), "roc_synthetic")
