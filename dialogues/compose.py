"""Build a `Reply` from chosen statements: quoting, grouping, caveats, and the plain text.

Statements are quoted verbatim and grouped by source kind in the order the seeds present
evidence. Statements the case facts rule out are left out with a note saying why; statements
whose conditions are not known yet are kept with a caveat saying what they depend on.
"""
from __future__ import annotations

from typing import Callable, Dict, List, Optional, Sequence, Tuple

from dialogues import catalogue
from dialogues.types import CitedStatement, Reply, ReplyKind, SourceRef
from knowledge import Applicability, Match, SourceKind
from knowledge.query import Block, BlockReason
from knowledge.schema import SOURCE_HEADINGS
from nlu.types import Entity, IntentScore


Labeler = Callable[[str], str]


def _known(facts: Optional[Dict[str, Optional[str]]]) -> Dict[str, str]:
    return {k: v for k, v in (facts or {}).items() if v}


def cite(match: Match, facts: Optional[Dict[str, Optional[str]]] = None, label: Labeler = str) -> CitedStatement:
    s = match.statement
    known = _known(facts)
    parts: List[str] = []
    if match.applicability is Applicability.depends:
        parts.append(catalogue.caveat_depends(match.unmet))
    elif match.applicability is Applicability.contradicted and match.unmet:
        parts.append(catalogue.caveat_contradicted(match.unmet, known))
    parts.extend(block_caveat(block, known, label) for block in match.blocked)
    # construct(): every field comes from a statement validated when the knowledge base loaded
    return CitedStatement.construct(
        id=s.id,
        text=s.text,
        source=SourceRef.construct(kind=s.source.kind.value, title=s.source.title),
        citation=s.citation,
        mentions=list(s.mentions),
        caveat=" ".join(parts) or None,
    )


def shared_caveat(cited: List[CitedStatement]) -> Tuple[List[CitedStatement], Optional[str]]:
    """When every quoted statement carries the same caveat, say it once ("lanreotide dose?" with the case's
    differentiation unknown would otherwise repeat one line under each of four statements)."""
    caveats = {c.caveat for c in cited}
    if len(cited) < 2 or len(caveats) != 1 or None in caveats:
        return cited, None
    return [c.copy(update={"caveat": None}) for c in cited], caveats.pop()


def block_caveat(block: Block, facts: Dict[str, str], label: Labeler) -> str:
    if block.reason is BlockReason.excluded:
        return catalogue.caveat_excluded(label(block.entity))
    return catalogue.caveat_blocked(label(block.entity), block.needs, facts)


def split_by_facts(matches: Sequence[Match], facts: Dict[str, Optional[str]], keep_contradicted: bool = False,
                   label: Labeler = str) -> Tuple[List[Match], List[str], List[str]]:
    """(statements to show, notes on what was left out, labels of the facts that decided).

    A direct question about one subject keeps ruled-out statements (quoted with a caveat), so
    "everolimus dose?" in stable disease shows the dose line and why it does not apply; an
    overview leaves them out with a note.
    """
    known = _known(facts)
    shown = [m for m in matches if keep_contradicted or m.applicability is not Applicability.contradicted]
    notes: List[str] = []
    # every treatment the conversation excluded that these statements name, shown with a caveat or not
    excluded: List[str] = list(dict.fromkeys(
        label(b.entity) for m in matches for b in m.blocked if b.reason is BlockReason.excluded))
    for m in matches:
        if m.applicability is not Applicability.contradicted or keep_contradicted:
            continue
        if m.unmet:
            note = catalogue.left_out(m.unmet, known)
            if note not in notes:
                notes.append(note)
        for block in m.blocked:
            if block.reason is BlockReason.excluded:
                continue
            note = catalogue.left_out_blocked(label(block.entity), block.needs, known)
            if note not in notes:
                notes.append(note)
    if excluded:
        notes.append(catalogue.left_out_excluded(excluded))
    used: List[str] = []

    def use(slot: str) -> None:
        fact = catalogue.fact_label(slot, facts.get(slot) or "")
        if facts.get(slot) and fact not in used:
            used.append(fact)

    for m in shown:
        if m.applicability is Applicability.applies:
            for slot in m.statement.conditions:
                use(slot.value)
    for m in matches:
        if m.applicability is Applicability.contradicted:
            for slot in m.unmet:
                use(slot)
        for block in m.blocked:
            for slot in block.needs:
                use(slot)
    return shown, notes, used


def cited_as(statement: CitedStatement) -> str:
    """The citation, then what the sentence itself names: "Guidelines, evidence brief 1, ref. 1; mentions: ..."."""
    return statement.citation + (catalogue.mentions(statement.mentions) if statement.mentions else "")


def grouped_by_source(statements: Sequence[CitedStatement]) -> List[Tuple[str, str, List[CitedStatement]]]:
    """(source kind, heading, statements) in SOURCE_HEADINGS order, kinds it does not know after
    them under a heading made from the kind: what every platform's renderer groups by."""
    headings = {kind.value: heading for kind, heading in SOURCE_HEADINGS.items()}
    order = list(headings)
    groups: Dict[str, List[CitedStatement]] = {}
    for statement in statements:
        kind = statement.source.kind
        if kind not in order:
            order.append(kind)
        groups.setdefault(kind, []).append(statement)
    return [
        (kind, headings.get(kind) or kind.replace("_", " ").capitalize() or "Sources", groups[kind])
        for kind in order
        if kind in groups
    ]


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
            lines.append(f"  \u201c{s.text}\u201d ({cited_as(s)})")
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
