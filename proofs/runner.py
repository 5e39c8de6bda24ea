"""Run registered theorems and report them (the table and the JSON of SPEC §9)."""

from __future__ import annotations

import importlib
from collections.abc import Sequence

from proofs.core import REGISTRY, ProofResult, Theorem, run_theorem
from reference.errors import ConfigError

#: Theorem modules, in report order (importing registers, nothing is proved).
THEOREM_MODULES = (
    "proofs.t1_kernel",
    "proofs.t2_acceptance",
    "proofs.t3_sequence",
    "proofs.t4_si_can_lose",
    "proofs.t5_t6_dominance",
    "proofs.t5_every_s",
    "proofs.t6_every_s",
    "proofs.t6_every_n",
    "proofs.t6_finite_n",
    "proofs.n1_no_rescue",
    "proofs.prefill",
    "proofs.t7_resources",
    "proofs.t8_strictly_faster",
    "proofs.t9_closed_forms",
    "proofs.t10_communication",
)


def theorems() -> list[Theorem]:
    """Every registered theorem, in report order."""
    for name in THEOREM_MODULES:
        importlib.import_module(name)
    return list(REGISTRY.values())


def select(only: Sequence[str] | None) -> list[Theorem]:
    """The theorems named in ``only`` (case-insensitive ids), or all of them."""
    available = theorems()
    if not only:
        return available
    by_id = {thm.id.lower(): thm for thm in available}
    wanted = [part.strip() for item in only for part in item.split(",") if part.strip()]
    unknown = [name for name in wanted if name.lower() not in by_id]
    if unknown:
        ids = ", ".join(thm.id for thm in available)
        raise ConfigError(f"unknown theorem id(s) {unknown}; available: {ids}")
    return [by_id[name.lower()] for name in dict.fromkeys(wanted)]


def run(only: Sequence[str] | None = None, *, deep: bool = False) -> list[ProofResult]:
    """Run the selected theorems one after another (``deep``: their longer checks, see
    :func:`proofs.core.run_theorem`)."""
    return [run_theorem(thm, deep=deep) for thm in select(only)]


def all_proved(results: Sequence[ProofResult]) -> bool:
    return bool(results) and all(result.proved for result in results)


def as_json(results: Sequence[ProofResult]) -> dict[str, object]:
    """``{"theorems": [{"id", "title", "method", "status", "seconds", ...}], ...}``."""
    return {
        "theorems": [result.as_json() for result in results],
        "all_proved": all_proved(results),
        "total_seconds": round(sum(result.seconds for result in results), 3),
    }


def table(results: Sequence[ProofResult], *, verbose: bool = False) -> str:
    """A plain-text table: id, title, method, status, seconds; below it the detail of every
    failed theorem (of every theorem with ``verbose``)."""
    rows = [("id", "title", "method", "status", "seconds")]
    for r in results:
        method = r.method if len(r.method) <= 60 else r.method[:57] + "..."
        rows.append((r.id, r.title, method, r.status, f"{r.seconds:.2f}"))
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
             for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    total = sum(r.seconds for r in results)
    proved = sum(r.proved for r in results)
    lines.append(f"{proved}/{len(results)} proved in {total:.1f} s")
    for r in results:
        if verbose or not r.proved:
            lines.append(f"{r.id} {r.status}: {r.detail}")
        if verbose and r.prose:
            lines.append(f"{r.id} prose (not machine-checked): " + "; ".join(r.prose))
    return "\n".join(lines)
