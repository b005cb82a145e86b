"""Prometheus metrics of the workflows and the bot, defined once (read them through `workflows.telemetry`,
which imports this module on first use).

The bot's HTTP server exposes them at /metrics; nothing here does I/O.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)

MESSAGES = Counter("supportbot_messages_total", "Customer messages by outcome", ["outcome"], registry=REGISTRY)
PENDING = Gauge("supportbot_messages_pending", "Messages stored but not yet answered", registry=REGISTRY)
DEAD_LETTERS = Gauge(
    "supportbot_messages_failed", "Messages given up after their attempts (dead letters)", registry=REGISTRY
)
LLM_CALLS = Counter(
    "supportbot_llm_calls_total", "Model calls by step and result", ["step", "result"], registry=REGISTRY
)
FALLBACKS = Counter(
    "supportbot_llm_fallbacks_total",
    "Steps answered by the offline engine after a model failure",
    ["step", "reason"],
    registry=REGISTRY,
)
STEP_LATENCY = Histogram(
    "supportbot_step_seconds",
    "Latency of pipeline steps",
    ["step"],
    registry=REGISTRY,
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
ERRORS = Counter("supportbot_errors_total", "Errors by step", ["step"], registry=REGISTRY)
QUEUE_NOTICES = Counter(
    "supportbot_queue_notices_total", '"You\'re in the queue" notices posted to customers', registry=REGISTRY
)
CASES = Counter("supportbot_cases_total", "Cases opened by kind", ["kind"], registry=REGISTRY)
TOKENS = Counter("supportbot_llm_tokens_total", "Model tokens by direction", ["direction"], registry=REGISTRY)
BACKOFFICE_TASKS = Counter(
    "supportbot_backoffice_tasks_total",
    "Tasks carried out by back office, kind and result",
    ["source", "kind", "result"],
    registry=REGISTRY,
)
BACKOFFICE_FAILURES = Counter(
    "supportbot_backoffice_failures_total",
    "Back-office calls that failed (the task became a case for staff), by kind and reason",
    ["kind", "reason"],
    registry=REGISTRY,
)
# The staff loop.
_WAIT_BUCKETS_S = (30, 60, 120, 300, 600, 1800, 3600, 7200, 14400, 43200, 86400, 259200, 604800)
STAFF_FIRST_RESPONSE_SECONDS = Histogram(
    "supportbot_staff_first_response_seconds",
    "From a case needing staff to its first claim or assignment",
    registry=REGISTRY,
    buckets=_WAIT_BUCKETS_S,
)
CASE_CLOSE_SECONDS = Histogram(
    "supportbot_case_close_seconds", "From a case opened to its close", registry=REGISTRY, buckets=_WAIT_BUCKETS_S
)
TAKEOVERS = Counter(
    "supportbot_takeovers_total", "Threads taken over by staff (the bot stays quiet)", ["how"], registry=REGISTRY
)
RATINGS = Counter(
    "supportbot_ratings_total",
    "Customer ratings of closed cases by score (1-5; 👍 = 5, 👎 = 1)",
    ["score"],
    registry=REGISTRY,
)
STAFF_POSTS = Counter(
    "supportbot_staff_posts_total",
    "Staff-loop posts (cards, updates, messages) by result",
    ["kind", "result"],
    registry=REGISTRY,
)
STAFF_OUTBOX = Gauge(
    "supportbot_staff_outbox",
    "Staff-loop posts not yet delivered (pending, sending) or given up (failed)",
    ["status"],
    registry=REGISTRY,
)
STAFF_TIMERS = Counter("supportbot_staff_timers_total", "Staff-loop timers fired by kind", ["kind"], registry=REGISTRY)
