"""Adaptive Cards 1.5 for a core `Reply`: layout only, no clinical words of its own.

Every clinical sentence a reply holds is a knowledge statement; this module quotes each one
verbatim with its citation and never rewrites, shortens or drops one. The layout mirrors the
Slack renderer (`bot/slack/blocks.py`) so both edges show the same answer:

- lead lines, then one Container per source group (guidelines, FDA drug label, research), each
  statement in its own emphasised container followed by its citation (numbered like the citation
  claims, below) and caveat, then notes;
- helpful / not-helpful buttons (`Action.Execute`, so the click arrives as an `adaptiveCard/action`
  invoke and the card is replaced in place by the invoke's response: a thanks line, or the
  optional reason menu, a fixed list, never a free-text box);
- the safety line at the bottom of every card, so no part of an answer travels without it;
- follow-up suggestions as card actions (`messageBack`: the question appears in the chat as the
  user's own message and reaches carebot as a message, in channels too);
- `fallbackText` with the reply's plain text, for clients that cannot show cards, and the activity
  marked as AI-generated content with its citations, the way Teams formats AI bot messages.

All text from the reply or a user goes into `TextRun`s, which Adaptive Cards never read as
markdown: a statement starting with "1." or holding "*" shows exactly as written.

Teams refuses messages over about 28 KB, so a long answer becomes several cards, split at
statement boundaries (never inside a statement unless one statement alone exceeds a card).
The functions are pure (no I/O) so they can be unit-tested on their own.
"""
from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Dict, List, Optional, Sequence, Tuple

from bot.edge.messages import ASK_REASON, REASON_LABELS, THANKS
from dialogues.compose import cited_as, grouped_by_source
from dialogues.store import FEEDBACK_REASONS
from dialogues.types import CitedStatement, Reply

Element = Dict[str, Any]
Card = Dict[str, Any]

CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
CARD_VERSION = "1.5"
CARD_SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"

FEEDBACK_ID = "carebot-feedback"  # the element the feedback invoke replaces
VERB_HELPFUL = "carebot.feedback.helpful"
VERB_NOT_HELPFUL = "carebot.feedback.not_helpful"
VERB_REASON = "carebot.feedback.reason"
FEEDBACK_VERBS = (VERB_HELPFUL, VERB_NOT_HELPFUL, VERB_REASON)
SUGGESTION_MARK = "carebot.suggestion"

# Limits: Teams rejects a message above ~28 KB; the card gets most of it, the AI entity the rest.
MAX_CARD_BYTES = 20_000
MAX_RUN_CHARS = 4_000  # a statement longer than this (none is) is split over several runs
MAX_SUGGESTIONS = 6  # Teams shows at most six card actions
MAX_BUTTON_TITLE = 60
MAX_CITATIONS = 20  # Teams shows at most 20 citations a message
MAX_CITATION_NAME = 80
MAX_CITATION_ABSTRACT = 160


class FeedbackState(str, Enum):
    open = "open"  # helpful / not helpful buttons
    ask_reason = "ask_reason"  # after "not helpful": the optional reason menu
    thanked = "thanked"


@dataclass(frozen=True)
class FeedbackRef:
    """What a feedback button carries back: the conversation, the statements it rates, the audit
    record of the answer, the kept card it updates, and (on the reason menu) the reason."""

    conversation_id: str
    statement_ids: Tuple[str, ...]
    audit_id: Optional[str] = None
    card: Optional[str] = None  # the token the card is kept under (see bot/teams/kept.py)
    reason: Optional[str] = None

    def to_data(self) -> Dict[str, Any]:
        data: Dict[str, Any] = {"c": self.conversation_id, "s": list(self.statement_ids)}
        for key, value in (("a", self.audit_id), ("k", self.card), ("r", self.reason)):
            if value:
                data[key] = value
        return data

    @classmethod
    def from_data(cls, data: Any) -> Optional["FeedbackRef"]:
        """None for anything that is not data this module wrote (an invoke is user-controlled)."""
        if not isinstance(data, dict):
            return None
        conversation_id, ids = data.get("c"), data.get("s")
        if not isinstance(conversation_id, str) or not conversation_id or not isinstance(ids, list):
            return None
        if not all(isinstance(i, str) for i in ids):
            return None
        extras = [data.get(key) for key in ("a", "k", "r")]
        if not all(value is None or isinstance(value, str) for value in extras):
            return None
        audit_id, card, reason = extras
        if reason is not None and reason not in FEEDBACK_REASONS:
            return None
        return cls(conversation_id, tuple(ids), audit_id, card, reason)


@dataclass
class Part:
    """One message of an answer: its card and what the activity around it needs."""

    card: Card
    citations: List[Tuple[int, CitedStatement]] = field(default_factory=list)
    summary: str = ""


# ---- answers -----------------------------------------------------------------------------------


def render_answer(reply: Reply, feedback: Optional[FeedbackRef] = None, *, asked: Optional[str] = None,
                  suggestions: bool = True, max_bytes: int = MAX_CARD_BYTES) -> List[Part]:
    """Lay out `reply` as one or more cards (several only when it exceeds a card).

    feedback: when set (and the reply quotes statements), the last card gets the feedback buttons.
    asked: the question, shown first when the asker's own message is not visible.
    """
    numbers = _citation_numbers(reply.statements)
    units: List[_Unit] = []
    if asked and asked.strip():
        units.append(_Unit([_text("Question: " + " ".join(asked.split()), subtle=True)], ""))
    lead = [line for line in reply.lead if line and line.strip()]
    if lead:
        units.append(_Unit([_text(line) for line in lead], "\n".join(lead)))
    tagged: set = set()  # element ids must be unique in a card: tag each statement once
    for kind, heading, statements in grouped_by_source(reply.statements):
        for statement in statements:
            units.extend(_statement_units(kind, heading, statement, numbers.get(cited_as(statement)), tagged))
    notes = [line for line in reply.notes if line and line.strip()]
    if notes:
        units.append(_Unit([_text(line) for line in notes], "\n".join(notes)))
    if not units:  # a reply whose parts are empty still has its text; never post an empty card
        units.append(_Unit([_text(reply.text.strip() or "…")], reply.text.strip()))

    tail: List[Element] = []
    if feedback is not None and reply.statements:
        tail.append(feedback_element(FeedbackState.open, feedback))
    actions = _suggestion_actions(reply.suggestions) if suggestions else []
    safety = [_text(reply.safety, subtle=True, small=True)] if reply.safety else []

    fixed = _size(tail) + _size(actions) + 2 * _size(safety) + 600
    groups = _pack(units, max(2_000, max_bytes - fixed))
    parts: List[Part] = []
    for number, group in enumerate(groups, start=1):
        last = number == len(groups)
        body = _body(group) + (tail if last else []) + safety
        plain = _plain_text(group)
        if reply.safety:
            plain = f"{plain}\n\n{reply.safety}" if plain else reply.safety
        if len(groups) > 1:
            plain = f"(part {number} of {len(groups)})\n{plain}"
        cited: Dict[int, CitedStatement] = {}
        for unit in group:
            for citation_number, statement in unit.citations:
                cited.setdefault(citation_number, statement)
        parts.append(Part(
            card=_card(body, actions if last else [], plain),
            citations=sorted(cited.items()),
            summary=_summary(lead[0] if lead else reply.text, number, len(groups)),
        ))
    return parts


def feedback_element(state: FeedbackState, ref: FeedbackRef) -> Element:
    """The feedback area in `state`; always the element with id FEEDBACK_ID."""
    if state is FeedbackState.thanked:
        return {"type": "RichTextBlock", "id": FEEDBACK_ID, "inlines": [_run(THANKS, subtle=True)]}
    if state is FeedbackState.ask_reason:
        reasons = [
            _execute(label, VERB_REASON, FeedbackRef(ref.conversation_id, ref.statement_ids, ref.audit_id,
                                                     ref.card, reason))
            for reason, label in REASON_LABELS.items()
            if reason in FEEDBACK_REASONS
        ]
        return {"type": "Container", "id": FEEDBACK_ID, "items": [
            _text(ASK_REASON), {"type": "ActionSet", "actions": reasons}]}
    return {"type": "ActionSet", "id": FEEDBACK_ID, "actions": [
        _execute("\U0001F44D Helpful", VERB_HELPFUL, ref),
        _execute("\U0001F44E Not helpful", VERB_NOT_HELPFUL, ref),
    ]}


def with_feedback(card: Card, state: FeedbackState, ref: FeedbackRef) -> Optional[Card]:
    """`card` with its feedback area replaced; None when it has none (not a card of ours)."""
    updated = copy.deepcopy(card)
    if not _replace(updated.get("body") or [], FEEDBACK_ID, feedback_element(state, ref)):
        return None
    return updated


def feedback_ref_in(card: Card) -> Optional[FeedbackRef]:
    """The reference the card's feedback buttons carry (tests, and replays of posted cards)."""
    for element in _walk(card.get("body") or []):
        for action in element.get("actions") or ():
            if action.get("type") == "Action.Execute" and action.get("verb") in FEEDBACK_VERBS:
                return FeedbackRef.from_data(action.get("data"))
    return None


def answer_activity(part: Part) -> Dict[str, Any]:
    """The message activity for one card (addressing is added by the poster)."""
    activity: Dict[str, Any] = {
        "type": "message",
        "summary": part.summary,
        "attachments": [{"contentType": CARD_CONTENT_TYPE, "content": part.card}],
        "entities": [ai_entity(part.citations)],
    }
    return activity


def ai_entity(citations: Sequence[Tuple[int, CitedStatement]]) -> Dict[str, Any]:
    """Teams' AI-generated-content label, with one citation claim per numbered source; the card
    shows the same numbers before each citation. Names and abstracts are bibliographic (title,
    citation), shortened to Teams' limits; the statements themselves are only in the card."""
    entity: Dict[str, Any] = {
        "type": "https://schema.org/Message",
        "@type": "Message",
        "@context": "https://schema.org",
        "@id": "",
        "additionalType": ["AIGeneratedContent"],
    }
    claims = [
        {
            "@type": "Claim",
            "position": number,
            "appearance": {
                "@type": "DigitalDocument",
                "name": _fit(statement.source.title or statement.citation, MAX_CITATION_NAME),
                "abstract": _fit(cited_as(statement), MAX_CITATION_ABSTRACT),
            },
        }
        for number, statement in citations
    ]
    if claims:
        entity["citation"] = claims
    return entity


def notice_activity(text: str) -> Dict[str, Any]:
    """A line of carebot's own (apology, greeting): plain text, so nothing in it is markup."""
    return {"type": "message", "text": text, "textFormat": "plain"}


def statement_runs(card: Card) -> List[str]:
    """Every TextRun text in the card, in order (for tests and checks of verbatim quoting)."""
    return [inline.get("text", "") for element in _walk(card.get("body") or [])
            for inline in element.get("inlines") or () if isinstance(inline, dict)]


# ---- layout -------------------------------------------------------------------------------------


@dataclass
class _Unit:
    """Elements that stay in one card, with their plain text and the citations they show.
    `group` is set for statement units: consecutive units of one group share a Container."""

    elements: List[Element]
    plain: str
    group: Optional[Tuple[str, str]] = None
    citations: List[Tuple[int, CitedStatement]] = field(default_factory=list)


def _statement_units(kind: str, heading: str, statement: CitedStatement, number: Optional[int],
                     tagged: set) -> List[_Unit]:
    chunks = _chunks(statement.text, MAX_RUN_CHARS)
    citation = f"[{number}] {cited_as(statement)}" if number else cited_as(statement)
    details = [_text(f"Source: {citation}", subtle=True, small=True)]
    if statement.caveat:
        details.append(_text(statement.caveat, subtle=True, small=True, italic=True))
    plain = f"\u201c{statement.text}\u201d ({cited_as(statement)})" + (f"\n{statement.caveat}" if statement.caveat else "")
    cites = [(number, statement)] if number else []
    if len(chunks) == 1:
        quote: Element = {"type": "Container", "style": "emphasis", "items": [_text(statement.text)] + details}
        if statement.id not in tagged:
            quote["id"] = f"statement:{statement.id}"
            tagged.add(statement.id)
        return [_Unit([quote], plain, (kind, heading), cites)]
    # only a statement longer than a whole card: its pieces, verbatim, in order, each in a quote
    units = []
    for index, chunk in enumerate(chunks):
        items = [_text(chunk)] + (details if index == len(chunks) - 1 else [])
        units.append(_Unit([{"type": "Container", "style": "emphasis", "items": items}],
                           plain if index == len(chunks) - 1 else "", (kind, heading), cites))
    return units


def _body(units: List[_Unit]) -> List[Element]:
    """Units as card elements, consecutive statements of one source group in one Container."""
    body: List[Element] = []
    current: Optional[Tuple[str, str]] = None
    for unit in units:
        if unit.group is None:
            current = None
            body.extend(unit.elements)
            continue
        if unit.group != current:
            current = unit.group
            kind, heading = unit.group
            body.append({"type": "Container", "id": f"source:{kind}", "spacing": "Medium",
                         "items": [_text(heading, bold=True)]})
        body[-1]["items"].extend(unit.elements)
    return body


def _plain_text(units: List[_Unit]) -> str:
    """The units as plain text, laid out as the core's own plain reply (`compose.plain_text`):
    a heading per source group, each quote with its citation, indented."""
    blocks: List[str] = []
    current: Optional[Tuple[str, str]] = None
    for unit in units:
        if unit.group is None:
            current = None
            if unit.plain:
                blocks.append(unit.plain)
            continue
        if unit.group != current:
            current = unit.group
            blocks.append(f"{unit.group[1]}:")
        if unit.plain:
            blocks[-1] += "\n  " + unit.plain.replace("\n", "\n    ")
    return "\n\n".join(blocks)


def _pack(units: List[_Unit], budget: int) -> List[List[_Unit]]:
    """Greedy: fill each card with whole units (their elements and their share of fallbackText)."""
    groups: List[List[_Unit]] = [[]]
    used = 0
    for unit in units:
        size = _size(unit.elements) + len(json.dumps(unit.plain)) + 200  # + a group Container
        if groups[-1] and used + size > budget:
            groups.append([])
            used = 0
        groups[-1].append(unit)
        used += size
    return groups




def _citation_numbers(statements: Sequence[CitedStatement]) -> Dict[str, int]:
    """One number per distinct citation, in the order the card shows them (grouped)."""
    numbers: Dict[str, int] = {}
    for _, _, group in grouped_by_source(statements):
        for statement in group:
            key = cited_as(statement)
            if key not in numbers and len(numbers) < MAX_CITATIONS:
                numbers[key] = len(numbers) + 1
    return numbers


def _suggestion_actions(questions: Sequence[str]) -> List[Element]:
    actions = []
    for question in questions:
        value = " ".join(question.split())
        if not value:
            continue
        actions.append({
            "type": "Action.Submit",
            "title": _fit(value, MAX_BUTTON_TITLE),
            "data": {"msteams": {"type": "messageBack", "text": value, "displayText": value},
                     "carebot": SUGGESTION_MARK},
        })
        if len(actions) == MAX_SUGGESTIONS:
            break
    return actions


def _card(body: List[Element], actions: List[Element], fallback: str) -> Card:
    card: Card = {
        "type": "AdaptiveCard",
        "$schema": CARD_SCHEMA,
        "version": CARD_VERSION,
        "msteams": {"width": "Full"},
        "fallbackText": fallback,
        "body": body,
    }
    if actions:
        card["actions"] = actions
    return card


def _execute(title: str, verb: str, ref: FeedbackRef) -> Element:
    return {"type": "Action.Execute", "title": title, "verb": verb, "data": ref.to_data()}


def _text(text: str, *, subtle: bool = False, small: bool = False, bold: bool = False,
          italic: bool = False) -> Element:
    return {"type": "RichTextBlock", "inlines": [_run(text, subtle=subtle, small=small, bold=bold, italic=italic)]}


def _run(text: str, *, subtle: bool = False, small: bool = False, bold: bool = False,
         italic: bool = False) -> Element:
    run: Element = {"type": "TextRun", "text": text}
    if subtle:
        run["isSubtle"] = True
    if small:
        run["size"] = "Small"
    if bold:
        run["weight"] = "Bolder"
    if italic:
        run["italic"] = True
    return run


def _replace(elements: List[Element], element_id: str, replacement: Element) -> bool:
    for index, element in enumerate(elements):
        if element.get("id") == element_id:
            elements[index] = replacement
            return True
        if _replace(element.get("items") or [], element_id, replacement):
            return True
    return False


def _walk(elements: List[Element]):
    for element in elements:
        yield element
        yield from _walk(element.get("items") or [])


def _size(elements: List[Element]) -> int:
    return len(json.dumps(elements, ensure_ascii=False).encode("utf-8"))


def _summary(text: str, number: int, total: int) -> str:
    first = next((line for line in text.splitlines() if line.strip()), "carebot")
    first = _fit(first.strip(), 120)
    return first if total == 1 else f"{first} (part {number} of {total})"


def _fit(text: str, limit: int) -> str:
    """Shortened, with an ellipsis, to `limit`: labels and citation names only, never statements."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "\u2026"


def _chunks(text: str, limit: int) -> List[str]:
    """Pieces of at most `limit` characters that concatenate back to `text` exactly (cut after a
    space where there is one)."""
    pieces = []
    rest = text
    while len(rest) > limit:
        cut = rest.rfind(" ", 0, limit)
        cut = cut + 1 if cut > 0 else limit
        pieces.append(rest[:cut])
        rest = rest[cut:]
    pieces.append(rest)
    return pieces
