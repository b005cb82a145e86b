"""The webhook signature: HMAC-SHA256, keyed with the shared secret, over `<timestamp>.<raw body>`.

    X-Supportbot-Timestamp: 1767225600
    X-Supportbot-Signature: sha256=<hex of HMAC-SHA256(secret, b"1767225600." + body)>

The timestamp (Unix seconds) is signed with the body, so a receiver that rejects timestamps older
than a few minutes also rejects a captured request replayed later.
"""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "X-Supportbot-Signature"
TIMESTAMP_HEADER = "X-Supportbot-Timestamp"
IDEMPOTENCY_HEADER = "Idempotency-Key"
MAX_SKEW_S = 300


def signature(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify(
    secret: str, timestamp: str, body: bytes, header: str, *, now: float, max_skew_s: float = MAX_SKEW_S
) -> bool:
    """True for a signature made with `secret` over this timestamp and body, the timestamp recent."""
    try:
        fresh = abs(now - int(timestamp)) <= max_skew_s
    except ValueError:
        return False
    return fresh and hmac.compare_digest(signature(secret, timestamp, body), header)
