"""``dsi soak``: the suite green under fresh seeds, jitter and load (SPEC §15).

Modules: ``cli`` (the subcommand), ``runner`` (the order of a soak, seeds), ``packages`` (what
a package is), ``pytest_runs`` (one package in one pytest process), ``plugin`` (the pytest
plugin that counts tests, Hypothesis examples and blobs in that process), ``determinism``
(runtime runs under random delays against the reference), ``report`` (JSON and Markdown).
"""
