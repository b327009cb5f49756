# Reference values for validation.stats.clmm.cumulative_link_mixed: ordinal::clmm fits (Laplace approximation,
# logit link, flexible thresholds) on data simulated here, with tolerances tight enough that the values are the
# optimum itself (clmm's defaults stop the inner Newton at max|gradient| < 1e-4, about 1e-5 short of it).
#
# What it makes (all in this folder):
#   training.csv  30 trainees x 6 vignettes x 20 indicators, 3-point ratings against a key; trainee severity,
#                 indicator and vignette shifts; set.seed(20261207).
#                 Model: rating ~ key_moderate + key_high + (1 | trainee) + (1 | vignette) + (1 | indicator).
#   four.csv      60 persons x 8 items, 4-point ratings, a numeric covariate x; the item effects are zero, so the
#                 item SD is estimated at (or next to) its boundary; set.seed(20261208).
#                 Model: rating ~ x + (1 | person) + (1 | item).
#   values.json   per dataset, at the optimum: coefficients (thresholds, then fixed effects) with standard errors, the SDs of the
#                 random intercepts, the log-likelihood, and every conditional mode with its conditional
#                 variance (ranef, condVar), keyed by level; R and ordinal versions.
#
# Rerun from the repository root:  Rscript tests/reference/clmm/make_reference.R
# Needs: R with ordinal and jsonlite (Debian: r-cran-ordinal r-cran-jsonlite).
suppressPackageStartupMessages({
  library(ordinal)
  library(Matrix)
  library(jsonlite)
})
out <- "tests/reference/clmm"
if (!dir.exists(out)) stop("run from the repository root")

cut3 <- function(latent, cuts) as.integer(cut(latent, c(-Inf, cuts, Inf)))

set.seed(20261207)
trainees <- sprintf("T%02d", 1:30); vignettes <- sprintf("V%d", 1:6); indicators <- sprintf("I%02d", 1:20)
sev <- rnorm(30, 0, 0.8); vig <- rnorm(6, 0, 0.3); ind <- rnorm(20, 0, 0.6); ind[3] <- 2
key <- matrix(sample(1:3, 6 * 20, replace = TRUE), 6, 20)
d1 <- expand.grid(trainee = seq_along(trainees), vignette = 1:6, indicator = 1:20)
latent <- 2.5 * (key[cbind(d1$vignette, d1$indicator)] - 2) + sev[d1$trainee] + vig[d1$vignette] +
  ind[d1$indicator] + rlogis(nrow(d1))
d1 <- data.frame(trainee = trainees[d1$trainee], vignette = vignettes[d1$vignette],
                 indicator = indicators[d1$indicator], key = key[cbind(d1$vignette, d1$indicator)],
                 rating = cut3(latent, c(-1.5, 1.5)))
d1$key_moderate <- as.integer(d1$key == 2); d1$key_high <- as.integer(d1$key == 3)
write.csv(d1, file.path(out, "training.csv"), row.names = FALSE)

set.seed(20261208)
persons <- sprintf("P%02d", 1:60); items <- sprintf("Q%d", 1:8)
d2 <- expand.grid(person = 1:60, item = 1:8)
d2$x <- round(rnorm(60)[d2$person], 3)
latent <- 0.7 * d2$x + rnorm(60, 0, 1.2)[d2$person] + rlogis(nrow(d2))
d2 <- data.frame(person = persons[d2$person], item = items[d2$item], x = d2$x,
                 rating = cut3(latent, c(-1.5, 0, 1.5)))
d2 <- d2[-sample(nrow(d2), 40), ]        # some ratings missing
write.csv(d2, file.path(out, "four.csv"), row.names = FALSE)

# clmm's nlminb stops at "relative convergence" with a gradient of about 2e-3 (its inner Newton, stopped at
# max|gradient| < 1e-4, makes the objective slightly noisy); the optimum is polished here by nlminb on the same
# objective (ordinal's getNLA) with central-difference gradients and the inner Newton run to the rounding floor
# (1e-12; its line search then stops on rounding, harmlessly: innerCtrl = "noWarn"), and every
# value is then computed at the polished optimum by ordinal's own steps after its optimiser (clmm.fit.env:
# update.u, ranef = ST u, condVar = ST^2 diag(H^-1), the deriv12 Hessian of getNLA over the parameters off
# their boundary, vcov by its Cholesky inverse).
fit_polished <- function(form, data) {
  ctl <- clmm.control(gradTol = 1e-12, maxIter = 500, innerCtrl = "noWarn")
  first <- clmm(form, data = data, control = ctl)
  rho <- clmm(form, data = data, control = ctl, doFit = FALSE)
  nla <- function(p) ordinal:::getNLA(rho, p)
  n_fe <- length(coef(first)); n_st <- length(first$ST)
  o <- nlminb(c(coef(first), unlist(first$ST)), nla, function(p) ordinal:::grad.ctr(nla, p, delta = 1e-6),
              lower = c(rep(-Inf, n_fe), rep(0, n_st)),
              control = list(rel.tol = 1e-14, x.tol = 1e-12, eval.max = 500, iter.max = 500))
  ordinal:::setPar.clmm(rho, o$par)
  ordinal:::update.u(rho)
  st <- unlist(rho$ST)
  sd_rows <- rep.int(st, rho$dims$nlev.re)
  ranef <- sd_rows * rho$u
  condvar <- as.vector(diag(solve(rho$L))) * sd_rows^2
  free <- !as.logical(ordinal:::paratBoundary2(rho))
  h <- ordinal:::deriv12(function(p) ordinal:::getNLA(rho, p, which = free), x = o$par[free])$Hessian
  ordinal:::setPar.clmm(rho, o$par); ordinal:::update.u(rho)
  se <- sqrt(diag(chol2inv(chol(h))))
  names(se) <- c(names(coef(first)), names(first$ST))[free]
  levels <- lapply(first$gfList, levels)
  split_by <- rep(names(first$ST), rho$dims$nlev.re)
  keyed <- function(v) lapply(setNames(names(first$ST), names(first$ST)),
                              function(g) setNames(as.list(v[split_by == g]), levels[[g]]))
  list(coefficients = as.list(o$par[1:n_fe]), se = as.list(se), sd = as.list(setNames(st, names(first$ST))),
       logLik = -o$objective, ranef = keyed(ranef), condVar = keyed(condvar),
       max_gradient = max(abs(ordinal:::grad.ctr(nla, o$par, delta = 1e-6)[free])),
       clmm_default = list(coefficients = as.list(coef(clmm(form, data = data))), logLik = as.numeric(logLik(first))))
}
d1 <- read.csv(file.path(out, "training.csv")); d2 <- read.csv(file.path(out, "four.csv"))
f1 <- fit_polished(factor(rating) ~ key_moderate + key_high + (1 | trainee) + (1 | vignette) + (1 | indicator), d1)
f2 <- fit_polished(factor(rating) ~ x + (1 | person) + (1 | item), d2)
write_json(list(training = f1, four = f2, R = R.version.string, ordinal = as.character(packageVersion("ordinal"))),
           file.path(out, "values.json"), digits = NA, pretty = TRUE, auto_unbox = TRUE)
