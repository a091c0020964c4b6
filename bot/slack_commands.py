"""`carebot serve slack`: run carebot as a Slack app (Socket Mode or the HTTP Events API).

Only argument parsing lives here; `bot.slack.runner` does the work, so importing this module (as
`carebot --help` does) costs nothing.
"""
from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any, Optional

DEFAULT_PORT = 3000
DEFAULT_HOST = "0.0.0.0"


def add_parser(subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    # `serve` may be shared with other platforms; reuse it if another module created it first.
    serve = subparsers.choices.get("serve") if hasattr(subparsers, "choices") else None
    if serve is None:
        serve = subparsers.add_parser("serve", help="run carebot as a chat app", description="Run carebot as a chat app.")
    platforms = getattr(serve, "_carebot_platforms", None)
    if platforms is None:
        platforms = serve.add_subparsers(dest="platform", required=True, metavar="PLATFORM")
        serve._carebot_platforms = platforms  # type: ignore[attr-defined]
    slack = platforms.add_parser(
        "slack",
        help="serve Slack (Socket Mode when SLACK_APP_TOKEN is set, else HTTP)",
        description=(
            "Serve carebot in Slack. Uses Socket Mode when SLACK_APP_TOKEN is set and the HTTP "
            "Events API (POST /slack/events, GET /healthz) otherwise. Settings come from the "
            "environment and ./.env; see docs/connect-to-slack.md."
        ),
    )
    slack.add_argument("--http", action="store_true", help="use the HTTP Events API even if SLACK_APP_TOKEN is set")
    slack.add_argument("--port", type=_port, default=DEFAULT_PORT, help=f"HTTP port (default {DEFAULT_PORT})")
    slack.add_argument("--host", default=DEFAULT_HOST, help=f"HTTP bind address (default {DEFAULT_HOST})")
    slack.set_defaults(handler=_serve_slack)


def serve_from_env() -> int:
    """What `make run` calls when Slack is configured: Socket Mode if SLACK_APP_TOKEN is set,
    else HTTP on port 3000."""
    from bot.slack.runner import main

    return main(mode=None, host=DEFAULT_HOST, port=DEFAULT_PORT)


def slack_configured(env_file: Path = Path(".env")) -> bool:
    """True when SLACK_BOT_TOKEN is set in the environment or in ./.env (for `carebot run`)."""
    from bot.slack.settings import load_env_file

    load_env_file(env_file)
    return bool(os.environ.get("SLACK_BOT_TOKEN", "").strip())


def _serve_slack(args: Any) -> int:
    from bot.slack.runner import main
    from bot.slack.settings import Mode

    mode: Optional[Mode] = Mode.http if args.http else None
    return main(mode=mode, host=args.host, port=args.port)


def _port(value: str) -> int:
    try:
        port = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {value!r}") from None
    if not 0 < port < 65536:
        raise argparse.ArgumentTypeError(f"port out of range: {port}")
    return port
