"""The pytest plugin (``pytest --dsi-engine``) from a directory that holds only an adapter.

Each test runs pytest in a subprocess in an empty temporary directory: no conftest, no test
file, the plugin loaded with ``-p`` (``-p no:dsi_suite`` first, so an installed entry point
does not register it twice), the repository on PYTHONPATH, as an engine's CI would after
``pip install dsi-suite``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from properties import pytest_plugin

REPO = Path(__file__).resolve().parents[2]


def adapter_example() -> str:
    """The adapter of docs/adapters.md (the code block after the adapter-example marker)."""
    text = (REPO / "docs" / "adapters.md").read_text(encoding="utf-8")
    match = re.search(r"<!-- adapter-example -->\n```python\n(.*?)```", text, re.S)
    assert match, "docs/adapters.md lost its adapter example"
    return match.group(1)


def run_pytest(directory: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(directory)])}
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:dsi_suite", "-p", "properties.pytest_plugin",
                           "-p", "no:cacheprovider", "-q", "-rA", *args],
                          cwd=directory, env=env, capture_output=True, text=True, timeout=600, check=False)


def test_the_documented_adapter_runs_the_suite_through_the_plugin(tmp_path: Path) -> None:
    assert len(adapter_example().splitlines()) <= 35  # "an adapter in 30 lines"
    (tmp_path / "my_adapter.py").write_text(adapter_example(), encoding="utf-8")
    done = run_pytest(tmp_path, "--dsi-engine", "my_adapter:make_engine", "--dsi-profile", "quick",
                      "-k", "result_contract or greedy_equality or stop_tokens or trajectory_equality")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    for name in ("result_contract", "greedy_equality", "stop_tokens"):
        assert f"PASSED dsi::{name}" in done.stdout
    # the adapter declares canonical=False: the property is skipped with the capability named
    assert re.search(r"SKIPPED \[1\] .*my-engine does not declare canonical", done.stdout)


def test_a_failing_property_reports_its_evidence(tmp_path: Path) -> None:
    done = run_pytest(tmp_path, "--dsi-engine", "mutant:stop_ignored", "--dsi-profile", "quick", "-k", "stop_tokens")
    assert done.returncode == 1
    assert "FAILED dsi::stop_tokens" in done.stdout
    assert "[stop_tokens]" in done.stdout and "Falsifying example" in done.stdout


class _Config:
    """The two things the plugin reads from pytest's config."""

    def __init__(self, engine: str | None) -> None:
        self.options = {"dsi_engine": engine, "dsi_profile": "quick"}
        self.stash = pytest.Stash()

    def getoption(self, name: str) -> object:
        return self.options[name]


def test_without_dsi_engine_the_plugin_adds_nothing() -> None:
    items: list[pytest.Item] = []
    pytest_plugin.pytest_collection_modifyitems(None, _Config(None), items)  # type: ignore[arg-type]
    assert items == []


def test_a_bad_engine_is_a_usage_error() -> None:
    with pytest.raises(pytest.UsageError, match="--dsi-engine: engine 'no_such_module:make' cannot be imported"):
        pytest_plugin.pytest_collection_modifyitems(None, _Config("no_such_module:make"), [])  # type: ignore[arg-type]
