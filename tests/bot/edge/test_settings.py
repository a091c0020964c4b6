"""What every platform's settings share (bot/edge/settings.py)."""
from __future__ import annotations

from pathlib import Path

import pytest

from bot.edge.settings import SettingsError, VariableGuide, load_env_file
from bot.slack.settings import SettingsError as SlackSettingsError
from bot.teams.settings import SettingsError as TeamsSettingsError

GUIDE = VariableGuide({"CHAT_TOKEN": "Copy it from the admin page."}, {"token": "CHAT_TOKEN"})


def test_a_problem_names_the_variable_and_the_fix_never_the_value() -> None:
    error = {"loc": ("token",), "msg": "must start with xoxb-", "input": "xoxp-secret-value"}
    line = GUIDE.describe(error)
    assert line == "CHAT_TOKEN must start with xoxb-. Copy it from the admin page."
    assert "secret" not in line


def test_a_field_without_advice_is_still_named_as_its_variable() -> None:
    assert GUIDE.describe({"loc": ("port",), "msg": "is not a number"}) == "PORT is not a number"
    assert GUIDE.variable("token") == "CHAT_TOKEN"


def test_a_table_that_names_a_variable_it_gives_no_advice_for_is_refused_at_start_up() -> None:
    with pytest.raises(ValueError, match="CHAT_SECRET"):
        VariableGuide({"CHAT_TOKEN": "..."}, {"token": "CHAT_TOKEN", "secret": "CHAT_SECRET"})


@pytest.mark.parametrize("error, app, guide", [
    (SlackSettingsError, "the Slack app", "docs/connect-to-slack.md"),
    (TeamsSettingsError, "the Microsoft Teams app", "docs/connect-to-teams.md"),
])
def test_each_platform_reports_in_the_same_shape(error, app: str, guide: str) -> None:
    report = error(["A is not set. Fix A.", "B is invalid. Fix B."]).report()
    assert report.splitlines() == [
        f"carebot: cannot start {app}:",
        "  - A is not set. Fix A.",
        "  - B is invalid. Fix B.",
        report.splitlines()[-1],
    ]
    assert guide in report.splitlines()[-1]
    assert isinstance(error([]), SettingsError)


def test_the_env_file_never_overrides_the_environment(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text("# comment\nexport A='one'\nB=two # note\nC=\"x y\"\nnot a line\n1BAD=x\n", encoding="utf-8")
    environ = {"B": "set"}
    assert load_env_file(env, environ) == ["A", "C"]
    assert environ == {"A": "one", "B": "set", "C": "x y"}
    assert load_env_file(tmp_path / "absent", environ) == []
