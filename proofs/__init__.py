"""proofs: the theorems of SPEC §6 as symbolic (sympy) and SMT (z3, cvc5) checks.

One module per theorem (or small family) registers its check with an id, a one-line
statement, its assumptions and its method (:mod:`proofs.core`); :mod:`proofs.runner` runs
them; ``dsi prove`` / ``python -m proofs`` is the command line. Nothing is proved at import
time. The bounded schedule theorems T5–T9 share one z3 model of the DSI round
(:mod:`proofs.schedule_model`); the every-S theorems (T5all, T6all, T6N, T6inf) reason over
scheduler states (:mod:`proofs.state_model`) and per-case lemmas; :mod:`proofs.path_model`
chains rounds on one queue (stale tasks, prefill). All are validated against the reference
event simulation in tests/proofs. See docs/theorems.md for the map from the paper's claims
to the checks and, per theorem, what is machine-checked and what is prose.
"""
