"""Authentication, fail closed: every request the Bot Connector did not sign is refused with 401,
nothing is posted, and the refused activity is not marked as seen (the same activity delivered
later with a genuine token is answered)."""
from __future__ import annotations

import time
from typing import Any, Callable, Dict

import jwt
import pytest

from mocks.teams import APP_ID, SigningKeys, TeamsCloud, message_activity, mint_token, personal_conversation

from .harness import TeamsBot

FOREIGN = SigningKeys()  # a key the Connector never published


def same_kid_other_key(cloud: TeamsCloud, service_url: str) -> str:
    impostor = SigningKeys(kid=cloud.keys.kid)
    return mint_token(impostor, service_url=service_url)


def hmac_with_public_key(cloud: TeamsCloud, service_url: str) -> str:
    """The classic algorithm confusion: HS256 keyed with the RSA public key."""
    claims = {"iss": "https://api.botframework.com", "aud": APP_ID, "serviceurl": service_url,
              "exp": int(time.time()) + 600}
    return jwt.encode(claims, "public-key-bytes", algorithm="HS256", headers={"kid": cloud.keys.kid})


FORGERIES: Dict[str, Callable[[TeamsCloud, str], Any]] = {
    "no header": lambda cloud, url: None,
    "foreign key": lambda cloud, url: mint_token(FOREIGN, service_url=url),
    "foreign key with a known key id": same_kid_other_key,
    "wrong audience": lambda cloud, url: cloud.token(url, audience="00000000-0000-0000-0000-000000000000"),
    "expired": lambda cloud, url: cloud.token(url, lifetime=-600),  # beyond the SDK's 5 minutes of leeway
    "wrong serviceurl": lambda cloud, url: cloud.token("https://smba.example.net/evil/"),
    "no serviceurl": lambda cloud, url: mint_token(cloud.keys),
    "wrong issuer": lambda cloud, url: cloud.token(url, issuer="https://sts.windows.net/d6d49420-f39b-4df7-a1dc-d59a935871db/"),
    "algorithm confusion": hmac_with_public_key,
    "not a jwt": lambda cloud, url: "not-a-token",
}


@pytest.mark.parametrize("forgery", sorted(FORGERIES))
async def test_forged_request_is_refused_with_401_and_the_activity_stays_unseen(teams: TeamsBot, forgery: str) -> None:
    conversation = personal_conversation()
    activity = message_activity("lanreotide dose?", conversation, teams.service_url)
    token = FORGERIES[forgery](teams.cloud, teams.service_url)
    status, _, _ = await teams.send(activity, token=token)
    assert status == 401
    await teams.settle()
    assert teams.connector.of(conversation["id"], activity_type=None) == []  # nothing posted, not even typing
    # the genuine delivery of the same activity is answered: the refusal did not mark it seen
    assert (await teams.send(activity))[0] == 201
    [answer] = await teams.connector.wait_posts(conversation=conversation["id"])
    assert answer.activity_id == activity["id"]


async def test_bad_schemes_and_headers_are_refused(teams: TeamsBot) -> None:
    activity = message_activity("lanreotide dose?", personal_conversation(), teams.service_url)
    good = teams.cloud.token(teams.service_url)
    for header in ("", "Basic abc", f"bearer {good}", f"Bearer {good} extra", "Bearer"):
        status, _, _ = await teams.send(activity, token=None, headers={"Authorization": header})
        assert status == 401, header


async def test_activity_claiming_another_channel_is_refused(teams: TeamsBot) -> None:
    """Keys are endorsed per channel; an activity must be a Teams one for the check to mean anything."""
    activity = message_activity("lanreotide dose?", personal_conversation(), teams.service_url)
    for channel in ("webchat", None):
        forged = dict(activity, channelId=channel)
        assert (await teams.send(forged))[0] == 401


async def test_body_that_is_not_an_activity_is_400_after_the_header_check(teams: TeamsBot) -> None:
    import aiohttp

    url = teams.client.url
    good = teams.cloud.token(teams.service_url)
    async with aiohttp.ClientSession() as session:
        async with session.post(url, data="{not json", headers={"Content-Type": "application/json"}) as response:
            assert response.status == 401  # no header: refused before the body is read
        async with session.post(url, data="{not json", headers={"Authorization": f"Bearer {good}"}) as response:
            assert response.status == 400
        async with session.post(url, json=[1, 2], headers={"Authorization": f"Bearer {good}"}) as response:
            assert response.status == 400


async def test_signing_keys_are_fetched_at_start_up_not_per_request(teams: TeamsBot) -> None:
    before = teams.cloud.openid.fetches
    for _ in range(3):
        await teams.ask("lanreotide dose?", personal_conversation())
    await teams.settle()
    assert teams.cloud.openid.fetches == before


async def test_unknown_key_id_refetches_keys_at_most_every_few_minutes(teams: TeamsBot) -> None:
    before = teams.cloud.openid.fetches
    for _ in range(3):
        activity = message_activity("lanreotide dose?", personal_conversation(), teams.service_url)
        token = mint_token(teams.cloud.keys, service_url=teams.service_url, kid="rotated-key")
        assert (await teams.send(activity, token=token))[0] == 401
    assert teams.cloud.openid.fetches - before <= 2  # one refetch (metadata + keys), then none
