"""A mock server on its own event loop in a thread of its own.

The benchmarks (and the replica tests) drive carebot from their own loop while a mock platform
answers carebot's calls: running the mock on a separate loop keeps its latency out of the load
generator's and lets a test script faults into it from the outside (`call`).
"""
from __future__ import annotations

import asyncio
import threading
from typing import Any, Awaitable, Callable, Generic, List, Optional, Protocol, TypeVar


class Startable(Protocol):
    def start(self) -> Awaitable[Any]: ...

    def close(self) -> Awaitable[Any]: ...


M = TypeVar("M", bound=Startable)
T = TypeVar("T", bound="ThreadedMock[Any]")


class ThreadedMock(Generic[M]):
    """`mock` served from a thread named `name`; `what` names it in a start-up failure."""

    def __init__(self, mock: M, name: str, what: str) -> None:
        self.mock = mock
        self._name = name
        self._what = what
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._thread: Optional[threading.Thread] = None

    def start(self: T, timeout: float = 30.0) -> T:
        """Serve on an ephemeral loopback port from the thread; returns once listening."""
        started = threading.Event()
        failure: List[BaseException] = []

        def serve() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self.mock.start())
            except BaseException as exc:  # noqa: BLE001 - handed to the starting thread
                failure.append(exc)
                started.set()
                return
            started.set()
            loop.run_forever()
            loop.run_until_complete(self.mock.close())
            loop.close()

        self._thread = threading.Thread(target=serve, name=self._name, daemon=True)
        self._thread.start()
        if not started.wait(timeout) or failure:
            raise RuntimeError(f"{self._what} did not start: {failure[0] if failure else 'timeout'}")
        return self

    def call(self, work: Callable[[M], Any]) -> Any:
        """Run `work(mock)` on the mock's loop (scripting faults from another thread)."""
        assert self._loop is not None
        done = threading.Event()
        result: List[Any] = []
        self._loop.call_soon_threadsafe(lambda: (result.append(work(self.mock)), done.set()))
        done.wait(10)
        return result[0] if result else None

    def close(self) -> None:
        if self._loop is not None and self._thread is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(30)
