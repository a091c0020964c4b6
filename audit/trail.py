"""`AuditTrail`: the engine's audit sink, one sealed record per turn, and `open_audit`, which picks
the store (Redis when CAREBOT_REDIS_URL is set, else the state store's SQLite file).
"""
from __future__ import annotations

import asyncio
import logging
import time
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

from audit.jsonlog import JsonLineLog
from audit.pseudonym import Pseudonymizer
from audit.record import RecordBuilder, new_record_id
from audit.retention import PurgeResult, purge_expired
from audit.settings import DEFAULT_RETENTION_DAYS, AuditKey, AuditSettings, load_key, say_on_stderr
from audit.snapshot import kb_snapshot
from audit.sqlite_store import SQLiteAuditStore
from audit.store import AuditStore
from dialogues.settings import CoreSettings
from dialogues.types import Reply, Turn
from knowledge import KnowledgeBase

log = logging.getLogger("carebot.audit")

MAX_BATCH = 64  # a queue this long is written inside the turn that filled it
MAX_QUEUED = 10_000  # while the store is down; beyond this the oldest records are dropped (and logged)
RETRY_MAX_SECONDS = 30.0
# The writer waits this long after a turn before appending, so turns that finish close together
# share one commit (measured: 0.29 ms a record one by one, about 0.13 ms in batches). The records
# a crash could lose are those of the last LINGER_SECONDS.
LINGER_SECONDS = 0.05


def carebot_version() -> str:
    try:
        return version("carebot")
    except PackageNotFoundError:
        return "unknown"


def fingerprint_of(model: Path | str) -> str:
    """The NLU model's fingerprint from its file name (models/nlu-<fingerprint>.tar.gz)."""
    name = Path(model).name
    if name.startswith("nlu-") and name.endswith(".tar.gz"):
        return name[len("nlu-"):-len(".tar.gz")]
    return name


class AuditTrail:
    """Implements dialogues.engine.AuditSink.

    Writes behind the turn: `record_turn` fixes the record's id and time (so the reply can carry
    the id) and queues the turn; a background task builds, seals and appends the queue in one batch
    as soon as the event loop is free, which is normally while the reply is being sent. The turn
    pays microseconds; building, hashing and the store's commit are paid behind it, once per
    batch for the commit. A queue of `max_batch` turns is written at once, inside the turn that
    filled it. `flush` writes the queue now; `close` flushes. A crash can lose only the queue: the
    turns that finished since the loop was last free (normally none, at most `max_batch`).
    `write_behind=False` appends inside every turn instead.
    """

    def __init__(self, store: AuditStore, kb: KnowledgeBase, model_fingerprint: str, key: AuditKey, *,
                 json_log: Optional[JsonLineLog] = None, retention_days: float = DEFAULT_RETENTION_DAYS,
                 clock: Callable[[], float] = time.time, write_behind: bool = True,
                 max_batch: int = MAX_BATCH, linger_seconds: float = LINGER_SECONDS) -> None:
        self.store = store
        self.linger_seconds = linger_seconds
        self.key = key
        self.json_log = json_log
        self.retention_days = retention_days
        self.write_behind = write_behind
        self.max_batch = max_batch
        self._clock = clock
        self._snapshot = kb_snapshot(kb)
        self._snapshot_stored = False
        self.kb_version = self._snapshot.version
        self.carebot_version = carebot_version()
        self.pseudonym = Pseudonymizer(key.secret)
        self.builder = RecordBuilder(kb, self.kb_version, model_fingerprint, self.carebot_version,
                                     self.pseudonym, self.pseudonym.key_id)
        self._turns: List[Tuple[str, float, Turn, Reply, float]] = []  # queued, not yet built
        self._bodies: List[Dict[str, Any]] = []  # built, not yet in the store (the store was down)
        self._flushing = asyncio.Lock()  # batches are appended one at a time, so records keep their order
        self._wake = asyncio.Event()
        self._writer: Optional[asyncio.Task] = None
        self._failures = 0

    @property
    def queued(self) -> int:
        """Records not yet in the store."""
        return len(self._turns) + len(self._bodies)

    async def ensure_snapshot(self) -> None:
        """Store this knowledge base's snapshot unless its version is stored already."""
        if not self._snapshot_stored:
            await self.store.put_snapshot(self._snapshot.version, self._snapshot.payload)
            self._snapshot_stored = True

    async def record_turn(self, turn: Turn, reply: Reply, latency_ms: float) -> Optional[str]:
        """Queue the turn's record; returns its id (the reply's `audit_id`, which feedback links to).

        Never waits on a store that is down: while writes fail, records wait in the queue (up to
        MAX_QUEUED) and the writer retries with backoff."""
        record_id = new_record_id()
        self._turns.append((record_id, self._clock(), turn, reply, latency_ms))
        if not self.write_behind:
            await self.flush()  # a failure reaches the engine, which logs it; the record stays queued
        elif len(self._turns) >= self.max_batch and not self._failures:
            try:
                await self.flush()
            except Exception as exc:
                self._failed(exc)
        else:
            self._start_writer()
            self._wake.set()
        return record_id

    def _start_writer(self) -> None:
        if self._writer is None or self._writer.done():
            self._writer = asyncio.get_running_loop().create_task(self._write_loop(), name="carebot-audit-writer")

    async def _write_loop(self) -> None:
        while True:
            await self._wake.wait()
            if self.linger_seconds:
                await asyncio.sleep(self.linger_seconds)
            self._wake.clear()
            try:
                await self.flush()
                self._failures = 0
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the store is down: keep the queue, retry with backoff
                self._failed(exc)
                await asyncio.sleep(min(RETRY_MAX_SECONDS, 0.1 * 2 ** min(self._failures, 10)))
                self._wake.set()

    def _failed(self, exc: BaseException) -> None:
        self._failures += 1
        log.error("audit write failed queued=%d attempt=%d error=%s", self.queued, self._failures, type(exc).__name__)
        self._start_writer()
        self._wake.set()

    async def flush(self) -> int:
        """Build and append every queued record now; returns how many were written."""
        async with self._flushing:
            if not self._snapshot_stored:
                await self.ensure_snapshot()
            turns, self._turns = self._turns, []
            for record_id, at, turn, reply, latency_ms in turns:
                try:
                    self._bodies.append(self.builder.turn(turn, reply, latency_ms, at, record_id))
                except Exception as exc:  # a record that cannot be built must not block the others
                    log.error("audit record not built record=%s error=%s", record_id, type(exc).__name__)
            batch, self._bodies = self._bodies, []
            if not batch:
                return 0
            try:
                records = await self.store.append_many(batch)
            except BaseException:
                self._bodies[:0] = batch  # nothing was written (appends are all or none): keep them, in order
                self._drop_overflow()
                raise
        for record in records:
            self._copy(record)
        return len(records)

    def _drop_overflow(self) -> None:
        """While the store is down the queue grows; past MAX_QUEUED the oldest records are dropped,
        loudly, rather than the process running out of memory."""
        excess = self.queued - MAX_QUEUED
        if excess > 0:
            dropped_bodies = min(excess, len(self._bodies))
            del self._bodies[:dropped_bodies]
            del self._turns[:excess - dropped_bodies]
            log.error("audit records lost=%d reason=store unavailable and queue full (%d)", excess, MAX_QUEUED)

    def _copy(self, record: Dict[str, Any]) -> None:
        if self.json_log is None:
            return
        try:
            self.json_log.write(record)
        except OSError as exc:  # the store holds the record; a log copy that failed is only logged
            log.error("audit log copy failed record=%s target=%s error=%s", record["id"], self.json_log.target,
                      type(exc).__name__)

    async def purge_expired(self, dry_run: bool = False) -> PurgeResult:
        """Remove records older than the retention period, leaving a purge anchor (audit.retention)."""
        await self.flush()
        result = await purge_expired(self.store, retention_days=self.retention_days, now=self._clock(),
                                     carebot_version=self.carebot_version, dry_run=dry_run)
        if result.anchor is not None:
            self._copy(result.anchor)
        return result

    async def close(self) -> None:
        """Write what is queued, stop the writer, close the store and the log copy. A store that is
        down at shutdown loses the queue: said in the log (as a count), not raised."""
        try:
            await self.flush()
        except Exception as exc:
            log.error("audit records lost=%d reason=store unavailable at shutdown error=%s", self.queued,
                      type(exc).__name__)
        finally:
            if self._writer is not None:
                self._writer.cancel()
                try:
                    await self._writer
                except (asyncio.CancelledError, Exception):
                    pass
            await self.store.close()
            if self.json_log is not None:
                self.json_log.close()


def open_store(settings: CoreSettings) -> AuditStore:
    """Redis when CAREBOT_REDIS_URL is set (shared by replicas), else the state store's SQLite file."""
    if settings.redis_url:
        from audit.redis_store import RedisAuditStore

        return RedisAuditStore.connect(settings.redis_url)
    return SQLiteAuditStore(settings.state_path)


async def open_audit(settings: CoreSettings, kb: KnowledgeBase, model_fingerprint: str, *,
                     audit_settings: Optional[AuditSettings] = None,
                     say: Callable[[str], None] = say_on_stderr) -> AuditTrail:
    """The audit trail for an engine: key, store, optional JSON-line copy, and this KB's snapshot."""
    audit_settings = audit_settings or AuditSettings()
    key = load_key(audit_settings, settings.state_path, say)
    store = open_store(settings)
    json_log = JsonLineLog(audit_settings.log) if audit_settings.log else None
    trail = AuditTrail(store, kb, model_fingerprint, key, json_log=json_log,
                       retention_days=audit_settings.retention_days)
    await trail.ensure_snapshot()
    return trail
