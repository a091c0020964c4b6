"""What a live operator needs to see, in Prometheus text format at `GET /metrics`.

One `EdgeMetrics` per served platform, on its own registry (two services in one test process do
not share counters). Labels carry only the platform name, a stage, or an error code: never text,
never a user or conversation id.
"""
from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class EdgeMetrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(self, platform: str) -> None:
        self.platform = platform
        self.registry = CollectorRegistry()
        r = self.registry
        self.received = Counter("carebot_events_received", "Requests received from the platform",
                                ["platform"], registry=r).labels(platform)
        self.acked = Counter("carebot_events_acked", "Requests acknowledged (2xx)",
                             ["platform"], registry=r).labels(platform)
        self.refused = Counter("carebot_requests_refused", "Requests refused (4xx), by status",
                               ["platform", "status"], registry=r)
        self.answered = Counter("carebot_events_answered", "Messages answered",
                                ["platform"], registry=r).labels(platform)
        self.deduplicated = Counter("carebot_events_deduplicated", "Deliveries already claimed",
                                    ["platform"], registry=r).labels(platform)
        self.failed = Counter("carebot_answers_failed", "Answers that could not be posted, by stage",
                              ["platform", "stage"], registry=r)
        self.recovered = Counter("carebot_deliveries_recovered", "Deliveries taken over after a crash",
                                 ["platform"], registry=r).labels(platform)
        self.ack_seconds = Histogram("carebot_ack_seconds", "Request to acknowledgement",
                                     ["platform"], buckets=_LATENCY_BUCKETS, registry=r).labels(platform)
        self.reply_seconds = Histogram("carebot_reply_seconds", "Claim to reply posted",
                                       ["platform"], buckets=_LATENCY_BUCKETS, registry=r).labels(platform)
        self.in_progress = Gauge("carebot_deliveries_in_progress", "Deliveries claimed, not yet answered",
                                 ["platform"], registry=r).labels(platform)
        self.api_errors = Counter("carebot_web_api_errors", "Platform API errors, by code",
                                  ["platform", "code"], registry=r)
        self.open_connections = Gauge("carebot_open_connections", "Open HTTP connections",
                                      ["platform"], registry=r).labels(platform)

    def api_error(self, code: str) -> None:
        self.api_errors.labels(self.platform, _code(code)).inc()

    def failure(self, stage: str) -> None:
        self.failed.labels(self.platform, stage).inc()

    def refusal(self, status: int) -> None:
        self.refused.labels(self.platform, str(status)).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)


def _code(code: str) -> str:
    """Error codes are short identifiers; anything else is bucketed, so no label holds free text."""
    code = str(code)
    if len(code) <= 40 and code.replace("_", "").replace(".", "").isalnum():
        return code
    return "other"
