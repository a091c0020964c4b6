"""`GET /metrics` on the real Slack service: valid Prometheus text, counters that move as the
requests do, and labels that never carry text or a user id.

The core is hand-made (no model to load); everything else is the real wiring: the shared HTTP
server, the Slack route, Bolt, the responder, the poster and the mock Slack.
"""
from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any, AsyncIterator, Dict, Iterable, Tuple

import aiohttp
import pytest_asyncio
from prometheus_client.parser import text_string_to_metric_families

from bot.slack.service import SlackService, start_service
from bot.slack.settings import Mode
from dialogues.store import SQLiteStore
from mocks.slack import BOT_USER, MockSlack
from tests.bot.edge.echo_server import EchoCore
from tests.bot.slack.harness import settings_for
from tests.bot.slack.slack_requests import BotClient, event_body, mention, message, new_id, new_ts

SECRET_TEXT = "Quillfeather"
ASKER = "UASKER42"


@pytest_asyncio.fixture(loop_scope="session")
async def served(tmp_path: Path) -> AsyncIterator[Tuple[SlackService, BotClient, MockSlack]]:
    slack = await MockSlack().start()
    store = SQLiteStore(tmp_path / "state.db", ttl_seconds=3600)
    service = await start_service(settings_for(slack), EchoCore(store), Mode.http, host="127.0.0.1", port=0)
    assert service.http is not None
    client = BotClient(service.http.url)
    yield service, client, slack
    await client.close()
    await service.close()
    await store.close()
    await slack.close()


async def scrape(url: str) -> Tuple[str, Dict[Tuple[str, Tuple[Tuple[str, str], ...]], float]]:
    async with aiohttp.ClientSession() as session:
        async with session.get(url + "/metrics") as response:
            assert response.status == 200
            assert response.headers["Content-Type"].startswith("text/plain")
            text = await response.text()
    samples = {}
    for family in text_string_to_metric_families(text):  # raises on anything that is not Prometheus text
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return text, samples


def value(samples: Dict[Tuple[str, Tuple[Tuple[str, str], ...]], float], name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted({"platform": "slack", **labels}.items()))), 0.0)


def label_values(text: str) -> Iterable[Tuple[str, str]]:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            yield from sample.labels.items()


async def test_metrics_scrape_as_prometheus_text_and_move_with_the_traffic(served: Any) -> None:
    service, client, slack = served
    url = service.http.url
    _, before = await scrape(url)
    names = {name for name, _ in before}
    for expected in ("carebot_events_received_total", "carebot_events_acked_total", "carebot_events_answered_total",
                     "carebot_events_deduplicated_total", "carebot_deliveries_in_progress",
                     "carebot_open_connections", "carebot_ack_seconds_count", "carebot_reply_seconds_count"):
        assert expected in names, expected

    # answered, then the same event again (a retry): de-duplicated
    dm = new_id("D")
    body = event_body(message(f"hello, my name is {SECRET_TEXT}", dm, user=ASKER))
    assert (await client.event(body))[0] == 200
    await slack.wait_posts(channel=dm)
    assert (await client.event(body, retry=1))[0] == 200
    # refused: a forged signature
    forged = json.dumps(event_body(message("hi", new_id("D"))))
    status, _, _ = await client.post_raw(forged, "application/json", signed=False,
                                         headers={"X-Slack-Request-Timestamp": str(int(time.time())),
                                                  "X-Slack-Signature": "v0=" + "0" * 64})
    assert status == 401
    # failed: Slack refuses the answer and the apology, with an error whose text must not become a label
    failing = new_id("C")
    slack.fail_next("chat.postMessage", status=200, channel=failing,
                    body={"ok": False, "error": "invalid_blocks"})
    slack.fail_next("chat.postMessage", status=200, channel=failing,
                    body={"ok": False, "error": f"no such patient {SECRET_TEXT} {ASKER}"})
    await client.event(event_body(mention(f"<@{BOT_USER}> hello", failing, new_ts(), user=ASKER)))
    await slack.wait_for(lambda: len(slack.of("chat.postMessage", channel=failing)) >= 2, 10, "2 attempts")
    # in progress: a post Slack is slow to answer
    slow = new_id("C")
    slack.delay(slow, 1.5, times=1)
    await client.event(event_body(mention(f"<@{BOT_USER}> hello", slow, new_ts(), user=ASKER)))
    await slack.wait_for(lambda: slack.of("chat.postMessage", channel=slow), 10, "the slow post")
    _, during = await scrape(url)
    assert value(during, "carebot_deliveries_in_progress") >= 1
    assert value(during, "carebot_open_connections") >= 1  # this scrape's own, at least
    await service.responder.wait_idle()

    text, after = await scrape(url)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("carebot_events_received_total") >= 5
    assert moved("carebot_events_acked_total") >= 4
    assert moved("carebot_requests_refused_total", status="401") == 1
    assert moved("carebot_events_answered_total") >= 2
    assert moved("carebot_events_deduplicated_total") == 1
    assert moved("carebot_answers_failed_total", stage="post") == 1
    assert moved("carebot_web_api_errors_total", code="invalid_blocks") == 1
    assert moved("carebot_web_api_errors_total", code="http_200") == 1  # Slack's odd text: not a label
    assert moved("carebot_ack_seconds_count") >= 4
    assert moved("carebot_reply_seconds_count") >= 2
    assert value(after, "carebot_deliveries_in_progress") == 0

    # no label carries text or an id of a user, channel or conversation
    allowed = {"platform": re.compile(r"^slack$"), "stage": re.compile(r"^[a-z_]+$"),
               "status": re.compile(r"^\d{3}$"), "code": re.compile(r"^[a-z0-9_.]{1,64}$"),
               "le": re.compile(r"^(\+Inf|[0-9.e+-]+)$")}
    for name, label in label_values(text):
        assert name in allowed and allowed[name].match(label), (name, label)
    for secret in (SECRET_TEXT, ASKER, dm, failing, slow, "hello"):
        assert secret not in text
