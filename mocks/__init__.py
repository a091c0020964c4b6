"""Local stand-ins for the chat platforms (Slack, Teams), shared by the tests and the benchmarks."""
