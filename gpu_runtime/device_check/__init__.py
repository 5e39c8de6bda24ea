"""A prepared GPU check: the CUDA-stream runtime measured on one accelerator in one command.

``python -m gpu_runtime.device_check --out DIR`` (docs/runtime.md, "The device check"):

1. builds a random-weight Llama-shaped target (~1.2B parameters) and drafter (~124M), same
   vocabulary, in bf16 on the device (:mod:`.plan`, :mod:`.measure`);
2. times their forwards — decode at several widths and cache lengths, prefill — alone, and
   with m target streams and the drafter's stream computing at once for every level m used
   (:mod:`.measure`, :mod:`.latency_table`): contention measured, not assumed;
3. picks k for each config from the exact expected latency at the measured c, and predicts
   every run with the reference in virtual time (:mod:`.runs`);
4. runs plain decoding, non-SI, SI and DSI with N target servers as CUDA streams on the one
   device, greedy and sampling, with the synthetic-acceptance pair wrapped around the real
   forwards (:class:`gpu_runtime.synthetic.SyntheticForward`): once with emulated floors (the
   schedule must be the reference's exactly, lags within the allowance) and with real
   latencies (tokens must be the reference's; wall time beside the prediction);
5. writes ``DIR/device_check.json`` and ``DIR/device_check.md`` atomically after every config,
   and prints a summary table (:mod:`.report`);

inside a time budget (the guard skips configs that would not fit, with a note; a watchdog
stops a hung run). ``--device cpu --tiny`` is the CPU twin (the same code, tiny models; in CI);
``--dry-run`` prints the plan and the estimated time per step (:mod:`.estimate`). Imports
nothing from z3 or cvc5, needs no install step: the project on ``PYTHONPATH`` is enough.
"""
