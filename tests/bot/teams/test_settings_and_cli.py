"""TEAMS_* settings are checked before anything starts, and `carebot serve teams` is registered."""
from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from bot.edge import platforms
from bot.teams.settings import SettingsError, TeamsSettings, configured, load_env_file, load_settings
from mocks.teams import APP_ID, TENANT_ID

NONE = dict(app_id=None, app_password=None, tenant_id=None, login_url=None)


def test_missing_settings_name_every_variable_and_the_fix() -> None:
    with pytest.raises(SettingsError) as missing:
        load_settings(**NONE)
    report = missing.value.report()
    for variable in ("TEAMS_APP_ID", "TEAMS_APP_PASSWORD", "TEAMS_TENANT_ID"):
        assert variable in report
    assert "docs/connect-to-teams.md" in report


def test_invalid_values_are_reported_with_what_is_missing() -> None:
    with pytest.raises(SettingsError) as invalid:
        load_settings(**dict(NONE, app_id="my-bot", login_url="http://login.example/tenant"))
    problems = invalid.value.problems
    assert any(p.startswith("TEAMS_APP_ID must be a GUID") for p in problems)
    assert any(p.startswith("TEAMS_LOGIN_URL") and "https" in p for p in problems)
    assert any(p.startswith("TEAMS_APP_PASSWORD is not set") for p in problems)


def test_login_authority_defaults_to_the_tenant_and_secrets_stay_hidden() -> None:
    settings = load_settings(app_id=APP_ID.upper(), app_password="s3cret", tenant_id=TENANT_ID, login_url=None)
    assert settings.app_id == APP_ID
    assert settings.login_authority == f"https://login.microsoftonline.com/{TENANT_ID}" and not settings.custom_login
    assert "s3cret" not in repr(settings)
    custom = TeamsSettings(app_id=APP_ID, app_password="x", tenant_id=TENANT_ID, login_url="https://login.example/t/")
    assert custom.login_authority == "https://login.example/t" and custom.custom_login


def test_configured_reads_dot_env_without_overriding_the_environment(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    env = tmp_path / ".env"
    env.write_text(f"# carebot\nexport TEAMS_APP_ID='{APP_ID}'\nTEAMS_TENANT_ID=from-file # note\n")
    environ = {"TEAMS_TENANT_ID": "from-environment"}
    assert load_env_file(env, environ) == ["TEAMS_APP_ID"]
    assert environ == {"TEAMS_TENANT_ID": "from-environment", "TEAMS_APP_ID": APP_ID}
    monkeypatch.delenv("TEAMS_APP_ID", raising=False)
    assert not configured(tmp_path / "absent.env")
    monkeypatch.setenv("TEAMS_APP_ID", APP_ID)
    assert configured(tmp_path / "absent.env")


def test_teams_registers_itself_and_its_serve_command() -> None:
    teams = {p.name: p for p in platforms.platforms()}["teams"]
    assert teams.title == "Microsoft Teams"
    parser = argparse.ArgumentParser()
    serve = parser.add_subparsers(dest="platform")
    teams.add_serve_parser(serve)
    args = parser.parse_args(["teams"])
    assert (args.port, args.host) == (3978, "0.0.0.0")
    assert parser.parse_args(["teams", "--port", "4000", "--host", "127.0.0.1"]).port == 4000
    with pytest.raises(SystemExit):
        parser.parse_args(["teams", "--port", "0"])


def test_serve_with_missing_settings_stops_with_usage_exit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture) -> None:
    from bot.teams.runner import main

    for variable in ("TEAMS_APP_ID", "TEAMS_APP_PASSWORD", "TEAMS_TENANT_ID", "TEAMS_LOGIN_URL"):
        monkeypatch.delenv(variable, raising=False)
    assert main("127.0.0.1", 3978, env_file=tmp_path / "absent.env") == 2
    assert "TEAMS_APP_ID is not set" in capsys.readouterr().err
