"""A local stand-in for the Slack Web API, and requests signed exactly as Slack signs them.

The mock answers `auth.test` and `chat.postMessage` (everything else: `{"ok": true}`) on
127.0.0.1, checks the bot token like Slack does, and records when each message arrives, on the
same clock the load generator uses, so event-to-reply latency needs no clock synchronisation.

It runs its own event loop in a thread of the benchmark process: the benchmark's main loop is
busy for seconds at a time (loading the model in-process, timing turns), and Slack must answer
the server's `auth.test` at its start-up meanwhile, as the real one would.
"""
from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import asyncio
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any, Dict, List, Optional
from urllib.parse import parse_qsl

from aiohttp import web

BOT_TOKEN = "xoxb-bench-" + "0" * 12
TEAM_ID = "TBENCH"
BOT_USER = "UBENCHBOT"
BOT_ID = "BBENCHBOT"
ASKER = "UBENCHNURSE"
CHANNEL = "CBENCH0001"


def new_signing_secret() -> str:
    return secrets.token_hex(16)


def sign(body: bytes, secret: str, timestamp: Optional[int] = None) -> Dict[str, str]:
    """Slack's v0 scheme: `v0=` + hex HMAC-SHA256 of `v0:{timestamp}:{body}` with the signing secret."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), b"v0:" + ts.encode() + b":" + body, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}"}


def mention_body(text: str, ts: str, thread_ts: Optional[str], event_id: str, client_msg_id: str,
                 channel: str = CHANNEL) -> Dict[str, Any]:
    """The Events API envelope of an app_mention, as Slack delivers it."""
    event: Dict[str, Any] = {
        "type": "app_mention", "user": ASKER, "text": f"<@{BOT_USER}> {text}", "ts": ts, "channel": channel,
        "event_ts": ts, "client_msg_id": client_msg_id, "team": TEAM_ID,
    }
    if thread_ts:
        event["thread_ts"] = thread_ts
    return {
        "token": "legacy-verification-token", "team_id": TEAM_ID, "api_app_id": "ABENCH", "event": event,
        "type": "event_callback", "event_id": event_id, "event_time": int(time.time()),
        "authorizations": [{"team_id": TEAM_ID, "user_id": BOT_USER, "is_bot": True,
                            "is_enterprise_install": False}],
    }


@dataclass
class Post:
    channel: str
    thread_ts: Optional[str]
    text: str
    at: float  # time.perf_counter() when the request arrived
    first_part: bool  # False for "(continued, part n of m)" messages of a long answer


class MockWebApi:
    def __init__(self) -> None:
        self.posts: List[Post] = []  # appended by the mock's thread, read by the benchmark's
        self.calls: Dict[str, int] = {}
        self.rejected = 0
        self._ts = itertools.count(1)
        self._runner: Optional[web.AppRunner] = None
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._thread: Optional[threading.Thread] = None
        self.url = ""

    def start(self, timeout: float = 30.0) -> "MockWebApi":
        """Serve on an ephemeral loopback port from a thread of its own; returns once listening."""
        started = threading.Event()
        failure: List[BaseException] = []

        def serve() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self._listen())
            except BaseException as exc:  # noqa: BLE001 - handed to the starting thread
                failure.append(exc)
                started.set()
                return
            started.set()
            loop.run_forever()
            loop.run_until_complete(self._runner.cleanup() if self._runner else asyncio.sleep(0))
            loop.close()

        self._thread = threading.Thread(target=serve, name="mock-slack-web-api", daemon=True)
        self._thread.start()
        if not started.wait(timeout) or failure:
            raise RuntimeError(f"the mock Slack Web API did not start: {failure[0] if failure else 'timeout'}")
        return self

    async def _listen(self) -> None:
        app = web.Application(client_max_size=4 * 1024 * 1024)
        app.router.add_post("/api/{method}", self._api)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/"

    def close(self) -> None:
        if self._loop is not None and self._thread is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(30)

    async def _api(self, request: web.Request) -> web.StreamResponse:
        arrived = time.perf_counter()
        method = request.match_info["method"]
        self.calls[method] = self.calls.get(method, 0) + 1
        raw = await request.text()
        if request.content_type == "application/json":
            data: Dict[str, Any] = json.loads(raw) if raw else {}
        else:
            data = dict(parse_qsl(raw))
        token = request.headers.get("Authorization", "").removeprefix("Bearer ").strip() or data.get("token")
        if token != BOT_TOKEN:
            self.rejected += 1
            return web.json_response({"ok": False, "error": "invalid_auth"})
        if method == "auth.test":
            return web.json_response({"ok": True, "url": "https://bench.slack.com/", "team": "Bench",
                                      "user": "carebot", "team_id": TEAM_ID, "user_id": BOT_USER,
                                      "bot_id": BOT_ID, "is_enterprise_install": False})
        if method == "chat.postMessage":
            text = str(data.get("text") or "")
            self.posts.append(Post(channel=str(data.get("channel")), thread_ts=data.get("thread_ts"), text=text,
                                   at=arrived, first_part=not text.startswith("(continued, part ")))
            ts = f"{int(time.time())}.{next(self._ts):06d}"
            return web.json_response({"ok": True, "channel": data.get("channel"), "ts": ts})
        return web.json_response({"ok": True})
