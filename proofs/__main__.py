"""``python -m proofs`` = ``dsi prove``."""

from __future__ import annotations

import sys

from reference.cli import main

if __name__ == "__main__":
    raise SystemExit(main(["prove", *sys.argv[1:]]))
