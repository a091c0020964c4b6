"""`POST /slack/events`: events, slash commands and interactivity alike (the manifest points all
three at it), added to the shared HTTP app from `bot.edge.http`.

Bolt verifies the signature and timestamp of each request before any listener sees it.
"""
from __future__ import annotations

import logging
import time

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp

from bot.edge.metrics import EdgeMetrics

log = logging.getLogger("carebot.slack")

EVENTS_PATH = "/slack/events"


def add_slack_routes(web_app: web.Application, app: AsyncApp, metrics: EdgeMetrics) -> web.Application:
    async def events(request: web.Request) -> web.StreamResponse:
        started = time.perf_counter()
        metrics.received.inc()
        bolt_response = await app.async_dispatch(await to_bolt_request(request))
        if bolt_response.status >= 400:
            # 401 for a bad signature or stale timestamp: say so, without the body
            log.warning("request refused status=%d path=%s", bolt_response.status, request.path)
            metrics.refusal(bolt_response.status)
        else:
            metrics.acked.inc()
            metrics.ack_seconds.observe(time.perf_counter() - started)
        return await to_aiohttp_response(bolt_response)

    web_app.router.add_post(EVENTS_PATH, events)
    return web_app
