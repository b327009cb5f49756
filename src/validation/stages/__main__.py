"""``python -m validation.stages NAME``: run one stage of the pipeline."""

from __future__ import annotations

import importlib
import sys

from . import STAGES
from ._common import StageError, load_params, project_root


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1 or argv[0] not in STAGES:
        print(f"usage: python -m validation.stages {{{'|'.join(STAGES)}}}", file=sys.stderr)
        return 2
    name = argv[0]
    try:
        root = project_root()
        params = load_params(root)
        module = importlib.import_module(f"{__package__}.{name}")
        module.run(root, params)
    except StageError as exc:
        print(f"[{name}] stopped: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
