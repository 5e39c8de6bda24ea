"""The specification as code: canonical randomness, the verification kernel, toy models,
non-SI / SI / DSI in virtual time, the paper's cost model and closed forms (SPEC §3-§4).

Notation (used in docstrings and proofs; code uses the descriptive names):

=====  ===============================  ===========================
 sym    meaning                          name in code
=====  ===============================  ===========================
 p      target next-token distribution   ``target_probs``
 q      drafter next-token distribution  ``draft_probs``
 k      lookahead (drafts per window)    ``lookahead``
 N      target servers                   ``num_target_servers``
 c      drafter latency / target latency ``c``, ``drafter_decode``
 a      acceptance rate                  ``acceptance``
 S      new tokens to generate           ``max_new_tokens``
=====  ===============================  ===========================
"""

from reference.config import GenerationConfig
from reference.errors import (
    ConfigError,
    DSIError,
    EngineContractError,
    FileFormatError,
    GenerationError,
    PathError,
    ProbabilityError,
    ProofFailure,
    VocabularyMismatchError,
)
from reference.generate import ALGORITHMS, generate
from reference.latency import LatencyModel
from reference.results import Counters, Result, TaskRecord, tokens_by

__all__ = [
    "ALGORITHMS",
    "ConfigError",
    "Counters",
    "DSIError",
    "EngineContractError",
    "FileFormatError",
    "GenerationConfig",
    "GenerationError",
    "LatencyModel",
    "PathError",
    "ProbabilityError",
    "ProofFailure",
    "Result",
    "TaskRecord",
    "VocabularyMismatchError",
    "generate",
    "tokens_by",
]
