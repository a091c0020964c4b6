"""The `carebot serve slack` process: settings, token check, engine, serve until stopped.

Order matters for the person starting it: settings and the token are checked first (seconds),
then the model is loaded (slow, and slower still the first time when it is trained), so a typo
in .env is reported before a minute of waiting rather than after.
"""
from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Optional

from bot.edge.process import say as _say
from bot.edge.process import until_stopped
from bot.logs import configure_logging
from bot.slack.service import start_service
from bot.slack.settings import Mode, SettingsError, SlackSettings, load_env_file, load_settings
from bot.slack.webapi import SlackUnreachable, build_web_client, check_token

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def main(mode: Optional[Mode], host: str, port: int, env_file: Path = Path(".env")) -> int:
    load_env_file(env_file)
    configure_logging()  # again: .env may set CAREBOT_LOG_LEVEL
    try:
        settings = load_settings(mode)
    except SettingsError as exc:
        _say(exc.report())
        return EXIT_USAGE
    return asyncio.run(run(settings, mode or settings.default_mode(), host, port))


async def run(settings: SlackSettings, mode: Mode, host: str, port: int) -> int:
    try:
        identity = await check_token(build_web_client(settings))
    except SettingsError as exc:
        _say(exc.report())
        return EXIT_USAGE
    except SlackUnreachable as exc:
        _say(f"carebot: {exc} (SLACK_API_URL={settings.api_url}). Check the network, then try again.")
        return EXIT_FAILED
    _say(f"carebot: connected to Slack workspace {identity.team or identity.team_id} as <@{identity.user_id}>.")
    _say("carebot: loading the knowledge base and NLU model (the first run trains it: 1-2 minutes)...")

    from dialogues.engine import Engine  # TensorFlow: imported only once settings are known good

    engine = await Engine.create(say=lambda message: _say(f"carebot: {message}"))
    try:
        try:
            service = await start_service(settings, engine, mode, host=host, port=port, identity=identity)
        except SettingsError as exc:
            _say(exc.report())
            return EXIT_USAGE
        except SlackUnreachable as exc:
            _say(f"carebot: {exc}. Check the network, then try again.")
            return EXIT_FAILED
        except OSError as exc:
            _say(f"carebot: cannot listen on {host}:{port} ({exc.strerror or exc}). Pass another --port.")
            return EXIT_USAGE
        if service.http is not None:
            _say(f"carebot: serving the Slack Events API at {service.http.url}/slack/events "
                 f"(health: {service.http.url}/healthz). Ctrl-C to stop.")
        else:
            _say("carebot: connected to Slack by Socket Mode. Ctrl-C to stop.")
        await until_stopped()
        _say("carebot: stopping; finishing answers in flight...")
        await service.close()
        return EXIT_OK
    finally:
        await engine.close()
