"""The Block Kit renderer on its own: layout, Slack's limits, splitting, escaping."""
from __future__ import annotations

import json
import re
from typing import Any, Dict, List, Optional

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.slack.blocks import (
    ACTION_HELPFUL,
    ACTION_NOT_HELPFUL,
    ACTION_SHARE,
    ACTION_SUGGESTION_PREFIX,
    MAX_BLOCKS,
    MAX_TEXT,
    FeedbackValue,
    Limits,
    SlackMessage,
    escape,
    render_notice,
    render_reply,
)
from bot.slack.blocks import _statement_blocks  # the size of one statement's blocks
from dialogues.types import CitedStatement, Reply, ReplyKind, SourceRef

SAFETY = "Decision support only: check the current label and your local protocol."
CONVERSATION = "slack:T0CARE:C0TUMOUR:1712345678.000100"


def statement(n: int, kind: str = "drug_label", text: Optional[str] = None, caveat: Optional[str] = None) -> CitedStatement:
    return CitedStatement(
        id=f"s-{n}", text=text or f"Statement number {n} says something exact about dosing.",
        source=SourceRef(kind=kind, title=f"{kind} title"), citation=f"Citation {n}", caveat=caveat,
    )


def reply(statements: List[CitedStatement], **kw: Any) -> Reply:
    values: Dict[str, Any] = dict(kind=ReplyKind.answer, statements=statements, lead=["Lanreotide: dosing"],
                                  text="plain text of the whole reply", safety=SAFETY,
                                  suggestions=["How is it given?", "What monitoring is needed?"])
    values.update(kw)
    return Reply(**values)


def all_blocks(messages: List[SlackMessage]) -> List[Dict[str, Any]]:
    return [b for m in messages for b in m.blocks]


def quotes_of(blocks: List[Dict[str, Any]]) -> List[str]:
    return [b["text"]["text"] for b in blocks if b["type"] == "section" and b["text"]["text"].startswith(">")]


def unquote(section: str) -> str:
    return "\n".join(line[2:] if line.startswith("> ") else line[1:] for line in section.split("\n"))


def texts(node: Any) -> List[str]:
    found: List[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "text" and isinstance(value, str):
                found.append(value)
            else:
                found.extend(texts(value))
    elif isinstance(node, list):
        for item in node:
            found.extend(texts(item))
    return found


def assert_within_limits(message: SlackMessage, limits: Limits = Limits()) -> None:
    assert message.text.strip()
    assert 1 <= len(message.blocks) <= limits.max_blocks
    for block in message.blocks:
        if block["type"] == "section":
            assert 1 <= len(block["text"]["text"]) <= limits.max_text
        elif block["type"] == "context":
            assert 1 <= len(block["elements"]) <= 10
            assert all(1 <= len(e["text"]) <= limits.max_text for e in block["elements"])
        elif block["type"] == "header":
            assert len(block["text"]["text"]) <= 150
        elif block["type"] == "actions":
            assert 1 <= len(block["elements"]) <= 25
            ids = [e["action_id"] for e in block["elements"]]
            assert len(ids) == len(set(ids))
            for element in block["elements"]:
                assert len(element["text"]["text"]) <= 75
                assert len(element["value"]) <= 2000
    block_ids = [b["block_id"] for b in message.blocks if "block_id" in b]
    assert len(block_ids) == len(set(block_ids))


# ---- layout ----------------------------------------------------------------------------------


def test_groups_in_source_order_with_verbatim_quotes_and_citations() -> None:
    statements = [statement(1, "research"), statement(2, "drug_label", caveat="Applies if SSTR-positive."),
                  statement(3, "guideline"), statement(4, "drug_label")]
    [message] = render_reply(reply(statements), CONVERSATION)
    headers = [b["text"]["text"] for b in message.blocks if b["type"] == "header"]
    assert headers == ["Guidelines", "FDA drug label", "Research"]
    assert [unquote(q) for q in quotes_of(message.blocks)] == [statements[i].text for i in (2, 1, 3, 0)]
    # each quote is followed by its citation (and caveat) in a context block
    index = next(i for i, b in enumerate(message.blocks) if b["type"] == "section" and "number 2" in b["text"]["text"])
    context = message.blocks[index + 1]
    assert context["type"] == "context"
    assert [e["text"] for e in context["elements"]] == ["Source: Citation 2", "Applies if SSTR-positive."]
    assert message.blocks[0]["text"]["text"] == "Lanreotide: dosing"
    assert message.blocks[-1] == {"type": "context", "elements": [{"type": "mrkdwn", "text": SAFETY, "verbatim": True}]}
    assert message.text == "plain text of the whole reply"


def test_statements_are_tagged_and_metadata_names_them() -> None:
    statements = [statement(1, "guideline"), statement(2), statement(1, "guideline")]  # s-1 twice
    [message] = render_reply(reply(statements), CONVERSATION)
    tags = [b["block_id"] for b in message.blocks if b.get("block_id", "").startswith("statement:")]
    assert tags == ["statement:s-1", "statement:s-2"]  # unique within the message
    assert message.metadata == {"event_type": "carebot_reply",
                                "event_payload": {"kind": "answer", "statement_ids": ["s-1", "s-2", "s-1"]}}
    assert message.payload()["metadata"] == message.metadata


def test_suggestions_and_feedback_buttons() -> None:
    [message] = render_reply(reply([statement(1), statement(2)]), CONVERSATION)
    actions = [b for b in message.blocks if b["type"] == "actions"]
    suggestions = [e for e in actions[0]["elements"]]
    assert [e["value"] for e in suggestions] == ["How is it given?", "What monitoring is needed?"]
    assert all(e["action_id"].startswith(ACTION_SUGGESTION_PREFIX) for e in suggestions)
    feedback = {e["action_id"]: e for e in actions[1]["elements"]}
    assert set(feedback) == {ACTION_HELPFUL, ACTION_NOT_HELPFUL}
    value = FeedbackValue.decode(feedback[ACTION_HELPFUL]["value"])
    assert value == FeedbackValue(CONVERSATION, ["s-1", "s-2"])


def test_share_button_only_when_asked_for_and_options_turn_buttons_off() -> None:
    [plain] = render_reply(reply([statement(1)]), CONVERSATION)
    assert ACTION_SHARE not in json.dumps(plain.blocks)
    [private] = render_reply(reply([statement(1)]), CONVERSATION, share_value="tok")
    assert any(e["action_id"] == ACTION_SHARE and e["value"] == "tok"
               for b in private.blocks if b["type"] == "actions" for e in b["elements"])
    [bare] = render_reply(reply([statement(1)]), CONVERSATION, suggestions=False, feedback=False)
    assert not [b for b in bare.blocks if b["type"] == "actions"]


def test_reply_without_parts_still_shows_its_text() -> None:
    empty = Reply(kind=ReplyKind.fallback, text="I have nothing on that.", suggestions=[])
    [message] = render_reply(empty, CONVERSATION)
    assert message.blocks[0]["text"]["text"] == "I have nothing on that."


def test_no_feedback_or_share_without_statements() -> None:
    clarify = Reply(kind=ReplyKind.clarify, text="Which drug?", lead=["Which drug?"], suggestions=["lanreotide"])
    [message] = render_reply(clarify, CONVERSATION, share_value="tok")
    ids = [e["action_id"] for b in message.blocks if b["type"] == "actions" for e in b["elements"]]
    assert ids == [f"{ACTION_SUGGESTION_PREFIX}_0"]


def test_feedback_value_fits_a_button_even_with_many_statements() -> None:
    ids = [f"a-rather-long-statement-identifier-{n}" for n in range(200)]
    value = FeedbackValue(CONVERSATION, ids).encode()
    assert len(value) <= 2000
    decoded = FeedbackValue.decode(value)
    assert decoded is not None and decoded.conversation_id == CONVERSATION and decoded.statement_ids == ids[: len(decoded.statement_ids)]
    assert FeedbackValue.decode("not json") is None
    assert FeedbackValue.decode(json.dumps({"c": 1, "s": []})) is None


# ---- limits and splitting ----------------------------------------------------------------------


def test_long_answer_is_split_into_messages_at_statement_boundaries() -> None:
    statements = [statement(n, kind) for n, kind in zip(range(90), ["guideline", "drug_label", "research"] * 30)]
    messages = render_reply(reply(statements, notes=["A note."]), CONVERSATION)
    assert len(messages) >= 4  # 90 statements x 2 blocks + headers, 50 blocks a message
    for message in messages:
        assert_within_limits(message)
        assert message.blocks[-1]["elements"][0]["text"] == SAFETY  # safety line on every part
        # no statement's quote is separated from its citation
        for i, block in enumerate(message.blocks):
            if block["type"] == "section" and block["text"]["text"].startswith(">"):
                assert message.blocks[i + 1]["type"] == "context"
    quoted = [unquote(q) for q in quotes_of(all_blocks(messages))]
    assert sorted(quoted) == sorted(s.text for s in statements)
    assert messages[0].text == "plain text of the whole reply"
    assert messages[1].text.startswith("(continued")
    assert [b for b in messages[-1].blocks if b["type"] == "actions"]  # buttons at the very end
    assert not [b for m in messages[:-1] for b in m.blocks if b["type"] == "actions"]


def test_statement_longer_than_a_section_stays_in_one_message_and_reassembles() -> None:
    words = " ".join(f"word{n}" for n in range(2000))  # ~16,000 characters
    long = statement(1, text=words)
    messages = render_reply(reply([statement(0), long, statement(2)]), CONVERSATION)
    for message in messages:
        assert_within_limits(message)
    holders = [m for m in messages if any("word0" in t for t in texts(m.blocks))]
    assert len(holders) == 1  # the whole statement is in one message
    sections = [unquote(q) for q in quotes_of(holders[0].blocks) if "word" in q]
    assert " ".join(sections) == words


def test_small_limits_split_without_cutting() -> None:
    limits = Limits(max_blocks=6, max_text=60)
    statements = [statement(n, text=f"Sentence {n} " + "x" * 20 + " & <tail>") for n in range(7)]
    messages = render_reply(reply(statements), CONVERSATION, limits=limits)
    assert len(messages) > 2
    for message in messages:
        assert_within_limits(message, limits)
    assert [unquote(q) for q in quotes_of(all_blocks(messages))] == [escape(s.text) for s in statements]


# ---- escaping ----------------------------------------------------------------------------------

LIVE = re.compile(r"<[!@#]")


def test_user_and_reply_text_is_escaped_everywhere() -> None:
    nasty = "<!channel> <!here|here> <!everyone> <@U0123ABC> <#C0123|x> & <https://evil.example|click>"
    r = reply([statement(1, text=nasty, caveat=nasty)], lead=[nasty], notes=[nasty], safety=nasty,
              suggestions=[nasty], text=nasty)
    for message in render_reply(r, CONVERSATION, asked=nasty, share_value="t"):
        all_text = texts(message.blocks) + [message.text]
        assert not [t for t in all_text if LIVE.search(t)], all_text
        assert any("&lt;!channel&gt;" in t for t in all_text)
    assert escape("a & b < c > d") == "a &amp; b &lt; c &gt; d"


def test_shared_by_is_the_only_mention_and_only_for_a_user_id() -> None:
    [shared] = render_reply(reply([statement(1)]), CONVERSATION, shared_by="U0NURSE")
    assert any("<@U0NURSE>" in t for t in texts(shared.blocks))
    [forged] = render_reply(reply([statement(1)]), CONVERSATION, shared_by="<!channel>")
    assert not [t for t in texts(forged.blocks) if LIVE.search(t)]


def test_long_suggestion_label_is_shortened_but_value_kept() -> None:
    question = "What are the options if the disease progresses after lanreotide & everolimus " * 2
    [message] = render_reply(reply([statement(1)], suggestions=[question]), CONVERSATION)
    button = next(e for b in message.blocks if b["type"] == "actions" for e in b["elements"]
                  if e["action_id"].startswith(ACTION_SUGGESTION_PREFIX))
    assert len(button["text"]["text"]) <= 75 and button["text"]["text"].endswith("…")
    assert "&amp;" in button["text"]["text"] or "&" not in button["text"]["text"][:-1]
    assert button["value"] == question.strip()


def test_notice_is_escaped() -> None:
    notice = render_notice("Sorry <!here> & more")
    assert notice.text == "Sorry &lt;!here&gt; &amp; more"
    assert notice.blocks[0]["text"]["text"] == notice.text


# ---- properties --------------------------------------------------------------------------------

_short = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=200)
_long = st.builds(lambda word, n: " ".join([word] * n), st.text(alphabet="ab&<> ", min_size=1, max_size=12),
                  st.integers(min_value=20, max_value=400))
_text = st.one_of(_short, _short, _long)
_kinds = st.sampled_from(["guideline", "drug_label", "research", "consensus"])


@st.composite
def replies(draw: Any) -> Reply:
    count = draw(st.integers(min_value=0, max_value=70))
    statements = [
        CitedStatement(id=f"s-{n}", text=draw(_text), source=SourceRef(kind=draw(_kinds), title="t"),
                       citation=draw(_text), caveat=draw(st.none() | _text))
        for n in range(count)
    ]
    return Reply(kind=ReplyKind.answer, statements=statements, text=draw(_text),
                 lead=draw(st.lists(_text, max_size=3)), notes=draw(st.lists(_text, max_size=3)),
                 safety=draw(st.none() | _text), suggestions=draw(st.lists(_text, max_size=6)))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(r=replies(), max_text=st.sampled_from([40, 200, MAX_TEXT]), max_blocks=st.sampled_from([8, MAX_BLOCKS]))
def test_any_reply_fits_slack_and_keeps_every_statement_whole(r: Reply, max_text: int, max_blocks: int) -> None:
    limits = Limits(max_blocks=max_blocks, max_text=max_text)
    messages = render_reply(r, CONVERSATION, limits=limits)
    for message in messages:
        assert_within_limits(message, limits)
        assert not [t for t in texts(message.blocks) + [message.text] if LIVE.search(t)]
    capacity = limits.max_blocks - (1 if r.safety else 0)
    everything = SlackMessage(text="all", blocks=all_blocks(messages))
    for s in r.statements:
        expected = escape(s.text).split()
        # every statement appears whole; in one message whenever it fits in one at all
        if len(_statement_blocks(s, limits)) + 1 <= capacity:
            assert [m for m in messages if _contains_words(m, expected)], s.text
        else:
            assert _contains_words(everything, expected), s.text
    if r.safety and r.safety.strip():
        assert all(m.blocks[-1]["type"] == "context" for m in messages)


def _contains_words(message: SlackMessage, words: List[str]) -> bool:
    """The words, in order, inside the message's quotes (whitespace ignored: a word longer than a
    whole section is the one thing that may be broken across two adjacent sections)."""
    quoted = "".join("".join(unquote(q).split()) for q in quotes_of(message.blocks))
    return "".join(words) in quoted


def test_limits_reject_nonsense() -> None:
    with pytest.raises(ValueError):
        Limits(max_blocks=2, max_text=3000)
