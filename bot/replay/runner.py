"""Replay conversations through the core and collect what each turn did against what it should.

The runner knows nothing about YAML or Slack: both are turned into `ReplayCase`s (a name, where it
came from, and turns each with a check). Each case gets a fresh conversation id, so it starts from
an empty state whatever ran before, and its conversation is reset afterwards.

Nothing here logs message text (logs may end up anywhere, and messages may hold patient details);
the results carry the text so that reports, which the person running the replay asked for, can
show it.
"""
from __future__ import annotations

import asyncio
import logging
import time
import traceback
import uuid
from dataclasses import dataclass, field
from typing import Callable, Iterable, List, Optional

from bot.replay.checks import Failure, check_reply, describe_expect
from bot.replay.engine import ReplayEngine
from bot.replay.schema import Expect, LoadedConversation, LoadedFile
from bot.slack.markup import plain_text
from dialogues.types import Reply, Turn

log = logging.getLogger(__name__)

Check = Callable[[Reply], List[Failure]]
DEFAULT_TURN_TIMEOUT = 60.0


@dataclass
class ReplayTurn:
    user: str
    check: Optional[Check] = None
    expectation: str = "(nothing checked)"
    sender: Optional[str] = None  # the user id the core sees (Slack user, or None)
    line: Optional[int] = None


@dataclass
class ReplayCase:
    """A conversation to replay: from a replay file, or rebuilt from a Slack export."""

    name: str
    source: str  # where it came from, for the report ("tests/conversations/dosing.yml:12")
    group: str  # what it is filed under in JUnit (the file, or the Slack channel)
    turns: List[ReplayTurn]
    origin: Optional[LoadedConversation] = None  # set for replay files; `--update` needs it


@dataclass
class TurnOutcome:
    number: int  # 1-based
    user: str
    expectation: str
    reply: Optional[Reply] = None
    failures: List[Failure] = field(default_factory=list)
    error: Optional[str] = None
    line: Optional[int] = None

    @property
    def passed(self) -> bool:
        return self.error is None and not self.failures


@dataclass
class ConversationResult:
    case: ReplayCase
    turns: List[TurnOutcome] = field(default_factory=list)
    duration: float = 0.0
    error: Optional[str] = None  # the core raised or timed out; later turns were not run

    @property
    def name(self) -> str:
        return self.case.name

    @property
    def passed(self) -> bool:
        return self.error is None and all(t.passed for t in self.turns)

    @property
    def failed_turns(self) -> List[TurnOutcome]:
        return [t for t in self.turns if not t.passed]


def cases_from_file(loaded: LoadedFile) -> List[ReplayCase]:
    return [case_from_conversation(c) for c in loaded.conversations]


def case_from_conversation(loaded: LoadedConversation) -> ReplayCase:
    turns = []
    for index, spec in enumerate(loaded.conversation.turns):
        line = loaded.turn_lines[index] if index < len(loaded.turn_lines) else None
        turns.append(ReplayTurn(spec.text, _expect_check(spec.expect), describe_expect(spec.expect), line=line))
    return ReplayCase(loaded.name, loaded.location, str(loaded.path), turns, origin=loaded)


def _expect_check(expect: Expect) -> Check:
    return lambda reply: check_reply(expect, reply)


def select(cases: Iterable[ReplayCase], pattern: Optional[str]) -> List[ReplayCase]:
    """`-k PATTERN`: the cases whose name contains it, ignoring case."""
    if not pattern:
        return list(cases)
    needle = pattern.casefold()
    return [c for c in cases if needle in c.name.casefold()]


async def run_case(engine: ReplayEngine, case: ReplayCase, timeout: float = DEFAULT_TURN_TIMEOUT) -> ConversationResult:
    """Replay one conversation from a fresh state; never raises for what the core does."""
    conversation_id = f"replay-{uuid.uuid4().hex}"
    result = ConversationResult(case)
    started = time.perf_counter()
    try:
        for number, turn in enumerate(case.turns, 1):
            outcome = TurnOutcome(number, turn.user, turn.expectation, line=turn.line)
            result.turns.append(outcome)
            try:
                reply = await asyncio.wait_for(
                    # replay files hold what a user typed in Slack (and Slack exports import as
                    # such): the Slack edge's markup removal runs first, as it does live
                    engine.handle(Turn(text=plain_text(turn.user), conversation_id=conversation_id,
                                       user=turn.sender, platform="replay")),
                    timeout,
                )
            except asyncio.TimeoutError:
                outcome.error = f"no reply within {timeout:g}s"
            except Exception as exc:  # the core must never raise; report it as this turn's error
                outcome.error = f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=8)}"
            if outcome.error is not None:
                result.error = f"turn {number}: {outcome.error.splitlines()[0]}"
                log.warning("replay: the core failed on turn %d of a conversation (%s)", number, _error_kind(outcome))
                break
            outcome.reply = reply
            if _is_internal_error(reply):
                # The core caught its own exception and apologised; a `kind: fallback` expectation
                # must not pass on a crash.
                outcome.error = "the core failed on this turn (it replied with its internal-error apology)"
                result.error = f"turn {number}: {outcome.error}"
                log.warning("replay: the core failed on turn %d of a conversation (internal error)", number)
                break
            if turn.check is not None:
                outcome.failures = turn.check(reply)
    finally:
        result.duration = time.perf_counter() - started
        try:
            await engine.reset(conversation_id)
        except Exception:  # resetting a throwaway conversation is housekeeping only
            log.debug("replay: reset of a replayed conversation failed", exc_info=False)
    return result


def _is_internal_error(reply: Reply) -> bool:
    try:
        from dialogues.catalogue import INTERNAL_ERROR
    except ImportError:  # a core without the catalogue has no apology to recognise
        return False
    return INTERNAL_ERROR in reply.lead or reply.text.strip() == INTERNAL_ERROR


def _error_kind(outcome: TurnOutcome) -> str:
    """The exception's type name only: its message could quote the user's text."""
    first = (outcome.error or "").splitlines()[0] if outcome.error else ""
    return "timeout" if first.startswith("no reply within") else first.split(":", 1)[0]


async def run_cases(
    engine: ReplayEngine,
    cases: List[ReplayCase],
    on_result: Optional[Callable[[int, int, ConversationResult], None]] = None,
    on_start: Optional[Callable[[int, int, ReplayCase], None]] = None,
    timeout: float = DEFAULT_TURN_TIMEOUT,
) -> List[ConversationResult]:
    """Replay every case in order (one at a time: the core is shared and order keeps reports stable)."""
    results: List[ConversationResult] = []
    total = len(cases)
    for index, case in enumerate(cases, 1):
        if on_start:
            on_start(index, total, case)
        result = await run_case(engine, case, timeout)
        results.append(result)
        if on_result:
            on_result(index, total, result)
    return results
