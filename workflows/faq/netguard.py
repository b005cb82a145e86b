"""Which network addresses the FAQ fetcher may connect to (SSRF protection).

A page link must not make the bot reach into its own network: a host that resolves to a private,
loopback, link-local, multicast, reserved or unspecified address is refused unless an operator
allow-listed it (SUPPORTBOT_FAQ_ALLOWED_HOSTS). The check runs inside the aiohttp resolver, on the
very addresses the connector then connects to, so a name that resolves to a public address for a
first lookup and to 127.0.0.1 for the second (DNS rebinding) gains nothing. Literal IP hosts never
reach a resolver; `check_literal_host` covers them.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
from collections.abc import Iterable

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

from ..hosts import normalise_host, parse_allowed_host

_log = logging.getLogger(__name__)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

ALLOW_LIST_SETTING = "SUPPORTBOT_FAQ_ALLOWED_HOSTS"
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")  # well-known NAT64 prefix: the last 32 bits are IPv4


class RefusedAddress(OSError):
    """A host resolved only to addresses the policy refuses (an OSError so aiohttp carries it through)."""

    def __init__(self, host: str, category: str) -> None:
        super().__init__(f"{host} resolves to {_article(category)} {category} address")
        self.host = host
        self.category = category

    @property
    def kind_of_address(self) -> str:
        return f"{_article(self.category)} {self.category} address"


def _article(word: str) -> str:
    return "an" if word[:1] in "aeiou" else "a"


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for (mapped, 6to4, Teredo client, NAT64), if any."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def refused_category(address: str | IPAddress) -> str | None:
    """Why an address is refused ("loopback", "private", …), or None when it is a public address."""
    ip = ipaddress.ip_address(address.split("%")[0]) if isinstance(address, str) else address
    if isinstance(ip, ipaddress.IPv6Address):
        inner = _embedded_ipv4(ip)
        if inner is not None:
            return refused_category(inner)
    # Order matters: 127.0.0.1 is also "private" in ipaddress's tables; name the most specific kind.
    for category, flag in (
        ("unspecified", ip.is_unspecified),
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("multicast", ip.is_multicast),
        ("reserved", ip.is_reserved),
        ("private", ip.is_private),
    ):
        if flag:
            return category
    if not ip.is_global:  # shared address space (100.64/10), documentation ranges and the like
        return "non-public"
    return None


class HostPolicy:
    """The allow-list plus the address rules; shared by the resolver and the literal-IP check. An entry
    with a port allows that host on that port only."""

    def __init__(self, allowed_hosts: Iterable[str] = ()) -> None:
        self.allowed: dict[str, frozenset[int] | None] = {}
        for host, port in (parse_allowed_host(h) for h in allowed_hosts if h.strip()):
            ports = self.allowed.get(host, frozenset())
            self.allowed[host] = None if port is None or ports is None else ports | {port}

    def is_allowed_host(self, host: str, port: int | None = None) -> bool:
        host = normalise_host(host)
        if host not in self.allowed:
            return False
        ports = self.allowed[host]
        return ports is None or port in ports

    def check_literal_host(self, host: str, port: int | None = None) -> None:
        """Raise RefusedAddress when `host` is an IP literal the policy refuses; names pass through."""
        try:
            ip = ipaddress.ip_address(normalise_host(host).split("%")[0])
        except ValueError:
            return  # a name: the resolver checks what it resolves to
        category = refused_category(ip)
        if category and not self.is_allowed_host(host, port):
            raise RefusedAddress(host, category)


class GuardedResolver(AbstractResolver):
    """An aiohttp resolver that drops refused addresses from the answers of the resolver it wraps."""

    def __init__(self, policy: HostPolicy, inner: AbstractResolver | None = None) -> None:
        self.policy = policy
        self._inner = inner or DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        if self.policy.is_allowed_host(host, port):
            return results
        kept: list[ResolveResult] = []
        refused: list[str] = []
        for result in results:
            category = refused_category(result["host"])
            if category is None:
                kept.append(result)
            else:
                refused.append(category)
        if refused:
            _log.info(
                "faq fetch: %s resolved to %d refused address(es) (%s)",
                host,
                len(refused),
                ", ".join(sorted(set(refused))),
            )
        if refused and not kept:
            raise RefusedAddress(host, refused[0])
        return kept

    async def close(self) -> None:
        await self._inner.close()
