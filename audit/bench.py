"""The audit's added cost per turn, for `carebot bench`: `record_turn` on a SQLite store in a
temporary directory, with a reply built once from real statements (no NLU, so only the audit's
own work is measured: building the record, sealing it onto the chain, the store's commit).

`audit_cost_ms` is the whole cost per record, what the turn pays plus the write behind it.
`audit_cost_breakdown` says how much of it is on the turn's path and how much is behind it.
"""
from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path
from typing import Dict

from audit.settings import AuditKey
from audit.sqlite_store import SQLiteAuditStore
from audit.trail import AuditTrail
from dialogues import compose
from dialogues.types import Reply, ReplyKind, Turn
from knowledge import Topic, default_knowledge
from nlu.types import IntentScore

WARMUP = 20


def sample_reply() -> Reply:
    """A typical answer: the lanreotide dosing statements, quoted with their caveats."""
    kb = default_knowledge()
    matches = kb.query(Topic.dosing, ["lanreotide"], {"sstr_status": "positive"})
    cited = [compose.cite(m, {"sstr_status": "positive"}, kb.lexicon.label) for m in matches]
    return compose.build(ReplyKind.answer, intent=IntentScore(name="dosing", confidence=0.97), entities=[],
                         slots={"drug": "lanreotide", "sstr_status": "positive"}, lead=["Lanreotide: dosing"],
                         statements=cited)


async def audit_cost_ms(n: int = 500) -> float:
    """Mean milliseconds per record: `record_turn` plus its share of the writes behind it."""
    return (await audit_cost_breakdown(n))["total_ms"]


async def audit_cost_breakdown(n: int = 500) -> Dict[str, float]:
    """Per record, in ms: `on_turn_ms` (record_turn, which the turn awaits), `behind_turn_ms` (the
    batched append, done while the event loop is free), and `total_ms`."""
    reply = sample_reply()
    with tempfile.TemporaryDirectory(prefix="carebot-audit-bench-") as workdir:
        store = SQLiteAuditStore(Path(workdir) / "state.db")
        # no linger: each record gets its own commit, the most a record can cost (with the linger,
        # turns close together share one)
        trail = AuditTrail(store, default_knowledge(), "bench", AuditKey(b"bench-key-" * 4, False, "bench"),
                           linger_seconds=0.0)
        try:
            for i in range(WARMUP):
                await trail.record_turn(Turn(text="", conversation_id=f"warm-{i}", user="U1"), reply, 1.0)
            turns = [Turn(text="", conversation_id=f"c-{i % 50}", user=f"U{i % 20}", platform="slack")
                     for i in range(n)]
            await trail.flush()
            on_turn = behind = 0.0
            for turn in turns:
                started = time.perf_counter()
                await trail.record_turn(turn, reply, 1.0)
                on_turn += time.perf_counter() - started
                started = time.perf_counter()
                await asyncio.sleep(0)  # the loop is free, as while a reply is sent: the writer appends
                await asyncio.sleep(0)
                behind += time.perf_counter() - started
            started = time.perf_counter()
            await trail.flush()
            behind += time.perf_counter() - started
            return {"on_turn_ms": on_turn * 1000 / n, "behind_turn_ms": behind * 1000 / n,
                    "total_ms": (on_turn + behind) * 1000 / n}
        finally:
            await trail.close()


if __name__ == "__main__":
    costs = asyncio.run(audit_cost_breakdown())
    print(", ".join(f"{k} {v:.3f}" for k, v in costs.items()))
