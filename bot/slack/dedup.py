"""The keys a Slack delivery is claimed under, so it is answered once however often it arrives.

Slack redelivers an event when it did not see a 200 within 3 seconds (X-Slack-Retry-Num), and the
same user message can reach us twice under different event ids (for instance as app_mention and
as message.im). A delivery is claimed under all its keys at once by the shared responder
(`bot.edge.responder`), in the state store, which outlives a restart and is shared by replicas.
"""
from __future__ import annotations

import hashlib
from typing import Any, Mapping, Optional, Tuple


def message_keys(body: Mapping[str, Any]) -> Tuple[str, ...]:
    """The event id and the user message id (client_msg_id), or channel + ts when neither is set."""
    event = body.get("event") or {}
    keys = []
    event_id = body.get("event_id")
    if event_id:
        keys.append(f"slack:event:{event_id}")
    client_msg_id = event.get("client_msg_id")
    if client_msg_id:
        keys.append(f"slack:msg:{body.get('team_id') or ''}:{client_msg_id}")
    if not keys:
        # No id to de-duplicate on (not seen from Slack); fall back to channel + ts.
        keys.append(f"slack:ts:{event.get('channel')}:{event.get('ts')}:{event.get('type')}")
    return tuple(keys)


def command_keys(body: Mapping[str, Any]) -> Tuple[str, ...]:
    trigger = body.get("trigger_id")
    if trigger:
        return (f"slack:command:{trigger}",)
    # no trigger id (not seen from Slack): the command is taken as it comes
    digest = hashlib.sha256(f"{body.get('channel_id')}:{body.get('user_id')}:{body.get('response_url')}".encode())
    return (f"slack:command:anon:{digest.hexdigest()[:24]}",)


def click_key(body: Mapping[str, Any], action: Mapping[str, Any]) -> str:
    """A double click on the same button of the same message by the same user counts once."""
    container = body.get("container") or {}
    message_ts = container.get("message_ts") or (body.get("message") or {}).get("ts") or action.get("action_ts")
    user = (body.get("user") or {}).get("id")
    value = hashlib.sha256(str(action.get("value", "")).encode()).hexdigest()[:16]
    return f"slack:click:{container.get('channel_id')}:{message_ts}:{user}:{action.get('action_id')}:{value}"


def refusal_key(team_id: Optional[str], channel: str) -> str:
    """The polite refusal in a channel outside the allowlist is said once, not to every mention
    (the store forgets marks after a day, so it may be said again the next day)."""
    return f"slack:refused:{team_id}:{channel}"
