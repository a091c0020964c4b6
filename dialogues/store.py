"""Where conversations live between turns, and what must survive a restart.

The manager talks to `StateStore` only, so a shared store (Redis) can replace the embedded SQLite
one when several processes must agree, without touching the manager.

SQLite calls run on the event loop's thread: in WAL mode with synchronous=NORMAL a commit does not
fsync, so each call costs tens of microseconds, less than a thread hand-off would.
"""
from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path
from typing import Iterable, List, Optional, Protocol, Tuple

from dialogues.state import ConversationState

_SCHEMA = """
CREATE TABLE IF NOT EXISTS conversations (
    id TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    updated REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS conversations_updated ON conversations(updated);
CREATE TABLE IF NOT EXISTS seen_events (
    key TEXT PRIMARY KEY,
    seen REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS seen_events_seen ON seen_events(seen);
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation_id TEXT NOT NULL,
    statement_ids TEXT NOT NULL,
    helpful INTEGER NOT NULL,
    user TEXT,
    at REAL NOT NULL
);
"""
_EVENT_TTL_SECONDS = 24 * 3600.0  # Slack retries within minutes; a day is generous
_PURGE_EVERY = 500  # writes between sweeps of expired rows


class StateStore(Protocol):
    async def load(self, conversation_id: str) -> Optional[ConversationState]: ...

    async def save(self, conversation_id: str, state: ConversationState) -> None: ...

    async def delete(self, conversation_id: str) -> None: ...

    async def claim_event(self, key: str) -> bool:
        """True the first time a delivery key is seen; False for a retry or duplicate."""
        ...

    async def add_feedback(
        self, conversation_id: str, statement_ids: Iterable[str], helpful: bool, user: Optional[str]
    ) -> None: ...

    async def close(self) -> None: ...


class SQLiteStore:
    """The embedded default: one SQLite file (or ':memory:' for tests)."""

    def __init__(self, path: Path | str, ttl_seconds: float, clock=time.time) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self.ttl = ttl_seconds
        self._clock = clock
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA busy_timeout=5000")
        self._db.executescript(_SCHEMA)
        self._writes = 0

    async def load(self, conversation_id: str) -> Optional[ConversationState]:
        row = self._db.execute(
            "SELECT state, updated FROM conversations WHERE id = ?", (conversation_id,)
        ).fetchone()
        if row is None:
            return None
        if row[1] < self._clock() - self.ttl:
            await self.delete(conversation_id)
            return None
        return ConversationState.parse_raw(row[0])

    async def save(self, conversation_id: str, state: ConversationState) -> None:
        self._db.execute(
            "INSERT INTO conversations(id, state, updated) VALUES (?, ?, ?) "
            "ON CONFLICT(id) DO UPDATE SET state = excluded.state, updated = excluded.updated",
            (conversation_id, state.json(), self._clock()),
        )
        self._after_write()

    async def delete(self, conversation_id: str) -> None:
        self._db.execute("DELETE FROM conversations WHERE id = ?", (conversation_id,))

    async def claim_event(self, key: str) -> bool:
        cursor = self._db.execute(
            "INSERT OR IGNORE INTO seen_events(key, seen) VALUES (?, ?)", (key, self._clock())
        )
        self._after_write()
        return cursor.rowcount == 1

    async def add_feedback(
        self, conversation_id: str, statement_ids: Iterable[str], helpful: bool, user: Optional[str]
    ) -> None:
        self._db.execute(
            "INSERT INTO feedback(conversation_id, statement_ids, helpful, user, at) VALUES (?, ?, ?, ?, ?)",
            (conversation_id, json.dumps(list(statement_ids)), int(helpful), user, self._clock()),
        )

    def feedback(self) -> List[Tuple[str, List[str], bool, Optional[str]]]:
        """All feedback rows (conversation id, statement ids, helpful, user), oldest first."""
        rows = self._db.execute(
            "SELECT conversation_id, statement_ids, helpful, user FROM feedback ORDER BY id"
        ).fetchall()
        return [(c, json.loads(s), bool(h), u) for c, s, h, u in rows]

    def count(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM conversations").fetchone()[0])

    def purge_expired(self) -> None:
        now = self._clock()
        self._db.execute("DELETE FROM conversations WHERE updated < ?", (now - self.ttl,))
        self._db.execute("DELETE FROM seen_events WHERE seen < ?", (now - _EVENT_TTL_SECONDS,))

    def _after_write(self) -> None:
        self._writes += 1
        if self._writes % _PURGE_EVERY == 0:
            self.purge_expired()

    async def close(self) -> None:
        self._db.close()
