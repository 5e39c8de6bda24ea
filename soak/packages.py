"""The units a soak runs: each package's tests (and doctests) in one pytest process.

The packages come from pytest's own configuration, so a package added to ``testpaths`` in
pyproject.toml is soaked without a change here: each testpath ``P`` other than ``tests`` is one
package (``tests/P`` and ``P`` itself, for its doctests); whatever else lies in ``tests/`` is the
package ``other``; and ``properties-runtime`` runs the property suite against the runtime
(``DSI_ENGINE=runtime``), beside ``properties`` (the reference).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from reference.errors import ConfigError

#: The repository root (the soak runs pytest there).
ROOT = Path(__file__).resolve().parent.parent
#: The property suite's test file, run a second time against the runtime.
SUITE_TESTS = "tests/properties/test_suite.py"


@dataclass(frozen=True)
class Package:
    """One soak unit: pytest arguments (paths) and extra environment."""

    name: str
    paths: tuple[str, ...]
    env: dict[str, str] = field(default_factory=dict)

    def env_prefix(self) -> str:
        """``NAME=value `` for each extra variable (for replay commands)."""
        return "".join(f"{key}={value} " for key, value in sorted(self.env.items()))


def testpaths(root: Path = ROOT) -> list[str]:
    """pytest's ``testpaths`` from pyproject.toml."""
    with open(root / "pyproject.toml", "rb") as handle:
        config = tomllib.load(handle)
    return list(config["tool"]["pytest"]["ini_options"]["testpaths"])


def default_packages(root: Path = ROOT) -> list[Package]:
    """Every package of the suite (module docstring), in testpaths order."""
    packages: list[Package] = []
    claimed = set()
    for path in testpaths(root):
        if path == "tests":
            continue
        tests = f"tests/{path}"
        paths = (tests, path) if (root / tests).exists() else (path,)
        claimed.add(tests)
        packages.append(Package(path, paths))
        if path == "properties" and (root / SUITE_TESTS).exists():
            packages.append(Package("properties-runtime", (SUITE_TESTS,), {"DSI_ENGINE": "runtime"}))
    rest = sorted(f"tests/{entry.name}" for entry in (root / "tests").iterdir()
                  if f"tests/{entry.name}" not in claimed and _is_test_entry(entry))
    if rest:
        packages.append(Package("other", tuple(rest)))
    return packages


def _is_test_entry(entry: Path) -> bool:
    if entry.name.startswith((".", "__")):
        return False
    return entry.is_dir() or (entry.suffix == ".py" and entry.name != "conftest.py")


def select_packages(names: list[str] | None, root: Path = ROOT) -> list[Package]:
    """The packages named (a known name, or a path relative to the root: a package of its own);
    all of them when ``names`` is empty."""
    known = {package.name: package for package in default_packages(root)}
    if not names:
        return list(known.values())
    chosen = []
    for name in names:
        if name in known:
            chosen.append(known[name])
        elif (root / name).exists():
            chosen.append(Package(name, (name,)))
        else:
            raise ConfigError(f"unknown package {name!r}: give one of {', '.join(known)} or a test path "
                              f"relative to {root}")
    return chosen
