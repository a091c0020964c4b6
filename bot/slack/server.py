"""The HTTP Events API endpoint: one aiohttp server, one URL for everything Slack sends.

`POST /slack/events` takes events, slash commands and interactivity alike (the manifest points
all three at it); Bolt verifies the signature and timestamp of each request before any listener
sees it. `GET /healthz` is for load balancers and `make run` users checking the process is up.
"""
from __future__ import annotations

import logging
import socket
from dataclasses import dataclass
from typing import Any, Callable, Dict

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp

log = logging.getLogger("carebot.slack")

EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"
MAX_BODY_BYTES = 1024 * 1024  # Slack payloads are a few KB


def build_web_app(app: AsyncApp, health: Callable[[], Dict[str, Any]]) -> web.Application:
    async def events(request: web.Request) -> web.StreamResponse:
        bolt_response = await app.async_dispatch(await to_bolt_request(request))
        if bolt_response.status >= 400:
            # 401 for a bad signature or stale timestamp: say so, without the body
            log.warning("request refused status=%d path=%s", bolt_response.status, request.path)
        return await to_aiohttp_response(bolt_response)

    async def healthz(_: web.Request) -> web.StreamResponse:
        return web.json_response({"ok": True, **health()})

    web_app = web.Application(client_max_size=MAX_BODY_BYTES)
    web_app.router.add_post(EVENTS_PATH, events)
    web_app.router.add_get(HEALTH_PATH, healthz)
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
    log.info("listening on %s:%d%s", host, bound_port, EVENTS_PATH)
    return HttpServer(runner=runner, host=host, port=bound_port)
