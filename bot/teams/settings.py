"""Teams settings from the environment (and an optional `.env`), checked before anything starts.

carebot is a single-tenant Azure Bot (new multi-tenant registrations can no longer be created),
so three values identify it: the app id, its client secret and the tenant. Two more make the edge
testable offline and usable in sovereign or private clouds: where the inbound OpenID metadata
lives (`TEAMS_OPENID_METADATA_URL`) and which authority issues the outbound token
(`TEAMS_LOGIN_URL`). Every problem is reported at once, naming the variable and where its value
is found, and start-up stops (exit 2) instead of failing on the first message.
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Dict, List, Optional

from pydantic import BaseSettings, Extra, Field, SecretStr, ValidationError, validator

from bot.edge import settings as edge_settings
from bot.edge.settings import load_env_file

DEFAULT_PORT = 3978  # the Bot Framework's customary port
DEFAULT_HOST = "0.0.0.0"
# Where the Bot Connector publishes the keys it signs inbound requests with (public cloud).
DEFAULT_OPENID_METADATA_URL = "https://login.botframework.com/v1/.well-known/openidconfiguration"
PUBLIC_LOGIN_PREFIX = "https://login.microsoftonline.com/"
_GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")

_HOW_TO_FIX: Dict[str, str] = {
    "TEAMS_APP_ID": (
        "Copy the 'Microsoft App ID' (a GUID) from your Azure Bot resource's 'Configuration' page "
        "(see docs/connect-to-teams.md)."
    ),
    "TEAMS_APP_PASSWORD": (
        "Create a client secret under the app registration's 'Certificates & secrets' (Azure Bot > "
        "Configuration > 'Manage Password') and copy its Value (not its Secret ID)."
    ),
    "TEAMS_TENANT_ID": (
        "Copy the 'App Tenant ID' (a GUID) from the Azure Bot resource's 'Configuration' page; "
        "carebot is a single-tenant bot."
    ),
    "TEAMS_OPENID_METADATA_URL": (
        "Use the Bot Connector's OpenID metadata URL, "
        f"{DEFAULT_OPENID_METADATA_URL} (or leave it unset)."
    ),
    "TEAMS_LOGIN_URL": (
        "Use the https URL of the token authority including the tenant, e.g. "
        "https://login.microsoftonline.com/<tenant id> (or leave it unset)."
    ),
}
_FIELD_ENV = {
    "app_id": "TEAMS_APP_ID",
    "app_password": "TEAMS_APP_PASSWORD",
    "tenant_id": "TEAMS_TENANT_ID",
    "openid_metadata_url": "TEAMS_OPENID_METADATA_URL",
    "login_url": "TEAMS_LOGIN_URL",
}
_GUIDE = edge_settings.VariableGuide(_HOW_TO_FIX, _FIELD_ENV)


class SettingsError(edge_settings.SettingsError):
    app = "the Microsoft Teams app"
    where = "see docs/connect-to-teams.md"


class TeamsSettings(BaseSettings):
    """TEAMS_* variables. The password is a SecretStr so it never appears in a repr or a log."""

    app_id: Optional[str] = Field(None, env="TEAMS_APP_ID")
    app_password: Optional[SecretStr] = Field(None, env="TEAMS_APP_PASSWORD")
    tenant_id: Optional[str] = Field(None, env="TEAMS_TENANT_ID")
    openid_metadata_url: str = Field(DEFAULT_OPENID_METADATA_URL, env="TEAMS_OPENID_METADATA_URL")
    login_url: Optional[str] = Field(None, env="TEAMS_LOGIN_URL")

    class Config:
        extra = Extra.ignore

    @validator("app_id", "app_password", "tenant_id", "login_url", pre=True)
    def _blank_is_unset(cls, value: object) -> object:
        if isinstance(value, str):
            return value.strip() or None
        return value

    @validator("app_id", "tenant_id")
    def _guid(cls, value: Optional[str]) -> Optional[str]:
        if value is not None and not _GUID.match(value):
            raise ValueError("must be a GUID like 00000000-0000-0000-0000-000000000000")
        return value.lower() if value else value

    @validator("openid_metadata_url", pre=True)
    def _metadata_url(cls, value: object) -> str:
        text = str(value or "").strip() or DEFAULT_OPENID_METADATA_URL
        if not re.match(r"^https?://[^/\s]+/\S*$", text):
            raise ValueError("must be an http(s) URL")
        return text

    @validator("login_url")
    def _login_url(cls, value: Optional[str]) -> Optional[str]:
        # MSAL refuses any authority that is not https
        if value is not None and not re.match(r"^https://[^/\s]+/\S+$", value):
            raise ValueError("must be an https URL with the tenant in its path")
        return value.rstrip("/") if value else value

    # ---- derived --------------------------------------------------------------------------------

    @property
    def login_authority(self) -> str:
        """The authority the outbound (bot -> Connector) token comes from."""
        return self.login_url or f"{PUBLIC_LOGIN_PREFIX}{self.tenant_id}"

    @property
    def custom_login(self) -> bool:
        """True when TEAMS_LOGIN_URL names another authority: MSAL must then skip its instance
        discovery, which would otherwise ask login.microsoftonline.com about that host."""
        return self.login_url is not None

    def password(self) -> str:
        return self.app_password.get_secret_value() if self.app_password else ""

    def require(self) -> None:
        problems = self.missing()
        if problems:
            raise SettingsError(problems)

    def missing(self) -> List[str]:
        return [_GUIDE.problem(variable, "is not set") for field_name, variable in _FIELD_ENV.items()
                if field_name in ("app_id", "app_password", "tenant_id") and getattr(self, field_name) is None]


def load_settings(**overrides: object) -> TeamsSettings:
    """Read and check settings; every problem is reported at once, so one round of fixing .env
    is enough."""
    try:
        settings = TeamsSettings(**overrides)
    except ValidationError as exc:
        problems = [_GUIDE.describe(error) for error in exc.errors()]
        invalid = {str(error["loc"][0]) for error in exc.errors() if error.get("loc")}
        rest = TeamsSettings(**{**overrides, **{name: None for name in invalid}})
        reported = {_GUIDE.variable(name) for name in invalid}
        problems += [p for p in rest.missing() if p.split(" ", 1)[0] not in reported]
        raise SettingsError(problems) from None
    settings.require()
    return settings


def configured(env_file: Path = Path(".env")) -> bool:
    """True when TEAMS_APP_ID is set in the environment or in ./.env (for `carebot run`)."""
    load_env_file(env_file)
    return bool(os.environ.get("TEAMS_APP_ID", "").strip())
