"""Site bundles: what one site sends out of the country, and how bundles are pooled.

``make_bundle`` checks a site's four tables against the data contract and writes a folder holding only
aggregates: the sufficient statistics that give the full-data figure when added across sites (pairwise
item sums for alpha, counts of events and non-events at each score for the AUC with DeLong's
interval, the rating table of the summary judgement for weighted kappa) and the site's own estimates
with their variances for the figures that cannot be pooled exactly (omega; and the exact ones again,
for the meta-analysis when a site's table had to be withheld). No case key, rater key, free text or
date leaves: a table with a count of 1 to k-1 cases is withheld whole (so no cell can be recovered
from the others) and the site's estimate is sent instead, when its counts allow. ``manifest.json``
names the instrument definitions (SHA-256), the package version, the parameters used, the site, the
counts and the SHA-256 of every part; ``manifest.sha256`` holds the hash of the manifest, so a changed
byte anywhere is found. ``what_leaves.txt`` and ``what_leaves.html`` beside the parts say in words what the site sends.

``pool_bundles`` checks every bundle (hashes, one instrument definition, the same parameters) and
writes the key figures in the schema of ``reports/metrics/summary.json``, each with its ``pooling``:
``"exact"`` from the added statistics, or ``"random-effects"`` (:func:`validation.stats.meta.random_effects`
on the scale that makes the estimate about normal) with tau2, I2, Q and the prediction interval.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd
from scipy.stats import norm

from validation import __version__
from validation.battery.contract import load_tables
from validation.battery.scoring import primary_ratings, sq_keyed
from validation.pipeline.config import Config
from validation.pipeline.inputs import estimate
from validation.pipeline.outputs import dumps
from validation.pipeline.publish import protect_cutoffs
from validation.report.across_sites import what_leaves_page
from validation.stats.agreement import cohen_kappa
from validation.stats.meta import pooled_on_scale
from validation.stats.pooling import (PairwiseSums, add_pairwise_sums, add_roc_counts, alpha_from_sums,
                                      auc_from_counts, pairwise_sums, pattern_moments, roc_counts,
                                      rows_with_moments)
from validation.stats.predictive import harrell_c, roc_auc
from validation.stats.survival import cox
from validation.stats.reliability import omega
from validation.stats.results import NotEstimable

FORMAT = "validation-site-bundle/2"
PREDICTOR_LABELS = {"risk_total": "risk total", "summary_risk": "summary judgement"}   # as the report names them
PARTS = ("reliability", "predictive", "agreement", "structure")


class BundleError(ValueError):
    """A bundle that cannot be made or cannot be pooled (exit 2), with the reason."""


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _file_sha256(path: Path) -> str:
    return _sha256(path.read_bytes())


def _whole(counts: Any, k: int) -> bool:
    """No count of 1 to k - 1 cases (the disclosure rule): the table can leave whole."""
    a = np.asarray(counts, dtype=float)
    return not np.any((a >= 1) & (a < k))


def _small(counts: Any, k: int) -> int:
    a = np.asarray(counts, dtype=float)
    return int(np.sum((a >= 1) & (a < k)))


# ----------------------------------------------------------------------------------------------
# making a bundle


def _reliability_part(t: dict, vera, sq, config: Config, k: int, withheld: list[str]) -> dict:
    p = config.reliability
    ratings = primary_ratings(t["vera_ratings"])
    sq1 = t["sq_responses"][t["sq_responses"]["occasion"] == 1]
    keyed = sq_keyed(sq1, sq)
    blocks = [(f"VERA-2R {d.code}", ratings[list(d.items)].astype(float)) for d in vera.domains]
    blocks += [(f"SQ {s.code}", keyed[list(s.items)].astype(float)) for s in sq.scales]
    out = {}
    for name, x in blocks:
        sums = pairwise_sums(x)
        entry: dict[str, Any] = {"items": list(sums.items), "n_cases": sums.n_cases}
        if sums.n_cases >= k and _whole(sums.n, k):
            entry["pairwise"] = {"n": sums.n.tolist(), "sums": sums.sums.tolist(), "cross": sums.cross.tolist(),
                                 "n_complete": sums.n_complete}
        else:
            withheld.append(f"{name}: pairwise item sums withheld ({_small(sums.n, k)} pair count(s) of 1 to {k - 1} "
                            "cases); alpha is pooled by meta-analysis")
        if sums.n_cases >= k:
            try:
                a, _ = alpha_from_sums(sums, None)
                entry["alpha"] = {"estimate": a, "k": len(sums.items), "n": sums.n_cases}
            except NotEstimable as exc:
                entry["alpha"] = {"not_estimable": str(exc)}
            try:
                om = omega(x, ci=p.ci, missing=p.omega_missing)
                se = om.se if om.se is not None else (
                    (om.ci.upper - om.ci.lower) / (2 * float(norm.ppf(0.5 + om.ci.level / 2))) if om.ci is not None
                    else math.nan)
                entry["omega"] = {"estimate": om.omega, "se": se, "n": sums.n_cases}
            except NotEstimable as exc:
                entry["omega"] = {"not_estimable": str(exc)}
        out[name] = entry
    return out


def _predictive_part(t: dict, vera, sq, config: Config, k: int, withheld: list[str]) -> dict:
    from validation.pipeline.stages.predictive import RISK_TOTAL, SUMMARY, cutoff_specs, predictors

    st = config.predictive
    frame, direction = predictors(t, vera, sq, st.not_rated_rule, st.min_rated)
    cuts = cutoff_specs(vera, st)
    out: dict[str, dict] = {}
    for outcome in st.outcomes:
        o = t["outcomes"][t["outcomes"]["outcome"] == outcome][["case_id", "event", "time_days"]].dropna()
        d = frame.merge(o, on="case_id", how="inner")
        out[outcome] = {}
        for name in (RISK_TOTAL, SUMMARY):
            sub = d[["event", "time_days", name]].dropna()
            y = sub["event"].to_numpy(dtype=int)
            s = sub[name].to_numpy(dtype=float)
            ev, ne = int(y.sum()), int(len(y) - y.sum())
            entry: dict[str, Any] = {"direction": direction[name], "cutoffs": cuts[name]}
            if min(ev, ne) < k:
                withheld.append(f"{outcome}: {name}: {'events' if ev < k else 'non-events'} fewer than {k}; "
                                "nothing about this AUC is sent")
                out[outcome][name] = {**entry, "withheld": True}
                continue
            entry.update(events=ev, non_events=ne)
            levels, e_at, n_at = roc_counts(y, s)
            if _whole(e_at, k) and _whole(n_at, k):
                entry["counts"] = {"levels": levels.tolist(), "events": e_at.tolist(), "non_events": n_at.tolist()}
            else:
                withheld.append(f"{outcome}: {name}: score counts withheld ({_small(e_at, k) + _small(n_at, k)} of "
                                f"{2 * levels.size} cells hold 1 to {k - 1} cases); the AUC is pooled by "
                                "meta-analysis")
            if min(ev, ne) >= st.min_events:
                res = roc_auc(y, s, ci=st.ci, direction=direction[name])
                entry["auc"] = {"estimate": res.auc, "variance": res.variance}
                time = sub["time_days"].to_numpy(dtype=float)
                entry["harrell_c"] = estimate(_harrell_c, time, y, s, st.ci, direction[name])
                entry["cox_per_sd"] = estimate(_cox_per_sd, time, y, s)
            else:
                entry["auc"] = {"not_estimable": f"{ev} events and {ne} non-events at this site, fewer than "
                                                 f"{st.min_events}"}
            out[outcome][name] = entry
    return out


def _harrell_c(time: np.ndarray, event: np.ndarray, s: np.ndarray, ci: float, direction: str) -> dict:
    """The site's Harrell's C with its variance."""
    c = harrell_c(time, event, s, ci=ci, direction=direction)
    return {"estimate": c.c, "variance": c.variance}


def _cox_per_sd(time: np.ndarray, event: np.ndarray, s: np.ndarray) -> dict:
    """The site's log hazard ratio per one SD of the score (its own SD) with its standard error."""
    sd = float(np.std(s, ddof=1))
    if not sd > 0:
        raise NotEstimable("not estimable: the score is constant at this site")
    term = cox(time, event, pd.DataFrame({"score": s / sd})).terms[0]
    return {"estimate": math.exp(term.coef), "log_hr": term.coef, "variance_log": term.se ** 2}


def _rating_table(x: np.ndarray, y: np.ndarray, levels: list[int]) -> np.ndarray:
    table = np.zeros((len(levels), len(levels)), dtype=int)
    np.add.at(table, (np.searchsorted(levels, x), np.searchsorted(levels, y)), 1)
    return table


def _kappa_entry(name: str, a: pd.Series, b: pd.Series, levels: list[int], p, k: int, withheld: list[str]) -> dict:
    """The rating table of two raters' paired ratings (whole, or withheld with the reason) and the site's
    quadratically weighted kappa with its SE."""
    ok = (a.notna() & b.notna()).to_numpy()
    x, y = a[ok].astype(int).to_numpy(), b[ok].astype(int).to_numpy()
    entry: dict[str, Any] = {"levels": levels, "n_pairs": int(ok.sum()), "weights": "quadratic"}
    if int(ok.sum()) < k:
        withheld.append(f"{name}: {int(ok.sum())} rated pairs, fewer than {k}; nothing is sent")
        return {**entry, "withheld": True}
    table = _rating_table(x, y, levels)
    if _whole(table, k):
        entry["table"] = table.tolist()
    else:
        withheld.append(f"{name}: rating table withheld ({_small(table, k)} of {table.size} cells "
                        f"hold 1 to {k - 1} pairs); weighted kappa is pooled by meta-analysis")
    if int(ok.sum()) >= p.min_targets:
        try:
            res = cohen_kappa(x, y, weights="quadratic", levels=levels, ci=p.ci)
            entry["kappa"] = {"estimate": res.kappa, "se": res.se}
        except NotEstimable as exc:
            entry["kappa"] = {"not_estimable": str(exc)}
    return entry


def _icc_entry(res: Mapping, level: float) -> dict:
    """A site's REML ICC2 (= A,1) with the variance of its Fisher z, from the width of its parametric-
    bootstrap interval on that scale (the interval is close to symmetric there)."""
    if "not_estimable" in res:
        return {"not_estimable": res["not_estimable"]}
    form = res["forms"]["ICC2"]
    lo, hi = form["ci"]["lower"], form["ci"]["upper"]
    if not (-1 < lo < 1 and -1 < hi < 1 and hi > lo):
        return {"not_estimable": f"not estimable: the site's ICC interval [{lo:.3f}, {hi:.3f}] reaches the "
                                 "bound of the Fisher z scale"}
    z = float(norm.ppf(0.5 + level / 2))
    return {"estimate": form["icc"], "variance_z": ((math.atanh(hi) - math.atanh(lo)) / (2 * z)) ** 2,
            "n_targets": int(res["n_targets"])}


def _agreement_part(t: dict, vera, config: Config, k: int, withheld: list[str]) -> dict:
    from validation.battery.anonymity import anonymise
    from validation.battery.scoring import domain_totals
    from validation.pipeline.stages.agreement import first_two, reml_icc

    p = config.agreement
    rat = t["vera_ratings"]
    indep = rat[rat["role"] == "independent"].reset_index(drop=True)
    anon = anonymise(indep, all_raters=rat["rater_id"])
    anon1 = anon[anon["occasion"] == 1].reset_index(drop=True)
    a, b = first_two(anon1)
    col = vera.summary_column
    out: dict[str, Any] = {"summary_risk": _kappa_entry("summary risk judgement", a[col], b[col],
                                                        list(range(1, len(vera.summary.codes) + 1)), p, k, withheld)}
    levels = sorted({int(v) for v in vera.rating.scores.values()})
    out["indicators"] = {item: _kappa_entry(f"indicator {item}", a[item], b[item], levels, p, k, withheld)
                         for item in vera.indicators}
    codes = [d.code for d in vera.domains] + ["risk_total"]
    totals = pd.concat([anon1[["target", "rater"]], domain_totals(anon1, vera, p.not_rated_rule, p.min_rated)], axis=1)
    # the REML bootstraps run side by side in threads (numpy releases the GIL), each with its own seed
    with ThreadPoolExecutor(max_workers=max(1, min(len(codes), os.cpu_count() or 1))) as pool:
        fits = {c: pool.submit(reml_icc, totals[["target", "rater", c]].copy(), c, p, i) for i, c in enumerate(codes)}
        out["icc"] = {c: _icc_entry(f.result(), p.ci) for c, f in fits.items()}
    return out


def _missing_patterns(x: pd.DataFrame) -> np.ndarray:
    """Cases in each missing-data pattern of the items, the complete rows and the empty rows included (an
    empty-row count is a count too: with the others it would give itself away)."""
    _, counts = np.unique(x.notna().to_numpy(), axis=0, return_counts=True)
    return counts


def _moments_block(x: pd.DataFrame, k: int, patterns_wanted: bool, what: str, withheld: list[str]) -> dict:
    """The rows' count, their complete cases' moments and, when every missing-data pattern holds k cases or
    more, each pattern's moments (the full-information likelihood's sufficient statistics)."""
    complete = x.dropna()
    patterns = _missing_patterns(x)
    block: dict[str, Any] = {"n_rows": int(len(x)), "n_patterns": int(patterns.size),
                             "n_patterns_small": _small(patterns, k)}
    if len(complete) >= k:
        v = complete.to_numpy()
        block["moments"] = {"n": int(len(v)), "sums": v.sum(axis=0).tolist(), "cross": (v.T @ v).tolist()}
    else:
        withheld.append(f"{what}: {len(complete)} complete cases, fewer than {k}; no moments are sent")
    if block["n_patterns_small"]:
        withheld.append(f"{what}: {block['n_patterns_small']} of {patterns.size} missing-data patterns hold 1 to "
                        f"{k - 1} cases; pattern moments are not sent, so the pooled models use complete cases")
    elif patterns_wanted:
        block["pattern_moments"] = pattern_moments(x)
    return block


def _structure_part(t: dict, sq, config: Config, k: int, withheld: list[str]) -> dict:
    """The SQ items' moments, of the site and of each language at the site (complete cases; and each
    missing-data pattern's where all are whole): the ML CFA and the invariance models of all sites from
    their sums; and the site's own standardised loadings with their SEs (full-information ML)."""
    from validation.pipeline.stages.structure import measurement_model
    from validation.stats.cfa import cfa
    from validation.stats.results import to_dict

    sq1 = t["sq_responses"][t["sq_responses"]["occasion"] == 1]
    x = sq_keyed(sq1, sq).astype(float)
    model = measurement_model(sq)
    fiml = config.structure.cfa_missing == "ml"
    entry: dict[str, Any] = {"model": model, "items": list(x.columns),
                             **_moments_block(x, k, fiml, "SQ items", withheld), "languages": {}}
    language = sq1["language"].astype(str).to_numpy()
    for lang in sorted(set(language)):
        rows = x[language == lang]
        if len(rows) < k:
            withheld.append(f"SQ items, language {lang}: fewer than {k} administrations; nothing is sent")
            continue
        entry["languages"][lang] = _moments_block(rows, k, fiml, f"SQ items, language {lang}", withheld)
    try:
        d = to_dict(cfa(model, x, missing=config.structure.cfa_missing, modindices=None))
        entry["std_loadings"] = [{"factor": q["lhs"], "item": q["rhs"], "estimate": q["std_all"], "se": q["std_se"]}
                                 for q in d["parameters"] if q["op"] == "=~"]
    except NotEstimable as exc:
        entry["std_loadings"] = {"not_estimable": str(exc)}
    return {"sq": entry}


def _params_used(config: Config) -> dict:
    r, pr, ag = config.reliability, config.predictive, config.agreement
    return {"reliability": {"ci": r.ci, "omega_missing": r.omega_missing, "not_rated_rule": r.not_rated_rule},
            "predictive": {"ci": pr.ci, "outcomes": list(pr.outcomes), "not_rated_rule": pr.not_rated_rule,
                           "min_rated": pr.min_rated, "min_events": pr.min_events, "base_rates": list(pr.base_rates),
                           "risk_total_cutoffs": list(pr.risk_total_cutoffs),
                           "risk_total_cutoff_unit": pr.risk_total_cutoff_unit},
            "agreement": {"ci": ag.ci, "min_targets": ag.min_targets, "not_rated_rule": ag.not_rated_rule,
                          "min_rated": ag.min_rated, "reml_n_boot": ag.reml_n_boot, "seed": ag.seed},
            "structure": {"cfa_missing": config.structure.cfa_missing, "min_group_n": config.structure.min_group_n,
                          "invariance_criteria": config.structure.invariance_criteria.model_dump()},
            "k_anonymity": config.validate.k_anonymity}


SYNTHETIC_MARK = "SYNTHETIC.md"


def is_synthetic_folder(folder: Path) -> bool:
    """A folder of the synthetic battery (its truth.json), or split from one (its SYNTHETIC.md)."""
    return (Path(folder) / "truth.json").is_file() or (Path(folder) / SYNTHETIC_MARK).is_file()


def make_bundle(folder: Path, out: Path, root: Path, config: Config, site: str | None = None) -> dict:
    """Check one site's tables and write its bundle to ``out`` (a new or empty folder). Returns the
    manifest. Raises :class:`~validation.battery.contract.ContractError` for tables that break the
    contract and :class:`BundleError` when nothing usable could leave."""
    from validation.pipeline.common import load_instruments

    vera, sq = load_instruments(root, config)
    k = int(config.validate.k_anonymity)
    tables = load_tables(folder, vera, sq, k_anonymity=k)
    t = {name: getattr(tables, name) for name in ("cases", "vera_ratings", "sq_responses", "outcomes")}
    sites = sorted(t["cases"]["site"].dropna().astype(str).unique())
    label = site or (sites[0] if len(sites) == 1 else None)
    if label is None:
        raise BundleError(f"{folder} holds {len(sites)} sites ({', '.join(sites)}): a bundle is one site's; "
                          "name it with --site")
    n_cases = len(t["cases"])
    if n_cases < k:
        raise BundleError(f"{folder}: {n_cases} cases, fewer than k = {k}: nothing can leave the site")
    withheld: list[str] = []
    parts = {"reliability": _reliability_part(t, vera, sq, config, k, withheld),
             "predictive": _predictive_part(t, vera, sq, config, k, withheld),
             "agreement": _agreement_part(t, vera, config, k, withheld),
             "structure": _structure_part(t, sq, config, k, withheld)}
    out.mkdir(parents=True, exist_ok=True)
    if any(out.iterdir()):
        raise BundleError(f"{out} is not empty: write a bundle to a new folder")
    (out / "parts").mkdir()
    hashes = {}
    for name, part in parts.items():
        data = dumps(part).encode("utf-8")
        (out / "parts" / f"{name}.json").write_bytes(data)
        hashes[name] = _sha256(data)
    manifest = {
        "format": FORMAT, "site": label, "package_version": __version__, "synthetic": is_synthetic_folder(folder),
        "instruments": {"vera": {"name": vera.name, "sha256": _file_sha256(Path(vera.path))},
                        "sq": {"name": sq.name, "sha256": _file_sha256(Path(sq.path))}},
        "params": _params_used(config),
        "counts": {"cases": n_cases, "rating_forms": len(t["vera_ratings"]),
                   "sq_administrations": len(t["sq_responses"]), "outcome_rows": len(t["outcomes"])},
        "withheld": withheld, "parts": hashes,
    }
    mdata = dumps(manifest).encode("utf-8")
    (out / "manifest.json").write_bytes(mdata)
    (out / "manifest.sha256").write_text(_sha256(mdata) + "  manifest.json\n", encoding="utf-8")
    (out / "what_leaves.txt").write_text(what_leaves(manifest, parts), encoding="utf-8")
    (out / "what_leaves.html").write_text(what_leaves_page(manifest, parts), encoding="utf-8")
    return manifest


def what_leaves(manifest: Mapping, parts: Mapping) -> str:
    """The bundle in words: what the site sends, what it withheld and why."""
    lines = [f"Site bundle of {manifest['site']} ({manifest['format']}, validation {manifest['package_version']})",
             "", "What leaves the site: aggregates only; no case key, rater key, free text or date.",
             f"  {manifest['counts']['cases']} cases, {manifest['counts']['rating_forms']} rating forms, "
             f"{manifest['counts']['sq_administrations']} SQ administrations (counts only).", ""]
    rel = parts["reliability"]
    lines.append("Reliability (per VERA-2R domain and SQ scale): "
                 + ", ".join(f"{n} ({'pairwise item sums, ' if 'pairwise' in e else ''}alpha, omega)"
                             for n, e in rel.items()))
    for outcome, preds in parts["predictive"].items():
        lines.append(f"Predictive, {outcome}: " + ", ".join(
            f"{n} ({'withheld' if e.get('withheld') else ('score counts, ' if 'counts' in e else '') + 'AUC'})"
            for n, e in preds.items()))
    sr = parts["agreement"]["summary_risk"]
    lines.append("Agreement, summary risk judgement: "
                 + ("withheld" if sr.get("withheld") else ("rating table, " if "table" in sr else "") + "weighted kappa"))
    ind = parts["agreement"].get("indicators") or {}
    if ind:
        whole = sum("table" in e for e in ind.values())
        lines.append(f"Agreement, {len(ind)} indicators: {whole} rating tables whole, the others' weighted kappa only "
                     "(or nothing where fewer than k pairs)")
    icc = parts["agreement"].get("icc") or {}
    if icc:
        lines.append("Agreement, domain and risk totals: the site's REML ICC (A,1) with its variance: "
                     + ", ".join(f"{c}{'' if 'estimate' in e else ' (not estimable)'}" for c, e in icc.items()))
    sqs = (parts.get("structure") or {}).get("sq")
    if sqs:
        lines.append("Structure, SQ items: " + ("complete-case count, sums and cross-products, " if "moments" in sqs
                                                else "")
                     + (f"the count, sums and cross-products of each of its {len(sqs['pattern_moments'])} "
                        "missing-data patterns, " if "pattern_moments" in sqs else "")
                     + "the site's standardised loadings with their SEs")
    lines += ["", "Withheld (the disclosure rule: no count of 1 to k-1 cases leaves the site):"]
    lines += [f"  - {w}" for w in manifest["withheld"]] or ["  nothing"]
    lines += ["", "SHA-256 of every part (manifest.json; its own hash in manifest.sha256):"]
    lines += [f"  {name}: {h}" for name, h in manifest["parts"].items()]
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------------------------
# reading and pooling bundles


def read_bundle(path: Path) -> tuple[dict, dict]:
    """The manifest and parts of a bundle, after checking every hash."""
    path = Path(path)
    mpath, hpath = path / "manifest.json", path / "manifest.sha256"
    if not mpath.is_file() or not hpath.is_file():
        raise BundleError(f"{path}: not a site bundle (manifest.json and manifest.sha256 expected)")
    mdata = mpath.read_bytes()
    want = hpath.read_text(encoding="utf-8").split()[0] if hpath.read_text(encoding="utf-8").split() else ""
    if _sha256(mdata) != want:
        raise BundleError(f"{path}: manifest.json does not match its SHA-256 in manifest.sha256: the bundle was "
                          "changed after it was made; ask the site to send it again")
    try:
        manifest = json.loads(mdata)
    except json.JSONDecodeError as exc:
        raise BundleError(f"{path}: manifest.json is not JSON ({exc})") from None
    if manifest.get("format") != FORMAT:
        raise BundleError(f"{path}: format {manifest.get('format')!r}, expected {FORMAT!r}")
    parts = {}
    for name in PARTS:
        f = path / "parts" / f"{name}.json"
        if not f.is_file():
            raise BundleError(f"{path}: part {name} is missing")
        data = f.read_bytes()
        if _sha256(data) != manifest["parts"].get(name):
            raise BundleError(f"{path}: part {name} does not match its SHA-256 in the manifest: the bundle was "
                              "changed after it was made; ask the site to send it again")
        parts[name] = json.loads(data)
    return manifest, parts


def check_compatible(manifests: Sequence[Mapping], paths: Sequence[Path]) -> None:
    """One instrument definition and the same parameters in every bundle, and no site twice."""
    first = manifests[0]
    problems = []
    for m, p in zip(manifests[1:], paths[1:]):
        for inst in ("vera", "sq"):
            if m["instruments"][inst]["sha256"] != first["instruments"][inst]["sha256"]:
                problems.append(f"{p}: {inst} definition {m['instruments'][inst]['sha256'][:12]}, not "
                                f"{first['instruments'][inst]['sha256'][:12]} as in {paths[0]}")
        if m["params"] != first["params"]:
            diff = sorted(s for s in set(m["params"]) | set(first["params"])
                          if m["params"].get(s) != first["params"].get(s))
            problems.append(f"{p}: parameters {', '.join(diff)} differ from {paths[0]}")
    sites = [m["site"] for m in manifests]
    dup = sorted({s for s in sites if sites.count(s) > 1})
    if dup:
        problems.append(f"site(s) {', '.join(dup)} appear in more than one bundle")
    if problems:
        raise BundleError("the bundles cannot be pooled:\n  " + "\n  ".join(problems))


def _meta(ci: float, estimates: list[float], variances: list[float], scale: str, sites: list[str]) -> dict:
    """Random-effects pooling on a scale, with the sites' estimates for the forest plot."""
    res = pooled_on_scale(estimates, variances, scale, ci=ci)
    return {**res, "pooling": "random-effects", "k_sites": len(estimates),
            "site_estimates": [{"site": s, "estimate": e, "variance": v} for s, e, v in zip(sites, estimates, variances)]}


def _sites(sites: Sequence[str], estimates: Sequence[Mapping], variance) -> list[dict]:
    """The sites' own estimates (for the forest plot of an exactly pooled figure)."""
    return [{"site": s, "estimate": e["estimate"], "variance": variance(e)}
            for s, e in zip(sites, estimates) if isinstance(e, Mapping) and "estimate" in e]


def _bonett_alpha_variance(alpha: float, k: int, n: int) -> float:
    """Var of alpha on its own scale from Bonett's (2002) var(ln(1 - alpha)) = 2k / ((k - 1)(n - 2))."""
    return (1.0 - alpha) ** 2 * 2.0 * k / ((k - 1) * (n - 2))


def pool_parts(manifests: Sequence[Mapping], parts: Sequence[Mapping], ci: float = 0.95,
               min_events: int = 10) -> list[dict]:
    """The pooled figures: one record per figure, exact where every site sent its statistics whole."""
    sites = [m["site"] for m in manifests]
    out: list[dict] = []
    tables: list[dict] = []
    # reliability: alpha exact from pairwise sums; omega by meta-analysis
    for name in parts[0]["reliability"]:
        entries = [p["reliability"][name] for p in parts]
        if all("pairwise" in e for e in entries):
            sums = add_pairwise_sums([PairwiseSums(tuple(e["items"]), np.array(e["pairwise"]["n"]),
                                                   np.array(e["pairwise"]["sums"]), np.array(e["pairwise"]["cross"]),
                                                   int(e["n_cases"]), int(e["pairwise"]["n_complete"]))
                                      for e in entries])
            a, iv = alpha_from_sums(sums, ci)
            out.append({"label": f"{name} alpha", "kind": "alpha", "estimate": a, "ci_lower": iv.lower,
                        "ci_upper": iv.upper, "ci_level": ci, "n": sums.n_cases, "k": len(sums.items),
                        "pooling": "exact", "k_sites": len(entries), "scale": "bonett",
                        "site_estimates": _sites(sites, [e.get("alpha", {}) for e in entries],
                                                 lambda x: _bonett_alpha_variance(x["estimate"], x["k"], x["n"]))})
        else:
            ok = [(s, e["alpha"]) for s, e in zip(sites, entries) if "estimate" in e.get("alpha", {})]
            if ok:
                rec = _meta(ci, [a["estimate"] for _, a in ok],
                            [_bonett_alpha_variance(a["estimate"], a["k"], a["n"]) for _, a in ok], "bonett",
                            [s for s, _ in ok])
                out.append({"label": f"{name} alpha", "kind": "alpha", **rec, "ci_level": ci,
                            "n": sum(a["n"] for _, a in ok)})
        ok = [(s, e["omega"]) for s, e in zip(sites, entries)
              if "estimate" in e.get("omega", {}) and np.isfinite(e["omega"]["se"])]
        if ok:
            rec = _meta(ci, [o["estimate"] for _, o in ok], [o["se"] ** 2 for _, o in ok], "bonett", [s for s, _ in ok])
            out.append({"label": f"{name} omega", "kind": "omega", **rec, "ci_level": ci,
                        "n": sum(o["n"] for _, o in ok)})
    # predictive: AUC exact from score counts; else meta-analysis on the logit scale
    for outcome in parts[0]["predictive"]:
        for name in parts[0]["predictive"][outcome]:
            entries = [p["predictive"][outcome][name] for p in parts]
            label = f"{outcome}: AUC of the {PREDICTOR_LABELS.get(name, name)}"
            sent = [(s, e) for s, e in zip(sites, entries) if not e.get("withheld")]
            if sent and len(sent) == len(entries) and all("counts" in e for e in entries):
                if min(sum(e["events"] for e in entries), sum(e["non_events"] for e in entries)) < min_events:
                    continue                        # declined, as the full-data run declines it
                lv, ev, ne = add_roc_counts([(e["counts"]["levels"], e["counts"]["events"], e["counts"]["non_events"])
                                             for e in entries])
                res = auc_from_counts(lv, ev, ne, ci=ci, direction=entries[0]["direction"])
                if entries[0].get("cutoffs"):
                    tables.append({"outcome": outcome, "predictor": name, "pooling": "exact", "k_sites": len(entries),
                                   **_cutoffs_from_counts(lv, ev, ne, entries[0], ci,
                                                          manifests[0]["params"]["predictive"].get("base_rates"))})
                out.append({"label": label, "kind": "auc", "estimate": res.auc, "ci_lower": res.ci.lower,
                            "ci_upper": res.ci.upper, "ci_level": ci, "n": int(ev.sum() + ne.sum()),
                            "events": int(ev.sum()), "pooling": "exact", "k_sites": len(entries), "scale": "logit",
                            "site_estimates": _sites(sites, [e.get("auc", {}) for e in entries],
                                                     lambda x: x["variance"])})
            elif any("estimate" in e["auc"] for _, e in sent):
                sent = [(s, e) for s, e in sent if "estimate" in e["auc"]]
                rec = _meta(ci, [e["auc"]["estimate"] for _, e in sent], [e["auc"]["variance"] for _, e in sent], "logit",
                            [s for s, _ in sent])
                out.append({"label": label, "kind": "auc", **rec, "ci_level": ci,
                            "n": sum(e["events"] + e["non_events"] for _, e in sent),
                            "events": sum(e["events"] for _, e in sent)})
    # Harrell's C (logit scale) and the hazard ratio per SD (log scale): by meta-analysis only
    for outcome in parts[0]["predictive"]:
        for name in parts[0]["predictive"][outcome]:
            what = PREDICTOR_LABELS.get(name, name)
            entries = [(s, p["predictive"][outcome][name]) for s, p in zip(sites, parts)]
            cs = [(s, e["harrell_c"]) for s, e in entries if "estimate" in e.get("harrell_c", {})]
            if cs:
                rec = _meta(ci, [c["estimate"] for _, c in cs], [c["variance"] for _, c in cs], "logit", [s for s, _ in cs])
                out.append({"label": f"{outcome}: Harrell's C of the {what}", "kind": "c", **rec, "ci_level": ci,
                            "n": sum(e["events"] + e["non_events"] for s, e in entries if s in dict(cs)),
                            "events": sum(e["events"] for s, e in entries if s in dict(cs))})
            hrs = [(s, e["cox_per_sd"]) for s, e in entries if "estimate" in e.get("cox_per_sd", {})]
            if hrs:
                # on the log scale: the variance of log HR is the site's; to_scale's delta factor undone
                rec = _meta(ci, [h["estimate"] for _, h in hrs], [h["variance_log"] * h["estimate"] ** 2 for _, h in hrs],
                            "log", [s for s, _ in hrs])
                out.append({"label": f"{outcome}: hazard ratio per SD of the {what}", "kind": "hr", **rec,
                            "ci_level": ci, "events": sum(e["events"] for s, e in entries if s in dict(hrs))})
    # agreement: the REML ICC of each total by meta-analysis on Fisher's z
    min_pairs = int(manifests[0]["params"]["agreement"]["min_targets"])
    for code in parts[0]["agreement"].get("icc") or {}:
        ok = [(s, p["agreement"]["icc"][code]) for s, p in zip(sites, parts)
              if "estimate" in p["agreement"]["icc"].get(code, {})]
        if ok:
            label = f"ICC {code}, REML" if code != "risk_total" else "ICC risk total, REML"
            # the site's variance is on the z scale: undo to_scale's delta factor
            rec = _meta(ci, [e["estimate"] for _, e in ok],
                        [e["variance_z"] * (1 - e["estimate"] ** 2) ** 2 for _, e in ok], "fisher_z", [s for s, _ in ok])
            out.append({"label": label, "kind": "icc", **rec, "ci_level": ci, "k": 2,
                        "n": sum(e["n_targets"] for _, e in ok)})
    # the SQ model: ML CFA of all sites' complete cases from their added moments; loadings by meta-analysis
    if "structure" in parts[0]:
        out += _pooled_cfa(sites, [p["structure"]["sq"] for p in parts], ci)
        out.append({"kind": "invariance", "label": "SQ invariance",
                    "groupings": _pooled_invariance(sites, [p["structure"]["sq"] for p in parts],
                                                    manifests[0]["params"]["structure"])})
    # weighted kappa of the summary judgement and of each indicator, exact from the rating tables
    out += _pooled_kappa("summary risk judgement, weighted kappa", sites,
                         [p["agreement"]["summary_risk"] for p in parts], ci, min_pairs)
    for item in parts[0]["agreement"].get("indicators") or {}:
        out += [{**r, "indicator": item} for r in _pooled_kappa(f"indicator {item}, weighted kappa", sites,
                                                               [p["agreement"]["indicators"][item] for p in parts],
                                                               ci, min_pairs)]
    out += [{"kind": "cutoffs", "label": f"{t['outcome']}: cut-offs of the {PREDICTOR_LABELS.get(t['predictor'], t['predictor'])}",
             **t} for t in tables]
    return out


def _cutoffs_from_counts(levels: np.ndarray, events: np.ndarray, non_events: np.ndarray, entry: Mapping, ci: float,
                         base_rates: Sequence[float] | None) -> dict:
    """Sensitivity, specificity and the rest at the cut-offs, from the events and non-events at each score: the
    same table as the full data's (it depends on the data through these counts alone)."""
    from validation.stats.predictive import cutoff_table
    from validation.stats.results import to_dict

    y = np.repeat(np.r_[np.ones(levels.size), np.zeros(levels.size)].astype(int),
                  np.r_[events, non_events].astype(int))
    s = np.repeat(np.r_[levels, levels], np.r_[events, non_events].astype(int))
    spec = entry["cutoffs"]
    kw = {"base_rates": tuple(base_rates)} if base_rates else {}
    table = to_dict(cutoff_table(y, s, spec["thresholds"], ci=ci, direction=entry["direction"], **kw))
    return {"labels": spec["labels"], **spec.get("extra", {}), **table}


def _rows(block: Mapping, n_items: int) -> np.ndarray:
    """Rows carrying one missing-data pattern's moments (NaN where the pattern has no answer)."""
    out = np.full((block["n"], n_items), np.nan)
    out[:, block["observed"]] = rows_with_moments(block["n"], block["sums"], block["cross"])
    return out


def _group_rows(block: Mapping, n_items: int, fiml: bool) -> np.ndarray | None:
    """Rows carrying a group's pattern moments (full-information ML) or its complete cases' moments."""
    if fiml:
        return np.vstack([_rows(b, n_items) for b in block["pattern_moments"]]) if "pattern_moments" in block else None
    m = block.get("moments")
    return rows_with_moments(m["n"], m["sums"], m["cross"]) if m else None


def _pooled_invariance(sites: Sequence[str], entries: Sequence[Mapping], params: Mapping) -> dict:
    """The SQ model's invariance across sites and across languages, fitted as the structure stage fits it (the
    same groups kept, criteria and estimator) to rows carrying each group's moments: by full-information ML when
    every group sent its pattern moments (the full-data models exactly), else by ML on complete cases."""
    from validation.pipeline.config import StructureConfig
    from validation.pipeline.stages.structure import invariance_block

    p = StructureConfig(**params)
    items = entries[0]["items"]
    by_site = {s: [e] for s, e in zip(sites, entries)}
    by_language: dict[str, list[Mapping]] = {}
    for e in entries:
        for lang, b in (e.get("languages") or {}).items():
            by_language.setdefault(lang, []).append(b)
    out = {}
    for grouping, blocks in (("site", by_site), ("language", by_language)):
        sizes = {g: sum(b["n_rows"] for b in bs) for g, bs in blocks.items()}
        kept = [g for g in sorted(sizes) if sizes[g] >= p.min_group_n]
        used = [b for g in kept for b in blocks[g]] or [b for bs in blocks.values() for b in bs]
        fiml = p.cfa_missing == "ml" and all("pattern_moments" in b for b in used)
        how = "full-information ML on every group's missing-data patterns" if fiml else "complete cases (listwise)"
        frames, missing = [], []
        for g in kept:
            parts = [_group_rows(b, len(items), fiml) for b in blocks[g]]
            if any(r is None for r in parts):
                missing.append(g)
                continue
            frames.append(pd.DataFrame(np.vstack(parts), columns=items).assign(**{grouping: g}))
        if missing:
            out[grouping] = {"not_estimable": f"not estimable: a site withheld the complete-case moments of {grouping} "
                                              f"{', '.join(missing)} (fewer than k complete cases)",
                             "pooling": "exact", "how": how}
            continue
        frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=[*items, grouping])
        cfg = p if fiml else p.model_copy(update={"cfa_missing": "listwise"})
        out[grouping] = {**invariance_block(entries[0]["model"], frame, grouping, cfg, sizes=sizes),
                         "pooling": "exact", "how": how}
    return out


CFA_FIT = ("npar", "chisq", "df", "pvalue", "cfi", "tli", "rmsea", "rmsea.ci.lower", "rmsea.ci.upper", "srmr")


def _pooled_cfa(sites: Sequence[str], entries: Sequence[Mapping], ci: float) -> list[dict]:
    """The SQ model fitted by full-information ML to rows carrying every site's missing-data-pattern moments
    when each site sent them all (the same fit as on all their cases together), else by ML to the sites'
    summed complete-case moments (the fit of their complete cases together); and each standardised loading
    pooled by meta-analysis of the sites' loadings."""
    from validation.stats.cfa import cfa
    from validation.stats.results import to_dict

    out: list[dict] = []
    if all("pattern_moments" in e for e in entries):
        items = entries[0]["items"]
        rows = pd.DataFrame(np.vstack([_rows(b, len(items)) for e in entries for b in e["pattern_moments"]]),
                            columns=items)
        note = ("full-information ML on every site's missing-data patterns (each sent whole): the fit of all "
                "their cases together")
        try:
            d = to_dict(cfa(entries[0]["model"], rows, missing="ml", modindices=None))
            out.append({"label": "SQ CFA of the hypothesised model", "kind": "cfa", "pooling": "exact",
                        "k_sites": len(entries), "n": int(d["n"]), "missing": "ml",
                        "fit": {key: d["fit"].get(key) for key in CFA_FIT}, "converged": d["converged"], "note": note})
        except NotEstimable as exc:
            out.append({"label": "SQ CFA of the hypothesised model", "kind": "cfa", "pooling": "exact",
                        "k_sites": len(entries), "missing": "ml", "not_estimable": str(exc), "note": note})
    elif all("moments" in e for e in entries):
        items = entries[0]["items"]
        n = sum(e["moments"]["n"] for e in entries)
        sums = sum(np.array(e["moments"]["sums"]) for e in entries)
        cross = sum(np.array(e["moments"]["cross"]) for e in entries)
        mean = sums / n
        cov = (cross - n * np.outer(mean, mean)) / (n - 1)
        small = sum(e["n_patterns_small"] for e in entries)
        note = ("complete cases of every site (listwise)" + (
            f": {small} site missing-data pattern(s) hold fewer than k cases, so full-information ML across sites "
            "is not possible" if small else ""))
        try:
            # no mean structure, as the full-data CFA (its means are saturated: they change no fit but SRMR's)
            d = to_dict(cfa(entries[0]["model"], sample_cov=pd.DataFrame(cov, index=items, columns=items),
                            sample_nobs=int(n), modindices=None))
            out.append({"label": "SQ CFA of the hypothesised model", "kind": "cfa", "pooling": "exact",
                        "k_sites": len(entries), "n": int(n), "missing": "listwise",
                        "fit": {key: d["fit"].get(key) for key in CFA_FIT},
                        "converged": d["converged"], "note": note})
        except NotEstimable as exc:
            out.append({"label": "SQ CFA of the hypothesised model", "kind": "cfa", "pooling": "exact",
                        "k_sites": len(entries), "n": int(n), "missing": "listwise", "not_estimable": str(exc),
                        "note": note})
    loads = [(s, e["std_loadings"]) for s, e in zip(sites, entries) if isinstance(e.get("std_loadings"), list)]
    if len(loads) >= 2:
        for i, first in enumerate(loads[0][1]):
            ok = [(s, ls[i]) for s, ls in loads if ls[i]["se"] is not None and np.isfinite(ls[i]["se"])
                  and ls[i]["se"] > 0 and abs(ls[i]["estimate"]) < 1]
            if len(ok) < 2:
                continue
            rec = _meta(ci, [x["estimate"] for _, x in ok], [x["se"] ** 2 for _, x in ok], "fisher_z", [s for s, _ in ok])
            out.append({"label": f"SQ {first['factor']} =~ {first['item']}, standardised loading", "kind": "loading",
                        **rec, "ci_level": ci, "factor": first["factor"], "item": first["item"]})
    return out


def _pooled_kappa(label: str, sites: Sequence[str], entries: Sequence[Mapping], ci: float, min_pairs: int) -> list[dict]:
    """A weighted kappa from the sites' rating tables added up (exact), else by meta-analysis of the sites'
    kappas; nothing when neither is possible."""
    if all("table" in e for e in entries) and sum(e["n_pairs"] for e in entries) >= min_pairs:
        table = sum(np.array(e["table"]) for e in entries)
        try:
            res = cohen_kappa(table=table, weights="quadratic", levels=entries[0]["levels"], ci=ci)
        except NotEstimable:
            return []
        return [{"label": label, "kind": "kappa", "estimate": res.kappa, "ci_lower": res.ci.lower,
                 "ci_upper": res.ci.upper, "ci_level": ci, "n": int(table.sum()), "pooling": "exact",
                 "k_sites": len(entries), "scale": "identity",
                 "site_estimates": _sites(sites, [e.get("kappa", {}) for e in entries], lambda x: x["se"] ** 2)}]
    ok = [(s, e["kappa"]) for s, e in zip(sites, entries) if "estimate" in e.get("kappa", {})
          and math.isfinite(e["kappa"]["se"]) and e["kappa"]["se"] > 0]
    if not ok:
        return []
    rec = _meta(ci, [x["estimate"] for _, x in ok], [x["se"] ** 2 for _, x in ok], "identity", [s for s, _ in ok])
    return [{"label": label, "kind": "kappa", **rec, "ci_level": ci,
             "n": sum(e["n_pairs"] for e in entries if "estimate" in e.get("kappa", {}))}]


def pool_bundles(paths: Sequence[Path], report_params: Mapping | None = None) -> dict:
    """Read, check and pool bundles: the records of the pooled ``summary.json`` (``key_figures``), the SQ
    model fitted to the pooled moments (``models``) and its loadings pooled by meta-analysis (``loadings``)."""
    from validation.report.rules import merge_params
    from validation.report import verdicts as VD
    from validation.report.summary import record_id

    if not paths:
        raise BundleError("no bundle given")
    read = [read_bundle(Path(p)) for p in paths]
    manifests = [m for m, _ in read]
    check_compatible(manifests, [Path(p) for p in paths])
    ci = float(manifests[0]["params"]["predictive"]["ci"])
    figures = pool_parts(manifests, [pt for _, pt in read], ci, int(manifests[0]["params"]["predictive"]["min_events"]))
    rp = merge_params(report_params)
    thresholds = rp["thresholds"]
    records = []
    models = [f for f in figures if f["kind"] == "cfa"]
    loadings = [f for f in figures if f["kind"] == "loading"]
    # the cut-off tables are published: their small counts are suppressed as the predictive stage's are
    cutoffs = [protect_cutoffs(f, int(rp["k_suppress"])) for f in figures if f["kind"] == "cutoffs"]
    invariance = next((f["groupings"] for f in figures if f["kind"] == "invariance"), {})
    for f in figures:
        if f["kind"] in ("cfa", "loading", "cutoffs", "invariance"):
            continue        # a model's fit, its loadings, the cut-off tables: listed apart
        thr = thresholds.get(f["kind"])
        if thr is None:     # the report sets no cut-off for it (C, hazard ratio): reported, not judged
            v = VD.Verdict(None, "no cut-off: reported, not judged")
        else:
            v = VD.judge_estimate(f["kind"], f["estimate"], f.get("ci_lower"), f.get("ci_upper"), thr,
                                  level=f.get("ci_level"), n=f.get("n"), k=f.get("k"), events=f.get("events"))
        area = {"alpha": "reliability", "omega": "reliability", "auc": "predictive", "c": "predictive",
                "hr": "predictive", "kappa": "agreement", "icc": "agreement"}[f["kind"]]
        records.append({"id": record_id(area, f["label"]), "area": area, **f, "verdict": v.outcome,
                        "reason": v.reason})
    return {"sites": [m["site"] for m in manifests], "synthetic": any(m.get("synthetic") for m in manifests),
            "withheld": {m["site"]: m["withheld"] for m in manifests},
            "key_figures": records, "models": models, "loadings": loadings, "cutoffs": cutoffs,
            "invariance": invariance}


def split_by_site(folder: Path, out: Path) -> list[Path]:
    """Write one folder per site (the same four tables, the rows of that site's cases), as separate sites'
    exports would be; returns the folders."""
    tables = {}
    for name in ("cases", "vera_ratings", "sq_responses", "outcomes"):
        f = folder / f"{name}.csv"
        if not f.is_file():
            raise BundleError(f"{folder}: {name}.csv expected")
        tables[name] = pd.read_csv(f, dtype=str, keep_default_na=False)
    folders = []
    synthetic = is_synthetic_folder(folder)
    for site, cases in tables["cases"].groupby("site", sort=True):
        dest = out / str(site)
        dest.mkdir(parents=True, exist_ok=True)
        ids = set(cases["case_id"])
        cases.to_csv(dest / "cases.csv", index=False)
        for name in ("vera_ratings", "sq_responses", "outcomes"):
            t = tables[name]
            t[t["case_id"].isin(ids)].to_csv(dest / f"{name}.csv", index=False)
        if synthetic:
            (dest / SYNTHETIC_MARK).write_text(f"# Synthetic\n\nSite {site}'s rows of the synthetic battery in {folder}: "
                                               "simulated cases, no real person.\n", encoding="utf-8")
        folders.append(dest)
    return folders
