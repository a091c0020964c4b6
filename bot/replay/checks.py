"""Does a reply meet a turn's expectation? Each unmet key becomes one `Failure`.

Checks are pure functions of (`Expect`, `Reply`), so they are tested against hand-made replies and
reused unchanged by the pytest suite, the `carebot replay` command and `--update`.

Semantics, per key (all optional):
- `kind`, `intent`: the reply's kind / intent name is one of the listed values.
- `entities`: for every listed entity type, the set of canonical values of that type found this
  turn equals the listed value(s); null means none of that type. Unlisted types are not checked.
- `slots`: every listed slot (after the turn) has the listed value; null means empty.
- `reply_contains` / `reply_not_contains`: case-insensitive substrings of `Reply.text`.
- `reply_matches`: case-insensitive `re.search` on `Reply.text`.
- `reply_equals`: `Reply.text` exactly (a failure carries a unified diff).
- `cites`: every listed source kind or statement id is among the reply's statements; `[]` means
  the reply cites nothing. `not_cites`: none of the listed is cited.
- `suggestions_contain`: each substring (case-insensitive) is in some suggested question.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence

from bot.replay.diffing import closest_passage, printable, unified
from bot.replay.schema import SOURCE_KINDS, Expect
from dialogues.types import Reply


@dataclass(frozen=True)
class Failure:
    """One unmet expectation: which key, what it wanted, what happened, and a diff if useful."""

    check: str
    expected: str
    actual: str
    detail: Optional[str] = None
    message: Optional[str] = None  # a better sentence than "expected X, got Y", when there is one

    def summary(self) -> str:
        return self.message or f"{self.check}: expected {self.expected}, got {self.actual}"


def check_reply(expect: Expect, reply: Reply) -> List[Failure]:
    """Every way `reply` falls short of `expect`; empty when it passes."""
    failures: List[Failure] = []
    text = reply.text or ""
    lowered = text.casefold()

    if expect.kind is not None:
        wanted = [k.value for k in expect.kind]
        if reply.kind.value not in wanted:
            failures.append(Failure("kind", _one_of(wanted), reply.kind.value))

    if expect.intent is not None:
        actual_intent = reply.intent.name if reply.intent else None
        if actual_intent not in expect.intent:
            shown = f"{actual_intent} ({reply.intent.confidence:.2f})" if reply.intent else "no intent"
            failures.append(Failure("intent", _one_of(expect.intent), shown))

    if expect.entities is not None:
        found = entity_values(reply)
        for entity_type, values in expect.entities.items():
            actual_values = found.get(entity_type, [])
            if sorted(set(values or [])) != sorted(set(actual_values)):
                failures.append(Failure(f"entities.{entity_type}", _values(values), _values(actual_values)))

    if expect.slots is not None:
        for slot, value in expect.slots.items():
            actual_value = reply.slots.get(slot) or None
            if (value or None) != actual_value:
                failures.append(Failure(f"slots.{slot}", _value(value), _value(actual_value)))

    for phrase in expect.reply_contains:
        if phrase.casefold() not in lowered:
            near = closest_passage(phrase, text)
            detail = f"closest passage in the reply: {printable(near)!r}" if near else None
            failures.append(Failure("reply_contains", repr(phrase), "not in the reply", detail,
                                    f"reply_contains {_quoted(phrase)}: not in the reply"))

    for phrase in expect.reply_not_contains:
        index = lowered.find(phrase.casefold())
        if index >= 0:
            context = text[max(0, index - 40): index + len(phrase) + 40]
            failures.append(Failure("reply_not_contains", f"no {phrase!r}", f"...{printable(context)}...", None,
                                    f"reply_not_contains {_quoted(phrase)}: found in \"...{printable(context)}...\""))

    for pattern in expect.reply_matches:
        if not re.search(pattern, text, re.IGNORECASE):
            failures.append(Failure("reply_matches", f"/{pattern}/", "no match", None,
                                    f"reply_matches /{pattern}/: no match"))

    if expect.reply_equals is not None and expect.reply_equals != text:
        failures.append(Failure("reply_equals", "the expected text", "a different text",
                                unified(expect.reply_equals, text), "reply_equals: the reply text differs"))

    cited = citation_keys(reply)
    if expect.cites is not None:
        if not expect.cites and reply.statements:
            failures.append(Failure("cites", "no statement", _values(reply.statement_ids)))
        missing = [c for c in expect.cites if c not in cited]
        if missing:
            failures.append(Failure("cites", _values(expect.cites),
                                    _values(reply.statement_ids) if reply.statements else "no statement",
                                    f"not cited: {', '.join(missing)}"))
    forbidden = [c for c in expect.not_cites if c in cited]
    if forbidden:
        failures.append(Failure("not_cites", f"none of {_values(expect.not_cites)}", _values(reply.statement_ids),
                                f"cited anyway: {', '.join(forbidden)}"))

    for phrase in expect.suggestions_contain:
        if not any(phrase.casefold() in s.casefold() for s in reply.suggestions):
            failures.append(Failure("suggestions_contain", _quoted(phrase),
                                    _values(reply.suggestions) if reply.suggestions else "no suggestions"))
    return failures


def entity_values(reply: Reply) -> Dict[str, List[str]]:
    """Entity type -> canonical values found this turn, in order, without repeats."""
    found: Dict[str, List[str]] = {}
    for entity in reply.entities:
        values = found.setdefault(entity.entity, [])
        if entity.value not in values:
            values.append(entity.value)
    return found


def citation_keys(reply: Reply) -> set:
    """Everything `cites` can name for this reply: statement ids and their source kinds."""
    keys = set(reply.statement_ids)
    keys.update(s.source.kind for s in reply.statements if s.source.kind in SOURCE_KINDS)
    return keys


def _quoted(text: str) -> str:
    return '"' + printable(text).replace('"', '\\"') + '"'


def _one_of(values: Sequence[str]) -> str:
    return values[0] if len(values) == 1 else "one of " + ", ".join(values)


def _values(values: Optional[Sequence[str]]) -> str:
    if not values:
        return "none"
    return ", ".join(str(v) for v in values)


def _value(value: Optional[str]) -> str:
    return "empty" if value is None else repr(value)


def describe_expect(expect: Expect) -> str:
    """The keys a turn set, as one short line ('kind: answer; reply_contains: ["120 mg"]')."""
    if expect.is_empty():
        return "(nothing checked)"
    parts: List[str] = []
    for key, value in expect.dict(exclude_unset=True).items():
        if key in ("kind", "intent") and value is not None:
            value = [getattr(v, "value", v) for v in value]
            value = value[0] if len(value) == 1 else value
        if key == "entities" and value:
            value = {k: (v[0] if v and len(v) == 1 else v) for k, v in value.items()}
        parts.append(f"{key}: {_flow(value)}")
    return "; ".join(parts)


def _flow(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, str):
        return value if re.fullmatch(r"[A-Za-z][\w-]*", value) else _quoted(value)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_flow(v) for v in value) + "]"
    return str(value)
