"""In-process benchmarks of the core: (1) a whole turn against bare Rasa, (6) growth of the store.

Both use one engine built by `Engine.create` (the knowledge base, the NLU model, a real SQLite
store in a temporary directory), exactly as `carebot ask` and the Slack app build it. Bare Rasa
is `Agent.parse_message` on the engine's own loaded agent: the same model object, so the two
sides differ by carebot's work only (cleaning, state, dialogue, knowledge, rendering).

Turns and bare parses alternate message by message, and which of the two goes first alternates
too, so drift in the machine's load (it may be shared) falls on both sides alike.

The audit trail writes behind the turn (a live process writes in its idle moments). Back-to-back
turns leave no idle moment, so the records queued by a turn are written after it, outside both
timed windows, and that write is reported on its own (`audit_behind_ms`, and a ratio with it added)
rather than falling at random into whichever window the writer's timer happened to expire in.
"""
from __future__ import annotations

import cProfile
import io
import pstats
import random
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Awaitable, Callable, Dict, List, Optional, Sequence

from benchmarks import stats
from benchmarks.messages import CONVERSATIONS

TURN_GOAL_RATIO = 1.15
GROWTH_GOAL_RATIO = 1.10  # "costs the same": equal within the noise of a shared machine
GROWTH_SIZES = (10, 10_000)


@dataclass
class Core:
    """What the in-process benchmarks share: loaded once, because loading costs seconds."""

    engine: Any  # dialogues.engine.Engine
    parser: Any  # the engine's own nlu.parser.Parser
    agent: Any  # rasa.core.agent.Agent: the model the parser wraps
    model: Path
    load_seconds: float

    async def close(self) -> None:
        await self.engine.close()


async def load_core(workdir: Path, say: Callable[[str], None], redis_url: Optional[str] = None) -> Core:
    from dialogues.engine import Engine
    from dialogues.settings import CoreSettings

    started = time.perf_counter()
    settings = CoreSettings(state_path=workdir / "turn-state.db", redis_url=redis_url)
    engine = await Engine.create(settings=settings, say=say)
    seconds = time.perf_counter() - started
    parser = engine.parser
    agent = getattr(parser, "_agent", None)
    if agent is None:  # the parser changed shape: load the same model file separately
        from rasa.core.agent import Agent

        agent = Agent.load(str(parser.model))
    return Core(engine=engine, parser=parser, agent=agent, model=Path(parser.model), load_seconds=seconds)


class _TimedParser:
    """The engine's parser, timing each parse, so a turn splits into NLU and carebot's own work."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.model = inner.model
        self.last = 0.0

    async def parse(self, text: str) -> Any:
        started = time.perf_counter()
        try:
            return await self.inner.parse(text)
        finally:
            self.last = time.perf_counter() - started


async def _write_behind(engine: Any) -> float:
    """Write the audit records the last turn queued; seconds it took (0 without an audit trail)."""
    if getattr(engine, "audit", None) is None:
        return 0.0
    started = time.perf_counter()
    await engine.audit.flush()
    return time.perf_counter() - started


async def _timed(call: Awaitable[Any]) -> float:
    started = time.perf_counter()
    await call
    return time.perf_counter() - started


# --- (1) turn cost vs bare Rasa -----------------------------------------------------------------

async def turn_benchmark(core: Core, rounds: int, warmup_rounds: int = 1) -> Dict[str, Any]:
    from dialogues.types import Turn

    timed = _TimedParser(core.parser)
    core.engine.parser = timed
    turns: List[float] = []
    bare: List[float] = []
    inner: List[float] = []
    behind: List[float] = []
    kinds: Dict[str, int] = {}
    index = 0
    try:
        for round_number in range(warmup_rounds + rounds):
            measured = round_number >= warmup_rounds
            for number, conversation in enumerate(CONVERSATIONS):
                conversation_id = f"bench:turn:{round_number}:{number}"
                for text in conversation:
                    turn = Turn(text=text, conversation_id=conversation_id, user="bench")
                    carebot_first = index % 2 == 0
                    index += 1
                    if carebot_first:
                        started = time.perf_counter()
                        reply = await core.engine.handle(turn)
                        t_turn = time.perf_counter() - started
                        t_bare = await _timed(core.agent.parse_message(text))
                    else:
                        t_bare = await _timed(core.agent.parse_message(text))
                        started = time.perf_counter()
                        reply = await core.engine.handle(turn)
                        t_turn = time.perf_counter() - started
                    t_behind = await _write_behind(core.engine)
                    if measured:
                        turns.append(t_turn)
                        bare.append(t_bare)
                        inner.append(timed.last)
                        behind.append(t_behind)
                        kinds[reply.kind.value] = kinds.get(reply.kind.value, 0) + 1
    finally:
        core.engine.parser = core.parser
    carebot = stats.summary(turns)
    rasa = stats.summary(bare)
    return {
        "messages": sum(len(c) for c in CONVERSATIONS),
        "conversations": len(CONVERSATIONS),
        "rounds": rounds,
        "warmup_rounds": warmup_rounds,
        "carebot_turn_ms": carebot,
        "bare_rasa_parse_ms": rasa,
        "ratio_median": stats.ratio(carebot["median"], rasa["median"]),
        "ratio_p90": stats.ratio(carebot["p90"], rasa["p90"]),
        # per message pair (same message, back to back): robust to the machine's load drifting
        "paired_ratio_median": round(stats.median([t / b for t, b in zip(turns, bare)]) or 0, 3) if turns else None,
        "paired_difference_ms": stats.summary([t - b for t, b in zip(turns, bare)]),
        # inside the turn: Parser.parse = Agent.parse_message + conversion to a typed ParseResult
        "carebot_parse_ms": stats.summary(inner),
        "carebot_own_work_ms": stats.summary([t - p for t, p in zip(turns, inner)]),
        # the audit record, written behind each turn (one commit per turn: the conservative case;
        # a live process batches the turns of 50 ms into one commit)
        "audit_behind_ms": stats.summary(behind),
        "ratio_median_with_audit_behind": stats.ratio(
            stats.median([t + w for t, w in zip(turns, behind)]), stats.median(bare)),
        "reply_kinds": kinds,
        "goal": {"ratio_median_max": TURN_GOAL_RATIO},
    }


# --- (6) growth: 10 vs 10,000 stored conversations ----------------------------------------------

def prefill(path: Path, conversations: int, seen_events: int, seed: int = 7) -> List[str]:
    """Fill a store with realistic conversations (subjects and facts, updated within the TTL)
    and Slack delivery claims, in one transaction; returns the conversation ids."""
    from dialogues.state import ConversationState

    rng = random.Random(seed)
    drugs = ["lanreotide", "octreotide", "everolimus", "sunitinib", "lutetium-177-dotatate", None]
    procedures = ["tace", "tare", "rfa", "prrt", None]
    now = time.time()
    rows = []
    for number in range(conversations):
        state = ConversationState()
        state.slots["drug"] = rng.choice(drugs)
        state.slots["procedure"] = rng.choice(procedures)
        state.slots["sstr_status"] = rng.choice(["positive", None])
        state.last_intent = rng.choice(["dosing", "next_steps", "monitoring", None])
        state.turns = rng.randint(1, 12)
        rows.append((f"slack:TBENCH:C{number % 97:08d}:{now - number:.6f}", state.json(exclude={"version"}),
                     now - rng.uniform(0, 6 * 86400)))
    claims = [(f"slack:event:Ev{number:010d}", now - rng.uniform(0, 23 * 3600)) for number in range(seen_events)]
    db = sqlite3.connect(str(path))
    try:
        with db:
            db.executemany("INSERT OR REPLACE INTO conversations(id, state, updated, version) VALUES (?, ?, ?, 1)",
                           rows)
            db.executemany("INSERT OR IGNORE INTO deliveries(key, status, token, lease_until, seen) "
                           "VALUES (?, 'answered', 't', 0, ?)", claims)
    finally:
        db.close()
    return [row[0] for row in rows]


def _query_plans(path: Path) -> Dict[str, str]:
    """How SQLite runs the store's statements (an index search is constant-ish time)."""
    queries = {
        "load": "SELECT state, updated, version FROM conversations WHERE id = 'x'",
        "save": "UPDATE conversations SET state = '{}', updated = 0, version = version + 1 "
                "WHERE id = 'x' AND version = 1",
        "claim": "SELECT status, lease_until FROM deliveries WHERE key IN ('x', 'y')",
        "recover": "SELECT key, pending, text_until FROM deliveries WHERE status = 'in_progress' "
                   "AND lease_until <= 0 AND pending IS NOT NULL AND platform = 'slack' ORDER BY seen LIMIT 100",
        "purge_conversations": "DELETE FROM conversations WHERE updated < 0",
        "purge_deliveries": "DELETE FROM deliveries WHERE seen < 0 AND status = 'answered'",
    }
    db = sqlite3.connect(str(path))
    try:
        plans = {}
        for name, sql in queries.items():
            rows = db.execute("EXPLAIN QUERY PLAN " + sql).fetchall()
            plans[name] = "; ".join(str(row[-1]) for row in rows) or "(no table access)"
        return plans
    finally:
        db.close()


async def growth_benchmark(core: Core, workdir: Path, rounds: int, warmup_rounds: int = 1,
                           sizes: Sequence[int] = GROWTH_SIZES, state_ops: int = 2000) -> Dict[str, Any]:
    from dialogues.engine import Engine
    from dialogues.state import ConversationState
    from dialogues.store import SQLiteStore
    from dialogues.types import Turn

    settings = core.engine.settings
    ttl = settings.conversation_ttl_days * 86400
    stores: Dict[int, Any] = {}
    engines: Dict[int, Any] = {}
    ids: Dict[int, List[str]] = {}
    for size in sizes:
        path = workdir / f"growth-{size}.db"
        schema = SQLiteStore(path, ttl_seconds=ttl)  # creates the schema, as a fresh install would
        await schema.close()
        ids[size] = prefill(path, size, size)
        store = SQLiteStore(path, ttl_seconds=ttl)
        stores[size] = store
        engines[size] = Engine(core.parser, core.engine.kb, store, settings)
    try:
        turn_times: Dict[int, List[float]] = {size: [] for size in sizes}
        index = 0
        for round_number in range(warmup_rounds + rounds):
            measured = round_number >= warmup_rounds
            for number, conversation in enumerate(CONVERSATIONS):
                conversation_id = f"bench:growth:{round_number}:{number}"
                for text in conversation:
                    order = list(sizes) if index % 2 == 0 else list(reversed(sizes))
                    index += 1
                    for size in order:
                        turn = Turn(text=text, conversation_id=conversation_id, user="bench")
                        elapsed = await _timed(engines[size].handle(turn))
                        if measured:
                            turn_times[size].append(elapsed)

        # the state calls alone, on existing conversations (a turn's parse noise hides microseconds)
        rng = random.Random(11)
        state_times: Dict[int, List[float]] = {size: [] for size in sizes}
        state = ConversationState()
        state.slots["drug"] = "lanreotide"
        for op in range(state_ops):
            order = list(sizes) if op % 2 == 0 else list(reversed(sizes))
            for size in order:
                conversation_id = rng.choice(ids[size])
                started = time.perf_counter()
                loaded = await stores[size].load(conversation_id) or state.copy()
                loaded.slots["drug"] = "lanreotide"
                await stores[size].save(conversation_id, loaded)  # fenced on the loaded version
                state_times[size].append(time.perf_counter() - started)

        purge_times: Dict[int, List[float]] = {size: [] for size in sizes}
        for _ in range(5):
            for size in sizes:
                started = time.perf_counter()
                stores[size].purge_expired()
                purge_times[size].append(time.perf_counter() - started)
        counts = {str(size): stores[size].count() for size in sizes}
    finally:
        for store in stores.values():
            await store.close()

    small, large = min(sizes), max(sizes)
    turn = {str(size): stats.summary(turn_times[size]) for size in sizes}
    state_us = {str(size): stats.summary(state_times[size], scale=1e6, digits=1) for size in sizes}
    purge = {str(size): stats.summary(purge_times[size]) for size in sizes}
    return {
        "sizes": list(sizes),
        "conversations_at_end": counts,
        "rounds": rounds,
        "warmup_rounds": warmup_rounds,
        "turn_ms": turn,
        "ratio_median": stats.ratio(turn[str(large)]["median"], turn[str(small)]["median"]),
        "state_load_save_us": state_us,
        "state_ratio_median": stats.ratio(state_us[str(large)]["median"], state_us[str(small)]["median"]),
        "purge_expired_ms": purge,
        "query_plans": _query_plans(workdir / f"growth-{large}.db"),
        "goal": {"ratio_median_max": GROWTH_GOAL_RATIO},
    }


# --- profiles (--profile DIR) -------------------------------------------------------------------

async def profile_turns(core: Core, out_dir: Path, rounds: int = 3) -> Dict[str, str]:
    """cProfile of carebot turns and of bare parses over the same messages; pstats text files."""
    from dialogues.types import Turn

    out_dir.mkdir(parents=True, exist_ok=True)
    written = {}
    for side in ("carebot", "bare_rasa"):
        profiler = cProfile.Profile()
        for round_number in range(rounds):
            for number, conversation in enumerate(CONVERSATIONS):
                conversation_id = f"bench:profile:{side}:{round_number}:{number}"
                for text in conversation:
                    if side == "carebot":
                        call = core.engine.handle(Turn(text=text, conversation_id=conversation_id, user="bench"))
                    else:
                        call = core.agent.parse_message(text)
                    profiler.enable()
                    await call
                    profiler.disable()
        path = out_dir / f"profile-turn-{side}.txt"
        buffer = io.StringIO()
        for order in ("cumulative", "tottime"):
            buffer.write(f"==== sorted by {order} ====\n")
            pstats.Stats(profiler, stream=buffer).sort_stats(order).print_stats(45)
        path.write_text(buffer.getvalue())
        profiler.dump_stats(str(path.with_suffix(".pstats")))
        written[side] = str(path)
    return written

