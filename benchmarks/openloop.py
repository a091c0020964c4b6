"""Open-loop load: every request goes out at its scheduled time, whatever the server is doing.

A slow server then shows as latency and backlog, not as a politely slower generator. Shared by
the Slack and Teams load generators, which differ only in what they send and how they tell that
everything was answered.
"""
from __future__ import annotations

import asyncio
import time
from typing import Any, Awaitable, Callable, Dict, List, Mapping, Protocol, Sequence, Tuple, TypeVar

import aiohttp

from benchmarks import machine, stats


class Scheduled(Protocol):
    scheduled: float  # perf_counter time it is due


S = TypeVar("S", bound=Scheduled)

LATE_DUPLICATES_SECONDS = 1.0  # after the drain: a duplicate reply would arrive within this


async def timed_post(session: aiohttp.ClientSession, url: str, body: bytes, headers: Mapping[str, str],
                     deadline: float) -> Tuple[int, float]:
    """POST `body`; (status, seconds to the response). Status 0 when there was none within
    `deadline` or the connection failed: the platform would deliver it again."""
    started = time.perf_counter()
    try:
        async with session.post(url, data=body, headers=dict(headers),
                                timeout=aiohttp.ClientTimeout(total=deadline)) as response:
            await response.read()
            return response.status, time.perf_counter() - started
    except (aiohttp.ClientError, asyncio.TimeoutError, OSError):
        return 0, time.perf_counter() - started


async def drive(server_pid: int, items: Sequence[S], start: float, deliver: Callable[[S], Awaitable[None]],
                answered: Callable[[], bool], drain_timeout: float) -> Dict[str, Any]:
    """Deliver `items` on schedule, wait up to `drain_timeout` for `answered()`, then a little
    longer for late duplicates; the server's memory is sampled throughout. Returns the run's
    figures (send and drain seconds, the generator's own lag, load and memory)."""
    rss_samples: List[int] = []
    sampling = True

    async def sample() -> None:
        while sampling:
            rss = machine.proc_status(server_pid).get("VmRSS")
            if rss:
                rss_samples.append(rss)
            await asyncio.sleep(0.25)

    sampler = asyncio.create_task(sample())
    load_before = machine.load_average()
    tasks = []
    lag: List[float] = []
    for item in items:
        delay = item.scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        lag.append(max(0.0, time.perf_counter() - item.scheduled))
        tasks.append(asyncio.create_task(deliver(item)))
    send_seconds = time.perf_counter() - start
    await asyncio.gather(*tasks)
    deadline = time.perf_counter() + drain_timeout
    while time.perf_counter() < deadline and not answered():
        await asyncio.sleep(0.1)
    drained = time.perf_counter() - start
    await asyncio.sleep(LATE_DUPLICATES_SECONDS)
    sampling = False
    await sampler
    status = machine.proc_status(server_pid)
    return {
        "send_seconds": round(send_seconds, 3),
        "drain_seconds": round(drained, 3),
        "generator_lag_ms": stats.summary(lag),
        "load_before": load_before,
        "load_after": machine.load_average(),
        "server_rss_max_bytes": max(rss_samples) if rss_samples else None,
        "server_hwm_bytes": status.get("VmHWM"),
        "server_threads": status.get("Threads"),
    }
