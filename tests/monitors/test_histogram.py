"""Percentiles from the latency histogram stay close to the exact ones."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from upwatch.monitors import histogram

latencies = st.lists(
    st.floats(min_value=0.1, max_value=200_000, allow_nan=False), min_size=1, max_size=300
)


def exact(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(1, math.ceil(q / 100 * len(ordered))) - 1]


@given(latencies, st.sampled_from([50.0, 95.0, 99.0, 100.0]))
def test_a_histogram_percentile_is_within_ten_percent_of_the_exact_one(
    values: list[float], q: float
) -> None:
    counts = histogram.empty()
    for value in values:
        histogram.add(counts, value)
    estimate = histogram.percentile(counts, q, low=min(values), high=max(values))
    assert estimate is not None
    truth = exact(values, q)
    assert truth <= estimate <= max(truth * 1.1, truth + 0.001) or estimate == max(values)


@given(latencies, latencies)
def test_merging_histograms_equals_counting_everything_once(
    first: list[float], second: list[float]
) -> None:
    one, two, both = histogram.empty(), histogram.empty(), histogram.empty()
    for value in first:
        histogram.add(one, value)
        histogram.add(both, value)
    for value in second:
        histogram.add(two, value)
        histogram.add(both, value)
    assert histogram.merge([one, two]) == both
    assert histogram.merge_stored([histogram.compact(one), None, histogram.compact(two)]) == both


def test_the_sparse_form_round_trips() -> None:
    counts = histogram.empty()
    for value in (1.0, 5.0, 5.0, 999_999.0):
        histogram.add(counts, value)
    assert histogram.expand(histogram.compact(counts)) == counts
    assert histogram.percentile(histogram.empty(), 50, low=0, high=0) is None


def test_sparse_counts_store_exactly_what_the_dense_histogram_stores() -> None:
    """The writer keeps rollup histograms sparse; what it stores must not change."""
    dense, sparse = histogram.empty(), dict[int, int]()
    for value in (0.05, 3.2, 3.3, 80.0, 80.1, 4999.0, 200_000.0):
        histogram.add(dense, value)
        histogram.add_sparse(sparse, value)
    stored = histogram.compact_sparse(sparse)
    assert stored == histogram.compact(dense)
    assert list(stored) == sorted(stored, key=int)  # in bucket order, as before
    assert histogram.parse_sparse(stored) == sparse
    assert histogram.expand(stored) == dense
