"""Local stand-ins for what carebot talks to (Slack, Teams, their auth endpoints) and a real
redis-server on loopback, shared by the tests and the benchmarks: nothing reaches the network."""
