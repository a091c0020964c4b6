"""Message text never reaches a log, at any level the project allows."""
from __future__ import annotations

import logging

import pytest
import structlog

from bot.logs import REDACTED, configure_logging
from dialogues.types import Turn

PATIENT = "Zebulon Quackenbush"
MESSAGE = f"{PATIENT} DOB 1961-02-03 progressed on Somatuline, lanreotide dose?"


@pytest.fixture
def most_verbose(caplog: pytest.LogCaptureFixture):
    configure_logging("DEBUG")
    caplog.set_level(logging.DEBUG)
    yield caplog
    configure_logging()


def _everything_logged(caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture) -> str:
    records = "\n".join(f"{r.name} {r.getMessage()} {r.args!r} {r.__dict__!r}" for r in caplog.records)
    out, err = capfd.readouterr()
    return records + out + err


async def test_parse_and_turn_log_no_message_text(most_verbose, capfd, parser, engine) -> None:
    await parser.parse(MESSAGE)
    await engine.handle(Turn(text=MESSAGE, conversation_id="privacy", user="U1"))
    logged = _everything_logged(most_verbose, capfd)
    assert any(r.name == "carebot.turn" for r in most_verbose.records), "the turn log line is missing"
    assert PATIENT not in logged and "Quackenbush" not in logged and "1961" not in logged


async def test_internal_error_log_has_no_message_text(most_verbose, capfd, engine, monkeypatch) -> None:
    def broken(text, *args, **kwargs):
        raise ValueError(f"cannot handle {text}")  # an exception message that carries the text

    monkeypatch.setattr(engine.manager, "respond", broken)
    await engine.handle(Turn(text=MESSAGE, conversation_id="privacy", user="U1"))
    logged = _everything_logged(most_verbose, capfd)
    assert "turn failed" in logged and PATIENT not in logged


def test_structlog_content_fields_are_redacted(capfd, caplog) -> None:
    """Rasa logs `parse_data_text` through structlog; if it ever got through, it is blanked."""
    configure_logging("DEBUG")
    caplog.set_level(logging.DEBUG)
    structlog.get_logger("rasa.core.processor").warning(
        "processor.message.parse", parse_data_text=MESSAGE, text=MESSAGE, parse_data_entities=[PATIENT])
    logged = _everything_logged(caplog, capfd)
    configure_logging()
    assert "processor.message.parse" in logged and REDACTED in logged and PATIENT not in logged
