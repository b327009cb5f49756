# Reference values for validation.reliability: omega hierarchical (Schmid-Leiman, psych::omega) and
# ordinal alpha / omega on polychoric correlations.
#
# Usage (from the repository root):  Rscript tests/reference/R/reliability_more.R
#
# Creates, with fixed seeds, the data sets
#   tests/reference/relx_bifactor/items.csv        500 x 12 five-point items: a general factor and three
#                                                  group factors of four items each
#   tests/reference/relx_ordinal3/items.csv        300 x 10 three-point items (1-3), one factor, skewed
#   tests/reference/relx_ordinal3_missing/items.csv 250 x 7 three-point items, ~6% missing, one item never
#                                                  reaches the top category, one constant item
# and writes reference.json beside each. It also writes tests/reference/relx_synthetic_items/reference.json
# with psych::omega figures for tests/reference/synthetic_items/items.csv (the shared data set).
#
# R 4.2.2, psych 2.2.9, GPArotation 2022.10-2, jsonlite.
suppressMessages({library(psych); library(GPArotation); library(jsonlite)})

ref_root <- "tests/reference"
if (!dir.exists(ref_root)) stop("run from the repository root")

header <- function(data_desc) {
  list(r_version = R.version.string,
       packages = list(psych = as.character(packageVersion("psych")),
                       GPArotation = as.character(packageVersion("GPArotation"))),
       script = "tests/reference/R/reliability_more.R", data = data_desc)
}

write_ref <- function(out, folder) {
  dir.create(file.path(ref_root, folder), showWarnings = FALSE)
  writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE, na = "null", matrix = "rowmajor"),
             file.path(ref_root, folder, "reference.json"))
  cat("wrote", file.path(ref_root, folder, "reference.json"), "\n")
}

# psych::omega's figures, unrounded. sl columns: g, F1*..Fm*, h2, u2, p2.
omega_ref <- function(x, nf, call, ...) {
  o <- suppressWarnings(suppressMessages(psych::omega(x, nfactors = nf, plot = FALSE, ...)))
  sl <- o$schmid$sl
  og <- o$omega.group
  list(call = call,
       omega_h = o$omega_h, omega_total = o$omega.tot, alpha = o$alpha, omega_limit = o$omega.lim,
       g6 = unname(o$G6), ecv = unname(o$ECV),
       key = unname(o$key),
       item_names = rownames(sl),
       g = unname(sl[, 1]),
       group = unname(unclass(sl)[, 2:(nf + 1), drop = FALSE]),
       h2 = unname(sl[, "h2"]), u2 = unname(sl[, "u2"]), p2 = unname(sl[, nf + 4]),
       omega_group_total = unname(og$total), omega_group_general = unname(og$general),
       omega_group_group = unname(og$group),
       phi = unname(o$schmid$phi), oblique = unname(unclass(o$schmid$oblique)[, , drop = FALSE]),
       gloading = unname(as.numeric(o$schmid$gloading)))
}

ordinal_ref <- function(x) {
  pc <- suppressWarnings(suppressMessages(psych::polychoric(x)))
  rho <- pc$rho
  a <- psych::alpha(rho)
  f <- psych::fa(rho, 1, fm = "minres")
  lam <- as.numeric(f$loadings[, 1])
  u2 <- 1 - f$communality
  o1 <- suppressWarnings(suppressMessages(psych::omega(x, nfactors = 1, poly = TRUE, plot = FALSE)))
  list(polychoric = list(call = "psych::polychoric(x)$rho (items without variance are deleted)",
                         items = colnames(rho), rho = unname(rho)),
       alpha = list(call = "psych::alpha(psych::polychoric(x)$rho)",
                    raw_alpha = a$total$raw_alpha, std_alpha = a$total$std.alpha, average_r = a$total$average_r,
                    alpha_if_dropped = unname(a$alpha.drop$raw_alpha), r_drop = unname(a$item.stats$r.drop)),
       omega = list(call = "f <- psych::fa(rho, 1, fm = 'minres'); sum(l)^2 / (sum(l)^2 + sum(1 - f$communality))",
                    omega = sum(lam)^2 / (sum(lam)^2 + sum(u2)), loadings = lam, communalities = unname(f$communality),
                    omega_total_psych = o1$omega.tot,
                    omega_total_psych_call = "psych::omega(x, nfactors = 1, poly = TRUE)$omega.tot = 1 - sum(u2) / sum(rho)"))
}

ordinal_items <- function(n, lam, cuts, seed) {
  set.seed(seed)
  k <- length(lam)
  f <- rnorm(n)
  z <- outer(f, lam) + matrix(rnorm(n * k), n, k) %*% diag(sqrt(1 - lam^2))
  x <- sapply(seq_len(k), function(j) findInterval(z[, j], cuts[[j]]) + 1L)
  colnames(x) <- sprintf("v%02d", seq_len(k))
  as.data.frame(x)
}

# ---- relx_bifactor: general factor + three group factors, 12 five-point items --------------------------
set.seed(20240611)
n <- 500
g <- rnorm(n); s <- matrix(rnorm(n * 3), n, 3)
lg <- c(.60, .55, .50, .45, .55, .50, .60, .40, .50, .45, .55, .60)
ls <- c(.50, .45, .40, .50, .45, .50, .40, .55, .40, .50, .45, .35)
grp <- rep(1:3, each = 4)
z <- sapply(1:12, function(j) lg[j] * g + ls[j] * s[, grp[j]] + sqrt(1 - lg[j]^2 - ls[j]^2) * rnorm(n))
cuts <- c(-1.5, -0.5, 0.4, 1.3)
x <- as.data.frame(sapply(1:12, function(j) findInterval(z[, j] + c(0, .3, -.3)[(j %% 3) + 1], cuts) + 1L))
colnames(x) <- sprintf("b%02d", 1:12)
dir.create(file.path(ref_root, "relx_bifactor"), showWarnings = FALSE)
write.csv(x, file.path(ref_root, "relx_bifactor", "items.csv"), row.names = FALSE, na = "")
out <- header("items.csv: 500 x 12 five-point items (1-5): a general factor and group factors b01-b04, b05-b08, b09-b12")
out$omega3 <- omega_ref(x, 3, "psych::omega(x, nfactors = 3, fm = 'minres', rotate = 'oblimin')")
out$omega3_poly <- omega_ref(x, 3, "psych::omega(x, nfactors = 3, poly = TRUE)", poly = TRUE)
out$omega3_ml <- omega_ref(x, 3, "psych::omega(x, nfactors = 3, fm = 'ml')", fm = "ml")
out$omega3_promax <- omega_ref(x, 3, "psych::omega(x, nfactors = 3, rotate = 'promax')", rotate = "promax")
out$omega3_geomin <- omega_ref(x, 3, "psych::omega(x, nfactors = 3, rotate = 'geominQ')", rotate = "geominQ")
out$omega2 <- omega_ref(x, 2, "psych::omega(x, nfactors = 2)  (option = 'equal')")
out$omega1 <- omega_ref(x, 1, "psych::omega(x, nfactors = 1)")
xr <- x
xr$b02 <- 6L - xr$b02
xr$b07 <- 6L - xr$b07
out$omega3_reversed <- omega_ref(xr, 3, "psych::omega(xr, nfactors = 3), xr = x with b02 and b07 reversed (6 - x); flip = TRUE")
out$omega3_reversed_noflip <- omega_ref(xr, 3, "psych::omega(xr, nfactors = 3, flip = FALSE)", flip = FALSE)
out$ordinal <- ordinal_ref(x)
write_ref(out, "relx_bifactor")

# ---- relx_synthetic_items: psych::omega on the shared synthetic items ----------------------------------
x <- read.csv(file.path(ref_root, "synthetic_items", "items.csv"))
out <- header("../synthetic_items/items.csv: 400 x 10 seven-point items (q1..q10), two factors")
out$omega2 <- omega_ref(x, 2, "psych::omega(x, nfactors = 2)  (option = 'equal'; psych says three factors are needed)")
out$omega3 <- omega_ref(x, 3, "psych::omega(x, nfactors = 3)  (group factor F3* has no items)")
out$ordinal_f1 <- ordinal_ref(x[, 1:5])
write_ref(out, "relx_synthetic_items")

# ---- relx_ordinal3: VERA-like three-point items, one factor --------------------------------------------
lam <- c(.75, .70, .65, .60, .60, .55, .50, .45, .40, .35)
cuts <- lapply(seq_along(lam), function(j) c(-0.2, 1.0) + (j %% 4 - 1.5) * 0.25)
x <- ordinal_items(300, lam, cuts, seed = 20240612)
dir.create(file.path(ref_root, "relx_ordinal3"), showWarnings = FALSE)
write.csv(x, file.path(ref_root, "relx_ordinal3", "items.csv"), row.names = FALSE, na = "")
out <- header("items.csv: 300 x 10 three-point items (1-3), one factor, most ratings low")
out <- c(out, ordinal_ref(x))
out$pearson_alpha <- list(call = "psych::alpha(x)$total$raw_alpha", raw_alpha = psych::alpha(x)$total$raw_alpha)
write_ref(out, "relx_ordinal3")

# ---- relx_ordinal3_missing: missing ratings, an item never 'high', a constant item ---------------------
lam <- c(.70, .65, .60, .55, .50, .45)
cuts <- list(c(-.3, .9), c(0, 1.1), c(-.5, .8), c(.2, 1.2), c(-.1, 3.5), c(0, 1))
x <- ordinal_items(250, lam, cuts, seed = 20240613)
x$v05[x$v05 == 3] <- 2L   # never 'high'
set.seed(20240614)
x[matrix(runif(nrow(x) * ncol(x)) < 0.06, nrow(x))] <- NA
x$v07 <- ifelse(runif(nrow(x)) < 0.1, NA, 1L)   # a constant item (all answers 'low')
dir.create(file.path(ref_root, "relx_ordinal3_missing"), showWarnings = FALSE)
write.csv(x, file.path(ref_root, "relx_ordinal3_missing", "items.csv"), row.names = FALSE, na = "")
out <- header(paste("items.csv: 250 x 7 three-point items (1-3), ~6% missing (blank); v05 never reaches 3, so",
                    "psych::polychoric takes thresholds per pair; v07 is constant (psych deletes it)"))
out$n_missing_cells <- sum(is.na(x))
out <- c(out, ordinal_ref(x))
write_ref(out, "relx_ordinal3_missing")
