"""Runtime mutants: bugs a real runtime could have, each in the wall-time driver or a server.

The scheduler is shared with the reference, so these bugs live where a runtime differs from
the reference: how cancellations reach servers and free them, how outputs are matched to
forwards, how simultaneous completions are grouped, how KV caches are cropped. Each mutant is
:class:`gpu_runtime.engine.RuntimeEngine` with a subclass of the driver or of the worker that
overrides one public method; the suite runs against it through the runtime adapter. A short
forward timeout bounds a mutant that stalls.
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction

from gpu_runtime.driver import WallDriver
from gpu_runtime.workers import Computed, ServerCache, Worker
from properties.engines import Engine
from properties.runtime_adapter import RuntimeAdapter
from reference.scheduler.protocol import Ended, Start

#: Seconds after which a mutant's silent forward counts as hung (a stall ends sooner).
MUTANT_FORWARD_TIMEOUT_S = 2.0


class _StopWhileComputing(WallDriver):
    """A cancelled forward frees its server at once even while its compute runs: the next task
    queues behind the stale compute on that server while another server is idle."""

    def cancel(self, time_: Fraction, forward_ids: list[int], wall: float, *, final: bool) -> list[int]:
        if not self.scheduler.preemptive:
            return []
        for forward_id in forward_ids:
            flight = self.flights[forward_id]
            flight.job.cancelled.set()
            flight.ended, flight.wall_end = True, wall
        return list(forward_ids)


class _CancelledServerNeverFreed(WallDriver):
    """A cancelled forward is dropped but its server is never reported free."""

    def cancel(self, time_: Fraction, forward_ids: list[int], wall: float, *, final: bool) -> list[int]:
        stopped = super().cancel(time_, forward_ids, wall, final=final)
        return stopped if final else []


class _ServerFreedTwice(WallDriver):
    """A cancelled forward's server is freed at the cancellation and again when its output
    arrives (its end event is still delivered)."""

    def cancel(self, time_: Fraction, forward_ids: list[int], wall: float, *, final: bool) -> list[int]:
        stopped = super().cancel(time_, forward_ids, wall, final=final)
        for forward_id in stopped:
            if not final:
                self.flights[forward_id].ended = False  # its end event will be delivered too
        return stopped


class _DrafterNotPreempted(WallDriver):
    """Cancelling a draft does not reach the drafter: a stale draft runs to its end."""

    def cancel(self, time_: Fraction, forward_ids: list[int], wall: float, *, final: bool) -> list[int]:
        drafts = [f for f in forward_ids if self.flights[f].start.role == "drafter"]
        others = [f for f in forward_ids if f not in drafts]
        return super().cancel(time_, others if not final else forward_ids, wall, final=final)


class _EqualDeadlinesSplit(WallDriver):
    """Completions with the same nominal end are handled one per instant, the drafter's first
    (its events polled before the target servers'): no simultaneous-event rule in wall time."""

    def pop_instant(self, time_: Fraction) -> list[Ended]:
        ended = sorted(super().pop_instant(time_),
                       key=lambda event: self.flights[event.forward_id].start.role != "drafter")
        for event in ended[1:]:  # put the others back: each becomes an instant of its own
            self.flights[event.forward_id].ended = False
            self._push(time_, event.forward_id)
        return ended[:1]


class _StaleResultReused(Worker):
    """A worker memoises outputs by the positions they cover, not by their input: a task of a
    new round gets the output of an older round's task at the same positions."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.memo: dict[tuple[int, int], Computed] = {}

    def compute(self, start: Start) -> Computed:
        key = (start.first, start.last)
        if key in self.memo:
            old = self.memo[key]
            return Computed(start.forward_id, target_probs=old.target_probs, draft=old.draft,
                            draft_probs=old.draft_probs, input_ids=old.input_ids, cache_reused=old.cache_reused,
                            tokens_processed=old.tokens_processed, compute_start=old.compute_start)
        out = super().compute(start)
        self.memo[key] = out
        return out


class _CropOneShort(ServerCache):
    """The cache keeps one position fewer than it could (one extra position reprocessed)."""

    def reusable(self, ids: tuple[int, ...], need: int) -> int:
        return max(0, super().reusable(ids, need) - 1)


class _CropOneLong(ServerCache):
    """The cache keeps one position more than the common prefix (a stale token stays)."""

    def reusable(self, ids: tuple[int, ...], need: int) -> int:
        return min(super().reusable(ids, need) + 1, len(ids) - need, len(self.ids))


class _CropShortWorker(Worker):
    cache_class = _CropOneShort


class _CropLongWorker(Worker):
    cache_class = _CropOneLong


def runtime_mutant(name: str, *, driver: type[WallDriver] = WallDriver,
                   worker: type[Worker] = Worker) -> Callable[[], Engine]:
    """A factory of the runtime engine with the driver or worker replaced."""

    def build() -> Engine:
        adapter = RuntimeAdapter(forward_timeout_s=MUTANT_FORWARD_TIMEOUT_S, driver_class=driver,
                                 worker_class=worker)
        adapter.name = f"mutant:{name}"
        return adapter

    return build


#: (name, bug class, description, factory) of every runtime mutant.
RUNTIME_MUTANTS: tuple[tuple[str, str, str, Callable[[], Engine]], ...] = (
    ("runtime_stop_while_computing", "runtime: cancellation",
     "a cancelled forward's server is freed while its compute still runs (a task queues behind it)",
     runtime_mutant("runtime_stop_while_computing", driver=_StopWhileComputing)),
    ("runtime_server_never_freed", "runtime: cancellation",
     "a cancelled running forward's server is never freed", runtime_mutant(
         "runtime_server_never_freed", driver=_CancelledServerNeverFreed)),
    ("runtime_server_freed_twice", "runtime: cancellation",
     "a cancelled forward's server is freed at the cancellation and again at its end",
     runtime_mutant("runtime_server_freed_twice", driver=_ServerFreedTwice)),
    ("runtime_drafter_not_preempted", "runtime: preemption",
     "a new round does not preempt the running draft", runtime_mutant(
         "runtime_drafter_not_preempted", driver=_DrafterNotPreempted)),
    ("runtime_equal_deadlines_split", "runtime: concurrency",
     "completions with equal nominal ends are handled one instant each, in arrival order",
     runtime_mutant("runtime_equal_deadlines_split", driver=_EqualDeadlinesSplit)),
    ("runtime_stale_result_reused", "runtime: stale results",
     "a task gets the output of an older round's task at the same positions",
     runtime_mutant("runtime_stale_result_reused", worker=_StaleResultReused)),
    ("runtime_cache_crop_short", "runtime: KV cache", "the KV cache is cropped one position short",
     runtime_mutant("runtime_cache_crop_short", worker=_CropShortWorker)),
    ("runtime_cache_crop_long", "runtime: KV cache", "the KV cache keeps one position too many",
     runtime_mutant("runtime_cache_crop_long", worker=_CropLongWorker)),
)
