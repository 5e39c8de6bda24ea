"""The runtime's third driver setting: target servers as processes over torch.distributed
(SPEC §13, docs/distributed.md).

Modules: :mod:`~gpu_runtime.distributed.wire` (framed messages), :mod:`~gpu_runtime.distributed.protocol`
(what a result carries), :mod:`~gpu_runtime.distributed.rank` (a server rank's loop),
:mod:`~gpu_runtime.distributed.serve` (its process), :mod:`~gpu_runtime.distributed.cluster`
(rank 0's view: start-up, links, teardown), :mod:`~gpu_runtime.distributed.pool` (the
ServerPool the wall driver drives), :mod:`~gpu_runtime.distributed.engine` (``DistributedEngine``).
"""
