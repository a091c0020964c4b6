"""Microsoft Teams registers itself with the platform registry (`bot.edge.platforms`).

`carebot run` serves Teams when TEAMS_APP_ID is set (environment or ./.env); `carebot serve teams`
is added here. Importing this module is cheap: the SDK and the model load only when serving.
"""
from __future__ import annotations

import argparse
from typing import Any

from bot.edge.platforms import Platform, port_number, register
from bot.teams.settings import DEFAULT_HOST, DEFAULT_PORT


def configured() -> bool:
    from bot.teams.settings import configured as teams_configured

    return teams_configured()


def serve_from_env() -> int:
    """What `carebot run` calls when Teams is configured: HTTP on port 3978."""
    from bot.teams.runner import main

    return main(host=DEFAULT_HOST, port=DEFAULT_PORT)


def add_serve_parser(platforms: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    teams = platforms.add_parser(
        "teams",
        help="serve Microsoft Teams (POST /api/messages)",
        description=(
            "Serve carebot in Microsoft Teams: the Bot Connector delivers activities to "
            "POST /api/messages (health: GET /healthz, metrics: GET /metrics). Settings come from "
            "TEAMS_APP_ID, TEAMS_APP_PASSWORD and TEAMS_TENANT_ID in the environment or ./.env; "
            "see docs/connect-to-teams.md."
        ),
    )
    teams.add_argument("--port", type=port_number, default=DEFAULT_PORT, help=f"HTTP port (default {DEFAULT_PORT})")
    teams.add_argument("--host", default=DEFAULT_HOST, help=f"HTTP bind address (default {DEFAULT_HOST})")
    teams.set_defaults(handler=_serve)


def _serve(args: Any) -> int:
    from bot.teams.runner import main

    return main(host=args.host, port=args.port)


PLATFORM = register(Platform(
    name="teams",
    title="Microsoft Teams",
    configured=configured,
    serve_from_env=serve_from_env,
    add_serve_parser=add_serve_parser,
))
