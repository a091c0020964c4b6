"""The HTTP server every webhook platform is served on: one aiohttp app, `GET /healthz`, `GET /metrics`.

A platform adds its own route (`POST /slack/events`, `POST /api/messages`) to the app from
`build_web_app`; what is common to serving webhooks (health, metrics, binding, limits on body
size) is here once.
"""
from __future__ import annotations

import logging
import socket
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Dict

from aiohttp import web

from bot.edge.metrics import EdgeMetrics

log = logging.getLogger("carebot.http")

HEALTH_PATH = "/healthz"
METRICS_PATH = "/metrics"
MAX_BODY_BYTES = 1024 * 1024  # chat payloads are a few KB

# Health: a dict of facts, with "ok" False when the process cannot serve (its store is down).
Health = Callable[[], Awaitable[Dict[str, Any]]]


def build_web_app(health: Health, metrics: EdgeMetrics) -> web.Application:
    async def healthz(_: web.Request) -> web.StreamResponse:
        report = await health()
        return web.json_response(report, status=200 if report.get("ok", True) else 503)

    async def metrics_page(_: web.Request) -> web.StreamResponse:
        return web.Response(body=metrics.render(), headers={"Content-Type": metrics.content_type})

    web_app = web.Application(client_max_size=MAX_BODY_BYTES)
    web_app.router.add_get(HEALTH_PATH, healthz)
    web_app.router.add_get(METRICS_PATH, metrics_page)
    return web_app


@dataclass
class HttpServer:
    runner: web.AppRunner
    host: str
    port: int

    @property
    def url(self) -> str:
        host = "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host
        return f"http://{host}:{self.port}"

    async def close(self) -> None:
        await self.runner.cleanup()


async def start_http(web_app: web.Application, host: str, port: int) -> HttpServer:
    """Serve `web_app`; port 0 picks a free port (tests), reported back in `HttpServer.port`."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    runner = web.AppRunner(web_app, access_log=None)  # access logs would only add noise
    await runner.setup()
    site = web.SockSite(runner, sock)
    await site.start()
    bound_port = sock.getsockname()[1]
    log.info("listening on %s:%d", host, bound_port)
    return HttpServer(runner=runner, host=host, port=bound_port)
