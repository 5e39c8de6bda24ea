"""``python -m proofs`` = ``dsi prove``."""

from __future__ import annotations

from proofs.cli import add_arguments, execute
from reference.cli import run_standalone

if __name__ == "__main__":
    raise SystemExit(run_standalone("python -m proofs", "Run the proof checks (= dsi prove).", add_arguments,
                                    execute))
