"""Edges: the CLI, terminal chat, Slack and Teams adapters, and the renderers they share."""
