"""The bot's outbound token: one MSAL app on TEAMS_LOGIN_URL (https, trusted through
REQUESTS_CA_BUNDLE, no instance discovery elsewhere), fetched off the event loop and cached."""
from __future__ import annotations

import pytest

from bot.teams.credentials import CredentialsError, TeamsCredentialFactory, TokenSource
from mocks.teams import TeamsCloud

from .harness import settings_for


async def test_token_comes_from_the_configured_authority_and_is_cached(cloud: TeamsCloud, trust_authority: str) -> None:
    tokens = TokenSource(TeamsCredentialFactory.from_settings(settings_for(cloud)))
    issued = len(cloud.authority.issued)
    first = await tokens.token()
    assert cloud.authority.valid(first)
    assert await tokens.token() == first and len(cloud.authority.issued) == issued + 1
    tokens.forget()
    await tokens.token()  # MSAL's own cache may answer; either way a valid token
    assert cloud.authority.valid(await tokens.token())
    # the SDK's credentials objects share the one MSAL app (and so its token cache)
    credentials = await tokens.factory.create_credentials(
        tokens.factory.app_id, "https://api.botframework.com", tokens.factory.authority, False)
    assert credentials.app is tokens.factory.msal_app()


async def test_a_wrong_secret_or_tenant_is_reported_as_such(cloud: TeamsCloud, trust_authority: str) -> None:
    wrong_secret = TokenSource(TeamsCredentialFactory.from_settings(settings_for(cloud, app_password="nope")))
    with pytest.raises(CredentialsError) as refused:
        await wrong_secret.prepare()
    assert refused.value.reason == "token_refused"
    wrong_tenant = settings_for(cloud, login_url=cloud.authority.url + "/11111111-1111-1111-1111-111111111111")
    with pytest.raises(CredentialsError) as unknown:
        await TokenSource(TeamsCredentialFactory.from_settings(wrong_tenant)).prepare()
    assert unknown.value.reason == "authority_refused"


async def test_authentication_is_never_disabled(cloud: TeamsCloud) -> None:
    factory = TeamsCredentialFactory.from_settings(settings_for(cloud))
    assert await factory.is_authentication_disabled() is False


async def test_the_authority_certificate_is_verified(cloud: TeamsCloud, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without REQUESTS_CA_BUNDLE naming its certificate, the mock authority is not trusted."""
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    with pytest.raises(CredentialsError) as untrusted:
        await TokenSource(TeamsCredentialFactory.from_settings(settings_for(cloud))).prepare()
    assert untrusted.value.reason.startswith("token_unavailable:")
