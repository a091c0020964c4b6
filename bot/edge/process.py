"""What every `carebot serve PLATFORM` process does besides serving: talk to the operator on
stderr, and wait for SIGINT or SIGTERM."""
from __future__ import annotations

import asyncio
import signal
import sys


async def until_stopped() -> None:
    """Until SIGINT or SIGTERM (Ctrl-C, a service manager stopping the process)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):  # not on the main thread / platform
            pass
    await stop.wait()


def say(text: str) -> None:
    """One line for the operator, on stderr (stdout stays free)."""
    print(text, file=sys.stderr, flush=True)
