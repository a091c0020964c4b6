"""Slack settings from the environment (and an optional `.env`), checked before anything starts.

A workspace admin setting carebot up will get a token or secret wrong at least once, so every
problem is reported together, in words that name the variable and where to find its value, and
start-up stops (exit 2) instead of failing later on the first message.
"""
from __future__ import annotations

import re
from enum import Enum
from typing import Dict, FrozenSet, List, Optional

from pydantic import BaseSettings, Extra, Field, SecretStr, ValidationError, validator

from bot.edge import settings as edge_settings
from bot.edge.settings import load_env_file  # noqa: F401 (re-exported: the runners and tests use it)

DEFAULT_API_URL = "https://slack.com/api/"
_CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{2,}$")

# What to do about each variable, named in start-up errors.
_HOW_TO_FIX: Dict[str, str] = {
    "SLACK_BOT_TOKEN": (
        "Copy the Bot User OAuth Token (starts with xoxb-) from your Slack app's "
        "'OAuth & Permissions' page (install the app to the workspace first)."
    ),
    "SLACK_SIGNING_SECRET": (
        "Copy the Signing Secret from your Slack app's 'Basic Information' > 'App Credentials'. "
        "It is required for the HTTP Events API; with Socket Mode set SLACK_APP_TOKEN instead."
    ),
    "SLACK_APP_TOKEN": (
        "Generate an app-level token (starts with xapp-) with the connections:write scope under "
        "'Basic Information' > 'App-Level Tokens', and enable Socket Mode."
    ),
    "SLACK_API_URL": "Use the Web API base URL, e.g. https://slack.com/api/ (or leave it unset).",
    "CAREBOT_ALLOWED_CHANNELS": (
        "Use a comma-separated list of channel ids such as C0123456789 "
        "(in Slack: channel name > 'View channel details' > bottom of the 'About' tab)."
    ),
}
_FIELD_ENV = {
    "bot_token": "SLACK_BOT_TOKEN",
    "signing_secret": "SLACK_SIGNING_SECRET",
    "app_token": "SLACK_APP_TOKEN",
    "api_url": "SLACK_API_URL",
    "allowed_channels_raw": "CAREBOT_ALLOWED_CHANNELS",
}
_GUIDE = edge_settings.VariableGuide(_HOW_TO_FIX, _FIELD_ENV)


class Mode(str, Enum):
    socket = "socket"
    http = "http"


class SettingsError(edge_settings.SettingsError):
    app = "the Slack app"
    where = "see .env.example and docs/connect-to-slack.md"


class SlackSettings(BaseSettings):
    """SLACK_* variables plus the optional channel allowlist.

    Secrets are SecretStr so they never appear in a repr or a log line.
    """

    bot_token: Optional[SecretStr] = Field(None, env="SLACK_BOT_TOKEN")
    signing_secret: Optional[SecretStr] = Field(None, env="SLACK_SIGNING_SECRET")
    app_token: Optional[SecretStr] = Field(None, env="SLACK_APP_TOKEN")
    api_url: str = Field(DEFAULT_API_URL, env="SLACK_API_URL")
    # A plain string: pydantic v1 would try to JSON-decode a list-typed variable.
    allowed_channels_raw: Optional[str] = Field(None, env="CAREBOT_ALLOWED_CHANNELS")

    class Config:
        extra = Extra.ignore

    @validator("bot_token", "signing_secret", "app_token", pre=True)
    def _blank_is_unset(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip():
            return None
        return value.strip() if isinstance(value, str) else value

    @validator("bot_token")
    def _bot_token_shape(cls, value: Optional[SecretStr]) -> Optional[SecretStr]:
        if value is not None and not value.get_secret_value().startswith("xoxb-"):
            raise ValueError("must be a bot token starting with xoxb- (xoxp- user tokens are not supported)")
        return value

    @validator("app_token")
    def _app_token_shape(cls, value: Optional[SecretStr]) -> Optional[SecretStr]:
        if value is not None and not value.get_secret_value().startswith("xapp-"):
            raise ValueError("must be an app-level token starting with xapp-")
        return value

    @validator("api_url", pre=True)
    def _api_url_shape(cls, value: object) -> str:
        text = str(value or DEFAULT_API_URL).strip() or DEFAULT_API_URL
        if not re.match(r"^https?://[^/\s]+(/\S*)?$", text):
            raise ValueError("must be an http(s) URL")
        return text if text.endswith("/") else text + "/"  # slack_sdk appends method names

    @validator("allowed_channels_raw")
    def _channels_shape(cls, value: Optional[str]) -> Optional[str]:
        if value is None:
            return None
        bad = [c for c in _split(value) if not _CHANNEL_ID.match(c)]
        if bad:
            raise ValueError(f"not channel ids: {', '.join(bad[:5])}")
        return value

    @property
    def allowed_channels(self) -> FrozenSet[str]:
        """Channel ids carebot may answer in; empty means everywhere it is invited."""
        return frozenset(_split(self.allowed_channels_raw or ""))

    def default_mode(self) -> Mode:
        return Mode.socket if self.app_token is not None else Mode.http

    def require(self, mode: Mode) -> None:
        """Raise SettingsError unless everything `mode` needs is present."""
        problems = self.missing(mode)
        if problems:
            raise SettingsError(problems)

    def missing(self, mode: Mode) -> List[str]:
        problems = []
        if self.bot_token is None:
            problems.append(_GUIDE.problem("SLACK_BOT_TOKEN", "is not set"))
        if mode is Mode.http and self.signing_secret is None:
            problems.append(_GUIDE.problem("SLACK_SIGNING_SECRET", "is not set"))
        if mode is Mode.socket and self.app_token is None:
            problems.append(_GUIDE.problem("SLACK_APP_TOKEN", "is not set"))
        return problems


def load_settings(mode: Optional[Mode] = None, **overrides: object) -> SlackSettings:
    """Read and check settings; `mode` None means "whatever the variables allow". Every problem
    is reported at once, so one round of fixing .env is enough."""
    try:
        settings = SlackSettings(**overrides)
    except ValidationError as exc:
        problems = [_GUIDE.describe(error) for error in exc.errors()]
        invalid = {str(error["loc"][0]) for error in exc.errors() if error.get("loc")}
        # What else is missing, judged without the invalid values (each reported once).
        rest = SlackSettings(**{**overrides, **{name: None for name in invalid}})
        reported = {_GUIDE.variable(name) for name in invalid}
        intended = mode or (Mode.socket if "app_token" in invalid else rest.default_mode())
        problems += [p for p in rest.missing(intended) if p.split(" ", 1)[0] not in reported]
        raise SettingsError(problems) from None
    settings.require(mode or settings.default_mode())
    return settings


def _split(value: str) -> List[str]:
    return [part.strip() for part in value.split(",") if part.strip()]
