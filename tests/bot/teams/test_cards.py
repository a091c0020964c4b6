"""The Adaptive Card renderer on its own: verbatim statements, layout, limits, feedback states."""
from __future__ import annotations

import json
from typing import Any, Dict, List

from bot.edge.messages import ASK_REASON, THANKS
from bot.teams import cards
from dialogues import compose
from dialogues.types import CitedStatement, ReplyKind, SourceRef

SAFETY = "Decision support only: check against the label."


def statement(sid: str, text: str, kind: str = "guideline", citation: str = "Guideline summary, brief 1",
              caveat: str = None) -> CitedStatement:
    return CitedStatement(id=sid, text=text, source=SourceRef(kind=kind, title=f"{citation} title"),
                          citation=citation, caveat=caveat)


def reply(statements: List[CitedStatement], **kwargs: Any):
    built = compose.build(ReplyKind.answer, intent=None, entities=[], slots={}, lead=kwargs.pop("lead", ["Heading"]),
                          statements=statements, notes=kwargs.pop("notes", ["A note."]),
                          suggestions=kwargs.pop("suggestions", ["What monitoring is recommended?"]))
    built.safety = SAFETY
    return built


def ref(**kwargs: Any) -> cards.FeedbackRef:
    values: Dict[str, Any] = dict(conversation_id="teams:t:a:1", statement_ids=("s1",), audit_id="audit-1", card="tok")
    values.update(kwargs)
    return cards.FeedbackRef(**values)


def quotes(element: Dict[str, Any]) -> List[Dict[str, Any]]:
    """The statement quotes inside a card (its body) or a container (its items)."""
    return [e for e in cards._walk(element.get("body") or element.get("items") or [])
            if e.get("style") == "emphasis"]


def test_statements_are_quoted_verbatim_as_text_runs_never_markdown() -> None:
    tricky = "1. *Not bold* _not italic_ <at>Someone</at> [link](http://x) & <5 mg \u201cquoted\u201d"
    [part] = cards.render_answer(reply([statement("s1", tricky, caveat="Applies if SSTR-positive.")]), ref())
    [quote] = quotes(part.card)
    texts = [inline["text"] for item in quote["items"] for inline in item["inlines"]]
    assert texts[0] == tricky
    assert texts[1] == "Source: [1] Guideline summary, brief 1"
    assert texts[2] == "Applies if SSTR-positive."
    assert all(i["type"] == "TextRun" for item in quote["items"] for i in item["inlines"])
    assert not any(e.get("type") == "TextBlock" for e in cards._walk(part.card["body"]))  # TextBlocks read markdown


def test_layout_groups_by_source_with_safety_last_and_buttons() -> None:
    statements = [statement("r1", "Research one.", "research", "Research, brief 2"),
                  statement("g1", "Guideline one."), statement("l1", "Label one.", "drug_label", "FDA drug label, brief 1"),
                  statement("g2", "Guideline two.")]
    [part] = cards.render_answer(reply(statements), ref())
    body = part.card["body"]
    groups = [e for e in body if str(e.get("id", "")).startswith("source:")]
    assert [g["id"] for g in groups] == ["source:guideline", "source:drug_label", "source:research"]
    assert groups[0]["items"][0]["inlines"][0]["text"] == "Guidelines"
    assert [q["id"] for q in quotes(groups[0])] == ["statement:g1", "statement:g2"]
    assert body[0]["inlines"][0]["text"] == "Heading"
    assert body[-1]["inlines"][0]["text"] == SAFETY
    assert body[-2]["id"] == cards.FEEDBACK_ID and [a["verb"] for a in body[-2]["actions"]] == [
        cards.VERB_HELPFUL, cards.VERB_NOT_HELPFUL]
    [suggestion] = part.card["actions"]
    assert suggestion["data"]["msteams"] == {"type": "messageBack", "text": "What monitoring is recommended?",
                                             "displayText": "What monitoring is recommended?"}
    # one citation claim per distinct source, numbered in the order the card shows them
    entity = cards.answer_activity(part)["entities"][0]
    assert entity["additionalType"] == ["AIGeneratedContent"]
    assert [(c["position"], c["appearance"]["abstract"]) for c in entity["citation"]] == [
        (1, "Guideline summary, brief 1"), (2, "FDA drug label, brief 1"), (3, "Research, brief 2")]
    assert "\u201cGuideline one.\u201d (Guideline summary, brief 1)" in part.card["fallbackText"]


def test_replies_without_statements_have_no_feedback_and_never_an_empty_card() -> None:
    smalltalk = compose.build(ReplyKind.smalltalk, intent=None, entities=[], slots={}, lead=["Hello."])
    [part] = cards.render_answer(smalltalk, ref())
    assert cards.feedback_ref_in(part.card) is None
    assert cards.statement_runs(part.card) == ["Hello."]
    assert "citation" not in cards.answer_activity(part)["entities"][0]
    empty = compose.build(ReplyKind.fallback, intent=None, entities=[], slots={})
    [part] = cards.render_answer(empty)
    assert part.card["body"]


def test_long_answer_is_split_between_statements_within_teams_limits() -> None:
    statements = [statement(f"s{i}", f"Statement {i}: " + "word " * 150, citation=f"Source {i % 25}")
                  for i in range(60)]
    parts = cards.render_answer(reply(statements), ref())
    assert len(parts) > 1
    quoted = [q for part in parts for q in quotes(part.card)]
    assert [q["id"] for q in quoted] == [f"statement:s{i}" for i in range(60)]  # all, once, in order
    assert all(q["items"][0]["inlines"][0]["text"] == s.text for q, s in zip(quoted, statements))
    for number, part in enumerate(parts, start=1):
        activity = cards.answer_activity(part)
        assert len(json.dumps(activity).encode()) < 28_000
        assert part.card["body"][-1]["inlines"][0]["text"] == SAFETY  # the safety line on every card
        last = number == len(parts)
        assert (cards.feedback_ref_in(part.card) is not None) == last
        assert bool(part.card.get("actions")) == last
        assert len(activity["entities"][0].get("citation", [])) <= cards.MAX_CITATIONS


def test_a_statement_longer_than_a_card_is_split_verbatim() -> None:
    text = "x" * 5000 + " " + "y" * 5000
    parts = cards.render_answer(reply([statement("big", text)]), ref(), max_bytes=4_000)
    runs = [q["items"][0]["inlines"][0]["text"] for part in parts for q in quotes(part.card)]
    assert "".join(runs) == text


def test_feedback_states_replace_only_the_feedback_area() -> None:
    [part] = cards.render_answer(reply([statement("s1", "One.")]), ref())
    thanked = cards.with_feedback(part.card, cards.FeedbackState.thanked, ref())
    assert THANKS in cards.statement_runs(thanked) and cards.feedback_ref_in(thanked) is None
    assert quotes(thanked) == quotes(part.card) and thanked["actions"] == part.card["actions"]
    menu = cards.with_feedback(part.card, cards.FeedbackState.ask_reason, ref())
    assert ASK_REASON in cards.statement_runs(menu)
    reasons = [a for e in cards._walk(menu["body"]) for a in e.get("actions") or []]
    assert [cards.FeedbackRef.from_data(a["data"]).reason for a in reasons] == [
        "wrong_statement", "missing_information", "did_not_understand", "too_long"]
    assert cards.with_feedback({"body": []}, cards.FeedbackState.thanked, ref()) is None
    assert part.card["body"][-2]["id"] == cards.FEEDBACK_ID  # the original is not modified


def test_feedback_data_round_trips_and_rejects_what_it_did_not_write() -> None:
    original = ref(reason="too_long")
    assert cards.FeedbackRef.from_data(original.to_data()) == original
    for bad in (None, "x", {}, {"c": "", "s": []}, {"c": "teams:x", "s": "s1"}, {"c": "teams:x", "s": [1]},
                {"c": "teams:x", "s": [], "r": "free text"}, {"c": "teams:x", "s": [], "a": 5}):
        assert cards.FeedbackRef.from_data(bad) is None


def test_notices_are_plain_text() -> None:
    assert cards.notice_activity("Sorry *x*") == {"type": "message", "text": "Sorry *x*", "textFormat": "plain"}
