"""What only the Redis store has to prove: order and fencing across replicas, outages and recovery
without a restart, a clear start-up failure, and that message text is at rest only where and as
long as it must be. Every test runs against a real redis-server (tests/redis_server.py); two
RedisStore objects stand for two replicas.
"""
from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import AsyncIterator, Awaitable, Callable, Dict, List, Optional

import pytest
from redis.asyncio import Redis

from dialogues.redis_store import RedisStore, redacted
from dialogues.settings import CoreSettings
from dialogues.state import ConversationState
from dialogues.store import (
    CLAIM_TTL_SECONDS,
    Feedback,
    Pending,
    SQLiteStore,
    StaleState,
    StoreUnavailable,
)
from dialogues.stores import open_store
from mocks.redis_server import RedisServer, free_port

PROMPT_SECONDS = 5.0
NAME, MRN = "Jane Roe", "12345678"
TEXT = f"{NAME} MRN {MRN}: is lanreotide safe with her octreotide scan?"

Connect = Callable[..., Awaitable[RedisStore]]


@pytest.fixture
async def connect(redis_url: str) -> AsyncIterator[Connect]:
    """Replicas on this test's database; all closed at the end."""
    made: List[RedisStore] = []

    async def make(**options: object) -> RedisStore:
        options.setdefault("ttl_seconds", 3600.0)
        store = await RedisStore.connect(redis_url, **options)  # type: ignore[arg-type]
        made.append(store)
        return store

    yield make
    for store in made:
        await store.close()


@pytest.fixture
async def raw(redis_url: str) -> AsyncIterator[Redis]:
    """A plain client on the same database, to look at what the store wrote."""
    client = Redis.from_url(redis_url, decode_responses=True)
    yield client
    await client.close()


def pending(text: Optional[str] = TEXT, keys: tuple = ("ev:1", "msg:1"), ref: str = "ev1") -> Pending:
    return Pending("slack", "C1:T1", {"channel": "C1", "thread": "T1"}, text, "U1", ref, keys)


# ---- (a) order across replicas --------------------------------------------------------------------


async def test_turns_of_one_conversation_never_overlap_across_replicas(connect: Connect) -> None:
    replicas = [await connect(), await connect()]
    inside: List[int] = []
    entered: List[int] = []
    overlaps = 0

    async def turn(replica: int) -> None:
        nonlocal overlaps
        store = replicas[replica]
        async with store.ordered("c1"):
            overlaps += len(inside)
            inside.append(replica)
            entered.append(replica)
            state = await store.load("c1") or ConversationState()
            await asyncio.sleep(0.005)  # a turn's work, with the loop free for the other replica
            state.turns += 1
            await store.save("c1", state)  # never StaleState: nobody else is inside
            inside.remove(replica)

    await asyncio.gather(*(turn(i % 2) for i in range(24)))
    final = await replicas[0].load("c1")
    assert overlaps == 0
    assert final is not None and final.turns == 24
    # fair: neither replica gets all of its turns before the other gets any
    assert set(entered[:12]) == {0, 1}


async def test_a_held_turn_is_renewed_past_its_lease(connect: Connect) -> None:
    holder, other = await connect(lock_lease_seconds=0.3), await connect()
    async with holder.ordered("c1"):
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(_enter(other, "c1"), timeout=0.8)
    await asyncio.wait_for(_enter(other, "c1"), timeout=1)  # the cancelled waiter left no trace


async def _enter(store: RedisStore, conversation_id: str) -> None:
    async with store.ordered(conversation_id):
        pass


async def test_a_turn_that_fails_lets_the_next_one_in(connect: Connect) -> None:
    one, two = await connect(), await connect()
    with pytest.raises(RuntimeError):
        async with one.ordered("c1"):
            raise RuntimeError("the turn failed")
    await asyncio.wait_for(_enter(two, "c1"), timeout=1)


async def test_waiting_for_a_turn_gives_up_as_unavailable(connect: Connect) -> None:
    holder, waiter = await connect(), await connect(lock_wait_seconds=0.3)
    async with holder.ordered("c1"):
        started = time.monotonic()
        with pytest.raises(StoreUnavailable):
            await _enter(waiter, "c1")
        assert time.monotonic() - started < 2


async def test_a_waiter_that_died_loses_its_place(connect: Connect, raw: Redis) -> None:
    store = await connect()
    # a waiter from a process that died 10 s ago is still first in the queue
    stale_ms = int((time.time() - 10) * 1000)
    await raw.zadd("carebot:lockq:c1", {"dead-waiter": stale_ms - 1})
    await raw.zadd("carebot:lockseen:c1", {"dead-waiter": stale_ms})
    await asyncio.wait_for(_enter(store, "c1"), timeout=1)
    assert await raw.zcard("carebot:lockq:c1") == 0


# ---- (b) fencing ----------------------------------------------------------------------------------


async def test_a_holder_paused_past_its_lease_cannot_overwrite_newer_state(
    connect: Connect, raw: Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    paused, other = await connect(lock_lease_seconds=0.3), await connect()
    await other.save("c1", ConversationState(turns=1))

    async def no_renewal(conversation_id: str, token: str) -> None:  # a frozen process renews nothing
        return None

    monkeypatch.setattr(paused, "_keep_lock", no_renewal)
    other_inside = asyncio.Event()
    other_may_leave = asyncio.Event()

    async def newer_turn() -> None:
        async with other.ordered("c1"):
            state = await other.load("c1")
            assert state is not None
            state.turns = 2
            await other.save("c1", state)
            other_inside.set()
            await other_may_leave.wait()

    async with paused.ordered("c1"):
        stale = await paused.load("c1")
        assert stale is not None and stale.version == 1
        newer = asyncio.ensure_future(newer_turn())
        await asyncio.wait_for(other_inside.wait(), timeout=2)  # it got in once the lease lapsed
        stale.turns = 99
        with pytest.raises(StaleState):
            await paused.save("c1", stale)
    # leaving did not release the other holder's lock
    assert await raw.get("carebot:lock:c1") is not None
    other_may_leave.set()
    await newer
    stored = await other.load("c1")
    assert stored is not None and (stored.turns, stored.version) == (2, 2)


# ---- (c) Redis lost and back ----------------------------------------------------------------------


async def _each_call(store: RedisStore) -> Dict[str, Callable[[], Awaitable[object]]]:
    claim = await store.claim(["ev:5"], pending(keys=("ev:5",)))
    assert claim is not None
    return {
        "load": lambda: store.load("c1"),
        "save": lambda: store.save("c1", ConversationState()),
        "delete": lambda: store.delete("c1"),
        "ordered": lambda: _enter(store, "c1"),
        "claim": lambda: store.claim(["ev:6"], pending(keys=("ev:6",))),
        "renew": lambda: store.renew(claim),
        "answered": lambda: store.answered(claim),
        "release": lambda: store.release(claim),
        "recover": lambda: store.recover("slack"),
        "mark_once": lambda: store.mark_once("m"),
        "put_share": lambda: store.put_share("t", "answer", 60),
        "take_share": lambda: store.take_share("t"),
        "add_feedback": lambda: store.add_feedback(Feedback("c1", ("S1",), True)),
        "feedback_records": lambda: store.feedback_records(),
    }


async def test_a_lost_redis_is_unavailable_promptly_and_back_without_a_restart(
    connect: Connect, redis_server: RedisServer
) -> None:
    store = await connect()
    calls = await _each_call(store)
    await store.save("c1", ConversationState())
    redis_server.stop()
    try:
        for name, call in calls.items():
            started = time.monotonic()
            with pytest.raises(StoreUnavailable) as raised:
                await call()
            assert time.monotonic() - started < PROMPT_SECONDS, name
            assert TEXT not in str(raised.value)
        started = time.monotonic()
        assert await store.ping() is False
        assert time.monotonic() - started < PROMPT_SECONDS
    finally:
        redis_server.start()
    # the same object, no reconnect by hand (the restarted Redis is empty: nothing was persisted)
    assert await store.ping() is True
    assert await store.load("c1") is None
    state = ConversationState()
    await store.save("c1", state)
    assert state.version == 1
    assert await store.claim(["ev:7"], pending(keys=("ev:7",))) is not None
    await _enter(store, "c1")


async def test_pooled_connections_from_before_a_restart_do_not_fail_a_call(
    connect: Connect, redis_server: RedisServer
) -> None:
    store = await connect()
    await asyncio.gather(*(store.load(f"c{i}") for i in range(6)))  # several pooled connections
    redis_server.stop()
    redis_server.start()
    results = await asyncio.gather(*(store.mark_once(f"k{i}") for i in range(6)), return_exceptions=True)
    assert results == [True] * 6


async def test_a_read_only_redis_is_unavailable_for_writes(connect: Connect, raw: Redis) -> None:
    """A failover that left this replica on the old primary (now a replica): writes are refused
    whole, reads still answer."""
    store = await connect()
    await store.save("c1", ConversationState())
    await raw.execute_command("REPLICAOF", "127.0.0.1", str(free_port()))
    try:
        with pytest.raises(StoreUnavailable, match="ReadOnlyError"):
            await store.save("c1", ConversationState(version=1))
        with pytest.raises(StoreUnavailable):
            await store.claim(["ev:1"], pending())
        loaded = await store.load("c1")
        assert loaded is not None and loaded.version == 1
    finally:
        await raw.execute_command("REPLICAOF", "NO", "ONE")
    assert await store.claim(["ev:1"], pending()) is not None


async def test_a_full_redis_refuses_writes_whole(connect: Connect, raw: Redis) -> None:
    """noeviction at maxmemory: each write is refused before anything of it is written."""
    store = await connect()
    await raw.config_set("maxmemory-policy", "noeviction")
    await raw.config_set("maxmemory", "1")
    try:
        with pytest.raises(StoreUnavailable):
            await store.claim(["ev:1", "msg:1"], pending())
        with pytest.raises(StoreUnavailable):
            await store.save("c1", ConversationState())
        assert await raw.dbsize() == 0
        assert await store.ping() is True
    finally:
        await raw.config_set("maxmemory", "0")
    assert await store.claim(["ev:1", "msg:1"], pending()) is not None


# ---- (d) start-up -------------------------------------------------------------------------------


async def test_connecting_to_a_dead_port_names_the_setting_and_not_the_password() -> None:
    url = f"redis://carebot:s3cret-pass@127.0.0.1:{free_port()}/0"
    started = time.monotonic()
    with pytest.raises(StoreUnavailable) as raised:
        await RedisStore.connect(url, 3600)
    assert time.monotonic() - started < PROMPT_SECONDS
    message = str(raised.value)
    assert "CAREBOT_REDIS_URL" in message and "s3cret-pass" not in message
    assert raised.value.__cause__ is None and raised.value.__suppress_context__


async def test_a_wrong_password_is_unavailable_without_showing_it(redis_server: RedisServer) -> None:
    with pytest.raises(StoreUnavailable) as raised:
        await RedisStore.connect(f"redis://:s3cret-pass@127.0.0.1:{redis_server.port}/0", 3600)
    assert "CAREBOT_REDIS_URL" in str(raised.value) and "s3cret-pass" not in str(raised.value)


async def test_a_url_that_is_not_redis_is_refused_without_echoing_it() -> None:
    with pytest.raises(ValueError) as raised:
        await RedisStore.connect("http://carebot:s3cret-pass@example.org/0", 3600)
    assert "CAREBOT_REDIS_URL" in str(raised.value) and "s3cret-pass" not in str(raised.value)


def test_urls_are_shown_without_credentials() -> None:
    assert redacted("rediss://user:pw@redis.internal:6380/2") == "rediss://redis.internal:6380/2"
    assert redacted("redis://:pw@localhost/0") == "redis://localhost/0"


async def test_rediss_urls_speak_tls_and_refuse_an_untrusted_server(redis_tls_server: RedisServer) -> None:
    store = await RedisStore.connect(redis_tls_server.url, 3600)
    try:
        assert await store.mark_once("over-tls") is True
        assert await store.ping() is True
    finally:
        await store.close()
    untrusted = f"rediss://127.0.0.1:{redis_tls_server.port}/0"  # the system CAs do not know this one
    with pytest.raises(StoreUnavailable, match="TLS"):
        await RedisStore.connect(untrusted, 3600)
    misnamed = redis_tls_server.url.replace("127.0.0.1", "localhost")  # the certificate names 127.0.0.1
    with pytest.raises(StoreUnavailable, match="TLS"):
        await RedisStore.connect(misnamed, 3600)
    with pytest.raises(StoreUnavailable):
        await RedisStore.connect(f"redis://127.0.0.1:{redis_tls_server.port}/0", 3600)


async def test_open_store_picks_redis_when_a_url_is_set(redis_url: str, tmp_path: Path) -> None:
    on_redis = await open_store(CoreSettings(redis_url=redis_url, state_path=tmp_path / "unused.db"))
    embedded = await open_store(CoreSettings(state_path=tmp_path / "state.db"))
    try:
        assert isinstance(on_redis, RedisStore) and on_redis.ttl == 7 * 86400
        assert isinstance(embedded, SQLiteStore)
        assert not (tmp_path / "unused.db").exists()
    finally:
        await on_redis.close()
        await embedded.close()


async def test_open_store_fails_clearly_when_redis_is_down(tmp_path: Path) -> None:
    settings = CoreSettings(redis_url=f"redis://127.0.0.1:{free_port()}/0", state_path=tmp_path / "s.db")
    with pytest.raises(StoreUnavailable, match="CAREBOT_REDIS_URL"):
        await open_store(settings)


async def test_prefixes_keep_two_deployments_apart(connect: Connect) -> None:
    blue, green = await connect(prefix="blue:"), await connect(prefix="green:")
    await blue.save("c1", ConversationState(turns=3))
    assert await green.load("c1") is None
    assert await blue.claim(["ev:1"]) is not None
    assert await green.claim(["ev:1"]) is not None


async def test_leases_and_the_text_bound_follow_the_injected_clock(connect: Connect) -> None:
    offset = 0.0
    store = await connect(clock=lambda: time.time() + offset, pending_text_ttl=3600)
    assert await store.claim(["ev:1", "msg:1"], pending(), 30)
    offset = 60.0  # the lease is over by this process's clock; Redis has not expired anything
    (taken,) = await store.recover("slack", 30)
    assert taken.pending is not None and taken.pending.text == TEXT
    offset = 7200.0  # and now the text's bound too, though its key still lives in Redis
    (late,) = await store.recover("slack", 30)
    assert late.pending == pending().without_text()


# ---- (e) message text at rest -----------------------------------------------------------------------


async def _everything(client: Redis) -> Dict[str, str]:
    """Every key with all it holds, read according to its type."""
    found: Dict[str, str] = {}
    async for key in client.scan_iter(count=500):
        kind = await client.type(key)
        if kind == "string":
            value: object = await client.get(key)
        elif kind == "hash":
            value = await client.hgetall(key)
        elif kind == "zset":
            value = await client.zrange(key, 0, -1, withscores=True)
        elif kind == "stream":
            value = await client.xrange(key)
        elif kind == "list":
            value = await client.lrange(key, 0, -1)
        elif kind == "set":
            value = await client.smembers(key)
        else:
            raise AssertionError(f"unexpected type {kind} at {key}")
        found[key] = repr(value)
    return found


def _holding_text(found: Dict[str, str]) -> List[str]:
    return sorted(key for key, value in found.items() if NAME in key + value or MRN in key + value)


async def test_message_text_is_only_in_its_own_expiring_key_until_answered(
    connect: Connect, raw: Redis
) -> None:
    store = await connect(pending_text_ttl=60)
    state = ConversationState(turns=1, last_intent="dose", focus="drug")
    state.slots["drug"] = "lanreotide"
    await store.save("C1:T1", state)
    first = await store.claim(["ev:1", "msg:1"], pending())
    second = await store.claim(["ev:2", "msg:2"], pending(keys=("ev:2", "msg:2"), ref="ev2"), 0.1)
    assert first is not None and second is not None
    await store.put_share("share1", "Lanreotide: 120 mg deep subcutaneous every 28 days [S12].", 600)
    await store.add_feedback(Feedback("C1:T1", ("S12",), True, "U1", None, "audit-1"))
    async with store.ordered("C1:T1"):
        before = await _everything(raw)

    assert _holding_text(before) == ["carebot:text:ev:1", "carebot:text:ev:2"]
    for key in _holding_text(before):
        assert 0 < await raw.pttl(key) <= 60_000

    await asyncio.sleep(0.15)
    (recovered,) = await store.recover("slack")  # the second one's holder "died"
    assert recovered.pending is not None and recovered.pending.text == TEXT
    await store.answered(first)
    await store.answered(recovered)
    after = await _everything(raw)
    assert _holding_text(after) == []
    assert not any(key.startswith("carebot:text:") for key in after)
    assert "carebot:share:share1" in after and "carebot:feedback" in after


async def test_message_text_expires_on_its_own_when_nobody_answers(connect: Connect, raw: Redis) -> None:
    store = await connect(pending_text_ttl=0.2)
    assert await store.claim(["ev:1", "msg:1"], pending(), 30)
    await asyncio.sleep(0.3)
    assert _holding_text(await _everything(raw)) == []


async def test_key_layout_and_lifetimes(connect: Connect, raw: Redis) -> None:
    store = await connect(ttl_seconds=3600)
    await store.save("c1", ConversationState())
    claim = await store.claim(["ev:1", "msg:1"], pending(), 30)
    assert claim is not None
    assert await raw.hgetall("carebot:conv:c1") == {
        "state": ConversationState().json(exclude={"version"}), "version": "1",
        "writer": (await raw.hget("carebot:conv:c1", "writer")),
    }
    assert 3_590_000 < await raw.pttl("carebot:conv:c1") <= 3_600_000
    first = await raw.hgetall("carebot:dlv:ev:1")
    assert first["status"] == "in_progress" and first["platform"] == "slack"
    assert Pending.from_json(first["pending"]) == pending().without_text()
    assert "pending" not in await raw.hgetall("carebot:dlv:msg:1")
    assert await raw.zrange("carebot:open:slack", 0, -1) == ["ev:1"]
    await store.answered(claim)
    for key in ("carebot:dlv:ev:1", "carebot:dlv:msg:1"):
        assert (await raw.hget(key, "status")) == "answered"
        assert 0 < await raw.pttl(key) <= CLAIM_TTL_SECONDS * 1000
    assert await raw.zcard("carebot:open:slack") == 0
