"""Logits processing: temperature, top-k, top-p (hand-computed)."""

import numpy as np
import pytest

from reference.errors import ConfigError
from reference.processing import SamplingConfig, process


def test_identity_config_returns_input():
    p = np.array([0.2, 0.8])
    assert process(p, SamplingConfig()) is p


def test_temperature_two_takes_square_roots():
    out = process(np.array([0.2, 0.8]), SamplingConfig(temperature=2.0))
    assert np.allclose(out, np.sqrt([0.2, 0.8]) / np.sqrt([0.2, 0.8]).sum())


def test_top_k_ties_keep_lowest_id():
    out = process(np.array([0.3, 0.3, 0.3, 0.1]), SamplingConfig(top_k=2))
    assert out.tolist() == [0.5, 0.5, 0.0, 0.0]


def test_top_p_keeps_crossing_token():
    out = process(np.array([0.1, 0.5, 0.4]), SamplingConfig(top_p=0.6))
    assert np.allclose(out, [0.0, 5 / 9, 4 / 9])


def test_top_p_exact_reach_stops_there():
    out = process(np.array([0.25, 0.5, 0.25]), SamplingConfig(top_p=0.5))
    assert out.tolist() == [0.0, 1.0, 0.0]


@pytest.mark.parametrize(
    "kwargs",
    [{"mode": "beam"}, {"temperature": 0}, {"temperature": -1.0}, {"top_k": 0}, {"top_p": 0.0}, {"top_p": 1.5}],
)
def test_invalid_configs(kwargs):
    with pytest.raises(ConfigError):
        SamplingConfig(**kwargs)
