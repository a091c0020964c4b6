"""Private answers waiting to be shared into their channel.

A slash-command answer is ephemeral, and Slack does not send an ephemeral message's content back
when its button is clicked; the button carries a random token and the answer is kept in the
state store (shared by replicas) until then, for as long as a response_url is valid (30 minutes).
An answer is never recomputed for sharing, since a re-run could differ from what the user read.

What is kept is the core's reply (knowledge statements, catalogue lines) and who may share it;
the user's own question is not kept: message text is at rest only while a delivery is unanswered.
"""
from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from typing import Optional

from dialogues.store import DeliveryStore
from dialogues.types import Reply

SHARE_TTL_SECONDS = 30 * 60


@dataclass(frozen=True)
class SharedAnswer:
    conversation_id: str
    reply: Reply
    user: str  # only the user who asked may share it
    channel: str

    def to_json(self) -> str:
        return json.dumps({"c": self.conversation_id, "r": self.reply.json(), "u": self.user, "ch": self.channel})

    @classmethod
    def from_json(cls, raw: str) -> "SharedAnswer":
        data = json.loads(raw)
        return cls(data["c"], Reply.parse_raw(data["r"]), data["u"], data["ch"])


async def offer(store: DeliveryStore, answer: SharedAnswer, ttl: float = SHARE_TTL_SECONDS) -> str:
    """Keep `answer` for sharing; the token goes on the Share button."""
    token = secrets.token_urlsafe(16)
    await store.put_share(token, answer.to_json(), ttl)
    return token


async def take(store: DeliveryStore, token: str, user: str) -> Optional[SharedAnswer]:
    """The answer for `token` if `user` asked it, once; a second click does not post it twice."""
    raw = await store.take_share(token)
    if raw is None:
        return None
    answer = SharedAnswer.from_json(raw)
    if answer.user != user:
        await store.put_share(token, raw, SHARE_TTL_SECONDS)  # not theirs: leave it for the asker
        return None
    return answer


async def restore(store: DeliveryStore, token: str, answer: SharedAnswer) -> None:
    """Put an answer back after its share failed to post, so the user can click again."""
    await store.put_share(token, answer.to_json(), SHARE_TTL_SECONDS)
