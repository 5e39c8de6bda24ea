"""The table's measurements: one record per (target, drafter, dataset) row (SPEC §5, §10).

The shipped file ``paper_repro/data/table_measurements.json`` lists the paper's 10 rows with
their model ids and datasets; every number is ``null`` until measured (the per-row numbers
are not available to this project, and measuring needs the models and a GPU). ``dsi repro
table`` simulates the rows that have numbers and names the rows that lack them.

A row's numbers: TTFT and TPOT (milliseconds) of target and drafter, the estimated
acceptance rate â, and optionally the agreement traces (one ``0``/``1`` string per prompt)
for the trace-driven simulation.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from paper_repro.acceptance import parse_trace
from reference.errors import ConfigError, FileFormatError
from reference.files import read_json, write_json

#: Package data (``paper_repro/data``): the shipped measurements and the built-in prompts.
DATA_DIR = Path(__file__).resolve().parent / "data"
#: The numbers a row needs before it can be simulated.
REQUIRED_NUMBERS = ("target_ttft_ms", "target_tpot_ms", "drafter_ttft_ms", "drafter_tpot_ms",
                    "acceptance_rate")


@dataclass(frozen=True)
class TableRow:
    """One row of the paper's table and its measurements (None = not measured).

    row_id: short name; target, drafter: Hugging Face model ids (revision optional);
    dataset, dataset_config: Hugging Face dataset id and config; *_ttft_ms: one forward on the
    prompt; *_tpot_ms: (generate time − TTFT) / (new tokens − 1); acceptance_rate: â;
    agreement_traces: per-prompt ``0``/``1`` strings; source: how and where it was measured.
    """

    row_id: str
    target: str
    drafter: str
    dataset: str
    dataset_config: str | None = None
    target_revision: str | None = None
    target_ttft_ms: float | None = None
    target_tpot_ms: float | None = None
    drafter_ttft_ms: float | None = None
    drafter_tpot_ms: float | None = None
    acceptance_rate: float | None = None
    agreement_traces: tuple[str, ...] | None = None
    source: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.row_id:
            raise ConfigError("a table row needs a row_id")
        for name in REQUIRED_NUMBERS:
            value = getattr(self, name)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ConfigError(f"row {self.row_id}: {name} must be a finite number or null, got {value!r}")
            if name == "acceptance_rate":
                if not 0 <= value <= 1:
                    raise ConfigError(f"row {self.row_id}: acceptance_rate must be in [0, 1], got {value}")
            elif value <= 0:
                raise ConfigError(f"row {self.row_id}: {name} must be > 0 ms, got {value}")
        if self.agreement_traces is not None:
            object.__setattr__(self, "agreement_traces", tuple(self.agreement_traces))
            for trace in self.agreement_traces:
                parse_trace(trace)
        if self.is_measured and self.drafter_tpot_ms > self.target_tpot_ms:  # type: ignore[operator]
            raise ConfigError(
                f"row {self.row_id}: drafter TPOT {self.drafter_tpot_ms} ms exceeds target TPOT "
                f"{self.target_tpot_ms} ms; the time-unit model needs c = drafter/target <= 1")

    @property
    def missing(self) -> tuple[str, ...]:
        """Names of the required numbers that are not measured yet."""
        return tuple(name for name in REQUIRED_NUMBERS if getattr(self, name) is None)

    @property
    def is_measured(self) -> bool:
        return not self.missing

    @property
    def traces(self) -> list[tuple[bool, ...]]:
        """The agreement traces as boolean tuples ([] when none)."""
        return [parse_trace(t) for t in self.agreement_traces or ()]

    def with_measurements(self, **numbers: Any) -> TableRow:
        """A copy with measured numbers filled in (validated)."""
        return replace(self, **numbers)

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["agreement_traces"] = list(self.agreement_traces) if self.agreement_traces is not None else None
        return out


#: the text fields of a row (required ones first) and the optional ones
TEXT_FIELDS = ("row_id", "target", "drafter", "dataset", "source")
OPTIONAL_TEXT_FIELDS = ("dataset_config", "target_revision")


def row_from_dict(data: Any) -> TableRow:
    """Build a validated row from a JSON object (unknown or missing keys, wrong types: an error)."""
    if not isinstance(data, dict):
        raise FileFormatError(f"a table row is a JSON object, got {type(data).__name__}")
    known = set(TableRow.__dataclass_fields__)
    unknown = set(data) - known
    if unknown:
        raise FileFormatError(f"unknown keys in a table row: {sorted(unknown)}")
    missing = [name for name in TEXT_FIELDS[:4] if name not in data]
    if missing:
        raise FileFormatError(f"a table row needs {', '.join(missing)}")
    for name in TEXT_FIELDS + OPTIONAL_TEXT_FIELDS:
        value = data.get(name)
        if name in data and not isinstance(value, str) and not (value is None and name in OPTIONAL_TEXT_FIELDS):
            raise FileFormatError(f"table row field {name} must be a string, got {value!r:.60}")
    traces = data.get("agreement_traces")
    if traces is not None and not (isinstance(traces, list) and all(isinstance(t, str) for t in traces)):
        raise FileFormatError("agreement_traces must be a list of 0/1 strings or null")
    if not isinstance(data.get("extra", {}), dict):
        raise FileFormatError("a table row's extra must be a JSON object")
    return TableRow(**data)


def load_measurements(path: str | Path | None = None) -> list[TableRow]:
    """Rows from a measurements JSON file (default: the shipped one)."""
    source = DATA_DIR / "table_measurements.json" if path is None else path
    data = read_json(source, what="measurements file")
    rows = data.get("rows") if isinstance(data, dict) else None
    if not isinstance(rows, list):
        raise FileFormatError(f"measurements file {source}: a JSON object with a list 'rows'")
    parsed = [row_from_dict(r) for r in rows]
    ids = [r.row_id for r in parsed]
    if len(set(ids)) != len(ids):
        raise FileFormatError(f"duplicate row ids in measurements: {ids}")
    return parsed


def save_measurements(path: str | Path, rows: list[TableRow], *, protocol: dict[str, Any] | None = None) -> Path:
    """Write rows (atomically) in the format :func:`load_measurements` reads."""
    return write_json(path, {"protocol": protocol or {}, "rows": [r.as_dict() for r in rows]})
