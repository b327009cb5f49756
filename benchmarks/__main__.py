"""``python -m benchmarks [--only NAME] [--quick]``: run every benchmark case and print the ratios."""

from __future__ import annotations

import argparse
from pathlib import Path

from .cases import all_cases
from .harness import print_table, run_cases, save


def main() -> None:
    ap = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    ap.add_argument("--only", help="run only the cases whose name contains this text")
    ap.add_argument("--quick", action="store_true", help="one repetition each (a smoke run)")
    args = ap.parse_args()
    rows = run_cases(all_cases(), only=args.only, quick=args.quick)
    print_table(rows)
    path = save(rows, Path(__file__).parent / "results")
    print(f"results: {path}")


if __name__ == "__main__":
    main()
