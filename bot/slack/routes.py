"""`POST /slack/events`: events, slash commands and interactivity alike (the manifest points all
three at it), added to the shared HTTP app from `bot.edge.http`.

Nothing parses a request before its signature is checked, on the raw bytes, here:

1. The body is read (bounded in size by the app, in time by `BODY_READ_SECONDS`).
2. Slack's v0 signature: `X-Slack-Request-Timestamp` must be 1 to 12 ASCII digits within five
   minutes of now, and `X-Slack-Signature` must equal `v0=` + hex HMAC-SHA256 of
   `v0:{timestamp}:{raw body}` with the signing secret (`hmac.compare_digest`). Anything else: 401,
   with no detail.
3. Only then is the body decoded and parsed, and its shape checked against what Bolt and the
   listeners read (`check_body`): invalid UTF-8, JSON that is not an object, a form without a
   `payload` or a `command`, an `event` that is not an object, an id that is not a string... are
   answered 400.
4. Bolt gets the request (it verifies the signature again, harmlessly) and answers.

So no bad request reaches Bolt's parsers, and none gets a 5xx (Slack retries those). A refusal is
logged as one line with the status and a fixed reason, rate-limited; the body is never logged.
Socket Mode needs none of this: its payloads come over carebot's own authenticated connection.
"""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time
from typing import Any, Callable, Mapping, Optional
from urllib.parse import parse_qsl

import async_timeout
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest

from bot.edge.http import RateLimitedLog
from bot.edge.metrics import EdgeMetrics

log = logging.getLogger("carebot.slack")

EVENTS_PATH = "/slack/events"
MAX_REQUEST_AGE_SECONDS = 5 * 60  # Slack's own rule, and Bolt's
MAX_TIMESTAMP_DIGITS = 12  # Unix seconds have 10 digits until the year 2286
SIGNATURE_LENGTH = len("v0=") + 64
BODY_READ_SECONDS = 10.0  # a body trickled in slower than this is not Slack's

# Interactivity payloads carry objects for who and where; events and commands carry ids.
_INTERACTIVE_TYPES = frozenset({
    "block_actions", "block_suggestion", "interactive_message", "message_action", "shortcut",
    "view_submission", "view_closed", "workflow_step_edit", "dialog_submission",
})
# Fields that are an id: a string, or (interactivity, Bolt's extractors) an object with a string id.
_ID_FIELDS = ("team", "user", "channel", "enterprise")
# Fields read as strings by Bolt's extractors or carebot's listeners, wherever they appear.
_STRING_FIELDS = (
    "type", "team_id", "user_id", "channel_id", "enterprise_id", "api_app_id", "event_id", "trigger_id",
    "response_url", "command", "token", "challenge", "ts", "thread_ts", "event_ts", "message_ts",
    "channel_type", "subtype", "bot_id", "client_msg_id", "user_team", "action_id", "block_id", "value",
    "action_ts", "callback_id", "app_installed_team_id", "function_execution_id", "bot_access_token",
)
# Fields Bolt or the listeners descend into.
_OBJECT_FIELDS = ("event", "message", "previous_message", "item", "assistant_thread", "container", "view",
                  "function_data")
_LIST_OF_OBJECT_FIELDS = ("authorizations", "actions", "response_urls")
# `text` is a string in envelopes, events and commands (a button's `text` is an object).
_TEXT_OBJECTS = ("event", "message", "previous_message")
_MAX_DEPTH = 3


class Refused(Exception):
    """A request answered with a 4xx before Bolt sees it; `reason` is a fixed word, never input."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def add_slack_routes(web_app: web.Application, app: AsyncApp, metrics: EdgeMetrics,
                     signing_secret: Optional[str] = None, clock: Callable[[], float] = time.time
                     ) -> web.Application:
    """Add `POST /slack/events`. The signing secret is the Bolt app's unless given."""
    secret = signing_secret if signing_secret is not None else str(getattr(app, "_signing_secret", "") or "")
    refusals = RateLimitedLog(log, every=10.0)

    async def events(request: web.Request) -> web.StreamResponse:
        started = time.perf_counter()
        metrics.received.inc()
        try:
            raw = await _read(request)
            if not verify_signature(secret, request.headers.get("X-Slack-Request-Timestamp"),
                                    request.headers.get("X-Slack-Signature"), raw, clock()):
                raise Refused(401, "signature")
            text = _decode(raw)
            check_body(text, request.content_type)
            try:
                bolt_request = AsyncBoltRequest(body=text, query=request.query_string,
                                                headers=dict(request.headers))
            except Exception:  # a shape check_body did not foresee: still the sender's fault
                raise Refused(400, "unreadable") from None
        except Refused as refused:
            metrics.refusal(refused.status)
            refusals.warning("request refused status=%d reason=%s path=%s", refused.status, refused.reason,
                             request.path)
            return web.Response(status=refused.status)
        bolt_response = await app.async_dispatch(bolt_request)
        if bolt_response.status >= 400:
            refusals.warning("request refused status=%d reason=bolt path=%s", bolt_response.status, request.path)
            metrics.refusal(bolt_response.status)
        else:
            metrics.acked.inc()
            metrics.ack_seconds.observe(time.perf_counter() - started)
        return await to_aiohttp_response(bolt_response)

    web_app.router.add_post(EVENTS_PATH, events)
    return web_app


async def _read(request: web.Request) -> bytes:
    """The body, read in the handler's own task: a body already received is taken at once, even on
    a busy loop (a wait_for task would queue behind everything else, and meanwhile the client may
    give up and take the buffered body with it)."""
    try:
        async with async_timeout.timeout(BODY_READ_SECONDS):
            return await request.read()
    except asyncio.TimeoutError:
        raise Refused(408, "slow_body") from None
    except web.HTTPRequestEntityTooLarge:
        raise Refused(413, "too_large") from None
    except (ConnectionError, OSError, ValueError) as exc:  # a truncated or malformed transfer
        raise Refused(400, type(exc).__name__) from None
    except Exception:  # aiohttp's payload errors
        raise Refused(400, "transfer") from None


def verify_signature(secret: str, timestamp: Optional[str], signature: Optional[str], body: bytes,
                     now: float) -> bool:
    """Slack's v0 request signature, checked on the raw bytes. Never raises."""
    if not secret or timestamp is None or signature is None:
        return False
    if not (0 < len(timestamp) <= MAX_TIMESTAMP_DIGITS and timestamp.isascii() and timestamp.isdigit()):
        return False
    if abs(now - int(timestamp)) > MAX_REQUEST_AGE_SECONDS:
        return False
    if len(signature) != SIGNATURE_LENGTH or not signature.isascii() or not signature.startswith("v0="):
        return False
    expected = "v0=" + hmac.new(secret.encode(), b"v0:" + timestamp.encode("ascii") + b":" + body,
                                hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode("ascii"), signature.encode("ascii"))


def _decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise Refused(400, "not_utf8") from None


def check_body(text: str, content_type: Optional[str]) -> None:
    """Raise Refused(400) unless the body is one Bolt parses the way Slack means it, with every
    field Bolt or the listeners read of the type they expect. Mirrors Bolt's `parse_body`."""
    try:
        _check_body(text, content_type)
    except Refused:
        raise
    except Exception:  # the check itself must not turn a bad body into a 500
        raise Refused(400, "unreadable") from None


def _check_body(text: str, content_type: Optional[str]) -> None:
    if not text:
        raise Refused(400, "empty")
    if content_type == "application/json" or text.startswith("{"):
        check_payload(_json_object(text))
        return
    if content_type not in ("application/x-www-form-urlencoded", "", None):
        raise Refused(400, "content_type")
    form = dict(parse_qsl(text, keep_blank_values=True))
    if "payload" in text:  # Bolt's own test, on the raw text
        if "payload" not in form:
            raise Refused(400, "no_payload")
        check_payload(_json_object(form["payload"]))
        return
    if "command" not in form and "ssl_check" not in form:
        raise Refused(400, "no_payload")


def _json_object(text: str) -> Mapping[str, Any]:
    try:
        payload = json.loads(text)
    except (ValueError, RecursionError):
        raise Refused(400, "json") from None
    if not isinstance(payload, dict):
        raise Refused(400, "not_an_object")
    return payload


def check_payload(payload: Mapping[str, Any]) -> None:
    """The shape of a parsed payload (an Events API envelope or an interactivity payload)."""
    kind = payload.get("type")
    _check_object(payload, interactive=kind in _INTERACTIVE_TYPES, depth=0)
    for node in [payload] + [payload.get(name) for name in _TEXT_OBJECTS]:
        if isinstance(node, dict) and not isinstance(node.get("text", ""), (str, type(None))):
            raise Refused(400, "field_type")
    if kind == "event_callback":
        event = payload.get("event")
        if not isinstance(event, dict) or not isinstance(event.get("type"), str):
            raise Refused(400, "event")
    elif kind == "url_verification":
        if not isinstance(payload.get("challenge"), str):
            raise Refused(400, "challenge")
    elif kind == "block_actions":  # Bolt's matchers read every action's action_id
        actions = payload.get("actions")
        if not isinstance(actions, list) or not actions or not all(
                isinstance(a, dict) and isinstance(a.get("action_id"), str) for a in actions):
            raise Refused(400, "actions")
    elif kind in ("shortcut", "message_action") and not isinstance(payload.get("callback_id"), str):
        raise Refused(400, "callback_id")
    elif kind in ("view_submission", "view_closed") and not isinstance(
            (payload.get("view") or {}).get("callback_id"), str):
        raise Refused(400, "callback_id")
    elif kind == "block_suggestion" and not isinstance(payload.get("action_id"), str):
        raise Refused(400, "action_id")


def _check_object(node: Mapping[str, Any], *, interactive: bool, depth: int) -> None:
    if depth > _MAX_DEPTH:
        return
    for name in _STRING_FIELDS:
        value = node.get(name)
        if value is not None and not isinstance(value, str):
            raise Refused(400, "field_type")
    for name in _ID_FIELDS:
        value = node.get(name)
        if value is None:
            continue
        if isinstance(value, dict):
            if not isinstance(value.get("id", ""), (str, type(None))):
                raise Refused(400, "id_type")
            _check_object(value, interactive=False, depth=depth + 1)
        elif not isinstance(value, str) or interactive:
            # interactivity payloads name who and where with objects; the listeners read `.id`
            raise Refused(400, "id_type")
    for name in _OBJECT_FIELDS:
        value = node.get(name)
        if value is None:
            continue
        if not isinstance(value, dict):
            raise Refused(400, "object_type")
        _check_object(value, interactive=False, depth=depth + 1)
    for name in _LIST_OF_OBJECT_FIELDS:
        value = node.get(name)
        if value is None:
            continue
        if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
            raise Refused(400, "list_type")
        for item in value[:50]:
            _check_object(item, interactive=False, depth=depth + 1)
