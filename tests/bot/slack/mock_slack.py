"""The tests' Slack: the one shared mock in `mocks.slack` (also used by the benchmarks)."""
from mocks.slack import *  # noqa: F401,F403
from mocks.slack import APP_TOKEN, BOT_ID, BOT_TOKEN, BOT_USER, TEAM_ID, Call, MockSlack  # noqa: F401
