# Reference values for validation.stats.fairness: Cleary's differential prediction (glm, anova LRT, profile
# confint), Firth's penalised fits where the score separates a group (brglm2, whose AS_mean fit of a binomial
# logit model is Firth's), calibration by group (glm with offset, Miller's deviance tests, O/E) and error rates
# by group (Wilson = prop.test without continuity correction; Newcombe's hybrid score interval by its formula).
#
# What it makes (all in this folder):
#   groups.csv    1,500 cases in sites A (700), B (450), C (250), D (100): score 0-20, outcome with an intercept
#                 shift in B and a slope shift in C; flagged = score >= 12; a pooled predicted risk; a
#                 follow-up time (exponential in the score, censored at 1,500 days); set.seed(20261209).
#   separated.csv 300 cases in two groups, the outcome separated by the score in group Y; set.seed(20261210).
#   values.json   every statistic below, full precision; R and package versions.
#
# Rerun from the repository root:  Rscript tests/reference/fairness/make_reference.R
# Needs: R with MASS (confint of a glm in R 4.2), brglm2, metafor, pROC, survival and jsonlite
# (Debian: r-cran-brglm2 r-cran-metafor r-cran-proc r-cran-survival r-cran-jsonlite).
suppressPackageStartupMessages({
  library(MASS)
  library(metafor)
  library(pROC)
  library(survival)
  library(brglm2)
  library(jsonlite)
})
out <- "tests/reference/fairness"
if (!dir.exists(out)) stop("run from the repository root")

set.seed(20261209)
site <- rep(c("A", "B", "C", "D"), c(700, 450, 250, 100))
score <- sample(0:20, length(site), replace = TRUE)
lin <- -3 + 0.2 * score + ifelse(site == "B", -0.8, 0) + ifelse(site == "C", 0.12 * score - 1.2, 0)
outcome <- as.integer(runif(length(site)) < plogis(lin))
time <- round(rexp(length(site), rate = exp(-7 + 0.08 * score))) + 1
pooled <- glm(outcome ~ score, binomial)
d <- data.frame(site, score, outcome, flagged = as.integer(score >= 12),
                predicted = round(fitted(pooled), 8), time = pmin(time, 1500), event = as.integer(time <= 1500))
write.csv(d, file.path(out, "groups.csv"), row.names = FALSE)

set.seed(20261210)
g <- rep(c("X", "Y"), each = 150)
s <- sample(0:10, 300, replace = TRUE)
y <- ifelse(g == "X", as.integer(runif(300) < plogis(-2 + 0.4 * s)), as.integer(s >= 7))
write.csv(data.frame(group = g, score = s, outcome = y), file.path(out, "separated.csv"), row.names = FALSE)

d <- read.csv(file.path(out, "groups.csv"))
d$site <- factor(d$site, levels = c("A", "B", "C", "D"))
lrt <- function(small, big) {
  a <- anova(small, big, test = "LRT")
  list(statistic = a$Deviance[2], df = a$Df[2], p = a[["Pr(>Chi)"]][2])
}
cleary <- function(data) {
  m0 <- glm(outcome ~ score, binomial, data)
  m1 <- glm(outcome ~ score + site, binomial, data)
  m2 <- glm(outcome ~ score * site, binomial, data)
  ci <- suppressMessages(confint(m2))
  ci1 <- suppressMessages(confint(m1))
  list(slope = lrt(m1, m2), intercept = lrt(m0, m1), joint = lrt(m0, m2),
       common_slope = list(coefficients = as.list(coef(m1)), se = as.list(sqrt(diag(vcov(m1)))),
                           ci_lower = as.list(ci1[, 1]), ci_upper = as.list(ci1[, 2])),
       coefficients = as.list(coef(m2)), se = as.list(sqrt(diag(vcov(m2)))),
       ci_lower = as.list(ci[, 1]), ci_upper = as.list(ci[, 2]),
       magnitude = as.list(sapply(levels(droplevels(data$site))[-1], function(l) {
         i <- data$site == l
         mean(fitted(m2)[i] - fitted(m0)[i])
       })))
}

# calibration by group, per site
calibration <- lapply(split(d, d$site), function(s) {
  lp <- qlogis(s$predicted)
  m_null <- glm(outcome ~ 0 + offset(lp), binomial, s)
  m_citl <- glm(outcome ~ 1 + offset(lp), binomial, s)
  m_slope <- glm(outcome ~ lp, binomial, s)
  ci_c <- suppressMessages(confint(m_citl))
  ci_s <- suppressMessages(confint(m_slope))["lp", ]
  o <- sum(s$outcome); e <- sum(s$predicted); z <- qnorm(0.975)
  dev <- function(a, b) deviance(a) - deviance(b)
  list(citl = unname(coef(m_citl)), citl_lower = unname(ci_c[1]), citl_upper = unname(ci_c[2]),
       slope = unname(coef(m_slope)["lp"]), slope_lower = unname(ci_s[1]), slope_upper = unname(ci_s[2]),
       oe = o / e, oe_lower = o / e * exp(-z / sqrt(o)), oe_upper = o / e * exp(z / sqrt(o)),
       stat_citl = dev(m_null, m_citl), p_citl = pchisq(dev(m_null, m_citl), 1, lower.tail = FALSE),
       stat_slope = dev(m_citl, m_slope), p_slope = pchisq(dev(m_citl, m_slope), 1, lower.tail = FALSE),
       stat_joint = dev(m_null, m_slope), p_joint = pchisq(dev(m_null, m_slope), 2, lower.tail = FALSE))
})

# error rates by group and Newcombe's differences against A
wilson <- function(k, n) as.numeric(prop.test(k, n, correct = FALSE)$conf.int)
cells <- function(s) {
  tp <- sum(s$outcome == 1 & s$flagged == 1); fp <- sum(s$outcome == 0 & s$flagged == 1)
  fn <- sum(s$outcome == 1 & s$flagged == 0); tn <- sum(s$outcome == 0 & s$flagged == 0)
  list(`base rate` = c(tp + fn, nrow(s)), FPR = c(fp, fp + tn), FNR = c(fn, tp + fn), PPV = c(tp, tp + fp),
       NPV = c(tn, tn + fn))
}
by_site <- lapply(split(d, d$site), cells)
rates <- lapply(by_site, function(cs) lapply(cs, function(kn) {
  w <- wilson(kn[1], kn[2]); list(estimate = kn[1] / kn[2], ci_lower = w[1], ci_upper = w[2])
}))
newcombe <- function(k1, n1, k2, n2) {
  p1 <- k1 / n1; p2 <- k2 / n2; w1 <- wilson(k1, n1); w2 <- wilson(k2, n2)
  c(p1 - p2, p1 - p2 - sqrt((p1 - w1[1])^2 + (w2[2] - p2)^2), p1 - p2 + sqrt((w1[2] - p1)^2 + (p2 - w2[1])^2))
}
differences <- lapply(c(B = "B", C = "C"), function(l) lapply(by_site[[l]], function(kn) {
  m <- names(by_site[[l]])[sapply(by_site[[l]], identical, kn)][1]
  r <- by_site$A[[m]]; v <- newcombe(kn[1], kn[2], r[1], r[2])
  list(difference = v[1], ci_lower = v[2], ci_upper = v[3])
}))

# Firth where the score separates group Y: brglm2's AS_mean fits, penalised log-likelihoods for the tests
sep <- read.csv(file.path(out, "separated.csv"))
sep$site <- factor(sep$group, levels = c("X", "Y"))
firth <- function(f) glm(f, binomial(), sep, method = "brglmFit", type = "AS_mean")
penalised <- function(m) {      # the log-likelihood plus half the log determinant of the information
  x <- model.matrix(m); p <- fitted(m); y <- sep$outcome
  sum(y * log(p) + (1 - y) * log(1 - p)) + 0.5 * as.numeric(determinant(crossprod(x * sqrt(p * (1 - p))))$modulus)
}
f0 <- firth(outcome ~ score); f1 <- firth(outcome ~ score + site); f2 <- firth(outcome ~ score * site)
pl <- sapply(list(f0, f1, f2), penalised)
firth_values <- list(coefficients = as.list(coef(f2)), penalised_loglik = pl,
                     slope = 2 * (pl[3] - pl[2]), intercept = 2 * (pl[2] - pl[1]), joint = 2 * (pl[3] - pl[1]))

# discrimination by group: DeLong AUCs, unpaired roc.test against A with Holm, REML on logit AUC, Harrell's C
rocs <- lapply(split(d, d$site), function(s) roc(s$outcome, s$score, levels = c(0, 1), direction = "<", quiet = TRUE))
aucs <- lapply(rocs, function(r) {
  ci <- ci.auc(r, method = "delong"); list(auc = as.numeric(auc(r)), variance = var(r), ci_lower = ci[1], ci_upper = ci[3])
})
tests <- lapply(rocs[c("B", "C", "D")], function(r) {
  t <- roc.test(r, rocs$A, method = "delong", paired = FALSE)
  list(statistic = unname(t$statistic), df = unname(t$parameter), p = t$p.value)
})
holm <- p.adjust(sapply(tests, `[[`, "p"), "holm")
for (g in names(tests)) tests[[g]]$p_holm <- unname(holm[g])
a <- sapply(aucs, `[[`, "auc"); v <- sapply(aucs, `[[`, "variance")
re <- rma(yi = qlogis(a), vi = v / (a * (1 - a))^2, method = "REML")
pr <- predict(re)
cs <- lapply(split(d, d$site), function(s) {
  cc <- concordance(Surv(time, event) ~ score, data = s, reverse = TRUE)
  list(c = unname(cc$concordance), se = sqrt(unname(cc$var)))
})
discrimination <- list(auc = aucs, tests = tests,
                       heterogeneity = list(q = re$QE, q_p = re$QEp, tau2 = re$tau2, estimate = re$b[1],
                                            pi_lower = pr$pi.lb, pi_upper = pr$pi.ub),
                       harrell = cs)
# score differences against A: Cohen's d with the Hedges-Olkin interval
cohen <- lapply(c(B = "B", C = "C", D = "D"), function(g) {
  x1 <- d$score[d$site == g]; x0 <- d$score[d$site == "A"]; n1 <- length(x1); n0 <- length(x0)
  sp <- sqrt(((n1 - 1) * var(x1) + (n0 - 1) * var(x0)) / (n1 + n0 - 2)); dd <- (mean(x1) - mean(x0)) / sp
  se <- sqrt((n1 + n0) / (n1 * n0) + dd^2 / (2 * (n1 + n0)))
  list(d = dd, d_lower = dd - qnorm(0.975) * se, d_upper = dd + qnorm(0.975) * se)
})

# the Cox version: score * site, score + site, score; stratified; each site's own model and cox.zph
cox_lrt <- function(small, big) 2 * (big$loglik[2] - small$loglik[2])
c0 <- coxph(Surv(time, event) ~ score, d, ties = "efron")
c1 <- coxph(Surv(time, event) ~ score + site, d, ties = "efron")
c2 <- coxph(Surv(time, event) ~ score * site, d, ties = "efron")
cs0 <- coxph(Surv(time, event) ~ score + strata(site), d, ties = "efron")
own <- lapply(split(d, d$site), function(s) coxph(Surv(time, event) ~ score, s, ties = "efron"))
cox_values <- list(slope = cox_lrt(c1, c2), intercept = cox_lrt(c0, c1), joint = cox_lrt(c0, c2),
                   stratified = 2 * (sum(sapply(own, function(m) m$loglik[2])) - cs0$loglik[2]),
                   coefficients = as.list(coef(c2)), se = as.list(sqrt(diag(vcov(c2)))),
                   hr = lapply(own, function(m) exp(unname(coef(m)))),
                   ph_p = lapply(own, function(m) unname(cox.zph(m, transform = "km")$table["score", "p"])))

write_json(list(cox = cox_values, discrimination = discrimination, cohen = cohen, cleary = cleary(d), cleary_without_d = cleary(droplevels(d[d$site != "D", ])),
                calibration = calibration, rates = rates, differences = differences, firth = firth_values,
                R = R.version.string, MASS = as.character(packageVersion("MASS")),
                metafor = as.character(packageVersion("metafor")), pROC = as.character(packageVersion("pROC")),
                brglm2 = as.character(packageVersion("brglm2"))),
           file.path(out, "values.json"), digits = NA, pretty = TRUE, auto_unbox = TRUE)
