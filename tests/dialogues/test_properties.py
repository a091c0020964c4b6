"""Properties over arbitrary input: always a Reply; an answer's figures all come from its statements."""
from __future__ import annotations

import asyncio
import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dialogues.types import Reply, ReplyKind, Turn
from knowledge import default_knowledge
from nlu.clean import clean_text

FIGURE = re.compile(r"\d+(?:[.,\-]\d+)*")
WORDS = [
    "lanreotide", "Somatuline", "octreotide LAR", "everolimus", "Sutent", "Lutathera", "metformin", "dose",
    "mg", "q4w", "how", "often", "is", "it", "given", "TACE", "chemoembo", "Y90", "PRRT", "CgA", "MRI",
    "next", "steps", "progressed", "on", "SSA", "SSTR+", "SSTR negative", "unresectable", "stable",
    "well-differentiated", "monitoring", "what", "about", "sorry", "I", "meant", "new case", "thanks", "?",
    "<@U0ABC>", "<!channel>", "120", "37.5", "500mg", "🙂", "\x00", "and", "the", "for", "her",
]
messages = st.one_of(
    st.text(max_size=300),
    st.lists(st.sampled_from(WORDS), min_size=1, max_size=12).map(" ".join),
)


def figures_outside_statements(reply: Reply, message: str = "") -> list:
    """Digits left in the text once quoted statements, citations, mentions and entity names are removed.

    A premise line ("You wrote 90 mg; the cited statements give 120 mg.") may hold only figures the user
    wrote in this message or figures of the quoted statements: nothing carebot made up."""
    text = reply.text
    quoted = " ".join(s.text for s in reply.statements)
    for statement in reply.statements:
        text = text.replace(statement.text, "")
    # longest first: "FDA drug label, evidence brief 1" is the start of "..., evidence brief 1, ref. 2"
    for cited in sorted({c for s in reply.statements for c in (s.citation, *s.mentions)}, key=len, reverse=True):
        text = text.replace(cited, "")
    for entry in default_knowledge().lexicon.entries.values():
        text = re.sub(re.escape(entry.label), "", text, flags=re.I)
    premise_lines = [line for line in text.splitlines() if line.startswith("You wrote ")]
    allowed = set(FIGURE.findall(clean_text(message))) | set(FIGURE.findall(quoted))
    for line in premise_lines:
        if set(FIGURE.findall(line)) <= allowed:
            text = text.replace(line, "")
    return FIGURE.findall(text)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(conversation=st.lists(messages, min_size=1, max_size=4))
def test_any_text_gets_a_reply_and_answers_only_quote_figures(make_engine, conversation) -> None:
    engine = make_engine()

    async def run() -> None:
        for text in conversation:
            reply = await engine.handle(Turn(text=text, conversation_id="property"))
            assert isinstance(reply, Reply) and reply.text.strip()
            if reply.kind is ReplyKind.answer:
                assert reply.statements and reply.safety
                assert figures_outside_statements(reply, text) == [], reply.text
            else:
                assert reply.safety is None or reply.statements
            for statement in reply.statements:
                assert default_knowledge().get(statement.id).text == statement.text
        await engine.close()

    asyncio.run(run())
