"""Reference values of the cumulative/dynamic time-dependent AUC from scikit-survival.

Usage (from the repository root, with scikit-survival importable; it is not a dependency of the
project):  python tests/reference/pred_tdauc/make_reference.py

Reads tests/reference/pred_main/data.csv and writes tests/reference/pred_tdauc/reference.json
with ``sksurv.metrics.cumulative_dynamic_auc(y, y, score, horizons)`` (the censoring distribution
estimated on the same data; its Kaplan-Meier estimate is read at the event time, right-continuous,
events before censorings at tied times).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import sklearn
import sksurv
from sksurv.metrics import cumulative_dynamic_auc
from sksurv.util import Surv

ROOT = Path("tests/reference")
if not ROOT.is_dir():
    raise SystemExit("run from the repository root")

d = pd.read_csv(ROOT / "pred_main" / "data.csv")
y = Surv.from_arrays(event=d.event.to_numpy() == 1, time=d.time.to_numpy(dtype=float))
horizons = [3, 6, 12, 24, 36, 48]
out = {"data": "../pred_main/data.csv", "horizons": horizons,
       "versions": {"scikit-survival": sksurv.__version__, "scikit-learn": sklearn.__version__,
                    "numpy": np.__version__}}
for name, score in (("score", d.score), ("score2", d.score2), ("minus_score", -d.score)):
    auc, mean_auc = cumulative_dynamic_auc(y, y, score.to_numpy(dtype=float), horizons)
    out[name] = {"call": f"cumulative_dynamic_auc(y, y, {name}, horizons)", "auc": auc.tolist()}
(ROOT / "pred_tdauc" / "reference.json").write_text(json.dumps(out, indent=2) + "\n")
print("wrote", ROOT / "pred_tdauc" / "reference.json")
