"""What one turn's audit record holds, built from a Turn and its Reply, and what it never holds.

Allow-listed, field by field: the record is made of ids, enum values, numbers, pseudonyms and
catalogue text. It never holds `Turn.text`, `Reply.text`, `Reply.lead` (acknowledgements can
quote the figures the user wrote: "You wrote 90 mg"), entities (their `text` is the user's words)
or suggestions. Caveats and notes are catalogue sentences built from lexicon labels; as a second
line of defence every word of one must be a word of the catalogue or the knowledge base, or it is
withheld (counted in `withheld`), so a future change that put user words there cannot leak them.
"""
from __future__ import annotations

import re
import secrets
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Dict, FrozenSet, List, Optional

from dialogues import catalogue
from dialogues.state import CASE_SLOTS, SUBJECT_SLOTS
from dialogues.types import Reply, Turn
from knowledge import KnowledgeBase
from knowledge.schema import CASE_SLOT_VALUES, Intent
from nlu.types import FALLBACK_INTENT

RECORD_VERSION = 1
TURN = "turn"
PURGE = "purge"
KNOWN_INTENTS = frozenset([i.value for i in Intent] + [FALLBACK_INTENT])
_PLATFORM = re.compile(r"^[a-z][a-z0-9_-]{0,15}$")
_WORD = re.compile(r"[^\W_]+")
_SHARED_CAVEAT = catalogue.for_all_statements("")


def new_record_id() -> str:
    return secrets.token_hex(8)


def iso_time(at: float) -> str:
    return datetime.fromtimestamp(at, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_time(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def _words(text: str) -> List[str]:
    return _WORD.findall(text.casefold())


def vocabulary(kb: KnowledgeBase) -> FrozenSet[str]:
    """Every word carebot can say that is not the user's: the catalogue's source and the KB's text."""
    texts: List[str] = [Path(catalogue.__file__).read_text(encoding="utf-8")]
    for s in kb.statements:
        texts.extend([s.id, s.text, s.citation, s.source.title, *s.mentions])
    for entry in kb.lexicon.entries.values():
        texts.extend([entry.id, entry.label, *entry.synonyms])
    return frozenset(word for text in texts for word in _words(text))


class RecordBuilder:
    """Turns a (Turn, Reply) into a record body: everything but `seq`, `prev` and `hash`."""

    def __init__(self, kb: KnowledgeBase, kb_version: str, model_fingerprint: str, carebot_version: str,
                 pseudonym: Callable[[str, Optional[str]], Optional[str]], key_id: str) -> None:
        self.kb_version = kb_version
        self.model = model_fingerprint
        self.carebot = carebot_version
        self.pseudonym = pseudonym
        self.key_id = key_id
        self._lexicon_ids = frozenset(kb.lexicon.entries)
        self._vocabulary = vocabulary(kb)
        self.catalogue_text = lru_cache(maxsize=2048)(self._catalogue_text)

    def _catalogue_text(self, text: str) -> bool:
        return all(word in self._vocabulary for word in _words(text))

    def turn(self, turn: Turn, reply: Reply, latency_ms: float, at: float,
             record_id: Optional[str] = None) -> Dict[str, Any]:
        withheld = 0
        # each caveat once, with the statements it was shown under (a shared one is under all)
        caveats: Dict[str, List[str]] = {}
        shared = [line[len(_SHARED_CAVEAT):] for line in reply.lead if line.startswith(_SHARED_CAVEAT)]
        for statement in reply.statements:
            for caveat in ([statement.caveat] if statement.caveat else []) + shared:
                if self.catalogue_text(caveat):
                    caveats.setdefault(caveat, []).append(statement.id)
                else:
                    withheld += 1
        notes: List[str] = []
        for note in reply.notes:
            if self.catalogue_text(note):
                notes.append(note)
            else:
                withheld += 1
        intent = reply.intent.name if reply.intent is not None else None
        body: Dict[str, Any] = {
            "v": RECORD_VERSION,
            "type": TURN,
            "id": record_id or new_record_id(),
            "at": iso_time(at),
            "platform": turn.platform if _PLATFORM.match(turn.platform or "") else "other",
            "conversation": self.pseudonym("conversation", turn.conversation_id),
            "user": self.pseudonym("user", turn.user),
            "key_id": self.key_id,
            "kind": reply.kind.value,
            "intent": intent if intent is None or intent in KNOWN_INTENTS else "other",
            "confidence": round(float(reply.confidence), 4),
            "statements": [s.id for s in reply.statements],
            "caveats": [{"text": text, "statements": ids} for text, ids in caveats.items()],
            "notes": notes,
            "facts": self.facts(reply.slots),
            "kb_version": self.kb_version,
            "model": self.model,
            "carebot": self.carebot,
            "latency_ms": round(float(latency_ms), 1),
        }
        if withheld:
            body["withheld"] = withheld
        return body

    def facts(self, slots: Dict[str, Optional[str]]) -> Dict[str, str]:
        """Case facts and subjects as canonical values only: a lexicon id or a declared slot value."""
        kept: Dict[str, str] = {}
        for slot, value in slots.items():
            if not value:
                continue
            if slot in CASE_SLOTS and value in CASE_SLOT_VALUES.get(slot, ()):
                kept[slot] = value
            elif slot in SUBJECT_SLOTS and value in self._lexicon_ids:
                kept[slot] = value
        return kept


def purge_body(*, purged_through: int, purged: int, first_kept_seq: int, first_kept_prev: str,
               cutoff: float, retention_days: float, carebot_version: str, at: float) -> Dict[str, Any]:
    """The anchor a purge leaves on the chain: which records went, and the link the first kept one
    has to the last removed one, so the rest still verifies (see audit.verify)."""
    return {
        "v": RECORD_VERSION,
        "type": PURGE,
        "id": new_record_id(),
        "at": iso_time(at),
        "purged_through": purged_through,
        "purged": purged,
        "first_kept_seq": first_kept_seq,
        "first_kept_prev": first_kept_prev,
        "cutoff": iso_time(cutoff),
        "retention_days": retention_days,
        "carebot": carebot_version,
    }

