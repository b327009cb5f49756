"""``python -m validation.pipeline.stages NAME``: run one stage of the pipeline."""

from __future__ import annotations

import importlib
import sys

from validation.pipeline.stages import STAGES
from validation.pipeline.common import StageError, project_root
from validation.pipeline.config import ConfigError, load_config


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1 or argv[0] not in STAGES:
        print(f"usage: python -m validation.pipeline.stages {{{'|'.join(STAGES)}}}", file=sys.stderr)
        return 2
    name = argv[0]
    try:
        root = project_root()
        config = load_config(root)
        module = importlib.import_module(f"{__package__}.{name}")
        module.run(root, config)
    except ConfigError as exc:
        print(f"[{name}] stopped before any work: {exc}", file=sys.stderr)
        return 2
    except StageError as exc:
        print(f"[{name}] stopped: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
