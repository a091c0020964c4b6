"""`make run` (the terminal chat) and `carebot ask --json` as a user runs them: real processes."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CAREBOT = [sys.executable, "-m", "bot.cli"]


def run(args, stdin: str, tmp_path: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "CAREBOT_STATE_PATH": str(tmp_path / "state.db")}
    env.pop("SLACK_BOT_TOKEN", None)
    return subprocess.run(CAREBOT + args, input=stdin, capture_output=True, text=True, cwd=REPO, env=env, timeout=300)


@pytest.fixture(scope="module", autouse=True)
def _model_ready(model_path) -> None:
    """Train (if needed) in the test process first, so the subprocesses only load."""


def test_piped_chat_answers_and_is_quiet(tmp_path: Path) -> None:
    result = run(["run"], "lanreotide dose?\nand how is it given?\n", tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("120 mg") >= 2 and "deep subcutaneous" in result.stdout
    assert "FDA drug label, evidence brief 1" in result.stdout and "Decision support only" in result.stdout
    for noise in ("Warning", "tensorflow", "DEBUG", "INFO"):
        assert noise not in result.stderr, result.stderr


def test_chat_resumes_a_named_conversation(tmp_path: Path) -> None:
    assert run(["chat", "--conversation", "ward-4"], "octreotide dose?\n", tmp_path).returncode == 0
    result = run(["chat", "--conversation", "ward-4"], "how is it given?\n", tmp_path)
    assert "intramuscularly" in result.stdout


def test_ask_json_streams_documented_objects(tmp_path: Path) -> None:
    lines = [
        json.dumps({"conversation": "a", "text": "what's the dose?"}),
        json.dumps({"conversation": "b", "text": "metformin dose?"}),
        json.dumps({"conversation": "a", "text": "octreotide"}),
        "lanreotide dose?",
        "{not json",
    ]
    result = run(["ask", "--json"], "\n".join(lines) + "\n", tmp_path)
    assert result.returncode == 0, result.stderr
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(out) == 5
    first, unknown, answered, plain, bad = out
    for record in (first, unknown, answered, plain):
        assert set(record) == {"conversation", "text", "kind", "intent", "entities", "slots", "statements",
                               "reply", "suggestions"}
        assert set(record["intent"]) == {"name", "confidence"}
    assert first["kind"] == "clarify" and unknown["kind"] == "fallback"
    assert answered["conversation"] == "a" and answered["slots"]["drug"] == "octreotide"
    statement = answered["statements"][0]
    assert set(statement) == {"id", "text", "source", "citation"} and set(statement["source"]) == {"kind", "title"}
    assert plain["conversation"] == "default" and "120 mg" in plain["reply"]
    assert plain["entities"] == [{"entity": "drug", "value": "lanreotide", "text": "lanreotide"}]
    assert bad == {"line": 5, "error": bad["error"]} and "not valid JSON" in bad["error"]


def test_ask_one_question(tmp_path: Path) -> None:
    result = run(["ask", "CgA q3mo?"], "", tmp_path)
    assert result.returncode == 0 and "3-6 months" in result.stdout
