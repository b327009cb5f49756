# Reference values for validation.stats.omega(missing = "ml"): McDonald's omega total from a one-factor
# model fitted by full-information maximum likelihood, with its delta-method standard error and Wald
# interval, as lavaan computes a defined parameter (":=").
#
# Usage (from the repository root):  Rscript tests/reference/R/omega_fiml.R
#
# Reads item files already committed under tests/reference/ and writes tests/reference/omega_fiml/reference.json:
#   rel_missing         8 items (1-7), 500 cases with values missing at random
#   relx_ordinal3_missing  3-point ratings with missing values (VERA-like), less v07 (constant)
#   cfa_fiml_hs         x1..x6 of lavaan's HolzingerSwineford1939 with about 10% missing
#   rel_5pt             complete data (FIML equals listwise ML there)
#
# R 4.2.2, lavaan 0.6-14, jsonlite.
suppressMessages({library(lavaan); library(jsonlite)})

ref_root <- "tests/reference"
if (!dir.exists(ref_root)) stop("run from the repository root")

omega_fiml <- function(x) {
  items <- names(x)
  k <- length(items)
  lam <- paste0("l", seq_len(k))
  the <- paste0("t", seq_len(k))
  model <- paste0(
    "F =~ ", paste0(lam, "*", items, collapse = " + "), "\n",
    paste0(items, " ~~ ", the, "*", items, collapse = "\n"), "\n",
    "omega := (", paste(lam, collapse = " + "), ")^2 / ((", paste(lam, collapse = " + "), ")^2 + ",
    paste(the, collapse = " + "), ")\n")
  fit <- cfa(model, data = x, std.lv = TRUE, missing = "ml")
  pe <- parameterEstimates(fit, level = 0.95)
  om <- pe[pe$op == ":=", ]
  ld <- pe[pe$op == "=~", ]
  rv <- pe[pe$op == "~~" & pe$lhs == pe$rhs & pe$lhs %in% items, ]
  list(items = items, ntotal = lavInspect(fit, "ntotal"), chisq = unname(fitMeasures(fit, "chisq")),
       df = unname(fitMeasures(fit, "df")),
       omega = om$est, se = om$se, ci_lower = om$ci.lower, ci_upper = om$ci.upper,
       loadings = setNames(as.list(ld$est), ld$rhs), residuals = setNames(as.list(rv$est), rv$lhs))
}

read_items <- function(folder, cols = NULL) {
  x <- read.csv(file.path(ref_root, folder, if (folder == "cfa_fiml_hs") "data.csv" else "items.csv"))
  if (!is.null(cols)) x <- x[, cols]
  x <- x[rowSums(!is.na(x)) > 0, , drop = FALSE]  # lavaan drops empty cases (with a warning)
  x
}

out <- list(
  meta = list(r_version = R.version.string, lavaan = as.character(packageVersion("lavaan"))),
  rel_missing = omega_fiml(read_items("rel_missing")),
  relx_ordinal3_missing = omega_fiml(read_items("relx_ordinal3_missing", setdiff(names(read.csv(file.path(ref_root, "relx_ordinal3_missing", "items.csv"))), "v07"))),
  cfa_fiml_hs = omega_fiml(read_items("cfa_fiml_hs", paste0("x", 1:6))),
  rel_5pt = omega_fiml(read_items("rel_5pt"))
)
write_json(out, file.path(ref_root, "omega_fiml", "reference.json"), digits = NA, auto_unbox = TRUE, pretty = TRUE)
