"""Random search for paths where DSI is slower than non-SI or SI when servers pay a prefill.

SPEC §10 charges each server's first forward of a request its prefill latency. Pathwise
dominance (T5, T6) is proved for decode latencies only; this search measures what prefill
does to it under the two start policies of SPEC §11 (*cold*: a server pays its prefill on its
first task; *warm*: every target server prefills the prompt at t = 0):

* one case = an acceptance path of length S, a lookahead k, N target servers, the drafter's
  decode latency c, the target's prefill and the drafter's prefill (target decode = 1);
* the latencies come from the reference's event simulation (``reference.generate`` on an
  :class:`reference.toy_models.AcceptancePathPair`, greedy, exact rational time), so a case is
  exact and re-runnable from its printed parameters;
* a case counts against non-SI when T_DSI > T_nonSI, against SI when N >= 2 and
  T_DSI > T_SI (at N = 1 DSI can lose to SI without prefill, SPEC §4.3).

Case distribution (seeded, ``numpy.random.default_rng(seed)``): S uniform in 1..12; the path
i.i.d. with an acceptance rate drawn uniformly from {0, 1/4, 1/2, 3/4, 1}; k in 1..4; N in
1..5; c in {1/20, 2/20, ..., 1}; the target prefill in {1, 21/20, ..., 6}; the drafter prefill
uniform on the twentieths between c and the target prefill (the drafter's latencies do not
exceed the target's, SPEC §10).

Command (the numbers in docs/reference.md, "Prefill and warm start"):
``python -m paper_repro.prefill_search --cases 20000`` (add ``--json`` for one JSON object).
``dsi repro all`` runs :data:`REPRO_CASES` cases of the same search in its ``open`` step.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from fractions import Fraction

import numpy as np

from reference.errors import ConfigError

POLICIES = ("cold", "warm")

#: cases ``dsi repro all`` runs (about 10 s on the 2-core machine); the docs quote a 20000-case run
REPRO_CASES = 2000


@dataclass(frozen=True)
class Case:
    """One search case: acceptance path, k, N, c and prefills (target decode = 1)."""

    accept: tuple[bool, ...]
    lookahead: int
    num_target_servers: int
    c: Fraction
    target_prefill: Fraction
    drafter_prefill: Fraction

    def describe(self) -> str:
        path = "".join("A" if a else "R" for a in self.accept)
        return (f"S = {len(self.accept)}, path {path}, k = {self.lookahead}, N = {self.num_target_servers}, "
                f"c = {self.c}, target prefill {self.target_prefill}, drafter prefill {self.drafter_prefill}")


def draw_cases(count: int, seed: int = 0) -> list[Case]:
    """``count`` cases from the distribution in the module docstring."""
    if count < 1:
        raise ConfigError(f"cases must be >= 1, got {count}")
    rng = np.random.default_rng(seed)
    cases = []
    for _ in range(count):
        S = int(rng.integers(1, 13))
        a = float(rng.integers(0, 5)) / 4
        accept = tuple(bool(x) for x in rng.random(S) < a)
        c = Fraction(int(rng.integers(1, 21)), 20)
        target_prefill = Fraction(int(rng.integers(20, 121)), 20)
        lo, hi = int(c * 20), int(target_prefill * 20)
        drafter_prefill = Fraction(int(rng.integers(lo, hi + 1)), 20)
        cases.append(Case(accept, int(rng.integers(1, 5)), int(rng.integers(1, 6)), c, target_prefill,
                          drafter_prefill))
    return cases


def latencies(case: Case, policy: str) -> dict[str, Fraction]:
    """Exact T_nonSI, T_SI and T_DSI of one case under a start policy (event simulation)."""
    from reference.generate import generate
    from reference.latency import LatencyModel
    from reference.toy_models import AcceptancePathPair

    if policy not in POLICIES:
        raise ConfigError(f"policy must be one of {POLICIES}, got {policy!r}")
    pair = AcceptancePathPair(case.accept)
    latency = LatencyModel.time_units(case.c, target_prefill=case.target_prefill,
                                      drafter_prefill=case.drafter_prefill)
    S = len(case.accept)
    common = {"mode": "greedy", "latency": latency}
    return {
        "nonsi": generate(pair.target, pair.drafter, [0], S, algorithm="nonsi", **common).latency,
        "si": generate(pair.target, pair.drafter, [0], S, algorithm="si", lookahead=case.lookahead,
                       **common).latency,
        "dsi": generate(pair.target, pair.drafter, [0], S, lookahead=case.lookahead,
                        num_target_servers=case.num_target_servers, warm_start=policy == "warm", **common).latency,
    }


@dataclass
class PolicyCount:
    """How often DSI lost under one policy, and the smallest losing case of each kind."""

    policy: str
    cases: int = 0
    slower_than_nonsi: int = 0
    slower_than_si: int = 0  # among cases with N >= 2
    cases_with_n_ge_2: int = 0
    smallest_vs_nonsi: str = ""
    smallest_vs_si: str = ""
    _keys: dict[str, tuple[int, ...]] = field(default_factory=dict, repr=False)

    def add(self, case: Case, times: dict[str, Fraction]) -> None:
        self.cases += 1
        key = (len(case.accept), case.lookahead, case.num_target_servers)
        if times["dsi"] > times["nonsi"]:
            self.slower_than_nonsi += 1
            self._keep("vs_nonsi", key, case, times, "nonsi")
        if case.num_target_servers >= 2:
            self.cases_with_n_ge_2 += 1
            if times["dsi"] > times["si"]:
                self.slower_than_si += 1
                self._keep("vs_si", key, case, times, "si")

    def _keep(self, which: str, key: tuple[int, ...], case: Case, times: dict[str, Fraction], other: str) -> None:
        if which not in self._keys or key < self._keys[which]:
            self._keys[which] = key
            name = "T_nonSI" if other == "nonsi" else "T_SI"
            text = f"{case.describe()}: T_DSI = {times['dsi']}, {name} = {times[other]}"
            setattr(self, f"smallest_{which}", text)

    def as_dict(self) -> dict[str, object]:
        return {k: v for k, v in asdict(self).items() if not k.startswith("_")}


def search(count: int, seed: int = 0, policies: Sequence[str] = POLICIES) -> dict[str, PolicyCount]:
    """Run ``count`` cases (:func:`draw_cases`) under each policy; per-policy counts."""
    results = {policy: PolicyCount(policy) for policy in policies}
    for case in draw_cases(count, seed):
        for policy in policies:
            results[policy].add(case, latencies(case, policy))
    return results


def format_results(results: dict[str, PolicyCount], seed: int) -> str:
    lines = []
    for r in results.values():
        lines.append(f"{r.policy} start, {r.cases} cases (seed {seed}): DSI slower than non-SI in "
                     f"{r.slower_than_nonsi}; slower than SI in {r.slower_than_si} of {r.cases_with_n_ge_2} "
                     "cases with N >= 2")
        for label, text in (("vs non-SI", r.smallest_vs_nonsi), ("vs SI", r.smallest_vs_si)):
            if text:
                lines.append(f"  smallest {label}: {text}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m paper_repro.prefill_search", description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=20000, help="random cases (default 20000)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the case generator (default 0)")
    parser.add_argument("--policy", choices=(*POLICIES, "both"), default="both")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    try:
        policies = POLICIES if args.policy == "both" else (args.policy,)
        results = search(args.cases, args.seed, policies)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps({"seed": args.seed, "cases": args.cases,
                          "policies": {p: r.as_dict() for p, r in results.items()}}))
    else:
        print(format_results(results, args.seed))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
