"""The core a replay talks to, created once per process with state kept in memory.

Replays go through the same channel-agnostic core (`dialogues.engine.Engine`) as the Slack and
Teams edges, but never through the on-disk state file: each replayed conversation starts fresh
and must not leave anything behind. Creating the engine loads TensorFlow and the NLU model (and
trains one if none exists), which takes long enough that a test session or a replay command
creates it once and reuses it.
"""
from __future__ import annotations

import asyncio
import sys
from typing import Any, Optional, Protocol

from dialogues.settings import CoreSettings
from dialogues.types import Reply, Turn


class ReplayEngine(Protocol):
    """What a replay needs of the core; test doubles implement just this."""

    async def handle(self, turn: Turn) -> Reply: ...

    async def reset(self, conversation_id: str) -> None: ...


class EngineUnavailable(RuntimeError):
    """The dialogue core is not installed in this tree (or failed to import)."""


async def create_engine(settings: Optional[CoreSettings] = None, parser: Any = None) -> Any:
    """A new core with an in-memory store; close it with `await engine.close()`.

    With `parser` (an already loaded NLU parser, as a test session has), the model is not loaded
    a second time.
    """
    try:
        from dialogues.engine import Engine
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.startswith("dialogues"):
            raise EngineUnavailable("the dialogue core (dialogues.engine) is not available") from exc
        raise
    from dialogues.store import SQLiteStore

    settings = settings or CoreSettings()
    store = SQLiteStore(":memory:", ttl_seconds=settings.conversation_ttl_days * 86400.0)
    if parser is not None:
        from knowledge import default_knowledge

        return Engine(parser, default_knowledge(), store, settings)
    # Training/loading messages go to stderr: stdout is the replay report.
    return await Engine.create(settings, store=store, say=lambda message: print(message, file=sys.stderr))


_shared: Optional[Any] = None
_shared_lock: Optional[asyncio.Lock] = None


async def shared_engine(parser: Any = None) -> Any:
    """One engine per process, for test sessions: every caller gets the same instance.

    It is bound to the event loop that created it, so callers share one loop (pytest-asyncio's
    session loop does).
    """
    global _shared, _shared_lock
    if _shared_lock is None:
        _shared_lock = asyncio.Lock()
    async with _shared_lock:
        if _shared is None:
            _shared = await create_engine(parser=parser)
        return _shared


async def close_shared_engine() -> None:
    """Close the shared engine if one was created; safe to call more than once."""
    global _shared
    engine, _shared = _shared, None
    if engine is not None:
        close = getattr(engine, "close", None)
        if close is not None:
            await close()
