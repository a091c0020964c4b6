"""At most N Connector requests per second per tenant, so carebot stays inside Teams' limits.

Teams throttles a bot per tenant (and answers 429 beyond it); waiting here first is cheaper than
being told to. This is a sliding window, not a token bucket: a bucket of 50 refilled at 50/s
would allow 100 requests in the first second. Every attempt counts, retries included.
"""
from __future__ import annotations

import asyncio
import time
from collections import deque
from typing import Awaitable, Callable, Deque, Dict

DEFAULT_RATE = 50
WINDOW_SECONDS = 1.0


class TenantThrottle:
    def __init__(self, rate: int = DEFAULT_RATE, window: float = WINDOW_SECONDS,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        if rate < 1 or window <= 0:
            raise ValueError("rate and window must be positive")
        self.rate = rate
        self.window = window
        self._clock = clock
        self._sleep = sleep
        self._starts: Dict[str, Deque[float]] = {}

    async def wait(self, tenant: str) -> float:
        """Reserve the next start time this tenant may use and sleep until it; returns the wait.

        Starts are reserved in call order without awaiting in between, so concurrent callers
        never reserve the same slot: the n-th start is at least `window` after the (n-rate)-th.
        """
        starts = self._starts.setdefault(tenant, deque())
        now = self._clock()
        start = now
        if len(starts) >= self.rate:
            start = max(now, starts[-self.rate] + self.window)
        starts.append(start)
        while len(starts) > self.rate:
            starts.popleft()
        delay = start - now
        if delay > 0:
            await self._sleep(delay)
        return delay
