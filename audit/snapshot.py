"""The knowledge base's version and its content-addressed snapshot.

The version is the SHA-256 of the canonical JSON of what the process loaded: every statement
(text, source, citation, topics, entities, conditions, mentions) and the lexicon. It is computed
from the validated knowledge base, not from the files, so it is right for a knowledge base loaded
from elsewhere (CAREBOT_KNOWLEDGE_DIR) and cannot disagree with what answered if the files change
on disk while the process runs.

The snapshot is that same JSON, stored once per version under the version: it is its own checksum
(a snapshot whose content does not hash to its key was altered), and it keeps an old version's
statements addressable after the knowledge base changed.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from audit.chain import canonical_json
from knowledge import KnowledgeBase


def kb_payload(kb: KnowledgeBase) -> Dict[str, Any]:
    return {
        "statements": kb.export(),
        "lexicon": json.loads(kb.lexicon.data.json()),
    }


def payload_version(payload_json: str) -> str:
    return hashlib.sha256(payload_json.encode("utf-8")).hexdigest()


def kb_snapshot(kb: KnowledgeBase) -> "Snapshot":
    text = canonical_json(kb_payload(kb))
    return Snapshot(version=payload_version(text), payload=text)


@dataclass(frozen=True)
class Snapshot:
    version: str
    payload: str  # canonical JSON of kb_payload

    def intact(self) -> bool:
        return payload_version(self.payload) == self.version

    def statements(self) -> Dict[str, Dict[str, Any]]:
        """Statement id -> its stored fields."""
        return {s["id"]: s for s in json.loads(self.payload)["statements"]}


@dataclass(frozen=True)
class ShownStatement:
    """A statement as it was quoted, reconstructed from a snapshot."""

    id: str
    text: Optional[str]  # None: the id is not in that version (the record or the snapshot is wrong)
    source_kind: str = ""
    source_title: str = ""
    citation: str = ""
    mentions: List[str] = field(default_factory=list)


def reconstruct(snapshot: Snapshot, statement_ids: List[str]) -> List[ShownStatement]:
    by_id = snapshot.statements()
    shown: List[ShownStatement] = []
    for sid in statement_ids:
        s = by_id.get(sid)
        if s is None:
            shown.append(ShownStatement(id=sid, text=None))
            continue
        shown.append(ShownStatement(id=sid, text=s["text"], source_kind=s["source"]["kind"],
                                    source_title=s["source"]["title"], citation=s["citation"],
                                    mentions=list(s.get("mentions", []))))
    return shown
