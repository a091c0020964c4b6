"""Tests for the Slack edge: Block Kit rendering, settings, and the app over real HTTP on loopback."""
