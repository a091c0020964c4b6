"""Rasa NLU project and the parser that turns a message into a typed ParseResult."""
