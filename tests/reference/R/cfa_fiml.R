# Reference values for validation.cfa with missing = "ml" (full-information maximum likelihood).
#
# Usage (from the repository root):  Rscript tests/reference/R/cfa_fiml.R
#
# Writes, with fixed seeds,
#   tests/reference/cfa_fiml_hs/data.csv + reference.json
#        lavaan's HolzingerSwineford1939 with about 10% of x1..x9 set missing completely at random
#        and two cases emptied (dropped by lavaan with a warning): single-group 3-factor CFA and
#        the configural / metric / scalar models across schools (group.equal), a partial scalar
#        model, std.lv; fit measures, estimates and SEs (observed information), std.all with SEs,
#        modification indices (expected information), lavTestLRT, lavTestScore; the EM estimates
#        of the unrestricted model and the expected and observed information matrices
#   tests/reference/cfa_fiml_big/data.csv + reference.json
#        24 items, 3 factors, 400 simulated cases with 5% of the values missing at random plus a
#        few cases missing most items (nearly one pattern per case): single-group fit and a
#        two-group scalar model
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

fit_ref <- function(fit, call, n_mi = 10, extra = FALSE) {
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
  if (extra) {
    h1 <- lavInspect(fit, "sampstat")
    if (!is.null(h1$cov)) h1 <- list(h1)
    out$h1 <- lapply(h1, function(s) list(cov = unclass(s$cov), mean = unclass(s$mean)))
    out$information_expected <- unclass(lavInspect(fit, "information.expected"))
    out$information_observed <- unclass(lavInspect(fit, "information.observed"))
    out$npatterns <- sapply(lavInspect(fit, "patterns", drop.list.single.group = FALSE), nrow)
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
  f <- file.path(ref_root, dir, "reference.json")
  writeLines(toJSON(c(list(meta = meta), x), auto_unbox = TRUE, digits = NA, pretty = TRUE, na = "null",
                    matrix = "rowmajor"), f)
  cat("wrote", f, "\n")
}

warnings_of <- function(expr) {
  w <- character(0)
  val <- withCallingHandlers(expr, warning = function(e) {
    w <<- c(w, conditionMessage(e))
    invokeRestart("muffleWarning")
  })
  list(value = val, warnings = w)
}

# ---------------------------------------------------------------------------------------------
# Holzinger & Swineford (1939), 10% missing completely at random, two empty cases
# ---------------------------------------------------------------------------------------------
set.seed(20240917)
hs <- HolzingerSwineford1939[, c("id", "school", paste0("x", 1:9))]
v <- paste0("x", 1:9)
miss <- matrix(runif(nrow(hs) * 9) < 0.10, ncol = 9)
for (j in 1:9) hs[miss[, j], v[j]] <- NA
hs[c(17, 230), v] <- NA
dir.create(file.path(ref_root, "cfa_fiml_hs"), showWarnings = FALSE)
write.csv(hs, file.path(ref_root, "cfa_fiml_hs", "data.csv"), row.names = FALSE, na = "")
hs <- read.csv(file.path(ref_root, "cfa_fiml_hs", "data.csv"))

m3 <- "visual  =~ x1 + x2 + x3
textual =~ x4 + x5 + x6
speed   =~ x7 + x8 + x9"
out <- list(model = m3, missing_values = sum(is.na(hs[, v])), empty_rows = c(17L, 230L))
w <- warnings_of(cfa(m3, data = hs, missing = "ml"))
single <- w$value
out$single_warnings <- w$warnings
out$single <- fit_ref(single, "cfa(m3, data = hs, missing = 'ml')", 20, extra = TRUE)

conf <- suppressWarnings(cfa(m3, data = hs, group = "school", missing = "ml"))
met <- suppressWarnings(cfa(m3, data = hs, group = "school", group.equal = "loadings", missing = "ml"))
sca <- suppressWarnings(cfa(m3, data = hs, group = "school", group.equal = c("loadings", "intercepts"),
                            missing = "ml"))
out$configural <- fit_ref(conf, "cfa(m3, hs, group = 'school', missing = 'ml')", 10, extra = TRUE)
out$metric <- fit_ref(met, "cfa(m3, hs, group = 'school', group.equal = 'loadings', missing = 'ml')")
out$scalar <- fit_ref(sca, "cfa(m3, hs, group = 'school', group.equal = c('loadings', 'intercepts'), missing = 'ml')",
                      10, extra = TRUE)
out$lrt <- lrt_ref(conf, met, sca)
out$scalar_score <- score_ref(sca)
part <- suppressWarnings(cfa(m3, data = hs, group = "school", group.equal = c("loadings", "intercepts"),
                             group.partial = c("x3~1"), missing = "ml"))
out$partial <- fit_ref(part, "cfa(m3, hs, group = 'school', group.equal = c('loadings','intercepts'), group.partial = 'x3~1', missing = 'ml')")
out$lrt_partial <- lrt_ref(met, part)
m_rc <- paste(m3, "x7 ~~ x8", sep = "\n")
out$model_rescov <- m_rc
out$stdlv_rescov <- fit_ref(suppressWarnings(cfa(m_rc, data = hs, std.lv = TRUE, missing = "ml")),
                            "cfa(m_rc, hs, std.lv = TRUE, missing = 'ml')")
write_ref(out, "cfa_fiml_hs")

# ---------------------------------------------------------------------------------------------
# 24 items, 3 factors, 400 cases, 5% missing at random (+ a few nearly empty cases)
# ---------------------------------------------------------------------------------------------
set.seed(20240918)
n <- 400; p <- 24
lam <- matrix(0, p, 3)
lam[1:8, 1] <- runif(8, 0.5, 0.9)
lam[9:16, 2] <- runif(8, 0.5, 0.9)
lam[17:24, 3] <- runif(8, 0.5, 0.9)
lam[5, 2] <- 0.3  # a cross-loading the model leaves out
phi <- matrix(c(1, 0.4, 0.3, 0.4, 1, 0.5, 0.3, 0.5, 1), 3)
f <- MASS::mvrnorm(n, rep(0, 3), phi)
theta <- 1 - rowSums((lam %*% phi) * lam)
x <- f %*% t(lam) + matrix(rnorm(n * p), n) %*% diag(sqrt(theta))
x <- sweep(x, 2, runif(p, 2, 4), "+")
grp <- rep(c("a", "b"), each = n / 2)
x[grp == "b", ] <- x[grp == "b", ] + rep(c(0.2, rep(0, p - 1)), each = n / 2)
big <- as.data.frame(round(x, 3))
names(big) <- paste0("y", 1:p)
for (j in 1:p) big[runif(n) < 0.05, j] <- NA
for (i in c(11, 222, 333)) big[i, sample(p, 20)] <- NA  # patterns with few observed values
big <- cbind(grp = grp, big)
dir.create(file.path(ref_root, "cfa_fiml_big"), showWarnings = FALSE)
write.csv(big, file.path(ref_root, "cfa_fiml_big", "data.csv"), row.names = FALSE, na = "")
big <- read.csv(file.path(ref_root, "cfa_fiml_big", "data.csv"))
mb <- paste0("F1 =~ ", paste0("y", 1:8, collapse = " + "), "\n",
             "F2 =~ ", paste0("y", 9:16, collapse = " + "), "\n",
             "F3 =~ ", paste0("y", 17:24, collapse = " + "))
out <- list(model = mb, missing_values = sum(is.na(big[, -1])))
t0 <- proc.time()[["elapsed"]]
fb <- cfa(mb, data = big, missing = "ml")
out$seconds_single <- proc.time()[["elapsed"]] - t0
out$single <- fit_ref(fb, "cfa(mb, data = big, missing = 'ml')", 10, extra = TRUE)
fs <- cfa(mb, data = big, missing = "ml", group = "grp", group.equal = c("loadings", "intercepts"))
out$scalar <- fit_ref(fs, "cfa(mb, big, group = 'grp', group.equal = c('loadings','intercepts'), missing = 'ml')", 10)
out$scalar_score <- score_ref(fs)
write_ref(out, "cfa_fiml_big")
