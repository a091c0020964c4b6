"""`carebot bench --only teams`: the Teams load end to end on a tiny load, and its parts.

As in test_bench.py, timings are never asserted (machines are noisy): the quick run checks that
the Teams figures are there and well-formed, and the correctness counts that do not depend on the
machine's speed (every activity answered once, no apology).
"""
from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import pytest

from benchmarks import report
from benchmarks.runner import correctness_failures
from benchmarks.teams import APOLOGY_PREFIX, BENCH_CHANNEL, ReplyLog, Sent, TeamsBench, score
from mocks.teams import TENANT_ID, Call

REPO = Path(__file__).resolve().parents[2]
CAREBOT = [sys.executable, "-m", "bot.cli"]
SUMMARY_KEYS = {"n", "median", "p90", "p99", "mean", "min", "max"}


# ---- the whole thing, as `carebot bench --quick --only teams` runs it ----------------------------

@pytest.fixture(scope="module")
def quick_run(model_path, tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("bench-teams") / "results.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "TEAMS_"))}
    started = time.monotonic()
    result = subprocess.run(CAREBOT + ["bench", "--quick", "--only", "teams", "--out", str(out)],
                            capture_output=True, text=True, cwd=REPO, env=env, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    return {"stdout": result.stdout, "document": json.loads(out.read_text()),
            "seconds": time.monotonic() - started}


def test_quick_teams_run_answers_every_activity_once(quick_run) -> None:
    doc = quick_run["document"]
    assert doc["errors"] == {} and doc["selected"] == ["teams"]
    assert set(doc["benchmarks"]) == {"teams"}
    assert doc["parameters"]["teams_rates"] == [10, 50, 100] and doc["parameters"]["teams_seconds_per_rate"] == 2.0
    teams = doc["benchmarks"]["teams"]
    assert [r["rate_per_s"] for r in teams["rates"]] == [10, 50, 100]
    for rate in teams["rates"]:
        assert rate["activities"] == rate["rate_per_s"] * 2
        assert rate["personal"] > 0 and rate["channel"] > 0
        assert rate["answered"] == rate["activities"]
        assert rate["drops"] == 0 and rate["duplicates"] == 0 and rate["apologies"] == 0
        assert rate["ack_failures"] == 0 and set(rate["ack_statuses"]) == {"201"}
        assert rate["requests"] == rate["activities"] + rate["redelivered_on_purpose"]
        assert SUMMARY_KEYS <= set(rate["ack_ms"]) and rate["ack_ms"]["n"] == rate["activities"]
        assert rate["reply_ms"]["median"] > 0 and rate["reply_ms"]["n"] == rate["activities"]
    assert sum(r["redelivered_on_purpose"] for r in teams["rates"]) > 0  # de-duplication was exercised
    assert teams["connector_rejected"] == 0 and teams["connector_token_refusals"] == 0
    assert teams["unaddressed_posts"] == 0 and teams["server_log_warnings"] == 0
    assert teams["server_exit_code"] == 0  # SIGTERM: stopped cleanly


def test_quick_teams_run_reports_rows_and_goals(quick_run) -> None:
    out = quick_run["stdout"]
    assert "\nteams " in out and "10/s: 200/201 ms p50 / p99" in out and "wrote " in out
    goals = {g["id"]: g for g in quick_run["document"]["goals"]}
    assert {"teams.ack_p99@10/s", "teams.drops@10/s", "teams.ack_p99@100/s", "teams.drops@100/s"} <= set(goals)
    assert all(g["met"] for i, g in goals.items() if i.startswith("teams.drops"))


def test_quick_teams_run_never_logs_message_text(quick_run) -> None:
    from benchmarks.messages import all_messages

    printed = quick_run["stdout"] + json.dumps(quick_run["document"])
    assert not [text for text in all_messages() if len(text) > 8 and text in printed]


# ---- parts, without a model or a server ------------------------------------------------------------

def _call(conversation: str, replied_to: str, at: float, *, summary: str = "answer", text: str = "",
          method: str = "POST", activity_type: str = "message", status: int = 201) -> Call:
    data = {"type": activity_type, "summary": summary}
    if text:
        data = {"type": activity_type, "text": text}
    return Call(method, conversation, replied_to, data, status, arrived=at)


class _Recorded:
    def __init__(self, calls) -> None:
        self.calls = list(calls)


def test_replies_are_matched_by_activity_and_drops_duplicates_apologies_counted() -> None:
    def sent(index: int, conversation: str, at: float) -> Sent:
        return Sent(index=index, conversation=conversation, activity_id=f"{index}", kind="personal", scheduled=at,
                    sent=at, ack_status=201, ack_latency=0.004, deliveries=1)

    activities = [sent(1, "a:one", 10.0), sent(2, "a:one", 11.0), sent(3, "a:two", 10.5), sent(4, "a:three", 10.6),
                  sent(5, "a:four", 10.7)]
    log = ReplyLog(_Recorded([
        _call("a:one", "1", 10.010),
        _call("a:one", "1", 10.011, summary="answer (part 2 of 2)"),  # a long answer's second card
        _call("a:one", "2", 11.020, summary="answer (part 1 of 2)"),
        _call("a:one", None, 11.5, activity_type="typing"),  # a typing indicator
        _call("a:two", "3", 10.530),
        _call("a:two", "3", 10.900),  # a second answer to one activity: a duplicate
        _call("a:four", "5", 10.8, text=APOLOGY_PREFIX + " that just now."),
        _call("a:three", "4", 10.9, status=429),  # refused by the Connector: not a reply
        # nothing for activity 4: a drop
    ])).refresh()  # type: ignore[arg-type]
    assert (log.later_parts, log.typing, log.rejected) == (1, 1, 1)
    scored = score(activities, log.replies, rate=5, duration=1, parse_ms=5.0)
    assert (scored["activities"], scored["answered"], scored["drops"], scored["duplicates"], scored["apologies"]) == \
        (5, 4, 1, 1, 1)
    assert scored["reply_ms"]["min"] == pytest.approx(10.0) and scored["reply_ms"]["max"] == pytest.approx(100.0)
    assert scored["ack_ms"]["n"] == 5 and scored["ack_statuses"] == {"201": 5}
    assert scored["reply_p50_minus_parse_ms"] == pytest.approx(scored["reply_ms"]["median"] - 5.0)


async def test_plan_mixes_personal_chats_and_channel_threads(tmp_path: Path) -> None:
    bench = TeamsBench(tmp_path, say=lambda m: None)
    bench.start_mocks()  # no server: plan() needs the Connector's service URL only
    try:
        planned = bench.plan(rate=20, duration=3, start=0.0, rng=random.Random(1))
    finally:
        assert await bench.stop() is None
    assert len(planned) == 60 and planned[1].scheduled == pytest.approx(0.05)
    assert len({a.key for a in planned}) == 60
    bodies = [json.loads(a.body) for a in planned]
    assert {a.kind for a in planned} == {"personal", "channel"}
    for activity, body in zip(planned, bodies):
        assert body["id"] == activity.activity_id and body["conversation"]["id"] == activity.conversation
        assert body["conversation"]["tenantId"] == TENANT_ID and body["type"] == "message"
        if activity.kind == "channel":
            assert activity.conversation.startswith(BENCH_CHANNEL + ";messageid=")
            assert body["text"].startswith("<at>carebot</at> ")
        else:
            assert activity.conversation.startswith("a:") and "<at>" not in body["text"]
    # a channel thread's first message is its root post; its follow-ups are replies in it
    threads = {}
    for activity in planned:
        threads.setdefault(activity.conversation, []).append(activity)
    assert {a.kind for a in planned[:20] if len(threads[a.conversation]) >= 2} == {"personal", "channel"}
    for conversation, messages in threads.items():
        # one message a second per conversation: a follow-up comes after the previous answer
        assert all(b.scheduled - a.scheduled == pytest.approx(1.0) for a, b in zip(messages, messages[1:]))
        if conversation.startswith(BENCH_CHANNEL):
            assert conversation.endswith(";messageid=" + messages[0].activity_id)
            assert all(not conversation.endswith(m.activity_id) for m in messages[1:])


def test_teams_goals_rows_and_correctness() -> None:
    def rate(per_s: int, p99: float, drops: int = 0, duplicates: int = 0, apologies: int = 0) -> dict:
        return {"rate_per_s": per_s, "activities": per_s, "answered": per_s - drops, "drops": drops,
                "duplicates": duplicates, "apologies": apologies, "answer_rate_per_s": 9.5,
                "ack_ms": {"median": 4.0, "p99": p99}, "reply_ms": {"median": 30.0, "p99": 60.0}}

    benchmarks = {"teams": {"rates": [rate(10, 8.0), rate(100, 150.0, drops=1, apologies=2)]}}
    found = {g["id"]: g["met"] for g in report.goals(benchmarks)}
    assert found == {"teams.ack_p99@10/s": True, "teams.drops@10/s": True,
                     "teams.ack_p99@100/s": False, "teams.drops@100/s": False}
    rows = report.figures(benchmarks)
    assert ["teams", "10/s: 200/201 ms p50 / p99", "4.000 / 8.000"] in rows
    assert ["teams", "100/s: activities / answered / drops / dups", "100 / 99 / 1 / 0"] in rows
    problems = correctness_failures({"errors": {}, "benchmarks": benchmarks})
    assert problems == ["teams at 100/s: 1 drops, 0 duplicates, 2 apologies"]


def test_teams_is_a_benchmark_of_its_own_selected_by_default() -> None:
    from benchmarks.runner import NAMES, Options
    from bot import bench_commands

    assert bench_commands.NAMES == NAMES and "teams" in NAMES
    assert "teams" in Options().selected()
    assert Options(only=["teams"]).selected() == ["teams"]
    assert Options(quick=True).teams_duration == 2.0 and tuple(Options().teams_rates) == (10, 50, 100)
