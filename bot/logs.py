"""Logging for every carebot process: quiet by default, and never the text of a message.

Message text may hold patient details, so it must not reach a log at any level. Our own code
logs ids, intents, statement ids and timings only; Rasa logs parsed text through structlog at
debug level (`parse_data_text`), so structlog is configured here with a redaction step that runs
before anything renders, and third-party loggers are capped so their debug output never appears.
"""
from __future__ import annotations

import logging
import os
import sys
import warnings
from typing import Any, MutableMapping

# Keys Rasa (and we) might use for message content in structured events.
_CONTENT_KEYS = frozenset(
    {
        "text", "message", "user_message", "user_text", "response", "response_text",
        "parse_data_text", "parse_data_entities", "entities", "entity", "current_entity",
        "next_entity", "token_text", "tracker_latest_message", "slot_values", "json_message",
        "rasa_event", "rasa_events", "prediction_events", "prefilled_slots", "slot_candidates",
        "states", "tracker_states", "current_states", "old_states", "successes", "blocks", "body",
    }
)
REDACTED = "[redacted]"

# Libraries whose debug/info output can carry message content: capped at WARNING.
_THIRD_PARTY = (
    "rasa", "urllib3", "asyncio", "sanic", "slack_bolt", "slack_sdk", "aiohttp", "botbuilder",
    "botframework", "msal", "msrest",
    "spacy", "filelock", "apscheduler", "pykwalify", "tzlocal", "fsspec", "ruamel", "botocore", "boto3",
)
# Libraries whose warnings are only noise for a carebot user: capped at ERROR.
_NOISY = ("tensorflow", "absl", "h5py", "matplotlib", "numexpr", "PIL", "jax")


def redact_content(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """structlog processor: blank every field that can carry message content."""
    for key in list(event_dict):
        if key in _CONTENT_KEYS:
            event_dict[key] = REDACTED
    return event_dict


def silence_libraries() -> None:
    """Before TensorFlow or Rasa are imported: no TF banners, no Python warnings on the CLI."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    os.environ.setdefault("LOG_LEVEL_LIBRARIES", "ERROR")
    os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
    os.environ.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    warnings.filterwarnings("ignore")
    # TensorFlow's import chain re-orders the filters, so also mute the printer itself; set
    # CAREBOT_SHOW_WARNINGS=1 to see them when debugging a dependency.
    if not os.environ.get("CAREBOT_SHOW_WARNINGS"):
        warnings.showwarning = _drop_warning


def _drop_warning(*args: Any, **kwargs: Any) -> None:
    return None


def configure_logging(level: str | int | None = None) -> int:
    """Configure stdlib logging and structlog; returns the level used.

    The level comes from CAREBOT_LOG_LEVEL (default WARNING). Even at DEBUG, third-party loggers
    stay at WARNING: Rasa's debug output includes message text.
    """
    silence_libraries()
    if level is None:
        level = os.environ.get("CAREBOT_LOG_LEVEL", "WARNING")
    numeric = logging.getLevelName(level.upper()) if isinstance(level, str) else int(level)
    if not isinstance(numeric, int):
        numeric = logging.WARNING
    root = logging.getLogger()
    if not any(getattr(h, "_carebot", False) for h in root.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
        handler._carebot = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    root.setLevel(numeric)
    for name in _THIRD_PARTY:
        logging.getLogger(name).setLevel(max(numeric, logging.WARNING))
    for name in _NOISY:
        logging.getLogger(name).setLevel(logging.ERROR)
    _configure_structlog(numeric)
    return numeric


def _configure_structlog(level: int) -> None:
    import structlog

    structlog.configure(
        processors=[
            redact_content,
            structlog.stdlib.filter_by_level,
            structlog.processors.add_log_level,
            structlog.processors.KeyValueRenderer(key_order=["event"]),
        ],
        context_class=dict,
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.make_filtering_bound_logger(max(level, logging.WARNING)),
        cache_logger_on_first_use=False,
    )

