"""properties: the property suite of SPEC §7, runnable against any engine.

* :mod:`properties.engines` — the engine protocol (``EngineRequest``, ``Capabilities``,
  ``generate``), the reference adapter, and the ``DSI_ENGINE`` switch;
* :mod:`properties.strategies` — Hypothesis strategies (models, prompts, k, N, S, latencies,
  jitter, seeds, processing, stop sets, long requests); :mod:`properties.tie_models` — rows
  with ties, point masses, zeros and near-ties; :mod:`properties.suite_cases` — the case each
  property draws;
* :mod:`properties.trajectory`, :mod:`properties.distribution`, :mod:`properties.latency`,
  :mod:`properties.stopping`, :mod:`properties.isolation` — the properties, as plain
  functions ``check_*(engine, ...)`` raising ``PropertyViolation``;
* :mod:`properties.enumeration`, :mod:`properties.exact_models` — exact laws by enumerating
  the uniforms' effect on rational tabular models;
* :mod:`properties.statistics` — χ² with merged bins, power and sample size, Holm–Bonferroni;
* :mod:`properties.suite` — the suite as data (order, capabilities, example counts) and
  :func:`~properties.suite.evaluate`; :mod:`properties.statistical_suite` — the registered
  statistical tests (α, power, sample sizes); :mod:`properties.profiles` — quick / ci / thorough;
* :mod:`properties.check` — ``dsi check`` (the conformance kit and its report);
  :mod:`properties.pytest_plugin` — ``pytest --dsi-engine`` (entry point ``pytest11``);
* :mod:`properties.mutants`, :mod:`properties.engine_mutants` — the mutant catalogue and
  harness (``dsi mutants``); :mod:`properties.kill_matrix` — the mutant × property matrix;
* :mod:`properties.hf_adapter`, :mod:`properties.hf_assisted` — transformers' assisted
  generation as an external engine; :mod:`properties.runtime_adapter` — gpu_runtime/.

Reports: docs/mutants.md, docs/adapters.md, docs/hf_assisted_generation.md.
"""
