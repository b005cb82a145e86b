"""Safe fetching for /faq: schemes, SSRF (literal IPs, names, redirects, DNS rebinding), size, type,
time, status — against a local aiohttp site on 127.0.0.1 (which therefore has to be allow-listed)."""

from __future__ import annotations

import asyncio
import socket

import pytest
from aiohttp.abc import AbstractResolver, ResolveResult

from tests.fakes.site import serve_site
from tests.harness import LOCAL
from workflows.faq.fetch import FetchError, PageFetcher
from workflows.faq.netguard import (
    GuardedResolver,
    HostPolicy,
    RefusedAddress,
    refused_category,
)


async def fetch_error(url: str, **options: object) -> FetchError:
    async with PageFetcher(**options) as fetcher:  # type: ignore[arg-type]
        with pytest.raises(FetchError) as caught:
            await fetcher.fetch(url)
    return caught.value


# --- the address policy ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "category"),
    [
        ("127.0.0.1", "loopback"),
        ("10.0.0.1", "private"),
        ("172.16.5.4", "private"),
        ("192.168.1.1", "private"),
        ("169.254.169.254", "link-local"),
        ("0.0.0.0", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("240.0.0.1", "reserved"),
        ("100.64.0.1", "non-public"),
        ("::1", "loopback"),
        ("::", "unspecified"),
        ("fe80::1", "link-local"),
        ("fc00::1", "private"),
        ("::ffff:127.0.0.1", "loopback"),
        ("::ffff:10.0.0.1", "private"),
        ("2002:7f00:1::", "loopback"),
        ("64:ff9b::a9fe:a9fe", "link-local"),
        ("8.8.8.8", None),
        ("93.184.216.34", None),
        ("2001:4860:4860::8888", None),
    ],
)
def test_refused_category(address: str, category: str | None) -> None:
    assert refused_category(address) == category


class FakeResolver(AbstractResolver):
    """Answers from a table, like a DNS server an attacker controls."""

    def __init__(self, table: dict[str, list[str]]) -> None:
        self.table = table
        self.asked: list[str] = []

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        self.asked.append(host)
        if host not in self.table:
            raise OSError(f"no such host {host}")
        return [
            ResolveResult(
                hostname=host,
                host=ip,
                port=port,
                proto=0,
                flags=0,
                family=socket.AF_INET6 if ":" in ip else socket.AF_INET,
            )
            for ip in self.table[host]
        ]

    async def close(self) -> None:
        return None


async def test_resolver_keeps_only_public_addresses() -> None:
    inner = FakeResolver(
        {"mixed.example": ["127.0.0.1", "93.184.216.34", "10.1.2.3"], "internal.example": ["10.1.2.3", "::1"]}
    )
    resolver = GuardedResolver(HostPolicy(), inner)
    kept = await resolver.resolve("mixed.example", 80)
    assert [r["host"] for r in kept] == ["93.184.216.34"]
    with pytest.raises(RefusedAddress, match=r"internal\.example resolves to a private address"):
        await resolver.resolve("internal.example", 80)
    allowed = GuardedResolver(HostPolicy(["Internal.Example."]), inner)
    assert [r["host"] for r in await allowed.resolve("internal.example", 80)] == ["10.1.2.3", "::1"]


# --- refused links ---------------------------------------------------------------------------


async def test_loopback_refused_without_allow_list(site: str) -> None:
    error = await fetch_error(f"{site}/fixtures/returns.html")
    assert error.kind == "refused"
    assert str(error) == (
        f"{site}/fixtures/returns.html is refused: it resolves to a loopback address "
        "(add the host to SUPPORTBOT_FAQ_ALLOWED_HOSTS to allow it)"
    )


@pytest.mark.parametrize(
    ("url", "category"),
    [
        ("http://10.0.0.1/", "private"),
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
        ("http://[::1]:8080/", "loopback"),
        ("http://[::ffff:127.0.0.1]/", "loopback"),
        ("http://0.0.0.0/", "unspecified"),
        ("https://192.168.0.10/admin", "private"),
    ],
)
async def test_internal_literal_addresses_refused(url: str, category: str) -> None:
    error = await fetch_error(url, allowed_hosts=LOCAL)
    assert error.kind == "refused"
    assert f"resolves to {'an' if category[0] in 'aeiou' else 'a'} {category} address" in str(error)
    assert "SUPPORTBOT_FAQ_ALLOWED_HOSTS" in str(error)


async def test_host_name_checked_through_the_resolver(site: str) -> None:
    port = site.rsplit(":", 1)[1]
    error = await fetch_error(f"http://localhost:{port}/fixtures/returns.html")
    assert error.kind == "refused" and "loopback address" in str(error)
    async with PageFetcher(allowed_hosts=["localhost"]) as fetcher:
        page = await fetcher.fetch(f"http://localhost:{port}/fixtures/returns.html")
    assert b"Returns and refunds" in page.body


@pytest.mark.parametrize(
    "url", ["file:///etc/passwd", "gopher://example.com:70/1", "ftp://example.com/x", "javascript:alert(1)"]
)
async def test_only_http_and_https(url: str) -> None:
    error = await fetch_error(url, allowed_hosts=LOCAL)
    assert error.kind == "refused"
    scheme = url.split(":", 1)[0]
    assert str(error) == f"{url} is refused: only http and https links can be fetched, not {scheme}://"


async def test_link_without_scheme() -> None:
    error = await fetch_error("example.com/help")
    assert error.kind == "bad_url"
    assert str(error) == "example.com/help is not a full link: it must start with https:// or http://"


async def test_redirect_to_a_loopback_name_is_refused(site: str) -> None:
    port = site.rsplit(":", 1)[1]
    target = f"http://localhost:{port}/fixtures/returns.html"
    error = await fetch_error(f"{site}/redirect?to={target}", allowed_hosts=LOCAL)
    assert error.kind == "refused"
    assert f"(it redirects to {target})" in str(error) and "loopback address" in str(error)


async def test_redirect_to_a_literal_internal_address_is_refused(site: str) -> None:
    port = site.rsplit(":", 1)[1]
    for target, category in (
        (f"http://[::1]:{port}/fixtures/returns.html", "loopback"),
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
    ):
        error = await fetch_error(f"{site}/redirect?to={target}", allowed_hosts=LOCAL)
        assert error.kind == "refused" and f"{category} address" in str(error), str(error)


async def test_redirect_to_another_scheme_is_refused(site: str) -> None:
    error = await fetch_error(f"{site}/redirect?to=file:///etc/passwd", allowed_hosts=LOCAL)
    assert error.kind == "refused" and "only http and https" in str(error)


async def test_allowed_redirect_is_followed(site: str) -> None:
    async with PageFetcher(allowed_hosts=LOCAL) as fetcher:
        page = await fetcher.fetch(f"{site}/redirect?to=/fixtures/billing.html")
    assert page.final_url == f"{site}/fixtures/billing.html"
    assert page.url == f"{site}/redirect?to=/fixtures/billing.html"
    assert page.is_html and b"Invoices and payments" in page.body


async def test_too_many_redirects(site: str) -> None:
    error = await fetch_error(f"{site}/loop/0", allowed_hosts=LOCAL)
    assert error.kind == "redirects" and str(error).endswith("redirects more than 5 times")
    async with PageFetcher(allowed_hosts=LOCAL, max_redirects=1) as fetcher:
        with pytest.raises(FetchError, match="more than 1 times"):
            await fetcher.fetch(f"{site}/loop/0")


async def test_dns_rebinding_is_checked_on_the_connected_address(site: str) -> None:
    """A public-looking name that resolves to loopback is refused; allow-listed, the same lookup is used."""
    port = site.rsplit(":", 1)[1]
    inner = FakeResolver({"docs.example.com": ["127.0.0.1"]})
    error = await fetch_error(f"http://docs.example.com:{port}/fixtures/returns.html", resolver=inner)
    assert error.kind == "refused" and "loopback address" in str(error)
    assert inner.asked == ["docs.example.com"]
    async with PageFetcher(allowed_hosts=["docs.example.com"], resolver=inner) as fetcher:
        page = await fetcher.fetch(f"http://docs.example.com:{port}/fixtures/returns.html")
    assert b"Returns and refunds" in page.body


# --- what a page may be ----------------------------------------------------------------------


async def test_oversized_page_with_content_length(site: str) -> None:
    error = await fetch_error(f"{site}/big", allowed_hosts=LOCAL)
    assert error.kind == "too_large" and str(error).endswith("is too large (more than 3 MB)")


async def test_oversized_page_streamed_is_cut_off(site: str) -> None:
    error = await fetch_error(f"{site}/big-chunked", allowed_hosts=LOCAL, max_bytes=256 * 1024)
    assert error.kind == "too_large" and "more than 256 KB" in str(error)
    async with PageFetcher(allowed_hosts=LOCAL, max_bytes=2 * 1024 * 1024) as fetcher:
        page = await fetcher.fetch(f"{site}/big-chunked")
    assert len(page.body) == 64 * 16_007


async def test_non_html_body_is_reported(site: str) -> None:
    error = await fetch_error(f"{site}/image.png", allowed_hosts=LOCAL)
    assert error.kind == "unsupported_type"
    assert str(error) == f"{site}/image.png is image/png, not an HTML or text page"


async def test_slow_server_times_out(site: str) -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()
    error = await fetch_error(f"{site}/slow", allowed_hosts=LOCAL, timeout_s=5.0, read_timeout_s=0.3)
    assert error.kind == "timeout" and "did not answer" in str(error)
    assert loop.time() - started < 5.0  # the read timeout, not the overall one, ended it
    error = await fetch_error(f"{site}/slow", allowed_hosts=LOCAL, timeout_s=0.3)
    assert error.kind == "timeout" and str(error).endswith("did not answer within 0.3 s")


async def test_not_found(site: str) -> None:
    error = await fetch_error(f"{site}/fixtures/nope.html", allowed_hosts=LOCAL)
    assert error.kind == "http_status" and str(error).endswith("answered 404 Not Found")


async def test_connection_refused_is_one_clear_line(site: str) -> None:
    async with serve_site() as other:
        closed = other  # the server is gone after this block
    error = await fetch_error(f"{closed}/fixtures/returns.html", allowed_hosts=LOCAL)
    assert error.kind == "unreachable" and "could not be reached" in str(error)
    assert "\n" not in str(error) and "Errno" not in str(error)


async def test_plain_text_with_declared_charset(site: str) -> None:
    async with PageFetcher(allowed_hosts=LOCAL) as fetcher:
        page = await fetcher.fetch(f"{site}/latin1")
        txt = await fetcher.fetch(f"{site}/fixtures/shipping.txt")
    assert not page.is_html and page.text() == "Caf\u00e9 cr\u00e8me is served all day."
    assert txt.content_type == "text/plain" and "Standard shipping" in txt.text()


async def test_fetch_needs_an_open_fetcher() -> None:
    with pytest.raises(RuntimeError, match="not open"):
        await PageFetcher().fetch("https://example.com/")
