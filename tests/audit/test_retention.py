"""Retention: a purge removes records past the retention period and leaves an anchor, so the rest
still verifies; removing records at the head any other way still fails."""
from __future__ import annotations

import sqlite3
from pathlib import Path

from audit.retention import DAY, purge_expired
from audit.settings import DEFAULT_RETENTION_DAYS, AuditSettings
from audit.sqlite_store import SQLiteAuditStore
from audit.verify import verify_store
from tests.audit.conftest import write

T0 = 1_700_000_000.0


async def test_the_default_retention_is_six_years(monkeypatch) -> None:
    monkeypatch.delenv("CAREBOT_AUDIT_RETENTION_DAYS", raising=False)
    assert AuditSettings().retention_days == DEFAULT_RETENTION_DAYS == 6 * 365 + 2
    monkeypatch.setenv("CAREBOT_AUDIT_RETENTION_DAYS", "30")
    assert AuditSettings().retention_days == 30


async def test_a_purge_keeps_the_chain_verifiable(tmp_path: Path, kb) -> None:
    store = SQLiteAuditStore(tmp_path / "state.db")
    await write(store, kb, 100, start_at=T0, step=DAY)  # one record a day for 100 days
    now = T0 + 99 * DAY
    dry = await purge_expired(store, retention_days=30, now=now, carebot_version="t", dry_run=True)
    assert dry.purged == 69 and dry.anchor is None
    assert (await verify_store(store)).checked == 100
    result = await purge_expired(store, retention_days=30, now=now, carebot_version="t")
    assert result.purged == 69
    anchor = result.anchor
    assert anchor["type"] == "purge" and anchor["purged_through"] == 69 and anchor["first_kept_seq"] == 70
    verdict = await verify_store(store)
    assert verdict.ok, verdict.problems
    assert verdict.anchored and verdict.first_seq == 70 and verdict.checked == 32  # 31 kept + the anchor
    # nothing more to purge at the same time; a later purge anchors again
    assert (await purge_expired(store, retention_days=30, now=now, carebot_version="t")).anchor is None
    await write(store, kb, 5, start_at=now + DAY, step=DAY)
    second = await purge_expired(store, retention_days=30, now=now + 10 * DAY, carebot_version="t")
    assert second.purged == 10
    verdict = await verify_store(store)
    assert verdict.ok and verdict.first_seq == 80, verdict.problems
    await store.close()


async def test_removing_more_than_the_purge_did_is_detected(tmp_path: Path, kb) -> None:
    store = SQLiteAuditStore(tmp_path / "state.db")
    await write(store, kb, 50, start_at=T0, step=DAY)
    await purge_expired(store, retention_days=20, now=T0 + 49 * DAY, carebot_version="t")
    db = sqlite3.connect(tmp_path / "state.db", isolation_level=None)
    db.execute("DROP TRIGGER audit_records_purge_only")
    first = db.execute("SELECT MIN(seq) FROM audit_records").fetchone()[0]
    db.execute("DELETE FROM audit_records WHERE seq = ?", (first,))
    db.close()
    verdict = await verify_store(store)
    assert not verdict.ok
    assert f"record seq {first + 1}" in verdict.first_problem.message and "outside a purge" in verdict.first_problem.message
    await store.close()


async def test_purging_everything_anchors_on_the_next_record(tmp_path: Path, kb) -> None:
    store = SQLiteAuditStore(tmp_path / "state.db")
    await write(store, kb, 10, start_at=T0, step=60)
    result = await purge_expired(store, retention_days=1, now=T0 + 10 * DAY, carebot_version="t")
    assert result.purged == 10 and result.anchor["first_kept_seq"] == 11 == result.anchor["seq"]
    verdict = await verify_store(store)
    assert verdict.ok and verdict.checked == 1 and verdict.anchored
    await write(store, kb, 3, start_at=T0 + 10 * DAY)
    assert (await verify_store(store)).ok
    await store.close()
