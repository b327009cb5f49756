"""The benchmark cases. Each issue adds its own; every case times the project and its peers on the
same data in the same run."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .harness import Case, Peer

ROOT_INSTRUMENTS = __import__("pathlib").Path(__file__).resolve().parents[1] / "instruments"


def _instruments():
    from validation.battery.instruments import load_instrument
    return load_instrument(ROOT_INSTRUMENTS / "vera2r.yaml"), load_instrument(ROOT_INSTRUMENTS / "sq.yaml")


def synthesize_cases() -> list[Case]:
    from validation.battery.synthetic import SyntheticConfig, generate

    def setup():
        vera, sq = _instruments()
        return SyntheticConfig(n_cases=100_000), vera, sq

    return [Case("synthesize: 100,000 cases (no peer)", setup,
                 lambda d: generate(*d), repeat=3, target="seconds, not minutes")]


def likert(n: int, k: int, seed: int, levels: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    f = rng.standard_normal((n, 1))
    y = 0.7 * f + 0.7 * rng.standard_normal((n, k))
    x = np.clip(np.round(y * 1.2 + (levels + 1) / 2), 1, levels).astype(float)
    return pd.DataFrame(x, columns=[f"i{j + 1}" for j in range(k)])


def reliability_cases() -> list[Case]:
    import pingouin as pg
    from validation.stats.reliability import cronbach_alpha

    big = Case("cronbach_alpha: 100,000 x 34", lambda: likert(100_000, 34, 1),
               lambda d: cronbach_alpha(d),
               [Peer("pingouin", fn=lambda d: pg.cronbach_alpha(d)),
                Peer("R psych::alpha", r_code="psych::alpha(d, check.keys = FALSE, warnings = FALSE)", repeat=3)],
               repeat=5, target="no slower than pingouin.cronbach_alpha")
    boot = Case("cronbach_alpha + 2,000 bootstrap: 1,000 x 10", lambda: likert(1_000, 10, 2),
                lambda d: cronbach_alpha(d, ci_method="bootstrap", n_boot=2000, seed=1),
                [Peer("loop of 2,000 pingouin", fn=lambda d: [pg.cronbach_alpha(d.sample(len(d), replace=True, random_state=i))
                                                              for i in range(2000)], repeat=1)],
                repeat=5, target="under 1 second, vectorised")
    return [big, boot]


def agreement_cases() -> list[Case]:
    import pingouin as pg
    from validation.stats.agreement import icc

    def setup():
        rng = np.random.default_rng(3)
        t = rng.standard_normal((2000, 1))
        return pd.DataFrame(t + 0.2 * rng.standard_normal((1, 3)) + 0.5 * rng.standard_normal((2000, 3)),
                            columns=["r1", "r2", "r3"])

    def long(d):
        x = d.reset_index().melt(id_vars="index", var_name="rater", value_name="rating")
        return x.rename(columns={"index": "target"})

    return [Case("icc: 2,000 cases x 3 raters", setup, lambda d: icc(d),
                 [Peer("pingouin", fn=lambda d: pg.intraclass_corr(long(d), targets="target", raters="rater",
                                                                    ratings="rating")),
                  Peer("R psych::ICC", r_code="psych::ICC(d, lmer = FALSE)", repeat=3)],
                 repeat=7, target="no slower than pingouin.intraclass_corr")]


def predictive_cases() -> list[Case]:
    from sklearn.metrics import roc_auc_score
    from validation.stats.predictive import delong_test, roc_auc

    def setup(n=1_000_000):
        rng = np.random.default_rng(4)
        y = (rng.random(n) < 0.1).astype(int)
        s1 = np.round(rng.standard_normal(n) + 0.8 * y, 2)
        s2 = np.round(rng.standard_normal(n) + 0.5 * y + 0.3 * s1, 2)
        return pd.DataFrame({"y": y, "s1": s1, "s2": s2})

    auc = Case("roc_auc + DeLong CI: 1,000,000 cases", setup, lambda d: roc_auc(d["y"], d["s1"]),
               [Peer("scikit-learn roc_auc_score (no CI)", fn=lambda d: roc_auc_score(d["y"], d["s1"])),
                Peer("R pROC ci.auc delong",
                     r_code='pROC::ci.auc(pROC::roc(d$y, d$s1, direction = "<", levels = c(0, 1), quiet = TRUE), method = "delong")',
                     repeat=2)],
               repeat=3, target="no slower than pROC")
    test = Case("delong_test paired: 1,000,000 cases", setup, lambda d: delong_test(d["y"], d["s1"], d["s2"]),
                [Peer("R pROC roc.test delong",
                      r_code='pROC::roc.test(pROC::roc(d$y, d$s1, direction = "<", levels = c(0, 1), quiet = TRUE), '
                             'pROC::roc(d$y, d$s2, direction = "<", levels = c(0, 1), quiet = TRUE), method = "delong")',
                      repeat=2)],
                repeat=3, target="no slower than pROC roc.test")
    def setup_boot(n=100_000, continuous=False):
        rng = np.random.default_rng(7)
        y = (rng.random(n) < 0.1).astype(int)
        s = rng.standard_normal(n) + 0.8 * y
        s = s if continuous else np.clip(np.round(s * 3 + 10), 0, 20)
        return pd.DataFrame({"y": y, "s1": s})

    def sk_loop(d, reps=2000):
        rng = np.random.default_rng(1)
        ev, ne = np.flatnonzero(d["y"].to_numpy() == 1), np.flatnonzero(d["y"].to_numpy() == 0)
        y, s = d["y"].to_numpy(), d["s1"].to_numpy()
        for _ in range(reps):
            idx = np.concatenate([rng.choice(ev, len(ev)), rng.choice(ne, len(ne))])
            roc_auc_score(y[idx], s[idx])

    boot_r = ('pROC::ci.auc(pROC::roc(d$y, d$s1, direction = "<", levels = c(0, 1), quiet = TRUE), '
              'method = "bootstrap", boot.n = 2000, boot.stratified = TRUE, progress = "none")')
    boots = []
    for cont in (False, True):
        kind = "continuous scores" if cont else "integer scores 0-20"
        boots.append(Case(f"roc_auc stratified bootstrap 2,000 x 100,000 ({kind})",
                          (lambda c=cont: setup_boot(continuous=c)),
                          lambda d: roc_auc(d["y"], d["s1"], ci_method="bootstrap", n_boot=2000, seed=1),
                          [Peer("loop of sklearn roc_auc_score", fn=sk_loop, repeat=1),
                           Peer("R pROC ci.auc bootstrap", r_code=boot_r, repeat=1)],
                          repeat=3, target="at least 20x faster than pROC and than a loop of sklearn"))
    from validation.stats.predictive import harrell_c

    def setup_c(n=100_000):
        rng = np.random.default_rng(8)
        s = rng.standard_normal(n)
        t = rng.exponential(np.exp(-0.5 * s)) * 365
        c = rng.uniform(0, 3 * 365, n)
        return pd.DataFrame({"time": np.minimum(t, c), "event": (t <= c).astype(int), "s": s})

    harrell = Case("harrell_c: 100,000 cases", setup_c, lambda d: harrell_c(d["time"], d["event"], d["s"]),
                   [Peer("R survival::concordance",
                         r_code="survival::concordance(survival::Surv(d$time, d$event) ~ d$s, reverse = TRUE)",
                         repeat=3)],
                   repeat=5, target="O(n log n), under 1 second")
    return [auc, test, *boots, harrell]


def factor_cases() -> list[Case]:
    from validation.stats.factor import parallel_analysis, polychoric

    def ordinal():
        rng = np.random.default_rng(5)
        f = rng.standard_normal((5000, 4))
        load = np.kron(np.eye(4), np.ones((1, 6))) * 0.7
        y = f @ load + 0.7 * rng.standard_normal((5000, 24))
        return pd.DataFrame(np.digitize(y, [-1.5, -0.8, -0.2, 0.4, 1.0, 1.6]) + 1,
                            columns=[f"i{j + 1}" for j in range(24)]).astype(float)

    poly = Case("polychoric: 5,000 x 24, 7 categories", ordinal, lambda d: polychoric(d),
                [Peer("R psych::polychoric", r_code="psych::polychoric(d)", repeat=2)],
                repeat=3, target="at least 3x faster than psych::polychoric")
    pa = Case("parallel_analysis: 5,000 x 24, 100 iterations", ordinal,
              lambda d: parallel_analysis(d, n_iter=100, seed=1),
              [Peer("R psych::fa.parallel",
                    r_code='psych::fa.parallel(d, n.iter = 100, fa = "both", plot = FALSE)',
                    r_setup="options(mc.cores = 1)", repeat=1)],
              repeat=3, target="under 2 seconds")
    return [poly, pa]


def cfa_cases() -> list[Case]:
    import semopy
    from validation.stats.cfa import cfa, invariance

    model = "\n".join(f"F{f + 1} =~ " + " + ".join(f"i{6 * f + j + 1}" for j in range(6)) for f in range(4))

    def setup():
        rng = np.random.default_rng(9)
        phi = 0.3 + 0.7 * np.eye(4)
        f = rng.multivariate_normal(np.zeros(4), phi, 5000)
        y = f @ (np.kron(np.eye(4), np.ones((1, 6))) * 0.7) + 0.7 * rng.standard_normal((5000, 24))
        d = pd.DataFrame(y, columns=[f"i{j + 1}" for j in range(24)])
        d["g"] = np.where(np.arange(5000) % 2 == 0, "A", "B")
        return d

    def semopy_fit(d):
        m = semopy.Model(model)
        m.fit(d.drop(columns="g"))
        return semopy.calc_stats(m)

    lav_fit = f'lavaan::fitMeasures(lavaan::cfa("{model}", data = d[, 1:24]))'
    lav_inv = (f'{{ m <- "{model}"; a <- lavaan::cfa(m, d, group = "g"); '
               'b <- lavaan::cfa(m, d, group = "g", group.equal = "loadings"); '
               'c <- lavaan::cfa(m, d, group = "g", group.equal = c("loadings", "intercepts")); '
               'lapply(list(a, b, c), lavaan::fitMeasures); lavaan::lavTestLRT(a, b, c) }')
    one = Case("cfa ML: 5,000 x 24, 4 factors (fit measures)", setup,
               lambda d: cfa(model, d.drop(columns="g"), modindices=0),
               [Peer("semopy fit + calc_stats", fn=semopy_fit, repeat=3),
                Peer("R lavaan cfa + fitMeasures", r_code=lav_fit, repeat=3)],
               repeat=5, target="no slower than lavaan")
    inv = Case("invariance: configural/metric/scalar, 2 groups x 2,500", setup,
               lambda d: invariance(model, d, "g", partial=False, modindices=0),
               [Peer("R lavaan 3 fits + fitMeasures + LRT", r_code=lav_inv, repeat=2)],
               repeat=3, target="under 2x lavaan")
    return [one, inv]


ORDINAL_FIGURES = ("chisq", "df", "chisq.scaled", "df.scaled", "chisq.scaling.factor", "cfi.scaled", "tli.scaled",
                   "rmsea.scaled", "cfi.robust", "tli.robust", "rmsea.robust", "srmr")


def ordinal_cfa_cases() -> list[Case]:
    from validation.stats.cfa import cfa, invariance

    items = [f"i{j + 1}" for j in range(24)]
    model = f"F1 =~ {' + '.join(items[:12])}\nF2 =~ {' + '.join(items[12:])}"

    def setup():
        rng = np.random.default_rng(12)
        f = rng.multivariate_normal(np.zeros(2), [[1.0, 0.4], [0.4, 1.0]], 5000)
        y = f @ (np.kron(np.eye(2), np.ones((1, 12))) * 0.7) + 0.7 * rng.standard_normal((5000, 24))
        d = pd.DataFrame(np.digitize(y, [-0.8, 0.1, 0.9]) + 1, columns=items)
        d["g"] = np.array(["A", "B", "C"])[np.arange(5000) % 3]
        return d

    def fit_figures(res) -> dict[str, float]:
        out = {k: float(res.fit[k]) for k in ORDINAL_FIGURES}
        for p in res.parameters:
            out[f"est:{p.lhs}{p.op}{p.rhs}"] = p.est
            out[f"se:{p.lhs}{p.op}{p.rhs}"] = p.se
        return out

    def steps_figures(res) -> dict[str, float]:
        out = {}
        for i, st in enumerate(res.steps, start=1):
            out.update({f"{k}.{i}": float(st.fit[k]) for k in ("chisq.scaled", "df", "cfi.scaled", "rmsea.scaled")})
            if i > 1:
                out[f"chisq.diff.{i}"], out[f"p.diff.{i}"] = st.chisq_diff, st.pvalue
        return out

    fm = "c(" + ", ".join(f'"{k}"' for k in ORDINAL_FIGURES) + ")"
    lav_one = f'lavaan::cfa("{model}", data = d[, 1:24], ordered = TRUE, estimator = "WLSMV")'
    lav_one_values = (f"{{ pe <- lavaan::parameterEstimates(v); key <- paste0(pe$lhs, pe$op, pe$rhs); "
                      f"c(lavaan::fitMeasures(v, {fm}), setNames(pe$est, paste0('est:', key)), "
                      f"setNames(pe$se, paste0('se:', key))) }}")
    lav_inv = (f'{{ m <- "{model}"; '
               'fits <- lapply(list("", "thresholds", c("thresholds", "loadings")), function(e) '
               'lavaan::cfa(m, d, group = "g", ordered = TRUE, estimator = "WLSMV", group.equal = e)); '
               'lapply(fits, lavaan::fitMeasures); list(fits = fits, lrt = lavaan::lavTestLRT(fits[[1]], fits[[2]], fits[[3]])) }')
    lav_inv_values = ('{ fm <- lapply(v$fits, lavaan::fitMeasures, c("chisq.scaled", "df", "cfi.scaled", "rmsea.scaled")); '
                      'out <- unlist(lapply(seq_along(fm), function(i) setNames(fm[[i]], paste0(names(fm[[i]]), ".", i)))); '
                      'c(out, chisq.diff.2 = v$lrt[2, "Chisq diff"], p.diff.2 = v$lrt[2, "Pr(>Chisq)"], '
                      'chisq.diff.3 = v$lrt[3, "Chisq diff"], p.diff.3 = v$lrt[3, "Pr(>Chisq)"]) }')
    one = Case("cfa WLSMV: 5,000 x 24, 4 categories, 2 factors", setup,
               lambda d: cfa(model, d[items], estimator="WLSMV", ordered=True),
               [Peer("R lavaan WLSMV + fitMeasures", r_code=lav_one, r_values=lav_one_values, repeat=3)],
               repeat=5, target="no slower than lavaan, every figure equal", figures=fit_figures)
    groups = Case("cfa WLSMV: 3 groups x 1,667, configural", setup,
                  lambda d: cfa(model, d, group="g", estimator="WLSMV", ordered=True),
                  [Peer("R lavaan WLSMV 3 groups", r_code=lav_one.replace("d[, 1:24]", 'd, group = "g"'),
                        r_values=f"lavaan::fitMeasures(v, {fm})", repeat=2)],
                  repeat=3, target="no slower than lavaan", figures=fit_figures)
    inv = Case("invariance WLSMV: 3 groups, configural/thresholds/loadings", setup,
               lambda d: invariance(model, d, "g", estimator="WLSMV", ordered=True),
               [Peer("R lavaan 3 fits + LRT", r_code=lav_inv, r_values=lav_inv_values, repeat=2)],
               repeat=3, target="no slower than lavaan", figures=steps_figures)
    return [one, groups, inv]


def _import_the_analysis() -> None:
    import validation.pipeline.plan as plan
    import validation.pipeline.stages.predictive  # noqa: F401
    import validation.stats.agreement  # noqa: F401
    import validation.stats.predictive  # noqa: F401

    plan.FIGURES


def planning_cases() -> list[Case]:
    """Replicates per second of the planner at 1, 2 and 4 Dask workers, beside the same replicates run
    in this process without Dask (the scheduling overhead is the difference at one worker)."""
    from pathlib import Path
    import tempfile

    from validation.pipeline.config import load_config
    from validation.pipeline.plan import grid, plan_context, run_batch, run_plan

    root = Path(__file__).resolve().parents[1]
    reps = 96

    def setup():
        return {**plan_context(root, load_config(root)), "population_cases": 300}, grid([300], [])

    def dask_run(workers):
        def run(d):
            ctx, cells = d
            with tempfile.TemporaryDirectory() as tmp:
                run_plan(ctx, cells, reps, Path(tmp), workers=workers, batch=6, say=lambda s: None)
        return run

    def in_process(d):
        from threadpoolctl import threadpool_limits

        ctx, cells = d
        with threadpool_limits(1):       # as a Dask worker process runs (one BLAS thread): compare like with like
            run_batch(cells[0], 0, reps, ctx)

    def start_and_stop(d):
        from distributed import Client, LocalCluster

        # the start-up a run pays before its first replicate: the worker process and its imports
        with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster:
            with Client(cluster) as client:
                client.submit(_import_the_analysis, pure=False).result()

    return [Case(f"plan: {reps} replicates of 300 cases, Dask 1 worker", setup, dask_run(1),
                 [Peer("Dask, 2 workers", fn=dask_run(2), repeat=1), Peer("Dask, 4 workers", fn=dask_run(4), repeat=1),
                  Peer("in process, no Dask, 1 BLAS thread", fn=in_process, repeat=2),
                  Peer("LocalCluster start-up (worker, imports) and stop", fn=start_and_stop, repeat=2, work=False)],
                 repeat=2, work=("replicates", reps),
                 target="replicates per second by workers; scheduling overhead at 1 worker = "
                        "(Dask - start and stop - in process) / Dask, under 10%")]


def agreement_more_cases() -> list[Case]:
    import krippendorff
    from validation.stats.agreement import krippendorff_alpha

    def setup():
        rng = np.random.default_rng(6)
        t = rng.integers(1, 4, 2000)[:, None]
        x = np.clip(t + rng.integers(-1, 2, (2000, 3)) * (rng.random((2000, 3)) < 0.3), 1, 3).astype(float)
        x[rng.random(x.shape) < 0.05] = np.nan
        return x

    point = Case("krippendorff_alpha ordinal: 2,000 x 3, 5% missing", setup,
                 lambda x: krippendorff_alpha(x, level="ordinal", n_boot=0),
                 [Peer("krippendorff package", fn=lambda x: krippendorff.alpha(reliability_data=x.T,
                                                                              level_of_measurement="ordinal"))],
                 repeat=9, target="point estimate no slower than the krippendorff package")
    boot = Case("krippendorff_alpha ordinal + 2,000 bootstrap: 2,000 x 3", setup,
                lambda x: krippendorff_alpha(x, level="ordinal", n_boot=2000, seed=1), [],
                repeat=3, target="under 1 second")
    return [point, boot]


def training_cases() -> list[Case]:
    """The rater-training analyses at the issue's size: 200 trainees, 12 vignettes an occasion (24 in two
    parallel sets), 46 indicators, 2 occasions. The per-trainee agreement with its 2,000-replicate bootstrap
    beside a loop that bootstraps each trainee and occasion on its own; the cumulative-link mixed model of the last
    occasion's 34 indicators (80,000 ratings) beside R's ordinal::clmm on the same rows."""
    from validation.battery.synthetic import SyntheticConfig, training_tables
    from validation.stats.rater_training import agreement_with_key, rater_facets

    vera, _ = _instruments()
    ind, add, summ = list(vera.indicators), list(vera.additional), vera.summary_column
    cols = ind + add + [summ]
    codes = {str(c).lower(): int(v) for c, v in vera.rating.scores.items()}
    codes.update({str(c).lower(): i + 1 for i, c in enumerate(vera.summary.codes)})

    def setup():
        ratings, key, _ = training_tables(SyntheticConfig(n_trainees=200, vignettes_per_set=12,
                                                          truth_draws=1000), vera)
        for frame in (ratings, key):
            frame[add] = frame[add].astype(int)
        return ratings.set_index("vignette_id"), key.set_index("vignette_id")

    def agreement(d):
        ratings, key = d
        for occ in ("1", "2"):
            sub = ratings[ratings["occasion"] == occ]
            agreement_with_key(sub[cols + ["trainee_id"]], key[cols], additional=add, summary=summ, n_boot=2000,
                               random_state=1, codes=codes)

    def one_by_one(d):
        # each trainee on their own, 2,000 replicates each, every trainee and occasion
        ratings, key = d
        for (occ, tid), rows in ratings.groupby(["occasion", "trainee_id"]):
            agreement_with_key(rows[cols + ["trainee_id"]], key[cols], additional=add, summary=summ, n_boot=2000,
                               random_state=1, codes=codes)

    def facets_rows(d):
        ratings, key = d
        last = ratings[ratings["occasion"] == "2"]
        return last[ind + ["trainee_id"]], key[ind]

    def facets(d):
        rows, key = facets_rows(d)
        return rater_facets(rows, key, ind, codes=codes)

    def long_frame(d):
        import validation.stats.clmm as clmm_module

        captured = {}
        original = clmm_module.cumulative_link_mixed

        def spy(data, *args, **kwargs):
            captured["d"] = data.rename(columns={"key 2": "key2", "key 3": "key3"})
            raise StopIteration

        clmm_module.cumulative_link_mixed = spy
        try:
            facets(d)
        except StopIteration:
            pass
        finally:
            clmm_module.cumulative_link_mixed = original
        return captured["d"]

    def facets_figures(res) -> dict[str, float]:
        out = {name: float(v) for name, v in res.fit.coefficients["estimate"].items()}
        out.update({f"sd:{f}": float(v) for f, v in res.fit.sds["sd"].items()})
        out["logLik"] = res.fit.log_likelihood
        return {k.replace("key ", "key"): v for k, v in out.items()}

    clmm_r = ("ordinal::clmm(factor(rating) ~ key2 + key3 + (1 | trainee) + (1 | vignette) + (1 | indicator), "
              "data = d)")
    clmm_values = ('{ s <- sapply(ordinal::VarCorr(v), function(m) sqrt(m[1, 1])); '
                   'c(coef(v), setNames(s, paste0("sd:", names(s))), logLik = as.numeric(logLik(v))) }')
    return [Case("agreement_with_key: 200 trainees x 12 vignettes x 34, 2 occasions, 2,000 bootstrap", setup,
                 agreement, [Peer("each trainee and occasion bootstrapped alone", fn=one_by_one, repeat=1)],
                 repeat=2, target="the training stage under 20 s"),
            Case("rater_facets (clmm): 200 trainees x 12 vignettes x 34 indicators", setup, facets,
                 [Peer("R ordinal::clmm", r_code=clmm_r, r_values=clmm_values, repeat=1)],
                 to_frame=long_frame, repeat=2, target="under 10 s; clmm's figures (its default tolerances)",
                 figures=facets_figures)]


def fairness_cases() -> list[Case]:
    """The fairness analyses of the synthetic battery at 6,000 cases (four grouping variables, 2,000 bootstrap
    replicates), beside R doing the same fits (glm with profile confint for the three Cleary models, the
    calibration models, pROC per group and the unpaired tests) for one variable, site."""
    import tempfile
    from pathlib import Path

    from validation.battery.contract import load_tables
    from validation.battery.synthetic import SyntheticConfig, generate
    from validation.pipeline.config import load_config
    from validation.pipeline.stages.fairness import _pooled_risk, analysis_frame, variable_block

    vera, sq = _instruments()
    root = Path(__file__).resolve().parents[1]
    config = load_config(root)

    def setup():
        b = generate(SyntheticConfig(n_cases=6000, n_trainees=0, missed_occasion=0, truth_draws=20_000), vera, sq)
        with tempfile.TemporaryDirectory() as tmp:
            for name, frame in b.tables().items():
                frame.to_csv(Path(tmp) / f"{name}.csv", index=False)
            t = load_tables(tmp, vera, sq)
        tables = {"cases": t.cases, "vera_ratings": t.vera_ratings, "sq_responses": t.sq_responses,
                  "outcomes": t.outcomes}
        d, info = analysis_frame(tables, vera, sq, config)
        h = d[d["in_horizon"]]
        d["risk"] = np.nan
        d.loc[h.index, "risk"] = _pooled_risk(h, config.fairness.score)[0]
        return d, info

    def project(data):
        d, info = data
        p = config.fairness
        return {var: variable_block(d, var, p, info["flags"], 5, i) for i, var in enumerate(p.groups)}

    def frame(data):
        d, _ = data
        h = d[d["in_horizon"] & d["site"].notna()]
        return pd.DataFrame({"y": h["y"].to_numpy(), "score": h["risk_total"].to_numpy(),
                             "site": h["site"].astype(str).to_numpy(), "p": h["risk"].to_numpy()})

    r_code = ('{ d$site <- factor(d$site); m0 <- glm(y ~ score, binomial, d); '
              'm1 <- glm(y ~ score + site, binomial, d); m2 <- glm(y ~ score * site, binomial, d); '
              'a <- anova(m0, m1, m2, test = "LRT"); '
              'ci <- suppressMessages(list(MASS:::confint.glm(m1), MASS:::confint.glm(m2))); '
              'cal <- lapply(split(d, d$site), function(s) { lp <- qlogis(s$p); '
              'list(suppressMessages(MASS:::confint.glm(glm(y ~ offset(lp), binomial, s))), '
              'suppressMessages(MASS:::confint.glm(glm(y ~ lp, binomial, s)))) }); '
              'r <- lapply(split(d, d$site), function(s) pROC::roc(s$y, s$score, levels = c(0, 1), direction = "<", '
              'quiet = TRUE)); lapply(r, pROC::ci.auc, method = "delong"); '
              'lapply(r[-1], function(x) pROC::roc.test(x, r[[1]], method = "delong", paired = FALSE)) }')
    def site_only(data):
        from validation.stats.fairness import calibration_by_group, differential_prediction, discrimination_by_group

        f = frame(data)
        y, sc, g = f["y"].to_numpy(), f["score"].to_numpy(), f["site"].to_numpy()
        differential_prediction(y, sc, g, n_boot=10, random_state=1, tiers=(1, 2, 3))
        calibration_by_group(y, f["p"].to_numpy(), g, tiers=(1, 2, 3))
        discrimination_by_group(y, sc, g, tiers=(1, 2, 3))

    return [Case("fairness: 6,000 cases, 4 grouping variables, 2,000 bootstrap replicates", setup, project,
                 [Peer("R: the same fits for site alone (no bootstrap, no Cox)", r_code=r_code, repeat=2,
                       work=False)],
                 to_frame=frame, repeat=2, target="the fairness stage under 30 s at 6,000 cases"),
            Case("fairness fits for site alone (Cleary with profile intervals, calibration, AUCs and tests)", setup,
                 site_only, [Peer("R glm + MASS confint + pROC", r_code=r_code, repeat=3)], to_frame=frame,
                 repeat=3, target="no slower than R")]


def all_cases() -> list[Case]:
    out: list[Case] = []
    for make in (synthesize_cases, reliability_cases, factor_cases, cfa_cases, ordinal_cfa_cases, planning_cases, agreement_cases, agreement_more_cases,
                 predictive_cases, training_cases, fairness_cases):
        try:
            out.extend(make())
        except ImportError as exc:  # a peer missing on this machine
            print(f"(skipping {make.__name__}: {exc})")
    return out
