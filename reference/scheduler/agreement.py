"""Agreement of two runs on their schedule (SPEC §11.1): the comparison behind the
``schedule_agreement`` property and ``dsi bench``.

A wall-time engine's result (nominal times in latency units) is compared with the reference's
virtual-time result for the same request: tokens, nominal token times, and every trace record's
schedule fields, exactly (rational times). Observed fields (``wall_*``, cache counts) are not
part of the schedule.
"""

from __future__ import annotations

from reference.results import Result, TaskRecord

#: The fields of a trace record that make up the schedule (observed fields excluded).
SCHEDULE_FIELDS = ("task_id", "server", "kind", "first_position", "last_position", "round", "dispatch",
                   "start", "end", "cancelled", "prefill")


def schedule_of(record: TaskRecord) -> tuple:
    """The schedule part of a trace record."""
    return tuple(getattr(record, name) for name in SCHEDULE_FIELDS)


def trace_differences(expected: Result, got: Result, *, limit: int = 3) -> list[str]:
    """Where ``got`` (a wall-time engine's result) departs from ``expected`` (the reference's)."""
    problems = []
    if got.tokens != expected.tokens:
        problems.append(f"tokens {got.tokens} != {expected.tokens}")
    if tuple(got.nominal_times) != tuple(expected.times):
        problems.append(f"nominal token times {[str(t) for t in got.nominal_times]} != "
                        f"{[str(t) for t in expected.times]}")
    if len(got.trace) != len(expected.trace):
        problems.append(f"{len(got.trace)} forwards != {len(expected.trace)}")
    for mine, theirs in zip(got.trace, expected.trace, strict=False):
        if schedule_of(mine) != schedule_of(theirs):
            fields = [f"{name}: {a} != {b}" for name, a, b in
                      zip(SCHEDULE_FIELDS, schedule_of(mine), schedule_of(theirs), strict=True) if a != b]
            problems.append(f"forward {theirs.task_id} ({theirs.kind} {theirs.first_position}.."
                            f"{theirs.last_position} on {theirs.server}): " + "; ".join(fields))
            if len(problems) >= limit:
                break
    return problems
