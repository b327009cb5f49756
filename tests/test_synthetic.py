"""The synthetic battery: contract shape, determinism, design, privacy, recording habits, and that
the known truth is recovered (ICC by pingouin on a crossed design, AUC by quadrature, Cox slope by
statsmodels, latent item correlations by tetrachoric correlations)."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy import integrate, optimize, special, stats

from validation.battery.instruments import load_instrument
from validation.battery.synthetic import OUTCOMES, Battery, SyntheticConfig, _auc, _cox_slope, _suppress, generate

ROOT = Path(__file__).resolve().parents[1]
INSTRUMENTS = ROOT / "instruments"
SCORES = {"L": 1.0, "M": 2.0, "H": 3.0}


@pytest.fixture(scope="module")
def vera2r():
    return load_instrument(INSTRUMENTS / "vera2r.yaml")


@pytest.fixture(scope="module")
def vera2():
    return load_instrument(INSTRUMENTS / "vera2.yaml")


@pytest.fixture(scope="module")
def sq():
    return load_instrument(INSTRUMENTS / "sq.yaml")


@pytest.fixture(scope="module")
def default(vera2r, sq) -> Battery:
    return generate(SyntheticConfig(), vera2r, sq)


@pytest.fixture(scope="module")
def legacy(vera2, sq) -> Battery:
    return generate(SyntheticConfig(n_cases=300, crossed_cases=20, truth_draws=5000), vera2, sq)


@pytest.fixture(scope="module")
def large(vera2r, sq) -> Battery:
    return generate(SyntheticConfig(n_cases=20_000, seed=7), vera2r, sq)


def _both(request, which):
    return request.getfixturevalue(which), request.getfixturevalue({"default": "vera2r", "legacy": "vera2"}[which])


# ---------------------------------------------------------------------------------------------
# shape and contract rules


@pytest.mark.parametrize("which", ["default", "legacy"])
def test_columns_in_contract_order(request, which, sq):
    b, vera = _both(request, which)
    assert list(b.cases.columns) == ["case_id", "site", "sex", "age_band", "ideology"]
    assert list(b.vera_ratings.columns) == ["case_id", "rater_id", "occasion", "role", "months_since_first",
                                            *vera.indicators, *vera.additional, vera.summary_column]
    assert list(b.sq_responses.columns) == ["case_id", "occasion", "language", *sq.items]
    assert list(b.outcomes.columns) == ["case_id", "outcome", "event", "time_days"]
    n = b.truth["config"]["n_cases"]
    assert len(b.cases) == n and len(b.outcomes) == 3 * n
    if which == "legacy":
        assert vera.additional == [] and "CH1" not in b.vera_ratings.columns


@pytest.mark.parametrize("which", ["default", "legacy"])
def test_every_cell_is_a_string_within_the_contract(request, which, sq):
    b, vera = _both(request, which)
    for name, df in b.tables().items():
        assert all(df[c].dtype == object for c in df.columns), name
        assert df.map(lambda x: isinstance(x, str)).all().all(), name
    ident = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
    c = b.cases
    assert c.case_id.str.match(r"^C\d{5,}$").all() and c.case_id.is_unique
    assert c.site.str.match(r"^[A-Za-z0-9_-]{1,32}$").all()
    assert set(c.sex) <= {"F", "M", "X", ""}
    assert set(c.age_band) <= {"18-24", "25-34", "35-44", "45+", ""}
    assert set(c.ideology) <= {"jihadist", "right-wing", "left-wing", "separatist", "other", ""}
    ids = set(c.case_id)

    r = b.vera_ratings
    assert set(r.case_id) <= ids and r.rater_id.str.match(ident).all()
    assert set(r.occasion) <= {"1", "2"} and set(r.role) <= {"independent", "consensus"}
    assert r.months_since_first.str.fullmatch(r"\d+").all()
    for item in vera.indicators:
        for v in r[item].unique():
            code = vera.rating.normalise(v)          # raises KeyError when not accepted
            assert code is None or code in vera.rating.codes
    for item in vera.additional:
        for v in r[item].unique():
            assert v == "" or vera.additional_scale.normalise(v) in ("0", "1")
    for v in r[vera.summary_column].unique():
        assert v == "" or vera.summary.normalise(v) in vera.summary.codes

    s = b.sq_responses
    assert set(s.case_id) <= ids and set(s.occasion) <= {"1", "2"}
    assert s.language.str.fullmatch(r"[a-z]{2,3}").all()
    allowed = {""} | {str(v) for v in range(sq.response_min, sq.response_max + 1)}
    for item in sq.items:
        assert set(s[item]) <= allowed, item

    o = b.outcomes
    assert set(o.case_id) == ids and set(o.outcome) == set(OUTCOMES)
    assert set(o.event) <= {"0", "1"}
    t = o.time_days.astype(int)
    assert o.time_days.str.fullmatch(r"\d+").all() and (t >= 1).all()
    lo, hi = b.truth["outcome_model"]["followup_days"]
    assert t.max() <= hi and (t[o.event == "0"] >= lo).all()


@pytest.mark.parametrize("which", ["default", "legacy"])
def test_keys_are_unique(request, which):
    b, _ = _both(request, which)
    assert not b.vera_ratings.duplicated(["case_id", "rater_id", "occasion"]).any()
    assert not b.sq_responses.duplicated(["case_id", "occasion"]).any()
    assert not b.outcomes.duplicated(["case_id", "outcome"]).any()


def test_deterministic(vera2r, sq):
    cfg = SyntheticConfig(n_cases=150, crossed_cases=12, truth_draws=2000)
    a, b = generate(cfg, vera2r, sq), generate(cfg, vera2r, sq)
    for name in a.tables():
        assert a.tables()[name].to_csv(index=False) == b.tables()[name].to_csv(index=False), name
    assert json.dumps(a.truth, sort_keys=True) == json.dumps(b.truth, sort_keys=True)
    c = generate(SyntheticConfig(n_cases=150, crossed_cases=12, truth_draws=2000, seed=cfg.seed + 1), vera2r, sq)
    for name in ("vera_ratings", "sq_responses", "outcomes"):
        assert not a.tables()[name].equals(c.tables()[name]), name


# ---------------------------------------------------------------------------------------------
# design


def _design(b: Battery):
    r = b.vera_ratings
    site = b.cases.set_index("case_id").site
    occ1 = r[(r.occasion == "1") & (r.role == "independent")]
    rater_site = occ1.rater_id.str.split("-").str[0]
    n_sites = occ1.assign(rs=rater_site.values).groupby("case_id").rs.nunique()
    crossed = n_sites[n_sites > 1].index
    return r, site, occ1, crossed


def test_crossed_subsample_is_complete(default):
    r, site, occ1, crossed = _design(default)
    panel = default.truth["design"]["panel_raters"]
    assert len(panel) == 4 and len({p.split("-")[0] for p in panel}) == 4
    assert len(crossed) == 40
    per_case = occ1[occ1.case_id.isin(crossed)].groupby("case_id").rater_id.apply(sorted)
    assert all(v == sorted(panel) for v in per_case)            # 40 x 4, no gaps, no duplicates


def test_second_ratings_consensus_and_reassessment(default):
    r, site, occ1, crossed = _design(default)
    n = len(default.cases)
    rest = occ1[~occ1.case_id.isin(crossed)]
    k = rest.groupby("case_id").rater_id.nunique()
    assert set(k.unique()) <= {1, 2}
    assert abs((k == 2).mean() - 0.30) < 0.01                     # incomplete design, ~30 %
    assert (rest.rater_id.str.split("-").str[0].values == site[rest.case_id].values).all()  # nested in sites
    cons = r[r.role == "consensus"]
    assert len(cons) > 0 and (cons.occasion == "1").all()
    assert (cons.rater_id.values == ("T-" + site[cons.case_id]).values).all()
    assert set(cons.case_id) <= set(k[k == 2].index)
    occ2 = r[r.occasion == "2"]
    assert abs(occ2.case_id.nunique() / n - 0.20) < 0.01
    m = occ2.months_since_first.astype(int)
    assert m.between(6, 24).all() and m.nunique() > 5
    assert (r[r.occasion == "1"].months_since_first == "0").all()
    first = occ1.set_index(["case_id", "rater_id"]).index
    assert occ2.set_index(["case_id", "rater_id"]).index.isin(first).all()   # same rater
    sq2 = default.sq_responses
    assert set(sq2[sq2.occasion == "2"].case_id) == set(occ2.case_id)
    share = 1 - (sq2.occasion == "1").sum() / n
    assert 0.01 <= share <= 0.08                                   # a few percent did not answer


def test_sites_and_languages(default):
    c = default.cases
    assert sorted(c.site.unique()) == ["S1", "S2", "S3", "S4"]
    assert (c.sex == "M").mean() > 0.75
    lang = default.sq_responses.drop_duplicates("case_id").set_index("case_id").language
    tab = pd.crosstab(c.set_index("case_id").site.reindex(lang.index), lang)
    assert sorted(tab.columns) == ["ar", "en", "fr"]
    main = default.truth["cases"]["site_main_language"]
    for s in tab.index:
        assert tab.loc[s].idxmax() == main[s]
        assert (tab.loc[s] > 0).sum() >= 2                          # mixing: not the same partition


# ---------------------------------------------------------------------------------------------
# privacy


def _small_cells(cases: pd.DataFrame, k: int) -> int:
    counts = cases.groupby(["site", "sex", "age_band", "ideology"]).size()
    return int((counts < k).sum())


def test_k_anonymity_holds(default, large, vera2r, sq):
    assert _small_cells(default.cases, 5) == 0
    assert _small_cells(large.cases, 5) == 0
    assert sum(default.truth["cases"]["suppressed_cells"].values()) > 0
    b = generate(SyntheticConfig(n_cases=400, k_anonymity=12, crossed_cases=10, truth_draws=2000), vera2r, sq)
    assert _small_cells(b.cases, 12) == 0


def test_local_suppression_fills_a_small_all_blank_cell():
    # one site, 12 cases: 8 share a cell, 4 are unique; blanking leaves 4 all-blank, one is added
    site = np.zeros(12, np.int64)
    sex = np.array([1] * 8 + [2, 3, 1, 2])
    age = np.array([2] * 8 + [1, 3, 4, 1])
    ideo = np.array([1] * 8 + [2, 3, 4, 5])
    done = _suppress(site, sex, age, ideo, 5, 1)
    key = pd.Series(list(zip(sex, age, ideo)))
    assert key.value_counts().min() >= 5
    assert (key == (0, 0, 0)).sum() == 5 and (key == (1, 2, 1)).sum() == 7
    assert done == {"ideology": 5, "age_band": 5, "sex": 5}


def test_too_few_cases_for_k_is_refused():
    with pytest.raises(ValueError, match="k_anonymity=5"):
        SyntheticConfig(n_cases=12, crossed_cases=4)


# ---------------------------------------------------------------------------------------------
# recording habits


def test_not_rated_rates(large, vera2r):
    r = large.vera_ratings
    rate = {c: float(r[c].isin(["", "NR"]).mean()) for c in vera2r.indicators}
    hard = large.truth["vera"]["hard_to_rate"]
    assert len(hard) == 3
    assert all(0.005 <= v <= 0.17 for v in rate.values()), rate
    assert min(rate[h] for h in hard) > 0.09
    assert max(v for c, v in rate.items() if c not in hard) < 0.075
    assert sorted(rate, key=rate.get)[-3:] == sorted(hard, key=rate.get)
    for c, v in rate.items():                                       # each near its true rate
        true = large.truth["vera"]["indicators"][c]["not_rated_rate"]
        assert abs(v - true) < 4 * math.sqrt(true * (1 - true) / len(r)) + 0.002, c
    blank_summary = (r.summary_risk == "").mean()
    assert 0 < blank_summary < 0.03


def test_spellings_exercise_the_ingest_path(default, vera2r):
    r = default.vera_ratings
    cells = pd.Series(r[vera2r.indicators].to_numpy().ravel())
    counts = cells.value_counts()
    for v in ("L", "M", "H", "", "NR", "low", "moderate", "high"):
        assert counts.get(v, 0) > 0, v
    add = pd.Series(r[vera2r.additional].to_numpy().ravel()).value_counts()
    for v in ("0", "1", "", "absent"):
        assert add.get(v, 0) > 0, v
    blank = (default.sq_responses[default.sq_responses.columns[3:]] == "").to_numpy().mean()
    assert blank == pytest.approx(0.05, abs=0.015)


def test_indicators_are_not_equally_skewed(large, vera2r):
    r = large.vera_ratings
    share_h = [r[c].map(lambda v: vera2r.rating.aliases.get(v, v)).eq("H").mean() for c in vera2r.indicators]
    assert max(share_h) - min(share_h) > 0.15


# ---------------------------------------------------------------------------------------------
# outcomes


def test_base_rates_near_targets(large):
    o = large.outcomes
    n = len(large.cases)
    for name, target in (("extremist", 0.05), ("violent", 0.13), ("any", 0.30)):
        rate = (o[o.outcome == name].event == "1").mean()
        se = math.sqrt(target * (1 - target) / n)
        assert abs(rate - target) < 4 * se, (name, rate)
        assert large.truth["outcomes"][name]["realised_base_rate"] == pytest.approx(rate)


def test_outcomes_are_nested(large):
    o = large.outcomes
    ev = o.pivot(index="case_id", columns="outcome", values="event").astype(int)
    t = o.pivot(index="case_id", columns="outcome", values="time_days").astype(int)
    assert (ev["any"] >= ev["extremist"]).all() and (ev["any"] >= ev["violent"]).all()
    assert (t["any"] <= t["extremist"]).all() and (t["any"] <= t["violent"]).all()
    none = ev["any"] == 0                                            # censored: one follow-up for all
    assert ((t["any"] == t["extremist"]) & (t["any"] == t["violent"]))[none].all()
    assert ((t["any"] < t["extremist"]) & (ev["any"] == 1)).sum() > 0       # other offences come first
    assert ((ev["extremist"] == 1) & (ev["violent"] == 1)).sum() > 0     # violent extremist events


def _quadrature_event_probability(truth: dict, outcome: str, r: np.ndarray) -> np.ndarray:
    """P(event within follow-up | R = r), exact average over the whole-day follow-up times and the
    population's planted components."""
    m = truth["outcome_model"]
    lo, hi = m["followup_days"]
    follow = np.arange(lo, hi + 1, dtype=float)
    out = np.zeros(len(r))
    for part in m["mixture"]:                # the planted components (women, the slope site), by share
        rate = sum(m["processes"][c]["rho"] * np.exp(m["processes"][c]["log_hr"] * part["slope_multiplier"] * r
                                                     + part["log_hr_offset"]) for c in m["composition"][outcome])
        H = rate[:, None] * ((follow / 365.25) ** m["weibull_shape"])[None, :]
        out += part["share"] * (-np.expm1(-H)).mean(axis=1)
    return out


def test_outcome_truth_against_quadrature(default):
    """AUC of R = int f1(r) F0(r) dr / (P (1 - P)), with f1 = phi * pi, f0 = phi * (1 - pi)."""
    r = np.linspace(-8, 8, 3201)
    for name in OUTCOMES:
        pi = _quadrature_event_probability(default.truth, name, r)
        f1, f0 = stats.norm.pdf(r) * pi, stats.norm.pdf(r) * (1 - pi)
        p1 = integrate.trapezoid(f1, r)
        auc = integrate.trapezoid(f1 * integrate.cumulative_trapezoid(f0, r, initial=0), r) / (p1 * (1 - p1))
        t = default.truth["outcomes"][name]
        assert p1 == pytest.approx(t["target_base_rate"], abs=0.002), name
        assert t["auc_R"] == pytest.approx(auc, abs=0.01), name
        assert abs(t["population_rate_mc"] - p1) < 4 * math.sqrt(p1 * (1 - p1) / 200_000)
    # the extremist process is proportional in R within each planted component (slope 0.9, or 0.9 x the
    # multiplier in the slope site), so the population's slope lies between them; the composites mix two more
    mult = default.truth["fairness"]["slope_factor"]
    assert 0.9 * mult < default.truth["outcomes"]["extremist"]["log_hr"] < 0.9
    assert 0.7 * mult < default.truth["outcomes"]["violent"]["log_hr"] < 0.9
    assert 0.5 * mult < default.truth["outcomes"]["any"]["log_hr"] < 0.9


def test_cox_and_auc_helpers_match_references():
    from sklearn.metrics import roc_auc_score
    from statsmodels.duration.hazard_regression import PHReg

    rng = np.random.default_rng(3)
    x = rng.standard_normal(400)
    t = rng.exponential(1 / np.exp(0.6 * x))
    c = rng.uniform(0, 2, 400)
    time, event = np.minimum(t, c), (t <= c).astype(float)
    ref = PHReg(time, x[:, None], status=event).fit().params[0]
    assert _cox_slope(x, time, event) == pytest.approx(ref, abs=1e-8)
    y = event.astype(bool)
    assert _auc(x, y) == pytest.approx(roc_auc_score(y, x), abs=1e-12)


# ---------------------------------------------------------------------------------------------
# SQ


def test_sq_intercept_violation_visible(large, sq):
    v = large.truth["sq"]["intercept_violation"]
    assert len(v["items"]) == 2 and v["site"] == "S2"
    assert not set(v["items"]) & set(sq.reverse_keyed)
    s = large.sq_responses[large.sq_responses.occasion == "1"]
    site = large.cases.set_index("case_id").site.reindex(s.case_id).to_numpy()
    x = s[sq.items].replace("", np.nan).astype(float)
    diff = x[site == v["site"]].mean() - x[site != v["site"]].mean()
    others = diff.drop(v["items"])
    assert diff[v["items"]].min() > 0.4
    assert others.abs().max() < 0.15


def _tetrachoric(a: np.ndarray, b: np.ndarray) -> float:
    h, k = special.ndtri(1 - a.mean()), special.ndtri(1 - b.mean())
    p11 = (a & b).mean()

    def f(rho):   # P(X > h, Y > k) for a standard bivariate normal with correlation rho
        cdf = stats.multivariate_normal(mean=[0, 0], cov=[[1, rho], [rho, 1]]).cdf([-h, -k])
        return cdf - p11
    return optimize.brentq(f, -0.99, 0.99, xtol=1e-6)


def test_sq_truth_loadings_and_factor_correlations(large, sq):
    """Tetrachoric correlation of two items = lambda_i * lambda_j * phi_fg on the latent scale."""
    t = large.truth["sq"]
    s = large.sq_responses[large.sq_responses.occasion == "1"]
    skip = set(t["intercept_violation"]["items"])
    scales = t["scale_of_item"]
    fwd = [i for i in sq.items if i not in skip and i not in sq.reverse_keyed]
    pairs = [(fwd[0], next(j for j in fwd[1:] if scales[j] == scales[fwd[0]])),
             (fwd[0], next(j for j in fwd[1:] if scales[j] != scales[fwd[0]])),
             (fwd[1], next(j for j in fwd[2:] if scales[j] != scales[fwd[1]])),
             (fwd[0], sq.reverse_keyed[0])]
    for i, j in pairs:
        both = s[(s[i] != "") & (s[j] != "")]
        a, b = both[i].astype(int).to_numpy() >= 3, both[j].astype(int).to_numpy() >= 3
        expected = t["loadings"][i] * t["loadings"][j] * t["factor_correlations"][scales[i]][scales[j]]
        assert _tetrachoric(a, b) == pytest.approx(expected, abs=0.05), (i, j)
    assert all(t["loadings"][i] < 0 for i in sq.reverse_keyed)
    assert all(0.5 <= abs(v) <= 0.8 for v in t["loadings"].values())
    off = [v for f, row in t["factor_correlations"].items() for g, v in row.items() if f != g]
    assert all(0.35 <= v <= 0.6 for v in off)


# ---------------------------------------------------------------------------------------------
# truth


def test_truth_is_json_ready_and_sensible(default, legacy, vera2r):
    for b in (default, legacy):
        text = json.dumps(b.truth, allow_nan=False)
        assert json.loads(text) == b.truth
    t = default.truth
    assert t["config"] == SyntheticConfig().to_dict()
    assert set(t["vera"]["rater_severity"]) == {f"S{s}-R{q}" for s in range(1, 5) for q in (1, 2)}
    assert t["vera"]["rater_severity_variance"] == pytest.approx(0.35 ** 2)
    assert "Monte Carlo" in t["vera"]["icc_method"] and "200000" in t["vera"]["icc_method"]
    assert set(t["vera"]["domains"]) == {d.code for d in vera2r.domains}
    for code, d in t["vera"]["domains"].items():
        vc = d["variance_components"]
        assert min(vc.values()) > 0, code
        assert 0 <= d["icc_a1"] <= d["icc_c1"] <= 1, code
        assert 0.5 < d["icc_a1"] < 0.95, code
        assert d["icc_a1"] == pytest.approx(vc["case"] / sum(vc.values()))
    for name in OUTCOMES:
        assert 0.5 < t["outcomes"][name]["auc_R"] < 0.9
    assert t["outcomes"]["extremist"]["auc_R"] > t["outcomes"]["any"]["auc_R"]


def test_icc_truth_recovered_from_a_crossed_design(vera2r, sq):
    """ICC(A,1) and ICC(C,1) of the domain totals (pingouin = psych::ICC ICC2 / ICC3) on a fully
    crossed design with 40 raters (one a site), complete forms, against the Monte Carlo truth.
    The tolerance is about 3 standard errors of the estimates (800 cases, 40 raters)."""
    import pingouin as pg

    cfg = SyntheticConfig(n_sites=40, n_cases=2400, crossed_cases=800, second_rated_share=0,
                          reassessed_share=0, alias_rate=0, not_rated_rate=(0, 0), not_rated_hard=(0, 0))
    b = generate(cfg, vera2r, sq)
    r = b.vera_ratings
    r = r[r.case_id.map(r.case_id.value_counts()) == 40]
    assert r.case_id.nunique() == 800
    for d in vera2r.domains:
        total = sum(r[i].map(SCORES) for i in d.items)
        long = pd.DataFrame({"case": r.case_id, "rater": r.rater_id, "x": total})
        icc = pg.intraclass_corr(long, targets="case", raters="rater", ratings="x").set_index("Type")["ICC"]
        truth = b.truth["vera"]["domains"][d.code]
        assert icc["ICC(A,1)"] == pytest.approx(truth["icc_a1"], abs=0.05), d.code
        assert icc["ICC(C,1)"] == pytest.approx(truth["icc_c1"], abs=0.05), d.code


# ---------------------------------------------------------------------------------------------
# configuration


def test_from_params_accepts_the_pipeline_section():
    params = yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))
    cfg = SyntheticConfig.from_params(params["synthesize"])
    assert cfg.n_cases == params["synthesize"]["n_cases"]
    cfg = SyntheticConfig.from_params({"n_cases": 200, "followup_years": [2, 5], "languages": ["en", "tl"]})
    assert cfg.followup_years == (2.0, 5.0) and cfg.languages == ("en", "tl")
    assert SyntheticConfig.from_params({}) == SyntheticConfig()


def test_from_params_rejects_unknown_keys():
    with pytest.raises(ValueError) as exc:
        SyntheticConfig.from_params({"n_cases": 100, "n_case": 3, "raters": 2})
    msg = str(exc.value)
    assert "n_case, raters" in msg and "accepted keys are" in msg and "crossed_cases" in msg


def test_invalid_values_are_listed():
    with pytest.raises(ValueError) as exc:
        SyntheticConfig.from_params({"n_cases": "many", "second_rated_share": 1.5, "languages": ["EN"]})
    msg = str(exc.value)
    assert "3 problem(s)" in msg and "n_cases" in msg and "second_rated_share" in msg and "languages" in msg
    with pytest.raises(ValueError, match="sq_dif_site"):
        SyntheticConfig(n_sites=1)
    with pytest.raises(ValueError, match="base_rate_extremist < base_rate_violent"):
        SyntheticConfig(base_rate_violent=0.04)
    with pytest.raises(ValueError, match="base_rate_any=0.26 is not reachable"):
        generate(SyntheticConfig(n_cases=100, crossed_cases=8, base_rate_extremist=0.2, base_rate_violent=0.25,
                                 base_rate_any=0.26, violent_share_of_extremist=0.1), *_instruments())


def _instruments():
    return load_instrument(INSTRUMENTS / "vera2r.yaml"), load_instrument(INSTRUMENTS / "sq.yaml")


def test_generate_checks_its_arguments(vera2r, sq):
    with pytest.raises(TypeError, match="SPJInstrument"):
        generate(SyntheticConfig(), sq, sq)
    with pytest.raises(TypeError, match="Questionnaire"):
        generate(SyntheticConfig(), vera2r, vera2r)
    with pytest.raises(TypeError, match="SyntheticConfig"):
        generate({"n_cases": 10}, vera2r, sq)
    with pytest.raises(ValueError, match="summary_shares"):
        generate(SyntheticConfig(summary_shares=(0.5, 0.5)), vera2r, sq)
