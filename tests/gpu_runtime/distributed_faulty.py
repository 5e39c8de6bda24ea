"""Server ranks that misbehave on purpose (DSI_SERVER_CLASS of the fault tests)."""

from __future__ import annotations

import numpy as np

from gpu_runtime.distributed import wire
from gpu_runtime.distributed.rank import RankServer
from gpu_runtime.distributed.wire import Message
from gpu_runtime.models import ReferenceModelAdapter


class GarbageServer(RankServer):
    """Answers its third result with a header that is not of the protocol (bad magic)."""

    results = 0

    def send(self, message: Message) -> None:
        if message.kind == wire.RESULT:
            GarbageServer.results += 1
            if GarbageServer.results == 3:
                import torch
                import torch.distributed as dist

                garbage = torch.from_numpy(np.array([0x0BAD, 1, 2, 3, 4, 5, 6, 7], np.int64))
                with self.channel._send_lock:
                    dist.send(garbage, dst=0, tag=wire.TAG)
                return
        super().send(message)


class WrongRowsServer(RankServer):
    """Answers every result of server 1 with a well-framed result whose row is not a distribution."""

    def send(self, message: Message) -> None:
        if message.kind == wire.RESULT and message.server == 1:
            floats = message.floats.copy()
            floats[3:] = 0.5  # p rows of 0.5 everywhere: they do not sum to 1
            message = Message(message.kind, message.request_id, message.forward_id, message.server,
                              message.ints, floats)
        super().send(message)


class RaisingModel(ReferenceModelAdapter):
    """A model whose forwards raise once its cache would hold more than six positions."""

    def forward(self, cache, token_ids, start, *, last):
        if start + len(token_ids) > 6:
            raise RuntimeError("device lost")
        return super().forward(cache, token_ids, start, last=last)
