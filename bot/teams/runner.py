"""The `carebot serve teams` process: settings, credentials, engine, serve until stopped.

Order matters for the person starting it: settings and the credentials (a token from the
authority) are checked first, in seconds, then the model is loaded (slow, and slower still the
first time, when it is trained), so a wrong secret in .env is reported before a minute of waiting
rather than after.
"""
from __future__ import annotations

import asyncio
from pathlib import Path

from bot.edge.process import say as _say
from bot.edge.process import until_stopped
from bot.logs import configure_logging
from bot.teams.credentials import CredentialsError
from bot.teams.settings import SettingsError, TeamsSettings, load_env_file, load_settings

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def main(host: str, port: int, env_file: Path = Path(".env")) -> int:
    load_env_file(env_file)
    configure_logging()  # again: .env may set CAREBOT_LOG_LEVEL
    try:
        settings = load_settings()
    except SettingsError as exc:
        _say(exc.report())
        return EXIT_USAGE
    return asyncio.run(run(settings, host, port))


async def run(settings: TeamsSettings, host: str, port: int) -> int:
    from bot.teams.service import build_tokens, start_service

    tokens = build_tokens(settings)
    try:
        await tokens.prepare()
    except CredentialsError as exc:
        _say(_credentials_problem(settings, exc))
        return EXIT_USAGE if exc.reason in ("token_refused", "authority_refused") else EXIT_FAILED
    _say(f"carebot: signed in as Teams app {settings.app_id} (tenant {settings.tenant_id}).")
    _say("carebot: loading the knowledge base and NLU model (the first run trains it: 1-2 minutes)...")

    from dialogues.engine import Engine  # TensorFlow: imported only once settings are known good

    engine = await Engine.create(say=lambda message: _say(f"carebot: {message}"))
    try:
        try:
            service = await start_service(settings, engine, host=host, port=port, tokens=tokens)
        except OSError as exc:
            _say(f"carebot: cannot listen on {host}:{port} ({exc.strerror or exc}). Pass another --port.")
            return EXIT_USAGE
        except Exception as exc:  # the OpenID keys could not be fetched
            _say(f"carebot: cannot load the Bot Connector's signing keys ({type(exc).__name__}) from "
                 f"{settings.openid_metadata_url}. Check the network (or TEAMS_OPENID_METADATA_URL), "
                 "then try again.")
            return EXIT_FAILED
        _say(f"carebot: serving Microsoft Teams at {service.http.url}/api/messages "
             f"(health: {service.http.url}/healthz). Ctrl-C to stop.")
        await until_stopped()
        _say("carebot: stopping; finishing answers in flight...")
        await service.close()
        return EXIT_OK
    finally:
        await engine.close()


def _credentials_problem(settings: TeamsSettings, exc: CredentialsError) -> str:
    if exc.reason == "authority_refused":
        return (f"carebot: the token authority {settings.login_authority} does not know this tenant. "
                "Check TEAMS_TENANT_ID (the bot's 'App Tenant ID') and, if set, TEAMS_LOGIN_URL "
                "(docs/connect-to-teams.md).")
    if exc.reason == "token_refused":
        return ("carebot: the token authority refused TEAMS_APP_ID / TEAMS_APP_PASSWORD for tenant "
                f"{settings.tenant_id}. Check that the secret's Value (not its ID) was copied and has "
                "not expired, and that TEAMS_TENANT_ID is the app's tenant (docs/connect-to-teams.md).")
    return (f"carebot: cannot reach the token authority {settings.login_authority} ({exc.reason}). "
            "Check the network (or TEAMS_LOGIN_URL and REQUESTS_CA_BUNDLE), then try again.")
