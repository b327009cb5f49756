"""The synthetic battery: the embedded default data set of the pipeline, with its known truth.

:func:`generate` invents a multi-site validation study of the battery and returns the four tables
of the data contract (``docs/data_contract.md``) exactly as a site would hand them in as CSV --
every cell a string, blank as ``""`` -- together with the values that generated them
(:attr:`Battery.truth`), so that tests and notebooks can check that the analyses recover them.
Everything is driven by a :class:`SyntheticConfig` (the ``synthesize`` section of ``params.yaml``)
and by the instrument definitions, so VERA-2R, legacy VERA-2 and any questionnaire definition work.

The model
---------
*Cases.* ``n_cases`` cases in ``n_sites`` sites (``S1``, ``S2``, ...; unequal sizes, weights
proportional to ``1 / (1 + s / 4)``, ``s = 0, 1, ...``). Sex (mostly ``M``), age band and
ideology (a mix that differs by site) are drawn, then locally suppressed until every combination
of the quasi-identifiers ``site x sex x age_band x ideology`` is shared by at least
``k_anonymity`` cases (Sweeney 2002; local suppression as in Hundepool et al. 2012): ideology is
blanked for the cases in small cells, then the age band, then sex; a remaining small all-blank
cell of a site is filled up from the largest cell of that site. Each site has a main SQ language
(``languages`` cycled over the sites) and a share ``language_mixing`` of its cases answers in
another one.

*Latent risk.* ``R ~ N(0, 1)``. The true level of risk domain ``d`` is
``theta_d = l * R + sqrt(1 - l**2) * z_d`` with ``l = risk_domain_loading``; the protective domain
uses ``protective_loading`` (negative). At a reassessment the levels drift:
``theta' = theta + drift_mean * sign + drift_sd * z`` (risk down, protection up when
``drift_mean < 0``).

*VERA ratings* follow a graded ordinal-probit model (Samejima 1969) with rater effects: rater ``r``
rating case ``i`` forms a view of each domain ``v_d = theta_d + u_d``, ``u_d ~ N(0,
rating_impression_sd**2)`` (one draw a rating form and domain), and rates indicator ``j`` of domain
``d`` from ``y* = a_j * v_d + sign_d * severity_r + e``, ``e ~ N(0, 1)``, cut at the indicator's
thresholds ``tau_j`` (locations and spreads drawn per indicator, so indicators are not equally
skewed). ``sign_d`` is ``+1`` for risk domains and ``-1`` for protective ones (a severe rater sees
more risk and less protection). Rater severities are ``N(0, rater_severity_sd**2)``, raters nested
in sites (``raters_per_site`` a site, keys ``S1-R1``, ``S1-R2``, ...).

Design: every case is rated once by a primary rater of its site; a share ``second_rated_share`` of
the cases outside the reliability subsample is rated again by another rater of the site (an
incomplete design); ``crossed_cases`` cases form a fully crossed subsample rated by a panel of one
rater a site (the first rater of each site); ``consensus_share`` of the double-rated cases also
carry a consensus form (role ``consensus``, team key ``T-<site>``, the mean of the two raters'
views and severities); ``reassessed_share`` of the cases are rated again on occasion 2 by their
primary rater, ``months_since_first`` uniform in ``reassessment_months``.

Not rated: indicator ``j`` is missing with probability ``pi_j`` (uniform in ``not_rated_rate``;
``n_hard_to_rate`` indicators uniform in ``not_rated_hard``), through a Gaussian copula with a
correlation of 0.3 within a form (sparse files leave several indicators unrated). A not-rated cell
is written ``NR`` (share ``not_rated_code_share``) or blank; a share ``alias_rate`` of the rated
cells is written with the scale's word aliases (``low``, ``moderate``, ``high``, ``absent``,
``present``) so that the ingest path is exercised. Additional indicators are facts of the case
(``P(present) = prevalence``, probit-linked to ``R``), misread with probability
``additional_misread``. The summary judgement cuts the rater's overall view
``mean(v_risk) - 0.5 * mean(v_protective) + severity + N(0, 0.5**2)`` at population quantiles
``summary_shares``; a share ``summary_blank_rate`` is blank.

*SQ responses.* Factor ``f`` (one per questionnaire scale) is
``eta_f = g_f * R + sqrt(1 - g_f**2) * zeta_f`` with ``g_f`` spread evenly over ``sq_factor_r``,
so the factor correlations are ``g_f * g_g``. Item ``i`` answers from
``x* = lambda_i * eta_f + sqrt(1 - lambda_i**2) * e`` (``lambda_i`` uniform in
``sq_loading_range``) cut at thresholds that put most answers low (category probabilities
proportional to ``exp(-s * k / (K - 1))``, ``s`` around ``sq_skew``); the reverse-keyed items
are written as ``max + min - x``. In site ``sq_dif_site`` two items (not reverse keyed) have their
intercept raised by ``sq_dif_shift`` latent SDs: a true violation of measurement invariance.
A share ``sq_nonresponse`` of the cases gave no occasion-1 questionnaire; every reassessed case
answers on occasion 2; about ``sq_missing_rate`` of the cells are blank.

*Outcomes.* Four independent offending processes with Weibull proportional hazards in ``R``
(Bender, Augustin & Blettner 2005), cumulative hazard ``rho_c * (t / 365.25)**k * exp(beta_c *
R)``: violent and non-violent extremist offences (both ``log_hr_extremist``, split by
``violent_share_of_extremist``), violent non-extremist offences (``log_hr_violent``) and other
offences (``log_hr_any``). ``extremist`` is the first extremist offence, ``violent`` the first
violent one (extremist or not), ``any`` the first of all. Follow-up is uniform over
``followup_years`` (whole days); the baselines ``rho_c`` are solved by quadrature so that the
population base rates equal ``base_rate_*``.

*Rater training.* ``n_trainees`` trainees (keys ``TRN-001``, ...; a share ``control_share`` in the
control arm) rate two parallel sets ``A`` and ``B`` of ``vignettes_per_set`` case vignettes each:
every indicator, additional indicator and the summary judgement of each vignette, set A before the
training (occasion 1) and B after it (occasion 2) or the reverse, half the trainees of each arm
each way (counterbalanced). Each vignette has a key (``vignette_key``: codes drawn per indicator,
present with probability 0.3 for the additional indicators). Trainee ``t`` gives the key's rating
of an indicator with probability ``accuracy_t`` (uniform in ``trainee_accuracy``), raised by
``training_effect`` on occasion 2 in the trained arm only; on the ``n_hard_indicators`` planted hard
indicators the probability is ``hard_accuracy_drop`` lower. A miss is pulled to the middle code
("moderate") with probability ``centrality_t`` (uniform in ``trainee_centrality``) when the key is
not already there, else it moves one code up with probability ``0.5 + severity_t`` (``severity_t ~
N(0, trainee_severity_sd**2)``, clipped to [0.05, 0.95]) and down otherwise (up from the lowest
code, down from the highest); on the first hard indicator, the over-rated one, a miss that is not
pulled to the middle moves up with probability ``over_rated_share`` and its key is never the highest
code, so most misses are too high. An additional indicator is flipped, and the summary misjudged
as an indicator is, with probability ``1 - accuracy``. ``missed_occasion`` trainees did not come
to occasion 2.

*Truth.* The domain-total variance components and ICCs, the AUC of ``R`` and the population Cox
slope of each outcome are computed by Monte Carlo with a fixed sub-stream of the seed
(``truth_draws`` draws); see :func:`generate`.

Determinism: ``numpy.random.default_rng`` on sub-streams ``SeedSequence(seed, spawn_key=(k,))``,
one a part of the model, so the same configuration gives byte-identical tables.

References
----------
Bender, R., Augustin, T., & Blettner, M. (2005). Generating survival times to simulate Cox
proportional hazards models. *Statistics in Medicine*, 24, 1713-1723.
Hundepool, A., et al. (2012). *Statistical Disclosure Control*. Wiley.
McGraw, K. O., & Wong, S. P. (1996). Forming inferences about some intraclass correlation
coefficients. *Psychological Methods*, 1, 30-46.
Samejima, F. (1969). Estimation of latent ability using a response pattern of graded scores.
*Psychometrika Monograph Supplement*, 17.
Sweeney, L. (2002). k-anonymity: a model for protecting privacy. *International Journal of
Uncertainty, Fuzziness and Knowledge-Based Systems*, 10, 557-570.
"""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np
import pandas as pd
from numpy.polynomial.hermite_e import hermegauss
from numpy.polynomial.legendre import leggauss
from scipy import optimize, special

from validation.battery.instruments import Questionnaire, ResponseScale, SPJInstrument

__all__ = ["SyntheticConfig", "Battery", "generate", "OUTCOMES"]

#: Outcome definitions written to ``outcomes`` (in this order for each case).
OUTCOMES = ("extremist", "violent", "any")

MODEL_VERSION = 1

_SEX = ("", "M", "F", "X")
_SEX_P = (0.86, 0.13, 0.01)
_AGE = ("", "18-24", "25-34", "35-44", "45+")
_AGE_P = (0.30, 0.38, 0.20, 0.12)
_AGE_BLANK = 0.01
_IDEOLOGY = ("", "jihadist", "right-wing", "left-wing", "separatist", "other")
# (jihadist, right-wing, left-wing, separatist, other), cycled over the sites
_IDEOLOGY_PROFILES = (
    (0.55, 0.25, 0.05, 0.05, 0.10),
    (0.30, 0.45, 0.10, 0.05, 0.10),
    (0.60, 0.10, 0.05, 0.15, 0.10),
    (0.25, 0.40, 0.15, 0.10, 0.10),
)
_IDEOLOGY_BLANK = 0.03

_NR_FORM_CORRELATION = 0.3     # copula correlation of "not rated" within a form / questionnaire
_SUMMARY_PROTECTIVE_WEIGHT = 0.5
_SUMMARY_NOISE_SD = 0.5
_ITEM_NOISE_SD = 1.0           # identifies the scale of the rating latent
_DAYS_PER_YEAR = 365.25
_TRUTH_CHUNK = 25_000

# Sub-streams of the seed, one a part of the model (never renumber: tables would change).
_STREAMS = {"params": 1, "cases": 2, "latent": 3, "design": 4, "vera": 5, "sq": 6, "outcomes": 7,
            "truth_icc": 101, "truth_outcomes": 102, "training": 8, "truth_groups": 103}

_LANG_RE = re.compile(r"^[a-z]{2,3}$")


def _rng(seed: int, part: str) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(_STREAMS[part],)))


# ---------------------------------------------------------------------------------------------
# configuration

# kind of each field: int, float, str, rate ([0, 1]), frange/irange (a (low, high) pair),
# floats (a tuple of positive floats), langs (a tuple of language codes)
_KIND = {
    "seed": "int", "n_cases": "int", "n_sites": "int", "languages": "langs",
    "language_mixing": "rate", "k_anonymity": "int", "raters_per_site": "int",
    "rater_severity_sd": "float", "rating_impression_sd": "float",
    "second_rated_share": "rate", "consensus_share": "rate", "crossed_cases": "int",
    "reassessed_share": "rate", "reassessment_months": "irange", "drift_mean": "float",
    "drift_sd": "float", "risk_domain_loading": "float", "protective_loading": "float",
    "not_rated_rate": "frange", "not_rated_hard": "frange", "n_hard_to_rate": "int",
    "not_rated_code_share": "rate", "alias_rate": "rate", "additional_prevalence": "frange",
    "additional_misread": "rate", "summary_shares": "floats", "summary_blank_rate": "rate",
    "sq_nonresponse": "rate", "sq_factor_r": "frange", "sq_loading_range": "frange",
    "sq_skew": "float", "sq_missing_rate": "rate", "sq_dif_site": "str", "sq_dif_shift": "float",
    "followup_years": "frange", "base_rate_extremist": "rate", "base_rate_violent": "rate",
    "base_rate_any": "rate", "log_hr_extremist": "float", "log_hr_violent": "float",
    "log_hr_any": "float", "violent_share_of_extremist": "rate", "weibull_shape": "float",
    "outcome_female_log_hr": "float", "outcome_slope_site": "str", "outcome_slope_factor": "float",
    "truth_draws": "int",
    "n_trainees": "int", "control_share": "rate", "vignettes_per_set": "int", "trainee_accuracy": "frange",
    "trainee_severity_sd": "float", "trainee_centrality": "frange", "n_hard_indicators": "int",
    "hard_accuracy_drop": "rate", "over_rated_share": "rate", "training_effect": "rate",
    "missed_occasion": "int",
}


@dataclass(frozen=True)
class SyntheticConfig:
    """Every knob of the synthetic battery, with defaults that look like a real multi-site study.

    Build it from the ``synthesize`` section of ``params.yaml`` with :meth:`from_params`; invalid
    values raise ``ValueError`` listing every problem. See the module docstring for the model in
    which each field takes part.

    Attributes
    ----------
    seed, n_cases
        Seed of every random stream; number of cases.
    n_sites, languages, language_mixing, k_anonymity
        Sites ``S1..Sn``; SQ languages (cycled over the sites as their main language) and the share
        of a site's cases answering in another one; the quasi-identifier threshold.
    raters_per_site, rater_severity_sd, rating_impression_sd
        Raters nested in sites; SD of rater severity; SD of a form's deviation from the true
        domain levels (latent units, item noise SD 1).
    second_rated_share, consensus_share, crossed_cases, reassessed_share, reassessment_months
        The rating design (shares of the cases; ``consensus_share`` of the double-rated ones).
    drift_mean, drift_sd
        Change of the latent levels between occasions 1 and 2.
    risk_domain_loading, protective_loading
        Correlation of each risk / protective domain level with ``R``.
    not_rated_rate, not_rated_hard, n_hard_to_rate, not_rated_code_share, alias_rate
        Not-rated probabilities (range for most indicators, range for the hard ones, how many are
        hard), share written ``NR`` rather than blank, share of rated cells written as words.
    additional_prevalence, additional_misread
        Prevalence range of the additional indicators; probability a rater misreads one.
    summary_shares, summary_blank_rate
        Population shares of the summary codes (low to high); share left blank.
    sq_nonresponse, sq_factor_r, sq_loading_range, sq_skew, sq_missing_rate
        SQ: share with no occasion-1 questionnaire; range of the factors' correlations with ``R``;
        range of item loadings; skew of the answers; share of blank cells.
    sq_dif_site, sq_dif_shift
        Site with the intercept violation and its size (latent SDs).
    followup_years, base_rate_extremist, base_rate_violent, base_rate_any
        Follow-up range and population base rates of the three outcomes.
    log_hr_extremist, log_hr_violent, log_hr_any
        Log hazard ratio per SD of ``R`` of the extremist, violent non-extremist and other
        offending processes.
    violent_share_of_extremist, weibull_shape
        Share of extremist offences that are violent; Weibull shape of every hazard.
    outcome_female_log_hr, outcome_slope_site, outcome_slope_factor
        Planted differential prediction: women's log hazard ratio at the same latent risk (below 0: a score
        over-predicts their risk), and the site whose hazards depend on ``R`` by ``outcome_slope_factor``
        times the log hazard ratios (a weaker slope there). 0 and 1 plant nothing.
    truth_draws
        Monte Carlo draws behind the ICC and outcome truths.
    n_trainees, control_share, vignettes_per_set, missed_occasion
        Rater training (0 trainees: no training tables): trainees, the share in the control arm,
        vignettes in each of the two parallel sets, trainees who missed occasion 2.
    trainee_accuracy, trainee_severity_sd, trainee_centrality
        Range of the trainees' probabilities of giving the key's rating; SD of their shift of a miss
        towards high (negative: low); range of their pull of a miss to the middle code.
    n_hard_indicators, hard_accuracy_drop, over_rated_share
        Planted hard indicators, how much less often they match the key, and the share of the
        over-rated one's misses that move up.
    training_effect
        Rise of the trained arm's accuracy on occasion 2 (the control arm's stays).
    """

    seed: int = 20261127
    n_cases: int = 600
    # sites, languages, privacy
    n_sites: int = 4
    languages: tuple[str, ...] = ("en", "fr", "ar")
    language_mixing: float = 0.15
    k_anonymity: int = 5
    # raters and design
    raters_per_site: int = 2
    rater_severity_sd: float = 0.35
    rating_impression_sd: float = 0.35
    second_rated_share: float = 0.30
    consensus_share: float = 0.5
    crossed_cases: int = 40
    reassessed_share: float = 0.20
    reassessment_months: tuple[int, int] = (6, 24)
    drift_mean: float = -0.1
    drift_sd: float = 0.3
    # VERA latent structure and recording habits
    risk_domain_loading: float = 0.75
    protective_loading: float = -0.5
    not_rated_rate: tuple[float, float] = (0.01, 0.06)
    not_rated_hard: tuple[float, float] = (0.10, 0.15)
    n_hard_to_rate: int = 3
    not_rated_code_share: float = 0.5
    alias_rate: float = 0.01
    additional_prevalence: tuple[float, float] = (0.05, 0.35)
    additional_misread: float = 0.04
    summary_shares: tuple[float, ...] = (0.45, 0.35, 0.20)
    summary_blank_rate: float = 0.01
    # SQ
    sq_nonresponse: float = 0.04
    sq_factor_r: tuple[float, float] = (0.6, 0.75)
    sq_loading_range: tuple[float, float] = (0.5, 0.8)
    sq_skew: float = 1.5
    sq_missing_rate: float = 0.05
    sq_dif_site: str = "S2"
    sq_dif_shift: float = 0.6
    # outcomes
    followup_years: tuple[float, float] = (1.0, 6.0)
    base_rate_extremist: float = 0.05
    base_rate_violent: float = 0.13
    base_rate_any: float = 0.30
    log_hr_extremist: float = 0.9
    log_hr_violent: float = 0.7
    log_hr_any: float = 0.5
    violent_share_of_extremist: float = 0.4
    weibull_shape: float = 0.8
    # predictive fairness: planted differences (0 and 1 plant nothing)
    outcome_female_log_hr: float = -0.6
    outcome_slope_site: str = "S3"
    outcome_slope_factor: float = 0.3
    # truth
    truth_draws: int = 200_000
    # rater training
    n_trainees: int = 60
    control_share: float = 0.2
    vignettes_per_set: int = 6
    trainee_accuracy: tuple[float, float] = (0.60, 0.95)
    trainee_severity_sd: float = 0.15
    trainee_centrality: tuple[float, float] = (0.0, 0.4)
    n_hard_indicators: int = 3
    hard_accuracy_drop: float = 0.25
    over_rated_share: float = 0.85
    training_effect: float = 0.08
    missed_occasion: int = 3

    def __post_init__(self) -> None:
        problems: list[str] = []
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            coerced, problem = _coerce(f.name, _KIND[f.name], value)
            if problem:
                problems.append(problem)
            else:
                object.__setattr__(self, f.name, coerced)
        if not problems:
            problems.extend(self._check())
        if problems:
            lines = "\n".join(f"  - {p}" for p in problems)
            raise ValueError(f"invalid synthetic battery configuration ({len(problems)} problem(s)):\n{lines}")

    def _check(self) -> list[str]:
        p: list[str] = []

        def need(ok: bool, msg: str) -> None:
            if not ok:
                p.append(msg)

        need(self.seed >= 0, f"seed: expected an integer >= 0, found {self.seed}")
        need(self.n_cases >= 1, f"n_cases: expected an integer >= 1, found {self.n_cases}")
        need(1 <= self.n_sites <= 99, f"n_sites: expected an integer 1..99, found {self.n_sites}")
        need(len(self.languages) >= 1, "languages: expected at least one language code")
        need(len(set(self.languages)) == len(self.languages), f"languages: duplicate codes in {list(self.languages)}")
        need(self.language_mixing < 1, f"language_mixing: expected a share in [0, 1), found {self.language_mixing}")
        need(self.k_anonymity >= 1, f"k_anonymity: expected an integer >= 1, found {self.k_anonymity}")
        need(self.raters_per_site >= 2, "raters_per_site: expected an integer >= 2 (double ratings need "
                                        f"two), found {self.raters_per_site}")
        for name in ("rater_severity_sd", "rating_impression_sd", "drift_sd", "sq_skew"):
            need(getattr(self, name) >= 0, f"{name}: expected a number >= 0, found {getattr(self, name)}")
        need(0 <= self.crossed_cases <= self.n_cases,
             f"crossed_cases: expected an integer in 0..n_cases ({self.n_cases}), found {self.crossed_cases}")
        lo, hi = self.reassessment_months
        need(0 <= lo <= hi, f"reassessment_months: expected 0 <= low <= high, found {list(self.reassessment_months)}")
        for name in ("risk_domain_loading", "protective_loading"):
            v = getattr(self, name)
            need(-1 < v < 1, f"{name}: expected a correlation in (-1, 1), found {v}")
        for name in ("not_rated_rate", "not_rated_hard", "additional_prevalence"):
            a, b = getattr(self, name)
            need(0 <= a <= b < 1, f"{name}: expected 0 <= low <= high < 1, found {[a, b]}")
        need(self.n_hard_to_rate >= 0, f"n_hard_to_rate: expected an integer >= 0, found {self.n_hard_to_rate}")
        need(len(self.summary_shares) >= 2 and all(s > 0 for s in self.summary_shares)
             and abs(sum(self.summary_shares) - 1) < 1e-6,
             f"summary_shares: expected positive shares summing to 1, found {list(self.summary_shares)}")
        for name in ("sq_factor_r", "sq_loading_range"):
            a, b = getattr(self, name)
            need(0 <= a <= b < 1, f"{name}: expected 0 <= low <= high < 1, found {[a, b]}")
        need(self.sq_dif_site in self.site_codes,
             f"sq_dif_site: expected one of the sites {list(self.site_codes)}, found {self.sq_dif_site!r}")
        need(self.outcome_slope_site in self.site_codes,
             f"outcome_slope_site: expected one of the sites {list(self.site_codes)}, found "
             f"{self.outcome_slope_site!r}")
        need(abs(self.outcome_female_log_hr) <= 5,
             f"outcome_female_log_hr: expected a log hazard ratio in [-5, 5], found {self.outcome_female_log_hr}")
        need(0 <= self.outcome_slope_factor <= 5,
             f"outcome_slope_factor: expected a number in [0, 5], found {self.outcome_slope_factor}")
        a, b = self.followup_years
        need(0 < a <= b <= 100, f"followup_years: expected 0 < low <= high <= 100, found {[a, b]}")
        need(0 < self.base_rate_extremist < self.base_rate_violent < self.base_rate_any < 1,
             "base rates: expected 0 < base_rate_extremist < base_rate_violent < base_rate_any < 1, found "
             f"{self.base_rate_extremist}, {self.base_rate_violent}, {self.base_rate_any}")
        need(0 < self.violent_share_of_extremist < 1,
             f"violent_share_of_extremist: expected a share in (0, 1), found {self.violent_share_of_extremist}")
        for name in ("log_hr_extremist", "log_hr_violent", "log_hr_any"):
            v = getattr(self, name)
            need(abs(v) <= 5, f"{name}: expected a log hazard ratio in [-5, 5], found {v}")
        need(0.2 <= self.weibull_shape <= 5,
             f"weibull_shape: expected a number in [0.2, 5], found {self.weibull_shape}")
        need(self.truth_draws >= 1000, f"truth_draws: expected an integer >= 1000, found {self.truth_draws}")
        need(self.n_trainees >= 0, f"n_trainees: expected an integer >= 0 (0: no training tables), found "
                                   f"{self.n_trainees}")
        need(self.control_share < 1, f"control_share: expected a share in [0, 1), found {self.control_share}")
        need(self.vignettes_per_set >= 1, f"vignettes_per_set: expected an integer >= 1, found {self.vignettes_per_set}")
        a, b = self.trainee_accuracy
        need(0 <= a <= b <= 1, f"trainee_accuracy: expected 0 <= low <= high <= 1, found {[a, b]}")
        a, b = self.trainee_centrality
        need(0 <= a <= b <= 1, f"trainee_centrality: expected 0 <= low <= high <= 1, found {[a, b]}")
        need(self.trainee_severity_sd >= 0, f"trainee_severity_sd: expected a number >= 0, found {self.trainee_severity_sd}")
        need(self.n_hard_indicators >= 0, f"n_hard_indicators: expected an integer >= 0, found {self.n_hard_indicators}")
        # (without trainees there is no training study, and nobody to miss an occasion)
        need(self.missed_occasion >= 0 and (self.n_trainees == 0 or self.missed_occasion <= self.n_trainees),
             f"missed_occasion: expected an integer in 0..n_trainees ({self.n_trainees}), found {self.missed_occasion}")
        if not p:
            counts = _site_counts(self.n_cases, self.n_sites)
            small = [f"{s} ({c})" for s, c in zip(self.site_codes, counts) if c < self.k_anonymity]
            need(not small, f"n_cases: {self.n_cases} cases in {self.n_sites} sites leave fewer than "
                            f"k_anonymity={self.k_anonymity} cases in site(s) {', '.join(small)}")
        return p

    @property
    def site_codes(self) -> tuple[str, ...]:
        """Site codes ``S1``, ``S2``, ..."""
        return tuple(f"S{s + 1}" for s in range(self.n_sites))

    @property
    def site_languages(self) -> tuple[str, ...]:
        """The main SQ language of each site (``languages`` cycled over the sites)."""
        return tuple(self.languages[s % len(self.languages)] for s in range(self.n_sites))

    @classmethod
    def from_params(cls, params: Mapping | None) -> "SyntheticConfig":
        """Build a configuration from a mapping (the ``synthesize`` section of ``params.yaml``).

        Missing keys take their defaults; lists are accepted where a tuple is expected.

        Raises
        ------
        ValueError
            naming any unknown key together with the accepted keys, or listing every invalid value.
        """
        if params is None:
            params = {}
        if not isinstance(params, Mapping):
            raise ValueError(f"synthetic battery parameters: expected a mapping, found {type(params).__name__}")
        names = [f.name for f in dataclasses.fields(cls)]
        unknown = sorted(str(k) for k in params if k not in names)
        if unknown:
            raise ValueError(f"unknown synthetic battery parameter(s): {', '.join(unknown)}; "
                             f"accepted keys are: {', '.join(names)}")
        return cls(**dict(params))

    def to_dict(self) -> dict[str, Any]:
        """The configuration as plain JSON-ready values (tuples as lists)."""
        return {f.name: (list(v) if isinstance(v := getattr(self, f.name), tuple) else v)
                for f in dataclasses.fields(self)}


def _coerce(name: str, kind: str, value: Any) -> tuple[Any, str | None]:
    def is_int(x: Any) -> bool:
        return isinstance(x, (int, np.integer)) and not isinstance(x, (bool, np.bool_))

    def is_num(x: Any) -> bool:
        return (is_int(x) or isinstance(x, (float, np.floating))) and math.isfinite(float(x))

    if kind == "int":
        if is_int(value):
            return int(value), None
        return None, f"{name}: expected an integer, found {value!r}"
    if kind in ("float", "rate"):
        if not is_num(value):
            return None, f"{name}: expected a number, found {value!r}"
        v = float(value)
        if kind == "rate" and not 0 <= v <= 1:
            return None, f"{name}: expected a share in [0, 1], found {value!r}"
        return v, None
    if kind == "str":
        if isinstance(value, str):
            return value, None
        return None, f"{name}: expected a string, found {value!r}"
    if not isinstance(value, (list, tuple)):
        return None, f"{name}: expected a list, found {value!r}"
    value = tuple(value)
    if kind == "langs":
        bad = [v for v in value if not (isinstance(v, str) and _LANG_RE.match(v))]
        if bad:
            return None, f"{name}: expected ISO 639 codes of 2-3 lower-case letters, found {bad}"
        return value, None
    if kind in ("frange", "irange"):
        ok = len(value) == 2 and all(is_int(v) if kind == "irange" else is_num(v) for v in value)
        if not ok:
            what = "integers" if kind == "irange" else "numbers"
            return None, f"{name}: expected a pair [low, high] of {what}, found {list(value)}"
        return tuple(int(v) if kind == "irange" else float(v) for v in value), None
    if kind == "floats":
        if not value or not all(is_num(v) for v in value):
            return None, f"{name}: expected a list of numbers, found {list(value)}"
        return tuple(float(v) for v in value), None
    raise AssertionError(kind)  # pragma: no cover


def _site_counts(n: int, n_sites: int) -> np.ndarray:
    """Cases a site: weights proportional to ``1 / (1 + s / 4)``, rounded by largest remainder."""
    w = 1.0 / (1.0 + np.arange(n_sites, dtype=float) / 4.0)
    raw = w / w.sum() * n
    base = np.floor(raw).astype(np.int64)
    order = np.argsort(-(raw - base), kind="stable")
    base[order[: n - int(base.sum())]] += 1
    return base


def _half_up(x: float) -> int:
    return int(math.floor(x + 0.5))


# ---------------------------------------------------------------------------------------------
# result


@dataclass(frozen=True, eq=False)
class Battery:
    """The four contract tables (string cells, blank ``""``), the optional rater-training tables
    (``None`` when ``n_trainees`` is 0) and the truth that generated them."""

    cases: pd.DataFrame
    vera_ratings: pd.DataFrame
    sq_responses: pd.DataFrame
    outcomes: pd.DataFrame
    truth: dict
    #: the latent general risk ``R`` of each case (``case_id``, ``R``), for tests that check what the
    #: analyses recover; never written by the pipeline (the tables hold only what a site would have)
    latent: pd.DataFrame | None = None
    training_ratings: pd.DataFrame | None = None
    vignette_key: pd.DataFrame | None = None

    def tables(self) -> dict[str, pd.DataFrame]:
        """The tables by their contract names: the four, then the training tables when generated."""
        out = {"cases": self.cases, "vera_ratings": self.vera_ratings,
               "sq_responses": self.sq_responses, "outcomes": self.outcomes}
        if self.training_ratings is not None and self.vignette_key is not None:
            out.update(training_ratings=self.training_ratings, vignette_key=self.vignette_key)
        return out


# ---------------------------------------------------------------------------------------------
# model parameters


@dataclass
class _Params:
    # VERA
    dom_of_item: np.ndarray      # (J,) index into vera.domains
    dom_sign: np.ndarray         # (D,) +1 risk, -1 protective
    dom_loading: np.ndarray      # (D,)
    a: np.ndarray                # (J,)
    tau: np.ndarray              # (J, K-1)
    nr_rate: np.ndarray          # (J,)
    hard: list[int]
    add_prev: np.ndarray         # (A,)
    add_link: np.ndarray         # (A,)
    add_nr: np.ndarray           # (A,)
    severity: np.ndarray         # (n_sites * raters_per_site,)
    summary_thr: np.ndarray
    # SQ
    scale_of_item: np.ndarray    # (I,)
    gamma: np.ndarray            # (F,)
    lam: np.ndarray              # (I,)
    sq_tau: np.ndarray           # (I, Ksq-1)
    sq_miss: np.ndarray          # (I,)
    reverse: np.ndarray          # (I,) bool
    dif_items: list[int]


def _draw_params(cfg: SyntheticConfig, vera: SPJInstrument, sq: Questionnaire) -> _Params:
    rng = _rng(cfg.seed, "params")
    dom_index = {d.code: k for k, d in enumerate(vera.domains)}
    dom_of_item = np.array([dom_index[vera.domain_of(i)] for i in vera.indicators])
    dom_sign = np.array([-1.0 if d.protective else 1.0 for d in vera.domains])
    dom_loading = np.array([cfg.protective_loading if d.protective else cfg.risk_domain_loading
                            for d in vera.domains])
    J, K = len(vera.indicators), len(vera.rating.codes)
    a = rng.uniform(0.9, 1.6, J)
    loc = rng.normal(0.2, 0.5, J)
    gap = rng.uniform(0.7, 1.3, J)
    offs = np.linspace(-1.0, 1.0, K - 1) if K > 2 else np.zeros(1)
    tau = loc[:, None] + gap[:, None] * offs[None, :]
    nr_rate = rng.uniform(*cfg.not_rated_rate, J)
    n_hard = min(cfg.n_hard_to_rate, J)
    hard = sorted(int(h) for h in rng.choice(J, n_hard, replace=False))
    nr_rate[hard] = rng.uniform(*cfg.not_rated_hard, n_hard)
    A = len(vera.additional)
    add_prev = rng.uniform(*cfg.additional_prevalence, A)
    add_link = rng.uniform(0.3, 0.6, A)
    add_nr = rng.uniform(*cfg.not_rated_rate, A)
    severity = rng.normal(0.0, cfg.rater_severity_sd, cfg.n_sites * cfg.raters_per_site)

    # summary thresholds at the population quantiles of the overall view (closed-form variance)
    risk, prot = dom_sign > 0, dom_sign < 0
    nr_, npr = int(risk.sum()), int(prot.sum())
    lr = cfg.risk_domain_loading
    lp = cfg.protective_loading
    w = _SUMMARY_PROTECTIVE_WEIGHT
    var_r = lr ** 2 + (1 - lr ** 2) / nr_
    var_p = (lp ** 2 + (1 - lp ** 2) / npr) if npr else 0.0
    cov = lr * lp if npr else 0.0
    var_v = (var_r + w ** 2 * var_p - 2 * w * cov
             + cfg.rating_impression_sd ** 2 * (1 / nr_ + (w ** 2 / npr if npr else 0.0))
             + cfg.rater_severity_sd ** 2 + _SUMMARY_NOISE_SD ** 2)
    summary_thr = math.sqrt(var_v) * special.ndtri(np.cumsum(cfg.summary_shares)[:-1])

    # SQ
    scale_index = {s.code: k for k, s in enumerate(sq.scales)}
    scale_of_item = np.array([scale_index[sq.scale_of(i)] for i in sq.items])
    F, I = len(sq.scales), len(sq.items)
    gamma = np.linspace(*cfg.sq_factor_r, F) if F > 1 else np.array([np.mean(cfg.sq_factor_r)])
    lam = rng.uniform(*cfg.sq_loading_range, I)
    Ksq = sq.response_max - sq.response_min + 1
    skew = cfg.sq_skew * rng.uniform(0.6, 1.4, I)
    shift = rng.uniform(-0.4, 0.4, I)
    kk = np.arange(Ksq) / (Ksq - 1)
    prob = np.exp(-skew[:, None] * kk[None, :])
    prob /= prob.sum(axis=1, keepdims=True)
    sq_tau = special.ndtri(np.cumsum(prob, axis=1)[:, :-1]) + shift[:, None]
    sq_miss = np.clip(cfg.sq_missing_rate * rng.uniform(0.6, 1.4, I), 0.0, 0.99)
    reverse = np.array([i in sq.reverse_keyed for i in sq.items])
    candidates = np.flatnonzero(~reverse)
    first = int(rng.choice(candidates))
    others = candidates[(candidates != first) & (scale_of_item[candidates] != scale_of_item[first])]
    if others.size == 0:
        others = candidates[candidates != first]
    dif_items = sorted([first, int(rng.choice(others))]) if others.size else [first]
    return _Params(dom_of_item, dom_sign, dom_loading, a, tau, nr_rate, hard, add_prev, add_link,
                   add_nr, severity, summary_thr, scale_of_item, gamma, lam, sq_tau, sq_miss,
                   reverse, dif_items)


# ---------------------------------------------------------------------------------------------
# cases and local suppression


def _suppress(site: np.ndarray, sex: np.ndarray, age: np.ndarray, ideo: np.ndarray, k: int,
              n_sites: int) -> dict[str, int]:
    """Local suppression in place until every quasi-identifier combination has >= k cases.

    Integer codes, 0 = blank. Blanking a field of all the cases of a small cell empties that cell
    and only enlarges others, so one pass a field suffices; afterwards only a site's all-blank
    cell can be small, and it is filled up from the site's largest cell (its last cases).
    """
    done = {"ideology": 0, "age_band": 0, "sex": 0}

    def keys() -> np.ndarray:
        return ((site * len(_SEX) + sex) * len(_AGE) + age) * len(_IDEOLOGY) + ideo

    for name, arr in (("ideology", ideo), ("age_band", age), ("sex", sex)):
        key = keys()
        small = np.bincount(key)[key] < k
        hit = small & (arr != 0)
        arr[hit] = 0
        done[name] += int(hit.sum())
    for s in range(n_sites):
        while True:
            ins = site == s
            blank = ins & (sex == 0) & (age == 0) & (ideo == 0)
            nb = int(blank.sum())
            if nb == 0 or nb >= k:
                break
            need = k - nb
            key = keys()
            cand = ins & ~blank
            cells, counts = np.unique(key[cand], return_counts=True)
            j = int(np.argmax(counts))
            members = np.flatnonzero(cand & (key == cells[j]))
            take = members[-need:] if counts[j] - need >= k else members
            for name, arr in (("ideology", ideo), ("age_band", age), ("sex", sex)):
                done[name] += int((arr[take] != 0).sum())
                arr[take] = 0
    return done


@dataclass
class _Cases:
    site: np.ndarray
    sex: np.ndarray
    age: np.ndarray
    ideo: np.ndarray
    language: np.ndarray        # index into languages
    ids: np.ndarray             # object array of case ids
    suppressed: dict[str, int]


def _make_cases(cfg: SyntheticConfig) -> _Cases:
    rng = _rng(cfg.seed, "cases")
    n, S = cfg.n_cases, cfg.n_sites
    site = rng.permutation(np.repeat(np.arange(S), _site_counts(n, S)))
    sex = 1 + rng.choice(len(_SEX_P), n, p=_SEX_P)
    age = 1 + rng.choice(len(_AGE_P), n, p=_AGE_P)
    age[rng.random(n) < _AGE_BLANK] = 0
    prof = np.array([_IDEOLOGY_PROFILES[s % len(_IDEOLOGY_PROFILES)] for s in range(S)])
    cum = np.cumsum(prof, axis=1)[:, :-1]
    ideo = 1 + (rng.random(n)[:, None] > cum[site]).sum(axis=1)
    ideo[rng.random(n) < _IDEOLOGY_BLANK] = 0
    suppressed = _suppress(site, sex, age, ideo, cfg.k_anonymity, S)
    L = len(cfg.languages)
    main = np.array([s % L for s in range(S)])[site]
    language = main.copy()
    if L > 1:
        mix = rng.random(n) < cfg.language_mixing
        other = (main + rng.integers(1, L, n)) % L
        language[mix] = other[mix]
    width = max(5, len(str(n)))
    ids = np.array([f"C{i + 1:0{width}d}" for i in range(n)], dtype=object)
    return _Cases(site, sex, age, ideo, language, ids, suppressed)


# ---------------------------------------------------------------------------------------------
# latent levels


@dataclass
class _Latent:
    R: np.ndarray
    theta: np.ndarray           # (n, D) occasion 1
    theta2: np.ndarray          # (n, D) occasion 2
    eta: np.ndarray             # (n, F)
    eta2: np.ndarray
    present: np.ndarray         # (n, A) bool, additional indicators


def _make_latent(cfg: SyntheticConfig, p: _Params, n: int) -> _Latent:
    rng = _rng(cfg.seed, "latent")
    R = rng.standard_normal(n)
    D, F, A = len(p.dom_loading), len(p.gamma), len(p.add_prev)
    lam = p.dom_loading
    theta = R[:, None] * lam + np.sqrt(1 - lam ** 2) * rng.standard_normal((n, D))
    theta2 = theta + cfg.drift_mean * p.dom_sign + cfg.drift_sd * rng.standard_normal((n, D))
    g = p.gamma
    eta = R[:, None] * g + np.sqrt(1 - g ** 2) * rng.standard_normal((n, F))
    eta2 = eta + cfg.drift_mean + cfg.drift_sd * rng.standard_normal((n, F))
    b = p.add_link
    star = R[:, None] * b + np.sqrt(1 - b ** 2) * rng.standard_normal((n, A))
    present = star > special.ndtri(1 - p.add_prev)
    return _Latent(R, theta, theta2, eta, eta2, present)


# ---------------------------------------------------------------------------------------------
# rating design


@dataclass
class _Design:
    case: np.ndarray
    rater: np.ndarray           # index into rater_keys (teams after the raters)
    occasion: np.ndarray
    role: np.ndarray            # 0 independent, 1 consensus
    months: np.ndarray
    severity: np.ndarray
    u: np.ndarray               # (rows, D) the rater's deviation from the true levels
    rater_keys: list[str]
    panel: list[int]
    crossed: np.ndarray
    second: np.ndarray
    consensus: np.ndarray
    reassessed: np.ndarray


def _make_design(cfg: SyntheticConfig, p: _Params, site: np.ndarray, D: int) -> _Design:
    rng = _rng(cfg.seed, "design")
    n, S, P = len(site), cfg.n_sites, cfg.raters_per_site
    sites = cfg.site_codes
    rater_keys = [f"{s}-R{q + 1}" for s in sites for q in range(P)] + [f"T-{s}" for s in sites]
    primary = rng.integers(0, P, n)
    crossed = np.sort(rng.choice(n, cfg.crossed_cases, replace=False))
    is_crossed = np.zeros(n, bool)
    is_crossed[crossed] = True
    primary[crossed] = 0                      # the panel rater of the case's own site
    eligible = np.flatnonzero(~is_crossed)
    m2 = _half_up(cfg.second_rated_share * eligible.size)
    second = np.sort(rng.choice(eligible, m2, replace=False))
    second_q = (primary[second] + rng.integers(1, P, m2)) % P
    mc = _half_up(cfg.consensus_share * m2)
    cons_pos = np.sort(rng.choice(m2, mc, replace=False))
    mr = _half_up(cfg.reassessed_share * n)
    reassessed = np.sort(rng.choice(n, mr, replace=False))
    months = rng.integers(cfg.reassessment_months[0], cfg.reassessment_months[1] + 1, mr)

    sev_all = np.concatenate([p.severity, np.zeros(S)])
    sd_u = cfg.rating_impression_sd
    # block 1: primary ratings
    r1 = site * P + primary
    u1 = sd_u * rng.standard_normal((n, D))
    # block 2: the rest of the panel for the crossed cases
    other_sites = (site[crossed][:, None] + np.arange(1, S)[None, :]) % S
    c2 = np.repeat(crossed, S - 1)
    r2 = other_sites.ravel() * P
    u2 = sd_u * rng.standard_normal((c2.size, D))
    # block 3: second ratings
    r3 = site[second] * P + second_q
    u3 = sd_u * rng.standard_normal((m2, D))
    # block 4: consensus of the two raters
    c4 = second[cons_pos]
    r4 = S * P + site[c4]
    sev4 = (p.severity[r1[c4]] + p.severity[r3[cons_pos]]) / 2
    u4 = (u1[c4] + u3[cons_pos]) / 2
    # block 5: reassessment by the primary rater
    r5 = r1[reassessed]
    u5 = sd_u * rng.standard_normal((mr, D))

    case = np.concatenate([np.arange(n), c2, second, c4, reassessed])
    rater = np.concatenate([r1, r2, r3, r4, r5])
    occasion = np.concatenate([np.ones(n + c2.size + m2 + mc, np.int64), np.full(mr, 2)])
    role = np.concatenate([np.zeros(n + c2.size + m2, np.int64), np.ones(mc, np.int64), np.zeros(mr, np.int64)])
    month = np.concatenate([np.zeros(n + c2.size + m2 + mc, np.int64), months])
    severity = sev_all[rater]
    severity[n + c2.size + m2: n + c2.size + m2 + mc] = sev4
    u = np.concatenate([u1, u2, u3, u4, u5])
    key_rank = np.argsort(np.argsort(np.array(rater_keys, dtype=object), kind="stable"), kind="stable")
    order = np.lexsort((key_rank[rater], role, occasion, case))
    return _Design(case[order], rater[order], occasion[order], role[order], month[order],
                   severity[order], u[order], rater_keys, [s * P for s in range(S)], crossed,
                   second, c4, reassessed)


# ---------------------------------------------------------------------------------------------
# tables


def _word_aliases(scale: ResponseScale) -> np.ndarray:
    """For each code, a word alias (``low``...) if the scale has one, else the code itself."""
    out = []
    for c in scale.codes:
        words = [a for a, v in scale.aliases.items() if v == c and a != c and a.isalpha()]
        out.append(words[0] if words else c)
    return np.array(out, dtype=object)


def _not_rated_cells(scale: ResponseScale, rng: np.random.Generator, m: int, share: float) -> np.ndarray:
    alt = [x for x in scale.not_rated if x != ""]
    if not alt:
        return np.full(m, "", dtype=object)
    if "" not in scale.not_rated:
        return np.full(m, alt[0], dtype=object)
    return np.where(rng.random(m) < share, alt[0], "").astype(object)


def _copula_missing(rng: np.random.Generator, z_row: np.ndarray, rate: float) -> np.ndarray:
    r = _NR_FORM_CORRELATION
    w = math.sqrt(r) * z_row + math.sqrt(1 - r) * rng.standard_normal(z_row.size)
    return w < special.ndtri(rate) if rate > 0 else np.zeros(z_row.size, bool)


def _int_strings(lo: int, hi: int) -> np.ndarray:
    return np.array([str(i) for i in range(lo, hi + 1)], dtype=object)


def _vera_table(cfg: SyntheticConfig, vera: SPJInstrument, p: _Params, lat: _Latent, des: _Design,
                case_ids: np.ndarray) -> pd.DataFrame:
    rng = _rng(cfg.seed, "vera")
    rows = des.case.size
    th = lat.theta[des.case]
    occ2 = des.occasion == 2
    th[occ2] = lat.theta2[des.case[occ2]]
    view = th + des.u
    z_row = rng.standard_normal(rows)
    cols: dict[str, np.ndarray] = {
        "case_id": case_ids[des.case],
        "rater_id": np.array(des.rater_keys, dtype=object)[des.rater],
        "occasion": _int_strings(0, 2)[des.occasion],
        "role": np.array(["independent", "consensus"], dtype=object)[des.role],
        "months_since_first": _int_strings(0, int(des.months.max(initial=0)))[des.months],
    }
    codes = np.array(vera.rating.codes, dtype=object)
    words = _word_aliases(vera.rating)
    for j, item in enumerate(vera.indicators):
        d = p.dom_of_item[j]
        y = p.a[j] * view[:, d] + p.dom_sign[d] * des.severity + _ITEM_NOISE_SD * rng.standard_normal(rows)
        cat = np.searchsorted(p.tau[j], y)
        col = codes[cat]
        alias = rng.random(rows) < cfg.alias_rate
        col[alias] = words[cat[alias]]
        nr = _copula_missing(rng, z_row, p.nr_rate[j])
        col[nr] = _not_rated_cells(vera.rating, rng, int(nr.sum()), cfg.not_rated_code_share)
        cols[item] = col
    if vera.additional:
        scale = vera.additional_scale
        acodes = np.array([scale.codes[0], scale.codes[-1]], dtype=object)
        awords = _word_aliases(scale)[[0, -1]]
        for j, item in enumerate(vera.additional):
            obs = lat.present[des.case, j] ^ (rng.random(rows) < cfg.additional_misread)
            idx = obs.astype(np.int64)
            col = acodes[idx]
            alias = rng.random(rows) < cfg.alias_rate
            col[alias] = awords[idx[alias]]
            nr = _copula_missing(rng, z_row, p.add_nr[j])
            col[nr] = _not_rated_cells(scale, rng, int(nr.sum()), cfg.not_rated_code_share)
            cols[item] = col
    risk, prot = p.dom_sign > 0, p.dom_sign < 0
    overall = view[:, risk].mean(axis=1) + des.severity + _SUMMARY_NOISE_SD * rng.standard_normal(rows)
    if prot.any():
        overall -= _SUMMARY_PROTECTIVE_WEIGHT * view[:, prot].mean(axis=1)
    cat = np.searchsorted(p.summary_thr, overall)
    col = np.array(vera.summary.codes, dtype=object)[cat]
    alias = rng.random(rows) < cfg.alias_rate
    col[alias] = _word_aliases(vera.summary)[cat[alias]]
    col[rng.random(rows) < cfg.summary_blank_rate] = ""
    cols[vera.summary_column] = col
    return pd.DataFrame(cols)


@dataclass
class _SQRows:
    case: np.ndarray
    occasion: np.ndarray


def _sq_table(cfg: SyntheticConfig, sq: Questionnaire, p: _Params, lat: _Latent, cases: _Cases,
              des: _Design) -> tuple[pd.DataFrame, _SQRows]:
    rng = _rng(cfg.seed, "sq")
    n = cases.site.size
    skip = rng.choice(n, _half_up(cfg.sq_nonresponse * n), replace=False)
    answered = np.ones(n, bool)
    answered[skip] = False
    c1 = np.flatnonzero(answered)
    case = np.concatenate([c1, des.reassessed])
    occasion = np.concatenate([np.ones(c1.size, np.int64), np.full(des.reassessed.size, 2)])
    order = np.lexsort((occasion, case))
    case, occasion = case[order], occasion[order]
    rows = case.size
    eta = lat.eta[case]
    occ2 = occasion == 2
    eta[occ2] = lat.eta2[case[occ2]]
    dif_site = cfg.site_codes.index(cfg.sq_dif_site)
    in_dif = cases.site[case] == dif_site
    z_row = rng.standard_normal(rows)
    lo, hi = sq.response_min, sq.response_max
    cells = np.concatenate([np.array([""], dtype=object), _int_strings(lo, hi)])
    langs = np.array(cfg.languages, dtype=object)
    cols: dict[str, np.ndarray] = {
        "case_id": cases.ids[case],
        "occasion": _int_strings(0, 2)[occasion],
        "language": langs[cases.language[case]],
    }
    for i, item in enumerate(sq.items):
        lam = p.lam[i]
        x = lam * eta[:, p.scale_of_item[i]] + math.sqrt(1 - lam ** 2) * rng.standard_normal(rows)
        if i in p.dif_items:
            x = x + cfg.sq_dif_shift * in_dif
        cat = np.searchsorted(p.sq_tau[i], x)              # 0 .. K-1
        if p.reverse[i]:
            cat = (hi - lo) - cat
        idx = cat + 1
        idx[_copula_missing(rng, z_row, p.sq_miss[i])] = 0
        cols[item] = cells[idx]
    return pd.DataFrame(cols), _SQRows(case, occasion)


# ---------------------------------------------------------------------------------------------
# outcomes


@dataclass
class _Hazards:
    rho: np.ndarray             # (4,) baseline multipliers: VE, NE, VN, O
    beta: np.ndarray            # (4,)
    lo_days: int
    hi_days: int


def _followup_days(cfg: SyntheticConfig) -> tuple[int, int]:
    return _half_up(cfg.followup_years[0] * _DAYS_PER_YEAR), _half_up(cfg.followup_years[1] * _DAYS_PER_YEAR)


def _mixture(cfg: SyntheticConfig) -> list[tuple[float, float, float]]:
    """The population's planted components: (share, log hazard offset, slope multiplier) for women and the
    others in the slope site and the other sites (one component when nothing is planted)."""
    w = 1.0 / (1.0 + np.arange(cfg.n_sites, dtype=float) / 4.0)
    site_share = float(w[cfg.site_codes.index(cfg.outcome_slope_site)] / w.sum())
    female = _SEX_P[_SEX.index("F") - 1]
    parts = [(fs * ss, off, m) for fs, off in ((female, cfg.outcome_female_log_hr), (1 - female, 0.0))
             for ss, m in ((site_share, cfg.outcome_slope_factor), (1 - site_share, 1.0))]
    if cfg.outcome_female_log_hr == 0 and cfg.outcome_slope_factor == 1:
        return [(1.0, 0.0, 1.0)]
    return parts


def _event_probability(rho_beta: list[tuple[float, float]], shape: float, lo: int, hi: int,
                       mixture: list[tuple[float, float, float]] = ((1.0, 0.0, 1.0),)) -> float:
    """P(first event of the given processes within follow-up), by Gauss-Hermite (R) x Gauss-Legendre
    (follow-up) quadrature, averaged over the population's planted components."""
    x, wx = hermegauss(80)
    wx = wx / math.sqrt(2 * math.pi)
    t, wt = leggauss(40)
    c = (lo + hi + 1) / 2 + (hi + 1 - lo) / 2 * t        # follow-up ~ U(lo, hi + 1) days
    wt = wt / 2
    base = (c / _DAYS_PER_YEAR) ** shape
    total = 0.0
    for share, offset, slope in mixture:
        H = sum(r * np.exp(b * slope * x + offset) for r, b in rho_beta)[:, None] * base[None, :]
        total += share * float(wx @ (-np.expm1(-H)) @ wt)
    return total


def _calibrate(cfg: SyntheticConfig) -> _Hazards:
    lo, hi = _followup_days(cfg)
    k = cfg.weibull_shape
    be, bv, ba = cfg.log_hr_extremist, cfg.log_hr_violent, cfg.log_hr_any
    mix = _mixture(cfg)

    def solve(fixed: list[tuple[float, float]], beta: float, target: float, what: str) -> float:
        floor = _event_probability(fixed, k, lo, hi, mix) if fixed else 0.0
        if floor >= target:
            raise ValueError(f"{what}={target} is not reachable: the events it includes already occur in "
                             f"{floor:.4f} of the cases")
        f = lambda lr: _event_probability(fixed + [(math.exp(lr), beta)], k, lo, hi, mix) - target  # noqa: E731
        return math.exp(optimize.brentq(f, -40.0, 15.0, xtol=1e-12, rtol=1e-12))

    rho_ext = solve([], be, cfg.base_rate_extremist, "base_rate_extremist")
    s = cfg.violent_share_of_extremist
    rho_ve, rho_ne = s * rho_ext, (1 - s) * rho_ext
    rho_vn = solve([(rho_ve, be)], bv, cfg.base_rate_violent, "base_rate_violent")
    rho_o = solve([(rho_ext, be), (rho_vn, bv)], ba, cfg.base_rate_any, "base_rate_any")
    return _Hazards(np.array([rho_ve, rho_ne, rho_vn, rho_o]), np.array([be, be, bv, ba]), lo, hi)


def _event_times(rng: np.random.Generator, R: np.ndarray, hz: _Hazards, shape: float,
                 offset: np.ndarray | None = None, slope: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Follow-up (whole days) and the times (days) of the three outcomes, shape (n, 3). ``offset``: a log
    hazard ratio per case on every process; ``slope``: a multiplier per case of the processes' log hazard
    ratios (the planted differential prediction; absent, none)."""
    n = R.size
    follow = rng.integers(hz.lo_days, hz.hi_days + 1, n)
    E = rng.standard_exponential((n, 4))
    lin = R[:, None] * hz.beta[None, :]
    if slope is not None:
        lin = lin * slope[:, None]
    if offset is not None:
        lin = lin + offset[:, None]
    T = _DAYS_PER_YEAR * (E / (hz.rho[None, :] * np.exp(lin))) ** (1.0 / shape)
    times = np.stack([np.minimum(T[:, 0], T[:, 1]),                 # extremist
                      np.minimum(T[:, 0], T[:, 2]),                 # violent
                      T.min(axis=1)], axis=1)                       # any
    return follow, times


def _planted(cfg: SyntheticConfig, sex: np.ndarray, site: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The planted log hazard offset (women) and slope multiplier (one site) of each case."""
    offset = np.where(sex == _SEX.index("F"), cfg.outcome_female_log_hr, 0.0)
    slope = np.where(site == cfg.site_codes.index(cfg.outcome_slope_site), cfg.outcome_slope_factor, 1.0)
    return offset, slope


def _outcomes_table(cfg: SyntheticConfig, hz: _Hazards, R: np.ndarray, case_ids: np.ndarray,
                    cases: "_Cases") -> tuple[pd.DataFrame, np.ndarray]:
    rng = _rng(cfg.seed, "outcomes")
    follow, times = _event_times(rng, R, hz, cfg.weibull_shape, *_planted(cfg, cases.sex, cases.site))
    event = times <= follow[:, None]
    days = np.where(event, np.clip(np.ceil(times), 1, follow[:, None]), follow[:, None]).astype(np.int64)
    n = R.size
    table = pd.DataFrame({
        "case_id": np.repeat(case_ids, len(OUTCOMES)),
        "outcome": np.tile(np.array(OUTCOMES, dtype=object), n),
        "event": np.array(["0", "1"], dtype=object)[event.ravel().astype(np.int64)],
        "time_days": _int_strings(0, hz.hi_days)[days.ravel()],
    })
    return table, event


# ---------------------------------------------------------------------------------------------
# rater training

_SETS = ("A", "B")
_KEY_PRESENT = 0.3              # probability that the key marks an additional indicator present


def _trainee_ratings(rng: np.random.Generator, key: np.ndarray, p_match: np.ndarray, n_codes: int,
                     centrality: np.ndarray, q_up: np.ndarray) -> np.ndarray:
    """Code indices given by trainees: the key's with probability ``p_match``, else a miss pulled to
    the middle code (probability ``centrality``, when the key is not there) or one code up
    (probability ``q_up``) or down, never off the scale. Every draw is made for every cell, so the
    stream does not depend on the outcomes."""
    mid = (n_codes - 1) // 2
    match = rng.random(key.shape) < p_match
    central = (rng.random(key.shape) < centrality) & (key != mid)
    up = rng.random(key.shape) < q_up
    up = np.where(key == n_codes - 1, False, np.where(key == 0, True, up))
    miss = np.where(central, mid, key + np.where(up, 1, -1))
    return np.where(match, key, miss)


def training_tables(cfg: SyntheticConfig, vera: SPJInstrument) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """``training_ratings``, ``vignette_key`` (string cells) and the truth of the rater-training study
    (see the module docstring), on their own sub-stream of the seed."""
    rng = _rng(cfg.seed, "training")
    n, m = cfg.n_trainees, cfg.vignettes_per_set
    J, A, K = len(vera.indicators), len(vera.additional), len(vera.rating.codes)
    Ks = len(vera.summary.codes)
    ids = np.array([f"TRN-{t + 1:03d}" for t in range(n)], dtype=object)
    control = np.zeros(n, bool)
    control[rng.choice(n, _half_up(cfg.control_share * n), replace=False)] = True
    b_first = np.zeros(n, np.int64)          # 0: set A before and B after, 1: the reverse
    for arm in (False, True):                # counterbalanced within each arm
        b_first[np.flatnonzero(control == arm)[1::2]] = 1
    accuracy = rng.uniform(*cfg.trainee_accuracy, n)
    severity = rng.normal(0.0, cfg.trainee_severity_sd, n)
    centrality = rng.uniform(*cfg.trainee_centrality, n)
    hard_drawn = [int(j) for j in rng.choice(J, min(cfg.n_hard_indicators, J), replace=False)]
    over = hard_drawn[0] if hard_drawn else None
    missed = np.zeros(n, bool)
    missed[rng.choice(n, cfg.missed_occasion, replace=False)] = True

    # the key: codes of every indicator, the over-rated one never at the top (room to over-rate)
    V = 2 * m
    vig_ids = np.array([f"VIG-{_SETS[v // m]}{v % m + 1:02d}" for v in range(V)], dtype=object)
    vig_set = np.array([_SETS[v // m] for v in range(V)], dtype=object)
    key_ind = rng.integers(0, K, (V, J))
    if over is not None:
        key_ind[:, over] = rng.integers(0, K - 1, V)
    key_add = (rng.random((V, A)) < _KEY_PRESENT).astype(np.int64)
    key_sum = rng.integers(0, Ks, V)

    # forms: trainee x occasion x the vignettes of that occasion's set, occasion 2 of some missed
    t = np.repeat(np.arange(n), 2 * m)
    occ = np.tile(np.repeat([1, 2], m), n)
    v = ((b_first[t] + occ - 1) % 2) * m + np.tile(np.arange(m), 2 * n)
    keep = ~(missed[t] & (occ == 2))
    t, occ, v = t[keep], occ[keep], v[keep]
    trained_after = ~control[t] & (occ == 2)
    acc = np.clip(accuracy[t] + cfg.training_effect * trained_after, 0.0, 1.0)

    is_hard = np.zeros(J, bool)
    is_hard[hard_drawn] = True
    p_match = np.clip(acc[:, None] - cfg.hard_accuracy_drop * is_hard[None, :], 0.0, 1.0)
    q_up = np.repeat(np.clip(0.5 + severity[t], 0.05, 0.95)[:, None], J, axis=1)
    if over is not None:
        q_up[:, over] = cfg.over_rated_share
    ind = _trainee_ratings(rng, key_ind[v], p_match, K, centrality[t][:, None], q_up)
    add = key_add[v] ^ (rng.random((t.size, A)) >= acc[:, None]).astype(np.int64)
    summ = _trainee_ratings(rng, key_sum[v], acc, Ks, centrality[t], np.clip(0.5 + severity[t], 0.05, 0.95))

    codes = np.array(vera.rating.codes, dtype=object)
    acodes = (np.array([vera.additional_scale.codes[0], vera.additional_scale.codes[-1]], dtype=object)
              if A else np.array([], dtype=object))
    scodes = np.array(vera.summary.codes, dtype=object)

    def rating_columns(i: np.ndarray, a: np.ndarray, s_: np.ndarray) -> dict[str, np.ndarray]:
        cols = {item: codes[i[:, j]] for j, item in enumerate(vera.indicators)}
        cols.update({item: acodes[a[:, j]] for j, item in enumerate(vera.additional)})
        cols[vera.summary_column] = scodes[s_]
        return cols

    ratings = pd.DataFrame({
        "trainee_id": ids[t],
        "vignette_id": vig_ids[v],
        "occasion": _int_strings(0, 2)[occ],
        "vignette_set": vig_set[v],
        "arm": np.where(control[t], "control", "trained").astype(object),
        **rating_columns(ind, add, summ),
    })
    key = pd.DataFrame({"vignette_id": vig_ids, "vignette_set": vig_set,
                        **rating_columns(key_ind, key_add, key_sum)})

    hit = ind == key_ind[v]
    def share_matching(arm: str, o: int) -> float | None:
        sel = hit[(control[t] == (arm == "control")) & (occ == o)]
        return float(sel.mean()) if sel.size else None          # an arm without trainees: none

    realised = {arm: {str(o): share_matching(arm, o) for o in (1, 2)} for arm in ("trained", "control")}
    over_misses = None
    if over is not None:
        miss = ind[:, over] != key_ind[v, over]
        over_misses = float((ind[miss, over] > key_ind[v, over][miss]).mean()) if miss.any() else None
    after = np.clip(accuracy + cfg.training_effect * ~control, 0.0, 1.0)

    def expected_exact(a: np.ndarray) -> np.ndarray:
        """The expected share of the indicators given the key's code: the hard ones match less often."""
        return np.clip(a[:, None] - cfg.hard_accuracy_drop * is_hard[None, :], 0.0, 1.0).mean(axis=1)

    exact_before, exact_after = expected_exact(accuracy), expected_exact(after)
    truth = {
        "n_trainees": n,
        "arms": {"trained": int((~control).sum()), "control": int(control.sum())},
        "sets": {s_: [str(x) for x in vig_ids[vig_set == s_]] for s_ in _SETS},
        "occasions": {"1": "before the training", "2": "after the training"},
        "trainees": {
            ids[i]: {"arm": "control" if control[i] else "trained",
                     "order": "B-A" if b_first[i] else "A-B",
                     "accuracy_before": float(accuracy[i]),
                     "accuracy_after": float(after[i]),
                     "expected_exact_before": float(exact_before[i]),
                     "expected_exact_after": float(exact_after[i]),
                     "severity": float(severity[i]),
                     "centrality": float(centrality[i]),
                     "missed_occasion_2": bool(missed[i])}
            for i in range(n)},
        "missed_occasion_2": [str(x) for x in ids[missed]],
        "hard_indicators": sorted(vera.indicators[j] for j in hard_drawn),
        "hard_accuracy_drop": cfg.hard_accuracy_drop,
        "over_rated_indicator": None if over is None else vera.indicators[over],
        "over_rated_share": cfg.over_rated_share,
        "over_rated_share_of_misses_realised": over_misses,
        "training_effect": {"arm": "trained", "occasion": 2, "accuracy_rise": cfg.training_effect},
        "indicator_match_realised": realised,
        "model": ("P(key's code) = accuracy (+ training_effect on occasion 2, trained arm; - "
                  "hard_accuracy_drop on the hard indicators); a miss goes to the middle code with "
                  "probability centrality (key elsewhere), else one code up with probability "
                  "clip(0.5 + severity, 0.05, 0.95) (over_rated_share on the over-rated indicator) or "
                  "down; additional indicators flip, the summary misses like an indicator, with "
                  f"probability 1 - accuracy (sub-stream {_STREAMS['training']} of the seed)"),
    }
    return ratings, key, truth


# ---------------------------------------------------------------------------------------------
# truth


def _icc_truth(cfg: SyntheticConfig, vera: SPJInstrument, p: _Params) -> dict[str, Any]:
    """Variance components of each domain total for a random case and a random rater.

    Two-way random model ``X = mu + c + r + e`` (McGraw & Wong 1996): ``c = E[X | case] - mu``,
    ``r = E[X | rater] - mu``, ``e`` the rest (interaction and error). ``E[X | theta]`` and
    ``E[X | severity]`` are closed-form (probit integrals); ``Var(X)`` is
    ``Var(E[X | theta, s, u]) + E[Var(X | theta, s, u)]``, Rao-Blackwellised over the item noise.
    """
    rng = _rng(cfg.seed, "truth_icc")
    N = cfg.truth_draws
    sc = np.array([vera.rating.scores[c] for c in vera.rating.codes], dtype=float)
    dsc = np.diff(sc)
    su, ss = cfg.rating_impression_sd, cfg.rater_severity_sd
    out: dict[str, Any] = {}
    for d, dom in enumerate(vera.domains):
        items = np.flatnonzero(p.dom_of_item == d)
        a = p.a[items][:, None, None]                         # (J, 1, 1)
        tau = p.tau[items][:, None, :]                        # (J, 1, K-1)
        sign = p.dom_sign[d]
        theta = rng.standard_normal(N)
        sev = ss * rng.standard_normal(N)
        u = su * rng.standard_normal(N)
        sd_c = np.sqrt(a ** 2 * su ** 2 + ss ** 2 + _ITEM_NOISE_SD ** 2)
        sd_r = np.sqrt(a ** 2 * (1 + su ** 2) + _ITEM_NOISE_SD ** 2)
        m_case, m_rater, m_given, v_given = (np.empty(N) for _ in range(4))
        for lo in range(0, N, _TRUTH_CHUNK):
            sl = slice(lo, min(N, lo + _TRUTH_CHUNK))
            # E[X | theta] and E[X | severity]: probit integrals in closed form
            pc = special.ndtr((a * theta[None, sl, None] - tau) / sd_c)
            m_case[sl] = (sc[0] + pc @ dsc).sum(axis=0)
            pr = special.ndtr((sign * sev[None, sl, None] - tau) / sd_r)
            m_rater[sl] = (sc[0] + pr @ dsc).sum(axis=0)
            # moments given (theta, severity, impression): the items are independent
            lin = a * (theta[sl] + u[sl])[None, :, None] + sign * sev[None, sl, None]
            pg = special.ndtr((lin - tau) / _ITEM_NOISE_SD)   # P(category > k), (J, chunk, K-1)
            probs = np.concatenate([1 - pg[..., :1], pg[..., :-1] - pg[..., 1:], pg[..., -1:]], axis=-1)
            mean_j = probs @ sc
            m_given[sl] = mean_j.sum(axis=0)
            v_given[sl] = (probs @ sc ** 2 - mean_j ** 2).sum(axis=0)
        total_var = float(np.var(m_given) + v_given.mean())
        v_case = float(np.var(m_case))
        v_rater = float(np.var(m_rater))
        v_res = total_var - v_case - v_rater
        out[dom.code] = {
            "items": list(dom.items),
            "protective": bool(dom.protective),
            "loading_on_R": float(p.dom_loading[d]),
            "mean_total": float(m_case.mean()),
            "variance_components": {"case": v_case, "rater": v_rater, "residual": v_res},
            "icc_a1": v_case / (v_case + v_rater + v_res),
            "icc_c1": v_case / (v_case + v_res),
        }
    return out


def _cox_slope(x: np.ndarray, time: np.ndarray, event: np.ndarray) -> float:
    """Cox partial-likelihood slope by Newton-Raphson (continuous times, no ties)."""
    order = np.argsort(-time, kind="stable")
    x, ev = x[order], event[order]
    beta = 0.0
    for _ in range(100):
        w = np.exp(beta * x)
        s0, s1, s2 = np.cumsum(w), np.cumsum(w * x), np.cumsum(w * x * x)
        m = s1 / s0
        score = float(np.sum(ev * (x - m)))
        info = float(np.sum(ev * (s2 / s0 - m ** 2)))
        step = score / info
        beta += step
        if abs(step) < 1e-10:
            break
    return beta


def _auc(x: np.ndarray, y: np.ndarray) -> float:
    """P(x_event > x_non-event) by the Mann-Whitney rank sum (continuous x, no ties)."""
    ranks = np.empty(x.size)
    ranks[np.argsort(x, kind="stable")] = np.arange(1, x.size + 1)
    n1 = int(y.sum())
    n0 = y.size - n1
    return float((ranks[y].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def _fairness_truth(cfg: SyntheticConfig, cases: "_Cases", event: np.ndarray) -> dict[str, Any]:
    """The planted differential prediction and the groups that should show it."""
    slope_site = cfg.outcome_slope_site
    language = cfg.site_languages[cfg.site_codes.index(slope_site)]
    expected = []
    if cfg.outcome_female_log_hr != 0:
        expected.append({"variable": "sex", "group": "F", "kind": "intercept",
                         "direction": "over-predicted" if cfg.outcome_female_log_hr < 0 else "under-predicted"})
    if cfg.outcome_slope_factor != 1:
        expected.append({"variable": "site", "group": slope_site, "kind": "slope",
                         "direction": "weaker" if cfg.outcome_slope_factor < 1 else "stronger"})
        shared = [s for s, lang in zip(cfg.site_codes, cfg.site_languages) if lang == language and s != slope_site]
        if not shared:
            expected.append({"variable": "language", "group": language, "kind": "slope",
                             "direction": "weaker" if cfg.outcome_slope_factor < 1 else "stronger",
                             "note": f"inherited: {language} is the main language of {slope_site} alone, so most "
                                     "of its cases are that site's"})
    any_ = event[:, OUTCOMES.index("any")]
    return {
        "female_log_hr": cfg.outcome_female_log_hr, "slope_site": slope_site,
        "slope_factor": cfg.outcome_slope_factor,
        "model": ("every process's hazard times exp(female_log_hr) for women, and its log hazard ratio on R times "
                  "slope_factor in slope_site"),
        "expected": expected,
        "realised_rate_any": {
            "sex": {code: float(any_[cases.sex == i].mean()) for i, code in enumerate(_SEX) if code and
                    (cases.sex == i).any()},
            "site": {code: float(any_[cases.site == i].mean()) for i, code in enumerate(cfg.site_codes)}},
    }


def _outcome_truth(cfg: SyntheticConfig, hz: _Hazards) -> dict[str, Any]:
    rng = _rng(cfg.seed, "truth_outcomes")
    R = rng.standard_normal(cfg.truth_draws)
    # the simulated population's sex and site (their own sub-stream, so R and the event times stay the same)
    groups = _rng(cfg.seed, "truth_groups")
    w = _site_counts(cfg.truth_draws, cfg.n_sites)
    site = groups.permutation(np.repeat(np.arange(cfg.n_sites), w))
    sex = 1 + groups.choice(len(_SEX_P), cfg.truth_draws, p=_SEX_P)
    follow, times = _event_times(rng, R, hz, cfg.weibull_shape, *_planted(cfg, sex, site))
    out = {}
    for k, name in enumerate(OUTCOMES):
        ev = times[:, k] <= follow
        t = np.minimum(times[:, k], follow)
        out[name] = {"auc_R": _auc(R, ev), "log_hr": _cox_slope(R, t, ev.astype(float)),
                     "population_rate_mc": float(ev.mean())}
    return out


# ---------------------------------------------------------------------------------------------
# generate


def generate(config: SyntheticConfig, vera: SPJInstrument, sq: Questionnaire) -> Battery:
    """Generate the synthetic battery: the four contract tables and the truth behind them.

    Parameters
    ----------
    config
        The model and design (:class:`SyntheticConfig`).
    vera
        A structured professional judgement instrument (:func:`validation.instruments.load_instrument`
        on ``vera2r.yaml`` or ``vera2.yaml``): its indicators, additional indicators, rating codes,
        aliases and not-rated codes shape ``vera_ratings``.
    sq
        A questionnaire: its scales, response range and reverse keys shape ``sq_responses``.

    Returns
    -------
    Battery
        ``cases``, ``vera_ratings``, ``sq_responses``, ``outcomes`` with columns in contract order
        and every cell a string (blank ``""``), and ``truth``, plain JSON-ready values:

        * ``config``: the configuration; ``design``: counts of the rating design;
        * ``vera.rater_severity`` by rater key and ``rater_severity_variance``; for each domain
          total (sum of the indicator scores) the population ``variance_components`` (case,
          rater, residual) and ``icc_a1``, ``icc_c1`` (McGraw & Wong 1996, ICC(A,1) and ICC(C,1))
          for a random case and a random rater, on complete forms (not-rated cells play no part);
        * ``sq.loadings``: the true standardised loading of each item on the latent response
          scale, negative for reverse-keyed items as written; ``factor_correlations``;
          ``intercept_violation`` (items, site, shift in latent SDs);
        * ``outcomes``: for each outcome the true AUC of ``R`` and the population Cox slope
          (``log_hr``; exactly ``log_hr_extremist`` for ``extremist``, a mixture for the
          composites ``violent`` and ``any``) under the same follow-up and censoring, by Monte
          Carlo, and the realised base rate.

        * ``training`` (when ``n_trainees`` > 0; the tables ``training_ratings`` and
          ``vignette_key``): every planted value of the rater-training study -- each trainee's arm,
          order of the sets, accuracy before and after, severity and centrality, whether they
          missed occasion 2 --, the sets, the hard indicators and the over-rated one, the training
          effect, and the realised share of cells matching the key by arm and occasion.

        Domain ICC truths use ``truth_draws`` Monte Carlo draws of (case level, severity,
        impression) with the item noise integrated out; outcome truths ``truth_draws`` simulated
        cases. Both run on fixed sub-streams of ``seed``, so the truth is reproducible.

    In R: no single call; ``irr::icc(..., model = "twoway", type = "agreement", unit = "single")``
    estimates ``icc_a1`` from a crossed subsample, ``pROC::auc`` and ``survival::coxph`` the
    outcome truths.
    """
    if not isinstance(config, SyntheticConfig):
        raise TypeError(f"config: expected a SyntheticConfig, found {type(config).__name__}")
    if not isinstance(vera, SPJInstrument):
        raise TypeError("vera: expected an SPJInstrument (load_instrument on a kind: spj file), "
                        f"found {type(vera).__name__}")
    if not isinstance(sq, Questionnaire):
        raise TypeError("sq: expected a Questionnaire (load_instrument on a kind: questionnaire file), "
                        f"found {type(sq).__name__}")
    if len(vera.rating.codes) < 2:
        raise ValueError(f"{vera.name}: the rating scale needs at least two codes, found {list(vera.rating.codes)}")
    if vera.summary is None or len(config.summary_shares) != len(vera.summary.codes):
        want = len(vera.summary.codes) if vera.summary else "?"
        raise ValueError(f"summary_shares: expected {want} shares, one for each summary code of "
                         f"{vera.name}, found {list(config.summary_shares)}")
    if vera.additional and (vera.additional_scale is None or len(vera.additional_scale.codes) < 2):
        raise ValueError(f"{vera.name}: additional indicators need a scale with an absent and a present code")

    p = _draw_params(config, vera, sq)
    cases = _make_cases(config)
    n = config.n_cases
    lat = _make_latent(config, p, n)
    des = _make_design(config, p, cases.site, len(vera.domains))
    hz = _calibrate(config)

    site_codes = np.array(config.site_codes, dtype=object)
    cases_df = pd.DataFrame({
        "case_id": cases.ids,
        "site": site_codes[cases.site],
        "sex": np.array(_SEX, dtype=object)[cases.sex],
        "age_band": np.array(_AGE, dtype=object)[cases.age],
        "ideology": np.array(_IDEOLOGY, dtype=object)[cases.ideo],
    })
    vera_df = _vera_table(config, vera, p, lat, des, cases.ids)
    sq_df, sq_rows = _sq_table(config, sq, p, lat, cases, des)
    out_df, event = _outcomes_table(config, hz, lat.R, cases.ids, cases)

    truth = _truth(config, vera, sq, p, cases, des, sq_rows, hz, event)
    latent = pd.DataFrame({"case_id": cases_df["case_id"].to_numpy(), "R": np.asarray(lat.R, dtype=float)})
    training = key = None
    if config.n_trainees > 0:
        training, key, truth["training"] = training_tables(config, vera)
    return Battery(cases_df, vera_df, sq_df, out_df, truth, latent, training, key)


def _truth(cfg: SyntheticConfig, vera: SPJInstrument, sq: Questionnaire, p: _Params, cases: _Cases,
           des: _Design, sq_rows: _SQRows, hz: _Hazards, event: np.ndarray) -> dict[str, Any]:
    S, P = cfg.n_sites, cfg.raters_per_site
    keys = des.rater_keys
    sev = p.severity
    site_n = np.bincount(cases.site, minlength=S)
    lang_n = np.bincount(cases.language, minlength=len(cfg.languages))
    icc = _icc_truth(cfg, vera, p)
    outc = _outcome_truth(cfg, hz)
    F = len(sq.scales)
    corr = {sq.scales[f].code: {sq.scales[g].code: (1.0 if f == g else float(p.gamma[f] * p.gamma[g]))
                                for g in range(F)} for f in range(F)}
    loadings = {item: float(-p.lam[i] if p.reverse[i] else p.lam[i]) for i, item in enumerate(sq.items)}
    names = {"VE": "violent extremist", "NE": "non-violent extremist", "VN": "violent non-extremist",
             "O": "other offending"}
    return {
        "generator": "validation.synthetic",
        "model_version": MODEL_VERSION,
        "config": cfg.to_dict(),
        "instruments": {"vera": {"name": vera.name, "version": vera.version},
                        "sq": {"name": sq.name, "version": sq.version}},
        "cases": {
            "n": int(cases.site.size),
            "sites": {s: int(c) for s, c in zip(cfg.site_codes, site_n)},
            "site_main_language": dict(zip(cfg.site_codes, cfg.site_languages)),
            "languages": {lg: int(c) for lg, c in zip(cfg.languages, lang_n)},
            "k_anonymity": cfg.k_anonymity,
            "suppressed_cells": cases.suppressed,
        },
        "design": {
            "n_ratings": int(des.case.size),
            "raters": keys[: S * P],
            "teams": keys[S * P:],
            "panel_raters": [keys[r] for r in des.panel],
            "n_crossed": int(des.crossed.size),
            "n_second_rated": int(des.second.size),
            "second_rated_share_of_eligible": float(des.second.size / max(1, cases.site.size - des.crossed.size)),
            "n_consensus": int(des.consensus.size),
            "n_reassessed": int(des.reassessed.size),
            "n_sq_occasion1": int((sq_rows.occasion == 1).sum()),
            "n_sq_occasion2": int((sq_rows.occasion == 2).sum()),
        },
        "R": {"distribution": "N(0, 1)"},
        "vera": {
            "rater_severity": {keys[r]: float(sev[r]) for r in range(S * P)},
            "rater_severity_variance": cfg.rater_severity_sd ** 2,
            "rater_severity_variance_realised": float(np.var(sev, ddof=1)) if sev.size > 1 else 0.0,
            "rating_impression_sd": cfg.rating_impression_sd,
            "item_noise_sd": _ITEM_NOISE_SD,
            "domains": icc,
            "icc_method": (f"Monte Carlo, {cfg.truth_draws} draws per domain (sub-stream "
                           f"{_STREAMS['truth_icc']} of the seed): two-way random model for a random case "
                           "and a random rater; case and rater parts in closed form, total variance "
                           "Rao-Blackwellised over the item noise; complete forms, consensus forms excluded"),
            "indicators": {item: {"domain": vera.domains[p.dom_of_item[j]].code,
                                  "discrimination": float(p.a[j]),
                                  "thresholds": [float(t) for t in p.tau[j]],
                                  "not_rated_rate": float(p.nr_rate[j])}
                           for j, item in enumerate(vera.indicators)},
            "hard_to_rate": [vera.indicators[j] for j in p.hard],
            "additional_prevalence": {item: float(p.add_prev[j]) for j, item in enumerate(vera.additional)},
            "summary_thresholds": [float(t) for t in p.summary_thr],
        },
        "sq": {
            "loadings": loadings,
            "scale_of_item": {item: sq.scales[p.scale_of_item[i]].code for i, item in enumerate(sq.items)},
            "reverse_keyed": list(sq.reverse_keyed),
            "factor_correlations": corr,
            "factor_correlation_with_R": {s.code: float(p.gamma[f]) for f, s in enumerate(sq.scales)},
            "intercept_violation": {"items": [sq.items[i] for i in p.dif_items], "site": cfg.sq_dif_site,
                                    "shift": cfg.sq_dif_shift, "unit": "latent response SD, upwards"},
            "missing_rate": {item: float(p.sq_miss[i]) for i, item in enumerate(sq.items)},
        },
        "outcomes": {
            name: {
                "target_base_rate": getattr(cfg, f"base_rate_{name}"),
                "realised_base_rate": float(event[:, k].mean()),
                "n_events": int(event[:, k].sum()),
                "log_hr": outc[name]["log_hr"],
                "auc_R": outc[name]["auc_R"],
                "population_rate_mc": outc[name]["population_rate_mc"],
            } for k, name in enumerate(OUTCOMES)
        },
        "outcome_model": {
            "processes": {
                code: {"label": names[code], "rho": float(hz.rho[c]), "log_hr": float(hz.beta[c])}
                for c, code in enumerate(("VE", "NE", "VN", "O"))
            },
            "composition": {"extremist": ["VE", "NE"], "violent": ["VE", "VN"], "any": ["VE", "NE", "VN", "O"]},
            "hazard": ("Weibull proportional hazards, cumulative hazard rho * (t / 365.25)^shape * exp(log_hr * "
                       "slope_multiplier * R + log_hr_offset) in each planted component of the population"),
            "weibull_shape": cfg.weibull_shape,
            "followup_days": [hz.lo_days, hz.hi_days],
            "mixture": [{"share": sh, "log_hr_offset": off, "slope_multiplier": m} for sh, off, m in _mixture(cfg)],
            "method": (f"Monte Carlo, {cfg.truth_draws} simulated cases (sub-stream "
                       f"{_STREAMS['truth_outcomes']} of the seed; their sex and site from sub-stream "
                       f"{_STREAMS['truth_groups']}), same follow-up, censoring and planted differences: AUC by "
                       "the Mann-Whitney statistic, log_hr by the Cox partial likelihood (population limit)"),
        },
        "fairness": _fairness_truth(cfg, cases, event),
    }
