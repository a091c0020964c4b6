"""What a replay tells people: a line per conversation, the details of each failure, and JSON.

The text report is for the person at the terminal or reading CI output: one PASS/FAIL line per
conversation as it finishes, then for every failure the turn, what the user said, what was
expected and what happened (with the reply and a diff where the text is what differs), then a
one-line summary. The JSON report carries the same facts, complete, for tools.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, TextIO

from bot.replay.checks import entity_values
from bot.replay.diffing import excerpt, printable
from bot.replay.runner import ConversationResult, TurnOutcome
from dialogues.types import Reply

REPORT_VERSION = 1
TEXT_DIFF_CHECKS = ("text", "reply_equals")  # failures whose detail is a diff of the whole text


@dataclass(frozen=True)
class Labels:
    """Words for the outcome: PASS/FAIL for replay files, SAME/DIFF for a Slack export."""

    passed: str = "PASS"
    failed: str = "FAIL"
    noun: str = "conversation"
    passed_word: str = "passed"
    failed_word: str = "failed"


REPLAY_LABELS = Labels()
SLACK_LABELS = Labels("SAME", "DIFF", "conversation", "answered as before", "answered differently")


def result_line(result: ConversationResult, labels: Labels = REPLAY_LABELS) -> str:
    status = labels.passed if result.passed else labels.failed
    return f"{status}  {printable(result.name)}"


def failure_details(result: ConversationResult, labels: Labels = REPLAY_LABELS, verbose: bool = False) -> str:
    """Everything a reader needs to see why one conversation failed, without opening the file."""
    lines = [f"{labels.failed}  {printable(result.name)}  ({result.case.source})"]
    for turn in result.turns:
        if turn.passed:
            continue
        where = f" (line {turn.line})" if turn.line else ""
        lines.append(f"  turn {turn.number}{where}: user: {_quote(turn.user)}")
        lines.append(f"    expected: {turn.expectation}")
        if turn.error is not None:
            error = turn.error if verbose else turn.error.splitlines()[0]
            lines.append("    error:    " + _indent(error, 14).lstrip())
            continue
        assert turn.reply is not None
        lines.append(f"    actual:   {describe_reply(turn.reply)}")
        for failure in turn.failures:
            lines.append(f"    x {printable(failure.summary())}")
            if failure.detail:
                lines.append(_indent(failure.detail, 6))
        if any(f.check in TEXT_DIFF_CHECKS for f in turn.failures):
            continue  # the diff already shows the reply's text
        lines.append("    reply:")
        body = excerpt(turn.reply.text, limit=4000 if verbose else 1200) if turn.reply.text else "(empty)"
        lines.extend("      | " + line for line in body.splitlines())
    not_run = len(result.case.turns) - len(result.turns)
    if not_run > 0:
        lines.append(f"  ({not_run} later turn(s) not run)")
    return "\n".join(lines)


def describe_reply(reply: Reply) -> str:
    """What the core did, in one line: kind, intent, entities, slots set, statements cited."""
    parts = [reply.kind.value]
    if reply.intent:
        parts.append(f"intent {reply.intent.name} ({reply.intent.confidence:.2f})")
    entities = entity_values(reply)
    if entities:
        parts.append("entities {" + ", ".join(f"{k}: {'/'.join(v)}" for k, v in entities.items()) + "}")
    slots = {k: v for k, v in reply.slots.items() if v}
    if slots:
        parts.append("slots {" + ", ".join(f"{k}: {v}" for k, v in slots.items()) + "}")
    parts.append("cites [" + ", ".join(reply.statement_ids) + "]" if reply.statements else "cites nothing")
    return ", ".join(parts)


def summary_line(results: List[ConversationResult], seconds: float, labels: Labels = REPLAY_LABELS) -> str:
    passed = sum(1 for r in results if r.passed)
    failed = len(results) - passed
    turns = sum(len(r.turns) for r in results)
    noun = labels.noun + ("" if len(results) == 1 else "s")
    return (f"{len(results)} {noun}: {passed} {labels.passed_word}, {failed} {labels.failed_word} "
            f"({turns} turns, {seconds:.1f}s)")


def write_text_report(results: List[ConversationResult], out: TextIO, seconds: float,
                      labels: Labels = REPLAY_LABELS, verbose: bool = False) -> None:
    """The failure section and the summary (the per-conversation lines are printed as they finish)."""
    failed = [r for r in results if not r.passed]
    if failed:
        out.write(f"\n{'=' * 30} {labels.failed_word.upper()} {'=' * 30}\n")
        for result in failed:
            out.write("\n" + failure_details(result, labels, verbose) + "\n")
    out.write("\n" + summary_line(results, seconds, labels) + "\n")


def json_report(results: List[ConversationResult], seconds: float, labels: Labels = REPLAY_LABELS) -> Dict[str, Any]:
    """Every conversation, turn, failure and reply, for tools (the schema is `version` 1)."""
    return {
        "version": REPORT_VERSION,
        "summary": {
            "conversations": len(results),
            "passed": sum(1 for r in results if r.passed),
            "failed": sum(1 for r in results if not r.passed),
            "turns": sum(len(r.turns) for r in results),
            "seconds": round(seconds, 3),
        },
        "conversations": [
            {
                "name": r.name,
                "source": r.case.source,
                "group": r.case.group,
                "passed": r.passed,
                "status": labels.passed if r.passed else labels.failed,
                "seconds": round(r.duration, 3),
                "error": r.error,
                "turns": [_turn_json(t) for t in r.turns],
                "turns_not_run": len(r.case.turns) - len(r.turns),
            }
            for r in results
        ],
    }


def write_json_report(results: List[ConversationResult], path: Path, seconds: float,
                      labels: Labels = REPLAY_LABELS) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(json_report(results, seconds, labels), indent=2, ensure_ascii=False) + "\n",
                    encoding="utf-8")


def _turn_json(turn: TurnOutcome) -> Dict[str, Any]:
    reply: Optional[Dict[str, Any]] = None
    if turn.reply is not None:
        r = turn.reply
        reply = {
            "kind": r.kind.value,
            "intent": {"name": r.intent.name, "confidence": r.intent.confidence} if r.intent else None,
            "entities": [{"entity": e.entity, "value": e.value, "text": e.text} for e in r.entities],
            "slots": dict(r.slots),
            "statements": [s.id for s in r.statements],
            "text": r.text,
            "suggestions": list(r.suggestions),
        }
    return {
        "turn": turn.number,
        "line": turn.line,
        "user": turn.user,
        "expected": turn.expectation,
        "passed": turn.passed,
        "error": turn.error,
        "failures": [
            {"check": f.check, "expected": f.expected, "actual": f.actual, "detail": f.detail}
            for f in turn.failures
        ],
        "reply": reply,
    }


def _quote(text: str, limit: int = 300) -> str:
    shown = printable(text)
    if len(shown) > limit:
        shown = shown[:limit] + f"... [{len(text)} characters]"
    return '"' + shown + '"'


def _indent(text: str, spaces: int) -> str:
    pad = " " * spaces
    return "\n".join(pad + line for line in printable(text).splitlines())
