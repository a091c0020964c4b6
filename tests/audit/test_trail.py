"""The trail as the engine uses it: ids at once, records written behind the turn, in order,
kept while the store is down; open_audit's choices; the JSON-line copy."""
from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import Any, Dict, List, Sequence

from audit import AuditSettings, open_audit
from audit.chain import record_hash
from audit.jsonlog import JsonLineLog
from audit.sqlite_store import SQLiteAuditStore
from audit.trail import LINGER_SECONDS, AuditTrail, fingerprint_of
from audit.verify import verify_store
from dialogues.settings import CoreSettings
from dialogues.types import Turn
from tests.audit.conftest import KEY, sample_replies


def turn(i: int = 0) -> Turn:
    return Turn(text="", conversation_id=f"C{i}", user="U1", platform="cli")


async def idle() -> None:
    """Let the event loop run what is waiting (the writer, after its linger), as while a reply is sent."""
    await asyncio.sleep(LINGER_SECONDS * 2)


async def test_turns_close_together_share_one_commit(trail: AuditTrail, kb) -> None:
    appends = []
    append_many = trail.store.append_many

    async def counted(batch):  # type: ignore[no-untyped-def]
        appends.append(len(batch))
        return await append_many(batch)

    trail.store.append_many = counted  # type: ignore[method-assign]
    for i in range(5):
        await trail.record_turn(turn(i), sample_replies(kb)[0], 1.0)
        await asyncio.sleep(0.001)  # turns a few ms apart, within the writer's linger
    await idle()
    assert appends == [5] and trail.queued == 0


async def test_the_id_comes_at_once_and_the_record_right_after(trail: AuditTrail, kb) -> None:
    audit_id = await trail.record_turn(turn(), sample_replies(kb)[0], 3.0)
    assert audit_id and trail.queued == 1
    assert await trail.store.get(audit_id) is None  # not yet: written behind the turn
    await idle()
    assert trail.queued == 0
    record = await trail.store.get(audit_id)
    assert record["id"] == audit_id and record["seq"] == 1


async def test_records_keep_the_order_of_their_turns(trail: AuditTrail, kb) -> None:
    replies = sample_replies(kb)
    ids = [await trail.record_turn(turn(i), replies[i % len(replies)], 1.0) for i in range(150)]  # > max_batch
    await trail.flush()
    seen = [json.loads(s.raw)["id"] async for s in trail.store.scan()]
    assert seen == ids
    assert (await verify_store(trail.store)).ok


async def test_without_write_behind_the_record_is_in_the_store_when_the_turn_ends(sqlite_store, kb) -> None:
    trail = AuditTrail(sqlite_store, kb, "m", KEY, write_behind=False)
    audit_id = await trail.record_turn(turn(), sample_replies(kb)[0], 1.0)
    assert (await sqlite_store.get(audit_id))["id"] == audit_id


class FlakyStore(SQLiteAuditStore):
    """Down for the first `failures` appends (like Redis restarting)."""

    def __init__(self, path: Path, failures: int) -> None:
        super().__init__(path)
        self.failures = failures

    async def append_many(self, bodies: Sequence[Dict[str, Any]]) -> List[Dict[str, Any]]:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("store down")
        return await super().append_many(bodies)


async def test_records_are_kept_and_retried_while_the_store_is_down(tmp_path: Path, kb, caplog) -> None:
    store = FlakyStore(tmp_path / "state.db", failures=2)
    trail = AuditTrail(store, kb, "m", KEY)
    caplog.set_level(logging.ERROR, logger="carebot.audit")
    ids = [await trail.record_turn(turn(i), sample_replies(kb)[1], 1.0) for i in range(3)]
    for _ in range(100):
        await asyncio.sleep(0.05)
        if not trail.queued:
            break
    assert trail.queued == 0
    assert [json.loads(s.raw)["id"] async for s in store.scan()] == ids
    assert any("audit write failed" in r.getMessage() and "ConnectionError" in r.getMessage() for r in caplog.records)
    await trail.close()


async def test_close_writes_what_is_queued(tmp_path: Path, kb) -> None:
    trail = AuditTrail(SQLiteAuditStore(tmp_path / "state.db"), kb, "m", KEY)
    audit_id = await trail.record_turn(turn(), sample_replies(kb)[0], 1.0)
    await trail.close()
    reopened = SQLiteAuditStore(tmp_path / "state.db")
    assert (await reopened.get(audit_id))["id"] == audit_id
    await reopened.close()


async def test_open_audit_uses_the_state_file_and_the_json_log(tmp_path: Path, kb) -> None:
    log_path = tmp_path / "audit.jsonl"
    settings = CoreSettings(state_path=tmp_path / "state.db", models_dir=tmp_path)
    trail = await open_audit(settings, kb, "4caf46f9eacb1558",
                             audit_settings=AuditSettings(key="k" * 32, log=str(log_path)))
    assert isinstance(trail.store, SQLiteAuditStore) and trail.store.path == str(tmp_path / "state.db")
    ids = [await trail.record_turn(turn(i), reply, 2.0) for i, reply in enumerate(sample_replies(kb))]
    await trail.close()
    lines = [json.loads(line) for line in log_path.read_text().splitlines()]
    assert [r["id"] for r in lines] == ids
    assert all(record_hash(r) == r["hash"] and r["model"] == "4caf46f9eacb1558" for r in lines)


async def test_the_json_log_can_be_standard_output(tmp_path: Path, kb, capsys) -> None:
    trail = AuditTrail(SQLiteAuditStore(tmp_path / "state.db"), kb, "m", KEY, json_log=JsonLineLog("-"))
    audit_id = await trail.record_turn(turn(), sample_replies(kb)[0], 1.0)
    await trail.flush()
    assert json.loads(capsys.readouterr().out)["id"] == audit_id
    await trail.close()


async def test_open_audit_without_a_key_says_so_once(tmp_path: Path, kb, monkeypatch) -> None:
    import audit.settings as audit_settings

    monkeypatch.setattr(audit_settings, "_announced", False)
    said: List[str] = []
    settings = CoreSettings(state_path=tmp_path / "state.db")
    first = await open_audit(settings, kb, "m", audit_settings=AuditSettings(key=None), say=said.append)
    second = await open_audit(settings, kb, "m", audit_settings=AuditSettings(key=None), say=said.append)
    assert len(said) == 1 and "CAREBOT_AUDIT_KEY is not set" in said[0]
    assert first.key.dev and first.key.secret == second.key.secret
    await first.close()
    await second.close()


def test_fingerprint_of_the_model_file() -> None:
    assert fingerprint_of(Path("/x/models/nlu-4caf46f9eacb1558.tar.gz")) == "4caf46f9eacb1558"


async def test_the_model_fingerprint_is_the_loaded_models(model_path: Path) -> None:
    from nlu.model import fingerprint

    assert fingerprint_of(model_path) == fingerprint()


async def test_a_turn_never_waits_on_a_store_that_is_down(tmp_path: Path, kb) -> None:
    store = FlakyStore(tmp_path / "state.db", failures=3)
    trail = AuditTrail(store, kb, "m", KEY, max_batch=2)
    ids = [await trail.record_turn(turn(i), sample_replies(kb)[0], 1.0) for i in range(6)]  # fills batches
    assert all(ids) and trail.queued >= 1
    for _ in range(200):
        await asyncio.sleep(0.05)
        if not trail.queued:
            break
    assert [json.loads(s.raw)["id"] async for s in store.scan()] == ids
    await trail.close()
