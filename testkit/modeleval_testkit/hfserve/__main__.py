"""``python -m modeleval_testkit.hfserve [DIR]``: make the transformers-serve venv and the tiny
model (cached; see the package doc) and print where they are."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from modeleval_testkit.hfserve import ServingUnavailable, ensure_transformers_serve


def main(argv: list[str]) -> int:
    started = time.monotonic()
    try:
        serving = ensure_transformers_serve(Path(argv[0]) if argv else None)
    except ServingUnavailable as exc:
        print(f"transformers serve cannot be set up: {exc}", file=sys.stderr)
        return 1
    print(f"venv={serving.venv} model={serving.model_dir} seconds={time.monotonic() - started:.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
