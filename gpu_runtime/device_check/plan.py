"""What the device check runs: model shapes, the plan (H200 and tiny CPU twin), the configs.

A *level* names how many servers compute at once, which is what the latency of a forward
depends on when servers share one device: level 0 is the target alone (plain decoding);
level m ≥ 1 is m target servers and the drafter, each on its own CUDA stream (non-SI and SI
run at level 1: one target server and the drafter; DSI with N target servers at level N).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from reference.errors import ConfigError

ALGORITHM_ORDER = ("plain", "nonsi", "si", "dsi")


@dataclass(frozen=True)
class ModelShape:
    """A Llama-shaped decoder (transformers' ``LlamaForCausalLM``), random weights."""

    hidden_size: int
    num_layers: int
    num_heads: int
    num_kv_heads: int
    intermediate_size: int
    vocab_size: int
    tie_embeddings: bool = True

    def __post_init__(self) -> None:
        if self.hidden_size % self.num_heads or self.num_heads % self.num_kv_heads:
            raise ConfigError(f"hidden {self.hidden_size}, heads {self.num_heads}, kv heads "
                              f"{self.num_kv_heads}: heads must divide hidden and kv heads divide heads")

    def parameters(self) -> int:
        """Parameter count: embeddings (once if tied), per layer q/o (h²), k/v (h·kv·head_dim),
        gate/up/down (3·h·i) and two norms (2h), plus the final norm (h)."""
        h, kv = self.hidden_size, self.num_kv_heads * (self.hidden_size // self.num_heads)
        layer = 2 * h * h + 2 * h * kv + 3 * h * self.intermediate_size + 2 * h
        embeddings = self.vocab_size * h * (1 if self.tie_embeddings else 2)
        return embeddings + self.num_layers * layer + h

    def llama_config(self, max_positions: int) -> dict:
        """Keyword arguments of ``transformers.LlamaConfig``."""
        return {"vocab_size": self.vocab_size, "hidden_size": self.hidden_size,
                "intermediate_size": self.intermediate_size, "num_hidden_layers": self.num_layers,
                "num_attention_heads": self.num_heads, "num_key_value_heads": self.num_kv_heads,
                "max_position_embeddings": max_positions, "tie_word_embeddings": self.tie_embeddings}


@dataclass(frozen=True)
class CheckPlan:
    """Everything one device check does; ``H200`` and ``TINY`` are the two plans."""

    name: str
    device: str
    dtype: str
    target: ModelShape
    drafter: ModelShape
    prompt_length: int  # P: prompt positions (the prefill of a server's first forward)
    max_new_tokens: int  # S
    num_target_servers: tuple[int, ...]  # N for DSI (one CUDA stream each, one device)
    acceptances: tuple[float, ...]  # a of the synthetic pair, in priority order
    modes: tuple[str, ...]
    widths: tuple[int, ...]  # new positions per forward, timed alone
    verify_width: int  # new positions per target forward when timed under contention
    repeats: int  # timed forwards per measurement (per thread)
    warmup: int  # untimed forwards before each measurement (per thread)
    runs: int  # repetitions of each real-latency run (median reported)
    floor_margin: float  # emulated floors = p95 under the config's contention × this
    max_lookahead: int  # k is chosen in 1..max_lookahead
    synthetic_vocab: int  # V of the synthetic pair (ids < V are fed to the real models)
    seed: int = 0
    forward_timeout_s: float = 60.0
    budget_s: float = 450.0  # the whole check, from the start of main to the last write

    def __post_init__(self) -> None:
        if self.synthetic_vocab > min(self.target.vocab_size, self.drafter.vocab_size):
            raise ConfigError("the synthetic vocabulary must fit in both models' vocabularies")
        if self.target.vocab_size != self.drafter.vocab_size:
            raise ConfigError("target and drafter must share one vocabulary")
        if not all(n >= 1 for n in self.num_target_servers):
            raise ConfigError(f"num_target_servers must be >= 1, got {self.num_target_servers}")
        if not self.budget_s > 0:
            raise ConfigError(f"budget must be > 0 s, got {self.budget_s}")

    @property
    def levels(self) -> tuple[int, ...]:
        """Contention levels measured: 0 (target alone), 1 (non-SI, SI) and every N."""
        return tuple(sorted({0, 1, *self.num_target_servers}))

    def prompt(self) -> list[int]:
        """P prompt ids inside the synthetic vocabulary."""
        return [(7 * i + 1) % self.synthetic_vocab for i in range(self.prompt_length)]

    def max_positions(self) -> int:
        return self.prompt_length + self.max_new_tokens + max(self.widths) + 8

    def as_dict(self) -> dict:
        return {**asdict(self), "target_parameters": self.target.parameters(),
                "drafter_parameters": self.drafter.parameters()}


@dataclass(frozen=True)
class RunConfig:
    """One generation of the check: an algorithm, its servers, the acceptance rate and mode."""

    algorithm: str
    num_target_servers: int
    acceptance: float
    mode: str

    @property
    def level(self) -> int:
        """The contention level its forwards run at (module docstring)."""
        if self.algorithm == "plain":
            return 0
        return self.num_target_servers if self.algorithm == "dsi" else 1

    @property
    def name(self) -> str:
        servers = f" N={self.num_target_servers}" if self.algorithm == "dsi" else ""
        return f"{self.algorithm}{servers} a={self.acceptance} {self.mode}"


def configs(plan: CheckPlan) -> list[RunConfig]:
    """Every run, most informative first (the budget guard drops from the end): blocks of one
    (a, mode) in the plan's order; in a block plain, non-SI, SI, then DSI for each N."""
    out = []
    for acceptance in plan.acceptances:
        for mode in plan.modes:
            out += [RunConfig(algorithm, 1, acceptance, mode) for algorithm in ("plain", "nonsi", "si")]
            out += [RunConfig("dsi", n, acceptance, mode) for n in plan.num_target_servers]
    return out


#: One H200: a Llama-3.2-1B-shaped target (1.24B parameters) and a 124M drafter, same vocabulary.
H200 = CheckPlan(
    name="h200", device="cuda:0", dtype="bfloat16",
    target=ModelShape(2048, 16, 32, 8, 8192, 128256),
    drafter=ModelShape(768, 4, 12, 4, 2048, 128256),
    prompt_length=64, max_new_tokens=64, num_target_servers=(1, 2, 4, 7), acceptances=(0.8, 0.6, 0.95),
    modes=("greedy", "sample"), widths=(1, 2, 4, 8, 16), verify_width=4, repeats=10, warmup=2, runs=2,
    floor_margin=1.25, max_lookahead=8, synthetic_vocab=64, forward_timeout_s=60.0, budget_s=450.0,
)

#: The CPU twin: the same code path with tiny models, fewer configs, within 60 s on 2 cores.
TINY = CheckPlan(
    name="tiny", device="cpu", dtype="bfloat16",
    target=ModelShape(64, 4, 4, 2, 128, 512),
    drafter=ModelShape(32, 1, 2, 1, 64, 512),
    prompt_length=8, max_new_tokens=12, num_target_servers=(1, 2, 4), acceptances=(0.8,),
    modes=("greedy", "sample"), widths=(1, 4), verify_width=4, repeats=5, warmup=1, runs=1,
    floor_margin=1.5, max_lookahead=6, synthetic_vocab=64, forward_timeout_s=30.0, budget_s=55.0,
)
