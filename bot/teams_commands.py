"""`carebot teams package`: build the Teams app package (manifest and icons) to sideload.

Only argument parsing lives here; `bot.teams.package` does the work, so importing this module (as
`carebot --help` does) costs nothing. Serving Teams is `carebot serve teams`
(see `bot/teams/platform.py`).
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

EXIT_OK, EXIT_USAGE = 0, 2


def add_parser(subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    teams = subparsers.add_parser("teams", help="Microsoft Teams tools", description="Microsoft Teams tools.")
    commands = teams.add_subparsers(dest="teams_command", required=True, metavar="TEAMS_COMMAND")
    package = commands.add_parser(
        "package",
        help="build carebot-teams.zip (manifest and icons) to upload to Teams",
        description=(
            "Build the Teams app package: manifest.json (schema 1.19; the bot scoped personal, team "
            "and groupChat; its id is TEAMS_APP_ID from the environment or ./.env), color.png "
            "(192x192) and outline.png (32x32). Upload it in Teams (Apps > Manage your apps > Upload "
            "an app) or in the Teams admin centre; see docs/connect-to-teams.md."
        ),
    )
    package.add_argument("--output", "-o", type=Path, default=Path("carebot-teams.zip"),
                         help="where to write the zip (a directory gets carebot-teams.zip; default ./carebot-teams.zip)")
    package.add_argument("--app-version", default="1.0.0",
                         help="the app's own version; raise it to update an uploaded app (default 1.0.0)")
    package.add_argument("--developer-name", default=None,
                         help="publisher shown in Teams (or TEAMS_DEVELOPER_NAME; default carebot)")
    package.add_argument("--website-url", default=None, help="https URL (or TEAMS_WEBSITE_URL)")
    package.add_argument("--privacy-url", default=None, help="https URL (or TEAMS_PRIVACY_URL)")
    package.add_argument("--terms-url", default=None, help="https URL (or TEAMS_TERMS_URL)")
    package.set_defaults(handler=_package)


def _package(args: Any) -> int:
    from bot.teams.package import PackageError, Publisher, build_package
    from bot.teams.settings import load_env_file

    load_env_file(Path(".env"))
    app_id = os.environ.get("TEAMS_APP_ID", "").strip()
    if not app_id:
        _say("carebot: TEAMS_APP_ID is not set. Copy the 'Microsoft App ID' from your Azure Bot "
             "resource's 'Configuration' page into the environment or .env (docs/connect-to-teams.md).")
        return EXIT_USAGE
    defaults = Publisher()
    publisher = Publisher(
        name=args.developer_name or os.environ.get("TEAMS_DEVELOPER_NAME") or defaults.name,
        website_url=args.website_url or os.environ.get("TEAMS_WEBSITE_URL") or defaults.website_url,
        privacy_url=args.privacy_url or os.environ.get("TEAMS_PRIVACY_URL") or defaults.privacy_url,
        terms_url=args.terms_url or os.environ.get("TEAMS_TERMS_URL") or defaults.terms_url,
    )
    try:
        path = build_package(app_id, args.output, version=args.app_version, publisher=publisher)
    except PackageError as exc:
        _say(f"carebot: cannot build the Teams package: {exc}")
        return EXIT_USAGE
    except OSError as exc:
        _say(f"carebot: cannot write {args.output} ({exc.strerror or exc}).")
        return EXIT_USAGE
    _say(f"carebot: wrote {path} for Teams app {app_id}.")
    if publisher.website_url == defaults.website_url:
        _say("carebot: the publisher URLs are placeholders; pass --website-url, --privacy-url and "
             "--terms-url (or TEAMS_*_URL) before publishing it to your organisation.")
    return EXIT_OK


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)
