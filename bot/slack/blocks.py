"""Block Kit for a core `Reply`: layout only, no clinical words of its own.

Every clinical sentence a reply holds is a knowledge statement; this module quotes each one
verbatim with its citation and never rewrites, shortens or drops one. It only decides where the
words go:

- lead lines, then one group per source kind (guidelines, FDA drug label, research), each
  statement a `>` quote followed by a context line with its citation (and caveat), then notes;
- the safety line on every message, so no part of an answer travels without it;
- follow-up suggestions as buttons, an optional "share" button, and helpful / not-helpful buttons
  whose value carries the conversation id and the statement ids;
- a plain `text` on every message, for notifications and clients that cannot show blocks.

Slack limits (50 blocks a message, 3,000 characters a section) are met by splitting an answer
into several messages at statement boundaries, never inside a statement. Everything that came
from a user or from the reply is escaped (`&`, `<`, `>`), so `<!channel>` or `<@U…>` typed by a
user can never become a live mention in what carebot posts.

The function is pure (no I/O, no Slack client) so it can be unit-tested on its own.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from typing import Any, Dict, Iterable, List, Optional, Sequence, Set

from bot.edge.messages import ASK_REASON, REASON_LABELS
from dialogues.compose import cited_as, grouped_by_source
from dialogues.types import CitedStatement, Reply

Block = Dict[str, Any]

# action_ids the Slack app listens for. Suggestions are numbered because Slack requires
# action_ids to be unique within a block.
ACTION_SUGGESTION_PREFIX = "carebot_suggestion"
ACTION_HELPFUL = "carebot_feedback_helpful"
ACTION_NOT_HELPFUL = "carebot_feedback_not_helpful"
ACTION_FEEDBACK_REASON = "carebot_feedback_reason"  # + "_<reason>": action ids are unique in a block
ACTION_SHARE = "carebot_share"
BLOCK_SUGGESTIONS = "carebot_suggestions"
BLOCK_FEEDBACK = "carebot_feedback"
BLOCK_STATEMENT_PREFIX = "statement:"  # the first quote block of each statement: statement:<id>
METADATA_EVENT = "carebot_reply"

# Slack's published limits (Block Kit reference).
MAX_BLOCKS = 50
MAX_TEXT = 3000  # a section's text, a context element's text
MAX_HEADER = 150
MAX_BUTTON_LABEL = 75
MAX_BUTTON_VALUE = 2000
MAX_CONTEXT_ELEMENTS = 10
MAX_ACTIONS_ELEMENTS = 25
MAX_MESSAGE_TEXT = 40000  # Slack truncates `text` beyond this

_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")


@dataclass(frozen=True)
class Limits:
    """Per-message limits; the defaults are Slack's. Tests shrink them to exercise splitting."""

    max_blocks: int = MAX_BLOCKS
    max_text: int = MAX_TEXT

    def __post_init__(self) -> None:
        if self.max_blocks < 4 or self.max_text < 20:
            raise ValueError("limits too small to lay out an answer")


SLACK_LIMITS = Limits()


@dataclass(frozen=True)
class SlackMessage:
    """One message to post: the notification/fallback text, its blocks, and Slack message
    metadata (machine-readable: the reply kind and statement ids, for replays and audits)."""

    text: str
    blocks: List[Block] = field(default_factory=list)
    metadata: Optional[Dict[str, Any]] = None

    def payload(self) -> Dict[str, Any]:
        body: Dict[str, Any] = {"text": self.text, "blocks": self.blocks}
        if self.metadata:
            body["metadata"] = self.metadata
        return body


@dataclass(frozen=True)
class FeedbackValue:
    """What a feedback button carries back: the conversation, the statements it rated, the audit
    record of the answer, and (on the reason menu) the reason picked."""

    conversation_id: str
    statement_ids: List[str]
    audit_id: Optional[str] = None
    reason: Optional[str] = None

    def encode(self, limit: int = MAX_BUTTON_VALUE) -> str:
        ids = list(self.statement_ids)
        extra = {k: v for k, v in (("a", self.audit_id), ("r", self.reason)) if v}
        while True:
            value = json.dumps({"c": self.conversation_id, "s": ids, **extra}, separators=(",", ":"))
            if len(value) <= limit or not ids:
                return value
            ids.pop()  # only with dozens of statements; the conversation id still identifies it

    @classmethod
    def decode(cls, value: str) -> Optional["FeedbackValue"]:
        """None for anything that is not a value this module wrote."""
        try:
            data = json.loads(value)
        except (TypeError, ValueError):
            return None
        if not isinstance(data, dict):
            return None
        conversation_id, ids = data.get("c"), data.get("s")
        if not isinstance(conversation_id, str) or not conversation_id or not isinstance(ids, list):
            return None
        if not all(isinstance(i, str) for i in ids):
            return None
        audit_id, reason = data.get("a"), data.get("r")
        if not isinstance(audit_id, (str, type(None))) or not isinstance(reason, (str, type(None))):
            return None
        return cls(conversation_id=conversation_id, statement_ids=ids, audit_id=audit_id, reason=reason)


def render_reason_menu(value: FeedbackValue) -> SlackMessage:
    """After "not helpful": an optional reason from a fixed menu (never a free-text box)."""
    buttons = [
        {"type": "button", "action_id": f"{ACTION_FEEDBACK_REASON}_{reason}", "text": _plain(label),
         "value": replace(value, reason=reason).encode()}
        for reason, label in REASON_LABELS.items()
    ]
    return SlackMessage(
        text=ASK_REASON,
        blocks=[_section(escape(ASK_REASON)), {"type": "actions", "block_id": BLOCK_FEEDBACK, "elements": buttons}],
    )


def escape(text: str) -> str:
    """Escape Slack's three control characters; `<!here>` or `<@U1>` become inert text."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def render_reply(
    reply: Reply,
    conversation_id: str,
    *,
    asked: Optional[str] = None,
    shared_by: Optional[str] = None,
    share_value: Optional[str] = None,
    suggestions: bool = True,
    feedback: bool = True,
    limits: Limits = SLACK_LIMITS,
) -> List[SlackMessage]:
    """Lay out `reply` as one or more Slack messages (several only when it exceeds the limits).

    asked: the question, shown as a context line when the asker's own message is not visible
        (a slash command or a suggestion button).
    shared_by: Slack user id of whoever shared a private answer into the channel.
    share_value: when set, a "Share in channel" button carrying this value is added.
    suggestions / feedback: whether to add the follow-up and feedback buttons.
    Feedback and share buttons appear only on replies that quote statements.
    """
    body: List[List[Block]] = []  # units: blocks that must stay in one message
    preface = _preface(asked, shared_by, limits)
    if preface:
        body.append(preface)
    lead = _text_sections(reply.lead, limits)
    if lead:
        body.append(lead)
    tagged: Set[str] = set()  # block_ids must be unique in a message: tag each statement once
    for _, label, statements in grouped_by_source(reply.statements):
        header = {"type": "header", "text": _plain(label, MAX_HEADER)}
        for position, statement in enumerate(statements):
            unit = _statement_blocks(statement, limits)
            block_id = f"{BLOCK_STATEMENT_PREFIX}{statement.id}"
            if block_id not in tagged and len(block_id) <= 255:
                unit[0]["block_id"] = block_id
                tagged.add(block_id)
            body.append([header] + unit if position == 0 else unit)
    notes = _text_sections(reply.notes, limits)
    if notes:
        body.append(notes)
    if not lead and not reply.statements and not notes:
        # A reply whose parts are empty still has its text; never post an empty message.
        body.append(_text_sections([reply.text], limits) or [_section("…")])

    tail: List[Block] = []
    if suggestions:
        tail.extend(_suggestion_blocks(reply.suggestions))
    # Feedback rates statements and sharing spreads them: both only when there are statements.
    share_value = share_value if reply.statements else None
    actions = _feedback_elements(reply, conversation_id, share_value) if feedback and reply.statements else []
    if not actions and share_value:
        actions = [_share_button(share_value)]
    if actions:
        tail.append({"type": "actions", "block_id": BLOCK_FEEDBACK, "elements": actions})

    safety = [_context([reply.safety], limits)[0]] if reply.safety else []
    parts = _pack(body, tail, limits.max_blocks - len(safety))
    metadata = {
        "event_type": METADATA_EVENT,
        "event_payload": {"kind": reply.kind.value, "statement_ids": reply.statement_ids},
    }
    messages = []
    for number, blocks in enumerate(parts, start=1):
        text = _fallback_text(reply.text) if number == 1 else f"(continued, part {number} of {len(parts)})"
        messages.append(SlackMessage(text=text, blocks=blocks + safety, metadata=metadata))
    return messages


def render_notice(text: str) -> SlackMessage:
    """A short message of carebot's own (apology, refusal): one section, escaped."""
    return SlackMessage(text=_fallback_text(text), blocks=[_section(escape(text)[:MAX_TEXT])])


# ---- layout -------------------------------------------------------------------------------------




def _statement_blocks(statement: CitedStatement, limits: Limits) -> List[Block]:
    """The quote (one section, or several adjacent ones if the statement alone exceeds a
    section) followed by its citation and caveat in a context block."""
    # The quote marker is Slack markup, so it stays a raw ">"; the statement itself is escaped.
    quoted = [
        "> " + piece if piece else ">"
        for line in escape(statement.text).split("\n")
        for piece in _wrap(line, limits.max_text - len("> "))
    ]
    blocks = [_section(chunk) for chunk in _pack_lines(quoted, limits.max_text)]
    details = [f"Source: {cited_as(statement)}"] + ([statement.caveat] if statement.caveat else [])
    blocks.extend(_context(details, limits))
    return blocks


def _preface(asked: Optional[str], shared_by: Optional[str], limits: Limits) -> List[Block]:
    lines = []
    if shared_by and _USER_ID.match(shared_by):
        lines.append(f"Shared by <@{shared_by}> from a private /carebot answer")
    if asked and asked.strip():
        lines.append("Question: " + escape(" ".join(asked.split())))
    if not lines:
        return []
    elements = [piece for line in lines for piece in _wrap(line, limits.max_text)]
    return _context_raw(elements)


def _text_sections(lines: Iterable[str], limits: Limits) -> List[Block]:
    wrapped = [
        piece
        for line in lines
        if line and line.strip()
        for sub in escape(line).split("\n")
        for piece in _wrap(sub, limits.max_text)
    ]
    return [_section(chunk) for chunk in _pack_lines(wrapped, limits.max_text)]


def _suggestion_blocks(questions: Sequence[str]) -> List[Block]:
    buttons = []
    for question in questions:
        value = question.strip()
        if not value or len(value) > MAX_BUTTON_VALUE:
            continue  # a question the button cannot carry is left out rather than cut
        buttons.append(
            {
                "type": "button",
                "action_id": f"{ACTION_SUGGESTION_PREFIX}_{len(buttons)}",
                "text": _plain(value, MAX_BUTTON_LABEL),
                "value": value,
            }
        )
    return [
        {
            "type": "actions",
            "block_id": BLOCK_SUGGESTIONS if start == 0 else f"{BLOCK_SUGGESTIONS}_{start}",
            "elements": buttons[start : start + MAX_ACTIONS_ELEMENTS],
        }
        for start in range(0, len(buttons), MAX_ACTIONS_ELEMENTS)
    ]


def _feedback_elements(reply: Reply, conversation_id: str, share_value: Optional[str]) -> List[Block]:
    value = FeedbackValue(conversation_id, reply.statement_ids, audit_id=reply.audit_id).encode()
    elements: List[Block] = []
    if share_value:
        elements.append(_share_button(share_value))
    elements.append(
        {"type": "button", "action_id": ACTION_HELPFUL, "text": _plain(":+1: Helpful"), "value": value}
    )
    elements.append(
        {"type": "button", "action_id": ACTION_NOT_HELPFUL, "text": _plain(":-1: Not helpful"), "value": value}
    )
    return elements


def _share_button(value: str) -> Block:
    return {
        "type": "button",
        "action_id": ACTION_SHARE,
        "text": _plain("Share in channel"),
        "value": value[:MAX_BUTTON_VALUE],
        "style": "primary",
    }


def _pack(units: List[List[Block]], tail: List[Block], capacity: int) -> List[List[Block]]:
    """Greedy: fill each message with whole units; the buttons go last, with the last unit
    when they fit. A unit bigger than a whole message (only a pathological statement) is the
    one thing that gets split, at block boundaries."""
    parts: List[List[Block]] = [[]]
    for unit in units:
        if len(unit) > capacity:
            for start in range(0, len(unit), capacity):
                _add(parts, unit[start : start + capacity], capacity)
            continue
        _add(parts, unit, capacity)
    if tail:
        _add(parts, tail[:capacity], capacity)
        for start in range(capacity, len(tail), capacity):
            _add(parts, tail[start : start + capacity], capacity)
    return [part for part in parts if part] or [[]]


def _add(parts: List[List[Block]], unit: List[Block], capacity: int) -> None:
    if parts[-1] and len(parts[-1]) + len(unit) > capacity:
        parts.append([])
    parts[-1].extend(unit)


# ---- text helpers -------------------------------------------------------------------------------


def _section(mrkdwn: str) -> Block:
    # verbatim: Slack keeps the text as written (no auto-linking or mention parsing of bare words)
    return {"type": "section", "text": {"type": "mrkdwn", "text": mrkdwn, "verbatim": True}}


def _context(texts: Iterable[str], limits: Limits) -> List[Block]:
    elements = [piece for text in texts if text for piece in _wrap(escape(text), limits.max_text)]
    return _context_raw(elements)


def _context_raw(elements: List[str]) -> List[Block]:
    return [
        {
            "type": "context",
            "elements": [
                {"type": "mrkdwn", "text": text, "verbatim": True}
                for text in elements[start : start + MAX_CONTEXT_ELEMENTS]
            ],
        }
        for start in range(0, len(elements), MAX_CONTEXT_ELEMENTS)
    ]


def _plain(text: str, limit: int = MAX_BUTTON_LABEL) -> Block:
    return {"type": "plain_text", "text": _fit(text, limit), "emoji": True}


def _fit(text: str, limit: int) -> str:
    """Escaped text shortened (with an ellipsis) to `limit`; labels only, never statements."""
    escaped = escape(text)
    if len(escaped) <= limit:
        return escaped
    raw = text[:limit]
    while raw and len(escape(raw)) + 1 > limit:
        raw = raw[:-1]
    return escape(raw.rstrip()) + "…"


def _fallback_text(text: str) -> str:
    escaped = escape(text.strip()) or "carebot"
    if len(escaped) <= MAX_MESSAGE_TEXT:
        return escaped
    return _safe_cut(escaped, MAX_MESSAGE_TEXT - 1) + "…"


def _wrap(line: str, limit: int) -> List[str]:
    """Split one line into pieces of at most `limit` characters at spaces; a single word longer
    than the limit is cut, but never inside an `&amp;`-style entity."""
    if len(line) <= limit:
        return [line]
    pieces: List[str] = []
    rest = line
    while len(rest) > limit:
        cut = rest.rfind(" ", 0, limit + 1)
        if cut <= 0:
            cut = len(_safe_cut(rest, limit))
            pieces.append(rest[:cut])
            rest = rest[cut:]
        else:
            pieces.append(rest[:cut])
            rest = rest[cut + 1 :]
    if rest:
        pieces.append(rest)
    return pieces


def _safe_cut(text: str, limit: int) -> str:
    cut = text[:limit]
    amp = cut.rfind("&")
    if amp != -1 and ";" not in cut[amp:] and amp > 0:
        cut = cut[:amp]
    return cut


def _pack_lines(lines: List[str], limit: int) -> List[str]:
    """Join lines with newlines into chunks of at most `limit` (each line already fits)."""
    chunks: List[str] = []
    current = ""
    for line in lines:
        if current and len(current) + 1 + len(line) > limit:
            chunks.append(current)
            current = line
        else:
            current = f"{current}\n{line}" if current else line
    if current:
        chunks.append(current)
    return chunks
