"""Response-time spikes against a baseline, with the Osminog reference semantics.

The baseline is the average response time of every earlier successful check (the reference
shows `baseline_avg_ms` equal to the task's `avg_ms` at the time). A spike is a response at
least `threshold_percent` above it, once enough checks make the baseline meaningful.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_THRESHOLD_PERCENT = 100.0  # twice the usual response time
MIN_SAMPLES = 10


@dataclass(frozen=True, slots=True)
class Spike:
    response_time_ms: float
    baseline_avg_ms: float
    diff_percent: float | None


def diff_percent(response_time_ms: float, baseline_avg_ms: float) -> float | None:
    """`round((rt - baseline) / baseline * 100, 1)`, None when the baseline is 0."""
    if baseline_avg_ms == 0:
        return None
    return round((response_time_ms - baseline_avg_ms) / baseline_avg_ms * 100, 1)


def detect(
    response_time_ms: float,
    baseline_sum_ms: float,
    baseline_count: int,
    threshold_percent: float = DEFAULT_THRESHOLD_PERCENT,
    min_samples: int = MIN_SAMPLES,
) -> Spike | None:
    """The spike this response is, if it is one."""
    if baseline_count < min_samples:
        return None
    baseline = baseline_sum_ms / baseline_count
    diff = diff_percent(response_time_ms, baseline)
    if diff is None or diff < threshold_percent:
        return None
    return Spike(response_time_ms, round(baseline, 2), diff)
