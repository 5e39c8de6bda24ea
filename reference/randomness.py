"""Canonical randomness ``u(seed, position, stream)`` (SPEC §3, §10).

Every random choice of every algorithm is keyed by the output position ``i`` (0-based) and a
named stream, never by thread or by order of execution. That is what makes non-SI with a
drafter, SI(k) and DSI(k, N) under any schedule emit the identical token sequence.

Construction: a counter-based generator built from the SplitMix64 finaliser ``mix``
(a bijection on 64-bit words with full avalanche)::

    key   = mix(seed + G * (1 + stream_id))        (mod 2**64)
    h     = mix(key  + G * (1 + i))                 (mod 2**64)
    u     = (h >> 11) * 2**-53                      in [0, 1), a multiple of 2**-53

with ``G = 0x9E3779B97F4A7C15`` (the golden-ratio increment). ``u`` is exact in float64.
The scalar form uses Python integers; the vectorised form uses numpy uint64 arithmetic,
which wraps modulo 2**64, and is bit-identical (tested).

The mixer is SplitMix64's output function, so its values at the generator's states
``G, 2G, …`` (seed 0) are the published first outputs of SplitMix64 seeded with 0
(Vigna's reference ``splitmix64.c``): 0xe220a8397b1dcdaf, 0x6e789e6aa1b965f4,
0x06c45d188009454f. The key of stream ``"draft"`` (id 0) at seed 0 is ``mix(G)`` and that
of ``"accept"`` (id 1) is ``mix(2G)``, so they must equal the first two outputs:

>>> [hex(_mix(n * _GOLDEN & _MASK)) for n in (1, 2, 3)]
['0xe220a8397b1dcdaf', '0x6e789e6aa1b965f4', '0x6c45d188009454f']
>>> _key(0, "draft") == 0xE220A8397B1DCDAF and _key(0, "accept") == 0x6E789E6AA1B965F4
True
>>> int(_mix_array(np.array([_GOLDEN], dtype=np.uint64))[0]) == 0xE220A8397B1DCDAF
True
>>> 0.0 <= u(42, 7, "accept") < 1.0
True
>>> float(u_array(42, [7], "accept")[0]) == u(42, 7, "accept")
True
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from reference.errors import ConfigError

#: The fixed stream -> integer map of SPEC §10.
STREAMS: dict[str, int] = {"draft": 0, "accept": 1, "residual": 2, "plain": 3}

_MASK = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15
_M1 = 0xBF58476D1CE4E5B9
_M2 = 0x94D049BB133111EB
_SCALE = 2.0**-53


def _mix(z: int) -> int:
    """SplitMix64 finaliser on a Python int (mod 2**64)."""
    z &= _MASK
    z = ((z ^ (z >> 30)) * _M1) & _MASK
    z = ((z ^ (z >> 27)) * _M2) & _MASK
    return z ^ (z >> 31)


def _mix_array(z: np.ndarray) -> np.ndarray:
    """SplitMix64 finaliser on a uint64 array (numpy wraps modulo 2**64)."""
    z = z ^ (z >> np.uint64(30))
    z = z * np.uint64(_M1)
    z = z ^ (z >> np.uint64(27))
    z = z * np.uint64(_M2)
    return z ^ (z >> np.uint64(31))


def check_seed(seed: int) -> int:
    """Return ``seed`` if it is an integer in [0, 2**64), else raise ConfigError."""
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
        raise ConfigError(f"seed must be an integer in [0, 2**64), got {seed!r}")
    seed = int(seed)
    if not 0 <= seed <= _MASK:
        raise ConfigError(f"seed must be an integer in [0, 2**64), got {seed}")
    return seed


def _stream_id(stream: str) -> int:
    try:
        return STREAMS[stream]
    except KeyError:
        raise ConfigError(f"unknown stream {stream!r}; expected one of {sorted(STREAMS)}") from None


def _key(seed: int, stream: str) -> int:
    return _mix(check_seed(seed) + _GOLDEN * (1 + _stream_id(stream)))


def u(seed: int, position: int, stream: str) -> float:
    """The canonical uniform in [0, 1) for output ``position`` and ``stream`` (pure)."""
    if position < 0:
        raise ConfigError(f"position must be >= 0, got {position}")
    h = _mix(_key(seed, stream) + _GOLDEN * (1 + int(position)))
    return (h >> 11) * _SCALE


def u_array(seed: int, positions: Sequence[int] | np.ndarray, stream: str) -> np.ndarray:
    """Vectorised :func:`u` over an array of positions (float64, same shape)."""
    pos = np.asarray(positions, dtype=np.int64)
    if pos.size and pos.min() < 0:
        raise ConfigError("positions must be >= 0")
    key = np.uint64(_key(seed, stream))
    with np.errstate(over="ignore"):
        z = key + np.uint64(_GOLDEN) * (pos.astype(np.uint64) + np.uint64(1))
        h = _mix_array(z)
    return (h >> np.uint64(11)).astype(np.float64) * _SCALE
