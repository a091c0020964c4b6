"""Shared audit fixtures: a key, stores, a trail, and records written straight through the store
API (building replies from real statements, without the NLU, so a thousand records take a second).
"""
from __future__ import annotations

import random
from pathlib import Path
from typing import Any, Dict, List, Optional

import pytest

from audit.record import RecordBuilder
from audit.settings import AuditKey
from audit.snapshot import kb_snapshot
from audit.sqlite_store import SQLiteAuditStore
from audit.trail import AuditTrail
from dialogues import compose
from dialogues.types import Reply, ReplyKind, Turn
from knowledge import KnowledgeBase, Topic, default_knowledge
from nlu.types import IntentScore

# the session's redis-server (another module owns it); imported here so these tests can use it
from tests.redis_server import redis_server, redis_url  # noqa: F401

KEY = AuditKey(b"test-audit-key-0123456789abcdef", dev=False, origin="test")
OTHER_KEY = AuditKey(b"another-audit-key-fedcba9876543210", dev=False, origin="test")


def answer(kb: KnowledgeBase, topic: Topic, entity: str, facts: Optional[Dict[str, str]] = None,
           intent: str = "dosing", confidence: float = 0.93) -> Reply:
    """A real answer: the statements the knowledge base gives for a topic and entity, cited."""
    facts = facts or {}
    matches = kb.query(topic, [entity], facts)
    cited = [compose.cite(m, facts, kb.lexicon.label) for m in matches]
    cited, shared = compose.shared_caveat(cited)
    lead = [f"{entity}: {topic.value}"] + ([f"For every statement below: {shared}"] if shared else [])
    slots = {"drug": entity if topic is Topic.dosing else None, **facts}
    return compose.build(ReplyKind.answer, intent=IntentScore(name=intent, confidence=confidence), entities=[],
                         slots=slots, lead=lead, statements=cited)


def fallback() -> Reply:
    return compose.build(ReplyKind.fallback, intent=IntentScore(name="nlu_fallback", confidence=0.31),
                         entities=[], slots={}, lead=["I'm not sure what you're asking."])


def sample_replies(kb: KnowledgeBase) -> List[Reply]:
    return [
        answer(kb, Topic.dosing, "lanreotide"),
        answer(kb, Topic.dosing, "octreotide", {"sstr_status": "positive"}),
        answer(kb, Topic.procedure_explanation, "tace", intent="procedure_explanation"),
        answer(kb, Topic.monitoring, "chromogranin-a", intent="monitoring"),
        fallback(),
    ]


def builder(kb: KnowledgeBase, key: AuditKey = KEY) -> RecordBuilder:
    from audit.pseudonym import Pseudonymizer

    pseudonyms = Pseudonymizer(key.secret)
    return RecordBuilder(kb, kb_snapshot(kb).version, "testmodel", "0.1.0", pseudonyms, pseudonyms.key_id)


def bodies(kb: KnowledgeBase, n: int, start_at: float = 1_700_000_000.0, step: float = 60.0,
           seed: int = 7) -> List[Dict[str, Any]]:
    """n record bodies over time (one a minute by default), varied but reproducible."""
    rng = random.Random(seed)
    replies = sample_replies(kb)
    make = builder(kb)
    platforms = ("slack", "teams", "cli", "replay")
    return [make.turn(Turn(text="", conversation_id=f"C{rng.randrange(20)}", user=f"U{rng.randrange(9)}",
                           platform=rng.choice(platforms)),
                      rng.choice(replies), rng.uniform(3, 9), start_at + i * step)
            for i in range(n)]


@pytest.fixture(scope="session")
def kb() -> KnowledgeBase:
    return default_knowledge()


@pytest.fixture
async def sqlite_store(tmp_path: Path):
    store = SQLiteAuditStore(tmp_path / "state.db")
    yield store
    await store.close()


@pytest.fixture
async def trail(sqlite_store: SQLiteAuditStore, kb: KnowledgeBase):
    made = AuditTrail(sqlite_store, kb, "testmodel", KEY)
    yield made
    await made.flush()


async def write(store: Any, kb: KnowledgeBase, n: int, **kwargs: Any) -> List[Dict[str, Any]]:
    """n records straight through the store API, with the knowledge-base snapshot they name."""
    snapshot = kb_snapshot(kb)
    await store.put_snapshot(snapshot.version, snapshot.payload)
    return await store.append_many(bodies(kb, n, **kwargs))
