# Reference values for validation.stats.cfa.small_sample_fit: Swain's and Bartlett's small-sample
# corrections of the ML chi-square (semTools::chisqSmallN) and the CFI, TLI and RMSEA (with its 90%
# interval) formed from the corrected statistics by lavaan's own formulas (lav_fit_cfi, lav_fit_tli,
# lav_fit_rmsea, lav_fit_rmsea_ci), the baseline chi-square corrected with its own factor.
#
# Usage (from the repository root):  Rscript tests/reference/R/small_sample.R
# Writes tests/reference/small_sample/reference.json. R 4.2.2, lavaan 0.6-14, semTools 0.5-6, jsonlite.
suppressMessages({library(lavaan); library(semTools); library(jsonlite)})

ref_root <- "tests/reference"
if (!dir.exists(ref_root)) stop("run from the repository root")
hs_model <- "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9"

corrected <- function(fit, method) {
  fm <- fitMeasures(fit)
  p <- length(lavNames(fit))
  k <- length(lavNames(fit, type = "lv"))
  n <- lavInspect(fit, "ntotal")
  g <- lavInspect(fit, "ngroups")
  sn <- suppressMessages(chisqSmallN(fit, smallN.method = method))[[method]]
  # the baseline model: its free parameters from the moments (df + npar are the same for both models)
  bnpar <- fm[["df"]] + fm[["npar"]] - fm[["baseline.df"]]
  sb <- if (method == "swain") {
    q <- (sqrt(1 + 8 * bnpar) - 1) / 2
    1 - (p * (2 * p^2 + 3 * p - 1) - q * (2 * q^2 + 3 * q - 1)) / (12 * fm[["baseline.df"]] * n)
  } else 1 - (2 * p + 5) / (6 * n)
  t <- sn[["chisq"]]
  tb <- sb * fm[["baseline.chisq"]]
  ci <- lavaan:::lav_fit_rmsea_ci(X2 = t, df = fm[["df"]], N = n, G = g)
  list(factor = sn[["smallN.factor"]], chisq = t, df = sn[["df"]], pvalue = sn[["pvalue"]],
       baseline_factor = sb, baseline_chisq = tb,
       cfi = lavaan:::lav_fit_cfi(X2 = t, df = fm[["df"]], X2.null = tb, df.null = fm[["baseline.df"]]),
       tli = lavaan:::lav_fit_tli(X2 = t, df = fm[["df"]], X2.null = tb, df.null = fm[["baseline.df"]]),
       rmsea = lavaan:::lav_fit_rmsea(X2 = t, df = fm[["df"]], N = n, G = g),
       rmsea_ci_lower = ci$rmsea.ci.lower, rmsea_ci_upper = ci$rmsea.ci.upper)
}

case <- function(fit, call) {
  list(call = call, n_observed = length(lavNames(fit)), n_factors = length(lavNames(fit, type = "lv")),
       n_groups = lavInspect(fit, "ngroups"),
       fit = as.list(fitMeasures(fit, c("chisq", "df", "npar", "ntotal", "baseline.chisq", "baseline.df"))),
       swain = corrected(fit, "swain"), bartlett = corrected(fit, "bartlett"))
}

fiml <- read.csv(file.path(ref_root, "cfa_fiml_hs", "data.csv"))
out <- list(
  meta = list(r_version = R.version.string, lavaan = as.character(packageVersion("lavaan")),
              semTools = as.character(packageVersion("semTools"))),
  hs1939 = case(cfa(hs_model, data = HolzingerSwineford1939), "cfa(hs_model, HolzingerSwineford1939)"),
  hs_fiml = case(cfa(hs_model, data = fiml, missing = "ml"), "cfa(hs_model, cfa_fiml_hs, missing = 'ml')"),
  hs_fiml_configural = case(cfa(hs_model, data = fiml, missing = "ml", group = "school"),
                            "cfa(hs_model, cfa_fiml_hs, missing = 'ml', group = 'school')")
)
write_json(out, file.path(ref_root, "small_sample", "reference.json"), digits = NA, auto_unbox = TRUE, pretty = TRUE)
