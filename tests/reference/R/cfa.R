# Reference values for validation.cfa (confirmatory factor analysis and measurement invariance).
#
# Usage (from the repository root):  Rscript tests/reference/R/cfa.R
#
# Writes, with fixed seeds,
#   tests/reference/cfa_hs1939/hs1939.csv          lavaan's HolzingerSwineford1939 data (301 x 15)
#   tests/reference/cfa_hs1939/reference.json      single- and multi-group (school) 3-factor CFA:
#        fit measures, estimates, standardized solution with SEs, modification indices,
#        configural / metric / scalar / strict, lavTestLRT, lavTestScore, group.partial (intercepts
#        and a loading), a mean structure in one group, std.lv with a residual covariance, labels
#        and fixed values, sample.cov-only fits (one group; two groups with means)
#   tests/reference/cfa_g3/data.csv + reference.json   three simulated groups with missing values
#        (listwise deletion), invariance sequence and score tests with 2 df
#   tests/reference/cfa_heywood/data.csv + reference.json  a two-factor model with a Heywood case
#   tests/reference/cfa_items/reference_lavaan.json      full figures for cfa_items/items.csv
#        (a copy of the shared synthetic_items data set)
#   tests/reference/cfa_invariance/reference.json        full figures for
#        synthetic_invariance/invariance.csv (copy of the shared data set): estimates, modification
#        indices, score tests, partial scalar model
#
# R 4.2.2, lavaan 0.6-14, jsonlite.
suppressMessages({library(lavaan); library(jsonlite)})

ref_root <- "tests/reference"
if (!dir.exists(ref_root)) stop("run from the repository root")

meta <- list(r_version = R.version.string, lavaan = as.character(packageVersion("lavaan")))

pe_cols <- c("lhs", "op", "rhs", "label", "est", "se", "z", "pvalue")
ss_cols <- c("lhs", "op", "rhs", "est.std", "se", "z", "pvalue")
mi_cols <- c("lhs", "op", "rhs", "mi", "epc", "sepc.lv", "sepc.all")

with_group <- function(df, cols, fit) {
  out <- df[, intersect(c(cols, "group"), names(df)), drop = FALSE]
  if ("group" %in% names(out)) {
    labs <- lavInspect(fit, "group.label")
    out$group <- labs[out$group]
  }
  rownames(out) <- NULL
  out
}

fit_ref <- function(fit, call, n_mi = 20) {
  pe <- parameterEstimates(fit)
  ss <- standardizedSolution(fit)
  out <- list(call = call, groups = lavInspect(fit, "group.label"), nobs = unlist(lavInspect(fit, "nobs")),
              converged = lavInspect(fit, "converged"),
              fit = as.list(fitMeasures(fit)),
              params = with_group(pe, pe_cols, fit),
              std = with_group(ss, ss_cols, fit))
  if (n_mi > 0) {
    mi <- suppressWarnings(modindices(fit, sort. = TRUE))
    if (nrow(mi) > 0) {
      mi <- mi[seq_len(min(n_mi, nrow(mi))), , drop = FALSE]
      out$mi <- with_group(mi, mi_cols, fit)
    }
  }
  out
}

lrt_ref <- function(...) {
  lt <- lavTestLRT(...)
  list(chisq = lt$Chisq, df = lt$Df, chisq_diff = lt$`Chisq diff`, df_diff = lt$`Df diff`,
       p = lt$`Pr(>Chisq)`)
}

score_ref <- function(fit) {
  ts <- lavTestScore(fit)
  pt <- parTable(fit)
  lab <- function(pl) {
    i <- match(pl, pt$plabel)
    paste0(pt$lhs[i], pt$op[i], pt$rhs[i], "@", lavInspect(fit, "group.label")[pt$group[i]])
  }
  u <- ts$uni
  list(total = list(X2 = ts$test$X2, df = ts$test$df, p = ts$test$p.value),
       uni = data.frame(lhs = lab(u$lhs), rhs = lab(u$rhs), X2 = u$X2, df = u$df, p = u$p.value))
}

write_ref <- function(x, dir) {
  dir.create(file.path(ref_root, dir), showWarnings = FALSE)
  f <- file.path(ref_root, dir, "reference.json")
  writeLines(toJSON(c(list(meta = meta), x), auto_unbox = TRUE, digits = NA, pretty = TRUE, na = "null"), f)
  cat("wrote", f, "\n")
}

# ---------------------------------------------------------------------------------------------
# Holzinger & Swineford (1939)
# ---------------------------------------------------------------------------------------------
hs <- HolzingerSwineford1939
dir.create(file.path(ref_root, "cfa_hs1939"), showWarnings = FALSE)
write.csv(hs, file.path(ref_root, "cfa_hs1939", "hs1939.csv"), row.names = FALSE)
hs <- read.csv(file.path(ref_root, "cfa_hs1939", "hs1939.csv"))

m3 <- "visual  =~ x1 + x2 + x3
textual =~ x4 + x5 + x6
speed   =~ x7 + x8 + x9"
out <- list(model = m3)
single <- cfa(m3, data = hs)
out$single <- fit_ref(single, "cfa(m3, data = hs)")

conf <- cfa(m3, data = hs, group = "school")
met <- cfa(m3, data = hs, group = "school", group.equal = "loadings")
sca <- cfa(m3, data = hs, group = "school", group.equal = c("loadings", "intercepts"))
out$configural <- fit_ref(conf, "cfa(m3, hs, group = 'school')", 10)
out$metric <- fit_ref(met, "cfa(m3, hs, group = 'school', group.equal = 'loadings')", 10)
out$scalar <- fit_ref(sca, "cfa(m3, hs, group = 'school', group.equal = c('loadings', 'intercepts'))", 10)
out$lrt <- lrt_ref(conf, met, sca)
out$scalar_score <- score_ref(sca)
part <- cfa(m3, data = hs, group = "school", group.equal = c("loadings", "intercepts"),
            group.partial = c("x3~1", "x7~1"))
out$partial <- fit_ref(part, "cfa(m3, hs, group = 'school', group.equal = c('loadings','intercepts'), group.partial = c('x3~1','x7~1'))", 10)
out$lrt_partial <- lrt_ref(met, part)
out$single_ms <- fit_ref(cfa(m3, data = hs, meanstructure = TRUE), "cfa(m3, data = hs, meanstructure = TRUE)")
metp <- cfa(m3, data = hs, group = "school", group.equal = c("loadings", "intercepts"),
            group.partial = c("visual=~x2", "x3~1"))
out$partial_loading <- fit_ref(metp, "cfa(m3, hs, group = 'school', group.equal = c('loadings','intercepts'), group.partial = c('visual=~x2', 'x3~1'))", 10)
strict <- cfa(m3, data = hs, group = "school",
              group.equal = c("loadings", "intercepts", "residuals", "lv.variances", "lv.covariances", "means"))
out$strict <- fit_ref(strict, "cfa(m3, hs, group = 'school', group.equal = c('loadings','intercepts','residuals','lv.variances','lv.covariances','means'))", 10)

m_rc <- "visual  =~ x1 + x2 + x3
textual =~ x4 + x5 + x6
speed   =~ x7 + x8 + x9
x7 ~~ x8"
out$model_rescov <- m_rc
stdlv <- cfa(m_rc, data = hs, std.lv = TRUE)
out$stdlv_rescov <- fit_ref(stdlv, "cfa(m_rc, hs, std.lv = TRUE)")
stdlv_met <- cfa(m_rc, data = hs, std.lv = TRUE, group = "school", group.equal = c("loadings", "intercepts"))
out$stdlv_scalar <- fit_ref(stdlv_met, "cfa(m_rc, hs, std.lv = TRUE, group = 'school', group.equal = c('loadings','intercepts'))", 10)

m_lab <- "# labels, a fixed loading, orthogonal factors
visual  =~ x1 + a*x2 + a*x3
textual =~ x4 + x5 + 0.8*x6
speed   =~ NA*x7 + x8 + x9
speed ~~ 1*speed
visual ~~ 0*speed"
out$model_labels <- m_lab
out$labels <- fit_ref(cfa(m_lab, data = hs), "cfa(m_lab, hs)")
m_c <- "visual  =~ x1 + c(v2, v2)*x2 + x3
textual =~ x4 + x5 + x6
speed   =~ x7 + x8 + x9
x9 ~ c(i9a, i9a)*1"
out$model_c <- m_c
out$labels_groups <- fit_ref(cfa(m_c, data = hs, group = "school"), "cfa(m_c, hs, group = 'school')", 10)

v <- paste0("x", 1:9)
S <- cov(hs[, v])
out$sample_cov <- list(cov = S, n = nrow(hs))
out$from_cov <- fit_ref(cfa(m3, sample.cov = S, sample.nobs = nrow(hs)), "cfa(m3, sample.cov = cov(hs[, x1..x9]), sample.nobs = 301)")
groups <- unique(hs$school)
covs <- lapply(groups, function(s) cov(hs[hs$school == s, v]))
means <- lapply(groups, function(s) colMeans(hs[hs$school == s, v]))
ns <- sapply(groups, function(s) sum(hs$school == s))
names(covs) <- names(means) <- names(ns) <- groups
out$from_cov_groups <- fit_ref(cfa(m3, sample.cov = covs, sample.mean = means, sample.nobs = ns,
                                   group.equal = "loadings"),
                               "cfa(m3, sample.cov = covs, sample.mean = means, sample.nobs = ns, group.equal = 'loadings')", 10)
out$from_cov_groups$groups_in <- groups
write_ref(out, "cfa_hs1939")

# ---------------------------------------------------------------------------------------------
# three groups, missing values
# ---------------------------------------------------------------------------------------------
set.seed(20240611)
sim_group <- function(n, lam, nu, phi, psi_mean, theta) {
  f <- MASS::mvrnorm(n, mu = psi_mean, Sigma = phi)
  x <- f %*% t(lam) + matrix(rnorm(n * nrow(lam)), n) %*% diag(sqrt(theta)) + matrix(nu, n, nrow(lam), byrow = TRUE)
  x
}
lam <- cbind(c(0.8, 0.7, 0.6, 0, 0, 0), c(0, 0, 0, 0.75, 0.65, 0.7))
phi <- matrix(c(1, 0.4, 0.4, 1), 2)
theta <- c(0.5, 0.6, 0.7, 0.45, 0.6, 0.55)
nu <- c(3, 3.2, 2.9, 3.1, 3, 2.8)
g1 <- sim_group(250, lam, nu, phi, c(0, 0), theta)
lam2 <- lam; lam2[3, 1] <- 0.45
g2 <- sim_group(200, lam2, nu, phi * 1.2, c(0.2, -0.1), theta)
nu3 <- nu; nu3[2] <- nu3[2] + 0.5
g3 <- sim_group(300, lam, nu3, phi, c(-0.3, 0.2), theta)
d3 <- as.data.frame(round(rbind(g1, g2, g3), 3))
names(d3) <- paste0("y", 1:6)
d3 <- cbind(region = rep(c("north", "south", "east"), c(250, 200, 300)), d3)
d3 <- d3[sample(nrow(d3)), ]
miss <- matrix(runif(nrow(d3) * 6) < 0.03, ncol = 6)
for (j in 1:6) d3[miss[, j], j + 1] <- NA
dir.create(file.path(ref_root, "cfa_g3"), showWarnings = FALSE)
write.csv(d3, file.path(ref_root, "cfa_g3", "data.csv"), row.names = FALSE, na = "")
d3 <- read.csv(file.path(ref_root, "cfa_g3", "data.csv"))
mg <- "A =~ y1 + y2 + y3
B =~ y4 + y5 + y6"
out <- list(model = mg)
c3 <- cfa(mg, d3, group = "region")
m3f <- cfa(mg, d3, group = "region", group.equal = "loadings")
s3 <- cfa(mg, d3, group = "region", group.equal = c("loadings", "intercepts"))
out$configural <- fit_ref(c3, "cfa(mg, d3, group = 'region')", 10)
out$metric <- fit_ref(m3f, "cfa(mg, d3, group = 'region', group.equal = 'loadings')", 10)
out$scalar <- fit_ref(s3, "cfa(mg, d3, group = 'region', group.equal = c('loadings','intercepts'))", 10)
out$lrt <- lrt_ref(c3, m3f, s3)
out$scalar_score <- score_ref(s3)
# multivariate release of each intercept (2 constraints each)
pt <- parTable(s3)
eqs <- which(pt$op == "==")
rel <- list()
for (item in paste0("y", 1:6)) {
  pl <- pt$plabel[pt$lhs == item & pt$op == "~1" & pt$group == 1]
  idx <- which(pt$lhs[eqs] == pl)
  r <- lavTestScore(s3, release = idx, univariate = FALSE)$test
  rel[[paste0(item, "~1")]] <- list(X2 = r$X2, df = r$df, p = r$p.value)
}
out$release <- rel
part3 <- cfa(mg, d3, group = "region", group.equal = c("loadings", "intercepts"), group.partial = "y2~1")
out$partial <- fit_ref(part3, "cfa(mg, d3, group = 'region', group.equal = c('loadings','intercepts'), group.partial = 'y2~1')", 10)
sl3 <- cfa(mg, d3, group = "region", group.equal = c("loadings", "intercepts"), std.lv = TRUE)
out$stdlv_scalar <- fit_ref(sl3, "cfa(mg, d3, group = 'region', group.equal = c('loadings','intercepts'), std.lv = TRUE)", 10)
write_ref(out, "cfa_g3")

# ---------------------------------------------------------------------------------------------
# a Heywood case
# ---------------------------------------------------------------------------------------------
mh <- "F1 =~ h1 + h2 + h3
F2 =~ h4 + h5 + h6"
found <- FALSE
for (seed in 1:500) {
  set.seed(seed)
  n <- 120
  lamh <- cbind(c(0.97, 0.55, 0.5, 0, 0, 0), c(0, 0, 0, 0.7, 0.6, 0.65))
  f <- MASS::mvrnorm(n, c(0, 0), matrix(c(1, 0.3, 0.3, 1), 2))
  x <- f %*% t(lamh) + matrix(rnorm(n * 6), n) %*% diag(sqrt(pmax(1 - rowSums(lamh^2), 0.02)))
  dh <- as.data.frame(round(x, 3)); names(dh) <- paste0("h", 1:6)
  fh <- suppressWarnings(cfa(mh, dh))
  th <- parameterEstimates(fh)
  if (lavInspect(fh, "converged") && any(th$est[th$op == "~~" & th$lhs == th$rhs & th$lhs %in% names(dh)] < 0)) {
    found <- TRUE
    break
  }
}
stopifnot(found)
dir.create(file.path(ref_root, "cfa_heywood"), showWarnings = FALSE)
write.csv(dh, file.path(ref_root, "cfa_heywood", "data.csv"), row.names = FALSE)
dh <- read.csv(file.path(ref_root, "cfa_heywood", "data.csv"))
fh <- suppressWarnings(cfa(mh, dh))
write_ref(list(model = mh, seed = seed, heywood = fit_ref(fh, "cfa(mh, dh)")), "cfa_heywood")

# ---------------------------------------------------------------------------------------------
# the shared data sets
# ---------------------------------------------------------------------------------------------
items <- read.csv(file.path(ref_root, "cfa_items", "items.csv"))
m2 <- "F1 =~ q1 + q2 + q3 + q4 + q5\nF2 =~ q6 + q7 + q8 + q9 + q10"
f2 <- cfa(m2, data = items)
x <- c(list(meta = meta, model = m2), fit_ref(f2, "cfa(m2, items)"))
writeLines(toJSON(x, auto_unbox = TRUE, digits = NA, pretty = TRUE, na = "null"),
           file.path(ref_root, "cfa_items", "reference_lavaan.json"))
cat("wrote", file.path(ref_root, "cfa_items", "reference_lavaan.json"), "\n")

inv <- read.csv(file.path(ref_root, "synthetic_invariance", "invariance.csv"))
mi8 <- "F1 =~ x1 + x2 + x3 + x4\nF2 =~ x5 + x6 + x7 + x8"
out <- list(model = mi8)
ci <- cfa(mi8, inv, group = "site")
mi_ <- cfa(mi8, inv, group = "site", group.equal = "loadings")
si <- cfa(mi8, inv, group = "site", group.equal = c("loadings", "intercepts"))
out$configural <- fit_ref(ci, "cfa(m, d, group = 'site')", 10)
out$metric <- fit_ref(mi_, "cfa(m, d, group = 'site', group.equal = 'loadings')", 10)
out$scalar <- fit_ref(si, "cfa(m, d, group = 'site', group.equal = c('loadings','intercepts'))", 10)
out$lrt <- lrt_ref(ci, mi_, si)
out$scalar_score <- score_ref(si)
pi <- cfa(mi8, inv, group = "site", group.equal = c("loadings", "intercepts"), group.partial = "x3~1")
out$partial <- fit_ref(pi, "cfa(m, d, group = 'site', group.equal = c('loadings','intercepts'), group.partial = 'x3~1')", 10)
out$lrt_partial <- lrt_ref(mi_, pi)
write_ref(out, "cfa_invariance")
