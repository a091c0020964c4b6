"""The HTTP server every webhook platform is served on: one aiohttp app, `GET /healthz`, `GET /metrics`.

A platform adds its own route (`POST /slack/events`, `POST /api/messages`) to the app from
`build_web_app`; what is common to serving webhooks is here once: health, metrics, binding, the
body size limit, and the limits that keep idle or slow clients from exhausting the process:

- **Header-read timeout** (`HEADER_TIMEOUT_SECONDS`): a connection that has not sent a complete
  request head by then is closed. aiohttp 3.9 has none of its own, so a client that connects and
  sends nothing, or half its headers (slowloris), would hold a file descriptor for ever.
- **Idle keep-alive timeout** (`KEEPALIVE_TIMEOUT_SECONDS`): aiohttp's own, shorter than its 75 s
  default; it also bounds a keep-alive connection that starts a second request and stalls.
- **A cap on open connections** (`max_connections`, by default half the open-file limit): at the
  cap, a new connection evicts the oldest one that is idle (no request in progress), so a flood
  of idle connections cannot lock real clients out, and the process keeps file descriptors for
  its own work (the state store, posting answers). When every connection is busy, the new one
  is closed at once. The listen backlog (how many connections asyncio accepts in one go, before
  any is admitted) is small on a low open-file limit, so a flood overshoots the cap only briefly
  and by little.
- **Accept failures are logged once per `ACCEPT_ERROR_LOG_SECONDS`**, with a count, instead of
  the traceback asyncio logs for every failed accept (EMFILE), which can flood a disk.

The open connections are the `carebot_open_connections` gauge. Each limit can be overridden from
the environment (`CAREBOT_HTTP_HEADER_TIMEOUT`, `CAREBOT_HTTP_KEEPALIVE_TIMEOUT`,
`CAREBOT_HTTP_MAX_CONNECTIONS`), or per server by `start_http`'s arguments.
"""
from __future__ import annotations

import asyncio
import errno
import logging
import os
import socket
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Dict, Optional

from aiohttp import web
from aiohttp.web_protocol import RequestHandler

from bot.edge.metrics import EdgeMetrics

log = logging.getLogger("carebot.http")

HEALTH_PATH = "/healthz"
METRICS_PATH = "/metrics"
MAX_BODY_BYTES = 1024 * 1024  # chat payloads are a few KB
HEADER_TIMEOUT_SECONDS = 10.0
KEEPALIVE_TIMEOUT_SECONDS = 15.0
ACCEPT_ERROR_LOG_SECONDS = 10.0
MIN_CONNECTIONS, MAX_DEFAULT_CONNECTIONS = 16, 4096
ACCEPT_ERROR_MESSAGE = "socket.accept() out of system resource"  # asyncio's, for EMFILE and kin

# aiohttp >= 3.9 wants typed keys for app state; a plain string works on older versions
METRICS_KEY: Any = web.AppKey("carebot_metrics", EdgeMetrics) if hasattr(web, "AppKey") else "carebot_metrics"

# Health: a dict of facts, with "ok" False when the process cannot serve (its store is down).
Health = Callable[[], Awaitable[Dict[str, Any]]]


def build_web_app(health: Health, metrics: EdgeMetrics) -> web.Application:
    async def healthz(_: web.Request) -> web.StreamResponse:
        report = await health()
        return web.json_response(report, status=200 if report.get("ok", True) else 503)

    async def metrics_page(_: web.Request) -> web.StreamResponse:
        return web.Response(body=metrics.render(), headers={"Content-Type": metrics.content_type})

    web_app = web.Application(client_max_size=MAX_BODY_BYTES)
    web_app[METRICS_KEY] = metrics
    web_app.router.add_get(HEALTH_PATH, healthz)
    web_app.router.add_get(METRICS_PATH, metrics_page)
    return web_app


class RateLimitedLog:
    """At most one line per `every` seconds; the next line says how many were left out."""

    def __init__(self, logger: logging.Logger, every: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.logger = logger
        self.every = every
        self._clock = clock
        self._last: Optional[float] = None
        self.suppressed = 0

    def log(self, level: int, message: str, *args: Any) -> None:
        now = self._clock()
        if self._last is not None and now - self._last < self.every:
            self.suppressed += 1
            return
        if self.suppressed:
            message += " (%d more like this in the last %ds)"
            args = args + (self.suppressed, round(now - (self._last or now)))
        self.suppressed = 0
        self._last = now
        self.logger.log(level, message, *args)

    def warning(self, message: str, *args: Any) -> None:
        self.log(logging.WARNING, message, *args)

    def error(self, message: str, *args: Any) -> None:
        self.log(logging.ERROR, message, *args)


# ---- connection limits ------------------------------------------------------------------------------


def _open_file_limit() -> Optional[int]:
    try:
        import resource

        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    except (ImportError, OSError, ValueError):
        return None
    if soft == getattr(resource, "RLIM_INFINITY", -1) or soft <= 0:
        return None
    return int(soft)


def default_max_connections() -> int:
    """Half the open-file limit: the other half is for the process's own work, and for the
    connections accepted but not yet admitted or evicted but not yet closed (see `default_backlog`)."""
    soft = _open_file_limit()
    if soft is None:
        return MAX_DEFAULT_CONNECTIONS
    return max(MIN_CONNECTIONS, min(MAX_DEFAULT_CONNECTIONS, soft // 2))


def default_backlog() -> int:
    """The listen backlog, which is also how many connections asyncio accepts in one go, before
    any of them is admitted (or an idle one evicted to make room): a flood can overshoot the cap
    by a few of these batches for a loop turn or two, so on a low open-file limit they are small."""
    soft = _open_file_limit()
    if soft is None:
        return 128
    return max(16, min(128, soft // 32))


@dataclass
class ConnectionLimits:
    max_connections: int = field(default_factory=default_max_connections)
    header_timeout: float = HEADER_TIMEOUT_SECONDS
    keepalive_timeout: float = KEEPALIVE_TIMEOUT_SECONDS
    backlog: int = field(default_factory=default_backlog)

    @classmethod
    def from_env(cls, environ: Optional[Dict[str, str]] = None) -> "ConnectionLimits":
        env = os.environ if environ is None else environ
        limits = cls()
        limits.header_timeout = _positive(env.get("CAREBOT_HTTP_HEADER_TIMEOUT"), limits.header_timeout)
        limits.keepalive_timeout = _positive(env.get("CAREBOT_HTTP_KEEPALIVE_TIMEOUT"), limits.keepalive_timeout)
        limits.max_connections = int(_positive(env.get("CAREBOT_HTTP_MAX_CONNECTIONS"), limits.max_connections))
        return limits


def _positive(raw: Optional[str], default: float) -> float:
    try:
        value = float(raw) if raw is not None and raw.strip() else default
    except ValueError:
        log.warning("ignoring a setting that is not a number: %r", raw)
        return default
    return value if value > 0 else default


class ConnectionTracker:
    """Open connections of one server, oldest first; evicts idle ones at the cap."""

    def __init__(self, limits: ConnectionLimits, metrics: Optional[EdgeMetrics]) -> None:
        self.limits = limits
        self._gauge = metrics.open_connections if metrics is not None else None
        self._open: "OrderedDict[_LimitedHandler, None]" = OrderedDict()
        self.evicted = 0
        self.refused = 0
        self.timed_out = 0

    @property
    def count(self) -> int:
        return len(self._open)

    def opened(self, handler: "_LimitedHandler") -> bool:
        """Admit `handler`, evicting an idle connection if at the cap; False: close it instead."""
        if len(self._open) >= self.limits.max_connections:
            victim = self._idle_victim()
            if victim is None:
                self.refused += 1
                return False
            self.evicted += 1
            self._forget(victim)
            victim.force_close()
        self._open[handler] = None
        if self._gauge is not None:
            self._gauge.inc()
        return True

    def closed(self, handler: "_LimitedHandler") -> None:
        self._forget(handler)

    def _forget(self, handler: "_LimitedHandler") -> None:
        if handler in self._open:
            del self._open[handler]
            if self._gauge is not None:
                self._gauge.dec()

    def _idle_victim(self) -> Optional["_LimitedHandler"]:
        """The oldest connection that never sent a request; else the oldest idle keep-alive one."""
        fallback = None
        for handler in self._open:
            if handler.busy:
                continue
            if not handler.served:
                return handler
            if fallback is None:
                fallback = handler
        return fallback


class _LimitedHandler(RequestHandler):
    """aiohttp's connection handler, with a header-read deadline and a place under the cap."""

    def __init__(self, manager: web.Server, *, tracker: ConnectionTracker, **kwargs: Any) -> None:
        super().__init__(manager, **kwargs)
        self._tracker = tracker
        self._admitted = False
        self._header_timer: Optional[asyncio.TimerHandle] = None

    @property
    def served(self) -> bool:
        """A complete request head has arrived on this connection."""
        return bool(getattr(self, "_request_count", 0))

    @property
    def busy(self) -> bool:
        return getattr(self, "_current_request", None) is not None or bool(getattr(self, "_messages", None))

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self._admitted = self._tracker.opened(self)
        if not self._admitted:
            self.force_close()
            return
        self._header_timer = self._loop.call_later(self._tracker.limits.header_timeout, self._header_deadline)

    def _header_deadline(self) -> None:
        self._header_timer = None
        if self.transport is not None and not self.served and not self.busy:
            self._tracker.timed_out += 1
            self.force_close()

    def connection_lost(self, exc: Optional[BaseException]) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None
        if self._admitted:
            self._admitted = False
            self._tracker.closed(self)
        super().connection_lost(exc)


class _LimitedSite(web.SockSite):
    """A SockSite whose connections are `_LimitedHandler`s."""

    def __init__(self, runner: web.AppRunner, sock: socket.socket, tracker: ConnectionTracker) -> None:
        super().__init__(runner, sock, backlog=tracker.limits.backlog)
        self._tracker = tracker

    async def start(self) -> None:
        await web.BaseSite.start(self)
        loop = asyncio.get_running_loop()
        server = self._runner.server
        assert server is not None
        kwargs = dict(getattr(server, "_kwargs", {}))
        tracker = self._tracker

        def handler() -> RequestHandler:
            return _LimitedHandler(server, tracker=tracker, loop=loop, **kwargs)

        self._server = await loop.create_server(handler, sock=self._sock, backlog=self._backlog)


# ---- accept failures ----------------------------------------------------------------------------------


class AcceptErrorLog:
    """A loop exception handler: asyncio reports each failed accept (EMFILE, ENFILE, ENOBUFS,
    ENOMEM) with a traceback, up to a backlog's worth per loop turn; this says it once per
    `every` seconds, with a count, and hands anything else to the handler it replaced."""

    def __init__(self, previous: Optional[Callable[[asyncio.AbstractEventLoop, Dict[str, Any]], Any]],
                 every: float = ACCEPT_ERROR_LOG_SECONDS) -> None:
        self.previous = previous
        self.lines = RateLimitedLog(log, every)
        self.failures = 0

    def __call__(self, loop: asyncio.AbstractEventLoop, context: Dict[str, Any]) -> None:
        if context.get("message") == ACCEPT_ERROR_MESSAGE:
            self.failures += 1
            exc = context.get("exception")
            code = errno.errorcode.get(getattr(exc, "errno", None) or 0, type(exc).__name__)
            self.lines.error("cannot accept connections error=%s", code)
            return
        if self.previous is not None:
            self.previous(loop, context)
        else:
            loop.default_exception_handler(context)


def install_accept_error_log(loop: asyncio.AbstractEventLoop) -> AcceptErrorLog:
    current = loop.get_exception_handler()
    if isinstance(current, AcceptErrorLog):
        return current
    handler = AcceptErrorLog(current)
    loop.set_exception_handler(handler)
    return handler


# ---- serving ------------------------------------------------------------------------------------------


@dataclass
class HttpServer:
    runner: web.AppRunner
    host: str
    port: int
    tracker: Optional[ConnectionTracker] = None

    @property
    def url(self) -> str:
        host = "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host
        return f"http://{host}:{self.port}"

    @property
    def open_connections(self) -> int:
        return self.tracker.count if self.tracker is not None else 0

    async def close(self) -> None:
        await self.runner.cleanup()


async def start_http(web_app: web.Application, host: str, port: int,
                     limits: Optional[ConnectionLimits] = None) -> HttpServer:
    """Serve `web_app`; port 0 picks a free port (tests), reported back in `HttpServer.port`.
    `limits` default to `ConnectionLimits.from_env()`."""
    limits = limits or ConnectionLimits.from_env()
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    install_accept_error_log(asyncio.get_running_loop())
    metrics = web_app.get(METRICS_KEY)
    tracker = ConnectionTracker(limits, metrics)
    # access logs would only add noise
    runner = web.AppRunner(web_app, access_log=None, keepalive_timeout=limits.keepalive_timeout)
    await runner.setup()
    site = _LimitedSite(runner, sock, tracker)
    await site.start()
    bound_port = sock.getsockname()[1]
    log.info("listening on %s:%d max_connections=%d header_timeout=%gs keepalive_timeout=%gs", host,
             bound_port, limits.max_connections, limits.header_timeout, limits.keepalive_timeout)
    return HttpServer(runner=runner, host=host, port=bound_port, tracker=tracker)
