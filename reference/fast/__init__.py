"""Fast time-unit simulators for sweeps (SPEC §4.4, issue: foundation).

* :mod:`reference.fast.exact` — the exact schedule model, vectorised over acceptance paths;
* :mod:`reference.fast.paper` — the paper's own cost model (SPEC §4.4);
* :mod:`reference.fast.grid` — the heatmap grid of SPEC §5 for either model;
* :mod:`reference.fast.timed` — the exact schedules on one path under a full latency model
  (prefill, warm start, cost by number of positions), exact integer ticks.
"""
