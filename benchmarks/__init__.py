"""`carebot bench`: how fast carebot is on the machine at hand, against bare Rasa.

Each benchmark is a module; `runner` runs the ones asked for and writes one JSON document.

stats.py      medians and percentiles (no numpy needed)
machine.py    the machine (cores, memory, Python, platform, load) and /proc memory readings
messages.py   the care-team questions every benchmark sends
core.py       (1) turn cost vs bare Rasa, (6) growth with 10 vs 10,000 stored conversations
slack.py      (2) Slack end to end over HTTP against mocks/slack.py, (4) memory
teams.py      (9) Teams end to end over HTTP against mocks/teams.py (OpenID, token, Connector)
stores.py     (7) the state store's calls per turn, SQLite and (--redis) Redis
servers.py    carebot serve in its own process (start, ready, stop, kill)
coldstart.py  (3) process start to first answer, carebot vs bare Rasa
bare_rasa.py  the bare-Rasa cold-start script (imports nothing from carebot)
training.py   (5) full and no-op training
(8)           the audit record's cost per turn: audit/bench.py
report.py     goals, the printed table, the JSON document
runner.py     orchestration: what runs when, so no two measurements overlap

Timings are figures, never pass/fail tests: the machine may be shared (the load average is
recorded next to every figure).
"""
SCHEMA_VERSION = 1
