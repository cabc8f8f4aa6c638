"""Response-time spikes against a baseline, with the Osminog reference semantics.

The baseline is the average response time of every earlier successful check (the reference
shows `baseline_avg_ms` equal to the task's `avg_ms` at the time). A response is slow when it
is at least `threshold_percent` above it *and* at least `min_diff_ms` above it, once enough
checks make the baseline meaningful: on a fast target a percentage alone is noise (16 ms
against 7 ms is "123 %"). A spike is reported when `consecutive` slow checks come in a row,
once per run of slow checks; `diff_percent` keeps the reference's formula.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_THRESHOLD_PERCENT = 100.0  # twice the usual response time
DEFAULT_MIN_DIFF_MS = 100.0  # what a person notices; loopback jitter never reaches it
DEFAULT_CONSECUTIVE = 3  # one slow answer is noise, three in a row are a trend
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
    min_diff_ms: float = DEFAULT_MIN_DIFF_MS,
) -> Spike | None:
    """The spike this response is, if it is a slow one."""
    if baseline_count < min_samples:
        return None
    baseline = baseline_sum_ms / baseline_count
    diff = diff_percent(response_time_ms, baseline)
    if diff is None or diff < threshold_percent or response_time_ms - baseline < min_diff_ms:
        return None
    return Spike(response_time_ms, round(baseline, 2), diff)


def streak_after(streak: int, slow: bool) -> int:
    """Slow checks in a row, this one included."""
    return streak + 1 if slow else 0


def is_reported(streak: int, consecutive: int) -> bool:
    """The spike is reported once, when the run of slow checks reaches `consecutive`."""
    return streak == consecutive
