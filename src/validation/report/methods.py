"""The method statements written into each stage's metrics: what was estimated, on which sample,
with which interval and from which source, in words a reader of the JSON or the report can follow.

Every function returns plain JSON-ready values (strings, numbers, lists) built from the stage's
parameters alone; none reads data. ``params`` is the stage's section of the configuration
(e.g. ``Config.agreement``), read by attribute; it is typed loosely because that configuration
belongs to the pipeline layer, which the report layer must not import.
"""

from __future__ import annotations

from typing import Any, Mapping

from validation.report.rules import Bands

__all__ = ["reliability_method", "structure_method", "agreement_method", "interpretation_bands",
           "rating_design", "predictive_method"]


def reliability_method(params: Any) -> dict[str, Any]:
    """The ``method`` of ``reliability.json``: the coefficients, their intervals, the samples and the
    not-rated rule, as a mapping of topic to sentence (and ``min_cases_per_group``, a number)."""
    return {
        "alpha": f"Cronbach's alpha (raw and standardized), {params.ci_method} {params.ci:.0%} interval; "
                 "item-rest correlations and alpha if an item is dropped (as psych::alpha)",
        "omega": "McDonald's omega total from a one-factor maximum-likelihood model, " + (
            "fitted by full-information ML to every case with an answer (Arbuckle 1996), Wald interval from the "
            "delta-method standard error (as lavaan's omega := ... with missing = 'ml')"
            if params.omega_missing == "ml" else
            "fitted to the complete cases, bootstrap percentile interval"),
        "vera_sample": "one rating form per case on occasion 1: the consensus rating where one was made, "
                       "otherwise the first independent rating",
        "not_rated": (f"rule '{params.not_rated_rule}': " + (
            "each item covariance from the forms rating both indicators (pairwise), as a prorated total uses "
            "every rated indicator" if params.not_rated_rule == "prorate" else
            "only forms with every indicator of the domain rated (complete case, listwise)")
            + "; not rated is never read as low"),
        "sq_sample": "occasion 1, reverse-keyed items reflected",
        "ordinal": "VERA indicators are 3-point: ordinal alpha and omega on polychoric correlations "
                   "(Zumbo, Gadermann & Zeisser 2007), bootstrap percentile intervals",
        "categorical_omega": "categorical omega (Green & Yang 2009): the reliability of the summed category scores "
                             "from a one-factor WLSMV model, as semTools::compRelSEM(ord.scale = TRUE), with a "
                             "delta-method interval",
        "omega_hierarchical": "SQ: Schmid-Leiman omega hierarchical and total with one group factor per "
                              "hypothesised scale (minres, oblimin; as psych::omega)",
        "min_cases_per_group": int(params.min_cases),
    }


def structure_method(params: Any) -> dict[str, str]:
    """The ``method`` of ``structure.json``: sample, KMO, Bartlett, parallel analysis, EFA, CFA and
    measurement invariance, one sentence each."""
    return {
        "sample": "SQ occasion 1, reverse-keyed items reflected, pairwise-complete Pearson correlations",
        "kmo": "Kaiser-Meyer-Olkin measure of sampling adequacy (as psych::KMO)",
        "bartlett": "Bartlett's test of sphericity (as psych::cortest.bartlett)",
        "parallel_analysis": f"Horn's parallel analysis, {params.pa_iterations} random normal data sets, "
                             f"{params.pa_quantile:.0%} quantile",
        "efa": f"exploratory factor analysis with as many factors as hypothesised scales: {params.efa_method} "
               f"on {params.efa_cor} correlations, {params.efa_rotation} rotation (as psych::fa)",
        "cfa": f"maximum likelihood CFA of the hypothesised structure (as lavaan::cfa), missing = "
               f"'{params.cfa_missing}'",
        "ordinal": f"ordinal models (WLSMV, as lavaan): SQ {', '.join(params.estimators.sq)}; VERA-2R "
                   f"{', '.join(params.estimators.vera)} on one rating form a case; {params.parameterization} "
                   f"parameterization; missing answers {params.ordinal_missing}",
        "small_sample": "the chi-square of the CFA and of each configural model also corrected for sample size "
                        "(Swain 1975; Bartlett 1950; as semTools::chisqSmallN), CFI, TLI and RMSEA formed from the "
                        "corrected statistics with the baseline corrected alike (Herzog & Boomsma 2009)",
        "invariance": "configural, metric (equal loadings) and scalar (equal intercepts) models; "
                      f"criteria {params.invariance_criteria.model_dump()} (Chen 2007); when scalar fails, intercepts "
                      "freed one at a time by the largest score test (partial invariance)",
    }


def agreement_method(params: Any) -> dict[str, Any]:
    """The ``method`` of ``agreement.json``: samples, not-rated handling, the coefficients of the domain
    totals, indicators, additional indicators, summary judgement and intra-rater stability with their
    intervals and sources, the interpretation bands in words, and ``min_targets`` (a number)."""
    ci = f"{params.ci:.0%}"
    return {
        "inter_rater": "independent rating forms on occasion 1; consensus forms excluded (not independent)",
        "not_rated": "not rated is missing, never low: pairs and ratings with a not-rated cell are left out and "
                     "counted per coefficient; domain totals by the "
                     f"'{params.not_rated_rule}' rule (min_rated {params.min_rated}), forms without a total "
                     "counted as not scorable",
        "pairs": "two-rater statistics use the first two independent forms of each case rated by two or more "
                 "raters, in file order (Bland-Altman differences: first minus second)",
        "domain_totals": f"ICC (Shrout & Fleiss 1979; McGraw & Wong 1996), all six forms with F-based {ci} intervals, "
                         "on the largest fully crossed block of cases x raters; REML ICC (crossed random cases and "
                         "raters, Bates et al. 2015) on all independent ratings with a parametric-bootstrap "
                         f"interval ({params.reml_n_boot} replicates)",
        "sem_sdc": f"SEM = SD sqrt(1 - {params.sem_form}), SDC = z sqrt(2) SEM with z = 1.96 for 95% (de Vet et al. "
                   "2006; Weir 2005); SD of the crossed block's totals, or the model SD of the REML fit",
        "bland_altman": f"bias and 95% limits of agreement of the first two ratings' totals, exact {ci} intervals "
                        "(Bland & Altman 1999; Carkeet 2015)",
        "indicators": "weighted kappa (quadratic weights; Cohen 1968) on the pairs; Krippendorff's ordinal alpha "
                      f"(Krippendorff 2011) on all ratings with a unit-bootstrap interval ({params.n_boot} "
                      f"replicates); Gwet's AC2 (Gwet 2008, 2014) with {params.gwet_weights} weights on all ratings",
        "additional": "Cohen's kappa (unweighted) on the pairs, Gwet's AC1 on all ratings, and the agreement "
                      "detail on the pairs (observed and specific positive / negative agreement, prevalence and "
                      "bias indices, PABAK; Byrt, Bishop & Carlin 1993): with a rare category kappa can be low "
                      "although the raters agree -- the kappa paradox (Feinstein & Cicchetti 1990)",
        "summary": "as the indicators (ordinal low / moderate / high)",
        "intra_rater": "same rater, occasions 1 and 2: ICC of the domain totals, SEM / SDC, Bland-Altman of the "
                       "change, weighted kappa of each indicator; true change between occasions counts as "
                       "disagreement",
        "bands_icc": params.bands.icc.text(),
        "bands_kappa": params.bands.kappa.text() + " (kappa, alpha and AC coefficients)",
        "keys": "no case or rater key is written: raters are named by position (rater 1, 2, ... in the sorted "
                "order of their keys)",
        "min_targets": params.min_targets,
    }


def interpretation_bands(bands: Mapping[str, Bands]) -> dict[str, dict]:
    """The ``bands`` of ``agreement.json``: for each named set of bands its source, which side of a
    limit is closed and the limits as ``name: [low, high]``."""
    return {name: {"source": b.source, "closed": b.closed,
                   "limits": {n: [float(x) for x in r] for n, r in b.limits.items()}}
            for name, b in bands.items()}


def rating_design(design: Any, ratings_per_rater: Mapping[str, int], n_consensus: int, n_retest: int,
                  n_forms_occasion1: int) -> dict[str, Any]:
    """The ``design`` of ``agreement.json``: the public counts of ``design`` (a
    :class:`validation.battery.design.RatingDesign`), which coefficients it supports, and the GRRAS
    reporting items 6, 11 and 13 (Kottner et al. 2011) in words.

    ``ratings_per_rater`` maps the anonymised rater names to their numbers of ratings, in the order
    to write; ``n_retest`` counts the cases reassessed by the same rater on occasion 2."""
    out = design.public_dict()
    if design.design == "fully crossed":
        supports = "two-way models on all ratings: all six ICC forms; kappa-type coefficients on every pair"
    elif design.design.startswith("incomplete"):
        supports = ("one-way models on all cases; two-way ICCs on the largest fully crossed block (ANOVA, "
                    "F-based intervals) and from REML variance components on all ratings; kappa on the first "
                    "two ratings of each double-rated case; Krippendorff's alpha and Gwet's AC on all ratings")
    else:
        supports = "no inter-rater coefficient: each case has a single rater"
    nested = ""
    if design.raters_nested_in_group:
        nested = f", raters nested in {design.n_groups} sites"
    out.update({
        "sample": "independent rating forms on occasion 1; consensus forms excluded",
        "n_forms_occasion1": n_forms_occasion1,
        "n_consensus_forms_excluded": n_consensus,
        "n_cases_reassessed_same_rater": n_retest,
        "ratings_per_rater": dict(ratings_per_rater),
        "supports": supports,
        "grras": {
            "item_6": (f"{design.n_raters} raters{nested}, {design.n_targets} cases, {design.n_ratings} independent "
                       f"ratings on occasion 1 ({design.ratings_per_target_min}-{design.ratings_per_target_max} "
                       f"per case); {design.n_targets_multi_rated} cases rated by two or more raters; "
                       f"replicate observations: {n_retest} cases reassessed by the same rater on occasion 2"),
            "item_11": (f"included: {design.n_raters} raters, {design.n_targets} cases, {design.n_ratings} ratings "
                        f"(consensus forms excluded: {n_consensus}); fully crossed block: "
                        f"{design.block_n_targets or 0} cases x {design.block_n_raters or 0} raters; "
                        "not-rated indicators and not-scorable totals are counted per coefficient"),
            "item_13": ("every estimate with its interval: ICC F-based (crossed block) and parametric bootstrap "
                        "(REML), kappa large-sample normal, Krippendorff's alpha unit bootstrap, Gwet's AC t "
                        "interval, Bland-Altman exact limits; interpretation bands named with their source"),
        },
    })
    return out


def predictive_method(params: Any, n_risk_items: int) -> dict[str, Any]:
    """The ``method`` of ``predictive.json``: predictors and their direction, every discrimination,
    calibration and survival statistic with its interval and source, the cut-offs (risk-total ones
    explained with ``n_risk_items``, the number of risk indicators), ``min_events`` (a number) and the
    caution about rare events."""
    return {
        "predictors": "VERA domain totals and risk total of one rating form per case (occasion 1; consensus "
                      "where made), the summary risk judgement (L=1, M=2, H=3), SQ scale means (occasion 1)",
        "direction": "fixed in advance: higher score = higher risk; protective domains: lower = higher risk",
        "auc": f"area under the ROC curve with DeLong {params.ci:.0%} interval (as pROC ci.auc, method='delong')",
        "auc_bootstrap": f"stratified bootstrap ({params.n_boot} replicates, seed {params.seed}) percentile and BCa "
                         "intervals of the same AUC",
        "roc": f"empirical ROC curve (as pROC coords), at most {params.roc_max_points} thresholds kept in the metrics "
               f"and {params.roc_plot_max_points} in the figure and roc.csv (evenly spread, both ends kept)",
        "cutoffs": "2x2 tables at the summary judgement's bands (positive = at or above M, at or above H) and at "
                   f"the chosen risk-total thresholds: sensitivity, specificity, PPV, NPV (Wilson intervals), "
                   f"likelihood ratios, DOR, number needed to detain; PPV and NPV recomputed at base rates "
                   f"{list(params.base_rates)} (Bayes, logit interval of Mercaldo et al. 2007)",
        "risk_total_cutoffs": (f"{list(params.risk_total_cutoffs)} as the mean indicator score over the "
                               f"{n_risk_items} risk indicators (risk total = mean x {n_risk_items})"
                               if params.risk_total_cutoff_unit == "mean_rating" else
                               f"{list(params.risk_total_cutoffs)} on the risk total"),
        "harrell_c": "Harrell's C of the score with the time to event (as survival::concordance), "
                     "infinitesimal-jackknife SE",
        "uno_c": f"Uno's C truncated at tau = {params.uno_tau_days:g} days (as survival::concordance, timewt = 'n/G2')",
        "cox": ("Cox proportional-hazards model with the predictor alone, Efron ties; hazard ratio per "
                + ("standard deviation of the predictor (sample SD of the cases used)" if params.cox_per == "sd"
                   else "unit of the predictor")
                + "; for a protective domain a hazard ratio below 1 means lower risk; proportional hazards "
                  "checked by the score test of cox.zph (Kaplan-Meier time transform)"),
        "time_dependent_auc": f"cumulative/dynamic AUC at {list(params.horizons_days)} days, inverse probability of "
                              "censoring weights (Uno et al. 2007), declined when fewer than min_events cases have "
                              "the event by the horizon or are followed beyond it",
        "bands": "summary judgement: observed rate per band with Wilson intervals and the Cochran-Armitage trend "
                 f"test; Kaplan-Meier curves by band with the numbers at risk at {list(params.km_times_years)} years "
                 "and the log-rank test",
        "comparisons": "paired DeLong tests between predictors on the cases having both, Holm-adjusted within "
                       "each outcome",
        "min_events": params.min_events,
        "declined": f"below {params.min_events} events (or non-events) an estimate is declined and only the counts "
                    "are reported",
        "caution": "terrorist recidivism is rare: with few events every estimate is imprecise; read the "
                   "interval and the number of events, never the point estimate alone",
    }
