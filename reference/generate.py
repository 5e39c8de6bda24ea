"""``reference.generate``: the public entry point of the reference (SPEC §9).

>>> from reference.toy_models import TabularLM, MixtureDrafter
>>> target = TabularLM(8, order=2, seed=1)
>>> drafter = MixtureDrafter(target, overlap=0.8)
>>> runs = [generate(target, drafter, [1, 2], 12, algorithm=alg, lookahead=3, num_target_servers=4)
...         for alg in ("nonsi", "si", "dsi")]
>>> len({run.tokens for run in runs})  # identical tokens for the seed
1
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from reference.algorithms.canonical import Request
from reference.errors import ConfigError
from reference.latency import LatencyModel
from reference.models import LanguageModel, check_pair, check_prompt
from reference.processing import SamplingConfig
from reference.randomness import check_seed
from reference.results import Result
from reference.scheduler import VirtualDriver, build_scheduler

ALGORITHMS = ("dsi", "si", "nonsi", "plain")


def generate(
    target: LanguageModel,
    drafter: LanguageModel | None,
    prompt: Sequence[int],
    max_new_tokens: int,
    *,
    algorithm: str = "dsi",
    lookahead: int = 5,
    num_target_servers: int | None = None,
    mode: str = "sample",
    seed: int = 0,
    latency: LatencyModel | None = None,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    stop_tokens: Iterable[int] = (),
    preemptive: bool = True,
    warm_start: bool = False,
) -> Result:
    """Generate ``max_new_tokens`` tokens after ``prompt`` with one algorithm, in virtual time.

    algorithm: "dsi" (k = lookahead, N = num_target_servers target servers, None = unlimited),
        "si" (lookahead k), "nonsi" (non-SI with the drafter computed alongside: canonical
        tokens identical to SI's and DSI's) or "plain" (samples p directly).
    mode: "sample" or "greedy". latency: ``None`` = target 1, drafter c = 0.1.
    preemptive, warm_start: DSI variants (see :mod:`reference.algorithms.dsi`); warm start
        prefills the prompt on every target server at t = 0 and needs a finite num_target_servers.
    Returns a :class:`reference.results.Result` (tokens, times, latency, trace, counters).
    """
    if algorithm not in ALGORITHMS:
        raise ConfigError(f"algorithm must be one of {ALGORITHMS}, got {algorithm!r}")
    if isinstance(max_new_tokens, bool) or not isinstance(max_new_tokens, int) or max_new_tokens < 1:
        raise ConfigError(f"max_new_tokens (S) must be an integer >= 1, got {max_new_tokens!r}")
    if isinstance(lookahead, bool) or not isinstance(lookahead, int) or lookahead < 1:
        raise ConfigError(f"lookahead k must be an integer >= 1, got {lookahead!r}")
    if num_target_servers is not None and (not isinstance(num_target_servers, int) or num_target_servers < 1):
        raise ConfigError(f"num_target_servers N must be an integer >= 1 or None, got {num_target_servers!r}")
    if algorithm != "plain" and drafter is None:
        raise ConfigError(f"algorithm {algorithm!r} needs a drafter")
    vocab_size = check_pair(target, drafter if algorithm != "plain" else None)
    request = Request(
        target=target,
        drafter=drafter,
        prompt=check_prompt(prompt, vocab_size),
        max_new_tokens=max_new_tokens,
        sampling=SamplingConfig(mode=mode, temperature=temperature, top_k=top_k, top_p=top_p),
        seed=check_seed(seed),
        latency=latency if latency is not None else LatencyModel(),
        stop_tokens=frozenset(int(t) for t in stop_tokens),
    )
    scheduler = build_scheduler(request, algorithm, lookahead=lookahead, num_target_servers=num_target_servers,
                                preemptive=preemptive, warm_start=warm_start)
    return VirtualDriver(request, scheduler).run()
