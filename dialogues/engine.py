"""The channel-agnostic core every edge uses: `await engine.handle(Turn) -> Reply`.

Slack, Teams, the terminal chat, `carebot ask` and the replays all go through here, so they
behave the same. The engine owns what must exist once per process (the knowledge base, the
loaded NLU model, the state store, the audit trail) and what must hold per conversation (one turn
at a time, through the store's `ordered`, which spans replicas when the store is shared).

A chat edge that must also post the reply in order holds `store.ordered` itself, around the turn
and the post, and calls `handle_ordered`.

A turn's CPU (parse and dialogue) runs through the engine's `CpuGate`, one turn at a time, so that
an edge under load can still acknowledge new deliveries between two turns (dialogues/cpu_gate.py).
"""
from __future__ import annotations

import gc
import logging
import time
from typing import Callable, Optional, Protocol

from dialogues import catalogue, compose
from dialogues.cpu_gate import CpuGate
from dialogues.manager import DialogueManager
from dialogues.settings import CoreSettings
from dialogues.state import ConversationState
from dialogues.store import StaleState, StateStore, StoreUnavailable
from dialogues.stores import open_store
from dialogues.types import Reply, ReplyKind, Turn
from knowledge import KnowledgeBase, default_knowledge
from nlu.clean import clean_text, has_words
from nlu.model import ensure_model
from nlu.parser import Parser

log = logging.getLogger("carebot.turn")


class AuditSink(Protocol):
    """Where each turn's audit record goes (audit.AuditTrail); returns the record's id."""

    async def record_turn(self, turn: Turn, reply: Reply, latency_ms: float) -> Optional[str]: ...

    async def close(self) -> None:
        """Write the records queued behind the last turns, and release the audit store."""
        ...


class Engine:
    def __init__(self, parser: Parser, kb: KnowledgeBase, store: StateStore, settings: CoreSettings,
                 audit: Optional[AuditSink] = None) -> None:
        self.parser = parser
        self.kb = kb
        self.store = store
        self.settings = settings
        self.audit = audit
        self.manager = DialogueManager(kb)
        self.cpu = CpuGate()

    @classmethod
    async def create(
        cls,
        settings: Optional[CoreSettings] = None,
        store: Optional[StateStore] = None,
        say: Callable[[str], None] = print,
        audited: bool = True,
    ) -> "Engine":
        """Load the knowledge base (fail closed if invalid), the NLU model (training one first if
        there is none), the state store and the audit trail (in the same store as `settings` names:
        Redis with CAREBOT_REDIS_URL, else the state file; `audited=False` for none)."""
        settings = settings or CoreSettings()
        kb = default_knowledge()
        model = ensure_model(settings.models_dir, say=say)
        parser = Parser.load(model)
        if store is None:
            # Redis when CAREBOT_REDIS_URL is set (raises StoreUnavailable if it does not answer:
            # a replica must not start on state it cannot share), else the SQLite file
            store = await open_store(settings)
        audit = None
        if audited:
            from audit import fingerprint_of, open_audit

            audit = await open_audit(settings, kb, fingerprint_of(model))
        # The loaded model is ~600k long-lived objects: freeze them so a full garbage collection
        # does not walk them (measured: a 225 ms event-loop stall otherwise, 0 ms after).
        gc.collect()
        gc.freeze()
        return cls(parser, kb, store, settings, audit=audit)

    async def handle(self, turn: Turn) -> Reply:
        """Answer one message. Never raises for bad input; on an internal error the conversation's
        state is left as it was and the user gets a short apology."""
        try:
            async with self.store.ordered(turn.conversation_id):
                return await self.handle_ordered(turn)
        except StoreUnavailable:
            log.error("turn not taken conversation=%s error=StoreUnavailable", turn.conversation_id)
            return _notice(catalogue.UNAVAILABLE)

    async def handle_ordered(self, turn: Turn) -> Reply:
        """`handle` for a caller that already holds `store.ordered(turn.conversation_id)`."""
        started = time.perf_counter()
        try:
            reply = await self._handle(turn)
        except StoreUnavailable:
            log.error("turn failed conversation=%s error=StoreUnavailable", turn.conversation_id)
            reply = _notice(catalogue.UNAVAILABLE)
        except StaleState:
            # another holder saved newer state while this turn ran (its lease had run out): the
            # answer may rest on old facts, so it is not given
            log.error("turn fenced off conversation=%s error=StaleState", turn.conversation_id)
            reply = _notice(catalogue.CROSSED)
        except Exception as exc:
            # exception messages can quote the input, so log the type and the place only
            log.error("turn failed conversation=%s error=%s at=%s", turn.conversation_id,
                      type(exc).__name__, _where(exc))
            reply = _notice(catalogue.INTERNAL_ERROR)
        latency_ms = (time.perf_counter() - started) * 1000
        if self.audit is not None:
            try:
                reply.audit_id = await self.audit.record_turn(turn, reply, latency_ms)
            except Exception as exc:  # an answer is not withheld because its audit record failed
                log.error("audit record failed conversation=%s error=%s at=%s", turn.conversation_id,
                          type(exc).__name__, _where(exc))
        log.info(
            "turn conversation=%s kind=%s intent=%s confidence=%.3f statements=%s ms=%.1f",
            turn.conversation_id, reply.kind.value, reply.intent.name if reply.intent else "-",
            reply.confidence, ",".join(reply.statement_ids) or "-", latency_ms,
        )
        return reply

    async def _handle(self, turn: Turn) -> Reply:
        state = await self.store.load(turn.conversation_id) or ConversationState()
        limit = self.settings.max_message_chars
        text = clean_text(turn.text, limit)
        if not has_words(text):
            return self.manager.empty_reply(state)
        if self.manager.is_reset(text):
            state = ConversationState(version=state.version)
            await self.store.save(turn.conversation_id, state)
            return self.manager.reset_reply(state)
        notes = [catalogue.TRUNCATED_NOTE] if len(turn.text) > limit and len(text) >= limit * 0.9 else []
        async with self.cpu.section():  # the turn's CPU, one turn at a time, the loop served between
            parse = await self.parser.parse(text)
            reply = self.manager.respond(text, parse, state, notes)
        await self.store.save(turn.conversation_id, state)
        return reply

    async def reset(self, conversation_id: str) -> None:
        await self.store.delete(conversation_id)

    async def close(self) -> None:
        if self.audit is not None:
            await self.audit.close()
        await self.store.close()


def _notice(line: str) -> Reply:
    return compose.build(ReplyKind.fallback, intent=None, entities=[], slots={}, lead=[line])


def _where(exc: BaseException) -> str:
    """file:line of the innermost frame, for finding a bug without the exception's message."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    return f"{tb.tb_frame.f_code.co_filename.rsplit('/', 1)[-1]}:{tb.tb_lineno}" if tb else "?"
