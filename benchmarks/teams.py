"""(2b) Teams end to end: `carebot serve teams` in its own process, driven by message activities
with valid Bot Connector JWTs at fixed rates, answering into a local mock Bot Connector.

Microsoft's side is played by `mocks.teams`: the signing key the Connector signs inbound requests
with and its OpenID metadata + JWKS (TEAMS_OPENID_METADATA_URL), the TLS token authority carebot
gets its own token from (TEAMS_LOGIN_URL, REQUESTS_CA_BUNDLE), and the Bot Connector REST API on
its own event loop in a thread (`ThreadedConnector`), which records every activity carebot posts.

What the Connector does, the load generator does: it POSTs each activity to /api/messages with an
RS256 bearer token (minted once and reused, as the Connector reuses its tokens), expects a 2xx
(201 for a message) within 15 s and delivers the activity again (same activity id) when it does
not get one; it also redelivers a small share of activities on purpose so de-duplication is
exercised under load. Sends are open-loop: each activity goes out at its scheduled time whatever
the server is doing.

Conversations come from `benchmarks.messages.CONVERSATIONS`, each in a personal chat of its own
(one nurse each) or in a thread of one team channel (the first message is the thread's root post,
follow-ups are replies in it, all @mentioning carebot); one message a second per conversation, so
follow-ups see the state the previous turn left. Every answer carebot posts is a reply to the
activity it answers (`POST .../activities/{activity id}`), so replies are matched to activities
exactly, by conversation and activity id; a long answer's later cards ("(part 2 of 3)") are not
counted as replies of their own.

carebot posts at most 50 Connector requests per second per tenant (`bot.teams.throttle`, Teams'
own limit), and the load is single-tenant as carebot is: above ~50 answers per second the answers
queue behind the throttle, which shows in the reply latency, not as drops.
"""
from __future__ import annotations

import asyncio
import json
import random
import re
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import aiohttp

from benchmarks import machine, openloop, stats
from benchmarks.messages import CONVERSATIONS
from benchmarks.servers import ServerProcess, start_server
from mocks.teams import (
    TENANT_ID,
    Call,
    MockConnector,
    TeamsCloud,
    ThreadedConnector,
    message_activity,
)

RATES = (10, 50, 100)
ACK_DEADLINE = 15.0  # the Bot Connector gives a bot 15 s to answer the POST, then retries
ACK_STATUSES = (200, 201)
ACK_GOAL_P99_MS = 100.0
MAX_RETRIES = 3
REDELIVER_SHARE = 0.02
CHANNEL_SHARE = 0.5  # conversations in a channel thread; the rest in personal chats
APOLOGY_PREFIX = "Sorry, I could not answer"
BENCH_CHANNEL = "19:carebot-bench@thread.tacv2"
_LATER_PART = re.compile(r"\(part (\d+) of \d+\)\s*$")


@dataclass
class Sent:
    """One message activity of the load and what happened to its deliveries."""

    index: int
    conversation: str  # the Connector's conversation id (a channel thread carries ;messageid=<root>)
    activity_id: str
    kind: str  # personal or channel
    scheduled: float
    redeliver: bool = False
    sent: Optional[float] = None
    ack_status: Optional[int] = None
    ack_latency: Optional[float] = None
    deliveries: int = 0  # requests sent for this activity (1 + redeliveries)
    connector_retries: int = 0  # redeliveries because no 2xx came in time
    body: bytes = b""

    @property
    def key(self) -> Tuple[str, str]:
        return self.conversation, self.activity_id


@dataclass
class _Lane:
    """A conversation being sent: the messages left, and where they go."""

    texts: List[str]
    kind: str
    conversation: Dict[str, Any]
    who: Dict[str, str]
    root: Optional[str] = None  # a channel thread's root post id, until its first message is planned


class ReplyLog:
    """The replies the mock Connector recorded, by (conversation, activity replied to), read
    incrementally from its call list (appended on the Connector's thread)."""

    def __init__(self, connector: MockConnector) -> None:
        self.connector = connector
        self.replies: Dict[Tuple[str, str], List[Call]] = {}
        self.later_parts = 0
        self.typing = 0
        self.other_posts = 0  # messages that reply to nothing (greetings): none expected here
        self.rejected = 0
        self.counts: Dict[str, int] = {}
        self._seen = 0

    def refresh(self) -> "ReplyLog":
        calls = self.connector.calls[self._seen:]  # one slice: atomic under the GIL
        self._seen += len(calls)
        for call in calls:
            name = f"{call.method} {call.type or '-'}"
            self.counts[name] = self.counts.get(name, 0) + 1
            if not call.ok:
                self.rejected += 1
                continue
            if call.type == "typing":
                self.typing += 1
            elif call.type != "message" or call.method != "POST":
                continue
            elif not call.activity_id:
                self.other_posts += 1
            elif _later_part(call):
                self.later_parts += 1
            else:
                self.replies.setdefault((call.conversation, call.activity_id), []).append(call)
        return self

    def answered(self, activities: Sequence[Sent]) -> bool:
        self.refresh()
        return all(a.key in self.replies for a in activities)


def _later_part(call: Call) -> bool:
    match = _LATER_PART.search(str(call.data.get("summary") or ""))
    return bool(match and int(match.group(1)) > 1)


def _apology(call: Call) -> bool:
    return str(call.data.get("text") or "").startswith(APOLOGY_PREFIX)


class TeamsBench:
    """Mock Microsoft cloud + mock Connector + `carebot serve teams` + load generator. start()
    returns at once (the server loads in the background); ready() waits; stop() ends it all."""

    def __init__(self, workdir: Path, say: Callable[[str], None], env: Optional[Dict[str, str]] = None,
                 profile_out: Optional[Path] = None) -> None:
        self.workdir = workdir
        self.say = say
        self.profile_out = profile_out
        self.env = dict(env or {})
        self.cloud = TeamsCloud()
        self.mock = ThreadedConnector(accept_token=self.cloud.authority.valid)
        self.server: Optional[ServerProcess] = None
        self._cloud_started = False
        self._ids = int(time.time() * 1000) * 1000
        self._nurses = 0
        self._token: Optional[str] = None
        self.log: Optional[ReplyLog] = None

    def start_mocks(self) -> None:
        """Microsoft's side only: the OpenID keys, the token authority and the Connector."""
        if not self._cloud_started:
            self.cloud.start()
            self._cloud_started = True
        if self.log is None:
            self.mock.start()
            self.log = ReplyLog(self.mock.connector)

    async def start(self) -> None:
        self.start_mocks()
        self.workdir.mkdir(parents=True, exist_ok=True)
        env = {
            **self.cloud.environment(),  # TEAMS_* pointing at the mocks, REQUESTS_CA_BUNDLE
            "CAREBOT_STATE_PATH": str(self.workdir / "teams-state.db"),
            **self.env,
        }
        command = None
        if self.profile_out is not None:
            self.profile_out.parent.mkdir(parents=True, exist_ok=True)
            # by path: the server's cwd is the scratch directory, where `-m benchmarks...` is not found
            command = [sys.executable, str(Path(__file__).with_name("profiled.py")), str(self.profile_out)]
        self.server = await start_server("teams", self.workdir, env, name="teams-server", command=command)

    async def ready(self, timeout: float = 600.0) -> ServerProcess:
        server = self._server()
        await server.ready(timeout)
        if server.hwm_after_start is None:
            server.hwm_after_start = machine.proc_status(server.pid).get("VmHWM")
        return server

    async def stop(self) -> Optional[int]:
        """SIGTERM (the server finishes answers in flight), then the mocks; the exit code."""
        code = await self.server.stop() if self.server is not None else None
        self.mock.close()
        if self._cloud_started:
            self.cloud.close()
            self._cloud_started = False
        return code

    def _server(self) -> ServerProcess:
        if self.server is None:
            raise RuntimeError("TeamsBench.start() first")
        return self.server

    # ---- load ---------------------------------------------------------------------------------

    @property
    def service_url(self) -> str:
        return self.mock.service_url

    def token(self) -> str:
        if self._token is None:  # one RSA signature; the Connector reuses its tokens too
            self._token = self.cloud.token(self.service_url, lifetime=6 * 3600)
        return self._token

    def _next_id(self) -> str:
        self._ids += 1
        return str(self._ids)

    def _new_conversation(self, rng: random.Random) -> "_Lane":
        """A personal chat with a nurse of its own, or a new thread in the team channel (whose
        conversation id names its root post: the conversation's first activity)."""
        self._nurses += 1
        who = {"user": f"29:bench-nurse-{self._nurses}", "user_aad": f"aad-bench-nurse-{self._nurses}"}
        if rng.random() < CHANNEL_SHARE:
            root = self._next_id()
            return _Lane([], "channel", {"id": f"{BENCH_CHANNEL};messageid={root}", "conversationType": "channel",
                                         "isGroup": True, "tenantId": TENANT_ID}, who, root)
        return _Lane([], "personal", {"id": f"a:bench-{uuid.uuid4().hex[:20]}", "conversationType": "personal",
                                      "tenantId": TENANT_ID}, who)

    def plan(self, rate: float, duration: float, start: float, rng: random.Random) -> List[Sent]:
        """`rate * duration` activities, one every 1/rate s, spread over `max(rate, 1)` open
        conversations (so each conversation gets about one message a second)."""
        count = max(1, int(round(rate * duration)))
        lanes = max(1, int(rate))
        order = list(range(len(CONVERSATIONS)))
        queue: List[int] = []
        open_lanes: List[Optional[_Lane]] = [None] * lanes
        planned = []
        for index in range(count):
            lane = open_lanes[index % lanes]
            if lane is None or not lane.texts:
                if not queue:
                    rng.shuffle(order)
                    queue = list(order)
                lane = self._new_conversation(rng)
                lane.texts = list(CONVERSATIONS[queue.pop()])
                open_lanes[index % lanes] = lane
            text = lane.texts.pop(0)
            activity_id, lane.root = lane.root or self._next_id(), None  # the root post, then replies
            activity = message_activity(text, lane.conversation, self.service_url, mention=lane.kind == "channel",
                                        activity_id=activity_id, **lane.who)
            planned.append(Sent(index=index, conversation=lane.conversation["id"], activity_id=activity_id,
                                kind=lane.kind,
                                scheduled=start + index / rate, redeliver=rng.random() < REDELIVER_SHARE,
                                body=json.dumps(activity).encode()))
        return planned

    async def _post(self, session: aiohttp.ClientSession, activity: Sent) -> Tuple[int, float]:
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {self.token()}"}
        activity.deliveries += 1
        return await openloop.timed_post(session, self._server().url + "/api/messages", activity.body, headers,
                                         ACK_DEADLINE)

    async def _deliver(self, session: aiohttp.ClientSession, activity: Sent) -> None:
        activity.sent = time.perf_counter()
        status, latency = await self._post(session, activity)
        activity.ack_status, activity.ack_latency = status, latency
        retry = 0
        while status not in ACK_STATUSES and retry < MAX_RETRIES:  # no 2xx in time: deliver again
            retry += 1
            activity.connector_retries += 1
            await asyncio.sleep(1.0)
            status, _ = await self._post(session, activity)
        if activity.redeliver:
            await asyncio.sleep(0.5)
            await self._post(session, activity)

    async def run_rate(self, session: aiohttp.ClientSession, rate: float, duration: float,
                       drain_timeout: float, rng: random.Random) -> Tuple[List[Sent], Dict[str, Any]]:
        server = self._server()
        log = self._log()
        start = time.perf_counter() + 0.2
        activities = self.plan(rate, duration, start, rng)
        figures = await openloop.drive(
            server.pid, activities, start, lambda activity: self._deliver(session, activity),
            lambda: log.answered(activities), drain_timeout)
        return activities, figures

    def _log(self) -> ReplyLog:
        if self.log is None:
            raise RuntimeError("TeamsBench.start() first")
        return self.log


def score(activities: Sequence[Sent], replies: Dict[Tuple[str, str], List[Call]], rate: float, duration: float,
          parse_ms: Optional[float]) -> Dict[str, Any]:
    """Latencies, drops, duplicates and apologies of one rate's activities against every reply
    the mock Connector recorded (keyed by conversation and the activity replied to)."""
    reply_latency: List[float] = []
    answered_at: List[float] = []
    drops = duplicates = apologies = 0
    for activity in activities:
        got = replies.get(activity.key, [])
        if not got:
            drops += 1
            continue
        duplicates += len(got) - 1
        apologies += sum(1 for call in got if _apology(call))
        if activity.sent is not None:
            reply_latency.append(got[0].arrived - activity.sent)
            answered_at.append(got[0].arrived)
    acks = [a.ack_latency for a in activities if a.ack_latency is not None and a.ack_status in ACK_STATUSES]
    ack = stats.summary(acks)
    reply = stats.summary(reply_latency)
    span = (max(answered_at) - min(answered_at)) if len(answered_at) > 1 else None
    return {
        "rate_per_s": rate,
        "duration_s": duration,
        "activities": len(activities),
        "personal": sum(1 for a in activities if a.kind == "personal"),
        "channel": sum(1 for a in activities if a.kind == "channel"),
        "requests": sum(a.deliveries for a in activities),
        "redelivered_on_purpose": sum(1 for a in activities if a.redeliver),
        "connector_retries": sum(a.connector_retries for a in activities),
        "ack_statuses": _statuses(activities),
        "ack_failures": sum(1 for a in activities if a.ack_status not in ACK_STATUSES),
        "late_acks": sum(1 for a in activities if (a.ack_latency or 0) > ACK_DEADLINE or a.ack_status == 0),
        "ack_ms": ack,
        "reply_ms": reply,
        "answered": len(reply_latency),
        "answer_rate_per_s": round(len(answered_at) / span, 2) if span else None,
        "drops": drops,
        "duplicates": duplicates,
        "apologies": apologies,
        "reply_p50_minus_parse_ms": (round(reply["median"] - parse_ms, 3)
                                     if reply["median"] is not None and parse_ms is not None else None),
    }


def _statuses(activities: Sequence[Sent]) -> Dict[str, int]:
    found: Dict[str, int] = {}
    for activity in activities:
        name = str(activity.ack_status)
        found[name] = found.get(name, 0) + 1
    return found


async def teams_benchmark(bench: TeamsBench, rates: Sequence[float], duration: float,
                          parse_ms: Optional[float], drain_timeout: Optional[float] = None,
                          seed: int = 5) -> Dict[str, Any]:
    """Run every rate against a ready server; returns {"teams": figures}."""
    from bot.teams.throttle import DEFAULT_RATE

    server = await bench.ready()
    log = bench._log()
    rng = random.Random(seed)
    idle = machine.proc_status(server.pid)
    reset = machine.reset_peak_rss(server.pid)
    results: List[Tuple[float, List[Sent], Dict[str, Any]]] = []
    connector = aiohttp.TCPConnector(limit=0, force_close=False)
    async with aiohttp.ClientSession(connector=connector) as session:
        # one warm-up question, unmeasured: the first parse builds TensorFlow's call graphs
        warm = bench.plan(1, 1, time.perf_counter(), rng)
        await asyncio.gather(*(bench._deliver(session, a) for a in warm))
        deadline = time.perf_counter() + 120
        while not log.answered(warm) and time.perf_counter() < deadline:
            await asyncio.sleep(0.05)
        for rate in rates:
            bench.say(f"bench: teams at {rate:g} activities/s for {duration:g} s ...")
            count = max(1, int(round(rate * duration)))
            # answers leave at most DEFAULT_RATE a second (the tenant throttle): allow for the queue
            timeout = drain_timeout if drain_timeout is not None else max(60.0, 3 * duration,
                                                                          2 * count / DEFAULT_RATE + 30)
            activities, extra = await bench.run_rate(session, rate, duration, timeout, rng)
            results.append((rate, activities, extra))
    peak = machine.proc_status(server.pid)
    log.refresh()
    per_rate = []
    for rate, activities, extra in results:  # scored after all rates, so late duplicates count too
        per_rate.append({**score(activities, log.replies, rate, duration, parse_ms), **extra})
    log_text = server.log_path.read_text(errors="replace") if server.log_path.exists() else ""
    teams = {
        "mode": "http",
        "profiled": bench.profile_out is not None,
        "server_command": "carebot serve teams",
        "store": "redis" if bench.env.get("CAREBOT_REDIS_URL") else "sqlite",
        "server_ready_seconds": round(server.ready_seconds or 0, 3),
        "rates": per_rate,
        "parse_ms_reference": parse_ms,
        "channel_share": CHANNEL_SHARE,
        "tenant_throttle_per_s": DEFAULT_RATE,
        "connector_calls": dict(sorted(log.counts.items())),
        "connector_rejected": log.rejected,
        "connector_token_refusals": bench.cloud.authority.refused,
        "typing_indicators": log.typing,
        "later_parts": log.later_parts,
        "unaddressed_posts": log.other_posts,
        "server_log_warnings": sum(1 for line in log_text.splitlines() if " WARNING " in line or " ERROR " in line),
        "rss_idle_mib": _mib(idle.get("VmRSS")),
        "peak_rss_mib": _mib(peak.get("VmHWM")),
        "peak_rss_includes_startup": not reset,
        "goal": {"ack_p99_ms_max": ACK_GOAL_P99_MS, "drops": 0, "duplicates": 0},
    }
    return {"teams": teams}


def _mib(value: Optional[int]) -> Optional[float]:
    return None if value is None else round(value / 1024 / 1024, 1)


__all__ = ["TeamsBench", "teams_benchmark", "RATES", "score", "Sent", "ReplyLog"]
