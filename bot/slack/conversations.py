"""Where a Slack message belongs: its conversation id in the core, and where the answer goes.

A channel thread is one conversation (follow-ups in the thread keep the case), a direct message
channel is one conversation, and a slash command's private answers are one conversation per user
per channel. The id is the only thing the core sees of Slack, so it must be derived the same way
from an event, a slash command and a button click on the answer.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, Mapping, Optional, Union


def thread_conversation(team_id: str, channel: str, thread_ts: str) -> str:
    return f"slack:{team_id}:{channel}:{thread_ts}"


def dm_conversation(team_id: str, channel: str) -> str:
    return f"slack:{team_id}:{channel}"


def private_conversation(team_id: str, channel: str, user: str) -> str:
    """Slash-command answers are seen by one user only, so they are that user's conversation."""
    return f"slack:{team_id}:{channel}:private:{user}"


def is_direct(channel: str) -> bool:
    """Slack ids of one-to-one DM channels start with D."""
    return channel.startswith("D")


@dataclass(frozen=True)
class InChannel:
    """Post with chat.postMessage, in a thread when thread_ts is set."""

    channel: str
    thread_ts: Optional[str] = None


@dataclass(frozen=True)
class ViaResponseUrl:
    """Post through a response_url (slash commands, clicks on ephemeral messages)."""

    url: str
    in_channel: bool = False  # True: visible to the channel (sharing); False: only the user


Destination = Union[InChannel, ViaResponseUrl]


def route_of(destination: Destination) -> Dict[str, str]:
    """The destination as the flat dict the shared edge stores with an unanswered delivery."""
    if isinstance(destination, InChannel):
        return {"to": "channel", "channel": destination.channel, "thread_ts": destination.thread_ts or ""}
    return {"to": "response_url", "url": destination.url, "in_channel": "1" if destination.in_channel else ""}


def destination_of(route: Mapping[str, str]) -> Destination:
    """The inverse of `route_of`; raises ValueError for a route this module did not write."""
    if route.get("to") == "channel" and route.get("channel"):
        return InChannel(str(route["channel"]), route.get("thread_ts") or None)
    if route.get("to") == "response_url" and route.get("url"):
        return ViaResponseUrl(str(route["url"]), bool(route.get("in_channel")))
    raise ValueError("not a Slack route")


@dataclass(frozen=True)
class Place:
    conversation_id: str
    destination: Destination
    channel: str

    @property
    def route(self) -> Dict[str, str]:
        return route_of(self.destination)


def place_of_message(team_id: str, event: Mapping[str, Any]) -> Place:
    """An app_mention or a DM message: mentions are answered in their thread (the event's
    thread_ts, else its ts); DMs in the DM (in the DM thread if the user wrote in one)."""
    channel = str(event["channel"])
    if is_direct(channel):
        return Place(dm_conversation(team_id, channel), InChannel(channel, event.get("thread_ts")), channel)
    root = str(event.get("thread_ts") or event["ts"])
    return Place(thread_conversation(team_id, channel, root), InChannel(channel, root), channel)


def place_of_command(body: Mapping[str, Any]) -> Place:
    channel, user = str(body["channel_id"]), str(body["user_id"])
    return Place(
        private_conversation(str(body["team_id"]), channel, user),
        ViaResponseUrl(str(body["response_url"])),
        channel,
    )


def place_of_action(body: Mapping[str, Any]) -> Optional[Place]:
    """The conversation of the message whose button was clicked, or None if the payload does
    not say (a click on something carebot did not post)."""
    team_id = team_of_action(body)
    container = body.get("container") or {}
    channel = (body.get("channel") or {}).get("id") or container.get("channel_id")
    user = (body.get("user") or {}).get("id")
    if not team_id or not channel or not user:
        return None
    channel = str(channel)
    if container.get("is_ephemeral"):
        url = body.get("response_url")
        if not url:
            return None
        return Place(private_conversation(team_id, channel, str(user)), ViaResponseUrl(str(url)), channel)
    message = body.get("message") or {}
    if is_direct(channel):
        thread_ts = message.get("thread_ts") or container.get("thread_ts")
        return Place(dm_conversation(team_id, channel), InChannel(channel, thread_ts), channel)
    root = message.get("thread_ts") or container.get("thread_ts") or message.get("ts") or container.get("message_ts")
    if not root:
        return None
    return Place(thread_conversation(team_id, channel, str(root)), InChannel(channel, str(root)), channel)


def team_of_action(body: Mapping[str, Any]) -> Optional[str]:
    team = (body.get("team") or {}).get("id") or (body.get("user") or {}).get("team_id")
    return str(team) if team else None
