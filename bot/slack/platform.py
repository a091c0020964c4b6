"""Slack, registered with the shared edge's platform registry (`bot.edge.platforms`)."""
from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any, Optional

from bot.edge.platforms import Platform, port_number, register

DEFAULT_PORT = 3000
DEFAULT_HOST = "0.0.0.0"


def configured(env_file: Path = Path(".env")) -> bool:
    """True when SLACK_BOT_TOKEN is set in the environment or in ./.env."""
    from bot.slack.settings import load_env_file

    load_env_file(env_file)
    return bool(os.environ.get("SLACK_BOT_TOKEN", "").strip())


def serve_from_env() -> int:
    """What `carebot run` calls: Socket Mode if SLACK_APP_TOKEN is set, else HTTP on port 3000."""
    from bot.slack.runner import main

    return main(mode=None, host=DEFAULT_HOST, port=DEFAULT_PORT)


def add_serve_parser(platforms: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    slack = platforms.add_parser(
        "slack",
        help="serve Slack (Socket Mode when SLACK_APP_TOKEN is set, else HTTP)",
        description=(
            "Serve carebot in Slack. Uses Socket Mode when SLACK_APP_TOKEN is set and the HTTP "
            "Events API (POST /slack/events, GET /healthz, GET /metrics) otherwise. Settings come "
            "from the environment and ./.env; see docs/connect-to-slack.md."
        ),
    )
    slack.add_argument("--http", action="store_true", help="use the HTTP Events API even if SLACK_APP_TOKEN is set")
    slack.add_argument("--port", type=port_number, default=DEFAULT_PORT, help=f"HTTP port (default {DEFAULT_PORT})")
    slack.add_argument("--host", default=DEFAULT_HOST, help=f"HTTP bind address (default {DEFAULT_HOST})")
    slack.set_defaults(handler=_serve)


def _serve(args: Any) -> int:
    from bot.slack.runner import main
    from bot.slack.settings import Mode

    mode: Optional[Mode] = Mode.http if args.http else None
    return main(mode=mode, host=args.host, port=args.port)


PLATFORM = register(Platform(name="slack", title="Slack", configured=configured,
                             serve_from_env=serve_from_env, add_serve_parser=add_serve_parser))
