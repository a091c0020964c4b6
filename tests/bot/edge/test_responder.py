"""The shared responder's policy, without a model or a platform: a hand-made core and outbound.

What every platform inherits: one answer per delivery, replies in order per conversation, a slow
channel never holding another, apologies only when an answer surely did not land, and deliveries
a dead process claimed answered by the next one (or apologised for once their text is gone).
"""
from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import pytest

from bot.edge import messages
from bot.edge.responder import Responder
from bot.edge.types import DeliveryError, Incoming, ReplyContext, Route
from dialogues.cpu_gate import CpuGate
from dialogues.state import ConversationState
from dialogues.store import Pending, SQLiteStore, StoreUnavailable
from dialogues.types import Reply, ReplyKind, Turn


class FakeCore:
    """Answers "echo:<n>" with the number of turns the conversation has seen (so order shows)."""

    def __init__(self, store: SQLiteStore, delay: float = 0.0, fail_on: str = "") -> None:
        self.store = store
        self.delay = delay
        self.fail_on = fail_on
        self.turns: List[Turn] = []

    async def handle(self, turn: Turn) -> Reply:
        async with self.store.ordered(turn.conversation_id):
            return await self.handle_ordered(turn)

    async def handle_ordered(self, turn: Turn) -> Reply:
        self.turns.append(turn)
        if self.fail_on and self.fail_on in turn.text:
            raise RuntimeError("boom")
        state = await self.store.load(turn.conversation_id) or ConversationState()
        if self.delay:
            await asyncio.sleep(self.delay)
        state.turns += 1
        await self.store.save(turn.conversation_id, state)
        return Reply(kind=ReplyKind.smalltalk, text=f"turn {state.turns}", lead=[f"turn {state.turns}"])


class FakeOutbound:
    platform = "fake"

    def __init__(self) -> None:
        self.posts: List[Tuple[str, str]] = []  # (channel, text)
        self.failures: Dict[str, DeliveryError] = {}
        self.delays: Dict[str, float] = {}
        self.typing: List[str] = []

    async def send_reply(self, route: Route, reply: Reply, context: ReplyContext) -> int:
        await asyncio.sleep(self.delays.get(route["channel"], 0.0))
        if route["channel"] in self.failures:
            raise self.failures[route["channel"]]
        self.posts.append((route["channel"], reply.text))
        return 1

    async def send_notice(self, route: Route, text: str, context: Optional[ReplyContext] = None) -> None:
        self.posts.append((route["channel"], text))

    async def working(self, route: Route) -> None:
        self.typing.append(route["channel"])

    def texts(self, channel: str) -> List[str]:
        return [text for ch, text in self.posts if ch == channel]


def incoming(channel: str, key: str, text: str = "hello", conversation: Optional[str] = None) -> Incoming:
    return Incoming(platform="fake", keys=(f"fake:{key}",), conversation_id=conversation or f"fake:{channel}",
                    text=text, user="U1", route={"channel": channel}, ref=key)


@pytest.fixture
def store(tmp_path: Path) -> SQLiteStore:
    return SQLiteStore(tmp_path / "state.db", ttl_seconds=3600)


async def test_a_delivery_is_answered_once_whatever_key_repeats(store: SQLiteStore) -> None:
    outbound = FakeOutbound()
    responder = Responder(FakeCore(store), outbound)
    assert await responder.take(incoming("C1", "e1"))
    assert not await responder.take(incoming("C1", "e1"))
    # the same message under a second key it shares with the first (event id + message id)
    same = Incoming("fake", ("fake:e2", "fake:e1"), "fake:C1", "hello", "U1", {"channel": "C1"}, "e2")
    assert not await responder.take(same)
    await responder.wait_idle()
    assert outbound.texts("C1") == ["turn 1"]
    assert responder.metrics.deduplicated._value.get() == 2


async def test_replies_of_one_conversation_are_posted_in_order(store: SQLiteStore) -> None:
    outbound = FakeOutbound()
    outbound.delays["C1"] = 0.02
    responder = Responder(FakeCore(store, delay=0.01), outbound)
    for n in range(6):
        await responder.take(incoming("C1", f"e{n}"))
    await responder.wait_idle()
    assert outbound.texts("C1") == [f"turn {n}" for n in range(1, 7)]


async def test_a_slow_channel_does_not_hold_an_unrelated_one(store: SQLiteStore) -> None:
    """Posting happens outside the concurrency limit: 8 posts stuck in one channel (Retry-After,
    a slow gateway) leave the answer slots free for everyone else."""
    outbound = FakeOutbound()
    outbound.delays.update({f"SLOW{n}": 3.0 for n in range(8)})
    responder = Responder(FakeCore(store), outbound, max_concurrent=8)
    for n in range(8):
        await responder.take(incoming(f"SLOW{n}", f"s{n}"))
    await asyncio.sleep(0.05)
    started = time.perf_counter()
    await responder.take(incoming("FAST", "f1"))
    while not outbound.texts("FAST"):
        await asyncio.sleep(0.005)
    assert time.perf_counter() - started < 1.0
    await responder.close(timeout=10)


async def test_a_failed_core_gets_an_apology_and_the_delivery_is_done(store: SQLiteStore) -> None:
    outbound = FakeOutbound()
    responder = Responder(FakeCore(store, fail_on="crash"), outbound)
    await responder.take(incoming("C1", "e1", text="crash please"))
    await responder.wait_idle()
    assert outbound.texts("C1") == [messages.APOLOGY]
    assert await store.recover("fake", lease_seconds=0.0) == []  # answered, nothing to take over


@pytest.mark.parametrize("error, said", [
    (DeliveryError("ratelimited", landed=False), [messages.APOLOGY]),
    (DeliveryError("ConnectionReset", landed=None), []),  # may be in the channel: no 2nd copy, no apology
    (DeliveryError("timeout", landed=True), []),
    (DeliveryError("channel_not_found", landed=False, permanent=True), []),  # nowhere to apologise
])
async def test_apologies_only_when_the_answer_surely_did_not_land(store: SQLiteStore, error, said) -> None:
    outbound = FakeOutbound()
    outbound.failures["C1"] = error
    responder = Responder(FakeCore(store), outbound)
    await responder.take(incoming("C1", "e1"))
    await responder.wait_idle()
    assert outbound.texts("C1") == said
    assert await store.recover("fake", lease_seconds=0.0) == []


async def test_a_crashed_process_s_deliveries_are_answered_by_the_next_one(tmp_path: Path) -> None:
    """A claim taken by a process that died (its lease runs out) is answered exactly once by the
    next process, which starts by sweeping; its stored text is deleted once answered."""
    path = tmp_path / "state.db"
    clock = [1000.0]
    dead = SQLiteStore(path, ttl_seconds=3600, clock=lambda: clock[0])
    for n in range(5):
        pending = Pending("fake", f"fake:C{n}", {"channel": f"C{n}"}, f"Jane Roe question {n}", "U1", f"e{n}",
                          (f"fake:e{n}",))
        assert await dead.claim((f"fake:e{n}",), pending, lease_seconds=30)
    await dead.close()

    clock[0] += 31  # the dead process's leases run out
    store = SQLiteStore(path, ttl_seconds=3600, clock=lambda: clock[0])
    outbound = FakeOutbound()
    responder = Responder(FakeCore(store), outbound)
    # a platform's retry that finds the expired claim answers it; the sweep takes the others
    assert await responder.take(incoming("C0", "e0"))
    assert await responder.recover() == 4
    assert await responder.recover() == 0  # taken over once
    await responder.wait_idle()
    assert sorted(outbound.posts) == [(f"C{n}", "turn 1") for n in range(5)]
    await store.close()
    assert b"Jane Roe" not in path.read_bytes() + (path.with_name("state.db-wal").read_bytes()
                                                   if path.with_name("state.db-wal").exists() else b"")


async def test_a_delivery_whose_text_outlived_its_bound_gets_a_late_apology(tmp_path: Path) -> None:
    clock = [1000.0]
    store = SQLiteStore(tmp_path / "s.db", ttl_seconds=3600, clock=lambda: clock[0], pending_text_ttl=60)
    pending = Pending("fake", "fake:C1", {"channel": "C1"}, "old question", "U1", "e1", ("fake:e1",))
    await store.claim(("fake:e1",), pending, lease_seconds=30)
    clock[0] += 120
    store.purge_expired()
    outbound = FakeOutbound()
    responder = Responder(FakeCore(store), outbound)
    assert await responder.recover() == 1
    await responder.wait_idle()
    assert outbound.texts("C1") == [messages.LATE_APOLOGY]


async def test_the_store_down_at_claim_time_is_said_and_nothing_is_written(store: SQLiteStore) -> None:
    class DownStore(SQLiteStore):
        async def claim(self, *args, **kwargs):  # type: ignore[override]
            raise StoreUnavailable("down")

    down = DownStore(":memory:", ttl_seconds=60)
    outbound = FakeOutbound()
    responder = Responder(FakeCore(down), outbound)
    assert not await responder.take(incoming("C1", "e1"))
    await responder.wait_idle()
    assert outbound.texts("C1") == [messages.UNAVAILABLE]
    assert down.count() == 0


async def test_a_slow_turn_shows_the_platform_s_working_indicator(store: SQLiteStore) -> None:
    outbound = FakeOutbound()
    responder = Responder(FakeCore(store, delay=0.2), outbound, working_after=0.05)
    await responder.take(incoming("C1", "e1"))
    await responder.wait_idle()
    assert outbound.typing == ["C1"]
    responder = Responder(FakeCore(store), outbound, working_after=0.5)
    await responder.take(incoming("C2", "e2"))
    await responder.wait_idle()
    assert outbound.typing == ["C1"]  # a quick answer needs none


async def test_stopping_releases_unfinished_claims_for_the_next_process(store: SQLiteStore) -> None:
    outbound = FakeOutbound()
    responder = Responder(FakeCore(store, delay=5.0), outbound)
    await responder.take(incoming("C1", "e1"))
    await asyncio.sleep(0.05)
    await responder.close(timeout=0.1)
    assert outbound.texts("C1") == []
    [claim] = await store.recover("fake")
    assert claim.pending is not None and claim.pending.text == "hello"


async def test_the_lease_is_renewed_while_a_slow_answer_runs(store: SQLiteStore) -> None:
    outbound = FakeOutbound()
    responder = Responder(FakeCore(store, delay=0.5), outbound, lease_seconds=0.3)
    await responder.take(incoming("C1", "e1"))
    await asyncio.sleep(0.4)  # past one lease: renewed, so nobody may take it over
    assert await store.recover("fake", lease_seconds=0.3) == []
    await responder.wait_idle()
    assert outbound.texts("C1") == ["turn 1"]


async def test_a_store_lost_mid_answer_is_said_once_and_not_answered_late(tmp_path: Path) -> None:
    """Told "temporarily unavailable, try again", the user must not get a late answer too: once the
    store is back the delivery is marked done, so no sweep answers it."""
    class Flaky(SQLiteStore):
        down = False

        def ordered(self, conversation_id: str):  # type: ignore[override]
            if self.down:
                raise StoreUnavailable("down")
            return super().ordered(conversation_id)

        async def answered(self, claim):  # type: ignore[override]
            if self.down:
                raise StoreUnavailable("down")
            await super().answered(claim)

    store = Flaky(tmp_path / "s.db", ttl_seconds=60)
    outbound = FakeOutbound()
    responder = Responder(FakeCore(store), outbound, lease_seconds=0.3)
    store.down = True
    await responder.take(incoming("C1", "e1"))
    await asyncio.sleep(0.2)
    assert outbound.texts("C1") == [messages.UNAVAILABLE]
    store.down = False
    await responder.wait_idle()
    await asyncio.sleep(0.4)  # past the lease
    assert await responder.recover() == 0
    assert outbound.texts("C1") == [messages.UNAVAILABLE]


# ---- the CPU gate's backlog ------------------------------------------------------------------------


class GatedCore(FakeCore):
    """A core with the engine's CPU gate, which the responder reports its accepted answers to."""

    def __init__(self, store: SQLiteStore) -> None:
        super().__init__(store)
        self.cpu = CpuGate()


async def test_answers_are_counted_for_the_gate_from_the_moment_they_are_accepted(store: SQLiteStore) -> None:
    """A burst is accepted in one loop iteration and its turns all start in the next: the gate
    must know of the burst before the first turn reaches it."""
    core = GatedCore(store)
    responder = Responder(core, FakeOutbound())
    assert not core.cpu.queued
    assert await responder.take(incoming("C1", "e1"))
    assert not core.cpu.queued, "one answer is only the turn itself"
    assert await responder.take(incoming("C2", "e2"))
    assert core.cpu.queued, "counted in the iteration that accepted it, before its task ran"
    await responder.wait_idle()
    assert not core.cpu.queued
    await responder.close()


async def test_answers_cancelled_before_they_start_leave_no_backlog(store: SQLiteStore) -> None:
    core = GatedCore(store)
    responder = Responder(core, FakeOutbound())
    for number in range(3):
        assert await responder.take(incoming(f"C{number}", f"e{number}"))
    assert responder.answers_in_flight == 3
    await responder.close(timeout=0)  # cancels the three answers before any of them ran
    assert responder.answers_in_flight == 0
    assert not core.turns and not core.cpu.queued


async def test_a_closed_responder_is_no_longer_watched(store: SQLiteStore) -> None:
    """The engine outlives an edge (tests, a restarted listener): a closed responder's count must
    not hold the gate open."""
    core = GatedCore(store)
    responder = Responder(core, FakeOutbound())
    responder._answers = 5  # as if it had stopped with answers in flight
    assert core.cpu.queued
    await responder.close()
    assert not core.cpu.queued
