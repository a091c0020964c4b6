"""`carebot bench` runs end to end on a tiny load and writes the documented JSON.

Timings are never asserted (machines are noisy): these tests check that every benchmark runs,
that the figures are there and well-formed, and the few correctness counts (drops, duplicates,
no retraining) that do not depend on the machine's speed.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks import report, stats
from mocks.slack import CHANNEL, Post, sign
from benchmarks.slack import Event, score

REPO = Path(__file__).resolve().parents[2]
CAREBOT = [sys.executable, "-m", "bot.cli"]

TOP_KEYS = {"schema", "created", "command", "quick", "selected", "machine", "load_before", "load_after", "model",
            "parameters", "benchmarks", "timing", "errors", "warnings", "goals"}
MACHINE_KEYS = {"cores", "cpu_model", "memory_bytes", "python", "platform", "load_average"}
SUMMARY_KEYS = {"n", "median", "p90", "p99", "mean", "min", "max"}


# ---- the whole thing, as `make bench` runs it (tiny load) ------------------------------------------

@pytest.fixture(scope="module")
def quick_run(model_path, tmp_path_factory) -> dict:
    """`carebot bench --quick` in a real process: every part except cold start (two extra model
    loads; covered below with a stand-in process) and full training."""
    out = tmp_path_factory.mktemp("bench") / "results.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLACK_")}
    result = subprocess.run(
        CAREBOT + ["bench", "--quick", "--only", "turn,growth,slack,training", "--rounds", "1",
                   "--duration", "1", "--rates", "10,40", "--out", str(out)],
        capture_output=True, text=True, cwd=REPO, env=env, timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    return {"stdout": result.stdout, "document": json.loads(out.read_text())}


def test_quick_run_prints_the_table(quick_run) -> None:
    out = quick_run["stdout"]
    assert "benchmark" in out and "goal" in out and "wrote " in out
    for name in ("turn", "growth", "slack", "memory", "training"):
        assert f"\n{name} " in out


def test_quick_run_writes_the_documented_json(quick_run) -> None:
    doc = quick_run["document"]
    assert TOP_KEYS <= set(doc)
    assert doc["schema"] == 1 and doc["quick"] is True and doc["errors"] == {}
    assert MACHINE_KEYS <= set(doc["machine"])
    assert doc["machine"]["cores"] >= 1 and doc["machine"]["memory_bytes"] > 0
    assert len(doc["load_before"]) == 3
    assert set(doc["benchmarks"]) == {"turn", "growth", "slack", "memory", "training"}

    turn = doc["benchmarks"]["turn"]
    assert turn["messages"] == 30
    for key in ("carebot_turn_ms", "bare_rasa_parse_ms", "carebot_parse_ms", "carebot_own_work_ms"):
        assert SUMMARY_KEYS <= set(turn[key]) and turn[key]["n"] == 30 and turn[key]["median"] > 0
    assert turn["ratio_median"] > 0 and turn["goal"]["ratio_median_max"] == 1.15

    growth = doc["benchmarks"]["growth"]
    assert growth["sizes"] == [10, 10000]
    assert growth["conversations_at_end"]["10000"] >= 10000
    assert growth["turn_ms"]["10"]["median"] > 0 and growth["turn_ms"]["10000"]["median"] > 0
    assert growth["ratio_median"] > 0 and "SEARCH" in growth["query_plans"]["load"]

    training = doc["benchmarks"]["training"]
    assert training["full"] is None  # --quick skips the full training
    assert training["noop"]["retrained"] is False and training["noop"]["exit_codes"] == [0]

    memory = doc["benchmarks"]["memory"]
    assert memory["peak_rss_bytes"] > 100 * 2**20 and memory["goal"]["peak_rss_bytes_max"] == 10**9


def test_quick_slack_run_answers_every_event_once(quick_run) -> None:
    slack = quick_run["document"]["benchmarks"]["slack"]
    assert [r["rate_per_s"] for r in slack["rates"]] == [10, 40]
    for rate in slack["rates"]:
        assert rate["events"] == rate["rate_per_s"] * 1
        assert rate["answered"] == rate["events"]
        assert rate["drops"] == 0 and rate["duplicates"] == 0 and rate["apologies"] == 0
        assert rate["ack_failures"] == 0
        assert SUMMARY_KEYS <= set(rate["ack_ms"]) and rate["ack_ms"]["n"] == rate["events"]
        assert rate["reply_ms"]["median"] > 0
    assert slack["web_api_rejected"] == 0 and slack["server_log_warnings"] == 0
    assert slack["server_exit_code"] == 0  # SIGTERM: stopped cleanly


def test_goals_cover_every_measured_benchmark(quick_run) -> None:
    doc = quick_run["document"]
    ids = {g["id"] for g in doc["goals"]}
    assert {"turn.ratio", "growth.ratio", "memory.peak", "training.noop_seconds", "training.noop_retrains",
            "slack.ack_p99@10/s", "slack.drops@40/s"} <= ids
    for goal in doc["goals"]:
        assert goal["met"] in (True, False, None)
    assert all(g["met"] for g in doc["goals"] if g["id"].startswith("slack.drops"))


# ---- parts, without a model -----------------------------------------------------------------------

def test_unknown_benchmark_is_bad_usage(capsys) -> None:
    from bot.cli import main

    assert main(["bench", "--only", "everything"]) == 2
    assert "unknown benchmark" in capsys.readouterr().err


def test_requests_are_signed_as_slack_signs_them() -> None:
    """The load generator's signature passes the verifier Bolt uses, and matches Slack's v0 recipe."""
    from slack_sdk.signature import Clock, SignatureVerifier

    class Fixed(Clock):
        def now(self) -> float:
            return 1700000010.0

    body = b'{"type":"event_callback","event":{"type":"app_mention","text":"lanreotide dose?"}}'
    headers = sign(body, "s3cret", timestamp=1700000000)
    expected = hmac.new(b"s3cret", b"v0:1700000000:" + body, hashlib.sha256).hexdigest()
    assert headers["X-Slack-Signature"] == "v0=" + expected
    verifier = SignatureVerifier("s3cret", clock=Fixed())
    assert verifier.is_valid(body, headers["X-Slack-Request-Timestamp"], headers["X-Slack-Signature"])
    assert not SignatureVerifier("other", clock=Fixed()).is_valid(
        body, headers["X-Slack-Request-Timestamp"], headers["X-Slack-Signature"])


def test_replies_are_matched_per_thread_and_drops_and_duplicates_counted() -> None:
    def event(index: int, root: str, sent: float) -> Event:
        return Event(index=index, text="q", ts=f"1.{index}", root=root, event_id=f"Ev{index}",
                     client_msg_id=str(index), scheduled=sent, sent=sent, ack_status=200, ack_latency=0.002)

    events = [event(0, "1.0", 10.0), event(1, "1.0", 11.0), event(2, "1.2", 10.5), event(3, "1.3", 10.6)]
    posts = [
        Post(CHANNEL, "1.0", "answer", 10.010, True),
        Post(CHANNEL, "1.0", "(continued, part 2 of 2)", 10.011, False),  # a long answer's second part
        Post(CHANNEL, "1.0", "answer", 11.020, True),
        Post(CHANNEL, "1.2", "answer", 10.530, True),
        Post(CHANNEL, "1.2", "answer", 10.900, True),  # a second reply to one event: a duplicate
        # nothing in thread 1.3: a drop
    ]
    scored = score(events, posts, rate=4, duration=1, parse_ms=5.0)
    assert (scored["events"], scored["answered"], scored["drops"], scored["duplicates"]) == (4, 3, 1, 1)
    assert scored["reply_ms"]["min"] == pytest.approx(10.0) and scored["reply_ms"]["max"] == pytest.approx(30.0)
    assert scored["reply_p50_minus_parse_ms"] == pytest.approx(scored["reply_ms"]["median"] - 5.0)


def test_percentiles() -> None:
    samples = [float(x) for x in range(1, 101)]
    assert stats.median(samples) == pytest.approx(50.5)
    assert stats.percentile(samples, 90) == pytest.approx(90.1)
    assert stats.percentile([3.0], 99) == 3.0 and stats.percentile([], 50) is None
    assert stats.summary([0.001, 0.003])["median"] == pytest.approx(2.0)  # seconds -> ms
    assert stats.ratio(1.2, 1.0) == 1.2 and stats.ratio(1.0, None) is None


def test_cold_start_timer_on_a_stand_in_process() -> None:
    from benchmarks.coldstart import time_process

    code = "import time; time.sleep(0.2); print('ANSWER dosing', flush=True); time.sleep(0.2)"
    result = time_process([sys.executable, "-c", code], lambda line: line.startswith("ANSWER"))
    assert result["exit_code"] == 0
    assert 0.2 <= result["first_answer_s"] < result["exit_s"]
    assert result["peak_rss_bytes"] > 0 and result["stderr_tail"] == ""


def test_goals_and_table_from_figures() -> None:
    benchmarks = {
        "turn": {"ratio_median": 1.2, "ratio_p90": 1.1, "carebot_turn_ms": {"median": 6.0, "p90": 7.0},
                 "bare_rasa_parse_ms": {"median": 5.0, "p90": 6.0}, "carebot_own_work_ms": {"median": 0.7}},
        "memory": {"peak_rss_mib": 800.0, "peak_rss_bytes": 800 * 2**20, "goal": {"peak_rss_bytes_max": 10**9}},
        "training": {"full": None, "noop": {"seconds": {"median": 0.5}, "retrained": False}},
    }
    found = {g["id"]: g["met"] for g in report.goals(benchmarks)}
    assert found == {"turn.ratio": False, "memory.peak": True, "training.noop_seconds": True,
                     "training.noop_retrains": True}
    document = {"machine": {"cores": 2, "memory_bytes": 2**34, "python": "3.10", "platform": "Linux"},
                "load_before": [1.0, 1.0, 1.0], "load_after": [1.0, 1.0, 1.0], "benchmarks": benchmarks,
                "goals": report.goals(benchmarks), "errors": {}}
    text = report.table(document)
    assert "MISSED" in text and "turn.ratio" in text and "800.0" in text
