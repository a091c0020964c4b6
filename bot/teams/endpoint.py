"""`POST /api/messages`: where the Bot Connector delivers Teams activities.

In order, each cheap and fail-closed:

1. No `Authorization` header: 401 before anything else (the SDK crashes on None).
2. A body that is not a JSON activity: 400.
3. Authentication (`bot.teams.auth`): every failure is 401, and nothing is claimed or posted, so
   a refused delivery leaves its activity id unseen and a genuine retry is still answered.
4. An activity from another tenant than carebot's own: 403 (single-tenant bot).
5. The turn, through the SDK adapter: messages are claimed and acknowledged at once (answers
   come later, from the responder); an invoke gets its response in the HTTP answer.

Logs carry activity ids, types, statuses and error names, never the body or the text.
"""
from __future__ import annotations

import logging
import re
import time
from typing import Any

from aiohttp import web
from botbuilder.schema import Activity

from bot.edge.metrics import EdgeMetrics
from bot.teams.adapter import TeamsAdapter
from bot.teams.app import CarebotTeamsBot
from bot.teams.auth import TeamsAuth, Unauthorized
from bot.teams.conversations import tenant_of

log = logging.getLogger("carebot.teams")

MESSAGES_PATH = "/api/messages"
_ID_SHAPE = re.compile(r"^[A-Za-z0-9:;@._=/+-]+$")


class MessagesEndpoint:
    def __init__(self, auth: TeamsAuth, adapter: TeamsAdapter, bot: CarebotTeamsBot, metrics: EdgeMetrics,
                 tenant_id: str) -> None:
        self.auth = auth
        self.adapter = adapter
        self.bot = bot
        self.metrics = metrics
        self.tenant_id = tenant_id.lower()

    def install(self, web_app: web.Application) -> None:
        web_app.router.add_post(MESSAGES_PATH, self.handle)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        started = time.perf_counter()
        self.metrics.received.inc()
        header = request.headers.get("Authorization")
        if not header or not header.strip():
            return self._refuse(401, "missing_header", None)
        try:
            body = await request.json()
        except web.HTTPRequestEntityTooLarge:
            self.metrics.refusal(413)
            raise
        except ValueError:
            return self._refuse(400, "not_json", None)
        if not isinstance(body, dict) or not isinstance(body.get("type"), str):
            return self._refuse(400, "not_an_activity", None)
        try:
            activity = Activity.deserialize(body)
        except Exception:
            return self._refuse(400, "not_an_activity", None)
        try:
            authenticated = await self.auth.authenticate(header, activity)
        except Unauthorized as exc:
            return self._refuse(401, exc.reason, activity)
        if activity.conversation is None or not activity.conversation.id:
            return self._refuse(400, "no_conversation", activity)
        if tenant_of(activity) != self.tenant_id:
            return self._refuse(403, "other_tenant", activity)
        try:
            invoke = await self.adapter.process(authenticated, activity, self.bot.on_turn)
        except Exception as exc:
            self.metrics.failure("turn")
            log.error("activity failed activity=%s type=%s error=%s", activity.id, activity.type, type(exc).__name__)
            return web.Response(status=500)
        self.metrics.acked.inc()
        self.metrics.ack_seconds.observe(time.perf_counter() - started)
        if invoke is not None:
            return web.json_response(invoke.body, status=int(invoke.status or 200))
        return web.Response(status=201)  # as Microsoft's adapter answers an activity it accepted

    def _refuse(self, status: int, reason: str, activity: Any) -> web.StreamResponse:
        self.metrics.refusal(status)
        # a refused request is unauthenticated input: its fields are logged only if id-shaped
        log.warning("refused status=%d reason=%s activity=%s type=%s", status, reason,
                    _loggable(getattr(activity, "id", None)), _loggable(getattr(activity, "type", None)))
        return web.Response(status=status)


def _loggable(value: Any) -> str:
    text = str(value) if value is not None else ""
    return text if text and len(text) <= 100 and _ID_SHAPE.match(text) else "-"
