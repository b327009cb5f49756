# Reference values for validation.reliability and validation.factor.
#
# Usage (from the repository root):  Rscript tests/reference/R/reliability_factor.R
#
# Creates, with fixed seeds, the data sets
#   tests/reference/rel_missing/items.csv   500 x 8 seven-point items, one factor, ~5% values missing (NA)
#   tests/reference/rel_5pt/items.csv       300 x 6 five-point items, one factor, floor effects
#   tests/reference/rel_heywood/items.csv   150 x 4 items whose one-factor ML solution is a Heywood case
# and writes reference.json beside each. It also writes tests/reference/rel_synthetic_items/reference.json
# with additional figures for tests/reference/synthetic_items/items.csv (a copy of the shared data set).
#
# R 4.2.2, psych 2.2.9, lavaan 0.6-14, jsonlite.
suppressMessages({library(psych); library(lavaan); library(jsonlite)})

ref_root <- "tests/reference"
if (!dir.exists(ref_root)) stop("run from the repository root")

likert <- function(n, lam, ncat, shift, seed) {
  set.seed(seed)
  k <- length(lam)
  f <- rnorm(n)
  z <- outer(f, lam) + matrix(rnorm(n * k), n, k) %*% diag(sqrt(1 - lam^2))
  cuts <- qnorm(seq_len(ncat - 1) / ncat)
  x <- sapply(seq_len(k), function(j) findInterval(z[, j] + shift[j], cuts) + 1L)
  colnames(x) <- sprintf("i%02d", seq_len(k))
  as.data.frame(x)
}

alpha_ref <- function(x, call) {
  a <- suppressWarnings(psych::alpha(x))
  list(call = call,
       raw_alpha = a$total$raw_alpha, std_alpha = a$total$std.alpha, average_r = a$total$average_r,
       feldt_ci = unname(unlist(a$feldt[c("lower.ci", "upper.ci")])),
       feldt_n = nrow(x), k = a$nvar,
       items = rownames(a$item.stats),
       r_drop = unname(a$item.stats$r.drop),
       alpha_if_dropped = unname(a$alpha.drop$raw_alpha),
       std_alpha_if_dropped = unname(a$alpha.drop$std.alpha))
}

omega_ref <- function(x, call) {
  x <- na.omit(x)
  model <- paste("F =~", paste(colnames(x), collapse = " + "))
  fit <- suppressWarnings(cfa(model, data = x, std.lv = TRUE))
  pe <- parameterEstimates(fit)
  lam <- pe$est[pe$op == "=~"]
  th <- pe$est[pe$op == "~~" & pe$lhs == pe$rhs & pe$lhs != "F"]
  list(call = call, n = nrow(x),
       omega = sum(lam)^2 / (sum(lam)^2 + sum(th)),
       loadings = lam, residual_variances = th,
       std_loadings = standardizedSolution(fit)$est.std[standardizedSolution(fit)$op == "=~"],
       chisq = unname(fitMeasures(fit, "chisq")), df = unname(fitMeasures(fit, "df")),
       converged = lavInspect(fit, "converged"))
}

factor_ref <- function(x) {
  r <- cor(x, use = "pairwise")
  k <- psych::KMO(x)
  b <- psych::cortest.bartlett(r, n = nrow(x))
  list(kmo = list(call = "psych::KMO(x)  (cor(x, use = 'pairwise'))", overall = k$MSA, items = unname(k$MSAi)),
       bartlett = list(call = "psych::cortest.bartlett(cor(x, use = 'pairwise'), n = nrow(x))",
                       chisq = b$chisq, df = b$df, p = b$p.value),
       eigenvalues = list(call = "eigen(cor(x, use = 'pairwise'))$values", values = eigen(r, symmetric = TRUE)$values),
       cor_pairwise = unname(r))
}

describe_ref <- function(x, lo, hi) {
  d <- psych::describe(x)
  list(call = sprintf("psych::describe(x); floor/ceiling = share of answered cells equal to %d / %d", lo, hi),
       n = unname(d$n), mean = unname(d$mean), sd = unname(d$sd),
       floor = unname(colMeans(x == lo, na.rm = TRUE)), ceiling = unname(colMeans(x == hi, na.rm = TRUE)),
       missing = unname(colMeans(is.na(x))))
}

header <- function(data_desc) {
  list(r_version = R.version.string,
       packages = list(psych = as.character(packageVersion("psych")), lavaan = as.character(packageVersion("lavaan"))),
       script = "tests/reference/R/reliability_factor.R", data = data_desc)
}

write_ref <- function(out, folder) {
  dir.create(file.path(ref_root, folder), showWarnings = FALSE)
  writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE, na = "null"),
             file.path(ref_root, folder, "reference.json"))
  cat("wrote", file.path(ref_root, folder, "reference.json"), "\n")
}

# ---- rel_missing: 500 x 8 seven-point items, ~5% missing completely at random --------------------------
x <- likert(500, c(.75, .70, .65, .60, .55, .50, .45, .30), 7, c(0, .3, -.3, .5, 0, -.5, .2, 0), seed = 20240501)
set.seed(20240502)
x[matrix(runif(length(unlist(x))) < 0.05, nrow(x))] <- NA
dir.create(file.path(ref_root, "rel_missing"), showWarnings = FALSE)
write.csv(x, file.path(ref_root, "rel_missing", "items.csv"), row.names = FALSE, na = "")
out <- header("items.csv: 500 x 8 seven-point items (1-7), one factor, ~5% of cells missing at random (blank)")
out$n_missing_cells <- sum(is.na(x))
out$n_complete_rows <- sum(complete.cases(x))
out$alpha <- alpha_ref(x, "psych::alpha(x)  (default use = 'pairwise'; Feldt n = nrow(x))")
out$alpha_listwise <- alpha_ref(na.omit(x), "psych::alpha(na.omit(x))")
out$omega <- omega_ref(x, "lavaan::cfa('F =~ i01 + ... + i08', data = na.omit(x), std.lv = TRUE): omega on complete cases only")
out <- c(out, factor_ref(x))
out$describe <- describe_ref(x, 1, 7)
write_ref(out, "rel_missing")

# ---- rel_5pt: 300 x 6 five-point items, floor effects ------------------------------------------------
x <- likert(300, c(.80, .70, .60, .50, .40, .20), 5, c(-1.0, -.6, 0, .4, -1.4, 0), seed = 20240503)
dir.create(file.path(ref_root, "rel_5pt"), showWarnings = FALSE)
write.csv(x, file.path(ref_root, "rel_5pt", "items.csv"), row.names = FALSE, na = "")
out <- header("items.csv: 300 x 6 five-point items (1-5), one factor, no missing values")
out$alpha <- alpha_ref(x, "psych::alpha(x)")
out$omega <- omega_ref(x, "lavaan::cfa('F =~ i01 + ... + i06', data = x, std.lv = TRUE)")
out <- c(out, factor_ref(x))
out$describe <- describe_ref(x, 1, 5)
# psych deletes an item without variance (with a warning) and computes alpha on the others
xc <- cbind(x, const = 3L)
out$alpha_with_constant_item <- alpha_ref(xc, "psych::alpha(cbind(x, const = 3)): the constant item is deleted")
out$alpha_with_constant_item$feldt_n <- nrow(xc)
# two items: psych reports C12 / C22 and r12 as 'alpha if dropped'
out$alpha_two_items <- alpha_ref(x[, 1:2], "psych::alpha(x[, 1:2])")
write_ref(out, "rel_5pt")

# ---- rel_heywood: the ML one-factor solution has a negative residual variance -------------------------
set.seed(20240504)
n <- 150
f <- rnorm(n)
x <- data.frame(i01 = f + rnorm(n, sd = 0.05), i02 = 0.9 * f + rnorm(n, sd = 0.6),
                i03 = 0.5 * f + rnorm(n), i04 = 0.4 * f + rnorm(n))
x <- round(x, 2)
# make the first item's residual variance negative at the ML solution (a little more correlated with
# i02 than the factor allows)
x$i01 <- round(0.8 * x$i01 + 0.35 * x$i02, 2)
dir.create(file.path(ref_root, "rel_heywood"), showWarnings = FALSE)
write.csv(x, file.path(ref_root, "rel_heywood", "items.csv"), row.names = FALSE, na = "")
out <- header("items.csv: 150 x 4 continuous items; the one-factor ML solution has a negative residual variance")
out$omega <- omega_ref(x, "lavaan::cfa('F =~ i01 + i02 + i03 + i04', data = x, std.lv = TRUE)")
write_ref(out, "rel_heywood")

# ---- rel_synthetic_items: more figures for the shared synthetic_items data ----------------------------
x <- read.csv(file.path(ref_root, "synthetic_items", "items.csv"))
out <- header("../synthetic_items/items.csv: 400 x 10 seven-point items (q1..q10), two factors")
out$alpha_f1 <- alpha_ref(x[, 1:5], "psych::alpha(x[, 1:5])")
out$alpha_all <- alpha_ref(x, "psych::alpha(x)")
out$omega_f1 <- omega_ref(x[, 1:5], "lavaan::cfa('F =~ q1 + q2 + q3 + q4 + q5', data = x, std.lv = TRUE)")
out$omega_f2 <- omega_ref(x[, 6:10], "lavaan::cfa('F =~ q6 + q7 + q8 + q9 + q10', data = x, std.lv = TRUE)")
out <- c(out, factor_ref(x))
out$describe <- describe_ref(x, 1, 7)
write_ref(out, "rel_synthetic_items")
