"""Messages between ranks: framed point-to-point tensors over torch.distributed (SPEC §13).

Every message is two ``send``/``recv`` pairs on one (sender, receiver) pair of ranks: a header
of :data:`HEADER_LEN` int64 values, then (if ``nbytes > 0``) a uint8 payload::

    header = [MAGIC, kind, request_id, forward_id, nbytes, n_ints, n_floats, server]
    payload = n_ints int64 values, then n_floats float64 values     (an *array* message)
            | nbytes opaque bytes (pickle or UTF-8 text), n_ints = n_floats = 0  (a *blob*)

Messages between two ranks are delivered in the order they were sent (one TCP pair in gloo),
so a cancellation is never overtaken by a later dispatch to the same rank. A channel's sends
are serialised by a lock (a header and its payload are never interleaved with another
message's); its receives belong to one thread. A header that does not start with
:data:`MAGIC`, names an unknown kind or announces an impossible size is *malformed*
(:class:`WireError`): the stream cannot be resynchronised, so the link is given up.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import numpy as np

from reference.errors import GenerationError

#: Marks a header of this protocol (version 1).
MAGIC = 0x44534931  # "DSI1"
HEADER_LEN = 8
#: Largest payload a rank may announce (a full window of p rows at V = 256k is ~14 MB).
MAX_PAYLOAD_BYTES = 1 << 30
#: Tag of every message (ordering is per pair of ranks; one tag keeps it total).
TAG = 7

# rank 0 → server rank
SETUP, JOB, CANCEL, END, PING, SHUTDOWN, ECHO = 1, 2, 3, 4, 5, 6, 7
# server rank → rank 0
HELLO, READY, RESULT, STOPPED, FAILED, ENDED, PONG, BYE, ECHOED = 11, 12, 13, 14, 15, 16, 17, 18, 19

KIND_NAMES = {SETUP: "SETUP", JOB: "JOB", CANCEL: "CANCEL", END: "END", PING: "PING", SHUTDOWN: "SHUTDOWN",
              ECHO: "ECHO", HELLO: "HELLO", READY: "READY", RESULT: "RESULT", STOPPED: "STOPPED",
              FAILED: "FAILED", ENDED: "ENDED", PONG: "PONG", BYE: "BYE", ECHOED: "ECHOED"}


class WireError(GenerationError):
    """A rank sent something that is not a message of this protocol, or one that makes no sense."""


class LinkLost(GenerationError):
    """The connection to a rank broke (the process died or the network failed)."""


@dataclass(frozen=True)
class Message:
    """One received (or to be sent) message."""

    kind: int
    request_id: int = 0
    forward_id: int = -1
    server: int = -1
    ints: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    floats: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float64))
    blob: bytes = b""
    received: float = 0.0  # perf_counter when the header arrived (receiver's clock)

    @property
    def name(self) -> str:
        return KIND_NAMES.get(self.kind, str(self.kind))


def header_of(message: Message) -> tuple[np.ndarray, bytes | np.ndarray | None]:
    """The header and the payload of ``message`` (the payload as bytes or a uint8 view)."""
    ints = np.ascontiguousarray(message.ints, dtype=np.int64)
    floats = np.ascontiguousarray(message.floats, dtype=np.float64)
    if message.blob and (ints.size or floats.size):
        raise ValueError("a message carries arrays or a blob, not both")
    if message.blob:
        payload: bytes | np.ndarray | None = message.blob
        nbytes = len(message.blob)
    elif ints.size or floats.size:
        payload = np.concatenate([ints.view(np.uint8), floats.view(np.uint8)])
        nbytes = int(payload.size)
    else:
        payload, nbytes = None, 0
    header = np.array([MAGIC, message.kind, message.request_id, message.forward_id, nbytes, ints.size,
                       floats.size, message.server], dtype=np.int64)
    return header, payload


def parse(header: np.ndarray, peer: str) -> tuple[int, int, int, int, int, int, int]:
    """Validate a received header: (kind, request_id, forward_id, nbytes, n_ints, n_floats, server)."""
    magic, kind, request_id, forward_id, nbytes, n_ints, n_floats, server = (int(v) for v in header)
    if magic != MAGIC:
        raise WireError(f"{peer} sent a malformed message: bad magic {magic:#x}")
    if kind not in KIND_NAMES:
        raise WireError(f"{peer} sent a malformed message: unknown kind {kind}")
    arrays = n_ints > 0 or n_floats > 0
    if not 0 <= nbytes <= MAX_PAYLOAD_BYTES or n_ints < 0 or n_floats < 0 \
            or (arrays and nbytes != 8 * (n_ints + n_floats)):
        raise WireError(f"{peer} sent a malformed message: {KIND_NAMES[kind]} announces {nbytes} bytes "
                        f"for {n_ints} ints and {n_floats} floats")
    return kind, request_id, forward_id, nbytes, n_ints, n_floats, server


class Channel:
    """Messages to and from one peer rank over the default process group (gloo)."""

    def __init__(self, peer: int, *, name: str | None = None) -> None:
        self.peer = peer
        self.name = name or f"rank {peer}"
        self._send_lock = threading.Lock()
        self._pending: list[tuple[object, object]] = []  # async sends and the tensors they read

    def send(self, message: Message, *, wait: bool = True) -> None:
        """Send ``message``; ``wait=False`` returns once it is queued (the caller never blocks
        on a slow or stopped peer; the tensors are kept alive until the transfer completes)."""
        import torch
        import torch.distributed as dist

        header, payload = header_of(message)
        tensors = [torch.from_numpy(header)]
        if payload is not None:
            data = np.frombuffer(payload, dtype=np.uint8) if isinstance(payload, bytes) else payload
            # an asynchronous send reads its buffer later: give it a copy of its own
            tensors.append(torch.from_numpy(np.array(data, dtype=np.uint8, copy=not wait or not data.flags.writeable)))
        with self._send_lock:
            if wait:
                for tensor in tensors:
                    dist.send(tensor, dst=self.peer, tag=TAG)
                return
            self._pending = [(w, t) for w, t in self._pending if not w.is_completed()]  # type: ignore[attr-defined]
            for tensor in tensors:
                self._pending.append((dist.isend(tensor, dst=self.peer, tag=TAG), tensor))

    def recv(self) -> Message:
        """The next message from the peer (blocks); :class:`WireError` on a malformed one."""
        import torch
        import torch.distributed as dist

        header = torch.zeros(HEADER_LEN, dtype=torch.int64)
        dist.recv(header, src=self.peer, tag=TAG)
        received = time.perf_counter()
        kind, request_id, forward_id, nbytes, n_ints, n_floats, server = parse(header.numpy(), self.name)
        ints = np.zeros(0, np.int64)
        floats = np.zeros(0, np.float64)
        blob = b""
        if nbytes:
            payload = torch.empty(nbytes, dtype=torch.uint8)
            dist.recv(payload, src=self.peer, tag=TAG)
            raw = payload.numpy()
            if n_ints or n_floats:
                ints = raw[: 8 * n_ints].view(np.int64).copy()
                floats = raw[8 * n_ints:].view(np.float64).copy()
            else:
                blob = raw.tobytes()
        return Message(kind, request_id, forward_id, server, ints, floats, blob, received)
