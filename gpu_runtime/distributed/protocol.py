"""What a target rank sends back for a forward: full p rows, or only what verification reads.

Two result protocols (``docs/distributed.md`` compares them, measured):

* ``"rows"`` — every processed p row the forward computed: ``positions × V`` float64 values.
* ``"verify"`` (the default) — only what the verification kernel of SPEC §3 will read. A target
  task over positions ``first..last`` conditions on drafts ``d_j`` at ``first..last−1`` (its
  input) and has no draft at ``last`` yet. With ``q_j(d_j)`` sent along with the task, the rank
  applies the acceptance test itself, ``u(seed, j, "accept") < min(1, p_j(d_j) / q_j(d_j))``
  (``reference.kernel.accepts``, the same uniform), and returns ``p_j(d_j)`` for each accepted
  draft, then one full row: at the first rejected draft (its residual needs all of p) or, if
  every draft is accepted, at ``last`` (the bonus or frontier position, sampled from p or
  verified against a draft not made yet). Positions after a rejection are never read (their
  input holds the rejected draft): nothing is sent for them. Greedy mode sends ``argmax p_j``
  up to the first mismatch with ``d_j``. So a result carries one row of V floats whatever k.

Rank 0 rebuilds the map position → row that the scheduler reads (:func:`decode_target`). What
the protocol withheld is a stand-in that returns the transmitted value where the kernel reads
it (:class:`PointRow`: ``p(d)`` only) and raises :class:`WithheldRow` anywhere else, so a
disagreement between the rank's test and rank 0's can never yield a wrong token silently. The
acceptance test is deterministic in (p, q, d, seed, position), so both sides decide alike, and
the tokens are the reference's bit for bit (tests/gpu_runtime/test_distributed_protocol.py).
"""

from __future__ import annotations

import numpy as np

from gpu_runtime.distributed.wire import WireError
from reference.distributions import check_probs
from reference.kernel import accepts
from reference.randomness import u

PROTOCOLS = ("verify", "rows")

# first int of a target result: its layout
NOTHING, ROWS, POINTS, ARGMAX = 0, 1, 2, 3


class WithheldRow:
    """A p row the verification protocol did not transfer: reading it is a protocol error."""

    def __init__(self, position: int) -> None:
        self.position = position

    def _refuse(self) -> WireError:
        return WireError(f"p at position {self.position} was read, but the rank did not send it: the "
                         "rank's acceptance test and rank 0's disagree")

    def __getitem__(self, index: object) -> float:
        raise self._refuse()

    def __array__(self, *args: object, **kwargs: object) -> np.ndarray:
        raise self._refuse()


class PointRow(WithheldRow):
    """p at one token ``token`` only: what the acceptance test of an accepted draft reads."""

    def __init__(self, position: int, token: int, value: float) -> None:
        super().__init__(position)
        self.token = token
        self.value = value

    def __getitem__(self, index: object) -> float:
        if index == self.token:
            return self.value
        raise self._refuse()


def encode_target(protocol: str, mode: str, rows: np.ndarray, first: int, drafts: list[int],
                  q_at_drafts: list[float] | None, seed: int) -> tuple[list[int], np.ndarray]:
    """The result of a target forward (rank side): (ints, floats).

    rows: processed p at positions first..last, shape (last − first + 1, V); drafts: ``d_j`` for
    j = first..last − 1 (the forward's input); q_at_drafts: ``q_j(d_j)`` (None: not sent, so the
    full rows go back).
    """
    n = rows.shape[0]
    if protocol == "rows" or (mode != "greedy" and (q_at_drafts is None or len(q_at_drafts) != n - 1)):
        return [ROWS, n], rows.reshape(-1)
    if mode == "greedy":
        tokens = []
        for i in range(n):
            tokens.append(int(np.argmax(rows[i])))
            if i < n - 1 and tokens[-1] != drafts[i]:
                break
        return [ARGMAX, len(tokens), *tokens], np.zeros(0)
    assert q_at_drafts is not None
    points: list[float] = []
    for i in range(n - 1):
        position, draft = first + i, drafts[i]
        if not accepts(rows[i], {draft: q_at_drafts[i]}, draft, u(seed, position, "accept")):  # type: ignore[arg-type]
            break
        points.append(float(rows[i][draft]))
    return [POINTS, len(points)], np.concatenate([np.asarray(points, np.float64), rows[len(points)]])


def decode_target(ints: np.ndarray, floats: np.ndarray, *, first: int, last: int, drafts: list[int],
                  vocab_size: int, peer: str) -> dict[int, object]:
    """Position → p row (or stand-in) from a target result (rank 0 side); :class:`WireError` if
    the result is not a well-formed answer to a forward over first..last with these drafts."""
    n = last - first + 1
    if ints.size < 1:
        raise WireError(f"{peer} sent a result without a layout")
    layout = int(ints[0])

    def bad(why: str) -> WireError:
        return WireError(f"{peer} sent a malformed result for positions {first}..{last}: {why}")

    def row(values: np.ndarray, position: int) -> np.ndarray:
        """The row as sent, bit for bit (validated, not renormalised)."""
        try:
            check_probs(values, vocab_size, name=f"{peer} p row at {position}")
        except Exception as exc:
            raise bad(str(exc)) from None
        return np.array(values, dtype=np.float64)

    out: dict[int, object] = {}
    if layout == NOTHING:
        return out
    if layout == ROWS:
        if ints.size != 2 or int(ints[1]) != n or floats.size != n * vocab_size:
            raise bad(f"expected {n} rows of {vocab_size} values")
        return {first + i: row(floats[i * vocab_size:(i + 1) * vocab_size], first + i) for i in range(n)}
    if layout == ARGMAX:
        count = int(ints[1]) if ints.size >= 2 else -1
        tokens = [int(t) for t in ints[2:]]
        if not 1 <= count <= n or len(tokens) != count or floats.size or \
                any(not 0 <= t < vocab_size for t in tokens) or \
                any(t != d for t, d in zip(tokens[:-1], drafts, strict=False)) or \
                (count < n and tokens[-1] == drafts[count - 1]):
            raise bad(f"argmax list {tokens} does not stop at the first mismatch with drafts {drafts}")
        for i, token in enumerate(tokens):
            one_hot = np.zeros(vocab_size)
            one_hot[token] = 1.0
            out[first + i] = one_hot
        out.update({j: WithheldRow(j) for j in range(first + count, last + 1)})
        return out
    if layout == POINTS:
        count = int(ints[1]) if ints.size == 2 else -1
        if not 0 <= count <= n - 1 or floats.size != count + vocab_size:
            raise bad(f"expected p at {count} drafts and one row of {vocab_size} values")
        points = floats[:count]
        if not np.all(np.isfinite(points)) or np.any(points < 0) or np.any(points > 1 + 1e-9):
            raise bad(f"p at the drafts {points.tolist()} is not a probability")
        for i in range(count):
            out[first + i] = PointRow(first + i, drafts[i], float(points[i]))
        out[first + count] = row(floats[count:], first + count)
        out.update({j: WithheldRow(j) for j in range(first + count + 1, last + 1)})
        return out
    raise bad(f"unknown layout {layout}")
