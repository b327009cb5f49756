# Reference values for validation.stats.planning's kappa, C-statistic and prediction-model sample sizes:
# kappaSize::PowerBinary (Donner & Eliasziw 1992), pmvalsampsize's C-statistic precision criterion
# (Newcombe 2006 SE, Riley et al. 2021) and pmsampsize (Riley et al. 2020), over grids of inputs.
#
# Usage (from the repository root):  Rscript tests/reference/R/planning_closed_forms.R [SOURCES]
# Writes tests/reference/planning/closed_forms.json. R 4.2.2, kappaSize 1.2, pmsampsize 1.1.3,
# pmvalsampsize 0.1.0, jsonlite. With SOURCES, a folder holding the packages' unpacked source
# tarballs (SOURCES/kappaSize, SOURCES/pmsampsize, SOURCES/pmvalsampsize), their R/ files are sourced
# instead of loading the installed packages.
suppressMessages(library(jsonlite))
args <- commandArgs(trailingOnly = TRUE)
use <- function(pkg) {
  if (length(args)) for (f in list.files(file.path(args[1], pkg, "R"), full.names = TRUE)) source(f)
  else suppressMessages(library(pkg, character.only = TRUE))
}
for (p in c("kappaSize", "pmsampsize", "pmvalsampsize")) use(p)
out <- "tests/reference/planning"
if (!dir.exists(out)) stop("run from the repository root")

kappa <- list()
for (a in list(c(0.4, 0.6, 0.3), c(0.4, 0.6, 0.5), c(0.4, 0.6, 0.1), c(0.6, 0.8, 0.3), c(0.6, 0.4, 0.3),
               c(0.2, 0.4, 0.3), c(0.4, 0.8, 0.3), c(0.4, 0.7, 0.5), c(0.4, 0.7, 0.2), c(0.3, 0.5, 0.4),
               c(0.1, 0.3, 0.15), c(0.5, 0.9, 0.05)))
  for (ap in list(c(0.05, 0.8), c(0.05, 0.9), c(0.1, 0.8), c(0.01, 0.8))) {
    r <- PowerBinary(kappa0 = a[1], kappa1 = a[2], props = a[3], alpha = ap[1], power = ap[2])
    kappa[[length(kappa) + 1]] <- list(kappa0 = a[1], kappa1 = a[2], prevalence = a[3], alpha = ap[1],
                                       power = ap[2], n_unrounded = r$N, n = ceiling(r$N))
  }

cstat <- list()
se_newcombe <- function(C, phi, n) sqrt(C * (1 - C) * (1 + (n / 2 - 1) * (1 - C) / (2 - C) +
                                        ((n / 2 - 1) * C) / (1 + C)) / (n^2 * phi * (1 - phi)))
for (a in list(c(0.8, 0.018, 0.1), c(0.8, 0.1, 0.1), c(0.7, 0.05, 0.1), c(0.65, 0.3, 0.05), c(0.9, 0.2, 0.08),
               c(0.75, 0.5, 0.1))) {
  # pmvalsampsize's criterion: the smallest n whose interval 2 x 1.96 x SE is at most the width
  r <- pmvalsampsize(type = "b", prevalence = a[2], cstatistic = a[1], cstatciwidth = a[3], lpnorm = c(-2, 1),
                     oeciwidth = 1, simobs = 1000)
  n <- r$results_table["Criteria 3 - C statistic", "Samp_size"]
  cstat[[length(cstat) + 1]] <- list(c = a[1], prevalence = a[2], width = a[3], n = unname(n),
                                     se = se_newcombe(a[1], a[2], unname(n)))
}

pm <- function(r) list(n = r$sample_size, events = r$events, epp = r$EPP,
                       criteria = unname(r$results_table[1:3, "Samp_size"]), max_r2_cs = r$max_r2a)
models <- list()
for (a in list(c(24, 0.288, 0.174), c(24, 0.55, 0.174), c(20, 0.072, 0.1), c(10, 0.1, 0.05), c(5, 0.02, 0.3)))
  models[[length(models) + 1]] <- c(list(type = "binary", parameters = a[1], r2_cs = a[2], prevalence = a[3]),
                                    pm(pmsampsize(type = "b", csrsquared = a[2], parameters = a[1],
                                                  prevalence = a[3])))
for (a in list(c(30, 0.051, 0.065, 2, 2.07), c(80, 0.3, 0.03, 1, 5), c(10, 0.05, 0.02, 5, 4)))
  models[[length(models) + 1]] <- c(list(type = "survival", parameters = a[1], r2_cs = a[2], rate = a[3],
                                         mean_followup = a[5]),
                                    pm(pmsampsize(type = "s", csrsquared = a[2], parameters = a[1], rate = a[3],
                                                  timepoint = a[4], meanfup = a[5])))
write_json(list(kappaSize = "1.2", pmsampsize = "1.1.3", pmvalsampsize = "0.1.0",
                kappa = kappa, c_statistic = cstat, prediction_model = models),
           file.path(out, "closed_forms.json"), auto_unbox = TRUE, digits = NA, pretty = TRUE)

# pROC::power.roc.test (Obuchowski & McClish 1997): cases (events) for the test of AUC = 0.5
suppressMessages(library(pROC))
roc <- list()
for (auc in c(0.6, 0.639, 0.7, 0.8, 0.9)) for (ratio in c(1, 3, 19)) for (pw in c(0.8, 0.9))
  for (alt in c("two.sided", "one.sided")) {
    r <- power.roc.test(auc = auc, kappa = ratio, sig.level = 0.05, power = pw, alternative = alt)
    roc[[length(roc) + 1]] <- list(auc = auc, ratio = ratio, alpha = 0.05, power = pw, alternative = alt,
                                   ncases = r$ncases)
  }
ref <- read_json(file.path(out, "closed_forms.json"))
ref$pROC <- as.character(packageVersion("pROC"))
ref$auc_power <- roc
write_json(ref, file.path(out, "closed_forms.json"), auto_unbox = TRUE, digits = NA, pretty = TRUE)
