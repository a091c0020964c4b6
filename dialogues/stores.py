"""Which state store a process uses: Redis when CAREBOT_REDIS_URL is set, else the SQLite file.

One place decides, so every entry point (the chat edges, the terminal chat, the benchmarks)
agrees; redis is imported only when it is asked for, so the embedded default needs nothing more.
"""
from __future__ import annotations

from dialogues.settings import CoreSettings
from dialogues.store import SQLiteStore, StateStore

DAY_SECONDS = 86400.0


async def open_store(settings: CoreSettings) -> StateStore:
    """The configured store, connected. Raises StoreUnavailable when Redis is configured but does
    not answer (the message names CAREBOT_REDIS_URL, never its password)."""
    ttl_seconds = settings.conversation_ttl_days * DAY_SECONDS
    if settings.redis_url:
        from dialogues.redis_store import RedisStore

        # one lease for claims and turn locks: how long a dead replica's hold lasts
        return await RedisStore.connect(settings.redis_url, ttl_seconds,
                                        lock_lease_seconds=settings.claim_lease_seconds,
                                        pending_text_ttl=settings.pending_text_ttl_seconds)
    return SQLiteStore(settings.state_path, ttl_seconds=ttl_seconds,
                       pending_text_ttl=settings.pending_text_ttl_seconds)
