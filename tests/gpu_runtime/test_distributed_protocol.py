"""The wire format and the result protocols, without processes (SPEC §13).

The verification-only protocol must give the kernel the same decision as full rows: for random
p, q and drafts, the token ``verify`` returns from the rebuilt rows equals the token it returns
from the full rows, position by position up to the first rejection (the independent side is
``reference.kernel.verify`` on the full rows). What a rank sends that does not fit the
forward, and any header not of this protocol, is a WireError.
"""

from __future__ import annotations

import numpy as np
import pytest

from gpu_runtime.distributed import wire
from gpu_runtime.distributed.protocol import PointRow, WithheldRow, decode_target, encode_target
from gpu_runtime.distributed.wire import Message, WireError, header_of, parse
from reference.kernel import verify
from reference.randomness import u


def random_rows(rng: np.random.Generator, n: int, V: int, sharp: float) -> np.ndarray:
    rows = rng.dirichlet(np.full(V, sharp), size=n)
    return rows / rows.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("mode", ["sample", "greedy"])
def test_verify_protocol_gives_the_kernel_the_full_rows_decisions(mode):
    rng = np.random.default_rng(0)
    decided = {"accepted": 0, "rejected": 0}
    for case in range(300):
        V, n, first, seed = int(rng.integers(2, 9)), int(rng.integers(1, 6)), int(rng.integers(0, 20)), case
        p = random_rows(rng, n, V, 0.5)
        q = random_rows(rng, n, V, 0.5)
        drafts = [int(rng.choice(V, p=q[i])) for i in range(n - 1)]
        ints, floats = encode_target("verify", mode, p, first, drafts, [q[i][d] for i, d in enumerate(drafts)], seed)
        rows = decode_target(np.array(ints), np.asarray(floats), first=first, last=first + n - 1, drafts=drafts,
                             vocab_size=V, peer="test")
        for i in range(n):
            position = first + i
            draft = drafts[i] if i < n - 1 else int(rng.integers(V))  # the last position's draft comes later
            expected = verify(p[i], q[i], draft, u(seed, position, "accept"), u(seed, position, "residual"),
                              mode=mode)
            got = verify(rows[position], q[i], draft, u(seed, position, "accept"), u(seed, position, "residual"),
                         mode=mode)
            assert got == expected
            if i < n - 1 and expected != draft:  # the round ends here: later rows are withheld
                decided["rejected"] += 1
                assert all(isinstance(rows[j], WithheldRow) for j in range(position + 1, first + n))
                break
            decided["accepted"] += i < n - 1
    assert min(decided.values()) > 50  # both branches exercised


def test_verify_protocol_sends_one_row_and_points():
    p = np.array([[0.5, 0.5], [0.25, 0.75], [0.9, 0.1]])
    _, floats = encode_target("verify", "sample", p, 0, [1, 1], [0.5, 0.5], seed=0)
    assert floats.size <= 2 + 2  # at most two points and one row of V = 2
    _, floats = encode_target("rows", "sample", p, 0, [1, 1], [0.5, 0.5], seed=0)
    assert floats.size == p.size


def test_withheld_rows_refuse_to_be_read():
    point = PointRow(4, token=2, value=0.3)
    assert point[2] == 0.3
    with pytest.raises(WireError, match="position 4"):
        point[1]
    with pytest.raises(WireError):
        np.maximum(WithheldRow(5), 0.0)


def test_rows_are_passed_bit_for_bit():
    row = np.array([0.1, 0.2, 0.7000000000000001])  # sums to 1 + 1 ulp: not renormalised
    rows = decode_target(np.array([1, 1]), row, first=0, last=0, drafts=[], vocab_size=3, peer="test")
    assert rows[0].tobytes() == row.tobytes()


@pytest.mark.parametrize(("ints", "floats", "why"), [
    ([1, 2], np.full(6, 1 / 3), "expected 1 rows"),  # a row too many
    ([1, 1], np.array([0.5, 0.6, 0.0]), "sums to"),  # not a distribution
    ([2, 1], np.array([0.2, 0.5, 0.5, 0.0]), "expected p at 1 drafts"),  # too short for a draft + row
    ([2, 0], np.array([np.nan, 0.5, 0.5]), "NaN"),
    ([3, 1, 7], np.zeros(0), "argmax"),  # token out of range
    ([9], np.zeros(0), "unknown layout"),
])
def test_malformed_results_are_wire_errors(ints, floats, why):
    with pytest.raises(WireError, match=why):
        decode_target(np.array(ints), floats, first=0, last=0, drafts=[], vocab_size=3, peer="rank 2")


def test_headers_round_trip_and_garbage_is_refused():
    message = Message(wire.RESULT, 3, 17, 2, ints=np.array([1, 2], np.int64), floats=np.array([0.5]))
    header, payload = header_of(message)
    assert parse(header, "rank 1") == (wire.RESULT, 3, 17, 24, 2, 1, 2)
    assert payload is not None and payload.size == 24
    for bad in ([0] * 8, [wire.MAGIC, 99, 0, 0, 0, 0, 0, 0], [wire.MAGIC, wire.RESULT, 0, 0, 16, 1, 0, 0],
                [wire.MAGIC, wire.RESULT, 0, 0, -8, 0, 0, 0]):
        with pytest.raises(WireError, match="malformed"):
            parse(np.array(bad, np.int64), "rank 1")


def test_nccl_without_cuda_is_a_config_error():
    import torch.distributed as dist

    from gpu_runtime.distributed.cluster import ClusterConfig
    from reference.errors import ConfigError

    if dist.is_nccl_available():
        pytest.skip("this torch has NCCL")
    with pytest.raises(ConfigError, match="needs a CUDA build"):
        ClusterConfig(backend="nccl")
