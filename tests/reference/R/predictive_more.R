# Reference values for the predictive-validity statistics beyond the AUC/DeLong basics:
# bootstrap AUC intervals, the unpaired DeLong test, Holm's adjustment, cutoff tables (Wilson
# intervals), band calibration (Cochran-Armitage trend), and the time-to-event figures
# (Kaplan-Meier, log-rank, Cox with the proportional-hazards check, Harrell's and Uno's C).
#
# Usage (from the repository root):  Rscript tests/reference/R/predictive_more.R
#
# Creates, with fixed seeds,
#   tests/reference/pred_main/data.csv   400 cases from 2 sites: binary outcome y, tied integer score
#                                        (0-20), a second score score2 (one decimal, tied), risk band
#                                        L/M/H, follow-up time (whole months, tied, censored) with
#                                        event, and a binary covariate x2
#   tests/reference/pred_small/*.csv     small hand-checkable data sets
# and writes reference.json beside each.
#
# Non-finite numbers are written as the strings "Inf", "-Inf", "NaN", "NA".
#
# R 4.2.2, pROC 1.18.0, survival 3.5-3, boot, jsonlite.
suppressMessages({library(pROC); library(survival); library(boot); library(jsonlite)})

ref_root <- "tests/reference"
if (!dir.exists(ref_root)) stop("run from the repository root")

versions <- list(r = R.version.string, pROC = as.character(packageVersion("pROC")),
                 survival = as.character(packageVersion("survival")),
                 boot = as.character(packageVersion("boot")))

write_ref <- function(out, folder) {
  dir.create(file.path(ref_root, folder), showWarnings = FALSE)
  out$versions <- versions
  writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE, na = "string"),
             file.path(ref_root, folder, "reference.json"))
  cat("wrote", file.path(ref_root, folder, "reference.json"), "\n")
}

# ---------------------------------------------------------------------------------------------
# data
# ---------------------------------------------------------------------------------------------

set.seed(20240917)
n <- 400
site <- rep(c("A", "B"), c(220, 180))
z <- rnorm(n)
score <- pmin(20, pmax(0, round(10 + 3 * z + rnorm(n, sd = 2))))
score2 <- round(z + rnorm(n, sd = 1.2), 1)
band <- ifelse(score <= 7, "L", ifelse(score <= 12, "M", "H"))
# the outcome is better predicted at site A than at site B
lin <- ifelse(site == "A", -1.1 + 1.1 * z, -1.1 + 0.5 * z)
y <- rbinom(n, 1, plogis(lin))
x2 <- rbinom(n, 1, 0.4)
ev_time <- rexp(n, rate = exp(-3.6 + 0.55 * z + 0.4 * x2))
cens_time <- pmin(runif(n, 2, 80), 60)
time <- ceiling(pmin(ev_time, cens_time))
event <- as.integer(ev_time <= cens_time)
d <- data.frame(id = seq_len(n), site = site, y = y, score = score, score2 = score2, band = band,
                time = time, event = event, x2 = x2)
dir.create(file.path(ref_root, "pred_main"), showWarnings = FALSE)
write.csv(d, file.path(ref_root, "pred_main", "data.csv"), row.names = FALSE)

# ---------------------------------------------------------------------------------------------
# ROC: unpaired DeLong, bootstrap intervals
# ---------------------------------------------------------------------------------------------

unpaired_ref <- function(s, direction) {
  rA <- roc(d$y[d$site == "A"], s[d$site == "A"], levels = c(0, 1), direction = direction, quiet = TRUE)
  rB <- roc(d$y[d$site == "B"], s[d$site == "B"], levels = c(0, 1), direction = direction, quiet = TRUE)
  t <- roc.test(rA, rB, method = "delong", paired = FALSE)
  list(call = sprintf("roc.test(roc(site A, direction = '%s'), roc(site B), method = 'delong', paired = FALSE)", direction),
       auc1 = as.numeric(rA$auc), auc2 = as.numeric(rB$auc), var1 = var(rA), var2 = var(rB),
       statistic = unname(t$statistic), df = unname(t$parameter), p = t$p.value)
}

boot_ref <- function(s, direction, boot_n, seed) {
  r <- roc(d$y, s, levels = c(0, 1), direction = direction, quiet = TRUE)
  set.seed(seed)
  el <- system.time(ci <- ci.auc(r, method = "bootstrap", boot.n = boot_n, boot.stratified = TRUE,
                                 conf.level = 0.95, progress = "none"))
  # BCa with boot::boot, strata = outcome, acceleration from the within-class jackknife influence
  # values scaled by the class sizes (Davison & Hinkley 1997, multi-sample acceleration)
  dd <- data.frame(y = d$y, s = s)
  auc_stat <- function(data, i) as.numeric(auc(roc(data$y[i], data$s[i], levels = c(0, 1),
                                                    direction = direction, quiet = TRUE)))
  set.seed(seed + 1)
  b <- boot(dd, auc_stat, R = boot_n, strata = dd$y)
  l <- empinf(b, type = "jack", strata = dd$y)
  sizes <- ifelse(dd$y == 1, sum(dd$y == 1), sum(dd$y == 0))
  bca <- boot.ci(b, conf = 0.95, type = "bca", L = l / sizes)$bca
  list(call = sprintf("set.seed(%d); ci.auc(roc(y, s, direction = '%s'), method = 'bootstrap', boot.n = %d, boot.stratified = TRUE)", seed, direction, boot_n),
       auc = as.numeric(r$auc), percentile = c(ci[1], ci[3]), median = ci[2], delong_se = sqrt(var(r)),
       boot_sd = sd(b$t[, 1]), seconds = unname(el["elapsed"]),
       bca_call = "boot(data, auc, R = boot.n, strata = y); boot.ci(type = 'bca', L = jackknife influence / class size)",
       bca = bca[4:5], jackknife_influence_scaled = l / sizes)
}

# ---------------------------------------------------------------------------------------------
# proportions: Wilson intervals, cutoff table, trend
# ---------------------------------------------------------------------------------------------

wilson <- function(x, n, conf = 0.95) {
  if (n == 0) return(c("NA", "NA"))
  unname(prop.test(x, n, correct = FALSE, conf.level = conf)$conf.int[1:2])
}

cutoff_ref <- function(s, thresholds, direction, conf = 0.95) {
  rows <- lapply(thresholds, function(t) {
    pos <- if (direction == "higher") s >= t else s <= t
    tp <- sum(pos & d$y == 1); fp <- sum(pos & d$y == 0)
    fn <- sum(!pos & d$y == 1); tn <- sum(!pos & d$y == 0)
    list(threshold = t, tp = tp, fp = fp, fn = fn, tn = tn,
         sensitivity = tp / (tp + fn), sensitivity_ci = wilson(tp, tp + fn, conf),
         specificity = tn / (tn + fp), specificity_ci = wilson(tn, tn + fp, conf),
         ppv = tp / (tp + fp), ppv_ci = wilson(tp, tp + fp, conf),
         npv = tn / (tn + fn), npv_ci = wilson(tn, tn + fn, conf))
  })
  list(call = sprintf("2x2 counts at score %s t; prop.test(x, n, correct = FALSE, conf.level = %s)$conf.int",
                      if (direction == "higher") ">=" else "<=", conf), rows = rows)
}

band_ref <- function(levels, conf = 0.95, subset = rep(TRUE, n)) {
  b <- factor(d$band[subset], levels = levels)
  yy <- d$y[subset]
  x <- as.vector(tapply(yy, b, sum)); x[is.na(x)] <- 0
  nn <- as.vector(table(b))
  tt <- prop.trend.test(x, nn)
  list(call = sprintf("prop.trend.test(events, n) over bands %s; prop.test(x, n, correct = FALSE, conf.level = %s)",
                      paste(levels, collapse = ","), conf),
       bands = levels, n = nn, events = x, rate = x / nn,
       ci = lapply(seq_along(x), function(i) wilson(x[i], nn[i], conf)),
       chisq = unname(tt$statistic), df = unname(tt$parameter), p = tt$p.value)
}

# ---------------------------------------------------------------------------------------------
# survival
# ---------------------------------------------------------------------------------------------

km_curve <- function(f) {
  list(time = f$time, n_risk = f$n.risk, n_event = f$n.event, n_censor = f$n.censor,
       surv = f$surv, std_err_log = f$std.err, lower = f$lower, upper = f$upper)
}

km_ref <- function(formula, times, conf = 0.95, data = d) {
  f <- survfit(formula, data = data, conf.int = conf)
  s <- summary(f, times = times)
  curves <- if (is.null(f$strata)) list(all = km_curve(f)) else {
    idx <- rep(names(f$strata), f$strata)
    sp <- lapply(names(f$strata), function(k) km_curve(f[k]))
    names(sp) <- sub(".*=", "", names(f$strata)); sp
  }
  st <- if (is.null(s$strata)) rep("all", length(s$time)) else sub(".*=", "", as.character(s$strata))
  list(call = sprintf("survfit(%s, conf.int = %s) [conf.type = 'log']; summary(fit, times = c(%s))",
                      deparse(formula), conf, paste(times, collapse = ", ")),
       curves = curves,
       summary = list(group = st, time = s$time, n_risk = s$n.risk, n_event = s$n.event,
                      n_censor = s$n.censor, surv = s$surv, std_err = s$std.err,
                      lower = s$lower, upper = s$upper))
}

survdiff_ref <- function(formula, data = d) {
  t <- survdiff(formula, data = data)
  list(call = sprintf("survdiff(%s)", deparse(formula)),
       groups = sub(".*=", "", names(t$n)), n = as.vector(t$n), observed = as.vector(t$obs),
       expected = as.vector(t$exp), var = t$var, chisq = t$chisq,
       df = sum(t$exp > 0) - 1, p = pchisq(t$chisq, sum(t$exp > 0) - 1, lower.tail = FALSE))
}

cox_ref <- function(formula, ties, data = d) {
  f <- coxph(formula, data = data, ties = ties, x = TRUE, model = TRUE)
  s <- summary(f)
  z <- cox.zph(f, transform = "km")
  zr <- cox.zph(f, transform = "rank")
  zi <- cox.zph(f, transform = "identity")
  list(call = sprintf("coxph(%s, ties = '%s'); cox.zph(fit, transform = 'km')", deparse(formula), ties),
       terms = names(coef(f)), coef = unname(coef(f)), se = unname(sqrt(diag(vcov(f)))),
       hr = unname(exp(coef(f))), z = unname(s$coefficients[, "z"]), p = unname(s$coefficients[, "Pr(>|z|)"]),
       hr_lower = unname(s$conf.int[, "lower .95"]), hr_upper = unname(s$conf.int[, "upper .95"]),
       vcov = unname(vcov(f)), loglik = f$loglik, iter = f$iter,
       lr = unname(s$logtest),
       wald = c(unname(f$wald.test), length(coef(f)), pchisq(unname(f$wald.test), length(coef(f)), lower.tail = FALSE)),
       score = c(f$score, length(coef(f)), pchisq(f$score, length(coef(f)), lower.tail = FALSE)),
       concordance = as.list(f$concordance), n = f$n, nevent = f$nevent,
       zph = list(rows = rownames(z$table), chisq = unname(z$table[, "chisq"]),
                  df = unname(z$table[, "df"]), p = unname(z$table[, "p"])),
       zph_rank = list(chisq = unname(zr$table[, "chisq"]), p = unname(zr$table[, "p"])),
       zph_identity = list(chisq = unname(zi$table[, "chisq"]), p = unname(zi$table[, "p"])))
}

conc_ref <- function(s, reverse, timewt = "n", ymax = NULL, data = d) {
  cc <- concordance(Surv(time, event) ~ s, data = data, reverse = reverse, timewt = timewt, ymax = ymax)
  list(call = sprintf("concordance(Surv(time, event) ~ s, reverse = %s, timewt = '%s', ymax = %s)",
                      reverse, timewt, if (is.null(ymax)) "NULL" else ymax),
       c = cc$concordance, var = cc$var, se = sqrt(cc$var), count = as.list(cc$count), n = cc$n)
}

# ---------------------------------------------------------------------------------------------
# pred_main
# ---------------------------------------------------------------------------------------------

km_times <- c(0, 6, 12, 18.5, 24, 36, 48, 60)
out <- list(
  data = "data.csv: 400 cases, site A/B, y (0/1), score (0-20), score2, band L/M/H, time (months), event (0/1), x2 (0/1)",
  unpaired_score = unpaired_ref(d$score, "<"),
  unpaired_score2 = unpaired_ref(d$score2, "<"),
  unpaired_score_lower = unpaired_ref(d$score, ">"),
  holm = list(call = "p.adjust(p, method = 'holm')",
              p = c(0.01, 0.04, 0.03, 0.005, NA, 0.04, 0.5, 0.2),
              adjusted = p.adjust(c(0.01, 0.04, 0.03, 0.005, NA, 0.04, 0.5, 0.2), method = "holm")),
  holm2 = list(call = "p.adjust(p, method = 'holm')", p = c(0.9, 0.001, 0.02, 0.3, 0.011),
               adjusted = p.adjust(c(0.9, 0.001, 0.02, 0.3, 0.011), method = "holm")),
  boot_score = boot_ref(d$score, "<", 10000, 11),
  boot_score2_lower = boot_ref(-d$score2, ">", 10000, 12),
  cutoff_score = cutoff_ref(d$score, c(6, 8, 10, 13, 16, 20), "higher"),
  cutoff_score_90 = cutoff_ref(d$score, c(8, 13), "higher", 0.90),
  cutoff_score2_lower = cutoff_ref(d$score2, c(-1, 0, 0.5), "lower"),
  band = band_ref(c("L", "M", "H")),
  band_90 = band_ref(c("L", "M", "H"), 0.90),
  band_site_b = band_ref(c("L", "M", "H"), 0.95, d$site == "B"),
  km_all = km_ref(Surv(time, event) ~ 1, km_times),
  km_band = km_ref(Surv(time, event) ~ band, km_times),
  km_all_90 = km_ref(Surv(time, event) ~ 1, c(10, 30), 0.90),
  logrank_band = survdiff_ref(Surv(time, event) ~ band),
  logrank_site = survdiff_ref(Surv(time, event) ~ site),
  cox_score_efron = cox_ref(Surv(time, event) ~ score, "efron"),
  cox_score_breslow = cox_ref(Surv(time, event) ~ score, "breslow"),
  cox_two_efron = cox_ref(Surv(time, event) ~ score + x2, "efron"),
  cox_two_breslow = cox_ref(Surv(time, event) ~ score + x2, "breslow"),
  cox_score2_x2_efron = cox_ref(Surv(time, event) ~ score2 + x2, "efron"),
  harrell_score = conc_ref(d$score, TRUE),
  harrell_score2 = conc_ref(d$score2, TRUE),
  uno_score_36 = conc_ref(d$score, TRUE, "n/G2", 36),
  uno_score_24 = conc_ref(d$score, TRUE, "n/G2", 24),
  uno_score_all = conc_ref(d$score, TRUE, "n/G2"),
  uno_score2_36 = conc_ref(d$score2, TRUE, "n/G2", 36),
  uno_score_lower_36 = conc_ref(d$score, FALSE, "n/G2", 36)
)
write_ref(out, "pred_main")

# ---------------------------------------------------------------------------------------------
# pred_small: hand-checkable edge cases
# ---------------------------------------------------------------------------------------------

dir.create(file.path(ref_root, "pred_small"), showWarnings = FALSE)
# Kaplan-Meier down to 0 (the last time is an event), a censoring-only time, groups
km <- data.frame(time = c(1, 2, 2, 3, 4, 4, 5, 6, 7, 8, 2, 3, 3, 5, 9, 9),
                 event = c(1, 1, 0, 1, 0, 1, 1, 0, 1, 1, 1, 0, 1, 1, 0, 1),
                 g = c(rep("b", 10), rep("a", 6)))
write.csv(km, file.path(ref_root, "pred_small", "km.csv"), row.names = FALSE)
# heavily tied Cox data; a group censored before the first event (no expected events)
set.seed(5)
cx <- data.frame(time = sample(1:5, 60, replace = TRUE), event = rbinom(60, 1, 0.7),
                 x = sample(0:3, 60, replace = TRUE), w = round(rnorm(60), 1),
                 g = sample(c("p", "q"), 60, replace = TRUE))
cx <- rbind(cx, data.frame(time = c(0.5, 0.5), event = c(0, 0), x = c(1, 2), w = c(0, 0.3), g = c("r", "r")))
write.csv(cx, file.path(ref_root, "pred_small", "cox_ties.csv"), row.names = FALSE)
# bands with an empty middle band
bd <- data.frame(y = c(0, 0, 0, 1, 0, 1, 1, 1, 0, 1, 1), band = c("L", "L", "L", "L", "L", "H", "H", "H", "H", "H", "H"))
write.csv(bd, file.path(ref_root, "pred_small", "bands_empty.csv"), row.names = FALSE)
xb <- c(sum(bd$y[bd$band == "L"]), sum(bd$y[bd$band == "H"]))
nb <- c(sum(bd$band == "L"), sum(bd$band == "H"))
tb <- prop.trend.test(xb, nb, score = c(1, 3))
small <- list(
  data = "km.csv (16 cases, groups a/b, curve of b ends at 0); cox_ties.csv (62 cases, times 1-5, group r censored at 0.5); bands_empty.csv (11 cases, no band M)",
  km_all = km_ref(Surv(time, event) ~ 1, c(0, 2, 3.5, 8, 9, 10), data = km),
  km_group = km_ref(Surv(time, event) ~ g, c(0, 2, 3.5, 8, 9), data = km),
  cox_ties_efron = cox_ref(Surv(time, event) ~ x + w, "efron", data = cx),
  cox_ties_breslow = cox_ref(Surv(time, event) ~ x + w, "breslow", data = cx),
  cox_ties_x_efron = cox_ref(Surv(time, event) ~ x, "efron", data = cx),
  logrank_three = survdiff_ref(Surv(time, event) ~ g, data = cx),
  harrell_ties = conc_ref(cx$x, TRUE, data = cx),
  uno_ties = conc_ref(cx$x, TRUE, "n/G2", 3, data = cx),
  uno_ties_all = conc_ref(cx$w, TRUE, "n/G2", data = cx),
  uno_km = conc_ref(km$time * 0 + c(5, 3, 4, 4, 2, 3, 1, 2, 1, 0, 5, 2, 2, 1, 0, 1), TRUE, "n/G2", 8, data = km),
  band_empty = list(call = "prop.trend.test(c(x_L, x_H), c(n_L, n_H), score = c(1, 3))", n = nb, events = xb,
                    ci = lapply(1:2, function(i) wilson(xb[i], nb[i])),
                    chisq = unname(tb$statistic), p = tb$p.value)
)
write_ref(small, "pred_small")
