# Reference values for validation.stats.planning: semTools' RMSEA power and sample size
# (MacCallum, Browne & Sugawara 1996) over a grid of df, n and RMSEA pairs (close fit, not-close fit,
# exact fit), one and two groups.
#
# Usage (from the repository root):  Rscript tests/reference/R/planning.R
# Writes tests/reference/planning/rmsea.json. R 4.2.2, semTools 0.5-6, jsonlite.
suppressMessages({library(semTools); library(jsonlite)})
out <- "tests/reference/planning"
if (!dir.exists(out)) stop("run from the repository root")
pairs <- list(c(0.05, 0.08), c(0.05, 0.01), c(0, 0.05))
rows <- list()
for (pr in pairs) for (df in c(2, 10, 40, 100, 2145)) for (n in c(60, 200, 576)) for (g in c(1, 2)) {
  rows[[length(rows) + 1]] <- list(rmsea0 = pr[1], rmsea1 = pr[2], df = df, n = n, groups = g, alpha = 0.05,
                                   power = findRMSEApower(pr[1], pr[2], df, n, 0.05, group = g))
}
sizes <- list()
for (pr in pairs) for (df in c(10, 40, 100)) for (g in c(1, 2)) {
  sizes[[length(sizes) + 1]] <- list(rmsea0 = pr[1], rmsea1 = pr[2], df = df, groups = g, alpha = 0.05,
                                     power = 0.8, n = findRMSEAsamplesize(pr[1], pr[2], df, 0.8, 0.05, group = g))
}
write_json(list(semTools = as.character(packageVersion("semTools")), power = rows, n = sizes),
           file.path(out, "rmsea.json"), auto_unbox = TRUE, digits = NA, pretty = TRUE)
