# Reference values for validation.factor: parallel_analysis, efa, polychoric.
#
# Usage (from the repository root):  Rscript tests/reference/R/factor_efa.R
#
# Creates, with fixed seeds, the data sets (and reference.json beside each)
#   tests/reference/efa_3f12/items.csv      600 x 12 seven-point items, three correlated factors
#   tests/reference/efa_missing/items.csv   450 x 9 seven-point items, three factors, ~6% cells missing
#   tests/reference/efa_poly/items.csv      500 x 10 five-point items, two factors, ~3% cells missing
#   tests/reference/efa_poly_sparse/items.csv  160 x 6 items with 3 to 5 categories and empty cells
#   tests/reference/efa_nonpd/items.csv     6 items whose pairwise-complete correlation matrix is not
#                                           positive definite
# and tests/reference/efa_parallel/reference.json with psych::fa.parallel's observed eigenvalues for the
# existing data sets synthetic_items, rel_missing, rel_5pt and rel_heywood (read from their folders),
# and tests/reference/efa_heywood/reference.json with psych::fa solutions that end in Heywood cases.
#
# R 4.2.2, psych 2.2.9, GPArotation 2022.10-2, jsonlite.
suppressMessages({library(psych); library(GPArotation); library(jsonlite)})
# psych runs its replications through parallel::mclapply; on one core they use the session's random
# numbers, so set.seed() makes the simulated eigenvalues reproducible
options(mc.cores = 1)

ref_root <- "tests/reference"
if (!dir.exists(ref_root)) stop("run from the repository root")

header <- function(data_desc) {
  list(r_version = R.version.string,
       packages = list(psych = as.character(packageVersion("psych")),
                       GPArotation = as.character(packageVersion("GPArotation"))),
       script = "tests/reference/R/factor_efa.R", data = data_desc)
}

write_ref <- function(out, folder) {
  dir.create(file.path(ref_root, folder), showWarnings = FALSE)
  writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE, na = "null"),
             file.path(ref_root, folder, "reference.json"))
  cat("wrote", file.path(ref_root, folder, "reference.json"), "\n")
}

write_items <- function(x, folder) {
  dir.create(file.path(ref_root, folder), showWarnings = FALSE)
  write.csv(x, file.path(ref_root, folder, "items.csv"), row.names = FALSE, na = "")
}

# ordinal items from a factor model: z = F Lambda' + e, cut at equally spaced normal quantiles + shift
likert_model <- function(n, lam, phi, ncat, shift, seed) {
  set.seed(seed)
  k <- nrow(lam)
  m <- ncol(lam)
  f <- matrix(rnorm(n * m), n) %*% chol(phi)
  h2 <- rowSums((lam %*% phi) * lam)
  z <- f %*% t(lam) + matrix(rnorm(n * k), n) %*% diag(sqrt(1 - h2))
  cuts <- qnorm(seq_len(ncat - 1) / ncat)
  x <- sapply(seq_len(k), function(j) findInterval(z[, j] + shift[j], cuts) + 1L)
  colnames(x) <- sprintf("i%02d", seq_len(k))
  as.data.frame(x)
}

# one psych::fa solution; loadings are psych's column order and signs
fa_ref <- function(x, nf, fm, rotate, cor = "cor") {
  f <- suppressWarnings(suppressMessages(fa(x, nfactors = nf, fm = fm, rotate = rotate, cor = cor)))
  L <- unclass(f$loadings)
  phi <- if (is.null(f$Phi)) diag(nf) else f$Phi
  list(call = sprintf("psych::fa(x, nfactors = %d, fm = '%s', rotate = '%s', cor = '%s')", nf, fm, rotate, cor),
       loadings = unname(L), communality = unname(f$communality), uniquenesses = unname(f$uniquenesses),
       phi = unname(as.matrix(phi)),
       vaccounted = unname(f$Vaccounted), vaccounted_rows = rownames(f$Vaccounted),
       values = unname(f$values),
       objective = f$objective, statistic = f$STATISTIC, dof = f$dof, pval = f$PVAL,
       rms = f$rms, tli = f$TLI, rmsea = unname(f$RMSEA[1]), bic = f$BIC, n_obs = f$n.obs)
}

fa_all <- function(x, nf, cor = "cor", rotations = c("none", "varimax", "promax", "oblimin", "geominQ")) {
  out <- list()
  for (fm in c("minres", "ml")) for (rot in rotations)
    out[[paste(fm, rot, sep = "_")]] <- fa_ref(x, nf, fm, rot, cor)
  out
}

# observed eigenvalues of psych::fa.parallel (fa = "both"); few iterations, only the observed values used
parallel_observed <- function(x, fm) {
  set.seed(1)
  p <- suppressWarnings(suppressMessages(fa.parallel(x, fm = fm, fa = "both", n.iter = 2, plot = FALSE)))
  list(call = sprintf("psych::fa.parallel(x, fm = '%s', fa = 'both', plot = FALSE)", fm),
       fa_values = p$fa.values, pc_values = p$pc.values)
}

# the simulated eigenvalues of psych::fa.parallel: means, sds, 95% quantiles over n.iter data sets
parallel_simulated <- function(x, fm, n_iter, seed) {
  set.seed(seed)
  p <- suppressWarnings(suppressMessages(fa.parallel(x, fm = fm, fa = "both", n.iter = n_iter, quant = 0.95,
                                                    plot = FALSE)))
  v <- p$values
  k <- ncol(x)
  cs <- v[, grep("^CSim", colnames(v))]
  fs <- v[, grep("^Fsim", colnames(v))]
  list(call = sprintf("set.seed(%d); psych::fa.parallel(x, fm = '%s', fa = 'both', n.iter = %d, quant = 0.95, plot = FALSE)",
                      seed, fm, n_iter),
       n_iter = n_iter, fa_values = p$fa.values, pc_values = p$pc.values,
       nfact = p$nfact, ncomp = p$ncomp,
       sim_pc_mean = unname(colMeans(cs)), sim_pc_sd = unname(apply(cs, 2, sd)),
       sim_pc_q95 = unname(apply(cs, 2, quantile, 0.95)),
       sim_fa_mean = unname(colMeans(fs)), sim_fa_sd = unname(apply(fs, 2, sd)),
       sim_fa_q95 = unname(apply(fs, 2, quantile, 0.95)))
}

poly_ref <- function(x) {
  p <- suppressWarnings(suppressMessages(polychoric(x)))
  list(call = "psych::polychoric(x)", rho = unname(p$rho), tau = unname(p$tau), n_obs = p$n.obs)
}

# ---- efa_3f12: 600 x 12 seven-point items, three correlated factors, a few cross-loadings ------------------
lam <- matrix(0, 12, 3)
lam[1:4, 1] <- c(.75, .70, .65, .55)
lam[5:8, 2] <- c(.70, .65, .60, .50)
lam[9:12, 3] <- c(.70, .60, .55, .45)
lam[4, 2] <- .25
lam[8, 3] <- .30
lam[12, 1] <- .20
phi <- matrix(c(1, .35, .25, .35, 1, .30, .25, .30, 1), 3)
x <- likert_model(600, lam, phi, 7, c(0, .3, -.3, .2, 0, -.2, .4, 0, .1, -.4, 0, .3), seed = 20240601)
write_items(x, "efa_3f12")
out <- header("items.csv: 600 x 12 seven-point items (1-7), three correlated factors, no missing values")
out$efa_3 <- fa_all(x, 3)
out$efa_2 <- fa_all(x, 2, rotations = c("oblimin", "varimax"))
out$efa_1 <- fa_all(x, 1, rotations = "none")
out$parallel_minres <- parallel_simulated(x, "minres", 400, 7)
out$parallel_ml <- parallel_observed(x, "ml")
write_ref(out, "efa_3f12")

# ---- efa_missing: 450 x 9, three factors, ~6% of cells missing completely at random ------------------------
lam <- matrix(0, 9, 3)
lam[1:3, 1] <- c(.75, .65, .55)
lam[4:6, 2] <- c(.70, .60, .55)
lam[7:9, 3] <- c(.70, .65, .50)
phi <- matrix(c(1, .30, .20, .30, 1, .25, .20, .25, 1), 3)
x <- likert_model(450, lam, phi, 7, c(0, .3, -.3, .2, 0, -.2, .4, 0, .1), seed = 20240602)
set.seed(20240603)
x[matrix(runif(prod(dim(x))) < 0.06, nrow(x))] <- NA
write_items(x, "efa_missing")
out <- header("items.csv: 450 x 9 seven-point items (1-7), three factors, ~6% of cells missing at random (blank)")
out$n_complete_rows <- sum(complete.cases(x))
out$efa_3 <- list(minres_oblimin = fa_ref(x, 3, "minres", "oblimin"), ml_promax = fa_ref(x, 3, "ml", "promax"),
                  minres_geominQ = fa_ref(x, 3, "minres", "geominQ"), ml_varimax = fa_ref(x, 3, "ml", "varimax"))
out$parallel_minres <- parallel_observed(x, "minres")
write_ref(out, "efa_missing")

# ---- efa_poly: 500 x 10 five-point items, two factors, ~3% missing -----------------------------------------
lam <- matrix(0, 10, 2)
lam[1:5, 1] <- c(.80, .75, .70, .60, .55)
lam[6:10, 2] <- c(.75, .70, .65, .60, .50)
phi <- matrix(c(1, .4, .4, 1), 2)
x <- likert_model(500, lam, phi, 5, c(-.8, -.4, 0, .4, .8, -1, -.5, 0, .5, 1.2), seed = 20240604)
set.seed(20240605)
x[matrix(runif(prod(dim(x))) < 0.03, nrow(x))] <- NA
write_items(x, "efa_poly")
out <- header("items.csv: 500 x 10 five-point items (1-5), two correlated factors, skewed, ~3% cells missing (blank)")
out$polychoric <- poly_ref(x)
out$efa_2 <- list(minres_oblimin = fa_ref(x, 2, "minres", "oblimin", "poly"), ml_varimax = fa_ref(x, 2, "ml", "varimax", "poly"),
                  minres_promax = fa_ref(x, 2, "minres", "promax", "poly"))
write_ref(out, "efa_poly")

# ---- efa_poly_sparse: items with 3, 4 or 5 categories (per-pair thresholds, empty cells corrected) ----------
set.seed(20240606)
n <- 160
f <- rnorm(n)
z <- sapply(c(.8, .7, .6, .7, .5, .6), function(l) l * f + sqrt(1 - l^2) * rnorm(n))
x <- data.frame(i01 = findInterval(z[, 1], c(-1.5, -.5, .5, 1.8)) + 1L,   # 5 categories, sparse top
                i02 = findInterval(z[, 2], c(-1, 0, 1)) + 1L,             # 4
                i03 = findInterval(z[, 3], c(-.3, .9)) + 1L,              # 3
                i04 = findInterval(z[, 4], c(-2, -.8, .4, 1.5)) + 1L,     # 5, sparse bottom
                i05 = findInterval(z[, 5], c(-.6, .6)) + 1L,              # 3
                i06 = findInterval(z[, 6], c(-1.2, 0, 1.2)) + 1L)         # 4
write_items(x, "efa_poly_sparse")
out <- header("items.csv: 160 x 6 ordinal items with 3 to 5 categories, one factor, sparse extreme categories")
out$polychoric <- poly_ref(x)
write_ref(out, "efa_poly_sparse")

# ---- efa_nonpd: pairwise-complete correlations that are not positive definite -----------------------------
set.seed(20240607)
n <- 120
g1 <- rnorm(n)
g2 <- rnorm(n)
g3 <- rnorm(n)
x <- data.frame(i01 = round(g1 + .3 * rnorm(n), 2), i02 = round(g1 + .3 * rnorm(n), 2),
                i03 = round(g1 + .3 * rnorm(n), 2), i04 = round(g1 + .8 * rnorm(n), 2),
                i05 = round(g1 + .8 * rnorm(n), 2), i06 = round(g1 + .8 * rnorm(n), 2))
# i01/i02 only observed together on the first third, where i02 is replaced by a sign flip of i01
x$i02[1:40] <- round(-x$i01[1:40] + .3 * rnorm(40), 2)
x$i03[1:40] <- NA
x$i01[41:80] <- NA
x$i02[81:120] <- NA
write_items(x, "efa_nonpd")
out <- header("items.csv: 120 x 6 continuous items; the pairwise-complete correlation matrix is not positive definite")
r <- cor(x, use = "pairwise")
out$eigen <- eigen(r)$values
out$efa_1 <- list(minres = fa_ref(x, 1, "minres", "none"))
out$efa_2 <- list(minres_varimax = fa_ref(x, 2, "minres", "varimax"))
write_ref(out, "efa_nonpd")

# ---- efa_parallel: observed fa.parallel eigenvalues for existing data sets --------------------------------
out <- header("observed eigenvalues of psych::fa.parallel for ../<folder>/items.csv")
for (folder in c("synthetic_items", "rel_missing", "rel_5pt", "rel_heywood")) {
  x <- read.csv(file.path(ref_root, folder, "items.csv"))
  out[[folder]] <- list(minres = parallel_observed(x, "minres"), ml = parallel_observed(x, "ml"))
}
write_ref(out, "efa_parallel")

# ---- efa_heywood: solutions where a uniqueness reaches the optimiser's bound ------------------------------
out <- header("psych::fa solutions with Heywood cases for ../<folder>/items.csv")
x <- read.csv(file.path(ref_root, "rel_missing", "items.csv"))
out$rel_missing_minres_2 <- fa_ref(x, 2, "minres", "oblimin")
x <- read.csv(file.path(ref_root, "rel_heywood", "items.csv"))
out$rel_heywood_ml_1 <- fa_ref(x, 1, "ml", "none")
out$rel_heywood_minres_1 <- fa_ref(x, 1, "minres", "none")
write_ref(out, "efa_heywood")
