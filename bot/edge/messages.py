"""Every line the chat edges say in carebot's own voice (clinical text comes only from the core).

Kept in one place so Slack and Teams say the same thing, and a reviewer sees all of it at once.
"""
from __future__ import annotations

from dialogues import catalogue

APOLOGY = "Sorry, I could not answer that just now. Please try again in a minute."
# A message taken over after a crash whose text was no longer kept (past its bound): no answer.
LATE_APOLOGY = ("Sorry, I could not answer a message you sent earlier: I was restarted before I "
                "could. Please ask it again.")
UNAVAILABLE = catalogue.UNAVAILABLE
REFUSAL = (
    "Sorry, I'm not set up to answer in this channel. You can ask me in a direct message, "
    "or ask a workspace admin to add this channel to carebot's allowed channels."
)
THANKS = "Thanks, your feedback was recorded."
ASK_REASON = "Thanks. What was wrong with it? (optional)"
REASON_LABELS = {
    "wrong_statement": "Wrong statement",
    "missing_information": "Missing information",
    "did_not_understand": "Didn't understand me",
    "too_long": "Too long",
}
SHARE_EXPIRED = "That answer is no longer available to share. Run /carebot again to get a fresh one."
GREETING = ("Hello, I'm carebot. I answer the care team's questions about this case, the metastatic "
            "pancreatic neuroendocrine tumour, by quoting the curated, cited knowledge base. "
            "Try: what is the lanreotide dose?")
