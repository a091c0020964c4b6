"""A fluent conversation helper in the spirit of botbuilder's TestFlow:

    await Flow(engine).send("lanreotide dose?").expect(kind="answer", contains=["120 mg"])
"""
from __future__ import annotations

import re
from typing import Dict, Iterable, List, Optional

from dialogues.types import Reply, Turn


class Flow:
    def __init__(self, engine, conversation: str = "test-conversation") -> None:
        self.engine = engine
        self.conversation = conversation
        self._pending: Optional[str] = None
        self.replies: List[Reply] = []

    def send(self, text: str) -> "Flow":
        self._pending = text
        return self

    async def expect(
        self,
        kind: Optional[str] = None,
        intent: Optional[str] = None,
        contains: Iterable[str] = (),
        not_contains: Iterable[str] = (),
        matches: Iterable[str] = (),
        slots: Optional[Dict[str, Optional[str]]] = None,
        cites: Iterable[str] = (),
        not_cites: Iterable[str] = (),
    ) -> Reply:
        assert self._pending is not None, "send() a message first"
        reply = await self.engine.handle(Turn(text=self._pending, conversation_id=self.conversation, user="U1"))
        said, self._pending = self._pending, None
        self.replies.append(reply)
        where = f"after {said!r} the reply was:\n{reply.text}\n"
        if kind is not None:
            assert reply.kind.value == kind, f"kind {reply.kind.value} != {kind}; {where}"
        if intent is not None:
            assert reply.intent and reply.intent.name == intent, f"intent {reply.intent} != {intent}; {where}"
        for text in contains:
            assert text.lower() in reply.text.lower(), f"{text!r} missing; {where}"
        for text in not_contains:
            assert text.lower() not in reply.text.lower(), f"{text!r} present; {where}"
        for pattern in matches:
            assert re.search(pattern, reply.text, re.I), f"/{pattern}/ does not match; {where}"
        for slot, value in (slots or {}).items():
            assert reply.slots.get(slot) == value, f"slot {slot}={reply.slots.get(slot)!r} != {value!r}; {where}"
        kinds = {s.source.kind for s in reply.statements}
        ids = set(reply.statement_ids)
        for cite in cites:
            assert cite in kinds or cite in ids, f"does not cite {cite}; {where}"
        for cite in not_cites:
            assert cite not in kinds and cite not in ids, f"cites {cite}; {where}"
        return reply
