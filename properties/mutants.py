"""Mutation harness: broken engines the suite must kill (SPEC §7, §10).

Each mutant is the reference engine with one deliberate bug, built by subclassing
:class:`~properties.engines.PropertyRequest` (token rule: kernel, draft, p, q) or by
overriding a public rule hook of :class:`reference.scheduler.DSIScheduler` (schedule) —
``reference/`` is never edited. The harness runs the suite
(:func:`properties.suite.first_failure`, properties in suite order, no shrinking) against
each mutant and records which property killed it and how long that took. A surviving mutant
is a bug in the suite.

Equivalent mutants dropped (no test could ever see them): *temperature on the target only*
is lossless — drafts come from the untempered q and the kernel gets that same q, so the
output law is the tempered p — hence the catalogue applies the temperature to the drafter
only (the output then follows the untempered target).

Run ``python -m properties.mutants [--json] [--only NAME ...]`` or ``dsi mutants``.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from properties import engine_mutants as em
from properties.engines import Engine, PropertyRequest, ReferenceEngine
from properties.runtime_mutants import RUNTIME_MUTANTS
from properties.suite import SUITE, failures
from reference.errors import ConfigError
from reference.kernel import accepts, greedy, residual, sample
from reference.models import processed_probs
from reference.processing import SamplingConfig
from reference.scheduler import DSIScheduler

# ---------------------------------------------------------------- token-rule mutants


class _AlwaysAccept(PropertyRequest):
    def kernel(self, p, q, draft, u_accept, u_residual):  # type: ignore[no-untyped-def]
        return greedy(p) if self.sampling.mode == "greedy" else int(draft)


class _ResidualNoClip(PropertyRequest):
    """Residual |p − q| instead of max(p − q, 0)."""

    def kernel(self, p, q, draft, u_accept, u_residual):  # type: ignore[no-untyped-def]
        if self.sampling.mode == "greedy":
            return greedy(p)
        if accepts(p, q, draft, u_accept):
            return int(draft)
        weights = np.abs(p - q)
        return sample(weights if weights.sum() > 0 else p, u_residual)


class _RatioInverted(PropertyRequest):
    """Accept when u < min(1, q(d)/p(d))."""

    def kernel(self, p, q, draft, u_accept, u_residual):  # type: ignore[no-untyped-def]
        if self.sampling.mode == "greedy":
            return greedy(p)
        ratio = 1.0 if p[draft] <= 0 else min(1.0, float(q[draft]) / float(p[draft]))
        if p[draft] > 0 and u_accept < ratio:
            return int(draft)
        res = residual(p, q)
        return sample(res if res.sum() > 0 else p, u_residual)


class _RejectFromP(PropertyRequest):
    """On rejection, sample p instead of the residual."""

    def kernel(self, p, q, draft, u_accept, u_residual):  # type: ignore[no-untyped-def]
        if self.sampling.mode == "greedy":
            return greedy(p)
        return int(draft) if accepts(p, q, draft, u_accept) else sample(p, u_residual)


class _ResidualUniformReused(PropertyRequest):
    """The rejection resamples with the accept stream's uniform (a stream mix-up)."""

    def resolve(self, position, p, q, draft):  # type: ignore[no-untyped-def]
        u_accept = self.uniform(position, "accept")
        return self.kernel(p, q, draft, u_accept, u_accept)


class _GreedyDraftSoftmax(PropertyRequest):
    """Greedy mode drafts by sampling softmax q instead of argmax q."""

    def draft(self, position, generated):  # type: ignore[no-untyped-def]
        q = self.draft_probs(tuple(generated))
        return sample(q, self.uniform(position, "draft")), q


class _QNotSamplingDistribution(PropertyRequest):
    """The draft is sampled from processed q; the kernel gets the raw (unprocessed) q."""

    def draft(self, position, generated):  # type: ignore[no-untyped-def]
        d, _ = super().draft(position, generated)
        raw = processed_probs(self.drafter, self.prompt + tuple(generated),  # type: ignore[arg-type]
                              SamplingConfig(mode=self.sampling.mode), name="drafter")
        if raw[d] <= 0:  # keep the kernel's precondition q(d) > 0
            raw = 0.5 * raw + 0.5 * np.eye(raw.shape[0])[d]
        return d, raw


class _OffByOneLogits(PropertyRequest):
    """p at position i computed on the prefix missing its last generated token."""

    def target_probs(self, generated):  # type: ignore[no-untyped-def]
        generated = tuple(generated)
        return super().target_probs(generated[:-1] if generated else generated)


class _TemperatureDrafterOnly(PropertyRequest):
    """Temperature applied to the drafter's logits only (top-k/top-p to both)."""

    def target_probs(self, generated):  # type: ignore[no-untyped-def]
        config = SamplingConfig(mode=self.sampling.mode, top_k=self.sampling.top_k,
                                top_p=self.sampling.top_p)
        return processed_probs(self.target, self.prompt + tuple(generated), config, name="target")


# ---------------------------------------------------------------- schedule mutants (DSI)
# Each overrides one public rule hook of reference.scheduler.DSIScheduler.


class _BonusDropped(DSIScheduler):
    """Windows do not deliver p at the bonus position (timing only: tokens unchanged)."""

    bonus_positions = 0


class _BonusWrongPosition(DSIScheduler):
    """The bonus position's p is the row of the position before it."""

    def needed_positions(self, forward_id):  # type: ignore[no-untyped-def]
        forward = self.forwards[forward_id]
        if forward.kind == "window" and forward.state != "cancelled":
            return list(range(forward.first, forward.last + 1))
        return super().needed_positions(forward_id)

    def on_target_output(self, forward, event) -> None:  # type: ignore[no-untyped-def]
        super().on_target_output(forward, event)
        bonus = forward.last
        if forward.kind == "window" and bonus > forward.first and bonus in self.target_p:
            self.target_p[bonus] = event.target_probs[bonus - 1]


class _StaleTasksKept(DSIScheduler):
    """After a rejection, the round's tasks are not stopped: running ones keep their servers
    to their end and queued ones still run (results discarded). Timing only."""

    def target_input(self, forward):  # type: ignore[no-untyped-def]
        if forward.state == "cancelled":  # a stale task starting late: its output is discarded
            return tuple(self.tokens[: forward.first])
        return super().target_input(forward)

    def after_reject(self, i: int) -> None:
        for forward in self.live_round_tasks():
            self.cancel(forward, stop=False)
        self.frontier_requests.clear()
        if self.drafter.busy is not None and self.drafter.busy.live:
            self.cancel(self.drafter.busy)
        self.start_round(i + 1)


class _PostRejectionKept(DSIScheduler):
    """After a rejection at i, the drafts after i are kept and resolved in the next round."""

    def after_reject(self, i: int) -> None:
        kept = {j: v for j, v in self.drafts.items() if j > i}
        super().after_reject(i)
        self.drafts.update(kept)
        if kept:
            self.next_draft_position = max(kept) + 1


class _NoFrontierChain(DSIScheduler):
    """Step 5 missing: no frontier task after an accepted position (timing only)."""

    def after_accept(self, i: int) -> None:
        for forward in self.live_round_tasks():
            if forward.last <= i:
                self.cancel(forward)


class _DrafterStalePrefix(DSIScheduler):
    """The drafter drafts on a speculative prefix missing its newest draft."""

    def draft_input(self, position: int) -> tuple[int, ...]:
        prefix = super().draft_input(position)
        return prefix[:-1] if position > self.round_start else prefix


# ---------------------------------------------------------------- the catalogue


#: What a mutant is built on: the reference engine, or the runtime (gpu_runtime/).
MUTANT_ENGINES = ("reference", "runtime")


@dataclass(frozen=True)
class Mutant:
    """A named broken engine, the class of its bug, and the engine it is built on."""

    name: str
    bug_class: str
    description: str
    build: Callable[[], Engine]
    engine: str = "reference"

    def __post_init__(self) -> None:
        if self.engine not in MUTANT_ENGINES:
            raise ConfigError(f"mutant {self.name}: engine must be one of {MUTANT_ENGINES}, got {self.engine!r}")


def _request_mutant(name: str, cls: type[PropertyRequest]) -> Callable[[], Engine]:
    return lambda: ReferenceEngine(f"mutant:{name}", request_class=cls)


def _dsi_mutant(name: str, cls: type[DSIScheduler]) -> Callable[[], Engine]:
    return lambda: ReferenceEngine(f"mutant:{name}", dsi_scheduler=cls)


CATALOGUE: tuple[Mutant, ...] = (
    Mutant("always_accept", "kernel", "every draft accepted",
           _request_mutant("always_accept", _AlwaysAccept)),
    Mutant("residual_no_clip", "kernel", "rejection samples |p - q| instead of max(p - q, 0)",
           _request_mutant("residual_no_clip", _ResidualNoClip)),
    Mutant("ratio_q_over_p", "kernel", "acceptance test u < min(1, q(d)/p(d))",
           _request_mutant("ratio_q_over_p", _RatioInverted)),
    Mutant("reject_from_p", "kernel", "rejection resamples p instead of the residual",
           _request_mutant("reject_from_p", _RejectFromP)),
    Mutant("residual_uniform_reused", "randomness", "residual sample reuses the accept uniform",
           _request_mutant("residual_uniform_reused", _ResidualUniformReused)),
    Mutant("greedy_draft_softmax_q", "drafting", "greedy mode samples the draft from softmax q",
           _request_mutant("greedy_draft_softmax_q", _GreedyDraftSoftmax)),
    Mutant("q_not_sampling_distribution", "drafting",
           "kernel gets the unprocessed q, the draft came from the processed q",
           _request_mutant("q_not_sampling_distribution", _QNotSamplingDistribution)),
    Mutant("off_by_one_logits", "logits", "p at i computed on the prefix missing x_{i-1}",
           _request_mutant("off_by_one_logits", _OffByOneLogits)),
    Mutant("temperature_drafter_only", "logits", "temperature applied to the drafter only",
           _request_mutant("temperature_drafter_only", _TemperatureDrafterOnly)),
    Mutant("bonus_dropped", "schedule (timing only)", "DSI windows omit the bonus position",
           _dsi_mutant("bonus_dropped", _BonusDropped)),
    Mutant("bonus_wrong_position", "schedule", "bonus resolved with p of the previous position",
           _dsi_mutant("bonus_wrong_position", _BonusWrongPosition)),
    Mutant("stale_task_not_cancelled", "preemption (timing only)",
           "tasks of a rejected round keep their servers until they end",
           _dsi_mutant("stale_task_not_cancelled", _StaleTasksKept)),
    Mutant("post_rejection_acceptances_kept", "preemption",
           "drafts after a rejection are kept and verified on the corrected prefix",
           _dsi_mutant("post_rejection_acceptances_kept", _PostRejectionKept)),
    Mutant("no_frontier_chain", "schedule (timing only)", "no frontier task after an acceptance",
           _dsi_mutant("no_frontier_chain", _NoFrontierChain)),
    Mutant("drafter_stale_prefix", "race", "drafts computed on a prefix missing the newest draft",
           _dsi_mutant("drafter_stale_prefix", _DrafterStalePrefix)),
    *(Mutant(name, bug_class, description, build, engine="runtime")
      for name, bug_class, description, build in RUNTIME_MUTANTS),
)

def _wrapped(name: str, cls: type) -> Callable[[], Engine]:
    return lambda: cls(f"mutant:{name}")


def _cached(name: str, cls: type[PropertyRequest]) -> Callable[[], Engine]:
    """A request mutant whose cache is shared by the requests of one engine instance."""
    return lambda: ReferenceEngine(f"mutant:{name}", request_class=em.with_own_cache(cls))


def _variant(name: str) -> Callable[[], Engine]:
    cls = type(f"Processing_{name}", (em.ProcessingVariant,), {"variant": name})
    return _request_mutant(name, cls)


#: Mutants of what surrounds the token rule (properties/engine_mutants.py): stop tokens, ties,
#: logits processing, caches, batches, vocabularies, long generations.
ENGINE_CATALOGUE: tuple[Mutant, ...] = (
    Mutant("stop_ignored", "stop tokens", "stop tokens dropped: generation always runs to S",
           _wrapped("stop_ignored", em.StopIgnored)),
    Mutant("stop_token_excluded", "stop tokens", "generation stops at the stop token but does not emit it",
           _wrapped("stop_token_excluded", em.StopTokenExcluded)),
    Mutant("stop_one_late", "stop tokens", "one token after the stop token leaks out",
           _wrapped("stop_one_late", em.StopOneLate)),
    Mutant("stop_in_prompt", "stop tokens", "a stop id in the prompt ends generation after one token",
           _wrapped("stop_in_prompt", em.StopInPrompt)),
    Mutant("greedy_ties_upward", "ties", "greedy argmax breaks ties towards the highest id",
           _request_mutant("greedy_ties_upward", em.TiesUpward)),
    Mutant("greedy_half_precision", "ties", "greedy argmax on float16-rounded probabilities (near-ties collapse)",
           _request_mutant("greedy_half_precision", em.HalfPrecisionArgmax)),
    Mutant("top_p_crossing_dropped", "logits processing", "top-p drops the token whose mass crosses top_p",
           _variant("top_p_crossing_dropped")),
    Mutant("top_k_keeps_ties", "logits processing", "top-k keeps every id tied with the k-th",
           _variant("top_k_keeps_ties")),
    Mutant("top_p_before_temperature", "logits processing", "top-k/top-p applied before the temperature",
           _variant("top_p_before_temperature")),
    Mutant("top_p_after_top_k_renormalised", "logits processing",
           "top-p measured on the renormalised top-k row", _variant("top_p_after_top_k_renormalised")),
    Mutant("first_token_unverified", "first token", "the first token after the prompt is the unverified draft",
           _request_mutant("first_token_unverified", em.FirstTokenUnverified)),
    Mutant("cache_ignores_model", "caches", "prefix cache shared across requests, keyed by token ids only",
           _cached("cache_ignores_model", em.CacheIgnoresModel)),
    Mutant("cache_ignores_sampling", "caches", "prefix cache keyed by model and ids, not by the processing",
           _cached("cache_ignores_sampling", em.CacheIgnoresSampling)),
    Mutant("batch_padding_unmasked", "batching", "batched prompts left-padded with id 0, no attention mask",
           _wrapped("batch_padding_unmasked", em.BatchPaddingUnmasked)),
    Mutant("target_cut_to_drafter_vocab", "vocabulary", "a smaller drafter vocabulary cuts the target's",
           _wrapped("target_cut_to_drafter_vocab", em.TargetCutToDrafterVocab)),
    Mutant("context_window_128", "long generation", "both models see only the last 128 tokens",
           _request_mutant("context_window_128", em.ContextWindow)),
    Mutant("uniform_counter_wraps_128", "long generation", "position i uses the uniforms of i mod 128",
           _request_mutant("uniform_counter_wraps_128", em.UniformCounterWraps)),
)

CATALOGUE = CATALOGUE + ENGINE_CATALOGUE
MUTANTS = {mutant.name: mutant for mutant in CATALOGUE}


@dataclass(frozen=True)
class MutantOutcome:
    """One row of the kill table.

    failed_properties: every property that failed (all of them with ``--all-properties``,
        else just the first); applicable: the properties that ran to completion or failure
        (with ``--all-properties``: every property the mutant's capabilities allow).
    """

    name: str
    bug_class: str
    killed: bool
    killed_by: str | None
    seconds: float
    evidence: str
    failed_properties: tuple[str, ...] = ()
    engine: str = "reference"
    applicable: tuple[str, ...] = ()

    def as_json(self) -> dict[str, object]:
        out: dict[str, object] = {"name": self.name, "engine": self.engine, "bug_class": self.bug_class,
                                  "killed": self.killed, "killed_by": self.killed_by,
                                  "seconds": round(self.seconds, 3)}
        if len(self.failed_properties) > 1:
            out["failed_properties"] = list(self.failed_properties)
        return out


def run_mutant(mutant: Mutant, *, all_properties: bool = False) -> MutantOutcome:
    """Run the suite against one mutant: until the first failure, or every property."""
    start = time.perf_counter()
    engine = mutant.build()
    found = failures(engine, stop_at_first=not all_properties)
    seconds = time.perf_counter() - start
    applicable = tuple(p.name for p in SUITE if p.applies_to(engine)) if all_properties else ()
    if not found:
        return MutantOutcome(mutant.name, mutant.bug_class, False, None, seconds, "", (), mutant.engine, applicable)
    return MutantOutcome(mutant.name, mutant.bug_class, True, found[0][0], seconds, found[0][1],
                         tuple(name for name, _ in found), mutant.engine, applicable)


def _run_by_name(name: str, all_properties: bool) -> MutantOutcome:
    from properties.profiles import register_profiles

    register_profiles()
    return run_mutant(MUTANTS[name], all_properties=all_properties)


def run_catalogue(names: Sequence[str] | None = None, *, all_properties: bool = False, jobs: int = 1
                  ) -> list[MutantOutcome]:
    """Run every (or the named) mutant, in ``jobs`` processes; unknown names are a ConfigError."""
    if names:
        unknown = [n for n in names if n not in MUTANTS]
        if unknown:
            raise ConfigError(f"unknown mutant(s) {unknown}; known: {sorted(MUTANTS)}")
        chosen = [MUTANTS[n] for n in names]
    else:
        chosen = list(CATALOGUE)
    if jobs < 1:
        raise ConfigError(f"jobs must be >= 1, got {jobs}")
    if jobs == 1:
        return [run_mutant(m, all_properties=all_properties) for m in chosen]
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(max_workers=jobs) as pool:
        return list(pool.map(_run_by_name, [m.name for m in chosen], [all_properties] * len(chosen)))


def format_table(outcomes: Sequence[MutantOutcome]) -> str:
    """The kill table as aligned text, with the kill rate."""
    rows = [("mutant", "bug class", "result", "killed by", "seconds")]
    for o in outcomes:
        killers = ", ".join(o.failed_properties) if len(o.failed_properties) > 1 else o.killed_by
        rows.append((o.name, o.bug_class, "killed" if o.killed else "SURVIVED", killers or "-",
                     f"{o.seconds:.2f}"))
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
             for row in rows]
    killed = sum(o.killed for o in outcomes)
    total = sum(o.seconds for o in outcomes)
    lines.append(f"killed {killed}/{len(outcomes)} ({100 * killed / max(len(outcomes), 1):.0f}%)"
                 f" in {total:.1f} s")
    return "\n".join(lines)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options shared by ``dsi mutants`` and ``python -m properties.mutants``."""
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="run only these mutants")
    parser.add_argument("--all-properties", action="store_true",
                        help="run every property on each mutant (slower), not just until the first kill")
    parser.add_argument("--evidence", action="store_true",
                        help="print each kill's failure message (text mode)")
    parser.add_argument("--jobs", type=int, default=1, metavar="N", help="run mutants in N processes")
    parser.add_argument("--write-docs", metavar="PATH",
                        help="with --all-properties: replace the kill matrix block of PATH (docs/mutants.md)")


def command(args: argparse.Namespace) -> int:
    """Run the catalogue; exit 0 iff every mutant was killed."""
    from properties.kill_matrix import matrix_markdown, replace_block
    from properties.profiles import active_profile, register_profiles
    from reference.files import atomic_write_text

    if args.write_docs and not args.all_properties:
        raise ConfigError("--write-docs needs --all-properties (the matrix needs every property on every mutant)")
    if args.write_docs:  # fail before the long run, not after it
        if not Path(args.write_docs).is_file():
            raise ConfigError(f"--write-docs: no file {args.write_docs!r}")
        replace_block(Path(args.write_docs).read_text(encoding="utf-8"), "")
    register_profiles()
    start = time.perf_counter()
    outcomes = run_catalogue(args.only, all_properties=args.all_properties, jobs=args.jobs)
    wall = time.perf_counter() - start
    matrix = matrix_markdown(outcomes, [p.name for p in SUITE]) if args.all_properties else ""
    if args.json:
        print(json.dumps({"mutants": [o.as_json() for o in outcomes]}))
    else:
        print(format_table(outcomes))
        if matrix:
            print("\n" + matrix)
        if args.evidence:
            for o in outcomes:
                print(f"\n{o.name}: {o.evidence[:600]}")
    if args.write_docs:
        block = (f"Generated by `dsi mutants --all-properties --jobs {args.jobs} --write-docs {args.write_docs}` "
                 f"(profile `{active_profile()}`, {wall:.0f} s wall with {args.jobs} process(es)).\n\n{matrix}")
        path = Path(args.write_docs)
        atomic_write_text(path, replace_block(path.read_text(encoding="utf-8"), block))
    return 0 if all(o.killed for o in outcomes) else 1


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m properties.mutants``."""
    from reference.cli import run_standalone

    return run_standalone("python -m properties.mutants", "Run the property suite against every mutant engine.",
                          add_arguments, command, argv)


if __name__ == "__main__":
    raise SystemExit(main())
