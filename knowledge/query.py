"""The query API the dialogue handlers use: statements by topic, entities and case facts.

Everything is indexed once at load; a query is a few set operations, so it stays cheap on the
per-turn hot path.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from enum import Enum
from functools import lru_cache
from pathlib import Path
from typing import Dict, FrozenSet, Iterable, List, Mapping, Optional, Sequence, Tuple

from knowledge.loader import LEXICON_PATH, STATEMENTS_DIR, load_lexicon_file, load_statements
from knowledge.schema import (
    SOURCE_ORDER,
    EntityType,
    LexiconEntry,
    LexiconFile,
    SourceKind,
    Statement,
    Topic,
)


class Applicability(str, Enum):
    applies = "applies"  # every condition is known and met (or there are none)
    depends = "depends"  # some condition is not known yet; none is contradicted
    contradicted = "contradicted"  # a known case fact rules the statement out


class BlockReason(str, Enum):
    prerequisite = "prerequisite"  # a known case fact rules the treatment out (PRRT when SSTR-negative)
    excluded = "excluded"  # the disease progressed on it or it failed, earlier in the conversation


@dataclass(frozen=True)
class Block:
    """One treatment a statement names that does not apply to this case, and why."""

    entity: str
    reason: BlockReason
    # for a prerequisite: slot -> the values the treatment needs (the case has another)
    needs: Mapping[str, Tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class Match:
    statement: Statement
    applicability: Applicability
    # slot -> values the statement needs, for the conditions that are unknown or contradicted
    unmet: Mapping[str, Tuple[str, ...]] = field(default_factory=dict)
    # treatments the statement names that the case rules out or excluded; when every treatment the
    # question is about is blocked, the statement is `contradicted`, otherwise it is quoted with a caveat
    blocked: Tuple[Block, ...] = ()


class Lexicon:
    """Surface form -> canonical id, for every drug, procedure, test and class."""

    def __init__(self, data: LexiconFile) -> None:
        self.data = data
        self.entries: Dict[str, LexiconEntry] = {entry.id: entry for entry in data.entries}
        self._by_surface: Dict[str, str] = {}
        for entry in data.entries:
            for form in self.forms(entry.id):
                self._by_surface[form.casefold()] = entry.id

    def forms(self, entity_id: str) -> List[str]:
        """Every way of writing an id: the id, its label and its synonyms."""
        entry = self.entries[entity_id]
        seen: Dict[str, str] = {}
        for form in (entry.id, entry.label, *entry.synonyms):
            seen.setdefault(form.casefold(), form)
        return list(seen.values())

    def resolve(self, term: str) -> Optional[LexiconEntry]:
        entity_id = self._by_surface.get(" ".join(term.split()).casefold())
        return self.entries[entity_id] if entity_id else None

    def label(self, entity_id: str) -> str:
        entry = self.entries.get(entity_id)
        return entry.label if entry else entity_id

    def ids_of_type(self, entity_type: EntityType) -> List[str]:
        return [entry.id for entry in self.data.entries if entry.type is entity_type]

    def expand(self, entity_id: str) -> FrozenSet[str]:
        """A class stands for itself and its members (asking about SSAs covers lanreotide)."""
        entry = self.entries.get(entity_id)
        if entry is None:
            return frozenset({entity_id})
        return frozenset({entity_id, *entry.members})

    def classes_of(self, entity_id: str) -> List[str]:
        return [entry.id for entry in self.data.entries if entity_id in entry.members]

    def requires(self, entity_id: str) -> Dict[str, Tuple[str, ...]]:
        """What a treatment needs of the case (slot -> any one of these values), from the lexicon.

        Only the entry's own prerequisites: a class does not inherit its members', nor a member
        its class's, so tagging a statement with an id says exactly what it inherits.
        """
        entry = self.entries.get(entity_id)
        if entry is None:
            return {}
        return {slot.value: tuple(values) for slot, values in entry.requires.items()}


class KnowledgeBase:
    def __init__(self, statements: Sequence[Statement], lexicon: Lexicon) -> None:
        # stable order: source kind as the seeds present it, then seed, then position in its file
        position = {statement.id: index for index, statement in enumerate(statements)}
        self.statements: Tuple[Statement, ...] = tuple(
            sorted(
                statements,
                key=lambda s: (SOURCE_ORDER[s.source.kind], s.source.seed, position[s.id]),
            )
        )
        self.lexicon = lexicon
        self._by_id: Dict[str, Statement] = {s.id: s for s in self.statements}
        self._rank: Dict[str, int] = {s.id: rank for rank, s in enumerate(self.statements)}
        self._by_topic: Dict[Topic, FrozenSet[str]] = {
            topic: frozenset(s.id for s in self.statements if topic in s.topics) for topic in Topic
        }
        by_entity: Dict[str, set] = {}
        for s in self.statements:
            for entity in s.entities:
                by_entity.setdefault(entity, set()).add(s.id)
        self._by_entity: Dict[str, FrozenSet[str]] = {k: frozenset(v) for k, v in by_entity.items()}

    def __len__(self) -> int:
        return len(self.statements)

    def export(self) -> List[dict]:
        """Every statement as a plain JSON record, in answer order: what `carebot kb export`
        prints and what an audit snapshot (and so the knowledge base's version) is made of."""
        return [
            {
                "id": s.id,
                "text": s.text,
                "source": {"kind": s.source.kind.value, "title": s.source.title, "seed": s.source.seed},
                "citation": s.citation,
                "topics": [t.value for t in s.topics],
                "entities": list(s.entities),
                "conditions": {slot.value: list(values) for slot, values in s.conditions.items()},
                "mentions": list(s.mentions),
            }
            for s in self.statements
        ]

    def get(self, statement_id: str) -> Statement:
        return self._by_id[statement_id]

    def entities_with_topic(self, topic: Topic, entity_type: EntityType) -> List[str]:
        """Ids of one type that some statement on a topic concerns, in lexicon order."""
        found = {e for sid in self._by_topic[topic] for e in self._by_id[sid].entities}
        return [eid for eid in self.lexicon.ids_of_type(entity_type) if eid in found]

    def query(
        self,
        topic: Optional[Topic] = None,
        entities: Iterable[str] = (),
        facts: Optional[Mapping[str, Optional[str]]] = None,
        *,
        all_entities: bool = False,
        excluded: Iterable[str] = (),
    ) -> List[Match]:
        """Statements on a topic about the given entities, each judged against the case facts.

        With several entities a statement about any of them matches, unless all_entities is set.
        Judging also applies what each treatment a statement names requires of the case (lexicon
        `requires`) and the treatments the conversation excluded; the entities asked about are the
        focus, so a PRRT question about a list that names PRRT is judged for PRRT.
        """
        entities = list(entities)
        ids = set(self._by_topic[topic]) if topic is not None else set(self._by_id)
        wanted = [self.lexicon.expand(e) for e in entities]
        if wanted:
            per_entity = [
                set().union(*(self._by_entity.get(e, frozenset()) for e in group)) for group in wanted
            ]
            about = set.intersection(*per_entity) if all_entities else set.union(*per_entity)
            ids &= about
        ordered = sorted(ids, key=self._rank.__getitem__)
        focus = frozenset().union(*wanted) if wanted else frozenset()
        blocked_ids = frozenset(excluded)
        return [judge(self._by_id[sid], facts or {}, self.lexicon, focus, blocked_ids) for sid in ordered]

    def search(self, term: str) -> List[Statement]:
        """Statements that mention a term or any synonym of it (or are tagged with it)."""
        entry = self.lexicon.resolve(term)
        forms = self.lexicon.forms(entry.id) if entry else [term]
        pattern = _mention_pattern(tuple(sorted(f.casefold() for f in forms)))
        tagged = self.lexicon.expand(entry.id) if entry else frozenset()
        return [
            s for s in self.statements if pattern.search(s.text) or tagged.intersection(s.entities)
        ]

    def counts(self) -> Dict[str, Dict[str, int]]:
        by_kind = {kind.value: 0 for kind in SourceKind}
        by_topic = {topic.value: 0 for topic in Topic}
        for s in self.statements:
            by_kind[s.source.kind.value] += 1
            for topic in s.topics:
                by_topic[topic.value] += 1
        return {"source": by_kind, "topic": by_topic}


def judge(statement: Statement, facts: Mapping[str, Optional[str]], lexicon: Optional[Lexicon] = None,
          focus: FrozenSet[str] = frozenset(), excluded: FrozenSet[str] = frozenset()) -> Match:
    """Applies, depends or contradicted, from the statement's own conditions and from what the
    treatments it names require of the case.

    A statement inherits the prerequisites of every treatment it is tagged with. When the question is
    about particular treatments (`focus`), only those count: "is PRRT an option?" against "SSAs, TAE,
    PRRT or TACE as comparable alternatives" is judged for PRRT. With no focus (an overview), every
    treatment it names counts, and the statement is ruled out only when all of them are.
    """
    unknown: Dict[str, Tuple[str, ...]] = {}
    contradicted: Dict[str, Tuple[str, ...]] = {}
    for slot, allowed in statement.conditions.items():
        value = facts.get(slot.value)
        if value is None:
            unknown[slot.value] = tuple(allowed)
        elif value not in allowed:
            contradicted[slot.value] = tuple(allowed)
    blocked: List[Block] = []
    relevant: List[str] = []
    own_slots = {slot.value for slot in statement.conditions}
    if lexicon is not None:
        treatments = [e for e in statement.entities if _is_treatment(lexicon, e)]
        relevant = [e for e in treatments if e in focus] if focus else treatments
        for entity in treatments:
            # the statement's own conditions say when it applies; they override what a treatment it names
            # requires ("TACE ... when surgical removal isn't possible" names resection to rule it out)
            block = block_for(entity, facts, lexicon, excluded, own_slots)
            if block is not None:
                blocked.append(block)
            elif entity in focus:
                # the question is about this treatment: say what it needs that is not known yet
                for slot, values in lexicon.requires(entity).items():
                    if slot not in own_slots and facts.get(slot) is None and slot not in unknown:
                        unknown[slot] = values
    if contradicted:
        return Match(statement, Applicability.contradicted, contradicted, tuple(blocked))
    blocked_ids = {b.entity for b in blocked}
    if relevant and all(e in blocked_ids for e in relevant):
        return Match(statement, Applicability.contradicted, {}, tuple(blocked))
    if unknown:
        return Match(statement, Applicability.depends, unknown, tuple(blocked))
    return Match(statement, Applicability.applies, {}, tuple(blocked))


def block_for(entity: str, facts: Mapping[str, Optional[str]], lexicon: Lexicon,
              excluded: Iterable[str] = (), ignore_slots: Iterable[str] = ()) -> Optional[Block]:
    """Why a treatment does not apply to this case, or None: the conversation excluded it (the disease
    progressed on it), or a known case fact contradicts what it requires (lexicon `requires`)."""
    if entity in excluded:
        return Block(entity, BlockReason.excluded)
    ignored = set(ignore_slots)
    ruled_out = {slot: values for slot, values in lexicon.requires(entity).items()
                 if slot not in ignored and facts.get(slot) is not None and facts.get(slot) not in values}
    return Block(entity, BlockReason.prerequisite, ruled_out) if ruled_out else None


def _is_treatment(lexicon: Lexicon, entity_id: str) -> bool:
    entry = lexicon.entries.get(entity_id)
    return entry is not None and entry.type is not EntityType.test


@lru_cache(maxsize=256)
def _mention_pattern(forms: Tuple[str, ...]) -> "re.Pattern[str]":
    alternatives = "|".join(re.escape(f) for f in sorted(forms, key=len, reverse=True))
    return re.compile(rf"(?<![\w-])(?:{alternatives})(?![\w])", re.IGNORECASE)


def load_knowledge(
    statements_dir: Optional[Path] = None, lexicon_path: Optional[Path] = None
) -> KnowledgeBase:
    """Load and validate everything; raises KnowledgeError naming file, record and field.

    CAREBOT_KNOWLEDGE_DIR points at another data folder (statements/ and lexicon.yml), so a
    maintainer can try a knowledge-base change without touching the installed one.
    """
    override = os.environ.get("CAREBOT_KNOWLEDGE_DIR")
    base = Path(override) if override else None
    statements_dir = statements_dir or (base / "statements" if base else STATEMENTS_DIR)
    lexicon_path = lexicon_path or (base / "lexicon.yml" if base else LEXICON_PATH)
    lexicon = Lexicon(load_lexicon_file(lexicon_path))
    statements = load_statements(statements_dir, list(lexicon.entries))
    return KnowledgeBase(statements, lexicon)


@lru_cache(maxsize=1)
def default_knowledge() -> KnowledgeBase:
    """The shipped knowledge base, loaded once per process."""
    return load_knowledge()
