"""``reference.generate``: the public entry point of the reference (SPEC §9).

>>> from reference.toy_models import TabularLM, MixtureDrafter
>>> target = TabularLM(8, order=2, seed=1)
>>> drafter = MixtureDrafter(target, overlap=0.8)
>>> runs = [generate(target, drafter, [1, 2], 12, algorithm=alg, lookahead=3, num_target_servers=4)
...         for alg in ("nonsi", "si", "dsi")]
>>> len({run.tokens for run in runs})  # identical tokens for the seed
1

One :class:`~reference.config.GenerationConfig` may carry every parameter:

>>> config = GenerationConfig(max_new_tokens=12, lookahead=3, num_target_servers=4)
>>> generate(target, drafter, [1, 2], config=config).tokens == runs[2].tokens
True
"""

from __future__ import annotations

from collections.abc import Sequence

from reference.algorithms.canonical import Request
from reference.config import GenerationConfig, generation_config
from reference.errors import ConfigError
from reference.models import LanguageModel, check_pair, check_prompt
from reference.results import Result
from reference.scheduler import VirtualDriver, build_scheduler
from reference.scheduler.build import ALGORITHMS

__all__ = ["ALGORITHMS", "GenerationConfig", "generate"]


def generate(
    target: LanguageModel,
    drafter: LanguageModel | None,
    prompt: Sequence[int],
    max_new_tokens: int | None = None,
    *,
    config: GenerationConfig | None = None,
    **overrides: object,
) -> Result:
    """Generate ``max_new_tokens`` tokens after ``prompt`` with one algorithm, in virtual time.

    The generation parameters are one :class:`reference.config.GenerationConfig`: ``config``
    (if given) with ``max_new_tokens`` and keyword ``overrides`` (its field names: ``algorithm``,
    ``lookahead``, ``num_target_servers``, ``mode``, ``seed``, ``latency``, ``temperature``,
    ``top_k``, ``top_p``, ``stop_tokens``, ``preemptive``, ``warm_start``) applied; it holds the
    defaults and the validation (SPEC §9, §10.5).
    Returns a :class:`reference.results.Result` (tokens, times, latency, trace, counters).
    """
    cfg = generation_config(config, max_new_tokens, overrides)
    if cfg.algorithm != "plain" and drafter is None:
        raise ConfigError(f"algorithm {cfg.algorithm!r} needs a drafter")
    vocab_size = check_pair(target, drafter if cfg.algorithm != "plain" else None)
    request = Request(
        target=target,
        drafter=drafter,
        prompt=check_prompt(prompt, vocab_size),
        max_new_tokens=cfg.max_new_tokens,
        sampling=cfg.sampling,
        seed=cfg.seed,
        latency=cfg.latency,
        stop_tokens=cfg.stop_tokens,
    )
    scheduler = build_scheduler(request, cfg.algorithm, lookahead=cfg.lookahead,
                                num_target_servers=cfg.num_target_servers,
                                preemptive=cfg.preemptive, warm_start=cfg.warm_start)
    return VirtualDriver(request, scheduler).run()
