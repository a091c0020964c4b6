"""One contract, two stores: SQLiteStore (a file) and RedisStore (a real redis-server).

The engine and the edges see only the protocols, so a replica on Redis must behave exactly as the
embedded default does: fenced saves, expiry, claims and their leases, recovery, marks, shares and
feedback. Stores made in one test share their backing (one file, one Redis database), as replicas
do. Expiry is tested with real time and tiny TTLs, since Redis expires keys on its own clock.
"""
from __future__ import annotations

import asyncio
from pathlib import Path
from typing import AsyncIterator, Awaitable, Callable, List

import pytest

from dialogues.redis_store import RedisStore
from dialogues.state import ConversationState
from dialogues.store import (
    PENDING_TEXT_TTL_SECONDS,
    Feedback,
    Pending,
    SQLiteStore,
    StaleState,
    StateStore,
)

MakeStore = Callable[..., Awaitable[StateStore]]
LEASE = 0.2  # seconds: short enough to wait out, long enough not to lapse between two calls


@pytest.fixture(params=["sqlite", "redis"])
async def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[MakeStore]:
    """Build stores of one kind over one backing; all closed at the end."""
    url = request.getfixturevalue("redis_url") if request.param == "redis" else None
    made: List[StateStore] = []

    async def make(ttl_seconds: float = 3600.0,
                   pending_text_ttl: float = PENDING_TEXT_TTL_SECONDS) -> StateStore:
        store: StateStore
        if url is None:
            store = SQLiteStore(tmp_path / "state.db", ttl_seconds=ttl_seconds,
                                pending_text_ttl=pending_text_ttl)
        else:
            store = await RedisStore.connect(url, ttl_seconds, pending_text_ttl=pending_text_ttl)
        made.append(store)
        return store

    yield make
    for store in made:
        await store.close()


@pytest.fixture
async def store(make_store: MakeStore) -> StateStore:
    return await make_store()


def pending(text: str | None = "what dose of lanreotide", platform: str = "slack", ref: str = "ev1",
            keys: tuple = ("ev:1", "msg:1")) -> Pending:
    return Pending(platform, "C1:T1", {"channel": "C1", "thread": "T1"}, text, "U1", ref, keys)


async def feedback_of(store: StateStore) -> List[Feedback]:
    if isinstance(store, SQLiteStore):
        return store.feedback()
    assert isinstance(store, RedisStore)
    return await store.feedback_records()


# ---- conversations ----------------------------------------------------------------------------


async def test_load_of_an_unknown_conversation_is_none(store: StateStore) -> None:
    assert await store.load("nobody") is None


async def test_save_then_load_round_trips_with_the_version(store: StateStore) -> None:
    state = ConversationState(turns=3, last_intent="dose", focus="drug")
    state.slots["drug"] = "lanreotide"
    await store.save("c1", state)
    assert state.version == 1
    loaded = await store.load("c1")
    assert loaded is not None and loaded.version == 1
    assert loaded.dict(exclude={"version"}) == state.dict(exclude={"version"})
    loaded.turns = 4
    await store.save("c1", loaded)
    assert loaded.version == 2
    again = await store.load("c1")
    assert again is not None and (again.version, again.turns) == (2, 4)


async def test_a_save_from_an_older_version_is_fenced_off(make_store: MakeStore) -> None:
    one, two = await make_store(), await make_store()
    await one.save("c1", ConversationState(turns=1))
    first, second = await one.load("c1"), await two.load("c1")
    assert first is not None and second is not None
    first.turns = 2
    await one.save("c1", first)
    second.turns = 99
    with pytest.raises(StaleState):
        await two.save("c1", second)
    assert second.version == 1  # a losing save does not bump the caller's version
    stored = await one.load("c1")
    assert stored is not None and (stored.turns, stored.version) == (2, 2)


async def test_a_new_state_cannot_replace_an_existing_one(store: StateStore) -> None:
    await store.save("c1", ConversationState(turns=1))
    with pytest.raises(StaleState):
        await store.save("c1", ConversationState(turns=7))
    with pytest.raises(StaleState):
        await store.save("c1", ConversationState(turns=7, version=5))
    stored = await store.load("c1")
    assert stored is not None and stored.turns == 1


async def test_a_state_saved_at_a_version_that_was_deleted_is_stale(store: StateStore) -> None:
    state = ConversationState()
    await store.save("c1", state)
    await store.delete("c1")
    assert await store.load("c1") is None
    with pytest.raises(StaleState):
        await store.save("c1", state)
    fresh = ConversationState()
    await store.save("c1", fresh)
    assert fresh.version == 1


async def test_idle_conversations_expire_and_saves_keep_them_alive(make_store: MakeStore) -> None:
    store = await make_store(ttl_seconds=0.6)
    state = ConversationState()
    await store.save("c1", state)
    await asyncio.sleep(0.35)
    await store.save("c1", state)  # refreshed: it lives 0.6 s from here
    await asyncio.sleep(0.35)
    assert await store.load("c1") is not None
    await asyncio.sleep(0.4)
    assert await store.load("c1") is None
    fresh = ConversationState()
    await store.save("c1", fresh)  # a new conversation starts where the old one expired
    assert fresh.version == 1


async def test_ordered_runs_turns_of_one_conversation_one_at_a_time(store: StateStore) -> None:
    inside: List[str] = []
    overlaps = 0

    async def turn(name: str) -> None:
        nonlocal overlaps
        async with store.ordered("c1"):
            overlaps += len(inside)
            inside.append(name)
            await asyncio.sleep(0.01)
            inside.remove(name)

    await asyncio.gather(*(turn(f"t{i}") for i in range(8)))
    assert overlaps == 0


async def test_ordered_does_not_hold_up_other_conversations(store: StateStore) -> None:
    async with store.ordered("c1"):
        await asyncio.wait_for(_enter(store, "c2"), timeout=2)


async def _enter(store: StateStore, conversation_id: str) -> None:
    async with store.ordered(conversation_id):
        pass


# ---- claims -----------------------------------------------------------------------------------


async def test_a_claimed_delivery_is_a_duplicate_under_any_of_its_keys(store: StateStore) -> None:
    claim = await store.claim(["ev:1", "msg:1", "ev:1"], pending())
    assert claim is not None and claim.keys == ("ev:1", "msg:1") and claim.token
    assert await store.claim(["ev:1"]) is None
    assert await store.claim(["msg:1", "ev:2"]) is None
    assert await store.claim(["ev:2"]) is not None  # the failed claim above took nothing


async def test_a_claim_needs_a_key(store: StateStore) -> None:
    with pytest.raises(ValueError):
        await store.claim([])


async def test_two_replicas_racing_for_one_delivery_give_one_claim(make_store: MakeStore) -> None:
    stores = [await make_store() for _ in range(3)]
    claims = await asyncio.gather(*(s.claim(["ev:9", f"msg:{i}"], pending()) for i, s in enumerate(stores)))
    assert sum(claim is not None for claim in claims) == 1


async def test_an_expired_claim_is_taken_over_and_the_old_holder_loses_it(store: StateStore) -> None:
    old = await store.claim(["ev:1", "msg:1"], pending(), LEASE)
    assert old is not None
    await asyncio.sleep(LEASE + 0.1)
    new = await store.claim(["msg:1", "ev:1"], pending(ref="retry"), 30)
    assert new is not None and new.token != old.token
    assert await store.renew(old) is False
    await store.answered(old)  # not its claim any more: nothing changes
    assert await store.claim(["ev:1"]) is None  # still in progress under the new holder
    assert await store.renew(new) is True


async def test_renewing_keeps_a_claim_alive_past_its_first_lease(store: StateStore) -> None:
    claim = await store.claim(["ev:1", "msg:1"], pending(), 0.4)
    assert claim is not None
    await asyncio.sleep(0.25)
    assert await store.renew(claim, 0.4) is True
    await asyncio.sleep(0.25)
    assert await store.claim(["msg:1"]) is None
    assert await store.recover("slack", 30) == []


async def test_an_answered_delivery_stays_answered(store: StateStore) -> None:
    claim = await store.claim(["ev:1", "msg:1"], pending(), LEASE)
    assert claim is not None
    await store.answered(claim)
    assert await store.renew(claim) is False
    await asyncio.sleep(LEASE + 0.1)
    assert await store.claim(["ev:1"]) is None
    assert await store.claim(["msg:1"]) is None
    assert await store.recover("slack") == []


async def test_a_released_claim_is_recovered_at_once_with_its_message(store: StateStore) -> None:
    claim = await store.claim(["ev:1", "msg:1"], pending(), 30)
    assert claim is not None
    await store.release(claim)
    recovered = await store.recover("slack", 30)
    assert [c.keys for c in recovered] == [("ev:1", "msg:1")]
    taken = recovered[0]
    assert taken.token != claim.token and taken.pending == pending()
    assert await store.renew(claim) is False
    assert await store.renew(taken) is True
    assert await store.recover("slack", 30) == []  # under a fresh lease now


async def test_recover_takes_over_expired_claims_of_its_platform_only(store: StateStore) -> None:
    for i in range(3):
        keys = (f"ev:{i}", f"msg:{i}")
        assert await store.claim(keys, pending(ref=f"ev{i}", keys=keys), LEASE)
    assert await store.claim(["act:1"], pending(platform="teams", ref="act1", keys=("act:1",)), LEASE)
    assert await store.claim(["click:1"], None, LEASE)  # nothing to answer with: never recovered
    assert await store.recover("slack", 30) == []  # leases still live
    await asyncio.sleep(LEASE + 0.1)
    first = await store.recover("slack", 30, limit=2)
    rest = await store.recover("slack", 30, limit=10)
    assert len(first) == 2 and len(rest) == 1
    assert sorted(c.pending.ref for c in first + rest if c.pending) == ["ev0", "ev1", "ev2"]
    teams = await store.recover("teams", 30)
    assert [(c.keys, c.pending.platform if c.pending else None) for c in teams] == [(("act:1",), "teams")]
    assert await store.claim(["click:1"]) is not None  # its lease ran out: free to claim


async def test_a_recovered_claim_can_be_answered(store: StateStore) -> None:
    claim = await store.claim(["ev:1", "msg:1"], pending(), LEASE)
    await asyncio.sleep(LEASE + 0.1)
    (taken,) = await store.recover("slack", LEASE)
    await store.answered(taken)
    await asyncio.sleep(LEASE + 0.1)
    assert await store.recover("slack") == []
    assert await store.claim(["ev:1"]) is None
    assert claim is not None and await store.renew(claim) is False


async def test_a_recovered_message_keeps_its_text_within_the_bound(store: StateStore) -> None:
    assert await store.claim(["ev:1", "msg:1"], pending(), LEASE)
    await asyncio.sleep(LEASE + 0.1)
    (taken,) = await store.recover("slack", 30)
    assert taken.pending is not None and taken.pending.text == "what dose of lanreotide"


async def test_a_recovered_message_loses_its_text_past_the_bound(make_store: MakeStore) -> None:
    store = await make_store(pending_text_ttl=0.3)
    assert await store.claim(["ev:1", "msg:1"], pending(), 0.1)
    await asyncio.sleep(0.45)
    (taken,) = await store.recover("slack", 30)
    assert taken.pending == pending().without_text()  # who and where remain: they get an apology


async def test_a_message_without_text_is_recovered_without_text(store: StateStore) -> None:
    assert await store.claim(["ev:1"], pending(text=None, keys=("ev:1",)), LEASE)
    await asyncio.sleep(LEASE + 0.1)
    (taken,) = await store.recover("slack", 30)
    assert taken.pending is not None and taken.pending.text is None and taken.keys == ("ev:1",)


async def test_a_takeover_without_a_message_keeps_the_one_stored(store: StateStore) -> None:
    assert await store.claim(["ev:1", "msg:1"], pending(), LEASE)
    await asyncio.sleep(LEASE + 0.1)
    retry = await store.claim(["ev:1", "msg:1"], None, LEASE)
    assert retry is not None
    await asyncio.sleep(LEASE + 0.1)
    (taken,) = await store.recover("slack", 30)
    assert taken.pending == pending()


# ---- marks, shares, feedback, health ----------------------------------------------------------


async def test_mark_once_is_true_only_the_first_time(store: StateStore) -> None:
    assert await store.mark_once("refused:C1:day1") is True
    assert await store.mark_once("refused:C1:day1") is False
    assert await store.mark_once("refused:C2:day1") is True


async def test_marks_and_claims_share_their_keys(store: StateStore) -> None:
    assert await store.mark_once("click:1") is True
    assert await store.claim(["click:1"]) is None
    assert await store.claim(["click:2"]) is not None
    assert await store.mark_once("click:2") is False


async def test_a_shared_answer_is_taken_once(store: StateStore) -> None:
    await store.put_share("tok1", "Lanreotide 120 mg every 28 days [S12].", 60)
    assert await store.take_share("tok1") == "Lanreotide 120 mg every 28 days [S12]."
    assert await store.take_share("tok1") is None
    assert await store.take_share("unknown") is None


async def test_a_shared_answer_expires(store: StateStore) -> None:
    await store.put_share("tok1", "an answer", 0.2)
    await asyncio.sleep(0.3)
    assert await store.take_share("tok1") is None


async def test_feedback_is_kept_in_order(store: StateStore) -> None:
    records = [
        Feedback("c1", ("S1", "S2"), True, "U1", None, "audit-1", at=1000.5),
        Feedback("c2", (), False, None, "wrong_statement", None, at=1001.25),
    ]
    for record in records:
        await store.add_feedback(record)
    assert await feedback_of(store) == records


async def test_ping_answers(store: StateStore) -> None:
    assert await store.ping() is True

