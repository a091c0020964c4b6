"""One reply per Slack delivery, however often Slack delivers it.

Slack redelivers an event when it did not see a 200 within 3 seconds (X-Slack-Retry-Num), and the
same user message can reach us twice under different event ids (for instance as app_mention and
as message.im). Each delivery is claimed in the core's state store, which is persistent (SQLite
now, shared later), so a retry that arrives after a restart, or at another replica, is still
recognised. The claim happens before any work starts: at most one reply, never two.
"""
from __future__ import annotations

import hashlib
from typing import Any, Mapping, Optional, Protocol


class Claims(Protocol):
    async def claim_event(self, key: str) -> bool: ...


async def first_event_delivery(store: Claims, body: Mapping[str, Any]) -> bool:
    """True once per event_id and once per user message (client_msg_id)."""
    event = body.get("event") or {}
    event_id = body.get("event_id")
    if event_id and not await store.claim_event(f"slack:event:{event_id}"):
        return False
    client_msg_id = event.get("client_msg_id")
    if client_msg_id:
        team = body.get("team_id") or ""
        if not await store.claim_event(f"slack:msg:{team}:{client_msg_id}"):
            return False
    if not event_id and not client_msg_id:
        # No id to de-duplicate on (not seen from Slack); fall back to channel + ts.
        key = f"slack:ts:{event.get('channel')}:{event.get('ts')}:{event.get('type')}"
        return await store.claim_event(key)
    return True


async def first_command_delivery(store: Claims, body: Mapping[str, Any]) -> bool:
    trigger = body.get("trigger_id")
    return True if not trigger else await store.claim_event(f"slack:command:{trigger}")


async def first_click(store: Claims, body: Mapping[str, Any], action: Mapping[str, Any]) -> bool:
    """A double click on the same button of the same message by the same user counts once."""
    container = body.get("container") or {}
    message_ts = container.get("message_ts") or (body.get("message") or {}).get("ts") or action.get("action_ts")
    user = (body.get("user") or {}).get("id")
    value = hashlib.sha256(str(action.get("value", "")).encode()).hexdigest()[:16]
    key = f"slack:click:{container.get('channel_id')}:{message_ts}:{user}:{action.get('action_id')}:{value}"
    return await store.claim_event(key)


async def first_refusal(store: Claims, team_id: Optional[str], channel: str) -> bool:
    """The polite refusal in a channel outside the allowlist is said once, not to every mention
    (the store forgets claims after a day, so it may be said again the next day)."""
    return await store.claim_event(f"slack:refused:{team_id}:{channel}")
