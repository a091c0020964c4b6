"""Requests as Slack sends them: signed bodies for events, slash commands and button clicks.

Signing follows Slack's v0 scheme exactly: `v0=` + hex HMAC-SHA256 of `v0:{timestamp}:{body}`
with the app's signing secret, in X-Slack-Signature, with X-Slack-Request-Timestamp.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from typing import Any, Dict, Iterator, List, Optional, Tuple
from urllib.parse import urlencode

import aiohttp

from .mock_slack import BOT_USER, TEAM_ID, Call

SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"


def sign(body: str, secret: str = SIGNING_SECRET, timestamp: Optional[int] = None) -> Dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}"}


def new_id(prefix: str) -> str:
    return prefix + uuid.uuid4().hex[:10].upper()


def new_ts() -> str:
    return f"{int(time.time())}.{uuid.uuid4().int % 1_000_000:06d}"


def event_body(event: Dict[str, Any], event_id: Optional[str] = None, team: str = TEAM_ID) -> Dict[str, Any]:
    return {
        "token": "legacy-verification-token",
        "team_id": team,
        "api_app_id": "A0CARE",
        "event": event,
        "type": "event_callback",
        "event_id": event_id or new_id("Ev"),
        "event_time": int(time.time()),
        "authorizations": [{"team_id": team, "user_id": BOT_USER, "is_bot": True, "is_enterprise_install": False}],
    }


def mention(text: str, channel: str, ts: Optional[str] = None, thread_ts: Optional[str] = None,
            user: str = "UNURSE1", **extra: Any) -> Dict[str, Any]:
    event = {"type": "app_mention", "user": user, "text": text, "ts": ts or new_ts(), "channel": channel,
             "event_ts": ts, "client_msg_id": str(uuid.uuid4()), "team": TEAM_ID}
    if thread_ts:
        event["thread_ts"] = thread_ts
    event.update(extra)
    return event


def message(text: str, channel: str, channel_type: str = "im", ts: Optional[str] = None,
            user: Optional[str] = "UNURSE1", **extra: Any) -> Dict[str, Any]:
    event = {"type": "message", "channel": channel, "channel_type": channel_type, "text": text,
             "ts": ts or new_ts(), "client_msg_id": str(uuid.uuid4()), "team": TEAM_ID}
    if user:
        event["user"] = user
    event.update(extra)
    return event


def command_body(text: str, channel: str, response_url: str, user: str = "UNURSE1") -> Dict[str, str]:
    return {
        "token": "legacy-verification-token", "team_id": TEAM_ID, "team_domain": "care",
        "channel_id": channel, "channel_name": "tumour-board", "user_id": user, "user_name": "nurse",
        "command": "/carebot", "text": text, "api_app_id": "A0CARE", "is_enterprise_install": "false",
        "response_url": response_url, "trigger_id": new_id("13345224609.738474920.").lower(),
    }


def buttons(blocks: List[Dict[str, Any]]) -> Iterator[Tuple[Dict[str, Any], Dict[str, Any]]]:
    """(block, element) for every button in `blocks`."""
    for block in blocks:
        if block.get("type") == "actions":
            for element in block["elements"]:
                yield block, element


def find_button(blocks: List[Dict[str, Any]], action_prefix: str) -> Tuple[Dict[str, Any], Dict[str, Any]]:
    for block, element in buttons(blocks):
        if element["action_id"].startswith(action_prefix):
            return block, element
    raise AssertionError(f"no button {action_prefix!r} in {[e['action_id'] for _, e in buttons(blocks)]}")


def click_body(posted: Call, action_prefix: str, response_url: str, user: str = "UNURSE1",
               ephemeral: bool = False, channel: Optional[str] = None,
               answered: Optional[Dict[str, Any]] = None, value: Optional[str] = None) -> Dict[str, Any]:
    """The block_actions payload Slack sends when `user` clicks a button of a posted message.

    `posted` is the recorded chat.postMessage (or response_url) call that carried the message;
    `value` picks one of several buttons with the same action id.
    """
    if value is None:
        block, element = find_button(posted.data["blocks"], action_prefix)
    else:
        block, element = next((b, e) for b, e in buttons(posted.data["blocks"])
                              if e["action_id"].startswith(action_prefix) and e.get("value") == value)
    channel = channel or posted.data.get("channel")
    action = {"type": "button", "action_id": element["action_id"], "block_id": block.get("block_id", "b"),
              "text": element["text"], "value": element.get("value", ""), "action_ts": new_ts()}
    body: Dict[str, Any] = {
        "type": "block_actions",
        "user": {"id": user, "username": "nurse", "name": "nurse", "team_id": TEAM_ID},
        "api_app_id": "A0CARE",
        "token": "legacy-verification-token",
        "trigger_id": new_id("trigger.").lower(),
        "team": {"id": TEAM_ID, "domain": "care"},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": channel, "name": "tumour-board"},
        "response_url": response_url,
        "actions": [action],
        "state": {"values": {}},
    }
    if ephemeral:
        body["container"] = {"type": "message", "message_ts": new_ts(), "channel_id": channel, "is_ephemeral": True}
    else:
        ts = (answered or posted.answered).get("ts")
        message = {"type": "message", "user": BOT_USER, "bot_id": "BBOT", "ts": ts,
                   "text": posted.data.get("text"), "blocks": posted.data["blocks"]}
        container = {"type": "message", "message_ts": ts, "channel_id": channel, "is_ephemeral": False}
        if posted.data.get("thread_ts"):
            message["thread_ts"] = posted.data["thread_ts"]
            container["thread_ts"] = posted.data["thread_ts"]
        body["message"] = message
        body["container"] = container
    return body


class BotClient:
    """Sends signed requests to the bot's real HTTP endpoint."""

    def __init__(self, base_url: str, secret: str = SIGNING_SECRET) -> None:
        self.base_url = base_url
        self.secret = secret
        self.session = aiohttp.ClientSession()

    async def close(self) -> None:
        await self.session.close()

    async def post_raw(self, body: str, content_type: str, headers: Optional[Dict[str, str]] = None,
                       signed: bool = True, timestamp: Optional[int] = None) -> Tuple[int, str, float]:
        all_headers = {"Content-Type": content_type, **(sign(body, self.secret, timestamp) if signed else {})}
        all_headers.update(headers or {})
        started = time.monotonic()
        async with self.session.post(f"{self.base_url}/slack/events", data=body.encode(), headers=all_headers) as r:
            text = await r.text()
            return r.status, text, time.monotonic() - started

    async def event(self, body: Dict[str, Any], retry: Optional[int] = None, **kw: Any) -> Tuple[int, str, float]:
        headers = {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"} if retry else {}
        return await self.post_raw(json.dumps(body), "application/json", headers=headers, **kw)

    async def command(self, body: Dict[str, str]) -> Tuple[int, str, float]:
        return await self.post_raw(urlencode(body), "application/x-www-form-urlencoded")

    async def click(self, payload: Dict[str, Any]) -> Tuple[int, str, float]:
        return await self.post_raw(urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded")
