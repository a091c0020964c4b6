"""manifest.yml asks Slack for exactly what the app listens to, and the docs describe it."""
from __future__ import annotations

from pathlib import Path

import yaml

from bot.slack.app import COMMAND
from bot.slack.routes import EVENTS_PATH

ROOT = Path(__file__).resolve().parents[3]


def test_manifest_matches_the_app() -> None:
    manifest = yaml.safe_load((ROOT / "manifest.yml").read_text())
    assert sorted(manifest["oauth_config"]["scopes"]["bot"]) == sorted(
        ["app_mentions:read", "chat:write", "im:history", "im:read", "im:write", "commands",
         "channels:history", "groups:history", "mpim:history"])
    settings = manifest["settings"]
    assert settings["event_subscriptions"]["bot_events"] == ["app_mention", "message.im"]
    assert settings["interactivity"]["is_enabled"] is True
    assert settings["socket_mode_enabled"] is False
    [command] = manifest["features"]["slash_commands"]
    assert command["command"] == COMMAND
    urls = [command["url"], settings["event_subscriptions"]["request_url"], settings["interactivity"]["request_url"]]
    assert all(url.startswith("https://") and url.endswith(EVENTS_PATH) for url in urls)
    assert manifest["features"]["app_home"]["messages_tab_enabled"] is True  # DMs
    assert 174 <= len(manifest["display_information"]["long_description"]) <= 4000  # Slack's bounds


def test_connect_guide_covers_both_transports() -> None:
    guide = (ROOT / "docs" / "connect-to-slack.md").read_text()
    for needle in ("Socket Mode", "HTTP Events API", "manifest.yml", "SLACK_BOT_TOKEN", "SLACK_APP_TOKEN",
                   "SLACK_SIGNING_SECRET", "make run", "/slack/events", "/healthz", "CAREBOT_ALLOWED_CHANNELS"):
        assert needle in guide, needle
