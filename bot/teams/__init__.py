"""The Microsoft Teams edge: Teams activities in, core turns; replies out, as Adaptive Cards.

Every botbuilder / botframework import of carebot is in this folder, so that a move to the
Microsoft 365 Agents SDK (once it can be installed beside Rasa's pins) touches this folder only.

settings.py       TEAMS_* settings and .env, checked at start-up
credentials.py    the bot's token toward the Connector: one MSAL app, fetched off the event loop
auth.py           inbound JWT authentication, fail-closed (401), OpenID keys fetched off the loop
conversations.py  conversation ids (personal chat, channel thread), delivery keys, routes, text
app.py            the SDK ActivityHandler: messages -> Incoming, feedback invokes, install greeting
adapter.py        the SDK CloudAdapterBase, run on an already-authenticated request
endpoint.py       POST /api/messages: header, body, auth, tenant, turn, metrics
cards.py          Adaptive Cards 1.5 for a Reply (pure), the AI-content entity, notices
kept.py           answer cards kept in the state store for in-place feedback updates
connector.py      Bot Connector REST calls with retries (429 Retry-After, 412/502/503/504 backoff)
throttle.py       at most 50 Connector requests per second per tenant
outbound.py       the edge's Outbound: cards posted in order, notices, typing
service.py        wiring the above together (used by the CLI and the tests)
runner.py         the `carebot serve teams` process
package.py        the app package (manifest 1.19, icons) for `carebot teams package`
platform.py       registration with bot.edge.platforms (`carebot run`, `carebot serve teams`)
schema/           the vendored Teams manifest schema, for the package test

Nothing clinical happens here: every word of an answer comes from the core's Reply.
"""
