# make_reference.R -- R/lme4 reference values for rater random effects.
#
# What it makes (all in this folder):
#   ratings.csv        120 targets x 6 raters (R1..R6), incomplete crossed
#                      design, each target rated by 2 or 3 raters drawn with
#                      unequal probabilities; set.seed(20261206).
#   ratings_small.csv  30 targets x 4 raters (R1..R4), each target rated by
#                      exactly 2 raters; set.seed(20261207).
#   values.json        for each dataset, the REML fit of
#                        lmer(y ~ 1 + (1 | target) + (1 | rater), REML = TRUE)
#                      variance components (target, rater, residual), fixed
#                      intercept, REMLcrit, rater conditional modes and
#                      conditional SDs (keyed by rater), and the same for the
#                      first 5 targets by sorted target id; plus R and lme4
#                      versions. Each dataset also has a
#                      "tight_optimizer_check" block: the same REML fit with
#                      bobyqa (rhoend = 1e-12), i.e. the exact optimum, since
#                      the default nloptwrap stops ~1e-5 relative short of it.
#
# Data model: y = 20 + a_target + b_rater + e, a ~ N(0, 4^2), e ~ N(0, 2^2),
# b_rater = fixed spread effects + N(0, 0.5^2) noise (so the true rater SD is
# about 1.5-2.5); y rounded to 2 decimals. The model is fitted to the data
# as read back from the CSV, so Python sees exactly the same numbers.
#
# Rerun (always regenerates everything deterministically):
#   cd tests/reference/rater_effects && Rscript make_reference.R
# Needs: R with lme4 and jsonlite (Debian: r-base-core r-cran-lme4 r-cran-jsonlite).

suppressPackageStartupMessages({
  library(lme4)
  library(jsonlite)
})

simulate_ratings <- function(seed, n_targets, rater_true, n_per_target,
                             rater_prob) {
  set.seed(seed)
  n_raters <- length(rater_true)
  raters <- paste0("R", seq_len(n_raters))
  targets <- sprintf("T%03d", seq_len(n_targets))
  a <- rnorm(n_targets, 0, 4)                      # target effects
  b <- rater_true + rnorm(n_raters, 0, 0.5)        # spread rater effects
  names(b) <- raters
  rows <- vector("list", n_targets)
  for (i in seq_len(n_targets)) {
    k <- if (length(n_per_target) == 1) n_per_target
         else sample(n_per_target, 1)
    who <- sort(sample(seq_len(n_raters), k, prob = rater_prob))
    e <- rnorm(k, 0, 2)
    rows[[i]] <- data.frame(target = targets[i], rater = raters[who],
                            y = round(20 + a[i] + b[who] + e, 2))
  }
  d <- do.call(rbind, rows)
  rownames(d) <- NULL
  list(data = d, true_rater = b)
}

fit_reference <- function(csv, true_rater) {
  d <- read.csv(csv, stringsAsFactors = FALSE)
  d$target <- factor(d$target)
  d$rater <- factor(d$rater)
  m <- lmer(y ~ 1 + (1 | target) + (1 | rater), data = d, REML = TRUE)
  vc <- as.data.frame(VarCorr(m))
  var_of <- function(g) vc$vcov[vc$grp == g]
  re <- ranef(m, condVar = TRUE)
  rr <- re$rater
  rr_sd <- sqrt(attr(rr, "postVar")[1, 1, ])
  rt <- re$target
  rt_sd <- sqrt(attr(rt, "postVar")[1, 1, ])
  first5 <- head(sort(rownames(rt)), 5)
  idx5 <- match(first5, rownames(rt))
  conv <- m@optinfo$conv$lme4$messages
  # Same model refitted with a tightly converged bobyqa, to show how far the
  # default nloptwrap answer is from the exact REML optimum.
  mt <- lmer(y ~ 1 + (1 | target) + (1 | rater), data = d, REML = TRUE,
             control = lmerControl(optimizer = "bobyqa",
                                   optCtrl = list(rhobeg = 0.2, rhoend = 1e-12,
                                                  maxfun = 1e5)))
  vct <- as.data.frame(VarCorr(mt))
  rrt <- ranef(mt, condVar = TRUE)$rater
  list(
    file = basename(csv),
    n_obs = nrow(d),
    n_targets = nlevels(d$target),
    n_raters = nlevels(d$rater),
    ratings_per_rater = as.list(table(d$rater)),
    true_rater_effects = as.list(true_rater),
    formula = "y ~ 1 + (1 | target) + (1 | rater)",
    REML = TRUE,
    optimizer = m@optinfo$optimizer,
    singular = isSingular(m),
    convergence_messages = if (is.null(conv)) list() else as.list(conv),
    variance = list(target = var_of("target"),
                    rater = var_of("rater"),
                    residual = var_of("Residual")),
    theta = as.list(setNames(getME(m, "theta"), names(getME(m, "theta")))),
    sigma = sigma(m),
    intercept = unname(fixef(m)[["(Intercept)"]]),
    intercept_se = unname(sqrt(diag(as.matrix(vcov(m))))[1]),
    REMLcrit = REMLcrit(m),
    logLik = as.numeric(logLik(m)),
    rater_modes = as.list(setNames(rr[["(Intercept)"]], rownames(rr))),
    rater_cond_sd = as.list(setNames(rr_sd, rownames(rr))),
    target_modes_first5 = as.list(setNames(rt[["(Intercept)"]][idx5], first5)),
    target_cond_sd_first5 = as.list(setNames(rt_sd[idx5], first5)),
    tight_optimizer_check = list(
      optimizer = "bobyqa rhobeg=0.2 rhoend=1e-12",
      variance = list(target = vct$vcov[vct$grp == "target"],
                      rater = vct$vcov[vct$grp == "rater"],
                      residual = vct$vcov[vct$grp == "Residual"]),
      intercept = unname(fixef(mt)[["(Intercept)"]]),
      REMLcrit = REMLcrit(mt),
      rater_modes = as.list(setNames(rrt[["(Intercept)"]], rownames(rrt))),
      rater_cond_sd = as.list(setNames(sqrt(attr(rrt, "postVar")[1, 1, ]),
                                       rownames(rrt)))
    )
  )
}

main <- simulate_ratings(20261206, 120,
                         rater_true = c(-2.5, -1, 0, 0.5, 1.5, 3),
                         n_per_target = c(2, 3),
                         rater_prob = c(0.25, 0.20, 0.18, 0.15, 0.12, 0.10))
write.csv(main$data, "ratings.csv", row.names = FALSE, quote = FALSE)

small <- simulate_ratings(20261207, 30,
                          rater_true = c(-1.5, -0.5, 0.5, 2),
                          n_per_target = 2,
                          rater_prob = c(0.35, 0.25, 0.22, 0.18))
write.csv(small$data, "ratings_small.csv", row.names = FALSE, quote = FALSE)

out <- list(
  generated_by = "make_reference.R",
  R_version = R.version.string,
  lme4_version = as.character(packageVersion("lme4")),
  Matrix_version = as.character(packageVersion("Matrix")),
  note = paste("Conditional SDs are sqrt(postVar) from ranef(condVar=TRUE),",
               "i.e. conditional on the REML estimates of the variances."),
  ratings = fit_reference("ratings.csv", main$true_rater),
  ratings_small = fit_reference("ratings_small.csv", small$true_rater)
)
writeLines(toJSON(out, auto_unbox = TRUE, digits = I(15), pretty = TRUE),
           "values.json")
cat("wrote ratings.csv, ratings_small.csv, values.json\n")
