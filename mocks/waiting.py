"""Waiting in a mock for what the code under test does: no fixed sleeps."""
from __future__ import annotations

import asyncio
import time
from typing import Any, Callable, Optional


async def wait_until(predicate: Callable[[], Any], changed: Optional[asyncio.Event], timeout: float,
                     what: str, seen: Callable[[], Any]) -> Any:
    """Poll until `predicate()` is truthy, woken by `changed` (set on every recorded call) and at
    least every 0.5 s; returns its value. On timeout, an AssertionError names `what` and `seen()`."""
    assert changed is not None, "start() the mock first"
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"timed out waiting for {what}; calls: {seen()}")
        changed.clear()
        try:
            await asyncio.wait_for(changed.wait(), timeout=min(remaining, 0.5))
        except asyncio.TimeoutError:
            pass
