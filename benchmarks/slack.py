"""(2) Slack end to end and (4) memory: `carebot serve slack --http` in its own process, driven by
signed Events API requests at fixed rates, answering into a local mock Web API.

What Slack does, the load generator does: it signs each request with the app's signing secret,
expects the 200 within 3 seconds and redelivers the event (same event_id, X-Slack-Retry-Num) when
it does not get one, and it also redelivers a small share of events on purpose (Slack does, after
network trouble) so de-duplication is exercised under load. Sends are open-loop: each event goes
out at its scheduled time whatever the server is doing, so a slow server shows as latency and
backlog, not as a politely slower generator.

Conversations are threads in one channel: each starts with a mention and continues in its thread,
one message a second, so follow-ups see the state the previous turn left. Replies are matched to
events per thread in order (the server answers a thread's messages in arrival order).

The server's memory is read from /proc/<pid>/status: VmHWM (peak RSS) after its start, reset to
the current RSS just before the load (clear_refs), and read again after each rate.
"""
from __future__ import annotations

import asyncio
import json
import random
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import aiohttp

from benchmarks import machine, openloop, stats
from benchmarks.messages import CONVERSATIONS
from mocks.slack import BOT_TOKEN, CHANNEL, MockWebApi, Post, mention_body, new_signing_secret, sign
from benchmarks.servers import ServerProcess, start_server

RATES = (10, 50, 100)
ACK_DEADLINE = 3.0  # Slack redelivers an event it has not seen acknowledged within 3 s
ACK_GOAL_P99_MS = 100.0
REPLY_GOAL_OVER_PARSE_MS = 50.0
MEMORY_GOAL_BYTES = 1_000_000_000  # 1 GB
REDELIVER_SHARE = 0.02
APOLOGY_PREFIX = "Sorry, I could not answer"


@dataclass
class Event:
    index: int
    text: str
    ts: str
    root: str  # the thread the reply goes to
    event_id: str
    client_msg_id: str
    scheduled: float
    redeliver: bool = False
    sent: Optional[float] = None
    ack_status: Optional[int] = None
    ack_latency: Optional[float] = None
    deliveries: int = 0  # requests sent for this event (1 + redeliveries)
    replica: int = 0  # the server its first delivery goes to
    slack_retries: int = 0  # redeliveries because the ack was late or failed
    body: bytes = b""


class SlackBench:
    """Mock Web API + server process(es) + load generator. start() returns at once (the servers
    load in the background); ready() waits for them; run() measures; stop() ends the servers.

    With `replicas` > 1 (and `env` naming a shared CAREBOT_REDIS_URL) each event goes to a random
    replica and every redelivery of it to another one, as a load balancer would spread them.
    """

    def __init__(self, workdir: Path, say: Callable[[str], None], profile_out: Optional[Path] = None,
                 replicas: int = 1, env: Optional[Dict[str, str]] = None) -> None:
        self.workdir = workdir
        self.say = say
        self.profile_out = profile_out
        self.replicas = replicas
        self.env = dict(env or {})
        self.secret = new_signing_secret()
        self.mock = MockWebApi()
        self.servers: List[ServerProcess] = []
        self._ts = 0
        self._ts_base = int(time.time())

    @property
    def server(self) -> Optional[ServerProcess]:
        """The first replica (the one whose memory is reported)."""
        return self.servers[0] if self.servers else None

    async def start(self) -> None:
        self.mock.start()
        self.workdir.mkdir(parents=True, exist_ok=True)
        for number in range(self.replicas):
            env = {
                "SLACK_BOT_TOKEN": BOT_TOKEN,
                "SLACK_SIGNING_SECRET": self.secret,
                "SLACK_API_URL": self.mock.api_url,
                "CAREBOT_STATE_PATH": str(self.workdir / "slack-state.db"),
                **self.env,
            }
            command = None
            if self.profile_out is not None and number == 0:
                self.profile_out.parent.mkdir(parents=True, exist_ok=True)
                command = [sys.executable, str(Path(__file__).with_name("profiled.py")), str(self.profile_out)]
            name = "slack-server" if self.replicas == 1 else f"slack-replica-{number}"
            self.servers.append(await start_server("slack", self.workdir, env, name=name, command=command))

    async def ready(self, timeout: float = 600.0) -> ServerProcess:
        for server in self.servers:
            await server.ready(timeout)
            if server.hwm_after_start is None:
                server.hwm_after_start = machine.proc_status(server.pid).get("VmHWM")
        return self._server()

    async def stop(self) -> Optional[int]:
        """SIGTERM (each server finishes answers in flight), then the mock; the first server's exit code."""
        codes = [await server.stop() for server in self.servers]
        self.mock.close()
        return codes[0] if codes else None

    def _server(self) -> ServerProcess:
        if not self.servers:
            raise RuntimeError("SlackBench.start() first")
        return self.servers[0]

    # ---- load ---------------------------------------------------------------------------------

    def _next_ts(self) -> str:
        self._ts += 1
        return f"{self._ts_base}.{self._ts:06d}"

    def plan(self, rate: float, duration: float, start: float, rng: random.Random) -> List[Event]:
        """`rate * duration` events, one every 1/rate s, spread over `max(rate, 1)` open threads."""
        count = max(1, int(round(rate * duration)))
        lanes = max(1, int(rate))
        order = list(range(len(CONVERSATIONS)))
        queue: List[str] = []
        open_threads: List[Optional[Tuple[List[str], str]]] = [None] * lanes
        events = []
        for index in range(count):
            lane = index % lanes
            thread = open_threads[lane]
            ts = self._next_ts()
            if thread is None or not thread[0]:
                if not queue:
                    rng.shuffle(order)
                    queue = [str(n) for n in order]
                thread = (list(CONVERSATIONS[int(queue.pop())]), ts)
                open_threads[lane] = thread
            text = thread[0].pop(0)
            event = Event(index=index, text=text, ts=ts, root=thread[1],
                          event_id="Ev" + uuid.uuid4().hex[:12].upper(), client_msg_id=str(uuid.uuid4()),
                          scheduled=start + index / rate, redeliver=rng.random() < REDELIVER_SHARE)
            if len(self.servers) > 1:  # drawn only then: one server keeps the same plan as before
                event.replica = rng.randrange(len(self.servers))
            body = mention_body(text, ts, None if ts == thread[1] else thread[1], event.event_id,
                                event.client_msg_id)
            event.body = json.dumps(body).encode()
            events.append(event)
        return events

    async def _post(self, session: aiohttp.ClientSession, event: Event, retry: int = 0) -> Tuple[int, float]:
        headers = {"Content-Type": "application/json", **sign(event.body, self.secret)}
        if retry:
            headers.update({"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"})
        event.deliveries += 1
        # the first delivery to the event's replica, each redelivery to the next one
        server = self.servers[(event.replica + event.deliveries - 1) % len(self.servers)]
        return await openloop.timed_post(session, server.url + "/slack/events", event.body, headers, ACK_DEADLINE)

    async def _deliver(self, session: aiohttp.ClientSession, event: Event) -> None:
        event.sent = time.perf_counter()
        status, latency = await self._post(session, event)
        event.ack_status, event.ack_latency = status, latency
        retry = 0
        while status != 200 and retry < 3:  # as Slack: no 200 in time, deliver again
            retry += 1
            event.slack_retries += 1
            await asyncio.sleep(1.0)
            status, _ = await self._post(session, event, retry)
        if event.redeliver:
            await asyncio.sleep(0.5)
            await self._post(session, event, retry + 1)

    async def run_rate(self, session: aiohttp.ClientSession, rate: float, duration: float,
                       drain_timeout: float, rng: random.Random) -> Tuple[List[Event], Dict[str, Any]]:
        server = self._server()
        start = time.perf_counter() + 0.2
        events = self.plan(rate, duration, start, rng)
        expected = _expected(events)
        figures = await openloop.drive(
            server.pid, events, start, lambda event: self._deliver(session, event),
            lambda: _all_answered(self.mock.posts, expected), drain_timeout)
        return events, figures


def _expected(events: Sequence[Event]) -> Dict[str, List[Event]]:
    by_thread: Dict[str, List[Event]] = {}
    for event in events:
        by_thread.setdefault(event.root, []).append(event)
    return by_thread


def _replies(posts: Sequence[Post]) -> Dict[str, List[Post]]:
    by_thread: Dict[str, List[Post]] = {}
    for post in posts:
        if post.first_part and post.channel == CHANNEL and post.thread_ts:
            by_thread.setdefault(str(post.thread_ts), []).append(post)
    return by_thread


def _all_answered(posts: Sequence[Post], expected: Dict[str, List[Event]]) -> bool:
    replies = _replies(posts)
    return all(len(replies.get(root, ())) >= len(events) for root, events in expected.items())


def score(events: Sequence[Event], posts: Sequence[Post], rate: float, duration: float,
          parse_ms: Optional[float]) -> Dict[str, Any]:
    """Latencies, drops and duplicates of one rate's events against every post the mock saw."""
    replies = _replies(posts)
    reply_latency: List[float] = []
    drops = duplicates = apologies = 0
    answered_at: List[float] = []
    for root, thread_events in _expected(events).items():
        got = replies.get(root, [])
        drops += max(0, len(thread_events) - len(got))
        duplicates += max(0, len(got) - len(thread_events))
        for event, post in zip(thread_events, got):
            if event.sent is not None:
                reply_latency.append(post.at - event.sent)
                answered_at.append(post.at)
            if post.text.startswith(APOLOGY_PREFIX):
                apologies += 1
    acks = [e.ack_latency for e in events if e.ack_latency is not None and e.ack_status == 200]
    ack = stats.summary(acks)
    reply = stats.summary(reply_latency)
    span = (max(answered_at) - min(answered_at)) if len(answered_at) > 1 else None
    return {
        "rate_per_s": rate,
        "duration_s": duration,
        "events": len(events),
        "requests": sum(e.deliveries for e in events),
        "redelivered_on_purpose": sum(1 for e in events if e.redeliver),
        "slack_retries": sum(e.slack_retries for e in events),
        "ack_failures": sum(1 for e in events if e.ack_status != 200),
        "late_acks": sum(1 for e in events if (e.ack_latency or 0) > ACK_DEADLINE or e.ack_status == 0),
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


async def slack_benchmark(bench: SlackBench, rates: Sequence[float], duration: float,
                          parse_ms: Optional[float], drain_timeout: Optional[float] = None,
                          seed: int = 3) -> Dict[str, Any]:
    """Run every rate against a ready server; returns the Slack figures and the memory figures."""
    server = await bench.ready()
    rng = random.Random(seed)
    idle = machine.proc_status(server.pid)
    reset = machine.reset_peak_rss(server.pid)
    results: List[Tuple[float, List[Event], Dict[str, Any]]] = []
    connector = aiohttp.TCPConnector(limit=0, force_close=False)
    async with aiohttp.ClientSession(connector=connector) as session:
        # one warm-up question, unmeasured: the first parse builds TensorFlow's call graphs
        warm = bench.plan(1, 1, time.perf_counter(), rng)
        await asyncio.gather(*(bench._deliver(session, e) for e in warm))
        deadline = time.perf_counter() + 120
        while not _all_answered(bench.mock.posts, _expected(warm)) and time.perf_counter() < deadline:
            await asyncio.sleep(0.05)
        for rate in rates:
            bench.say(f"bench: slack at {rate:g} events/s for {duration:g} s ...")
            timeout = drain_timeout if drain_timeout is not None else max(60.0, 3 * duration)
            events, extra = await bench.run_rate(session, rate, duration, timeout, rng)
            results.append((rate, events, extra))
    peak = machine.proc_status(server.pid)
    per_rate = []
    for rate, events, extra in results:  # scored after all rates, so late duplicates count too
        per_rate.append({**score(events, bench.mock.posts, rate, duration, parse_ms), **extra})
    log_text = server.log_path.read_text(errors="replace") if server.log_path.exists() else ""
    slack = {
        "mode": "http",
        "profiled": bench.profile_out is not None,
        "server_command": "carebot serve slack --http",
        "replicas": len(bench.servers),
        "server_ready_seconds": round(server.ready_seconds or 0, 3),
        "rates": per_rate,
        "parse_ms_reference": parse_ms,
        "web_api_calls": dict(bench.mock.calls),
        "web_api_rejected": bench.mock.rejected,
        "server_log_warnings": sum(1 for line in log_text.splitlines() if " WARNING " in line or " ERROR " in line),
        "goal": {"ack_p99_ms_max": ACK_GOAL_P99_MS, "reply_p50_over_parse_ms_max": REPLY_GOAL_OVER_PARSE_MS,
                 "drops": 0, "duplicates": 0},
    }
    memory = {
        "pid_measured": "carebot serve slack",
        "peak_rss_bytes": peak.get("VmHWM"),
        "peak_rss_mib": _mib(peak.get("VmHWM")),
        "peak_rss_includes_startup": not reset,
        "peak_rss_at_startup_bytes": server.hwm_after_start,
        "peak_rss_at_startup_mib": _mib(server.hwm_after_start),
        "rss_idle_bytes": idle.get("VmRSS"),
        "rss_idle_mib": _mib(idle.get("VmRSS")),
        "rss_after_load_mib": _mib(peak.get("VmRSS")),
        "threads": peak.get("Threads"),
        "goal": {"peak_rss_bytes_max": MEMORY_GOAL_BYTES},
    }
    return {"slack": slack, "memory": memory}


def _mib(value: Optional[int]) -> Optional[float]:
    return None if value is None else round(value / 1024 / 1024, 1)


__all__ = ["SlackBench", "slack_benchmark", "RATES"]
