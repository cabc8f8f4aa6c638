"""Waiting, in tests, for what happens asynchronously (a background check, a delivery, a
state change): poll until it is there, fail with what was awaited if it never comes.

The limits are generous on purpose: they only matter when a test fails, and a loaded CI
machine must not turn a slow pass into a failure. No test asserts how quickly something came.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

import pytest

R = TypeVar("R")

WAIT_SECONDS = 15.0  # the longest a test waits for an asynchronous effect
STEP_SECONDS = 0.05


def eventually(
    probe: Callable[[], R | bool | None],
    what: str,
    within: float = WAIT_SECONDS,
    step: float = STEP_SECONDS,
) -> R:
    """Poll `probe` until it returns something (not None, not False), for at most `within` s;
    what it returned."""
    give_up = time.monotonic() + within
    while True:
        found = probe()
        if found is not None and found is not False:
            return found  # type: ignore[return-value]
        if time.monotonic() > give_up:
            pytest.fail(f"{what}: not seen within {within} s")
        time.sleep(step)


def until(
    condition: Callable[[], bool],
    what: str,
    within: float = WAIT_SECONDS,
    step: float = STEP_SECONDS,
) -> None:
    """Poll `condition` until it holds, for at most `within` s."""
    eventually(lambda: condition() or None, what, within, step)
