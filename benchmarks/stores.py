"""(7) What the state store adds to a turn: the store calls one answered message makes, timed alone.

A chat turn claims its delivery (with the pending text), takes the conversation's turn lock,
loads and saves the state (a fenced write), releases the lock and marks the delivery answered.
Timed on the embedded SQLite store and, with `--redis`, on a real Redis on loopback: the difference
is Redis's added cost per turn (a turn's parse noise would hide it).
"""
from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any, Dict, List, Optional

from benchmarks import stats


async def _store_turn(store: Any, conversation_id: str) -> None:
    from dialogues.state import ConversationState
    from dialogues.store import Pending

    key = f"bench:event:{uuid.uuid4().hex}"
    pending = Pending("bench", conversation_id, {"channel": "C1"}, "lanreotide dose?", "U1", key, (key,))
    claim = await store.claim((key,), pending)
    async with store.ordered(conversation_id):
        state = await store.load(conversation_id) or ConversationState()
        state.turns += 1
        await store.save(conversation_id, state)
    await store.answered(claim)


async def _measure(store: Any, turns: int, conversations: int = 50) -> List[float]:
    times: List[float] = []
    for number in range(turns):
        started = time.perf_counter()
        await _store_turn(store, f"bench:store:{number % conversations}")
        times.append(time.perf_counter() - started)
    return times


async def store_benchmark(workdir: Path, redis_url: Optional[str], turns: int = 2000) -> Dict[str, Any]:
    from dialogues.store import SQLiteStore

    result: Dict[str, Any] = {"turns": turns, "calls_per_turn": "claim, lock, load, save, unlock, answered"}
    sqlite = SQLiteStore(workdir / "store-bench.db", ttl_seconds=86400)
    try:
        await _measure(sqlite, min(200, turns))  # warm-up
        result["sqlite_ms"] = stats.summary(await _measure(sqlite, turns))
    finally:
        await sqlite.close()
    if redis_url:
        from dialogues.redis_store import RedisStore

        redis = await RedisStore.connect(redis_url, ttl_seconds=86400, prefix=f"bench:{uuid.uuid4().hex[:6]}:")
        try:
            await _measure(redis, min(200, turns))
            result["redis_ms"] = stats.summary(await _measure(redis, turns))
        finally:
            await redis.close()
        result["redis_added_ms_median"] = round(result["redis_ms"]["median"] - result["sqlite_ms"]["median"], 3)
    return result
