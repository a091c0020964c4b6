"""The audit trail in the state store's SQLite file: its own connection, its own tables.

`audit_records` is append-only: a trigger refuses every UPDATE, and a DELETE of any record that
no purge anchor covers. That stops accidents and careless tools; it does not stop someone who
drops the triggers, which is what the hash chain and `carebot audit verify` are for.
`audit_head` remembers the last record apart from the records, so removing the newest records
shows too; a trigger accepts a record only if it links to that head (a compare-and-append inside
one INSERT), so processes sharing the file keep one linear chain. `audit_kb_snapshots` holds one content-addressed knowledge-base copy per version.

Like the state store, calls run on the event loop's thread: an append is one short IMMEDIATE
transaction (WAL, synchronous=NORMAL), for a whole batch of records at once (audit.trail writes
behind the turn).
"""
from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path
from typing import Any, AsyncIterator, Dict, List, Optional, Sequence

from audit.chain import GENESIS, seal
from audit.record import parse_time
from audit.store import BodyFactory, Head, Stored, constant as _constant

_HEAD_MOVED = "audit chain head moved"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS audit_records (
    seq INTEGER PRIMARY KEY,          -- the record's place in the chain (also in its JSON)
    id TEXT NOT NULL UNIQUE,
    at REAL NOT NULL,                 -- epoch seconds of the record's `at`, for time filters (not
                                      -- indexed: an index page more per turn, for offline reports)
    type TEXT NOT NULL,               -- turn | purge
    purged_through INTEGER,           -- on a purge anchor: the last seq it removed
    prev TEXT NOT NULL,
    hash TEXT NOT NULL,
    record TEXT NOT NULL              -- the record's JSON, with prev and hash
);
CREATE INDEX IF NOT EXISTS audit_records_purges ON audit_records(purged_through) WHERE type = 'purge';
CREATE TABLE IF NOT EXISTS audit_head (
    one INTEGER PRIMARY KEY CHECK (one = 1),
    seq INTEGER NOT NULL,             -- the last record appended
    id TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS audit_kb_snapshots (
    version TEXT PRIMARY KEY,         -- SHA-256 of payload
    created REAL NOT NULL,
    payload TEXT NOT NULL
);
-- compare-and-append: a record is accepted only if it links to the head, checked inside the INSERT
-- itself (under the write lock), so two processes cannot both link to the same record
CREATE TRIGGER IF NOT EXISTS audit_records_linear BEFORE INSERT ON audit_records
WHEN NEW.seq IS NOT COALESCE((SELECT seq FROM audit_head WHERE one = 1), 0) + 1
  OR NEW.prev IS NOT COALESCE((SELECT hash FROM audit_head WHERE one = 1), '""" + GENESIS + """')
BEGIN SELECT RAISE(ABORT, '""" + _HEAD_MOVED + """'); END;
CREATE TRIGGER IF NOT EXISTS audit_records_head AFTER INSERT ON audit_records
BEGIN INSERT OR REPLACE INTO audit_head(one, seq, id, hash) VALUES (1, NEW.seq, NEW.id, NEW.hash); END;
CREATE TRIGGER IF NOT EXISTS audit_records_append_only BEFORE UPDATE ON audit_records
BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_records_purge_only BEFORE DELETE ON audit_records
WHEN NOT EXISTS (SELECT 1 FROM audit_records p WHERE p.type = 'purge' AND p.purged_through >= OLD.seq)
BEGIN SELECT RAISE(ABORT, 'audit records are removed only by a purge (carebot audit purge)'); END;
CREATE TRIGGER IF NOT EXISTS audit_kb_snapshots_append_only BEFORE UPDATE ON audit_kb_snapshots
BEGIN SELECT RAISE(ABORT, 'knowledge-base snapshots are append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_kb_snapshots_kept BEFORE DELETE ON audit_kb_snapshots
BEGIN SELECT RAISE(ABORT, 'knowledge-base snapshots are kept'); END;
"""
_BATCH = 500


class SQLiteAuditStore:
    def __init__(self, path: Path | str) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA busy_timeout=5000")
        self._db.executescript(_SCHEMA)

    def describe(self) -> str:
        return f"SQLite {self.path} (tables audit_records, audit_head, audit_kb_snapshots)"

    async def append(self, make_body: BodyFactory) -> Dict[str, Any]:
        return self._append_all([make_body])[0]

    async def append_many(self, bodies: Sequence[Dict[str, Any]]) -> List[Dict[str, Any]]:
        return self._append_all([_constant(body) for body in bodies])

    def _append_all(self, factories: Sequence[BodyFactory]) -> List[Dict[str, Any]]:
        """One IMMEDIATE transaction: read the head under the write lock, link and insert each
        record (the trigger checks every link again), commit. A batch costs one commit."""
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            row = db.execute("SELECT seq, hash FROM audit_head WHERE one = 1").fetchone()
            seq, prev = (int(row[0]), row[1]) if row else (0, GENESIS)
            records: List[Dict[str, Any]] = []
            for make_body in factories:
                seq += 1
                record, raw = seal(make_body(seq, prev), seq, prev)
                db.execute(
                    "INSERT INTO audit_records(seq, id, at, type, purged_through, prev, hash, record) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (seq, record["id"], parse_time(record["at"]), record["type"], record.get("purged_through"),
                     prev, record["hash"], raw),
                )
                prev = record["hash"]
                records.append(record)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return records

    async def get(self, record_id: str) -> Optional[Dict[str, Any]]:
        row = self._db.execute("SELECT record FROM audit_records WHERE id = ?", (record_id,)).fetchone()
        return json.loads(row[0]) if row else None

    async def last(self) -> Optional[Dict[str, Any]]:
        row = self._db.execute("SELECT record FROM audit_records ORDER BY seq DESC LIMIT 1").fetchone()
        return json.loads(row[0]) if row else None

    async def scan(self, since: Optional[float] = None, until: Optional[float] = None) -> AsyncIterator[Stored]:
        where, params = [], []
        if since is not None:
            where.append("at >= ?")
            params.append(since)
        if until is not None:
            where.append("at < ?")
            params.append(until)
        sql = "SELECT seq, id, at, type, purged_through, prev, hash, record FROM audit_records"
        sql += (" WHERE " + " AND ".join(where)) if where else ""
        cursor = self._db.execute(sql + " ORDER BY seq", params)
        while True:
            rows = cursor.fetchmany(_BATCH)
            if not rows:
                return
            for seq, record_id, at, kind, purged_through, prev, digest, raw in rows:
                yield Stored(where=f"row seq={seq}", raw=raw,
                             index={"seq": seq, "id": record_id, "at": at, "type": kind,
                                    "purged_through": purged_through, "prev": prev, "hash": digest})

    async def head(self) -> Optional[Head]:
        row = self._db.execute("SELECT seq, id, hash FROM audit_head WHERE one = 1").fetchone()
        return Head(int(row[0]), row[1], row[2]) if row else None

    async def put_snapshot(self, version: str, payload: str) -> bool:
        cursor = self._db.execute(
            "INSERT OR IGNORE INTO audit_kb_snapshots(version, created, payload) VALUES (?, ?, ?)",
            (version, time.time(), payload))
        return cursor.rowcount == 1

    async def snapshot(self, version: str) -> Optional[str]:
        row = self._db.execute("SELECT payload FROM audit_kb_snapshots WHERE version = ?", (version,)).fetchone()
        return row[0] if row else None

    async def first_at_or_after(self, cutoff: float) -> Optional[Dict[str, Any]]:
        row = self._db.execute("SELECT record FROM audit_records WHERE at >= ? ORDER BY seq LIMIT 1",
                               (cutoff,)).fetchone()
        return json.loads(row[0]) if row else None

    async def delete_through(self, seq: int) -> int:
        return self._db.execute("DELETE FROM audit_records WHERE seq <= ?", (seq,)).rowcount

    async def close(self) -> None:
        self._db.close()
