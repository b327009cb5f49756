"""The benchmark harness: cases, timing, R peers and the results table."""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import pandas as pd


@dataclass
class Peer:
    """A peer implementation: a Python callable on the case's data, or R code timed inside R.

    ``r_code`` is run by Rscript with the data frame ``d`` read from the case's CSV; it must be an
    expression whose evaluation is timed (``{r_setup}`` runs once before, untimed). ``r_values``, an R
    expression of the value ``v`` that ``r_code`` returned, gives named figures (a named numeric vector)
    that the case's ``figures`` must equal.
    """

    name: str
    fn: Callable[[Any], Any] | None = None
    r_code: str | None = None
    r_setup: str = ""
    repeat: int | None = None
    r_values: str | None = None
    work: bool = True                         # does the case's work (its rate is printed), or only a part of it


@dataclass
class Case:
    name: str
    setup: Callable[[], Any]                 # builds the data once (not timed)
    project: Callable[[Any], Any]             # the project's call
    peers: list[Peer] = field(default_factory=list)
    to_frame: Callable[[Any], pd.DataFrame] | None = None   # data as a frame for R peers
    repeat: int = 5
    target: str = ""                          # the goal the issue sets, printed beside the ratios
    figures: Callable[[Any], dict[str, float]] | None = None   # the project's figures to set beside a peer's
    work: tuple[str, int] | None = None       # (unit, count) done by one call: also printed as a rate


def _time(fn: Callable[[], Any], repeat: int) -> float:
    fn()  # warm-up (imports, caches)
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def rscript_available() -> bool:
    return shutil.which("Rscript") is not None


def _time_r(peer: Peer, frame: pd.DataFrame, repeat: int) -> tuple[float, dict[str, float]] | None:
    """Median seconds of ``peer.r_code`` in R, and the figures of ``peer.r_values`` (if any)."""
    if not rscript_available():
        return None
    values = ""
    if peer.r_values:
        values = (f"vals <- {peer.r_values}\n"
                  'cat(sprintf("figure %s %.15g", names(vals), vals), sep = "\\n")')
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "d.csv"
        frame.to_csv(csv, index=False)
        script = f"""
suppressMessages({{library(psych); library(pROC); library(lavaan); library(survival)}})
d <- read.csv("{csv}")
{peer.r_setup}
f <- function() {{ {peer.r_code} }}
v <- f()
ts <- replicate({repeat}, system.time(f())[["elapsed"]])
{values}
cat(median(ts), "\\n")
"""
        (Path(tmp) / "b.R").write_text(script)
        r = subprocess.run(["Rscript", str(Path(tmp) / "b.R")], capture_output=True, text=True)
        if r.returncode != 0:
            print(f"    R peer {peer.name} failed: {r.stderr.strip().splitlines()[-3:]}")
            return None
        lines = r.stdout.strip().splitlines()
        figures = {ln.split()[1]: float(ln.split()[2]) for ln in lines if ln.startswith("figure ")}
        return float(lines[-1].split()[-1]), figures


def run_cases(cases: list[Case], only: str | None = None, quick: bool = False) -> list[dict]:
    rows = []
    for case in cases:
        if only and only not in case.name:
            continue
        print(f"\n== {case.name}" + (f"  (goal: {case.target})" if case.target else ""), flush=True)
        data = case.setup()
        repeat = 1 if quick else case.repeat
        t_proj = _time(lambda: case.project(data), repeat)
        print(f"  project              {t_proj:10.4f} s" + _rate(case, t_proj))
        row = {"case": case.name, "target": case.target, "project_s": t_proj, "peers": {}}
        if case.work:
            row["work"] = {"unit": case.work[0], "count": case.work[1]}
        ours = case.figures(case.project(data)) if case.figures else {}
        for peer in case.peers:
            rep = 1 if quick else (peer.repeat or repeat)
            theirs: dict[str, float] = {}
            if peer.fn is not None:
                t = _time(lambda: peer.fn(data), rep)
            else:
                frame = case.to_frame(data) if case.to_frame else data
                timed = _time_r(peer, frame, rep)
                t, theirs = timed if timed is not None else (None, {})
            if t is None:
                print(f"  {peer.name:20s} (not available here)")
                continue
            ratio = t / t_proj if t_proj > 0 else float("inf")
            print(f"  {peer.name:20s} {t:10.4f} s   peer/project = {ratio:8.2f}x"
                  + (_rate(case, t) if peer.work else ""))
            row["peers"][peer.name] = {"seconds": t, "ratio_peer_over_project": ratio}
            if theirs:
                row["peers"][peer.name]["agreement"] = _agreement(ours, theirs)
        rows.append(row)
    return rows


def _rate(case: Case, seconds: float) -> str:
    if not case.work or seconds <= 0:
        return ""
    unit, count = case.work
    return f"   {count / seconds:.2f} {unit}/s"


def _agreement(ours: dict[str, float], theirs: dict[str, float]) -> dict[str, Any]:
    """The largest relative difference between the project's figures and the peer's, printed."""
    common = [k for k in theirs if k in ours]
    missing = [k for k in theirs if k not in ours]
    rel = {k: abs(ours[k] - theirs[k]) / max(abs(theirs[k]), 1e-12) for k in common}
    worst = max(rel, key=rel.get) if rel else None
    if worst is not None:
        print(f"  {'':20s} {len(common)} figures, largest relative difference {rel[worst]:.1e} ({worst}: "
              f"project {ours[worst]:.6g}, peer {theirs[worst]:.6g})")
    if missing:
        print(f"  {'':20s} figures the project does not give: {', '.join(missing)}")
    return {"figures": len(common), "max_relative_difference": rel[worst] if worst else None, "worst": worst}


def print_table(rows: list[dict]) -> None:
    print("\n" + "=" * 100)
    print(f"{'case':44s} {'project s':>10s}  {'peer':20s} {'peer s':>10s} {'peer/project':>13s}")
    print("-" * 100)
    for r in rows:
        peers = r["peers"] or {"(no peer)": None}
        for i, (name, p) in enumerate(peers.items()):
            left = f"{r['case']:44s} {r['project_s']:10.4f}" if i == 0 else " " * 55
            if p is None:
                print(f"{left}  {name:20s}")
            else:
                print(f"{left}  {name:20s} {p['seconds']:10.4f} {p['ratio_peer_over_project']:12.2f}x")
    print("=" * 100)
    print("peer/project above 1 means the project is faster on the same data in this run.")


def save(rows: list[dict], folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "latest.json"
    meta = {"cpu_count": os.cpu_count()}
    path.write_text(json.dumps({"machine": meta, "results": rows}, indent=2) + "\n")
    return path
