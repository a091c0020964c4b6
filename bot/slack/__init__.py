"""The Slack edge: translates Slack payloads into core turns and replies into Block Kit.

settings.py       SLACK_* settings and .env, checked at start-up
webapi.py         Web API / response_url clients with retries; the auth.test check
conversations.py  conversation ids and where an answer is posted
dedup.py          one reply per delivery (event_id, client_msg_id) via the state store
app.py            Bolt listeners: which payloads are questions
responder.py      background answering: core -> blocks -> Slack, apology on failure
deliver.py        posting messages (chat.postMessage, response_url)
share.py          private answers waiting to be shared in their channel
server.py         aiohttp server: POST /slack/events, GET /healthz
socket_mode.py    Socket Mode transport
service.py        wiring the above together (used by the CLI and the tests)
runner.py         the `carebot serve slack` process

Nothing clinical happens here: every word of an answer comes from the core's Reply.
"""
