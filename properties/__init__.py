"""properties: the property suite of SPEC §7, runnable against any engine.

* :mod:`properties.engines` — the engine protocol (``EngineRequest``, ``Capabilities``,
  ``generate``), the reference adapter, and the ``DSI_ENGINE`` switch;
* :mod:`properties.strategies` — Hypothesis strategies (models, prompts, k, N, S, latencies,
  jitter, seeds, processing);
* :mod:`properties.trajectory`, :mod:`properties.distribution`, :mod:`properties.latency` —
  the properties, as plain functions ``check_*(engine, ...)`` raising ``PropertyViolation``;
* :mod:`properties.enumeration`, :mod:`properties.exact_models` — exact laws by enumerating
  the uniforms' effect on rational tabular models;
* :mod:`properties.statistics` — χ² with merged bins, power and sample size, Holm–Bonferroni;
* :mod:`properties.suite` — the suite as data (order, capabilities, example counts);
* :mod:`properties.mutants` — the mutant catalogue and harness (``dsi mutants``);
* :mod:`properties.hf_adapter`, :mod:`properties.hf_assisted` — transformers' assisted
  generation as an external engine; :mod:`properties.runtime_adapter` — gpu_runtime/.

Reports: docs/mutants.md, docs/hf_assisted_generation.md.
"""
