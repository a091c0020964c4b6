"""Slack's markup is the Slack edge's to remove; the core's normalisation runs after it."""
from __future__ import annotations

import pytest

from bot.slack.markup import plain_text
from nlu.clean import clean_text


@pytest.mark.parametrize(
    "raw, clean",
    [
        ("<@U0123ABCD> lanreotide dose?", "lanreotide dose?"),
        ("<@W0123ABCD|carebot> hi", "hi"),
        ("<!channel> <!here|here> hi", "hi"),
        ("<!subteam^S0123|@oncology> hi", "hi"),
        ("<!date^1392734382^{date}|Feb 18> hi", "hi"),
        ("see <https://example.org/x|the label>", "see the label"),
        ("in <#C0123ABCD|tumour-board>", "in tumour-board"),
        ("&lt;!channel&gt; hi", "hi"),
    ],
)
def test_slack_markup_then_core_normalisation(raw: str, clean: str) -> None:
    assert clean_text(plain_text(raw)) == clean


def test_the_core_no_longer_knows_slack_mentions() -> None:
    # a platform's markup reaching the core raw is left as text (the edge is where it goes)
    assert "U0123ABCD" in clean_text("<@U0123ABCD> hi")
