"""Where conversations live between turns, and what every replica must agree on.

Two protocols, because they are two jobs with different lifetimes:

- `ConversationStore`: case state per conversation (expires when idle), one turn at a time per
  conversation (`ordered`), and fenced writes: `save` is a compare-and-set on the state's
  `version`, so a holder whose turn outlived its lease cannot overwrite newer state (`StaleState`).
- `DeliveryStore`: claims on deliveries (an event, a message id, an activity, a click), which are
  *in progress* under a lease until `answered`; the pending message a crash would otherwise lose;
  one-off marks (a refusal said once); shared answers; feedback.

`SQLiteStore` is the embedded default and does both; `dialogues.redis_store.RedisStore` does both
for several replicas. The engine and the edges see only the protocols.

Claims are at-least-once with de-duplication: a delivery is claimed *in progress* with a lease
before any work starts, renewed while the work runs, and marked *answered* once the reply is
posted. A retry finds it in progress (leave it) or answered (leave it); a claim whose lease ran out
belongs to a replica that died, and whoever finds it next answers it. The window for a duplicate is
the lease. The message text a crash would lose is kept with the claim (`Pending.text`) until it
is answered, and never longer than `PENDING_TEXT_TTL_SECONDS`: the one place message text is at rest.

SQLite calls run on the event loop's thread: in WAL mode with synchronous=NORMAL a commit does not
fsync, so each call costs tens of microseconds, less than a thread hand-off would.
"""
from __future__ import annotations

import asyncio
import json
import secrets
import sqlite3
import time
import weakref
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import AsyncIterator, Dict, List, Optional, Protocol, Sequence, Tuple

from dialogues.state import ConversationState

# Slack retries within minutes and Teams within seconds; a day of remembered claims is generous.
CLAIM_TTL_SECONDS = 24 * 3600.0
# A claim's lease: renewed every third of it while the answer is worked on, so only a holder that
# stopped (crash, SIGKILL, a frozen host) lets it lapse. This is the window for a duplicate answer.
CLAIM_LEASE_SECONDS = 30.0
# How long the text of a message waiting to be answered may stay at rest. After that a recovered
# delivery gets an apology instead of an answer.
PENDING_TEXT_TTL_SECONDS = 3600.0
FEEDBACK_REASONS = ("wrong_statement", "missing_information", "did_not_understand", "too_long")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS conversations (
    id TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    updated REAL NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX IF NOT EXISTS conversations_updated ON conversations(updated);
CREATE TABLE IF NOT EXISTS deliveries (
    key TEXT PRIMARY KEY,
    status TEXT NOT NULL,            -- in_progress | answered
    token TEXT NOT NULL,
    lease_until REAL NOT NULL,
    seen REAL NOT NULL,
    pending TEXT,                    -- JSON Pending, on the first key of a delivery, until answered
    text_until REAL,
    platform TEXT                    -- whose edge can answer it after a crash
);
CREATE INDEX IF NOT EXISTS deliveries_seen ON deliveries(seen);
CREATE INDEX IF NOT EXISTS deliveries_open ON deliveries(status, lease_until);
CREATE TABLE IF NOT EXISTS shared_answers (
    token TEXT PRIMARY KEY,
    answer TEXT NOT NULL,
    expires REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation_id TEXT NOT NULL,
    statement_ids TEXT NOT NULL,
    helpful INTEGER NOT NULL,
    user TEXT,
    at REAL NOT NULL,
    reason TEXT,
    audit_id TEXT
);
"""
_MIGRATIONS = (
    # a state file from before versions and leases: add what is missing, keep the conversations
    ("conversations", "version", "ALTER TABLE conversations ADD COLUMN version INTEGER NOT NULL DEFAULT 1"),
    ("deliveries", "platform", "ALTER TABLE deliveries ADD COLUMN platform TEXT"),
    ("feedback", "reason", "ALTER TABLE feedback ADD COLUMN reason TEXT"),
    ("feedback", "audit_id", "ALTER TABLE feedback ADD COLUMN audit_id TEXT"),
)
_PURGE_EVERY = 500  # writes between sweeps of expired rows


class StoreUnavailable(Exception):
    """The store cannot be reached (a shared store's server is down). Nothing was written."""


class StaleState(Exception):
    """A fenced write lost: another holder saved newer state for this conversation."""


@dataclass(frozen=True)
class Pending:
    """What it takes to answer a delivery after a crash: who, where, and the text (until answered).

    `route` is the platform's own JSON-able address of the answer (channel and thread; a service
    URL and conversation id); only that platform's edge reads it.
    """

    platform: str
    conversation_id: str
    route: Dict[str, str]
    text: Optional[str]
    user: Optional[str] = None
    ref: str = ""
    keys: Tuple[str, ...] = ()

    def to_json(self) -> str:
        return json.dumps({"platform": self.platform, "conversation_id": self.conversation_id,
                           "route": self.route, "text": self.text, "user": self.user, "ref": self.ref,
                           "keys": list(self.keys)})

    @classmethod
    def from_json(cls, raw: str) -> "Pending":
        data = json.loads(raw)
        return cls(platform=data["platform"], conversation_id=data["conversation_id"],
                   route=dict(data["route"]), text=data.get("text"), user=data.get("user"),
                   ref=data.get("ref", ""), keys=tuple(data.get("keys", ())))

    def without_text(self) -> "Pending":
        return Pending(self.platform, self.conversation_id, self.route, None, self.user, self.ref, self.keys)


@dataclass(frozen=True)
class Claim:
    """A granted claim on a delivery: its keys and the token that proves who holds it."""

    keys: Tuple[str, ...]
    token: str
    pending: Optional[Pending] = None


@dataclass(frozen=True)
class Feedback:
    conversation_id: str
    statement_ids: Tuple[str, ...]
    helpful: bool
    user: Optional[str] = None
    reason: Optional[str] = None  # one of FEEDBACK_REASONS, never free text
    audit_id: Optional[str] = None  # the audit record of the answer it is about
    at: float = field(default_factory=time.time)


class ConversationStore(Protocol):
    async def load(self, conversation_id: str) -> Optional[ConversationState]:
        """The state with its `version` set, or None (never saved, or expired)."""
        ...

    async def save(self, conversation_id: str, state: ConversationState) -> None:
        """Compare-and-set on `state.version`; bumps it. Raises StaleState when newer state exists."""
        ...

    async def delete(self, conversation_id: str) -> None: ...

    def ordered(self, conversation_id: str) -> "AsyncContextManagerNone":
        """Hold while a turn of this conversation runs (and its reply is posted): one at a time."""
        ...

    async def close(self) -> None: ...


class AsyncContextManagerNone(Protocol):
    async def __aenter__(self) -> None: ...

    async def __aexit__(self, *exc: object) -> Optional[bool]: ...


class DeliveryStore(Protocol):
    async def claim(self, keys: Sequence[str], pending: Optional[Pending] = None,
                    lease_seconds: float = CLAIM_LEASE_SECONDS) -> Optional[Claim]:
        """Claim a delivery under all its keys at once, or None when any key is answered or in
        progress under a live lease (a duplicate). An expired in-progress claim is taken over."""
        ...

    async def renew(self, claim: Claim, lease_seconds: float = CLAIM_LEASE_SECONDS) -> bool:
        """Extend the lease; False when the claim was lost (expired and taken over)."""
        ...

    async def answered(self, claim: Claim) -> None:
        """The reply is posted (or the apology): the delivery is done and its text is deleted."""
        ...

    async def release(self, claim: Claim) -> None:
        """Give a claim back unanswered (shutting down): the next one to find it answers it."""
        ...

    async def recover(self, platform: str, lease_seconds: float = CLAIM_LEASE_SECONDS,
                      limit: int = 100) -> List[Claim]:
        """Take over `platform`'s deliveries in progress whose lease expired, with their pending
        messages (text removed once past its bound: those get an apology)."""
        ...

    async def mark_once(self, key: str) -> bool:
        """True the first time `key` is marked (a refusal said once, a click counted once)."""
        ...

    async def put_share(self, token: str, answer: str, ttl_seconds: float) -> None: ...

    async def take_share(self, token: str) -> Optional[str]:
        """The shared answer for `token`, once."""
        ...

    async def add_feedback(self, feedback: Feedback) -> None: ...

    async def ping(self) -> bool:
        """True when the store answers (for /healthz)."""
        ...

    async def close(self) -> None: ...


class StateStore(ConversationStore, DeliveryStore, Protocol):
    """Both jobs in one object, as both stores here are."""


def new_token() -> str:
    return secrets.token_hex(12)


class SQLiteStore:
    """The embedded default: one SQLite file (or ':memory:' for tests).

    Several processes may share the file (WAL): claims are transactions and saves are fenced, so
    none is answered twice and no state is lost; turns of one conversation are ordered within a
    process only (across hosts, use Redis).
    """

    def __init__(self, path: Path | str, ttl_seconds: float, clock=time.time,
                 pending_text_ttl: float = PENDING_TEXT_TTL_SECONDS) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self.ttl = ttl_seconds
        self.pending_text_ttl = pending_text_ttl
        self._clock = clock
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA busy_timeout=5000")
        # deleted rows are overwritten, not left in free pages: a message's pending text is gone
        # from the file once it is answered (and from the WAL at the next checkpoint)
        self._db.execute("PRAGMA secure_delete=ON")
        self._db.executescript(_SCHEMA)
        self._migrate()
        self._writes = 0
        self._locks: "weakref.WeakValueDictionary[str, asyncio.Lock]" = weakref.WeakValueDictionary()

    def _migrate(self) -> None:
        for table, column, statement in _MIGRATIONS:
            columns = {row[1] for row in self._db.execute(f"PRAGMA table_info({table})")}
            if column not in columns:
                self._db.execute(statement)

    # ---- conversations ----------------------------------------------------------------------------

    async def load(self, conversation_id: str) -> Optional[ConversationState]:
        row = self._db.execute(
            "SELECT state, updated, version FROM conversations WHERE id = ?", (conversation_id,)
        ).fetchone()
        if row is None:
            return None
        if row[1] < self._clock() - self.ttl:
            # expired: a new conversation starts (unless another process just wrote a newer row)
            await self._drop_expired(conversation_id, row[2])
            return None
        state = ConversationState.parse_raw(row[0])
        state.version = int(row[2])
        return state

    async def _drop_expired(self, conversation_id: str, version: int) -> bool:
        cursor = self._db.execute("DELETE FROM conversations WHERE id = ? AND version = ?",
                                  (conversation_id, version))
        return cursor.rowcount == 1

    async def save(self, conversation_id: str, state: ConversationState) -> None:
        payload = state.json(exclude={"version"})
        if state.version == 0:
            cursor = self._db.execute(
                "INSERT OR IGNORE INTO conversations(id, state, updated, version) VALUES (?, ?, ?, 1)",
                (conversation_id, payload, self._clock()),
            )
        else:
            cursor = self._db.execute(
                "UPDATE conversations SET state = ?, updated = ?, version = version + 1 "
                "WHERE id = ? AND version = ?",
                (payload, self._clock(), conversation_id, state.version),
            )
        if cursor.rowcount != 1:
            raise StaleState(conversation_id)
        state.version += 1
        self._after_write()

    async def delete(self, conversation_id: str) -> None:
        self._db.execute("DELETE FROM conversations WHERE id = ?", (conversation_id,))

    @asynccontextmanager
    async def ordered(self, conversation_id: str) -> AsyncIterator[None]:
        """In-process FIFO (asyncio.Lock is fair); the weak map forgets idle conversations."""
        lock = self._locks.get(conversation_id)
        if lock is None:
            lock = self._locks[conversation_id] = asyncio.Lock()
        async with lock:
            yield

    # ---- deliveries ---------------------------------------------------------------------------------

    async def claim(self, keys: Sequence[str], pending: Optional[Pending] = None,
                    lease_seconds: float = CLAIM_LEASE_SECONDS) -> Optional[Claim]:
        keys = tuple(dict.fromkeys(keys))
        if not keys:
            raise ValueError("a delivery needs at least one key")
        now = self._clock()
        token = new_token()
        with self._transaction():
            marks = ",".join("?" * len(keys))
            for status, lease_until in self._db.execute(
                f"SELECT status, lease_until FROM deliveries WHERE key IN ({marks})", keys
            ):
                if status != "in_progress" or lease_until > now:
                    return None
            for index, key in enumerate(keys):
                stored = pending if index == 0 and pending is not None else None
                self._db.execute(
                    "INSERT INTO deliveries(key, status, token, lease_until, seen, pending, text_until, platform) "
                    "VALUES (?, 'in_progress', ?, ?, ?, ?, ?, ?) ON CONFLICT(key) DO UPDATE SET "
                    "status = 'in_progress', token = excluded.token, lease_until = excluded.lease_until, "
                    "pending = COALESCE(excluded.pending, deliveries.pending), "
                    "text_until = COALESCE(excluded.text_until, deliveries.text_until), "
                    "platform = COALESCE(excluded.platform, deliveries.platform)",
                    (key, token, now + lease_seconds, now,
                     stored.to_json() if stored else None,
                     now + self.pending_text_ttl if stored and stored.text is not None else None,
                     stored.platform if stored else None),
                )
        self._after_write()
        return Claim(keys, token, pending)

    async def renew(self, claim: Claim, lease_seconds: float = CLAIM_LEASE_SECONDS) -> bool:
        cursor = self._db.execute(
            "UPDATE deliveries SET lease_until = ? WHERE key = ? AND token = ? AND status = 'in_progress'",
            (self._clock() + lease_seconds, claim.keys[0], claim.token),
        )
        if cursor.rowcount and len(claim.keys) > 1:
            marks = ",".join("?" * (len(claim.keys) - 1))
            self._db.execute(f"UPDATE deliveries SET lease_until = ? WHERE token = ? AND key IN ({marks})",
                             (self._clock() + lease_seconds, claim.token, *claim.keys[1:]))
        return cursor.rowcount == 1

    async def answered(self, claim: Claim) -> None:
        marks = ",".join("?" * len(claim.keys))
        self._db.execute(
            f"UPDATE deliveries SET status = 'answered', pending = NULL, text_until = NULL "
            f"WHERE token = ? AND key IN ({marks})",
            (claim.token, *claim.keys),
        )

    async def release(self, claim: Claim) -> None:
        marks = ",".join("?" * len(claim.keys))
        self._db.execute(f"UPDATE deliveries SET lease_until = 0 WHERE token = ? AND key IN ({marks})",
                         (claim.token, *claim.keys))

    async def recover(self, platform: str, lease_seconds: float = CLAIM_LEASE_SECONDS,
                      limit: int = 100) -> List[Claim]:
        now = self._clock()
        claims: List[Claim] = []
        with self._transaction():
            rows = self._db.execute(
                "SELECT key, pending, text_until FROM deliveries WHERE status = 'in_progress' "
                "AND lease_until <= ? AND pending IS NOT NULL AND platform = ? ORDER BY seen LIMIT ?",
                (now, platform, limit),
            ).fetchall()
            for key, raw, text_until in rows:
                pending = Pending.from_json(raw)
                if pending.text is not None and (text_until or 0) < now:
                    pending = pending.without_text()
                keys = pending.keys or (key,)
                token = new_token()
                marks = ",".join("?" * len(keys))
                self._db.execute(
                    f"UPDATE deliveries SET token = ?, lease_until = ? WHERE key IN ({marks})",
                    (token, now + lease_seconds, *keys),
                )
                claims.append(Claim(tuple(keys), token, pending))
        return claims

    async def mark_once(self, key: str) -> bool:
        now = self._clock()
        cursor = self._db.execute(
            "INSERT OR IGNORE INTO deliveries(key, status, token, lease_until, seen) "
            "VALUES (?, 'answered', '', ?, ?)", (key, now, now),
        )
        self._after_write()
        return cursor.rowcount == 1

    # ---- shared answers and feedback -----------------------------------------------------------------

    async def put_share(self, token: str, answer: str, ttl_seconds: float) -> None:
        self._db.execute("INSERT OR REPLACE INTO shared_answers(token, answer, expires) VALUES (?, ?, ?)",
                         (token, answer, self._clock() + ttl_seconds))
        self._after_write()

    async def take_share(self, token: str) -> Optional[str]:
        with self._transaction():
            row = self._db.execute("SELECT answer, expires FROM shared_answers WHERE token = ?",
                                   (token,)).fetchone()
            if row is None:
                return None
            self._db.execute("DELETE FROM shared_answers WHERE token = ?", (token,))
        return row[0] if row[1] >= self._clock() else None

    async def add_feedback(self, feedback: Feedback) -> None:
        self._db.execute(
            "INSERT INTO feedback(conversation_id, statement_ids, helpful, user, at, reason, audit_id) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (feedback.conversation_id, json.dumps(list(feedback.statement_ids)), int(feedback.helpful),
             feedback.user, feedback.at, feedback.reason, feedback.audit_id),
        )

    def feedback(self) -> List[Feedback]:
        """All feedback, oldest first."""
        rows = self._db.execute(
            "SELECT conversation_id, statement_ids, helpful, user, reason, audit_id, at FROM feedback ORDER BY id"
        ).fetchall()
        return [Feedback(c, tuple(json.loads(s)), bool(h), u, r, a, at) for c, s, h, u, r, a, at in rows]

    async def feedback_records(self) -> List[Feedback]:
        """`feedback`, under the name RedisStore offers (it cannot read synchronously)."""
        return self.feedback()

    async def ping(self) -> bool:
        try:
            self._db.execute("SELECT 1").fetchone()
        except sqlite3.Error:
            return False
        return True

    # ---- housekeeping ----------------------------------------------------------------------------------

    def count(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM conversations").fetchone()[0])

    def purge_expired(self) -> None:
        now = self._clock()
        self._db.execute("DELETE FROM conversations WHERE updated < ?", (now - self.ttl,))
        self._db.execute("DELETE FROM deliveries WHERE seen < ? AND status = 'answered'",
                         (now - CLAIM_TTL_SECONDS,))
        # message text is never kept past its bound, answered or not
        rows = self._db.execute("SELECT key, pending FROM deliveries WHERE text_until IS NOT NULL "
                                "AND text_until < ?", (now,)).fetchall()
        for key, raw in rows:
            self._db.execute("UPDATE deliveries SET pending = ?, text_until = NULL WHERE key = ?",
                             (Pending.from_json(raw).without_text().to_json(), key))
        self._db.execute("DELETE FROM shared_answers WHERE expires < ?", (now,))
        # old page images (which held pending text before it was answered) are overwritten as the WAL
        # restarts; PASSIVE never waits on another connection (a blocking checkpoint stalls every turn)
        self._db.execute("PRAGMA wal_checkpoint(PASSIVE)")

    def _after_write(self) -> None:
        self._writes += 1
        if self._writes % _PURGE_EVERY == 0:
            self.purge_expired()

    def _transaction(self) -> "_Transaction":
        return _Transaction(self._db)

    async def close(self) -> None:
        self._db.close()


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT: the write lock is taken at once, so two processes cannot both
    read a key as free and both claim it."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, kind, value, tb) -> None:
        self._db.execute("COMMIT" if kind is None else "ROLLBACK")
