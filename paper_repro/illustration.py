"""The paper's illustration: timelines and token counts of non-SI, SI and DSI (SPEC §4.3, §5, §10).

Setting of the paper's timeline figure: target forward 7 time units, drafter forward 1,
lookahead k = 1, one drafter and N = 7 target servers, S = 100 tokens (no window is cut short
before t = 64). Two cases: every draft accepted ("best", a = 1) and every draft rejected
("worst", a = 0). The traces come from the reference's event simulation
(``reference.generate`` on a :class:`~reference.toy_models.SyntheticAcceptancePair`),
never from a separate drawing model; this module only reads them.

The paper's token-count table (tokens resolved by t = 14, 32, 56, 64)::

              best (a = 1)        worst (a = 0)
    DSI       8 / 26 / 50 / 58    2 / 4 / 8 / 9
    SI        2 /  8 / 14 / 16    1 / 4 / 8 / 9   <- the paper's row
    non-SI    2 /  4 /  8 /  9    2 / 4 / 8 / 9

The paper's worst-case SI row does not follow from its own model: with every draft rejected
an SI iteration costs k·c + 1 = 8 units and yields one token, so r_i = 8(i + 1) and the counts
are floor(t/8) = 1 / 4 / 7 / 8. We report that discrepancy instead of forcing a match.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from fractions import Fraction

from paper_repro.report import ClaimRow
from reference.errors import ConfigError, check_count
from reference.generate import generate
from reference.latency import LatencyModel
from reference.results import Result, tokens_by
from reference.toy_models import SyntheticAcceptancePair

ALGORITHMS = ("nonsi", "si", "dsi")
CASES = ("best", "worst")
#: Acceptance rate of each case.
CASE_ACCEPTANCE = {"best": 1.0, "worst": 0.0}
#: Times of the paper's token-count table.
PAPER_TIMES = (14, 32, 56, 64)
#: The paper's token-count table, as printed.
PAPER_COUNTS: dict[str, dict[str, tuple[int, ...]]] = {
    "best": {"nonsi": (2, 4, 8, 9), "si": (2, 8, 14, 16), "dsi": (8, 26, 50, 58)},
    "worst": {"nonsi": (2, 4, 8, 9), "si": (1, 4, 8, 9), "dsi": (2, 4, 8, 9)},
}
LABELS = {"nonsi": "non-SI", "si": "SI", "dsi": "DSI"}


@dataclass(frozen=True)
class IllustrationConfig:
    """The timeline setting (defaults: the paper's).

    target_latency, drafter_latency: forward latencies (time units of the figure);
    lookahead: k; num_target_servers: N target servers; tokens: S; vocab_size, seed: of the toy pair.
    """

    target_latency: int = 7
    drafter_latency: int = 1
    lookahead: int = 1
    num_target_servers: int = 7
    tokens: int = 100
    vocab_size: int = 8
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("target_latency", "drafter_latency", "lookahead", "num_target_servers", "tokens"):
            check_count(getattr(self, name), f"illustration {name}")
        if self.drafter_latency > self.target_latency:
            raise ConfigError(
                f"drafter_latency {self.drafter_latency} exceeds target_latency {self.target_latency}")

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def run_illustration(config: IllustrationConfig = IllustrationConfig()) -> dict[str, dict[str, Result]]:
    """Event-simulation results ``{case: {algorithm: Result}}`` for the best and worst case."""
    latency = LatencyModel(target_decode=config.target_latency, drafter_decode=config.drafter_latency)
    out: dict[str, dict[str, Result]] = {}
    for case in CASES:
        pair = SyntheticAcceptancePair(config.vocab_size, CASE_ACCEPTANCE[case], seed=config.seed)
        out[case] = {
            algorithm: generate(pair.target, pair.drafter, [0], config.tokens, algorithm=algorithm,
                                lookahead=config.lookahead, num_target_servers=config.num_target_servers,
                                seed=config.seed, latency=latency)
            for algorithm in ALGORITHMS
        }
    return out


def token_counts(results: Mapping[str, Mapping[str, Result]],
                 times: tuple[int, ...] = PAPER_TIMES) -> dict[str, dict[str, list[int]]]:
    """Tokens resolved by each time (r_i <= t), per case and algorithm."""
    return {case: {alg: [tokens_by(result, t) for t in times] for alg, result in by_alg.items()}
            for case, by_alg in results.items()}


def si_all_rejected_counts(config: IllustrationConfig, times: tuple[int, ...] = PAPER_TIMES) -> list[int]:
    """The SI row the paper's own model implies when every draft is rejected.

    Each iteration drafts k tokens (k·drafter) and verifies (target), yielding one token:
    r_i = (i + 1)(k·drafter + target), so the count by t is floor(t / (k·drafter + target)).

    >>> si_all_rejected_counts(IllustrationConfig())
    [1, 4, 7, 8]
    """
    per_token = config.lookahead * config.drafter_latency + config.target_latency
    return [min(t // per_token, config.tokens) for t in times]


def comparison_rows(counts: Mapping[str, Mapping[str, list[int]]],
                    times: tuple[int, ...] = PAPER_TIMES) -> list[dict[str, object]]:
    """One row per (case, algorithm, time): ours, the paper's, and whether they match."""
    rows = []
    for case in CASES:
        for alg in ALGORITHMS:
            for index, t in enumerate(times):
                ours = counts[case][alg][index]
                paper = PAPER_COUNTS[case][alg][index]
                rows.append({"case": case, "algorithm": alg, "time": t, "ours": ours,
                             "paper": paper, "match": ours == paper})
    return rows


def illustration_json(counts: Mapping[str, Mapping[str, list[int]]],
                      times: tuple[int, ...] = PAPER_TIMES) -> dict[str, object]:
    """The ``dsi repro illustration --json`` object: times and counts per case and algorithm."""
    out: dict[str, object] = {"times": list(times)}
    for case in CASES:
        out[case] = {alg: list(counts[case][alg]) for alg in ALGORITHMS}
    return out


@dataclass(frozen=True)
class Bar:
    """One forward on one server, clipped to the drawn horizon (for a Gantt chart)."""

    server: str
    kind: str
    start: float
    end: float
    first_position: int
    last_position: int
    cancelled: bool


def gantt_bars(result: Result, horizon: int | Fraction) -> list[Bar]:
    """The forwards of a trace that started before ``horizon``, clipped to it.

    Tasks cancelled while queued (never started) are not drawn.
    """
    bars = []
    for task in result.trace:
        if task.start is None or task.start >= horizon:
            continue
        end = task.end if task.end is not None else Fraction(horizon)
        bars.append(Bar(server=task.server, kind=task.kind, start=float(task.start),
                        end=float(min(end, Fraction(horizon))), first_position=task.first_position,
                        last_position=task.last_position, cancelled=task.cancelled is not None))
    return bars


def server_order(bars: list[Bar]) -> list[str]:
    """Rows of the chart: the drafter first, then target servers by index.

    >>> server_order([Bar("target:1", "window", 0, 1, 0, 0, False), Bar("drafter", "draft", 0, 1, 0, 0, False)])
    ['drafter', 'target:1']
    """
    names = {bar.server for bar in bars}

    def key(name: str) -> tuple[int, int]:
        if name == "drafter":
            return (0, 0)
        return (1, int(name.split(":")[1]) if ":" in name else 0)

    return sorted(names, key=key)


def findings(counts: Mapping[str, Mapping[str, list[int]]], config: IllustrationConfig,
             times: tuple[int, ...] = PAPER_TIMES) -> list[ClaimRow]:
    """Claim rows of the illustration (claim, how established, ours, paper's, verdict)."""
    how = ("event simulation (reference.generate), target 7, drafter 1, k = 1, N = 7, S = "
           f"{config.tokens}; tokens with r_i <= t")
    rows = []
    for case in CASES:
        for alg in ALGORITHMS:
            ours, paper = counts[case][alg], list(PAPER_COUNTS[case][alg])
            note = ""
            if ours == paper:
                verdict = "reproduced"
            elif case == "worst" and alg == "si" and ours == si_all_rejected_counts(config, times):
                verdict = "discrepancy"
                per_token = config.lookahead * config.drafter_latency + config.target_latency
                note = (f"the paper's own model ({per_token} units per token when every draft is "
                        f"rejected) gives {'/'.join(map(str, ours))}, not the printed row")
            else:
                verdict = "not reproduced"
            rows.append(ClaimRow(
                claim=f"Illustration, {case} case, {LABELS[alg]}: tokens by t = "
                      f"{'/'.join(map(str, times))}",
                how=how, ours="/".join(map(str, ours)), paper="/".join(map(str, paper)),
                verdict=verdict, step="illustration", note=note))
    return rows
