"""Conversation state, the dialogue manager and one handler per intent."""
