"""Build a `Reply` from chosen statements: quoting, grouping, caveats, and the plain text.

Statements are quoted verbatim and grouped by source kind in the order the seeds present
evidence. Statements the case facts rule out are left out with a note saying why; statements
whose conditions are not known yet are kept with a caveat saying what they depend on.
"""
from __future__ import annotations

from typing import Dict, List, Optional, Sequence, Tuple

from dialogues import catalogue
from dialogues.types import CitedStatement, Reply, ReplyKind, SourceRef
from knowledge import Applicability, Match, SourceKind
from knowledge.schema import SOURCE_HEADINGS
from nlu.types import Entity, IntentScore


def cite(match: Match, facts: Optional[Dict[str, Optional[str]]] = None) -> CitedStatement:
    s = match.statement
    caveat = None
    if match.applicability is Applicability.depends:
        caveat = catalogue.caveat_depends(match.unmet)
    elif match.applicability is Applicability.contradicted:
        caveat = catalogue.caveat_contradicted(match.unmet, {k: v for k, v in (facts or {}).items() if v})
    # construct(): every field comes from a statement validated when the knowledge base loaded
    return CitedStatement.construct(
        id=s.id,
        text=s.text,
        source=SourceRef.construct(kind=s.source.kind.value, title=s.source.title),
        citation=s.citation,
        caveat=caveat,
    )


def split_by_facts(matches: Sequence[Match], facts: Dict[str, Optional[str]], keep_contradicted: bool = False
                   ) -> Tuple[List[Match], List[str], List[str]]:
    """(statements to show, notes on what was left out, labels of the facts that decided).

    A direct question about one subject keeps ruled-out statements (quoted with a caveat), so
    "everolimus dose?" in stable disease shows the dose line and why it does not apply; an
    overview leaves them out with a note.
    """
    shown = [m for m in matches if keep_contradicted or m.applicability is not Applicability.contradicted]
    notes: List[str] = []
    seen = set()
    for m in matches:
        if m.applicability is Applicability.contradicted and not keep_contradicted:
            key = tuple(sorted(m.unmet.items()))
            if key not in seen:
                seen.add(key)
                notes.append(catalogue.left_out(m.unmet, {k: v for k, v in facts.items() if v}))
    used = []
    for m in shown:
        if m.applicability is Applicability.applies:
            for slot in m.statement.conditions:
                label = catalogue.fact_label(slot.value, facts[slot.value] or "")
                if label not in used:
                    used.append(label)
    for m in matches:
        if m.applicability is Applicability.contradicted:
            for slot in m.unmet:
                label = catalogue.fact_label(slot, facts[slot] or "")
                if label not in used:
                    used.append(label)
    return shown, notes, used


def plain_text(reply_lead: Sequence[str], statements: Sequence[CitedStatement], notes: Sequence[str],
               safety: Optional[str]) -> str:
    """The reply as plain text: what a terminal prints and a notification shows."""
    parts: List[str] = []
    if reply_lead:
        parts.append("\n".join(reply_lead))
    for kind in SourceKind:
        group = [s for s in statements if s.source.kind == kind.value]
        if not group:
            continue
        lines = [f"{SOURCE_HEADINGS[kind]}:"]
        for s in group:
            lines.append(f"  \u201c{s.text}\u201d ({s.citation})")
            if s.caveat:
                lines.append(f"    {s.caveat}")
        parts.append("\n".join(lines))
    if notes:
        parts.append("\n".join(notes))
    if safety:
        parts.append(safety)
    return "\n\n".join(parts)


def build(
    kind: ReplyKind,
    *,
    intent: Optional[IntentScore],
    entities: Sequence[Entity],
    slots: Dict[str, Optional[str]],
    lead: Sequence[str] = (),
    statements: Sequence[CitedStatement] = (),
    notes: Sequence[str] = (),
    suggestions: Sequence[str] = (),
) -> Reply:
    safety = catalogue.SAFETY_LINE if statements else None
    # construct(): the parts are typed already (parse result, cited statements, catalogue text)
    return Reply.construct(
        kind=kind,
        intent=intent,
        confidence=intent.confidence if intent else 0.0,
        entities=list(entities),
        slots=dict(slots),
        statements=list(statements),
        text=plain_text(lead, statements, notes, safety),
        lead=list(lead),
        notes=list(notes),
        safety=safety,
        suggestions=list(suggestions),
    )
