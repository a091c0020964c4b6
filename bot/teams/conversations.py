"""Where a Teams activity belongs: its conversation id in the core, its delivery key, where the
answer goes (the route), and the question text with Teams markup removed.

- A personal chat is one conversation; so is a group chat (it has no threads).
- A channel thread is one conversation. Teams gives every channel activity a conversation id that
  carries the thread's root post, `19:…@thread.tacv2;messageid=<root>`, and posting to that id
  (in reply to the activity) puts the answer in that thread.
- The route is a flat dict of ids (service URL, conversation, tenant, the activity replied to,
  the bot's id): it is stored with an unanswered delivery so another replica can answer after a
  crash, so it holds no names and no text.
"""
from __future__ import annotations

import re
from typing import Any, Dict, Optional

from botbuilder.core import TurnContext
from botbuilder.schema import Activity

from bot.edge.types import Route

PLATFORM = "teams"
THREAD_MARK = ";messageid="

# Teams wraps mentions as <at>Name</at>; rich-text messages can carry a few HTML tags. Only these
# known tags are removed, so a "<5 mg" typed by a user stays as written.
_MARKUP = re.compile(r"</?(?:at|p|div|span|br|b|i|u|strong|em|s|strike|sub|sup|blockquote|pre|code)"
                     r"(?:\s[^<>]*)?/?>", re.IGNORECASE)


def tenant_of(activity: Activity) -> Optional[str]:
    """The Entra tenant of the conversation (Teams puts it in two places)."""
    conversation = activity.conversation
    if conversation is not None and conversation.tenant_id:
        return str(conversation.tenant_id).lower()
    tenant = (activity.channel_data or {}).get("tenant") if isinstance(activity.channel_data, dict) else None
    if isinstance(tenant, dict) and tenant.get("id"):
        return str(tenant["id"]).lower()
    return None


def is_channel(activity: Activity) -> bool:
    return bool(activity.conversation is not None and activity.conversation.conversation_type == "channel")


def teams_conversation(activity: Activity) -> str:
    """The Teams conversation id to post into: for a channel, the thread of this activity."""
    conversation_id = str(activity.conversation.id)
    if is_channel(activity) and THREAD_MARK not in conversation_id and activity.id:
        # a root post whose id came without its thread mark: the post is the thread's root
        conversation_id = f"{conversation_id}{THREAD_MARK}{activity.id}"
    return conversation_id


def conversation_of(activity: Activity) -> str:
    """The core's conversation id: one per personal chat, group chat, or channel thread."""
    return f"{PLATFORM}:{tenant_of(activity) or '-'}:{teams_conversation(activity)}"


def delivery_key(activity: Activity) -> str:
    """What a redelivery of this activity repeats. Activity ids are unique within a conversation
    only (channel post ids are timestamps), hence the conversation in the key."""
    return f"{PLATFORM}:activity:{activity.conversation.id}:{activity.id}"


def user_of(activity: Activity) -> Optional[str]:
    """The asker's stable id: the Entra object id when Teams sends it, else the channel user id."""
    sender = activity.from_property
    if sender is None:
        return None
    return str(sender.aad_object_id or sender.id or "") or None


def route_of(activity: Activity, *, reply: bool = True) -> Route:
    """Where an answer to `activity` goes. `reply=False` posts a new message in the conversation
    (a greeting on install is not a reply to the install event)."""
    return {
        "service_url": str(activity.service_url),
        # a new message in a channel starts a thread of its own; a reply goes into the thread
        "conversation": teams_conversation(activity) if reply else str(activity.conversation.id),
        "tenant": tenant_of(activity) or "",
        "reply_to": str(activity.id or "") if reply else "",
        "bot_id": str(activity.recipient.id) if activity.recipient is not None and activity.recipient.id else "",
    }


def question_text(activity: Activity) -> str:
    """The message without carebot's own @mention (the SDK's `remove_recipient_mention`), other
    mentions reduced to the names they show, and known markup tags removed."""
    if not activity.text:
        return ""
    text = activity.text
    if activity.recipient is not None and activity.recipient.id:
        try:
            text = TurnContext.remove_recipient_mention(activity) or ""
        except Exception:  # a malformed mention entity: fall back to removing markup only
            text = activity.text
    return " ".join(_MARKUP.sub(" ", text).split())


def from_bot(activity: Activity) -> bool:
    sender: Any = activity.from_property
    return bool(sender is not None and (sender.role or "").lower() == "bot")


def members_added_include_bot(activity: Activity) -> bool:
    recipient = activity.recipient
    if recipient is None or not recipient.id:
        return False
    return any(member is not None and member.id == recipient.id for member in activity.members_added or ())


def install_key(activity: Activity) -> str:
    """Once-only mark for the install greeting: per personal chat, group chat or team channel."""
    return f"{PLATFORM}:greeted:{tenant_of(activity) or '-'}:{str(activity.conversation.id).split(THREAD_MARK)[0]}"


def describe(route: Dict[str, str]) -> str:
    """A route for logs: the conversation id only (ids, never names or text)."""
    return route.get("conversation", "-")
