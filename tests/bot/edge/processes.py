"""Starting server processes from a test that shares its event loop with the engine's tests.

Importing Rasa imports its old Sanic, whose `sanic.server` sets uvloop's event-loop policy as a
side effect. That policy has no child watcher, so once the engine has been loaded in the test
process, `asyncio.create_subprocess_exec` raises NotImplementedError. The session's loop is a
standard asyncio loop all along; giving it back the standard policy lets it start processes.
"""
from __future__ import annotations

import asyncio


def standard_loop_policy() -> None:
    policy = asyncio.get_event_loop_policy()
    if not isinstance(policy, asyncio.DefaultEventLoopPolicy):
        asyncio.set_event_loop_policy(asyncio.DefaultEventLoopPolicy())
