"""gpu_runtime: DSI, SI and non-SI executed for real (SPEC §8); see docs/runtime.md.

Entry points: :class:`gpu_runtime.engine.RuntimeEngine` (``generate`` mirrors
``reference.generate``), ``dsi generate`` / ``dsi bench`` (:mod:`gpu_runtime.cli`) and
``python -m gpu_runtime.hf_bench`` for real models on GPUs.
"""
