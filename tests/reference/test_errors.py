"""Bad inputs of SPEC §9: typed errors in Python, exit 2 and one stderr line in the CLI."""

import json
import subprocess
import sys
from fractions import Fraction

import numpy as np
import pytest

from paper_repro.console import main
from reference import ConfigError, LatencyModel, ProbabilityError, VocabularyMismatchError, generate
from reference.toy_models import TabularLM

TARGET = TabularLM(4, seed=1)
DRAFTER = TabularLM(4, seed=2)


class FixedModel:
    """A model that always returns the given vector (for bad-probability cases)."""

    def __init__(self, probs):
        self.vocab_size = len(probs)
        self._probs = np.asarray(probs, dtype=float)

    def next_token_probs(self, prefix):
        return self._probs


@pytest.mark.parametrize(
    ("kwargs", "error", "fragment"),
    [
        ({"latency": lambda: LatencyModel(target_decode=1, drafter_decode=0)}, ConfigError, "drafter_decode must"),
        ({"latency": lambda: LatencyModel(target_decode=1, drafter_decode=1.5)}, ConfigError, "exceeds 1"),
        ({"lookahead": 0}, ConfigError, "lookahead k"),
        ({"num_target_servers": 0}, ConfigError, "num_target_servers N"),
        ({"max_new_tokens": 0}, ConfigError, "max_new_tokens"),
        ({"prompt": []}, ConfigError, "prompt is empty"),
        ({"prompt": [9]}, ConfigError, "outside"),
        ({"drafter": TabularLM(5)}, VocabularyMismatchError, "vocab_size=5"),
        ({"target": FixedModel([0.5, 0.6, -0.1, 0.0])}, ProbabilityError, "negative"),
        ({"target": FixedModel([0.5, np.nan, 0.5, 0.0])}, ProbabilityError, "NaN"),
        ({"target": FixedModel([0.5, 0.4, 0.0, 0.0])}, ProbabilityError, "sums to"),
        ({"algorithm": "beam"}, ConfigError, "algorithm must be"),
        ({"seed": -3}, ConfigError, "seed"),
        ({"mode": "argmax"}, ConfigError, "mode must be"),
    ],
)
def test_generate_rejects_bad_input(kwargs, error, fragment):
    args = {"target": TARGET, "drafter": DRAFTER, "prompt": [0], "max_new_tokens": 5}
    args.update(kwargs)
    with pytest.raises(error, match=fragment):
        if callable(args.get("latency")):
            args["latency"] = args["latency"]()
        generate(**args)


def test_small_probability_drift_is_renormalised():
    drift = FixedModel([0.5 + 4e-7, 0.5, 0.0, 0.0])
    out = generate(drift, drift, [0], 3, algorithm="nonsi")
    assert len(out.tokens) == 3


@pytest.mark.parametrize(
    "argv",
    [
        ["simulate", "--c", "0", "--a", "0.5", "--k", "2"],
        ["simulate", "--c", "1.01", "--a", "0.5", "--k", "2"],
        ["simulate", "--c", "0.1", "--a", "1.2", "--k", "2"],
        ["simulate", "--c", "0.1", "--a", "nan", "--k", "2"],
        ["simulate", "--c", "0.1", "--a", "0.5", "--k", "0"],
        ["simulate", "--c", "0.1", "--a", "0.5", "--k", "2", "--sp", "0"],
        ["simulate", "--c", "0.1", "--a", "0.5", "--k", "2", "--tokens", "0"],
        ["simulate", "--model", "paper", "--c", "0.01", "--a", "0.5", "--k", "1"],
        ["simulate", "--c", "0.1", "--a", "0.5", "--k", "two"],
        ["simulate", "--model", "other", "--c", "0.1", "--a", "0.5", "--k", "2"],
    ],
)
def test_cli_bad_input_exits_2_with_one_line(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        raise SystemExit(main(argv))
    assert exit_info.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1 and "error" in captured.err


def test_paper_model_error_names_the_required_n(capsys):
    assert main(["simulate", "--model", "paper", "--c", "0.01", "--a", "0.5", "--k", "1"]) == 2
    assert "N >= ceil(1/(k*c)) = 100" in capsys.readouterr().err


def test_simulate_json_contract():
    out = subprocess.run([sys.executable, "-m", "paper_repro", "simulate", "--c", "0.1", "--a", "0.8", "--k", "5",
                          "--tokens", "200", "--json"], capture_output=True, text=True, check=True)
    data = json.loads(out.stdout)
    assert set(data) == {"params", "latency", "speedup"}
    assert set(data["latency"]) == {"nonsi", "si", "dsi"}
    assert set(data["speedup"]) == {"dsi_over_si", "dsi_over_nonsi", "si_over_nonsi"}
    assert data["latency"]["nonsi"] == 200.0
    assert data["speedup"]["dsi_over_si"] == pytest.approx(data["latency"]["si"] / data["latency"]["dsi"])


def test_generation_config_normalises_numpy_integers():
    """Seeds and stop tokens given as numpy integers are accepted and stored as Python ints."""
    from reference.config import GenerationConfig

    config = GenerationConfig(max_new_tokens=4, seed=np.uint64(7), stop_tokens=[np.int64(3), 5])
    assert type(config.seed) is int and config.seed == 7
    assert config.stop_tokens == frozenset({3, 5}) and all(type(t) is int for t in config.stop_tokens)


@pytest.mark.parametrize(("message", "match"), [(float("inf"), "finite"), (-0.5, ">= 0"), ("x", "message")])
def test_message_latency_of_the_fast_model_is_validated(message, match):
    from reference.fast import exact

    with pytest.raises(ConfigError, match=match):
        exact.dsi_latency(np.array([[True, False]]), 2, "1/10", 2, message=message)


def test_message_latency_of_the_fast_model_accepts_exact_strings():
    from reference.fast import exact

    row = np.array([[True, True, False, True]])
    # T(c, mu) = (1 + mu) T(c / (1 + mu), 0), with c and mu given as strings
    assert exact.dsi_latency(row, 2, "1/10", 2, message="1/2") == pytest.approx(
        1.5 * exact.dsi_latency(row, 2, Fraction(1, 15), 2))
