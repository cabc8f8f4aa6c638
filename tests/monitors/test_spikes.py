"""Spike detection with the reference's worked examples."""

from __future__ import annotations

import pytest

from upwatch.monitors.spikes import detect, diff_percent


@pytest.mark.parametrize(
    ("response_time", "baseline", "expected"),
    [(482.15, 187.44, 157.2), (482.15, 112.33, 329.2), (100.0, 100.0, 0.0), (50.0, 100.0, -50.0)],
)
def test_diff_percent_matches_the_reference_examples(
    response_time: float, baseline: float, expected: float
) -> None:
    assert diff_percent(response_time, baseline) == expected


def test_diff_percent_is_null_when_the_baseline_is_zero() -> None:
    assert diff_percent(10.0, 0.0) is None


def test_a_response_far_above_the_baseline_is_a_spike() -> None:
    spike = detect(482.15, baseline_sum_ms=187.44 * 20, baseline_count=20, threshold_percent=100)
    assert spike is not None
    assert (spike.response_time_ms, spike.baseline_avg_ms, spike.diff_percent) == (
        482.15,
        187.44,
        157.2,
    )


def test_a_response_below_the_threshold_is_not_a_spike() -> None:
    assert detect(300.0, baseline_sum_ms=2000.0, baseline_count=10, threshold_percent=200) is None


def test_too_few_samples_never_make_a_spike() -> None:
    assert detect(10_000.0, baseline_sum_ms=900.0, baseline_count=9, min_samples=10) is None


def test_a_zero_baseline_never_makes_a_spike() -> None:
    assert detect(100.0, baseline_sum_ms=0.0, baseline_count=50) is None


def test_a_few_milliseconds_above_a_tiny_baseline_is_no_spike_by_default() -> None:
    """The README's loopback monitor: 16.15 ms against 7.24 ms is 123 %, but only 9 ms."""
    assert detect(16.15, baseline_sum_ms=7.24 * 20, baseline_count=20) is None


def test_a_response_the_minimum_difference_above_the_baseline_is_a_spike() -> None:
    spike = detect(300.0, baseline_sum_ms=100.0 * 20, baseline_count=20, min_diff_ms=200)
    assert spike is not None
    assert spike.diff_percent == 200.0
    assert detect(299.0, baseline_sum_ms=100.0 * 20, baseline_count=20, min_diff_ms=200) is None
