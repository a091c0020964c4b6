"""Start-up: settings from the environment and .env, errors that name the fix, the CLI, auth.test."""
from __future__ import annotations

from pathlib import Path
from typing import Dict

import pytest

from bot.cli import build_parser
from bot.slack import runner
from bot.slack.settings import Mode, SettingsError, SlackSettings, load_env_file, load_settings
from bot.slack.webapi import build_web_client, check_token
from bot.slack.platform import configured as slack_configured

from .harness import settings_for
from .mock_slack import BOT_USER, TEAM_ID, MockSlack

SLACK_VARS = ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "SLACK_API_URL", "CAREBOT_ALLOWED_CHANNELS")


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in SLACK_VARS:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_settings_from_the_environment(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("SLACK_BOT_TOKEN", "xoxb-1-2-abc")
    clean_env.setenv("SLACK_SIGNING_SECRET", "secret")
    clean_env.setenv("SLACK_API_URL", "http://127.0.0.1:9/api")
    clean_env.setenv("CAREBOT_ALLOWED_CHANNELS", " C0AAA , G0BBB,")
    settings = load_settings()
    assert settings.default_mode() is Mode.http
    assert settings.api_url == "http://127.0.0.1:9/api/"
    assert settings.allowed_channels == frozenset({"C0AAA", "G0BBB"})
    assert "xoxb-1-2-abc" not in repr(settings)  # secrets never printed
    clean_env.setenv("SLACK_APP_TOKEN", "xapp-1-A-2-xyz")
    assert load_settings().default_mode() is Mode.socket


def test_missing_and_malformed_settings_name_the_fix(clean_env: pytest.MonkeyPatch) -> None:
    with pytest.raises(SettingsError) as missing:
        load_settings(Mode.http)
    report = missing.value.report()
    assert "SLACK_BOT_TOKEN is not set" in report and "OAuth & Permissions" in report
    assert "SLACK_SIGNING_SECRET is not set" in report and "Basic Information" in report

    clean_env.setenv("SLACK_BOT_TOKEN", "xoxp-user-token")
    clean_env.setenv("SLACK_APP_TOKEN", "xoxb-wrong-kind")
    clean_env.setenv("CAREBOT_ALLOWED_CHANNELS", "#general")
    clean_env.setenv("SLACK_API_URL", "slack.com/api")
    with pytest.raises(SettingsError) as malformed:
        load_settings()
    problems = malformed.value.problems
    assert len(problems) == 4
    assert any(p.startswith("SLACK_BOT_TOKEN must be a bot token starting with xoxb-") for p in problems)
    assert any(p.startswith("SLACK_APP_TOKEN must be an app-level token") for p in problems)
    assert any(p.startswith("CAREBOT_ALLOWED_CHANNELS not channel ids: #general") for p in problems)
    assert any(p.startswith("SLACK_API_URL must be an http(s) URL") for p in problems)

    # an invalid value and a missing one are reported together, each once
    with pytest.raises(SettingsError) as both:
        load_settings(Mode.http)
    assert [p.split(" ")[0] for p in both.value.problems] == [
        "SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_API_URL", "CAREBOT_ALLOWED_CHANNELS", "SLACK_SIGNING_SECRET"]


def test_socket_mode_needs_the_app_token_not_the_signing_secret(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("SLACK_BOT_TOKEN", "xoxb-1")
    with pytest.raises(SettingsError) as failure:
        load_settings(Mode.socket)
    assert [p.split(" ")[0] for p in failure.value.problems] == ["SLACK_APP_TOKEN"]
    clean_env.setenv("SLACK_APP_TOKEN", "xapp-1")
    load_settings(Mode.socket)


def test_env_file_is_read_without_overriding_the_environment(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text(
        "# comment\n\nexport SLACK_BOT_TOKEN=xoxb-from-file\nSLACK_SIGNING_SECRET='quoted secret'\n"
        'SLACK_APP_TOKEN="xapp-from-file"\nCAREBOT_ALLOWED_CHANNELS=C0AAA # trailing comment\nnot a line\n'
    )
    environ: Dict[str, str] = {"SLACK_BOT_TOKEN": "xoxb-from-env"}
    added = load_env_file(env_file, environ)
    assert environ == {
        "SLACK_BOT_TOKEN": "xoxb-from-env",
        "SLACK_SIGNING_SECRET": "quoted secret",
        "SLACK_APP_TOKEN": "xapp-from-file",
        "CAREBOT_ALLOWED_CHANNELS": "C0AAA",
    }
    assert set(added) == {"SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "CAREBOT_ALLOWED_CHANNELS"}
    assert load_env_file(tmp_path / "missing.env", environ) == []


def test_env_example_is_readable_and_complete() -> None:
    example = Path(__file__).resolve().parents[3] / ".env.example"
    environ: Dict[str, str] = {}
    load_env_file(example, environ)
    assert set(SLACK_VARS) <= set(environ)


def test_cli_parses_serve_slack() -> None:
    args = build_parser().parse_args(["serve", "slack", "--http", "--port", "4000"])
    assert (args.command, args.platform, args.http, args.port) == ("serve", "slack", True, 4000)
    assert callable(args.handler)
    assert build_parser().parse_args(["serve", "slack"]).port == 3000
    with pytest.raises(SystemExit):
        build_parser().parse_args(["serve", "slack", "--port", "99999"])


def test_serve_without_settings_exits_2_naming_the_fix(clean_env: pytest.MonkeyPatch, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture) -> None:
    code = runner.main(mode=None, host="127.0.0.1", port=0, env_file=tmp_path / "none.env")
    assert code == 2
    err = capsys.readouterr().err
    assert "SLACK_BOT_TOKEN is not set" in err and ".env.example" in err


def test_slack_configured_reads_dot_env(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert slack_configured(tmp_path / "none.env") is False
    (tmp_path / ".env").write_text("SLACK_BOT_TOKEN=xoxb-from-file\n")
    assert slack_configured(tmp_path / ".env") is True


async def test_token_checked_with_auth_test(slack: MockSlack) -> None:
    identity = await check_token(build_web_client(settings_for(slack)))
    assert (identity.team_id, identity.user_id) == (TEAM_ID, BOT_USER)
    assert slack.of("auth.test")
    with pytest.raises(SettingsError) as rejected:
        await check_token(build_web_client(settings_for(slack, bot_token="xoxb-revoked")))
    assert "SLACK_BOT_TOKEN was rejected by Slack (invalid_auth)" in rejected.value.report()


async def test_rejected_token_stops_the_server_before_loading_the_model(slack: MockSlack,
                                                                        capsys: pytest.CaptureFixture) -> None:
    code = await runner.run(settings_for(slack, bot_token="xoxb-revoked"), Mode.http, "127.0.0.1", 0)
    assert code == 2
    assert "SLACK_BOT_TOKEN was rejected" in capsys.readouterr().err


async def test_unreachable_slack_is_reported(capsys: pytest.CaptureFixture) -> None:
    settings = SlackSettings(bot_token="xoxb-1", signing_secret="s", api_url="http://127.0.0.1:1/api/",
                             app_token=None, allowed_channels_raw=None)
    assert await runner.run(settings, Mode.http, "127.0.0.1", 0) == 1  # after the client's retries
    assert "could not reach the Slack Web API" in capsys.readouterr().err
