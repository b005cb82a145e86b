"""Host names as an operator writes them in an allow-list (SUPPORTBOT_FAQ_ALLOWED_HOSTS): `docs.internal`,
`127.0.0.1:8799`, `::1`, `[::1]:8080`. Pure functions, light enough for the settings to use."""

from __future__ import annotations


def normalise_host(host: str) -> str:
    """Lower-case, without IPv6 brackets or a trailing dot, so allow-list entries compare equal."""
    return host.strip().strip("[]").rstrip(".").lower()


def parse_allowed_host(entry: str) -> tuple[str, int | None]:
    """An allow-list entry as (host, port or None for any port): `docs.internal`, `127.0.0.1:8799`,
    `::1`, `[::1]:8080`. ValueError says why an entry is not one."""
    entry = entry.strip()
    if "://" in entry or "/" in entry:
        raise ValueError(f"{entry!r} is a URL; give a host name or host:port (e.g. 127.0.0.1:8799)")
    host, port = entry, None
    if entry.startswith("[") and "]:" in entry:
        host, _, port_text = entry[1:].partition("]:")
        port = _port(entry, port_text)
    elif entry.count(":") == 1:
        host, _, port_text = entry.partition(":")
        port = _port(entry, port_text)
    host = normalise_host(host)
    if not host or any(c.isspace() for c in host):
        raise ValueError(f"{entry!r} is not a host name or host:port")
    return host, port


def _port(entry: str, text: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise ValueError(f"{entry!r} has no valid port after ':' (1-65535)")
    return int(text)
