"""Device binding of a server: a torch device and, on CUDA, the server's own stream.

Several servers may share one GPU through separate streams, or each own a GPU. On CPU the
binding is a no-op twin: the same server code runs, the stream context does nothing and
the synchronisation returns at once. The CUDA path is thin on purpose and is not
exercised in CI (no GPU there); ``python -m gpu_runtime.hf_bench`` runs it on a GPU machine.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field

from reference.errors import ConfigError


@dataclass
class DeviceBinding:
    """``device`` ("cpu", "cuda:0", ...) and a CUDA stream created for this server."""

    device: str = "cpu"
    stream: object = field(default=None, repr=False)

    def __post_init__(self) -> None:
        kind = self.device.split(":")[0]
        if kind == "cuda":
            import torch  # only CUDA servers need torch here

            if not torch.cuda.is_available():
                raise ConfigError(f"device {self.device!r} requested but CUDA is not available")
            if self.stream is None:
                self.stream = torch.cuda.Stream(device=torch.device(self.device))
        elif self.device != "cpu":
            raise ConfigError(f"device must be 'cpu' or 'cuda[:i]', got {self.device!r}")

    @contextlib.contextmanager
    def active(self) -> Iterator[None]:
        """Run the enclosed forward on this server's stream (CPU: nothing to do)."""
        if self.stream is None:
            yield
            return
        import torch

        with torch.cuda.stream(self.stream):  # type: ignore[arg-type]
            yield

    def synchronize(self) -> None:
        """Explicit sync at a timing boundary: wait for this server's stream (CPU: no-op)."""
        if self.stream is not None:
            import torch

            event = torch.cuda.Event()
            event.record(self.stream)  # type: ignore[arg-type]
            event.synchronize()
