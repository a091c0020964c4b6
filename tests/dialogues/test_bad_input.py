"""Bad input gets a sensible reply: never a crash, never lost state, never an echoed broadcast."""
from __future__ import annotations

import pytest

from bot.slack.markup import plain_text
from tests.dialogues.flow import Flow

BAD_INPUTS = [
    "", "   \n\t ", "<@U0123ABCD>", "<@U0123ABCD|carebot>  ", "\x00\x07\x1b[31m", "🙂🙂🙂",
    "<!channel> <!here> <!everyone>", "<http://example.com|click here>", "&lt;script&gt;alert(1)&lt;/script&gt;",
    "lanreotide " * 2000, "x" * 12000, "dose?" + "\u200b" * 50, "@channel lanreotide dose?",
]


@pytest.mark.parametrize("edge", [plain_text, str], ids=["through-slack-markup", "raw-to-core"])
@pytest.mark.parametrize("text", BAD_INPUTS, ids=lambda t: repr(t[:20]))
async def test_bad_input_gets_a_reply_and_keeps_state(engine, text: str, edge) -> None:
    """As the Slack edge hands it over, and raw (the core must cope with markup it never sees live)."""
    flow = Flow(engine)
    await flow.send("lanreotide dose?").expect(kind="answer", slots={"drug": "lanreotide"})
    reply = await flow.send(edge(text)).expect()
    assert reply.text.strip()
    for mass in ("<!channel>", "<!here>", "<!everyone>", "@channel", "@here", "<@U0123ABCD"):
        assert mass not in reply.text
    await flow.send("how is it given?").expect(kind="answer", slots={"drug": "lanreotide"})


async def test_only_a_mention_says_so(engine) -> None:
    await Flow(engine).send(plain_text("<@U0123ABCD>")).expect(kind="fallback", contains=["didn't find a question"])


async def test_mass_mention_with_a_question_is_answered_without_echo(engine) -> None:
    await Flow(engine).send(plain_text("<!channel> lanreotide dose?")).expect(kind="answer", contains=["120 mg"],
                                                                  not_contains=["channel"])


async def test_very_long_message_is_read_in_part(engine) -> None:
    reply = await Flow(engine).send("lanreotide dose? " + "please " * 3000).expect()
    assert "first part" in reply.text
