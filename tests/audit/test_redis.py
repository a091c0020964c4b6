"""The audit trail on Redis (a real redis-server): the same chain, kept linear across replicas by
the compare-and-append script, tamper-evident, purgeable, readable by the commands."""
from __future__ import annotations

import asyncio
import json
from typing import List

import pytest

from audit import open_store
from audit.redis_store import RedisAuditStore
from audit.retention import DAY, purge_expired
from audit.trail import AuditTrail
from audit.verify import verify_store
from dialogues.settings import CoreSettings
from dialogues.types import Turn
from tests.audit.cli import carebot, environment
from tests.audit.conftest import KEY, bodies, sample_replies, write

T0 = 1_700_000_000.0


@pytest.fixture
async def replicas(redis_url: str):
    """Three stores on one Redis database, as three replicas would have."""
    made: List[RedisAuditStore] = [RedisAuditStore.connect(redis_url) for _ in range(3)]
    yield made
    for store in made:
        await store.close()


async def test_a_thousand_records_verify(replicas, kb) -> None:
    store = replicas[0]
    written = await write(store, kb, 1000)
    assert [r["seq"] for r in written] == list(range(1, 1001))
    verdict = await verify_store(store)
    assert verdict.ok and verdict.checked == 1000, verdict.problems[:3]
    assert (await store.get(written[500]["id"]))["hash"] == written[500]["hash"]


async def test_replicas_appending_at_once_keep_one_linear_chain(replicas, kb) -> None:
    await write(replicas[0], kb, 0)
    made = bodies(kb, 90)

    async def replica(store: RedisAuditStore, mine: list) -> None:
        for body in mine:
            await store.append_many([body])

    await asyncio.gather(*(replica(store, made[i::3]) for i, store in enumerate(replicas)))
    verdict = await verify_store(replicas[1])
    assert verdict.ok and verdict.checked == 90, verdict.problems[:3]
    assert (await replicas[2].head()).seq == 90


async def test_trails_on_replicas_write_behind_into_one_chain(replicas, kb) -> None:
    trails = [AuditTrail(store, kb, "m", KEY) for store in replicas]
    replies = sample_replies(kb)
    ids = await asyncio.gather(*(trails[i % 3].record_turn(Turn(text="", conversation_id=f"C{i}"), replies[i % 5], 1.0)
                                 for i in range(60)))
    for trail in trails:
        await trail.flush()
    verdict = await verify_store(replicas[0])
    assert verdict.ok and verdict.checked == 60
    assert {json.loads(s.raw)["id"] async for s in replicas[0].scan()} == set(ids)


async def test_tampering_in_redis_is_detected(replicas, kb, redis_url: str) -> None:
    import redis.asyncio as aioredis

    store = replicas[0]
    written = await write(store, kb, 20)
    client = aioredis.Redis.from_url(redis_url, decode_responses=True)
    entries = await client.xrange(store.records_key)
    # change a record: streams cannot be edited, so delete the entry and add a changed copy at the end
    changed = json.loads(entries[5][1]["r"])
    changed["statements"] = []
    await client.xdel(store.records_key, entries[5][0])
    verdict = await verify_store(store)
    assert not verdict.ok and "expected seq 6" in verdict.first_problem.message
    await client.xadd(store.records_key, {"r": json.dumps(changed)})
    verdict = await verify_store(store)
    assert "record seq 7" in verdict.first_problem.message
    # remove the newest record: the head still names it
    await client.xdel(store.records_key, (await client.xrevrange(store.records_key, count=1))[0][0])
    await client.xdel(store.records_key, entries[19][0])
    verdict = await verify_store(store)
    assert any(f"record seq 20 (id {written[19]['id']}) is missing" in p.message for p in verdict.problems)
    await client.close()


async def test_purge_in_redis_keeps_the_chain_verifiable(replicas, kb) -> None:
    store = replicas[0]
    await write(store, kb, 40, start_at=T0, step=DAY)
    result = await purge_expired(store, retention_days=10, now=T0 + 39 * DAY, carebot_version="t")
    assert result.purged == 29 and result.anchor["first_kept_seq"] == 30
    verdict = await verify_store(replicas[1])
    assert verdict.ok and verdict.anchored and verdict.first_seq == 30, verdict.problems
    assert await store.get((await store.first_at_or_after(0))["id"]) is not None


def test_the_commands_read_redis_when_it_is_configured(redis_url: str, tmp_path, monkeypatch, capsys, kb) -> None:
    async def fill() -> str:
        trail = AuditTrail(RedisAuditStore.connect(redis_url), kb, "m", KEY)
        audit_id = await trail.record_turn(Turn(text="", conversation_id="C1"), sample_replies(kb)[0], 1.0)
        await trail.close()
        return audit_id

    async def vote(audit_id: str) -> None:
        from dialogues.redis_store import RedisStore
        from dialogues.store import Feedback

        state = await RedisStore.connect(redis_url, 3600)
        await state.add_feedback(Feedback("C1", tuple(sample_replies(kb)[0].statement_ids), False, "U1",
                                          "too_long", audit_id))
        await state.close()

    audit_id = asyncio.run(fill())
    asyncio.run(vote(audit_id))
    environment(monkeypatch, tmp_path / "state.db")
    monkeypatch.setenv("CAREBOT_REDIS_URL", redis_url)
    assert isinstance(open_store(CoreSettings()), RedisAuditStore)
    code, out, err = carebot(capsys, "audit", "verify")
    assert code == 0 and "1 record(s)" in out and "Redis" in out, err
    code, out, _ = carebot(capsys, "audit", "show", audit_id)
    assert code == 0 and "The recommended dosage of Lanreotide Injection" in out
    code, out, _ = carebot(capsys, "feedback", "report", "--json", "--output", str(tmp_path / "f.png"))
    report = json.loads(out)
    assert code == 0 and report["sources"] == ["Redis (stream carebot:feedback)"]
    assert report["feedback"] == 1 and report["intents"][0]["intent"] == "dosing"
    assert report["intents"][0]["reasons"] == {"too_long": 1}
