"""Expectations that describe what a reply did: what `--update` writes and what recording saves.

Only the structural keys are observed (kind, intent, entities, slots, cites). Text checks
(`reply_contains` and friends) say what matters about the wording, which only a person can
decide, so they are never generated.
"""
from __future__ import annotations

from typing import Any, Dict, Iterable, List, Mapping, Optional, Union

from bot.replay.checks import entity_values
from bot.replay.schema import ENTITY_TYPES, SLOT_NAMES, SOURCE_KINDS
from dialogues.types import Reply

STRUCTURAL_KEYS = ("kind", "intent", "entities", "slots", "cites")
EntityValue = Union[str, List[str], None]


def observed_kind(reply: Reply) -> str:
    return reply.kind.value


def observed_intent(reply: Reply) -> Optional[str]:
    return reply.intent.name if reply.intent else None


def observed_entities(reply: Reply, types: Optional[Iterable[str]] = None) -> Dict[str, EntityValue]:
    """Entity type -> value (a list when several); with `types`, exactly those types (null if absent)."""
    found = entity_values(reply)
    wanted = list(types) if types is not None else [t for t in found if t in ENTITY_TYPES]
    return {t: _one_or_many(found.get(t, [])) for t in wanted}


def observed_slots(reply: Reply, previous: Optional[Mapping[str, Optional[str]]] = None,
                   names: Optional[Iterable[str]] = None) -> Dict[str, Optional[str]]:
    """Slots after the turn: with `names`, exactly those; otherwise the filled ones plus any the
    turn emptied (so a reset is recorded as `drug: null`), in the core's slot order."""
    actual = {k: (v or None) for k, v in reply.slots.items()}
    if names is not None:
        keys = list(names)
    else:
        before = previous or {}
        keys = [s for s in SLOT_NAMES if actual.get(s) or (before.get(s) and not actual.get(s))]
    return {k: actual.get(k) for k in keys}


def observed_cites(reply: Reply, style: str = "ids") -> List[str]:
    """Statement ids in reply order, or (style 'kinds') the source kinds they come from."""
    if style == "kinds":
        kinds: List[str] = []
        for statement in reply.statements:
            if statement.source.kind in SOURCE_KINDS and statement.source.kind not in kinds:
                kinds.append(statement.source.kind)
        return kinds
    return list(dict.fromkeys(reply.statement_ids))


def cites_style(existing: Optional[List[str]]) -> str:
    """Keep an author's choice: a list of source kinds stays a list of source kinds."""
    if existing and all(item in SOURCE_KINDS for item in existing):
        return "kinds"
    return "ids"


def observed_expect(reply: Reply, previous_slots: Optional[Mapping[str, Optional[str]]] = None) -> Dict[str, Any]:
    """All five structural keys as a plain dict (intent left out when the core gave none)."""
    expect: Dict[str, Any] = {"kind": observed_kind(reply)}
    intent = observed_intent(reply)
    if intent is not None:
        expect["intent"] = intent
    entities = observed_entities(reply)
    if entities:
        expect["entities"] = entities
    slots = observed_slots(reply, previous_slots)
    if slots:
        expect["slots"] = slots
    expect["cites"] = observed_cites(reply)
    return expect


def _one_or_many(values: List[str]) -> EntityValue:
    if not values:
        return None
    return values[0] if len(values) == 1 else values
