"""The quick profile of the Hugging Face assisted-generation check, as CI runs it (≤ 60 s).

``python -m properties.hf_assisted --quick``: 4 greedy cases, 2 stop-token cases, 3 χ² tests
(family-wise α = 1e-6, power 0.99 against TV 0.1) and the positive control (a lossy option of
the same library must be rejected). Re-measure: ``time python -m properties.hf_assisted --quick``.
"""

from __future__ import annotations

import pytest

from properties.hf_assisted import passed, run


@pytest.mark.slow
def test_hf_assisted_generation_passes_the_quick_profile() -> None:
    report = run(quick=True)
    counts = {key: len(report[key]) for key in ("greedy", "stop_tokens", "statistical")}  # type: ignore[arg-type]
    assert counts == {"greedy": 4, "stop_tokens": 2, "statistical": 3}
    failures = [c for key in counts for c in report[key] if not c["passed"]]  # type: ignore[union-attr]
    assert not failures, failures
    assert report["positive_control"]["detected"], report["positive_control"]  # type: ignore[index]
    assert passed(report)
    for test in report["statistical"]:  # type: ignore[union-attr]
        assert test["alpha"] == pytest.approx(1e-6 / 3) and test["effect_tv"] == 0.1 and test["power"] == 0.99
