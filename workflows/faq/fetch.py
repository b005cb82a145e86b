"""Fetching the pages of an FAQ safely: http(s) only, no internal addresses, bounded time and size.

Every failure is a `FetchError` whose message is one customer-safe line naming the link and what to
do ("http://127.0.0.1/ is refused: it resolves to a loopback address (add the host to
SUPPORTBOT_FAQ_ALLOWED_HOSTS to allow it)"). Redirects are followed here, one hop at a time, so each
new location goes through the same scheme and address checks as the first.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from http import HTTPStatus
from types import TracebackType
from typing import Literal

import aiohttp
from aiohttp.abc import AbstractResolver
from yarl import URL

from ..text import one_line
from .netguard import ALLOW_LIST_SETTING, GuardedResolver, HostPolicy, RefusedAddress

_log = logging.getLogger(__name__)

DEFAULT_MAX_BYTES = 3 * 1024 * 1024
HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
TEXT_TYPES = frozenset({"text/plain", "text/markdown"})
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_CHUNK = 64 * 1024
_MIME = re.compile(r"[a-z0-9][a-z0-9.+-]{0,40}/[a-z0-9][a-z0-9.+-]{0,60}")
USER_AGENT = "supportbot-faq/0.1 (+https://github.com/; builds an FAQ from pages a staff member linked)"

FetchErrorKind = Literal[
    "bad_url", "refused", "unreachable", "timeout", "http_status", "redirects", "unsupported_type", "too_large"
]


class FetchError(Exception):
    """One page could not be fetched. `str(err)` is a one-line message safe to show a customer."""

    def __init__(self, url: str, reason: str, kind: FetchErrorKind) -> None:
        super().__init__(f"{one_line(url, 120)} {reason}")
        self.url = url
        self.reason = reason
        self.kind = kind


@dataclass(frozen=True)
class FetchedPage:
    url: str  # as requested
    final_url: str  # after redirects
    content_type: str  # e.g. "text/html"
    charset: str | None
    body: bytes

    @property
    def is_html(self) -> bool:
        return self.content_type in HTML_TYPES

    def text(self) -> str:
        """The body decoded with the declared charset (UTF-8 when none was declared)."""
        try:
            return self.body.decode(self.charset or "utf-8", errors="replace")
        except LookupError:  # an unknown charset name
            return self.body.decode("utf-8", errors="replace")


def _size(n: int) -> str:
    return f"{n / (1024 * 1024):g} MB" if n >= 1024 * 1024 else f"{n // 1024} KB"


def _sniff_type(head: bytes) -> str:
    """A content type for a response that declared none: HTML if it looks like markup, else text."""
    start = head.lstrip()[:64].lower()
    if start.startswith((b"<!doctype html", b"<html", b"<head", b"<body", b"<!--")):
        return "text/html"
    if b"\x00" in head[:1024]:
        return "application/octet-stream"
    return "text/plain"


class PageFetcher:
    """Owns one aiohttp session whose connector only connects to addresses the policy allows.

    Use as `async with PageFetcher(allowed_hosts=...) as fetcher: page = await fetcher.fetch(url)`.
    """

    def __init__(
        self,
        *,
        allowed_hosts: Iterable[str] = (),
        max_bytes: int = DEFAULT_MAX_BYTES,
        timeout_s: float = 20.0,
        connect_timeout_s: float = 5.0,
        read_timeout_s: float = 10.0,
        max_redirects: int = 5,
        resolver: AbstractResolver | None = None,
    ) -> None:
        """`resolver` is the one the guard wraps (the system resolver by default; tests inject one)."""
        self.policy = HostPolicy(allowed_hosts)
        self.max_bytes = max_bytes
        self.timeout_s = timeout_s
        self.connect_timeout_s = connect_timeout_s
        self.read_timeout_s = read_timeout_s
        self.max_redirects = max_redirects
        self._inner_resolver = resolver
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> PageFetcher:
        connector = aiohttp.TCPConnector(resolver=GuardedResolver(self.policy, self._inner_resolver), limit_per_host=4)
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=self.connect_timeout_s, sock_read=self.read_timeout_s)
        # trust_env=False: an environment proxy would resolve names itself, out of the guard's reach.
        self._session = aiohttp.ClientSession(
            connector=connector,
            timeout=timeout,
            trust_env=False,
            headers={"User-Agent": USER_AGENT, "Accept": "text/html,application/xhtml+xml,text/plain;q=0.9,*/*;q=0.1"},
        )
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def fetch(self, url: str) -> FetchedPage:
        """Fetch one page (following at most `max_redirects` redirects); raises FetchError."""
        if self._session is None:
            raise RuntimeError("PageFetcher is not open: use `async with PageFetcher(...)`")
        try:
            async with asyncio.timeout(self.timeout_s):
                return await self._fetch(url)
        except TimeoutError:
            raise FetchError(url, f"did not answer within {self.timeout_s:g} s", "timeout") from None

    async def _fetch(self, url: str) -> FetchedPage:
        assert self._session is not None
        current = self._check_url(url, url)
        for hop in range(self.max_redirects + 1):
            try:
                async with self._session.get(current, allow_redirects=False) as resp:
                    if resp.status in _REDIRECTS and "Location" in resp.headers:
                        location = resp.headers["Location"]
                        current = self._check_url(url, str(resp.url.join(URL(location))))
                        _log.debug("faq fetch: %s redirects (hop %d) to %s", url, hop + 1, current)
                        continue
                    return await self._read(url, resp)
            except FetchError:
                raise
            except aiohttp.ClientConnectorError as exc:
                raise self._connect_error(url, str(current), exc) from None
            except aiohttp.ServerTimeoutError:
                raise FetchError(url, "did not answer in time", "timeout") from None
            except (aiohttp.InvalidURL, ValueError):
                raise FetchError(url, "is not a valid link", "bad_url") from None
            except (aiohttp.ClientError, OSError) as exc:
                _log.info("faq fetch: %s failed: %s", url, type(exc).__name__)
                raise FetchError(url, "could not be fetched (the connection failed)", "unreachable") from None
        raise FetchError(url, f"redirects more than {self.max_redirects} times", "redirects")

    def _check_url(self, original: str, url: str) -> URL:
        """Scheme and literal-IP checks for the first URL and for every redirect target."""
        try:
            parsed = URL(url.strip())
        except (ValueError, TypeError):
            raise FetchError(original, "is not a valid link", "bad_url") from None
        if not parsed.scheme:
            raise FetchError(original, "is not a full link: it must start with https:// or http://", "bad_url")
        if parsed.scheme not in ("http", "https"):
            via = "" if original == url else f" (it redirects to {one_line(url, 80)})"
            raise FetchError(
                original,
                f"is refused{via}: only http and https links can be fetched, not {parsed.scheme}://",
                "refused",
            )
        if not parsed.host:
            raise FetchError(original, "is not a valid link (no host name)", "bad_url")
        try:
            self.policy.check_literal_host(parsed.host, parsed.port)
        except RefusedAddress as exc:
            raise self._refused(original, url, exc) from None
        return parsed.with_fragment(None)

    def _refused(self, original: str, url: str, exc: RefusedAddress) -> FetchError:
        via = "" if original == url else f" (it redirects to {one_line(url, 80)})"
        return FetchError(
            original,
            f"is refused{via}: it resolves to {exc.kind_of_address} (add the host to {ALLOW_LIST_SETTING} to allow it)",
            "refused",
        )

    def _connect_error(self, url: str, current: str, exc: aiohttp.ClientConnectorError) -> FetchError:
        if isinstance(exc.os_error, RefusedAddress):
            return self._refused(url, current, exc.os_error)
        if isinstance(exc, aiohttp.ClientConnectorDNSError):
            return FetchError(url, "could not be reached: the host name was not found", "unreachable")
        if isinstance(exc, aiohttp.ClientSSLError):
            return FetchError(url, "could not be reached: its TLS certificate is not valid", "unreachable")
        return FetchError(url, "could not be reached: the connection was refused or failed", "unreachable")

    async def _read(self, url: str, resp: aiohttp.ClientResponse) -> FetchedPage:
        if resp.status >= 400:
            # The standard phrase, never the server's own reason text: that would reach the chat verbatim.
            try:
                phrase = HTTPStatus(resp.status).phrase
            except ValueError:
                phrase = ""
            raise FetchError(url, f"answered {resp.status} {phrase}".rstrip(), "http_status")
        if resp.status in _REDIRECTS:
            raise FetchError(url, "redirects without saying where to", "http_status")
        declared = resp.headers.get("Content-Type")
        if resp.content_length is not None and resp.content_length > self.max_bytes:
            raise FetchError(url, f"is too large (more than {_size(self.max_bytes)})", "too_large")
        content_type = resp.content_type if declared else ""
        if content_type and content_type not in HTML_TYPES | TEXT_TYPES:
            shown = content_type if _MIME.fullmatch(content_type) else "another type"  # server text: keep it tame
            raise FetchError(url, f"is {shown}, not an HTML or text page", "unsupported_type")
        body = bytearray()
        async for chunk in resp.content.iter_chunked(_CHUNK):  # decompressed bytes: bounds zip bombs too
            body.extend(chunk)
            if len(body) > self.max_bytes:
                raise FetchError(url, f"is too large (more than {_size(self.max_bytes)})", "too_large")
        if not content_type:
            content_type = _sniff_type(bytes(body[:2048]))
            if content_type not in HTML_TYPES | TEXT_TYPES:
                raise FetchError(url, "is not an HTML or text page", "unsupported_type")
        return FetchedPage(
            url=url,
            final_url=str(resp.url),
            content_type=content_type,
            charset=resp.charset if declared else None,
            body=bytes(body),
        )
