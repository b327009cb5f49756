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
    expression whose evaluation is timed (``{r_setup}`` runs once before, untimed).
    """

    name: str
    fn: Callable[[Any], Any] | None = None
    r_code: str | None = None
    r_setup: str = ""
    repeat: int | None = None


@dataclass
class Case:
    name: str
    setup: Callable[[], Any]                 # builds the data once (not timed)
    project: Callable[[Any], Any]             # the project's call
    peers: list[Peer] = field(default_factory=list)
    to_frame: Callable[[Any], pd.DataFrame] | None = None   # data as a frame for R peers
    repeat: int = 5
    target: str = ""                          # the goal the issue sets, printed beside the ratios


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


def _time_r(peer: Peer, frame: pd.DataFrame, repeat: int) -> float | None:
    if not rscript_available():
        return None
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "d.csv"
        frame.to_csv(csv, index=False)
        script = f"""
suppressMessages({{library(psych); library(pROC); library(lavaan); library(survival)}})
d <- read.csv("{csv}")
{peer.r_setup}
f <- function() {{ {peer.r_code} }}
invisible(f())
ts <- replicate({repeat}, system.time(f())[["elapsed"]])
cat(median(ts), "\\n")
"""
        (Path(tmp) / "b.R").write_text(script)
        r = subprocess.run(["Rscript", str(Path(tmp) / "b.R")], capture_output=True, text=True)
        if r.returncode != 0:
            print(f"    R peer {peer.name} failed: {r.stderr.strip().splitlines()[-1:]}")
            return None
        return float(r.stdout.strip().split()[-1])


def run_cases(cases: list[Case], only: str | None = None, quick: bool = False) -> list[dict]:
    rows = []
    for case in cases:
        if only and only not in case.name:
            continue
        print(f"\n== {case.name}" + (f"  (goal: {case.target})" if case.target else ""), flush=True)
        data = case.setup()
        repeat = 1 if quick else case.repeat
        t_proj = _time(lambda: case.project(data), repeat)
        print(f"  project              {t_proj:10.4f} s")
        row = {"case": case.name, "target": case.target, "project_s": t_proj, "peers": {}}
        for peer in case.peers:
            rep = 1 if quick else (peer.repeat or repeat)
            if peer.fn is not None:
                t = _time(lambda: peer.fn(data), rep)
            else:
                frame = case.to_frame(data) if case.to_frame else data
                t = _time_r(peer, frame, rep)
            if t is None:
                print(f"  {peer.name:20s} (not available here)")
                continue
            ratio = t / t_proj if t_proj > 0 else float("inf")
            print(f"  {peer.name:20s} {t:10.4f} s   peer/project = {ratio:8.2f}x")
            row["peers"][peer.name] = {"seconds": t, "ratio_peer_over_project": ratio}
        rows.append(row)
    return rows


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
