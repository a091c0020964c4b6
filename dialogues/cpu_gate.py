"""One CPU-bound section at a time, with the event loop served in between when turns queue.

A turn's parse and dialogue are ~15 ms of CPU that never yield to the event loop. When turns ran
back to back, a chat platform's acknowledgement (Slack wants one within 3 s) waited behind all of
them: every turn accepted in one loop iteration ran in the next, and an HTTP request needs several
iterations (accept, connection set-up, read, handler) to be answered. Beyond saturation the
iterations grew with the backlog, and Slack's ack p99 reached 1.5 s at 50 events/s.

The gate admits one section at a time, in arrival order. When turns are queued, it lets the loop
run `breathe` iterations before each section: in each one the loop polls its sockets and runs
what is ready (an ack, a post, a lease renewal). So whatever waits for the loop advances `breathe`
steps between two turns, instead of one step between two batches of turns.

Turns are "queued" when another turn waits at the gate, or when an edge that reported its backlog
(`watch_backlog`) has more than one answer accepted and unfinished: an edge accepts a burst in one
iteration, before any of its turns reaches the gate, so only it can tell. A lone turn does not
breathe: an ack then waits for one turn at most, and the iterations would cost it 0.17 ms (measured:
an iteration after a parse costs ~50 us, with the caches cold).

A worker thread was measured first and rejected: the hand-off alone cost 0.14 ms a turn on this
machine, and SQLite calls on the loop then waited up to 13 ms for the GIL while a parse held it.
"""
from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager
from typing import AsyncIterator, Callable, List, Optional

# Loop iterations granted to other work before each section while turns queue. Measured in
# docs/performance.md ("Acknowledgements beyond saturation").
BREATHE = 3


class CpuGate:
    def __init__(self, breathe: int = BREATHE) -> None:
        if breathe < 0:
            raise ValueError("breathe must be >= 0")
        self.breathe = breathe
        self._backlogs: List[Callable[[], int]] = []
        self._lock: Optional[asyncio.Lock] = None
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._waiting = 0

    def watch_backlog(self, unfinished: Callable[[], int]) -> Callable[[], None]:
        """An edge's count of answers accepted and not yet finished; returns the call that stops
        watching it (an edge that closes, while the engine serves on)."""
        self._backlogs.append(unfinished)
        return lambda: self._backlogs.remove(unfinished) if unfinished in self._backlogs else None

    @property
    def queued(self) -> bool:
        return self._waiting > 0 or any(unfinished() > 1 for unfinished in self._backlogs)

    @asynccontextmanager
    async def section(self) -> AsyncIterator[None]:
        """Hold the gate for one CPU-bound section; the body should not wait on I/O."""
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            # one lock per loop: a CLI may run an engine under successive asyncio.run calls
            self._lock, self._loop = asyncio.Lock(), loop  # fair: first in, first out
        lock = self._lock
        assert lock is not None
        self._waiting += 1
        try:
            await lock.acquire()
        finally:
            self._waiting -= 1
        try:
            if self.queued:
                for _ in range(self.breathe):
                    await asyncio.sleep(0)
            yield
        finally:
            lock.release()
