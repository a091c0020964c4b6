"""Which statements no question can reach, found by asking the real dialogue policy.

A statement is only useful if some question quotes it. Topic tags alone do not say that: the
next-steps overview quotes guideline options, monitoring quotes the case's own follow-up, dosing
needs a drug. So `carebot kb check` asks the manager every question a clinician could ask of each
statement (each clinical intent, about each entity it is tagged with and about nothing in
particular) with hand-made parses, no model, and lists the statements no answer quotes.
"""
from __future__ import annotations

from typing import List, Optional, Set

from dialogues.manager import DialogueManager
from dialogues.state import ConversationState
from knowledge import EntityType, KnowledgeBase
from knowledge.schema import CLINICAL_INTENTS
from nlu.types import Entity, IntentScore, ParseResult

_ENTITY_NAME = {EntityType.drug: "drug", EntityType.drug_class: "class", EntityType.procedure: "procedure",
                EntityType.test: "test"}


def _ask(manager: DialogueManager, intent: str, entity: Optional[Entity]) -> Set[str]:
    parse = ParseResult.construct(intent=IntentScore.construct(name=intent, confidence=1.0),
                                  ranking=[IntentScore.construct(name=intent, confidence=1.0)],
                                  entities=[entity] if entity else [])
    text = entity.text if entity else intent.replace("_", " ")
    reply = manager.respond(text, parse, ConversationState())
    return set(reply.statement_ids)


def unreachable(kb: KnowledgeBase) -> List[str]:
    """Ids of the statements that no clinical question quotes, in knowledge-base order."""
    manager = DialogueManager(kb)
    reached: Set[str] = set()
    subjects = {e for s in kb.statements for e in s.entities}
    for intent in CLINICAL_INTENTS:
        reached |= _ask(manager, intent.value, None)
        for entity_id in sorted(subjects):
            entry = kb.lexicon.entries.get(entity_id)
            if entry is None:
                continue
            text = entry.label
            entity = Entity.construct(entity=_ENTITY_NAME[entry.type], value=entity_id, text=text, start=0,
                                      end=len(text), extractor=None)
            reached |= _ask(manager, intent.value, entity)
    return [s.id for s in kb.statements if s.id not in reached]
